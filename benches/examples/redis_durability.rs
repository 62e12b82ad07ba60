//! Measures what a confirmed logout costs and how the store behaves when Redis misbehaves: the
//! latency of a durable logout, logouts while a large repair writes back, and how fast
//! `health()` notices a stalled Redis.
//!
//! Run with one of:
//!
//! ```sh
//! scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_durability -- latency [samples]
//! scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_durability -- repair [entries]
//! scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_durability -- stall [rounds]
//! scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_durability -- replica [samples]
//! ```
//!
//! - `latency` (default 2000 samples each): `revoke` + `settle` (what the session lifecycle
//!   does at a logout) one at a time, on a store with the default
//!   `Durability::Acknowledged` beside one with `Durability::Queued`, alternating sample by
//!   sample so that both see the same machine load.
//! - `repair` (default 1,000,000 entries): a store holding that many revocations in its local
//!   copy (and in Redis's stream); `FLUSHDB` through a connection of its own, which takes the
//!   stream; then logouts (`revoke` + `settle`) back to back until the store has noticed the
//!   loss (at its next check, every `reconcile_every`: 5 s by default), written its local
//!   copy's live entries back (`health().repair_writes` back to 0) and read the stream again
//!   from its start (`health().full_syncs` one up). Each logout is counted in the phase it
//!   started in.
//! - `stall` (default 5 rounds): a redis-server of its own (`REDIS_SERVER_BIN`, a free
//!   loopback port, no persistence), `SIGSTOP`ped, then `SIGCONT`ed; the time until
//!   `health().connected` says so, each way. The store's reader waits in `XREAD` up to 100 ms at
//!   a time for a new entry, and its connection's read timeout is that plus `stall_timeout`
//!   (750 ms by default): a stalled Redis shows when that timeout ends. The server is killed
//!   at the end.
//! - `replica` (default 2000 samples each): a replica of the run's Redis (a redis-server of its
//!   own, `--replicaof`, killed at the end); `revoke` + `settle` on a store with `replicas(1)`
//!   (each logout waits for the replica's `WAIT`) beside one with the default `replicas(0)`,
//!   both on the same primary, alternating sample by sample.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Revocation, RevocationLimits, RevocationStore};
use sealed_session_redis::{Durability, RedisRevocationStore};

mod common;
use common::{Error, percentile, report};

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "latency".to_owned());
    let count = args.next().map(|a| a.parse::<usize>()).transpose()?;
    match what.as_str() {
        "latency" => latency(&redis_url()?, count.unwrap_or(2_000)),
        "repair" => repair(&redis_url()?, count.unwrap_or(1_000_000)),
        "stall" => stall(count.unwrap_or(5)),
        "replica" => replica(&redis_url()?, count.unwrap_or(2_000)),
        other => {
            Err(format!("unknown measurement `{other}`: latency, repair, stall or replica").into())
        }
    }
}

fn redis_url() -> Result<String, Error> {
    std::env::var("REDIS_URL").map_err(|_| {
        "REDIS_URL is not set: run this through `scripts/with-redis.sh`, which starts a \
         private redis-server"
            .into()
    })
}

/// The real time: what the store's threads check entries against.
fn now() -> UnixTime {
    UnixTime::from(time::OffsetDateTime::now_utc())
}

fn logout(id: SessionId, now: UnixTime) -> Revocation {
    Revocation::Session {
        id,
        subject: None,
        until: now.saturating_add_secs(86_400),
    }
}

fn start(url: &str, durability: Durability) -> Result<RedisRevocationStore, Error> {
    start_replicated(url, durability, 0)
}

/// [`start`], with `replicas` required to confirm each logout.
fn start_replicated(
    url: &str,
    durability: Durability,
    replicas: u32,
) -> Result<RedisRevocationStore, Error> {
    let store = RedisRevocationStore::builder(url)
        .prefix(format!("durability:{}:", SessionId::random()?))
        .durability(durability)
        .replicas(replicas)
        // The repair measurement holds more than the default cap of a million entries.
        .limits(RevocationLimits::new().total(usize::MAX))
        .build()?;
    common::connected(store, url)
}

/// One logout as the lifecycle makes it: recorded, then confirmed (or not).
fn timed_logout(store: &RedisRevocationStore) -> Result<(Duration, bool), Error> {
    let id = SessionId::random()?;
    let started = Instant::now();
    store.revoke(logout(id, now()), now())?;
    let durable = store.settle().wait().is_ok();
    Ok((started.elapsed(), durable))
}

