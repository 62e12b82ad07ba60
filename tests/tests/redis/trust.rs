//! What someone who can write to Redis can do to the store, against a real redis-server
//! (issue 9, point 7: <https://github.com/sealed-session/sealed-session/issues/9>): out-of-range
//! values are ignored whatever the settings, and with `authenticate_with` forged or altered
//! entries and messages are ignored too. Public API and raw Redis commands only.
//!
//! Needs `REDIS_URL`: run with `scripts/test.sh` (or `scripts/with-redis.sh cargo test ...`).
//! Without it these tests fail, saying so; they never skip.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealed_session::clock::ManualClock;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Cutoff, Generation, Revocation, RevocationStore, Subject};
use sealed_session::{KeyRing, SecretKey, SessionId};
use sealed_session_redis::RedisRevocationStore;
use sealed_session_test_support::redis_url;

const NOW: UnixTime = UnixTime::from_secs(1_900_000_000);

/// The tests of this file run one at a time: two of them drop every subscription
/// (`kill_subscriptions`), and a message published meanwhile to another test's stores would be
/// missed (it is no entry a reload brings back), making that test's counts short.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fresh_prefix() -> String {
    format!("test:{}:", SessionId::random().unwrap())
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        time::OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
    ))
}

/// A store under `prefix` at [`NOW`], authenticated with `ring` if given, connected and loaded.
fn store(prefix: &str, ring: Option<&KeyRing>) -> RedisRevocationStore {
    let mut builder = RedisRevocationStore::builder(redis_url())
        .prefix(prefix)
        .clock(clock());
    if let Some(ring) = ring {
        builder = builder.authenticate_with(ring);
    }
    let store = builder.build().unwrap();
    assert!(store.wait_until_connected(Duration::from_secs(10)));
    store
}

fn raw() -> redis::Connection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Publishes `body` untagged, framed as a message of [`NOW`] with a fresh nonce
/// (`2 <nonce> <sent> <body>`, docs/revocation.md).
fn publish(prefix: &str, body: &str) {
    publish_raw(prefix, &framed(body, NOW));
}

/// `body` framed as a message sent at `sent`, with a fresh nonce.
fn framed(body: &str, sent: UnixTime) -> String {
    format!("2 {} {sent} {body}", SessionId::random().unwrap())
}

fn publish_raw(prefix: &str, payload: &str) {
    let _: i64 = redis::cmd("PUBLISH")
        .arg(format!("{prefix}rev:events"))
        .arg(payload)
        .query(&mut raw())
        .unwrap();
}

fn set(key: &str, value: &str) {
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query(&mut raw())
        .unwrap();
}

fn get(key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(&mut raw()).unwrap()
}

/// Drops every subscription's connection (the stores of the tests running alongside too): each
/// store resubscribes and does a full load, with its repair. Counts asserted in this file hold
/// whether or not another test's kill lands meanwhile.
fn kill_subscriptions() {
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut raw())
        .unwrap();
}

/// Polls (bounded) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "not within 5 s: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Publishes a genuine-looking marker through `from` and waits until `to` has it: every
/// message published before it has been handled by `to`'s subscriber (one connection, in order).
fn barrier(from: &RedisRevocationStore, to: &RedisRevocationStore) {
    let id = SessionId::random().unwrap();
    from.revoke(
        Revocation::Session {
            id,
            subject: None,
            until: NOW.saturating_add_secs(60),
        },
        NOW,
    )
    .unwrap();
    eventually("the marker arrives", || to.is_revoked(id, None, NOW));
}

fn ring() -> KeyRing {
    KeyRing::new(SecretKey::generate())
}

/// A session of `subject` signed in at `NOW` on `store`: stamped above the cutoff it knows.
fn signed_in(store: &RedisRevocationStore, subject: &str) -> Subject {
    let stamp = Generation::authenticated_at(NOW.to_datetime(), store.generation(subject));
    Subject::new(subject, stamp)
}

