//! Measures the consistency bound: how long after a logout on instance A a copy of the cookie
//! still passes on instance B, over a real Redis. Also how long a fresh instance takes to load
//! a large revocation set (what a reconnect costs).
//!
//! Run with: `scripts/with-redis.sh cargo run --release -p sealed-session-redis --example propagation`
//! (optional arguments: the number of logouts, default 1000, and the size of the set to load,
//! default 1000000).
//!
//! Two stores play the two instances, in one process, each with its own connections and
//! threads, exactly as two processes would. A "logout" is `revoke` of an anonymous session on
//! A; it has propagated when B's `is_revoked` (what B's lifecycle calls on each request) says
//! so. A "log out everywhere" is `advance` of a subject's generation on A; it has propagated
//! when B refuses a session carrying the previous generation. B is polled in a tight loop, so
//! the figures include the poll's granularity (well under a microsecond).

use std::time::{Duration, Instant};

use sealed_session::{Revocation, RevocationLimits, RevocationStore, SessionId, Subject, UnixTime};
use sealed_session_redis::RedisRevocationStore;

const NOW: UnixTime = UnixTime::from_secs(1_900_000_000);
const UNTIL: UnixTime = NOW.saturating_add_secs(86_400);

fn logout(id: SessionId) -> Revocation {
    Revocation::Session {
        id,
        subject: None,
        until: UNTIL,
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
    let prefix = format!("propagation:{}:", SessionId::random()?);
    let start = |prefix: &str| -> Result<RedisRevocationStore, Box<dyn std::error::Error>> {
        let store = RedisRevocationStore::builder(url.as_str())
            .prefix(prefix)
            // The load below may exceed the default cap of a million entries.
            .limits(RevocationLimits::new().total(usize::MAX))
            .build()?;
        if !store.wait_until_connected(Duration::from_secs(10)) {
            return Err(format!("not connected to {url}: {:?}", store.health()).into());
        }
        Ok(store)
    };
    let (a, b) = (start(&prefix)?, start(&prefix)?);

    // Warm up connections and code paths.
    for _ in 0..50 {
        propagate(&a, &b, SessionId::random()?)?;
    }

    let mut one_by_one = Vec::with_capacity(logouts);
    for _ in 0..logouts {
        one_by_one.push(propagate(&a, &b, SessionId::random()?)?);
    }
    report("one logout at a time", &mut one_by_one);

    // A burst: logouts back to back, each timed from its own revoke to its arrival on B.
    let ids: Vec<SessionId> = (0..logouts)
        .map(|_| SessionId::random())
        .collect::<Result<_, _>>()?;
    let mut sent = Vec::with_capacity(logouts);
    for id in &ids {
        sent.push(Instant::now());
        a.revoke(logout(*id), NOW)?;
    }
    let mut burst = Vec::with_capacity(logouts);
    for (id, sent) in ids.iter().zip(&sent) {
        wait_until(|| b.is_revoked(*id, None, NOW))?;
        burst.push(sent.elapsed());
    }
    report(&format!("burst of {logouts}"), &mut burst);
    println!("(burst figures are upper bounds: B's arrivals are observed in order)");

    // "Log out everywhere": one subject each, its generation advanced on A.
    let mut everywhere = Vec::with_capacity(logouts);
    for n in 0..logouts {
        let subject = format!("user-{n}");
        let before = Subject::new(subject.as_str(), b.generation(&subject));
        let sent = Instant::now();
        a.advance(&subject, None, UNTIL, NOW)?;
        wait_until(|| b.is_revoked(SessionId::from_bytes([0; 16]), Some(&before), NOW))?;
        everywhere.push(sent.elapsed());
    }
    report("log out everywhere, one at a time", &mut everywhere);

    if load > 0 {
        let big = format!("propagation-load:{}:", SessionId::random()?);
        let writer = start(&big)?;
        let memory_before = used_memory(&url)?;
        let filled = Instant::now();
        for _ in 0..load {
            writer.revoke(logout(SessionId::random()?), NOW)?;
        }
        if !writer.flush(Duration::from_secs(600)) {
            return Err("the set was not written within 10 minutes".into());
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
            "a fresh instance subscribed and loaded {} entries in {:.2} s",
            fresh.health().local_entries,
            loading.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Redis's `used_memory` (bytes), from `INFO memory`.
fn used_memory(url: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let mut con = redis::Client::open(url)?.get_connection()?;
    let info: String = redis::cmd("INFO").arg("memory").query(&mut con)?;
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .ok_or("no used_memory in INFO memory")?
        .trim()
        .parse()
        .map_err(Into::into)
}

/// Revokes `id` on A and times until B refuses it.
fn propagate(
    a: &RedisRevocationStore,
    b: &RedisRevocationStore,
    id: SessionId,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let sent = Instant::now();
    a.revoke(logout(id), NOW)?;
    wait_until(|| b.is_revoked(id, None, NOW))?;
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

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| {
        // Nearest-rank percentile; the index is within the slice.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1].as_secs_f64() * 1e6
    };
    println!(
        "{what} ({} logouts): p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
}
