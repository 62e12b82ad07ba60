//! The link to Redis both threads use: connections with timeouts on every read and write (so
//! each wait is bounded, whatever the application's runtime), which errors mean the link is
//! down, the backoff between attempts, and the guard that marks the link down when a thread
//! ends.

use std::time::Duration;

use redis::{Connection, RedisError, RedisResult};

use crate::LOG_TARGET;
use crate::config::Settings;
use crate::shared::Shared;

/// First wait before reconnecting; it doubles up to the configured maximum.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// One of the store's two threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Thread {
    Writer,
    Reader,
}

/// Marks the link down when the thread holding it ends, however it ends (a panic included):
/// without its writer no logout reaches Redis, without its reader no other instance's
/// reaches here, and the health must not go on saying `connected`. An end before a stop is
/// also logged as an error.
pub(crate) struct DownOnExit<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) thread: Thread,
}

impl Drop for DownOnExit<'_> {
    fn drop(&mut self) {
        let thread = self.thread;
        self.shared.update_link(|l| match thread {
            Thread::Writer => l.writable = false,
            Thread::Reader => l.reading = false,
        });
        // Without a writer, waiting logouts answer now (`NotDurable`), not at their deadline.
        self.shared.acks.wake_all();
        if !self.shared.stopping() {
            tracing::error!(
                target: LOG_TARGET,
                event = "thread_ended",
                thread = ?thread,
                "a revocation store thread ended before the store was dropped: the link stays \
                 down (restart the instance)"
            );
        }
    }
}

/// An error of the connection (retry the whole batch on a new one), not an answer of Redis to
/// one command.
pub(crate) fn is_link_failure(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_unrecoverable_error()
        // A primary demoted by a failover (`READONLY`), one without a primary (`MASTERDOWN`),
        // or one still loading its data (`LOADING`): reconnect, which asks the sentinels again
        // where the primary is, rather than retry the same command on the same server.
        || matches!(err.code(), Some("READONLY" | "MASTERDOWN" | "LOADING"))
}

/// A connection whose every read and write times out, so no wait is unbounded.
pub(crate) fn connect(settings: &Settings) -> RedisResult<Connection> {
    let con = settings
        .target
        .connect(settings.connect_timeout, settings.io_timeout)?;
    con.set_read_timeout(Some(settings.io_timeout))?;
    con.set_write_timeout(Some(settings.io_timeout))?;
    Ok(con)
}

/// Waits between reconnection attempts: 50 ms, doubling, up to the configured maximum.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            next: MIN_BACKOFF.min(max),
            max,
        }
    }

    pub(crate) fn next(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    pub(crate) fn reset(&mut self) {
        self.next = MIN_BACKOFF.min(self.max);
    }
}

#[cfg(test)]
mod tests {

    use std::sync::Arc;

    use super::*;
    use crate::shared::lock;

    #[test]
    fn a_thread_that_ends_marks_the_link_down() {
        let store = crate::RedisRevocationStore::builder("redis://127.0.0.1:1/")
            .shutdown_timeout(Duration::from_millis(200))
            .startup_wait(Duration::ZERO)
            .build()
            .unwrap();
        let shared = Arc::clone(store.shared());
        // Nothing is queued: the real writer never writes, so never touches `writable`.
        assert!(lock(&shared.link).writable);
        let ended = std::thread::spawn(move || {
            let _down_on_exit = DownOnExit {
                shared: &shared,
                thread: Thread::Writer,
            };
            panic!("a writer thread's bug");
        })
        .join();
        assert!(ended.is_err());
        assert!(!lock(&store.shared().link).writable);
        assert!(!store.health().connected);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(300));
        let waits: Vec<u128> = (0..5).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(waits, [50, 100, 200, 300, 300]);
        backoff.reset();
        assert_eq!(backoff.next(), MIN_BACKOFF);
        assert_eq!(
            Backoff::new(Duration::from_millis(10)).next(),
            Duration::from_millis(10)
        );
    }
}
