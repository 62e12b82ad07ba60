//! The Redis revocation store on its own, against a real redis-server (no mock: the point is
//! how Redis behaves): what reaches Redis and with which expiry, what other instances see,
//! loads, repairs, and the keep-the-larger rules across instances. Only the store's public API
//! and raw Redis commands; the store's server-free unit tests stay in its crate. The store
//! behind real HTTP is `redis.rs`.
//!
//! Needs `REDIS_URL`: run with `scripts/test.sh` (or `scripts/with-redis.sh cargo test ...`).
//! Without it these tests fail, saying so; they never skip.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealed_session::clock::ManualClock;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    Cutoff, Generation, KeptSession, Revocation, RevocationLimits, RevocationStore, Subject,
};
use sealed_session::{RevokeError, SessionId};
use sealed_session_redis::RedisRevocationStore;
use sealed_session_test_support::redis_url;

/// A namespace of its own for each test, so that tests share one Redis safely.
fn fresh_prefix() -> String {
    format!("test:{}:", SessionId::random().unwrap())
}

/// The stores' clock, at [`NOW`]: what they read from Redis is bounded by it (issue 9).
fn clock() -> Arc<ManualClock> {
    clock_at(1_900_000_000)
}

fn clock_at(unix_secs: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        time::OffsetDateTime::from_unix_timestamp(unix_secs).unwrap(),
    ))
}

/// A store on the run's Redis under `prefix`, connected and loaded.
fn store(prefix: &str) -> RedisRevocationStore {
    store_at(prefix, clock())
}

fn store_at(prefix: &str, clock: Arc<ManualClock>) -> RedisRevocationStore {
    let store = RedisRevocationStore::builder(redis_url())
        .prefix(prefix)
        .clock(clock)
        .build()
        .unwrap();
    assert!(store.wait_until_connected(Duration::from_secs(10)));
    store
}

/// A plain connection, to look at (and change) what the store wrote.
fn raw() -> redis::Connection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Polls (bounded) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "not within 5 s: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

const NOW: UnixTime = UnixTime::from_secs(1_900_000_000);

fn t(secs_after_now: u64) -> UnixTime {
    NOW.saturating_add_secs(secs_after_now)
}

fn anonymous(id: SessionId, until: UnixTime) -> Revocation {
    Revocation::Session {
        id,
        subject: None,
        until,
    }
}

fn get(key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(&mut raw()).unwrap()
}

/// A kept session (a fresh id) carrying `generation`.
fn kept_by(generation: Generation) -> KeptSession {
    KeptSession::new(SessionId::random().unwrap(), generation)
}

/// A session of `subject` signed in at `NOW` on `store`: stamped above the cutoff it knows.
fn signed_in(store: &RedisRevocationStore, subject: &str) -> Subject {
    let stamp = Generation::authenticated_at(NOW.to_datetime(), store.generation(subject));
    Subject::new(subject, stamp)
}

/// "Log out everywhere" at `at`, with a minute's clock skew allowance.
fn everything(at: UnixTime) -> Cutoff {
    Cutoff::Everything {
        above: Generation::everywhere_at(at.to_datetime(), time::Duration::minutes(1)),
    }
}

/// The cutoff a store recorded for a subject (a log-out-everywhere, a sign-out-others, a fold).
fn cutoff_of(recorded: Option<Revocation>) -> Generation {
    match recorded {
        Some(Revocation::Subject { generation, .. }) => generation,
        other => panic!("a subject's cutoff was to be recorded: {other:?}"),
    }
}

