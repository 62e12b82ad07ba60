//! `CookieSessionMiddleware` over real HTTP: each behaviour of the middleware, driven through the
//! example login app with a real client. One acceptance suite, instantiated for every
//! revocation backend (the memory store, and Redis on the test run's redis-server): see
//! `acceptance_suite!` at the bottom.

use std::sync::Arc;

use base64::Engine as _;
use sealed_session::clock::ManualClock;
use sealed_session::codec::Codec;
use sealed_session::{KeyRing, Mode, SecretKey};
use sealed_session_actix::{
    BrowserSession, CookieSessionMiddleware, PersistentSession, RefreshPolicy, SessionConfig,
};
use sealed_session_tests::{Store, TestApp, is_removal};
use time::Duration;

const ID: &str = "id";

async fn read_after_write_with_a_real_cookie_jar(store: Store) {
    let app = TestApp::default_app_on(store);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(app.url("/login"))
        .form(&[("user", "alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    for expected in 1..=3 {
        let n: serde_json::Value = client
            .post(app.url("/counter"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(n["counter"], expected);
    }
    let me: serde_json::Value = client
        .get(app.url("/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], "alice");
    assert_eq!(me["counter"], 3);
}

async fn login_accepts_json_too(store: Store) {
    let app = TestApp::default_app_on(store);
    let res = reqwest::Client::new()
        .post(app.url("/login"))
        .json(&serde_json::json!({ "user": "bob" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("set-cookie").is_some());
}

/// Issue 18: a line break in a subject would forge lines in the Redis store's pending file (and
/// in line-based logs). The sign-in is refused (an opaque `500` from the example app) and sets no
/// session; a printable name signs in as before.
async fn a_subject_with_a_line_break_is_refused_at_sign_in(store: Store) {
    let app = TestApp::default_app_on(store);
    let client = reqwest::Client::new();
    for user in ["mallory\ng 1 4000000000 alice", "tab\there", "nul\u{0}"] {
        let res = client
            .post(app.url("/login"))
            .json(&serde_json::json!({ "user": user }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 500, "{user:?}");
        let cookies = sealed_session_tests::set_cookies(res.headers());
        assert!(
            cookies.iter().all(sealed_session_tests::is_removal),
            "{user:?}: {cookies:?}"
        );
        assert_eq!(res.text().await.unwrap(), "", "opaque");
    }
    let cookie = app.login(ID, "Zoë O'Brien").await;
    let reply = app.get("/whoami", Some((ID, &cookie))).await;
    assert_eq!(reply.json["user"], "Zoë O'Brien");
}

async fn untouched_sessions_set_no_cookie(store: Store) {
    let app = TestApp::default_app_on(store);
    // No cookie, only reads: nothing to write.
    let reply = app.get("/whoami", None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert_eq!(reply.json["user"], serde_json::Value::Null);

    // A valid cookie, read within the refresh interval: still nothing.
    let cookie = app.login(ID, "alice").await;
    app.clock.advance(Duration::seconds(30));
    let reply = app.get("/whoami", Some((ID, &cookie))).await;
    assert_eq!(reply.json["user"], "alice");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
}

async fn login_starts_a_clean_session_and_a_planted_cookie_carries_nothing_over(store: Store) {
    let app = TestApp::default_app_on(store);
    // Someone who can set cookies for the site plants a session holding a value of theirs.
    let planted = app.post("/counter", None).await.new_value(ID).unwrap();
    let planted_id = app.get("/debug/session", Some((ID, &planted))).await.json["id"].clone();
    assert!(planted_id.is_string());

    let reply = app
        .send(
            "POST",
            "/login",
            Some(format!("{ID}={planted}").as_bytes()),
            Some(&[("user", "alice")]),
        )
        .await;
    let after = reply.new_value(ID).unwrap();
    let seen = app.get("/debug/session", Some((ID, &after))).await.json;
    assert_ne!(seen["id"], planted_id, "a new id at sign-in");
    assert_eq!(seen["subject"], "alice");
    let me = app.get("/whoami", Some((ID, &after))).await.json;
    assert_eq!(me["user"], "alice");
    assert_eq!(
        me["counter"], 0,
        "no value of the planted session comes along"
    );

    // The planted cookie is worthless to its planter: it is still only the anonymous session
    // it was (anonymous sessions are not revoked by default, see docs/security.md).
    let stale = app.get("/whoami", Some((ID, &planted))).await.json;
    assert_eq!(stale["user"], serde_json::Value::Null);
    assert_eq!(stale["counter"], 1);
}

async fn signing_in_again_revokes_the_previous_signed_in_session(store: Store) {
    let app = TestApp::default_app_on(store);
    let first = app.login(ID, "alice").await;
    let reply = app
        .send(
            "POST",
            "/login",
            Some(format!("{ID}={first}").as_bytes()),
            Some(&[("user", "bob")]),
        )
        .await;
    let second = reply.new_value(ID).unwrap();
    assert_eq!(
        app.get("/whoami", Some((ID, &second))).await.json["user"],
        "bob"
    );
    assert_eq!(
        app.get("/whoami", Some((ID, &first))).await.json["refused"],
        "revoked"
    );
}

async fn purge_removes_the_cookie_and_a_copy_taken_before_logout_is_refused(store: Store) {
    let app = TestApp::default_app_on(store);
    let cookie = app.login(ID, "alice").await;
    let logout = app.post("/logout", Some((ID, &cookie))).await;
    assert_eq!(logout.status, 200);
    assert!(is_removal(logout.cookie(ID).expect("removal cookie")));

    let replay = app.get("/whoami", Some((ID, &cookie))).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.json["user"], serde_json::Value::Null);
    assert_eq!(replay.json["refused"], "revoked");
    assert!(is_removal(replay.cookie(ID).expect("removal cookie")));
}

async fn bad_cookies_give_an_empty_session_a_200_and_a_removal_cookie(store: Store) {
    let app = TestApp::default_app_on(store);
    let good = app.login(ID, "alice").await;
    let mut flipped = good.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    // The sealed body's length varies by a byte or so (varints), so the cuts are chosen from
    // the length: unpadded base64 of length 4k+1 never decodes, while a cut at a whole
    // 4-character group is valid base64 whose tag no longer matches.
    let cut_to = |residue| {
        (1..=4)
            .map(|cut| good.len() - cut)
            .find(|len| len % 4 == residue)
            .unwrap()
    };
    let (undecodable, whole_groups) = (cut_to(1), cut_to(0));
    let cases = [
        ("forged", flipped.as_str()),
        ("malformed", &good[..undecodable]),
        ("forged", &good[..whole_groups]),
        ("malformed", "garbage"),
        ("malformed", "%%%"),
        ("unknown_key", &good[..40]),
    ];
    for (reason, value) in cases {
        let reply = app.get("/whoami", Some((ID, value))).await;
        assert_eq!(reply.status, 200, "{value}");
        assert_eq!(reply.json["user"], serde_json::Value::Null, "{value}");
        // Truncation that keeps valid base64 may fail at any of the early checks.
        if reason != "unknown_key" {
            assert_eq!(reply.json["refused"], reason, "{value}");
        } else {
            assert!(reply.json["refused"].is_string(), "{value}");
        }
        assert!(is_removal(reply.cookie(ID).expect("removal")), "{value}");
    }

    // Non-UTF-8 bytes in our cookie: refused as malformed, still a 200.
    let reply = app.send("GET", "/whoami", Some(b"id=\xff\xfe"), None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["refused"], "malformed");
}

async fn expired_cookies_are_refused_with_their_reason(store: Store) {
    let app = TestApp::default_app_on(store);
    let cookie = app.login(ID, "alice").await;
    app.clock.advance(Duration::hours(1));
    let reply = app.get("/whoami", Some((ID, &cookie))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["refused"], "expired_idle");
    assert!(is_removal(reply.cookie(ID).unwrap()));
}

async fn idle_expiry_slides_with_the_refresh_interval(store: Store) {
    // Idle 10 minutes, refresh when activity is 1 minute old (the default tenth).
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false).idle_timeout(Duration::minutes(10))
    });
    let mut cookie = app.login(ID, "alice").await;

    // Within the interval: no cookie.
    app.clock.advance(Duration::seconds(59));
    assert!(
        app.get("/whoami", Some((ID, &cookie)))
            .await
            .set_cookies
            .is_empty()
    );
    // At the interval: re-sealed with the new activity time.
    app.clock.advance(Duration::seconds(1));
    let reply = app.get("/whoami", Some((ID, &cookie))).await;
    cookie = reply.new_value(ID).expect("refreshed");

    // Reading every 9 minutes keeps the session alive well past the first idle deadline.
    for _ in 0..5 {
        app.clock.advance(Duration::minutes(9));
        let reply = app.get("/whoami", Some((ID, &cookie))).await;
        assert_eq!(reply.json["user"], "alice");
        cookie = reply.new_value(ID).expect("refreshed");
    }
    // Ten idle minutes end it.
    app.clock.advance(Duration::minutes(10));
    let reply = app.get("/whoami", Some((ID, &cookie))).await;
    assert_eq!(reply.json["refused"], "expired_idle");
}

async fn every_request_policy_reseals_each_read(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false).refresh(RefreshPolicy::EveryRequest)
    });
    let cookie = app.login(ID, "alice").await;
    let reply = app.get("/whoami", Some((ID, &cookie))).await;
    assert!(reply.new_value(ID).is_some());
}

async fn activity_never_extends_the_absolute_timeout(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false).session_lifecycle(
            PersistentSession::default()
                .session_ttl(Duration::hours(2))
                .idle_timeout(Duration::minutes(30)),
        )
    });
    let mut cookie = app.login(ID, "alice").await;
    for _ in 0..5 {
        app.clock.advance(Duration::minutes(20));
        let reply = app.post("/counter", Some((ID, &cookie))).await;
        cookie = reply.new_value(ID).expect("written");
        let max_age = reply.cookie(ID).unwrap().max_age().unwrap();
        assert!(max_age <= Duration::minutes(30));
    }
    // 100 minutes in: Max-Age is what is left of the two hours, not a fresh idle window.
    app.clock.advance(Duration::minutes(15));
    let reply = app.post("/counter", Some((ID, &cookie))).await;
    assert_eq!(
        reply.cookie(ID).unwrap().max_age(),
        Some(Duration::minutes(5))
    );
    cookie = reply.new_value(ID).unwrap();
    app.clock.advance(Duration::minutes(5));
    let reply = app.post("/counter", Some((ID, &cookie))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["counter"], 1, "a new session starts");
    let reply = app.get("/whoami", Some((ID, &cookie))).await;
    assert_eq!(reply.json["refused"], "expired_absolute");
}

