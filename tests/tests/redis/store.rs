//! The Redis revocation store on its own, against a real redis-server (no mock: the point is
//! how Redis behaves): what each revocation appends to the stream `<prefix>rev:log` (its name and
//! value, under a retention that covers its deadline), what other instances see, loads, the
//! write-back of what Redis lost, and how cutoffs merge across instances (the larger wins, when
//! read). Only the store's public API and raw Redis commands; the store's server-free unit tests
//! stay in its crate. The store behind real HTTP is in `sharing.rs` and `faults.rs`.
//!
//! Needs `REDIS_URL`: run with `scripts/test.sh` (or `scripts/with-redis.sh cargo test ...`).
//! Without it these tests fail, saying so; they never skip.

use std::sync::Arc;
use std::time::Duration;

use crate::{eventually, eventually_within, raw};
use sealed_session::clock::ManualClock;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    Cutoff, Generation, KeptSession, Revocation, RevocationLimits, RevocationStore, Subject,
};
use sealed_session::{RevokeError, SessionId};
use sealed_session_redis::{RedisRevocationStore, RedisStoreBuilder};
use sealed_session_test_support::redis_url;

/// A namespace of its own for each test, so that tests share one Redis safely.
fn fresh_prefix() -> String {
    format!("test:{}:", SessionId::random().unwrap())
}

/// The stores' clock, at [`NOW`]: what they read from Redis is bounded by it (issue 9). It is
/// ahead of Redis's clock, which the writer's retention counts from: the retention is then only
/// longer.
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW.to_datetime()))
}

/// A store's settings on the run's Redis under `prefix`, on [`clock`].
fn builder(prefix: &str) -> RedisStoreBuilder {
    RedisRevocationStore::builder(redis_url())
        .prefix(prefix)
        .clock(clock())
}

/// The store `builder` makes, connected and loaded.
fn connected(builder: RedisStoreBuilder) -> RedisRevocationStore {
    let store = builder.build().unwrap();
    assert!(store.wait_until_connected(Duration::from_secs(10)));
    store
}

/// A store on the run's Redis under `prefix`, connected and loaded.
fn store(prefix: &str) -> RedisRevocationStore {
    connected(builder(prefix))
}

/// How often the stores of the tests that wait for a write-back check for lost data (5 s by
/// default).
const RECONCILE: Duration = Duration::from_millis(200);

/// Asserts that the stream's retention (`<prefix>rev:retention`: its value, in seconds, and its
/// expiry) keeps an entry with deadline `until` from now (Redis's clock) to `until`.
fn assert_retention_covers(con: &mut redis::Connection, prefix: &str, until: UnixTime) {
    let (now, _micros): (u64, u64) = redis::cmd("TIME").query(con).unwrap();
    let left = until.secs().saturating_sub(now);
    assert!(left > 0, "a deadline still ahead of Redis's clock");
    let (kept, kept_until) = crate::retention(con, prefix).expect("a retention is set");
    assert!(
        kept >= left,
        "the stream keeps entries {kept} s, {left} s needed until {until}"
    );
    assert!(
        kept_until >= until.secs(),
        "the retention is kept until {kept_until}, {until} needed"
    );
}

