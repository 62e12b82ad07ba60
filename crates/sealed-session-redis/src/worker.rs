//! The two threads: a writer that drains the queue into Redis, and a subscriber that keeps the
//! local copy in step (messages, plus a full load after every (re)subscription).
//!
//! Both use the redis crate's blocking connections with timeouts on every read and write, so
//! each wait is bounded, and neither depends on the application's async runtime.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use redis::{Connection, RedisResult};
use sealed_session::{RevocationStore, SessionId};

use crate::LOG_TARGET;
use crate::config::Settings;
use crate::keys::{MAX_UNTIL, Message, Revocation};
use crate::store::{Job, Shared, lock};

/// Jobs per pipeline: one round trip writes this many revocations.
const BATCH: usize = 256;
/// First wait before reconnecting; it doubles up to the configured maximum.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// How long the subscriber blocks on its socket before checking for a stop.
const POLL: Duration = Duration::from_millis(100);
/// A silent subscription is checked with `PING` this often, so a dead connection (a peer that
/// vanished without closing it) is noticed and replaced by a fresh one and a full load.
const KEEPALIVE: Duration = Duration::from_secs(5);
/// Keys examined per `SCAN` call: large enough to load a million entries in a thousand round
/// trips, small enough to keep each call short for Redis.
const SCAN_COUNT: usize = 1_000;
/// How often the writer sweeps expired entries out of the local copy when idle.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Entries that expire (by Redis's clock) within this many seconds are not written back by a
/// repair: Redis would drop them at once, and a clock a little ahead of ours would otherwise
/// make them look lost at every reload.
const REPAIR_MARGIN: u64 = 10;

/// Keeps the later cutoff and the later deadline of a subject, atomically, so that revoke-alls
/// of one subject from several instances at once converge on the latest whatever the order
/// Redis runs them in (every instance also merges the messages by the same max rule).
///
/// KEYS[1]: the subject's key. ARGV[1]: the cutoff, ARGV[2]: the deadline (unix seconds; the
/// value is stored as "<cutoff> <deadline>" and the key expires at the deadline).
const SUBJECT_SCRIPT: &str = r"
local cutoff, expiry = tonumber(ARGV[1]), tonumber(ARGV[2])
local old = redis.call('GET', KEYS[1])
if old then
  local c, u = string.match(old, '^(%d+) (%d+)$')
  if c then
    cutoff = math.max(cutoff, tonumber(c))
    expiry = math.max(expiry, tonumber(u))
  end
end
redis.call('SET', KEYS[1], string.format('%d %d', cutoff, expiry), 'EXAT', expiry)
return 1
";

