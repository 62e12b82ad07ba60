//! [`crate::contract`]'s routes on axum: the same route functions, with axum's extraction of
//! the request and writing of the response.

use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;

use sealed_session_tower::CookieSessionLayer;

use crate::contract::{self, Answer, AppSession, BigQuery, Outcome, RouteError};
use crate::request_log;
use crate::settings::SealedSettings;

/// Serves the app `app` makes of the session layer, configured by the environment as
/// `examples/axum_login.rs` says, until the server stops.
///
/// # Errors
/// A bad setting (`SESSION_KEYS`, `PORT`, `COOKIE_SECURE`, `COOKIE_CHUNKS`, `REDIS_URL`), or a
/// port that can't be bound.
pub async fn run_from_env(
    app: impl FnOnce(CookieSessionLayer) -> Router,
) -> Result<(), Box<dyn std::error::Error>> {
    let settings = SealedSettings::from_env()?;
    let port = settings.port;
    let sessions = settings.builder(CookieSessionLayer::builder).build()?;
    // Outermost, so the time logged includes the session's work.
    let app = app(sessions).layer(axum::middleware::from_fn(request_log::axum));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The routes, with sessions of type `S` (which the router's session layer must provide).
pub fn routes<S>() -> Router
where
    S: AppSession + FromRequestParts<()> + Send + Sync,
    S::Error: IntoResponse,
{
    Router::new()
        .route("/", get(async || Html(crate::page::HTML)))
        .route("/whoami", get(async |s: S| respond(contract::whoami(&s))))
        .route("/login", post(login::<S>))
        .route(
            "/counter",
            post(async |s: S| respond(contract::counter(&s))),
        )
        .route(
            "/logout",
            post(async |s: S| json(contract::logout(&s).await)),
        )
        .route(
            "/logout-everywhere",
            post(async |s: S| respond(contract::logout_everywhere(&s).await)),
        )
        .route(
            "/logout-others",
            post(async |s: S| respond(contract::logout_others(&s).await)),
        )
        .route(
            "/big",
            post(async |s: S, q: Query<BigQuery>| respond(contract::big(&s, &q))),
        )
}

async fn login<S>(session: S, headers: HeaderMap, body: Bytes) -> Response
where
    S: AppSession + Sync,
    S::Error: IntoResponse,
{
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match contract::login_user(content_type, &body) {
        Ok(user) => respond(contract::login(&session, &user).await),
        Err(answer) => json(answer),
    }
}

/// The response for `outcome`: the contract's JSON, or the session error's own response.
pub(crate) fn respond<E: IntoResponse>(outcome: Outcome<E>) -> Response {
    match outcome.or_else(RouteError::into_answer) {
        Ok(answer) => json(answer),
        Err(err) => err.into_response(),
    }
}

pub(crate) fn json(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(answer.body)).into_response()
}
