//! The login app's scenarios over real HTTP, run against every implementation of its contract
//! (issue 5, item 1; issue 11, item 3): `sealed` is `examples/login.rs` on sealed cookie
//! sessions, `server_store` is `examples/server_store.rs` on actix-session's
//! `RedisSessionStore`, `axum_sealed` is `examples/axum_login.rs`, the sealed app on axum
//! and `sealed-session-tower`, `actix_identity` is `examples/with_actix_identity.rs`, the app
//! on actix-identity and actix-session's middleware over `SealedSessionStore` (issue 20), and
//! `with_axum_login` is `examples/with_axum_login.rs`, the app written with axum-login on
//! `sealed-session-tower`'s `TowerSessionsLayer`. Every scenario applies to both.
//!
//! The server-store scenarios need Redis at `REDIS_URL`, which `scripts/test.sh` provides.
//! Without it they fail, never skip.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::App;
use actix_web::cookie::{Cookie, Key};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_examples::login;
use serde_json::{Value, json};

/// Both apps name their cookie `id`.
const COOKIE: &str = "id";
/// Bounds every request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Over both limits: the sealed cookie's (about 4 KiB) and the server store's 64 KiB cap.
const OVER_THE_LIMIT: usize = 100_000;

/// Instantiates every scenario for one app: `scenarios!(module, start_function)`. The list of
/// scenarios is written once, here; a scenario left out of it is unused code, which the lints
/// reject.
macro_rules! scenarios {
    ($app:ident, $start:ident) => {
        scenarios!(@each $app, $start:
            login_then_whoami_shows_the_user,
            counter_increments_and_whoami_sees_it,
            whoami_on_a_fresh_client_writes_no_cookie,
            whoami_with_a_session_writes_no_cookie,
            logout_then_whoami_shows_no_user,
            a_cookie_copied_before_logout_shows_no_user_after_it,
            login_starts_a_new_clean_session,
            big_over_the_limit_is_413_and_the_session_survives,
            a_garbage_cookie_gives_200_and_no_user,
            log_out_everywhere_ends_every_session_of_the_user,
            log_out_others_keeps_this_session_only,
            the_logout_routes_without_a_user_answer_200,
        );
    };
    (@each $app:ident, $start:ident: $($scenario:ident),+ $(,)?) => {
        mod $app {
            $(
                #[actix_web::test]
                async fn $scenario() {
                    super::$scenario(super::$start().await).await;
                }
            )+
        }
    };
}

scenarios!(sealed, start_sealed_app);
scenarios!(server_store, start_server_store_app);
scenarios!(axum_sealed, start_axum_app);
scenarios!(actix_identity, start_identity_app);
scenarios!(with_axum_login, start_with_axum_login_app);

/// One app under test, on a real HTTP server on loopback.
struct Target {
    server: Server,
    /// Whether the session model can end a user's other sessions (`/logout-everywhere`,
    /// `/logout-others`); without it the contract answers `501`.
    ends_other_sessions: bool,
}

/// Where an app runs.
enum Server {
    Actix(actix_test::TestServer),
    Axum(sealed_session_tests::AxumServer),
}

impl Server {
    fn url(&self, path: &str) -> String {
        match self {
            Self::Actix(server) => server.url(path),
            Self::Axum(server) => server.url(path),
        }
    }
}

/// `examples/axum_login.rs` as [`start_sealed_app`] runs `examples/login.rs`: a fresh key,
/// in-memory revocation, cookies not `Secure`, so named [`COOKIE`].
async fn start_axum_app() -> Target {
    start_on_axum(sealed_session_examples::axum_login::app)
}

/// `examples/with_axum_login.rs` as [`start_axum_app`] runs `examples/axum_login.rs`.
async fn start_with_axum_login_app() -> Target {
    start_on_axum(sealed_session_examples::with_axum_login::app)
}

