//! Issue 18's trial: today's design (one key per revocation, `PUBLISH` on a channel, a full
//! `SCAN` load at every (re)subscription) against a trimmed Redis Stream (`XADD ... MINID`,
//! each instance reading from its last id, a full read only at start), on the same
//! revocations: Redis's memory, a fresh instance's load time and memory, what a reconnect
//! costs, the writer's round trip and the propagation of one logout.
//!
//! Run with: `scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_stream_trial`
//! (optional argument: the number of users who logged out, default 1000000).
//!
//! Both designs hold the same entries: a million signed-in users with one revoked session
//! each, written by today's store (`RedisRevocationStore`), then copied, key and value as they
//! are, into a stream of one entry each. Today's figures come from the store itself (a fresh
//! store, in a child process, until it is connected: subscribed, loaded, repairs checked).
//! The stream's come from a reader written here for the trial: `XRANGE` in pages of 10,000,
//! each entry parsed and applied to the same local copy the store keeps
//! (`MemoryRevocationStore`), also in a child process. Both run without authentication (with
//! it, each entry's tag is checked once in either design). The propagation figures compare
//! the transports alone, over raw connections (no queue, no writer thread): `SET` + `PUBLISH`
//! to a subscriber, against `XADD` to a reader blocked in `XREAD`.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redis::{Connection, Value};
use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    Generation, MemoryRevocationStore, Revocation, RevocationLimits, RevocationStore, Subject,
};
use sealed_session_redis::RedisRevocationStore;

mod common;
use common::{Error, percentile, report, used_memory};

/// Revocations written per queue flush, under the default queue limit.
const CHUNK: usize = 50_000;
/// Stream entries read per `XRANGE` or `XREAD`.
const PAGE: usize = 10_000;
/// Logouts a reconnect missed, in the resume figure.
const MISSED: usize = 10_000;
/// A stream entry as the client decodes it: its id and its fields.
type StreamEntry = (String, Vec<(String, String)>);

/// One-at-a-time logouts in the propagation figures, and batches in the writer's figures.
const SAMPLES: usize = 1_000;
/// Jobs per pipeline in the writer's figures: the store's batch.
const BATCH: usize = 256;
/// The retention the stream is trimmed at (`MINID`): the entries' lifetime (a day, below),
/// plus the clock skew allowance.
const RETENTION_MS: u64 = (86_400 + 60) * 1_000;

fn now() -> UnixTime {
    UnixTime::from(time::OffsetDateTime::now_utc())
}

fn until() -> UnixTime {
    now().saturating_add_secs(86_400)
}

fn main() -> Result<(), Error> {
    let url = std::env::var("REDIS_URL").map_err(|_| {
        "REDIS_URL is not set: run this through `scripts/with-redis.sh`, which starts a \
         private redis-server"
    })?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("load-keys") => load_keys(&url, &args[1]),
        Some("load-stream") => load_stream(&url, &args[1]),
        users => compare(&url, users.map_or(Ok(1_000_000), str::parse)?),
    }
}

