//! Memory per revoked session in `MemoryRevocationStore` (also the local copy of the Redis
//! store), counted by the global allocator. Its own binary with a single test, because the
//! counting allocator sees every allocation of the process.
//!
//! `cargo test -p sealed-session-tests --test revocation_memory -- --nocapture` prints the table
//! quoted in `docs/revocation.md`.

use std::alloc::System;

use sealed_session::{MemoryRevocationStore, RevocationStore, SessionId};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The budget: a million logouts in 64 MiB.
const MAX_BYTES_PER_ENTRY: usize = 64;

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

/// Bytes the allocator holds for a store of `n` revoked sessions (store included).
fn bytes_for(ids: &[SessionId]) -> usize {
    let region = Region::new(GLOBAL);
    let store = MemoryRevocationStore::new();
    for id in ids {
        store.revoke(*id, 2_000_000_000, 1_900_000_000);
    }
    let change = region.change();
    assert_eq!(store.len(), ids.len());
    let held = change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated;
    drop(store);
    usize::try_from(held).expect("the store holds memory")
}

#[test]
fn a_million_revoked_sessions_fit_in_64_mib() {
    let all = ids(1_000_000);
    println!("| revoked sessions | bytes held | bytes per session |");
    println!("|---:|---:|---:|");
    for n in [10_000, 100_000, 500_000, 1_000_000] {
        let bytes = bytes_for(&all[..n]);
        let per_entry = bytes as f64 / n as f64;
        println!("| {n} | {bytes} | {per_entry:.1} |");
        // Below ~100k the fixed cost of 256 cache-line-padded shards (32 KiB) weighs in.
        if n >= 100_000 {
            assert!(
                bytes <= n * MAX_BYTES_PER_ENTRY,
                "{n} revoked sessions take {per_entry:.1} bytes each, over the budget of \
                 {MAX_BYTES_PER_ENTRY}"
            );
        }
    }
}