/// "Log out everywhere" of `subject` on `store` at `NOW` (a minute's clock skew allowance),
/// kept 100 s; returns the subject's new cutoff there.
fn log_out_everywhere(store: &RedisRevocationStore, subject: &str) -> Generation {
    let above = Generation::everywhere_at(NOW.to_datetime(), time::Duration::minutes(1));
    let recorded = store
        .advance(
            subject,
            Cutoff::Everything { above },
            NOW.saturating_add_secs(100),
            NOW,
        )
        .unwrap();
    assert!(
        matches!(recorded, Some(Revocation::Subject { .. })),
        "{recorded:?}"
    );
    store.generation(subject)
}

#[test]
fn a_forged_publish_of_a_huge_generation_does_not_lock_the_user_out() {
    let _serial = serial();
    let prefix = fresh_prefix();
    let (a, b) = (store(&prefix, None), store(&prefix, None));
    let alice = signed_in(&b, "alice");
    let session = SessionId::random().unwrap();
    // What issue 9 measured: one PUBLISH of a u64::MAX cutoff, and a deadline in 2106.
    publish(&prefix, &format!("g {} {} alice", u64::MAX, u32::MAX));
    publish(
        &prefix,
        &format!(
            "j {} 4294967295 {} alice",
            SessionId::random().unwrap(),
            u64::MAX
        ),
    );
    // Far in the future, within no clock skew of ours (two skew allowances ahead, plus more
    // than the hour's margin the bounds allow for cutoffs raised step by step).
    let two_days_ahead = Generation::at(
        NOW.saturating_add_secs(2 * 86_400 + 3_600 + 120)
            .to_datetime(),
    );
    publish(&prefix, &format!("g {two_days_ahead} 1900000100 alice"));
    publish(&prefix, "g 5 4000000000 alice");
    barrier(&a, &b);
    assert!(
        !b.is_revoked(session, Some(&alice), NOW),
        "alice is not locked out"
    );
    assert_eq!(b.generation("alice"), Generation::ZERO);
    assert!(b.health().refused >= 4, "{:?}", b.health());
    // And "log out everywhere" still works afterwards, everywhere.
    let next = log_out_everywhere(&a, "alice");
    eventually("B has the genuine advance", || {
        b.generation("alice") == next
    });
    assert!(b.is_revoked(session, Some(&alice), NOW));
    // A sign-in afterwards works.
    let again = signed_in(&b, "alice");
    assert!(again.generation() > next);
    assert!(!b.is_revoked(session, Some(&again), NOW));
}

#[test]
fn a_forged_entry_of_a_huge_generation_is_ignored_at_load_and_replaced_by_a_genuine_write() {
    let _serial = serial();
    let prefix = fresh_prefix();
    let key = format!("{prefix}rev:sub:bob");
    set(&key, &format!("{} {}", u64::MAX, u32::MAX));
    let a = store(&prefix, None);
    assert_eq!(
        a.generation("bob"),
        Generation::ZERO,
        "refused at the full load"
    );
    assert!(a.health().refused >= 1);
    // The keep-the-larger script does not keep the forgery over a genuine advance.
    let next = log_out_everywhere(&a, "bob");
    assert!(a.flush(Duration::from_secs(5)));
    assert_eq!(get(&key), Some(format!("{next} 1900000100")));
    assert_eq!(store(&prefix, None).generation("bob"), next);
}

