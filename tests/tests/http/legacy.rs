//! The legacy reader over real HTTP: cookies set by a real actix-session 0.11 app
//! (`CookieSessionStore`, private and signed) sent to an app on `CookieSessionMiddleware` with
//! the same `Key`, read back through `Session::get` with their types, and what happens to the
//! ones that can't be migrated, or when the reader is off (issue 10, point 4).

use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::{App, HttpResponse, web};
use sealed_session_actix::{
    CookieSessionBuilder, CookieSessionMiddleware, KeyRing, LegacyContentSecurity, LegacyCookies,
    LegacyKey, ManualClock, SecretKey, Session,
};
use sealed_session_tests::{TestApp, events, is_removal, set_cookies, start_time};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The old cookie's name (actix-session's default) and the new one's (ours, `Secure`).
const OLD: &str = "id";
const NEW: &str = "__Host-id";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Profile {
    id: u32,
    email: String,
    roles: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Plan {
    Free,
    Pro { seats: u32 },
}

fn profile() -> Profile {
    Profile {
        id: 7,
        email: "alice@example.com".into(),
        roles: vec!["admin".into(), "billing".into()],
    }
}

/// The old app's handler: values of several JSON types, through actix-session's `insert`.
async fn fill(session: actix_session::Session) -> actix_web::Result<HttpResponse> {
    session.insert("user_id", 42u64)?;
    session.insert("delta", -7i64)?;
    session.insert("ratio", 0.25f64)?;
    // Characters the cookie must percent-encode (`;`, `"`, space, non-ASCII).
    session.insert("name", "Zoë; \"quoted\"")?;
    session.insert("admin", true)?;
    session.insert("tags", vec!["a", "b"])?;
    session.insert("profile", profile())?;
    session.insert("plan", Plan::Pro { seats: 3 })?;
    session.insert("nothing", None::<u32>)?;
    Ok(HttpResponse::Ok().finish())
}

/// The old app's handler for a session too large for a 1000-byte new cookie.
async fn big(session: actix_session::Session) -> actix_web::Result<HttpResponse> {
    session.insert("blob", "x".repeat(900))?;
    Ok(HttpResponse::Ok().finish())
}

/// The new app's handler: every value read back with its type.
async fn read(session: Session) -> actix_web::Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({
        "incoming": format!("{:?}", session.incoming()),
        "status": format!("{:?}", session.status()),
        "user_id": session.get::<u64>("user_id")?,
        "delta": session.get::<i64>("delta")?,
        "ratio": session.get::<f64>("ratio")?,
        "name": session.get::<String>("name")?,
        "admin": session.get::<bool>("admin")?,
        "tags": session.get::<Vec<String>>("tags")?,
        "profile_is_alices": session.get::<Profile>("profile")? == Some(profile()),
        "plan_is_pro": session.get::<Plan>("plan")? == Some(Plan::Pro { seats: 3 }),
        "nothing": session.get::<Option<u32>>("nothing")?,
        "has_nothing": session.contains_key("nothing"),
        // A read with another type is an error, as for values inserted here.
        "user_id_as_string_fails": session.get::<String>("user_id").is_err(),
    })))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/legacy/{case}", web::get().to(read));
}

/// What `read` shows for the session `fill` wrote.
fn filled(incoming: &str, status: &str) -> serde_json::Value {
    json!({
        "incoming": incoming,
        "status": status,
        "user_id": 42,
        "delta": -7,
        "ratio": 0.25,
        "name": "Zoë; \"quoted\"",
        "admin": true,
        "tags": ["a", "b"],
        "profile_is_alices": true,
        "plan_is_pro": true,
        "nothing": null,
        "has_nothing": true,
        "user_id_as_string_fails": true,
    })
}

/// A real actix-session app on `CookieSessionStore` with `key`.
fn old_app(key: Key, security: CookieContentSecurity) -> actix_test::TestServer {
    actix_test::start(move || {
        App::new()
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    .cookie_content_security(security)
                    .build(),
            )
            .route("/fill", web::post().to(fill))
            .route("/big", web::post().to(big))
    })
}

/// The value of the `id` cookie the old app sets at `path`, as a browser would send it back.
async fn mint(old: &actix_test::TestServer, path: &str) -> String {
    let res = reqwest::Client::new()
        .post(old.url(path))
        .send()
        .await
        .expect("old app answers");
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(res.headers());
    let cookie = cookies
        .iter()
        .find(|c| c.name() == OLD)
        .expect("actix-session sets its cookie");
    cookie.value().to_owned()
}

/// An app on `CookieSessionMiddleware` (a new key) whose legacy reader has `key`.
fn new_app(
    key: &Key,
    security: LegacyContentSecurity,
    configure: impl FnOnce(CookieSessionBuilder) -> CookieSessionBuilder,
) -> TestApp {
    let clock = Arc::new(ManualClock::new(start_time()));
    let legacy = LegacyCookies::new(LegacyKey::from_master(key.master()).expect("64 bytes"))
        .content_security(security);
    let builder = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
        .clock(clock.clone())
        .legacy_reader(legacy);
    let middleware = configure(builder).build().expect("valid settings");
    TestApp::serve_with(middleware, clock, routes)
}

