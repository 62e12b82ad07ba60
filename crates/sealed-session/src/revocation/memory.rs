//! The embedded revocation store: sharded in-process maps with bounded size.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crossbeam_utils::CachePadded;
use rustc_hash::FxBuildHasher;

use super::{Cutoff, Generation, Revocation, RevocationStore, RevokeError, Subject};
use crate::state::SessionId;
use crate::unix::UnixTime;

/// Shards of each map. Many, so that a sweep holds one lock over a small part of the store and
/// concurrent checks rarely meet on a lock.
const SHARDS: usize = 256;
/// A shard holding expired entries is swept on a write at least this often (seconds), so a store
/// that stops growing still lets its expired entries go.
const SWEEP_INTERVAL: u64 = 60;
/// How many times [`RevocationLimits::per_subject`] revoked ids of one subject
/// [`MemoryRevocationStore::apply`] keeps before folding the next into the subject's cutoff.
/// Each instance lists at most `per_subject` before folding, counting what it received, so
/// the ids of one subject that a fleet lists while its messages cross stay below
/// `per_subject` per instance: up to 8 instances racing on one subject never reach this, and
/// a flood of forged ones (without authentication) keeps one subject's list bounded.
const REMOTE_PER_SUBJECT_FACTOR: usize = 8;
/// Below this many entries a shard is only swept by time: sweeping tiny maps saves nothing.
const MIN_SWEEP_LEN: usize = 64;
/// A subject's name counts one more against [`RevocationLimits::remote_total`] per this many
/// bytes: names are up to 1024 bytes, and a subject's entry with a short name takes about
/// 136 bytes besides its name, so that one unit of the room stays within about 167 bytes
/// whatever the names (`docs/revocation.md`, "Capacity").
const NAME_BYTES_PER_UNIT: usize = 32;

/// How much a [`MemoryRevocationStore`] may hold.
///
/// # Defaults
/// - `per_subject`: 32 individually revoked sessions per subject; the next one folds into the
///   subject's cutoff instead (logging out that subject's sessions authenticated up to the
///   revoked one's, and freeing the ids it covers), with a `warn`.
/// - `total`: 1,000,000 entries, where a subject counts as one whatever it revoked (its ids are
///   bounded by `per_subject`) and a listed anonymous session as one: a million users who
///   logged out within an absolute timeout fit. The measured bytes per entry are in
///   [`crate::guide::revocation`].
/// - `remote_total`: 1,000,000 units of what is recorded elsewhere
///   ([`MemoryRevocationStore::apply`]: other instances' revocations, read from a shared
///   store), held apart from `total`, so that what others push can never fill the room this
///   instance's own logouts need. Counted by what costs memory
///   ([`MemoryRevocationStore::remote_usage`]): an entry, one more per 32 bytes of a
///   subject's name, and each revoked id, so that one unit takes at most about 167 bytes:
///   whatever is pushed, the room holds at most about 167 MB (computed from the bytes per
///   entry measured in [`crate::guide::revocation`]).
///
/// ```
/// use sealed_session::revocation::{MemoryRevocationStore, RevocationLimits};
///
/// let store = MemoryRevocationStore::with_limits(RevocationLimits::new().per_subject(8).total(10_000));
/// assert_eq!(store.limits().total_limit(), 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationLimits {
    per_subject: usize,
    total: usize,
    remote_total: usize,
}

impl RevocationLimits {
    /// The [defaults](RevocationLimits#defaults).
    pub const fn new() -> Self {
        Self {
            per_subject: 32,
            total: 1_000_000,
            remote_total: 1_000_000,
        }
    }

    /// Individually revoked sessions kept per subject before the next one folds into the
    /// subject's cutoff instead. At least 1.
    #[must_use]
    pub const fn per_subject(mut self, limit: usize) -> Self {
        self.per_subject = if limit == 0 { 1 } else { limit };
        self
    }

    /// Subjects and listed anonymous sessions held at most. Past it, a signed-in session's
    /// revocation of a subject without an entry raises the store-wide cutoff instead
    /// ([`Revocation::Everyone`]: coarser, never refused), and an anonymous session's fails
    /// with [`RevokeError::CapacityExceeded`].
    #[must_use]
    pub const fn total(mut self, limit: usize) -> Self {
        self.total = limit;
        self
    }

    /// What is recorded elsewhere ([`MemoryRevocationStore::apply`]) held at most, apart from
    /// [`RevocationLimits::total`], in the units of [`MemoryRevocationStore::remote_usage`]
    /// (an entry, one more per 32 bytes of a subject's name, each revoked id). Past it, another
    /// instance's revocation of a subject without an entry raises the store-wide cutoff of
    /// this copy instead (coarser, never weaker; kept off what
    /// [`MemoryRevocationStore::entries`] yields, so it is never shared), one of a revoked id
    /// folds into its subject's cutoff, and one of an anonymous session is dropped here (all
    /// counted in [`MemoryRevocationStore::overflows`]; the instance that made it still
    /// refuses it).
    ///
    /// ```
    /// use sealed_session::revocation::RevocationLimits;
    ///
    /// let limits = RevocationLimits::new().total(1_000).remote_total(50_000);
    /// assert_eq!(limits.remote_total_limit(), 50_000);
    /// ```
    #[must_use]
    pub const fn remote_total(mut self, limit: usize) -> Self {
        self.remote_total = limit;
        self
    }

    /// The limit on what is recorded elsewhere.
    pub const fn remote_total_limit(&self) -> usize {
        self.remote_total
    }

    /// The per-subject limit.
    pub const fn per_subject_limit(&self) -> usize {
        self.per_subject
    }

    /// The total limit.
    pub const fn total_limit(&self) -> usize {
        self.total
    }
}

impl Default for RevocationLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// The embedded revocation store: in-process, sharded hash maps.
///
/// Enough for an application on one instance, and the local copy that shared stores (such as
/// the Redis one) answer from. Revocations live in this process only: they are lost on restart
/// and unknown to other instances.
///
/// # Performance impact
/// - A check of a signed-in session loads the store-wide cutoff (one atomic load), then takes a
///   read lock on one of 256 subject shards and does one lookup, unless no subject has any
///   entry (one atomic load). A session without a subject looks up one of 256 session shards
///   the same way, unless no such session is revoked.
/// - Revoked sessions of a subject are kept with the subject (at most
///   [`RevocationLimits::per_subject`] of them), so memory grows with the number of users
///   who logged out within an absolute timeout, not with the number of logouts.
/// - Expired entries are swept one shard at a time, on writes, when a shard holding expired
///   entries has doubled since its last sweep or was last swept a minute ago; checks never
///   sweep. [`MemoryRevocationStore::sweep`] sweeps every shard in turn, for a background task.
///
/// ```
/// use sealed_session::SessionId;
/// use sealed_session::codec::UnixTime;
/// use sealed_session::revocation::{MemoryRevocationStore, Revocation, RevocationStore};
///
/// let store = MemoryRevocationStore::new();
/// let id = SessionId::random()?;
/// let (now, expiry) = (UnixTime::from_secs(1_000), UnixTime::from_secs(2_000));
/// // An anonymous session, logged out at 1000, that would have expired at 2000.
/// store.revoke(Revocation::Session { id, subject: None, until: expiry }, now)?;
/// assert!(store.is_revoked(id, None, UnixTime::from_secs(1_999)));
/// assert!(!store.is_revoked(id, None, expiry)); // expired anyway: the entry can go
/// assert_eq!(store.sweep(expiry), 1);
/// assert!(store.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MemoryRevocationStore {
    limits: RevocationLimits,
    /// Revoked sessions without a subject. Each shard sits on its own cache lines (`CachePadded`:
    /// 128 bytes on x86-64, the pair it prefetches together), so that readers of neighbouring
    /// shards don't bounce one line between cores; the same for `subjects`.
    sessions: Box<[CachePadded<SessionShard>]>,
    /// Revoked sessions without a subject recorded elsewhere ([`MemoryRevocationStore::apply`]),
    /// held against `limits.remote_total`: apart from `sessions`, so that each entry's count
    /// is known at no byte per entry.
    remote_sessions: Box<[CachePadded<RemoteSessionShard>]>,
    /// Subjects with a cutoff or revoked sessions.
    subjects: Box<[CachePadded<SubjectShard>]>,
    /// Picks a subject's shard; keyed, so subjects can't be chosen to crowd one shard.
    subject_hasher: RandomState,
    /// Entries in `sessions`: checks skip the maps while it is zero (the common case).
    session_count: AtomicUsize,
    /// Entries in `remote_sessions`.
    remote_session_count: AtomicUsize,
    /// Entries in `subjects`.
    subject_count: AtomicUsize,
    /// Everything held: subjects and anonymous sessions, this instance's and the others'.
    total: AtomicUsize,
    /// Of `total`, the entries recorded elsewhere ([`MemoryRevocationStore::apply`]); the
    /// rest are held against `limits.total`.
    remote: AtomicUsize,
    /// What is held against `limits.remote_total` ([`MemoryRevocationStore::remote_usage`]):
    /// each entry recorded elsewhere, the length of its subject's name, and each revoked id
    /// held beyond what this instance's own room pays for.
    remote_usage: AtomicUsize,
    /// The store-wide cutoff that checks compare with: signed-in sessions stamped below it
    /// are refused, whatever their subject. The larger of `everyone_shared` and the cutoff this
    /// instance raised alone for others' revocations past `limits.remote_total`. It only grows,
    /// and is kept for good once raised (one number): every session it refuses would have
    /// expired by its deadline anyway.
    everyone: AtomicU64,
    /// The store-wide cutoff as a revocation ([`Revocation::Everyone`]): raised by this
    /// instance's own revocations past `limits.total`, or received from elsewhere
    /// ([`MemoryRevocationStore::apply`]); what [`MemoryRevocationStore::entries`] yields. A
    /// raise for others' revocations past `limits.remote_total` coarsens this copy only and
    /// stays out of it, so that no repair writes it to a shared store for every instance.
    everyone_shared: AtomicU64,
    /// `everyone_shared`'s deadline (unix seconds).
    everyone_until: AtomicU64,
    /// Revocations that had to be coarser or were refused because the store was full.
    overflows: AtomicU64,
    /// Revocations folded into their subject's cutoff past the per-subject limit.
    folds: AtomicU64,
}

