//! Logout that can't be dodged or flooded (issue 8), over real HTTP against the example login
//! app: subject revocation by authentication stamp and cutoff, the attacker who signs out other
//! devices in a loop, instances whose clocks disagree, bounded revocation state, crafted
//! `Cookie` headers and the largest timeouts. The tests that take a `Store` run once per revocation backend.

use std::sync::Arc;

use sealed_session::clock::{Clock as _, ManualClock, SystemClock};
use sealed_session::codec::{MAX_TIMEOUT, UnixTime};
use sealed_session::revocation::{MemoryRevocationStore, RevocationLimits};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_actix::{CookieSessionMiddleware, PersistentSession, SessionConfig};
use sealed_session_tests::{Lcg, Store, TestApp, eventually, is_removal, start_time};
use time::Duration;

const ID: &str = "id";

/// `/whoami`'s user for `cookie`, or `None`.
async fn user(app: &TestApp, cookie: &str) -> Option<String> {
    app.get("/whoami", Some((ID, cookie))).await.json["user"]
        .as_str()
        .map(str::to_owned)
}

async fn log_out_everywhere_ends_every_session_and_a_login_right_after_works(store: Store) {
    let app = TestApp::default_app_on(store);
    let laptop = app.login(ID, "alice").await;
    let phone = app.login(ID, "alice").await;
    let bob = app.login(ID, "bob").await;

    let reply = app.post("/logout-everywhere", Some((ID, &laptop))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["user"], serde_json::Value::Null);
    assert!(is_removal(reply.cookie(ID).expect("removal cookie")));
    for old in [&laptop, &phone] {
        assert_eq!(
            app.get("/whoami", Some((ID, old))).await.json["refused"],
            "revoked"
        );
    }
    assert_eq!(
        user(&app, &bob).await.as_deref(),
        Some("bob"),
        "other users stay"
    );

    // The same second, on the same clock: a new login is stamped above the new cutoff.
    let again = app.login(ID, "alice").await;
    assert_eq!(user(&app, &again).await.as_deref(), Some("alice"));
    app.clock.advance(Duration::minutes(5));
    assert_eq!(user(&app, &again).await.as_deref(), Some("alice"));
}

async fn log_out_others_keeps_this_session_and_ends_the_rest(store: Store) {
    // "Sign out other devices" ends the sessions authenticated before the caller's, never a
    // fresher one, and renews the caller's (a copy of its old cookie is refused).
    let app = TestApp::default_app_on(store);
    let laptop = app.login(ID, "alice").await;
    app.clock.advance(Duration::seconds(1));
    let phone = app.login(ID, "alice").await;
    app.clock.advance(Duration::seconds(1));

    // From the older session: the phone, signed in after it, is not touched.
    let reply = app.post("/logout-others", Some((ID, &laptop))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["user"], "alice");
    let laptop_renewed = reply.new_value(ID).expect("this session gets a new cookie");
    assert_eq!(user(&app, &laptop_renewed).await.as_deref(), Some("alice"));
    assert_eq!(
        app.get("/whoami", Some((ID, &laptop))).await.json["refused"],
        "revoked",
        "the caller's old cookie"
    );
    assert_eq!(
        user(&app, &phone).await.as_deref(),
        Some("alice"),
        "a fresher session survives"
    );

    // From the freshest session: every other one ends.
    let reply = app.post("/logout-others", Some((ID, &phone))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["user"], "alice");
    let kept = reply.new_value(ID).expect("this session gets a new cookie");
    assert_eq!(user(&app, &kept).await.as_deref(), Some("alice"));
    for other in [&phone, &laptop, &laptop_renewed] {
        assert_eq!(
            app.get("/whoami", Some((ID, other))).await.json["refused"],
            "revoked"
        );
    }
}

async fn without_a_signed_in_user_the_logout_routes_answer_200_and_change_nothing(store: Store) {
    let app = TestApp::default_app_on(store);
    for path in ["/logout-everywhere", "/logout-others"] {
        let reply = app.post(path, None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.json["user"], serde_json::Value::Null);
        assert!(
            reply.set_cookies.is_empty(),
            "{path}: {:?}",
            reply.set_cookies
        );
    }
    let anonymous = app.post("/counter", None).await.new_value(ID).unwrap();
    let reply = app.post("/logout-others", Some((ID, &anonymous))).await;
    assert_eq!(reply.status, 200);
    assert!(reply.set_cookies.is_empty());
    assert_eq!(
        app.get("/whoami", Some((ID, &anonymous))).await.json["counter"],
        1
    );
}

