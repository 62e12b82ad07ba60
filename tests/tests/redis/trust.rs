//! What someone who can write to Redis can do to the store, against a real redis-server
//! (issue 9, point 7: <https://github.com/sealed-session/sealed-session/issues/9>), by appending
//! entries to the stream `<prefix>rev:log` as any other writer could: entries out of range are
//! refused and counted whatever the settings; with `authenticate_with`, so are entries without
//! a tag that a key of the ring made for that name and value (untagged, forged, another
//! application's, altered, or moved from another name), and a refusal makes no instance write
//! anything back; an entry appended again is the same revocation and changes nothing; and
//! without authentication, a flood of forged entries can't make a logout fail. Public API and
//! raw Redis commands (`XADD`, `XRANGE`) only.
//!
//! Needs `REDIS_URL`: run with `scripts/test.sh` (or `scripts/with-redis.sh cargo test ...`).
//! Without it these tests fail, saying so; they never skip.

use std::sync::Arc;
use std::time::Duration;

use crate::{eventually, raw};
use sealed_session::clock::ManualClock;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Cutoff, Generation, Revocation, RevocationStore, Subject};
use sealed_session::{KeyRing, SecretKey, SessionId};
use sealed_session_redis::{RedisRevocationStore, RedisStoreBuilder};
use sealed_session_test_support::redis_url;

const NOW: UnixTime = UnixTime::from_secs(1_900_000_000);

fn fresh_prefix() -> String {
    format!("test:{}:", SessionId::random().unwrap())
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        time::OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
    ))
}

/// A builder under `prefix` at [`NOW`], authenticated with `ring` if given.
fn builder(prefix: &str, ring: Option<&KeyRing>) -> RedisStoreBuilder {
    let builder = RedisRevocationStore::builder(redis_url())
        .prefix(prefix)
        .clock(clock());
    match ring {
        Some(ring) => builder.authenticate_with(ring),
        None => builder,
    }
}

/// Builds, and waits until connected: the stream is read up to its end as it was at start.
fn connected(builder: RedisStoreBuilder) -> RedisRevocationStore {
    let store = builder.build().unwrap();
    assert!(store.wait_until_connected(Duration::from_secs(10)));
    store
}

/// A store under `prefix` at [`NOW`], authenticated with `ring` if given, connected.
fn store(prefix: &str, ring: Option<&KeyRing>) -> RedisRevocationStore {
    connected(builder(prefix, ring))
}

/// Makes a genuine logout through `from` and waits until `to` has it: `to` reads the stream in
/// order, so it has read every entry appended before it.
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

/// Issue 9: one forged cutoff of a `u64::MAX` generation (and a deadline in 2106) refused every
/// session of its subject, for good. Appended to the stream while instances run, such entries
/// are refused and counted by those instances and by one started afterwards, which reads them
/// from the start; the subject's sessions stay valid, and "log out everywhere" still works.
#[test]
fn a_forged_entry_of_a_huge_generation_does_not_lock_the_user_out() {
    let prefix = fresh_prefix();
    let (a, b) = (store(&prefix, None), store(&prefix, None));
    let alice = signed_in(&b, "alice");
    let session = SessionId::random().unwrap();
    let mut con = raw();
    let cutoff = format!("{prefix}rev:sub:alice");
    crate::append(
        &mut con,
        &prefix,
        &cutoff,
        &format!("{} {}", u64::MAX, u32::MAX),
    );
    crate::append(
        &mut con,
        &prefix,
        &format!("{prefix}rev:id:{}", SessionId::random().unwrap()),
        &format!("{} {} alice", u32::MAX, u64::MAX),
    );
    // Far in the future, within no clock skew of ours (two skew allowances ahead, plus more
    // than the hour's margin the bounds allow for cutoffs raised step by step).
    let two_days_ahead = Generation::at(
        NOW.saturating_add_secs(2 * 86_400 + 3_600 + 120)
            .to_datetime(),
    );
    crate::append(
        &mut con,
        &prefix,
        &cutoff,
        &format!("{two_days_ahead} 1900000100"),
    );
    // A small generation, kept past the longest session.
    crate::append(&mut con, &prefix, &cutoff, "5 4000000000");
    barrier(&a, &b);
    let late = store(&prefix, None);
    for (name, instance) in [("B", &b), ("the late instance", &late)] {
        assert!(
            !instance.is_revoked(session, Some(&alice), NOW),
            "{name}: alice is not locked out"
        );
        assert_eq!(instance.generation("alice"), Generation::ZERO, "{name}");
        assert_eq!(
            instance.health().refused,
            4,
            "{name}: {:?}",
            instance.health()
        );
    }
    // And "log out everywhere" still works afterwards, everywhere.
    let next = log_out_everywhere(&a, "alice");
    eventually("B and the late instance have the genuine advance", || {
        b.generation("alice") == next && late.generation("alice") == next
    });
    assert!(b.is_revoked(session, Some(&alice), NOW));
    assert!(late.is_revoked(session, Some(&alice), NOW));
    // A sign-in afterwards works.
    let again = signed_in(&b, "alice");
    assert!(again.generation() > next);
    assert!(!b.is_revoked(session, Some(&again), NOW));
}

