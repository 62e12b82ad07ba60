//! Memory per entry in `MemoryRevocationStore` (also the local copy of the Redis store), counted
//! by the global allocator: anonymous revoked sessions, subjects logged out everywhere, and
//! subjects with one revoked session; and what a flood of other instances' revocations
//! (`apply`) makes the store hold, per unit of `RevocationLimits::remote_total`. Its own binary
//! with a single test, because the counting allocator sees every allocation of the process.
//!
//! `cargo test -p sealed-session-tests --test revocation_memory -- --nocapture` prints the table
//! quoted in `docs/revocation.md`.

use std::alloc::System;

use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    Generation, MemoryRevocationStore, Revocation, RevocationStore, Subject,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

// The budgets are the figures measured at a million entries, rounded up to the next multiple
// of 8 bytes: on 2026-12-05, with `cargo test --release -p sealed-session-tests --test
// revocation_memory -- --nocapture` (and the same in a debug build), after issue 17 (a
// subject's entry holds its last authentication stamp, `issued`; a revoked session of a
// subject its 8-byte stamp, in a 28-byte item), a million took 44,109,824 bytes as anonymous
// sessions (44.1 each), 147,273,402 as subjects with a cutoff (147.3) and 175,273,402 as
// subjects with one revoked session (175.3). At 100,000 entries, where the 64 KiB of shards
// weigh more and the subjects' shards fill unevenly (their hasher is seeded at random), seven
// runs (five in release, two in debug) gave 28.2, 95.8 to 96.4 and 123.8 to 124.4 bytes each:
// within the budgets too. The million rows were the same to the byte in every run.

/// The budget for an anonymous revoked session (44.1 bytes measured): a million logouts in
/// about 46 MiB.
const MAX_BYTES_PER_ENTRY: usize = 48;
/// The budget for a subject (a user logged out within an absolute timeout), with one revoked
/// session or a cutoff (175.3 and 147.3 bytes measured): a million users in about 168 MiB.
const MAX_BYTES_PER_SUBJECT: usize = 176;

/// The budget for a unit of `RevocationLimits::remote_total`: at most about 167 bytes computed
/// from the figures above (a subject's entry with a 31-byte name), in `docs/revocation.md`,
/// "Capacity".
const MAX_BYTES_PER_REMOTE_UNIT: usize = 176;

const NOW: UnixTime = UnixTime::from_secs(1_900_000_000);
const UNTIL: UnixTime = UnixTime::from_secs(2_000_000_000);

/// Uniformly random ids without a system call each (splitmix64), like the ones we draw.
fn ids(n: usize) -> Vec<SessionId> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&next().to_le_bytes());
            bytes[8..].copy_from_slice(&next().to_le_bytes());
            SessionId::from_bytes(bytes)
        })
        .collect()
}

/// What one entry of the measured kind is.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// An anonymous session (with `revoke_anonymous_sessions`).
    Anonymous,
    /// A user logged out everywhere: a cutoff (a generation).
    Generation,
    /// A user with one revoked session.
    OneSession,
}

/// Bytes the allocator holds for a store of `ids.len()` entries of `kind` (store included).
fn bytes_for(ids: &[SessionId], kind: Kind) -> usize {
    let subjects: Vec<String> = match kind {
        Kind::Anonymous => Vec::new(),
        // User ids as applications use them: a short number-like string.
        _ => (0..ids.len()).map(|n| format!("user-{n}")).collect(),
    };
    let region = Region::new(GLOBAL);
    let store = MemoryRevocationStore::with_limits(
        sealed_session::revocation::RevocationLimits::new().total(4 * ids.len()),
    );
    for (n, id) in ids.iter().enumerate() {
        let revocation = match kind {
            Kind::Anonymous => Revocation::Session {
                id: *id,
                subject: None,
                until: UNTIL,
            },
            Kind::Generation => Revocation::Subject {
                subject: subjects[n].clone(),
                generation: Generation::new(1),
                until: UNTIL,
            },
            Kind::OneSession => Revocation::Session {
                id: *id,
                subject: Some(Subject::new(subjects[n].clone(), Generation::ZERO)),
                until: UNTIL,
            },
        };
        store.revoke(revocation, NOW).expect("within the limit");
    }
    let held = held(&region);
    // One entry each: a subject counts once against the total, whatever it revoked.
    assert_eq!(store.len(), ids.len());
    drop(store);
    held
}

