//! [`Shared`]: what the store's handle and its threads share (the local copy, the queue for
//! Redis, the link's state, the waiting logouts), and the operations on it they all use.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sealed_session::NotDurableReason;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{MemoryRevocationStore, Revocation};

use crate::LOG_TARGET;
use crate::acknowledgement::{Acknowledgements, Progress};
use crate::config::Settings;
use crate::health::LinkState;
use crate::keys::{Entry, MAX_SUBJECT_LEN, Unread};
use crate::queue::{Job, Queue};
use crate::stream::StreamId;
use crate::trust::{Refusals, Source, TrustBounds};

/// What the store's handle and its threads share.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) local: MemoryRevocationStore,
    /// Writes not yet acknowledged by Redis. Only the writer removes them, once written.
    pub(crate) queue: Mutex<Queue>,
    /// Held while a revocation is recorded in the local copy and queued, and while `settle`
    /// reads the queue's mark: a revocation the copy holds is always in the mark after it.
    pub(crate) recording: Mutex<()>,
    /// Signals the writer: new work or stop.
    pub(crate) work: Condvar,
    /// Signals `flush` callers: the queue shrank (logouts' waits are woken through `acks`).
    pub(crate) written: Condvar,
    /// The logouts waiting for Redis's acknowledgement, and their recent wait times.
    pub(crate) acks: Acknowledgements,
    pub(crate) link: Mutex<LinkState>,
    /// Signals `wait_until_connected` callers: the link state changed.
    pub(crate) link_changed: Condvar,
    /// The stream was read in full once: revocations are known (read on every request).
    pub(crate) loaded: AtomicBool,
    /// The queue overflowed: the reader should write back the local copy's live entries.
    pub(crate) resync_wanted: AtomicBool,
    /// Redis refused a write of a repair: the reader should write the local copy back again.
    pub(crate) repair_refused: AtomicBool,
    /// The id of the last entry the writer appended: with the reader's position, what tells a
    /// loss ([`stream::check`](crate::stream::check)).
    pub(crate) appended: Mutex<StreamId>,
    /// Revocations that found the queue full since start (the first is logged).
    pub(crate) overflows: AtomicU64,
    /// That `CONFIG GET maxmemory-policy` was refused was logged.
    pub(crate) policy_unknown_reported: AtomicBool,
    /// The queue mark past which the revocations replayed from the pending file are written.
    pub(crate) pending_file_mark: Mutex<Option<u64>>,
    pub(crate) stop: AtomicBool,
    /// When the stop was asked for: the writer gives up on the queue after the shutdown timeout.
    pub(crate) stop_deadline: Mutex<Option<Instant>>,
    /// Wakes threads sleeping between reconnection attempts when a stop is asked for.
    pub(crate) stop_signal: (Mutex<()>, Condvar),
    /// Entries read from Redis (or the pending file) and refused (`trust.rs`).
    pub(crate) refused: Refusals,
}

impl Shared {
    /// Queues a revocation recorded here for Redis; one already expired is not (no cookie it
    /// refuses is still valid).
    pub(crate) fn share(&self, recorded: &Revocation, now: UnixTime) {
        if recorded.until() <= now {
            return;
        }
        match Entry::from_revocation(recorded, &TrustBounds::at(now)) {
            Some(entry) => self.enqueue(Job::Write(entry)),
            None if matches!(
                recorded,
                Revocation::Session { .. } | Revocation::Subject { .. }
            ) =>
            {
                tracing::warn!(
                    target: LOG_TARGET,
                    event = "not_shared",
                    max_subject_len = MAX_SUBJECT_LEN,
                    "a revocation holds on this instance only: its subject is longer than \
                     {MAX_SUBJECT_LEN} bytes, which Redis entries do not carry (use a shorter \
                     subject, e.g. a user id)"
                );
            }
            // A kind of revocation a newer core records and this version can't write.
            None => tracing::error!(
                target: LOG_TARGET,
                event = "not_shared",
                revocation = ?recorded,
                "a revocation holds on this instance only: this version of sealed-session-redis \
                 can't write its kind to Redis (upgrade sealed-session-redis with \
                 sealed-session)"
            ),
        }
    }

