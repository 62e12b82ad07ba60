//! The reader thread: keeps the local copy in step with the stream. It reads every entry from
//! its position on (a fresh instance from the start), resumes from there after a reconnect,
//! and, when Redis turns out to have lost what this instance read or appended, writes back
//! the local copy's live entries and reads the stream again from its start (invariant 9 of
//! `docs/security.md`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use redis::{Connection, RedisError, RedisResult};

use crate::LOG_TARGET;
use crate::keys::Entry;
use crate::link::{Backoff, DownOnExit, Thread, connect, is_link_failure};
use crate::queue::Job;
use crate::shared::{Shared, lock};
use crate::stream::{self, Held, StreamId};
use crate::trust::TrustBounds;

/// How long an `XREAD` waits for a new entry before the reader checks for a stop (and how
/// long, at most, a stop waits for the reader).
const POLL: Duration = Duration::from_millis(100);
/// Entries per read: a million load in a hundred round trips, and each reply stays a few MB.
const PAGE: usize = 10_000;
/// A read lag above this is logged (once, until the reader catches up).
const LAG_WARNING: Duration = Duration::from_secs(1);
/// The shortest time between two write-backs of the local copy (each may be as large as the
/// copy): a writer to Redis deleting entries again and again can't make every instance
/// rewrite everything in a loop.
const MIN_WRITE_BACK_INTERVAL: Duration = Duration::from_secs(2);
/// Write-backs queued under one hold of the queue's lock.
const WRITE_BACK_PART: usize = 4_096;
/// Entries that expire within this many seconds are not written back: no cookie they refuse
/// will be valid by the time another instance reads them.
const WRITE_BACK_MARGIN: u64 = 10;

