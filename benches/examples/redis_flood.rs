//! What a writer to Redis who is not an instance can do to propagation, now that every
//! revocation is an entry of one stream. Two instances, A and B, share a prefix; an attacker
//! thread with its own connection appends to their stream, `<prefix>rev:log`, as fast as one
//! connection can (`XADD <stream> * k <name> v <value>`, pipelines of 1,000). After 5 s of
//! flood, A makes logouts one at a time and each is timed until B refuses it (B is read in a
//! loop: spinning for the first 10 ms, then every millisecond). A logout that takes more than
//! 30 s counts as 30 s, and the phase ends after three such, or when the flood has run 30 s
//! past its first 5 (no logout starts after that). The flood stops when the phase ends, so it
//! runs about 65 s at most (35 s, then the last logout's 30 s): whatever the flood does to B,
//! the program ends, and what the flood leaves in Redis is bounded. The comparator is the same
//! pair's propagation with no flood, measured just before in the same run.
//!
//! Run with: `scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_flood`
//! (optional arguments: logouts per phase, default 200; the cases to run, default
//! `forged,replayed,unauthenticated`). `RUST_LOG=sealed_session_redis=info` prints the stores'
//! events.
//!
//! Three cases, each on a prefix of its own:
//! - **forged**: authenticated stores (the default when an adapter starts the store); the
//!   attacker appends well-formed revocations of random sessions, half of them of one subject
//!   and half of subjects of their own, under a made-up tag.
//! - **replayed**: authenticated stores; A makes a log-out-everywhere of one subject, a
//!   logout of a session of that subject and a logout of an anonymous session; the attacker
//!   copies those three genuine entries from the stream (`XRANGE`) and appends them again and
//!   again. A replay is the same revocation: B's copy should not change, only its reading cost.
//! - **unauthenticated**: stores built with `unauthenticated()`; the attacker appends
//!   revocations of random sessions, half of them of one subject and half of subjects of their
//!   own, which B believes within its bounds: what B then holds is a figure too
//!   (`local_entries`).
//!
//! Besides the propagation, each case reports what B did during the flood (entries refused,
//! full reads, entries held, revocations past its room for other instances' ones:
//! `overflows`), what the flood left in Redis (the stream's length and Redis's `used_memory`
//! growth: the stream keeps the attacker's entries as it keeps the instances', until its
//! retention trims them), how long B took to catch up once the flood stopped (a
//! log-out-everywhere on A, timed until B refuses a session of its subject, for up to 600 s)
//! and how many of the logouts made during the flood B then refuses (one it doesn't was
//! dropped, not late), and how long a fresh instance of the same kind takes to read the stream
//! the flood left (up to 300 s). The case's stores are then dropped and its keys deleted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Connection;
use sealed_session::codec::{DEFAULT_CLOCK_SKEW, UnixTime};
use sealed_session::revocation::{Cutoff, Generation, Revocation, RevocationStore, Subject};
use sealed_session::{KeyRing, SecretKey, SessionId};
use sealed_session_redis::{RedisRevocationStore, RedisStoreBuilder};

mod common;
use common::{Error, percentile, report, used_memory};

/// Entries per pipeline from the attacker.
const PIPELINE: usize = 1_000;
/// The longest wait for one logout to reach B.
const PATIENCE: Duration = Duration::from_secs(30);
/// Logouts that may miss [`PATIENCE`] before a phase ends.
const GIVE_UP: usize = 3;
/// How long the flood runs before the logouts are timed.
const WARM_UP: Duration = Duration::from_secs(5);
/// The longest the flood runs after the warm-up: no logout is started after it. It bounds
/// what the flood leaves in Redis (each entry stays there until the retention trims it).
const FLOOD_LIMIT: Duration = Duration::from_secs(30);
/// The longest wait, once the flood stopped, for B to catch up.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(600);
/// The longest a fresh instance may take to read the stream the flood left.
const LOAD_PATIENCE: Duration = Duration::from_secs(300);