fn compare(url: &str, users: usize) -> Result<(), Error> {
    let prefix = format!("trial:{}:", SessionId::random()?);
    let stream = format!("{prefix}rev:stream");
    let mut con = redis::Client::open(url)?.get_connection()?;

    // Today's design, written by the store itself.
    let writer = common::connected(store(url, &prefix)?, url)?;
    let before = used_memory(&mut con)?;
    let filled = Instant::now();
    for chunk in (0..users).step_by(CHUNK) {
        for user in chunk..users.min(chunk + CHUNK) {
            writer.revoke(signed_in_logout(user)?, now())?;
        }
        if !writer.flush(Duration::from_secs(600)) {
            return Err("the set was not written within 10 minutes".into());
        }
    }
    let keys_bytes = used_memory(&mut con)?.saturating_sub(before);
    println!(
        "keys: {users} revocations written through the store in {:.2} s; Redis grew by \
         {:.1} MiB ({} bytes each)",
        filled.elapsed().as_secs_f64(),
        mib(keys_bytes),
        keys_bytes / users as u64
    );

    // The same entries in a stream.
    let before = used_memory(&mut con)?;
    let copied = Instant::now();
    let appended = copy_to_stream(&mut con, &prefix, &stream)?;
    let stream_bytes = used_memory(&mut con)?.saturating_sub(before);
    // The stream's own size, exactly (every node and listpack): `used_memory`'s growth also
    // moves with buffers and allocator state.
    let stream_usage: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&stream)
        .arg("SAMPLES")
        .arg(0)
        .query(&mut con)?;
    println!(
        "stream: {appended} entries appended (XADD MINID ~) in {:.2} s; Redis grew by {:.1} \
         MiB ({} bytes each), {:.2}x the keys; MEMORY USAGE of the stream: {:.1} MiB ({} \
         bytes each)",
        copied.elapsed().as_secs_f64(),
        mib(stream_bytes),
        stream_bytes / appended.max(1) as u64,
        stream_bytes as f64 / keys_bytes as f64,
        mib(stream_usage),
        stream_usage / appended.max(1) as u64
    );

    // A fresh instance of each design, in a process of its own (its memory is its own).
    let keys_load = child(url, "load-keys", &prefix)?;
    let stream_load = child(url, "load-stream", &stream)?;
    println!(
        "fresh instance, keys (store: subscribe, SCAN + MGET, repair check): {:.2} s to \
         connected, {} entries, peak RSS {:.1} MiB",
        keys_load.secs,
        keys_load.entries,
        mib(keys_load.peak_rss)
    );
    println!(
        "fresh instance, stream (XRANGE pages of {PAGE}, parse, apply): {:.2} s, {} entries, \
         peak RSS {:.1} MiB; {:.2}x the time, {:.2}x the memory of the keys",
        stream_load.secs,
        stream_load.entries,
        mib(stream_load.peak_rss),
        stream_load.secs / keys_load.secs,
        stream_load.peak_rss as f64 / keys_load.peak_rss as f64
    );

    resume(url, &mut con, &stream)?;
    writer_round_trips(&mut con, &prefix, &stream)?;
    propagation(url, &mut con, &prefix, &stream)?;

    redis::cmd("DEL").arg(&stream).query::<()>(&mut con)?;
    Ok(())
}

/// The store both designs' figures start from (no cap: the load may exceed the default
/// total of a million).
fn store(url: &str, prefix: &str) -> Result<RedisRevocationStore, Error> {
    Ok(RedisRevocationStore::builder(url)
        .prefix(prefix)
        .limits(unbounded())
        .build()?)
}

fn unbounded() -> RevocationLimits {
    RevocationLimits::new().total(usize::MAX)
}

fn signed_in_logout(user: usize) -> Result<Revocation, Error> {
    let stamp = Generation::authenticated_at(now().to_datetime(), Generation::ZERO);
    Ok(Revocation::Session {
        id: SessionId::random()?,
        subject: Some(Subject::new(format!("user-{user}"), stamp)),
        until: until(),
    })
}

/// Copies every `rev:id:` key of `prefix` (name and value as the store wrote them) into
/// `stream`, one entry each, trimmed as the stream design would trim it.
fn copy_to_stream(con: &mut Connection, prefix: &str, stream: &str) -> Result<usize, Error> {
    let mut cursor = 0_u64;
    let mut appended = 0;
    loop {
        let (next, names): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}rev:id:*"))
            .arg("COUNT")
            .arg(1_000)
            .query(con)?;
        if !names.is_empty() {
            let values: Vec<Option<String>> = redis::cmd("MGET").arg(&names).query(con)?;
            let mut pipe = redis::pipe();
            for (name, value) in names.iter().zip(values) {
                let Some(value) = value else { continue };
                xadd(&mut pipe, stream, &name[prefix.len()..], &value);
                appended += 1;
            }
            pipe.query::<()>(con)?;
        }
        if next == 0 {
            return Ok(appended);
        }
        cursor = next;
    }
}

