//! actix-session's API on `Session` (issue 10), over real HTTP: `insert` with an owned key,
//! `update` and `update_or` across requests, `remove` returning the value, `remove_as` of the
//! wrong type, `entries`, and `SessionExt::get_session` from a guard, from `wrap_fn` middlewares
//! inside and outside `CookieSessionMiddleware`, and on a route it doesn't wrap.
//!
//! And, on both stacks, `update` and `update_or` whose closures read the session they update
//! (they run without the session's lock held), and `Session::reauthenticate` of both adapters (`sealed-session-actix` on actix-web,
//! `sealed-session-tower` on axum), which no example route calls: the login app's routes with
//! one more, `POST /api/reauthenticate`, on each stack.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::dev::{Service as _, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, guard, web};
use sealed_session::BrowserSession;
use sealed_session::clock::{Clock as _, ManualClock};
use sealed_session_actix::{
    CookieSessionMiddleware, KeyRing, SecretKey, Session, SessionError, SessionExt,
    SessionInsertError, SessionUpdateError,
};
use sealed_session_tests::{Stack, StackApp, StackSettings, Store, TestApp, set_cookies};
use serde_json::{Value, json};
use time::Duration;

const ID: &str = "id";

type Query = web::Query<HashMap<String, String>>;

/// The routes these tests drive, mounted behind the middleware beside the login app's.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/insert", web::post().to(insert))
        .route("/api/reauthenticate", web::post().to(reauthenticate))
        .route("/api/update", web::post().to(update))
        .route("/api/update-or", web::post().to(update_or))
        .route("/api/remove", web::post().to(remove))
        .route("/api/remove-as-number", web::post().to(remove_as_number))
        .route("/api/entries", web::get().to(entries))
        .service(
            web::resource("/api/guarded")
                .guard(guard::fn_guard(|ctx| {
                    ctx.get_session().contains_key("pass")
                }))
                .to(|| async { HttpResponse::Ok().body("in") }),
        )
        .service(
            web::scope("/api/counted")
                // Registered on a scope inside the middleware: it runs around the handler,
                // before the middleware writes the response's cookie.
                .wrap_fn(|req, srv| {
                    let before = req.get_session().update_or("hits", 1u64, |n| n + 1);
                    let res = srv.call(req);
                    async move {
                        before?;
                        let res: ServiceResponse = res.await?;
                        res.get_session().insert("seen_by_response", true)?;
                        Ok(res)
                    }
                })
                .route("", web::get().to(hits)),
        );
}

/// `?key=&number=` or `?key=&text=`: stores the value under an owned `String` key.
async fn insert(session: Session, query: Query) -> actix_web::Result<HttpResponse> {
    let key = query["key"].clone();
    match (query.get("number"), query.get("text")) {
        (Some(n), _) => session.insert(key, n.parse::<u64>().expect("a number"))?,
        (_, Some(text)) => session.insert(key, text)?,
        _ => unreachable!("the tests send one"),
    }
    Ok(HttpResponse::Ok().finish())
}

/// The outcome of an update, and the value after it.
fn updated(session: &Session, key: &str, result: Result<(), SessionUpdateError>) -> HttpResponse {
    let outcome = match result {
        Ok(()) => "ok",
        Err(SessionUpdateError::Get(_)) => "wrong_type",
        Err(SessionUpdateError::Insert(SessionInsertError::TooLarge { .. })) => "too_large",
        Err(other) => panic!("{other}"),
    };
    let value = session
        .get::<Value>(key)
        .expect("any value decodes as JSON");
    HttpResponse::Ok().json(json!({ "outcome": outcome, "value": value }))
}

/// `?key=`: doubles the number stored there; with `&grow=N`, appends N bytes to the text
/// stored there instead.
async fn update(session: Session, query: Query) -> HttpResponse {
    let key = query["key"].as_str();
    let result = match query.get("grow") {
        None => session.update(key, |n: u64| n * 2),
        Some(n) => {
            let extra = "x".repeat(n.parse().expect("a number"));
            session.update(key, |text: String| text + &extra)
        }
    };
    updated(&session, key, result)
}

/// `?key=`: counts, starting at 1.
async fn update_or(session: Session, query: Query) -> HttpResponse {
    let key = &query["key"];
    let result = session.update_or(key.clone(), 1u64, |n| n + 1);
    updated(&session, key, result)
}

