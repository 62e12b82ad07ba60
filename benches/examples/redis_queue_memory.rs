//! Measures the memory of logouts queued while Redis is unreachable, and whether it goes back
//! once Redis returns and the queue drains.
//!
//! Run with: `scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_queue_memory`
//! (optional argument: the number of logouts, default 100000, the default queue limit). It
//! starts a redis-server of its own (`REDIS_SERVER_BIN`) only after the logouts are queued.
//!
//! Bytes are counted by a counting global allocator (`stats_alloc`: every allocation of every
//! thread, net of frees). A store pointed at a closed loopback port takes the logouts (anonymous
//! sessions, random ids); a `MemoryRevocationStore` takes the same ones in the same run, and the
//! difference is what the queue holds, per logout. Then a redis-server starts on that port, the
//! queue drains, and the store's bytes are counted again.

use std::alloc::System;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    MemoryRevocationStore, Revocation, RevocationLimits, RevocationStore,
};
use sealed_session_redis::{Durability, RedisRevocationStore};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod common;
use common::{Error, spawn_redis};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes held now, net, since `region` started. (`stats_alloc` already counts a `realloc`'s
/// growth in `bytes_allocated` and its shrinking in `bytes_deallocated`; `bytes_reallocated`
/// is the same change again, so it is not added.)
fn held(region: &Region<'_, System>) -> i64 {
    let stats = region.change();
    let signed = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    signed(stats.bytes_allocated) - signed(stats.bytes_deallocated)
}

fn main() -> Result<(), Error> {
    let logouts: usize = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    let now = UnixTime::from(time::OffsetDateTime::now_utc());
    let revocations: Vec<Revocation> = (0..logouts)
        .map(|_| {
            SessionId::random().map(|id| Revocation::Session {
                id,
                subject: None,
                until: now.saturating_add_secs(86_400),
            })
        })
        .collect::<Result<_, _>>()?;
    let limits = RevocationLimits::new().total(usize::MAX);

    // The comparator: the same revocations in a memory store (the local copy's share).
    let region = Region::new(GLOBAL);
    let memory = MemoryRevocationStore::with_limits(limits);
    for revocation in &revocations {
        memory.revoke(revocation.clone(), now)?;
    }
    let memory_bytes = held(&region);
    drop(memory);

    // A closed port: bound, read, released; the server starts on it later.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("redis://127.0.0.1:{port}/");
    let region = Region::new(GLOBAL);
    let store = RedisRevocationStore::builder(url.as_str())
        .limits(limits)
        .durability(Durability::Queued)
        .startup_wait(Duration::ZERO)
        .max_backoff(Duration::from_millis(200))
        .build()?;
    let empty = held(&region);
    for revocation in &revocations {
        store.revoke(revocation.clone(), now)?;
    }
    let queued = held(&region) - empty;
    let health = store.health();
    println!(
        "{logouts} logouts with Redis unreachable: pending_writes {}, unqueued {}",
        health.pending_writes, health.unqueued_writes
    );
    #[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
    let per = |bytes: i64| bytes as f64 / logouts as f64;
    println!(
        "bytes held by the Redis store: {queued} ({:.1} per logout); by a memory store with the \
         same logouts: {memory_bytes} ({:.1} per logout); the queue: {} ({:.1} per logout)",
        per(queued),
        per(memory_bytes),
        queued - memory_bytes,
        per(queued - memory_bytes),
    );

    let mut server = spawn_redis(port)?;
    let back = Instant::now();
    let drained = store.flush(Duration::from_secs(60));
    let drained_in = back.elapsed();
    // Let the writer finish its last batch's bookkeeping and the subscriber its load.
    store.wait_until_connected(Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let after = held(&region) - empty;
    println!(
        "Redis back: queue drained: {drained} in {:.2} s; bytes held by the store now: {after} \
         ({:.1} per logout; {} above the memory store)",
        drained_in.as_secs_f64(),
        per(after),
        after - memory_bytes,
    );
    drop(store);
    println!(
        "after the store is dropped: {} bytes held since before it was built",
        held(&region)
    );
    let _ = server.kill();
    let _ = server.wait();
    Ok(())
}