#[actix_web::test]
async fn rotation_reseals_old_key_cookies_and_refuses_removed_keys() {
    let (old, new) = (SecretKey::generate(), SecretKey::generate());
    let clock = Arc::new(ManualClock::new(sealed_session_tests::start_time()));
    let build = |ring: KeyRing| {
        CookieSessionMiddleware::builder(ring)
            .cookie_secure(false)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let before = TestApp::serve(build(KeyRing::new(old.clone())), clock.clone());
    let old_cookie = before.login(ID, "alice").await;
    drop(before);

    // Deploy with "new,old": the old cookie opens and comes back sealed by the new key.
    let rotated = build(KeyRing::from_keys([new.clone(), old.clone()]).unwrap());
    let new_id = rotated.codec().key_ring().primary_id();
    let app = TestApp::serve(rotated, clock.clone());
    let reply = app.get("/whoami", Some((ID, &old_cookie))).await;
    assert_eq!(reply.json["user"], "alice");
    let upgraded = reply.new_value(ID).expect("re-sealed with the primary");
    assert_eq!(Codec::peek_header(&upgraded).unwrap().key_id, new_id);
    let usage = app.middleware.key_usage();
    assert_eq!(usage.iter().map(|u| u.opened).sum::<u64>(), 1);
    assert_eq!(usage[1].opened, 1, "the fallback key opened it");
    // Once upgraded, reads write nothing.
    assert!(
        app.get("/whoami", Some((ID, &upgraded)))
            .await
            .set_cookies
            .is_empty()
    );
    drop(app);

    // Old key retired: its cookies are refused.
    let app = TestApp::serve(build(KeyRing::new(new)), clock);
    let reply = app.get("/whoami", Some((ID, &old_cookie))).await;
    assert_eq!(reply.json["refused"], "unknown_key");
    assert_eq!(
        app.get("/whoami", Some((ID, &upgraded))).await.json["user"],
        "alice"
    );
}

async fn too_large_is_an_error_at_insert_and_the_session_survives(store: Store) {
    let app = TestApp::default_app_on(store);
    let cookie = app.login(ID, "alice").await;
    let cookie = app
        .post("/counter", Some((ID, &cookie)))
        .await
        .new_value(ID)
        .unwrap();

    let reply = app.post("/big?bytes=5000", Some((ID, &cookie))).await;
    assert_eq!(reply.status, 413);
    assert!(reply.json["size"].as_u64().unwrap() > 4096);
    assert_eq!(reply.json["limit"], 4096);
    assert!(
        reply.set_cookies.is_empty(),
        "nothing changed, nothing written"
    );
    let me = app.get("/whoami", Some((ID, &cookie))).await.json;
    assert_eq!(
        (me["user"].as_str(), me["counter"].as_u64()),
        (Some("alice"), Some(1))
    );

    // What fits is stored, and the cookie really is within the budget.
    let reply = app.post("/big?bytes=2000", Some((ID, &cookie))).await;
    assert_eq!(reply.status, 200);
    let value = reply.new_value(ID).unwrap();
    assert!(ID.len() + value.len() <= 4096);
}

async fn the_largest_session_that_fits_keeps_fitting_as_it_ages(store: Store) {
    let app = TestApp::default_app_on(store);
    let cookie = app.login(ID, "alice").await;
    // The counter exists before the session is filled, so later increments only change it.
    let mut cookie = app
        .post("/counter", Some((ID, &cookie)))
        .await
        .new_value(ID)
        .unwrap();
    // Find the largest blob accepted, then keep the session active for most of a day.
    let (mut lo, mut hi) = (0usize, 4096usize);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        let reply = app
            .post(&format!("/big?bytes={mid}"), Some((ID, &cookie)))
            .await;
        if reply.status == 200 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    cookie = app
        .post(&format!("/big?bytes={lo}"), Some((ID, &cookie)))
        .await
        .new_value(ID)
        .unwrap();
    for _ in 0..40 {
        app.clock.advance(Duration::minutes(30));
        let reply = app.post("/counter", Some((ID, &cookie))).await;
        assert_eq!(reply.status, 200);
        cookie = reply.new_value(ID).expect("always re-sealed");
        assert!(ID.len() + cookie.len() <= 4096);
    }
}

async fn default_cookie_attributes_are_safe(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| b);
    let reply = app.post("/counter", None).await;
    // Secure by default, so named `__Host-id`: no subdomain can plant or shadow it.
    let cookie = reply.cookie("__Host-id").unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Lax));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    // A browser-session cookie, as actix-session's default: the server ends it after an hour
    // idle (`expired_cookies_are_refused_with_their_reason`) whatever the browser keeps.
    assert_eq!(cookie.max_age(), None);
    assert_eq!(cookie.expires(), None);
}