/// `?key=`: what `remove` returned, decoded as JSON.
async fn remove(session: Session, query: Query) -> HttpResponse {
    let removed = session.remove(&query["key"]);
    HttpResponse::Ok().json(json!({
        "key": removed.as_ref().map(|v| v.key().to_owned()),
        "value": removed.map(|v| v.decode::<Value>().expect("decodes as JSON")),
        "still_there": session.contains_key(&query["key"]),
    }))
}

/// `?key=`: `remove_as::<u64>`.
async fn remove_as_number(session: Session, query: Query) -> HttpResponse {
    let key = &query["key"];
    let body = match session.remove_as::<u64>(key) {
        None => json!({ "none": true }),
        Some(Ok(n)) => json!({ "number": n }),
        Some(Err(value)) => json!({
            "not_a_number": value.key(),
            "was": value.decode::<Value>().expect("decodes as JSON"),
        }),
    };
    HttpResponse::Ok().json(body)
}

/// `Session::reauthenticate`, as an application calls it once it has checked the password
/// again: `{"reauthenticated": bool}`, or the session's error.
async fn reauthenticate(session: Session) -> actix_web::Result<HttpResponse> {
    let done = session.reauthenticate().await?;
    Ok(HttpResponse::Ok().json(json!({ "reauthenticated": done })))
}

/// Every entry, as `[key, value as JSON]`.
async fn entries(session: Session) -> HttpResponse {
    let entries: Vec<_> = session
        .entries()
        .iter()
        .map(|v| json!([v.key(), v.decode::<Value>().expect("decodes as JSON")]))
        .collect();
    HttpResponse::Ok().json(entries)
}

/// What the `wrap_fn` counted.
async fn hits(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    let session = req.get_session();
    Ok(HttpResponse::Ok().json(json!({ "hits": session.get::<u64>("hits")? })))
}

fn app(store: Store) -> TestApp {
    let clock = Arc::new(ManualClock::new(sealed_session_tests::start_time()));
    let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .clock(clock.clone())
        .revocation_store(store.make(clock.clone()))
        .build()
        .expect("valid settings");
    TestApp::serve_with(middleware, clock, routes)
}

/// Sends `method path` with `cookie`, and returns the reply with the cookie to send next (the
/// new one if the response set one).
async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: &str,
) -> (sealed_session_tests::Reply, String) {
    let header = (!cookie.is_empty()).then(|| format!("{ID}={cookie}"));
    let reply = app
        .send(method, path, header.as_deref().map(str::as_bytes), None)
        .await;
    let next = reply.new_value(ID).unwrap_or_else(|| cookie.to_owned());
    (reply, next)
}

async fn update_changes_a_present_value_across_requests_and_never_adds_one(store: Store) {
    let app = app(store);
    // Absent: nothing stored, so nothing to write.
    let (reply, cookie) = call(&app, "POST", "/api/update?key=n", "").await;
    assert_eq!(reply.json, json!({ "outcome": "ok", "value": null }));
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);

    let (_, cookie) = call(&app, "POST", "/api/insert?key=n&number=3", &cookie).await;
    let (reply, cookie) = call(&app, "POST", "/api/update?key=n", &cookie).await;
    assert_eq!(reply.json["value"], 6);
    assert!(reply.new_value(ID).is_some(), "the change is written");
    let (reply, _) = call(&app, "POST", "/api/update?key=n", &cookie).await;
    assert_eq!(
        reply.json["value"], 12,
        "the next request sees the first update"
    );
}

async fn update_or_starts_at_the_default_then_updates_across_requests(store: Store) {
    let app = app(store);
    let mut cookie = String::new();
    for expected in 1..=3 {
        let (reply, next) = call(&app, "POST", "/api/update-or?key=visits", &cookie).await;
        assert_eq!(reply.json, json!({ "outcome": "ok", "value": expected }));
        cookie = next;
    }
}

