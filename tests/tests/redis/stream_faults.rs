//! The stream under faults and foreign writers (invariant 9 of docs/security.md), found by an
//! attacker's and an operator's review: a write-back Redis refuses, a loss while an instance
//! reads the stream from its start, a probe that fails, a rewind found twice, and a writer
//! lowering the stream's count. Through the public API and raw Redis commands only; a fresh
//! prefix on the run's Redis, or a private redis-server where a test makes Redis run out of
//! memory or changes its users.
//!
//! Needs `REDIS_URL` and `REDIS_SERVER_BIN`: run with `scripts/test.sh` (or
//! `scripts/with-redis.sh cargo test ...`).

use std::time::Duration;

use sealed_session::SessionId;
use sealed_session_redis::{RedisRevocationStore, RedisStoreBuilder};
use sealed_session_test_support::redis_url;
use sealed_session_tests::RedisServer;

use crate::{append, eventually_within, holds, knows, log_out_everywhere, logout, now, raw};

fn fresh_prefix() -> String {
    format!("test:{}:", SessionId::random().unwrap())
}

fn builder(url: &str, prefix: &str) -> RedisStoreBuilder {
    RedisRevocationStore::builder(url)
        .prefix(prefix)
        .unauthenticated()
        .reconcile_every(Duration::from_millis(100))
        .max_backoff(Duration::from_millis(100))
        .shutdown_timeout(Duration::from_millis(500))
}

fn connected(builder: RedisStoreBuilder) -> RedisRevocationStore {
    let store = builder.build().unwrap();
    assert!(store.wait_until_connected(Duration::from_secs(10)));
    store
}

fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query::<()>(con)
        .unwrap();
}

fn last_generated_id(con: &mut redis::Connection, stream: &str) -> String {
    eval(
        "local info = redis.call('XINFO', 'STREAM', KEYS[1])
         for i = 1, #info, 2 do
           if info[i] == 'last-generated-id' then return info[i + 1] end
         end",
    )
    .arg(stream)
    .query(con)
    .unwrap()
}

fn xlen(con: &mut redis::Connection, stream: &str) -> u64 {
    redis::cmd("XLEN").arg(stream).query(con).unwrap()
}

/// `EVAL <script> 1 <key> ...`: the key and the arguments follow with `.arg`.
fn eval(script: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(1);
    cmd
}

/// A write-back that Redis refuses (out of memory here) is asked for again: once Redis takes
/// writes, the logout it had lost is back in the stream, written by the running instance that
/// holds it. (A refused write-back was dropped before, and the logout stayed lost.)
#[test]
fn a_refused_write_back_is_tried_again() {
    let server = RedisServer::start();
    let url = server.url();
    let mut con = server.connection();
    let prefix = "sealed-session:";
    let store = connected(builder(&url, prefix));
    let id = logout(&store, now().saturating_add_secs(3_600));
    let name = format!("{prefix}rev:id:{id}");
    assert!(holds(&mut con, prefix, &name));
    // Redis out of memory (noeviction): writes are refused; DEL still works.
    config_set(&mut con, "maxmemory", "1");
    // Redis loses the stream (as a FLUSHDB or an empty restart would).
    let _: u64 = redis::cmd("DEL")
        .arg(format!("{prefix}rev:log"))
        .arg(format!("{prefix}rev:retention"))
        .query(&mut con)
        .unwrap();
    eventually_within(
        "the loss is seen and its write-back refused",
        Duration::from_secs(10),
        || {
            let h = store.health();
            h.full_syncs >= 2 && h.command_errors > 0 && h.repair_writes == 0
        },
    );
    // Memory back, as after any refused write.
    config_set(&mut con, "maxmemory", "0");
    eventually_within(
        "the logout Redis lost is written back by the running instance that holds it",
        Duration::from_secs(10),
        || holds(&mut con, prefix, &name),
    );
}