/// `XADD <stream> MINID ~ <now - retention> * k <key> v <value>`.
fn xadd(pipe: &mut redis::Pipeline, stream: &str, key: &str, value: &str) {
    let oldest = now_ms().saturating_sub(RETENTION_MS);
    pipe.cmd("XADD")
        .arg(stream)
        .arg("MINID")
        .arg("~")
        .arg(oldest)
        .arg("*")
        .arg("k")
        .arg(key)
        .arg("v")
        .arg(value)
        .ignore();
}

fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX)
}

/// What a child process reports once loaded.
struct Loaded {
    secs: f64,
    entries: usize,
    peak_rss: u64,
}

fn child(url: &str, mode: &str, arg: &str) -> Result<Loaded, Error> {
    let output = Command::new(std::env::current_exe()?)
        .args([mode, arg])
        .env("REDIS_URL", url)
        .stderr(Stdio::inherit())
        .output()?;
    let text = String::from_utf8(output.stdout)?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("loaded "))
        .ok_or_else(|| format!("{mode} reported nothing: {text}"))?;
    let mut fields = line.split(' ');
    let mut next = || fields.next().ok_or("a short report");
    Ok(Loaded {
        secs: next()?.parse()?,
        entries: next()?.parse()?,
        peak_rss: next()?.parse()?,
    })
}

/// The child of today's design: a fresh store, until connected (subscribed, loaded).
fn load_keys(url: &str, prefix: &str) -> Result<(), Error> {
    let started = Instant::now();
    let fresh = store(url, prefix)?;
    if !fresh.wait_until_connected(Duration::from_secs(120)) {
        return Err(format!("not loaded within 120 s: {:?}", fresh.health()).into());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "loaded {secs} {} {}",
        fresh.health().local_entries,
        peak_rss()?
    );
    Ok(())
}