/// A stream entry's two fields: its name (`k`) and its value (`v`).
type Fields = (String, String);

fn now() -> UnixTime {
    UnixTime::from(time::OffsetDateTime::now_utc())
}

fn main() -> Result<(), Error> {
    let url = std::env::var("REDIS_URL").map_err(|_| {
        "REDIS_URL is not set: run this through `scripts/with-redis.sh`, which starts a \
         private redis-server"
    })?;
    // `RUST_LOG=sealed_session_redis=info` shows what the stores log during the floods.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let logouts: usize = args.next().map_or(Ok(200), |a| a.parse())?;
    let cases = args
        .next()
        .unwrap_or_else(|| "forged,replayed,unauthenticated".to_owned());
    let run = |case: &str| cases.split(',').any(|c| c == case);
    let ring = KeyRing::new(SecretKey::generate());
    let authenticated = |s: RedisStoreBuilder| s.authenticate_with(&ring);

    if run("forged") {
        println!("== forged: authenticated stores, entries with a made-up tag");
        let prefix = fresh_prefix()?;
        let (a, b) = pair(&url, &prefix, authenticated)?;
        let names = Names::new(&prefix)?;
        flood_case(&url, &prefix, a, b, logouts, authenticated, move |n| {
            let (name, body) = names.session_revocation(n);
            // 43 characters, like a tag: refused by the check, not by the shape.
            vec![(name, format!("{} {body}", "A".repeat(43)))]
        })?;
    }
    if run("replayed") {
        println!("\n== replayed: authenticated stores, genuine entries copied and appended again");
        let prefix = fresh_prefix()?;
        let (a, b) = pair(&url, &prefix, authenticated)?;
        let mut con = redis::Client::open(url.as_str())?.get_connection()?;
        let copied = copy_genuine(&mut con, &prefix, &a)?;
        for (name, _) in &copied {
            println!("copied: k {name}");
        }
        flood_case(&url, &prefix, a, b, logouts, authenticated, move |_| {
            copied.clone()
        })?;
    }
    if run("unauthenticated") {
        println!(
            "\n== unauthenticated: stores built with unauthenticated(), forged revocations believed"
        );
        let prefix = fresh_prefix()?;
        let (a, b) = pair(&url, &prefix, RedisStoreBuilder::unauthenticated)?;
        let names = Names::new(&prefix)?;
        flood_case(
            &url,
            &prefix,
            a,
            b,
            logouts,
            RedisStoreBuilder::unauthenticated,
            move |n| vec![names.session_revocation(n)],
        )?;
    }
    Ok(())
}

/// The stores' stream under `prefix`.
fn stream(prefix: &str) -> String {
    format!("{prefix}rev:log")
}

fn fresh_prefix() -> Result<String, Error> {
    Ok(format!("flood:{}:", SessionId::random()?))
}

/// A store on `prefix`, built with `configure`, checking the stream for losses every 500 ms.
fn start(
    url: &str,
    prefix: &str,
    configure: &impl Fn(RedisStoreBuilder) -> RedisStoreBuilder,
) -> Result<RedisRevocationStore, Error> {
    let builder = RedisRevocationStore::builder(url)
        .prefix(prefix)
        .reconcile_every(Duration::from_millis(500));
    Ok(configure(builder).build()?)
}

/// Two connected stores on `prefix`, each built with `configure`.
fn pair(
    url: &str,
    prefix: &str,
    configure: impl Fn(RedisStoreBuilder) -> RedisStoreBuilder,
) -> Result<(RedisRevocationStore, RedisRevocationStore), Error> {
    Ok((
        common::connected(start(url, prefix, &configure)?, url)?,
        common::connected(start(url, prefix, &configure)?, url)?,
    ))
}

/// The attacker's made-up entries: distinct session ids without a random number per entry.
struct Names {
    session: String,
    seed: u64,
}