async fn a_persistent_session_ttl_is_the_max_age_and_the_session_ends_at_it(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false)
            .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
    });
    let reply = app
        .send("POST", "/login", None, Some(&[("user", "alice")]))
        .await;
    let cookie = reply.cookie(ID).expect("login sets the cookie");
    assert_eq!(cookie.max_age(), Some(Duration::days(7)));
    assert_eq!(cookie.expires(), None, "Max-Age only");
    let mut value = cookie.value().to_owned();

    // A day and a write later, what is left of the week: activity never extends it.
    app.clock.advance(Duration::days(1));
    let reply = app.post("/counter", Some((ID, &value))).await;
    assert_eq!(
        reply.cookie(ID).and_then(|c| c.max_age()),
        Some(Duration::days(6))
    );
    value = reply.new_value(ID).unwrap();
    app.clock.advance(Duration::days(6) - Duration::seconds(1));
    assert_eq!(
        app.get("/whoami", Some((ID, &value))).await.json["user"],
        "alice"
    );
    app.clock.advance(Duration::seconds(1));
    let reply = app.get("/whoami", Some((ID, &value))).await;
    assert_eq!(reply.json["refused"], "expired_absolute");
    let removal = reply.cookie(ID).expect("removal");
    assert!(is_removal(removal));
    assert!(
        removal
            .expires_datetime()
            .is_some_and(|t| t.unix_timestamp() == 0)
    );
}

