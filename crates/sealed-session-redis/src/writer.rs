//! The writer thread: drains the queue into the stream in batches (this instance's
//! revocations first, then retries and write-backs), waits for replicas when asked to, and
//! wakes the logouts whose acknowledgement a batch settled.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use redis::{Connection, RedisResult};
use sealed_session::codec::UnixTime;

use crate::LOG_TARGET;
use crate::config::Durability;
use crate::keys::Entry;
use crate::link::{Backoff, DownOnExit, Thread, connect, is_link_failure};
use crate::pending;
use crate::queue::{Batch, CommandError, Job, Outcome, Source};
use crate::shared::{Shared, lock};
use crate::stream::{APPEND_SCRIPT, CLOCK_MARGIN_SECS, StreamId};
use crate::trust::TrustBounds;

/// Jobs per batch: one script (one round trip) appends this many revocations.
const BATCH: usize = 256;
/// The shortest `WAIT` for replicas: a logout about to time out is not worth a busy loop of
/// writes and waits that end at once.
const MIN_REPLICA_WAIT: Duration = Duration::from_millis(10);
/// How often the writer sweeps expired entries out of the local copy when idle.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// The writer thread: drains the queue into Redis, this instance's revocations first, keeping
/// every job until Redis acknowledged it (and, with `replicas` above 0, that many replicas:
/// until then the batch stays queued and is written again). A connection failure retries the
/// batch with capped backoff; a command Redis refuses is set aside for a retry, and the rest
/// goes on. Also sweeps the local copy when idle.
pub(crate) fn run_writer(shared: Arc<Shared>) {
    let _down_on_exit = DownOnExit {
        shared: &shared,
        thread: Thread::Writer,
    };
    let mut con: Option<Connection> = None;
    let mut backoff = Backoff::new(shared.settings.max_backoff);
    let mut next_sweep = Instant::now() + SWEEP_EVERY;
    let mut failing = false;
    // Revocations written since the first failure: reported once the backlog is gone.
    let mut backlog: Option<usize> = None;
    // The last batch's replicas were too few: logged once, until enough confirm again.
    let mut behind = false;
    while let Some(batch) = next_batch(&shared, &mut next_sweep) {
        // A connection kept from an earlier batch may have been closed under us while idle
        // (Redis's `timeout`, a proxy, a NAT, `CLIENT KILL`): its failure is retried at once on
        // a fresh one, and only a fresh connection's failure means Redis is unreachable.
        let kept = con.is_some();
        let result = match con.as_mut() {
            Some(con) => Ok(con),
            None => connect(&shared.settings).map(|fresh| con.insert(fresh)),
        }
        .and_then(|con| {
            let written = write_batch(con, &shared, &batch)?;
            Ok((written, confirm_replicas(con, &shared, &batch)?))
        });
        match result {
            Ok((
                _,
                Replicas::Behind {
                    acknowledged,
                    error,
                },
            )) => {
                // In Redis, not on enough replicas: as far as a logout is concerned, not
                // written. The batch stays queued and is written again (idempotent writes);
                // its logouts fail at their deadline, saying why.
                failing = false;
                backoff.reset();
                if !behind {
                    behind = true;
                    tracing::warn!(
                        target: LOG_TARGET,
                        event = "replicas_behind",
                        required = shared.settings.replicas,
                        acknowledged,
                        error = error.as_ref().map(|e| e.error.as_str()),
                        "fewer Redis replicas than required confirmed the revocations: logouts \
                         are answered NotDurable until enough do (check INFO replication on the \
                         primary)"
                    );
                }
                let refused = error.is_some();
                shared.update_link(|l| {
                    l.writable = true;
                    l.replicas_acknowledged = Some(acknowledged);
                    l.replicas_behind = true;
                    if let Some(err) = error {
                        l.command_errors += 1;
                        l.last_command_error = Some(format!("{}: {}", err.command, err.error));
                    }
                });
                if refused {
                    // A refused WAIT answers at once: don't spin on it.
                    shared.sleep_unless_stopped(backoff.next());
                }
            }
            Ok((outcomes, replicas)) => {
                if let Replicas::Confirmed(acknowledged) = replicas {
                    if behind {
                        behind = false;
                        tracing::info!(
                            target: LOG_TARGET,
                            event = "replicas_confirmed",
                            acknowledged,
                            "enough Redis replicas confirm the revocations again"
                        );
                    }
                    shared.update_link(|l| {
                        l.replicas_acknowledged = Some(acknowledged);
                        l.replicas_behind = false;
                    });
                }
                let size = batch.jobs.len();
                let source = batch.source;
                let (errors, remaining, settled) = {
                    let mut queue = lock(&shared.queue);
                    let errors = queue.complete(batch, outcomes, Instant::now());
                    if queue.take_redo_repair() {
                        // The reader writes the local copy back again (rate-limited).
                        shared.repair_refused.store(true, Ordering::Release);
                    }
                    (errors, queue.pending(), queue.settled_mark())
                };
                shared.written.notify_all();
                // Only the logouts this batch settled: the others' revocations aren't written
                // yet, and waking them would cost every waiter a poll per batch in a storm.
                shared.acks.wake_settled(settled);
                pending::forget_when_written(&shared);
                backoff.reset();
                let refused = !errors.is_empty();
                report_refusals(&errors, source);
                shared.update_link(|l| {
                    l.writable = true;
                    l.refusing = refused;
                    l.command_errors += errors.len() as u64;
                    if let Some(last) = errors.last() {
                        l.last_command_error = Some(format!("{}: {}", last.command, last.error));
                    }
                });
                failing = false;
                if let Some(written) = backlog.as_mut() {
                    *written += size;
                    if remaining == 0 {
                        tracing::info!(
                            target: LOG_TARGET,
                            event = "queue_drained",
                            written = *written,
                            "revocations queued while Redis was unreachable are all written"
                        );
                        backlog = None;
                    }
                }
            }
            Err(err) if kept && !failing && is_link_failure(&err) => {
                // Written again whole on the fresh connection: every command is idempotent.
                con = None;
                tracing::debug!(target: LOG_TARGET, event = "reconnect", error = %err);
            }
            Err(err) => {
                con = None;
                let pending = lock(&shared.queue).pending();
                backlog.get_or_insert(0);
                if !failing {
                    failing = true;
                    shared.update_link(|l| l.writable = false);
                    // The logouts waiting for this batch answer now, not at their deadline.
                    shared.acks.wake_all();
                    tracing::warn!(
                        target: LOG_TARGET,
                        event = "write_failed",
                        error = %err,
                        pending,
                        "cannot write revocations to Redis: they hold on this instance and are \
                         queued until Redis takes them"
                    );
                } else {
                    tracing::debug!(target: LOG_TARGET, event = "write_failed", error = %err, pending);
                }
                let wait = backoff.next();
                if shared.stopping() {
                    // A stop keeps trying until its deadline: only what is still queued then
                    // is saved (or logged) as unwritten.
                    std::thread::sleep(wait.min(until_stop_deadline(&shared)));
                } else {
                    shared.sleep_unless_stopped(wait);
                }
            }
        }
    }
}