/// The writer thread: drains the queue into Redis, oldest first, keeping every job until Redis
/// acknowledged it; retries with capped backoff. Also sweeps the local copy when idle.
pub(crate) fn run_writer(shared: Arc<Shared>) {
    let mut con: Option<Connection> = None;
    let mut backoff = Backoff::new(shared.settings.max_backoff);
    let mut next_sweep = Instant::now() + SWEEP_EVERY;
    let mut failing = false;
    // Revocations written since the first failure: reported once the backlog is gone.
    let mut backlog: Option<usize> = None;
    while let Some(batch) = next_batch(&shared, &mut next_sweep) {
        if shared.stopping() && past_stop_deadline(&shared) {
            break;
        }
        let result = match con.as_mut() {
            Some(con) => Ok(con),
            None => connect(&shared.settings).map(|fresh| con.insert(fresh)),
        }
        .and_then(|con| write_batch(con, &shared.settings, &batch));
        match result {
            Ok(()) => {
                let remaining = {
                    let mut queue = lock(&shared.queue);
                    queue.drain(..batch.len());
                    queue.len()
                };
                shared.written.notify_all();
                backoff.reset();
                if failing {
                    failing = false;
                    shared.update_link(|l| l.writable = true);
                }
                if let Some(written) = backlog.as_mut() {
                    *written += batch.len();
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
            Err(err) => {
                con = None;
                let pending = lock(&shared.queue).len();
                backlog.get_or_insert(0);
                if !failing {
                    failing = true;
                    shared.update_link(|l| l.writable = false);
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
                if shared.stopping() {
                    break;
                }
                shared.sleep_unless_stopped(backoff.next());
            }
        }
    }
    let lost = lock(&shared.queue).len();
    if lost > 0 {
        tracing::warn!(
            target: LOG_TARGET,
            event = "stopped_with_pending_writes",
            pending = lost,
            "revocation store stopped before Redis took {lost} revocations: other instances \
             will not know them"
        );
    }
}

/// The front of the queue (cloned: it stays queued until written), or `None` to stop. Sweeps
/// the local copy when idle.
fn next_batch(shared: &Shared, next_sweep: &mut Instant) -> Option<Vec<Job>> {
    let mut queue = lock(&shared.queue);
    loop {
        if !queue.is_empty() {
            return Some(queue.iter().take(BATCH).cloned().collect());
        }
        if shared.stopping() {
            return None;
        }
        let now = Instant::now();
        if now >= *next_sweep {
            drop(queue);
            let swept = shared.local.sweep(shared.now());
            tracing::trace!(target: LOG_TARGET, event = "sweep", swept);
            *next_sweep = Instant::now() + SWEEP_EVERY;
            queue = lock(&shared.queue);
            continue;
        }
        queue = shared
            .work
            .wait_timeout(queue, *next_sweep - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

fn past_stop_deadline(shared: &Shared) -> bool {
    lock(&shared.stop_deadline).is_some_and(|deadline| Instant::now() >= deadline)
}

/// One pipeline (one round trip) for the whole batch. Not a transaction: a batch cut short by a
/// broken connection is sent again whole, and every command in it is idempotent.
fn write_batch(con: &mut Connection, settings: &Settings, batch: &[Job]) -> RedisResult<()> {
    let keys = &settings.keys;
    let mut pipe = redis::pipe();
    for job in batch {
        let (revocation, publish) = match job {
            Job::Write {
                revocation,
                publish,
            } => (revocation, *publish),
            Job::AnnounceResync => {
                pipe.cmd("PUBLISH")
                    .arg(&keys.channel) // <prefix>rev:events
                    .arg(Message::Resync.encode()) // "r": reload everything
                    .ignore();
                continue;
            }
        };
        match revocation {
            Revocation::Session { id, until } => {
                pipe.cmd("SET")
                    .arg(keys.session_key(*id)) // <prefix>rev:id:<32 hex digits>
                    .arg(*until) // the value: the deadline, read back by full loads
                    .arg("EXAT") // expire at an absolute unix time (Redis >= 6.2) ...
                    .arg(*until) // ... the cookie's own deadline, after which the entry is useless
                    .ignore();
            }
            Revocation::Subject {
                subject,
                cutoff,
                until,
            } => {
                pipe.cmd("EVAL")
                    .arg(SUBJECT_SCRIPT) // keep-the-latest script, sent whole: subject revocations
                    // are rare, and a Redis restart can't turn it into a NOSCRIPT error
                    .arg(1) // one key argument follows
                    .arg(keys.subject_key(subject)) // KEYS[1]: <prefix>rev:sub:<subject>
                    .arg(*cutoff) // ARGV[1]: sessions created before this are refused
                    .arg(*until) // ARGV[2]: until this time, when the key expires
                    .ignore();
            }
        }
        if publish {
            pipe.cmd("PUBLISH")
                .arg(&keys.channel) // <prefix>rev:events, which every instance subscribes to
                .arg(Message::Revoked(revocation.clone()).encode()) // "i <id> <until>" or
                // "s <cutoff> <until> <subject>", applied by each instance's subscriber
                .ignore();
        }
    }
    pipe.query::<()>(con)
}

/// The subscriber thread: subscribes, loads the full set, then applies messages; on any error,
/// starts over after a backoff (so a reconnect always brings a full load).
pub(crate) fn run_subscriber(shared: Arc<Shared>) {
    let mut backoff = Backoff::new(shared.settings.max_backoff);
    let mut reported = false;
    while !shared.stopping() {
        let Err(err) = listen(&shared, &mut backoff, &mut reported) else {
            return;
        };
        shared.update_link(|l| l.subscribed = false);
        if reported {
            tracing::debug!(target: LOG_TARGET, event = "subscribe_failed", error = %err);
        } else {
            reported = true;
            tracing::warn!(
                target: LOG_TARGET,
                event = "subscribe_failed",
                error = %err,
                url = %shared.settings.url,
                "revocation subscription to Redis lost or refused: other instances' logouts \
                 are not seen here until it is back (then everything is reloaded)"
            );
        }
        shared.sleep_unless_stopped(backoff.next());
    }
}

/// Runs one subscription until an error (returned) or a stop (`Ok`).
fn listen(shared: &Shared, backoff: &mut Backoff, reported: &mut bool) -> RedisResult<()> {
    let settings = &shared.settings;
    let mut commands = connect(settings)?;
    let mut subscription = connect(settings)?;
    let mut pubsub = subscription.as_pubsub();
    // SUBSCRIBE <prefix>rev:events. Returns once Redis confirmed: every message published from
    // then on is delivered to us, so loading *after* this misses nothing (a revocation written
    // meanwhile is in the load, in a message, or both; applying it twice is harmless).
    pubsub.subscribe(&settings.keys.channel)?;
    pubsub.set_read_timeout(Some(POLL))?;
    if !full_sync(shared, &mut commands, "subscribed")? {
        return Ok(());
    }
    shared.update_link(|l| l.subscribed = true);
    backoff.reset();
    *reported = false;
    let mut last_heard = Instant::now();
    loop {
        if shared.stopping() {
            return Ok(());
        }
        match pubsub.get_message() {
            Ok(message) => {
                last_heard = Instant::now();
                match Message::decode(message.get_payload_bytes()) {
                    Some(Message::Revoked(revocation)) => {
                        apply(shared, &revocation, shared.now());
                    }
                    Some(Message::Resync) => {
                        if !full_sync(shared, &mut commands, "announced")? {
                            return Ok(());
                        }
                    }
                    None => tracing::debug!(
                        target: LOG_TARGET,
                        event = "unknown_message",
                        len = message.get_payload_bytes().len(),
                        "ignored a message this version does not know"
                    ),
                }
            }
            Err(err) if err.is_timeout() => {
                if last_heard.elapsed() >= KEEPALIVE {
                    // PING in subscribed mode: the subscription's connection answers, or is
                    // replaced. The reload connection is checked the same way.
                    pubsub.set_read_timeout(Some(settings.io_timeout))?;
                    pubsub.ping::<redis::Value>()?;
                    pubsub.set_read_timeout(Some(POLL))?;
                    redis::cmd("PING").query::<()>(&mut commands)?;
                    last_heard = Instant::now();
                }
            }
            Err(err) => return Err(err),
        }
    }
}

/// Loads every entry under the prefix into the local copy, then writes back those Redis lacks.
/// Returns `false` if interrupted by a stop.
fn full_sync(shared: &Shared, con: &mut Connection, reason: &'static str) -> RedisResult<bool> {
    let started = Instant::now();
    let now = shared.now();
    let keys = &shared.settings.keys;
    let mut in_redis = InRedis::default();
    let mut cursor: u64 = 0;
    loop {
        if shared.stopping() {
            return Ok(false);
        }
        let (next, found): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor) // where the previous call stopped (0: from the start)
            .arg("MATCH") // only keys matching ...
            .arg(&keys.pattern) // ... <prefix>rev:* (the prefix's glob characters escaped)
            .arg("COUNT") // keys examined per call (a hint): bounds each call's work
            .arg(SCAN_COUNT)
            .query(con)?;
        if !found.is_empty() {
            // One value per key, nil for a key that expired since the SCAN.
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(&found).query(con)?;
            for (key, value) in found.iter().zip(values) {
                let Some(revocation) = value.and_then(|v| keys.parse_entry(key, &v)) else {
                    continue;
                };
                apply(shared, &revocation, now);
                in_redis.record(revocation);
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let loaded = in_redis.len();
    let repaired = repair(shared, con, in_redis, now)?;
    shared.update_link(|l| {
        l.last_full_sync = Some(SystemTime::now());
        l.full_syncs += 1;
    });
    tracing::info!(
        target: LOG_TARGET,
        event = "full_sync",
        reason,
        loaded,
        repaired,
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        local_entries = shared.local.len(),
        "revocations loaded from Redis"
    );
    Ok(true)
}

fn apply(shared: &Shared, revocation: &Revocation, now: u64) {
    match revocation {
        Revocation::Session { id, until } => shared.local.revoke(*id, *until, now),
        Revocation::Subject {
            subject,
            cutoff,
            until,
        } => shared.local.revoke_subject(subject, *cutoff, *until, now),
    }
}

/// Queues, without a message each, the live entries of the local copy that Redis lacks (lost in
/// a restart without persistence, a failover or a flush), then one "reload" message. Returns
/// how many.
///
/// Candidates are the local entries the scan did not return; each is checked again with its
/// own command before it counts as lost, because `SCAN` may miss a key written while it ran
/// (another instance's logout, already applied here through its message). Without that check,
/// busy fleets would announce reloads to each other forever.
fn repair(
    shared: &Shared,
    con: &mut Connection,
    mut in_redis: InRedis,
    now: u64,
) -> RedisResult<usize> {
    // Entries still queued here are on their way: not missing.
    for job in lock(&shared.queue).iter() {
        if let Job::Write { revocation, .. } = job {
            in_redis.record(revocation.clone());
        }
    }
    // TIME: Redis's clock, [seconds, microseconds], which its expiries follow.
    let (redis_now, _micros): (u64, u64) = redis::cmd("TIME").query(con)?;
    let finder = MissingFinder {
        in_redis,
        expiring_before: redis_now.saturating_add(REPAIR_MARGIN),
        missing: Mutex::new(Vec::new()),
    };
    shared.local.replay_into(&finder, now);
    let candidates = finder
        .missing
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let missing = still_missing(con, &shared.settings.keys, candidates)?;
    let count = missing.len();
    if count > 0 {
        tracing::warn!(
            target: LOG_TARGET,
            event = "repair",
            count,
            "Redis lacks revocations this instance holds (restarted without persistence, failed \
             over or flushed?): writing them back"
        );
        shared.enqueue(
            missing
                .into_iter()
                .map(|revocation| Job::Write {
                    revocation,
                    publish: false,
                })
                .chain([Job::AnnounceResync]),
        );
    }
    Ok(count)
}

/// The `candidates` that Redis still lacks (or holds with an older cutoff), checked one by one
/// in pipelines of `SCAN_COUNT`.
fn still_missing(
    con: &mut Connection,
    keys: &crate::keys::Keys,
    candidates: Vec<Revocation>,
) -> RedisResult<Vec<Revocation>> {
    let mut missing = Vec::new();
    for chunk in candidates.chunks(SCAN_COUNT) {
        let mut pipe = redis::pipe();
        for candidate in chunk {
            let key = match candidate {
                Revocation::Session { id, .. } => keys.session_key(*id),
                Revocation::Subject { subject, .. } => keys.subject_key(subject),
            };
            pipe.cmd("GET").arg(&key); // the entry as it is now, or nil
        }
        let found: Vec<Option<Vec<u8>>> = pipe.query(con)?;
        for (candidate, value) in chunk.iter().zip(found) {
            let lost = match (candidate, value) {
                (_, None) => true,
                (
                    Revocation::Subject {
                        subject, cutoff, ..
                    },
                    Some(value),
                ) => !matches!(
                    keys.parse_entry(keys.subject_key(subject).as_bytes(), &value),
                    Some(Revocation::Subject { cutoff: held, .. }) if held >= *cutoff
                ),
                (Revocation::Session { .. }, Some(_)) => false,
            };
            if lost {
                missing.push(candidate.clone());
            }
        }
    }
    Ok(missing)
}

/// What a full load found in Redis.
#[derive(Default)]
struct InRedis {
    sessions: HashSet<SessionId>,
    /// Subject -> cutoff.
    subjects: HashMap<String, u64>,
}

impl InRedis {
    fn record(&mut self, revocation: Revocation) {
        match revocation {
            Revocation::Session { id, .. } => {
                self.sessions.insert(id);
            }
            Revocation::Subject {
                subject, cutoff, ..
            } => {
                let known = self.subjects.entry(subject).or_insert(cutoff);
                *known = (*known).max(cutoff);
            }
        }
    }

    fn len(&self) -> usize {
        self.sessions.len() + self.subjects.len()
    }
}

/// Receives the local copy's live entries (through `replay_into`) and keeps those the scan did
/// not find, or found with an older cutoff, unless they are about to expire in Redis anyway.
struct MissingFinder {
    in_redis: InRedis,
    /// Redis's time plus [`REPAIR_MARGIN`].
    expiring_before: u64,
    missing: Mutex<Vec<Revocation>>,
}

impl RevocationStore for MissingFinder {
    fn is_revoked(&self, _: SessionId, _: Option<&str>, _: u64, _: u64) -> bool {
        false
    }

    fn revoke(&self, id: SessionId, until: u64, _now: u64) {
        if until > self.expiring_before && !self.in_redis.sessions.contains(&id) {
            lock(&self.missing).push(Revocation::Session {
                id,
                until: until.min(MAX_UNTIL),
            });
        }
    }

    fn revoke_subject(&self, subject: &str, cutoff: u64, until: u64, _now: u64) {
        if until > self.expiring_before
            && self
                .in_redis
                .subjects
                .get(subject)
                .is_none_or(|&known| known < cutoff)
        {
            lock(&self.missing).push(Revocation::Subject {
                subject: subject.to_owned(),
                cutoff,
                until: until.min(MAX_UNTIL),
            });
        }
    }
}

impl std::fmt::Debug for MissingFinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MissingFinder").finish_non_exhaustive()
    }
}

/// A connection whose every read and write times out, so no wait is unbounded.
fn connect(settings: &Settings) -> RedisResult<Connection> {
    let con = settings
        .client
        .get_connection_with_timeout(settings.connect_timeout)?;
    con.set_read_timeout(Some(settings.io_timeout))?;
    con.set_write_timeout(Some(settings.io_timeout))?;
    Ok(con)
}

/// Waits between reconnection attempts: 50 ms, doubling, up to the configured maximum.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self {
            next: MIN_BACKOFF.min(max),
            max,
        }
    }

    fn next(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = MIN_BACKOFF.min(self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn missing_finder_keeps_what_redis_lacks() {
        let id = |n| SessionId::from_bytes([n; 16]);
        let mut in_redis = InRedis::default();
        in_redis.record(Revocation::Session {
            id: id(1),
            until: 9,
        });
        in_redis.record(Revocation::Subject {
            subject: "alice".into(),
            cutoff: 5,
            until: 9,
        });
        let finder = MissingFinder {
            in_redis,
            expiring_before: 8,
            missing: Mutex::new(Vec::new()),
        };
        finder.revoke(id(1), 9, 0);
        finder.revoke(id(2), u64::MAX, 0);
        finder.revoke(id(3), 8, 0); // about to expire in Redis anyway
        finder.revoke_subject("alice", 5, 9, 0);
        finder.revoke_subject("alice", 6, 9, 0);
        finder.revoke_subject("bob", 1, 9, 0);
        finder.revoke_subject("carol", 1, 8, 0);
        let missing = finder.missing.into_inner().unwrap();
        assert_eq!(
            missing,
            [
                Revocation::Session {
                    id: id(2),
                    until: MAX_UNTIL
                },
                Revocation::Subject {
                    subject: "alice".into(),
                    cutoff: 6,
                    until: 9
                },
                Revocation::Subject {
                    subject: "bob".into(),
                    cutoff: 1,
                    until: 9
                },
            ]
        );
    }
}
