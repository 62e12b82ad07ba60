//! Stateless web sessions sealed into one cookie.
//!
//! `sealed-session` keeps the whole session in the cookie, sealed with XChaCha20-Poly1305
//! (or signed with HMAC-SHA256), so the server stores nothing per session but a small list of
//! revoked ones. This crate is the codec, with no web framework inside; `sealed-session-actix`
//! plugs it into actix-web.
//!
//! Two layers: [`Codec`], pure (seal, open and inspect cookie values; no clock, no store, no
//! I/O), and [`SessionManager`] above it, which owns the clock and the revocation store and makes
//! every decision about a request's session (open its cookies, renew, sign in, the three
//! logouts, and what the response's cookie must be). Web adapters are thin layers over
//! [`SessionManager`].
//!
//! ```
//! use sealed_session::{Codec, KeyRing};
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

mod clock;
mod codec;
mod cookie;
mod derive;
mod entries;
mod envelope;
mod error;
mod framework;
pub mod guide;
mod key;
mod key_ring;
mod lifecycle;
mod lifetime;
mod metrics;
pub mod prelude;
mod random;
mod revocation;
mod state;
mod unix;
mod value;
mod xchacha;

pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::{
    BROWSER_COOKIE_LIMIT, Codec, CodecBuilder, DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_CLOCK_SKEW,
    DEFAULT_COOKIE_NAME, DEFAULT_IDLE_TIMEOUT, DangerousCodec, DangerousCodecBuilder, Inspection,
    MAX_CLOCK_SKEW, MAX_TIMEOUT, Opened,
};
pub use cookie::SameSite;
pub use envelope::{CookieName, Header, Mode};
pub use error::{
    ConfigError, CookieAttributeProblem, InsertError, OpenError, RenewError, SealError,
    TimeoutProblem, UpdateError, ValueError,
};
pub use key::{KeyId, MIN_SECRET_LEN, SecretKey};
pub use key_ring::{KeyRing, KeyRole, OPEN_ONLY_PREFIX};
pub use lifecycle::{
    CookieUpdate, DangerousSessionBuilder, IncomingCookie, IntoRevocationStore, LOG_TARGET,
    LegacyMigrations, LegacyReader, MissingMiddleware, NoRevocationConfig, RefreshPolicy,
    RequestInfo, RequestSession, ResponseCookies, Session, SessionBuilder, SessionConfig,
    SessionError, SessionGetError, SessionInsertError, SessionManager, SessionStatus,
    SessionUpdateError,
};
pub use lifetime::{BrowserSession, PersistentSession, SessionLifecycle};
pub use metrics::KeyUse;
pub use random::{RandomSource, SystemRandom};
pub use revocation::{
    Cutoff, Generation, KeptSession, MAX_SUBJECT_LEN, MemoryRevocationStore, NotDurableReason,
    Revocation, RevocationLimits, RevocationMac, RevocationStore, RevokeError, Subject,
};
pub use state::{ParseSessionIdError, SessionId, SessionState};
pub use unix::UnixTime;
pub use value::SessionValue;

/// Length of the nonce of encrypted mode, in bytes (XChaCha20's 192 bits).
pub const NONCE_LEN: usize = xchacha::NONCE_LEN;
