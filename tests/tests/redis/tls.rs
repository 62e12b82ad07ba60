//! The Redis store over `rediss://` (issue 9, point 7:
//! <https://github.com/sealed-session/sealed-session/issues/9>), against the TLS-only
//! redis-server that `scripts/with-redis.sh` starts with a throwaway CA made by openssl.
//!
//! Needs `REDIS_TLS_URL` and `REDIS_TLS_CA`: run with `scripts/test.sh` (or
//! `scripts/with-redis.sh cargo test ...`). Without them these tests fail, saying so; they
//! never skip.

use std::time::Duration;

use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Revocation, RevocationStore};
use sealed_session_redis::{BuildError, RedisConfig, RedisRevocationStore};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this needs the TLS redis-server of `scripts/with-redis.sh`; run \
             the tests with `scripts/test.sh`, or wrap the command in `scripts/with-redis.sh`"
        )
    })
}

fn pem(var_name: &str) -> Vec<u8> {
    std::fs::read(var(var_name)).unwrap()
}

fn store(prefix: &str) -> RedisRevocationStore {
    RedisRevocationStore::builder(var("REDIS_TLS_URL"))
        .prefix(prefix)
        .tls_root_certificates(pem("REDIS_TLS_CA"))
        .build()
        .unwrap()
}

#[test]
fn a_logout_on_one_instance_is_refused_on_the_other_over_tls() {
    let prefix = format!("test:{}:", SessionId::random().unwrap());
    let a = store(&prefix);
    // The second from the configuration file's form, `ca_file`.
    let config: RedisConfig = serde_json::from_value(serde_json::json!({
        "url": var("REDIS_TLS_URL"),
        "prefix": prefix,
        "ca_file": var("REDIS_TLS_CA"),
    }))
    .unwrap();
    let b = config.start();
    assert!(
        a.wait_until_connected(Duration::from_secs(10)),
        "{:?}",
        a.health()
    );
    assert!(
        b.wait_until_connected(Duration::from_secs(10)),
        "{:?}",
        b.health()
    );
    let now = UnixTime::from(time::OffsetDateTime::now_utc());
    let id = SessionId::random().unwrap();
    a.revoke(
        Revocation::Session {
            id,
            subject: None,
            until: now.saturating_add_secs(60),
        },
        now,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !b.is_revoked(id, None, now) {
        assert!(
            std::time::Instant::now() < deadline,
            "B never saw A's logout"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_store_trusting_the_wrong_ca_never_connects_and_says_so() {
    let store = RedisRevocationStore::builder(var("REDIS_TLS_URL"))
        .tls_root_certificates(pem("REDIS_TLS_WRONG_CA"))
        .max_backoff(Duration::from_millis(100))
        .shutdown_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    assert!(!store.wait_until_connected(Duration::from_secs(2)));
    let health = store.health();
    assert!(!health.connected && !health.reading, "{health:?}");
    assert_eq!(health.full_syncs, 0);
    assert!(health.disconnected_since.is_some());
    // Nor does one trusting only the system's roots (a private CA is in none of them).
    let system = RedisRevocationStore::builder(var("REDIS_TLS_URL"))
        .shutdown_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    assert!(!system.wait_until_connected(Duration::from_secs(1)));
}

#[test]
fn bad_tls_settings_are_refused_at_startup() {
    let url = var("REDIS_TLS_URL");
    assert_eq!(
        RedisRevocationStore::builder(&url)
            .tls_root_certificates(b"-----BEGIN CERTIFICATE-----\nnot base64\n".to_vec())
            .build()
            .unwrap_err(),
        BuildError::InvalidRootCertificates
    );
    assert!(matches!(
        RedisRevocationStore::builder("redis://127.0.0.1:1/")
            .tls_root_certificates(pem("REDIS_TLS_CA"))
            .build(),
        Err(BuildError::RootCertificatesWithoutTls { .. })
    ));
    assert!(matches!(
        RedisRevocationStore::builder(format!("{url}#insecure")).build(),
        Err(BuildError::InsecureTls { .. })
    ));
    let err = serde_json::from_value::<RedisConfig>(serde_json::json!({
        "url": url, "ca_file": "/surely/missing.pem"
    }))
    .unwrap_err();
    assert!(err.to_string().contains("/surely/missing.pem"), "{err}");
}
