//! The pending file, where a store that stops before Redis took its logouts saves them for the
//! next start (issue 18, point 5: <https://github.com/sealed-session/sealed-session/issues/18>):
//! a subject can't inject lines, the file is private, no symlink redirects its write, and with
//! authentication a line nobody tagged is refused. Public API only; no Redis is reached (the
//! URL points at a closed port), so these need no `REDIS_URL`.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sealed_session::clock::ManualClock;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Generation, Revocation, RevocationStore};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_redis::{RedisRevocationStore, RedisStoreBuilder};

const NOW: UnixTime = UnixTime::from_secs(1_900_000_000);

/// A store whose Redis never answers, saving to `file` at its stop, at [`NOW`].
fn offline(
    file: &Path,
    configure: impl FnOnce(RedisStoreBuilder) -> RedisStoreBuilder,
) -> RedisRevocationStore {
    // A loopback port with nothing listening (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    configure(RedisRevocationStore::builder(format!(
        "redis://127.0.0.1:{port}/"
    )))
    .shutdown_timeout(Duration::from_millis(200))
    .startup_wait(Duration::ZERO)
    .pending_file(file)
    .clock(Arc::new(ManualClock::new(NOW.to_datetime())))
    .build()
    .unwrap()
}

fn cutoff(subject: &str, generation: u64) -> Revocation {
    Revocation::Subject {
        subject: subject.into(),
        generation: Generation::new(generation),
        until: NOW.saturating_add_secs(100),
    }
}

/// Issue 18: a newline in a subject wrote a second line that the next start replayed (and,
/// authenticated, signed and published): anyone logged out everywhere.
#[test]
fn a_subject_with_a_line_break_cannot_inject_a_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pending");
    let injected = format!(
        "mallory\ng {} 1900000100 alice",
        Generation::at(NOW.to_datetime())
    );
    let store = offline(&file, |b| b);
    store.revoke(cutoff(&injected, 7), NOW).unwrap();
    drop(store);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(saved.lines().count(), 2, "the header and one line: {saved}");
    let next = offline(&file, |b| b);
    assert_eq!(
        next.generation("alice"),
        Generation::ZERO,
        "nothing injected"
    );
    assert_eq!(
        next.generation(&injected),
        Generation::new(7),
        "the subject as it was"
    );
}

/// A subject that ends (or starts) in whitespace comes back as it was, tag and all: the file's
/// lines are read as written, not trimmed (review of issue 18).
#[test]
fn a_subject_with_spaces_at_its_ends_comes_back_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pending");
    let ring = KeyRing::new(SecretKey::generate());
    for subject in ["bob ", " bob", "bob\u{3000}"] {
        let store = offline(&file, |b| b.authenticate_with(&ring));
        store.revoke(cutoff(subject, 9), NOW).unwrap();
        drop(store);
        let next = offline(&file, |b| b.authenticate_with(&ring));
        assert_eq!(next.generation(subject), Generation::new(9), "{subject:?}");
        assert_eq!(next.generation("bob"), Generation::ZERO, "{subject:?}");
        assert_eq!(next.health().refused, 0, "{subject:?}");
        drop(next);
        let _ = std::fs::remove_file(&file);
    }
}

#[cfg(unix)]
#[test]
fn the_file_is_private_and_a_planted_symlink_is_not_followed() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pending");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    // Where the temporary file was written before: a link there now redirects nothing.
    std::os::unix::fs::symlink(&victim, dir.path().join("pending.tmp")).unwrap();
    let store = offline(&file, |b| b);
    store.revoke(cutoff("alice", 7), NOW).unwrap();
    drop(store);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".tmp") && name != "pending.tmp")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn with_authentication_a_line_nobody_tagged_is_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pending");
    let ring = KeyRing::new(SecretKey::generate());
    let store = offline(&file, |b| b.authenticate_with(&ring));
    store.revoke(cutoff("alice", 7), NOW).unwrap();
    drop(store);
    let mut saved = std::fs::read_to_string(&file).unwrap();
    saved.push_str("g 9 1900000100 bob\n");
    std::fs::write(&file, saved).unwrap();
    let next = offline(&file, |b| b.authenticate_with(&ring));
    assert_eq!(
        next.generation("alice"),
        Generation::new(7),
        "the tagged line"
    );
    assert_eq!(next.generation("bob"), Generation::ZERO, "the forged one");
    assert_eq!(next.health().refused, 1);
    // Another key ring's store refuses every line.
    drop(next);
    let stranger = offline(&file, |b| {
        b.authenticate_with(&KeyRing::new(SecretKey::generate()))
    });
    assert_eq!(stranger.generation("alice"), Generation::ZERO);
}
