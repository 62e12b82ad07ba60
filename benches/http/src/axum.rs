//! Server for the axum HTTP benchmark: the same routes behind no session layer, behind
//! `sealed-session-tower`, and behind tower-sessions with its `MemoryStore` (what an axum user
//! would pick), on one single-threaded tokio runtime (the counterpart of `bench-server`'s one
//! actix worker).
//!
//! Run with: `cargo run --release -p sealed-session-http-bench --bin axum-bench-server -- <kind>
//! <port>`, where `<kind>` is `none`, `ours` (`CookieSessionLayer` with its defaults, not
//! `Secure`, revocations in memory) or `tower-sessions` (`SessionManagerLayer` over
//! `MemoryStore`, not `Secure`). `benches/http/run.sh` with `STACK=axum` runs all three.
//!
//! `SESSION_KEYS` (`ours`): the key ring; unset, a throwaway key.
//!
//! Routes, as `bench-server`'s: `POST /seed` stores the typical session (user id, role, 3-item
//! cart); `GET /read` reads the user id; `POST /write` increments a counter. Loopback only.

use std::io;

use axum::Router;
use axum::routing::{get, post};
use sealed_session_http_bench::{USER_ID, cart};

/// The routes on `sealed-session-tower`'s `Session`.
fn ours() -> Router {
    use sealed_session_tower::{Session, SessionGetError, SessionInsertError};
    async fn seed(session: Session) -> Result<&'static str, SessionInsertError> {
        session.insert("user_id", USER_ID)?;
        session.insert("role", "admin")?;
        session.insert("cart", cart())?;
        Ok("seeded")
    }
    async fn read(session: Session) -> Result<&'static str, SessionGetError> {
        let user: Option<u64> = session.get("user_id")?;
        Ok(if user.is_some() { "user" } else { "anonymous" })
    }
    async fn write(session: Session) -> Result<&'static str, axum::http::StatusCode> {
        let n: u64 = session.get("counter").ok().flatten().unwrap_or(0);
        session
            .insert("counter", n + 1)
            .map_err(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok("ok")
    }
    Router::new()
        .route("/seed", post(seed))
        .route("/read", get(read))
        .route("/write", post(write))
}

/// The routes on tower-sessions' `Session`.
fn tower_sessions() -> Router {
    use axum::http::StatusCode;
    use tower_sessions::Session;
    fn internal(_: tower_sessions::session::Error) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn seed(session: Session) -> Result<&'static str, StatusCode> {
        session.insert("user_id", USER_ID).await.map_err(internal)?;
        session.insert("role", "admin").await.map_err(internal)?;
        session.insert("cart", cart()).await.map_err(internal)?;
        Ok("seeded")
    }
    async fn read(session: Session) -> Result<&'static str, StatusCode> {
        let user: Option<u64> = session.get("user_id").await.map_err(internal)?;
        Ok(if user.is_some() { "user" } else { "anonymous" })
    }
    async fn write(session: Session) -> Result<&'static str, StatusCode> {
        let n: u64 = session.get("counter").await.map_err(internal)?.unwrap_or(0);
        session.insert("counter", n + 1).await.map_err(internal)?;
        Ok("ok")
    }
    Router::new()
        .route("/seed", post(seed))
        .route("/read", get(read))
        .route("/write", post(write))
}

fn bare() -> Router {
    Router::new()
        .route("/seed", post(async || "seeded"))
        .route("/read", get(async || "anonymous"))
        .route("/write", post(async || "ok"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(kind), Some(port)) = (args.next(), args.next()) else {
        return Err(io::Error::other(
            "usage: axum-bench-server <none|ours|tower-sessions> <port>",
        ));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| io::Error::other(format!("`{port}` is not a port number")))?;
    let app = match kind.as_str() {
        "none" => bare(),
        "ours" => {
            let keys = match std::env::var("SESSION_KEYS") {
                Ok(_) => {
                    sealed_session::KeyRing::from_env("SESSION_KEYS").map_err(io::Error::other)?
                }
                Err(_) => sealed_session::KeyRing::new(sealed_session::SecretKey::generate()),
            };
            let layer = sealed_session_tower::CookieSessionLayer::builder(keys)
                .cookie_secure(false)
                .build()
                .map_err(io::Error::other)?;
            ours().layer(layer)
        }
        "tower-sessions" => {
            let store = tower_sessions::MemoryStore::default();
            tower_sessions()
                .layer(tower_sessions::SessionManagerLayer::new(store).with_secure(false))
        }
        other => {
            return Err(io::Error::other(format!(
                "unknown server kind `{other}`: use none, ours or tower-sessions"
            )));
        }
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
