//! Fault injection against a real redis-server of each test's own (started, paused, flushed,
//! reconfigured and restarted by the test, on loopback): what an acknowledged logout survives,
//! and what `health()` says meanwhile.
//!
//! The invariant every test checks: a logout answered as done (`200`, or `Ok` from the
//! lifecycle) is refused by an instance started afterwards, which knows only what Redis holds.
//! A logout Redis could not confirm is answered `503` (`RevokeError::NotDurable`), holds where
//! it was made, and is answered `200` once retried with Redis back.
//!
//! Needs `REDIS_SERVER_BIN`: run with `scripts/test.sh`. Without it these tests fail, saying so.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealed_session::NotDurableReason;
use sealed_session::adapter::RequestInfo;
use sealed_session::clock::ManualClock;
use sealed_session::revocation::RevocationStore;
use sealed_session::{KeyRing, RevokeError, SecretKey, SessionManager};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_redis::{
    Durability, EvictingPolicy, LinkStatus, RedisRevocationStore, RedisStoreBuilder,
};
use sealed_session_tests::{
    RedisServer, Reply, STACKS, StackApp, StackSettings, Store, TestApp, is_removal, send_id,
};
use time::OffsetDateTime;

const ID: &str = "id";
/// A bound for the tests only, never a measured speed: the figures are in docs/revocation.md.
const PATIENCE: Duration = Duration::from_secs(10);

/// A store with the short intervals these tests need, on `url`, default prefix.
fn store_builder(url: &str) -> RedisStoreBuilder {
    RedisRevocationStore::builder(url)
        .max_backoff(Duration::from_millis(100))
        .reconcile_every(Duration::from_millis(200))
        .stall_timeout(Duration::from_millis(300))
        .shutdown_timeout(Duration::from_millis(500))
        .startup_wait(Duration::from_secs(5))
}

/// An app instance in this process, on the real clock, with `store`.
fn app(ring: &KeyRing, store: &RedisRevocationStore) -> TestApp {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let middleware = CookieSessionMiddleware::builder(ring.clone())
        .clock(clock.clone())
        .cookie_secure(false)
        .revocation_store(Arc::new(store.clone()))
        .build()
        .expect("valid test configuration");
    TestApp::serve(middleware, clock)
}

/// A lifecycle (no HTTP) on `store`, with a key of its own.
fn lifecycle_on(store: &RedisRevocationStore) -> SessionManager {
    SessionManager::builder(KeyRing::new(SecretKey::generate()))
        .revocation_store(Arc::new(store.clone()))
        .build()
        .expect("valid settings")
}

/// What `/whoami` at `app` says of `cookie`: `Some(reason)` if it is refused.
async fn refusal(app: &TestApp, cookie: &str) -> Option<String> {
    let reply = app.get("/whoami", Some((ID, cookie))).await;
    assert_eq!(reply.status, 200);
    reply.json["refused"].as_str().map(str::to_owned)
}

