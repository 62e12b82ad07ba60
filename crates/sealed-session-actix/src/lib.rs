//! actix-web sessions that live in one sealed cookie (or a few, past 4 KB).
//!
//! [`CookieSessionMiddleware`] keeps each session in an XChaCha20-Poly1305-sealed cookie
//! (see the `sealed-session` crate): nothing to store per session on the server, but keys that
//! rotate from configuration, idle and absolute expiry enforced on every request, `sign_in`
//! against session fixation, and `purge` that really logs out through a revocation list.
//!
//! The crate is a thin adapter: every decision (which cookie value to open, what renew and the
//! logouts do, what the response's cookie must be) is made by `sealed_session::SessionManager`.
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, post};
//! use sealed_session_actix::{CookieSessionMiddleware, KeyRing, Session};
//!
//! #[post("/login")]
//! async fn login(session: Session) -> actix_web::Result<HttpResponse> {
//!     session.sign_in("user-42").await?; // new id, no pre-login values, subject for "log out everywhere"
//!     session.insert("role", "admin")?; // fails here if the cookie would be too large
//!     Ok(HttpResponse::Ok().finish())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let keys = KeyRing::from_env("SESSION_KEYS")?; // base64 keys, newest first; errors say how to fix
//!     let sessions = CookieSessionMiddleware::new(keys);
//!     HttpServer::new(move || App::new().wrap(sessions.clone()).service(login))
//!         .bind(("127.0.0.1", 8080))?
//!         .run()
//!         .await
//! }
//! ```
//!
//! One dependency besides actix-web: this crate re-exports what an application names (the
//! keys, the builder's types, [`Duration`], [`SessionValue`], the error types), and the whole
//! core crate as [`sealed_session`] for the rest.
//!
//! Moving from actix-session: [`Session`] has its method names and, where the value model
//! allows, their shapes (`get`, `insert`, `update`, `update_or`, `remove`, `remove_as`,
//! `entries`, `contains_key`, `clear`, `renew`, `purge`), [`SessionExt`] gives the session
//! from a request, a `wrap_fn` middleware or a guard, and the key becomes a [`KeyRing`] (a
//! list, so it can rotate). Configuration can come from a file through [`SessionConfig`]. With
//! the `actix-session-legacy` feature, `CookieSessionBuilder::legacy_reader` reads the old
//! cookies into new sessions, so the switch logs no one out. The guide in
//! [`migrating`] maps every item and difference, and has the cut-over runbook.
//!
//! Keeping actix-session instead, for actix-identity or another crate built on its `Session`:
//! with the `actix-session` feature, `SealedSessionStore` is an actix-session storage backend
//! whose cookies are sealed sessions, with key rotation, expiry and logouts that revoke.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

/// README.md, shown on crates.io: its example compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The guide for moving from actix-session: every item and difference, the cut-over runbook
/// for the legacy reader, and keeping actix-identity on `SealedSessionStore`. Its examples
/// are doctests; they need the `actix-session-legacy` and `actix-session` features, so they run
/// only with both (the page itself is always built).
#[cfg(any(doc, all(feature = "actix-session-legacy", feature = "actix-session")))]
#[doc = ""]
#[doc = include_str!("../guide/migrating-from-actix-session.md")]
pub mod migrating {}

#[cfg(feature = "actix-session-legacy")]
mod legacy;
mod middleware;
mod session_ext;
#[cfg(feature = "actix-session")]
mod store;

#[cfg(feature = "actix-session-legacy")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-session-legacy")))]
pub use legacy::{LEGACY_KEY_LEN, LegacyContentSecurity, LegacyCookies, LegacyKey};
pub use middleware::{CookieSessionMiddleware, CookieSessionService};
pub use session_ext::SessionExt;
#[cfg(feature = "actix-session")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-session")))]
pub use store::{
    ACTIX_IDENTITY_KEY, ACTIX_SESSION_SIZE_LIMIT, ACTIX_SIGNATURE_LEN, SealedSessionStore,
    StoreError,
};

/// The builder of [`CookieSessionMiddleware`]: the core's builder, shared with the tower
/// adapter, whose `build` returns the middleware ([`CookieSessionMiddleware::builder`]).
pub type CookieSessionBuilder = sealed_session::SessionBuilder<CookieSessionMiddleware>;

/// The settings as a configuration file holds them, in the same format on both stacks
/// (`"revocation"` needs the `redis` feature). Build with
/// `let sessions: CookieSessionMiddleware = config.build()?;`.
#[cfg(not(feature = "redis"))]
pub use sealed_session::SessionConfig;
/// The settings as a configuration file holds them, in the same format on both stacks: with
/// the `redis` feature, `sealed_session_redis::SessionConfig`, whose `"revocation"` chooses the
/// memory store or a Redis store; without it, the core's, which refuses `"revocation"` with a
/// message naming the feature. Build the middleware with
/// `let sessions: CookieSessionMiddleware = config.build()?;`.
#[cfg(feature = "redis")]
pub use sealed_session_redis::SessionConfig;

/// Re-exported so applications need one dependency: the core crate, for what is not
/// re-exported below.
pub use sealed_session;
/// Re-exported so applications need one dependency: the legacy reader's counts.
pub use sealed_session::adapter::LegacyMigrations;
/// Re-exported so applications need one dependency: the session, its errors, keys, the
/// builder's settings (the same list as the tower adapter's).
pub use sealed_session::prelude::*;
/// Re-exported so applications need one dependency: the Redis revocation store (feature
/// `redis`), given to the builder's `revocation_store`.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use sealed_session_redis::{RedisConfig, RedisRevocationStore};