/// A stream lost while an instance reads it from its start, and appended to by others before
/// its next check, is found (by the ordinals, which are looked at during a full read too), and
/// what only that instance holds (an entry it read, its own confirmed logout) is written back.
#[test]
fn a_loss_during_a_full_read_is_written_back() {
    let prefix = fresh_prefix();
    let stream = format!("{prefix}rev:log");
    let url = redis_url();
    let mut con = raw();
    {
        // An instance, stopped since, logged alice out everywhere.
        let a = connected(builder(&url, &prefix));
        log_out_everywhere(&a, "alice");
    }
    // Then many logouts (as instances append them, with their ordinals): a read from the start
    // takes several pages.
    let until = now().saturating_add_secs(3_600).secs();
    let _: () = eval(
        "local info = redis.call('XINFO', 'STREAM', KEYS[1])
         local added = 0
         for i = 1, #info, 2 do if info[i] == 'entries-added' then added = info[i + 1] end end
         for i = 1, tonumber(ARGV[3]) do
           added = added + 1
           redis.call('XADD', KEYS[1], '*', 'k', ARGV[1] .. string.format('%032x', i),
             'v', ARGV[2], 'n', string.format('%d', added))
         end",
    )
    .arg(&stream)
    .arg(format!("{prefix}rev:id:"))
    .arg(until.to_string())
    .arg(150_000)
    .query(&mut con)
    .unwrap();
    let b = builder(&url, &prefix)
        .startup_wait(Duration::ZERO)
        .build()
        .unwrap();
    eventually_within("b read alice", Duration::from_secs(10), || {
        knows(&b, "alice")
    });
    // b's own logout, confirmed while it reads.
    let mine = logout(&b, now().saturating_add_secs(3_600));
    assert_eq!(
        b.health().full_syncs,
        0,
        "inconclusive: b finished its first read before the loss"
    );
    // Redis loses the stream, and other instances append as many entries as it had counted
    // (their write-backs, their logouts) before b's next check: atomically here.
    let _: () = eval(
        "local info = redis.call('XINFO', 'STREAM', KEYS[1])
         local added = 0
         for i = 1, #info, 2 do if info[i] == 'entries-added' then added = info[i + 1] end end
         redis.call('DEL', KEYS[1])
         for i = 1, added + 1 do
           redis.call('XADD', KEYS[1], '*', 'k', 'other', 'v', 'x', 'n', string.format('%d', i))
         end",
    )
    .arg(&stream)
    .query(&mut con)
    .unwrap();
    eventually_within("b caught up", Duration::from_secs(30), || {
        b.health().full_syncs >= 1
    });
    let alice = format!("{prefix}rev:sub:alice");
    let own = format!("{prefix}rev:id:{mine}");
    eventually_within(
        "b wrote back alice's cutoff and its own logout",
        Duration::from_secs(60),
        || holds(&mut con, &prefix, &alice) && holds(&mut con, &prefix, &own),
    );
}

