//! Server-side revocation: what makes logout real for a stateless cookie.
//!
//! Two kinds of entry, both typed ([`Revocation`]):
//! - **One session**, by id, listed until the moment its cookie would have expired anyway.
//! - **Every session of a subject** older than a [`Generation`]. A signed-in session carries its
//!   subject's generation inside the sealed cookie; "log out everywhere" advances the subject's
//!   generation, and every session that carries an older one is refused. No clock is compared:
//!   a login right after a log-out-everywhere carries the new generation and works, and on one
//!   store the clocks of the instances don't matter (across instances of a shared store, see
//!   its consistency bound).
//!
//! A store's state is bounded: past [`RevocationLimits::per_subject`] individually revoked
//! sessions of one subject, the next revocation advances the subject's generation instead and
//! frees the individual entries, so memory grows with the number of users, not of requests;
//! and a global [`RevocationLimits::total`] caps everything, past which a revocation that needs
//! a new entry fails with [`RevokeError::CapacityExceeded`] rather than being dropped.

mod mac;
mod memory;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use mac::RevocationMac;
pub use memory::{MemoryRevocationStore, RevocationLimits};

use crate::state::SessionId;
use crate::unix::UnixTime;

/// A subject's revocation generation: sessions carrying an older one are logged out.
///
/// Generations only grow. An advance moves to a value strictly greater than the current one,
/// built as `base * 2 + kind`: `base` is one more than the current base, or the current time in
/// microseconds if that is larger, and `kind` is 1 for "log out everywhere"
/// ([`Generation::advanced`]) and 0 for "sign out my other devices"
/// ([`Generation::advanced_keeping`]). So:
/// - a subject whose entry was forgotten (it is kept for an absolute timeout past its last
///   advance, after which every session stamped before that advance has expired) starts again
///   above every value it held;
/// - two advances made from the same generation at the same time, one of each kind, on two
///   instances that had not seen each other's, resolve in favour of "log out everywhere": the
///   larger generation wins everywhere, and the session kept by the other one carries the
///   smaller.
///
/// ```
/// use sealed_session::{Generation, UnixTime};
///
/// let now = UnixTime::from_secs(1_800_000_000);
/// let first = Generation::ZERO.advanced(now);
/// assert!(first > Generation::ZERO);
/// assert!(first.advanced(now) > first); // same second: still strictly greater
/// assert!(first.advanced(now) > first.advanced_keeping(now));
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
pub struct Generation(u64);

impl Generation {
    /// The generation of a subject nobody ever logged out everywhere.
    pub const ZERO: Self = Self(0);

    /// A generation from its number (e.g. read back from a shared store).
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The generation "log out everywhere" at `now` moves to.
    #[must_use]
    pub const fn advanced(self, now: UnixTime) -> Self {
        self.advance(now, 1)
    }

    /// The generation "sign out my other devices" at `now` moves to (and gives the session it
    /// keeps): below what a log-out-everywhere from the same generation at the same time would
    /// reach.
    #[must_use]
    pub const fn advanced_keeping(self, now: UnixTime) -> Self {
        self.advance(now, 0)
    }

    const fn advance(self, now: UnixTime, kind: u64) -> Self {
        let floor = now.secs().saturating_mul(1_000_000);
        let next = (self.0 >> 1).saturating_add(1);
        let base = if next > floor { next } else { floor };
        Self(base.saturating_mul(2).saturating_add(kind))
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest subject a session accepts, in bytes: a user id, not a profile. Shared stores refuse
/// longer ones as corrupt, so every subject a lifecycle sets can be shared.
pub const MAX_SUBJECT_LEN: usize = 1024;

/// Whom a session belongs to, and the generation of that subject it was signed in under.
///
/// Sealed inside the cookie. Build one from a store's current generation
/// ([`RevocationStore::generation`]); a session lifecycle does that when it sets a subject.
///
/// ```
/// use sealed_session::{Generation, Subject};
///
/// let alice = Subject::new("alice", Generation::ZERO);
/// assert_eq!(alice.name(), "alice");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subject {
    name: String,
    generation: Generation,
}

impl Subject {
    /// `name` at `generation`.
    pub fn new(name: impl Into<String>, generation: Generation) -> Self {
        Self {
            name: name.into(),
            generation,
        }
    }

    /// The subject (e.g. a user id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The generation the session carries.
    pub fn generation(&self) -> Generation {
        self.generation
    }
}

impl fmt::Debug for Subject {
    /// The name may be personal data (an e-mail address): not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("name", &"<set>")
            .field("generation", &self.generation)
            .finish()
    }
}

/// The session a "sign out my other devices" keeps: the compare-and-set of
/// [`RevocationStore::advance`] succeeds only while this session is in force.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeptSession {
    id: SessionId,
    generation: Generation,
}

impl KeptSession {
    /// Session `id`, carrying `generation`.
    pub const fn new(id: SessionId, generation: Generation) -> Self {
        Self { id, generation }
    }

    /// The session's id.
    pub const fn id(&self) -> SessionId {
        self.id
    }

    /// The generation it carries.
    pub const fn generation(&self) -> Generation {
        self.generation
    }
}