fn latency(url: &str, samples: usize) -> Result<(), Error> {
    let acknowledged = start(
        url,
        Durability::Acknowledged {
            timeout: Duration::from_millis(250),
        },
    )?;
    let queued = start(url, Durability::Queued)?;
    for _ in 0..100 {
        timed_logout(&acknowledged)?;
        timed_logout(&queued)?;
    }
    let (mut acked, mut fire) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    let mut not_durable = 0;
    for n in 0..samples {
        // Alternate which goes first, so neither always follows the other's wake-ups.
        let order = if n % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for durable in order {
            if durable {
                let (took, ok) = timed_logout(&acknowledged)?;
                not_durable += usize::from(!ok);
                acked.push(took);
            } else {
                fire.push(timed_logout(&queued)?.0);
            }
        }
    }
    let acked_p50 = report(
        "revoke + settle, Durability::Acknowledged (default)",
        &mut acked,
    );
    let fire_p50 = report("revoke + settle, Durability::Queued", &mut fire);
    println!(
        "not durable within 250 ms: {not_durable}; p50 ratio acknowledged / queued: {:.1}",
        acked_p50 / fire_p50
    );
    Ok(())
}

fn repair(url: &str, entries: usize) -> Result<(), Error> {
    let store = start(
        url,
        Durability::Acknowledged {
            timeout: Duration::from_millis(250),
        },
    )?;
    // The entries are written through the store as logouts are (the store has no door that
    // skips Redis), in chunks under the queue's limit (100,000: past it, a logout is answered
    // `NotDurable` at once); the `FLUSHDB` below removes the stream from Redis, so the local
    // copy holds them and Redis doesn't, which is what the write-back restores.
    let filled = Instant::now();
    let at = now();
    for chunk in (0..entries).step_by(50_000) {
        for _ in chunk..entries.min(chunk + 50_000) {
            store.revoke(logout(SessionId::random()?, at), at)?;
        }
        if !store.flush(Duration::from_secs(600)) {
            return Err(format!("not written within 600 s: {:?}", store.health()).into());
        }
    }
    store.settle().wait()?;
    println!(
        "{} entries held locally (filled in {:.1} s)",
        store.health().local_entries,
        filled.elapsed().as_secs_f64()
    );
    for _ in 0..200 {
        timed_logout(&store)?;
    }
    let mut idle = Vec::new();
    for _ in 0..2_000 {
        idle.push(timed_logout(&store)?.0);
    }
    report("logouts before the flush (comparator)", &mut idle);

    let mut con = redis::Client::open(url)?.get_connection()?;
    let syncs = store.health().full_syncs;
    let flushed = Instant::now();
    redis::cmd("FLUSHDB").query::<()>(&mut con)?;
    let (mut noticing, mut writing_back) = (Vec::new(), Vec::new());
    let (mut repair_seen, mut repair_done) = (None, None);
    let mut peak = 0;
    let mut not_durable = 0;
    while repair_done.is_none() {
        if flushed.elapsed() > Duration::from_secs(300) {
            return Err(format!("no repair within 300 s: {:?}", store.health()).into());
        }
        let health = store.health();
        peak = peak.max(health.repair_writes);
        let repairing = health.repair_writes > 0;
        if repairing && repair_seen.is_none() {
            repair_seen = Some(flushed.elapsed());
        }
        if repair_seen.is_some() && !repairing && health.full_syncs > syncs {
            repair_done = Some(flushed.elapsed());
            break;
        }
        let (took, durable) = timed_logout(&store)?;
        not_durable += usize::from(!durable);
        if repairing {
            writing_back.push(took);
        } else {
            noticing.push(took);
        }
    }
    let (Some(seen), Some(done)) = (repair_seen, repair_done) else {
        unreachable!("the loop ends only with both");
    };
    println!(
        "after FLUSHDB: write-back queued at {:.2} s (the loss noticed at a check), written \
         back and the stream read again from its start by {:.2} s ({} write-backs at the peak, \
         {:.0} per second)",
        seen.as_secs_f64(),
        done.as_secs_f64(),
        peak,
        peak as f64 / (done - seen).as_secs_f64()
    );
    report(
        "logouts until the write-back was queued (until the check)",
        &mut noticing,
    );
    report("logouts while the write-back runs", &mut writing_back);
    println!("not durable within 250 ms: {not_durable}");
    let length: u64 = redis::cmd("XLEN")
        .arg(format!("{}rev:log", store.prefix()))
        .query(&mut con)?;
    let health = store.health();
    println!(
        "after it: the stream holds {length} entries; the store holds {}, full_syncs {} (was \
         {syncs})",
        health.local_entries, health.full_syncs
    );
    Ok(())
}

