//! Server-side revocation: what makes logout real for a stateless cookie.
//!
//! A revoked session id stays listed until the moment its cookie would have expired anyway
//! (creation + absolute timeout), so the list only ever holds sessions logged out within one
//! absolute lifetime. Revoking a *subject* records one cutoff: every session of that subject
//! created before it is refused ("log out everywhere", password change).

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::state::SessionId;

/// A list of revoked sessions, consulted on every open.
///
/// [`RevocationStore::is_revoked`] runs on every request: it must answer from memory, never
/// wait on the network. Times are unix seconds.
///
/// ```
/// use sealed_session::{MemoryRevocationStore, RevocationStore, SessionId};
///
/// let store = MemoryRevocationStore::new();
/// let id = SessionId::random()?;
/// store.revoke(id, 2_000, 1_000);
/// assert!(store.is_revoked(id, None, 900, 1_500));
/// assert!(!store.is_revoked(SessionId::random()?, None, 900, 1_500));
/// # Ok::<(), sealed_session::SealError>(())
/// ```
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Whether the session `id` of `subject`, created at `created`, is revoked at `now`.
    fn is_revoked(&self, id: SessionId, subject: Option<&str>, created: u64, now: u64) -> bool;

    /// Revokes session `id`; the entry may be dropped once `now` passes `until`.
    fn revoke(&self, id: SessionId, until: u64, now: u64);

    /// Revokes every session of `subject` created before `cutoff`; the entry may be dropped once
    /// `now` passes `until`.
    fn revoke_subject(&self, subject: &str, cutoff: u64, until: u64, now: u64);
}

/// Session shards. Many, so that a sweep's `retain` holds one lock over a small part of the
/// store (4 thousand entries out of a million) and concurrent checks rarely meet on a lock.
const SESSION_SHARDS: usize = 256;
/// Subject shards: subjects are few (one per "log out everywhere" within an absolute lifetime).
const SUBJECT_SHARDS: usize = 16;
/// A shard holding expired entries is swept on a write at least this often (seconds), so a store
/// that stops growing still lets its expired entries go.
const SWEEP_INTERVAL: u64 = 60;
/// Below this many entries a shard is only swept by time: sweeping tiny maps saves nothing.
const MIN_SWEEP_LEN: usize = 64;

/// The embedded revocation store: an in-process, sharded hash map.
///
/// Enough for an application on one instance, and the local copy that shared stores (such as
/// the Redis one) answer from. Revocations live in this process only: they are lost on restart
/// and unknown to other instances.
///
/// # Performance impact
/// - A check takes a read lock on one of 256 session shards (chosen by the id's first byte) and
///   does one hash lookup; a session with a subject also looks up one of 16 subject shards,
///   unless no subject is revoked at all (one atomic load). Constant time whatever the size.
/// - A revoked session takes 20 bytes in its shard's table (16-byte id, 4-byte deadline) plus
///   one control byte; with the table's load factor between 7/16 and 7/8, that is 24 to 48
///   bytes per entry, measured at about 44 bytes per entry for a million (`docs/revocation.md`).
///   Deadlines past 2106 are stored as "forever".
/// - Expired entries are swept one shard at a time, on writes: when a shard holding expired
///   entries has doubled since its last sweep, or was last swept a minute ago. A sweep holds
///   one shard's write lock (1/256 of the store), never the whole store; checks never sweep.
///   [`MemoryRevocationStore::sweep`] sweeps every shard in turn, for a background task.
///
/// ```
/// use sealed_session::{MemoryRevocationStore, RevocationStore, SessionId};
///
/// let store = MemoryRevocationStore::new();
/// let id = SessionId::random()?;
/// store.revoke(id, 2_000, 1_000); // logged out at 1000, would have expired at 2000
/// assert!(store.is_revoked(id, None, 900, 1_999));
/// assert!(!store.is_revoked(id, None, 900, 2_000)); // expired anyway: the entry can go
/// assert_eq!(store.sweep(2_000), 1);
/// assert!(store.is_empty());
/// # Ok::<(), sealed_session::SealError>(())
/// ```
pub struct MemoryRevocationStore {
    sessions: Box<[Padded<SessionShard>]>,
    subjects: Box<[Padded<SubjectShard>]>,
    /// Subjects held, so that checks skip the subject shards while there are none (the common
    /// case: no "log out everywhere" within the last absolute lifetime).
    subject_count: AtomicUsize,
}