    /// Queues one revocation; if the queue is full, it holds here only until a repair writes
    /// it, which is asked for.
    pub(crate) fn enqueue(&self, job: Job) {
        let queued = lock(&self.queue).push(job);
        if queued.is_ok() {
            self.work.notify_one();
            return;
        }
        self.resync_wanted.store(true, Ordering::Release);
        if self.overflows.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::error!(
                target: LOG_TARGET,
                event = "queue_full",
                max_pending = self.settings.max_pending,
                "the queue of revocations for Redis is full: logouts hold on this instance and \
                 fail as not durable until a repair writes them (is Redis reachable? see \
                 health())"
            );
        }
    }

    /// Whether every revocation queued before `mark` is in Redis.
    pub(crate) fn settled(&self, mark: u64) -> bool {
        lock(&self.queue).settled(mark)
    }

    /// Why revocations are not confirmed, as the link's health tells.
    pub(crate) fn not_durable_reason(&self) -> NotDurableReason {
        let refused_writes = lock(&self.queue).refused();
        if refused_writes > 0 {
            NotDurableReason::RedisRefusedWrite
        } else if !lock(&self.link).writable || self.stopping() {
            NotDurableReason::RedisUnreachable
        } else if lock(&self.link).replicas_behind || lock(&self.link).awaiting_replicas {
            NotDurableReason::ReplicasBehind
        } else {
            NotDurableReason::RedisTimedOut
        }
    }

    /// Waits up to `timeout` until every revocation queued so far is in Redis.
    pub(crate) fn wait_settled(&self, timeout: Duration) -> bool {
        let queue = lock(&self.queue);
        let mark = queue.mark();
        let (queue, _) = self
            .written
            .wait_timeout_while(queue, timeout, |q| !q.settled(mark))
            .unwrap_or_else(PoisonError::into_inner);
        queue.settled(mark)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Sleeps for `duration` unless a stop is asked for meanwhile.
    pub(crate) fn sleep_unless_stopped(&self, duration: Duration) {
        let (mutex, condvar) = &self.stop_signal;
        let guard = lock(mutex);
        let _ = condvar
            .wait_timeout_while(guard, duration, |()| !self.stopping())
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// The current unix time of the configured clock.
    pub(crate) fn now(&self) -> UnixTime {
        UnixTime::from(self.settings.clock.now())
    }

    /// Updates the link state, waking waiters and logging a change of `connected`.
    pub(crate) fn update_link(&self, change: impl FnOnce(&mut LinkState)) {
        let (flipped, loaded) = {
            let mut link = lock(&self.link);
            (link.update(change), link.loaded)
        };
        if loaded {
            self.loaded.store(true, Ordering::Release);
        }
        self.link_changed.notify_all();
        match flipped {
            Some(true) => tracing::info!(
                target: LOG_TARGET,
                event = "connected",
                url = %self.settings.url,
                "revocation link to Redis is up: reading the stream and writing"
            ),
            Some(false) => tracing::warn!(
                target: LOG_TARGET,
                event = "disconnected",
                url = %self.settings.url,
                "revocation link to Redis is down: checks go on from the local copy, logouts \
                 are queued and not confirmed"
            ),
            None => {}
        }
    }
}

// A poisoned lock means a thread panicked between two plain operations on the guarded value,
// which stays consistent; carrying on beats refusing every logout afterwards.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a logout waiting for Redis's acknowledgement asks of the store.
impl Progress for Shared {
    fn settled(&self, mark: u64) -> bool {
        Shared::settled(self, mark)
    }

    fn stopping(&self) -> bool {
        Shared::stopping(self)
    }

    fn not_durable_reason(&self) -> NotDurableReason {
        Shared::not_durable_reason(self)
    }

    fn writer_failing(&self) -> bool {
        !lock(&self.link).writable
    }

    fn acks(&self) -> &Acknowledgements {
        &self.acks
    }
}

impl Shared {
    /// The entry of a stream entry's `name` and `value`, if it is trusted; a refusal is
    /// counted and logged.
    pub(crate) fn read_entry(
        &self,
        name: &[u8],
        value: &[u8],
        bounds: &TrustBounds,
    ) -> Option<Entry> {
        match self.settings.keys.read_entry(name, value, bounds) {
            Ok(entry) => Some(entry),
            // Another program's entry, or a newer version's value.
            Err(Unread::Unknown) => None,
            Err(Unread::Refused(refusal)) => {
                self.refused.record(refusal, Source::Stream);
                None
            }
        }
    }
}
