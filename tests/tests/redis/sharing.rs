//! The Redis revocation store over real HTTP and a real redis-server, where several instances
//! or a Redis restart matter: logouts shared by several app instances, a Redis restart in the
//! middle of a run, "log out everywhere" across instances, configuration. What every backend
//! must do is the acceptance suite of `middleware.rs` and `logout.rs`, run against Redis too.
//!
//! Needs `REDIS_URL` (and `REDIS_SERVER_BIN` for the restart test): run with `scripts/test.sh`.
//! Without them these tests fail, saying so; they never skip.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use sealed_session::clock::ManualClock;
use sealed_session::{KeyRing, SecretKey, SessionId};
use sealed_session_actix::{CookieSessionMiddleware, SessionConfig};
use sealed_session_redis::RedisRevocationStore;
use sealed_session_test_support::redis_url;
use sealed_session_tests::{RedisServer, TestApp, is_removal, start_time};
use time::Duration;

const ID: &str = "id";
/// How long a test waits for a logout to reach another instance. A bound for the test only:
/// the measured propagation (docs/revocation.md) is well under a millisecond.
const PROPAGATION_WAIT: StdDuration = StdDuration::from_secs(5);

/// One app instance on a Redis store.
struct Instance {
    app: TestApp,
    store: RedisRevocationStore,
}

impl Instance {
    fn start(ring: &KeyRing, url: &str, prefix: &str) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let store = RedisRevocationStore::builder(url)
            .prefix(prefix)
            .clock(clock.clone())
            .max_backoff(StdDuration::from_millis(200))
            .build()
            .expect("valid store settings");
        let middleware = CookieSessionMiddleware::builder(ring.clone())
            .clock(clock.clone())
            .cookie_secure(false)
            .revocation_store(Arc::new(store.clone()))
            .build()
            .expect("valid test configuration");
        Self {
            app: TestApp::serve(middleware, clock),
            store,
        }
    }

    fn connected(self) -> Self {
        assert!(
            self.store.wait_until_connected(StdDuration::from_secs(10)),
            "not connected to Redis within 10 s: {:?}",
            self.store.health()
        );
        self
    }
}

/// A namespace of each test's own, so that tests share the run's Redis safely.
fn fresh_prefix() -> String {
    format!("test:{}:", SessionId::random().expect("randomness"))
}

/// What `/whoami` says of `cookie`: `"revoked"`, another refusal, or `None` if it is accepted.
async fn refusal(app: &TestApp, cookie: &str) -> Option<String> {
    let reply = app.get("/whoami", Some((ID, cookie))).await;
    assert_eq!(reply.status, 200);
    reply.json["refused"].as_str().map(str::to_owned)
}

async fn accepted(app: &TestApp, cookie: &str) -> bool {
    refusal(app, cookie).await.is_none()
}

/// Polls (bounded by [`PROPAGATION_WAIT`]) until `app` refuses `cookie` as revoked.
async fn eventually_revoked(app: &TestApp, cookie: &str, what: &str) {
    let deadline = Instant::now() + PROPAGATION_WAIT;
    loop {
        if refusal(app, cookie).await.as_deref() == Some("revoked") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still accepted after {PROPAGATION_WAIT:?}"
        );
        actix_web::rt::time::sleep(StdDuration::from_millis(5)).await;
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PROPAGATION_WAIT;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {PROPAGATION_WAIT:?}"
        );
        actix_web::rt::time::sleep(StdDuration::from_millis(5)).await;
    }
}

async fn logout(app: &TestApp, cookie: &str) {
    let reply = app.post("/logout", Some((ID, cookie))).await;
    assert_eq!(reply.status, 200);
    assert!(is_removal(reply.cookie(ID).expect("removal cookie")));
    // Where the logout happened, it holds before the next request: no waiting.
    assert_eq!(refusal(app, cookie).await.as_deref(), Some("revoked"));
}

