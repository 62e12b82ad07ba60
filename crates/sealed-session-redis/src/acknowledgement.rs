//! Waiting for Redis to acknowledge this instance's revocations without holding a thread: the
//! [`Acknowledgement`] future a logout awaits, the waiters the writer wakes after each batch and
//! a timer thread wakes at their deadlines, and the recent wait times `health()` reports.

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

    /// The 99th percentile of the acknowledgement waits of the last minute (at most the latest
    /// 256; a wait that timed out counts with its full length), or `None` if there were none.
    pub(crate) fn recent_p99(&self) -> Option<Duration> {
        let recent = lock(&self.recent);
        let now = Instant::now();
        let mut waits: Vec<Duration> = recent
            .waits
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) < RECENT_FOR)
            .map(|(_, waited)| *waited)
            .collect();
        if waits.is_empty() {
            return None;
        }
        waits.sort_unstable();
        let rank = (waits.len() * 99).div_ceil(100).max(1) - 1;
        Some(waits[rank])
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

    /// How long until the latest deadline of the waiting logouts, if any waits: what a
    /// replica's confirmation can still be waited for.
    pub(crate) fn latest_deadline_in(&self) -> Option<Duration> {
        let latest = lock(&self.waiters)
            .waiting
            .values()
            .map(|(d, _)| *d)
            .max()?;
        Some(latest.saturating_duration_since(Instant::now()))
    }

    /// Wakes the timer thread so it sees a stop.
    pub(crate) fn stop_timer(&self) {
        let _waiters = lock(&self.waiters);
        self.timer.notify_all();
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

/// The timer thread: wakes each waiting logout at its deadline, so a wait that Redis never
/// answers resolves on time whatever runtime polls it. Exits at a stop, waking every waiter.
pub(crate) fn run_timer(shared: Arc<dyn Progress>) {
    let acks = shared.acks();
    // However it ends (a waker that panics included), waiting logouts resolve, never hang.
    let _ended = TimerEnded(acks);
    let mut waiters = lock(&acks.waiters);
    while !shared.stopping() {
        let now = Instant::now();
        let due: Vec<u64> = waiters
            .waiting
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        if !due.is_empty() {
            let woken: Vec<Waker> = due
                .iter()
                .filter_map(|id| waiters.waiting.remove(id))
                .map(|(_, waker)| waker)
                .collect();
            drop(waiters);
            woken.into_iter().for_each(Waker::wake);
            waiters = lock(&acks.waiters);
            continue;
        }
        let next = waiters.waiting.values().map(|(d, _)| *d).min();
        waiters = match next {
            Some(deadline) => {
                acks.timer
                    .wait_timeout(waiters, deadline.saturating_duration_since(now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => acks
                .timer
                .wait(waiters)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
    drop(waiters);
    acks.wake_all();
}

/// Marks the timer ended and wakes every waiter, when the timer thread ends.
struct TimerEnded<'a>(&'a Acknowledgements);

impl Drop for TimerEnded<'_> {
    fn drop(&mut self) {
        self.0.timer_ended.store(true, Ordering::Release);
        self.0.wake_all();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_p99_is_the_slowest_of_the_latest_hundred_and_the_window_slides() {
        let acks = Acknowledgements::new();
        assert_eq!(acks.recent_p99(), None);
        let timeout = Duration::from_secs(3600);
        for ms in 1..=100 {
            acks.record(Duration::from_millis(ms), timeout);
        }
        assert_eq!(acks.recent_p99(), Some(Duration::from_millis(99)));
        for _ in 0..RECENT {
            acks.record(Duration::from_millis(2), timeout);
        }
        assert_eq!(acks.recent_p99(), Some(Duration::from_millis(2)));
    }
}