async fn updates_of_the_wrong_type_or_too_large_change_nothing(store: Store) {
    let app = app(store);
    let (_, cookie) = call(&app, "POST", "/api/insert?key=name&text=alice", "").await;
    let (reply, _) = call(&app, "POST", "/api/update?key=name", &cookie).await;
    assert_eq!(
        reply.json,
        json!({ "outcome": "wrong_type", "value": "alice" })
    );
    assert!(
        reply.set_cookies.is_empty(),
        "nothing changed, nothing written"
    );
    let (reply, _) = call(&app, "POST", "/api/update-or?key=name", &cookie).await;
    assert_eq!(reply.json["outcome"], "wrong_type");

    let (_, cookie) = call(&app, "POST", "/api/insert?key=n&number=1", &cookie).await;
    let (reply, _) = call(&app, "POST", "/api/update?key=name&grow=5000", &cookie).await;
    assert_eq!(
        reply.json,
        json!({ "outcome": "too_large", "value": "alice" })
    );
    assert!(
        reply.set_cookies.is_empty(),
        "nothing changed, nothing written"
    );
    let (reply, _) = call(&app, "GET", "/api/entries", &cookie).await;
    assert_eq!(reply.json, json!([["n", 1], ["name", "alice"]]));
}

async fn remove_returns_the_removed_value_and_writes_its_absence(store: Store) {
    let app = app(store);
    let (_, cookie) = call(&app, "POST", "/api/insert?key=flash&text=saved", "").await;
    let (reply, after) = call(&app, "POST", "/api/remove?key=flash", &cookie).await;
    assert_eq!(
        reply.json,
        json!({ "key": "flash", "value": "saved", "still_there": false })
    );
    let (reply, _) = call(&app, "POST", "/api/remove?key=flash", &after).await;
    assert_eq!(reply.json["key"], Value::Null, "gone in the next request");
    assert!(
        reply.set_cookies.is_empty(),
        "removing nothing writes nothing"
    );
}

async fn remove_as_the_wrong_type_gives_back_the_removed_value(store: Store) {
    let app = app(store);
    let (_, cookie) = call(&app, "POST", "/api/insert?key=n&text=seven", "").await;
    let (reply, after) = call(&app, "POST", "/api/remove-as-number?key=n", &cookie).await;
    assert_eq!(reply.json, json!({ "not_a_number": "n", "was": "seven" }));
    let (reply, _) = call(&app, "POST", "/api/remove-as-number?key=n", &after).await;
    assert_eq!(reply.json, json!({ "none": true }), "removed all the same");

    let (_, cookie) = call(&app, "POST", "/api/insert?key=n&number=7", "").await;
    let (reply, _) = call(&app, "POST", "/api/remove-as-number?key=n", &cookie).await;
    assert_eq!(reply.json, json!({ "number": 7 }));
}

async fn entries_lists_every_value_in_key_order(store: Store) {
    let app = app(store);
    let (reply, cookie) = call(&app, "GET", "/api/entries", "").await;
    assert_eq!(reply.json, json!([]));
    let (_, cookie) = call(&app, "POST", "/api/insert?key=b&number=2", &cookie).await;
    let (_, cookie) = call(&app, "POST", "/api/insert?key=a&text=one", &cookie).await;
    let (reply, _) = call(&app, "GET", "/api/entries", &cookie).await;
    assert_eq!(reply.json, json!([["a", "one"], ["b", 2]]));
}

async fn a_guard_reads_the_session(store: Store) {
    let app = app(store);
    let (reply, _) = call(&app, "GET", "/api/guarded", "").await;
    assert_eq!(reply.status, 404, "the guard refused");
    let (_, cookie) = call(&app, "POST", "/api/insert?key=pass&number=1", "").await;
    let (reply, _) = call(&app, "GET", "/api/guarded", &cookie).await;
    assert_eq!(reply.status, 200);
}

async fn a_wrap_fn_inside_the_middleware_reads_and_writes_the_session(store: Store) {
    let app = app(store);
    let mut cookie = String::new();
    for expected in 1..=2 {
        let (reply, next) = call(&app, "GET", "/api/counted", &cookie).await;
        assert_eq!(
            reply.json["hits"], expected,
            "the handler sees the wrap_fn's write"
        );
        cookie = next;
    }
    let (reply, _) = call(&app, "GET", "/api/entries", &cookie).await;
    assert_eq!(
        reply.json,
        json!([["hits", 2], ["seen_by_response", true]]),
        "writes through the request and the response both reach the cookie"
    );
}

