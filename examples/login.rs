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
//! - `COOKIE_SECURE=true` to mark the cookie `Secure`. Off by default here because this example
//!   serves plain HTTP on loopback, where a `Secure` cookie would never be sent back; the
//!   library's own default is on.

use std::sync::Arc;

use actix_web::{App, HttpServer};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_examples::login;
use sealed_session_redis::RedisRevocationStore;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sealed_session=debug".into()),
        )
        .init();

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
    let secure = std::env::var("COOKIE_SECURE").is_ok_and(|v| v == "true");
    if !secure {
        tracing::warn!(
            "serving plain HTTP on loopback, so the session cookie is not `Secure` \
             (set COOKIE_SECURE=true behind HTTPS)"
        );
    }

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
    HttpServer::new(move || App::new().wrap(sessions.clone()).configure(login::routes))
        .bind(("127.0.0.1", port))?
        .run()
        .await?;
    Ok(())
}