/// `XSETID ... ENTRIESADDED` (a command a Redis writer has) lowers the stream's count without
/// losing anything: no instance takes it for a loss, writes its copy back or reads again.
#[test]
fn lowering_entries_added_makes_no_instance_write_back() {
    let prefix = fresh_prefix();
    let stream = format!("{prefix}rev:log");
    let a = connected(builder(&redis_url(), &prefix));
    for _ in 0..5 {
        logout(&a, now().saturating_add_secs(3_600));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut con = raw();
    // The writer: one entry appended and deleted (XDEL), then the count set to the length.
    let junk = append(&mut con, &prefix, "junk", "junk");
    let _: u64 = redis::cmd("XDEL")
        .arg(&stream)
        .arg(&junk)
        .query(&mut con)
        .unwrap();
    let length = xlen(&mut con, &stream);
    let last = last_generated_id(&mut con, &stream);
    std::thread::sleep(Duration::from_millis(300));
    let before = (xlen(&mut con, &stream), a.health().full_syncs);
    let _: () = redis::cmd("XSETID")
        .arg(&stream)
        .arg(&last)
        .arg("ENTRIESADDED")
        .arg(length)
        .query(&mut con)
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let after = (xlen(&mut con, &stream), a.health().full_syncs);
    assert_eq!(
        before, after,
        "(stream length, full reads): one XSETID made the instance write its copy back"
    );
}

/// The entries read just before a suspect ordinal are probed again after a reconnect when the
/// probe failed (here: `EVAL` refused for a second, in the same transaction as the rewind, so
/// that the failure lands exactly there; a timeout or a broken link does the same): the rewind
/// is still found, and what was lost written back.
#[test]
fn a_rewind_whose_probe_fails_is_still_found() {
    let server = RedisServer::start();
    let url = server.url();
    let prefix = "sealed-session:";
    let stream = format!("{prefix}rev:log");
    let b = connected(
        // The default interval between checks (5 s), so that the reader waits in `XREAD`.
        builder(&url, prefix).reconcile_every(Duration::from_secs(5)),
    );
    for who in ["alice", "bob", "carol"] {
        log_out_everywhere(&b, who);
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut con = server.connection();
    // Redis loses the stream and other instances append to a new one (more entries than the
    // old one had counted, with their ordinals), and the reader's probe of the suspects it
    // meets fails (here: EVAL refused for a second, in the same transaction, which makes the
    // failure land exactly there; a timeout or a broken link does the same).
    let mut regrow = eval(
        "local info = redis.call('XINFO', 'STREAM', KEYS[1])
         local added = 0
         for i = 1, #info, 2 do if info[i] == 'entries-added' then added = info[i + 1] end end
         redis.call('DEL', KEYS[1])
         for i = 1, added + 1 do
           redis.call('XADD', KEYS[1], '*', 'k', 'other', 'v', 'x', 'n', string.format('%d', i))
         end",
    );
    regrow.arg(&stream);
    let acl = |change: &str| {
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER").arg("default").arg(change);
        cmd
    };
    let _: () = redis::pipe()
        .atomic()
        .add_command(regrow)
        .ignore()
        .add_command(acl("-eval"))
        .ignore()
        .query(&mut con)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let _: () = acl("+eval").query(&mut con).unwrap();
    let alice = format!("{prefix}rev:sub:alice");
    eventually_within(
        "the rewind is found and alice's cutoff written back",
        Duration::from_secs(10),
        || holds(&mut con, prefix, &alice),
    );
}

/// One rewind is one loss: the instance writes its copy back and reads the stream again once,
/// not a second time at its next check.
#[test]
fn a_rewind_is_written_back_once() {
    let prefix = fresh_prefix();
    let stream = format!("{prefix}rev:log");
    let b = connected(builder(&redis_url(), &prefix).reconcile_every(Duration::from_secs(1)));
    let mut con = raw();
    // What the stream counted over its life: more than what is live (trimmed, expired, junk).
    let _: () =
        eval("for i = 1, 100 do redis.call('XADD', KEYS[1], '*', 'k', 'old', 'v', 'x') end")
            .arg(&stream)
            .query(&mut con)
            .unwrap();
    for who in ["alice", "bob", "carol"] {
        log_out_everywhere(&b, who);
    }
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(b.health().full_syncs, 1);
    // The stream lost, and another instance appends to a new one before any check.
    let _: () = eval(
        "redis.call('DEL', KEYS[1])
         redis.call('XADD', KEYS[1], '*', 'k', 'other', 'v', 'x', 'n', '1')",
    )
    .arg(&stream)
    .query(&mut con)
    .unwrap();
    eventually_within("the rewind is found", Duration::from_secs(10), || {
        b.health().full_syncs >= 2
    });
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        b.health().full_syncs,
        2,
        "one loss, read again (and written back) more than once"
    );
}

/// An instance that reads behind what is appended says so: `read_lag` (the age of the last
/// entry read while more wait) is above zero while it catches up with a burst of someone
/// else's entries, and back to zero once it has.
#[test]
fn a_reader_behind_the_stream_says_so() {
    let prefix = fresh_prefix();
    let b = connected(builder(&redis_url(), &prefix));
    assert_eq!(b.health().read_lag, Duration::ZERO);
    let mut con = raw();
    // 300,000 entries in one script: the reader gets them all at once, several pages behind.
    let _: () =
        eval("for i = 1, 300000 do redis.call('XADD', KEYS[1], '*', 'k', 'junk', 'v', 'junk') end")
            .arg(format!("{prefix}rev:log"))
            .query(&mut con)
            .unwrap();
    let mut most = Duration::ZERO;
    eventually_within(
        "the reader says it is behind",
        Duration::from_secs(30),
        || {
            most = most.max(b.health().read_lag);
            most > Duration::from_millis(20)
        },
    );
    eventually_within("the reader catches up", Duration::from_secs(60), || {
        b.health().read_lag == Duration::ZERO
    });
    log_out_everywhere(&b, "alice");
    assert!(knows(&b, "alice"));
}
