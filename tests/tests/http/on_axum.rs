//! `sealed-session-tower` over real HTTP (issue 11, item 1): the axum app and the actix app, given
//! the same requests, keys, clock and randomness, answer with the same cookies, byte for byte; the
//! extractor without the layer is a `500` and an error log that names the layer; a
//! `SessionConfig` with a Redis revocation store shares logouts between two axum instances.
//!
//! "The same cookies": both adapters are built from one `SessionBuilder` definition, each with
//! a `ManualClock` at the same time and a fresh `SeededRandom` of the same seed (the core's
//! `dangerous().random_source`), so they draw the same session ids and nonces, and every
//! `Set-Cookie` header value (name, sealed value and attributes) must be equal byte for byte.
//! Responses' statuses and bodies must match too.

use std::sync::Arc;

use actix_web::App;
use actix_web::cookie::Cookie;
use sealed_session::clock::ManualClock;
use sealed_session::{KeyRing, SecretKey, SessionManager};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_tests::{AxumServer, SeededRandom, events, is_removal, set_cookies, start_time};
use sealed_session_tower::{CookieSessionLayer, Session, SessionConfig};
use serde_json::Value;

/// Both apps' cookie name (not `Secure`).
const COOKIE: &str = "id";

/// The seed of each app's random source: the same for both.
const SEED: u64 = 11;

