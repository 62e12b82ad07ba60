//! The comparator of `benches/acknowledgement_waiters.rs`: `crates/sealed-session-redis/src/
//! acknowledgement.rs` as it was before its waiters were indexed (main at 6dd5ce6). Every
//! waiter sits in one map by id: registering scans them all for the earliest deadline, and the
//! writer calls `wake_all` after every batch. Kept verbatim but for what the storm doesn't run
//! (the timer thread, `recent_p99`, `latest_deadline_in`, `stop_timer`, the tests) and this
//! comment; run `git show 6dd5ce6:crates/sealed-session-redis/src/acknowledgement.rs` to compare.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use sealed_session::{NotDurableReason, RevokeError};

use crate::LOG_TARGET;

/// The most acknowledgement waits the p99 is computed over: the latest ones.
const RECENT: usize = 256;
/// Waits older than this are not recent: a p99 recovers this long after Redis does.
const RECENT_FOR: Duration = Duration::from_secs(60);
/// A slow acknowledgement is logged at most this often.
const LOG_SLOW_EVERY: Duration = Duration::from_secs(10);

/// The logouts waiting for Redis, and how long the latest waits took.
pub(crate) struct Acknowledgements {
    waiters: Mutex<Waiters>,
    /// The timer thread ended (a stop, or a waker that panicked): waits resolve at their next
    /// poll rather than wait for a deadline wake that won't come.
    timer_ended: AtomicBool,
    /// Wakes the timer thread: a waiter with an earlier deadline, or a stop.
    timer: Condvar,
    recent: Mutex<Recent>,
}

#[derive(Default)]
struct Waiters {
    next: u64,
    /// By id: the deadline and the waker of each pending [`Acknowledgement`].
    waiting: BTreeMap<u64, (Instant, Waker)>,
}

struct Recent {
    /// When each wait ended, and how long it was.
    waits: VecDeque<(Instant, Duration)>,
    last_logged: Option<Instant>,
}

impl Acknowledgements {
    pub(crate) fn new() -> Self {
        Self {
            waiters: Mutex::new(Waiters::default()),
            timer_ended: AtomicBool::new(false),
            timer: Condvar::new(),
            recent: Mutex::new(Recent {
                waits: VecDeque::with_capacity(RECENT),
                last_logged: None,
            }),
        }
    }

    /// Wakes every waiting logout, to check the queue again: called by the writer after each
    /// batch, and at a stop. Wakers are called outside the lock.
    pub(crate) fn wake_all(&self) {
        let woken = std::mem::take(&mut lock(&self.waiters).waiting);
        for (_, (_, waker)) in woken {
            waker.wake();
        }
    }

    /// Records how long an acknowledgement wait took; a wait longer than half the timeout is
    /// logged (at most every ten seconds): Redis is slow, logouts wait, reads don't.
    fn record(&self, waited: Duration, timeout: Duration) {
        let mut recent = lock(&self.recent);
        if recent.waits.len() == RECENT {
            recent.waits.pop_front();
        }
        recent.waits.push_back((Instant::now(), waited));
        let slow = waited > timeout / 2;
        let due = recent
            .last_logged
            .is_none_or(|at| at.elapsed() >= LOG_SLOW_EVERY);
        if slow && due {
            recent.last_logged = Some(Instant::now());
            drop(recent);
            tracing::warn!(
                target: LOG_TARGET,
                event = "slow_acknowledgement",
                waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                "Redis is slow to acknowledge revocations: logouts wait (no thread does), reads \
                 don't; see health().acknowledgement_p99"
            );
        }
    }