impl MemoryRevocationStore {
    /// An empty store with the [default limits](RevocationLimits#defaults).
    pub fn new() -> Self {
        Self::with_limits(RevocationLimits::new())
    }

    /// An empty store with these limits.
    pub fn with_limits(limits: RevocationLimits) -> Self {
        Self {
            limits,
            sessions: (0..SHARDS).map(|_| CachePadded::default()).collect(),
            remote_sessions: (0..SHARDS).map(|_| CachePadded::default()).collect(),
            subjects: (0..SHARDS).map(|_| CachePadded::default()).collect(),
            subject_hasher: RandomState::new(),
            session_count: AtomicUsize::new(0),
            remote_session_count: AtomicUsize::new(0),
            subject_count: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            remote: AtomicUsize::new(0),
            remote_usage: AtomicUsize::new(0),
            everyone: AtomicU64::new(0),
            everyone_shared: AtomicU64::new(0),
            everyone_until: AtomicU64::new(0),
            overflows: AtomicU64::new(0),
            folds: AtomicU64::new(0),
        }
    }

    /// The limits.
    pub fn limits(&self) -> RevocationLimits {
        self.limits
    }

    /// Entries held (subjects and anonymous sessions, this instance's and those recorded
    /// elsewhere), including not yet swept ones.
    pub fn len(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Of [`MemoryRevocationStore::len`], the entries recorded elsewhere
    /// ([`MemoryRevocationStore::apply`]), held against [`RevocationLimits::remote_total`]; the
    /// rest are held against [`RevocationLimits::total`].
    ///
    /// ```
    /// use sealed_session::SessionId;
    /// use sealed_session::codec::UnixTime;
    /// use sealed_session::revocation::{MemoryRevocationStore, Revocation, RevocationStore};
    ///
    /// let store = MemoryRevocationStore::new();
    /// let (now, until) = (UnixTime::from_secs(1_000), UnixTime::from_secs(2_000));
    /// let anonymous = |id| Revocation::Session { id, subject: None, until };
    /// store.revoke(anonymous(SessionId::random()?), now)?; // this instance's
    /// store.apply(&anonymous(SessionId::random()?), now); // another instance's
    /// assert_eq!((store.len(), store.remote_len()), (2, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remote_len(&self) -> usize {
        self.remote.load(Ordering::Acquire)
    }

