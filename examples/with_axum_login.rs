//! The login app written with axum-login, on sealed cookie sessions: `examples/login.rs`'s
//! routes, page and environment, with axum-login's `AuthSession` signing users in and out, on
//! `sealed-session-tower`'s `TowerSessionsLayer` (tower-sessions' `Session`, kept in the sealed
//! cookie). The app's code is in `src/with_axum_login.rs`.
//!
//! Run with: `cargo run --example with_axum_login`, then open http://127.0.0.1:8080
//!
//! Environment, as `examples/login.rs` (read by the same code, `settings::SealedSettings`):
//! `SESSION_KEYS` (without it a throwaway key, with a loud warning and the key saved beside the
//! binary for `sealed-session inspect`), `PORT` (default 8080),
//! `COOKIE_NAME`, `COOKIE_SECURE` (default `true`), `COOKIE_CHUNKS` (default 1: the most cookies
//! one session may span, 1 to 10) and `REDIS_URL` (share logouts with every other instance, of
//! any of the sealed apps, through Redis; `REDIS_REPLICAS`, default 0: how many replicas must
//! have a logout before it is answered).
//!
//! Each request is logged at `info` (method, path, status, time taken; never a cookie).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    sealed_session_examples::init_tracing();
    sealed_session_examples::exit_code(
        sealed_session_examples::contract_axum::run_from_env(
            sealed_session_examples::with_axum_login::app,
        )
        .await,
    )
}
