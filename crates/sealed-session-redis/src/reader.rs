//! The subscriber thread: keeps the local copy in step with Redis (the events channel, plus a
//! full load after every (re)subscription and whenever Redis turns out to have lost data,
//! with a repair that writes back what Redis lacks).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use redis::{Connection, RedisError, RedisResult};
use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Generation, Revocation};

use crate::LOG_TARGET;
use crate::keys::{Entry, Keys, Message};
use crate::link::{Backoff, DownOnExit, Thread, connect, is_link_failure};
use crate::queue::Job;
use crate::shared::{Shared, lock};
use crate::trust::{Recent, TrustBounds};

/// How long the subscriber blocks on its socket before checking for a stop.
const POLL: Duration = Duration::from_millis(100);
/// Keys examined per `SCAN` call: large enough to load a million entries in a thousand round
/// trips, small enough to keep each call short for Redis.
const SCAN_COUNT: usize = 1_000;
/// The shortest time between two full loads asked for by messages, an overflowing queue or a
/// loss found by the reconcile check (one after a (re)subscription is never held back).
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(2);
/// Entries that expire (by Redis's clock) within this many seconds are not written back by a
/// repair: Redis would drop them at once, and a clock a little ahead of ours would otherwise
/// make them look lost at every reload.
const REPAIR_MARGIN: u64 = 10;