/// One trial: the attacker holds a copy of the victim's cookie and signs out other devices
/// every 100 ms (of the injected clock, or real time), concurrently with the victim's "log out
/// everywhere" (after signing in again whenever the attacker already signed the victim out).
/// Returns whether the attacker's latest cookie survived the victim's log-out-everywhere.
async fn attacker_survives(app: &TestApp, rounds: u64, victim_at: u64, real_time: bool) -> bool {
    let victim_cookie = app.login(ID, "victim").await;
    let attacker = async {
        let mut cookie = victim_cookie.clone();
        for _ in 0..rounds {
            let reply = app.post("/logout-others", Some((ID, &cookie))).await;
            if let Some(fresh) = reply.new_value(ID) {
                cookie = fresh;
            }
            if real_time {
                actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
            } else {
                app.clock.advance(Duration::milliseconds(100));
                actix_web::rt::task::yield_now().await;
            }
        }
        cookie
    };
    let victim = async {
        if real_time {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100 * victim_at)).await;
        } else {
            for _ in 0..victim_at {
                actix_web::rt::task::yield_now().await;
            }
        }
        // Until it is done: an attempt made with a cookie the attacker already signed out did
        // nothing (the answer says `refused`), and the victim signs in again and retries.
        let mut cookie = victim_cookie.clone();
        for attempt in 0.. {
            assert!(attempt < 100, "the victim gets through");
            if user(app, &cookie).await.is_none() {
                cookie = app.login(ID, "victim").await;
            }
            let reply = app.post("/logout-everywhere", Some((ID, &cookie))).await;
            assert_eq!(reply.status, 200, "{:?}", reply.json);
            if reply.json.get("refused").is_none() {
                break;
            }
        }
    };
    let (attacker_cookie, ()) = futures_util::join!(attacker, victim);
    user(app, &attacker_cookie).await.is_some()
}

async fn an_attacker_signing_out_others_in_a_loop_never_outlives_log_out_everywhere(store: Store) {
    let app = TestApp::default_app_on(store);
    let mut random = Lcg(8);
    let mut survivals = 0;
    for _ in 0..100 {
        let rounds = 2 + random.below(8);
        let victim_at = random.below(rounds + 2);
        if attacker_survives(&app, rounds, victim_at, false).await {
            survivals += 1;
        }
        app.clock.advance(Duration::seconds(1));
    }
    assert_eq!(
        survivals, 0,
        "attacker survived in {survivals} of 100 trials"
    );
}

async fn the_attacker_loop_in_real_time(store: Store) {
    let ring = KeyRing::new(SecretKey::generate());
    let middleware = CookieSessionMiddleware::builder(ring)
        .cookie_secure(false)
        .clock(Arc::new(SystemClock))
        .revocation_store(store.make(Arc::new(SystemClock)))
        .build()
        .unwrap();
    let app = TestApp::serve(middleware, Arc::new(ManualClock::new(start_time())));
    let mut survivals = 0;
    for victim_at in [0, 1, 2, 3, 5] {
        if attacker_survives(&app, 6, victim_at, true).await {
            survivals += 1;
        }
    }
    assert_eq!(survivals, 0, "attacker survived in {survivals} of 5 trials");
}