sealed_session_tests::acceptance_suite!(
    update_changes_a_present_value_across_requests_and_never_adds_one,
    update_or_starts_at_the_default_then_updates_across_requests,
    updates_of_the_wrong_type_or_too_large_change_nothing,
    remove_returns_the_removed_value_and_writes_its_absence,
    remove_as_the_wrong_type_gives_back_the_removed_value,
    entries_lists_every_value_in_key_order,
    a_guard_reads_the_session,
    a_wrap_fn_inside_the_middleware_reads_and_writes_the_session,
);

/// What a detached session did: each read and write, as JSON.
async fn detached_report(session: Session) -> HttpResponse {
    let missing = |r: Result<(), SessionError>| matches!(r, Err(SessionError::MissingMiddleware));
    let insert = session.insert("n", 1u64);
    HttpResponse::Ok().json(json!({
        "get": session.get::<u64>("n").expect("reads as empty"),
        "insert_refused": matches!(insert, Err(SessionInsertError::MissingMiddleware)),
        "update_or_refused": matches!(
            session.update_or("n", 1u64, |n| n + 1),
            Err(SessionUpdateError::Insert(SessionInsertError::MissingMiddleware))
        ),
        "update_of_nothing": session.update("n", |n: u64| n + 1).is_ok(),
        "remove": session.remove("n").is_some(),
        "entries": session.entries().len(),
        "renew_refused": missing(session.renew().await),
        "sign_in_refused": missing(session.sign_in("alice").await),
        "purge_refused": missing(session.purge().await),
    }))
}

/// A header that says whether a late write (after the middleware wrote the cookie) was refused.
fn late_write_header(res: &mut ServiceResponse) {
    let refused = matches!(
        res.get_session().insert("late", true),
        Err(SessionInsertError::MissingMiddleware)
    );
    res.headers_mut().insert(
        HeaderName::from_static("x-late-write"),
        HeaderValue::from_static(if refused { "refused" } else { "accepted" }),
    );
}

fn detached_app() -> actix_test::TestServer {
    actix_test::start(|| {
        App::new()
            // Outside the middleware: a detached session.
            .route(
                "/detached",
                web::post().to(|req: HttpRequest| detached_report(req.get_session())),
            )
            .service(
                web::scope("")
                    .wrap(
                        CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
                            .cookie_secure(false)
                            .build()
                            .expect("valid settings"),
                    )
                    // Registered after the middleware, so outside it: it runs after the
                    // middleware wrote the response's cookie.
                    .wrap_fn(|req, srv| {
                        let res = srv.call(req);
                        async move {
                            let mut res = res.await?;
                            late_write_header(&mut res);
                            Ok(res)
                        }
                    })
                    .route(
                        "/write",
                        web::post().to(|session: Session| async move {
                            session.insert("n", 1u64)?;
                            Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
                        }),
                    )
                    .route(
                        "/entries",
                        web::get().to(|session: Session| entries(session)),
                    ),
            )
    })
}

#[actix_web::test]
async fn get_session_without_the_middleware_is_empty_and_refuses_every_write() {
    let server = detached_app();
    let client = reqwest::Client::new();
    let res = client.post(server.url("/detached")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(set_cookies(res.headers()).is_empty(), "nothing is sent");
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        report,
        json!({
            "get": null,
            "insert_refused": true,
            "update_or_refused": true,
            "update_of_nothing": true,
            "remove": false,
            "entries": 0,
            "renew_refused": true,
            "sign_in_refused": true,
            "purge_refused": true,
        })
    );
}

#[actix_web::test]
async fn a_write_after_the_middleware_wrote_the_cookie_is_refused_not_lost() {
    let server = detached_app();
    let client = reqwest::Client::new();
    let res = client.post(server.url("/write")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-late-write"], "refused");
    let cookie = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.name() == ID)
        .expect("the handler's write is sent");
    let res = client
        .get(server.url("/entries"))
        .header("cookie", format!("{ID}={}", cookie.value()))
        .send()
        .await
        .unwrap();
    let entries: Value = res.json().await.unwrap();
    assert_eq!(
        entries,
        json!([["n", 1]]),
        "the late write is not in the cookie"
    );
}

// `Session::reauthenticate` over HTTP, on both stacks.

/// [`reauthenticate`] on axum.
async fn axum_reauthenticate(
    session: sealed_session_tower::Session,
) -> Result<axum::Json<Value>, sealed_session_tower::SessionError> {
    let done = session.reauthenticate().await?;
    Ok(axum::Json(json!({ "reauthenticated": done })))
}

