//! The state of the link to Redis, as the store's threads see it.

use std::time::SystemTime;

/// A snapshot of the link between this instance and Redis, from
/// [`RedisRevocationStore::health`](crate::RedisRevocationStore::health).
///
/// Whatever it says, checks go on from the local copy: this tells how fresh that copy is and
/// whether this instance's own logouts have reached the others.
///
/// - `connected`: revocations from other instances arrive within the consistency bound, and
///   this instance's reach Redis.
/// - `!subscribed`: other instances' revocations made since `disconnected_since` are not seen
///   here yet; they will be, by a full reload, as soon as the link is back.
/// - `pending_writes > 0`: this instance's latest revocations are in force here but not yet on
///   the other instances; they are written, in order, as soon as Redis accepts them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkHealth {
    /// Subscribed (and fully loaded since), and the last write, if any since, succeeded.
    pub connected: bool,
    /// The subscription to the events channel is up and the full set was loaded after it.
    pub subscribed: bool,
    /// Revocations made here and not yet written to Redis.
    pub pending_writes: usize,
    /// When the full set was last loaded (at start, after each reconnect, after a repair).
    pub last_full_sync: Option<SystemTime>,
    /// How many full loads completed since start.
    pub full_syncs: u64,
    /// Since when the link is down (from start until the first connection, too), if it is.
    pub disconnected_since: Option<SystemTime>,
    /// Entries in the local copy (live ones and expired ones not yet swept).
    pub local_entries: usize,
}

/// What the threads record; [`LinkHealth`] adds the queue and the local copy.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) subscribed: bool,
    /// The last write attempt succeeded (true until one fails).
    pub(crate) writable: bool,
    pub(crate) last_full_sync: Option<SystemTime>,
    pub(crate) full_syncs: u64,
    pub(crate) disconnected_since: Option<SystemTime>,
}

impl LinkState {
    pub(crate) fn new() -> Self {
        Self {
            subscribed: false,
            writable: true,
            last_full_sync: None,
            full_syncs: 0,
            disconnected_since: Some(SystemTime::now()),
        }
    }

    pub(crate) fn connected(&self) -> bool {
        self.subscribed && self.writable
    }

    /// Applies `change`, keeping `disconnected_since` in step; returns whether `connected`
    /// flipped, and to what.
    pub(crate) fn update(&mut self, change: impl FnOnce(&mut Self)) -> Option<bool> {
        let before = self.connected();
        change(self);
        let after = self.connected();
        if before == after {
            return None;
        }
        self.disconnected_since = if after { None } else { Some(SystemTime::now()) };
        Some(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_needs_both_directions() {
        let mut state = LinkState::new();
        assert!(!state.connected());
        assert!(state.disconnected_since.is_some());
        assert_eq!(state.update(|s| s.subscribed = true), Some(true));
        assert!(state.disconnected_since.is_none());
        assert_eq!(state.update(|s| s.subscribed = true), None);
        assert_eq!(state.update(|s| s.writable = false), Some(false));
        assert!(state.disconnected_since.is_some());
        assert_eq!(state.update(|s| s.subscribed = false), None);
    }
}