/// The subscriber thread: subscribes, loads the full set, then applies messages; on any error,
/// starts over after a backoff (so a reconnect always brings a full load).
pub(crate) fn run_subscriber(shared: Arc<Shared>) {
    let _down_on_exit = DownOnExit {
        shared: &shared,
        thread: Thread::Subscriber,
    };
    let mut backoff = Backoff::new(shared.settings.max_backoff);
    let mut reported = false;
    // Kept across reconnects: a message seen before one is still a replay after it.
    let mut recent = Recent::default();
    while !shared.stopping() {
        let Err(err) = listen(&shared, &mut backoff, &mut reported, &mut recent) else {
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
fn listen(
    shared: &Shared,
    backoff: &mut Backoff,
    reported: &mut bool,
    recent: &mut Recent,
) -> RedisResult<()> {
    let settings = &shared.settings;
    let mut commands = connect(settings)?;
    refuse_cluster(&mut commands)?;
    let mut subscription = connect(settings)?;
    let mut pubsub = subscription.as_pubsub();
    // SUBSCRIBE <prefix>rev:events. Returns once Redis confirmed: every message published from
    // then on is delivered to us, so loading *after* this misses nothing (a revocation written
    // meanwhile is in the load, in a message, or both; applying it twice is harmless).
    pubsub.subscribe(&settings.keys.channel)?;
    pubsub.set_read_timeout(Some(POLL))?;
    // Marks the link subscribed (and loaded) when done.
    let Some(mut epoch) = full_sync(shared, &mut commands, "subscribed")? else {
        return Ok(());
    };
    backoff.reset();
    *reported = false;
    let heartbeat = settings.stall_timeout / 3;
    let mut last_heard = Instant::now();
    let mut next_reconcile = Instant::now() + settings.reconcile_every;
    // A reload asked for and not run yet: at most one per `MIN_RELOAD_INTERVAL`, however many
    // "reload" messages arrive (each is a full `SCAN` on every instance).
    let mut reload = None;
    let mut last_load = Instant::now();
    loop {
        if shared.stopping() {
            return Ok(());
        }
        if shared.resync_wanted.swap(false, Ordering::AcqRel) {
            reload = Some("queue_full");
        }
        if shared.forgotten_message.swap(false, Ordering::AcqRel) {
            reload = reload.or(Some("messages_forgotten"));
        }
        match pubsub.get_message() {
            Ok(message) => {
                last_heard = Instant::now();
                match shared.read_message(message.get_payload_bytes(), recent) {
                    Some(Message::Revoked(entry)) => {
                        shared.local.apply(&entry.to_revocation(), shared.now());
                    }
                    Some(Message::Resync) => reload = Some("announced"),
                    // Unknown or refused, which `read_message` logged and counted.
                    None => {}
                }
            }
            Err(err) if err.is_timeout() => {}
            Err(err) => return Err(down(shared, err)),
        }
        if last_heard.elapsed() >= heartbeat {
            // PING in subscribed mode: the subscription's connection answers within the stall
            // timeout, or the link counts as down and is made anew. The other connection is
            // checked the same way.
            let answered = pubsub
                .set_read_timeout(Some(settings.stall_timeout))
                .and_then(|()| pubsub.ping::<redis::Value>())
                .and_then(|_| pubsub.set_read_timeout(Some(POLL)))
                .and_then(|()| commands.set_read_timeout(Some(settings.stall_timeout)))
                .and_then(|()| redis::cmd("PING").query::<()>(&mut commands))
                .and_then(|()| commands.set_read_timeout(Some(settings.io_timeout)));
            answered.map_err(|err| down(shared, err))?;
            last_heard = Instant::now();
        }
        if reload.is_none() && Instant::now() >= next_reconcile {
            next_reconcile = Instant::now() + settings.reconcile_every;
            record_policy(shared, &mut commands)?;
            if let Some(lost) = epoch.lost(&mut commands, &settings.keys)? {
                tracing::warn!(
                    target: LOG_TARGET,
                    event = "data_lost",
                    lost,
                    "Redis lost data without a reconnect: reloading, and writing back what this \
                     instance holds"
                );
                reload = Some("data_lost");
            }
        }
        if let Some(reason) = reload
            && last_load.elapsed() >= MIN_RELOAD_INTERVAL
        {
            reload = None;
            match full_sync(shared, &mut commands, reason)? {
                Some(fresh) => epoch = fresh,
                None => return Ok(()),
            }
            last_load = Instant::now();
        }
    }
}

/// An error if the server runs in cluster mode (`INFO cluster`, where allowed): a cluster
/// spreads keys over several primaries (a full load's `SCAN` would see one node's), and the
/// store needs one primary holding every entry. The link stays down, and says why.
fn refuse_cluster(con: &mut Connection) -> RedisResult<()> {
    let info = match redis::cmd("INFO").arg("cluster").query::<String>(con) {
        Ok(info) => info,
        Err(err) if !is_link_failure(&err) => return Ok(()),
        Err(err) => return Err(err),
    };
    if info.lines().any(|line| line.trim() == "cluster_enabled:1") {
        return Err(RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "the Redis server runs in cluster mode, which the revocation store does not \
             support (it needs one primary holding every entry): use a primary with replicas \
             behind Sentinel (`redis+sentinel://`)",
        )));
    }
    Ok(())
}

/// Marks the link down at once, before the subscription is dropped: dropping it sends an
/// `UNSUBSCRIBE` and waits for the answer, which a stalled Redis never gives.
fn down(shared: &Shared, err: RedisError) -> RedisError {
    shared.update_link(|l| l.subscribed = false);
    err
}

/// What tells that Redis lost data: the marker key's token, and Redis's `run_id` (when `INFO`
/// is allowed).
#[derive(Debug)]
struct Epoch {
    token: Vec<u8>,
    run_id: Option<String>,
}

impl Epoch {
    /// Writes the marker unless it is there, and reads what it and `run_id` are now.
    fn read(con: &mut Connection, keys: &Keys) -> RedisResult<Self> {
        let fresh = SessionId::random()
            .map(|id| id.to_string())
            .unwrap_or_else(|_| format!("{:?}", SystemTime::now()));
        // SET <prefix>rev:epoch <token> NX: only the first instance after a loss writes it; no
        // expiry, so only a loss (or eviction) removes it.
        redis::cmd("SET")
            .arg(&keys.epoch)
            .arg(fresh)
            .arg("NX")
            .query::<()>(con)?;
        let token: Option<Vec<u8>> = redis::cmd("GET").arg(&keys.epoch).query(con)?;
        Ok(Self {
            token: token.unwrap_or_default(),
            run_id: run_id(con)?,
        })
    }

    /// What was lost since `self` was read, if anything.
    fn lost(&self, con: &mut Connection, keys: &Keys) -> RedisResult<Option<&'static str>> {
        let token: Option<Vec<u8>> = redis::cmd("GET").arg(&keys.epoch).query(con)?;
        if token.as_deref() != Some(self.token.as_slice()) {
            return Ok(Some("marker_key"));
        }
        let now = run_id(con)?;
        Ok((self.run_id.is_some() && now.is_some() && now != self.run_id).then_some("run_id"))
    }
}