/// The child of the stream design: every entry, in pages, parsed and applied to a local copy.
fn load_stream(url: &str, stream: &str) -> Result<(), Error> {
    let started = Instant::now();
    let mut con = redis::Client::open(url)?.get_connection()?;
    let local = MemoryRevocationStore::with_limits(unbounded());
    let mut from = "-".to_owned();
    let mut reading = Duration::ZERO;
    loop {
        let asked = Instant::now();
        let page: Vec<StreamEntry> = redis::cmd("XRANGE")
            .arg(stream)
            .arg(&from)
            .arg("+")
            .arg("COUNT")
            .arg(PAGE)
            .query(&mut con)?;
        reading += asked.elapsed();
        let Some((last, _)) = page.last() else { break };
        from = format!("({last}");
        let now = now();
        for (_, fields) in &page {
            local.apply(&parse(fields).ok_or("an entry that doesn't parse")?, now);
        }
        if page.len() < PAGE {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("loaded {secs} {} {}", local.len(), peak_rss()?);
    eprintln!(
        "  (stream: {:.2} s of it in XRANGE, the rest parsing and applying)",
        reading.as_secs_f64()
    );
    Ok(())
}

/// The revocation in a stream entry's fields: `k` = `rev:id:<32 hex>`, `v` =
/// `<until> <generation> <subject>`, as today's store writes a signed-in session's key.
fn parse(fields: &[(String, String)]) -> Option<Revocation> {
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let id = field("k")?.strip_prefix("rev:id:")?.parse().ok()?;
    let (until, rest) = field("v")?.split_once(' ')?;
    let (generation, subject) = rest.split_once(' ')?;
    Some(Revocation::Session {
        id,
        subject: Some(Subject::new(
            subject,
            Generation::new(generation.parse().ok()?),
        )),
        until: UnixTime::from_secs(until.parse().ok()?),
    })
}

/// A reconnect in the stream design: the logouts missed meanwhile, read from the last id.
/// (In today's design, a reconnect is the fresh instance's full load above.)
fn resume(url: &str, con: &mut Connection, stream: &str) -> Result<(), Error> {
    let last: Vec<StreamEntry> = redis::cmd("XREVRANGE")
        .arg(stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(con)?;
    let mut position = last.first().map_or("0-0".to_owned(), |(id, _)| id.clone());
    let mut pipe = redis::pipe();
    for _ in 0..MISSED {
        let value = format!(
            "{} {} user-missed",
            until().secs(),
            Generation::new(1).get()
        );
        xadd(
            &mut pipe,
            stream,
            &format!("rev:id:{}", SessionId::random()?),
            &value,
        );
    }
    pipe.query::<()>(con)?;
    let started = Instant::now();
    let mut reader = redis::Client::open(url)?.get_connection()?;
    let local = MemoryRevocationStore::with_limits(unbounded());
    let mut read = 0;
    while read < MISSED {
        let reply: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(PAGE)
            .arg("STREAMS")
            .arg(stream)
            .arg(&position)
            .query(&mut reader)?;
        let entries = stream_entries(reply)?;
        let Some((last, _)) = entries.last() else {
            break;
        };
        position.clone_from(last);
        let now = now();
        for (_, fields) in &entries {
            local.apply(&parse(fields).ok_or("an entry that doesn't parse")?, now);
        }
        read += entries.len();
    }
    println!(
        "stream resume: a reconnect that missed {read} logouts read and applied them in \
         {:.1} ms (keys: every reconnect is the full load above)",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// The entries of an `XREAD` reply for one stream (nil: none).
fn stream_entries(reply: Value) -> Result<Vec<StreamEntry>, Error> {
    if reply == Value::Nil {
        return Ok(Vec::new());
    }
    let streams: Vec<(String, Vec<StreamEntry>)> = redis::FromRedisValue::from_redis_value(reply)?;
    Ok(streams.into_iter().flat_map(|(_, e)| e).collect())
}

/// The writer's round trip for one batch of `BATCH` logouts: today's `SET EXAT` + `PUBLISH`
/// each, against one `XADD MINID ~` each.
fn writer_round_trips(con: &mut Connection, prefix: &str, stream: &str) -> Result<(), Error> {
    let mut keys = Vec::with_capacity(SAMPLES / 10);
    let mut appends = Vec::with_capacity(SAMPLES / 10);
    for round in 0..SAMPLES / 10 {
        let batch: Vec<(String, String)> = (0..BATCH)
            .map(|_| {
                Ok((
                    format!("rev:id:{}", SessionId::random()?),
                    format!("{} {} user-batch", until().secs(), Generation::new(1).get()),
                ))
            })
            .collect::<Result<_, Error>>()?;
        // Alternate which goes first, so that neither always meets a warmer server.
        let mut timed = |stream_design: bool| -> Result<Duration, Error> {
            let mut pipe = redis::pipe();
            for (key, value) in &batch {
                if stream_design {
                    xadd(&mut pipe, stream, key, value);
                } else {
                    pipe.cmd("SET")
                        .arg(format!("{prefix}{key}"))
                        .arg(value)
                        .arg("EXAT")
                        .arg(until().secs())
                        .ignore()
                        .cmd("PUBLISH")
                        .arg(format!("{prefix}rev:events"))
                        .arg(format!("2 {key} {value}"))
                        .ignore();
                }
            }
            let started = Instant::now();
            pipe.query::<()>(con)?;
            Ok(started.elapsed())
        };
        if round % 2 == 0 {
            keys.push(timed(false)?);
            appends.push(timed(true)?);
        } else {
            appends.push(timed(true)?);
            keys.push(timed(false)?);
        }
    }
    let keys_p50 = report(&format!("writer batch of {BATCH}, keys"), &mut keys);
    let stream_p50 = report(&format!("writer batch of {BATCH}, stream"), &mut appends);
    println!(
        "(the 'logouts' above are batches) stream/keys p50: {:.2}x",
        stream_p50 / keys_p50
    );
    Ok(())
}

/// One logout at a time, from its write to its arrival at a reader on another connection:
/// `SET` + `PUBLISH` to a subscriber, against `XADD` to a reader blocked in `XREAD`.
fn propagation(url: &str, con: &mut Connection, prefix: &str, stream: &str) -> Result<(), Error> {
    let channel = format!("{prefix}rev:trial-events");
    let (subscribed, arrivals) = mpsc::channel::<Instant>();
    let mut subscriber = redis::Client::open(url)?.get_connection()?;
    let listening = channel.clone();
    let pubsub_thread = std::thread::spawn(move || -> redis::RedisResult<()> {
        let mut pubsub = subscriber.as_pubsub();
        pubsub.subscribe(&listening)?;
        let _ = subscribed.send(Instant::now());
        for _ in 0..SAMPLES {
            pubsub.get_message()?;
            let _ = subscribed.send(Instant::now());
        }
        Ok(())
    });
    arrivals.recv_timeout(Duration::from_secs(5))?;
    let mut published = Vec::with_capacity(SAMPLES);
    for n in 0..SAMPLES {
        let sent = Instant::now();
        redis::pipe()
            .cmd("SET")
            .arg(format!("{prefix}rev:id:trial-{n}"))
            .arg("1")
            .arg("EX")
            .arg(60)
            .ignore()
            .cmd("PUBLISH")
            .arg(&channel)
            .arg(format!("2 trial {n}"))
            .ignore()
            .query::<()>(con)?;
        published.push(arrivals.recv_timeout(Duration::from_secs(5))? - sent);
    }
    pubsub_thread
        .join()
        .map_err(|_| "the subscriber panicked")??;

    let (read, arrivals) = mpsc::channel::<Instant>();
    let mut reader = redis::Client::open(url)?.get_connection()?;
    let from = stream.to_owned();
    let xread_thread = std::thread::spawn(move || -> Result<(), String> {
        let mut position = "$".to_owned();
        let mut seen = 0;
        let _ = read.send(Instant::now());
        while seen < SAMPLES {
            let reply: Value = redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(5_000)
                .arg("STREAMS")
                .arg(&from)
                .arg(&position)
                .query(&mut reader)
                .map_err(|e| e.to_string())?;
            let entries = stream_entries(reply).map_err(|e| e.to_string())?;
            if let Some((last, _)) = entries.last() {
                position.clone_from(last);
            }
            for _ in &entries {
                seen += 1;
                let _ = read.send(Instant::now());
            }
        }
        Ok(())
    });
    arrivals.recv_timeout(Duration::from_secs(5))?;
    // The reader's first XREAD must be blocked before the first XADD ("$" is "from now on").
    std::thread::sleep(Duration::from_millis(100));
    let mut appended = Vec::with_capacity(SAMPLES);
    for n in 0..SAMPLES {
        let sent = Instant::now();
        let mut pipe = redis::pipe();
        xadd(&mut pipe, stream, &format!("rev:id:trial-{n}"), "1");
        pipe.query::<()>(con)?;
        appended.push(arrivals.recv_timeout(Duration::from_secs(5))? - sent);
    }
    xread_thread.join().map_err(|_| "the reader panicked")??;
    let keys_p50 = report("propagation, SET + PUBLISH to a subscriber", &mut published);
    let stream_p50 = report(
        "propagation, XADD to a reader in XREAD BLOCK",
        &mut appended,
    );
    println!(
        "stream/keys propagation p50: {:.2}x; p99 {:.0} µs vs {:.0} µs",
        stream_p50 / keys_p50,
        percentile(&appended, 0.99).as_secs_f64() * 1e6,
        percentile(&published, 0.99).as_secs_f64() * 1e6
    );
    Ok(())
}

/// This process's peak resident memory (`VmHWM`), in bytes.
fn peak_rss() -> Result<u64, Error> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}
