//! The state of the link to Redis, as the store's threads see it.

use std::time::{Duration, SystemTime};

/// A snapshot of the link between this instance and Redis, from
/// [`RedisRevocationStore::health`](crate::RedisRevocationStore::health).
///
/// Whatever it says, checks go on from the local copy: this tells how fresh that copy is and
/// whether this instance's own logouts have reached the others.
///
/// - `connected`: revocations from other instances arrive within the consistency bound, and
///   this instance's reach Redis.
/// - `!reading`: other instances' revocations made since `disconnected_since` are not seen
///   here yet; they will be as soon as the link is back, read from where the reader stopped.
/// - `pending_writes > 0`: this instance's latest revocations are in force here but not yet on
///   the other instances; they are written, in order, as soon as Redis accepts them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkHealth {
    /// The summary: what to alert on.
    pub status: LinkStatus,
    /// Reading the stream (read once in full), and the last write, if any since, succeeded.
    pub connected: bool,
    /// The reader follows the stream, and has read it in full since start (or since a loss).
    pub reading: bool,
    /// The stream was read in full at least once since start: the local copy knows every other
    /// instance's revocations up to then.
    pub loaded: bool,
    /// Revocations made here and not yet written to Redis (queued, or refused by Redis and
    /// waiting for a retry).
    pub pending_writes: usize,
    /// Of `pending_writes`, those Redis refused with an error (see `last_command_error`).
    pub refused_writes: usize,
    /// Revocations made here that found the queue full
    /// ([`max_pending`](crate::RedisStoreBuilder::max_pending)): they hold here, and the next
    /// repair writes them.
    pub unqueued_writes: u64,
    /// Entries a repair is writing back to Redis (it lost them).
    pub repair_writes: usize,
    /// Commands Redis answered with an error since start.
    pub command_errors: u64,
    /// The last of them: the command (`EVAL`, the append script; `WAIT`) and Redis's error.
    pub last_command_error: Option<String>,
    /// Redis's `maxmemory-policy` when it may evict this store's keys (anything but
    /// `noeviction` with a `maxmemory` set), as read at the reader's last connection or check.
    pub evicting_policy: Option<String>,
    /// When the stream was last read in full (from its start: at start-up, and after Redis
    /// lost data; a reconnect resumes instead).
    pub last_full_sync: Option<SystemTime>,
    /// How many full reads completed since start.
    pub full_syncs: u64,
    /// Since when the link is down (from start until the first connection, too), if it is.
    pub disconnected_since: Option<SystemTime>,
    /// What the local copy holds
    /// ([`MemoryRevocationStore::len`](sealed_session::revocation::MemoryRevocationStore::len)):
    /// subjects, each counted once whatever ids it holds, and listed anonymous sessions, live ones
    /// and expired ones not yet swept, this instance's and the others' alike (this instance's
    /// are held against
    /// [`RevocationLimits::total`](sealed_session::revocation::RevocationLimits::total), the
    /// others' against
    /// [`RevocationLimits::remote_total`](sealed_session::revocation::RevocationLimits::remote_total)).
    /// At a limit, a new subject's revocation raises the store-wide cutoff instead; the copy's fold and overflow
    /// counters are [`RedisRevocationStore::folds`](crate::RedisRevocationStore::folds) and
    /// [`RedisRevocationStore::overflows`](crate::RedisRevocationStore::overflows), not here.
    pub local_entries: usize,
    /// Entries read from Redis (or the pending file) and ignored since start because no instance of
    /// this application wrote them: a generation or deadline beyond what any instance's clock
    /// allows, a subject too long, or (with
    /// [`authenticate_with`](crate::RedisStoreBuilder::authenticate_with)) no valid tag.
    /// Anything above zero means something else writes to Redis; each doubling is logged at
    /// `warn` (event `refused`).
    pub refused: u64,
    /// The 99th percentile of the last minute's waits of logouts for Redis's acknowledgement
    /// ([`Durability::Acknowledged`](crate::Durability::Acknowledged); at most the latest 256),
    /// those confirmed and those that timed out (with their full length); `None` if there were
    /// none. A wait that failed for another reason (a refused write, the link down) is not
    /// counted: the fields above report those. Above half the
    /// timeout, the status says [`LinkStatus::Slow`] and a wait that long is logged at `warn`
    /// (event `slow_acknowledgement`, at most every ten seconds). Only logouts wait: checks
    /// read the local copy whatever Redis is doing, and no thread is held while a logout waits.
    pub acknowledgement_p99: Option<Duration>,
    /// With [`replicas`](crate::RedisStoreBuilder::replicas) above 0: how many replicas the
    /// last `WAIT` after a batch reported (`None` before the first, and with `replicas` 0).
    /// Below the setting, the status says [`LinkStatus::ReplicasBehind`].
    pub replicas_acknowledged: Option<u32>,
    /// How far behind the stream the reader is: while it reads a full page with more waiting
    /// (not its first read from the start), the age of the last entry it read, by this
    /// instance's clock against Redis's; zero once caught up. Other instances' logouts reach
    /// this one that much later. Anything above a second is logged at `warn` (event
    /// `reading_behind`): something appends faster than this instance reads (a flood from a
    /// writer to Redis, see [`sealed_session::guide::security`]).
    pub read_lag: Duration,
}

