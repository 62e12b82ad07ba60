//! axum-login on sealed cookies (issue 20, points 2 and 3): `TowerSessionsLayer` under
//! axum-login's own `AuthSession` and `login_required!`, over real HTTP. The example app
//! (`examples/with_axum_login.rs`) and a bare axum-login app whose handlers call nothing but
//! axum-login, as written for tower-sessions: logout really logs out, a logout that isn't durable
//! never answers `200`, and what tower-sessions' API does maps onto the sealed session.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum_login::{AuthManager, AuthSession, login_required};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_examples::with_axum_login::{self, Users};
use sealed_session_tests::{AxumServer, Unconfirmed};
use sealed_session_tower::{AXUM_LOGIN_DATA_KEY, CookieSessionLayer, TowerSessionsLayer};
use serde_json::{Value, json};
use tower_layer::layer_fn;

/// The session cookie's name (cookies not `Secure`).
const ID: &str = "id";

/// The cookie layer on a fresh key and `store`, the cookie named [`ID`].
fn sessions(store: Arc<Unconfirmed>) -> CookieSessionLayer {
    CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .revocation_store(store)
        .build()
        .expect("valid configuration")
}

/// An axum-login app as written for tower-sessions, its handlers untouched: only the last layer
/// is `TowerSessionsLayer` (with `AuthManager`) where it was
/// `AuthManagerLayerBuilder::new(backend, session_layer).build()`.
fn bare_app(sessions: CookieSessionLayer) -> Router {
    type Auth = AuthSession<Users>;
    let backend = Users;
    Router::new()
        .route("/private", get(async || "secret"))
        .route_layer(login_required!(Users))
        .route(
            "/login/{name}",
            post(async |mut auth: Auth, Path(name): Path<String>| {
                let user = auth.authenticate(name).await.ok().flatten();
                match user {
                    Some(user) if auth.login(&user).await.is_ok() => StatusCode::OK,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        )
        .route(
            "/logout",
            post(async |mut auth: Auth| match auth.logout().await {
                Ok(_) => StatusCode::OK,
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }),
        )
        // tower-sessions' own call, as an app makes it at a privilege change.
        .route(
            "/cycle",
            post(async |auth: Auth| match auth.session.cycle_id().await {
                Ok(()) => StatusCode::OK,
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }),
        )
        // axum-login#206: a logout that drops the auth data only, keeping the rest.
        .route(
            "/logout-keep-cart",
            post(
                async |auth: Auth| match auth.session.remove_value(AXUM_LOGIN_DATA_KEY).await {
                    Ok(_) => StatusCode::OK,
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                },
            ),
        )
        .route(
            "/cart",
            get(async |auth: Auth| {
                let cart: Option<Vec<String>> = auth.session.get("cart").await.ok().flatten();
                axum::Json(json!({ "cart": cart, "user": auth.user.map(|u| format!("{u:?}")) }))
            })
            .post(async |auth: Auth| {
                match auth.session.insert("cart", ["tea", "cups"]).await {
                    Ok(()) => StatusCode::OK,
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        )
        // Saves a preference at once (to know whether it fits); when it can't be saved, drops
        // it and ends the session, as a fail-closed handler does.
        .route(
            "/prefs-or-logout",
            post(async |mut auth: Auth| {
                if auth
                    .session
                    .insert("prefs", "x".repeat(8000))
                    .await
                    .is_err()
                {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                if auth.session.save().await.is_ok() {
                    return StatusCode::OK;
                }
                let _ = auth.session.remove_value("prefs").await;
                match auth.logout().await {
                    Ok(_) => StatusCode::UNAUTHORIZED,
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        )
        .layer((
            TowerSessionsLayer::new(sessions),
            layer_fn(move |inner| AuthManager::new(inner, backend.clone(), AXUM_LOGIN_DATA_KEY)),
        ))
}

/// What a response said.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// The session cookie's new value, if the response sets one.
    cookie: Option<String>,
    /// Whether the response removes the session cookie.
    removes: bool,
    json: Value,
}

/// `method path` with the session cookie `cookie`, if any.
async fn send(server: &AxumServer, method: &str, path: &str, cookie: Option<&str>) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = reqwest::Client::new().request(method, server.url(path));
    if let Some(value) = cookie {
        req = req.header(reqwest::header::COOKIE, format!("{ID}={value}"));
    }
    let res = req.send().await.expect("request succeeds");
    let status = res.status().as_u16();
    let cookies: Vec<_> = sealed_session_tests::set_cookies(res.headers())
        .into_iter()
        .filter(|c| c.name() == ID)
        .collect();
    let json = serde_json::from_slice(&res.bytes().await.expect("body")).unwrap_or(Value::Null);
    Reply {
        status,
        cookie: cookies
            .iter()
            .find(|c| !c.value().is_empty())
            .map(|c| c.value().to_owned()),
        removes: cookies.iter().any(sealed_session_tests::is_removal),
        json,
    }
}

/// Logs `user` in to [`bare_app`] with `cookie`, if any; returns the new cookie.
async fn bare_login(server: &AxumServer, user: &str, cookie: Option<&str>) -> String {
    let login = send(server, "POST", &format!("/login/{user}"), cookie).await;
    assert_eq!(login.status, 200);
    login.cookie.expect("login sets the cookie")
}

/// Logs `user` in to the example app; returns the cookie.
async fn example_login(server: &AxumServer, user: &str) -> String {
    let res = reqwest::Client::new()
        .post(server.url("/login"))
        .form(&[("user", user)])
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(res.status(), 200);
    sealed_session_tests::set_cookies(res.headers())
        .into_iter()
        .find(|c| c.name() == ID && !c.value().is_empty())
        .expect("login sets the cookie")
        .value()
        .to_owned()
}

#[actix_web::test]
async fn a_copy_of_the_cookie_replayed_after_logout_is_refused() {
    let server = AxumServer::start(with_axum_login::app(sessions(Arc::default())));
    let copy = example_login(&server, "alice").await;
    let signed_in = send(&server, "POST", "/counter", Some(&copy)).await;
    let copy = signed_in
        .cookie
        .expect("the counter's write sets the cookie");

    let logout = send(&server, "POST", "/logout", Some(&copy)).await;
    assert_eq!(logout.status, 200, "{:?}", logout.json);
    assert!(logout.removes, "{logout:?}");

    let replay = send(&server, "GET", "/whoami", Some(&copy)).await;
    assert_eq!(
        replay.json,
        json!({ "user": null, "counter": 0, "refused": "revoked" })
    );
    // Writing with it starts a new anonymous session, never the old one back.
    let write = send(&server, "POST", "/counter", Some(&copy)).await;
    assert_eq!(write.json, json!({ "counter": 1 }));
    let fresh = write.cookie.expect("a new session");
    assert_eq!(
        send(&server, "GET", "/whoami", Some(&fresh)).await.json,
        json!({ "user": null, "counter": 1 })
    );
}

#[actix_web::test]
async fn a_logout_the_store_does_not_confirm_is_503_until_it_does() {
    let store = Arc::new(Unconfirmed::default());
    let server = AxumServer::start(with_axum_login::app(sessions(Arc::clone(&store))));
    let cookie = example_login(&server, "alice").await;

    store.fail(true);
    let logout = send(&server, "POST", "/logout", Some(&cookie)).await;
    assert_eq!(logout.status, 503, "{:?}", logout.json);
    assert!(logout.json["error"].is_string(), "{:?}", logout.json);
    assert!(
        !logout.removes && logout.cookie.is_none(),
        "the cookie stays"
    );
    // The retry comes with the cookie, refused here already, and waits for the store again.
    let retry = send(&server, "POST", "/logout", Some(&cookie)).await;
    assert_eq!(retry.status, 503, "{:?}", retry.json);

    store.fail(false);
    let retry = send(&server, "POST", "/logout", Some(&cookie)).await;
    assert_eq!(retry.status, 200, "{:?}", retry.json);
    assert!(retry.removes, "{retry:?}");
    let replay = send(&server, "GET", "/whoami", Some(&cookie)).await;
    assert_eq!(replay.json["user"], Value::Null);
}

#[actix_web::test]
async fn an_unchanged_axum_login_app_logs_out_for_real() {
    let server = AxumServer::start(bare_app(sessions(Arc::default())));
    assert_eq!(send(&server, "GET", "/private", None).await.status, 401);
    let copy = bare_login(&server, "alice", None).await;
    assert_eq!(
        send(&server, "GET", "/private", Some(&copy)).await.status,
        200
    );

    let logout = send(&server, "POST", "/logout", Some(&copy)).await;
    assert_eq!(logout.status, 200);
    assert!(logout.removes, "{logout:?}");
    assert_eq!(
        send(&server, "GET", "/private", Some(&copy)).await.status,
        401,
        "a copy of the cookie from before the logout"
    );
}

#[actix_web::test]
async fn a_logout_that_is_not_durable_never_answers_200() {
    // The handler answers `200` whatever happens next; the layer, writing the logout after it,
    // replaces the answer when the store did not confirm.
    let store = Arc::new(Unconfirmed::default());
    let server = AxumServer::start(bare_app(sessions(Arc::clone(&store))));
    let cookie = bare_login(&server, "alice", None).await;
    store.fail(true);
    let logout = send(&server, "POST", "/logout", Some(&cookie)).await;
    assert_eq!(logout.status, 503);
    assert!(
        !logout.removes && logout.cookie.is_none(),
        "the cookie stays"
    );
}

#[actix_web::test]
async fn removing_the_auth_data_alone_logs_out_and_keeps_the_rest() {
    let server = AxumServer::start(bare_app(sessions(Arc::default())));
    let anonymous = send(&server, "POST", "/cart", None)
        .await
        .cookie
        .expect("the cart sets the cookie");
    let signed_in = bare_login(&server, "alice", Some(&anonymous)).await;
    assert_ne!(signed_in, anonymous);
    let cart = send(&server, "GET", "/cart", Some(&signed_in)).await.json;
    assert_eq!(cart["cart"], json!(["tea", "cups"]), "axum-login keeps it");

    let logout = send(&server, "POST", "/logout-keep-cart", Some(&signed_in)).await;
    assert_eq!(logout.status, 200);
    let kept = logout.cookie.expect("a new, anonymous session");
    let cart = send(&server, "GET", "/cart", Some(&kept)).await.json;
    assert_eq!(cart, json!({ "cart": ["tea", "cups"], "user": null }));
    assert_eq!(
        send(&server, "GET", "/private", Some(&signed_in))
            .await
            .status,
        401,
        "the signed-in cookie is revoked"
    );
}

#[actix_web::test]
async fn a_login_as_another_user_revokes_the_previous_users_session() {
    // axum-login cycles the id only when no one is signed in; the new user is a sign-in all
    // the same.
    let server = AxumServer::start(bare_app(sessions(Arc::default())));
    let alice = bare_login(&server, "alice", None).await;
    let bob = bare_login(&server, "bob", Some(&alice)).await;
    assert_eq!(
        send(&server, "GET", "/private", Some(&bob)).await.status,
        200
    );
    assert_eq!(
        send(&server, "GET", "/private", Some(&alice)).await.status,
        401,
        "alice's cookie is revoked"
    );
}

#[actix_web::test]
async fn cycle_id_renews_the_session_and_revokes_the_old_id() {
    let server = AxumServer::start(bare_app(sessions(Arc::default())));
    let old = bare_login(&server, "alice", None).await;
    let cycled = send(&server, "POST", "/cycle", Some(&old)).await;
    assert_eq!(cycled.status, 200);
    let new = cycled.cookie.expect("a new id, a new cookie");
    assert_eq!(
        send(&server, "GET", "/private", Some(&new)).await.status,
        200
    );
    assert_eq!(
        send(&server, "GET", "/private", Some(&old)).await.status,
        401
    );
}

/// The owner's cookie idles out while an attacker keeps a copy of it active (a refresh keeps
/// the id): the owner's axum-login logout with the idle cookie revokes that id too, so the
/// copy is refused (invariant 1). Tower-sessions sees no session for a refused cookie, so its
/// `flush` reaches no `delete`: the layer ends the session on the empty save, for every cookie
/// refused after it authenticated (`OpenError::reaches_a_session`). Before (an attacker's
/// review), only revoked and not-yet-checkable cookies were, and the copy stayed signed in.
#[actix_web::test]
async fn an_idle_cookies_logout_ends_a_copy_kept_active() {
    let clock = Arc::new(sealed_session::clock::ManualClock::new(
        sealed_session_tests::start_time(),
    ));
    let sessions = CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .clock(clock.clone())
        .build()
        .expect("valid configuration");
    let server = AxumServer::start(bare_app(sessions));
    let owner = bare_login(&server, "alice", None).await;
    // The default idle timeout is an hour; the attacker uses the copy every 40 minutes.
    let mut copy = owner.clone();
    for _ in 0..3 {
        clock.advance(time::Duration::minutes(40));
        let read = send(&server, "GET", "/private", Some(&copy)).await;
        assert_eq!(read.status, 200, "the copy is kept active");
        copy = read.cookie.unwrap_or(copy);
    }
    assert_eq!(
        send(&server, "GET", "/private", Some(&owner)).await.status,
        401,
        "the owner's cookie is idle too long"
    );
    let logout = send(&server, "POST", "/logout", Some(&owner)).await;
    assert_eq!(logout.status, 200, "{logout:?}");
    assert!(logout.removes, "{logout:?}");
    assert_eq!(
        send(&server, "GET", "/private", Some(&copy)).await.status,
        401,
        "a logout answered 200 left a copy of the same session signed in"
    );
}

/// After an explicit `session.save()` failed (here a value too large for the cookie, which the
/// handler handles by dropping it), the layer leaves the request's later changes to the
/// handler that got the error, but not a logout made after it: axum-login's `logout` (`flush`)
/// is carried out and a copy of the cookie is refused. Before (an attacker's review), it was
/// skipped with the rest: the logout answered `Ok` and every copy stayed signed in.
#[actix_web::test]
async fn a_logout_after_a_failed_save_is_carried_out() {
    let server = AxumServer::start(bare_app(sessions(Arc::default())));
    let copy = bare_login(&server, "alice", None).await;
    let reply = send(&server, "POST", "/prefs-or-logout", Some(&copy)).await;
    assert_eq!(
        reply.status, 401,
        "the handler's logout returned Ok: {reply:?}"
    );
    assert_eq!(
        send(&server, "GET", "/private", Some(&copy)).await.status,
        401,
        "the logout axum-login answered Ok for was never carried out: {reply:?}"
    );
}