/// A forged cutoff of a `u64::MAX` generation in the stream before any instance starts: the
/// first read refuses it, and a genuine "log out everywhere" appended after it is what
/// instances hold. Readers merge cutoffs by the larger, so the forgery, had it been believed,
/// would have won over it; it stays in the stream, refused by every reader.
#[test]
fn a_forged_entry_of_a_huge_generation_is_refused_at_start_and_a_genuine_one_after_it_holds() {
    let prefix = fresh_prefix();
    let mut con = raw();
    let name = format!("{prefix}rev:sub:bob");
    let forged = format!("{} {}", u64::MAX, u32::MAX);
    crate::append(&mut con, &prefix, &name, &forged);
    let a = store(&prefix, None);
    assert_eq!(
        a.generation("bob"),
        Generation::ZERO,
        "refused at the first read"
    );
    assert_eq!(a.health().refused, 1, "{:?}", a.health());
    let next = log_out_everywhere(&a, "bob");
    assert!(a.flush(Duration::from_secs(5)));
    assert_eq!(
        crate::stream_entries(&mut con, &prefix),
        [
            (name.clone(), forged),
            (name.clone(), format!("{next} 1900000100"))
        ],
        "appended after the forgery, which stays"
    );
    assert_eq!(
        crate::last_value(&mut con, &prefix, &name),
        Some(format!("{next} 1900000100"))
    );
    let late = store(&prefix, None);
    assert_eq!(late.generation("bob"), next);
    assert_eq!(late.health().refused, 1, "{:?}", late.health());
}