async fn instances_whose_clocks_differ_by_the_skew_allowance_agree_on_log_out_everywhere(
    store: Store,
) {
    let ring = KeyRing::new(SecretKey::generate());
    // A's clock is the full allowance (60 s) ahead of B's.
    let clock_a = Arc::new(ManualClock::new(start_time() + Duration::seconds(60)));
    let clock_b = Arc::new(ManualClock::new(start_time()));
    let (store_a, store_b) = store.make_pair(clock_a.clone(), clock_b.clone());
    let start = |store, clock: Arc<ManualClock>| {
        let middleware = CookieSessionMiddleware::builder(ring.clone())
            .cookie_secure(false)
            .clock(clock.clone())
            .revocation_store(store)
            .build()
            .unwrap();
        TestApp::serve(middleware, clock)
    };
    let a = start(store_a, clock_a);
    let b = start(store_b, clock_b);
    let phone = a.login(ID, "alice").await; // created 60 s "in the future" for B
    let laptop = b.login(ID, "alice").await;
    assert_eq!(
        user(&b, &phone).await.as_deref(),
        Some("alice"),
        "within the skew"
    );

    let reply = b.post("/logout-everywhere", Some((ID, &laptop))).await;
    assert_eq!(reply.status, 200);
    for app in [&a, &b] {
        eventually("both instances refuse the phone", || async {
            app.get("/whoami", Some((ID, &phone))).await.json["refused"] == "revoked"
        })
        .await;
    }
    // And the other way round: a session B created is ended by a log-out-everywhere on A.
    let tablet = b.login(ID, "alice").await;
    let desktop = a.login(ID, "alice").await;
    eventually("A accepts the tablet", || async {
        user(&a, &tablet).await.is_some()
    })
    .await;
    assert_eq!(
        a.post("/logout-everywhere", Some((ID, &desktop)))
            .await
            .status,
        200
    );
    for app in [&a, &b] {
        eventually("both instances refuse the tablet", || async {
            app.get("/whoami", Some((ID, &tablet))).await.json["refused"] == "revoked"
        })
        .await;
    }
}

async fn a_header_stuffed_with_forged_values_opens_at_most_three_of_them(store: Store) {
    let app = TestApp::default_app_on(store);
    let alice = app.login(ID, "alice").await;
    // Well-formed (four base64 characters replaced inside the sealed part, the length kept),
    // but the tag no longer matches.
    let forged = |n: usize| format!("{}{n:04}{}", &alice[..20], &alice[24..]);
    let header = |values: &[String]| {
        values
            .iter()
            .map(|v| format!("{ID}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    // Two stale or forged copies before the real one: still found.
    let two = header(&[forged(1), forged(2), alice.clone()]);
    let reply = app.send("GET", "/whoami", Some(two.as_bytes()), None).await;
    assert_eq!(reply.json["user"], "alice");
    // Exact duplicates count once.
    let dups = header(&[vec![forged(1); 50], vec![alice.clone()]].concat());
    let reply = app
        .send("GET", "/whoami", Some(dups.as_bytes()), None)
        .await;
    assert_eq!(reply.json["user"], "alice");
    // A fourth distinct value is never opened, and thousands cost no more than three.
    let three = header(&[forged(1), forged(2), forged(3), alice.clone()]);
    let reply = app
        .send("GET", "/whoami", Some(three.as_bytes()), None)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["user"], serde_json::Value::Null);
    assert_eq!(reply.json["refused"], "forged");
    assert!(
        reply.set_cookies.is_empty(),
        "values were left untried: the real cookie among them is not deleted"
    );
    // As many as fit in about 100 kB (the server refuses request heads past 128 KiB with a 431
    // before any middleware runs; a signed-in cookie is about 130 bytes).
    let many = 100_000 / (alice.len() + 5);
    let stuffed = header(&(0..many).map(forged).collect::<Vec<_>>());
    assert!(many >= 500 && stuffed.len() > 100_000 / 2, "{many}");
    let reply = app
        .send("GET", "/whoami", Some(stuffed.as_bytes()), None)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["refused"], "forged");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    // Three forged values and nothing else: all were tried, the cookie is removed.
    let only_forged = header(&[forged(1), forged(2), forged(3)]);
    let reply = app
        .send("GET", "/whoami", Some(only_forged.as_bytes()), None)
        .await;
    assert_eq!(reply.json["refused"], "forged");
    assert!(is_removal(reply.cookie(ID).expect("removal cookie")));
}

async fn the_largest_timeouts_write_cookies_and_larger_ones_fail_at_startup(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false)
            .session_lifecycle(PersistentSession::default().session_ttl(MAX_TIMEOUT))
    });
    let reply = app
        .send("POST", "/login", None, Some(&[("user", "alice")]))
        .await;
    assert_eq!(reply.status, 200);
    let cookie = reply.cookie(ID).expect("a cookie is written");
    assert_eq!(cookie.max_age(), Some(Duration::days(400)));
    let value = cookie.value().to_owned();
    app.clock.advance(Duration::days(399));
    let reply = app.post("/counter", Some((ID, &value))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.cookie(ID).and_then(|c| c.max_age()),
        Some(Duration::days(1))
    );

    let key = SecretKey::generate();
    for field in ["absolute_timeout_secs", "idle_timeout_secs"] {
        let json = format!(
            r#"{{"keys": "{}", "{field}": 1000000000000}}"#,
            *key.to_base64()
        );
        let err = serde_json::from_str::<SessionConfig>(&json)
            .unwrap()
            .build::<sealed_session_actix::CookieSessionMiddleware>()
            .unwrap_err();
        assert!(err.to_string().contains("400 days"), "{err}");
    }
}

