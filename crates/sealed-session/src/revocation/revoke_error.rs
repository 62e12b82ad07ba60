//! [`RevokeError`]: why a revocation could not be recorded. Public at the crate root, with the
//! other errors an application matches on.

use std::fmt;
use std::time::Duration;

use super::Generation;

/// Why a revocation could not be recorded. Nothing was recorded; the caller must not report the
/// logout as done.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeError {
    /// The store holds [`RevocationLimits::total`] entries and this revocation of an anonymous
    /// session needs a new one. (A signed-in session's revocation is never refused for room: it
    /// folds into a coarser one instead.)
    ///
    /// [`RevocationLimits::total`]: super::RevocationLimits::total
    CapacityExceeded {
        /// The configured cap.
        limit: usize,
    },
    /// The session this revocation acts for was no longer in force when the store came to
    /// record it (a logout, a log-out-everywhere or a newer sign-out-others got there first):
    /// nothing was recorded, and the caller must not carry on with the session.
    Superseded {
        /// The subject's generation now.
        current: Generation,
    },
    /// The revocation holds on this instance, but the shared store that carries it to the
    /// others did not confirm it within its wait ([`RevocationStore::settle`]): an instance
    /// that stopped now would take it along. The caller must not report the logout as done;
    /// answer "try again" (e.g. `503`): a retry waits for it again.
    ///
    /// [`RevocationStore::settle`]: super::RevocationStore::settle
    NotDurable {
        /// How long the store waited for the confirmation.
        waited: Duration,
        /// Why it could not be confirmed, in a few words (e.g. "Redis unreachable").
        reason: &'static str,
    },
}

impl RevokeError {
    /// Whether this is [`RevokeError::NotDurable`]: the logout holds here but is not yet
    /// confirmed by the shared store.
    pub fn is_not_durable(&self) -> bool {
        matches!(self, Self::NotDurable { .. })
    }

    /// The HTTP status a web adapter answers this error with, the same for every framework:
    /// `401 Unauthorized` when the session had been logged out meanwhile
    /// ([`RevokeError::Superseded`]: sign in again), `503 Service Unavailable` when the
    /// revocation could not be recorded or confirmed (try again: a logout is never reported as
    /// done while a copy of the cookie would outlive it).
    ///
    /// ```
    /// use sealed_session::RevokeError;
    ///
    /// assert_eq!(RevokeError::CapacityExceeded { limit: 10 }.http_status(), 503);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Superseded { .. } => 401,
            // Not recorded (a full list) or not confirmed: trying again may succeed.
            Self::CapacityExceeded { .. } | Self::NotDurable { .. } => 503,
        }
    }
}

impl fmt::Display for RevokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CapacityExceeded { limit } => write!(
                f,
                "the revocation list is full ({limit} entries), so this anonymous session's \
                 logout could not be recorded: raise `RevocationLimits::total`, or shorten the \
                 absolute timeout so that entries expire sooner"
            ),
            Self::Superseded { current } => write!(
                f,
                "the session was logged out meanwhile (its subject's cutoff is at generation \
                 {current}): sign in again"
            ),
            Self::NotDurable { waited, reason } => write!(
                f,
                "the logout holds on this instance but the shared revocation store did not \
                 confirm it within {waited:?} ({reason}): tell the user to try again, and check \
                 the store's health"
            ),
        }
    }
}

impl std::error::Error for RevokeError {}
