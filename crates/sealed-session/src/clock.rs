//! Where "now" comes from: injectable, so every expiry boundary is testable without sleeping.
//!
//! [`Clock`] is the trait, [`SystemClock`] the operating system's wall clock (the default), and
//! [`ManualClock`] a clock that only moves when told to, for tests. A
//! [`SessionManager`](crate::SessionManager) reads the one its builder was given
//! ([`SessionBuilder::clock`](crate::SessionBuilder::clock)) once per request; the
//! [`Codec`](crate::codec::Codec) below it takes the time as an argument instead.
//!
//! ```
//! use std::sync::Arc;
//!
//! use sealed_session::adapter::RequestInfo;
//! use sealed_session::clock::ManualClock;
//! use sealed_session::{KeyRing, OpenError, SecretKey, SessionManager};
//! use time::{Duration, macros::datetime};
//!
//! let clock = Arc::new(ManualClock::new(datetime!(2030-01-01 0:00 UTC)));
//! let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
//!     .idle_timeout(Duration::minutes(30))
//!     .clock(clock.clone())
//!     .build()?;
//! let mut session = sessions.open([], RequestInfo::new("/login"));
//! session.sign_in("alice")?;
//! let header = session.finish()?.header().unwrap().to_owned();
//! let cookie = header.split(';').next().unwrap(); // `__Host-id=...`
//!
//! // Half an hour and a minute of skew allowance later, without sleeping:
//! clock.advance(Duration::minutes(32));
//! let later = sessions.open([cookie.as_bytes()], RequestInfo::new("/"));
//! assert_eq!(later.refusal(), Some(OpenError::ExpiredIdle));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// A source of the current time.
///
/// The [`SessionManager`](crate::SessionManager) reads its clock once per request (the codec itself takes
/// the time as an argument). Cookies carry whole seconds, so a clock needs no finer resolution.
///
/// ```
/// use sealed_session::clock::{Clock, SystemClock};
///
/// let now = SystemClock.now();
/// assert!(now.year() >= 2024);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to: for tests of expiry and refresh.
///
/// ```
/// use sealed_session::clock::{Clock, ManualClock};
/// use time::{Duration, macros::datetime};
///
/// let clock = ManualClock::new(datetime!(2030-01-01 0:00 UTC));
/// clock.advance(Duration::minutes(30));
/// assert_eq!(clock.now(), datetime!(2030-01-01 0:30 UTC));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock to `now` (backwards too).
    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = now;
    }

    /// Moves the clock by `by` (negative moves it back).
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // A poisoned lock only means another test thread panicked while holding a plain value;
        // the value itself is still valid.
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}
