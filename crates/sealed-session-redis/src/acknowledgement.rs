//! Waiting for Redis to acknowledge this instance's revocations without holding a thread: the
//! [`Acknowledgement`] future a logout awaits, the waiters the writer wakes once a batch settled
//! what they wait for and a timer thread wakes at their deadlines, and the recent wait times
//! `health()` reports.
//!
//! Many logouts can wait at once (thousands, while Redis is slow), so the waiters are indexed by
//! deadline and by queue mark: registering one, finding the earliest deadline and waking the
//! ones a batch settled each cost O(log n), and a batch wakes only those, not every waiter.

use std::collections::{BTreeSet, HashMap, VecDeque};
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

/// The pending [`Acknowledgement`]s, by id, by deadline and by queue mark.
#[derive(Default)]
struct Waiters {
    next: u64,
    /// By id: what each pending [`Acknowledgement`] waits for, and its waker.
    waiting: HashMap<u64, Waiter>,
    /// `(deadline, id)`: the first is the timer thread's next wake, the last bounds a replica
    /// wait.
    by_deadline: BTreeSet<(Instant, u64)>,
    /// `(mark, id)`: a batch that settled the queue up to a mark wakes the first ones.
    by_mark: BTreeSet<(u64, u64)>,
}

/// One pending [`Acknowledgement`]: the queue mark it waits for, its deadline, its waker.
struct Waiter {
    mark: u64,
    deadline: Instant,
    waker: Waker,
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

    /// Wakes the waiting logouts whose revocations are all in Redis now, those with a mark up to
    /// `settled` ([`Queue::settled_mark`](crate::queue::Queue::settled_mark)): called by the
    /// writer after each batch it completed. The others sleep on; what they wait for is not
    /// written yet. Wakers are called outside the lock.
    pub(crate) fn wake_settled(&self, settled: u64) {
        let woken = lock(&self.waiters).take_settled(settled);
        woken.into_iter().for_each(Waker::wake);
    }

    /// Wakes every waiting logout, to answer now: called when the writer fails or ends, and at
    /// a stop. Wakers are called outside the lock.
    pub(crate) fn wake_all(&self) {
        let woken = lock(&self.waiters).take_all();
        woken.into_iter().for_each(Waker::wake);
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

    /// Registers (or refreshes) the waker of waiter `id`, waiting for `mark` until `deadline`;
    /// a new earliest deadline wakes the timer.
    fn register(&self, id: &mut Option<u64>, mark: u64, deadline: Instant, waker: &Waker) {
        if lock(&self.waiters).register(id, mark, deadline, waker) {
            self.timer.notify_one();
        }
    }

    fn forget(&self, id: u64) {
        lock(&self.waiters).forget(id);
    }

    /// How long until the latest deadline of the waiting logouts, if any waits: what a
    /// replica's confirmation can still be waited for.
    pub(crate) fn latest_deadline_in(&self) -> Option<Duration> {
        let latest = lock(&self.waiters).latest()?;
        Some(latest.saturating_duration_since(Instant::now()))
    }

    /// Wakes the timer thread so it sees a stop.
    pub(crate) fn stop_timer(&self) {
        let _waiters = lock(&self.waiters);
        self.timer.notify_all();
    }
}

impl Waiters {
    /// Registers waiter `id` (giving it an id if it has none), or refreshes its waker if it is
    /// registered already (its mark and deadline don't change). Returns whether its deadline is
    /// now the earliest: the timer thread then has to wake sooner.
    fn register(
        &mut self,
        id: &mut Option<u64>,
        mark: u64,
        deadline: Instant,
        waker: &Waker,
    ) -> bool {
        let key = *id.get_or_insert_with(|| {
            self.next += 1;
            self.next
        });
        if let Some(waiter) = self.waiting.get_mut(&key) {
            if !waiter.waker.will_wake(waker) {
                waiter.waker = waker.clone();
            }
            return false;
        }
        let earliest = self.earliest();
        self.waiting.insert(
            key,
            Waiter {
                mark,
                deadline,
                waker: waker.clone(),
            },
        );
        self.by_deadline.insert((deadline, key));
        self.by_mark.insert((mark, key));
        earliest.is_none_or(|e| deadline < e)
    }