async fn a_persistent_idle_timeout_slides_the_max_age_within_the_ttl(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false).session_lifecycle(
            PersistentSession::default()
                .session_ttl(Duration::days(30))
                .idle_timeout(Duration::days(1)),
        )
    });
    let mut value = app.login(ID, "alice").await;
    for _ in 0..3 {
        app.clock.advance(Duration::hours(20));
        let reply = app.post("/counter", Some((ID, &value))).await;
        let cookie = reply.cookie(ID).expect("written");
        assert_eq!(
            cookie.max_age(),
            Some(Duration::days(1)),
            "a fresh idle day"
        );
        value = cookie.value().to_owned();
    }
    app.clock.advance(Duration::days(1));
    let reply = app.get("/whoami", Some((ID, &value))).await;
    assert_eq!(reply.json["refused"], "expired_idle");
}

async fn a_browser_session_has_no_max_age_and_its_state_ttl_ends_it(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false)
            .session_lifecycle(BrowserSession::default().state_ttl(Duration::hours(8)))
    });
    let mut value = app.login(ID, "alice").await;
    // Active every 7 hours: each write sets a cookie without Max-Age or Expires.
    app.clock.advance(Duration::hours(7));
    let reply = app.post("/counter", Some((ID, &value))).await;
    let cookie = reply.cookie(ID).expect("written");
    assert_eq!((cookie.max_age(), cookie.expires()), (None, None));
    value = cookie.value().to_owned();
    // Eight hours after the sign-in, whatever the browser kept.
    app.clock.advance(Duration::hours(1));
    let reply = app.get("/whoami", Some((ID, &value))).await;
    assert_eq!(reply.json["refused"], "expired_absolute");
    let removal = reply.cookie(ID).expect("removal");
    assert!(
        is_removal(removal),
        "a removal expires at once in either kind"
    );
    assert!(
        removal
            .expires_datetime()
            .is_some_and(|t| t.unix_timestamp() == 0)
    );
}