/// Redis's `run_id` (from `INFO server`), or `None` where `INFO` is not allowed.
fn run_id(con: &mut Connection) -> RedisResult<Option<String>> {
    let info = match redis::cmd("INFO").arg("server").query::<String>(con) {
        Ok(info) => info,
        Err(err) if !is_link_failure(&err) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(info
        .lines()
        .find_map(|line| line.strip_prefix("run_id:"))
        .map(|id| id.trim().to_owned()))
}

/// Reads `maxmemory-policy` and `maxmemory`, and records (and logs, when it changes) whether
/// Redis may evict the store's keys. Where `CONFIG` is not allowed, says so once.
fn record_policy(shared: &Shared, con: &mut Connection) -> RedisResult<()> {
    let read = |con: &mut Connection, name: &str| -> RedisResult<Option<String>> {
        // CONFIG GET <name>: [name, value]
        match redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query::<Vec<String>>(con)
        {
            Ok(pair) => Ok(pair.into_iter().nth(1)),
            Err(err) if !is_link_failure(&err) => Ok(None),
            Err(err) => Err(err),
        }
    };
    let policy = read(con, "maxmemory-policy")?;
    let limit = read(con, "maxmemory")?;
    let evicting = match (&policy, &limit) {
        (Some(policy), Some(limit)) => {
            (policy != "noeviction" && limit != "0").then(|| policy.clone())
        }
        _ => None,
    };
    let before = lock(&shared.link).evicting_policy.clone();
    if evicting != before {
        if let Some(policy) = &evicting {
            tracing::error!(
                target: LOG_TARGET,
                event = "evicting_policy",
                policy = %policy,
                "Redis may evict revocations (maxmemory-policy {policy} with a maxmemory set): \
                 an evicted one is a logout undone for every instance started since; set \
                 `maxmemory-policy noeviction`"
            );
        }
        shared.update_link(|l| l.evicting_policy = evicting);
    }
    if policy.is_none() && !shared.policy_unknown_reported.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: LOG_TARGET,
            event = "evicting_policy",
            "cannot read Redis's maxmemory-policy (CONFIG not allowed): make sure it is \
             `noeviction`, or revocations may be evicted"
        );
    }
    Ok(())
}

