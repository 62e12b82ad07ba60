//! The embedded revocation store: sharded in-process maps with bounded size.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crossbeam_utils::CachePadded;
use rustc_hash::FxBuildHasher;

use super::{Generation, KeptSession, Revocation, RevocationStore, RevokeError, Subject};
use crate::state::SessionId;
use crate::unix::UnixTime;

/// Shards of each map. Many, so that a sweep holds one lock over a small part of the store and
/// concurrent checks rarely meet on a lock.
const SHARDS: usize = 256;
/// A shard holding expired entries is swept on a write at least this often (seconds), so a store
/// that stops growing still lets its expired entries go.
const SWEEP_INTERVAL: u64 = 60;
/// Below this many entries a shard is only swept by time: sweeping tiny maps saves nothing.
const MIN_SWEEP_LEN: usize = 64;

/// How much a [`MemoryRevocationStore`] may hold.
///
/// # Defaults
/// - `per_subject`: 32 individually revoked sessions per subject; the next one advances the
///   subject's generation instead (logging out that subject's other sessions too) and frees
///   the 32 entries.
/// - `total`: 1,000,000 entries (sessions and subjects together, about 100 MB at most; the
///   measured bytes per entry are in [`crate::guide::revocation`]).
///
/// ```
/// use sealed_session::{MemoryRevocationStore, RevocationLimits};
///
/// let store = MemoryRevocationStore::with_limits(RevocationLimits::new().per_subject(8).total(10_000));
/// assert_eq!(store.limits().total_limit(), 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationLimits {
    per_subject: usize,
    total: usize,
}

impl RevocationLimits {
    /// The [defaults](RevocationLimits#defaults).
    pub const fn new() -> Self {
        Self {
            per_subject: 32,
            total: 1_000_000,
        }
    }

    /// Individually revoked sessions kept per subject before the next one advances the
    /// subject's generation instead. At least 1.
    #[must_use]
    pub const fn per_subject(mut self, limit: usize) -> Self {
        self.per_subject = if limit == 0 { 1 } else { limit };
        self
    }

