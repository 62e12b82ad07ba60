//! Stateless web sessions sealed into one cookie (or a few, past 4 KB: `max_cookies`).
//!
//! `sealed-session` keeps the whole session in the cookie, sealed with XChaCha20-Poly1305
//! (or signed with HMAC-SHA256), so the server stores nothing per session but a small list of
//! revoked ones. This crate is the codec, the session manager and the session handle handlers
//! use; it needs no web framework (the actix-web and axum traits of the handle sit behind its
//! optional `actix-web` and `axum-core` features), and `sealed-session-actix` and
//! `sealed-session-tower` plug it into actix-web and axum.
//!
//! Two layers: [`Codec`], pure (seal, open and inspect cookie values; no clock, no store, no
//! I/O), and [`SessionManager`] above it, which owns the clock and the revocation store and makes
//! every decision about a request's session (open its cookies, renew, sign in, the three
//! logouts, and what the response's cookie must be). Web adapters are thin layers over
//! [`SessionManager`].
//!
//! ```
//! use sealed_session::KeyRing;
//! use sealed_session::codec::Codec;
//! use time::OffsetDateTime;
//!
//! # let session_keys = sealed_session::SecretKey::generate().to_base64();
//! // In production: KeyRing::from_env("SESSION_KEYS"), a comma-separated list, newest first.
//! let codec = Codec::new(KeyRing::from_config(&session_keys)?);
//! let now = OffsetDateTime::now_utc();
//! let mut session = codec.new_session(now)?;
//! session.insert("user_id", &42u64)?;
//! let cookie_value = codec.seal(&session)?;                   // base64url, ~100 bytes
//! assert_eq!(codec.open_at(&cookie_value, now)?.state().get::<u64>("user_id")?, Some(42));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it guarantees
//! - **Confidentiality and integrity**: XChaCha20-Poly1305 with a fresh 192-bit random nonce per
//!   cookie (no nonce-collision limit at fleet scale), or HMAC-SHA256 in [`Mode::Signed`].
//! - **No swapping**: the format version, mode, key id and cookie name are authenticated, so a
//!   cookie can't be moved to another name or downgraded to another mode.
//! - **Rotation**: a [`KeyRing`] seals with its primary key and opens with all; [`Opened`]
//!   says when an older key opened a cookie so the caller re-seals it. Keys are staged with the
//!   `open-only:` prefix so a rolling deploy logs no one out.
//! - **Expiry on every open**: the cookie carries its creation and last-activity times;
//!   [`Codec::open_at`] enforces the absolute and idle timeouts, a clock-skew bound and an
//!   optional global "not before" time.
//! - **Separate keys per purpose**: HKDF-SHA256 derives the encryption key, the MAC key and the
//!   public key id from each secret.
//! - **Typed refusals**: every refused cookie is an [`OpenError`] saying why; opening never
//!   panics, whatever the input.
//! - **Exact size**: [`Codec::sealed_len`] is known before sealing, and sealing past the budget
//!   is [`SealError::TooLarge`], never a truncated cookie.
//!
//! The byte layout, key derivation and test vectors are in [`guide::format`]; the security
//! model, the operations runbook, the revocation model and the benchmarks are the other
//! [`guide`] pages.
//!
//! Moving from another session library without logging anyone out: [`LegacyReader`] is the hook
//! that reads its cookies into new sessions ([`SessionBuilder::legacy_reader`]);
//! sealed-session-actix's `actix-session-legacy` feature has the reader of actix-session 0.11's
//! `CookieSessionStore` cookies (the runbook is in `sealed_session_actix::migrating`).
//!
//! # Where things are
//! At the root is what an application names in its first lines: the [`SessionManager`], its
//! builder and configuration, the [`Session`] handle handlers take, the keys ([`KeyRing`],
//! [`SecretKey`]), the cookie and lifetime settings, the session's id and values, and the
//! errors. [`prelude`] imports them in one line, and the web adapters re-export it. The rest is
//! in modules named for what they hold:
//! - [`codec`]: the pure layer, [`Codec`] and what it works with (the public header, cookie
//!   names, unix times, the source of nonces, the defaults and limits).
//! - [`revocation`]: the store trait, the in-process store, and the values a store deals in.
//! - [`keys`]: key ids, a key's role in its ring, per-key usage counts, the key list's limits.
//! - [`clock`]: where "now" comes from, and a clock that moves only when told to, for tests.
//! - [`adapter`]: what a web adapter uses, and code that drives a session without one.
//! - [`guide`]: the wire format, security model, operations runbook, revocation model and
//!   benchmarks.
//!
//! [`Codec`]: codec::Codec
//! [`Codec::open_at`]: codec::Codec::open_at
//! [`Codec::sealed_len`]: codec::Codec::sealed_len
//! [`Opened`]: codec::Opened
//! [`LegacyReader`]: adapter::LegacyReader
//!
//! # Features
//! - `ring` (default): XChaCha20-Poly1305 as HChaCha20 + ring's ChaCha20-Poly1305: a seal plus
//!   an open of the typical session (a 111-byte body) takes a third of the time it takes
//!   `pure-rust` (0.34x), and 0.59x at 2 KB ([`guide::benchmarks`], "ring against pure Rust").
//! - `pure-rust`: the RustCrypto `chacha20poly1305` crate instead (no C or assembly), byte for
//!   byte the same output: `default-features = false, features = ["pure-rust"]`. If both are
//!   on, `ring` is used.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

/// README.md, shown on crates.io: its example compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod adapter;
mod chunks;
pub mod clock;
pub mod codec;
mod cookie;
mod derive;
mod entries;
mod envelope;
mod error;
mod framework;
pub mod guide;
mod key;
mod key_ring;
pub mod keys;
mod lifecycle;
mod lifetime;
mod metrics;
pub mod prelude;
mod random;
pub mod revocation;
mod state;
mod unix;
mod value;
mod xchacha;

pub use cookie::SameSite;
pub use envelope::Mode;
pub use error::{
    ChunkingProblem, ConfigError, CookieAttributeProblem, OpenError, RenewError, SealError,
    TimeoutProblem, ValueError,
};
pub use key::SecretKey;
pub use key_ring::KeyRing;
pub use lifecycle::{
    DangerousSessionBuilder, IncomingCookie, LOG_TARGET, MissingMiddleware, RefreshPolicy, Session,
    SessionBuilder, SessionConfig, SessionError, SessionGetError, SessionInsertError,
    SessionManager, SessionStatus, SessionUpdateError,
};
pub use lifetime::{BrowserSession, PersistentSession, SessionLifecycle};
pub use revocation::revoke_error::{NotDurableReason, RevokeError};
pub use state::{ParseSessionIdError, SessionId};
pub use value::SessionValue;