/// The absolute timeout of [`reauthenticating_app`].
const ABSOLUTE: Duration = Duration::hours(2);

/// The login app plus `POST /api/reauthenticate` on one stack (on actix-web, with this file's
/// routes), on a manual clock at `start_time`, with an absolute timeout of 2 hours and an idle
/// timeout of 1 hour (refreshed by any request 6 minutes or more after the last re-seal: the
/// default interval, a tenth of it).
fn reauthenticating_app(stack: Stack, store: Store) -> StackApp {
    let mut settings = StackSettings::on(store);
    settings.lifetime = Some(
        BrowserSession::default()
            .state_ttl(ABSOLUTE)
            .idle_timeout(Duration::hours(1))
            .into(),
    );
    StackApp::start_with(stack, &settings, routes, |router| {
        router.route(
            "/api/reauthenticate",
            axum::routing::post(axum_reauthenticate),
        )
    })
}

/// Sign in, and `Session::reauthenticate` 30 minutes later from a route: a new cookie that keeps
/// the session's values, the old one refused as revoked, a new absolute window (alive 10
/// minutes past the end of the first one, while a session signed in at the same time as the
/// first is refused then), and a stamp above every other session of the user, so that a
/// sign-out-others from it ends a session signed in after the first sign-in (which a
/// sign-out-others made before the reauthentication did not). Without a signed-in user it
/// answers `false` and sets no cookie. Both stacks, both stores.
#[actix_web::test]
async fn reauthenticate_restarts_the_window_and_makes_the_session_the_freshest() {
    for stack in [Stack::Actix, Stack::Axum] {
        for store in [Store::Memory, Store::Redis] {
            let context = format!("{stack:?}/{store:?}");
            let app = reauthenticating_app(stack, store);
            let signed_in = app.clock.now();

            // 0:00: alice signs in and counts once; bob signs in too, to be kept alive only.
            let mut alice = app.login("alice").await;
            let counted = app.post_renewing("/counter", &mut alice).await;
            assert_eq!(counted.json, json!({ "counter": 1 }), "{context}");
            let first_cookie = alice.clone();
            let mut bob = app.login("bob").await;

            // 0:10: alice signs in on another device: fresher than the first session.
            app.clock.advance(Duration::minutes(10));
            let mut other = app.login("alice").await;

            // 0:20: a sign-out-others from the first session, not re-authenticated, ends none
            // of the newer one.
            app.clock.advance(Duration::minutes(10));
            let reply = app.post_renewing("/logout-others", &mut alice).await;
            assert_eq!(reply.json, json!({ "user": "alice" }), "{context}");
            assert_eq!(
                app.whoami_renewing(&mut other).await,
                json!({ "user": "alice", "counter": 0 }),
                "{context}: the other device signed in after the first session"
            );

            // 0:30: the first session re-authenticates.
            app.clock.advance(Duration::minutes(10));
            let before = alice.clone();
            let reply = app.post_renewing("/api/reauthenticate", &mut alice).await;
            assert_eq!(reply.json, json!({ "reauthenticated": true }), "{context}");
            let reauthenticated_at = app.clock.now();
            assert_eq!(
                app.whoami_renewing(&mut bob).await,
                json!({ "user": "bob", "counter": 0 }),
                "{context}: bob, kept alive from now on as alice is"
            );
            // (a) The cookie it came with (and the one before it) is refused as revoked.
            for old in [&before, &first_cookie] {
                assert_eq!(
                    app.refusal(old).await.as_deref(),
                    Some("revoked"),
                    "{context}: the old id is revoked"
                );
            }
            // (b) The new cookie works, with the session's values.
            assert_eq!(
                app.whoami_renewing(&mut alice).await,
                json!({ "user": "alice", "counter": 1 }),
                "{context}"
            );
            // (d) It is now the freshest: its sign-out-others ends the other device.
            let reply = app.post_renewing("/logout-others", &mut alice).await;
            assert_eq!(reply.json, json!({ "user": "alice" }), "{context}");
            assert_eq!(
                app.refusal(&other).await.as_deref(),
                Some("revoked"),
                "{context}: the session signed in before the reauthentication"
            );
            assert_eq!(
                app.whoami_renewing(&mut alice).await,
                json!({ "user": "alice", "counter": 1 }),
                "{context}: the reauthenticated session goes on"
            );

            // (c) A new absolute window: a request every 40 minutes keeps both sessions within
            // the idle hour; the first window ends at 2:00, the new one at 2:30.
            for _ in 0..2 {
                app.clock.advance(Duration::minutes(40));
                assert_eq!(
                    app.whoami_renewing(&mut alice).await,
                    json!({ "user": "alice", "counter": 1 }),
                    "{context} at {}",
                    app.clock.now() - signed_in
                );
                assert_eq!(
                    app.whoami_renewing(&mut bob).await,
                    json!({ "user": "bob", "counter": 0 }),
                    "{context} at {}",
                    app.clock.now() - signed_in
                );
            }
            app.clock.advance(Duration::minutes(20));
            assert_eq!(app.clock.now() - signed_in, Duration::minutes(130));
            assert!(app.clock.now() > signed_in + ABSOLUTE);
            assert_eq!(
                app.whoami_renewing(&mut alice).await,
                json!({ "user": "alice", "counter": 1 }),
                "{context}: 2:10, past the first window"
            );
            assert_eq!(
                app.refusal(&bob).await.as_deref(),
                Some("expired_absolute"),
                "{context}: 2:10, bob's window (the first one) is over"
            );
            app.clock.set(reauthenticated_at + ABSOLUTE);
            assert_eq!(
                app.refusal(&alice).await.as_deref(),
                Some("expired_absolute"),
                "{context}: the new window is the absolute timeout, from the reauthentication"
            );

            // (e) Without a signed-in user: `false`, and no cookie, with no cookie or an
            // anonymous session's.
            let reply = app.send("POST", "/api/reauthenticate", None, None).await;
            assert_eq!(reply.status, 200, "{context}: {reply:?}");
            assert_eq!(reply.json, json!({ "reauthenticated": false }), "{context}");
            assert!(reply.set_cookies.is_empty(), "{context}: {reply:?}");
            let counted = app.send("POST", "/counter", None, None).await;
            let anonymous = counted.new_value(ID).expect("an anonymous session");
            let reply = app
                .send("POST", "/api/reauthenticate", Some(&anonymous), None)
                .await;
            assert_eq!(reply.status, 200, "{context}: {reply:?}");
            assert_eq!(reply.json, json!({ "reauthenticated": false }), "{context}");
            assert!(reply.set_cookies.is_empty(), "{context}: {reply:?}");
            let mut anonymous = anonymous;
            assert_eq!(
                app.whoami_renewing(&mut anonymous).await,
                json!({ "user": null, "counter": 1 }),
                "{context}: the anonymous session is as it was"
            );
        }
    }
}

