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