#[test]
fn revocations_reach_redis_with_their_expiry_and_the_other_instance() {
    let prefix = fresh_prefix();
    let (a, b) = (store(&prefix), store(&prefix));
    let id = SessionId::random().unwrap();
    a.revoke(anonymous(id, t(100)), NOW).unwrap();
    assert!(a.is_revoked(id, None, NOW), "at once where it was made");
    eventually("B sees A's logout", || b.is_revoked(id, None, NOW));
    // A session of a subject travels with its subject and authentication stamp.
    let alice = signed_in(&a, "alice smith");
    let theirs = SessionId::random().unwrap();
    a.revoke(
        Revocation::Session {
            id: theirs,
            subject: Some(alice.clone()),
            until: t(200),
        },
        NOW,
    )
    .unwrap();
    eventually("B sees A's logout of a subject's session", || {
        b.is_revoked(theirs, Some(&alice), NOW)
    });
    assert!(!b.is_revoked(id, Some(&alice), NOW), "only that session");
    assert!(a.flush(Duration::from_secs(5)));

    let mut con = raw();
    let key = format!("{prefix}rev:id:{id}");
    assert_eq!(get(&key), Some(t(100).to_string()));
    let expire_at: u64 = redis::cmd("EXPIRETIME").arg(&key).query(&mut con).unwrap();
    assert_eq!(expire_at, t(100).secs());
    let key = format!("{prefix}rev:id:{theirs}");
    assert_eq!(
        get(&key),
        Some(format!("{} {} alice smith", t(200), alice.generation()))
    );
    let expire_at: u64 = redis::cmd("EXPIRETIME").arg(&key).query(&mut con).unwrap();
    assert_eq!(expire_at, t(200).secs());
}

#[test]
fn a_new_instance_loads_what_was_revoked_before_it_started() {
    let prefix = fresh_prefix();
    let a = store(&prefix);
    let ids: Vec<SessionId> = (0..2_500).map(|_| SessionId::random().unwrap()).collect();
    for id in &ids {
        a.revoke(anonymous(*id, t(100)), NOW).unwrap();
    }
    let before = signed_in(&a, "alice smith");
    let generation = cutoff_of(
        a.advance("alice smith", everything(NOW), t(100), NOW)
            .unwrap(),
    );
    assert_eq!(a.generation("alice smith"), generation);
    let bob = signed_in(&a, "bob");
    let bobs = SessionId::random().unwrap();
    a.revoke(
        Revocation::Session {
            id: bobs,
            subject: Some(bob.clone()),
            until: t(100),
        },
        NOW,
    )
    .unwrap();
    assert!(a.flush(Duration::from_secs(10)));
    let late = store(&prefix);
    assert!(ids.iter().all(|id| late.is_revoked(*id, None, NOW)));
    assert_eq!(late.generation("alice smith"), generation);
    assert!(late.is_revoked(ids[0], Some(&before), NOW));
    // A sign-in after the log-out-everywhere is stamped above the cutoff the new instance
    // loaded, and works there.
    let after = signed_in(&late, "alice smith");
    assert!(after.generation() > generation);
    assert!(!late.is_revoked(ids[0], Some(&after), NOW));
    assert!(late.is_revoked(bobs, Some(&bob), NOW));
    assert!(!late.is_revoked(ids[0], Some(&bob), NOW));
    // 2,500 sessions, alice, and bob (a subject is one entry, whatever sessions it revoked).
    assert_eq!(late.health().local_entries, 2_502);
    assert!(late.health().full_syncs >= 1);
}

#[test]
fn concurrent_logouts_everywhere_keep_the_larger_generation() {
    let prefix = fresh_prefix();
    let (a, b) = (store(&prefix), store(&prefix));
    let stale = signed_in(&a, "bob");
    let gb = cutoff_of(b.advance("bob", everything(t(50)), t(200), t(50)).unwrap());
    let ga = cutoff_of(a.advance("bob", everything(t(10)), t(300), t(10)).unwrap());
    let larger = ga.max(gb);
    assert!(a.flush(Duration::from_secs(5)) && b.flush(Duration::from_secs(5)));
    assert_eq!(
        get(&format!("{prefix}rev:sub:bob")),
        Some(format!("{larger} {}", t(300)))
    );
    for store in [&a, &b] {
        eventually("both copies converge", || store.generation("bob") == larger);
        assert!(store.is_revoked(SessionId::random().unwrap(), Some(&stale), NOW));
        let smaller = Subject::new("bob", ga.min(gb));
        assert_eq!(
            store.is_revoked(SessionId::random().unwrap(), Some(&smaller), NOW),
            ga != gb
        );
        // A session stamped at the cutoff itself is not below it: in force.
        let current = Subject::new("bob", larger);
        assert!(!store.is_revoked(SessionId::random().unwrap(), Some(&current), NOW));
    }
}