impl Names {
    fn new(prefix: &str) -> Result<Self, Error> {
        let seed = u64::from_str_radix(&SessionId::random()?.to_string()[..16], 16)?;
        Ok(Self {
            session: format!("{prefix}rev:id:"),
            seed,
        })
    }

    /// A well-formed revocation, untagged, of a session of its own (`<prefix>rev:id:<32
    /// hex>`, `<until> 1 <subject>`): of the subject `victim` for even `n`, of a subject of
    /// its own for odd `n`.
    fn session_revocation(&self, n: u64) -> Fields {
        let subject = if n.is_multiple_of(2) {
            "victim".to_owned()
        } else {
            format!("user-{n}")
        };
        (
            format!("{}{:016x}{n:016x}", self.session, self.seed),
            format!("{} 1 {subject}", now().secs() + 3_600),
        )
    }
}

/// A log-out-everywhere of `victim`, a logout of a session of `victim` and one of an anonymous
/// session, made on A and written; then the entries they made, copied from the stream.
fn copy_genuine(
    con: &mut Connection,
    prefix: &str,
    a: &RedisRevocationStore,
) -> Result<Vec<Fields>, Error> {
    let until = now().saturating_add_secs(3_600);
    let above = Generation::everywhere_at(now().to_datetime(), DEFAULT_CLOCK_SKEW);
    a.advance("victim", Cutoff::Everything { above }, until, now())?;
    let stamp = Generation::authenticated_at(now().to_datetime(), a.generation("victim"));
    a.revoke(
        Revocation::Session {
            id: SessionId::random()?,
            subject: Some(Subject::new("victim", stamp)),
            until,
        },
        now(),
    )?;
    a.revoke(logout(SessionId::random()?), now())?;
    if !a.flush(Duration::from_secs(10)) {
        return Err("A's revocations were not written within 10 s".into());
    }
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(stream(prefix))
        .arg("-")
        .arg("+")
        .query(con)?;
    let copied: Vec<Fields> = entries
        .into_iter()
        .filter_map(|(_, fields)| {
            let field = |name: &str| fields.iter().find(|(f, _)| f == name).map(|(_, v)| v);
            Some((field("k")?.clone(), field("v")?.clone()))
        })
        .collect();
    if copied.len() != 3 {
        return Err(format!("expected 3 genuine entries in the stream, found {copied:?}").into());
    }
    Ok(copied)
}

fn logout(id: SessionId) -> Revocation {
    Revocation::Session {
        id,
        subject: None,
        until: now().saturating_add_secs(3_600),
    }
}

/// `XLEN` of the stream (0 if it is gone).
fn stream_length(con: &mut Connection, prefix: &str) -> Result<u64, Error> {
    Ok(redis::cmd("XLEN").arg(stream(prefix)).query(con)?)
}