/// Loads every entry under the prefix into the local copy, then writes back those Redis lacks.
/// Returns the epoch read before the load, or `None` if interrupted by a stop.
fn full_sync(
    shared: &Shared,
    con: &mut Connection,
    reason: &'static str,
) -> RedisResult<Option<Epoch>> {
    let started = Instant::now();
    let now = shared.now();
    let keys = &shared.settings.keys;
    let bounds = TrustBounds::at(now);
    // Read first: a loss during the load changes it, and the next check sees that.
    let epoch = Epoch::read(con, keys)?;
    record_policy(shared, con)?;
    // The revocations that had no room in the queue so far: this repair covers them.
    let covered = lock(&shared.queue).unqueued();
    let mut in_redis = InRedis::default();
    let mut cursor: u64 = 0;
    loop {
        if shared.stopping() {
            return Ok(None);
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
                let Some(entry) = value.and_then(|v| shared.read_entry(key, &v, &bounds)) else {
                    continue;
                };
                shared.local.apply(&entry.to_revocation(), now);
                in_redis.record(entry);
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let loaded = in_redis.len();
    let repaired = repair(shared, con, in_redis, now, covered)?;
    shared.update_link(|l| {
        // Only ever run subscribed: what the load missed, the subscription brings.
        l.subscribed = true;
        l.loaded = true;
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
    Ok(Some(epoch))
}

/// Queues, as repairs (after this instance's own revocations, without a message each), the
/// live entries of the local copy that Redis lacks (lost in a restart without persistence, a
/// failover or a flush, or never written: the queue was full), then one "reload" message.
/// Returns how many.
///
/// Candidates are the local entries the scan did not return; each is checked again with its
/// own command before it counts as lost, because `SCAN` may miss a key written while it ran
/// (another instance's logout, already applied here through its message). Without that check,
/// busy fleets would announce reloads to each other forever.
fn repair(
    shared: &Shared,
    con: &mut Connection,
    mut in_redis: InRedis,
    now: UnixTime,
    covered: u64,
) -> RedisResult<usize> {
    // Entries still queued here are on their way: not missing. Read in chunks, so that the
    // queue's lock is never held for a whole backlog: logouts go on meanwhile.
    let mut from = 0;
    loop {
        let (chunk, next) = lock(&shared.queue).entries_from(from, SCAN_COUNT);
        if chunk.is_empty() {
            break;
        }
        for entry in chunk {
            in_redis.record(entry);
        }
        from = next;
    }
    for entry in lock(&shared.queue).refused_entries() {
        in_redis.record(entry);
    }
    // TIME: Redis's clock, [seconds, microseconds], which its expiries follow.
    let (redis_now, _micros): (u64, u64) = redis::cmd("TIME").query(con)?;
    let bounds = TrustBounds::at(now);
    let candidates = missing(
        shared.local.entries(now),
        &in_redis,
        UnixTime::from_secs(redis_now.saturating_add(REPAIR_MARGIN)),
        &bounds,
    );
    let missing = still_missing(con, &shared.settings.keys, candidates, &bounds)?;
    let count = missing.len();
    if count > 0 {
        tracing::warn!(
            target: LOG_TARGET,
            event = "repair",
            count,
            "Redis lacks revocations this instance holds (restarted without persistence, failed \
             over, flushed, or the queue was full): writing them back"
        );
    }
    if count > 0 || covered > 0 {
        let jobs = missing
            .into_iter()
            .map(|entry| Job::Write {
                entry,
                publish: false,
            })
            .chain((count > 0).then_some(Job::AnnounceResync));
        lock(&shared.queue).push_repair(jobs, covered);
        shared.work.notify_one();
    }
    Ok(count)
}

/// The `local` entries that the scan did not find (a session), or found with an older
/// generation (a cutoff: a subject's, or the store-wide one), unless they expire before
/// `expiring_before` (Redis would drop them anyway) or Redis can't hold them (a subject too
/// long to write).
fn missing(
    local: impl Iterator<Item = Revocation>,
    in_redis: &InRedis,
    expiring_before: UnixTime,
    bounds: &TrustBounds,
) -> Vec<Entry> {
    local
        .filter_map(|revocation| Entry::from_revocation(&revocation, bounds))
        .filter(|entry| entry.until() > expiring_before && !in_redis.holds(entry))
        .collect()
}

/// The `candidates` that Redis still lacks (or holds with an older generation, or in a value
/// this instance refuses and a write replaces), checked one by one in pipelines of
/// `SCAN_COUNT`.
fn still_missing(
    con: &mut Connection,
    keys: &Keys,
    candidates: Vec<Entry>,
    bounds: &TrustBounds,
) -> RedisResult<Vec<Entry>> {
    let mut missing = Vec::new();
    for chunk in candidates.chunks(SCAN_COUNT) {
        let mut pipe = redis::pipe();
        for candidate in chunk {
            let key = keys.key(candidate);
            pipe.cmd("GET").arg(&key); // the entry as it is now, or nil
        }
        let found: Vec<Option<Vec<u8>>> = pipe.query(con)?;
        for (candidate, value) in chunk.iter().zip(found) {
            if value.is_none_or(|value| keys.repair_overwrites(candidate, &value, bounds)) {
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
    /// Subject -> the largest generation held.
    subjects: HashMap<String, Generation>,
    /// The store-wide cutoff held (`<prefix>rev:all`), if any.
    everyone: Option<Generation>,
}

impl InRedis {
    fn record(&mut self, entry: Entry) {
        match entry {
            Entry::Session { id, .. } => {
                self.sessions.insert(id);
            }
            Entry::Subject {
                subject,
                generation,
                ..
            } => {
                let known = self.subjects.entry(subject).or_insert(generation);
                *known = (*known).max(generation);
            }
            Entry::Everyone { generation, .. } => {
                self.everyone = self.everyone.max(Some(generation));
            }
        }
    }

    /// Whether Redis holds `entry`: the session's key, or the cutoff (the subject's, or the
    /// store-wide one) at this generation or a larger one.
    fn holds(&self, entry: &Entry) -> bool {
        match entry {
            Entry::Session { id, .. } => self.sessions.contains(id),
            Entry::Subject {
                subject,
                generation,
                ..
            } => self
                .subjects
                .get(subject)
                .is_some_and(|held| held >= generation),
            Entry::Everyone { generation, .. } => {
                self.everyone.is_some_and(|held| held >= *generation)
            }
        }
    }

    fn len(&self) -> usize {
        self.sessions.len() + self.subjects.len() + usize::from(self.everyone.is_some())
    }
}

#[cfg(test)]
mod tests {
    use sealed_session::revocation::Subject;

    use super::*;

    #[test]
    fn repair_candidates_are_what_redis_lacks_or_holds_older() {
        let id = |n| SessionId::from_bytes([n; 16]);
        let t = UnixTime::from_secs;
        let g = Generation::new;
        let mut in_redis = InRedis::default();
        in_redis.record(Entry::Session {
            id: id(1),
            subject: None,
            until: t(9),
        });
        in_redis.record(Entry::Subject {
            subject: "alice".into(),
            generation: g(5),
            until: t(9),
        });
        let subject = |name: &str, generation, until| Revocation::Subject {
            subject: name.into(),
            generation: g(generation),
            until: t(until),
        };
        let session = |n, subject: Option<(&str, u64)>, until| Revocation::Session {
            id: id(n),
            subject: subject.map(|(name, generation)| Subject::new(name, g(generation))),
            until: t(until),
        };
        let local = vec![
            session(1, None, 9),
            session(2, None, u64::MAX),
            session(3, None, 8), // about to expire in Redis anyway
            session(4, Some(("dave", 3)), 9),
            subject("alice", 5, 9),
            subject("alice", 4, 9), // Redis holds a larger one
            subject("bob", 1, 9),
            subject("carol", 1, 8),
            subject(&"x".repeat(crate::keys::MAX_SUBJECT_LEN + 1), 1, 9), // can't be written
        ];
        let bounds = TrustBounds::at(t(0));
        let found = missing(local.into_iter(), &in_redis, t(8), &bounds);
        assert_eq!(
            found,
            [
                Entry::Session {
                    id: id(2),
                    subject: None,
                    until: bounds.clamp(UnixTime::MAX)
                },
                Entry::Session {
                    id: id(4),
                    subject: Some(Subject::new("dave", g(3))),
                    until: t(9)
                },
                Entry::Subject {
                    subject: "bob".into(),
                    generation: g(1),
                    until: t(9)
                },
            ]
        );
        let mut newer = InRedis::default();
        newer.record(Entry::Subject {
            subject: "alice".into(),
            generation: g(4),
            until: t(9),
        });
        assert_eq!(
            missing([subject("alice", 5, 9)].into_iter(), &newer, t(0), &bounds).len(),
            1,
            "an older generation in Redis does not count"
        );
    }

    #[test]
    fn the_store_wide_cutoff_is_repaired_unless_redis_holds_it_as_large() {
        let t = UnixTime::from_secs;
        let g = Generation::new;
        let everyone = |generation, until| Revocation::Everyone {
            generation: g(generation),
            until: t(until),
        };
        let bounds = TrustBounds::at(t(0));
        let lacking = InRedis::default();
        assert_eq!(
            missing([everyone(5, 9)].into_iter(), &lacking, t(0), &bounds),
            [Entry::Everyone {
                generation: g(5),
                until: t(9)
            }]
        );
        let mut in_redis = InRedis::default();
        for generation in [4, 5, 3] {
            in_redis.record(Entry::Everyone {
                generation: g(generation),
                until: t(9),
            });
        }
        assert_eq!(in_redis.len(), 1);
        assert!(
            missing(
                [everyone(5, 9), everyone(4, 9)].into_iter(),
                &in_redis,
                t(0),
                &bounds
            )
            .is_empty()
        );
        assert_eq!(
            missing([everyone(6, 9)].into_iter(), &in_redis, t(0), &bounds).len(),
            1,
            "a smaller store-wide cutoff in Redis does not count"
        );
        assert!(
            missing([everyone(6, 8)].into_iter(), &in_redis, t(8), &bounds).is_empty(),
            "about to expire in Redis anyway"
        );
        // A subject's entry is no store-wide one, nor the reverse.
        let mut subject_only = InRedis::default();
        subject_only.record(Entry::Subject {
            subject: "alice".into(),
            generation: g(9),
            until: t(9),
        });
        assert_eq!(
            missing([everyone(5, 9)].into_iter(), &subject_only, t(0), &bounds).len(),
            1
        );
    }
}