/// One request of a scenario.
#[derive(Debug, Clone, Copy)]
enum Step {
    Get(&'static str),
    Post(&'static str),
    Login(&'static str),
    /// A request with this cookie value instead of the app's current one.
    GetWith(&'static str, &'static str),
    /// Move both clocks.
    Advance(time::Duration),
    /// Replay the cookie the app held before the previous step.
    ReplayPrevious(&'static str),
}

/// What one app answered to one step.
#[derive(Debug)]
struct Answer {
    status: u16,
    json: Value,
    /// Every `Set-Cookie` header value, as sent.
    set_cookie: Vec<String>,
}

/// One app under test, with its cookie jar of one cookie.
struct Runner {
    base: Box<dyn Fn(&str) -> String>,
    http: reqwest::Client,
    cookie: Option<String>,
    previous: Option<String>,
}

impl Runner {
    async fn run(&mut self, step: Step) -> Option<Answer> {
        let (method, path, cookie, form) = match step {
            Step::Advance(_) => return None,
            Step::Get(path) => ("GET", path, self.cookie.clone(), None),
            Step::Post(path) => ("POST", path, self.cookie.clone(), None),
            Step::Login(user) => ("POST", "/login", self.cookie.clone(), Some(user)),
            Step::GetWith(path, value) => ("GET", path, Some(value.to_owned()), None),
            Step::ReplayPrevious(path) => ("GET", path, self.previous.clone(), None),
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, (self.base)(path));
        if let Some(value) = &cookie {
            req = req.header(reqwest::header::COOKIE, format!("{COOKIE}={value}"));
        }
        if let Some(user) = form {
            req = req.form(&[("user", user)]);
        }
        let res = req.send().await.expect("request succeeds");
        let status = res.status().as_u16();
        let set_cookie: Vec<String> = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ascii Set-Cookie").to_owned())
            .collect();
        let json = res.json().await.unwrap_or(Value::Null);
        if !matches!(step, Step::GetWith(..) | Step::ReplayPrevious(_)) {
            self.previous = self.cookie.clone();
        }
        for header in &set_cookie {
            let c = Cookie::parse(header.as_str()).expect("valid Set-Cookie");
            if c.name() == COOKIE {
                self.cookie = (!is_removal(&c)).then(|| c.value().to_owned());
            }
        }
        Some(Answer {
            status,
            json,
            set_cookie,
        })
    }
}

#[actix_web::test]
async fn the_actix_and_axum_apps_answer_the_same_requests_with_the_same_cookies() {
    let ring = KeyRing::new(SecretKey::generate());
    let actix_clock = Arc::new(ManualClock::new(start_time()));
    let axum_clock = Arc::new(ManualClock::new(start_time()));
    // One builder for both adapters: the same settings, and the same randomness, fresh for each.
    let lifecycle = |clock: &Arc<ManualClock>| {
        SessionManager::builder(ring.clone())
            .cookie_secure(false)
            .clock(clock.clone())
            .dangerous()
            .random_source(Arc::new(SeededRandom::new(SEED)))
            .build()
            .expect("valid settings")
    };
    let middleware = CookieSessionMiddleware::from(lifecycle(&actix_clock));
    let layer = CookieSessionLayer::from(lifecycle(&axum_clock));
    let mw = middleware.clone();
    let actix = actix_test::start(move || {
        App::new()
            .wrap(mw.clone())
            .configure(sealed_session_examples::login::routes)
    });
    let axum = AxumServer::start(sealed_session_examples::axum_login::app(layer));
    let http = reqwest::Client::new();
    let actix_url = actix.url("");
    let axum_url = axum.url("");
    let mut runners = [
        Runner {
            base: Box::new(move |path| format!("{actix_url}{}", &path[1..])),
            http: http.clone(),
            cookie: None,
            previous: None,
        },
        Runner {
            base: Box::new(move |path| format!("{axum_url}{path}")),
            http,
            cookie: None,
            previous: None,
        },
    ];

    use Step::*;
    let steps = [
        Get("/whoami"),
        Post("/counter"),
        Login("alice"),
        Post("/counter"),
        Get("/whoami"),
        // Past the refresh interval (a tenth of the idle hour): a read re-seals.
        Advance(time::Duration::minutes(7)),
        Get("/whoami"),
        Post("/big?bytes=200"),
        Post("/big?bytes=100000"),
        GetWith("/whoami", "garbage"),
        Post("/logout-others"),
        ReplayPrevious("/whoami"),
        Post("/logout"),
        ReplayPrevious("/whoami"),
        Login("bob"),
        // Past the idle timeout: refused as expired, removed.
        Advance(time::Duration::minutes(61)),
        Get("/whoami"),
        Login("carol"),
        Post("/logout-everywhere"),
        ReplayPrevious("/whoami"),
        Post("/logout"),
    ];
    let mut set_cookie_steps = 0;
    for (i, step) in steps.into_iter().enumerate() {
        if let Advance(by) = step {
            actix_clock.advance(by);
            axum_clock.advance(by);
            continue;
        }
        let [a, b] = &mut runners;
        let actix_answer = a.run(step).await.expect("a request");
        let axum_answer = b.run(step).await.expect("a request");
        let context = format!("step {i} {step:?}: actix {actix_answer:?}, axum {axum_answer:?}");
        assert_eq!(actix_answer.status, axum_answer.status, "{context}");
        assert_eq!(actix_answer.json, axum_answer.json, "{context}");
        assert_eq!(actix_answer.set_cookie, axum_answer.set_cookie, "{context}");
        set_cookie_steps += usize::from(!actix_answer.set_cookie.is_empty());
    }
    // The scenario must exercise the cookie decisions, not only their absence.
    assert!(
        set_cookie_steps >= 10,
        "{set_cookie_steps} steps set a cookie"
    );
    // Each app's cookie opens in the other: the same codec, the same format.
    let [a, b] = &mut runners;
    let login_a = a.run(Login("dave")).await.expect("a request");
    let login_b = b.run(Login("dave")).await.expect("a request");
    assert_eq!(login_a.set_cookie, login_b.set_cookie);
    let (value_a, value_b) = (
        a.cookie.clone().expect("set"),
        b.cookie.clone().expect("set"),
    );
    let crossed_a = b
        .run(GetWith("/whoami", leak(value_a)))
        .await
        .expect("a request");
    let crossed_b = a
        .run(GetWith("/whoami", leak(value_b)))
        .await
        .expect("a request");
    assert_eq!(crossed_a.json["user"], "dave", "{crossed_a:?}");
    assert_eq!(crossed_b.json["user"], "dave", "{crossed_b:?}");
    drop(middleware);
}

/// A `&'static str` for a [`Step`]: the test leaks two cookie values, once.
fn leak(value: String) -> &'static str {
    Box::leak(value.into_boxed_str())
}

/// A forged cookie is logged at `warn` with the client's address on axum too: the layer reads
/// axum's `ConnectInfo`, as the actix middleware reads the connection's peer.
#[actix_web::test]
async fn a_forged_cookie_is_logged_with_the_peer_address() {
    events::record();
    let ring = KeyRing::new(SecretKey::generate());
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(async |s: Session| format!("{:?}", s.refusal())),
        )
        .layer(
            CookieSessionLayer::builder(ring.clone())
                .cookie_secure(false)
                .build()
                .expect("valid"),
        );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("loopback port");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("bound");
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let serve = axum::serve(listener, service);
            // Stops itself: the test's request is answered well within this.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), serve).await;
        });
    });
    // A cookie of this key with one character of its sealed part changed: forged.
    let sealer = SessionManager::builder(ring)
        .cookie_secure(false)
        .build()
        .expect("valid");
    let mut session = sealer.open([], sealed_session::adapter::RequestInfo::new("/"));
    session.insert("role", &"admin").expect("fits");
    let header = session.finish().expect("sealed");
    let mut cookie = header
        .header()
        .expect("a cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned();
    let middle = cookie.len() / 2 + 5;
    let flipped = if &cookie[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    cookie.replace_range(middle..=middle, flipped);
    let reply = reqwest::Client::new()
        .get(format!("http://{addr}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("answer");
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.text().await.expect("body"), "Some(Forged)");
    let peers: Vec<String> = events::recorded(|e| e.level == tracing::Level::WARN)
        .iter()
        .filter_map(|e| e.field("peer").map(str::to_owned))
        .collect();
    assert!(
        peers.iter().any(|peer| peer.starts_with("Some(127.0.0.1:")),
        "the warning names the client's address: {peers:?}"
    );
    drop(server);
}

#[actix_web::test]
async fn the_extractor_without_the_layer_is_a_500_that_names_the_layer() {
    events::record();
    let sessions = CookieSessionLayer::new(KeyRing::new(SecretKey::generate()));
    // `/wrapped` is added before the layer, `/unwrapped` after it: only the first is wrapped.
    let app = axum::Router::new()
        .route(
            "/wrapped",
            axum::routing::get(async |s: Session| format!("{:?}", s.status())),
        )
        .layer(sessions)
        .route(
            "/unwrapped",
            axum::routing::get(async |s: Session| format!("{:?}", s.status())),
        );
    let server = AxumServer::start(app);
    let wrapped = reqwest::get(server.url("/wrapped")).await.expect("answer");
    assert_eq!(wrapped.status(), 200);
    let unwrapped = reqwest::get(server.url("/unwrapped"))
        .await
        .expect("answer");
    assert_eq!(unwrapped.status(), 500);
    assert_eq!(unwrapped.text().await.expect("body"), "", "an opaque 500");
    let logged: Vec<String> = events::recorded(|e| e.level == tracing::Level::ERROR)
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(
        logged
            .iter()
            .any(|m| m.contains("`CookieSessionLayer`") && m.contains(".layer(")),
        "an error event naming the layer and the fix: {logged:?}"
    );
}

#[actix_web::test]
async fn a_session_config_with_redis_shares_logouts_between_two_axum_instances() {
    let key = SecretKey::generate().to_base64();
    let prefix = format!(
        "test:tower:{}:",
        sealed_session::SessionId::random().expect("random id")
    );
    let url = sealed_session_test_support::redis_url();
    let config = || -> CookieSessionLayer {
        let json = format!(
            r#"{{ "keys": "{}", "secure": false,
                  "revocation": {{ "store": "redis", "url": "{url}", "prefix": "{prefix}" }} }}"#,
            *key
        );
        let config: SessionConfig = serde_json::from_str(&json).expect("valid config file");
        config.build().expect("valid settings")
    };
    let first = AxumServer::start(sealed_session_examples::axum_login::app(config()));
    let second = AxumServer::start(sealed_session_examples::axum_login::app(config()));
    let http = reqwest::Client::new();
    let login = http
        .post(first.url("/login"))
        .form(&[("user", "alice")])
        .send()
        .await
        .expect("answer");
    assert_eq!(login.status(), 200);
    let cookie = set_cookies(login.headers())
        .into_iter()
        .find(|c| c.name() == COOKIE)
        .expect("login sets the cookie");
    let header = format!("{COOKIE}={}", cookie.value());
    let whoami = |server: &AxumServer| {
        http.get(server.url("/whoami"))
            .header(reqwest::header::COOKIE, header.clone())
            .send()
    };
    let before: Value = whoami(&second)
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(
        before["user"], "alice",
        "the other instance opens the cookie"
    );
    let logout = http
        .post(first.url("/logout"))
        .header(reqwest::header::COOKIE, header.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(logout.status(), 200);
    sealed_session_tests::eventually(
        "the other instance refuses the logged-out cookie",
        || async {
            let answer: Value = whoami(&second)
                .await
                .expect("answer")
                .json()
                .await
                .expect("json");
            answer["refused"] == "revoked"
        },
    )
    .await;
}
