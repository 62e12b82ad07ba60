//! What a writer to Redis who is not an instance can do to propagation: the after-figures of
//! issue 18's point 5. Two instances, A and B, share a prefix; an attacker thread with its own
//! connection publishes on their channel as fast as one connection can (pipelines of 1,000);
//! meanwhile A makes logouts one at a time and each is timed until B refuses it. The comparator
//! is the same pair's propagation with no flood, measured just before in the same run.
//!
//! Run with: `scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_flood`
//! (optional arguments: logouts per phase, default 200; junk keys under the prefix for the
//! replay case, default 200000; the cases to run, default `forged,replayed,unauthenticated`).
//! `RUST_LOG=sealed_session_redis=info` prints the stores' events.
//!
//! Three cases:
//! - **forged**: authenticated stores (the default when an adapter starts the store); the
//!   attacker publishes well-formed revocation messages with a made-up tag, for one subject and
//!   for random ones.
//! - **replayed**: authenticated stores with 200,000 junk keys under the prefix (a full reload
//!   reads them all); the attacker replays genuine messages it captured: a revocation, and the
//!   reload announcement a repair sends (made to happen with a `FLUSHDB`).
//! - **unauthenticated**: stores built with `unauthenticated()`; the attacker publishes
//!   revocations of random sessions of one subject and of random subjects, which B believes:
//!   what its bounds keep is the figure (`local_entries`), with the propagation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Connection;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Revocation, RevocationStore};
use sealed_session::{KeyRing, SecretKey, SessionId};
use sealed_session_redis::{RedisRevocationStore, RedisStoreBuilder};

mod common;
use common::{Error, percentile, report};

/// Messages per pipeline from the attacker.
const PIPELINE: usize = 1_000;
/// The longest wait for one logout to reach B.
const PATIENCE: Duration = Duration::from_secs(30);
/// Logouts that may miss [`PATIENCE`] before a phase ends.
const GIVE_UP: usize = 3;
/// How long the flood runs before the logouts are timed.
const WARM_UP: Duration = Duration::from_secs(5);

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
    let junk: usize = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let cases = args
        .next()
        .unwrap_or_else(|| "forged,replayed,unauthenticated".to_owned());
    let run = |case: &str| cases.split(',').any(|c| c == case);
    let ring = KeyRing::new(SecretKey::generate());

    if run("forged") {
        println!("== forged: authenticated stores, messages with a made-up tag");
        let prefix = fresh_prefix()?;
        let (a, b) = pair(&url, &prefix, |s| s.authenticate_with(&ring))?;
        flood_case(&url, &prefix, &a, &b, logouts, move |n| {
            let body = revocation_body(n);
            // 43 characters, like a tag: refused by the check, not by the shape.
            vec![format!("{} {body}", "A".repeat(43))]
        })?;
    }
    if run("replayed") {
        println!(
            "\n== replayed: authenticated stores, {junk} junk keys, captured genuine messages"
        );
        let prefix = fresh_prefix()?;
        let (a, b) = pair(&url, &prefix, |s| s.authenticate_with(&ring))?;
        let mut con = redis::Client::open(url.as_str())?.get_connection()?;
        let captured = capture(&url, &prefix, &a, &mut con)?;
        // After the capture's `FLUSHDB`.
        fill_junk(&mut con, &prefix, junk)?;
        println!(
            "captured {} genuine messages (a revocation and the reload announcement of a repair)",
            captured.len()
        );
        // Wait out the repair's own reloads, so the flood's count is the flood's.
        wait_quiet(&b)?;
        flood_case(&url, &prefix, &a, &b, logouts, move |_| captured.clone())?;
    }
    if run("unauthenticated") {
        println!(
            "\n== unauthenticated: stores built with unauthenticated(), forged revocations believed"
        );
        let prefix = fresh_prefix()?;
        let (a, b) = pair(&url, &prefix, RedisStoreBuilder::unauthenticated)?;
        flood_case(&url, &prefix, &a, &b, logouts, move |n| {
            vec![revocation_body(n)]
        })?;
    }
    Ok(())
}

/// The stores' events channel under `prefix`.
fn channel(prefix: &str) -> String {
    format!("{prefix}rev:events")
}