/// Where the reader is, kept across reconnects: a reconnect is a resume.
struct Position {
    /// The id of the last entry applied (`StreamId::START`: nothing read yet, or reading again
    /// from the start after a loss).
    after: StreamId,
    /// Reading the stream from its start (at start, or after a loss), not caught up yet: the
    /// reason, and when it began.
    full_read: Option<(&'static str, Instant)>,
    /// Entries applied since the full read began.
    read: usize,
    /// Write-backs asked for (a loss, an overflowing queue) and not queued yet.
    write_back: Option<&'static str>,
    last_write_back: Option<Instant>,
    /// The ordinal and id of the last entry read that carried one: the next must be above it.
    ordinal: Option<(u64, StreamId)>,
    /// Entries read just before one whose ordinal was not above theirs, not probed yet (kept
    /// across a reconnect, so that a probe that failed is made again).
    suspects: Vec<StreamId>,
}

/// The reader thread: reads the stream; on any error, reconnects after a backoff and resumes
/// from its position.
pub(crate) fn run_reader(shared: Arc<Shared>) {
    let _down_on_exit = DownOnExit {
        shared: &shared,
        thread: Thread::Reader,
    };
    let mut backoff = Backoff::new(shared.settings.max_backoff);
    let mut reported = false;
    let mut position = Position {
        after: StreamId::START,
        full_read: Some(("start", Instant::now())),
        read: 0,
        write_back: None,
        last_write_back: None,
        ordinal: None,
        suspects: Vec::new(),
    };
    while !shared.stopping() {
        let Err(err) = follow(&shared, &mut backoff, &mut reported, &mut position) else {
            return;
        };
        shared.update_link(|l| l.reading = false);
        if reported {
            tracing::debug!(target: LOG_TARGET, event = "read_failed", error = %err);
        } else {
            reported = true;
            tracing::warn!(
                target: LOG_TARGET,
                event = "read_failed",
                error = %err,
                url = %shared.settings.url,
                "reading revocations from Redis failed: other instances' logouts are not seen \
                 here until the link is back (then reading resumes where it stopped)"
            );
        }
        shared.sleep_unless_stopped(backoff.next());
    }
}

/// Follows the stream on one connection until an error (returned) or a stop (`Ok`).
fn follow(
    shared: &Shared,
    backoff: &mut Backoff,
    reported: &mut bool,
    position: &mut Position,
) -> RedisResult<()> {
    let settings = &shared.settings;
    let mut con = connect(settings)?;
    refuse_cluster(&mut con)?;
    record_policy(shared, &mut con)?;
    // A reconnect: did Redis lose what we read while we were away (a restart, a failover)?
    check_loss(shared, &mut con, position)?;
    // An `XREAD` that waits `POLL` answers within it; a stalled Redis or a half-open
    // connection doesn't, and the link counts as down `stall_timeout` later.
    con.set_read_timeout(Some(POLL + settings.stall_timeout))?;
    backoff.reset();
    *reported = false;
    if position.full_read.is_none() {
        shared.update_link(|l| l.reading = true);
    }
    let mut next_check = Instant::now() + settings.reconcile_every;
    let mut caught_up = false;
    loop {
        if shared.stopping() {
            return Ok(());
        }
        if shared.resync_wanted.swap(false, Ordering::AcqRel) {
            position.write_back = position.write_back.or(Some("queue_full"));
        }
        if shared.repair_refused.swap(false, Ordering::AcqRel) {
            position.write_back = position.write_back.or(Some("repair_refused"));
        }
        if Instant::now() >= next_check {
            next_check = Instant::now() + settings.reconcile_every;
            record_policy(shared, &mut con)?;
            check_loss(shared, &mut con, position)?;
        }
        write_back_if_due(shared, position);
        // Catching up, pages are read back to back; caught up, each read waits for the next.
        let block = caught_up.then_some(POLL);
        let read = stream::read_after(&mut con, &settings.keys, position.after, PAGE, block)?;
        caught_up = read.len() < PAGE;
        let now = shared.now();
        let bounds = TrustBounds::at(now);
        // Entries read just before one whose ordinal was not above theirs: along one stream's
        // life ordinals only grow, so either Redis rewound the stream and then took new
        // entries, or someone else appended a made-up ordinal (it is not under the tag). The
        // probe below tells which.
        for entry in &read {
            if let Some(revocation) = shared.read_entry(&entry.name, &entry.value, &bounds) {
                shared.local.apply(&revocation.to_revocation(), now);
            }
            position.after = entry.id;
            if let Some(ordinal) = entry.ordinal {
                if let Some((last, last_id)) = position.ordinal
                    && ordinal <= last
                    && position.suspects.len() < stream::MAX_PROBED
                {
                    position.suspects.push(last_id);
                }
                position.ordinal = Some((ordinal, entry.id));
            }
        }
        position.read += read.len();
        report_lag(shared, position, &read, caught_up);
        if probe_suspects(shared, &mut con, position)? {
            caught_up = false;
            continue;
        }
        if caught_up && let Some((reason, started)) = position.full_read.take() {
            shared.update_link(|l| {
                l.reading = true;
                l.loaded = true;
                l.last_full_sync = Some(SystemTime::now());
                l.full_syncs += 1;
            });
            tracing::info!(
                target: LOG_TARGET,
                event = "full_sync",
                reason,
                read = position.read,
                elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                local_entries = shared.local.len(),
                "revocations read from the start of the stream"
            );
        }
    }
}

/// Records how far behind the stream the reader is (the age of the last entry read while more
/// were waiting; zero once caught up; not during a read from the start, whose entries are old
/// by nature), and logs it when it passes [`LAG_WARNING`], once until the reader catches up.
fn report_lag(shared: &Shared, position: &Position, read: &[stream::Read], caught_up: bool) {
    let lag = match read.last() {
        Some(last) if !caught_up && position.full_read.is_none() => SystemTime::now()
            .duration_since(last.id.appended_at())
            .unwrap_or(Duration::ZERO),
        _ => Duration::ZERO,
    };
    let before = lock(&shared.link).read_lag;
    if before == lag {
        return;
    }
    if lag > LAG_WARNING && before <= LAG_WARNING {
        tracing::warn!(
            target: LOG_TARGET,
            event = "reading_behind",
            lag_ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
            "this instance reads the revocation stream behind what is appended to it: other \
             instances' logouts reach it that much later (is something flooding the stream? \
             see health().refused and the stream's length)"
        );
    }
    shared.update_link(|l| l.read_lag = lag);
}

/// Asks whether the stream still holds the last entry this instance read and the last it
/// appended (when it has not read that far yet); if either was lost, asks for a write-back and
/// reads again from the start.
fn check_loss(shared: &Shared, con: &mut Connection, position: &mut Position) -> RedisResult<()> {
    if probe_suspects(shared, con, position)? {
        return Ok(());
    }
    let appended = *lock(&shared.appended);
    let probe = stream::probe(con, &shared.settings.keys, &[position.after, appended])?;
    let mut held = probe.quiet_loss(position.after, 0);
    if held == Held::Kept && appended > position.after {
        held = probe.quiet_loss(appended, 1);
    }
    if held != Held::Kept {
        lost(shared, position, held);
    }
    Ok(())
}

/// Probes the entries read just before an ordinal that was not above theirs (if any), and
/// treats a rewind they show as a loss; returns whether there was one. They are forgotten
/// only once probed: a probe that fails is made again after the reconnect.
fn probe_suspects(
    shared: &Shared,
    con: &mut Connection,
    position: &mut Position,
) -> RedisResult<bool> {
    if position.suspects.is_empty() {
        return Ok(false);
    }
    let probe = stream::probe(con, &shared.settings.keys, &position.suspects)?;
    let rewound = probe.rewound(&position.suspects);
    position.suspects.clear();
    if rewound {
        lost(shared, position, Held::Rewound);
    }
    Ok(rewound)
}

/// What a loss found (`held`) does: a write-back asked for, and a read from the start.
fn lost(shared: &Shared, position: &mut Position, held: Held) {
    tracing::warn!(
        target: LOG_TARGET,
        event = "data_lost",
        lost = held.as_str(),
        "Redis lost revocations this instance read or wrote (restarted without persistence, \
         failed over to a replica that lagged, or flushed): writing back what this instance \
         holds, and reading the stream again from its start"
    );
    // Whatever we knew is ours now: a second check must not see the same loss again.
    *lock(&shared.appended) = StreamId::START;
    position.after = StreamId::START;
    position.full_read = Some(("data_lost", Instant::now()));
    position.read = 0;
    position.write_back = Some("data_lost");
    position.ordinal = None;
    position.suspects.clear();
}

/// Queues, after this instance's own revocations, every live entry of the local copy (which
/// holds everything this instance read or made), once a write-back is asked for, none is
/// still being written, and the last was long enough ago. The queue's marker then counts the
/// revocations that found it full as written.
fn write_back_if_due(shared: &Shared, position: &mut Position) {
    let Some(reason) = position.write_back else {
        return;
    };
    if position
        .last_write_back
        .is_some_and(|last| last.elapsed() < MIN_WRITE_BACK_INTERVAL)
        || lock(&shared.queue).repairs() > 0
    {
        return;
    }
    position.write_back = None;
    position.last_write_back = Some(Instant::now());
    // Read before the copy: a revocation that overflows from now on is in the copy below, or
    // counts towards the next write-back.
    let covered = lock(&shared.queue).unqueued();
    let now = shared.now();
    let bounds = TrustBounds::at(now);
    let horizon = now.saturating_add_secs(WRITE_BACK_MARGIN);
    let jobs: Vec<Job> = shared
        .local
        .entries(now)
        .filter_map(|revocation| Entry::from_revocation(&revocation, &bounds))
        .filter(|entry| entry.until() > horizon)
        .map(Job::Write)
        .collect();
    let count = jobs.len();
    tracing::warn!(
        target: LOG_TARGET,
        event = "repair",
        reason,
        count,
        "writing back the live revocations this instance holds"
    );
    // In parts: every logout takes the queue's lock, and a million jobs take a while to move.
    let mut jobs = jobs.into_iter();
    loop {
        let part: Vec<Job> = jobs.by_ref().take(WRITE_BACK_PART).collect();
        if part.is_empty() {
            break;
        }
        lock(&shared.queue).extend_repair(part);
        shared.work.notify_one();
    }
    lock(&shared.queue).end_repair(covered);
    shared.work.notify_one();
}

/// An error if the server runs in cluster mode (`INFO cluster`, where allowed): a cluster
/// spreads keys over several primaries (and `WAIT` counts one node's replicas), and the store
/// needs one primary that orders every write. The link stays down, and says why.
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