    /// What is held against [`RevocationLimits::remote_total`], counted by what costs memory:
    /// one per anonymous session recorded elsewhere; per subject recorded first elsewhere, one
    /// for its entry, one more per 32 bytes of its name, and one per revoked id it holds; and
    /// one per revoked id of any other subject past [`RevocationLimits::per_subject`] (ids
    /// only other instances' revocations put there: this instance lists at most that many).
    ///
    /// [`MemoryRevocationStore::apply`] keeps it at most the limit. A logout made here never
    /// waits for that room: one that adds a revoked id to a subject recorded first elsewhere
    /// counts in it, and may take it past the limit (by at most `per_subject` ids per such
    /// subject); then revocations from elsewhere are recorded coarser until it is back below.
    ///
    /// ```
    /// use sealed_session::SessionId;
    /// use sealed_session::codec::UnixTime;
    /// use sealed_session::revocation::{
    ///     Generation, MemoryRevocationStore, Revocation, RevocationLimits, Subject,
    /// };
    ///
    /// let store = MemoryRevocationStore::with_limits(RevocationLimits::new().remote_total(3));
    /// let (now, until) = (UnixTime::from_secs(1_000), UnixTime::from_secs(2_000));
    /// let alice = Subject::new("alice", Generation::new(7));
    /// let of_alice = |id| Revocation::Session { id, subject: Some(alice.clone()), until };
    /// store.apply(&of_alice(SessionId::random()?), now); // her entry, and one id
    /// store.apply(&of_alice(SessionId::random()?), now); // a second id: the room is full
    /// assert_eq!((store.remote_len(), store.remote_usage()), (1, 3));
    /// // A third folds into her cutoff instead (coarser: her sessions stamped up to 7 end),
    /// // which frees the ids it covers.
    /// store.apply(&of_alice(SessionId::random()?), now);
    /// assert_eq!((store.remote_usage(), store.entries(now).count()), (1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remote_usage(&self) -> usize {
        self.remote_usage.load(Ordering::Acquire)
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.everyone.load(Ordering::Acquire) == 0
    }

    /// Subjects held.
    pub fn subjects(&self) -> usize {
        self.subject_count.load(Ordering::Acquire)
    }

    /// How many revocations found the store at [`RevocationLimits::total`] since it was made:
    /// raised the store-wide cutoff instead, or (anonymous sessions) were refused with
    /// [`RevokeError::CapacityExceeded`]. The metric to alert on. Revocations made elsewhere
    /// that found [`RevocationLimits::remote_total`] full count here too
    /// ([`MemoryRevocationStore::apply`]).
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }

    /// How many revocations were folded into their subject's cutoff past
    /// [`RevocationLimits::per_subject`] since the store was made.
    pub fn folds(&self) -> u64 {
        self.folds.load(Ordering::Relaxed)
    }

    /// Drops every entry that no longer matters at `now`, one shard at a time (each shard's lock
    /// is held only while that shard is swept); returns how many were dropped.
    ///
    /// Writes already sweep as they go; call this from a background task to also free memory
    /// when no revocations come in.
    pub fn sweep(&self, now: UnixTime) -> usize {
        let now = now.secs();
        let mut removed = 0;
        for shard in self.sessions.iter() {
            let mut shard = write(shard);
            let swept = shard.sweep(now, local_cost);
            self.forget(&self.session_count, swept);
            removed += swept.keys;
        }
        for shard in self.remote_sessions.iter() {
            let mut shard = write(shard);
            let swept = shard.sweep(now, remote_session_cost);
            self.forget(&self.remote_session_count, swept);
            removed += swept.keys;
        }
        for shard in self.subjects.iter() {
            let mut shard = write(shard);
            let swept = shard.sweep(now, |name, entry| self.subject_cost(name, entry));
            self.forget(&self.subject_count, swept);
            removed += swept.keys;
        }
        removed
    }

    /// Every entry still in force at `now`, as [`Revocation`]s: to seed a shared store from this
    /// one, or to find what another copy lacks.
    ///
    /// The store-wide cutoff is yielded as far as this instance's own revocations raised it
    /// (past [`RevocationLimits::total`]) or it was received ([`MemoryRevocationStore::apply`]),
    /// never as far as only others' revocations past [`RevocationLimits::remote_total`] raised
    /// it: that coarsening holds on this copy alone.
    ///
    /// Shards are copied one at a time, as the iterator reaches them, and no lock is held
    /// between items, so checks and revocations go on meanwhile (entries added during the
    /// iteration may or may not be included).
    ///
    /// ```
    /// use sealed_session::SessionId;
    /// use sealed_session::codec::UnixTime;
    /// use sealed_session::revocation::{
    ///     Cutoff, Generation, MemoryRevocationStore, Revocation, RevocationStore,
    /// };
    ///
    /// let store = MemoryRevocationStore::new();
    /// let now = UnixTime::from_secs(1_000);
    /// let id = SessionId::random()?;
    /// store.revoke(Revocation::Session { id, subject: None, until: UnixTime::from_secs(2_000) }, now)?;
    /// let above = Generation::new(10);
    /// store.advance("alice", Cutoff::Everything { above }, UnixTime::from_secs(2_000), now)?;
    /// assert_eq!(store.entries(now).count(), 2);
    /// assert_eq!(store.entries(UnixTime::from_secs(2_000)).count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entries(&self, now: UnixTime) -> impl Iterator<Item = Revocation> + '_ {
        let now_secs = now.secs();
        // The shared cutoff only: one raised for others' revocations past the remote room
        // coarsens this copy alone, and a copy of it would end every instance's sessions.
        let everyone = Generation::new(self.everyone_shared.load(Ordering::Acquire));
        let everyone_until = UnixTime::from_secs(self.everyone_until.load(Ordering::Acquire));
        let everyone =
            (everyone > Generation::ZERO && everyone_until > now).then_some(Revocation::Everyone {
                generation: everyone,
                until: everyone_until,
            });
        let anonymous = |id: &SessionId, until: Until| Revocation::Session {
            id: *id,
            subject: None,
            until: until.time(),
        };
        let sessions = self.sessions.iter().flat_map(move |shard| {
            read(shard)
                .map
                .iter()
                .filter(|(_, until)| until.is_live(now_secs))
                .map(|(id, until)| anonymous(id, *until))
                .collect::<Vec<_>>()
        });
        let remote_sessions = self.remote_sessions.iter().flat_map(move |shard| {
            read(shard)
                .map
                .iter()
                .filter(|(_, until)| until.0.is_live(now_secs))
                .map(|(id, until)| anonymous(id, until.0))
                .collect::<Vec<_>>()
        });
        let subjects = self.subjects.iter().flat_map(move |shard| {
            let shard = read(shard);
            let mut out = Vec::new();
            for (name, entry) in &shard.map {
                if entry.generation_until.is_live(now_secs) {
                    out.push(Revocation::Subject {
                        subject: name.to_string(),
                        generation: entry.generation,
                        until: entry.generation_until.time(),
                    });
                }
                out.extend(
                    entry
                        .sessions
                        .iter()
                        .filter(|held| held.until.is_live(now_secs))
                        .map(|held| Revocation::Session {
                            id: held.id,
                            subject: Some(Subject::new(name.to_string(), held.stamp())),
                            until: held.until.time(),
                        }),
                );
            }
            out
        });
        everyone
            .into_iter()
            .chain(sessions)
            .chain(remote_sessions)
            .chain(subjects)
    }

    /// Records a revocation made elsewhere (another instance's, read from a shared store), as
    /// it was recorded at its origin: cutoffs merge by keeping the larger, ids by union, so
    /// copies that received the same revocations in any order refuse the same sessions.
    ///
    /// What others record is bounded apart from this instance's own room, by what it costs in
    /// memory ([`RevocationLimits::remote_total`], [`MemoryRevocationStore::remote_usage`]), so
    /// no flood of it makes a logout here fail or exhausts memory. Past that room, a
    /// revocation of a subject without an entry raises the store-wide cutoff of this copy
    /// instead (never yielded by [`MemoryRevocationStore::entries`]), one of an anonymous
    /// session is dropped, and a revoked id the room would pay for folds into its subject's
    /// cutoff (all three counted in [`MemoryRevocationStore::overflows`]). A subject's revoked
    /// ids are bounded too, at 8 times [`RevocationLimits::per_subject`] (a fleet of up to 8
    /// instances racing on one subject stays below it): past it, the next folds into the
    /// subject's cutoff (counted in [`MemoryRevocationStore::folds`]). All only ever refuse
    /// more, never less. A store-wide cutoff recorded elsewhere ([`Revocation::Everyone`]) is
    /// held as a revocation like this instance's own.
    pub fn apply(&self, revocation: &Revocation, now: UnixTime) {
        let now = now.secs();
        match revocation {
            Revocation::Session {
                id,
                subject: None,
                until,
            } => {
                // Locks in the order `revoke` takes them: this instance's shard, then the
                // others'.
                let mut local = write(self.session_shard(id));
                if local.map.contains_key(id) {
                    // This instance's own (read back from the shared stream).
                    local.upsert(*id, |slot| *slot = (*slot).max(Until::new(*until)));
                    return;
                }
                let mut shard = write(self.remote_session_shard(id));
                if !shard.map.contains_key(id) && !self.has_remote_room(1) {
                    self.remote_overflow(
                        "an anonymous session's logout made elsewhere was dropped",
                    );
                    return;
                }
                let added = shard.upsert(*id, |slot| {
                    slot.0 = slot.0.max(Until::new(*until));
                });
                if added {
                    self.remote_usage.fetch_add(1, Ordering::AcqRel);
                }
                let keys = &self.remote_session_count;
                self.track_insert(keys, &mut shard, added, true, now, remote_session_cost);
            }
            Revocation::Session {
                id,
                subject: Some(subject),
                until,
            } => {
                let stamp = subject.generation();
                let name = subject.name();
                let mut shard = write(self.subject_shard(name));
                // A new entry with its one id.
                if !shard.map.contains_key(name)
                    && !self.has_remote_room(new_subject_cost(name) + 1)
                {
                    self.remote_overflow(
                        "a new subject's revocation made elsewhere raised the store-wide cutoff",
                    );
                    self.raise_everyone_here(stamp.next());
                    return;
                }
                let (per_subject, most) = (
                    self.limits.per_subject,
                    self.limits
                        .per_subject
                        .saturating_mul(REMOTE_PER_SUBJECT_FACTOR),
                );
                let mut outcome = Applied::Held;
                self.change_subject(&mut shard, name, true, now, |entry| {
                    if stamp < entry.generation {
                        return; // refused by the cutoff already
                    }
                    entry.prune(now);
                    // The same revocation arrives more than once (its own message, every full
                    // load): held once, with the later deadline.
                    if entry.sessions.iter().any(|held| held.id == *id) {
                        entry.merge_session(*id, stamp, Until::new(*until));
                        return;
                    }
                    // One id more, paid for by the remote room unless this instance's own
                    // room has a slot left for it.
                    let paid = entry.remote || entry.sessions.len() >= per_subject;
                    outcome = if entry.sessions.len() >= most {
                        Applied::Folded
                    } else if paid && !self.has_remote_room(1) {
                        Applied::NoRoom
                    } else {
                        entry.add_session(*id, stamp, Until::new(*until));
                        return;
                    };
                    entry.generation_until = entry.generation_until.max(Until::new(*until));
                    entry.raise_here(stamp.next());
                });
                match outcome {
                    Applied::Held => {}
                    Applied::Folded => {
                        self.folds.fetch_add(1, Ordering::Relaxed);
                    }
                    Applied::NoRoom => self.remote_overflow(
                        "a revoked id made elsewhere folded into its subject's cutoff",
                    ),
                }
            }
            Revocation::Subject {
                subject,
                generation,
                until,
            } => {
                let mut shard = write(self.subject_shard(subject));
                if !shard.map.contains_key(subject.as_str())
                    && !self.has_remote_room(new_subject_cost(subject))
                {
                    self.remote_overflow(
                        "a new subject's revocation made elsewhere raised the store-wide cutoff",
                    );
                    self.raise_everyone_here(*generation);
                    return;
                }
                self.change_subject(&mut shard, subject, true, now, |entry| {
                    entry.generation_until = entry.generation_until.max(Until::new(*until));
                    entry.raise(*generation);
                });
            }
            Revocation::Everyone { generation, until } => {
                self.raise_everyone(*generation, *until);
            }
        }
    }

    /// Finds or makes `subject`'s entry in its `shard` (held locked; a new entry is marked as
    /// recorded elsewhere if `remote`), lets `change` update it, then counts what changed (a
    /// new entry, and what it holds against the remote room) and sweeps the shard if due.
    fn change_subject<S: BuildHasher>(
        &self,
        shard: &mut Shard<Box<str>, SubjectEntry, S>,
        subject: &str,
        remote: bool,
        now: u64,
        change: impl FnOnce(&mut SubjectEntry),
    ) {
        let cost = |shard: &Shard<Box<str>, SubjectEntry, S>| {
            shard
                .map
                .get(subject)
                .map_or(0, |entry| self.subject_cost(subject, entry))
        };
        let before = cost(shard);
        let added = shard.upsert_subject(subject, remote, change);
        let after = cost(shard);
        if after >= before {
            self.remote_usage
                .fetch_add(after - before, Ordering::AcqRel);
        } else {
            self.remote_usage
                .fetch_sub(before - after, Ordering::AcqRel);
        }
        self.track_insert(
            &self.subject_count,
            shard,
            added,
            remote,
            now,
            |name, entry| self.subject_cost(name, entry),
        );
    }

    /// What `subject`'s `entry` holds against [`RevocationLimits::remote_total`]
    /// ([`MemoryRevocationStore::remote_usage`]): all of it if it was recorded first elsewhere;
    /// otherwise the revoked ids past the per-subject limit, which only others' revocations
    /// put there.
    fn subject_cost(&self, subject: &str, entry: &SubjectEntry) -> usize {
        if entry.remote {
            new_subject_cost(subject) + entry.sessions.len()
        } else {
            entry.sessions.len().saturating_sub(self.limits.per_subject)
        }
    }

    fn remote_session_shard(&self, id: &SessionId) -> &RemoteSessionShard {
        &self.remote_sessions[usize::from(id.as_bytes()[0]) % SHARDS]
    }

    fn session_shard(&self, id: &SessionId) -> &SessionShard {
        // Ids are uniformly random (we drew them, and only authenticated ones reach the store),
        // so their first byte spreads them evenly; 256 shards use it whole.
        &self.sessions[usize::from(id.as_bytes()[0]) % SHARDS]
    }

    fn subject_shard(&self, subject: &str) -> &SubjectShard {
        // The remainder is below SHARDS, so it fits any usize.
        #[allow(clippy::cast_possible_truncation)]
        let index = (self.subject_hasher.hash_one(subject) % SHARDS as u64) as usize;
        &self.subjects[index]
    }

    /// Whether one more of this instance's entries fits under the total limit: what others'
    /// revocations hold is not counted ([`RevocationLimits::remote_total`]).
    fn has_room(&self) -> bool {
        let remote = self.remote.load(Ordering::Acquire);
        self.total.load(Ordering::Acquire).saturating_sub(remote) < self.limits.total
    }

    /// Whether `cost` more ([`MemoryRevocationStore::remote_usage`]) fits under the limit on
    /// what is recorded elsewhere.
    fn has_remote_room(&self, cost: usize) -> bool {
        self.remote_usage
            .load(Ordering::Acquire)
            .saturating_add(cost)
            <= self.limits.remote_total
    }

    /// Counts a revocation made elsewhere that found the room for them full; logged when the
    /// count of overflows reaches a power of two, so that a flood can't flood the logs too.
    fn remote_overflow(&self, what: &'static str) {
        let overflows = self.overflows.fetch_add(1, Ordering::Relaxed) + 1;
        if overflows.is_power_of_two() {
            tracing::warn!(
                target: crate::LOG_TARGET,
                event = "revocation_overflow",
                limit = self.limits.remote_total,
                overflows,
                "revocations made elsewhere fill their room: {what} (logged again when the \
                 count of overflows doubles)"
            );
        }
    }

    /// Counts a revocation that found the store full, with its `warn`.
    fn overflow(&self, what: &'static str) {
        let overflows = self.overflows.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            target: crate::LOG_TARGET,
            event = "revocation_overflow",
            limit = self.limits.total,
            overflows,
            "revocation list full: {what}"
        );
    }

    /// The store-wide cutoff checks compare with now.
    fn everyone(&self) -> Generation {
        Generation::new(self.everyone.load(Ordering::Acquire))
    }

    /// The store-wide cutoff as a revocation holds it now (this instance's own, or received).
    fn everyone_shared(&self) -> Generation {
        Generation::new(self.everyone_shared.load(Ordering::Acquire))
    }

    /// Raises the store-wide cutoff, as a revocation, to `generation` (never lowers it), kept
    /// until `until` at least.
    fn raise_everyone(&self, generation: Generation, until: UnixTime) {
        self.everyone_shared
            .fetch_max(generation.get(), Ordering::AcqRel);
        self.everyone_until
            .fetch_max(until.secs(), Ordering::AcqRel);
        self.raise_everyone_here(generation);
    }

    /// Raises the store-wide cutoff that checks compare with, on this copy only: for others'
    /// revocations that found their room full, which are held as revocations where they were
    /// made. Yielded by no [`MemoryRevocationStore::entries`], so that no repair writes it to a
    /// shared store and ends every instance's sessions for one copy's coarsening.
    fn raise_everyone_here(&self, generation: Generation) {
        self.everyone.fetch_max(generation.get(), Ordering::AcqRel);
    }

    /// What a store at its total limit records in place of a new subject's entry: the
    /// store-wide cutoff, raised to `generation`.
    fn overflow_to_everyone(&self, generation: Generation, until: UnixTime) -> Revocation {
        self.overflow("a new subject's revocation raised the store-wide cutoff instead");
        self.raise_everyone(generation, until);
        Revocation::Everyone { generation, until }
    }

    /// Counts what an insert added (a new key, recorded elsewhere if `remote`), then sweeps the
    /// shard if due (`cost`: what a key and its value hold against the remote room). Called
    /// under the shard's write lock, so counts never lag its contents.
    fn track_insert<K, V: Expiring, S>(
        &self,
        keys: &AtomicUsize,
        shard: &mut Shard<K, V, S>,
        added: bool,
        remote: bool,
        now: u64,
        cost: impl Fn(&K, &V) -> usize,
    ) where
        K: Eq + std::hash::Hash,
        S: BuildHasher,
    {
        if added {
            keys.fetch_add(1, Ordering::AcqRel);
            self.total.fetch_add(1, Ordering::AcqRel);
            if remote {
                self.remote.fetch_add(1, Ordering::AcqRel);
            }
        }
        if shard.sweep_due(now) {
            let swept = shard.sweep(now, cost);
            self.forget(keys, swept);
        }
    }

    fn forget(&self, keys: &AtomicUsize, swept: Swept) {
        keys.fetch_sub(swept.keys, Ordering::AcqRel);
        self.total.fetch_sub(swept.keys, Ordering::AcqRel);
        self.remote.fetch_sub(swept.remote, Ordering::AcqRel);
        self.remote_usage
            .fetch_sub(swept.remote_usage, Ordering::AcqRel);
    }
}