async fn configured_attributes_reach_the_set_and_the_removal_cookie(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_name("sess")
            .cookie_path("/")
            .cookie_domain("example.test")
            .cookie_same_site(actix_web::cookie::SameSite::Strict)
            .cookie_http_only(false)
            .cookie_secure(false)
    });
    let value = app.login("sess", "alice").await;
    let logout = app.post("/logout", Some(("sess", &value))).await;
    let removal = logout.cookie("sess").unwrap();
    assert!(is_removal(removal));
    assert_eq!(removal.domain(), Some("example.test"));
    assert_eq!(removal.path(), Some("/"));
    assert_eq!(
        removal.same_site(),
        Some(actix_web::cookie::SameSite::Strict)
    );
    assert_ne!(
        removal.http_only(),
        Some(true),
        "HttpOnly off as configured"
    );
}

async fn host_prefixed_and_browser_session_cookies(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_name("__Host-id")
            .session_lifecycle(BrowserSession::default())
    });
    let reply = app.post("/counter", None).await;
    let cookie = reply.cookie("__Host-id").unwrap();
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.max_age(), None, "browser-session cookie");
}

async fn a_broken_neighbour_cookie_does_not_hide_ours_and_the_first_valid_copy_wins(store: Store) {
    let app = TestApp::default_app_on(store);
    let alice = app.login(ID, "alice").await;
    let header = format!("junk=\u{0}; x=\"unterminated; {ID}=not-ours; {ID}={alice}; other=1");
    let mut bytes = header.into_bytes();
    bytes.extend_from_slice(b"; bin=\xff\xfe");
    // NUL is not allowed in header values; use a control-free but broken neighbour instead.
    let bytes: Vec<u8> = bytes.into_iter().filter(|&b| b != 0).collect();
    let reply = app.send("GET", "/whoami", Some(&bytes), None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["user"], "alice");
    assert!(reply.set_cookies.is_empty(), "a valid copy was found");
}

async fn the_extractor_without_the_middleware_is_an_opaque_500(store: Store) {
    let app = TestApp::default_app_on(store);
    let res = reqwest::get(app.url("/unwrapped")).await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.text().await.unwrap(), "", "no internals in the body");
}

async fn signed_mode_cookies_are_readable_but_not_forgeable(store: Store) {
    let app = TestApp::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
        b.cookie_secure(false).mode(Mode::Signed)
    });
    let cookie = app.login(ID, "alice").await;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&cookie)
        .unwrap();
    assert!(
        bytes.windows(5).any(|w| w == b"alice"),
        "signed cookies are readable"
    );
    let mut forged = bytes.clone();
    let at = forged.windows(5).position(|w| w == b"alice").unwrap();
    forged[at] = b'm';
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
    let reply = app.get("/whoami", Some((ID, &forged))).await;
    assert_eq!(reply.json["refused"], "forged");
}

