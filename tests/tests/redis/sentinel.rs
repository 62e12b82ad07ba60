//! `redis+sentinel://` against a real sentinel (`redis-server --sentinel`) watching the run's
//! redis-server (issue 18, point 3): the store finds the primary through it, and a service name
//! it does not watch keeps the link down. A smoke test of the lookup; the failovers, with a
//! replica and three sentinels started by this harness, are in [`super::replicas`].

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealed_session::SessionId;
use sealed_session::clock::ManualClock;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Revocation, RevocationStore};
use sealed_session_redis::RedisRevocationStore;
use sealed_session_test_support::redis_url;

const NOW: UnixTime = UnixTime::from_secs(1_900_000_000);

/// A sentinel (`redis-server --sentinel`) on a loopback port; killed (the process this test
/// started, by its handle) when dropped.
pub(super) struct Sentinel {
    pub(super) port: u16,
    child: Child,
    /// Holds its configuration file; removed after the process.
    _dir: tempfile::TempDir,
}

impl Sentinel {
    /// One sentinel watching the run's Redis as `mymaster`, alone (quorum 1).
    fn start() -> Self {
        let redis_port = std::env::var("REDIS_PORT").expect("REDIS_PORT (scripts/with-redis.sh)");
        Self::spawn(
            free_port(),
            &format!("sentinel monitor mymaster 127.0.0.1 {redis_port} 1\n"),
        )
    }

    /// A sentinel on `port` with `settings` (its `sentinel ...` lines), once it answers `PING`.
    pub(super) fn spawn(port: u16, settings: &str) -> Self {
        let bin = std::env::var_os("REDIS_SERVER_BIN")
            .expect("REDIS_SERVER_BIN is not set: run with scripts/with-redis.sh");
        let dir = tempfile::tempdir().unwrap();
        // The sentinel rewrites its configuration file: one of its own, in a directory of its own.
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\n{settings}",
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sentinel = Self {
            port,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        while client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con))
            .is_err()
        {
            assert!(Instant::now() < deadline, "the sentinel did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        sentinel
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free when asked.
pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

fn store(url: &str, prefix: &str) -> RedisRevocationStore {
    RedisRevocationStore::builder(url)
        .prefix(prefix)
        .clock(Arc::new(ManualClock::new(NOW.to_datetime())))
        .startup_wait(Duration::ZERO)
        .build()
        .unwrap()
}

#[test]
fn a_store_finds_the_primary_through_sentinel() {
    let sentinel = Sentinel::start();
    let prefix = format!("test:{}:", SessionId::random().unwrap());
    let through = store(
        &format!("redis+sentinel://127.0.0.1:{}/mymaster", sentinel.port),
        &prefix,
    );
    assert!(
        through.wait_until_connected(Duration::from_secs(10)),
        "{through:?}"
    );
    assert!(format!("{through:?}").contains("redis+sentinel://127.0.0.1:"));
    let direct = store(&redis_url(), &prefix);
    assert!(direct.wait_until_connected(Duration::from_secs(10)));
    let id = SessionId::random().unwrap();
    through
        .revoke(
            Revocation::Session {
                id,
                subject: None,
                until: NOW.saturating_add_secs(60),
            },
            NOW,
        )
        .unwrap();
    assert!(through.flush(Duration::from_secs(5)));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !direct.is_revoked(id, None, NOW) {
        assert!(
            Instant::now() < deadline,
            "the logout reached the other instance"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_service_the_sentinels_do_not_watch_keeps_the_link_down() {
    let sentinel = Sentinel::start();
    let prefix = format!("test:{}:", SessionId::random().unwrap());
    let lost = store(
        &format!("redis+sentinel://127.0.0.1:{}/nosuchmaster", sentinel.port),
        &prefix,
    );
    assert!(!lost.wait_until_connected(Duration::from_secs(1)));
    assert!(!lost.health().loaded);
}