/// What a Redis that lost the test's data looks like (a flush, a restart without persistence):
/// the stream and its retention gone.
fn lose_stream(con: &mut redis::Connection, prefix: &str) {
    let deleted: usize = redis::cmd("DEL")
        .arg(format!("{prefix}rev:log"))
        .arg(format!("{prefix}rev:retention"))
        .query(con)
        .unwrap();
    assert_eq!(deleted, 2, "the stream and its retention were there");
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
fn revocations_reach_the_stream_with_their_deadline_and_the_other_instance() {
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

    // One entry per revocation, in the order made: its name, and its value, deadline first.
    let mut con = raw();
    assert_eq!(
        crate::stream_entries(&mut con, &prefix),
        [
            (format!("{prefix}rev:id:{id}"), t(100).to_string()),
            (
                format!("{prefix}rev:id:{theirs}"),
                format!("{} {} alice smith", t(200), alice.generation())
            ),
        ]
    );
    // No expiry per entry: the stream keeps each until its deadline at least.
    for until in [t(100), t(200)] {
        assert_retention_covers(&mut con, &prefix, until);
    }
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
    // Both land in the stream, each as its instance recorded it: nothing merges in Redis.
    let name = format!("{prefix}rev:sub:bob");
    let mut appended: Vec<String> = crate::stream_entries(&mut raw(), &prefix)
        .into_iter()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .collect();
    appended.sort();
    let mut recorded = vec![format!("{gb} {}", t(200)), format!("{ga} {}", t(300))];
    recorded.sort();
    assert_eq!(appended, recorded);
    // Every reader keeps the larger, in whichever order it read them: both instances, and one
    // that started since.
    let late = store(&prefix);
    for store in [&a, &b, &late] {
        eventually("the copies converge", || store.generation("bob") == larger);
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

/// Two entries for one subject's cutoff, each holding part of the answer: a reader keeps the
/// larger generation and, apart from it, the later deadline (`MemoryRevocationStore::apply`),
/// whichever it reads last. The other writer's entries are appended after this instance's, so
/// a reader that kept the last (or the first) it read gets a case wrong. Checked on a fresh
/// instance's copy: its cutoffs, and the entries it writes back once Redis lost the stream,
/// which are its copy's, deadline included.
#[test]
fn a_subject_cutoff_read_from_the_stream_keeps_the_larger_generation_and_the_later_deadline() {
    // A sign-in's stamp now: within what every reader believes (issue 9).
    let big = Generation::at(NOW.to_datetime()).get();
    let cases = [
        // (appended by another writer, revoked here, held by every reader)
        ((big, t(100)), (big - 1, t(300)), (big, t(300))),
        ((big, t(300)), (9, t(200)), (big, t(300))),
        ((big, t(300)), (big + 2, t(50)), (big + 2, t(300))),
        ((big - 1, t(100)), (big, t(100)), (big, t(100))),
    ];
    let subject = |case: usize| format!("erin {case}");
    let prefix = fresh_prefix();
    let name = |case: usize| format!("{prefix}rev:sub:{}", subject(case));
    let here = store(&prefix);
    let mut con = raw();
    for (case, (_, (generation, until), _)) in cases.iter().enumerate() {
        let recorded = here
            .revoke(
                Revocation::Subject {
                    subject: subject(case),
                    generation: Generation::new(*generation),
                    until: *until,
                },
                NOW,
            )
            .unwrap();
        assert!(recorded.is_some(), "new to this instance, so appended");
    }
    assert!(here.flush(Duration::from_secs(5)));
    for (case, (_, (generation, until), _)) in cases.iter().enumerate() {
        assert_eq!(
            crate::last_value(&mut con, &prefix, &name(case)),
            Some(format!("{generation} {until}")),
            "appended as recorded"
        );
    }
    for (case, ((generation, until), ..)) in cases.iter().enumerate() {
        crate::append(
            &mut con,
            &prefix,
            &name(case),
            &format!("{generation} {until}"),
        );
    }
    let late = connected(builder(&prefix).reconcile_every(RECONCILE));
    for (case, (.., (generation, _))) in cases.iter().enumerate() {
        let generation = Generation::new(*generation);
        eventually("this instance reads the other writer's entry", || {
            here.generation(&subject(case)) == generation
        });
        assert_eq!(late.generation(&subject(case)), generation, "case {case}");
    }
    // The stream lost, the fresh instance alone (this one stopped) writes back what its copy
    // holds: each subject's cutoff once, as merged.
    drop(here);
    lose_stream(&mut con, &prefix);
    eventually_within(
        "the fresh instance writes its copy back",
        Duration::from_secs(10),
        || crate::stream_entries(&mut con, &prefix).len() >= cases.len(),
    );
    let mut written_back = crate::stream_entries(&mut con, &prefix);
    written_back.sort();
    let mut merged: Vec<(String, String)> = cases
        .iter()
        .enumerate()
        .map(|(case, (.., (generation, until)))| (name(case), format!("{generation} {until}")))
        .collect();
    merged.sort();
    assert_eq!(written_back, merged);
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
    let a = connected(builder(&prefix).limits(RevocationLimits::new().per_subject(2)));
    let b = store(&prefix);
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
    // The first two listed, then the fold in place of the third, whose id is never listed.
    let listed = |id: SessionId| {
        (
            format!("{prefix}rev:id:{id}"),
            format!("{} {} grace", t(100), grace.generation()),
        )
    };
    assert_eq!(
        crate::stream_entries(&mut raw(), &prefix),
        [
            listed(ids[0]),
            listed(ids[1]),
            (
                format!("{prefix}rev:sub:grace"),
                format!("{generation} {}", t(100))
            ),
        ]
    );
}

#[test]
fn past_the_total_limit_the_store_wide_cutoff_reaches_redis_and_the_other_instance() {
    // Room for one subject: a signed-in session's revocation of another subject raises the
    // store-wide cutoff instead of failing, appended to the stream as `rev:all`.
    let prefix = fresh_prefix();
    let a = connected(builder(&prefix).limits(RevocationLimits::new().total(1)));
    let b = store(&prefix);
    let (heidi, ivan, judy) = (
        signed_in(&a, "heidi"),
        signed_in(&a, "ivan"),
        signed_in(&a, "judy"),
    );
    let session = |id: SessionId, subject: &Subject| Revocation::Session {
        id,
        subject: Some(subject.clone()),
        until: t(100),
    };
    let heidis = SessionId::random().unwrap();
    let recorded = a.revoke(session(heidis, &heidi), NOW).unwrap();
    assert!(
        matches!(recorded, Some(Revocation::Session { .. })),
        "{recorded:?}"
    );
    let recorded = a
        .revoke(session(SessionId::random().unwrap(), &ivan), NOW)
        .unwrap();
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
    let mut con = raw();
    assert_eq!(
        crate::stream_entries(&mut con, &prefix),
        [
            (
                format!("{prefix}rev:id:{heidis}"),
                format!("{} {} heidi", t(100), heidi.generation())
            ),
            (
                format!("{prefix}rev:all"),
                format!("{generation} {}", t(100))
            ),
        ]
    );
    assert_retention_covers(&mut con, &prefix, t(100));
    let late = store(&prefix);
    assert_eq!(late.generation("someone else"), generation);
    assert!(late.is_revoked(any, Some(&judy), NOW));
}

/// An instance whose room for other instances' revocations overflows raises a store-wide cutoff
/// on its own copy only: a write-back (after Redis lost data) appends what Redis lacks, and
/// must not append that cutoff as `rev:all`, a logout of every signed-in user of the fleet
/// (from the attacker review of issue 18: it did).
#[test]
fn a_store_wide_cutoff_raised_for_other_instances_revocations_never_reaches_redis() {
    let prefix = fresh_prefix();
    let a = store(&prefix);
    let b = connected(
        builder(&prefix)
            .limits(RevocationLimits::new().remote_total(1))
            .reconcile_every(RECONCILE),
    );
    let judy = signed_in(&a, "judy");
    let any = SessionId::random().unwrap();
    // Two users log out everywhere on A: B holds the first in its room, and raises its own
    // store-wide cutoff for the second.
    let x = cutoff_of(a.advance("x", everything(NOW), t(100), NOW).unwrap());
    let y = cutoff_of(a.advance("y", everything(NOW), t(100), NOW).unwrap());
    assert!(a.flush(Duration::from_secs(5)));
    eventually("B overflowed into its own store-wide cutoff", || {
        b.generation("someone else") >= y
    });
    assert_eq!(b.generation("x"), x, "held in B's room");
    assert!(b.is_revoked(any, Some(&judy), NOW), "coarser on B");
    assert!(!a.is_revoked(any, Some(&judy), NOW), "never on A");
    // Redis loses the stream with B the only instance left: B writes back what it holds.
    drop(a);
    let mut con = raw();
    let syncs = b.health().full_syncs;
    lose_stream(&mut con, &prefix);
    eventually_within(
        "B writes back and reads again",
        Duration::from_secs(10),
        || {
            let health = b.health();
            !crate::stream_entries(&mut con, &prefix).is_empty()
                && health.full_syncs > syncs
                && health.pending_writes == 0
                && health.repair_writes == 0
        },
    );
    assert!(b.flush(Duration::from_secs(5)));
    let written_back = crate::stream_entries(&mut con, &prefix);
    let everyone = format!("{prefix}rev:all");
    assert!(
        !written_back.iter().any(|(k, _)| *k == everyone),
        "{written_back:?}"
    );
    assert_eq!(
        written_back,
        [(format!("{prefix}rev:sub:x"), format!("{x} {}", t(100)))],
        "x's cutoff, which B holds, and nothing else"
    );
    // An instance that knows only Redis refuses what B wrote back, and nothing more.
    let late = store(&prefix);
    assert_eq!(late.generation("x"), x);
    assert_eq!(late.generation("someone else"), Generation::ZERO);
    assert!(!late.is_revoked(any, Some(&judy), NOW));
}

#[test]
fn entries_redis_lost_are_written_back_from_the_local_copies() {
    let prefix = fresh_prefix();
    let (a, b) = (
        connected(builder(&prefix).reconcile_every(RECONCILE)),
        connected(builder(&prefix).reconcile_every(RECONCILE)),
    );
    let id = SessionId::random().unwrap();
    a.revoke(anonymous(id, t(100)), NOW).unwrap();
    let before = signed_in(&a, "carol");
    let generation = cutoff_of(a.advance("carol", everything(NOW), t(100), NOW).unwrap());
    assert!(a.flush(Duration::from_secs(5)));
    eventually("B has them", || {
        b.is_revoked(id, None, NOW) && b.generation("carol") == generation
    });
    let mut con = raw();
    lose_stream(&mut con, &prefix);
    // Nobody revokes anything again: what comes back is written back from the copies.
    let entries = [
        (format!("{prefix}rev:id:{id}"), t(100).to_string()),
        (
            format!("{prefix}rev:sub:carol"),
            format!("{generation} {}", t(100)),
        ),
    ];
    eventually_within(
        "the entries are back in the stream",
        Duration::from_secs(10),
        || {
            let held = crate::stream_entries(&mut con, &prefix);
            entries.iter().all(|entry| held.contains(entry))
        },
    );
    assert!(a.flush(Duration::from_secs(5)) && b.flush(Duration::from_secs(5)));
    let held = crate::stream_entries(&mut con, &prefix);
    assert!(held.iter().all(|entry| entries.contains(entry)), "{held:?}");
    let late = store(&prefix);
    assert!(late.is_revoked(id, None, NOW));
    assert!(late.is_revoked(id, Some(&before), NOW));
    assert_eq!(late.generation("carol"), generation);
}