/// One revocation, as stores keep and exchange it. `Debug` hides subject names (they may be
/// personal data).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// One session, refused until `until` (when its cookie expires anyway).
    Session {
        /// The session.
        id: SessionId,
        /// Its subject and generation, if it had one: the entry is kept with the subject's, and
        /// is moot once the subject's generation passes this one.
        subject: Option<Subject>,
        /// When the entry may go.
        until: UnixTime,
    },
    /// Every session of `subject` with a generation older than `generation`, until `until`.
    Subject {
        /// The subject.
        subject: String,
        /// Sessions carrying an older generation are refused.
        generation: Generation,
        /// When the entry may go: an absolute timeout (plus the clock skew allowance) past the
        /// advance, when every session older than it has expired anyway.
        until: UnixTime,
    },
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session { id, subject, until } => f
                .debug_struct("Session")
                .field("id", id)
                .field("subject", subject)
                .field("until", until)
                .finish(),
            Self::Subject {
                generation, until, ..
            } => f
                .debug_struct("Subject")
                .field("subject", &"<set>")
                .field("generation", generation)
                .field("until", until)
                .finish(),
        }
    }
}

impl Revocation {
    /// When the entry may be dropped.
    pub fn until(&self) -> UnixTime {
        match self {
            Self::Session { until, .. } | Self::Subject { until, .. } => *until,
        }
    }
}

/// Why a revocation could not be recorded. Nothing was recorded; the caller must not report the
/// logout as done.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeError {
    /// The store holds [`RevocationLimits::total`] entries and this revocation needs a new one.
    CapacityExceeded {
        /// The configured cap.
        limit: usize,
    },
    /// A compare-and-set advance found the subject at another generation than expected: the
    /// caller's session was itself logged out meanwhile (by a concurrent "log out
    /// everywhere").
    Superseded {
        /// The subject's generation now.
        current: Generation,
    },
    /// The revocation holds on this instance, but the shared store that carries it to the
    /// others did not confirm it within its wait ([`RevocationStore::settle`]): an instance
    /// that stopped now would take it along. The caller must not report the logout as done;
    /// answer "try again" (e.g. `503`): a retry waits for it again.
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
                "the revocation list is full ({limit} entries), so this logout could not be \
                 recorded: raise `RevocationLimits::total`, or shorten the absolute timeout so \
                 that entries expire sooner"
            ),
            Self::Superseded { current } => write!(
                f,
                "the session was logged out everywhere meanwhile (its subject is at generation \
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

/// A list of revoked sessions, consulted on every request.
///
/// [`RevocationStore::is_revoked`] runs on every request: it must answer from memory, never
/// wait on the network. The session lifecycle is the one caller of the writing methods; it
/// decides what to revoke and computes the deadlines.
///
/// ```
/// use sealed_session::{
///     Generation, MemoryRevocationStore, Revocation, RevocationStore, SessionId, Subject, UnixTime,
/// };
///
/// let store = MemoryRevocationStore::new();
/// let now = UnixTime::from_secs(1_000);
/// let id = SessionId::random()?;
/// let alice = Subject::new("alice", store.generation("alice"));
/// store.revoke(
///     Revocation::Session { id, subject: Some(alice.clone()), until: now.saturating_add_secs(600) },
///     now,
/// )?;
/// assert!(store.is_revoked(id, Some(&alice), now));
///
/// // "Log out everywhere": every session carrying the old generation is refused.
/// let next = store.advance("alice", None, now.saturating_add_secs(86_400), now)?;
/// assert!(store.is_revoked(SessionId::random()?, Some(&alice), now));
/// assert!(!store.is_revoked(SessionId::random()?, Some(&Subject::new("alice", next)), now));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Whether session `id`, of `subject` if it has one, is revoked at `now`.
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool;

    /// The generation a session of `subject` signed in now carries.
    fn generation(&self, subject: &str) -> Generation;

    /// Records `revocation`; returns what was recorded, which may be stronger (a session of a
    /// subject past its per-subject limit advances the subject's generation instead) or
    /// nothing (the session was already revoked through its generation).
    ///
    /// # Errors
    /// [`RevokeError::CapacityExceeded`] when the store is full and the revocation needs a new
    /// entry.
    fn revoke(
        &self,
        revocation: Revocation,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError>;

    /// Advances `subject`'s generation and returns the new one, which the entry keeps until
    /// `until`. Without `keeping`, this is "log out everywhere" ([`Generation::advanced`]).
    /// With `keeping`, it is "sign out my other devices" ([`Generation::advanced_keeping`]),
    /// and only while the kept session is in force (compare and set, atomic with the advance):
    /// the caller gives the kept session the returned generation, and a log-out-everywhere or
    /// a logout of that session that came first makes it fail instead of being outlived.
    ///
    /// # Errors
    /// [`RevokeError::Superseded`] when the kept session is no longer in force,
    /// [`RevokeError::CapacityExceeded`] when the subject has no entry yet and the store is
    /// full.
    fn advance(
        &self,
        subject: &str,
        keeping: Option<KeptSession>,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Generation, RevokeError>;

    /// Waits until every revocation this store recorded before the call is durable: for a
    /// store shared through another system, confirmed by it, so that stopping this instance
    /// loses none of them. The wait is the store's own, bounded. The session lifecycle calls
    /// it after each revocation it records, and before answering a logout of a cookie the
    /// store already refuses (a retry). The default, for stores that keep nothing elsewhere,
    /// returns at once.
    ///
    /// # Errors
    /// [`RevokeError::NotDurable`] when they could not be confirmed within the wait; they
    /// still hold on this instance.
    fn settle(&self) -> Result<(), RevokeError> {
        Ok(())
    }

    /// Whether the store can tell revoked sessions from others yet. A shared store that is
    /// configured to fail closed answers `false` until it has loaded the shared list once;
    /// the lifecycle then refuses signed-in sessions ([`OpenError::RevocationUnknown`]) without
    /// removing their cookies. The default is `true`.
    ///
    /// [`OpenError::RevocationUnknown`]: crate::OpenError::RevocationUnknown
    fn revocations_known(&self) -> bool {
        true
    }
}