/// Bytes allocated and not freed since `region` began. (stats_alloc counts a reallocation's
/// growth both in `bytes_allocated` and in `bytes_reallocated`: adding the latter would count
/// it twice.)
fn held(region: &Region<'_, System>) -> usize {
    let change = region.change();
    change
        .bytes_allocated
        .checked_sub(change.bytes_deallocated)
        .expect("the store holds memory")
}

/// What a flood of other instances' revocations pushes.
#[derive(Clone, Copy, Debug)]
enum Flood {
    /// Users logged out everywhere, with 31-byte names: the most bytes per unit.
    LongNames,
    /// Users with as many revoked ids as one user may hold from elsewhere (8 times
    /// `per_subject`): the flood the room once counted one per user.
    ManyIds,
}

/// Bytes the allocator holds for a store whose room for other instances' revocations is `room`
/// units, after twice that many are pushed through `apply`.
fn bytes_for_flood(ids: &[SessionId], room: usize, flood: Flood) -> usize {
    let region = Region::new(GLOBAL);
    let store = MemoryRevocationStore::with_limits(
        sealed_session::revocation::RevocationLimits::new().remote_total(room),
    );
    let mut ids = ids.iter().cycle();
    for n in 0..2 * room {
        match flood {
            Flood::LongNames => store.apply(
                &Revocation::Subject {
                    subject: format!("{n:0>31}"),
                    generation: Generation::new(1),
                    until: UNTIL,
                },
                NOW,
            ),
            Flood::ManyIds => {
                let subject = Subject::new(format!("user-{}", n / 256), Generation::new(1));
                store.apply(
                    &Revocation::Session {
                        id: *ids.next().expect("cycled"),
                        subject: Some(subject),
                        until: UNTIL,
                    },
                    NOW,
                );
            }
        }
    }
    let held = held(&region);
    assert!(store.remote_usage() <= room);
    assert!(store.overflows() > 0, "the flood went past the room");
    drop(store);
    held
}

#[test]
fn a_million_revoked_sessions_or_subjects_fit_their_budgets() {
    let all = ids(1_000_000);
    println!("| entries | kind | bytes held | bytes per entry |");
    println!("|---:|---|---:|---:|");
    for (kind, budget) in [
        (Kind::Anonymous, MAX_BYTES_PER_ENTRY),
        (Kind::Generation, MAX_BYTES_PER_SUBJECT),
        (Kind::OneSession, MAX_BYTES_PER_SUBJECT),
    ] {
        for n in [100_000, 1_000_000] {
            let bytes = bytes_for(&all[..n], kind);
            let per_entry = bytes as f64 / n as f64;
            println!("| {n} | {kind:?} | {bytes} | {per_entry:.1} |");
            // Below ~100k the fixed cost of 768 cache-line-padded shards (96 KiB) weighs in.
            assert!(
                bytes <= n * budget,
                "{n} entries of {kind:?} take {per_entry:.1} bytes each, over the budget of \
                 {budget}"
            );
        }
    }
    println!();
    println!("| remote_total | flood (twice the room) | bytes held | bytes per unit |");
    println!("|---:|---|---:|---:|");
    for flood in [Flood::LongNames, Flood::ManyIds] {
        for room in [100_000, 1_000_000] {
            let bytes = bytes_for_flood(&all, room, flood);
            let per_unit = bytes as f64 / room as f64;
            println!("| {room} | {flood:?} | {bytes} | {per_unit:.1} |");
            assert!(
                bytes <= room * MAX_BYTES_PER_REMOTE_UNIT,
                "a flood of {flood:?} takes {per_unit:.1} bytes per unit of the room, over the \
                 budget of {MAX_BYTES_PER_REMOTE_UNIT}"
            );
        }
    }
}