#[test]
fn with_authentication_forged_and_tampered_entries_and_messages_are_ignored() {
    let _serial = serial();
    let prefix = fresh_prefix();
    let ring = ring();
    let (a, b) = (store(&prefix, Some(&ring)), store(&prefix, Some(&ring)));
    let carol = Subject::new("carol", Generation::ZERO);
    let session = SessionId::random().unwrap();
    // Forged messages, in range: untagged, and tagged with another ring's key.
    publish(&prefix, &format!("i {session} 1900000100"));
    let g = Generation::at(NOW.to_datetime());
    publish(&prefix, &format!("g {g} 1900000100 carol"));
    publish(&prefix, "r");
    let stranger_prefix_store = store(&prefix, Some(&self::ring()));
    log_out_everywhere(&stranger_prefix_store, "carol");
    assert!(stranger_prefix_store.flush(Duration::from_secs(5)));
    barrier(&a, &b);
    assert!(!b.is_revoked(session, None, NOW), "forged logout ignored");
    assert!(
        !b.is_revoked(session, Some(&carol), NOW),
        "forged advance ignored"
    );
    assert_eq!(b.generation("carol"), Generation::ZERO);
    let refused = b.health().refused;
    assert!(refused >= 4, "{refused}");
    // A genuine logout, then its value tampered with in Redis: a new instance ignores the
    // tampered value and the instances that hold it write it back.
    let genuine = SessionId::random().unwrap();
    let dave = Subject::new("dave", Generation::new(7));
    a.revoke(
        Revocation::Session {
            id: genuine,
            subject: Some(dave.clone()),
            until: NOW.saturating_add_secs(100),
        },
        NOW,
    )
    .unwrap();
    assert!(a.flush(Duration::from_secs(5)));
    let key = format!("{prefix}rev:id:{genuine}");
    let value = get(&key).unwrap();
    let (tag, body) = value.split_once(' ').unwrap();
    assert_eq!(body, "1900000100 7 dave");
    // Moved onto another session's key: would revoke it.
    let victim = SessionId::random().unwrap();
    set(&format!("{prefix}rev:id:{victim}"), &value);
    // Tampered: a shorter deadline, same tag.
    set(&key, &format!("{tag} 1900000001 7 dave"));
    let late = store(&prefix, Some(&ring));
    assert!(
        !late.is_revoked(victim, None, NOW),
        "a moved value is refused"
    );
    assert!(late.health().refused >= 2);
    // The tampered one was refused, and is repaired from A's and B's copies at their next full
    // load (written back, tagged, then reloaded everywhere).
    kill_subscriptions();
    eventually("the genuine value is written back", || {
        get(&key).as_deref() == Some(value.as_str())
    });
    let reloaded = store(&prefix, Some(&ring));
    assert!(reloaded.is_revoked(genuine, Some(&dave), NOW));
}

#[test]
fn with_authentication_a_forged_larger_subject_value_does_not_make_repairs_loop() {
    let _serial = serial();
    let prefix = fresh_prefix();
    let ring = ring();
    let a = store(&prefix, Some(&ring));
    let next = log_out_everywhere(&a, "erin");
    assert!(a.flush(Duration::from_secs(5)));
    // Over it, a forged value the keep-the-larger script would keep (larger, in range).
    let key = format!("{prefix}rev:sub:erin");
    let forged = format!("{} {} 1900000100", "A".repeat(43), next.get() + 2);
    set(&key, &forged);
    let late = store(&prefix, Some(&ring));
    assert_eq!(
        late.generation("erin"),
        Generation::ZERO,
        "the forgery is refused"
    );
    // A's next full load finds Redis holding a larger value it refuses, which the script would
    // keep over a write: writing it back would change nothing, and announcing a reload would
    // make every instance do the same, forever.
    let syncs = a.health().full_syncs;
    kill_subscriptions();
    eventually("A reloaded", || a.health().full_syncs > syncs);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        a.health().full_syncs <= syncs + 2 && late.health().full_syncs <= 3,
        "no reload storm: {:?} {:?}",
        a.health(),
        late.health()
    );
    assert_eq!(get(&key), Some(forged));
}

/// The payload of the next message on `prefix`'s channel that `act` makes an instance publish.
fn capture(prefix: &str, act: impl FnOnce()) -> Vec<u8> {
    let mut con = raw();
    let mut pubsub = con.as_pubsub();
    pubsub.subscribe(format!("{prefix}rev:events")).unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    act();
    pubsub.get_message().unwrap().get_payload_bytes().to_vec()
}

