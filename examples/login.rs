//! The login app on stateless, sealed cookie sessions.
//!
//! Run with: `cargo run --example login`, then open http://127.0.0.1:8080
//!
//! Environment:
//! - `SESSION_KEYS`: comma-separated base64 secrets, newest first (`sealed-session keygen`, or
//!   `openssl rand -base64 32`). Without it a throwaway key is generated (loud warning): every
//!   restart then logs everyone out.
//! - `PORT` (default 8080), `COOKIE_NAME` (default: the library's, `__Host-id` when the cookie is
//!   `Secure`, `id` when it is not)
//! - `REDIS_URL` (e.g. `redis://127.0.0.1:6379/`): share logouts with every other instance
//!   through Redis (checks stay in memory). Without it, revocations live in this process only.
//!   Try two instances: `REDIS_URL=... SESSION_KEYS=... PORT=8081 cargo run --example login`.
//! - `COOKIE_SECURE` (default `true`, as the library's): the cookie is `Secure` even on this
//!   plain-HTTP server, since browsers and curl send `Secure` cookies back to `127.0.0.1` and
//!   `localhost`. `COOKIE_SECURE=false` for a client that keeps them for HTTPS only (Python's
//!   `http.cookiejar`); any value but `true`/`false`/`1`/`0` stops the app at startup.
//!
//! Each request is logged at `info` (method, path, status, time taken; never a cookie).

use std::process::ExitCode;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_examples::{login, request_log, settings};
use sealed_session_redis::RedisRevocationStore;

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sealed_session=debug".into()),
        )
        .init();
    sealed_session_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let keys = match std::env::var("SESSION_KEYS") {
        Ok(_) => KeyRing::from_env("SESSION_KEYS")?,
        Err(_) => {
            tracing::warn!(
                "SESSION_KEYS is not set: using a throwaway key generated for this run. \
                 Sessions will not survive a restart. NEVER run like this in production: \
                 set SESSION_KEYS to the output of `openssl rand -base64 32`."
            );
            KeyRing::new(SecretKey::generate())
        }
    };
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got `{p}`"))?,
        Err(_) => 8080,
    };
    let secure = settings::cookie_secure()?;

    let mut sessions = CookieSessionMiddleware::builder(keys).cookie_secure(secure);
    if let Ok(name) = std::env::var("COOKIE_NAME") {
        sessions = sessions.cookie_name(name);
    }
    if let Ok(url) = std::env::var("REDIS_URL") {
        let store = RedisRevocationStore::builder(url).build()?;
        if !store.wait_until_connected(std::time::Duration::from_secs(5)) {
            tracing::warn!(
                "Redis is not reachable yet: serving with this instance's revocations only \
                 until it is (logouts are queued meanwhile)"
            );
        }
        sessions = sessions.revocation_store(Arc::new(store));
    } else {
        tracing::info!("REDIS_URL is not set: logouts are revoked in this process only");
    }
    let sessions = sessions.build()?;

    tracing::info!("listening on http://127.0.0.1:{port}");
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            // Outermost, so the time logged includes the session's work.
            .wrap(from_fn(request_log::log))
            .configure(login::routes)
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