impl Default for MemoryRevocationStore {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationStore for MemoryRevocationStore {
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool {
        let now = now.secs();
        match subject {
            Some(subject) => {
                subject.generation() < self.everyone()
                    || (self.subject_count.load(Ordering::Acquire) > 0
                        && read(self.subject_shard(subject.name()))
                            .map
                            .get(subject.name())
                            .is_some_and(|entry| entry.refuses(id, subject.generation(), now)))
            }
            None => {
                (self.session_count.load(Ordering::Acquire) > 0
                    && read(self.session_shard(&id))
                        .map
                        .get(&id)
                        .is_some_and(|until| until.is_live(now)))
                    || (self.remote_session_count.load(Ordering::Acquire) > 0
                        && read(self.remote_session_shard(&id))
                            .map
                            .get(&id)
                            .is_some_and(|until| until.0.is_live(now)))
            }
        }
    }

    fn generation(&self, subject: &str) -> Generation {
        let everyone = self.everyone();
        if self.subject_count.load(Ordering::Acquire) == 0 {
            return everyone;
        }
        read(self.subject_shard(subject))
            .map
            .get(subject)
            .map_or(everyone, |entry| entry.generation.max(everyone))
    }

    fn authentication_stamp(&self, subject: &str, at: Generation) -> Generation {
        let everyone = self.everyone();
        let floor = at.max(everyone.next());
        if self.subject_count.load(Ordering::Acquire) == 0 {
            return floor;
        }
        let mut shard = write(self.subject_shard(subject));
        match shard.map.get_mut(subject) {
            Some(entry) => {
                let stamp = floor.max(entry.generation.next()).max(entry.issued.next());
                entry.issued = stamp;
                stamp
            }
            None => floor,
        }
    }

    fn revoke(
        &self,
        revocation: Revocation,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        let now_secs = now.secs();
        if !Until::new(revocation.until()).is_live(now_secs) {
            return Ok(None);
        }
        match revocation {
            Revocation::Session {
                id,
                subject: None,
                until,
            } => {
                let mut shard = write(self.session_shard(&id));
                if shard
                    .map
                    .get(&id)
                    .is_some_and(|held| held.is_live(now_secs))
                    || (self.remote_session_count.load(Ordering::Acquire) > 0
                        && read(self.remote_session_shard(&id))
                            .map
                            .get(&id)
                            .is_some_and(|held| held.0.is_live(now_secs)))
                {
                    return Err(RevokeError::Superseded {
                        current: Generation::ZERO,
                    });
                }
                if !shard.map.contains_key(&id) && !self.has_room() {
                    self.overflow("an anonymous session's logout was refused");
                    return Err(RevokeError::CapacityExceeded {
                        limit: self.limits.total,
                    });
                }
                let added = shard.upsert(id, |slot| *slot = (*slot).max(Until::new(until)));
                let keys = &self.session_count;
                self.track_insert(keys, &mut shard, added, false, now_secs, local_cost);
                Ok(Some(Revocation::Session {
                    id,
                    subject: None,
                    until,
                }))
            }
            Revocation::Session {
                id,
                subject: Some(subject),
                until,
            } => {
                let stamp = subject.generation();
                let everyone = self.everyone();
                let mut shard = write(self.subject_shard(subject.name()));
                let held = shard.map.get(subject.name());
                if stamp < everyone || held.is_some_and(|e| e.refuses(id, stamp, now_secs)) {
                    let current = held.map_or(everyone, |e| e.generation.max(everyone));
                    return Err(RevokeError::Superseded { current });
                }
                if held.is_none() && !self.has_room() {
                    return Ok(Some(self.overflow_to_everyone(stamp.next(), until)));
                }
                let per_subject = self.limits.per_subject;
                let mut recorded = None;
                self.change_subject(&mut shard, subject.name(), false, now_secs, |entry| {
                    entry.prune(now_secs);
                    if entry.sessions.len() < per_subject {
                        entry.add_session(id, stamp, Until::new(until));
                        recorded = Some(Revocation::Session {
                            id,
                            subject: Some(subject.clone()),
                            until,
                        });
                        return;
                    }
                    // Full: fold into the subject's cutoff, just above this session's stamp.
                    // That refuses it and every session of the subject authenticated up to it
                    // (coarser, never weaker), frees the ids it covers, and never touches a
                    // session authenticated after it.
                    let generation = stamp.next();
                    entry.generation_until = entry.generation_until.max(Until::new(until));
                    entry.raise(generation);
                    // Shared as it stands, a part raised here alone included.
                    entry.raised_here = false;
                    recorded = Some(Revocation::Subject {
                        subject: subject.name().to_owned(),
                        generation: entry.generation,
                        until: entry.generation_until.time(),
                    });
                });
                if matches!(recorded, Some(Revocation::Subject { .. })) {
                    let folds = self.folds.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(
                        target: crate::LOG_TARGET,
                        event = "revocation_fold",
                        per_subject,
                        folds,
                        "a subject's revoked sessions reached the per-subject limit: folded \
                         into its cutoff (its older sessions are logged out too)"
                    );
                }
                Ok(recorded)
            }
            Revocation::Subject {
                subject,
                generation,
                until,
            } => self.raise(&subject, generation, until, now_secs),
            Revocation::Everyone { generation, until } => {
                self.raise_everyone(generation, until);
                Ok(Some(Revocation::Everyone { generation, until }))
            }
        }
    }

    fn advance(
        &self,
        subject: &str,
        cutoff: Cutoff,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        let now_secs = now.secs();
        let everyone = self.everyone();
        // Decided under the shard's write lock: the check of a kept session and the raise are
        // one operation, and the target is computed from the cutoff as it is now.
        let mut shard = write(self.subject_shard(subject));
        let held = shard.map.get(subject);
        let current = held.map_or(Generation::ZERO, |e| e.generation);
        let target = match cutoff {
            Cutoff::Everything { above } => current.max(everyone).max(above).clearing(),
            Cutoff::OlderThan(kept) => {
                if kept.generation() < everyone
                    || held.is_some_and(|e| e.refuses(kept.id(), kept.generation(), now_secs))
                {
                    return Err(RevokeError::Superseded {
                        current: current.max(everyone),
                    });
                }
                kept.generation()
            }
        };
        // Compared with the cutoff a revocation holds: one raised on this copy alone (the
        // store-wide one, or the subject's by a fold of others' revocations) does not make the
        // subject's own cutoff needless elsewhere.
        if held.is_some_and(|e| e.generation >= target && !e.raised_here)
            || target <= self.everyone_shared()
        {
            return Ok(None);
        }
        Ok(Some(
            self.raise_in(&mut shard, subject, target, until, now_secs),
        ))
    }
}

impl MemoryRevocationStore {
    /// [`RevocationStore::revoke`] of a [`Revocation::Subject`]: raises its cutoff.
    fn raise(
        &self,
        subject: &str,
        generation: Generation,
        until: UnixTime,
        now: u64,
    ) -> Result<Option<Revocation>, RevokeError> {
        let mut shard = write(self.subject_shard(subject));
        Ok(Some(
            self.raise_in(&mut shard, subject, generation, until, now),
        ))
    }