    /// Entries held at most; past it, a revocation that needs a new entry fails with
    /// [`RevokeError::CapacityExceeded`] (one that can fold into an existing subject's
    /// generation still succeeds).
    #[must_use]
    pub const fn total(mut self, limit: usize) -> Self {
        self.total = limit;
        self
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
/// - A check of a signed-in session takes a read lock on one of 256 subject shards and does one
///   lookup, unless no subject has any entry (one atomic load). A session without a subject
///   looks up one of 256 session shards the same way, unless no such session is revoked.
/// - Revoked sessions of a subject are kept with the subject (at most
///   [`RevocationLimits::per_subject`] of them), so memory grows with the number of users
///   who logged out within an absolute timeout, not with the number of logouts.
/// - Expired entries are swept one shard at a time, on writes, when a shard holding expired
///   entries has doubled since its last sweep or was last swept a minute ago; checks never
///   sweep. [`MemoryRevocationStore::sweep`] sweeps every shard in turn, for a background task.
///
/// ```
/// use sealed_session::{MemoryRevocationStore, Revocation, RevocationStore, SessionId, UnixTime};
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
    /// Subjects with a generation or revoked sessions.
    subjects: Box<[CachePadded<SubjectShard>]>,
    /// Picks a subject's shard; keyed, so subjects can't be chosen to crowd one shard.
    subject_hasher: RandomState,
    /// Entries in `sessions`: checks skip the maps while it is zero (the common case).
    session_count: AtomicUsize,
    /// Entries in `subjects`.
    subject_count: AtomicUsize,
    /// Everything held: sessions of both kinds and subjects, against `limits.total`.
    total: AtomicUsize,
    /// Revocations refused because the store was full.
    overflows: AtomicU64,
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
            subjects: (0..SHARDS).map(|_| CachePadded::default()).collect(),
            subject_hasher: RandomState::new(),
            session_count: AtomicUsize::new(0),
            subject_count: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            overflows: AtomicU64::new(0),
        }
    }

    /// The limits.
    pub fn limits(&self) -> RevocationLimits {
        self.limits
    }

    /// Entries held (revoked sessions of both kinds, and subjects), including not yet swept
    /// ones.
    pub fn len(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Subjects held.
    pub fn subjects(&self) -> usize {
        self.subject_count.load(Ordering::Acquire)
    }

    /// How many revocations were refused with [`RevokeError::CapacityExceeded`] since the store
    /// was made: the metric to alert on.
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
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
            let swept = shard.sweep(now);
            self.forget(&self.session_count, swept.keys, swept.items);
            removed += swept.items;
        }
        for shard in self.subjects.iter() {
            let mut shard = write(shard);
            let swept = shard.sweep(now);
            self.forget(&self.subject_count, swept.keys, swept.items);
            removed += swept.items;
        }
        removed
    }

    /// Every entry still in force at `now`, as [`Revocation`]s: to seed a shared store from this
    /// one, or to find what another copy lacks.
    ///
    /// Shards are copied one at a time, as the iterator reaches them, and no lock is held
    /// between items, so checks and revocations go on meanwhile (entries added during the
    /// iteration may or may not be included).
    ///
    /// ```
    /// use sealed_session::{MemoryRevocationStore, Revocation, RevocationStore, SessionId, UnixTime};
    ///
    /// let store = MemoryRevocationStore::new();
    /// let now = UnixTime::from_secs(1_000);
    /// let id = SessionId::random()?;
    /// store.revoke(Revocation::Session { id, subject: None, until: UnixTime::from_secs(2_000) }, now)?;
    /// store.advance("alice", None, UnixTime::from_secs(2_000), now)?;
    /// assert_eq!(store.entries(now).count(), 2);
    /// assert_eq!(store.entries(UnixTime::from_secs(2_000)).count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entries(&self, now: UnixTime) -> impl Iterator<Item = Revocation> + '_ {
        let now_secs = now.secs();
        let sessions = self.sessions.iter().flat_map(move |shard| {
            read(shard)
                .map
                .iter()
                .filter(|(_, until)| until.is_live(now_secs))
                .map(|(id, until)| Revocation::Session {
                    id: *id,
                    subject: None,
                    until: until.time(),
                })
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
                let subject = Subject::new(name.to_string(), entry.generation);
                out.extend(
                    entry
                        .sessions
                        .iter()
                        .filter(|(_, until)| until.is_live(now_secs))
                        .map(|(id, until)| Revocation::Session {
                            id: *id,
                            subject: Some(subject.clone()),
                            until: until.time(),
                        }),
                );
            }
            out
        });
        sessions.chain(subjects)
    }

    /// Records a revocation made elsewhere (another instance's, read from a shared store), as
    /// [`RevocationStore::revoke`] and [`RevocationStore::advance`] would have recorded it at its
    /// origin: generations merge by keeping the larger, and neither the per-subject nor the
    /// total limit folds or refuses it (the instance that made it enforced them).
    pub fn apply(&self, revocation: &Revocation, now: UnixTime) {
        let now = now.secs();
        match revocation {
            Revocation::Session {
                id,
                subject: None,
                until,
            } => {
                let mut shard = write(self.session_shard(id));
                let added = shard.upsert(*id, now, |slot| {
                    *slot = (*slot).max(Until::new(*until));
                });
                self.track_insert(&self.session_count, &mut shard, added, now);
            }
            Revocation::Session {
                id,
                subject: Some(subject),
                until,
            } => {
                let mut shard = write(self.subject_shard(subject.name()));
                let added = shard.upsert_subject(subject.name(), now, |entry| {
                    let delta = entry.raise(subject.generation());
                    if subject.generation() < entry.generation {
                        return delta;
                    }
                    // The same revocation arrives more than once (its own message, every full
                    // load): held once, with the later deadline.
                    delta.wrapping_add(entry.merge_session(*id, Until::new(*until)))
                });
                self.track_insert(&self.subject_count, &mut shard, added, now);
            }
            Revocation::Subject {
                subject,
                generation,
                until,
            } => {
                let mut shard = write(self.subject_shard(subject));
                let added = shard.upsert_subject(subject, now, |entry| {
                    entry.generation_until = entry.generation_until.max(Until::new(*until));
                    entry.raise(*generation)
                });
                self.track_insert(&self.subject_count, &mut shard, added, now);
            }
        }
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

    /// Whether `more` entries fit under the total limit.
    fn has_room(&self, more: usize) -> bool {
        self.total.load(Ordering::Acquire).saturating_add(more) <= self.limits.total
    }

    fn overflow(&self) -> RevokeError {
        let overflows = self.overflows.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            target: crate::LOG_TARGET,
            event = "revocation_overflow",
            limit = self.limits.total,
            overflows,
            "revocation list full: a logout could not be recorded"
        );
        RevokeError::CapacityExceeded {
            limit: self.limits.total,
        }
    }

    /// Counts what an insert added (`added`: a new key and how many items), then sweeps the
    /// shard if due. Called under the shard's write lock, so counts never lag its contents.
    fn track_insert<K, V: Expiring, S>(
        &self,
        keys: &AtomicUsize,
        shard: &mut Shard<K, V, S>,
        added: Added,
        now: u64,
    ) where
        K: Eq + std::hash::Hash,
        S: BuildHasher,
    {
        if added.key {
            keys.fetch_add(1, Ordering::AcqRel);
        }
        self.total.fetch_add(added.items, Ordering::AcqRel);
        if shard.sweep_due(now) {
            let swept = shard.sweep(now);
            self.forget(keys, swept.keys, swept.items);
        }
    }

    fn forget(&self, keys: &AtomicUsize, removed_keys: usize, removed_items: usize) {
        keys.fetch_sub(removed_keys, Ordering::AcqRel);
        self.total.fetch_sub(removed_items, Ordering::AcqRel);
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
                self.subject_count.load(Ordering::Acquire) > 0
                    && read(self.subject_shard(subject.name()))
                        .map
                        .get(subject.name())
                        .is_some_and(|entry| entry.refuses(id, subject.generation(), now))
            }
            None => {
                self.session_count.load(Ordering::Acquire) > 0
                    && read(self.session_shard(&id))
                        .map
                        .get(&id)
                        .is_some_and(|until| until.is_live(now))
            }
        }
    }

    fn generation(&self, subject: &str) -> Generation {
        if self.subject_count.load(Ordering::Acquire) == 0 {
            return Generation::ZERO;
        }
        read(self.subject_shard(subject))
            .map
            .get(subject)
            .map_or(Generation::ZERO, |entry| entry.generation)
    }

    fn revoke(
        &self,
        revocation: Revocation,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        let now_secs = now.secs();
        match revocation {
            Revocation::Session {
                id,
                subject: None,
                until,
            } => {
                if !Until::new(until).is_live(now_secs) {
                    return Ok(None);
                }
                let mut shard = write(self.session_shard(&id));
                if !shard.map.contains_key(&id) && !self.has_room(1) {
                    return Err(self.overflow());
                }
                let added = shard.upsert(id, now_secs, |slot| {
                    *slot = (*slot).max(Until::new(until));
                });
                self.track_insert(&self.session_count, &mut shard, added, now_secs);
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
                let mut shard = write(self.subject_shard(subject.name()));
                let exists = shard.map.contains_key(subject.name());
                // A new subject takes an entry and the session another.
                if !exists && !self.has_room(2) {
                    return Err(self.overflow());
                }
                let per_subject = self.limits.per_subject;
                let room = self.has_room(1);
                let mut recorded = None;
                let added = shard.upsert_subject(subject.name(), now_secs, |entry| {
                    let mut delta = entry.raise(subject.generation());
                    if subject.generation() < entry.generation {
                        // Already refused through the generation.
                        return delta;
                    }
                    delta = delta.wrapping_add(entry.prune(now_secs));
                    if entry.holds(id) || !Until::new(until).is_live(now_secs) {
                        return delta;
                    }
                    if entry.sessions.len() < per_subject && room {
                        recorded = Some(Revocation::Session {
                            id,
                            subject: Some(subject.clone()),
                            until,
                        });
                        return delta.wrapping_add(entry.add_session(id, Until::new(until)));
                    }
                    // Full (for this subject, or the whole store): fold the subject's revoked
                    // sessions into one generation advance, which also refuses this one.
                    let generation = entry.generation.advanced(now);
                    entry.generation_until = entry.generation_until.max(Until::new(until));
                    recorded = Some(Revocation::Subject {
                        subject: subject.name().to_owned(),
                        generation,
                        until: entry.generation_until.time(),
                    });
                    delta.wrapping_add(entry.raise(generation))
                });
                self.track_insert(&self.subject_count, &mut shard, added, now_secs);
                Ok(recorded)
            }
            Revocation::Subject {
                subject,
                generation,
                until,
            } => {
                let mut shard = write(self.subject_shard(&subject));
                if !shard.map.contains_key(subject.as_str()) && !self.has_room(1) {
                    return Err(self.overflow());
                }
                let added = shard.upsert_subject(&subject, now_secs, |entry| {
                    entry.generation_until = entry.generation_until.max(Until::new(until));
                    entry.raise(generation)
                });
                self.track_insert(&self.subject_count, &mut shard, added, now_secs);
                Ok(Some(Revocation::Subject {
                    subject,
                    generation,
                    until,
                }))
            }
        }
    }

    fn advance(
        &self,
        subject: &str,
        keeping: Option<KeptSession>,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Generation, RevokeError> {
        let now_secs = now.secs();
        let mut shard = write(self.subject_shard(subject));
        let entry = shard.map.get(subject);
        let mut current = entry.map_or(Generation::ZERO, |entry| entry.generation);
        if let Some(kept) = keeping {
            // Compare and set: the kept session must still be in force, checked under the same
            // lock as the advance. A session carrying a newer generation than this store holds
            // (the entry was dropped, or another instance's advance has not arrived yet) proves
            // that generation was current: advance from it.
            let revoked = entry.is_some_and(|e| e.refuses(kept.id(), kept.generation(), now_secs));
            if revoked {
                return Err(RevokeError::Superseded { current });
            }
            current = current.max(kept.generation());
        }
        if !shard.map.contains_key(subject) && !self.has_room(1) {
            return Err(self.overflow());
        }
        let generation = if keeping.is_some() {
            current.advanced_keeping(now)
        } else {
            current.advanced(now)
        };
        let added = shard.upsert_subject(subject, now_secs, |entry| {
            entry.generation_until = entry.generation_until.max(Until::new(until));
            entry.raise(generation)
        });
        self.track_insert(&self.subject_count, &mut shard, added, now_secs);
        Ok(generation)
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("len", &self.len())
            .field("subjects", &self.subjects())
            .field("limits", &self.limits)
            .finish()
    }
}