fn fresh_prefix() -> Result<String, Error> {
    Ok(format!("flood:{}:", SessionId::random()?))
}

/// Two connected stores on `prefix`, each built with `configure`.
fn pair(
    url: &str,
    prefix: &str,
    configure: impl Fn(RedisStoreBuilder) -> RedisStoreBuilder,
) -> Result<(RedisRevocationStore, RedisRevocationStore), Error> {
    let start = || -> Result<RedisRevocationStore, Error> {
        let builder = RedisRevocationStore::builder(url)
            .prefix(prefix)
            .reconcile_every(Duration::from_millis(500));
        common::connected(configure(builder).build()?, url)
    };
    Ok((start()?, start()?))
}

/// A well-formed revocation message body (version 2, a fresh nonce, our time) of a random
/// session: of the subject `victim` for even `n`, of a subject of its own for odd `n`.
fn revocation_body(n: u64) -> String {
    let nonce = SessionId::random().map_or_else(|_| format!("{n:032x}"), |id| id.to_string());
    let id = SessionId::random().map_or_else(|_| format!("{:032x}", n + 1), |id| id.to_string());
    let now = now().secs();
    let subject = if n.is_multiple_of(2) {
        "victim".to_owned()
    } else {
        format!("user-{n}")
    };
    format!("2 {nonce} {now} j {id} {} 1 {subject}", now + 3_600)
}

/// `count` keys under the prefix that are not entries: each full reload reads and refuses them.
fn fill_junk(con: &mut Connection, prefix: &str, count: usize) -> Result<(), Error> {
    for chunk in (0..count).step_by(10_000) {
        let mut pipe = redis::pipe();
        for n in chunk..count.min(chunk + 10_000) {
            pipe.cmd("SET")
                .arg(format!("{prefix}rev:sub:junk-{n}"))
                .arg("x")
                .ignore();
        }
        pipe.query::<()>(con)?;
    }
    Ok(())
}

/// Genuine messages of the channel: a logout's, and the reload announcement a repair sends
/// after a `FLUSHDB` (A writes back what it holds, then announces it).
fn capture(
    url: &str,
    prefix: &str,
    a: &RedisRevocationStore,
    con: &mut Connection,
) -> Result<Vec<String>, Error> {
    let mut listener = redis::Client::open(url)?.get_connection()?;
    let mut pubsub = listener.as_pubsub();
    pubsub.subscribe(channel(prefix))?;
    pubsub.set_read_timeout(Some(Duration::from_millis(100)))?;
    a.revoke(logout(SessionId::random()?), now())?;
    // Written before the flush, so that the flush loses it and A's repair writes it back.
    if !a.flush(Duration::from_secs(10)) {
        return Err("A's logout was not written within 10 s".into());
    }
    redis::cmd("FLUSHDB").query::<()>(con)?;
    let (mut revocation, mut reload) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while (revocation.is_none() || reload.is_none()) && Instant::now() < deadline {
        let message = match pubsub.get_message() {
            Ok(message) => message,
            Err(err) if err.is_timeout() => continue,
            Err(err) => return Err(err.into()),
        };
        let payload: String = message.get_payload()?;
        if payload.ends_with(" r") {
            reload = Some(payload);
        } else {
            revocation.get_or_insert(payload);
        }
    }
    match (revocation, reload) {
        (Some(revocation), Some(reload)) => Ok(vec![revocation, reload]),
        _ => Err("no reload announcement within 20 s of the FLUSHDB".into()),
    }
}

/// Waits until B has made no full load for 3 s (at most 30 s).
fn wait_quiet(b: &RedisRevocationStore) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = (b.health().full_syncs, Instant::now());
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let syncs = b.health().full_syncs;
        if syncs != last.0 {
            last = (syncs, Instant::now());
        } else if last.1.elapsed() >= Duration::from_secs(3) && b.health().connected {
            return Ok(());
        }
    }
    Err(format!("B kept reloading: {:?}", b.health()).into())
}

fn logout(id: SessionId) -> Revocation {
    Revocation::Session {
        id,
        subject: None,
        until: now().saturating_add_secs(3_600),
    }
}

