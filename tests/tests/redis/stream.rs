//! The stream `<prefix>rev:log` itself, against the run's redis-server: invariant 9 of
//! docs/security.md ("The shared log keeps what a live cookie needs, and every instance reads
//! all of it"). The retention the append script keeps, a trim that reaches a reader's
//! position (nothing lost: it reads on), and a lost suffix (a failover to a replica that
//! lagged), which an instance that read it writes back.
//!
//! Needs `REDIS_URL`: run with `scripts/test.sh` (or `scripts/with-redis.sh cargo test ...`).

use std::time::Duration;

use sealed_session::SessionId;
use sealed_session::revocation::RevocationStore;
use sealed_session_redis::RedisRevocationStore;
use sealed_session_test_support::redis_url;

use crate::{eventually, knows, log_out_everywhere, logout, now, raw, stream_entries};

/// A namespace of its own for each test, so that tests share one Redis safely.
fn fresh_prefix() -> String {
    format!("test:{}:", SessionId::random().unwrap())
}

/// A store on the run's Redis under `prefix`, on the real clock, checking for losses every
/// 100 ms; connected and loaded.
fn store(prefix: &str) -> RedisRevocationStore {
    store_checking_every(prefix, Duration::from_millis(100))
}

fn store_checking_every(prefix: &str, interval: Duration) -> RedisRevocationStore {
    let store = RedisRevocationStore::builder(redis_url())
        .prefix(prefix)
        .reconcile_every(interval)
        .unauthenticated()
        .build()
        .unwrap();
    assert!(store.wait_until_connected(Duration::from_secs(10)));
    store
}

/// Appends an entry with a given id (one Redis would have given then), `k` junk, `v` `value`.
fn append_with_id(con: &mut redis::Connection, stream: &str, id: &str, value: &str) {
    let _: String = redis::cmd("XADD")
        .arg(stream)
        .arg(id)
        .arg("k")
        .arg("junk")
        .arg("v")
        .arg(value)
        .query(con)
        .unwrap();
}

#[test]
fn the_retention_covers_the_longest_entry_and_trims_only_what_is_older() {
    const DAY: u64 = 86_400;
    let prefix = fresh_prefix();
    let mut con = raw();
    let stream = format!("{prefix}rev:log");
    let retention = format!("{prefix}rev:retention");
    // Entries appended 30 days ago (three of Redis's macro nodes of 100), and an hour ago.
    let millis = |secs: u64| secs * 1_000;
    for n in 0..300 {
        let id = format!("{}-{n}", millis(now().secs() - 30 * DAY));
        append_with_id(&mut con, &stream, &id, "old");
    }
    for n in 0..10 {
        let id = format!("{}-{n}", millis(now().secs() - 3_600));
        append_with_id(&mut con, &stream, &id, "recent");
    }
    let store = store(&prefix);
    logout(&store, now().saturating_add_secs(DAY));
    let longest = 3 * DAY;
    logout(&store, now().saturating_add_secs(longest));
    let (held, kept_until) = crate::retention(&mut con, &prefix).unwrap();
    let (redis_now, _micros): (u64, u64) = redis::cmd("TIME").query(&mut con).unwrap();
    // The longest remaining lifetime plus the clock margin, kept at least that long.
    assert!(held >= longest + 3_600 - 5, "{held}");
    assert!(held <= longest + 3_600 + 5, "{held}");
    assert!(
        kept_until >= redis_now + longest + 3_600 - 5,
        "{kept_until}"
    );
    // A shorter entry lowers neither.
    logout(&store, now().saturating_add_secs(60));
    assert_eq!(
        crate::retention(&mut con, &prefix),
        Some((held, kept_until))
    );
    // No expiry of its own: an eviction policy for keys with one never picks it.
    let ttl: i64 = redis::cmd("TTL").arg(&retention).query(&mut con).unwrap();
    assert_eq!(ttl, -1);
    // The 30-day-old entries were trimmed (whole nodes: all of them here), the recent ones
    // and the store's own are kept.
    let values: Vec<String> = stream_entries(&mut con, &prefix)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert!(
        !values.iter().any(|v| v == "old"),
        "{} entries",
        values.len()
    );
    assert_eq!(values.iter().filter(|v| *v == "recent").count(), 10);
    assert_eq!(values.len(), 13, "{values:?}");
}

#[test]
fn a_reader_whose_position_was_trimmed_reads_on_without_a_write_back() {
    let prefix = fresh_prefix();
    let writer = store(&prefix);
    let reader = store(&prefix);
    log_out_everywhere(&writer, "alice");
    eventually("the reader read it", || knows(&reader, "alice"));
    // Everything trimmed, the reader's position included: nothing was lost.
    let mut con = raw();
    let _: u64 = redis::cmd("XTRIM")
        .arg(format!("{prefix}rev:log"))
        .arg("MAXLEN")
        .arg(0)
        .query(&mut con)
        .unwrap();
    // Several loss checks later (every 100 ms), and a new entry read.
    std::thread::sleep(Duration::from_millis(500));
    log_out_everywhere(&writer, "bob");
    eventually("the reader reads on", || knows(&reader, "bob"));
    for store in [&writer, &reader] {
        let health = store.health();
        assert_eq!(health.full_syncs, 1, "no read from the start: {health:?}");
        assert_eq!(health.repair_writes, 0, "{health:?}");
    }
    assert_eq!(
        stream_entries(&mut con, &prefix).len(),
        1,
        "bob's entry only: nothing written back"
    );
}

