//! The login app on axum and stateless, sealed cookie sessions: `examples/login.rs`'s routes,
//! page and environment, on `sealed-session-tower`.
//!
//! Run with: `cargo run --example axum_login`, then open http://127.0.0.1:8080
//!
//! Environment, as `examples/login.rs` (read by the same code, `settings::SealedSettings`):
//! `SESSION_KEYS` (without it a throwaway key, with a loud warning and the key saved beside the
//! binary for `sealed-session inspect`), `PORT` (default 8080),
//! `COOKIE_NAME`, `COOKIE_SECURE` (default `true`), `COOKIE_CHUNKS` (default 1: the most cookies
//! one session may span, 1 to 10) and `REDIS_URL` (share logouts with every other instance, of
//! either app, through Redis).
//!
//! Each request is logged at `info` (method, path, status, time taken; never a cookie).

use std::process::ExitCode;

use sealed_session_examples::settings::SealedSettings;
use sealed_session_examples::{axum_login, request_log};
use sealed_session_tower::CookieSessionLayer;

#[tokio::main]
async fn main() -> ExitCode {
    sealed_session_examples::init_tracing();
    sealed_session_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = SealedSettings::from_env()?;
    let port = settings.port;
    let sessions = settings.builder(CookieSessionLayer::builder).build()?;
    let app = axum_login::app(sessions)
        // Outermost, so the time logged includes the session's work.
        .layer(axum::middleware::from_fn(request_log::axum));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