#[test]
fn the_subject_entry_keeps_the_larger_generation_and_deadline_exactly() {
    // What the writer's keep-the-larger script leaves in Redis when the key already holds
    // something this instance never saw: another instance's write that has not reached it.
    // Each case seeds the key behind the store's back (no message, after its full load), then
    // has the store record a subject revocation of its own. Past 2^53, where Lua's doubles
    // would round `big` and `big - 1` to one value, only a comparison of the digits is exact.
    // Generations that large are made from the year 2112 on: the store's clock is set there,
    // or the script would replace them as beyond what any instance's clock can make.
    let big = (1u64 << 53) + 1;
    let cases = [
        // (in Redis before, revoked here, in Redis after)
        (
            format!("{big} {}", t(100)),
            (big - 1, t(300)),
            format!("{big} {}", t(300)),
        ),
        (
            format!("{big} {}", t(300)),
            (9, t(200)),
            format!("{big} {}", t(300)),
        ),
        (
            format!("{big} {}", t(300)),
            (u64::MAX, t(50)),
            format!("{} {}", u64::MAX, t(300)),
        ),
        (
            format!("{} {}", big - 1, t(100)),
            (big, t(100)),
            format!("{big} {}", t(100)),
        ),
    ];
    for (before, (generation, until), after) in cases {
        let prefix = fresh_prefix();
        let store = store_at(&prefix, clock_at(4_600_000_000));
        let key = format!("{prefix}rev:sub:erin");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(&before)
            .query(&mut raw())
            .unwrap();
        let recorded = store
            .revoke(
                Revocation::Subject {
                    subject: "erin".into(),
                    generation: Generation::new(generation),
                    until,
                },
                NOW,
            )
            .unwrap();
        assert!(recorded.is_some(), "new to this instance, so written");
        assert!(store.flush(Duration::from_secs(5)));
        assert_eq!(
            get(&key),
            Some(after.clone()),
            "{before} + {generation} {until}"
        );
        let expire_at: u64 = redis::cmd("EXPIRETIME")
            .arg(&key)
            .query(&mut raw())
            .unwrap();
        let deadline = after.split_once(' ').unwrap().1;
        assert_eq!(
            expire_at.to_string(),
            deadline,
            "expires at the later deadline"
        );
    }
}

#[test]
fn a_sign_out_others_from_a_session_logged_out_elsewhere_is_superseded() {
    let prefix = fresh_prefix();
    let (a, b) = (store(&prefix), store(&prefix));
    let older = signed_in(&b, "dave");
    let everywhere = cutoff_of(a.advance("dave", everything(NOW), t(300), NOW).unwrap());
    eventually("A's log-out-everywhere reaches B", || {
        b.generation("dave") == everywhere
    });
    assert_eq!(
        b.advance(
            "dave",
            Cutoff::OlderThan(kept_by(older.generation())),
            t(300),
            NOW
        ),
        Err(RevokeError::Superseded {
            current: everywhere
        })
    );
    assert_eq!(b.generation("dave"), everywhere, "nothing recorded");
    // From a session signed in since, it goes through: the cutoff rises to that session's
    // stamp (ending only sessions authenticated before it), and reaches A.
    let fresh = signed_in(&b, "dave");
    assert!(fresh.generation() > everywhere);
    let kept = cutoff_of(
        b.advance(
            "dave",
            Cutoff::OlderThan(kept_by(fresh.generation())),
            t(300),
            NOW,
        )
        .unwrap(),
    );
    assert_eq!(kept, fresh.generation());
    eventually("B's sign-out-others reaches A", || {
        a.generation("dave") == kept
    });
    assert!(!a.is_revoked(SessionId::random().unwrap(), Some(&fresh), NOW));
}

