//! Counts of cookies opened per key, so an operator can tell when an old key is unused.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::key::KeyId;
use crate::key_ring::{KeyRing, KeyRole};

/// How many cookies each key of the ring has opened since the middleware started.
///
/// During a rotation, when the old key's count stops growing (for one absolute timeout), no
/// live session needs it any more and it can be removed from the configuration.
#[derive(Debug, Default)]
pub(crate) struct KeyUsage {
    counts: Vec<(KeyId, KeyRole, AtomicU64)>,
}

/// One key's line of [`SessionManager::key_usage`](crate::SessionManager::key_usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    /// The key.
    pub key_id: KeyId,
    /// Its role in the ring.
    pub role: KeyRole,
    /// Cookies it opened since startup.
    pub opened: u64,
}

impl KeyUsage {
    pub(crate) fn new(ring: &KeyRing) -> Self {
        Self {
            counts: ring
                .ids()
                .into_iter()
                .map(|id| {
                    // Every id comes from this ring, so it has a role.
                    let role = ring.role_of(id).unwrap_or(KeyRole::Fallback);
                    (id, role, AtomicU64::new(0))
                })
                .collect(),
        }
    }

    pub(crate) fn record(&self, id: KeyId) {
        if let Some((_, _, count)) = self.counts.iter().find(|(k, _, _)| *k == id) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<KeyUse> {
        self.counts
            .iter()
            .map(|(key_id, role, count)| KeyUse {
                key_id: *key_id,
                role: *role,
                opened: count.load(Ordering::Relaxed),
            })
            .collect()
    }
}
