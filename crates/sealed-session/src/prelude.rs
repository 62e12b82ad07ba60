//! What an application names, in one import: the session handle and its errors, the keys, the
//! builder's settings and the time types they take. The web adapters re-export it whole, so
//! `sealed-session-actix` and `sealed-session-tower` offer the same items under the same names.
//!
//! ```
//! use sealed_session::prelude::*;
//!
//! let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
//!     .idle_timeout(Duration::minutes(30))
//!     .cookie_same_site(SameSite::Strict)
//!     .build()?;
//! # Ok::<(), ConfigError>(())
//! ```

pub use crate::{
    BrowserSession, Clock, ConfigError, CookieAttributeProblem, Generation, IncomingCookie, KeyId,
    KeyRing, KeyUse, LOG_TARGET, ManualClock, MemoryRevocationStore, MissingMiddleware, Mode,
    NotDurableReason, OpenError, PersistentSession, RefreshPolicy, RenewError, RevocationLimits,
    RevocationStore, RevokeError, SameSite, SecretKey, Session, SessionError, SessionGetError,
    SessionId, SessionInsertError, SessionLifecycle, SessionManager, SessionStatus,
    SessionUpdateError, SessionValue, SystemClock, TimeoutProblem, ValueError,
};
pub use time::{Duration, OffsetDateTime};
