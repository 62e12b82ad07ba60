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

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::keys::{KeyId, KeyUse};
pub use crate::revocation::{Generation, MemoryRevocationStore, RevocationLimits, RevocationStore};
pub use crate::{
    BrowserSession, ConfigError, CookieAttributeProblem, IncomingCookie, KeyRing, LOG_TARGET,
    MissingMiddleware, Mode, NotDurableReason, OpenError, PersistentSession, RefreshPolicy,
    RenewError, RevokeError, SameSite, SecretKey, Session, SessionError, SessionGetError,
    SessionId, SessionInsertError, SessionLifecycle, SessionManager, SessionStatus,
    SessionUpdateError, SessionValue, TimeoutProblem, ValueError,
};
pub use time::{Duration, OffsetDateTime};