/// The state of the link in one word, from [`LinkHealth::status`], worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkStatus {
    /// The stream was never read in full: other instances' revocations are not known here yet.
    Starting,
    /// The link is down (unreachable, stalled or refusing the reader or the writer): checks go on
    /// from the local copy, logouts are not confirmed.
    Down,
    /// Redis may evict revocations (`maxmemory-policy`); with
    /// [`EvictingPolicy::Refuse`](crate::EvictingPolicy::Refuse), logouts are not confirmed.
    EvictingPolicy,
    /// Redis refuses some commands (out of memory, an ACL without a permission, a key of
    /// another type): the writes concerned are retried, the others go on.
    CommandErrors,
    /// Redis takes the writes, but fewer replicas than
    /// [`replicas`](crate::RedisStoreBuilder::replicas) confirmed the last batch: logouts are
    /// answered `NotDurable` until enough do (see [`LinkHealth::replicas_acknowledged`]).
    ReplicasBehind,
    /// Up, but the latest acknowledgements are slow: their p99 is above half the timeout, so
    /// some logouts may be answered `NotDurable` (see
    /// [`LinkHealth::acknowledgement_p99`]).
    Slow,
    /// Reading the stream, read in full once, and writing.
    Up,
}

/// What the threads record; [`LinkHealth`] adds the queue and the local copy.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) reading: bool,
    /// The last write attempt succeeded (true until one fails).
    pub(crate) writable: bool,
    pub(crate) loaded: bool,
    /// The last batch was refused by Redis.
    pub(crate) refusing: bool,
    pub(crate) command_errors: u64,
    pub(crate) last_command_error: Option<String>,
    pub(crate) evicting_policy: Option<String>,
    pub(crate) last_full_sync: Option<SystemTime>,
    pub(crate) full_syncs: u64,
    pub(crate) disconnected_since: Option<SystemTime>,
    /// Replicas the last `WAIT` reported, when replicas are required.
    pub(crate) replicas_acknowledged: Option<u32>,
    /// How far behind the stream the reader is ([`LinkHealth::read_lag`]).
    pub(crate) read_lag: Duration,
    /// The last `WAIT` reported fewer replicas than required.
    pub(crate) replicas_behind: bool,
    /// The writer is in a `WAIT`: Redis took its batch, and it waits for the replicas.
    pub(crate) awaiting_replicas: bool,
}

impl LinkState {
    pub(crate) fn new() -> Self {
        Self {
            reading: false,
            writable: true,
            loaded: false,
            refusing: false,
            command_errors: 0,
            last_command_error: None,
            evicting_policy: None,
            last_full_sync: None,
            full_syncs: 0,
            disconnected_since: Some(SystemTime::now()),
            replicas_acknowledged: None,
            read_lag: Duration::ZERO,
            replicas_behind: false,
            awaiting_replicas: false,
        }
    }

    pub(crate) fn connected(&self) -> bool {
        self.reading && self.writable
    }

    pub(crate) fn status(&self, refused_writes: usize, slow: bool) -> LinkStatus {
        if !self.loaded {
            LinkStatus::Starting
        } else if !self.connected() {
            LinkStatus::Down
        } else if self.evicting_policy.is_some() {
            LinkStatus::EvictingPolicy
        } else if self.refusing || refused_writes > 0 {
            LinkStatus::CommandErrors
        } else if self.replicas_behind {
            LinkStatus::ReplicasBehind
        } else if slow {
            LinkStatus::Slow
        } else {
            LinkStatus::Up
        }
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
        assert_eq!(state.update(|s| s.reading = true), Some(true));
        assert!(state.disconnected_since.is_none());
        assert_eq!(state.update(|s| s.reading = true), None);
        assert_eq!(state.update(|s| s.writable = false), Some(false));
        assert!(state.disconnected_since.is_some());
        assert_eq!(state.update(|s| s.reading = false), None);
    }

    #[test]
    fn the_status_names_the_worst_problem() {
        let mut state = LinkState::new();
        assert_eq!(state.status(0, true), LinkStatus::Starting);
        state.update(|s| {
            s.reading = true;
            s.loaded = true;
        });
        assert_eq!(state.status(0, false), LinkStatus::Up);
        assert_eq!(state.status(0, true), LinkStatus::Slow);
        assert_eq!(state.status(1, true), LinkStatus::CommandErrors);
        state.replicas_behind = true;
        assert_eq!(state.status(0, true), LinkStatus::ReplicasBehind);
        assert_eq!(state.status(1, true), LinkStatus::CommandErrors);
        state.evicting_policy = Some("allkeys-lru".into());
        assert_eq!(state.status(1, true), LinkStatus::EvictingPolicy);
        state.update(|s| s.writable = false);
        assert_eq!(state.status(1, true), LinkStatus::Down);
    }
}