async fn secure_cookies_are_named_host_id_unless_told_otherwise(_store: Store) {
    let name = |b: sealed_session_actix::CookieSessionBuilder| {
        b.build().unwrap().codec().cookie_name().as_str().to_owned()
    };
    let ring = || KeyRing::new(SecretKey::generate());
    let builder = || CookieSessionMiddleware::builder(ring());
    assert_eq!(name(builder()), "__Host-id");
    assert_eq!(name(builder().cookie_path("/app")), "__Secure-id");
    assert_eq!(name(builder().cookie_domain("example.com")), "__Secure-id");
    assert_eq!(name(builder().cookie_secure(false)), "id");
    assert_eq!(name(builder().cookie_name("sid")), "sid");
}

sealed_session_tests::acceptance_suite!(
    log_out_everywhere_ends_every_session_and_a_login_right_after_works,
    log_out_others_keeps_this_session_and_ends_the_rest,
    without_a_signed_in_user_the_logout_routes_answer_200_and_change_nothing,
    an_attacker_signing_out_others_in_a_loop_never_outlives_log_out_everywhere,
    the_attacker_loop_in_real_time,
    instances_whose_clocks_differ_by_the_skew_allowance_agree_on_log_out_everywhere,
    a_header_stuffed_with_forged_values_opens_at_most_three_of_them,
    the_largest_timeouts_write_cookies_and_larger_ones_fail_at_startup,
);

#[actix_web::test]
async fn secure_cookie_names() {
    secure_cookies_are_named_host_id_unless_told_otherwise(Store::Memory).await;
}

/// The login app on a memory store the test can look into.
fn app_on(store: Arc<MemoryRevocationStore>) -> TestApp {
    TestApp::start(KeyRing::new(SecretKey::generate()), move |b| {
        b.cookie_secure(false).revocation_store(store)
    })
}

#[actix_web::test]
async fn repeated_logins_fold_into_one_generation_per_user() {
    let store = Arc::new(MemoryRevocationStore::with_limits(
        RevocationLimits::new().per_subject(4),
    ));
    let app = app_on(store.clone());
    let mut cookies = vec![app.login(ID, "alice").await];
    for _ in 0..50 {
        let previous = format!("{ID}={}", cookies.last().unwrap());
        let reply = app
            .send(
                "POST",
                "/login",
                Some(previous.as_bytes()),
                Some(&[("user", "alice")]),
            )
            .await;
        cookies.push(reply.new_value(ID).unwrap());
        // One entry for the user, whatever she revoked, holding at most 4 ids beside her
        // cutoff.
        assert_eq!(store.len(), 1, "one entry per user");
        let held = store.entries(UnixTime::from(app.clock.now())).count();
        assert!(held <= 1 + 4, "bounded per user: {held}");
    }
    let (latest, older) = cookies.split_last().unwrap();
    assert_eq!(user(&app, latest).await.as_deref(), Some("alice"));
    for old in older {
        assert_eq!(
            app.get("/whoami", Some((ID, old))).await.json["refused"],
            "revoked"
        );
    }
}

#[actix_web::test]
async fn anonymous_sessions_are_not_listed_unless_asked() {
    let store = Arc::new(MemoryRevocationStore::new());
    let app = app_on(store.clone());
    for _ in 0..200 {
        let cookie = app.post("/counter", None).await.new_value(ID).unwrap();
        assert_eq!(app.post("/logout", Some((ID, &cookie))).await.status, 200);
    }
    assert_eq!(store.len(), 0, "anonymous logouts take no entry by default");

    let store = Arc::new(MemoryRevocationStore::new());
    let app = TestApp::start(KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false)
            .revocation_store(store.clone())
            .revoke_anonymous_sessions(true)
    });
    let cookie = app.post("/counter", None).await.new_value(ID).unwrap();
    app.post("/logout", Some((ID, &cookie))).await;
    assert_eq!(
        app.get("/whoami", Some((ID, &cookie))).await.json["refused"],
        "revoked"
    );
    assert_eq!(store.len(), 1);
}

