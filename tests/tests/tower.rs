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

use std::sync::{Arc, Mutex, OnceLock};

use actix_web::App;
use actix_web::cookie::Cookie;
use sealed_session::clock::ManualClock;
use sealed_session::{KeyRing, SecretKey, SessionManager};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_tests::{AxumServer, SeededRandom, is_removal, set_cookies, start_time};
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

/// Error events, recorded by the subscriber [`capture_errors`] installs for this binary.
static ERRORS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

fn capture_errors() -> &'static Mutex<Vec<String>> {
    ERRORS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        struct Record;
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Record {
            fn on_event(
                &self,
                event: &tracing::Event<'_>,
                _: tracing_subscriber::layer::Context<'_, S>,
            ) {
                if *event.metadata().level() != tracing::Level::ERROR {
                    return;
                }
                struct Message(String);
                impl tracing::field::Visit for Message {
                    fn record_debug(
                        &mut self,
                        field: &tracing::field::Field,
                        value: &dyn std::fmt::Debug,
                    ) {
                        if field.name() == "message" {
                            self.0 = format!("{value:?}");
                        }
                    }
                }
                let mut message = Message(String::new());
                event.record(&mut message);
                if let Some(errors) = ERRORS.get() {
                    errors.lock().expect("not poisoned").push(message.0);
                }
            }
        }
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Record))
            .expect("the only subscriber of this binary");
        Mutex::new(Vec::new())
    })
}

#[actix_web::test]
async fn the_extractor_without_the_layer_is_a_500_that_names_the_layer() {
    let errors = capture_errors();
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
    let logged = errors.lock().expect("not poisoned").clone();
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