// `update` and `update_or` whose closures read the session, on both stacks.

/// The handler's code, the same on both stacks: closures that read the session they update.
/// Under the session's lock, the first read would deadlock (tower's mutex) or panic (a
/// `RefCell` borrowed twice).
fn update_reading_the_session(
    session: &sealed_session::Session,
) -> Result<Value, SessionUpdateError> {
    session.insert("step", 5u64)?;
    session.update_or("total", 1u64, |total| {
        total + session.get::<u64>("step").ok().flatten().unwrap_or(0)
    })?;
    session.update("total", |total: u64| total * session.keys().len() as u64)?;
    Ok(json!({
        "total": session.get::<u64>("total")?,
        "keys": session.keys(),
    }))
}

/// Both stacks, signed in (the login app stores `user`): the first request stores `total` = 1
/// (the default: its closure is not called), then multiplies it by the 3 keys; the next one adds
/// 5 (8) and multiplies again (24).
#[actix_web::test]
async fn update_closures_may_read_the_session_on_both_stacks() {
    fn actix(cfg: &mut web::ServiceConfig) {
        cfg.route(
            "/api/update-reading",
            web::post().to(|session: Session| async move {
                update_reading_the_session(&session).map(web::Json)
            }),
        );
    }
    async fn axum_route(
        session: sealed_session_tower::Session,
    ) -> Result<axum::Json<Value>, SessionUpdateError> {
        update_reading_the_session(&session).map(axum::Json)
    }
    for stack in [Stack::Actix, Stack::Axum] {
        let app = StackApp::start_with(stack, &StackSettings::on(Store::Memory), actix, |r| {
            r.route("/api/update-reading", axum::routing::post(axum_route))
        });
        let mut cookie = app.login("alice").await;
        let first = app.post_renewing("/api/update-reading", &mut cookie).await;
        assert_eq!(
            first.json,
            json!({ "total": 3, "keys": ["step", "total", "user"] }),
            "{stack:?}: 1 stored, then 1 * 3"
        );
        let second = app.post_renewing("/api/update-reading", &mut cookie).await;
        assert_eq!(
            second.json,
            json!({ "total": 24, "keys": ["step", "total", "user"] }),
            "{stack:?}: (3 + 5) * 3"
        );
    }
}

