//! Server-side revocation: what makes logout real for a stateless cookie.
//!
//! A signed-in session carries, sealed in its cookie, its subject and an **authentication
//! stamp** ([`Generation`]), set when the session is authenticated and never by anything else.
//! A store keeps, per subject, a **cutoff** (sessions stamped below it are refused) and a short
//! list of individually revoked session ids; both only grow until they expire, and copies merge
//! by keeping the larger cutoff and every id. The invariants this gives (numbered as in
//! [`crate::guide::security`]):
//! - "Log out everywhere" raises the cutoff above every stamp issued so far
//!   ([`Cutoff::Everything`]); "sign out my other devices" raises it to the caller's own stamp
//!   ([`Cutoff::OlderThan`]), so it ends only sessions authenticated before the caller's: a
//!   stolen copy can't end a fresher session, and an owner who signs in again can end the copy.
//! - A store's state is bounded without ever refusing the logout of a signed-in session: past
//!   [`RevocationLimits::per_subject`] revoked ids, the next revocation folds into the subject's
//!   cutoff; past [`RevocationLimits::total`] subjects, a revocation of a new subject raises a
//!   store-wide cutoff ([`Revocation::Everyone`]). Both are coarser (they end more sessions),
//!   never weaker, and are logged at `warn`.
//!
//! Here are the [`RevocationStore`] trait and its in-process implementation,
//! [`MemoryRevocationStore`] (the default, bounded by [`RevocationLimits`]); what the builder
//! takes as a store, [`IntoRevocationStore`]; the values a store deals in ([`Revocation`],
//! [`Cutoff`], [`Generation`], [`KeptSession`], [`Subject`]); [`Confirmation`], the future a
//! shared store's confirmation of a revocation is awaited through; and [`RevocationMac`], which
//! authenticates entries that travel through a shared store. A refused revocation is a
//! [`RevokeError`], at the crate root with the other errors.
//!
//! ```
//! use std::sync::Arc;
//!
//! use sealed_session::revocation::{MemoryRevocationStore, RevocationLimits};
//! use sealed_session::{KeyRing, SecretKey, SessionManager};
//!
//! // This process's store, capped, and kept to watch it.
//! let limits = RevocationLimits::new().total(10_000);
//! let store = Arc::new(MemoryRevocationStore::with_limits(limits));
//! let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
//!     .revocation_store(store.clone())
//!     .build()?;
//! // "Log out everywhere" from a task outside any request; `.await` it in async code.
//! sessions.revoke_subject("alice").wait()?;
//! assert_eq!(store.subjects(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod confirmation;
mod into_store;
mod mac;
mod memory;
// Public at the crate root, with the other errors; imported from here inside the crate.
pub(crate) mod revoke_error;

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use confirmation::Confirmation;
pub use into_store::{IntoRevocationStore, NoRevocationConfig};
pub use mac::RevocationMac;
pub use memory::{MemoryRevocationStore, RevocationLimits};
pub(crate) use revoke_error::{NotDurableReason, RevokeError};

use crate::state::SessionId;
use crate::unix::UnixTime;

/// A signed-in session's authentication stamp, and a subject's cutoff: a session whose stamp is
/// below its subject's cutoff is logged out.
///
/// The number is twice the microseconds since the unix epoch of the authentication (or above,
/// to stay strictly above a cutoff: [`Generation::authenticated_at`]), so stamps order
/// authentications by time, and a cutoff raised to a time ends every session authenticated
/// before it. Nothing but an authentication makes a stamp: renewing a session or signing out
/// its other devices keeps the one it has.
///
/// ```
/// use sealed_session::revocation::Generation;
/// use time::macros::datetime;
///
/// let now = datetime!(2027-01-15 12:00 UTC);
/// let first = Generation::authenticated_at(now, Generation::ZERO);
/// assert!(first > Generation::ZERO);
/// // An authentication in the same instant, past a cutoff at `first`: still strictly above it.
/// let second = Generation::authenticated_at(now, first);
/// assert!(second > first);
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
pub struct Generation(u64);