    /// Removes waiter `id`, if it is registered; its waker, to wake.
    fn forget(&mut self, id: u64) -> Option<Waker> {
        let waiter = self.waiting.remove(&id)?;
        self.by_deadline.remove(&(waiter.deadline, id));
        self.by_mark.remove(&(waiter.mark, id));
        Some(waiter.waker)
    }

    /// Removes the waiters with a mark up to `settled`: their revocations are all in Redis.
    fn take_settled(&mut self, settled: u64) -> Vec<Waker> {
        let mut woken = Vec::new();
        while let Some(&(mark, id)) = self.by_mark.first()
            && mark <= settled
        {
            woken.extend(self.forget(id));
        }
        woken
    }

    /// Removes the waiters whose deadline is at or before `now`.
    fn take_due(&mut self, now: Instant) -> Vec<Waker> {
        let mut woken = Vec::new();
        while let Some(&(deadline, id)) = self.by_deadline.first()
            && deadline <= now
        {
            woken.extend(self.forget(id));
        }
        woken
    }

    /// Removes every waiter.
    fn take_all(&mut self) -> Vec<Waker> {
        self.by_deadline.clear();
        self.by_mark.clear();
        self.waiting.drain().map(|(_, w)| w.waker).collect()
    }

    /// The earliest deadline of the waiters, if any.
    fn earliest(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// The latest deadline of the waiters, if any.
    fn latest(&self) -> Option<Instant> {
        self.by_deadline.last().map(|(deadline, _)| *deadline)
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
        let woken = waiters.take_due(now);
        if !woken.is_empty() {
            drop(waiters);
            woken.into_iter().for_each(Waker::wake);
            waiters = lock(&acks.waiters);
            continue;
        }
        waiters = match waiters.earliest() {
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
/// the request's runtime; woken by the writer once a batch settled its mark (or the writer
/// failed) and by the timer thread at the deadline, so no thread blocks in it.
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
        // Settled already (the poll after the wake, usually): nothing to register.
        if this.shared.settled(this.mark) {
            return this.resolve(Ok(()));
        }
        // Registered before the check: a batch written between the two wakes it again.
        this.shared
            .acks()
            .register(&mut this.id, this.mark, this.deadline, cx.waker());
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
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, AtomicUsize};
    use std::sync::mpsc;
    use std::task::Wake;

    use super::*;

    /// A store whose queue is settled up to `settled`, and never fails.
    struct Fake {
        settled: AtomicU64,
        stopping: AtomicBool,
        acks: Acknowledgements,
    }

    impl Fake {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                settled: AtomicU64::new(0),
                stopping: AtomicBool::new(false),
                acks: Acknowledgements::new(),
            })
        }

        /// What the writer does after a batch that settled the queue up to `mark`.
        fn settle(&self, mark: u64) {
            self.settled.store(mark, Ordering::Release);
            self.acks.wake_settled(mark);
        }

        /// How many waiters are registered, checked to be the same in the three indexes.
        fn registered(&self) -> usize {
            let waiters = lock(&self.acks.waiters);
            assert_eq!(waiters.by_deadline.len(), waiters.waiting.len());
            assert_eq!(waiters.by_mark.len(), waiters.waiting.len());
            waiters.waiting.len()
        }
    }

    impl Progress for Fake {
        fn settled(&self, mark: u64) -> bool {
            mark <= self.settled.load(Ordering::Acquire)
        }
        fn stopping(&self) -> bool {
            self.stopping.load(Ordering::Acquire)
        }
        fn writer_failing(&self) -> bool {
            false
        }
        fn not_durable_reason(&self) -> NotDurableReason {
            NotDurableReason::RedisTimedOut
        }
        fn acks(&self) -> &Acknowledgements {
            &self.acks
        }
    }

