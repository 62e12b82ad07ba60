//! The top-level README's Rust snippets, compiled as doctests (`cargo test --doc`), so a changed
//! API breaks the build, not the reader. It lives here because the README is in no crate's
//! package. The guides in `docs/` are doctested by the crates that render them
//! (`sealed_session::guide`, `sealed_session_actix::migrating`, `sealed_session_tower::migrating`),
//! and each crate's own README by that crate.

/// README.md: the actix-web quick start.
#[doc = include_str!("../../README.md")]
struct Readme;

/// One session surface on both stacks: the handler's code is written once, against
/// `sealed_session::Session` and its errors, and each framework only wraps it in its own types
/// (actix-web's `web::Json`, axum's `Json`). Both adapters re-export the same `Session`, so the
/// function below takes either stack's.
///
/// ```
/// use sealed_session::{Session, SessionUpdateError};
/// use serde_json::{Value, json};
///
/// /// The handler's code: the same on actix-web and on axum.
/// fn count(session: &Session) -> Result<Value, SessionUpdateError> {
///     session.update_or("visits", 1u64, |n| n + 1)?;
///     Ok(json!({ "visits": session.get::<u64>("visits")? }))
/// }
///
/// // actix-web: the adapter's `Session` is the core's, its errors are `ResponseError`s.
/// async fn on_actix(
///     session: sealed_session_actix::Session,
/// ) -> Result<actix_web::web::Json<Value>, SessionUpdateError> {
///     count(&session).map(actix_web::web::Json)
/// }
///
/// // axum: the same `Session`, its errors are `IntoResponse`.
/// async fn on_axum(
///     session: sealed_session_tower::Session,
/// ) -> Result<axum::Json<Value>, SessionUpdateError> {
///     count(&session).map(axum::Json)
/// }
///
/// let _actix = actix_web::App::new()
///     .route("/count", actix_web::web::post().to(on_actix))
///     .wrap(sealed_session_actix::CookieSessionMiddleware::new(
///         sealed_session_actix::KeyRing::new(sealed_session_actix::SecretKey::generate()),
///     ));
/// let _axum: axum::Router = axum::Router::new()
///     .route("/count", axum::routing::post(on_axum))
///     .layer(sealed_session_tower::CookieSessionLayer::new(
///         sealed_session_tower::KeyRing::new(sealed_session_tower::SecretKey::generate()),
///     ));
/// ```
struct SameHandlerOnBothStacks;