/// With authentication, an entry is believed only with a valid tag, bound to its name: entries
/// without a tag, with a tag no key of the ring made (a forged one, another application's), a
/// genuine tag over another body, or a genuine tagged value moved to another name, are refused
/// and counted, by running instances and by one started afterwards alike.
#[test]
fn with_authentication_untagged_mistagged_and_moved_entries_are_refused() {
    let prefix = fresh_prefix();
    let ring = ring();
    let (a, b) = (store(&prefix, Some(&ring)), store(&prefix, Some(&ring)));
    let mut con = raw();
    let carol = Subject::new("carol", Generation::ZERO);
    let session = SessionId::random().unwrap();
    let session_name = format!("{prefix}rev:id:{session}");
    // Forged entries, in range: untagged, ...
    crate::append(&mut con, &prefix, &session_name, "1900000100");
    let g = Generation::at(NOW.to_datetime());
    crate::append(
        &mut con,
        &prefix,
        &format!("{prefix}rev:sub:carol"),
        &format!("{g} 1900000100"),
    );
    // ... with a tag of the right form that no key made, ...
    crate::append(
        &mut con,
        &prefix,
        &session_name,
        &format!("{} 1900000100", "A".repeat(43)),
    );
    // ... and tagged with another ring's key (an instance of another application).
    let stranger = store(&prefix, Some(&self::ring()));
    log_out_everywhere(&stranger, "carol");
    assert!(stranger.flush(Duration::from_secs(5)));
    barrier(&a, &b);
    assert!(!b.is_revoked(session, None, NOW), "forged logout refused");
    assert!(
        !b.is_revoked(session, Some(&carol), NOW),
        "forged advance refused"
    );
    assert_eq!(b.generation("carol"), Generation::ZERO);
    assert_eq!(b.health().refused, 4, "{:?}", b.health());
    // Genuine entries, then their tags reused in Redis.
    let genuine = SessionId::random().unwrap();
    // Stamped above frank's cutoff below, which then refuses none of dave's sessions when moved
    // to the store-wide name: each check at the end tells one forgery.
    let dave = Subject::new(
        "dave",
        Generation::at(NOW.saturating_add_secs(600).to_datetime()),
    );
    a.revoke(
        Revocation::Session {
            id: genuine,
            subject: Some(dave.clone()),
            until: NOW.saturating_add_secs(100),
        },
        NOW,
    )
    .unwrap();
    let frank = log_out_everywhere(&a, "frank");
    assert!(a.flush(Duration::from_secs(5)));
    let genuine_name = format!("{prefix}rev:id:{genuine}");
    let value = crate::last_value(&mut con, &prefix, &genuine_name).unwrap();
    let (tag, body) = value.split_once(' ').unwrap();
    assert_eq!(body, format!("1900000100 {} dave", dave.generation()));
    // Moved onto another session's name: would revoke it (a session of dave's, like the
    // genuine one).
    let victim = SessionId::random().unwrap();
    crate::append(
        &mut con,
        &prefix,
        &format!("{prefix}rev:id:{victim}"),
        &value,
    );
    // Tampered: a later deadline under the genuine tag.
    crate::append(
        &mut con,
        &prefix,
        &genuine_name,
        &format!("{tag} 1900000200 {} dave", dave.generation()),
    );
    // A subject's cutoff moved to the store-wide name: would refuse every subject's sessions
    // stamped below it.
    let frank_value =
        crate::last_value(&mut con, &prefix, &format!("{prefix}rev:sub:frank")).unwrap();
    assert_eq!(
        frank_value.split_once(' ').unwrap().1,
        format!("{frank} 1900000100")
    );
    crate::append(&mut con, &prefix, &format!("{prefix}rev:all"), &frank_value);
    barrier(&a, &b);
    let late = store(&prefix, Some(&ring));
    // Signed in at NOW, before anything: below frank's cutoff.
    let early = |subject| {
        Subject::new(
            subject,
            Generation::authenticated_at(NOW.to_datetime(), Generation::ZERO),
        )
    };
    let other = SessionId::random().unwrap();
    for (name, instance) in [("B", &b), ("the late instance", &late)] {
        assert!(
            instance.is_revoked(genuine, Some(&dave), NOW),
            "{name}: the genuine logout holds"
        );
        assert!(
            !instance.is_revoked(genuine, Some(&dave), NOW.saturating_add_secs(150)),
            "{name}: the tampered deadline is refused"
        );
        assert!(
            !instance.is_revoked(victim, Some(&dave), NOW),
            "{name}: the moved value is refused"
        );
        assert!(
            instance.is_revoked(other, Some(&early("frank")), NOW),
            "{name}: frank's genuine cutoff holds"
        );
        assert!(
            !instance.is_revoked(other, Some(&early("grace")), NOW),
            "{name}: the cutoff moved to the store-wide name is refused"
        );
        assert_eq!(
            instance.health().refused,
            7,
            "{name}: {:?}",
            instance.health()
        );
    }
}

/// With authentication, a forged cutoff of a subject larger than the genuine one (a bad tag,
/// in range) is refused and counted, by the instance that wrote the genuine one and by one
/// started afterwards, which hold the genuine cutoff; and no refusal makes either write
/// anything back or read the stream again, however many checks of the stream they run.
#[test]
fn with_authentication_a_forged_subject_entry_is_refused_and_nothing_is_written_back() {
    let prefix = fresh_prefix();
    let ring = ring();
    // The stream is checked for losses every 50 ms: a check that wrongly found one would write
    // everything back while this test watches.
    let checking =
        || connected(builder(&prefix, Some(&ring)).reconcile_every(Duration::from_millis(50)));
    let a = checking();
    let next = log_out_everywhere(&a, "erin");
    assert!(a.flush(Duration::from_secs(5)));
    let name = format!("{prefix}rev:sub:erin");
    let forged = format!("{} {} 1900000100", "A".repeat(43), next.get() + 2);
    let mut con = raw();
    crate::append(&mut con, &prefix, &name, &forged);
    let entries = crate::stream_entries(&mut con, &prefix);
    assert_eq!(entries.len(), 2, "{entries:?}");
    eventually("A refuses the forgery", || a.health().refused == 1);
    let late = checking();
    assert_eq!(late.generation("erin"), next, "the forgery is refused");
    assert_eq!(a.generation("erin"), next);
    std::thread::sleep(Duration::from_secs(1));
    for (who, instance) in [("A", &a), ("the late instance", &late)] {
        let health = instance.health();
        assert_eq!(health.refused, 1, "{who}: {health:?}");
        assert_eq!(health.full_syncs, 1, "{who}: read once, {health:?}");
        assert_eq!(health.repair_writes, 0, "{who}: {health:?}");
    }
    assert_eq!(
        crate::stream_entries(&mut con, &prefix),
        entries,
        "nothing written back"
    );
}