/// The axum app `app` makes of a session layer with a fresh key, in-memory revocation, cookies
/// not `Secure`.
fn start_on_axum(app: fn(sealed_session_tower::CookieSessionLayer) -> axum::Router) -> Target {
    let sessions =
        sealed_session_tower::CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
            .cookie_secure(false)
            .build()
            .expect("valid configuration");
    Target {
        server: Server::Axum(sealed_session_tests::AxumServer::start(app(sessions))),
        ends_other_sessions: true,
    }
}

/// `examples/login.rs`: a fresh key, in-memory revocation, cookies not `Secure`, so named [`COOKIE`]
/// as `server_store`'s are. (The example's own default, `Secure`, is what `tests/browser.rs`
/// runs.)
async fn start_sealed_app() -> Target {
    let sessions = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .build()
        .expect("valid configuration");
    let server =
        actix_test::start(move || App::new().wrap(sessions.clone()).configure(login::routes));
    Target {
        server: Server::Actix(server),
        ends_other_sessions: true,
    }
}

/// `examples/with_actix_identity.rs`: a fresh key, in-memory revocation, cookies not `Secure`,
/// so named [`COOKIE`].
async fn start_identity_app() -> Target {
    let store = sealed_session_tests::identity_store(KeyRing::new(SecretKey::generate()));
    Target {
        server: Server::Actix(sealed_session_tests::start_identity_app(store)),
        ends_other_sessions: true,
    }
}

/// `examples/server_store.rs` on the Redis at `REDIS_URL`, under a key prefix of this app's own,
/// so that tests running at the same time never share a session.
async fn start_server_store_app() -> Target {
    static APPS: AtomicU64 = AtomicU64::new(0);
    let url = sealed_session_test_support::redis_url();
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let prefix = format!(
        "sealed-session-scenarios:{}-{started}-{}:",
        std::process::id(),
        APPS.fetch_add(1, Ordering::Relaxed)
    );
    let store = sealed_session_examples::server_store::store(&url, &prefix)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let key = Key::generate();
    // actix-session's middleware is not `Send`: built in the server's thread.
    let server = actix_test::start(move || {
        App::new()
            .wrap(sealed_session_examples::server_store::middleware(
                store.clone(),
                key.clone(),
                false,
            ))
            .configure(sealed_session_examples::server_store::routes)
    });
    Target {
        server: Server::Actix(server),
        ends_other_sessions: false,
    }
}

/// What a response said.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// Every `Set-Cookie` for [`COOKIE`].
    set_cookies: Vec<Cookie<'static>>,
    json: Value,
}

impl Reply {
    async fn read(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let set_cookies = sealed_session_tests::set_cookies(res.headers())
            .into_iter()
            .filter(|c| c.name() == COOKIE)
            .collect();
        let bytes = res.bytes().await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Self {
            status,
            set_cookies,
            json,
        }
    }

    /// The session cookie's new value, if the response sets one (not a removal).
    fn new_cookie(&self) -> Option<String> {
        assert!(self.set_cookies.len() <= 1, "{:?}", self.set_cookies);
        self.set_cookies
            .iter()
            .find(|c| !c.value().is_empty())
            .map(|c| c.value().to_owned())
    }

    /// Whether the response removes the session cookie.
    fn removes_cookie(&self) -> bool {
        self.set_cookies
            .iter()
            .any(|c| c.value().is_empty() && c.max_age() == Some(time::Duration::ZERO))
    }
}

impl Target {
    /// A browser-like client: keeps the cookies it is given.
    fn browser(&self) -> Client<'_> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("reqwest client");
        Client { app: self, http }
    }

    /// A client without a cookie jar: each request carries the cookie a test gives it, if any.
    fn raw(&self) -> Client<'_> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("reqwest client");
        Client { app: self, http }
    }
}

struct Client<'a> {
    app: &'a Target,
    http: reqwest::Client,
}

