//! The login app on server-side sessions in Redis, with actix-session's `RedisSessionStore`: the
//! same page, routes and JSON contract as `login.rs`, to compare the two models.
//!
//! Run with: `scripts/with-redis.sh cargo run --example server_store` (starts a throwaway
//! redis-server), or `cargo run --example server_store` with a Redis of your own, then open
//! http://127.0.0.1:8081
//!
//! Environment:
//! - `REDIS_URL` (default `redis://127.0.0.1:6379`). Keys are prefixed with
//!   `sealed-session-example:session:`. If Redis is unreachable at start-up, the app exits with
//!   an error naming the URL.
//! - `PORT` (default 8081, so it can run next to `login` on 8080)
//! - `COOKIE_SECURE` (default `true`; `false` to drop `Secure`), as in `login.rs`. The cookie is
//!   named `id` either way.
//!
//! `SESSION_KEYS`, `COOKIE_NAME` and `COOKIE_CHUNKS`, which `login.rs` reads, are ignored here:
//! the cookie holds only a random session key, so there is nothing to split over cookies.
//!
//! Each request is logged at `info` (method, path, status, time taken; never a cookie).
//!
//! The cookie holds only a random session key, encrypted with a key generated at start-up: a
//! restart logs everyone out even though their data is still in Redis (a real app loads that key
//! from its configuration). Sessions hold at most 64 KiB (`POST /big` answers `413` past it).

use std::process::ExitCode;

use actix_web::cookie::Key;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use sealed_session_examples::{request_log, server_store, settings};

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_session=debug".into()),
        )
        .init();
    sealed_session_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("`PORT` must be a port number, got `{p}`"))?,
        Err(_) => 8081,
    };
    let secure = settings::cookie_secure()?;
    // (sealed-session's middleware says this itself; actix-session's does not.)
    if !secure {
        tracing::warn!(
            "COOKIE_SECURE=false: the session cookie is not `Secure`, so anyone on the network \
             path can read and replay it; never run like this in production"
        );
    }

    let store = server_store::store(&redis_url, server_store::KEY_PREFIX).await?;
    tracing::info!(
        "session data in Redis under `{}*`; the cookie key is generated for this run, so \
         sessions end at restart",
        server_store::KEY_PREFIX
    );
    let key = Key::generate();

    tracing::info!("listening on http://127.0.0.1:{port}");
    // actix-session's middleware is not `Send`: each worker builds its own, over clones of the
    // store (one shared Redis connection) and of the key.
    HttpServer::new(move || {
        App::new()
            .wrap(server_store::middleware(store.clone(), key.clone(), secure))
            // Outermost, so the time logged includes the session's work.
            .wrap(from_fn(request_log::log))
            .configure(server_store::routes)
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