impl MemoryRevocationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            sessions: (0..SESSION_SHARDS).map(|_| Padded::default()).collect(),
            subjects: (0..SUBJECT_SHARDS).map(|_| Padded::default()).collect(),
            subject_count: AtomicUsize::new(0),
        }
    }

    /// Number of revoked sessions and subjects currently held (including not yet swept ones).
    pub fn len(&self) -> usize {
        let sessions: usize = self.sessions.iter().map(|s| read(s).map.len()).sum();
        sessions + self.subject_count.load(Ordering::Acquire)
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry that no longer matters at `now`, one shard at a time (each shard's lock
    /// is held only while that shard is swept); returns how many were dropped.
    ///
    /// Writes already sweep as they go; call this from a background task to also free memory
    /// when no revocations come in.
    pub fn sweep(&self, now: u64) -> usize {
        let sessions: usize = self.sessions.iter().map(|s| write(s).sweep(now)).sum();
        let subjects: usize = self
            .subjects
            .iter()
            .map(|s| {
                let mut shard = write(s);
                let removed = shard.sweep(now);
                self.subject_count.fetch_sub(removed, Ordering::AcqRel);
                removed
            })
            .sum();
        sessions + subjects
    }

    /// Writes every entry still in force at `now` into `target`: to seed a shared store from
    /// this one, or to find what another copy lacks.
    ///
    /// Shards are copied one at a time and no lock is held while `target` is called, so checks
    /// and revocations go on meanwhile (entries added during the replay may or may not be
    /// included).
    ///
    /// ```
    /// use sealed_session::{MemoryRevocationStore, RevocationStore, SessionId};
    ///
    /// let (here, there) = (MemoryRevocationStore::new(), MemoryRevocationStore::new());
    /// let id = SessionId::random()?;
    /// here.revoke(id, 2_000, 1_000);
    /// here.revoke_subject("alice", 1_000, 2_000, 1_000);
    /// here.replay_into(&there, 1_500);
    /// assert!(there.is_revoked(id, None, 900, 1_500));
    /// assert!(there.is_revoked(SessionId::random()?, Some("alice"), 900, 1_500));
    /// # Ok::<(), sealed_session::SealError>(())
    /// ```
    pub fn replay_into(&self, target: &dyn RevocationStore, now: u64) {
        let mut ids = Vec::new();
        for shard in self.sessions.iter() {
            ids.clear();
            ids.extend(
                read(shard)
                    .map
                    .iter()
                    .filter(|(_, until)| until.is_live(now))
                    .map(|(id, until)| (*id, *until)),
            );
            for (id, until) in &ids {
                target.revoke(*id, until.secs(), now);
            }
        }
        let mut subjects = Vec::new();
        for shard in self.subjects.iter() {
            subjects.clear();
            subjects.extend(
                read(shard)
                    .map
                    .iter()
                    .filter(|(_, entry)| entry.until.is_live(now))
                    .map(|(subject, entry)| (subject.clone(), *entry)),
            );
            for (subject, entry) in &subjects {
                target.revoke_subject(subject, entry.cutoff, entry.until.secs(), now);
            }
        }
    }

    fn session_shard(&self, id: &SessionId) -> &SessionShard {
        // Ids are uniformly random (we drew them, and only authenticated ones reach the store),
        // so their first byte spreads them evenly; 256 shards use it whole.
        &self.sessions[usize::from(id.as_bytes()[0]) % SESSION_SHARDS]
    }

    fn subject_shard(&self, subject: &str) -> &SubjectShard {
        // The unkeyed fold hash only spreads subjects over locks: users who pick subjects that
        // share a shard slow nobody down, and the map inside is keyed (SipHash).
        // The remainder is below SUBJECT_SHARDS, so it fits any usize.
        #[allow(clippy::cast_possible_truncation)]
        let index = (IdHasherBuilder::default().hash_one(subject) % SUBJECT_SHARDS as u64) as usize;
        &self.subjects[index]
    }
}

impl Default for MemoryRevocationStore {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationStore for MemoryRevocationStore {
    fn is_revoked(&self, id: SessionId, subject: Option<&str>, created: u64, now: u64) -> bool {
        let by_id = read(self.session_shard(&id))
            .map
            .get(&id)
            .is_some_and(|until| until.is_live(now));
        by_id
            || subject.is_some_and(|s| {
                self.subject_count.load(Ordering::Acquire) > 0
                    && read(self.subject_shard(s))
                        .map
                        .get(s)
                        .is_some_and(|e| e.until.is_live(now) && created < e.cutoff)
            })
    }

    fn revoke(&self, id: SessionId, until: u64, now: u64) {
        write(self.session_shard(&id)).insert(id, Until::new(until), now);
    }

    fn revoke_subject(&self, subject: &str, cutoff: u64, until: u64, now: u64) {
        let mut shard = write(self.subject_shard(subject));
        let entry = Cutoff {
            cutoff,
            until: Until::new(until),
        };
        let (added, removed) = shard.insert(subject.into(), entry, now);
        // Under the shard's write lock, so the count never lags this shard's contents.
        if added {
            self.subject_count.fetch_add(1, Ordering::AcqRel);
        }
        self.subject_count.fetch_sub(removed, Ordering::AcqRel);
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("len", &self.len())
            .finish()
    }
}

type IdHasherBuilder = BuildHasherDefault<IdHasher>;
type SessionShard = RwLock<Shard<SessionId, Until, IdHasherBuilder>>;
type SubjectShard = RwLock<Shard<Box<str>, Cutoff, RandomState>>;

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
trait Expiring: Copy {
    fn until(&self) -> Until;
    /// Folds a later revocation of the same key in: revocations only ever get stronger.
    fn merge(&mut self, other: Self);
}

impl<K: Eq + Hash, V: Expiring, S: BuildHasher> Shard<K, V, S> {
    /// Inserts or merges, then sweeps if due; returns whether the key is new, and how many
    /// entries the sweep dropped.
    fn insert(&mut self, key: K, value: V, now: u64) -> (bool, usize) {
        let added = match self.map.entry(key) {
            Entry::Occupied(mut e) => {
                e.get_mut().merge(value);
                false
            }
            Entry::Vacant(e) => {
                e.insert(value);
                true
            }
        };
        self.earliest = self.earliest.min(value.until());
        let removed = if self.sweep_due(now) {
            self.sweep(now)
        } else {
            0
        };
        (added, removed)
    }

    /// Amortised: the doubling rule makes each sweep at least halve what the next must visit;
    /// the time rule bounds how long expired entries linger in a shard that stopped growing.
    fn sweep_due(&self, now: u64) -> bool {
        !self.earliest.is_live(now)
            && (self.map.len() >= 2 * self.len_after_sweep.max(MIN_SWEEP_LEN)
                || now >= self.swept_at.saturating_add(SWEEP_INTERVAL))
    }

    fn sweep(&mut self, now: u64) -> usize {
        let before = self.map.len();
        let mut earliest = Until::FOREVER;
        self.map.retain(|_, v| {
            let live = v.until().is_live(now);
            if live {
                earliest = earliest.min(v.until());
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
        before - len
    }
}

/// A revocation's deadline in unix seconds, in 4 bytes so that an entry takes 20 (these maps
/// hold up to millions). Deadlines past 2106 saturate to [`Until::FOREVER`], which is never
/// dropped: an entry may outlive its need, never the other way round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Until(u32);

impl Until {
    const FOREVER: Self = Self(u32::MAX);

    fn new(secs: u64) -> Self {
        Self(u32::try_from(secs).unwrap_or(u32::MAX))
    }

    fn is_live(self, now: u64) -> bool {
        self == Self::FOREVER || u64::from(self.0) > now
    }

    fn secs(self) -> u64 {
        u64::from(self.0)
    }
}

impl Expiring for Until {
    fn until(&self) -> Until {
        *self
    }

    fn merge(&mut self, other: Self) {
        *self = (*self).max(other);
    }
}

/// A subject's revocation: sessions created before `cutoff` are refused until `until`.
#[derive(Clone, Copy)]
struct Cutoff {
    cutoff: u64,
    until: Until,
}

impl Expiring for Cutoff {
    fn until(&self) -> Until {
        self.until
    }

    fn merge(&mut self, other: Self) {
        self.cutoff = self.cutoff.max(other.cutoff);
        self.until = self.until.max(other.until);
    }
}

/// Hashes session ids (and spreads subjects over their shards): a multiply-xor fold
/// (rustc-hash's constant), no key.
///
/// Safe without a key because nobody chooses the keys: session ids are 128 random bits drawn by
/// this server, and only ids from authenticated cookies or from the application's own shared
/// store reach the map, so no one can craft colliding ids to slow it down. A few multiplies,
/// where the default SipHash runs its rounds over the whole id.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(0xf135_7aea_2e62_a9c5);
        }
    }

    fn finish(&self) -> u64 {
        // The multiply leaves its best bits at the top; the table indexes with the low ones.
        self.0.rotate_left(26)
    }
}

/// Keeps each shard on its own cache lines (128 bytes: the pair that x86 prefetches together),
/// so that readers of neighbouring shards don't bounce one line between cores.
#[derive(Default)]
#[repr(align(128))]
struct Padded<T>(T);

impl<T> Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
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

    fn id(n: u8) -> SessionId {
        SessionId::from_bytes([n; 16])
    }

    /// Distinct ids spread over every shard.
    fn nth(n: u32, tag: u8) -> SessionId {
        let mut bytes = [tag; 16];
        bytes[..4].copy_from_slice(&n.to_le_bytes());
        SessionId::from_bytes(bytes)
    }

    #[test]
    fn revoked_ids_are_refused_until_their_deadline() {
        let store = MemoryRevocationStore::new();
        store.revoke(id(1), 100, 10);
        assert!(store.is_revoked(id(1), None, 0, 99));
        assert!(!store.is_revoked(id(1), None, 0, 100));
        assert!(!store.is_revoked(id(2), None, 0, 50));
    }

    #[test]
    fn subject_cutoff_applies_to_older_sessions_only() {
        let store = MemoryRevocationStore::new();
        store.revoke_subject("alice", 50, 1_000, 50);
        assert!(store.is_revoked(id(1), Some("alice"), 49, 60));
        assert!(!store.is_revoked(id(1), Some("alice"), 50, 60));
        assert!(!store.is_revoked(id(1), Some("bob"), 10, 60));
        assert!(!store.is_revoked(id(1), None, 10, 60));
        // A later cutoff only ever moves forward.
        store.revoke_subject("alice", 40, 1_000, 60);
        assert!(store.is_revoked(id(1), Some("alice"), 45, 60));
    }

    #[test]
    fn expired_entries_are_swept() {
        let store = MemoryRevocationStore::new();
        for n in 0..5_000u32 {
            store.revoke(nth(n, 0), 10, 0);
        }
        assert_eq!(store.len(), 5_000);
        for n in 0..5_000u32 {
            store.revoke(nth(n, 1), 1_000, 500);
        }
        // Every shard was written after time 10, so the first batch is gone (mostly):
        assert!(store.len() < 7_500, "{}", store.len());
    }

    #[test]
    fn a_shard_that_stops_growing_is_still_swept_by_time() {
        let store = MemoryRevocationStore::new();
        store.revoke(id(1), 100, 0);
        store.revoke(id(1).with_last(2), 10_000, 0);
        // Same shard (first byte 1), too small for the doubling rule; a minute after the
        // deadline, the next write sweeps it.
        store.revoke(id(1).with_last(3), 10_000, 100 + SWEEP_INTERVAL);
        assert_eq!(store.len(), 2);
        assert!(
            !store.is_revoked(id(1), None, 0, 50),
            "dropped, not just expired"
        );
    }

    #[test]
    fn sweep_drops_everything_expired_and_only_that() {
        let store = MemoryRevocationStore::new();
        for n in 0..1_000u32 {
            store.revoke(nth(n, 0), if n % 2 == 0 { 100 } else { 200 }, 0);
        }
        store.revoke_subject("alice", 10, 100, 0);
        store.revoke_subject("bob", 10, 200, 0);
        assert_eq!(store.sweep(99), 0);
        assert_eq!(store.sweep(100), 501);
        assert_eq!(store.len(), 501);
        assert!(store.is_revoked(id(9), Some("bob"), 0, 150));
        assert_eq!(store.sweep(200), 501);
        assert!(store.is_empty());
        // The fast path's count followed: no subject shard is consulted, nothing is revoked.
        assert!(!store.is_revoked(id(9), Some("bob"), 0, 150));
    }

    #[test]
    fn deadlines_past_2106_never_expire() {
        let store = MemoryRevocationStore::new();
        store.revoke(id(1), u64::MAX, 0);
        store.revoke_subject("alice", 10, u64::from(u32::MAX) + 1, 0);
        let far = u64::from(u32::MAX) + 1_000;
        assert!(store.is_revoked(id(1), None, 0, far));
        assert!(store.is_revoked(id(2), Some("alice"), 0, far));
        assert_eq!(store.sweep(far), 0);
    }

    #[test]
    fn a_later_deadline_for_the_same_id_wins() {
        let store = MemoryRevocationStore::new();
        store.revoke(id(1), 200, 0);
        store.revoke(id(1), 100, 0);
        assert!(store.is_revoked(id(1), None, 0, 150));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn replay_copies_live_entries_only() {
        let (from, to) = (MemoryRevocationStore::new(), MemoryRevocationStore::new());
        for n in 0..600u32 {
            from.revoke(nth(n, 0), if n < 100 { 50 } else { 500 }, 0);
        }
        from.revoke_subject("alice", 40, 500, 0);
        from.revoke_subject("bob", 40, 50, 0);
        from.replay_into(&to, 60);
        assert_eq!(to.len(), 501);
        assert!(to.is_revoked(nth(100, 0), None, 0, 60));
        assert!(to.is_revoked(id(7), Some("alice"), 39, 60));
        assert!(!to.is_revoked(id(7), Some("alice"), 40, 60));
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
                        assert!(!store.is_revoked(mine, Some("carol"), 100, 10));
                        store.revoke(mine, 1_000, 10);
                        assert!(store.is_revoked(mine, None, 0, 10));
                        // Another thread's ids: revoked or not yet, never a wrong answer shape.
                        let _ = store.is_revoked(nth(n, (tag + 1) % 8), None, 0, 10);
                        if n % 1_000 == 0 {
                            store.revoke_subject(&format!("user-{t}"), 50, 1_000, 10);
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
            for n in 0..PER_THREAD {
                assert!(store.is_revoked(nth(n, tag), None, 0, 10));
            }
            assert!(store.is_revoked(id(0), Some(&format!("user-{t}")), 49, 10));
        }
    }

    #[test]
    fn id_hasher_spreads_ids_within_a_shard() {
        // All ids of one shard share their first byte; the hash must still tell them apart.
        let hashes: std::collections::HashSet<u64> = (0..10_000u32)
            .map(|n| {
                let mut bytes = [7u8; 16];
                bytes[1..5].copy_from_slice(&n.to_le_bytes());
                IdHasherBuilder::default().hash_one(SessionId::from_bytes(bytes))
            })
            .collect();
        assert_eq!(hashes.len(), 10_000);
    }

    impl SessionId {
        fn with_last(self, b: u8) -> Self {
            let mut bytes = *self.as_bytes();
            bytes[15] = b;
            Self::from_bytes(bytes)
        }
    }
}
