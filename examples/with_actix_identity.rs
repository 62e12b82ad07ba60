//! The login app on actix-identity and actix-session's `SessionMiddleware`, over sealed cookies:
//! the same page, routes and JSON contract as `login.rs`, written with the crates an actix app
//! already uses for login. Only the session store changed: `SealedSessionStore`
//! (`sealed-session-actix`, feature `actix-session`) in place of actix-session's own.
//!
//! Run with: `cargo run --example with_actix_identity`, then open http://127.0.0.1:8080
//!
//! Environment, as `login.rs`'s: `SESSION_KEYS` (newest first; without it a throwaway key, saved
//! where `sealed-session inspect` reads it), `PORT` (default 8080), `COOKIE_NAME`,
//! `COOKIE_SECURE` (default `true`) and `REDIS_URL` (share logouts between instances; `REDIS_REPLICAS`, default 0: how many replicas
//! must have a logout before it is answered).
//! `COOKIE_CHUNKS` must be 1 or unset: actix-session writes one cookie.
//!
//! The cookie's value is actix-session's signature (under a public key of
//! `sealed-session-actix`: the sealed value it signs is what protects the session) followed by
//! the sealed session.
//!
//! Each request is logged at `info` (method, path, status, time taken; never a cookie).

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    sealed_session_examples::init_tracing();
    sealed_session_examples::exit_code(
        sealed_session_examples::with_actix_identity::run_from_env().await,
    )
}