    /// Raises `subject`'s cutoff to `generation` in its `shard` (held locked), kept until
    /// `until`; a subject without an entry in a full store raises the store-wide cutoff
    /// instead. Returns what was recorded.
    fn raise_in<S: BuildHasher>(
        &self,
        shard: &mut Shard<Box<str>, SubjectEntry, S>,
        subject: &str,
        generation: Generation,
        until: UnixTime,
        now: u64,
    ) -> Revocation {
        if !shard.map.contains_key(subject) && !self.has_room() {
            return self.overflow_to_everyone(generation, until);
        }
        self.change_subject(shard, subject, false, now, |entry| {
            entry.generation_until = entry.generation_until.max(Until::new(until));
            entry.raise(generation);
        });
        Revocation::Subject {
            subject: subject.to_owned(),
            generation,
            until,
        }
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("len", &self.len())
            .field("remote_len", &self.remote_len())
            .field("remote_usage", &self.remote_usage())
            .field("subjects", &self.subjects())
            .field("everyone", &self.everyone())
            .field("everyone_shared", &self.everyone_shared())
            .field("limits", &self.limits)
            .finish()
    }
}

/// What a subject's entry recorded first elsewhere costs against
/// [`RevocationLimits::remote_total`] before its revoked ids: one, and one per
/// [`NAME_BYTES_PER_UNIT`] bytes of its name.
fn new_subject_cost(subject: &str) -> usize {
    1 + subject.len() / NAME_BYTES_PER_UNIT
}

/// What an entry of this instance's own anonymous sessions costs against the remote room.
fn local_cost(_: &SessionId, _: &Until) -> usize {
    0
}

/// What an anonymous session recorded elsewhere costs against the remote room.
fn remote_session_cost(_: &SessionId, _: &RemoteUntil) -> usize {
    1
}

/// What [`MemoryRevocationStore::apply`] did with a subject's revoked id.
#[derive(Debug, Clone, Copy)]
enum Applied {
    /// Held (or refused by the cutoff already).
    Held,
    /// Folded into the subject's cutoff: the subject holds as many ids as a fleet may list.
    Folded,
    /// Folded into the subject's cutoff: the room for what is recorded elsewhere is full.
    NoRoom,
}

/// Session ids are hashed with rustc-hash's Fx, unkeyed: nobody chooses the keys. Session ids are
/// 128 random bits drawn by this server, and only ids from authenticated cookies or from the
/// application's own shared store reach the map, so no one can craft colliding ids to slow it
/// down. A few multiplies, where the default SipHash runs its rounds over the whole id.
type SessionShard = RwLock<Shard<SessionId, Until, FxBuildHasher>>;
type RemoteSessionShard = RwLock<Shard<SessionId, RemoteUntil, FxBuildHasher>>;
type SubjectShard = RwLock<Shard<Box<str>, SubjectEntry, RandomState>>;

/// What a subject holds: its cutoff, and its individually revoked sessions stamped at or above
/// it (those below are refused by the cutoff already).
#[derive(Debug, Default)]
struct SubjectEntry {
    /// The cutoff: sessions stamped below it are refused.
    generation: Generation,
    /// When the cutoff may be forgotten: every session stamped below it has expired by then.
    generation_until: Until,
    /// The last authentication stamp given out for the subject here
    /// ([`RevocationStore::authentication_stamp`]): the next is above it. Local, never shared.
    issued: Generation,
    sessions: Vec<RevokedSession>,
    /// Recorded first by [`MemoryRevocationStore::apply`]: held against
    /// [`RevocationLimits::remote_total`], ids included. (In the struct's padding: no byte
    /// more.)
    remote: bool,
    /// The cutoff was raised on this copy alone (others' revocations folded into it, past the
    /// room for them) above the highest one shared: an advance it covers is shared all the
    /// same, since other copies don't hold it. (In the padding too.)
    raised_here: bool,
}

/// One individually revoked session of a subject: 28 bytes, aligned to 4 (the stamp is kept
/// as bytes, so that it doesn't pad the item to 32).
#[derive(Debug, Clone, Copy)]
struct RevokedSession {
    id: SessionId,
    /// The session's authentication stamp ([`RevokedSession::stamp`]): once the cutoff passes
    /// it, the cutoff refuses the session and the item can go.
    stamp: [u8; 8],
    until: Until,
}

impl RevokedSession {
    fn new(id: SessionId, stamp: Generation, until: Until) -> Self {
        Self {
            id,
            stamp: stamp.get().to_le_bytes(),
            until,
        }
    }

    fn stamp(&self) -> Generation {
        Generation::new(u64::from_le_bytes(self.stamp))
    }
}

const _: () = assert!(std::mem::size_of::<RevokedSession>() == 28);
// The `remote` flag sits in what was padding: a subject's entry is as large as before it.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<SubjectEntry>() == 48);

impl SubjectEntry {
    fn refuses(&self, id: SessionId, generation: Generation, now: u64) -> bool {
        generation < self.generation
            || self
                .sessions
                .iter()
                .any(|held| held.id == id && held.until.is_live(now))
    }

    /// Moves the cutoff up to `generation` (never down); sessions stamped below it are then
    /// refused by it and let go, their deadlines kept by the cutoff's, so that it refuses them
    /// as long as they did.
    fn raise(&mut self, generation: Generation) {
        if generation >= self.generation {
            // What is shared reaches the cutoff: no copy-only part left above it.
            self.raised_here = false;
        }
        if generation <= self.generation {
            return;
        }
        self.generation = generation;
        let mut until = self.generation_until;
        self.sessions.retain(|held| {
            let covered = held.stamp() < generation;
            if covered {
                until = until.max(held.until);
            }
            !covered
        });
        self.generation_until = until;
        self.release();
    }

    /// [`SubjectEntry::raise`] on this copy alone (a fold of others' revocations): remembered
    /// as above what is shared.
    fn raise_here(&mut self, generation: Generation) {
        if generation > self.generation {
            self.raise(generation);
            self.raised_here = true;
        }
    }

    /// Gives back the slots of dropped sessions: a vector keeps its capacity, and what the
    /// limits count is the sessions held (a subject that held many from elsewhere, then a
    /// cutoff above them, would keep their bytes while counting one).
    fn release(&mut self) {
        if self.sessions.len() < self.sessions.capacity() {
            self.sessions.shrink_to_fit();
        }
    }

    /// Adds a revoked session, or extends its deadline if it is held.
    fn merge_session(&mut self, id: SessionId, stamp: Generation, until: Until) {
        match self.sessions.iter_mut().find(|held| held.id == id) {
            Some(held) => held.until = held.until.max(until),
            None => self.add_session(id, stamp, until),
        }
    }

    /// Adds a revoked session.
    fn add_session(&mut self, id: SessionId, stamp: Generation, until: Until) {
        // Exactly one more slot: most subjects hold one or two, and `push`'s default growth
        // would give the first four (112 bytes where 28 do). At most `per_subject`
        // reallocations.
        self.sessions.reserve_exact(1);
        self.sessions.push(RevokedSession::new(id, stamp, until));
    }

    /// Drops expired sessions.
    fn prune(&mut self, now: u64) {
        self.sessions.retain(|held| held.until.is_live(now));
        self.release();
    }
}

/// What a sweep dropped.
#[derive(Debug, Clone, Copy)]
struct Swept {
    keys: usize,
    /// Of `keys`, those recorded elsewhere.
    remote: usize,
    /// What the dropped keys and what was dropped inside the kept ones held against the remote
    /// room ([`MemoryRevocationStore::remote_usage`]).
    remote_usage: usize,
}

/// One shard: its map and what decides when to sweep it.
struct Shard<K, V, S> {
    map: HashMap<K, V, S>,
    /// Entries left by the last sweep: the map is swept again when it has doubled.
    len_after_sweep: usize,
    /// When the last sweep ran (unix seconds).
    swept_at: u64,
    /// No entry expires before this: a lower bound, so a shard with nothing expired is never
    /// swept.
    earliest: Until,
}

impl<K, V, S: Default> Default for Shard<K, V, S> {
    fn default() -> Self {
        Self {
            map: HashMap::default(),
            len_after_sweep: 0,
            swept_at: 0,
            earliest: Until::FOREVER,
        }
    }
}

/// What a shard needs to know about a value.
trait Expiring: Default {
    /// When the whole value may go.
    fn until(&self) -> Until;
    /// Drops what expired inside the value.
    fn sweep_inside(&mut self, now: u64);
    /// Whether it was recorded elsewhere ([`RevocationLimits::remote_total`]).
    fn remote(&self) -> bool;
}

impl Expiring for Until {
    fn until(&self) -> Until {
        *self
    }

    fn sweep_inside(&mut self, _now: u64) {}

    fn remote(&self) -> bool {
        false
    }
}

/// The deadline of an anonymous session's revocation recorded elsewhere.
#[derive(Clone, Copy, Default, Debug)]
struct RemoteUntil(Until);

impl Expiring for RemoteUntil {
    fn until(&self) -> Until {
        self.0
    }

    fn sweep_inside(&mut self, _now: u64) {}

    fn remote(&self) -> bool {
        true
    }
}

impl Expiring for SubjectEntry {
    fn until(&self) -> Until {
        self.sessions
            .iter()
            .map(|held| held.until)
            .fold(self.generation_until, Until::max)
    }

    fn sweep_inside(&mut self, now: u64) {
        self.prune(now);
    }

    fn remote(&self) -> bool {
        self.remote
    }
}

impl<K: Eq + std::hash::Hash, V: Expiring, S: BuildHasher> Shard<K, V, S> {
    /// Finds or makes `key`'s value, lets `change` update it, and returns whether the key is
    /// new.
    fn upsert(&mut self, key: K, change: impl FnOnce(&mut V)) -> bool {
        let (value, key_added) = match self.map.entry(key) {
            Entry::Occupied(e) => (e.into_mut(), false),
            Entry::Vacant(e) => (e.insert(V::default()), true),
        };
        change(value);
        let until = value.until();
        self.earliest = self.earliest.min(until);
        key_added
    }

    /// Amortised: the doubling rule makes each sweep at least halve what the next must visit;
    /// the time rule bounds how long expired entries linger in a shard that stopped growing.
    fn sweep_due(&self, now: u64) -> bool {
        !self.earliest.is_live(now)
            && (self.map.len() >= 2 * self.len_after_sweep.max(MIN_SWEEP_LEN)
                || now >= self.swept_at.saturating_add(SWEEP_INTERVAL))
    }