/// Logs what Redis refused in a batch: one `error` per command and error, naming both.
fn report_refusals(errors: &[CommandError], source: Source) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for err in errors {
        if seen.contains(&(err.command, err.error.as_str())) {
            continue;
        }
        seen.push((err.command, err.error.as_str()));
        let count = errors
            .iter()
            .filter(|e| e.command == err.command && e.error == err.error)
            .count();
        let what = match source {
            Source::Repair => "these write-backs are tried again at the next repair",
            Source::Queue | Source::Retry => {
                "these revocations hold here and are retried aside; the writes behind them go \
                 on"
            }
        };
        tracing::error!(
            target: LOG_TARGET,
            event = "command_refused",
            command = err.command,
            error = %err.error,
            count,
            "Redis refused {count} {} command(s): {what}",
            err.command
        );
    }
}

/// The next batch to write, or `None` to stop. Sweeps the local copy when idle. At a stop,
/// only this instance's own revocations are written, until the shutdown deadline.
fn next_batch(shared: &Shared, next_sweep: &mut Instant) -> Option<Batch> {
    let mut queue = lock(&shared.queue);
    loop {
        let now = Instant::now();
        if shared.stopping() {
            if queue.pending() == 0 || until_stop_deadline(shared).is_zero() {
                return None;
            }
            if let Some(batch) = queue.batch(BATCH, now)
                && batch.source != Source::Repair
            {
                return Some(batch);
            }
            // Only refused writes are left, not due yet.
            let wake = queue
                .next_due()
                .map_or(Duration::MAX, |due| due.saturating_duration_since(now))
                .min(until_stop_deadline(shared));
            queue = shared
                .work
                .wait_timeout(queue, wake)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            continue;
        }
        if let Some(batch) = queue.batch(BATCH, now) {
            return Some(batch);
        }
        if now >= *next_sweep {
            drop(queue);
            let swept = shared.local.sweep(shared.now());
            tracing::trace!(target: LOG_TARGET, event = "sweep", swept);
            *next_sweep = Instant::now() + SWEEP_EVERY;
            queue = lock(&shared.queue);
            continue;
        }
        let wake = queue
            .next_due()
            .map_or(*next_sweep, |due| due.min(*next_sweep));
        queue = shared
            .work
            .wait_timeout(queue, wake.saturating_duration_since(now))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// How long until the shutdown deadline (zero once past it, or before a stop).
fn until_stop_deadline(shared: &Shared) -> Duration {
    lock(&shared.stop_deadline).map_or(Duration::ZERO, |deadline| {
        deadline.saturating_duration_since(Instant::now())
    })
}

/// Appends the batch's entries with one [`APPEND_SCRIPT`] (one round trip, atomic: all or
/// none), and records the last id for the loss check. One outcome per job: all written, or, if
/// Redis refused the script (out of memory, an ACL), all refused, set aside and retried with
/// backoff. A batch cut short by a broken connection is sent again whole: appending twice is
/// harmless.
fn write_batch(con: &mut Connection, shared: &Shared, batch: &Batch) -> RedisResult<Vec<Outcome>> {
    let settings = &shared.settings;
    let keys = &settings.keys;
    let now = UnixTime::from(settings.clock.now());
    let bounds = TrustBounds::at(now);
    let mut outcomes: Vec<Outcome> = vec![Ok(()); batch.jobs.len()];
    let entries: Vec<&Entry> = batch
        .jobs
        .iter()
        .filter_map(|(_, job)| match job {
            Job::Write(entry) => Some(entry),
            Job::RepairDone { .. } => None, // nothing to send
        })
        .collect();
    if entries.is_empty() {
        return Ok(outcomes);
    }
    let mut script = redis::cmd("EVAL");
    script
        .arg(APPEND_SCRIPT) // sent whole: one per batch, and a restart can't make it NOSCRIPT
        .arg(2) // two keys follow
        .arg(&keys.stream) // KEYS[1]: <prefix>rev:log, the stream
        .arg(&keys.retention) // KEYS[2]: <prefix>rev:retention, its retention in seconds
        .arg(CLOCK_MARGIN_SECS) // ARGV[1]: added to each entry's remaining lifetime
        // ARGV[2]: the longest retention believed of what is held (a larger one was forged)
        .arg(
            bounds
                .max_until()
                .secs()
                .saturating_sub(now.secs())
                .saturating_add(CLOCK_MARGIN_SECS),
        );
    for entry in entries {
        script
            .arg(keys.key(entry)) // the entry's `k`: <prefix>rev:id:<32 hex>, rev:sub:<subject>
            // or rev:all, which says what is revoked
            .arg(keys.value(entry)) // its `v`: "<until>", "<until> <generation> <subject>" or
            // "<generation> <until>", tagged if authentication is on
            .arg(entry.until().secs()); // its deadline: the stream keeps it until then
    }
    match script.query::<Option<String>>(con) {
        Ok(last) => {
            if let Some(id) = last.as_deref().and_then(StreamId::parse) {
                let mut appended = lock(&shared.appended);
                *appended = (*appended).max(id);
            }
            Ok(outcomes)
        }
        Err(err) if is_link_failure(&err) => Err(err),
        Err(err) => {
            let refused = CommandError {
                command: "EVAL",
                error: err.to_string(),
            };
            for outcome in &mut outcomes {
                *outcome = Err(refused.clone());
            }
            Ok(outcomes)
        }
    }
}

/// What the replicas said of a batch (`WAIT`).
#[derive(Debug)]
enum Replicas {
    /// None are required (`replicas` 0), or the batch is a repair's, which no logout waits for.
    NotRequired,
    /// At least the required number confirmed: this many.
    Confirmed(u32),
    /// Fewer confirmed within the wait, or Redis refused the `WAIT` (an ACL without it).
    Behind {
        acknowledged: u32,
        error: Option<CommandError>,
    },
}

/// With `replicas` above 0, waits for that many replicas to confirm every write this
/// connection made so far (`WAIT`), at most what is left of the latest waiting logout's
/// timeout (the whole timeout when none waits yet), never less than [`MIN_REPLICA_WAIT`].
/// A repair's batch is not waited for: no logout waits for it, and the next batch's `WAIT`
/// covers it anyway.
///
/// `WAIT` counts the replicas that acknowledged this connection's latest write that reached
/// the replication stream. Every batch's script appends (`XADD` always writes), so that offset
/// covers the whole batch, an attempt written before included.
fn confirm_replicas(con: &mut Connection, shared: &Shared, batch: &Batch) -> RedisResult<Replicas> {
    let required = shared.settings.replicas;
    // `build` refuses replicas with a queued durability: nothing would wait for them.
    let Durability::Acknowledged { timeout } = shared.settings.durability else {
        return Ok(Replicas::NotRequired);
    };
    if required == 0 || batch.source == Source::Repair {
        return Ok(Replicas::NotRequired);
    }
    let budget = shared
        .acks
        .latest_deadline_in()
        .unwrap_or(timeout)
        .clamp(MIN_REPLICA_WAIT, timeout.max(MIN_REPLICA_WAIT));
    // The reply comes after the wait: the read may take that long on top of the usual.
    con.set_read_timeout(Some(budget + shared.settings.io_timeout))?;
    // A logout whose deadline comes meanwhile says why: Redis has the writes, its replicas
    // don't yet.
    shared.update_link(|l| l.awaiting_replicas = true);
    let reply = redis::cmd("WAIT")
        .arg(required) // numreplicas: return as soon as this many confirmed ...
        .arg(u64::try_from(budget.as_millis()).unwrap_or(u64::MAX)) // ... or after this many
        // ms (never 0, which would wait forever); the reply is how many replicas confirmed
        .query::<u32>(con);
    shared.update_link(|l| l.awaiting_replicas = false);
    con.set_read_timeout(Some(shared.settings.io_timeout))?;
    match reply {
        Ok(acknowledged) if acknowledged >= required => Ok(Replicas::Confirmed(acknowledged)),
        Ok(acknowledged) => Ok(Replicas::Behind {
            acknowledged,
            error: None,
        }),
        Err(err) if is_link_failure(&err) => Err(err),
        Err(err) => Ok(Replicas::Behind {
            acknowledged: 0,
            error: Some(CommandError {
                command: "WAIT",
                error: err.to_string(),
            }),
        }),
    }
}