/// A fresh instance, which knows only what Redis holds: does it refuse `cookie` as revoked?
async fn revoked_for_a_new_instance(ring: &KeyRing, url: &str, cookie: &str) -> bool {
    // Tagged with the ring, as the example instances' stores are.
    let store = store_builder(url)
        .authenticate_with(ring)
        .build()
        .expect("valid settings");
    assert!(store.wait_until_loaded(PATIENCE), "{:?}", store.health());
    refusal(&app(ring, &store), cookie).await.as_deref() == Some("revoked")
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The example app (`examples/login.rs`) as a child process, killed with SIGKILL on drop.
struct ChildInstance {
    child: Child,
    port: u16,
    client: reqwest::Client,
}

impl ChildInstance {
    async fn start(keys: &str, redis_url: &str) -> Self {
        Self::start_with(keys, redis_url, &[]).await
    }

    /// [`ChildInstance::start`], with more environment variables.
    async fn start_with(keys: &str, redis_url: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_login_instance"))
            .envs(env.iter().copied())
            .env("PORT", port.to_string())
            .env("SESSION_KEYS", keys)
            .env("COOKIE_NAME", ID)
            .env("COOKIE_SECURE", "false")
            .env("REDIS_URL", redis_url)
            .stdin(Stdio::null())
            .spawn()
            .expect("the instance starts");
        let instance = Self {
            child,
            port,
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the instance listens");
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        instance
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        user: Option<&str>,
    ) -> Reply {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        send_id(&self.client, method, url, cookie, user).await
    }

    async fn login(&self, user: &str) -> String {
        let reply = self.send("POST", "/login", None, Some(user)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply.new_value(ID).expect("login sets the cookie")
    }

    /// SIGKILL, at once: no shutdown, no flush.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn keys() -> (String, KeyRing) {
    let secret = SecretKey::generate().to_base64().to_string();
    let ring = KeyRing::from_config(&secret).expect("a valid key");
    (secret, ring)
}

#[actix_web::test]
async fn an_acknowledged_logout_survives_a_kill_9_of_the_instance_that_answered() {
    let server = RedisServer::start();
    let url = server.url();
    let (secret, ring) = keys();
    for round in 0..10 {
        let instance = ChildInstance::start(&secret, &url).await;
        let cookie = instance.login(&format!("user-{round}")).await;
        let reply = instance.send("POST", "/logout", Some(&cookie), None).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        assert!(is_removal(reply.cookie(ID).expect("removal cookie")));
        instance.kill();
        assert!(
            revoked_for_a_new_instance(&ring, &url, &cookie).await,
            "round {round}: a logout answered 200 was lost with the instance"
        );
    }
}

/// `REDIS_REPLICAS` (issue 18, point 2, in the example app): with one replica asked for and
/// none attached, a logout is answered `503`, never `200`; without it, `200`. An invalid value
/// stops the app at startup, saying what to set.
#[actix_web::test]
async fn redis_replicas_in_the_example_app_holds_logouts_until_a_replica_has_them() {
    let server = RedisServer::start();
    let url = server.url();
    let (secret, _) = keys();
    let waiting = ChildInstance::start_with(&secret, &url, &[("REDIS_REPLICAS", "1")]).await;
    let cookie = waiting.login("ivy").await;
    let reply = waiting.send("POST", "/logout", Some(&cookie), None).await;
    assert_eq!(reply.status, 503, "no replica: {:?}", reply.json);
    drop(waiting);
    let plain = ChildInstance::start(&secret, &url).await;
    let cookie = plain.login("ivy").await;
    let reply = plain.send("POST", "/logout", Some(&cookie), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let refused = Command::new(env!("CARGO_BIN_EXE_login_instance"))
        .env("PORT", free_port().to_string())
        .env("SESSION_KEYS", &*secret)
        .env("REDIS_URL", &url)
        .env("REDIS_REPLICAS", "one")
        .output()
        .expect("the instance runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("REDIS_REPLICAS"), "{stderr}");
}

#[actix_web::test]
async fn a_logout_redis_cannot_confirm_is_not_answered_as_done() {
    let mut server = RedisServer::start();
    let url = server.url();
    let (secret, ring) = keys();
    let instance = ChildInstance::start(&secret, &url).await;
    let cookie = instance.login("alice").await;
    server.stop();
    let reply = instance.send("POST", "/logout", Some(&cookie), None).await;
    assert_eq!(reply.status, 503, "{:?}", reply.json);
    assert!(
        reply.cookie(ID).is_none(),
        "the cookie is kept for the retry"
    );
    assert_eq!(
        instance
            .send("GET", "/whoami", Some(&cookie), None)
            .await
            .json["refused"],
        "revoked",
        "it holds where it was made"
    );
    // Killed now, the instance takes the logout along: it was never answered as done.
    instance.kill();
    server.restart();
    assert!(!revoked_for_a_new_instance(&ring, &url, &cookie).await);

    // The same with a retry once Redis is back: then it is done, and survives a kill.
    let instance = ChildInstance::start(&secret, &url).await;
    let cookie = instance.login("bob").await;
    server.stop();
    let reply = instance.send("POST", "/logout", Some(&cookie), None).await;
    assert_eq!(reply.status, 503, "{:?}", reply.json);
    server.restart();
    let deadline = Instant::now() + PATIENCE;
    let retry = loop {
        let retry = instance.send("POST", "/logout", Some(&cookie), None).await;
        if retry.status == 200 || Instant::now() > deadline {
            break retry;
        }
        assert_eq!(retry.status, 503, "{:?}", retry.json);
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(retry.status, 200, "{:?}", retry.json);
    assert!(is_removal(retry.cookie(ID).expect("removal cookie")));
    instance.kill();
    assert!(revoked_for_a_new_instance(&ring, &url, &cookie).await);
}

#[actix_web::test]
async fn redis_restarted_empty_gets_back_what_a_live_instance_holds() {
    let mut server = RedisServer::start();
    let url = server.url();
    let (secret, ring) = keys();
    let survivor = store_builder(&url)
        .authenticate_with(&ring)
        .build()
        .unwrap();
    assert!(survivor.wait_until_loaded(PATIENCE));
    let instance = ChildInstance::start(&secret, &url).await;
    let cookie = instance.login("carol").await;
    let reply = instance.send("POST", "/logout", Some(&cookie), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    instance.kill();
    let survivor_app = app(&ring, &survivor);
    let deadline = Instant::now() + PATIENCE;
    while refusal(&survivor_app, &cookie).await.as_deref() != Some("revoked") {
        assert!(Instant::now() < deadline, "the survivor got the logout");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let syncs = survivor.health().full_syncs;
    server.restart(); // empty: no persistence
    eventually(
        "the survivor sees the loss, writes back and reads again",
        || {
            let health = survivor.health();
            health.full_syncs > syncs && health.repair_writes == 0 && health.connected
        },
    )
    .await;
    assert!(revoked_for_a_new_instance(&ring, &url, &cookie).await);
}

#[actix_web::test]
async fn a_flushdb_with_connections_up_is_noticed_and_repaired() {
    let server = RedisServer::start();
    let url = server.url();
    let ring = KeyRing::new(SecretKey::generate());
    let store = store_builder(&url)
        .authenticate_with(&ring)
        .build()
        .unwrap();
    assert!(store.wait_until_loaded(PATIENCE));
    let app = app(&ring, &store);
    let mut cookies = Vec::new();
    for n in 0..20 {
        let cookie = app.login(ID, &format!("user-{n}")).await;
        assert_eq!(app.post("/logout", Some((ID, &cookie))).await.status, 200);
        cookies.push(cookie);
    }
    let syncs = store.health().full_syncs;
    redis::cmd("FLUSHDB")
        .query::<()>(&mut server.connection())
        .unwrap();
    eventually("the flush is noticed without a reconnect", || {
        store.health().full_syncs > syncs
    })
    .await;
    assert!(store.flush(PATIENCE), "{:?}", store.health());
    eventually("the repair is written", || {
        store.health().repair_writes == 0
    })
    .await;
    for cookie in &cookies {
        assert!(revoked_for_a_new_instance(&ring, &url, cookie).await);
    }
}

#[actix_web::test]
async fn an_evicting_policy_is_reported_and_can_refuse_to_confirm() {
    let server = RedisServer::start();
    let url = server.url();
    let mut con = server.connection();
    for (name, value) in [("maxmemory", "100mb"), ("maxmemory-policy", "allkeys-lru")] {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query::<()>(&mut con)
            .unwrap();
    }
    let warn = store_builder(&url).build().unwrap();
    assert!(warn.wait_until_loaded(PATIENCE));
    let health = warn.health();
    assert_eq!(health.evicting_policy.as_deref(), Some("allkeys-lru"));
    assert_eq!(health.status, LinkStatus::EvictingPolicy);
    let refuse = store_builder(&url)
        .evicting_policy(EvictingPolicy::Refuse)
        .build()
        .unwrap();
    assert!(refuse.wait_until_loaded(PATIENCE));
    let sessions = lifecycle_on(&refuse);
    let err = sessions.revoke_subject("alice").await.unwrap_err();
    assert!(err.is_not_durable(), "{err}");
    assert!(err.to_string().contains("maxmemory-policy"), "{err}");
    // Back to noeviction: noticed at the next check, and confirmed again.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .query::<()>(&mut con)
        .unwrap();
    eventually("the policy change is seen", || {
        refuse.health().evicting_policy.is_none()
    })
    .await;
    sessions.revoke_subject("alice").await.unwrap();
    assert_eq!(refuse.health().status, LinkStatus::Up);
}

#[actix_web::test]
async fn a_write_redis_refuses_is_retried_and_never_lost() {
    let server = RedisServer::start();
    let url = server.url();
    let store = store_builder(&url)
        .durability(Durability::Acknowledged {
            timeout: Duration::from_millis(300),
        })
        .build()
        .unwrap();
    assert!(store.wait_until_loaded(PATIENCE));
    let sessions = lifecycle_on(&store);
    // A key of another type where the stream's retention goes: the append script gets
    // WRONGTYPE, so Redis refuses the batch.
    let mut con = server.connection();
    redis::cmd("LPUSH")
        .arg("sealed-session:rev:retention")
        .arg("x")
        .query::<()>(&mut con)
        .unwrap();
    let err = sessions.revoke_subject("alice").await.unwrap_err();
    assert!(
        matches!(
            err,
            RevokeError::NotDurable {
                reason: NotDurableReason::RedisRefusedWrite,
                ..
            }
        ),
        "{err:?}"
    );
    let health = store.health();
    assert_eq!(health.status, LinkStatus::CommandErrors, "{health:?}");
    assert_eq!(health.refused_writes, 1);
    assert!(
        health
            .last_command_error
            .as_deref()
            .unwrap_or_default()
            .contains("EVAL"),
        "{health:?}"
    );
    // The broken key gone: the refused write is retried (with backoff) and lands, and a logout
    // made afterwards is confirmed.
    redis::cmd("DEL")
        .arg("sealed-session:rev:retention")
        .query::<()>(&mut con)
        .unwrap();
    assert!(store.flush(PATIENCE), "{:?}", store.health());
    sessions.revoke_subject("bob").await.unwrap();

    // Out of memory under noeviction: every write is refused, none is lost.
    for (name, value) in [("maxmemory", "1"), ("maxmemory-policy", "noeviction")] {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query::<()>(&mut con)
            .unwrap();
    }
    let mut session = sessions.open([], RequestInfo::new("/"));
    session.sign_in("dave").unwrap();
    let err = sessions.revoke_subject("dave").await.unwrap_err();
    assert!(err.is_not_durable(), "{err:?}");
    assert!(
        store
            .health()
            .last_command_error
            .unwrap_or_default()
            .contains("OOM"),
        "{:?}",
        store.health()
    );
    // Memory back: the refused writes are retried and land.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query::<()>(&mut con)
        .unwrap();
    assert!(store.flush(PATIENCE), "{:?}", store.health());
    eventually("the refusals are over", || {
        store.health().status == LinkStatus::Up
    })
    .await;
    let fresh = store_builder(&url).build().unwrap();
    assert!(fresh.wait_until_loaded(PATIENCE));
    for subject in ["alice", "bob", "dave"] {
        assert!(
            fresh.generation(subject) > sealed_session::revocation::Generation::ZERO,
            "{subject}'s logout reached Redis"
        );
    }
}

/// The least an ACL user needs (what docs/operations.md lists): the store's keys only, no
/// channel at all, and a short list of commands (the scripts' own calls are checked too).
/// Logouts made through such a user are confirmed, and another instance reads them.
#[actix_web::test]
async fn an_acl_user_with_only_the_listed_commands_and_keys_makes_logouts_durable() {
    let server = RedisServer::start();
    let url = server.url();
    let mut setuser = redis::cmd("ACL");
    setuser
        .arg("SETUSER")
        .arg("sessions")
        .arg("reset")
        .arg("on")
        .arg(">secret")
        .arg("~sealed-session:*")
        .arg("resetchannels");
    for command in sealed_session_redis::REQUIRED_COMMANDS {
        setuser.arg(format!("+{command}"));
    }
    setuser.query::<()>(&mut server.connection()).unwrap();
    let limited_url = url.replace("redis://", "redis://sessions:secret@");
    let store = store_builder(&limited_url).build().unwrap();
    assert!(store.wait_until_connected(PATIENCE), "{:?}", store.health());
    let reader = store_builder(&limited_url).build().unwrap();
    assert!(
        reader.wait_until_connected(PATIENCE),
        "{:?}",
        reader.health()
    );
    let sessions = lifecycle_on(&store);
    for n in 0..3 {
        sessions.revoke_subject(&format!("user-{n}")).await.unwrap();
    }
    let health = store.health();
    assert_eq!(health.status, LinkStatus::Up, "{health:?}");
    assert_eq!(health.command_errors, 0, "{health:?}");
    eventually("the other instance read them", || {
        (0..3).all(|n| {
            reader.generation(&format!("user-{n}")) > sealed_session::revocation::Generation::ZERO
        })
    })
    .await;
    let fresh = store_builder(&limited_url).build().unwrap();
    assert!(fresh.wait_until_loaded(PATIENCE));
    for n in 0..3 {
        assert!(
            fresh.generation(&format!("user-{n}")) > sealed_session::revocation::Generation::ZERO
        );
    }
    assert_eq!(reader.health().command_errors, 0, "{:?}", reader.health());
}

/// A primary demoted under the store (a failover that doesn't kill its clients: `READONLY` on
/// every write) is a link failure, not a refused command: the writer reconnects (through a
/// Sentinel URL, that finds the new primary), the link shows down, and logouts answer
/// `NotDurable` at once instead of being retried against a replica.
#[actix_web::test]
async fn a_demoted_primary_is_a_link_failure_not_a_refused_write() {
    let primary = RedisServer::start();
    let other = RedisServer::start();
    let ring = KeyRing::new(SecretKey::generate());
    let store = store_builder(&primary.url())
        .authenticate_with(&ring)
        .build()
        .unwrap();
    assert!(store.wait_until_connected(PATIENCE), "{:?}", store.health());
    let sessions = lifecycle_on(&store);
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(other.port())
        .query(&mut primary.connection())
        .unwrap();
    let err = sessions.revoke_subject("zoe").await.unwrap_err();
    assert!(err.is_not_durable(), "{err:?}");
    eventually("the link shows down", || !store.health().connected).await;
    let health = store.health();
    assert_eq!(
        health.refused_writes, 0,
        "not retried as a refused write: {health:?}"
    );
}

/// A logout of a cookie this instance refuses only through its own coarsening (here: other
/// instances' revocations past its `remote_total` raised its store-wide cutoff, which Redis does
/// not hold) is answered once its exact revocation is in Redis, so an instance started
/// afterwards refuses the cookie too (invariant 1; from a review of issue 18: it was answered
/// `Ok` with nothing written).
#[actix_web::test]
async fn a_logout_refused_only_by_local_coarsening_still_reaches_redis() {
    let server = RedisServer::start();
    let url = server.url();
    let ring = KeyRing::new(SecretKey::generate());
    let on = |store: &RedisRevocationStore| {
        SessionManager::builder(ring.clone())
            .revocation_store(Arc::new(store.clone()))
            .build()
            .expect("valid settings")
    };
    let cookie_of = |sessions: &SessionManager, subject: &str| {
        let mut session = sessions.open([], RequestInfo::new("/login"));
        session.sign_in(subject).unwrap();
        let header = session.finish().unwrap();
        let header = header.header().expect("a cookie").to_owned();
        header.split(';').next().unwrap().to_owned()
    };
    let open = |sessions: &SessionManager, cookie: &str| {
        sessions.open([cookie.as_bytes()], RequestInfo::new("/logout"))
    };
    let b_store = store_builder(&url)
        .authenticate_with(&ring)
        .limits(sealed_session::revocation::RevocationLimits::new().remote_total(2))
        .build()
        .unwrap();
    let a_store = store_builder(&url)
        .authenticate_with(&ring)
        .build()
        .unwrap();
    assert!(b_store.wait_until_connected(PATIENCE) && a_store.wait_until_connected(PATIENCE));
    let (a, b) = (on(&a_store), on(&b_store));
    let victim = cookie_of(&b, "victim");
    // Three other users log out on A: B's room for other instances takes the first (an entry
    // and its revoked id: both units), and B raises its own store-wide cutoff for the others,
    // ending the victim's session there only.
    for user in ["x", "y", "z"] {
        let cookie = cookie_of(&a, user);
        open(&a, &cookie).purge().unwrap();
    }
    eventually("B refuses the victim through its own cutoff", || {
        open(&b, &victim).refusal() == Some(sealed_session::OpenError::Revoked)
    })
    .await;
    // The victim logs out on B: answered only once Redis has the victim's own revocation.
    open(&b, &victim)
        .without_blocking(|s| s.purge())
        .await
        .unwrap();
    let fresh = store_builder(&url)
        .authenticate_with(&ring)
        .build()
        .unwrap();
    assert!(fresh.wait_until_loaded(PATIENCE), "{:?}", fresh.health());
    assert_eq!(
        open(&on(&fresh), &victim).refusal(),
        Some(sealed_session::OpenError::Revoked),
        "an instance that knows only Redis refuses the logged-out cookie"
    );
}

#[actix_web::test]
async fn a_stalled_redis_shows_in_the_health_and_logouts_wait_for_it() {
    let server = RedisServer::start();
    let url = server.url();
    let ring = KeyRing::new(SecretKey::generate());
    let store = store_builder(&url)
        .authenticate_with(&ring)
        .build()
        .unwrap();
    assert!(store.wait_until_connected(PATIENCE));
    let app = app(&ring, &store);
    let cookie = app.login(ID, "erin").await;
    server.pause();
    let stalled = Instant::now();
    eventually("the stall shows", || !store.health().connected).await;
    let noticed = stalled.elapsed();
    assert_eq!(store.health().status, LinkStatus::Down);
    let reply = app.post("/logout", Some((ID, &cookie))).await;
    assert_eq!(reply.status, 503, "{:?}", reply.json);
    server.resume();
    assert!(store.wait_until_connected(PATIENCE), "{:?}", store.health());
    let reply = app.post("/logout", Some((ID, &cookie))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(revoked_for_a_new_instance(&ring, &url, &cookie).await);
    // Printed for docs/revocation.md; never asserted (a test asserts no wall-clock speed).
    println!("stall noticed after {noticed:?}");
}

/// A logout waiting for Redis's acknowledgement holds no thread (invariant 8 of
/// docs/security.md): on each stack, served by one thread (actix-web's test server has one
/// worker, the axum harness a current-thread runtime), with Redis frozen, a read sent while a
/// logout waits is answered first; the logout is answered `200` once Redis is back. A logout
/// that blocked its thread would hold the read until its own wait ran out.
#[actix_web::test]
async fn a_logout_waiting_for_redis_holds_no_thread_on_either_stack() {
    for stack in STACKS {
        let server = RedisServer::start();
        // Neither the acknowledgement nor the stall detection gives up during the test: the
        // logout waits as long as Redis is frozen.
        let store = store_builder(&server.url())
            .stall_timeout(PATIENCE)
            .durability(Durability::Acknowledged { timeout: PATIENCE })
            .build()
            .unwrap();
        assert!(store.wait_until_connected(PATIENCE), "{:?}", store.health());
        let settings = StackSettings {
            store: Arc::new(store.clone()),
            ..StackSettings::on(Store::Memory)
        };
        let app = StackApp::start(stack, &settings);
        let cookie = app.login("alice").await;
        let reader = app.login("bob").await;
        server.pause();
        let logout = app.post("/logout", &cookie);
        tokio::pin!(logout);
        let read = async {
            eventually("the logout waits for Redis", || {
                store.health().pending_writes > 0
            })
            .await;
            app.whoami(&reader).await
        };
        let who = tokio::select! {
            biased;
            reply = &mut logout => panic!(
                "{stack:?}: the logout was answered ({}) before the read, Redis frozen",
                reply.status
            ),
            who = read => who,
        };
        assert_eq!(who["user"], "bob", "{stack:?}");
        server.resume();
        let reply = logout.await;
        assert_eq!(reply.status, 200, "{stack:?}: {:?}", reply.json);
        app.assert_revoked(&cookie, format!("{stack:?}")).await;
        assert!(store.health().acknowledgement_p99.is_some(), "{stack:?}");
    }
}

/// A reconnect is a resume, not a reload (invariant 9 of docs/security.md): the reader picks
/// up after the last entry it applied, so the 200,000 entries before it (forged here, so each
/// one read is counted in `refused`) are not read again, and no full read runs. While Redis is
/// healthy, no logout is answered `503` around it, and an entry appended meanwhile arrives.
#[actix_web::test]
async fn a_reconnect_resumes_where_it_stopped_and_logouts_stay_confirmed() {
    const JUNK: u64 = 200_000;
    let server = RedisServer::start();
    let mut con = server.connection();
    for chunk in 0..20 {
        let mut pipe = redis::pipe();
        for n in 0..JUNK / 20 {
            // A generation no clock allows: refused, and counted, each time it is read.
            pipe.cmd("XADD")
                .arg("sealed-session:rev:log")
                .arg("*")
                .arg("k")
                .arg(format!("sealed-session:rev:sub:junk-{chunk}-{n}"))
                .arg("v")
                .arg("9999999999999999999 1")
                .ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
    }
    let ring = KeyRing::new(SecretKey::generate());
    let store = store_builder(&server.url())
        .unauthenticated()
        .build()
        .unwrap();
    assert!(store.wait_until_connected(PATIENCE), "{:?}", store.health());
    let other = store_builder(&server.url())
        .unauthenticated()
        .build()
        .unwrap();
    assert!(other.wait_until_connected(PATIENCE), "{:?}", other.health());
    let app = app(&ring, &store);
    let before = store.health();
    assert_eq!(before.refused, JUNK, "{before:?}");
    assert_eq!(before.full_syncs, 1, "{before:?}");
    // The reader's connection is the one blocked in XREAD.
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    let ids: Vec<String> = clients
        .lines()
        .filter(|line| line.contains("cmd=xread"))
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), 2, "two readers: {clients}");
    let mut kill = redis::cmd("CLIENT");
    kill.arg("KILL");
    for id in &ids {
        kill.arg("ID").arg(id);
    }
    let _: i64 = kill.query(&mut con).unwrap();
    // Made on the other instance while this one's reader is down, or about to reconnect.
    lifecycle_on(&other).revoke_subject("carol").await.unwrap();
    let mut logouts = 0;
    for n in 0..20 {
        let cookie = app.login(ID, &format!("user-{n}")).await;
        let reply = app.post("/logout", Some((ID, &cookie))).await;
        assert_eq!(reply.status, 200, "logout {n}: {:?}", reply.json);
        logouts += 1;
    }
    eventually("carol's logout arrives", || {
        store.generation("carol") > sealed_session::revocation::Generation::ZERO
    })
    .await;
    eventually("connected again", || store.health().connected).await;
    let after = store.health();
    assert_eq!(after.refused, JUNK, "nothing read twice: {after:?}");
    assert_eq!(after.full_syncs, 1, "no full read: {after:?}");
    println!("{logouts} logouts around the reconnect, all confirmed");
}

/// While Redis is healthy, no logout is answered `503` because the writer's connection was
/// closed under it while idle: Redis's `timeout` (as managed services set it), a proxy or a
/// NAT dropping idle connections, or a `CLIENT KILL`. The first write on such a connection
/// fails; the writer reconnects and writes again at once, and only a failure on a fresh
/// connection counts as Redis being unreachable.
#[actix_web::test]
async fn a_logout_after_redis_closed_the_idle_writer_connection_is_confirmed() {
    let server = RedisServer::start_with(&["--timeout", "1"]);
    let ring = KeyRing::new(SecretKey::generate());
    let store = store_builder(&server.url()).build().unwrap();
    assert!(store.wait_until_connected(PATIENCE), "{:?}", store.health());
    let app = app(&ring, &store);
    let mut con = server.connection();
    let accepted = |con: &mut redis::Connection| -> u64 {
        let stats: String = redis::cmd("INFO").arg("stats").query(con).unwrap();
        stats
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("INFO stats has total_connections_received")
    };
    let before = accepted(&mut con);
    for round in 0..3 {
        let cookie = app.login(ID, &format!("user-{round}")).await;
        // Idle for longer than Redis's timeout: Redis closes the writer's connection (and
        // this test's own; its client cron visits every client within a second).
        actix_web::rt::time::sleep(Duration::from_millis(2_500)).await;
        let reply = app.post("/logout", Some((ID, &cookie))).await;
        assert_eq!(
            reply.status,
            200,
            "round {round}: {:?} ({:?})",
            reply.json,
            store.health()
        );
        assert!(store.health().connected, "{:?}", store.health());
    }
    // The logouts did meet closed connections: the writer connected anew each round.
    let mut con = server.connection();
    assert!(
        accepted(&mut con) >= before + 3,
        "Redis closed no idle connection: the test proves nothing"
    );
}

#[actix_web::test]
async fn an_instance_started_during_an_outage_refuses_signed_in_sessions_until_loaded() {
    let server = RedisServer::start();
    let url = server.url();
    let ring = KeyRing::new(SecretKey::generate());
    let first = store_builder(&url).build().unwrap();
    assert!(first.wait_until_loaded(PATIENCE));
    let first_app = app(&ring, &first);
    let revoked = first_app.login(ID, "frank").await;
    assert_eq!(
        first_app.post("/logout", Some((ID, &revoked))).await.status,
        200
    );
    let live = first_app.login(ID, "grace").await;

    server.pause();
    let late = store_builder(&url)
        .startup_wait(Duration::from_millis(300))
        .build()
        .unwrap();
    assert_eq!(late.health().status, LinkStatus::Starting);
    assert!(!late.revocations_known());
    let late_app = app(&ring, &late);
    for cookie in [&revoked, &live] {
        let reply = late_app.get("/whoami", Some((ID, cookie))).await;
        assert_eq!(
            reply.json["refused"], "revocation_unknown",
            "{:?}",
            reply.json
        );
        assert!(reply.cookie(ID).is_none(), "the cookie is kept");
    }
    // An anonymous session is not listed anywhere: served.
    let anonymous = late_app.post("/counter", None).await;
    assert_eq!(anonymous.status, 200);

    server.resume();
    assert!(late.wait_until_loaded(PATIENCE), "{:?}", late.health());
    assert_eq!(
        refusal(&late_app, &revoked).await.as_deref(),
        Some("revoked")
    );
    assert_eq!(refusal(&late_app, &live).await, None);
}

#[actix_web::test]
async fn a_large_repair_does_not_hold_up_logouts() {
    let server = RedisServer::start();
    let url = server.url();
    let store = store_builder(&url).build().unwrap();
    assert!(store.wait_until_loaded(PATIENCE));
    let sessions = lifecycle_on(&store);
    const BACKLOG: usize = 20_000;
    for n in 0..BACKLOG {
        sessions.revoke_subject(&format!("bulk-{n}")).await.unwrap();
    }
    redis::cmd("FLUSHDB")
        .query::<()>(&mut server.connection())
        .unwrap();
    eventually("the repair starts", || store.health().repair_writes > 0).await;
    // Logouts made while it runs are confirmed: they go before the write-backs.
    let mut during = 0;
    while store.health().repair_writes > 0 {
        sessions
            .revoke_subject(&format!("during-{during}"))
            .await
            .unwrap();
        during += 1;
    }
    assert!(during > 0, "a logout was made during the repair");
    let fresh = store_builder(&url).build().unwrap();
    assert!(fresh.wait_until_loaded(PATIENCE));
    assert!(
        fresh.health().local_entries >= BACKLOG + during,
        "{:?}",
        fresh.health()
    );
}

#[actix_web::test]
async fn a_stop_during_an_outage_saves_what_is_unwritten_for_the_next_start() {
    let mut server = RedisServer::start();
    let url = server.url();
    let dir = std::env::temp_dir().join(format!("sealed-session-pending-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pending");
    let build = || store_builder(&url).pending_file(&file).build().unwrap();
    let store = build();
    assert!(store.wait_until_loaded(PATIENCE));
    let sessions = lifecycle_on(&store);
    server.stop();
    let err = sessions.revoke_subject("heidi").await.unwrap_err();
    assert!(err.is_not_durable(), "{err}");
    drop(sessions);
    drop(store);
    let saved = std::fs::read_to_string(&file).expect("the stop saved the pending file");
    let mut lines = saved.lines();
    assert_eq!(
        lines.next(),
        Some("sealed-session-redis pending v2"),
        "{saved}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|line| line.starts_with("g ") && line.contains("heidi")),
        "{saved}"
    );

    server.restart();
    let next = build();
    assert!(next.flush(PATIENCE), "{:?}", next.health());
    eventually("the file goes once written", || !file.exists()).await;
    let fresh = store_builder(&url).build().unwrap();
    assert!(fresh.wait_until_loaded(PATIENCE));
    assert!(fresh.generation("heidi") > sealed_session::revocation::Generation::ZERO);
    let _ = std::fs::remove_dir_all(&dir);
}
