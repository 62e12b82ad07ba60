//! The login app written with axum-login (0.18), on sealed cookie sessions: [`crate::contract`]'s
//! routes, the user signed in and out by axum-login's `AuthSession`, the session it reads a
//! `tower_sessions::Session` that `sealed_session_tower::TowerSessionsLayer` keeps in the
//! sealed cookie.
//!
//! The handlers are written as for tower-sessions' own `SessionManagerLayer`; only [`app`]'s
//! last layer differs from an axum-login app's (`AuthManagerLayerBuilder::new(backend,
//! session_layer).build()` becomes [`TowerSessionsLayer`] around `AuthManager`). What
//! axum-login has no word for comes from `sealed_session_tower::Session`, which the same layer
//! puts in the request: why a cookie was refused (`/whoami`), "log out everywhere" and "sign out
//! my other sessions" (by the subject the layer takes from axum-login's user id), and a value
//! whose size is checked when it is inserted (`/big`).

use std::convert::Infallible;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::{Router, body::Bytes};
use axum_login::{AuthManager, AuthSession, AuthUser, AuthnBackend, UserId};
use sealed_session_tower::{AXUM_LOGIN_DATA_KEY, CookieSessionLayer, Session, TowerSessionsLayer};
use serde_json::json;
use tower_layer::layer_fn;

use crate::contract::{self, Answer, BigQuery, COUNTER};
use crate::contract_axum::{json, respond};

/// The app: the contract's routes, with axum-login's `AuthManager` on `sessions`.
pub fn app(sessions: CookieSessionLayer) -> Router {
    let backend = Users;
    Router::new()
        .route("/", get(async || Html(crate::page::HTML)))
        .route("/whoami", get(whoami))
        .route("/login", post(login))
        .route("/counter", post(counter))
        .route("/logout", post(logout))
        .route(
            "/logout-everywhere",
            post(async |auth: Auth, sealed: Session| {
                json(contract::logout_everywhere_for(&sealed, auth.user.is_some()).await)
            }),
        )
        .route(
            "/logout-others",
            post(async |auth: Auth, sealed: Session| {
                json(contract::logout_others_for(&sealed, auth.user.map(|user| user.name)).await)
            }),
        )
        .route(
            "/big",
            post(async |sealed: Session, q: Query<BigQuery>| respond(contract::big(&sealed, &q))),
        )
        // An axum-login app on tower-sessions has
        // `.layer(AuthManagerLayerBuilder::new(backend, session_layer).build())` here.
        .layer((
            TowerSessionsLayer::new(sessions),
            layer_fn(move |inner| AuthManager::new(inner, backend.clone(), AXUM_LOGIN_DATA_KEY)),
        ))
}

/// A user: its name is its id.
#[derive(Debug, Clone)]
pub struct User {
    name: String,
}

/// What axum-login compares on every request to keep a session signed in: an app with passwords
/// gives a hash of the user's password hash, so that changing the password signs the user's
/// other sessions out. This demo has no passwords.
const AUTH_HASH: &[u8] = b"no password in this demo";

impl AuthUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.name.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        AUTH_HASH
    }
}

/// The users: anyone, by name, as the contract's `POST /login` has it (no password).
#[derive(Debug, Clone)]
pub struct Users;

impl AuthnBackend for Users {
    type User = User;
    type Credentials = String;
    type Error = Infallible;

    async fn authenticate(&self, name: String) -> Result<Option<User>, Infallible> {
        Ok(Some(User { name }))
    }

    async fn get_user(&self, name: &UserId<Self>) -> Result<Option<User>, Infallible> {
        Ok(Some(User { name: name.clone() }))
    }
}

/// axum-login's session, on [`Users`].
type Auth = AuthSession<Users>;

/// `GET /whoami`: the user axum-login signed in, the counter, and why a cookie was refused.
async fn whoami(auth: Auth, sealed: Session) -> Response {
    let Ok(counter) = auth.session.get::<u64>(COUNTER).await else {
        return internal_error();
    };
    let mut body = json!({
        "user": auth.user.map(|user| user.name),
        "counter": counter.unwrap_or(0),
    });
    if let Some(refusal) = sealed.refusal() {
        body["refused"] = json!(refusal.reason());
    }
    json(Answer::ok(body))
}

/// `POST /login`: axum-login's `login`, which cycles the session id (a sign-in, here).
async fn login(mut auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let user = match contract::login_user(content_type, &body) {
        Ok(user) => user,
        Err(answer) => return json(answer),
    };
    let user = match contract::valid_user(&user) {
        Ok(user) => user.to_owned(),
        Err(answer) => return json(answer),
    };
    let Ok(Some(user)) = auth.authenticate(user).await else {
        return internal_error();
    };
    // axum-login keeps the values of the session before the login (so does tower-sessions'
    // `cycle_id`); the contract starts the signed-in session clean.
    auth.session.clear().await;
    if auth.login(&user).await.is_err() {
        return internal_error();
    }
    json(Answer::ok(json!({ "user": user.name })))
}

/// `POST /counter`, in tower-sessions' session.
async fn counter(auth: Auth) -> Response {
    let Ok(n) = auth.session.get::<u64>(COUNTER).await else {
        return internal_error();
    };
    let n = n.unwrap_or(0) + 1;
    if auth.session.insert(COUNTER, n).await.is_err() {
        return internal_error();
    }
    json(Answer::ok(json!({ "counter": n })))
}

/// `POST /logout`: axum-login's `logout` (tower-sessions' `flush`: the session is revoked).
async fn logout(mut auth: Auth) -> Response {
    if auth.logout().await.is_err() {
        return internal_error();
    }
    // Writes the logout now, so that a failure is this handler's to answer (the contract's
    // `503` with a JSON error, the cookie kept). Without it, the layer writes it after the
    // handler, and answers a failure with an empty `503` in place of this response.
    match auth.session.save().await {
        Ok(()) => json(Answer::ok(json!({ "user": null }))),
        Err(err) => json(contract::logout_not_done(503, &err)),
    }
}

fn internal_error() -> Response {
    json(Answer {
        status: 500,
        body: json!({ "error": "internal error" }),
    })
}