impl Client<'_> {
    /// `method path`, with `Cookie: id=<cookie>` if given, and a form body if given.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: Option<&str>,
        form: Option<&[(&str, &str)]>,
    ) -> Reply {
        let mut req = self.http.request(method, self.app.server.url(path));
        if let Some(value) = cookie {
            req = req.header(reqwest::header::COOKIE, format!("{COOKIE}={value}"));
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        Reply::read(req.send().await.expect("request succeeds")).await
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        self.send(reqwest::Method::GET, path, cookie, None).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>) -> Reply {
        self.send(reqwest::Method::POST, path, cookie, None).await
    }

    /// Logs `user` in through the form, with the cookie `cookie` if given; asserts it worked.
    async fn login(&self, user: &str, cookie: Option<&str>) -> Reply {
        let reply = self
            .send(
                reqwest::Method::POST,
                "/login",
                cookie,
                Some(&[("user", user)]),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert_eq!(reply.json, json!({ "user": user }));
        reply
    }

    /// Logs `user` in on a fresh session; returns the session cookie's value.
    async fn login_cookie(&self, user: &str) -> String {
        self.login(user, None)
            .await
            .new_cookie()
            .expect("login sets the cookie")
    }
}

async fn login_then_whoami_shows_the_user(app: Target) {
    let browser = app.browser();
    browser.login("alice", None).await;
    let me = browser.get("/whoami", None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["user"], "alice");
    assert_eq!(me.json["counter"], 0);

    // The same with a JSON body.
    let other = app.browser();
    let res = other
        .http
        .post(app.server.url("/login"))
        .json(&json!({ "user": "bob" }))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(res.status(), 200);
    assert_eq!(other.get("/whoami", None).await.json["user"], "bob");
}

async fn counter_increments_and_whoami_sees_it(app: Target) {
    let browser = app.browser();
    browser.login("alice", None).await;
    for expected in 1..=3 {
        let reply = browser.post("/counter", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json, json!({ "counter": expected }));
    }
    let me = browser.get("/whoami", None).await.json;
    assert_eq!(me["user"], "alice");
    assert_eq!(me["counter"], 3);
}

async fn whoami_on_a_fresh_client_writes_no_cookie(app: Target) {
    let reply = app.raw().get("/whoami", None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert_eq!(reply.json["user"], Value::Null);
    assert_eq!(reply.json["counter"], 0);
}

async fn whoami_with_a_session_writes_no_cookie(app: Target) {
    let raw = app.raw();
    let cookie = raw.login_cookie("alice").await;
    let reply = raw.get("/whoami", Some(&cookie)).await;
    assert_eq!(reply.json["user"], "alice");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
}

async fn logout_then_whoami_shows_no_user(app: Target) {
    let browser = app.browser();
    browser.login("alice", None).await;
    let logout = browser.post("/logout", None).await;
    assert_eq!(logout.status, 200);
    assert!(logout.removes_cookie(), "{:?}", logout.set_cookies);
    let me = browser.get("/whoami", None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["user"], Value::Null);
    assert_eq!(me.json["counter"], 0);
}

async fn a_cookie_copied_before_logout_shows_no_user_after_it(app: Target) {
    let raw = app.raw();
    let copy = raw.login_cookie("alice").await;
    assert_eq!(raw.get("/whoami", Some(&copy)).await.json["user"], "alice");
    assert_eq!(raw.post("/logout", Some(&copy)).await.status, 200);

    // The browser dropped the cookie; the copy is still the very same bytes.
    let replay = raw.get("/whoami", Some(&copy)).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.json["user"], Value::Null);
}

async fn login_starts_a_new_clean_session(app: Target) {
    let raw = app.raw();
    // A session before login, as a planted (fixated) cookie would be.
    let before = raw
        .post("/counter", None)
        .await
        .new_cookie()
        .expect("the first write sets the cookie");
    let after = raw
        .login("alice", Some(&before))
        .await
        .new_cookie()
        .expect("login sets the cookie");
    assert_ne!(before, after);

    let me = raw.get("/whoami", Some(&after)).await.json;
    assert_eq!(me["user"], "alice");
    assert_eq!(
        me["counter"], 0,
        "no value of the pre-login session comes along"
    );

    // The pre-login cookie never becomes the signed-in session. (What else it still opens
    // differs: actix-session deletes the old entry; the sealed app keeps the anonymous session
    // it was, unlisted, see docs/security.md.)
    let stale = raw.get("/whoami", Some(&before)).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.json["user"], Value::Null, "{:?}", stale.json);
}

