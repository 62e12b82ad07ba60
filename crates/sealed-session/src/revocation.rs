//! Server-side revocation: what makes logout real for a stateless cookie.
//!
//! A revoked session id stays listed until the moment its cookie would have expired anyway
//! (creation + absolute timeout), so the list only ever holds sessions logged out within one
//! absolute lifetime. Revoking a *subject* records one cutoff: every session of that subject
//! created before it is refused ("log out everywhere", password change).

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::RwLock;

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

const SHARDS: usize = 16;

/// The embedded revocation store: an in-process, sharded hash map.
///
/// Enough for an application on one instance. Checks take a read lock on one of 16 shards, so
/// concurrent requests rarely contend; expired entries are swept from one shard at a time when
/// it has doubled since its last sweep, never the whole store at once.
///
/// Revocations live in this process only: they are lost on restart and unknown to other
/// instances. For several instances use a shared store such as the Redis one.
#[derive(Default)]
pub struct MemoryRevocationStore {
    sessions: [RwLock<Shard<SessionId>>; SHARDS],
    subjects: RwLock<Shard<String>>,
}

/// Entries: key -> (cutoff or 0, until).
struct Shard<K> {
    entries: HashMap<K, Entry>,
    len_after_sweep: usize,
}

#[derive(Clone, Copy)]
struct Entry {
    cutoff: u64,
    until: u64,
}

impl<K> Default for Shard<K> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            len_after_sweep: 0,
        }
    }
}

impl<K: Eq + Hash> Shard<K> {
    fn insert(&mut self, key: K, entry: Entry, now: u64) {
        self.entries
            .entry(key)
            .and_modify(|e| {
                e.cutoff = e.cutoff.max(entry.cutoff);
                e.until = e.until.max(entry.until);
            })
            .or_insert(entry);
        // Amortised sweep: each sweep at least halves what the next must visit.
        if self.entries.len() >= 2 * self.len_after_sweep.max(64) {
            self.entries.retain(|_, e| e.until > now);
            self.len_after_sweep = self.entries.len();
        }
    }
}

impl MemoryRevocationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of revoked sessions and subjects currently held (including not yet swept ones).
    pub fn len(&self) -> usize {
        let sessions: usize = self.sessions.iter().map(|s| read(s).entries.len()).sum();
        sessions + read(&self.subjects).entries.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, id: &SessionId) -> &RwLock<Shard<SessionId>> {
        // Ids are uniformly random (we drew them, and only authenticated ones reach the store),
        // so their first byte spreads them evenly.
        &self.sessions[usize::from(id.as_bytes()[0]) % SHARDS]
    }
}

impl RevocationStore for MemoryRevocationStore {
    fn is_revoked(&self, id: SessionId, subject: Option<&str>, created: u64, now: u64) -> bool {
        let by_id = read(self.shard(&id))
            .entries
            .get(&id)
            .is_some_and(|e| e.until > now);
        by_id
            || subject.is_some_and(|s| {
                read(&self.subjects)
                    .entries
                    .get(s)
                    .is_some_and(|e| e.until > now && created < e.cutoff)
            })
    }

    fn revoke(&self, id: SessionId, until: u64, now: u64) {
        write(self.shard(&id)).insert(id, Entry { cutoff: 0, until }, now);
    }

    fn revoke_subject(&self, subject: &str, cutoff: u64, until: u64, now: u64) {
        write(&self.subjects).insert(subject.to_owned(), Entry { cutoff, until }, now);
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("len", &self.len())
            .finish()
    }
}

// A poisoned lock means a thread panicked between two plain map operations; the map is still
// consistent, and refusing every request afterwards would be worse.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> SessionId {
        SessionId::from_bytes([n; 16])
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
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&n.to_le_bytes());
            store.revoke(SessionId::from_bytes(bytes), 10, 0);
        }
        assert_eq!(store.len(), 5_000);
        for n in 0..5_000u32 {
            let mut bytes = [1u8; 16];
            bytes[..4].copy_from_slice(&n.to_le_bytes());
            store.revoke(SessionId::from_bytes(bytes), 1_000, 500);
        }
        // Every shard doubled at least once after time 10, so the first batch is gone (mostly):
        assert!(store.len() < 7_500, "{}", store.len());
    }
}
