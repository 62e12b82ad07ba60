//! Server for the axum HTTP benchmark: the same routes behind no session layer, behind
//! `sealed-session-tower` (its own `Session`, or tower-sessions 0.14's through
//! `TowerSessionsLayer`), and behind tower-sessions with its `MemoryStore` (what an axum user
//! would pick), on one single-threaded tokio runtime (the counterpart of `bench-server`'s one
//! actix worker).
//!
//! Run with: `cargo run --release -p sealed-session-http-bench --bin axum-bench-server -- <kind>
//! <port>`, where `<kind>` is one of
//!
//! | kind | session |
//! |---|---|
//! | `none` | bare axum: the floor |
//! | `ours` | `CookieSessionLayer` with its defaults, not `Secure`, revocations in memory |
//! | `ours-1-cookie`, `ours-2-cookies`, `ours-3-cookies` | as `ours`, with `.max_cookies(3)` (issue 21), and `/seed` adds filler text (`padding`) so that the session spans exactly 1, 2 or 3 cookies, as `bench-server`'s kinds of the same names |
//! | `tower-sessions` | `SessionManagerLayer` over `MemoryStore`, not `Secure` |
//! | `ours-tower-sessions` | `TowerSessionsLayer` over the `ours` layer: the handlers use tower-sessions 0.14's `Session` (axum-login's), on our cookie; the cost of the compatibility layer, against `tower-sessions` and `ours` |
//!
//! `benches/http/run.sh` with `STACK=axum` runs `none`, `ours` and `tower-sessions`.
//!
//! `SESSION_KEYS` (`ours*`): the key ring; unset, a throwaway key.
//!
//! Routes, as `bench-server`'s: `POST /seed` stores the typical session (user id, role, 3-item
//! cart; for `ours-<n>-cookie(s)`, with its filler); `GET /read` reads the user id; `POST
//! /write` increments a counter. Loopback only.

use std::io;
use std::sync::OnceLock;

use axum::Router;
use axum::routing::{get, post};
use sealed_session::SessionBuilder;
use sealed_session_http_bench::{
    CHUNKED_MAX_COOKIES, PADDING_KEY, USER_ID, cart, chunked_kind, filler,
};

/// The filler bytes `/seed` stores for the `ours-<n>-cookie(s)` kinds, set once at startup.
static PADDING: OnceLock<usize> = OnceLock::new();

/// The routes on `sealed-session-tower`'s `Session`.
fn ours() -> Router {
    use sealed_session_tower::{Session, SessionGetError, SessionInsertError};
    async fn seed(session: Session) -> Result<&'static str, SessionInsertError> {
        session.insert("user_id", USER_ID)?;
        session.insert("role", "admin")?;
        session.insert("cart", cart())?;
        if let Some(&bytes) = PADDING.get() {
            session.insert(PADDING_KEY, filler(bytes))?;
        }
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

/// The routes on a tower-sessions `Session`, written once for both releases: 0.15's
/// (`tower_sessions::Session`, the `tower-sessions` kind) and 0.14's
/// (`tower_sessions_core::Session`, which `TowerSessionsLayer` provides), two types with the
/// same methods.
macro_rules! tower_sessions_routes {
    ($session:ty) => {{
        use axum::http::StatusCode;
        fn internal<E>(_: E) -> StatusCode {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        async fn seed(session: $session) -> Result<&'static str, StatusCode> {
            session.insert("user_id", USER_ID).await.map_err(internal)?;
            session.insert("role", "admin").await.map_err(internal)?;
            session.insert("cart", cart()).await.map_err(internal)?;
            Ok("seeded")
        }
        async fn read(session: $session) -> Result<&'static str, StatusCode> {
            let user: Option<u64> = session.get("user_id").await.map_err(internal)?;
            Ok(if user.is_some() { "user" } else { "anonymous" })
        }
        async fn write(session: $session) -> Result<&'static str, StatusCode> {
            let n: u64 = session.get("counter").await.map_err(internal)?.unwrap_or(0);
            session.insert("counter", n + 1).await.map_err(internal)?;
            Ok("ok")
        }
        Router::new()
            .route("/seed", post(seed))
            .route("/read", get(read))
            .route("/write", post(write))
    }};
}

/// How every `ours*` kind configures its sessions, the layer and `padding_for`'s probe alike:
/// the defaults, a plain-HTTP cookie, over up to `max_cookies` cookies.
fn configure<T>(builder: SessionBuilder<T>, max_cookies: usize) -> SessionBuilder<T> {
    builder.cookie_secure(false).max_cookies(max_cookies)
}

/// The `ours*` layer over up to `max_cookies` cookies; for the `ours-<n>-cookie(s)` kinds (with
/// `cookies`), the filler that makes `/seed`'s session span exactly that many is set first.
fn ours_layer(
    max_cookies: usize,
    cookies: Option<usize>,
) -> io::Result<sealed_session_tower::CookieSessionLayer> {
    let keys = match std::env::var("SESSION_KEYS") {
        Ok(_) => sealed_session::KeyRing::from_env("SESSION_KEYS").map_err(io::Error::other)?,
        Err(_) => sealed_session::KeyRing::new(sealed_session::SecretKey::generate()),
    };
    if let Some(cookies) = cookies {
        let probe = configure(
            sealed_session::SessionManager::builder(keys.clone()),
            max_cookies,
        )
        .build()
        .map_err(io::Error::other)?;
        let padding = sealed_session_http_bench::padding_reported(&probe, cookies)?;
        PADDING.get_or_init(|| padding);
    }
    configure(
        sealed_session_tower::CookieSessionLayer::builder(keys),
        max_cookies,
    )
    .build()
    .map_err(io::Error::other)
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
            "usage: axum-bench-server \
             <none|ours|ours-1-cookie|ours-2-cookies|ours-3-cookies|ours-tower-sessions|\
             tower-sessions> <port>",
        ));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| io::Error::other(format!("`{port}` is not a port number")))?;
    let app = match (kind.as_str(), chunked_kind(&kind)) {
        (_, Some(cookies)) => ours().layer(ours_layer(CHUNKED_MAX_COOKIES, Some(cookies))?),
        ("none", _) => bare(),
        ("ours", _) => ours().layer(ours_layer(1, None)?),
        ("ours-tower-sessions", _) => tower_sessions_routes!(tower_sessions_core::Session).layer(
            sealed_session_tower::TowerSessionsLayer::new(ours_layer(1, None)?),
        ),
        ("tower-sessions", _) => {
            let store = tower_sessions::MemoryStore::default();
            tower_sessions_routes!(tower_sessions::Session)
                .layer(tower_sessions::SessionManagerLayer::new(store).with_secure(false))
        }
        (other, _) => {
            return Err(io::Error::other(format!(
                "unknown server kind `{other}`: use none, ours, ours-1-cookie, ours-2-cookies, \
                 ours-3-cookies, ours-tower-sessions or tower-sessions"
            )));
        }
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
