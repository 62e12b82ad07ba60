//! Criterion benchmark: a storm of logouts waiting for a slow Redis's acknowledgement, on the
//! Redis store's waiters as they are (`indexed`) and as they were (`before`), in one run.
//!
//! Run from the workspace root:
//! `cargo bench -p sealed-session-benches --bench acknowledgement_waiters -- --noplot` (about
//! two minutes once built, most of it `before` at 10,000 waiters; thread CPU time, or
//! `BENCH_CLOCK=wall` for wall time), and `bash benches/acknowledgement_waiters_callgrind.sh`
//! for instructions per storm.
//!
//! One storm: `n` logouts wait at once, with queue marks 1 to `n` (logouts made one after the
//! other, each waiting for its own revocation), each polled once (it registers); then the writer
//! settles the queue 256 revocations at a time (its batch size), and after each batch the
//! woken logouts are polled, as an executor would, until every one has resolved. No thread and
//! no Redis: the store's progress is an atomic, the executor a list of woken indexes.
//!
//! - `indexed`: `crates/sealed-session-redis/src/acknowledgement.rs` itself, compiled here (it
//!   is `pub(crate)`), so the bench measures the code that runs. The writer calls
//!   `wake_settled` with the settled mark: only the logouts that batch settled wake.
//! - `before`: the same file before its waiters were indexed (`acknowledgement_waiters/before.rs`,
//!   see its header): registering scans every waiter for the earliest deadline, and the writer
//!   calls `wake_all` after each batch, so every waiting logout polls again and registers again.
//!
//! Before measuring, both are checked to resolve every logout `Ok`, and the polls each needed
//! are printed (the same on every run).
//!
//! With `WAITERS_CONTENDER=<contender>/<n>` (e.g. `before/1000`), the bench runs one storm to
//! warm up, then one inside `counted`, for callgrind (without criterion).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, criterion_main};
use sealed_session::{NotDurableReason, RevokeError};

mod common;

// The store's acknowledgement module is `pub(crate)`: the product file is compiled here. It
// depends only on std, `sealed_session`'s error types, `tracing` and the crate's log target.
// `dead_code`: the storm doesn't run the timer thread or read the p99. `unused_imports`: see
// benches/hand_written.rs (clippy's `cfg(test)` keeps the file's test module, not its tests).
#[path = "../../crates/sealed-session-redis/src/acknowledgement.rs"]
#[allow(dead_code, unused_imports)]
mod acknowledgement;

#[path = "acknowledgement_waiters/before.rs"]
#[allow(dead_code)]
mod before;

/// The log target the compiled modules name (the store's own).
const LOG_TARGET: &str = "sealed_session_redis";

/// Revocations per batch: the writer's `BATCH`.
const BATCH: u64 = 256;
/// Logouts waiting at once.
const SIZES: [u64; 3] = [100, 1_000, 10_000];
/// Far enough that no logout times out during a storm.
const TIMEOUT: Duration = Duration::from_secs(3_600);

/// A store whose queue is settled up to `settled`, and never fails, with the waiters of one
/// contender.
struct Store<A> {
    settled: AtomicU64,
    acks: A,
}

impl<A> Store<A> {
    fn settled(&self, mark: u64) -> bool {
        mark <= self.settled.load(Ordering::Acquire)
    }
}

// The same answers for both contenders' `Progress` trait.
macro_rules! progress {
    ($module:ident) => {
        impl $module::Progress for Store<$module::Acknowledgements> {
            fn settled(&self, mark: u64) -> bool {
                Store::settled(self, mark)
            }
            fn stopping(&self) -> bool {
                false
            }
            fn writer_failing(&self) -> bool {
                false
            }
            fn not_durable_reason(&self) -> NotDurableReason {
                NotDurableReason::RedisTimedOut
            }
            fn acks(&self) -> &$module::Acknowledgements {
                &self.acks
            }
        }
    };
}
progress!(acknowledgement);
progress!(before);

type Wait = Pin<Box<dyn Future<Output = Result<(), RevokeError>>>>;

/// What a storm needs of a contender: the logouts' waits, and the writer's wake after a batch.
trait Contender {
    fn new_store() -> Arc<Self>;
    fn wait(self: &Arc<Self>, mark: u64) -> Wait;
    /// The writer completed a batch: the queue is settled up to `mark`.
    fn settle(&self, mark: u64);
}

impl Contender for Store<acknowledgement::Acknowledgements> {
    fn new_store() -> Arc<Self> {
        Arc::new(Self {
            settled: AtomicU64::new(0),
            acks: acknowledgement::Acknowledgements::new(),
        })
    }

    fn wait(self: &Arc<Self>, mark: u64) -> Wait {
        let shared: Arc<dyn acknowledgement::Progress> = self.clone();
        Box::pin(acknowledgement::Acknowledgement::new(shared, mark, TIMEOUT))
    }