/// Propagation A -> B of `logouts`, with no flood, then while the attacker publishes what
/// `messages(n)` gives, as fast as it can.
fn flood_case(
    url: &str,
    prefix: &str,
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
    logouts: usize,
    messages: impl Fn(u64) -> Vec<String> + Send + 'static,
) -> Result<(), Error> {
    let mut quiet = propagation(a, b, logouts)?;
    let quiet_p50 = report("no flood", &mut quiet);

    let before = b.health();
    let mut con = redis::Client::open(url)?.get_connection()?;
    let dropped_before = output_buffer_disconnections(&mut con)?;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut attacker = redis::Client::open(url)?.get_connection()?;
    let attack = {
        let (stop, sent, channel) = (stop.clone(), sent.clone(), channel(prefix));
        std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut n = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let mut pipe = redis::pipe();
                let mut batch = 0;
                while batch < PIPELINE {
                    for message in messages(n) {
                        pipe.cmd("PUBLISH").arg(&channel).arg(message).ignore();
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
    let flooded = propagation(a, b, logouts);
    let sent_during = sent.load(Ordering::Relaxed) - sent_before;
    let rate = sent_during as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    attack.join().map_err(|_| "the attacker panicked")??;
    let mut flooded = flooded?;
    let flooded_p50 = report(
        &format!("during the flood ({rate:.0} messages/s published)"),
        &mut flooded,
    );
    let after = b.health();
    println!(
        "flood / no flood: p50 {:.2}x, p99 {:.2}x; on B during it: {} refused, {} full loads, \
         {} entries held (before: {}); subscribers Redis disconnected for a full output \
         buffer: {}",
        flooded_p50 / quiet_p50,
        percentile(&flooded, 0.99).as_secs_f64() / percentile(&quiet, 0.99).as_secs_f64(),
        after.refused - before.refused,
        after.full_syncs - before.full_syncs,
        after.local_entries,
        before.local_entries,
        match (output_buffer_disconnections(&mut con)?, dropped_before) {
            (Some(after), Some(before)) => (after - before).to_string(),
            // Redis 7.0 doesn't count them: the store's log says `subscribe_failed` with
            // "unexpected end of file" for each (`RUST_LOG=sealed_session_redis=info`).
            _ => "not counted by this Redis".to_owned(),
        }
    );
    Ok(())
}

/// `client_output_buffer_limit_disconnections` of `INFO stats`, where Redis counts it (not
/// 7.0): clients Redis cut off for a full output buffer (`client-output-buffer-limit pubsub`,
/// 32 MB, or 8 MB for 60 s, by default), a subscriber that can't keep up among them.
fn output_buffer_disconnections(con: &mut Connection) -> Result<Option<u64>, Error> {
    let stats: String = redis::cmd("INFO").arg("stats").query(con)?;
    Ok(stats
        .lines()
        .find_map(|line| line.strip_prefix("client_output_buffer_limit_disconnections:"))
        .and_then(|n| n.trim().parse().ok()))
}

/// `logouts` anonymous logouts on A, one at a time, each timed until B refuses it. One that
/// takes longer than [`PATIENCE`] counts as that long; after [`GIVE_UP`] such, the phase ends
/// (the figures are then lower bounds, and say so).
fn propagation(
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
    logouts: usize,
) -> Result<Vec<Duration>, Error> {
    let mut samples = Vec::with_capacity(logouts);
    let mut late = 0;
    for _ in 0..logouts {
        let id = SessionId::random()?;
        let sent = Instant::now();
        a.revoke(logout(id), now())?;
        while !b.is_revoked(id, None, now()) && sent.elapsed() < PATIENCE {
            std::thread::yield_now();
        }
        let took = sent.elapsed();
        samples.push(took.min(PATIENCE));
        if took >= PATIENCE {
            late += 1;
            if late == GIVE_UP {
                break;
            }
        }
    }
    if late > 0 {
        println!(
            "{late} of {} logouts did not reach B within {PATIENCE:?} (counted as {PATIENCE:?}: \
             the figures below are lower bounds)",
            samples.len()
        );
    }
    Ok(samples)
}