#[actix_web::test]
async fn a_logout_on_one_instance_is_refused_on_the_other() {
    let ring = KeyRing::new(SecretKey::generate());
    let (url, prefix) = (redis_url(), fresh_prefix());
    let a = Instance::start(&ring, &url, &prefix).connected();
    let b = Instance::start(&ring, &url, &prefix).connected();

    let cookie = a.app.login(ID, "alice").await;
    assert!(
        accepted(&b.app, &cookie).await,
        "one key ring: B opens A's cookie"
    );
    logout(&a.app, &cookie).await;
    eventually_revoked(&b.app, &cookie, "A's logout, replayed on B").await;

    // And the other way round.
    let cookie = b.app.login(ID, "bob").await;
    assert!(accepted(&a.app, &cookie).await);
    logout(&b.app, &cookie).await;
    eventually_revoked(&a.app, &cookie, "B's logout, replayed on A").await;

    // Signing in again revokes the signed-in session it replaces, everywhere too.
    let before = a.app.login(ID, "carol").await;
    let reply = a
        .app
        .send(
            "POST",
            "/login",
            Some(format!("{ID}={before}").as_bytes()),
            Some(&[("user", "carol")]),
        )
        .await;
    assert!(reply.new_value(ID).is_some());
    eventually_revoked(&b.app, &before, "the replaced session, on B").await;
    for instance in [&a, &b] {
        assert!(instance.store.flush(StdDuration::from_secs(5)));
        assert!(instance.store.health().connected);
    }
}

#[actix_web::test]
async fn log_out_everywhere_reaches_every_instance_and_spares_later_sessions() {
    let ring = KeyRing::new(SecretKey::generate());
    let (url, prefix) = (redis_url(), fresh_prefix());
    let a = Instance::start(&ring, &url, &prefix).connected();
    let b = Instance::start(&ring, &url, &prefix).connected();

    let alice_1 = a.app.login(ID, "alice").await;
    let alice_2 = a.app.login(ID, "alice").await;
    let alice_3 = b.app.login(ID, "alice").await;
    let bob = b.app.login(ID, "bob").await;

    let reply = b.app.post("/logout-everywhere", Some((ID, &alice_3))).await;
    assert_eq!(reply.status, 200);
    assert!(is_removal(reply.cookie(ID).expect("removal cookie")));
    for cookie in [&alice_1, &alice_2, &alice_3] {
        eventually_revoked(&a.app, cookie, "alice's session on A").await;
        eventually_revoked(&b.app, cookie, "alice's session on B").await;
    }
    assert!(accepted(&a.app, &bob).await, "bob is not alice");
    assert!(accepted(&b.app, &bob).await);

    // A session opened after the cutoff is untouched on both.
    for instance in [&a, &b] {
        instance.app.clock.advance(Duration::seconds(2));
    }
    let later = a.app.login(ID, "alice").await;
    assert!(accepted(&a.app, &later).await);
    assert!(accepted(&b.app, &later).await);
}