    /// Counts its wakes.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Counting {
        fn wakes(&self) -> usize {
            self.0.load(Ordering::Acquire)
        }
    }

    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A logout's wait for `mark`, and the waker it is polled with.
    struct Logout {
        wait: Pin<Box<Acknowledgement>>,
        woken: Arc<Counting>,
    }

    impl Logout {
        fn new(fake: &Arc<Fake>, mark: u64, timeout: Duration) -> Self {
            let shared: Arc<dyn Progress> = fake.clone();
            Self {
                wait: Box::pin(Acknowledgement::new(shared, mark, timeout)),
                woken: Arc::default(),
            }
        }

        fn poll(&mut self) -> Poll<Result<(), RevokeError>> {
            let waker = Waker::from(self.woken.clone());
            self.wait.as_mut().poll(&mut Context::from_waker(&waker))
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_batch_wakes_only_the_logouts_it_settled() {
        let fake = Fake::new();
        let mut early = Logout::new(&fake, 10, HOUR);
        let mut late = Logout::new(&fake, 300, HOUR);
        assert!(early.poll().is_pending());
        assert!(late.poll().is_pending());
        assert_eq!(fake.registered(), 2);

        fake.settle(256);
        assert_eq!(early.woken.wakes(), 1);
        assert_eq!(late.woken.wakes(), 0, "its revocation is not written yet");
        assert!(matches!(early.poll(), Poll::Ready(Ok(()))));
        assert_eq!(fake.registered(), 1);

        fake.settle(512);
        assert_eq!(late.woken.wakes(), 1);
        assert!(matches!(late.poll(), Poll::Ready(Ok(()))));
        assert_eq!(fake.registered(), 0);

        // A wait dropped while pending leaves nothing behind.
        let mut dropped = Logout::new(&fake, 600, HOUR);
        assert!(dropped.poll().is_pending());
        assert!(
            dropped.poll().is_pending(),
            "a second poll refreshes its entry"
        );
        assert_eq!(fake.registered(), 1);
        drop(dropped);
        assert_eq!(fake.registered(), 0);
    }

    #[test]
    fn a_storm_wakes_each_logout_once() {
        const LOGOUTS: u64 = 2_000;
        const BATCH: u64 = 256;
        let fake = Fake::new();
        // The queue marks of logouts made one after the other: each waits for its own write.
        let mut logouts: Vec<Logout> = (1..=LOGOUTS)
            .map(|mark| Logout::new(&fake, mark, HOUR))
            .collect();
        for logout in &mut logouts {
            assert!(logout.poll().is_pending());
        }
        let mut settled = 0;
        while settled < LOGOUTS {
            settled += BATCH;
            fake.settle(settled);
            for (logout, mark) in logouts.iter_mut().zip(1..) {
                let expected = usize::from(mark <= settled);
                assert_eq!(logout.woken.wakes(), expected, "mark {mark} at {settled}");
                if mark <= settled && mark > settled - BATCH {
                    assert!(matches!(logout.poll(), Poll::Ready(Ok(()))));
                }
            }
        }
        assert_eq!(fake.registered(), 0);
    }

    /// A small deterministic generator (xorshift64): the same sequence every run.
    struct Xorshift(u64);

    impl Xorshift {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn the_earliest_deadline_holds_through_registrations_and_forgets_in_random_order() {
        let base = Instant::now();
        let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
        let mut waiters = Waiters::default();
        // The model: id -> (deadline, mark).
        let mut model: BTreeMap<u64, (Instant, u64)> = BTreeMap::new();
        let waker = Waker::from(Arc::new(Counting::default()));
        for step in 0..4_000 {
            if model.is_empty() || random.below(3) > 0 {
                let deadline = base + Duration::from_millis(random.below(10_000));
                let mark = random.below(5_000);
                let earliest = model.values().map(|(d, _)| *d).min();
                let mut id = None;
                let new_earliest = waiters.register(&mut id, mark, deadline, &waker);
                assert_eq!(
                    new_earliest,
                    earliest.is_none_or(|e| deadline < e),
                    "{step}"
                );
                let id = id.expect("registering gives an id");
                model.insert(id, (deadline, mark));
                // Polled again: refreshed, never a new earliest.
                assert!(!waiters.register(&mut Some(id), mark, deadline, &waker));
            } else {
                let nth = usize::try_from(random.below(model.len() as u64)).unwrap();
                let id = *model.keys().nth(nth).unwrap();
                model.remove(&id);
                assert!(waiters.forget(id).is_some());
                assert!(waiters.forget(id).is_none(), "forgotten once");
            }
            assert_eq!(waiters.waiting.len(), model.len());
            assert_eq!(waiters.earliest(), model.values().map(|(d, _)| *d).min());
            assert_eq!(waiters.latest(), model.values().map(|(d, _)| *d).max());
        }
        assert!(model.len() > 500, "{}", model.len());

        // The timer's wake at `now` takes exactly those due, the writer's exactly those settled.
        let now = base + Duration::from_millis(5_000);
        let due = model.values().filter(|(d, _)| *d <= now).count();
        assert_eq!(waiters.take_due(now).len(), due);
        model.retain(|_, (d, _)| *d > now);
        assert_eq!(waiters.earliest(), model.values().map(|(d, _)| *d).min());
        let settled = model.values().filter(|(_, m)| *m <= 2_500).count();
        assert_eq!(waiters.take_settled(2_500).len(), settled);
        model.retain(|_, (_, m)| *m > 2_500);
        assert_eq!(waiters.earliest(), model.values().map(|(d, _)| *d).min());
        assert_eq!(
            (waiters.by_deadline.len(), waiters.by_mark.len()),
            (model.len(), model.len())
        );
        assert_eq!(waiters.take_all().len(), model.len());
        assert_eq!(waiters.earliest(), None);
    }

    /// Sends `n` when woken.
    struct Notify(mpsc::Sender<u64>, u64);

    impl Wake for Notify {
        fn wake(self: Arc<Self>) {
            let _ = self.0.send(self.1);
        }
    }

    #[test]
    fn the_timer_wakes_the_earliest_among_many_forgotten_then_everyone_at_its_end() {
        let fake = Fake::new();
        let (sender, woken) = mpsc::channel();
        let poll = |wait: &mut Pin<Box<Acknowledgement>>, n: u64| {
            let waker = Waker::from(Arc::new(Notify(sender.clone(), n)));
            wait.as_mut().poll(&mut Context::from_waker(&waker))
        };
        let shared: Arc<dyn Progress> = fake.clone();
        let timer = std::thread::spawn(move || run_timer(shared));
        let wait_for = |mark, timeout| {
            let shared: Arc<dyn Progress> = fake.clone();
            Box::pin(Acknowledgement::new(shared, mark, timeout))
        };
        // Many waits an hour long, half of them dropped in an interleaved order.
        let mut waits: Vec<_> = (0..1_000).map(|n| wait_for(n + 1, HOUR)).collect();
        for (n, wait) in (0..).zip(&mut waits) {
            assert!(poll(wait, n).is_pending());
        }
        let mut random = Xorshift(7);
        for _ in 0..500 {
            let nth = usize::try_from(random.below(waits.len() as u64)).unwrap();
            drop(waits.swap_remove(nth));
        }
        // The earliest deadline, registered last: the timer wakes it at its deadline.
        let mut soon = wait_for(5_000, Duration::from_millis(20));
        assert!(poll(&mut soon, u64::MAX).is_pending());
        assert_eq!(woken.recv_timeout(Duration::from_secs(10)), Ok(u64::MAX));
        assert!(matches!(
            poll(&mut soon, u64::MAX),
            Poll::Ready(Err(RevokeError::NotDurable {
                reason: NotDurableReason::RedisTimedOut,
                ..
            }))
        ));
        // (Its last poll registers it again before it resolves, so the timer may wake it once
        // more meanwhile.)
        assert!(
            woken.try_iter().all(|n| n == u64::MAX),
            "the hour-long waits sleep on"
        );

        // The timer ends (a stop): every wait is woken, and answers at once.
        fake.stopping.store(true, Ordering::Release);
        fake.acks.stop_timer();
        timer.join().unwrap();
        assert_eq!(woken.iter().take(waits.len()).count(), waits.len());
        for (n, wait) in (0..).zip(&mut waits) {
            assert!(poll(wait, n).is_ready());
        }
        drop(waits);
        assert_eq!(fake.registered(), 0);
    }

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