    /// Registers (or refreshes) the waker of waiter `id`, due at `deadline`; a new earliest
    /// deadline wakes the timer.
    fn register(&self, id: &mut Option<u64>, deadline: Instant, waker: &Waker) {
        let mut waiters = lock(&self.waiters);
        let earliest = waiters.waiting.values().map(|(d, _)| *d).min();
        let key = match *id {
            Some(key) => key,
            None => {
                waiters.next += 1;
                *id = Some(waiters.next);
                waiters.next
            }
        };
        waiters.waiting.insert(key, (deadline, waker.clone()));
        if earliest.is_none_or(|e| deadline < e) {
            self.timer.notify_one();
        }
    }

    fn forget(&self, id: u64) {
        lock(&self.waiters).waiting.remove(&id);
    }
}

/// What a waiting logout asks of the store: whether the queue reached its mark, whether the
/// store stops, why it is not durable, and the waiters it registers with. (The store's shared
/// state implements it; this module depends on nothing else of the crate.)
pub(crate) trait Progress: Send + Sync + 'static {
    /// Whether every revocation queued before `mark` is in Redis.
    fn settled(&self, mark: u64) -> bool;
    /// Whether the store is stopping.
    fn stopping(&self) -> bool;
    /// Whether the writer's last attempt failed: what is unwritten won't be confirmed soon.
    fn writer_failing(&self) -> bool;
    /// Why the revocations are not confirmed, as the link's health tells.
    fn not_durable_reason(&self) -> NotDurableReason;
    /// The waiting logouts.
    fn acks(&self) -> &Acknowledgements;
}

/// A logout's wait for Redis to acknowledge every revocation this instance queued before it:
/// resolves once the writer has written them, or with `NotDurable` at the deadline. Polled by
/// the request's runtime; woken by the writer after each batch and by the timer thread at the
/// deadline, so no thread blocks in it.
pub(crate) struct Acknowledgement {
    shared: Arc<dyn Progress>,
    /// The queue mark to reach.
    mark: u64,
    started: Instant,
    deadline: Instant,
    timeout: Duration,
    /// This future's entry among the waiters, while it has one.
    id: Option<u64>,
}

impl Acknowledgement {
    pub(crate) fn new(shared: Arc<dyn Progress>, mark: u64, timeout: Duration) -> Self {
        let started = Instant::now();
        Self {
            shared,
            mark,
            started,
            // A timeout too large for an `Instant` waits as long as a year, never panics.
            deadline: started
                .checked_add(timeout)
                .unwrap_or_else(|| started + Duration::from_secs(365 * 86_400)),
            timeout,
            id: None,
        }
    }

    /// Ends the wait. Its length counts among the recent waits if it says how fast Redis
    /// answers: confirmed, or timed out (its replicas' confirmation included); not when it failed for another reason (a refused
    /// write, the link down), which the health reports on its own.
    fn resolve(&mut self, result: Result<(), RevokeError>) -> Poll<Result<(), RevokeError>> {
        if let Some(id) = self.id.take() {
            self.shared.acks().forget(id);
        }
        let timed = matches!(
            result,
            Ok(())
                | Err(RevokeError::NotDurable {
                    reason: NotDurableReason::RedisTimedOut | NotDurableReason::ReplicasBehind,
                    ..
                })
        );
        if timed {
            self.shared
                .acks()
                .record(self.started.elapsed(), self.timeout);
        }
        Poll::Ready(result)
    }
}

impl Future for Acknowledgement {
    type Output = Result<(), RevokeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Registered before the check: a batch written between the two wakes it again.
        this.shared
            .acks()
            .register(&mut this.id, this.deadline, cx.waker());
        if this.shared.settled(this.mark) {
            return this.resolve(Ok(()));
        }
        if Instant::now() >= this.deadline
            || this.shared.stopping()
            || this.shared.writer_failing()
            || this.shared.acks().timer_ended.load(Ordering::Acquire)
        {
            let reason = this.shared.not_durable_reason();
            return this.resolve(Err(RevokeError::NotDurable {
                waited: this.started.elapsed(),
                reason,
            }));
        }
        Poll::Pending
    }
}

impl Drop for Acknowledgement {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.shared.acks().forget(id);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
