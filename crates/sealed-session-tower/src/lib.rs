//! tower and axum sessions that live in one sealed cookie.
//!
//! [`CookieSessionLayer`] keeps each session in an XChaCha20-Poly1305-sealed cookie (see the
//! `sealed-session` crate): nothing to store per session on the server, but keys that rotate
//! from configuration, idle and absolute expiry enforced on every request, `sign_in` against
//! session fixation, and `purge` that really logs out through a revocation list. The
//! [`Session`] extractor is axum's (`FromRequestParts`); the layer serves any `http` 1.x
//! service.
//!
//! The crate is a thin adapter, as `sealed-session-actix` is: every decision (which cookie
//! value to open, what renew and the logouts do, what the response's cookie must be) is made by
//! `sealed_session::Lifecycle`, so both adapters answer the same requests with the same
//! cookies.
//!
//! ```no_run
//! use axum::{Router, http::StatusCode, routing::post};
//! use sealed_session_tower::{CookieSessionLayer, KeyRing, Session, SessionError};
//!
//! async fn login(session: Session) -> Result<StatusCode, SessionError> {
//!     session.sign_in("user-42")?; // new id, no pre-login values, subject for "log out everywhere"
//!     Ok(StatusCode::OK)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let keys = KeyRing::from_env("SESSION_KEYS")?; // base64 keys, newest first; errors say how to fix
//!     let app = Router::new()
//!         .route("/login", post(login))
//!         .layer(CookieSessionLayer::new(keys));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! One dependency besides axum: this crate re-exports what an application names (the keys,
//! the builder's types, [`Duration`], [`SessionValue`], the error types), and the whole core
//! crate as [`sealed_session`] for the rest. Configuration can come from a file through
//! [`SessionConfig`], in the actix adapter's format. Moving from tower-sessions: the
//! guide in [`migrating`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

/// README.md, shown on crates.io: its example compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The guide for moving from tower-sessions. Its examples are doctests; one reads a
/// configuration with a Redis store, which needs the `redis` feature, so they run only with it
/// (the page itself is always built).
#[cfg(any(doc, feature = "redis"))]
#[doc = ""]
#[doc = include_str!("../guide/migrating-from-tower-sessions.md")]
pub mod migrating {}

mod config;
mod error;
mod extract;
mod layer;
mod session;

pub use config::{CookieSessionBuilder, SessionConfig};
pub use error::{
    MissingLayer, SessionError, SessionGetError, SessionInsertError, SessionUpdateError,
};
pub use layer::{CookieSessionLayer, CookieSessionService, ResponseFuture};
pub use session::Session;

/// Re-exported so applications need one dependency: the core crate, for what is not
/// re-exported below.
pub use sealed_session;
/// Re-exported so applications need one dependency: keys, the builder's settings, what the
/// session returns and the errors to match on.
pub use sealed_session::{
    BrowserSession, Clock, ConfigError, Generation, IncomingCookie, InsertError, KeyId, KeyRing,
    KeyUse, LOG_TARGET, Lifecycle, ManualClock, MemoryRevocationStore, Mode, OpenError,
    Persistence, PersistentSession, RefreshPolicy, RenewError, RevocationLimits, RevocationStore,
    RevokeError, SameSite, SecretKey, SessionId, SessionLifecycle, SessionStatus, SessionValue,
    SystemClock, UpdateError, ValueError,
};
/// Re-exported so applications need one dependency: the Redis revocation store the builder
/// starts (feature `redis`).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use sealed_session_redis::{RedisConfig, RedisRevocationStore};
/// Re-exported so applications need one dependency: the builder's `Duration` and
/// `OffsetDateTime` (the `time` crate's).
pub use time::{Duration, OffsetDateTime};
