//! tower and axum sessions that live in one sealed cookie (or a few, past 4 KB).
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
//! `sealed_session::SessionManager`, so both adapters answer the same requests with the same
//! cookies.
//!
//! ```no_run
//! use axum::{Router, http::StatusCode, routing::post};
//! use sealed_session_tower::{CookieSessionLayer, KeyRing, Session, SessionError};
//!
//! async fn login(session: Session) -> Result<StatusCode, SessionError> {
//!     session.sign_in("user-42").await?; // new id, no pre-login values, subject for "log out everywhere"
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
/// configuration with a Redis store, which needs the `redis` feature, and those of its
/// axum-login section need `tower-sessions`, so they run only with both (the page itself is
/// always built).
#[cfg(any(doc, all(feature = "redis", feature = "tower-sessions")))]
#[doc = ""]
#[doc = include_str!("../guide/migrating-from-tower-sessions.md")]
pub mod migrating {}

#[cfg(feature = "tower-sessions")]
mod compat;
mod layer;

#[cfg(feature = "tower-sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions")))]
pub use compat::{AXUM_LOGIN_DATA_KEY, TowerSessionsLayer, TowerSessionsService};
pub use layer::{CookieSessionLayer, CookieSessionService, ResponseFuture};

/// The builder of [`CookieSessionLayer`]: the core's builder, shared with the actix adapter,
/// whose `build` returns the layer ([`CookieSessionLayer::builder`]).
pub type CookieSessionBuilder = sealed_session::SessionBuilder<CookieSessionLayer>;

/// The settings as a configuration file holds them, in the same format on both stacks
/// (`"revocation"` needs the `redis` feature). Build with
/// `let sessions: CookieSessionLayer = config.build()?;`.
#[cfg(not(feature = "redis"))]
pub use sealed_session::SessionConfig;
/// The settings as a configuration file holds them, in the same format on both stacks: with
/// the `redis` feature, `sealed_session_redis::SessionConfig`, whose `"revocation"` chooses the
/// memory store or a Redis store; without it, the core's, which refuses `"revocation"` with a
/// message naming the feature. Build the layer with
/// `let sessions: CookieSessionLayer = config.build()?;`.
#[cfg(feature = "redis")]
pub use sealed_session_redis::SessionConfig;

/// Re-exported so applications need one dependency: the core crate, for what is not
/// re-exported below.
pub use sealed_session;
/// Re-exported so applications need one dependency: the session, its errors, keys, the
/// builder's settings (the same list as the actix adapter's).
pub use sealed_session::prelude::*;
/// Re-exported so applications need one dependency: the Redis revocation store (feature
/// `redis`), given to the builder's `revocation_store`.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use sealed_session_redis::{RedisConfig, RedisRevocationStore};