/// Issue 18: with authentication on, a reload message was constant, and one captured copy
/// replayed forever (each replay a full reload on every instance). Messages now carry a nonce
/// and their time under the tag: a copy played again, or a genuine message sent too long ago,
/// is refused and counted.
#[test]
fn a_replayed_or_stale_authenticated_message_is_refused_and_counted() {
    let _serial = serial();
    let prefix = fresh_prefix();
    let ring = ring();
    let (a, b) = (store(&prefix, Some(&ring)), store(&prefix, Some(&ring)));
    let first = SessionId::random().unwrap();
    let captured = capture(&prefix, || {
        a.revoke(
            Revocation::Session {
                id: first,
                subject: None,
                until: NOW.saturating_add_secs(60),
            },
            NOW,
        )
        .unwrap();
    });
    eventually("B has the genuine logout", || {
        b.is_revoked(first, None, NOW)
    });
    let refused = b.health().refused;
    for _ in 0..3 {
        publish_raw(&prefix, std::str::from_utf8(&captured).unwrap());
    }
    barrier(&a, &b);
    assert_eq!(b.health().refused, refused + 3, "{:?}", b.health());
    // A genuine instance, but its message sent two minutes before B's clock: stale.
    let behind = RedisRevocationStore::builder(redis_url())
        .prefix(&prefix)
        .clock(Arc::new(ManualClock::new(
            time::OffsetDateTime::from_unix_timestamp(1_900_000_000 - 120).unwrap(),
        )))
        .authenticate_with(&ring)
        .build()
        .unwrap();
    assert!(behind.wait_until_connected(Duration::from_secs(10)));
    let late = SessionId::random().unwrap();
    behind
        .revoke(
            Revocation::Session {
                id: late,
                subject: None,
                until: NOW.saturating_add_secs(60),
            },
            NOW.saturating_add_secs(0),
        )
        .unwrap();
    assert!(behind.flush(Duration::from_secs(5)));
    barrier(&a, &b);
    assert!(
        !b.is_revoked(late, None, NOW),
        "the stale message is not applied"
    );
    assert_eq!(b.health().refused, refused + 4, "{:?}", b.health());
    // It is in Redis all the same: the next full load brings it.
    assert!(store(&prefix, Some(&ring)).is_revoked(late, None, NOW));
}

/// Issue 18: what other instances push (here, anyone who can `PUBLISH` to a store without
/// authentication) is bounded apart from the room this instance's logouts need: a flood of
/// forged revocations fills its own room, and a logout here still succeeds.
#[test]
fn a_flood_of_revocations_from_elsewhere_cannot_make_a_logout_fail() {
    let _serial = serial();
    let prefix = fresh_prefix();
    let limits = sealed_session::revocation::RevocationLimits::new()
        .per_subject(4)
        .total(10)
        .remote_total(20);
    let build = || {
        let store = RedisRevocationStore::builder(redis_url())
            .prefix(&prefix)
            .clock(clock())
            .limits(limits)
            .unauthenticated()
            .build()
            .unwrap();
        assert!(store.wait_until_connected(Duration::from_secs(10)));
        store
    };
    let (a, b) = (build(), build());
    let stamp = Generation::at(NOW.to_datetime());
    for n in 0..300 {
        let id = SessionId::random().unwrap();
        let body = match n % 3 {
            0 => format!("i {id} 1900000100"),
            1 => format!("j {id} 1900000100 {stamp} alice"),
            _ => format!("j {id} 1900000100 {stamp} user-{n}"),
        };
        publish(&prefix, &body);
    }
    // A barrier through alice, whom B holds: a new anonymous marker would find B's room for
    // others' revocations full (the flood's doing).
    let cutoff = log_out_everywhere(&a, "alice");
    eventually("B has A's advance", || b.generation("alice") >= cutoff);
    let health = b.health();
    assert!(health.local_entries <= 20 + 1, "{health:?}");
    assert!(b.overflows() > 0);
    // B's own logouts have all their room: an anonymous session's (refused when full) and a
    // new subject's (which would raise the store-wide cutoff when full).
    let logout = |id, subject: Option<Subject>| {
        let recorded = b
            .revoke(
                Revocation::Session {
                    id,
                    subject,
                    until: NOW.saturating_add_secs(60),
                },
                NOW,
            )
            .unwrap();
        assert!(
            matches!(recorded, Some(Revocation::Session { .. })),
            "recorded as asked: {recorded:?}"
        );
    };
    let (mine, bobs) = (SessionId::random().unwrap(), SessionId::random().unwrap());
    logout(mine, None);
    let bob = signed_in(&b, "bob");
    logout(bobs, Some(bob.clone()));
    assert!(b.is_revoked(mine, None, NOW) && b.is_revoked(bobs, Some(&bob), NOW));
    assert!(b.flush(Duration::from_secs(5)));
    // On A, whose room for others' revocations the flood filled too, bob's logout still holds:
    // a new subject past that room raises the store-wide cutoff there (coarser, never weaker).
    eventually("A refuses bob's session", || {
        a.is_revoked(bobs, Some(&bob), NOW)
    });
}