/// Propagation A -> B of `logouts`, with no flood, then while the attacker appends what
/// `entries(n)` gives, as fast as it can; then what the flood left.
fn flood_case(
    url: &str,
    prefix: &str,
    a: RedisRevocationStore,
    b: RedisRevocationStore,
    logouts: usize,
    configure: impl Fn(RedisStoreBuilder) -> RedisStoreBuilder,
    entries: impl Fn(u64) -> Vec<Fields> + Send + 'static,
) -> Result<(), Error> {
    let mut quiet = times(&propagation(&a, &b, logouts, PATIENCE, None)?);
    let quiet_p50 = report("no flood", &mut quiet);

    let before = b.health();
    let overflows_before = b.overflows();
    let mut con = redis::Client::open(url)?.get_connection()?;
    let memory_before = used_memory(&mut con)?;
    let length_before = stream_length(&mut con, prefix)?;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut attacker = redis::Client::open(url)?.get_connection()?;
    let attack = {
        let (stop, sent, stream) = (stop.clone(), sent.clone(), stream(prefix));
        std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut n = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let mut pipe = redis::pipe();
                let mut batch = 0;
                while batch < PIPELINE {
                    for (name, value) in entries(n) {
                        pipe.cmd("XADD")
                            .arg(&stream)
                            .arg("*")
                            .arg("k")
                            .arg(name)
                            .arg("v")
                            .arg(value)
                            .ignore();
                        batch += 1;
                    }
                    n += 1;
                }
                pipe.query::<()>(&mut attacker)?;
                sent.fetch_add(batch as u64, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    // The flood runs a while before the measurement, so that what it does to B has built up.
    std::thread::sleep(WARM_UP);
    let started = Instant::now();
    let sent_before = sent.load(Ordering::Relaxed);
    let flooded = propagation(&a, &b, logouts, PATIENCE, Some(started + FLOOD_LIMIT));
    let sent_during = sent.load(Ordering::Relaxed) - sent_before;
    let rate = sent_during as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    attack.join().map_err(|_| "the attacker panicked")??;
    let appended = sent.load(Ordering::Relaxed);
    let flooded = flooded?;
    // Each, with when it started: how B's lag grows while the flood goes on.
    let each: Vec<String> = flooded
        .iter()
        .map(|s| {
            format!(
                "{:.1} s after {:.1} s",
                s.took.as_secs_f64(),
                (WARM_UP + s.sent.saturating_duration_since(started)).as_secs_f64()
            )
        })
        .collect();
    println!(
        "each logout during the flood, taken after (flood time at its start): {}",
        each.join(", ")
    );
    let mut flooded_times = times(&flooded);
    let flooded_p50 = report(
        &format!("during the flood ({rate:.0} entries/s appended)"),
        &mut flooded_times,
    );
    let after = b.health();
    let overflows = b.overflows() - overflows_before;
    let stopped = started.elapsed();
    // B may still be reading the flood's entries: a log-out-everywhere, timed until B has it
    // (one that B holds even with its room for others' revocations full, where an anonymous
    // session's logout is dropped).
    let caught_up = everywhere(&a, &b)?;
    // Once B read that far, the flood's logouts it still doesn't refuse were dropped, not late.
    let refused_after = flooded
        .iter()
        .filter(|s| b.is_revoked(s.id, None, now()))
        .count();
    let memory_after = used_memory(&mut con)?;
    let length_after = stream_length(&mut con, prefix)?;
    let grown = memory_after.saturating_sub(memory_before);
    println!(
        "flood / no flood: p50 {:.2}x, p99 {:.2}x; on B during it: {} refused, {} full reads, \
         {} entries held (before: {}), {overflows} revocations past its room for others' \
         (remote_total: anonymous sessions' logouts dropped, subjects' raising B's store-wide \
         cutoff)",
        flooded_p50 / quiet_p50,
        percentile(&flooded_times, 0.99).as_secs_f64() / percentile(&quiet, 0.99).as_secs_f64(),
        after.refused - before.refused,
        after.full_syncs - before.full_syncs,
        after.local_entries,
        before.local_entries,
    );
    match caught_up {
        Some(took) => println!(
            "the flood ran {:.1} s (warm-up included); once it stopped, a log-out-everywhere \
             on A reached B in {:.2} s; then B refused {refused_after} of the {} logouts made \
             during the flood",
            (WARM_UP + stopped).as_secs_f64(),
            took.as_secs_f64(),
            flooded.len()
        ),
        None => println!(
            "the flood ran {:.1} s (warm-up included); once it stopped, a log-out-everywhere \
             on A did not reach B within {CATCH_UP_PATIENCE:?}",
            (WARM_UP + stopped).as_secs_f64(),
        ),
    }
    println!(
        "in Redis: {appended} entries appended by the attacker; the stream holds {length_after} \
         entries (before the flood: {length_before}); used_memory grew by {:.1} MiB ({} \
         bytes per appended entry)",
        grown as f64 / f64::from(1 << 20),
        grown / appended.max(1),
    );

    // What the flood left: every fresh instance reads it, until the retention trims it.
    let loading = Instant::now();
    let fresh = start(url, prefix, &configure)?;
    if !fresh.wait_until_loaded(LOAD_PATIENCE) {
        return Err(format!("not loaded within {LOAD_PATIENCE:?}: {:?}", fresh.health()).into());
    }
    let health = fresh.health();
    println!(
        "a fresh instance read the stream the flood left in {:.2} s: {} refused, {} entries \
         held",
        loading.elapsed().as_secs_f64(),
        health.refused,
        health.local_entries
    );
    // Stopped before the stream goes, so that none of them writes its copy back.
    drop((fresh, a, b));
    redis::cmd("DEL")
        .arg(stream(prefix))
        .arg(format!("{prefix}rev:retention"))
        .arg(format!("{prefix}rev:epoch"))
        .query::<()>(&mut con)?;
    Ok(())
}

/// A log-out-everywhere of a subject of its own on A, timed until B refuses a session of that
/// subject signed in just before; `None` if not within [`CATCH_UP_PATIENCE`].
fn everywhere(
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
) -> Result<Option<Duration>, Error> {
    let subject = format!("probe-{}", SessionId::random()?);
    let stamp = Generation::authenticated_at(now().to_datetime(), b.generation(&subject));
    let before = Subject::new(subject.as_str(), stamp);
    let above = Generation::everywhere_at(now().to_datetime(), DEFAULT_CLOCK_SKEW);
    let sent = Instant::now();
    a.advance(
        &subject,
        Cutoff::Everything { above },
        now().saturating_add_secs(3_600),
        now(),
    )?;
    let unlisted = SessionId::from_bytes([0; 16]);
    while !b.is_revoked(unlisted, Some(&before), now()) {
        if sent.elapsed() >= CATCH_UP_PATIENCE {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(Some(sent.elapsed()))
}

/// One logout on A, timed until B refused it.
struct Sample {
    id: SessionId,
    sent: Instant,
    /// At most the patience it was given.
    took: Duration,
}

/// The durations of `samples`.
fn times(samples: &[Sample]) -> Vec<Duration> {
    samples.iter().map(|s| s.took).collect()
}

/// `logouts` anonymous logouts on A, one at a time, each timed until B refuses it (with when
/// it was made); none is started after `end`. One that takes longer than `patience` counts as that long; after
/// [`GIVE_UP`] such, the phase ends (the figures are then lower bounds, and say so).
fn propagation(
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
    logouts: usize,
    patience: Duration,
    end: Option<Instant>,
) -> Result<Vec<Sample>, Error> {
    let mut samples = Vec::with_capacity(logouts);
    let mut late = 0;
    for _ in 0..logouts {
        if end.is_some_and(|end| Instant::now() >= end) {
            println!(
                "{} of {logouts} logouts made: the flood's time limit ({FLOOD_LIMIT:?} after \
                 the warm-up) was reached",
                samples.len()
            );
            break;
        }
        let id = SessionId::random()?;
        let sent = Instant::now();
        a.revoke(logout(id), now())?;
        while !b.is_revoked(id, None, now()) && sent.elapsed() < patience {
            // Spinning (with a yield) for the first 10 ms, then polling every millisecond, so
            // that a long wait leaves the cores to B's reader and Redis.
            if sent.elapsed() < Duration::from_millis(10) {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let took = sent.elapsed();
        samples.push(Sample {
            id,
            sent,
            took: took.min(patience),
        });
        if took >= patience {
            late += 1;
            if late == GIVE_UP {
                break;
            }
        }
    }
    if late > 0 {
        println!(
            "{late} of {} logouts did not reach B within {patience:?} (counted as {patience:?}: \
             the figures below are lower bounds)",
            samples.len()
        );
    }
    Ok(samples)
}