/// A redis-server of our own, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Result<Self, Error> {
        Self::start_with(&[])
    }

    /// A server with `extra` arguments on its command line.
    fn start_with(extra: &[&str]) -> Result<Self, Error> {
        // A free port: bound, read, released (a tiny race with other programs, retried below).
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            if let Ok(child) = common::spawn_redis_with(port, extra) {
                return Ok(Self {
                    child,
                    url: format!("redis://127.0.0.1:{port}/"),
                });
            }
        }
        Err("could not start a redis-server (REDIS_SERVER_BIN)".into())
    }

    fn signal(&self, signal: &str) -> Result<(), Error> {
        let status = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill {signal} failed").into())
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Our own child only; continued first, so that it can die.
        let _ = self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stall(rounds: usize) -> Result<(), Error> {
    let server = Server::start()?;
    let store = start(
        &server.url,
        Durability::Acknowledged {
            timeout: Duration::from_millis(250),
        },
    )?;
    let (mut down, mut up) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Different phases against the reader's 100 ms `XREAD` waits.
        std::thread::sleep(Duration::from_millis(1_000 + 97 * round as u64));
        server.signal("-STOP")?;
        let stopped = Instant::now();
        wait_for(Duration::from_secs(10), || !store.health().connected)?;
        down.push(stopped.elapsed());
        // A logout during the stall: answered as not durable after the wait.
        let (took, durable) = timed_logout(&store)?;
        std::thread::sleep(Duration::from_secs(2));
        server.signal("-CONT")?;
        let continued = Instant::now();
        wait_for(Duration::from_secs(30), || store.health().connected)?;
        up.push(continued.elapsed());
        let flushed = store.flush(Duration::from_secs(5));
        println!(
            "round {}: down noticed after {:.0} ms, a logout then took {:.0} ms (durable: \
             {durable}); up again {:.0} ms after SIGCONT, queue flushed: {flushed}",
            round + 1,
            down[round].as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e3,
            up[round].as_secs_f64() * 1e3,
        );
    }
    report_ms("SIGSTOP until health().connected == false", &mut down);
    report_ms("SIGCONT until health().connected == true", &mut up);
    Ok(())
}

fn replica(url: &str, samples: usize) -> Result<(), Error> {
    let primary_port = std::env::var("REDIS_PORT")
        .map_err(|_| "REDIS_PORT is not set: run this through `scripts/with-redis.sh`")?;
    let mut primary = redis::Client::open(url)?.get_connection()?;
    // No 5 s wait for more replicas before the first sync.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("repl-diskless-sync-delay")
        .arg(0)
        .query::<()>(&mut primary)?;
    // Loaded from the socket, not through a dump.rdb in the working directory.
    let replica = Server::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &primary_port,
        "--repl-diskless-load",
        "on-empty-db",
    ])?;
    let mut replica_con = redis::Client::open(replica.url.as_str())?.get_connection()?;
    wait_for(Duration::from_secs(30), || {
        redis::cmd("INFO")
            .arg("replication")
            .query::<String>(&mut replica_con)
            .is_ok_and(|info| info.contains("master_link_status:up"))
    })?;
    let timeout = Duration::from_millis(250);
    let one_replica = start_replicated(url, Durability::Acknowledged { timeout }, 1)?;
    let primary_only = start_replicated(url, Durability::Acknowledged { timeout }, 0)?;
    for _ in 0..100 {
        timed_logout(&one_replica)?;
        timed_logout(&primary_only)?;
    }
    let (mut waited, mut alone) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    let (mut not_durable_waited, mut not_durable_alone) = (0, 0);
    for n in 0..samples {
        // Alternate which goes first, so neither always follows the other's wake-ups.
        for replicated in [n % 2 == 0, n % 2 != 0] {
            if replicated {
                let (took, ok) = timed_logout(&one_replica)?;
                not_durable_waited += usize::from(!ok);
                waited.push(took);
            } else {
                let (took, ok) = timed_logout(&primary_only)?;
                not_durable_alone += usize::from(!ok);
                alone.push(took);
            }
        }
    }
    let waited_p50 = report("revoke + settle, replicas(1)", &mut waited);
    let alone_p50 = report("revoke + settle, replicas(0) (default)", &mut alone);
    println!(
        "not durable within 250 ms: replicas(1) {not_durable_waited}, replicas(0) \
         {not_durable_alone}; p50 ratio replicas(1) / replicas(0): {:.2}",
        waited_p50 / alone_p50
    );
    Ok(())
}

/// Polls `done` every millisecond, at most `limit`.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> Result<(), Error> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("not within {limit:?}").into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn report_ms(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms: Vec<String> = samples
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
        .collect();
    println!(
        "{what}: median {:.0} ms, max {:.0} ms (all, sorted: {} ms)",
        percentile(samples, 0.5).as_secs_f64() * 1e3,
        percentile(samples, 1.0).as_secs_f64() * 1e3,
        ms.join(", ")
    );
}
