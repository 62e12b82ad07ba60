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
    /// others did not confirm it within its wait ([`RevocationStore::settle`](super::RevocationStore::settle)): an instance
    /// that stopped now would take it along. The caller must not report the logout as done;
    /// answer "try again" (e.g. `503`): a retry waits for it again.
    NotDurable {
        /// How long the store waited for the confirmation.
        waited: Duration,
        /// Why it could not be confirmed.
        reason: NotDurableReason,
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
            // Answered at once (Redis known to be unreachable, a full queue): no wait to name.
            Self::NotDurable { waited, reason } if waited.is_zero() => write!(
                f,
                "the logout holds on this instance but the shared revocation store did not \
                 confirm it ({reason}): tell the user to try again, and check the store's health"
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

/// Why the shared store did not confirm a revocation: the `reason` of
/// [`RevokeError::NotDurable`]. Whatever the reason, the revocation holds on this instance and
/// the answer to the user is the same ("try again"); the reason tells the operator what to look
/// at, and its `Display`, a few words, ends up in the error's message.
///
/// The Redis variants are those of `sealed-session-redis`'s store, the shared store this
/// workspace ships.
///
/// ```
/// use std::time::Duration;
/// use sealed_session::{NotDurableReason, RevokeError};
///
/// let err = RevokeError::NotDurable {
///     waited: Duration::ZERO,
///     reason: NotDurableReason::RedisUnreachable,
/// };
/// let check = match err {
///     RevokeError::NotDurable {
///         reason: NotDurableReason::RevocationsNotLoaded,
///         ..
///     } => "wait for the store's first load",
///     RevokeError::NotDurable {
///         reason: NotDurableReason::RedisUnreachable,
///         ..
///     } => "check the network path to Redis",
///     RevokeError::NotDurable { .. } => "check the store's health",
///     _ => "not a durability problem",
/// };
/// assert_eq!(check, "check the network path to Redis");
/// assert_eq!(err.http_status(), 503);
/// assert!(err.to_string().contains("did not confirm it (Redis unreachable)"), "{err}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotDurableReason {
    /// The store has not loaded the shared revocation list yet
    /// ([`RevocationStore::revocations_known`](super::RevocationStore::revocations_known) is `false`), so a renewal of a signed-in session
    /// can't be checked; answered at once, without waiting.
    RevocationsNotLoaded,
    /// The link to Redis is down (known down before the wait, answered at once; or lost during
    /// it).
    RedisUnreachable,
    /// Redis is connected but did not acknowledge the writes within the wait.
    RedisTimedOut,
    /// Redis answers a pending write with an error (e.g. `OOM`, or `WRONGTYPE` on a key of
    /// another type): the store retries it aside and its health counts it.
    RedisRefusedWrite,
    /// Redis's `maxmemory-policy` may evict revocations, and the store is configured to
    /// refuse to confirm logouts while it does; answered at once.
    RedisMayEvict,
    /// The store's queue of writes to Redis is full, so a revocation made here is not queued
    /// yet (the next repair writes it); answered at once.
    RedisQueueFull,
    /// Redis took the writes, but fewer of its replicas than the store requires confirmed
    /// them (`WAIT`) within the wait: a failover now could promote a replica that lacks them.
    /// The store writes them again until enough replicas confirm; check that the replicas are
    /// connected and keeping up (`INFO replication` on the primary).
    ReplicasBehind,
}

impl fmt::Display for NotDurableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RevocationsNotLoaded => "the revocation list is not loaded yet",
            Self::RedisUnreachable => "Redis unreachable",
            Self::RedisTimedOut => "Redis did not answer in time",
            Self::RedisRefusedWrite => "Redis refuses the write",
            Self::RedisMayEvict => "Redis may evict revocations: maxmemory-policy",
            Self::RedisQueueFull => "the queue to Redis is full",
            Self::ReplicasBehind => "Redis replicas did not confirm: check replication",
        })
    }
}