async fn big_over_the_limit_is_413_and_the_session_survives(app: Target) {
    let browser = app.browser();
    browser.login("alice", None).await;
    browser.post("/counter", None).await;
    let small = browser.post("/big?bytes=100", None).await;
    assert_eq!(small.status, 200, "{:?}", small.json);

    let big = browser
        .post(&format!("/big?bytes={OVER_THE_LIMIT}"), None)
        .await;
    assert_eq!(big.status, 413, "{:?}", big.json);
    assert!(big.json["error"].is_string(), "{:?}", big.json);
    let (size, limit) = (&big.json["size"], &big.json["limit"]);
    assert!(size.as_u64() > limit.as_u64(), "{:?}", big.json);
    assert!(big.set_cookies.is_empty(), "{:?}", big.set_cookies);

    let me = browser.get("/whoami", None).await.json;
    assert_eq!(me["user"], "alice");
    assert_eq!(me["counter"], 1);
    assert_eq!(browser.post("/counter", None).await.json["counter"], 2);
}

async fn a_garbage_cookie_gives_200_and_no_user(app: Target) {
    let raw = app.raw();
    let real = raw.login_cookie("alice").await;
    let truncated = &real[..real.len() / 2];
    for garbage in ["garbage", "%%%", "", truncated] {
        let reply = raw.get("/whoami", Some(garbage)).await;
        assert_eq!(reply.status, 200, "{garbage}");
        assert_eq!(reply.json["user"], Value::Null, "{garbage}");
        assert_eq!(reply.json["counter"], 0, "{garbage}");
    }
}

/// The user `/whoami` shows for `cookie`.
async fn user_of(raw: &Client<'_>, cookie: &str) -> Value {
    raw.get("/whoami", Some(cookie)).await.json["user"].clone()
}

async fn log_out_everywhere_ends_every_session_of_the_user(app: Target) {
    let raw = app.raw();
    let laptop = raw.login_cookie("alice").await;
    let phone = raw.login_cookie("alice").await;
    let bob = raw.login_cookie("bob").await;
    let reply = raw.post("/logout-everywhere", Some(&laptop)).await;
    if app.ends_other_sessions {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json, json!({ "user": null }));
        assert!(reply.removes_cookie());
        assert_eq!(user_of(&raw, &laptop).await, Value::Null);
        assert_eq!(user_of(&raw, &phone).await, Value::Null);
    } else {
        assert_eq!(reply.status, 501);
        assert!(reply.json["error"].is_string(), "{:?}", reply.json);
        assert_eq!(user_of(&raw, &phone).await, "alice", "nothing changed");
    }
    assert_eq!(user_of(&raw, &bob).await, "bob");
}

async fn log_out_others_keeps_this_session_only(app: Target) {
    // From the latest sign-in: it ends the sessions authenticated before it (never a fresher
    // one), and copies of its own old cookie.
    let raw = app.raw();
    let laptop = raw.login_cookie("alice").await;
    let phone = raw.login_cookie("alice").await;
    let reply = raw.post("/logout-others", Some(&phone)).await;
    if app.ends_other_sessions {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json, json!({ "user": "alice" }));
        let kept = reply.new_cookie().expect("a new cookie for this session");
        assert_eq!(user_of(&raw, &kept).await, "alice");
        assert_eq!(user_of(&raw, &laptop).await, Value::Null);
        assert_eq!(user_of(&raw, &phone).await, Value::Null, "the old cookie");
    } else {
        assert_eq!(reply.status, 501);
        assert!(reply.json["error"].is_string(), "{:?}", reply.json);
        assert_eq!(user_of(&raw, &laptop).await, "alice", "nothing changed");
    }
}

async fn the_logout_routes_without_a_user_answer_200(app: Target) {
    let raw = app.raw();
    for path in ["/logout-everywhere", "/logout-others"] {
        let reply = raw.post(path, None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.json, json!({ "user": null }), "{path}");
    }
}