/// Session ids are hashed with rustc-hash's Fx, unkeyed: nobody chooses the keys. Session ids are
/// 128 random bits drawn by this server, and only ids from authenticated cookies or from the
/// application's own shared store reach the map, so no one can craft colliding ids to slow it
/// down. A few multiplies, where the default SipHash runs its rounds over the whole id.
type SessionShard = RwLock<Shard<SessionId, Until, FxBuildHasher>>;
type SubjectShard = RwLock<Shard<Box<str>, SubjectEntry, RandomState>>;

/// What a subject holds: its generation, and its individually revoked sessions of that
/// generation (older ones are refused by the generation already).
#[derive(Debug, Default)]
struct SubjectEntry {
    generation: Generation,
    /// When the generation may be forgotten: every session older than it has expired by then.
    generation_until: Until,
    sessions: Vec<(SessionId, Until)>,
}

impl SubjectEntry {
    fn refuses(&self, id: SessionId, generation: Generation, now: u64) -> bool {
        generation < self.generation
            || self
                .sessions
                .iter()
                .any(|(held, until)| *held == id && until.is_live(now))
    }

    fn holds(&self, id: SessionId) -> bool {
        self.sessions.iter().any(|(held, _)| *held == id)
    }

    /// Moves the generation up to `generation` (never down); sessions revoked under the old one
    /// are then covered by it and let go, their deadlines kept by the generation's, so that it
    /// refuses them as long as they did. Returns the change in items held (zero or negative, as
    /// a wrapping count).
    fn raise(&mut self, generation: Generation) -> usize {
        if generation <= self.generation {
            return 0;
        }
        self.generation = generation;
        let freed = self.sessions.len();
        self.generation_until = self
            .sessions
            .iter()
            .map(|(_, until)| *until)
            .fold(self.generation_until, Until::max);
        self.sessions = Vec::new();
        freed.wrapping_neg()
    }