#[test]
fn a_sign_out_others_racing_a_logout_everywhere_keeps_nothing_older() {
    // A logs out everywhere (its clock 10 s ahead); B, at once, signs out the other
    // sessions of one authenticated before it. Either B already saw A's cutoff and its
    // sign-out-others is superseded, or both went through and the larger cutoff, A's, wins
    // everywhere: the kept session is refused either way.
    let prefix = fresh_prefix();
    let (a, b) = (store(&prefix), store(&prefix));
    let older = signed_in(&b, "frank");
    let everywhere = cutoff_of(
        a.advance("frank", everything(t(10)), t(300), t(10))
            .unwrap(),
    );
    let kept = Cutoff::OlderThan(kept_by(older.generation()));
    match b.advance("frank", kept, t(300), NOW) {
        Err(RevokeError::Superseded { current }) => assert_eq!(current, everywhere),
        Ok(recorded) => {
            let kept = cutoff_of(recorded);
            assert_eq!(kept, older.generation());
            assert!(kept < everywhere);
            assert!(a.flush(Duration::from_secs(5)) && b.flush(Duration::from_secs(5)));
            let kept = Subject::new("frank", kept);
            for store in [&a, &b] {
                eventually("the larger generation wins", || {
                    store.generation("frank") == everywhere
                });
                assert!(store.is_revoked(SessionId::random().unwrap(), Some(&kept), NOW));
            }
        }
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn past_the_per_subject_limit_the_fold_reaches_the_other_instance() {
    let prefix = fresh_prefix();
    let a = RedisRevocationStore::builder(redis_url())
        .prefix(&prefix)
        .clock(clock())
        .limits(RevocationLimits::new().per_subject(2))
        .build()
        .unwrap();
    let b = store(&prefix);
    assert!(a.wait_until_connected(Duration::from_secs(10)));
    let grace = signed_in(&a, "grace");
    let ids: Vec<SessionId> = (0..3).map(|_| SessionId::random().unwrap()).collect();
    let mut recorded = Vec::new();
    for id in &ids {
        let revocation = Revocation::Session {
            id: *id,
            subject: Some(grace.clone()),
            until: t(100),
        };
        recorded.push(a.revoke(revocation, NOW).unwrap());
    }
    // The third folds into the subject's cutoff, just above the sessions' stamp.
    let Some(Some(Revocation::Subject { generation, .. })) = recorded.last() else {
        panic!("the third folds into the subject's cutoff: {recorded:?}");
    };
    assert!(*generation > grace.generation());
    eventually("B has the fold", || b.generation("grace") == *generation);
    assert!(ids.iter().all(|id| b.is_revoked(*id, Some(&grace), NOW)));
    assert!(a.flush(Duration::from_secs(5)));
    assert_eq!(
        get(&format!("{prefix}rev:sub:grace")),
        Some(format!("{generation} {}", t(100)))
    );
}

#[test]
fn past_the_total_limit_the_store_wide_cutoff_reaches_redis_and_the_other_instance() {
    // Room for one subject: a signed-in session's revocation of another subject raises the
    // store-wide cutoff instead of failing, kept in Redis under `rev:all`.
    let prefix = fresh_prefix();
    let a = RedisRevocationStore::builder(redis_url())
        .prefix(&prefix)
        .clock(clock())
        .limits(RevocationLimits::new().total(1))
        .build()
        .unwrap();
    let b = store(&prefix);
    assert!(a.wait_until_connected(Duration::from_secs(10)));
    let (heidi, ivan, judy) = (
        signed_in(&a, "heidi"),
        signed_in(&a, "ivan"),
        signed_in(&a, "judy"),
    );
    let session = |subject: &Subject| Revocation::Session {
        id: SessionId::random().unwrap(),
        subject: Some(subject.clone()),
        until: t(100),
    };
    let recorded = a.revoke(session(&heidi), NOW).unwrap();
    assert!(
        matches!(recorded, Some(Revocation::Session { .. })),
        "{recorded:?}"
    );
    let recorded = a.revoke(session(&ivan), NOW).unwrap();
    let Some(Revocation::Everyone { generation, .. }) = recorded else {
        panic!("the store is full: the store-wide cutoff rises instead: {recorded:?}");
    };
    assert!(generation > ivan.generation());
    assert_eq!(a.overflows(), 1);
    let any = SessionId::random().unwrap();
    eventually("B has the store-wide cutoff", || {
        b.generation("judy") == generation
    });
    for store in [&a, &b] {
        assert!(store.is_revoked(any, Some(&ivan), NOW));
        assert!(
            store.is_revoked(any, Some(&judy), NOW),
            "coarser: every subject"
        );
        let after = signed_in(store, "judy");
        assert!(
            !store.is_revoked(any, Some(&after), NOW),
            "a sign-in after it works"
        );
    }
    assert!(a.flush(Duration::from_secs(5)));
    let key = format!("{prefix}rev:all");
    assert_eq!(get(&key), Some(format!("{generation} {}", t(100))));
    let expire_at: u64 = redis::cmd("EXPIRETIME")
        .arg(&key)
        .query(&mut raw())
        .unwrap();
    assert_eq!(expire_at, t(100).secs());
    let late = store(&prefix);
    assert_eq!(late.generation("someone else"), generation);
    assert!(late.is_revoked(any, Some(&judy), NOW));
}

/// An instance whose room for other instances' revocations overflows raises a store-wide cutoff
/// on its own copy only: a repair (after Redis lost data) writes back what Redis lacks, and
/// must not write that cutoff as `rev:all`, a logout of every signed-in user of the fleet (from
/// the attacker review of issue 18: it did).
#[test]
fn a_store_wide_cutoff_raised_for_other_instances_revocations_never_reaches_redis() {
    let prefix = fresh_prefix();
    let a = store(&prefix);
    let b = RedisRevocationStore::builder(redis_url())
        .prefix(&prefix)
        .clock(clock())
        .limits(RevocationLimits::new().remote_total(1))
        .build()
        .unwrap();
    assert!(b.wait_until_loaded(Duration::from_secs(10)));
    let judy = signed_in(&a, "judy");
    let any = SessionId::random().unwrap();
    // Two users log out everywhere on A: B holds the first in its room, and raises its own
    // store-wide cutoff for the second.
    cutoff_of(a.advance("x", everything(NOW), t(100), NOW).unwrap());
    let y = cutoff_of(a.advance("y", everything(NOW), t(100), NOW).unwrap());
    assert!(a.flush(Duration::from_secs(5)));
    eventually("B overflowed into its own store-wide cutoff", || {
        b.generation("someone else") >= y
    });
    assert!(b.is_revoked(any, Some(&judy), NOW), "coarser on B");
    assert!(!a.is_revoked(any, Some(&judy), NOW), "never on A");
    // Redis loses the two cutoffs; the instances reload and repair.
    let mut con = raw();
    let keys = [format!("{prefix}rev:sub:x"), format!("{prefix}rev:sub:y")];
    let _: () = redis::cmd("DEL").arg(&keys).query(&mut con).unwrap();
    let syncs = b.health().full_syncs;
    let _: () = redis::cmd("PUBLISH")
        .arg(format!("{prefix}rev:events"))
        .arg(format!("2 {} {NOW} r", SessionId::random().unwrap())) // v2, untagged
        .query(&mut con)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health = b.health();
        let n: usize = redis::cmd("EXISTS").arg(&keys).query(&mut con).unwrap();
        if n == 2
            && health.full_syncs > syncs
            && health.pending_writes == 0
            && health.repair_writes == 0
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no repair within 10 s: {health:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(b.flush(Duration::from_secs(5)));
    assert_eq!(get(&format!("{prefix}rev:all")), None);
    // An instance that knows only Redis refuses what was revoked, and nothing more.
    let late = store(&prefix);
    assert!(late.wait_until_loaded(Duration::from_secs(10)));
    assert_eq!(late.generation("y"), y);
    assert!(!late.is_revoked(any, Some(&judy), NOW));
}

#[test]
fn entries_redis_lost_are_written_back_from_the_local_copies() {
    let prefix = fresh_prefix();
    let (a, b) = (store(&prefix), store(&prefix));
    let id = SessionId::random().unwrap();
    a.revoke(anonymous(id, t(100)), NOW).unwrap();
    let before = signed_in(&a, "carol");
    let generation = cutoff_of(a.advance("carol", everything(NOW), t(100), NOW).unwrap());
    assert!(a.flush(Duration::from_secs(5)));
    eventually("B has them", || {
        b.is_revoked(id, None, NOW) && b.generation("carol") == generation
    });
    let mut con = raw();
    let keys = [
        format!("{prefix}rev:id:{id}"),
        format!("{prefix}rev:sub:carol"),
    ];
    let _: () = redis::cmd("DEL").arg(&keys).query(&mut con).unwrap();
    // What a Redis that lost data looks like to the instances once they reload: announce a
    // reload as a repairing instance would.
    let _: () = redis::cmd("PUBLISH")
        .arg(format!("{prefix}rev:events"))
        .arg(format!("2 {} {NOW} r", SessionId::random().unwrap())) // v2, untagged
        .query(&mut con)
        .unwrap();
    eventually("the entries are back in Redis", || {
        let n: usize = redis::cmd("EXISTS").arg(&keys).query(&mut con).unwrap();
        n == 2
    });
    assert_eq!(get(&keys[1]), Some(format!("{generation} {}", t(100))));
    let late = store(&prefix);
    assert!(late.is_revoked(id, None, NOW));
    assert!(late.is_revoked(id, Some(&before), NOW));
    assert_eq!(late.generation("carol"), generation);
}