/// Keeps the first entry of the stream and loses the rest, as a failover to a replica that
/// had only that one would: the stream is there, with what came before the loss.
fn lose_all_but_the_first_entry(con: &mut redis::Connection, prefix: &str) {
    let stream = format!("{prefix}rev:log");
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query(con)
        .unwrap();
    assert!(entries.len() > 1);
    let _: u64 = redis::cmd("DEL").arg(&stream).query(con).unwrap();
    let (id, fields) = &entries[0];
    let mut xadd = redis::cmd("XADD");
    xadd.arg(&stream).arg(id);
    for (field, value) in fields {
        xadd.arg(field).arg(value);
    }
    let _: String = xadd.query(con).unwrap();
}

/// The loss found by the check (the stream quiet): the instances' last entries are gone, and
/// no trim took them.
#[test]
fn a_lost_suffix_is_written_back_by_the_instances_that_read_it() {
    let prefix = fresh_prefix();
    let writer = store(&prefix);
    let reader = store(&prefix);
    log_out_everywhere(&writer, "carol");
    log_out_everywhere(&writer, "dave");
    let kept = logout(&writer, now().saturating_add_secs(600));
    eventually("the reader read all three", || {
        knows(&reader, "dave") && reader.is_revoked(kept, None, now())
    });
    let mut con = raw();
    lose_all_but_the_first_entry(&mut con, &prefix);
    // Both instances see the loss and write back what they hold; both read from the start.
    eventually("written back", || {
        let fresh = stream_entries(&mut con, &prefix);
        fresh.iter().any(|(k, _)| k.ends_with("rev:sub:dave"))
            && fresh
                .iter()
                .any(|(k, _)| k.ends_with(&format!("rev:id:{kept}")))
    });
    eventually("both read the stream again", || {
        writer.health().full_syncs == 2 && reader.health().full_syncs == 2
    });
    let fresh = store(&prefix);
    assert!(knows(&fresh, "carol") && knows(&fresh, "dave"));
    assert!(fresh.is_revoked(kept, None, now()));
}

/// The loss found by the ordinals, before any check could run: right after the suffix is lost,
/// another instance appends, and the readers read on past their old positions. The new entry's
/// ordinal is below theirs: the stream was rewound.
#[test]
fn a_rewound_stream_that_took_new_entries_is_written_back() {
    let prefix = fresh_prefix();
    let hour = Duration::from_secs(3_600);
    // No periodic check within the test: only the ordinals can tell.
    let writer = store_checking_every(&prefix, hour);
    let reader = store_checking_every(&prefix, hour);
    log_out_everywhere(&writer, "carol");
    log_out_everywhere(&writer, "dave");
    log_out_everywhere(&writer, "erin");
    eventually("the reader read all three", || knows(&reader, "erin"));
    let mut con = raw();
    lose_all_but_the_first_entry(&mut con, &prefix);
    let other = store_checking_every(&prefix, hour);
    assert!(knows(&other, "carol") && !knows(&other, "dave"));
    log_out_everywhere(&other, "frank");
    eventually("both saw the rewind and wrote back", || {
        let names: Vec<String> = stream_entries(&mut con, &prefix)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        ["dave", "erin"].iter().all(|who| {
            names
                .iter()
                .filter(|k| k.ends_with(&format!("rev:sub:{who}")))
                .count()
                >= 2
        })
    });
    eventually("the third instance reads what was written back", || {
        knows(&other, "dave") && knows(&other, "erin")
    });
    assert!(knows(&reader, "frank") && knows(&writer, "frank"));
    let fresh = store(&prefix);
    for who in ["carol", "dave", "erin", "frank"] {
        assert!(knows(&fresh, who), "{who}");
    }
}

/// The ordinal is not under the tag: anyone who can write to Redis can append an entry with a
/// made-up one, low or high. That is no loss (the entries read before it are all still
/// there), so nothing is written back and nothing is read again; the genuine entries after it
/// are read as usual.
#[test]
fn a_made_up_ordinal_appended_by_someone_else_is_no_loss() {
    let prefix = fresh_prefix();
    let hour = Duration::from_secs(3_600);
    let writer = store_checking_every(&prefix, hour);
    let reader = store_checking_every(&prefix, hour);
    log_out_everywhere(&writer, "alice");
    log_out_everywhere(&writer, "bob");
    eventually("the reader read both", || knows(&reader, "bob"));
    let mut con = raw();
    let stream = format!("{prefix}rev:log");
    for ordinal in ["1", "18446744073709551615", "0", "2"] {
        let _: String = redis::cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("k")
            .arg("junk")
            .arg("v")
            .arg("junk")
            .arg("n")
            .arg(ordinal)
            .query(&mut con)
            .unwrap();
        log_out_everywhere(&writer, &format!("after-{ordinal}"));
    }
    eventually("the reader read on", || knows(&reader, "after-2"));
    let length = stream_entries(&mut con, &prefix).len();
    assert_eq!(length, 10, "nothing written back");
    for store in [&writer, &reader] {
        let health = store.health();
        assert_eq!(health.full_syncs, 1, "no read from the start: {health:?}");
        assert_eq!(health.repair_writes, 0, "{health:?}");
    }
}