    /// Adds a revoked session, or extends its deadline if it is held; returns the items added.
    fn merge_session(&mut self, id: SessionId, until: Until) -> usize {
        match self.sessions.iter_mut().find(|(held, _)| *held == id) {
            Some((_, held)) => {
                *held = (*held).max(until);
                0
            }
            None => self.add_session(id, until),
        }
    }

    /// Adds a revoked session; returns the items added.
    fn add_session(&mut self, id: SessionId, until: Until) -> usize {
        // Exactly one more slot: most subjects hold one or two, and `push`'s default growth
        // would give the first four (80 bytes where 20 do). At most `per_subject` reallocations.
        self.sessions.reserve_exact(1);
        self.sessions.push((id, until));
        1
    }

    /// Drops expired sessions; returns the change in items (negative, wrapping).
    fn prune(&mut self, now: u64) -> usize {
        let before = self.sessions.len();
        self.sessions.retain(|(_, until)| until.is_live(now));
        (before - self.sessions.len()).wrapping_neg()
    }
}

/// What an insert added to a shard.
#[derive(Debug, Clone, Copy)]
struct Added {
    /// A new key.
    key: bool,
    /// Items added, the key included (wrapping: a change may free items).
    items: usize,
}

/// What a sweep dropped.
struct Swept {
    keys: usize,
    items: usize,
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
    /// Items the value counts for against the total limit, itself included.
    fn items(&self) -> usize;
    /// Drops what expired inside the value; returns how many items.
    fn sweep_inside(&mut self, now: u64) -> usize;
}