    /// Drops what expired; `cost` is what a key and its value hold against the remote room.
    fn sweep(&mut self, now: u64, cost: impl Fn(&K, &V) -> usize) -> Swept {
        let before = self.map.len();
        let mut earliest = Until::FOREVER;
        let (mut remote, mut remote_usage) = (0, 0);
        self.map.retain(|key, value| {
            let held = cost(key, value);
            value.sweep_inside(now);
            let live = value.until().is_live(now);
            if live {
                earliest = earliest.min(value.until());
                remote_usage += held.saturating_sub(cost(key, value));
            } else {
                remote_usage += held;
                if value.remote() {
                    remote += 1;
                }
            }
            live
        });
        let len = self.map.len();
        // Give memory back after a wave of expiries, with room left so the next insert does not
        // grow the table again at once.
        if len * 4 < self.map.capacity() {
            self.map.shrink_to(len);
        }
        self.earliest = earliest;
        self.len_after_sweep = len;
        self.swept_at = now;
        Swept {
            keys: before - len,
            remote,
            remote_usage,
        }
    }
}

impl<S: BuildHasher> Shard<Box<str>, SubjectEntry, S> {
    /// [`Shard::upsert`] for a subject, borrowing the name unless it is new; a new entry is
    /// marked as recorded elsewhere if `remote`.
    fn upsert_subject(
        &mut self,
        subject: &str,
        remote: bool,
        change: impl FnOnce(&mut SubjectEntry),
    ) -> bool {
        if let Some(entry) = self.map.get_mut(subject) {
            change(entry);
            self.earliest = self.earliest.min(entry.until());
            false
        } else {
            self.upsert(subject.into(), |entry| {
                entry.remote = remote;
                change(entry);
            })
        }
    }
}

/// A revocation's deadline in unix seconds, in 4 bytes (these maps hold up to millions).
/// Deadlines past 2106 saturate to [`Until::FOREVER`], which is never dropped: an entry may
/// outlive its need, never the other way round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Debug)]
struct Until(u32);

impl Until {
    const FOREVER: Self = Self(u32::MAX);

    fn new(time: UnixTime) -> Self {
        Self(u32::try_from(time.secs()).unwrap_or(u32::MAX))
    }

    fn is_live(self, now: u64) -> bool {
        self == Self::FOREVER || u64::from(self.0) > now
    }

    fn time(self) -> UnixTime {
        if self == Self::FOREVER {
            UnixTime::MAX
        } else {
            UnixTime::from_secs(u64::from(self.0))
        }
    }
}

// A poisoned lock means a thread panicked between two plain map operations; the map is still
// consistent, and refusing every request afterwards would be worse.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::revocation::{KeptSession, MAX_SUBJECT_LEN};

    const NOW: UnixTime = UnixTime::from_secs(1_000);

    fn t(secs: u64) -> UnixTime {
        UnixTime::from_secs(secs)
    }

    /// Distinct ids spread over every shard.
    fn nth(n: u32, tag: u8) -> SessionId {
        let mut bytes = [tag; 16];
        bytes[..4].copy_from_slice(&n.to_le_bytes());
        SessionId::from_bytes(bytes)
    }

    fn anonymous(id: SessionId, until: u64) -> Revocation {
        Revocation::Session {
            id,
            subject: None,
            until: t(until),
        }
    }

    /// Log out everywhere, above `above`.
    fn everything(above: u64) -> Cutoff {
        Cutoff::Everything {
            above: Generation::new(above),
        }
    }

    /// The cutoff a recorded revocation set.
    fn cutoff_of(recorded: Option<Revocation>) -> Generation {
        match recorded {
            Some(
                Revocation::Subject { generation, .. } | Revocation::Everyone { generation, .. },
            ) => generation,
            other => panic!("not a cutoff: {other:?}"),
        }
    }

    fn of(subject: &Subject, id: SessionId, until: u64) -> Revocation {
        Revocation::Session {
            id,
            subject: Some(subject.clone()),
            until: t(until),
        }
    }

    #[test]
    fn revoked_ids_are_refused_until_their_deadline() {
        let store = MemoryRevocationStore::new();
        store.revoke(anonymous(nth(1, 0), 1_100), NOW).unwrap();
        assert!(store.is_revoked(nth(1, 0), None, t(1_099)));
        assert!(!store.is_revoked(nth(1, 0), None, t(1_100)));
        assert!(!store.is_revoked(nth(2, 0), None, t(1_050)));
    }

    #[test]
    fn a_generation_refuses_older_sessions_only() {
        let store = MemoryRevocationStore::new();
        let old = Subject::new("alice", store.generation("alice").next());
        let next = cutoff_of(
            store
                .advance("alice", everything(0), t(5_000), NOW)
                .unwrap(),
        );
        assert!(next > old.generation());
        assert_eq!(store.generation("alice"), next);
        assert!(store.is_revoked(nth(1, 0), Some(&old), NOW));
        assert!(!store.is_revoked(nth(1, 0), Some(&Subject::new("alice", next)), NOW));
        assert!(!store.is_revoked(nth(1, 0), Some(&Subject::new("bob", Generation::ZERO)), NOW));
        // An older generation never wins over a newer one.
        store
            .revoke(
                Revocation::Subject {
                    subject: "alice".into(),
                    generation: old.generation(),
                    until: t(9_000),
                },
                NOW,
            )
            .unwrap();
        assert_eq!(store.generation("alice"), next);
    }

    #[test]
    fn sign_out_others_never_ends_a_fresher_session() {
        let store = MemoryRevocationStore::new();
        let (older, caller, fresher) = (
            Subject::new("alice", Generation::new(10)),
            Subject::new("alice", Generation::new(20)),
            Subject::new("alice", Generation::new(30)),
        );
        // The caller (a stolen copy, say) signs out others, again and again.
        for _ in 0..3 {
            store
                .advance(
                    "alice",
                    Cutoff::OlderThan(KeptSession::new(nth(2, 0), caller.generation())),
                    t(5_000),
                    NOW,
                )
                .unwrap();
        }
        assert!(store.is_revoked(nth(1, 0), Some(&older), NOW));
        assert!(!store.is_revoked(nth(2, 0), Some(&caller), NOW));
        assert!(!store.is_revoked(nth(3, 0), Some(&fresher), NOW));
        // The fresher session's own sign-out-others ends the caller; the caller's next try is
        // refused and records nothing.
        store
            .advance(
                "alice",
                Cutoff::OlderThan(KeptSession::new(nth(3, 0), fresher.generation())),
                t(5_000),
                NOW,
            )
            .unwrap();
        assert!(store.is_revoked(nth(2, 0), Some(&caller), NOW));
        assert_eq!(
            store.advance(
                "alice",
                Cutoff::OlderThan(KeptSession::new(nth(2, 0), caller.generation())),
                t(5_000),
                NOW,
            ),
            Err(RevokeError::Superseded {
                current: fresher.generation()
            })
        );
        assert!(!store.is_revoked(nth(3, 0), Some(&fresher), NOW));
        // A sign-in now is stamped above the cutoff: fresher than the caller of the last one.
        assert!(store.generation("alice").next() > fresher.generation());
    }

    #[test]
    fn a_kept_session_revoked_by_id_or_cutoff_cannot_sign_out_others() {
        let store = MemoryRevocationStore::new();
        let alice = Subject::new("alice", Generation::new(40));
        store.revoke(of(&alice, nth(2, 0), 5_000), NOW).unwrap();
        assert!(matches!(
            store.advance(
                "alice",
                Cutoff::OlderThan(KeptSession::new(nth(2, 0), alice.generation())),
                t(5_000),
                NOW
            ),
            Err(RevokeError::Superseded { .. })
        ));
        let everywhere = cutoff_of(
            store
                .advance("alice", everything(100), t(5_000), NOW)
                .unwrap(),
        );
        assert!(everywhere > alice.generation());
        assert_eq!(
            store.advance(
                "alice",
                Cutoff::OlderThan(KeptSession::new(nth(3, 0), alice.generation())),
                t(5_000),
                NOW
            ),
            Err(RevokeError::Superseded {
                current: everywhere
            })
        );
    }

    #[test]
    fn a_log_out_everywhere_beats_a_renewal_folded_in_the_same_second() {
        // The fold of a renewal on one instance and a log-out-everywhere on another, the same
        // second: whatever the order the two copies merge them in, the renewed session (which
        // keeps its stamp) is refused.
        let (a, b) = (
            MemoryRevocationStore::with_limits(RevocationLimits::new().per_subject(1)),
            MemoryRevocationStore::new(),
        );
        let renewing = Subject::new("alice", Generation::new(1_000));
        a.revoke(of(&renewing, nth(1, 0), 5_000), NOW).unwrap();
        let fold = a.revoke(of(&renewing, nth(2, 0), 5_000), NOW).unwrap();
        assert!(matches!(fold, Some(Revocation::Subject { .. })));
        let everywhere = b.advance("alice", everything(500), t(5_000), NOW).unwrap();
        for (store, other) in [(&a, &everywhere), (&b, &fold)] {
            store.apply(other.as_ref().unwrap(), NOW);
            assert!(store.is_revoked(nth(3, 0), Some(&renewing), NOW));
        }
        assert_eq!(a.generation("alice"), b.generation("alice"));
    }

    #[test]
    fn applying_the_same_revocations_again_changes_nothing() {
        let store = MemoryRevocationStore::new();
        let alice = Subject::new("alice", Generation::ZERO);
        let revocations = [
            of(&alice, nth(1, 0), 2_000),
            of(&alice, nth(2, 0), 2_500),
            anonymous(nth(3, 0), 2_000),
        ];
        for _ in 0..3 {
            for revocation in &revocations {
                store.apply(revocation, NOW);
            }
        }
        assert_eq!(
            store.len(),
            2,
            "alice (her two sessions inside) and the anonymous one"
        );
        assert_eq!(store.entries(NOW).count(), 3);
    }