/// Changes one letter or digit in the last third of `value`, away from any `%xx` escape.
fn tamper(value: &str) -> String {
    let bytes = value.as_bytes();
    let at = (bytes.len() * 2 / 3..bytes.len())
        .find(|&i| {
            bytes[i].is_ascii_alphanumeric() && !bytes[i.saturating_sub(2)..i].contains(&b'%')
        })
        .expect("a letter to change");
    let mut out = bytes.to_vec();
    out[at] = if out[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(out).expect("ascii")
}

/// The lifecycle's events logged for requests to `path`.
fn events_of(path: &str) -> Vec<events::Event> {
    events::recorded(|e| e.target == sealed_session::LOG_TARGET && e.field("path") == Some(path))
}

async fn migrates_and_removes_the_old_cookie(
    old_security: CookieContentSecurity,
    security: LegacyContentSecurity,
    case: &str,
) {
    events::record();
    let key = Key::generate();
    let old = old_app(key.clone(), old_security);
    let legacy = mint(&old, "/fill").await;
    let app = new_app(&key, security, |b| b);

    // The first request with the old cookie: the session is there, typed, and re-sealed.
    let path = format!("/legacy/{case}-migrate");
    let reply = app.get(&path, Some((OLD, &legacy))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json, filled("Migrated", "Changed"));
    let ours = reply.new_value(NEW).expect("the new cookie is set");
    let removal = reply.cookie(OLD).expect("the old cookie is removed");
    assert!(is_removal(removal), "{removal}");
    assert_eq!(removal.path(), Some("/"));
    assert_eq!(reply.set_cookies.len(), 2, "{:?}", reply.set_cookies);
    let counts = app.middleware.legacy_migrations();
    assert_eq!((counts.migrated, counts.refused), (1, 0));
    let events = events_of(&path);
    assert!(
        events.iter().all(|e| e.level == tracing::Level::DEBUG),
        "{events:?}"
    );

    // The next request carries only the new cookie: the same values, nothing to write.
    let reply = app
        .get(&format!("/legacy/{case}-next"), Some((NEW, &ours)))
        .await;
    assert_eq!(reply.json, filled("Valid", "Unchanged"));
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert_eq!(app.middleware.legacy_migrations().migrated, 1);

    // An altered old cookie: an empty session and a 200, logged at debug as legacy (not as
    // tampering with ours), counted, and left in place.
    let path = format!("/legacy/{case}-tampered");
    let reply = app.get(&path, Some((OLD, &tamper(&legacy)))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["incoming"], "Missing");
    assert_eq!(reply.json["user_id"], serde_json::Value::Null);
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    let counts = app.middleware.legacy_migrations();
    assert_eq!((counts.migrated, counts.refused), (1, 1));
    let events = events_of(&path);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].level, tracing::Level::DEBUG);
    assert_eq!(events[0].field("reason"), Some("legacy_refused"));

    // Signed the other way than the reader expects: refused the same way.
    let other = match old_security {
        CookieContentSecurity::Private => CookieContentSecurity::Signed,
        CookieContentSecurity::Signed => CookieContentSecurity::Private,
    };
    let other_old = old_app(key.clone(), other);
    let crossed = mint(&other_old, "/fill").await;
    let reply = app
        .get(&format!("/legacy/{case}-crossed"), Some((OLD, &crossed)))
        .await;
    assert_eq!(reply.json["incoming"], "Missing");
    assert_eq!(app.middleware.legacy_migrations().refused, 2);
}

#[actix_web::test]
async fn private_actix_session_cookies_are_migrated_with_their_types() {
    migrates_and_removes_the_old_cookie(
        CookieContentSecurity::Private,
        LegacyContentSecurity::Private,
        "private",
    )
    .await;
}

#[actix_web::test]
async fn signed_actix_session_cookies_are_migrated_with_their_types() {
    migrates_and_removes_the_old_cookie(
        CookieContentSecurity::Signed,
        LegacyContentSecurity::Signed,
        "signed",
    )
    .await;
}

#[actix_web::test]
async fn a_session_too_large_for_the_new_cookie_is_not_migrated_and_stays() {
    events::record();
    let key = Key::generate();
    let old = old_app(key.clone(), CookieContentSecurity::Private);
    let legacy = mint(&old, "/big").await;
    let app = new_app(&key, LegacyContentSecurity::Private, |b| b.size_limit(1000));
    let path = "/legacy/too-large";
    let reply = app.get(path, Some((OLD, &legacy))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["incoming"], "Missing");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    let counts = app.middleware.legacy_migrations();
    assert_eq!((counts.migrated, counts.refused), (0, 1));
    let events = events_of(path);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].level, tracing::Level::DEBUG);
    assert_eq!(events[0].field("reason"), Some("legacy_too_large"));
}

#[actix_web::test]
async fn with_the_reader_off_an_actix_session_cookie_is_what_it_was_before() {
    events::record();
    let key = Key::generate();
    let old = old_app(key, CookieContentSecurity::Private);
    let legacy = mint(&old, "/fill").await;

    // Under its own name (`__Host-id`, the default), the middleware never looks at `id`.
    let clock = Arc::new(ManualClock::new(start_time()));
    let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
        .clock(clock.clone())
        .build()
        .expect("valid");
    let app = TestApp::serve_with(middleware, clock, routes);
    let path = "/legacy/off";
    let reply = app.get(path, Some((OLD, &legacy))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["incoming"], "Missing");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert!(events_of(path).is_empty());

    // In plain-HTTP development mode the new cookie is named `id` too: the old cookie is one
    // of ours that doesn't open, refused as malformed and removed, as any foreign value is.
    let clock = Arc::new(ManualClock::new(start_time()));
    let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
        .clock(clock.clone())
        .cookie_secure(false)
        .build()
        .expect("valid");
    let app = TestApp::serve_with(middleware, clock, routes);
    let path = "/legacy/off-dev";
    let reply = app.get(path, Some((OLD, &legacy))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["incoming"], "Refused(Malformed)");
    assert!(is_removal(reply.cookie(OLD).expect("removed")));
    let events = events_of(path);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].field("reason"), Some("malformed"));
}