impl Expiring for Until {
    fn until(&self) -> Until {
        *self
    }

    fn items(&self) -> usize {
        1
    }

    fn sweep_inside(&mut self, _now: u64) -> usize {
        0
    }
}

impl Expiring for SubjectEntry {
    fn until(&self) -> Until {
        self.sessions
            .iter()
            .map(|(_, until)| *until)
            .fold(self.generation_until, Until::max)
    }

    fn items(&self) -> usize {
        1 + self.sessions.len()
    }

    fn sweep_inside(&mut self, now: u64) -> usize {
        self.prune(now).wrapping_neg()
    }
}

impl<K: Eq + std::hash::Hash, V: Expiring, S: BuildHasher> Shard<K, V, S> {
    /// Finds or makes `key`'s value, lets `change` update it, and returns what was added.
    fn upsert(&mut self, key: K, now: u64, change: impl FnOnce(&mut V)) -> Added {
        let _ = now;
        let (value, key_added) = match self.map.entry(key) {
            Entry::Occupied(e) => (e.into_mut(), false),
            Entry::Vacant(e) => (e.insert(V::default()), true),
        };
        change(value);
        let until = value.until();
        self.earliest = self.earliest.min(until);
        Added {
            key: key_added,
            items: usize::from(key_added),
        }
    }

    /// Amortised: the doubling rule makes each sweep at least halve what the next must visit;
    /// the time rule bounds how long expired entries linger in a shard that stopped growing.
    fn sweep_due(&self, now: u64) -> bool {
        !self.earliest.is_live(now)
            && (self.map.len() >= 2 * self.len_after_sweep.max(MIN_SWEEP_LEN)
                || now >= self.swept_at.saturating_add(SWEEP_INTERVAL))
    }