    #[test]
    fn a_flood_from_elsewhere_never_takes_the_room_of_this_instances_logouts() {
        // Issue 18: without a bound of their own, other instances' revocations grew the copy
        // past its total, and then every logout here failed.
        let store =
            MemoryRevocationStore::with_limits(RevocationLimits::new().total(2).remote_total(3));
        for n in 0..10 {
            store.apply(&anonymous(nth(n, 1), 2_000), NOW);
            let subject = Subject::new(format!("remote-{n}"), Generation::new(50));
            store.apply(&of(&subject, nth(n, 2), 2_000), NOW);
        }
        // The room holds one anonymous session, and one subject's entry with its id.
        assert_eq!((store.remote_len(), store.remote_usage()), (2, 3));
        assert_eq!(store.len(), 2);
        assert!(store.overflows() >= 18, "{}", store.overflows());
        // Past the room, a subject's revocation made elsewhere refuses more, never less.
        let later = Subject::new("remote-9", Generation::new(50));
        assert!(store.is_revoked(nth(9, 2), Some(&later), NOW));
        assert!(
            store.is_revoked(nth(0, 1), None, NOW),
            "within the room: held"
        );
        // This instance's logouts still have all of theirs.
        let alice = Subject::new("alice", Generation::new(100));
        let recorded = store.revoke(of(&alice, nth(1, 3), 2_000), NOW).unwrap();
        assert!(
            matches!(recorded, Some(Revocation::Session { .. })),
            "{recorded:?}"
        );
        let recorded = store.revoke(anonymous(nth(2, 3), 2_000), NOW).unwrap();
        assert!(
            matches!(recorded, Some(Revocation::Session { .. })),
            "{recorded:?}"
        );
        assert_eq!((store.len(), store.remote_len()), (4, 2));
        // Their own entries coming back (read back from the shared stream) stay theirs.
        store.apply(&anonymous(nth(2, 3), 2_500), NOW);
        store.apply(&of(&alice, nth(1, 3), 2_500), NOW);
        assert_eq!((store.len(), store.remote_len()), (4, 2));
        assert_eq!(store.remote_usage(), 3);
        // A remote copy of an id makes a local logout of it superseded, as a local one does.
        assert!(matches!(
            store.revoke(anonymous(nth(0, 1), 2_000), NOW),
            Err(RevokeError::Superseded { .. })
        ));
        // Sweeping gives each room back what it held.
        assert_eq!(store.sweep(t(3_000)), 4);
        assert_eq!(
            (store.len(), store.remote_len(), store.remote_usage()),
            (0, 0, 0)
        );
        store.apply(&anonymous(nth(5, 4), 4_000), t(3_000));
        assert_eq!((store.remote_len(), store.remote_usage()), (1, 1));
    }

    #[test]
    fn a_flood_of_ids_from_elsewhere_stays_within_the_remote_room() {
        // Attacker review of issue 18: the room counted one per subject, whatever it held, so
        // a Redis writer could push a million subjects with 256 ids each (about 7 GB).
        const ROOM: usize = 1_000;
        let store = MemoryRevocationStore::with_limits(
            RevocationLimits::new().total(10).remote_total(ROOM),
        );
        let bob = Subject::new("bob", Generation::new(10));
        store.revoke(of(&bob, nth(0, 9), 2_000), NOW).unwrap();
        let names: Vec<String> = (0..200)
            .map(|n| format!("remote-{n}"))
            .chain(["bob".to_owned(), "x".repeat(MAX_SUBJECT_LEN)])
            .collect();
        let mut pushed = Vec::new();
        for name in &names {
            for n in 0..100u32 {
                let subject = Subject::new(name.as_str(), Generation::new(100 + u64::from(n)));
                let id = nth(u32::try_from(pushed.len()).unwrap(), 1);
                store.apply(&of(&subject, id, 2_000), NOW);
                pushed.push((subject, id));
            }
        }
        assert!(store.remote_usage() <= ROOM, "{}", store.remote_usage());
        let ids = store
            .entries(NOW)
            .filter(|entry| matches!(entry, Revocation::Session { .. }))
            .count();
        assert!(
            ids <= ROOM + store.limits().per_subject_limit(),
            "{ids} revoked ids held: bob's own room holds 32, the rest is paid by the remote room"
        );
        assert!(store.overflows() > 0);
        // Coarser, never weaker: every id pushed is refused.
        for (subject, id) in &pushed {
            assert!(store.is_revoked(*id, Some(subject), NOW));
        }
        // This instance's logouts are neither refused nor coarsened by the flood (a session
        // signed in here is stamped above the cutoff this copy raised).
        let alice = Subject::new("alice", store.generation("alice").next());
        let recorded = store.revoke(of(&alice, nth(1, 8), 2_000), NOW).unwrap();
        assert!(
            matches!(recorded, Some(Revocation::Session { .. })),
            "{recorded:?}"
        );
        assert!(!store.is_revoked(nth(2, 8), Some(&alice), NOW));
        let recorded = store.revoke(anonymous(nth(3, 8), 2_000), NOW).unwrap();
        assert!(
            matches!(recorded, Some(Revocation::Session { .. })),
            "{recorded:?}"
        );
        // A sweep gives the room back.
        store.sweep(t(2_000));
        assert_eq!((store.remote_usage(), store.remote_len()), (0, 0));
    }

