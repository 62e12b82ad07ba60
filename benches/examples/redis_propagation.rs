//! Measures the consistency bound: how long after a logout on instance A a copy of the cookie
//! still passes on instance B, over a real Redis. Also what a large revocation set takes in
//! Redis, and how long a fresh instance takes to read it (the stream from its start: what a
//! start costs; a reconnect resumes from where the instance was, `redis_scale.rs`).
//!
//! Run with: `scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_propagation`
//! (optional arguments: the number of logouts one at a time, default 1000; the size of the set
//! a fresh instance reads, default 1000000; the seconds of paced logouts under read load,
//! default 10; 0 skips a part; the number of reader threads on B, default 2).
//!
//! Under load, A makes 2,000 logouts a second (paced, each `revoke` + `settle`, as the session
//! lifecycle does) while threads on B call `is_revoked` in a loop, as request handlers would; an observer thread on B times each logout's arrival. Then A makes a burst of 100,000
//! logouts back to back (the default queue limit), and the drain rate is the burst over the time
//! until B has the last of them.
//!
//! Two stores play the two instances, in one process, each with its own connections and
//! threads, exactly as two processes would: A's writer appends each batch to the stream
//! (`<prefix>rev:log`) with one script, and B's reader, waiting in `XREAD` (100 ms at a time) after the
//! last entry it read, applies what follows to B's local copy. A "logout" is `revoke` of an anonymous
//! session on A; it has propagated when B's `is_revoked` (what B's lifecycle calls on each
//! request) says so. A "log out everywhere" is `advance` of a subject's cutoff on A; it has propagated when B
//! refuses a session of that subject signed in (on B) just before. B is polled in a tight loop, so
//! the figures include the poll's granularity (well under a microsecond).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sealed_session::SessionId;
use sealed_session::codec::{DEFAULT_CLOCK_SKEW, UnixTime};
use sealed_session::revocation::{
    Cutoff, Generation, Revocation, RevocationLimits, RevocationStore, Subject,
};
use sealed_session_redis::RedisRevocationStore;

mod common;
use common::report;

/// Paced logouts per second on A, under read load.
const RATE: u32 = 2_000;
/// Logouts in the burst: the default queue limit.
const BURST: usize = 100_000;

/// The real time: the stores bound what they read from Redis against it, so the entries must
/// carry real deadlines.
fn now() -> UnixTime {
    UnixTime::from(time::OffsetDateTime::now_utc())
}

fn until() -> UnixTime {
    now().saturating_add_secs(86_400)
}