/// Issue 18: a captured authenticated message, played again, made every instance reload
/// everything. An entry appended again is the same revocation: a copy of a genuine "log out
/// everywhere", appended after a session signed in past it, leaves that session valid, is not
/// refused (its tag is genuine), and makes no instance read the stream again.
#[test]
fn a_replayed_authenticated_entry_changes_nothing() {
    let prefix = fresh_prefix();
    let ring = ring();
    let (a, b) = (store(&prefix, Some(&ring)), store(&prefix, Some(&ring)));
    let cutoff = log_out_everywhere(&a, "alice");
    assert!(a.flush(Duration::from_secs(5)));
    eventually("B has the genuine advance", || {
        b.generation("alice") == cutoff
    });
    let mut con = raw();
    let name = format!("{prefix}rev:sub:alice");
    let captured = crate::last_value(&mut con, &prefix, &name).unwrap();
    let again = signed_in(&b, "alice");
    assert!(again.generation() > cutoff, "signed in after the log-out");
    let session = SessionId::random().unwrap();
    let before = (a.health(), b.health());
    for _ in 0..3 {
        crate::append(&mut con, &prefix, &name, &captured);
    }
    barrier(&a, &b);
    let copies = crate::stream_entries(&mut con, &prefix)
        .into_iter()
        .filter(|entry| *entry == (name.clone(), captured.clone()))
        .count();
    assert_eq!(copies, 4, "the original and three copies");
    let late = store(&prefix, Some(&ring));
    for (who, instance, before) in [
        ("A", &a, Some(&before.0)),
        ("B", &b, Some(&before.1)),
        ("the late instance", &late, None),
    ] {
        assert!(
            !instance.is_revoked(session, Some(&again), NOW),
            "{who}: the session signed in after the original stays valid"
        );
        assert!(
            instance.is_revoked(session, Some(&Subject::new("alice", Generation::ZERO)), NOW),
            "{who}: the log-out holds"
        );
        assert_eq!(instance.generation("alice"), cutoff, "{who}");
        let health = instance.health();
        assert_eq!(health.refused, 0, "{who}: {health:?}");
        assert_eq!(health.repair_writes, 0, "{who}: {health:?}");
        let syncs = before.map_or(1, |before| before.full_syncs);
        assert_eq!(health.full_syncs, syncs, "{who}: no reload, {health:?}");
    }
}

/// Issue 18: what other instances append (here, anyone who can `XADD` to the stream of a store
/// without authentication) is bounded apart from the room this instance's logouts need: a
/// flood of forged revocations fills its own room, and a logout here still succeeds.
#[test]
fn a_flood_of_revocations_from_elsewhere_cannot_make_a_logout_fail() {
    let prefix = fresh_prefix();
    let limits = sealed_session::revocation::RevocationLimits::new()
        .per_subject(4)
        .total(10)
        .remote_total(20);
    let build = || connected(builder(&prefix, None).limits(limits).unauthenticated());
    let (a, b) = (build(), build());
    let stamp = Generation::at(NOW.to_datetime());
    let mut con = raw();
    for n in 0..300 {
        let name = format!("{prefix}rev:id:{}", SessionId::random().unwrap());
        let value = match n % 3 {
            0 => "1900000100".to_owned(),
            1 => format!("1900000100 {stamp} alice"),
            _ => format!("1900000100 {stamp} user-{n}"),
        };
        crate::append(&mut con, &prefix, &name, &value);
    }
    // A barrier through alice, whom B holds: a new anonymous marker would find B's room for
    // others' revocations full (the flood's doing).
    let cutoff = log_out_everywhere(&a, "alice");
    eventually("B has A's advance", || b.generation("alice") >= cutoff);
    let health = b.health();
    assert!(health.local_entries <= 20 + 1, "{health:?}");
    assert_eq!(
        health.refused, 0,
        "in range and untagged: believed, {health:?}"
    );
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
