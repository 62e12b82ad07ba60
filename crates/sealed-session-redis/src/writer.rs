//! The writer thread: drains the queue into Redis in batches (this instance's revocations
//! first, then retries and repairs), publishes each revocation's message, waits for replicas
//! when asked to, and wakes the logouts whose acknowledgement a batch settled.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use redis::{Connection, RedisResult};
use sealed_session::codec::UnixTime;

use crate::LOG_TARGET;
use crate::config::{Durability, Settings};
use crate::keys::{Entry, Message, SUBJECT_SCRIPT, Stamp};
use crate::link::{Backoff, DownOnExit, Thread, connect, is_link_failure};
use crate::pending;
use crate::queue::{Batch, CommandError, Job, Outcome, Source};
use crate::shared::{Shared, lock};
use crate::trust::TrustBounds;

/// Jobs per pipeline: one round trip writes this many revocations.
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
            let written = write_batch(con, &shared.settings, &batch)?;
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
            Ok(((outcomes, publish_errors), replicas)) => {
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
                let (mut errors, remaining, settled) = {
                    let mut queue = lock(&shared.queue);
                    let errors = queue.complete(batch, outcomes, Instant::now());
                    (errors, queue.pending(), queue.settled_mark())
                };
                shared.written.notify_all();
                // Only the logouts this batch settled: the others' revocations aren't written
                // yet, and waking them would cost every waiter a poll per batch in a storm.
                shared.acks.wake_settled(settled);
                pending::forget_when_written(&shared);
                backoff.reset();
                let refused = !errors.is_empty() || !publish_errors.is_empty();
                errors.extend(publish_errors);
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
        let what = match (err.command, source) {
            ("PUBLISH", _) => {
                "the revocations are in Redis, but other instances learn them only at their \
                 next full load"
            }
            (_, Source::Repair) => "these write-backs are tried again at the next repair",
            _ => {
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

/// What a reply of the pipeline answers.
#[derive(Debug, Clone, Copy)]
enum Reply {
    /// The write of the job at this index (`SET` or `EVAL`).
    Write(usize, &'static str),
    /// A `PUBLISH`.
    Publish,
}

/// One pipeline (one round trip) for the whole batch, with one outcome per job (its write;
/// refused `PUBLISH`es are returned apart: the revocation is in Redis anyway). Not a
/// transaction: a batch cut short by a broken connection is sent again whole, and every
/// command in it is idempotent.
fn write_batch(
    con: &mut Connection,
    settings: &Settings,
    batch: &Batch,
) -> RedisResult<(Vec<Outcome>, Vec<CommandError>)> {
    let keys = &settings.keys;
    let now = UnixTime::from(settings.clock.now());
    let bounds = TrustBounds::at(now);
    let mut pipe = redis::pipe();
    // One reply per command, errors included: a refused command fails alone.
    pipe.ignore_errors();
    let mut replies = Vec::with_capacity(batch.jobs.len() * 2);
    for (index, (_, job)) in batch.jobs.iter().enumerate() {
        let (entry, publish) = match job {
            Job::Write { entry, publish } => (entry, *publish),
            Job::AnnounceResync => {
                if let Some(stamp) = stamp(now) {
                    pipe.cmd("PUBLISH")
                        .arg(&keys.channel) // <prefix>rev:events
                        .arg(keys.message(&Message::Resync, &stamp)); // "2 <nonce> <now> r":
                    // reload everything (tagged if authentication is on, as every value and
                    // message below)
                    replies.push(Reply::Publish);
                }
                continue;
            }
            Job::RepairDone { .. } => continue, // nothing to send
        };
        match entry {
            Entry::Session { id, subject, until } => {
                pipe.cmd("SET")
                    .arg(keys.session_key(*id)) // <prefix>rev:id:<32 hex digits>
                    // The value, read back by full loads: "<until>", or for a session of a
                    // subject "<until> <generation> <subject>"
                    .arg(keys.session_value(*id, subject.as_ref(), *until))
                    .arg("EXAT") // expire at an absolute unix time (Redis >= 6.2) ...
                    .arg(until.secs()); // ... the entry's deadline, after which it is useless
                replies.push(Reply::Write(index, "SET"));
            }
            Entry::Subject {
                generation, until, ..
            }
            | Entry::Everyone { generation, until } => {
                // <prefix>rev:sub:<subject> (a subject's cutoff), or <prefix>rev:all (the
                // store-wide cutoff, for every subject's sessions)
                let key = keys.key(entry);
                pipe.cmd("EVAL")
                    .arg(SUBJECT_SCRIPT) // keep-the-larger script, sent whole: cutoff entries
                    // are rare, and a Redis restart can't turn it into a NOSCRIPT error
                    .arg(1) // one key argument follows
                    .arg(&key) // KEYS[1]: the cutoff's key, above
                    .arg(generation.get()) // ARGV[1]: sessions (of the subject, or of every
                    // subject for rev:all) stamped below it are refused
                    .arg(until.secs()) // ARGV[2]: until this time, when the key expires
                    .arg(keys.cutoff_tag(&key, *generation, *until)) // ARGV[3]: the tag of
                    // "<generation> <until>" under this key, or ""
                    .arg(bounds.max_generation().get()) // ARGV[4], ARGV[5]: a value held
                    .arg(bounds.max_until().secs()); // beyond these is replaced (forged)
                replies.push(Reply::Write(index, "EVAL"));
            }
        }
        if publish && let Some(stamp) = stamp(now) {
            pipe.cmd("PUBLISH")
                .arg(&keys.channel) // <prefix>rev:events, which every instance subscribes to
                .arg(keys.message(&Message::Revoked(entry.clone()), &stamp)); // "2 <nonce>
            // <now> " then "i <id> <until>", "j <id> <until> <generation> <subject>",
            // "g <generation> <until> <subject>" or "a <generation> <until>", applied by each
            // instance's subscriber unless it saw the nonce or the time is stale
            replies.push(Reply::Publish);
        }
    }
    let mut outcomes: Vec<Outcome> = vec![Ok(()); batch.jobs.len()];
    let mut publish_errors = Vec::new();
    if replies.is_empty() {
        return Ok((outcomes, publish_errors));
    }
    let results: Vec<RedisResult<redis::Value>> = pipe.query(con)?;
    for (reply, result) in replies.into_iter().zip(results) {
        let Err(err) = result else { continue };
        if is_link_failure(&err) {
            return Err(err);
        }
        match reply {
            Reply::Write(index, command) => {
                outcomes[index] = Err(CommandError {
                    command,
                    error: err.to_string(),
                });
            }
            Reply::Publish => publish_errors.push(CommandError {
                command: "PUBLISH",
                error: err.to_string(),
            }),
        }
    }
    Ok((outcomes, publish_errors))
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
/// the replication stream. Every job of a waited batch carries a `PUBLISH`, which Redis
/// propagates to replicas, so that offset covers the whole batch even when a keep-the-larger
/// script changed nothing (its value was already there, from an earlier attempt).
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

/// A message's stamp at `now`; `None`, logged, if the system's random number generator fails:
/// the write goes on without its message, which other instances then learn at their next
/// full load.
fn stamp(now: UnixTime) -> Option<Stamp> {
    let stamp = Stamp::new(now);
    if stamp.is_none() {
        tracing::error!(
            target: LOG_TARGET,
            event = "no_random",
            "the system's random number generator failed: a revocation is written to Redis \
             without its message"
        );
    }
    stamp
}
