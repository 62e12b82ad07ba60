//! What the benches measure with: criterion's wall clock, or the benchmark thread's CPU time.
//!
//! Shared by `benches/codec.rs`, `benches/breakdown.rs` and `benches/hand_written.rs`
//! (`mod common;`); not a bench target itself. Pick with the environment variable `BENCH_CLOCK`:
//! `cpu` (default) or `wall`, e.g. `BENCH_CLOCK=wall bash benches/run.sh`.
//!
//! Thread CPU time (`CLOCK_THREAD_CPUTIME_ID`, user plus kernel, so the `getrandom` system call
//! of every seal counts) leaves out the time the thread waits for a core. On a shared 2-core
//! machine, where a fuzzer or a build may take both cores for a while, that keeps contenders
//! measured one after the other comparable; wall-clock medians there swing by 1.5x or more
//! between runs. On an idle machine both clocks agree.

use std::fmt;
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// CPU time of the thread running the benchmark, reported in nanoseconds like `WallTime`.
pub(crate) struct ThreadCpuTime {
    /// Only lends its (private) nanosecond formatter.
    wall: WallTime,
}

impl ThreadCpuTime {
    /// The measurement.
    pub(crate) fn new() -> Self {
        Self { wall: WallTime }
    }
}

impl fmt::Debug for ThreadCpuTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadCpuTime")
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    #[allow(clippy::cast_precision_loss)] // nanoseconds of a few seconds fit an f64 exactly
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// Whether `BENCH_CLOCK` asks for the wall clock (anything but `wall` means CPU time).
pub(crate) fn wall_clock() -> bool {
    std::env::var("BENCH_CLOCK").is_ok_and(|v| v.eq_ignore_ascii_case("wall"))
}