// A response that fails or is dropped writes no cookie, and the session's later writes fail.

/// The session of the last request the failing app served, kept past its response.
static KEPT: std::sync::Mutex<Option<Session>> = std::sync::Mutex::new(None);

/// actix-web: a `wrap_fn` inside the middleware that fails after the handler (as a `?` on a
/// refused write does) makes the middleware see an error. A task still holding the session
/// then can't make a write, a renewal or a logout that no response carries pass for done.
#[actix_web::test]
async fn a_write_after_a_failed_response_is_refused_not_lost() {
    let server = actix_test::start(|| {
        App::new()
            .wrap_fn(|req, srv| {
                *KEPT.lock().unwrap() = Some(req.get_session());
                let res = srv.call(req);
                async move {
                    res.await?;
                    Err::<ServiceResponse, _>(actix_web::error::ErrorImATeapot("inner failure"))
                }
            })
            .wrap(
                CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
                    .cookie_secure(false)
                    .build()
                    .unwrap(),
            )
            .route(
                "/",
                web::post().to(|session: Session| async move {
                    session.insert("n", 1u64)?;
                    Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
                }),
            )
    });
    let res = reqwest::Client::new()
        .post(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 418);
    assert!(
        set_cookies(res.headers()).is_empty(),
        "no cookie on a failed response"
    );
    let kept = KEPT.lock().unwrap().take().expect("the request's session");
    assert_eq!(
        kept.insert("late", 2u64),
        Err(SessionInsertError::MissingMiddleware)
    );
    assert_eq!(kept.renew().await, Err(SessionError::MissingMiddleware));
    assert_eq!(kept.purge().await, Err(SessionError::MissingMiddleware));
}

/// tower: the layer's response future dropped before it completes (a timeout, a client gone)
/// ends the session's writes too.
#[actix_web::test]
async fn a_write_after_the_response_future_was_dropped_is_refused_not_lost() {
    use tower_layer::Layer as _;
    use tower_service::Service as _;
    let layer = sealed_session_tower::CookieSessionLayer::new(KeyRing::new(SecretKey::generate()));
    let kept: Arc<std::sync::Mutex<Option<sealed_session::Session>>> = Arc::default();
    let slot = Arc::clone(&kept);
    let mut service = layer.layer(tower_service_fn(move |req: http::Request<()>| {
        let session = req.extensions().get::<sealed_session::Session>().cloned();
        *slot.lock().unwrap() = session;
        // Never answers: the caller gives up.
        std::future::pending::<Result<http::Response<()>, std::convert::Infallible>>()
    }));
    let future = service.call(http::Request::new(()));
    drop(future);
    let kept = kept.lock().unwrap().take().expect("the request's session");
    assert_eq!(
        kept.insert("late", 2u64),
        Err(SessionInsertError::MissingMiddleware)
    );
    assert_eq!(kept.purge().await, Err(SessionError::MissingMiddleware));
}

/// A `tower::Service` from a closure (what `tower::service_fn` does), to keep the tests crate
/// off `tower`'s `util` feature.
fn tower_service_fn<F, Fut>(f: F) -> ServiceFn<F>
where
    F: FnMut(http::Request<()>) -> Fut,
{
    ServiceFn(f)
}

struct ServiceFn<F>(F);

impl<F, Fut> tower_service::Service<http::Request<()>> for ServiceFn<F>
where
    F: FnMut(http::Request<()>) -> Fut,
    Fut: std::future::Future<Output = Result<http::Response<()>, std::convert::Infallible>>,
{
    type Response = http::Response<()>;
    type Error = std::convert::Infallible;
    type Future = Fut;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<()>) -> Fut {
        (self.0)(req)
    }
}