#[actix_web::test]
async fn a_full_revocation_list_never_refuses_a_signed_in_logout_and_ends_more_sessions_instead() {
    // Room for one user. A signed-in logout past it is never refused: it raises the store-wide
    // cutoff instead (coarser: every signed-in session authenticated up to the revoked one's is
    // refused too), warns and counts an overflow.
    let store = Arc::new(MemoryRevocationStore::with_limits(
        RevocationLimits::new().total(1),
    ));
    let app = app_on(store.clone());
    let alice = app.login(ID, "alice").await;
    let carol = app.login(ID, "carol").await;
    app.clock.advance(Duration::seconds(1));
    let bob = app.login(ID, "bob").await;
    app.clock.advance(Duration::seconds(1));
    let dave = app.login(ID, "dave").await;
    assert_eq!(app.post("/logout", Some((ID, &alice))).await.status, 200);
    assert_eq!(store.len(), 1, "alice: one entry, whatever she revoked");
    assert_eq!(store.overflows(), 0);

    let reply = app.post("/logout", Some((ID, &bob))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(is_removal(reply.cookie(ID).expect("removal cookie")));
    assert_eq!(
        app.get("/whoami", Some((ID, &bob))).await.json["refused"],
        "revoked",
        "a copy of the logged-out cookie"
    );
    assert_eq!(store.overflows(), 1);
    assert_eq!(store.len(), 1, "no entry was added");
    // Coarser: carol, authenticated before bob, is logged out too; dave, authenticated after
    // him, is not.
    assert_eq!(
        app.get("/whoami", Some((ID, &carol))).await.json["refused"],
        "revoked"
    );
    assert_eq!(user(&app, &dave).await.as_deref(), Some("dave"));
    // A sign-in afterwards, in the same second, works.
    let carol = app.login(ID, "carol").await;
    assert_eq!(user(&app, &carol).await.as_deref(), Some("carol"));
    // Log-out-everywhere of a user already listed folds into the entry she has: it works.
    let alice = app.login(ID, "alice").await;
    assert_eq!(
        app.post("/logout-everywhere", Some((ID, &alice)))
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/whoami", Some((ID, &alice))).await.json["refused"],
        "revoked"
    );
    // And one of a user without an entry raises the store-wide cutoff too: never refused.
    assert_eq!(
        app.post("/logout-everywhere", Some((ID, &carol)))
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/whoami", Some((ID, &carol))).await.json["refused"],
        "revoked"
    );
    assert_eq!(store.overflows(), 2);
    assert_eq!(store.len(), 1);
}

#[actix_web::test]
async fn a_full_revocation_list_refuses_an_anonymous_logout_with_503_and_keeps_the_session() {
    // Only an anonymous session's logout (listed with `revoke_anonymous_sessions`) can be
    // refused for room: typed, answered 503, and the cookie kept for the retry.
    let store = Arc::new(MemoryRevocationStore::with_limits(
        RevocationLimits::new().total(1),
    ));
    let app = TestApp::start(KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false)
            .revocation_store(store.clone())
            .revoke_anonymous_sessions(true)
    });
    let first = app.post("/counter", None).await.new_value(ID).unwrap();
    let second = app.post("/counter", None).await.new_value(ID).unwrap();
    assert_eq!(app.post("/logout", Some((ID, &first))).await.status, 200);
    assert_eq!(store.len(), 1);

    let reply = app.post("/logout", Some((ID, &second))).await;
    assert_eq!(reply.status, 503, "not claimed as done");
    assert!(
        reply.json["error"].as_str().unwrap().contains("try again"),
        "{:?}",
        reply.json
    );
    assert!(
        reply.set_cookies.is_empty(),
        "the cookie is kept, to try again"
    );
    assert_eq!(
        app.get("/whoami", Some((ID, &second))).await.json["counter"],
        1
    );
    assert_eq!(store.overflows(), 1);
    assert_eq!(store.len(), 1);
    // A signed-in user's logout still goes through at that fill.
    let alice = app.login(ID, "alice").await;
    assert_eq!(app.post("/logout", Some((ID, &alice))).await.status, 200);
    assert_eq!(
        app.get("/whoami", Some((ID, &alice))).await.json["refused"],
        "revoked"
    );
}