    fn sweep(&mut self, now: u64) -> Swept {
        let before = self.map.len();
        let mut items = 0;
        let mut earliest = Until::FOREVER;
        self.map.retain(|_, value| {
            items += value.sweep_inside(now);
            let live = value.until().is_live(now);
            if live {
                earliest = earliest.min(value.until());
            } else {
                items += value.items();
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
            items,
        }
    }
}

impl<S: BuildHasher> Shard<Box<str>, SubjectEntry, S> {
    /// [`Shard::upsert`] for a subject, borrowing the name unless it is new; `change` returns
    /// the change in items inside the entry (wrapping).
    fn upsert_subject(
        &mut self,
        subject: &str,
        now: u64,
        change: impl FnOnce(&mut SubjectEntry) -> usize,
    ) -> Added {
        let mut delta = 0;
        let added = if let Some(entry) = self.map.get_mut(subject) {
            delta = change(entry);
            self.earliest = self.earliest.min(entry.until());
            Added {
                key: false,
                items: 0,
            }
        } else {
            self.upsert(subject.into(), now, |entry| delta = change(entry))
        };
        Added {
            key: added.key,
            items: added.items.wrapping_add(delta),
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
        let old = Subject::new("alice", store.generation("alice"));
        let next = store.advance("alice", None, t(5_000), NOW).unwrap();
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
    fn a_compare_and_set_advance_loses_to_a_concurrent_one() {
        let store = MemoryRevocationStore::new();
        let seen = store.generation("alice");
        let everywhere = store.advance("alice", None, t(5_000), NOW).unwrap();
        assert_eq!(
            store.advance(
                "alice",
                Some(KeptSession::new(nth(1, 0), seen)),
                t(5_000),
                NOW
            ),
            Err(RevokeError::Superseded {
                current: everywhere
            })
        );
        let kept = store
            .advance(
                "alice",
                Some(KeptSession::new(nth(1, 0), everywhere)),
                t(5_000),
                NOW,
            )
            .unwrap();
        assert!(kept > everywhere);
        // A session revoked by id can't keep itself either, even at the current generation.
        let alice = Subject::new("alice", kept);
        store.revoke(of(&alice, nth(2, 0), 5_000), NOW).unwrap();
        assert!(matches!(
            store.advance(
                "alice",
                Some(KeptSession::new(nth(2, 0), kept)),
                t(5_000),
                NOW
            ),
            Err(RevokeError::Superseded { .. })
        ));
        // A session carrying a newer generation than the store holds advances from it.
        let fresh = MemoryRevocationStore::new();
        let ahead = Generation::new(1_000).advanced(NOW);
        let next = fresh
            .advance(
                "alice",
                Some(KeptSession::new(nth(3, 0), ahead)),
                t(5_000),
                NOW,
            )
            .unwrap();
        assert!(next > ahead);
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
        assert_eq!(store.len(), 4, "alice, her two sessions, the anonymous one");
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
    }

    #[test]
    fn past_the_per_subject_limit_the_generation_advances_and_frees_the_entries() {
        let store = MemoryRevocationStore::with_limits(RevocationLimits::new().per_subject(4));
        let alice = Subject::new("alice", store.generation("alice"));
        for n in 0..4 {
            let recorded = store.revoke(of(&alice, nth(n, 0), 2_000), NOW).unwrap();
            assert!(matches!(recorded, Some(Revocation::Session { .. })));
        }
        assert_eq!(store.len(), 5);
        let recorded = store.revoke(of(&alice, nth(4, 0), 2_000), NOW).unwrap();
        let Some(Revocation::Subject { generation, .. }) = recorded else {
            panic!("folded into a generation: {recorded:?}");
        };
        assert_eq!(store.generation("alice"), generation);
        assert_eq!(store.len(), 1, "the subject alone");
        for n in 0..5 {
            assert!(store.is_revoked(nth(n, 0), Some(&alice), NOW));
        }
        // Revoking a session that the generation already covers records nothing.
        assert_eq!(
            store.revoke(of(&alice, nth(9, 0), 2_000), NOW).unwrap(),
            None
        );
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn the_total_limit_refuses_new_entries_and_counts_them() {
        let store = MemoryRevocationStore::with_limits(RevocationLimits::new().total(3));
        store.revoke(anonymous(nth(1, 0), 2_000), NOW).unwrap();
        let alice = Subject::new("alice", Generation::ZERO);
        store.revoke(of(&alice, nth(2, 0), 2_000), NOW).unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(
            store.revoke(anonymous(nth(3, 0), 2_000), NOW),
            Err(RevokeError::CapacityExceeded { limit: 3 })
        );
        assert!(matches!(
            store.advance("bob", None, t(2_000), NOW),
            Err(RevokeError::CapacityExceeded { limit: 3 })
        ));
        assert_eq!(store.overflows(), 2);
        // A subject that already has an entry folds instead: the logout still holds.
        let recorded = store.revoke(of(&alice, nth(4, 0), 2_000), NOW).unwrap();
        assert!(matches!(recorded, Some(Revocation::Subject { .. })));
        assert!(store.is_revoked(nth(4, 0), Some(&alice), NOW));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_session_that_carries_a_newer_generation_raises_the_store() {
        // The generation came from another instance whose message has not arrived yet.
        let store = MemoryRevocationStore::new();
        let ahead = Subject::new("alice", Generation::new(7));
        store.revoke(of(&ahead, nth(1, 0), 2_000), NOW).unwrap();
        assert_eq!(store.generation("alice"), Generation::new(7));
        assert!(store.is_revoked(
            nth(2, 0),
            Some(&Subject::new("alice", Generation::ZERO)),
            NOW
        ));
        assert!(store.is_revoked(nth(1, 0), Some(&ahead), NOW));
    }

    #[test]
    fn expired_entries_are_swept_and_counted_out() {
        let store = MemoryRevocationStore::new();
        for n in 0..5_000u32 {
            store.revoke(anonymous(nth(n, 0), 1_010), NOW).unwrap();
        }
        let alice = Subject::new("alice", Generation::ZERO);
        store.revoke(of(&alice, nth(1, 9), 1_010), NOW).unwrap();
        store.advance("bob", None, t(3_000), NOW).unwrap();
        assert_eq!(store.len(), 5_003);
        assert_eq!(store.sweep(t(1_010)), 5_002);
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
        let bob = from.advance("bob", None, t(1_500), NOW).unwrap();
        let later = t(1_060);
        for revocation in from.entries(later) {
            to.apply(&revocation, later);
        }
        assert_eq!(to.len(), 500 + 2 + 1);
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
                                    None,
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