fn logout(id: SessionId) -> Revocation {
    Revocation::Session {
        id,
        subject: None,
        until: until(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").map_err(|_| {
        "REDIS_URL is not set: run this through `scripts/with-redis.sh`, which starts a \
         private redis-server"
    })?;
    let mut args = std::env::args().skip(1);
    let logouts: usize = args.next().map_or(Ok(1_000), |a| a.parse())?;
    let load: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let loaded_secs: u32 = args.next().map_or(Ok(10), |a| a.parse())?;
    let readers: usize = args.next().map_or(Ok(2), |a| a.parse())?;
    let prefix = format!("propagation:{}:", SessionId::random()?);
    let start = |prefix: &str| -> Result<RedisRevocationStore, Box<dyn std::error::Error>> {
        let store = RedisRevocationStore::builder(url.as_str())
            .prefix(prefix)
            // The set below may exceed the default caps of a million entries: of this
            // instance's own revocations (`total`), and of the others' (`remote_total`).
            .limits(
                RevocationLimits::new()
                    .total(usize::MAX)
                    .remote_total(usize::MAX),
            )
            .build()?;
        common::connected(store, &url)
    };
    let (a, b) = (start(&prefix)?, start(&prefix)?);

    // Warm up connections and code paths.
    for _ in 0..50 {
        propagate(&a, &b, SessionId::random()?)?;
    }

    if logouts > 0 {
        idle(&a, &b, logouts)?;
    }
    if loaded_secs > 0 {
        under_load(&a, &b, loaded_secs, readers)?;
    }

    if load > 0 {
        let big = format!("propagation-load:{}:", SessionId::random()?);
        let writer = start(&big)?;
        let memory_before = used_memory(&url)?;
        let filled = Instant::now();
        // In chunks within the queue's limit: past it, revocations wait for a write-back of
        // the local copy, which `flush` does not wait for.
        for chunk in (0..load).step_by(BURST / 2) {
            for _ in chunk..load.min(chunk + BURST / 2) {
                writer.revoke(logout(SessionId::random()?), now())?;
            }
            if !writer.flush(Duration::from_secs(600)) {
                return Err("the set was not written within 10 minutes".into());
            }
        }
        println!(
            "\nwrote {load} revocations through the queue in {:.2} s",
            filled.elapsed().as_secs_f64()
        );
        let grown = used_memory(&url)?.saturating_sub(memory_before);
        println!(
            "Redis used_memory grew by {:.1} MiB: {} bytes per revoked session",
            grown as f64 / f64::from(1 << 20),
            grown / load as u64
        );
        let loading = Instant::now();
        let fresh = start(&big)?;
        println!(
            "a fresh instance read the stream from its start ({} entries held) and was \
             connected in {:.2} s",
            fresh.health().local_entries,
            loading.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Idle figures: one logout at a time, a burst of `logouts`, and "log out everywhere" one at a
/// time, with nothing else running.
fn idle(
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
    logouts: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut one_by_one = Vec::with_capacity(logouts);
    for _ in 0..logouts {
        one_by_one.push(propagate(a, b, SessionId::random()?)?);
    }
    report("one logout at a time", &mut one_by_one);

    // A burst: logouts back to back, each timed from its own revoke to its arrival on B.
    let ids: Vec<SessionId> = (0..logouts)
        .map(|_| SessionId::random())
        .collect::<Result<_, _>>()?;
    let mut sent = Vec::with_capacity(logouts);
    for id in &ids {
        sent.push(Instant::now());
        a.revoke(logout(*id), now())?;
    }
    let mut burst = Vec::with_capacity(logouts);
    for (id, sent) in ids.iter().zip(&sent) {
        wait_until(|| b.is_revoked(*id, None, now()))?;
        burst.push(sent.elapsed());
    }
    report(&format!("burst of {logouts}"), &mut burst);
    println!("(burst figures are upper bounds: B's arrivals are observed in order)");

    // "Log out everywhere": one subject each, its cutoff raised on A above every stamp so far.
    let mut everywhere = Vec::with_capacity(logouts);
    for n in 0..logouts {
        let subject = format!("user-{n}");
        // A session signed in on B just before.
        let stamp = Generation::authenticated_at(now().to_datetime(), b.generation(&subject));
        let before = Subject::new(subject.as_str(), stamp);
        let above = Generation::everywhere_at(now().to_datetime(), DEFAULT_CLOCK_SKEW);
        let sent = Instant::now();
        a.advance(&subject, Cutoff::Everything { above }, until(), now())?;
        wait_until(|| b.is_revoked(SessionId::from_bytes([0; 16]), Some(&before), now()))?;
        everywhere.push(sent.elapsed());
    }
    report("log out everywhere, one at a time", &mut everywhere);
    Ok(())
}

/// Paced logouts on A (`revoke` + `settle`) while `readers` threads read on B, then a burst.
fn under_load(
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
    secs: u32,
    readers: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..readers)
        .map(|_| {
            let (b, stop, reads) = (b.clone(), Arc::clone(&stop), Arc::clone(&reads));
            // Ids that are not revoked, with no subject: the common request.
            let ids: Vec<SessionId> = (0..4096).filter_map(|_| SessionId::random().ok()).collect();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let at = now();
                    for id in &ids {
                        std::hint::black_box(b.is_revoked(*id, None, at));
                    }
                    n += ids.len() as u64;
                }
                reads.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    // The observer: times each logout's arrival on B, in the order they were made.
    let (sent_tx, sent_rx) = mpsc::channel::<(SessionId, Instant)>();
    let observer = {
        let b = b.clone();
        std::thread::spawn(move || -> Result<Vec<Duration>, String> {
            let mut arrivals = Vec::new();
            for (id, sent) in sent_rx {
                wait_until(|| b.is_revoked(id, None, now())).map_err(|e| e.to_string())?;
                arrivals.push(sent.elapsed());
            }
            Ok(arrivals)
        })
    };

    let logouts = usize::try_from(RATE * secs)?;
    let interval = Duration::from_secs(1) / RATE;
    let mut took = Vec::with_capacity(logouts);
    let mut not_durable = 0;
    // How late each logout starts against its schedule: the machine's scheduling delay, the
    // same run's comparator for the tails below.
    let mut lateness = Vec::with_capacity(logouts);
    let began = Instant::now();
    for n in 0..logouts {
        let due = began + interval * u32::try_from(n)?;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let id = SessionId::random()?;
        let sent = Instant::now();
        lateness.push(sent.saturating_duration_since(due));
        a.revoke(logout(id), now())?;
        not_durable += usize::from(a.settle().wait().is_err());
        took.push(sent.elapsed());
        sent_tx.send((id, sent))?;
    }
    let paced = began.elapsed();
    // The burst, on the same observer: back to back, no settle (a queue's worth at once).
    let burst_began = Instant::now();
    let mut last = None;
    for _ in 0..BURST {
        let id = SessionId::random()?;
        a.revoke(logout(id), now())?;
        sent_tx.send((id, Instant::now()))?;
        last = Some(id);
    }
    let queued_in = burst_began.elapsed();
    drop(sent_tx);
    if !a.flush(Duration::from_secs(60)) {
        return Err("the burst was not written within 60 s".into());
    }
    let written_in = burst_began.elapsed();
    let last = last.ok_or("an empty burst")?;
    wait_until(|| b.is_revoked(last, None, now()))?;
    let drained_in = burst_began.elapsed();
    let mut arrivals = observer.join().map_err(|_| "the observer panicked")??;
    stop.store(true, Ordering::Relaxed);
    for reader in threads {
        reader.join().map_err(|_| "a reader panicked")?;
    }
    let total_secs = began.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let reads_per_sec = reads.load(Ordering::Relaxed) as f64 / total_secs;

    println!(
        "\nunder read load: {logouts} logouts paced at {RATE}/s on A in {:.2} s, {readers} \
         reader threads on B ({:.1} M is_revoked/s)",
        paced.as_secs_f64(),
        reads_per_sec / 1e6
    );
    report(
        "start of each logout after its schedule (comparator)",
        &mut lateness,
    );
    let mut burst_arrivals = arrivals.split_off(logouts);
    report(
        "propagation A -> B at 2,000/s under read load",
        &mut arrivals,
    );
    report("logout on A (revoke + settle) at 2,000/s", &mut took);
    println!("not durable within the wait: {not_durable}");
    #[allow(clippy::cast_precision_loss)]
    let rate = BURST as f64 / drained_in.as_secs_f64();
    println!(
        "burst of {BURST}: queued on A in {:.0} ms, all in Redis after {:.0} ms, all on B after \
         {:.0} ms: {rate:.0} logouts/s",
        queued_in.as_secs_f64() * 1e3,
        written_in.as_secs_f64() * 1e3,
        drained_in.as_secs_f64() * 1e3,
    );
    report(
        &format!("burst of {BURST}, each from its revoke to B"),
        &mut burst_arrivals,
    );
    Ok(())
}

/// Redis's `used_memory` (bytes), from `INFO memory`.
fn used_memory(url: &str) -> Result<u64, Box<dyn std::error::Error>> {
    common::used_memory(&mut redis::Client::open(url)?.get_connection()?)
}

/// Revokes `id` on A and times until B refuses it.
fn propagate(
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
    id: SessionId,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let sent = Instant::now();
    a.revoke(logout(id), now())?;
    wait_until(|| b.is_revoked(id, None, now()))?;
    Ok(sent.elapsed())
}

/// Spins (bounded: 10 s) until `done`.
fn wait_until(mut done: impl FnMut() -> bool) -> Result<(), Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut spins = 0u32;
    while !done() {
        spins += 1;
        if spins.is_multiple_of(64) {
            // Leave the core to the threads being measured (this machine may have few).
            std::thread::yield_now();
            if Instant::now() > deadline {
                return Err("a logout did not propagate within 10 s".into());
            }
        } else {
            std::hint::spin_loop();
        }
    }
    Ok(())
}