#[actix_web::test]
async fn a_redis_restart_in_the_middle_of_a_run_loses_no_logout() {
    let mut server = RedisServer::start();
    let ring = KeyRing::new(SecretKey::generate());
    let (url, prefix) = (server.url(), fresh_prefix());
    let a = Instance::start(&ring, &url, &prefix).connected();
    let b = Instance::start(&ring, &url, &prefix).connected();
    let mut logged_out = Vec::new();
    let mut still_in = Vec::new();

    // Before: logouts on both sides, propagated.
    for n in 0..4 {
        let (here, there) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let cookie = here.app.login(ID, &format!("before-{n}")).await;
        logout(&here.app, &cookie).await;
        eventually_revoked(&there.app, &cookie, "a logout before the restart").await;
        logged_out.push(cookie);
        still_in.push(here.app.login(ID, &format!("stays-{n}")).await);
    }

    // During: Redis is gone. Requests are served from the local copies, and a logout holds at
    // once where it was made, but is not answered as done: Redis did not confirm it, so an
    // instance killed now would take it along. The cookie is kept for the retry.
    server.stop();
    for instance in [&a, &b] {
        eventually("the instance notices", || !instance.store.health().reading).await;
    }
    let mut during = Vec::new();
    for n in 0..4 {
        let here = if n % 2 == 0 { &a } else { &b };
        let cookie = here.app.login(ID, &format!("during-{n}")).await;
        let reply = here.app.post("/logout", Some((ID, &cookie))).await;
        assert_eq!(reply.status, 503, "{:?}", reply.json);
        let error = reply.json["error"].as_str().unwrap_or_default();
        assert!(error.contains("did not confirm"), "{error}");
        assert!(
            reply.cookie(ID).is_none(),
            "the cookie is kept for the retry"
        );
        assert_eq!(
            refusal(&here.app, &cookie).await.as_deref(),
            Some("revoked")
        );
        // A retry while Redis is still away is not answered as done either, and keeps it too.
        let retry = here.app.post("/logout", Some((ID, &cookie))).await;
        assert_eq!(retry.status, 503, "{:?}", retry.json);
        assert!(retry.cookie(ID).is_none());
        during.push((n, cookie));
    }
    for cookie in &logged_out {
        assert_eq!(refusal(&a.app, cookie).await.as_deref(), Some("revoked"));
        assert_eq!(refusal(&b.app, cookie).await.as_deref(), Some("revoked"));
    }
    for instance in [&a, &b] {
        let health = instance.store.health();
        assert!(!health.connected, "{health:?}");
        assert!(
            health.pending_writes >= 2,
            "queued, not dropped: {health:?}"
        );
    }

    // Back, empty (no persistence): queued logouts are written, lost ones written back, and
    // the retries are answered as done.
    server.restart();
    let a = a.connected();
    let b = b.connected();
    for (n, cookie) in &during {
        let here = if n % 2 == 0 { &a } else { &b };
        let reply = here.app.post("/logout", Some((ID, cookie))).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert!(is_removal(reply.cookie(ID).expect("removal cookie")));
    }
    let during: Vec<String> = during.into_iter().map(|(_, cookie)| cookie).collect();
    for instance in [&a, &b] {
        assert!(
            instance.store.flush(StdDuration::from_secs(10)),
            "{:?}",
            instance.store.health()
        );
    }
    logged_out.extend(during);

    // After: business as usual.
    for n in 0..4 {
        let (here, there) = if n % 2 == 0 { (&b, &a) } else { (&a, &b) };
        let cookie = here.app.login(ID, &format!("after-{n}")).await;
        logout(&here.app, &cookie).await;
        eventually_revoked(&there.app, &cookie, "a logout after the restart").await;
        logged_out.push(cookie);
    }

    // None lost: every logout is refused on both instances, and on a third one started now,
    // which knows only what Redis holds.
    let c = Instance::start(&ring, &url, &prefix).connected();
    for (n, cookie) in logged_out.iter().enumerate() {
        for (name, instance) in [("A", &a), ("B", &b), ("C", &c)] {
            eventually_revoked(&instance.app, cookie, &format!("logout #{n} on {name}")).await;
        }
    }
    for cookie in &still_in {
        for instance in [&a, &b, &c] {
            assert!(
                accepted(&instance.app, cookie).await,
                "a live session stays live"
            );
        }
    }
}

#[actix_web::test]
async fn a_configuration_file_selects_the_redis_store() {
    let (url, prefix) = (redis_url(), fresh_prefix());
    let key = SecretKey::generate().to_base64();
    let json = format!(
        r#"{{
            "keys": "{}",
            "secure": false,
            "revocation": {{ "store": "redis", "url": "{url}", "prefix": "{prefix}" }}
        }}"#,
        *key
    );
    let instance = || {
        let clock = Arc::new(ManualClock::new(start_time()));
        let config: SessionConfig = serde_json::from_str(&json).expect("valid configuration");
        let middleware = config
            .into_builder()
            .expect("keys")
            .clock(clock.clone())
            .build()
            .expect("valid settings");
        TestApp::serve(middleware, clock)
    };
    let (a, b) = (instance(), instance());
    let cookie = a.login(ID, "alice").await;
    logout(&a, &cookie).await;
    eventually_revoked(&b, &cookie, "a logout through configured stores").await;

    // Checked when the file is read.
    for (revocation, expected) in [
        (
            r#"{ "store": "redis", "url": "http://example.com" }"#,
            "is not a Redis URL",
        ),
        (
            r#"{ "store": "redis", "url": "redis://h", "prefix": "" }"#,
            "key prefix",
        ),
        (r#"{ "store": "redis" }"#, "missing field `url`"),
        (r#"{ "store": "memcached" }"#, "unknown variant `memcached`"),
    ] {
        let json = format!(r#"{{ "keys": "{}", "revocation": {revocation} }}"#, *key);
        let err = serde_json::from_str::<SessionConfig>(&json).unwrap_err();
        assert!(err.to_string().contains(expected), "{revocation}: {err}");
    }
    let json = format!(
        r#"{{ "keys": "{}", "revocation": {{ "store": "memory" }} }}"#,
        *key
    );
    let config: SessionConfig = serde_json::from_str(&json).expect("memory store");
    assert!(config.build::<CookieSessionMiddleware>().is_ok());
}