    #[test]
    fn entries_never_yield_a_store_wide_cutoff_raised_only_for_others() {
        // Attacker review of issue 18: a repair writes what `entries` yields back to Redis, so
        // one copy's coarsening for others' revocations became `rev:all` on every instance.
        let store =
            MemoryRevocationStore::with_limits(RevocationLimits::new().total(1).remote_total(1));
        let cutoff = |name: &str, generation| Revocation::Subject {
            subject: name.into(),
            generation: Generation::new(generation),
            until: t(2_000),
        };
        let everyone = |store: &MemoryRevocationStore| {
            store
                .entries(NOW)
                .filter_map(|entry| match entry {
                    Revocation::Everyone { generation, .. } => Some(generation.get()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        // This instance's own overflow (past `total`) is a revocation: yielded.
        store
            .revoke(
                of(&Subject::new("a", Generation::new(600)), nth(2, 0), 2_000),
                NOW,
            )
            .unwrap();
        let recorded = store
            .revoke(
                of(&Subject::new("b", Generation::new(200)), nth(3, 0), 2_000),
                NOW,
            )
            .unwrap();
        assert!(matches!(recorded, Some(Revocation::Everyone { .. })));
        assert_eq!(everyone(&store), [201]);
        // Others' revocations past the room raise this copy's cutoff higher: checked, not
        // yielded.
        store.apply(&cutoff("x", 400), NOW);
        store.apply(&cutoff("y", 500), NOW);
        let carol = Subject::new("carol", Generation::new(499));
        assert!(
            store.is_revoked(nth(1, 0), Some(&carol), NOW),
            "coarser here"
        );
        assert!(store.generation("dave") >= Generation::new(500));
        assert_eq!(everyone(&store), [201]);
        // One received from elsewhere (another instance's `rev:all`) is yielded too.
        store.apply(
            &Revocation::Everyone {
                generation: Generation::new(900),
                until: t(2_000),
            },
            NOW,
        );
        assert_eq!(everyone(&store), [900]);
    }

    #[test]
    fn an_advance_a_fold_of_others_revocations_covers_here_is_still_recorded() {
        // Found by the simulation (seed 31): a sign-out-others on a copy whose cutoff a fold
        // of other instances' revocations had raised to the kept session's stamp recorded
        // nothing, so Redis and the other instances never got the cutoff it was answered `Ok`
        // for; an older session went on being served elsewhere.
        let store = MemoryRevocationStore::with_limits(RevocationLimits::new().per_subject(1));
        let pushed = REMOTE_PER_SUBJECT_FACTOR + 1;
        for n in 0..pushed {
            let stamp = Generation::new(100 + u64::try_from(n).unwrap());
            let id = nth(u32::try_from(n).unwrap(), 7);
            store.apply(&of(&Subject::new("alice", stamp), id, 2_000), NOW);
        }
        assert!(store.folds() > 0);
        let raised_here = store.generation("alice");
        assert!(raised_here > Generation::new(100), "{raised_here:?}");
        let kept = KeptSession::new(nth(99, 7), raised_here);
        let advance = |store: &MemoryRevocationStore| {
            store
                .advance("alice", Cutoff::OlderThan(kept), t(2_000), NOW)
                .unwrap()
        };
        assert_eq!(
            advance(&store),
            Some(Revocation::Subject {
                subject: "alice".into(),
                generation: raised_here,
                until: t(2_000),
            }),
            "recorded, to be shared: the fold is this copy's alone"
        );
        assert_eq!(store.generation("alice"), raised_here, "never lowered");
        // Once what is shared reaches the cutoff, the same advance needs no write.
        assert_eq!(advance(&store), None);
    }

    #[test]
    fn one_subjects_revocations_from_elsewhere_fold_past_the_per_subject_limit() {
        // Issue 18: one subject's list from elsewhere was unbounded, and O(n^2) to build.
        let store = MemoryRevocationStore::with_limits(RevocationLimits::new().per_subject(4));
        let stamps: Vec<Subject> = (0..1_000u64)
            .map(|n| Subject::new("alice", Generation::new(100 + n)))
            .collect();
        for (n, subject) in (0u32..).zip(&stamps) {
            store.apply(&of(subject, nth(n, 5), 2_000), NOW);
        }
        assert!(store.folds() > 0);
        let shard = read(store.subject_shard("alice"));
        let entry = shard.map.get("alice").unwrap();
        assert!(
            entry.sessions.len() <= 4 * REMOTE_PER_SUBJECT_FACTOR,
            "{}",
            entry.sessions.len()
        );
        drop(shard);
        for (n, subject) in (0u32..).zip(&stamps) {
            assert!(store.is_revoked(nth(n, 5), Some(subject), NOW), "{n}");
        }
        let fresher = Subject::new("alice", Generation::new(5_000));
        assert!(!store.is_revoked(nth(0, 6), Some(&fresher), NOW));
        assert_eq!((store.len(), store.remote_len()), (1, 1));
    }

    #[test]
    fn a_generation_that_covers_revoked_sessions_lasts_as_long_as_they_do() {
        let store = MemoryRevocationStore::new();
        let alice = Subject::new("alice", Generation::ZERO);
        // A late session revocation, then an advance with an earlier deadline (another
        // instance's, whose horizon came first).
        store.apply(&of(&alice, nth(1, 0), 9_000), NOW);
        store.apply(
            &Revocation::Subject {
                subject: "alice".into(),
                generation: Generation::new(8),
                until: t(2_000),
            },
            NOW,
        );
        store.sweep(t(5_000));
        assert!(store.is_revoked(nth(1, 0), Some(&alice), t(5_000)));
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.entries(t(5_000)).count(),
            1,
            "the cutoff alone, until 9000"
        );
    }

    #[test]
    fn past_the_per_subject_limit_a_revocation_folds_into_the_cutoff() {
        let store = MemoryRevocationStore::with_limits(RevocationLimits::new().per_subject(4));
        let alice = Subject::new("alice", Generation::new(100));
        let fresher = Subject::new("alice", Generation::new(200));
        for n in 0..3 {
            let recorded = store.revoke(of(&alice, nth(n, 0), 2_000), NOW).unwrap();
            assert!(matches!(recorded, Some(Revocation::Session { .. })));
        }
        store.revoke(of(&fresher, nth(3, 0), 2_000), NOW).unwrap();
        assert_eq!(store.len(), 1, "a subject counts once, whatever it revoked");
        let recorded = store.revoke(of(&alice, nth(4, 0), 2_000), NOW).unwrap();
        assert_eq!(cutoff_of(recorded), alice.generation().next());
        assert_eq!(store.folds(), 1);
        for n in 0..5 {
            assert!(store.is_revoked(nth(n, 0), Some(&alice), NOW));
        }
        // The fold never touches a session authenticated after the folded one, and keeps the
        // revoked id of one.
        assert!(!store.is_revoked(nth(8, 0), Some(&fresher), NOW));
        assert!(store.is_revoked(nth(3, 0), Some(&fresher), NOW));
        // Revoking a session the cutoff already covers records nothing.
        assert!(matches!(
            store.revoke(of(&alice, nth(9, 0), 2_000), NOW),
            Err(RevokeError::Superseded { .. })
        ));
    }

    #[test]
    fn a_full_store_never_refuses_a_signed_in_logout() {
        let store = MemoryRevocationStore::with_limits(RevocationLimits::new().total(3));
        store.revoke(anonymous(nth(1, 0), 2_000), NOW).unwrap();
        let alice = Subject::new("alice", Generation::new(100));
        store.revoke(of(&alice, nth(2, 0), 2_000), NOW).unwrap();
        store
            .advance("carol", everything(0), t(2_000), NOW)
            .unwrap();
        assert_eq!(store.len(), 3);
        // An anonymous session can't be listed: typed, counted.
        assert_eq!(
            store.revoke(anonymous(nth(3, 0), 2_000), NOW),
            Err(RevokeError::CapacityExceeded { limit: 3 })
        );
        // A new subject's logout raises the store-wide cutoff instead: coarser, never refused.
        let bob = Subject::new("bob", Generation::new(150));
        let recorded = store.revoke(of(&bob, nth(4, 0), 2_000), NOW).unwrap();
        assert!(matches!(recorded, Some(Revocation::Everyone { .. })));
        assert!(store.is_revoked(nth(4, 0), Some(&bob), NOW));
        assert!(store.is_revoked(nth(5, 0), Some(&alice), NOW), "coarser");
        let later = Subject::new("bob", Generation::new(151));
        assert!(
            !store.is_revoked(nth(6, 0), Some(&later), NOW),
            "never fresher ones"
        );
        // A new subject's log-out-everywhere too; a sign-in afterwards is stamped above it.
        let recorded = store
            .advance("dave", everything(900), t(2_000), NOW)
            .unwrap();
        assert!(matches!(recorded, Some(Revocation::Everyone { .. })));
        assert!(store.generation("erin") > Generation::new(900));
        assert_eq!(store.overflows(), 3);
        assert_eq!(store.len(), 3, "the count never passes the limit");
        // A subject that already has an entry still gets its own cutoff.
        store
            .advance("carol", everything(5_000), t(2_000), NOW)
            .unwrap();
        assert!(store.generation("carol") > Generation::new(5_000));
    }

    #[test]
    fn expired_entries_are_swept_and_counted_out() {
        let store = MemoryRevocationStore::new();
        for n in 0..5_000u32 {
            store.revoke(anonymous(nth(n, 0), 1_010), NOW).unwrap();
        }
        let alice = Subject::new("alice", Generation::ZERO);
        store.revoke(of(&alice, nth(1, 9), 1_010), NOW).unwrap();
        store.advance("bob", everything(0), t(3_000), NOW).unwrap();
        assert_eq!(store.len(), 5_002);
        assert_eq!(store.sweep(t(1_010)), 5_001);
        assert_eq!(store.len(), 1);
        assert_eq!(store.subjects(), 1);
        assert!(store.generation("bob") > Generation::ZERO);
        assert_eq!(store.sweep(t(3_000)), 1);
        assert!(store.is_empty());
        assert_eq!(store.generation("bob"), Generation::ZERO);
    }

    #[test]
    fn writes_sweep_a_shard_that_stopped_growing() {
        let store = MemoryRevocationStore::new();
        let (a, b, c) = (nth(1, 0), nth(1, 1), nth(1, 2));
        // Same shard (first byte 1).
        store.revoke(anonymous(a, 1_100), NOW).unwrap();
        store.revoke(anonymous(b, 90_000), NOW).unwrap();
        store
            .revoke(anonymous(c, 90_000), t(1_100 + SWEEP_INTERVAL))
            .unwrap();
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn deadlines_past_2106_never_expire() {
        let store = MemoryRevocationStore::new();
        store.revoke(anonymous(nth(1, 0), u64::MAX), NOW).unwrap();
        let far = t(u64::from(u32::MAX) + 1_000);
        assert!(store.is_revoked(nth(1, 0), None, far));
        assert_eq!(store.sweep(far), 0);
        assert_eq!(
            store.entries(far).next().map(|r| r.until()),
            Some(UnixTime::MAX)
        );
    }

    #[test]
    fn entries_and_apply_copy_a_store() {
        let (from, to) = (MemoryRevocationStore::new(), MemoryRevocationStore::new());
        for n in 0..600u32 {
            from.revoke(
                anonymous(nth(n, 0), if n < 100 { 1_050 } else { 1_500 }),
                NOW,
            )
            .unwrap();
        }
        let alice = Subject::new("alice", Generation::ZERO);
        from.revoke(of(&alice, nth(1, 7), 1_500), NOW).unwrap();
        let bob = cutoff_of(from.advance("bob", everything(0), t(1_500), NOW).unwrap());
        let later = t(1_060);
        for revocation in from.entries(later) {
            to.apply(&revocation, later);
        }
        assert_eq!(to.len(), 500 + 2);
        assert!(to.is_revoked(nth(100, 0), None, later));
        assert!(!to.is_revoked(nth(99, 0), None, later));
        assert!(to.is_revoked(nth(1, 7), Some(&alice), later));
        assert_eq!(to.generation("bob"), bob);
    }

    #[test]
    fn apply_keeps_the_larger_generation_whatever_the_order() {
        let store = MemoryRevocationStore::new();
        for generation in [5, 9, 3] {
            store.apply(
                &Revocation::Subject {
                    subject: "carol".into(),
                    generation: Generation::new(generation),
                    until: t(2_000),
                },
                NOW,
            );
        }
        assert_eq!(store.generation("carol"), Generation::new(9));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn concurrent_checks_and_revocations_agree() {
        const THREADS: u32 = 8;
        const PER_THREAD: u32 = 5_000;
        let store = MemoryRevocationStore::new();
        let barrier = Barrier::new(THREADS as usize);
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let (store, barrier) = (&store, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let tag = u8::try_from(t).unwrap();
                    for n in 0..PER_THREAD {
                        let mine = nth(n, tag);
                        assert!(!store.is_revoked(mine, None, NOW));
                        store.revoke(anonymous(mine, 9_000), NOW).unwrap();
                        assert!(store.is_revoked(mine, None, NOW));
                        if n % 1_000 == 0 {
                            store
                                .advance(
                                    &format!("user-{t}"),
                                    everything(0),
                                    UnixTime::from_secs(9_000),
                                    NOW,
                                )
                                .unwrap();
                        }
                    }
                });
            }
        });
        assert_eq!(
            store.len(),
            (THREADS * PER_THREAD) as usize + THREADS as usize
        );
        for t in 0..THREADS {
            let tag = u8::try_from(t).unwrap();
            assert!((0..PER_THREAD).all(|n| store.is_revoked(nth(n, tag), None, NOW)));
            let stale = Subject::new(format!("user-{t}"), Generation::ZERO);
            assert!(store.is_revoked(nth(0, 0), Some(&stale), NOW));
        }
    }

    #[test]
    fn id_hasher_spreads_the_low_bits_the_table_indexes_with() {
        // All ids of one shard share their first byte; the low bits of the hash must still take
        // every value of a 1024-bucket table, whichever half of the id the differences are in.
        for at in [1, 9] {
            let buckets: std::collections::HashSet<u64> = (0..10_000u32)
                .map(|n| {
                    let mut bytes = [7u8; 16];
                    bytes[at..at + 4].copy_from_slice(&n.to_le_bytes());
                    FxBuildHasher.hash_one(SessionId::from_bytes(bytes)) & 1023
                })
                .collect();
            assert_eq!(buckets.len(), 1024, "ids differing from byte {at}");
        }
    }
}
