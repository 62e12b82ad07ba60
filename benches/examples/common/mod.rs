//! What the measurement examples share: a redis-server of their own, and a store that is
//! connected before it is measured. Not an example itself (`mod common;` in each).
#![allow(
    dead_code,
    reason = "each example uses a part: the others see the rest as unused"
)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sealed_session_redis::RedisRevocationStore;

/// The examples' error type.
pub(crate) type Error = Box<dyn std::error::Error>;

/// A redis-server (`REDIS_SERVER_BIN`, default `redis-server`) on `port` of the loopback,
/// without persistence, once it answers `PING`; stopped again if it doesn't within 5 s.
pub(crate) fn spawn_redis(port: u16) -> Result<Child, Error> {
    spawn_redis_with(port, &[])
}

/// [`spawn_redis`] with `extra` arguments (e.g. `["--replicaof", "127.0.0.1", "6379"]`).
pub(crate) fn spawn_redis_with(port: u16, extra: &[&str]) -> Result<Child, Error> {
    let bin = std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".into());
    let mut child = Command::new(&bin)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let pong = client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con));
        if pong.is_ok() {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("{bin} did not answer on port {port}").into())
}

/// `store` once it is connected to `url`, or an error with its health after 10 s.
pub(crate) fn connected(
    store: RedisRevocationStore,
    url: &str,
) -> Result<RedisRevocationStore, Error> {
    if !store.wait_until_connected(Duration::from_secs(10)) {
        return Err(format!("not connected to {url}: {:?}", store.health()).into());
    }
    Ok(store)
}

/// Prints p50/p90/p99/max in µs; returns the p50.
pub(crate) fn report(what: &str, samples: &mut [Duration]) -> f64 {
    if samples.is_empty() {
        println!("{what}: no samples");
        return f64::NAN;
    }
    samples.sort();
    let at = |q: f64| percentile(samples, q).as_secs_f64() * 1e6;
    println!(
        "{what} ({} logouts): p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
    at(0.50)
}

/// Nearest-rank percentile of sorted, non-empty `samples`.
pub(crate) fn percentile(samples: &[Duration], q: f64) -> Duration {
    // The rank is within 1..=len.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

/// Redis's `used_memory` (`INFO memory`), in bytes.
pub(crate) fn used_memory(con: &mut redis::Connection) -> Result<u64, Error> {
    let info: String = redis::cmd("INFO").arg("memory").query(con)?;
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .ok_or("no used_memory in INFO memory")?
        .trim()
        .parse()
        .map_err(Into::into)
}