impl Generation {
    /// The cutoff of a subject nobody ever logged out, and the stamp of no authentication.
    pub const ZERO: Self = Self(0);

    /// A generation from its number (e.g. read back from a shared store).
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The generation of the instant `time` (twice its microseconds since the epoch; times
    /// before the epoch count as the epoch).
    pub fn at(time: OffsetDateTime) -> Self {
        let micros = u64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(0);
        Self(micros.saturating_mul(2))
    }

    /// The next generation up (saturating).
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// The cutoff that clears every stamp an instance can issue while it knows `self` as the
    /// cutoff: stamps issued above a cutoff rise one step per sign-in while the clock is behind
    /// it ([`RevocationStore::authentication_stamp`]), so a log-out-everywhere leaves room for
    /// 2^24 of them (about 8 seconds' worth of the generation's time).
    #[must_use]
    pub const fn clearing(self) -> Self {
        Self(self.0.saturating_add(Self::ROOM))
    }

    /// What [`Generation::clearing`] leaves above a cutoff.
    const ROOM: u64 = 1 << 24;

    /// The stamp an authentication at `now` gets, for a subject whose cutoff is `cutoff`:
    /// strictly above the cutoff (so the session is in force, and fresher than any session
    /// whose "sign out my other devices" set that cutoff), and at least the generation of
    /// `now`.
    pub fn authenticated_at(now: OffsetDateTime, cutoff: Self) -> Self {
        Self::at(now).max(cutoff.next())
    }

    /// The lowest cutoff a "log out everywhere" at `now` may set so that it ends every session
    /// authenticated before it on any instance whose clock is at most `skew` ahead.
    pub fn everywhere_at(now: OffsetDateTime, skew: time::Duration) -> Self {
        Self::at(now.checked_add(skew).unwrap_or(now)).next()
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
/// use sealed_session::revocation::{Generation, Subject};
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

/// The session a "sign out my other devices" keeps: [`RevocationStore::advance`] with
/// [`Cutoff::OlderThan`] succeeds only while this session is in force.
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

/// How far [`RevocationStore::advance`] raises a subject's cutoff.
///
/// ```
/// use sealed_session::SessionId;
/// use sealed_session::revocation::{Cutoff, Generation, KeptSession};
/// use time::macros::datetime;
///
/// let now = datetime!(2027-01-15 12:00 UTC);
/// // Log out everywhere: above every stamp an instance up to a minute ahead could have issued.
/// let everything = Cutoff::Everything {
///     above: Generation::everywhere_at(now, time::Duration::minutes(1)),
/// };
/// // Sign out my other devices: up to this session's own stamp, while it is in force.
/// let stamp = Generation::authenticated_at(now, Generation::ZERO);
/// let others = Cutoff::OlderThan(KeptSession::new(SessionId::random()?, stamp));
/// assert_ne!(everything, others);
/// # Ok::<(), sealed_session::SealError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Cutoff {
    /// "Log out everywhere": the cutoff moves above both `above` and the cutoff the store
    /// holds ([`Generation::clearing`] the larger), ending every session of the subject stamped
    /// so far.
    Everything {
        /// The least the new cutoff exceeds ([`Generation::everywhere_at`]).
        above: Generation,
    },
    /// "Sign out my other devices": the cutoff moves up to the kept session's stamp (never
    /// down), ending exactly the sessions authenticated before it, and only while the kept
    /// session is in force: checked in the same operation, or
    /// [`RevokeError::Superseded`].
    OlderThan(KeptSession),
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
    /// Every session of `subject` stamped below `generation` (its cutoff), until `until`.
    Subject {
        /// The subject.
        subject: String,
        /// Sessions carrying an older generation are refused.
        generation: Generation,
        /// When the entry may go: an absolute timeout (plus the clock skew allowance) past the
        /// advance, when every session older than it has expired anyway.
        until: UnixTime,
    },
    /// Every signed-in session, of every subject, stamped below `generation`, until `until`:
    /// what a store records in place of a subject's revocation when it holds
    /// [`RevocationLimits::total`] subjects and that subject has no entry (coarser, never
    /// refused).
    Everyone {
        /// Signed-in sessions carrying an older generation are refused.
        generation: Generation,
        /// When the entry may go (as for [`Revocation::Subject`]).
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
            Self::Everyone { generation, until } => f
                .debug_struct("Everyone")
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
            Self::Session { until, .. }
            | Self::Subject { until, .. }
            | Self::Everyone { until, .. } => *until,
        }
    }
}

/// A list of revoked sessions, consulted on every request.
///
/// [`RevocationStore::is_revoked`] runs on every request: it must answer from memory, never
/// wait on the network. The session lifecycle is the one caller of the writing methods; it
/// decides what to revoke and computes the deadlines. Each writing method checks and records in
/// one operation (invariant 7 of [`crate::guide::security`]): a revocation made for a session
/// that is no longer in force records nothing and fails with [`RevokeError::Superseded`].
///
/// ```
/// use sealed_session::SessionId;
/// use sealed_session::codec::UnixTime;
/// use sealed_session::revocation::{
///     Cutoff, Generation, KeptSession, MemoryRevocationStore, Revocation, RevocationStore,
///     Subject,
/// };
/// use time::macros::datetime;
///
/// let store = MemoryRevocationStore::new();
/// let t = datetime!(2027-01-15 12:00 UTC);
/// let now = UnixTime::from(t);
/// let until = now.saturating_add_secs(86_400);
/// let id = SessionId::random()?;
/// let alice = Subject::new("alice", Generation::authenticated_at(t, store.generation("alice")));
/// store.revoke(Revocation::Session { id, subject: Some(alice.clone()), until }, now)?;
/// assert!(store.is_revoked(id, Some(&alice), now));
/// // Revoking it again: it is not in force any more, so nothing is recorded.
/// assert!(store.revoke(Revocation::Session { id, subject: Some(alice.clone()), until }, now).is_err());
///
/// // "Log out everywhere": every session stamped so far is refused.
/// let above = Generation::everywhere_at(t, time::Duration::minutes(1));
/// store.advance("alice", Cutoff::Everything { above }, until, now)?;
/// assert!(store.is_revoked(SessionId::random()?, Some(&alice), now));
/// // A sign-in afterwards is stamped above the new cutoff.
/// let again = Subject::new("alice", Generation::authenticated_at(t, store.generation("alice")));
/// assert!(!store.is_revoked(SessionId::random()?, Some(&again), now));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Whether session `id`, of `subject` if it has one, is revoked at `now`.
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool;