#[actix_web::test]
async fn configuration_files_build_the_same_middleware() {
    let key = SecretKey::generate();
    let json = format!(
        r#"{{"keys": ["{}"], "cookie_name": "cfg", "secure": false, "persistent": true,
            "idle_timeout_secs": 600, "absolute_timeout_secs": 3600, "same_site": "strict"}}"#,
        *key.to_base64()
    );
    let config: SessionConfig = serde_json::from_str(&json).unwrap();
    let clock = Arc::new(ManualClock::new(sealed_session_tests::start_time()));
    let middleware = config
        .into_builder()
        .unwrap()
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = TestApp::serve(middleware, clock);
    let reply = app.post("/counter", None).await;
    let cookie = reply.cookie("cfg").unwrap();
    assert_eq!(cookie.max_age(), Some(Duration::minutes(10)));
    assert_eq!(
        cookie.same_site(),
        Some(actix_web::cookie::SameSite::Strict)
    );

    // Misconfiguration fails at startup, saying how to fix it.
    for (bad, hint) in [
        (r#"{"keys": "c2hvcnQ="}"#, "keygen"),
        (
            r#"{"keys_env": "SEALED_SESSION_SURELY_UNSET_VAR"}"#,
            "SEALED_SESSION_SURELY_UNSET_VAR",
        ),
        (r#"{}"#, "empty"),
    ] {
        let err = match serde_json::from_str::<SessionConfig>(bad) {
            Ok(config) => config
                .build::<CookieSessionMiddleware>()
                .unwrap_err()
                .to_string(),
            Err(err) => err.to_string(),
        };
        assert!(err.contains(hint), "{err}");
    }
    let typo = format!(r#"{{"keys": "{}", "cookie_nmae": "x"}}"#, *key.to_base64());
    assert!(serde_json::from_str::<SessionConfig>(&typo).is_err());
}

async fn signing_out_other_devices_keeps_this_session(store: Store) {
    // It ends the sessions authenticated before this one's: the phone signed in a second
    // before the laptop.
    let app = TestApp::default_app_on(store);
    let phone = app.login(ID, "alice").await;
    app.clock.advance(Duration::seconds(1));
    let laptop = app.login(ID, "alice").await;

    let reply = app.post("/debug/logout-others", Some((ID, &laptop))).await;
    assert_eq!(reply.json["done"], true);
    let laptop_now = reply.new_value(ID).expect("this session is re-sealed");
    assert_ne!(laptop_now, laptop);

    // Same second as the revocation: this session goes on, the others are refused.
    assert_eq!(
        app.get("/whoami", Some((ID, &laptop_now))).await.json["user"],
        "alice"
    );
    for other in [&phone, &laptop] {
        let reply = app.get("/whoami", Some((ID, other))).await;
        assert_eq!(reply.json["refused"], "revoked");
    }
    app.clock.advance(Duration::minutes(10));
    assert_eq!(
        app.get("/whoami", Some((ID, &laptop_now))).await.json["user"],
        "alice"
    );
}

sealed_session_tests::acceptance_suite!(
    read_after_write_with_a_real_cookie_jar,
    login_accepts_json_too,
    a_subject_with_a_line_break_is_refused_at_sign_in,
    untouched_sessions_set_no_cookie,
    login_starts_a_clean_session_and_a_planted_cookie_carries_nothing_over,
    signing_in_again_revokes_the_previous_signed_in_session,
    purge_removes_the_cookie_and_a_copy_taken_before_logout_is_refused,
    bad_cookies_give_an_empty_session_a_200_and_a_removal_cookie,
    expired_cookies_are_refused_with_their_reason,
    idle_expiry_slides_with_the_refresh_interval,
    every_request_policy_reseals_each_read,
    activity_never_extends_the_absolute_timeout,
    too_large_is_an_error_at_insert_and_the_session_survives,
    the_largest_session_that_fits_keeps_fitting_as_it_ages,
    default_cookie_attributes_are_safe,
    a_persistent_session_ttl_is_the_max_age_and_the_session_ends_at_it,
    a_persistent_idle_timeout_slides_the_max_age_within_the_ttl,
    a_browser_session_has_no_max_age_and_its_state_ttl_ends_it,
    configured_attributes_reach_the_set_and_the_removal_cookie,
    host_prefixed_and_browser_session_cookies,
    a_broken_neighbour_cookie_does_not_hide_ours_and_the_first_valid_copy_wins,
    the_extractor_without_the_middleware_is_an_opaque_500,
    signed_mode_cookies_are_readable_but_not_forgeable,
    signing_out_other_devices_keeps_this_session,
);