    fn settle(&self, mark: u64) {
        self.settled.store(mark, Ordering::Release);
        self.acks.wake_settled(mark);
    }
}

impl Contender for Store<before::Acknowledgements> {
    fn new_store() -> Arc<Self> {
        Arc::new(Self {
            settled: AtomicU64::new(0),
            acks: before::Acknowledgements::new(),
        })
    }

    fn wait(self: &Arc<Self>, mark: u64) -> Wait {
        let shared: Arc<dyn before::Progress> = self.clone();
        Box::pin(before::Acknowledgement::new(shared, mark, TIMEOUT))
    }

    fn settle(&self, mark: u64) {
        self.settled.store(mark, Ordering::Release);
        self.acks.wake_all();
    }
}

/// The executor's run queue: the indexes of the woken logouts.
type Woken = Arc<Mutex<Vec<usize>>>;

/// Wakes logout `index`: queues it to be polled.
struct Task {
    index: usize,
    woken: Woken,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.woken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(self.index);
    }
}

/// One storm of `n` logouts (see the module documentation); returns the polls it took.
fn storm<C: Contender>(n: u64) -> u64 {
    let store = C::new_store();
    let woken: Woken = Arc::default();
    let mut waits: Vec<Option<Wait>> = (1..=n).map(|mark| Some(store.wait(mark))).collect();
    let wakers: Vec<Waker> = (0..waits.len())
        .map(|index| {
            Waker::from(Arc::new(Task {
                index,
                woken: woken.clone(),
            }))
        })
        .collect();
    let mut polls = 0;
    let mut poll = |waits: &mut Vec<Option<Wait>>, index: usize| {
        let Some(wait) = waits[index].as_mut() else {
            return;
        };
        polls += 1;
        match wait.as_mut().poll(&mut Context::from_waker(&wakers[index])) {
            Poll::Ready(result) => {
                assert!(result.is_ok(), "{result:?}");
                waits[index] = None;
            }
            Poll::Pending => {}
        }
    };
    for index in 0..waits.len() {
        poll(&mut waits, index);
    }
    let mut settled = 0;
    while settled < n {
        settled += BATCH;
        store.settle(settled);
        let run = std::mem::take(&mut *woken.lock().unwrap_or_else(PoisonError::into_inner));
        for index in run {
            poll(&mut waits, index);
        }
    }
    assert!(waits.iter().all(Option::is_none), "every logout resolved");
    polls
}

type Indexed = Store<acknowledgement::Acknowledgements>;
type Before = Store<before::Acknowledgements>;

/// The storm of `contender` (`before` or `indexed`).
fn run(contender: &str, n: u64) -> u64 {
    match contender {
        "before" => storm::<Before>(n),
        "indexed" => storm::<Indexed>(n),
        other => panic!("no contender `{other}`: `before` or `indexed`"),
    }
}

fn measure<M: Measurement>(c: &mut Criterion<M>) {
    for n in SIZES {
        println!(
            "{n} logouts, batches of {BATCH}: {} polls before, {} indexed",
            storm::<Before>(n),
            storm::<Indexed>(n)
        );
    }
    let mut group = c.benchmark_group("acknowledgement_waiters");
    for n in SIZES {
        for contender in ["before", "indexed"] {
            group.bench_function(BenchmarkId::new(contender, n), |b| {
                b.iter(|| black_box(run(contender, black_box(n))));
            });
        }
    }
    group.finish();
}

/// One storm: the only function `benches/acknowledgement_waiters_callgrind.sh` counts.
#[inline(never)]
fn counted(contender: &str, n: u64) -> u64 {
    run(contender, black_box(n))
}

/// What `criterion_group!` would generate, written out so that it can carry a doc comment, pick
/// the clock (`BENCH_CLOCK`, see `common/mod.rs`) and run the callgrind mode.
fn benches() {
    fn run_all<M: Measurement>(c: Criterion<M>) {
        // Ten samples: one storm of `before` at 10,000 waiters takes seconds.
        let mut c = c
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();
        measure(&mut c);
    }
    if let Ok(wanted) = std::env::var("WAITERS_CONTENDER") {
        let (contender, n) = wanted
            .split_once('/')
            .and_then(|(c, n)| Some((c, n.parse().ok()?)))
            .expect("WAITERS_CONTENDER is <before|indexed>/<n>");
        // The first storm pays for what the next reuses (allocator pages).
        run(contender, n);
        println!("{wanted}: {} polls", counted(contender, n));
    } else if common::wall_clock() {
        run_all(Criterion::default());
    } else {
        run_all(Criterion::default().with_measurement(common::ThreadCpuTime::new()));
    }
}

criterion_main!(benches);