    /// The cutoff of `subject` (the larger of its own and the store-wide one): an
    /// authentication now is stamped above it ([`Generation::authenticated_at`]).
    fn generation(&self, subject: &str) -> Generation;

    /// The authentication stamp of a session of `subject` authenticated at `at` (the
    /// generation of its time, [`Generation::at`]): at least `at`, strictly above the subject's
    /// cutoff and the store-wide one, and, while the subject has an entry here, strictly above
    /// every stamp this store returned for it before. The last part keeps sign-ins ordered in
    /// the minute after a log-out-everywhere, whose cutoff is ahead of the clock by the skew
    /// allowance (invariant 3 of [`crate::guide::security`]). The default, for stores that keep
    /// no such record, is `at` above the cutoff ([`Generation::authenticated_at`]'s rule).
    fn authentication_stamp(&self, subject: &str, at: Generation) -> Generation {
        at.max(self.generation(subject).next())
    }

    /// Records `revocation` if the session it names is still in force, and returns what was
    /// recorded, which may be coarser: past [`RevocationLimits::per_subject`] revoked ids the
    /// subject's cutoff rises above the session's stamp ([`Revocation::Subject`]), and past
    /// [`RevocationLimits::total`] subjects the store-wide one does
    /// ([`Revocation::Everyone`]). `None` if nothing needed recording (the deadline has
    /// passed).
    ///
    /// # Errors
    /// [`RevokeError::Superseded`] when the session is refused already (nothing recorded);
    /// [`RevokeError::CapacityExceeded`] when the store is full and the revocation is of an
    /// anonymous session not held yet.
    fn revoke(
        &self,
        revocation: Revocation,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError>;

    /// Raises `subject`'s cutoff as `cutoff` says (never lowers it), the entry kept until
    /// `until`, and returns what was recorded ([`Revocation::Subject`], or
    /// [`Revocation::Everyone`] when the store holds [`RevocationLimits::total`] subjects and
    /// this one has no entry), or `None` if the cutoff was there already.
    ///
    /// # Errors
    /// [`RevokeError::Superseded`] when `cutoff` is [`Cutoff::OlderThan`] and the kept session
    /// is no longer in force (nothing recorded).
    fn advance(
        &self,
        subject: &str,
        cutoff: Cutoff,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError>;

    /// The confirmation that every revocation this store recorded before the call is durable:
    /// for a store shared through another system, confirmed by it, so that stopping this
    /// instance loses none of them. The session lifecycle asks for it after each revocation it
    /// records, and before answering a logout of a cookie the store already refuses (a retry),
    /// and awaits it without holding the lock of the request's session; the [`Session`]
    /// handle's logouts `.await` it, so a wait holds no thread (invariant 8 of
    /// [`crate::guide::security`]). The wait is the store's own, bounded: the returned
    /// [`Confirmation`] must resolve on its own by then. The default, for stores that keep
    /// nothing elsewhere, is confirmed at once.
    ///
    /// It resolves to [`RevokeError::NotDurable`] when they could not be confirmed within the
    /// wait; they still hold on this instance.
    ///
    /// [`Session`]: crate::Session
    fn settle(&self) -> Confirmation {
        Confirmation::ready(Ok(()))
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The messages, byte for byte as they were when the reasons were free text: a log search
    /// or an alert written against them keeps working.
    #[test]
    fn not_durable_reasons_keep_their_messages() {
        for (reason, text) in [
            (
                NotDurableReason::RevocationsNotLoaded,
                "the revocation list is not loaded yet",
            ),
            (NotDurableReason::RedisUnreachable, "Redis unreachable"),
            (
                NotDurableReason::RedisTimedOut,
                "Redis did not answer in time",
            ),
            (
                NotDurableReason::RedisRefusedWrite,
                "Redis refuses the write",
            ),
            (
                NotDurableReason::RedisMayEvict,
                "Redis may evict revocations: maxmemory-policy",
            ),
            (
                NotDurableReason::RedisQueueFull,
                "the queue to Redis is full",
            ),
            (
                NotDurableReason::ReplicasBehind,
                "Redis replicas did not confirm: check replication",
            ),
        ] {
            let err = RevokeError::NotDurable {
                waited: Duration::from_millis(250),
                reason,
            };
            assert_eq!(
                err.to_string(),
                format!(
                    "the logout holds on this instance but the shared revocation store did not \
                     confirm it within 250ms ({text}): tell the user to try again, and check \
                     the store's health"
                )
            );
            assert!(err.is_not_durable());
            assert_eq!(err.http_status(), 503);
            let at_once = RevokeError::NotDurable {
                waited: Duration::ZERO,
                reason,
            };
            assert_eq!(
                at_once.to_string(),
                format!(
                    "the logout holds on this instance but the shared revocation store did not \
                     confirm it ({text}): tell the user to try again, and check the store's \
                     health"
                )
            );
        }
    }
}
