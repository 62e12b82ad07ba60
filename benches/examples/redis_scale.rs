//! The revocation stream at scale: what a million users who logged out cost in Redis, what a
//! fresh instance takes to read them, and what a reconnect costs an instance that holds them.
//!
//! Run with: `scripts/with-redis.sh cargo run --release -p sealed-session-benches --example redis_scale`
//! (optional arguments: the number of users, default 1000000; `unauthenticated` to run every
//! store without authentication, default authenticated with one key ring).
//!
//! Every store uses the default prefix (`sealed-session:`), which each entry's name carries, on
//! the Redis of its own that `scripts/with-redis.sh` starts (an error if it holds the stream).
//!
//! - **Redis**: N users each log out one session of their own (`revoke` of
//!   `Revocation::Session { subject: Some(..) }` on a `RedisRevocationStore`, in chunks of
//!   50,000 each followed by `flush`, under the default queue limit). Reported: the time to
//!   write them, Redis's `used_memory` growth, the stream's length (`XLEN`) and its own size
//!   (`MEMORY USAGE <prefix>rev:log SAMPLES 0`, every node counted).
//! - **A fresh instance**, in a child process of its own (this binary run again with `load`, so
//!   that its memory is its own): from `build` until `wait_until_loaded` (the stream read from
//!   its start), and its peak resident memory (`VmHWM` of `/proc/self/status`).
//! - **A reconnect that missed 10,000 logouts**: a running instance B, which read the stream
//!   in this process, connects as a Redis ACL user of its own. That user is switched off
//!   (`ACL SETUSER .. off`: open connections stay, new ones are refused) and B's reader
//!   connection killed (`CLIENT KILL ID` of B's client whose `cmd=xread`, found with
//!   `CLIENT LIST`), so B's reader stays out while the writer instance makes 10,000 logouts
//!   and they are all in Redis; then the user is switched on again. Reported: the time from
//!   then until B's reader is back (`health().reading`; B retries every 50 ms,
//!   `max_backoff(50 ms)`) and until B refuses the last of the 10,000, and B's `full_syncs`
//!   before and after (the same if B resumed from its position; one more if it read the stream
//!   from its start again).
//!
//! Every store holds what it reads without limit (`total` and `remote_total` at
//! `usize::MAX`): the defaults (a million each) would fold or coarsen part of the set, and the
//! figures would not be a million users' entries.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::Connection;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    Generation, Revocation, RevocationLimits, RevocationStore, Subject,
};
use sealed_session::{KeyRing, SecretKey, SessionId};
use sealed_session_redis::{DEFAULT_PREFIX, RedisRevocationStore, RedisStoreBuilder};

mod common;
use common::{Error, used_memory};

/// Revocations written per `flush`, under the default queue limit (100,000).
const CHUNK: usize = 50_000;
/// Logouts a reconnect missed.
const MISSED: usize = 10_000;
/// The longest a fresh instance may take to read the stream.
const LOAD_PATIENCE: Duration = Duration::from_secs(600);
/// The environment variable that gives the child the key ring (base64), if authenticated.
const KEY_VAR: &str = "REDIS_SCALE_KEY";
/// B's ACL user: one of its own, so that its reconnects can be held off.
const B_USER: &str = "scale-b";
const B_PASSWORD: &str = "scale-b-password";

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
    if args.first().map(String::as_str) == Some("load") {
        let prefix = args.get(1).ok_or("load: no prefix")?;
        return load(&url, prefix);
    }
    let users: usize = args.first().map_or(Ok(1_000_000), |a| a.parse())?;
    let authenticated = match args.get(1).map(String::as_str) {
        None | Some("authenticated") => true,
        Some("unauthenticated") => false,
        Some(other) => {
            return Err(format!("`{other}`: authenticated or unauthenticated").into());
        }
    };
    measure(&url, users, authenticated)
}

/// The key ring of every store of the run, if authenticated: passed to the child as base64.
fn ring_from_env() -> Result<Option<KeyRing>, Error> {
    match std::env::var(KEY_VAR) {
        Ok(key) => Ok(Some(KeyRing::from_config(&key)?)),
        Err(_) => Ok(None),
    }
}

fn builder(url: &str, prefix: &str, ring: Option<&KeyRing>) -> RedisStoreBuilder {
    let builder = RedisRevocationStore::builder(url)
        .prefix(prefix)
        .limits(
            RevocationLimits::new()
                .total(usize::MAX)
                .remote_total(usize::MAX),
        )
        // `build` returns at once: the callers time the read themselves.
        .startup_wait(Duration::ZERO);
    match ring {
        Some(ring) => builder.authenticate_with(ring),
        None => builder.unauthenticated(),
    }
}

/// A signed-in session of `subject`, just authenticated, and its logout.
fn signed_in_logout(subject: String) -> Result<(SessionId, Subject, Revocation), Error> {
    let stamp = Generation::authenticated_at(now().to_datetime(), Generation::ZERO);
    let subject = Subject::new(subject, stamp);
    let id = SessionId::random()?;
    let revocation = Revocation::Session {
        id,
        subject: Some(subject.clone()),
        until: until(),
    };
    Ok((id, subject, revocation))
}

fn measure(url: &str, users: usize, authenticated: bool) -> Result<(), Error> {
    // The default prefix, as a deployment has it: every entry's name carries it, so its
    // length is part of the figures. `scripts/with-redis.sh` gives this run a Redis of its own.
    let prefix = DEFAULT_PREFIX.to_owned();
    let stream = format!("{prefix}rev:log");
    let key = SecretKey::generate().to_base64();
    // The child gets the key in its environment (`KEY_VAR`), not this process.
    let ring = if authenticated {
        Some(KeyRing::from_config(&key)?)
    } else {
        None
    };
    let mut con = redis::Client::open(url)?.get_connection()?;
    let held: u64 = redis::cmd("EXISTS")
        .arg(&stream)
        .arg(format!("{prefix}rev:retention"))
        .arg(format!("{prefix}rev:epoch"))
        .query(&mut con)?;
    if held > 0 {
        return Err(
            format!("{stream} (or its keys) already in this Redis: use an empty one").into(),
        );
    }
    println!(
        "{users} users, stores {}",
        if authenticated {
            "authenticated (values tagged)"
        } else {
            "unauthenticated()"
        }
    );

    // Redis: the users' logouts, written by the store.
    let writer = common::connected(builder(url, &prefix, ring.as_ref()).build()?, url)?;
    let before = used_memory(&mut con)?;
    let filled = Instant::now();
    for chunk in (0..users).step_by(CHUNK) {
        for user in chunk..users.min(chunk + CHUNK) {
            let (_, _, revocation) = signed_in_logout(format!("user-{user}"))?;
            writer.revoke(revocation, now())?;
        }
        if !writer.flush(Duration::from_secs(600)) {
            return Err(format!("not written within 10 minutes: {:?}", writer.health()).into());
        }
    }
    let written_in = filled.elapsed();
    let grown = used_memory(&mut con)?.saturating_sub(before);
    let length: u64 = redis::cmd("XLEN").arg(&stream).query(&mut con)?;
    let usage: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&stream)
        .arg("SAMPLES")
        .arg(0)
        .query(&mut con)?;
    println!(
        "written through the store: {users} logouts in {:.2} s ({:.0}/s); Redis used_memory \
         grew by {:.1} MiB ({} bytes per user); the stream: {length} entries, MEMORY USAGE \
         {:.1} MiB ({} bytes per entry)",
        written_in.as_secs_f64(),
        users as f64 / written_in.as_secs_f64(),
        mib(grown),
        grown / users.max(1) as u64,
        mib(usage),
        usage / length.max(1)
    );

    // A fresh instance, in a process of its own.
    let fresh = child(url, &prefix, authenticated.then_some(key.as_str()))?;
    println!(
        "fresh instance (child process): read the stream from its start in {:.2} s \
         (build until wait_until_loaded): {} entries held, {} refused, full_syncs {}, peak RSS \
         {:.1} MiB",
        fresh.secs,
        fresh.entries,
        fresh.refused,
        fresh.full_syncs,
        mib(fresh.peak_rss)
    );

    resume(url, &mut con, &prefix, &writer, ring.as_ref())?;

    redis::cmd("DEL")
        .arg(&stream)
        .arg(format!("{prefix}rev:retention"))
        .arg(format!("{prefix}rev:epoch"))
        .query::<()>(&mut con)?;
    Ok(())
}

/// What the child reports once loaded.
struct Loaded {
    secs: f64,
    entries: usize,
    refused: u64,
    full_syncs: u64,
    peak_rss: u64,
}

/// Runs this binary again with `load <prefix>`, and reads its report.
fn child(url: &str, prefix: &str, key: Option<&str>) -> Result<Loaded, Error> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["load", prefix])
        .env("REDIS_URL", url)
        .env_remove(KEY_VAR)
        .stderr(Stdio::inherit());
    if let Some(key) = key {
        command.env(KEY_VAR, key);
    }
    let output = command.output()?;
    let text = String::from_utf8(output.stdout)?;
    if !output.status.success() {
        return Err(format!("the child failed ({}): {text}", output.status).into());
    }
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("loaded "))
        .ok_or_else(|| format!("the child reported nothing: {text}"))?;
    let mut fields = line.split(' ');
    let mut next = || fields.next().ok_or("a short report");
    Ok(Loaded {
        secs: next()?.parse()?,
        entries: next()?.parse()?,
        refused: next()?.parse()?,
        full_syncs: next()?.parse()?,
        peak_rss: next()?.parse()?,
    })
}

/// The child: a fresh store, from `build` until it read the stream from its start.
fn load(url: &str, prefix: &str) -> Result<(), Error> {
    let ring = ring_from_env()?;
    let started = Instant::now();
    let fresh = builder(url, prefix, ring.as_ref()).build()?;
    if !fresh.wait_until_loaded(LOAD_PATIENCE) {
        return Err(format!("not loaded within {LOAD_PATIENCE:?}: {:?}", fresh.health()).into());
    }
    let secs = started.elapsed().as_secs_f64();
    let health = fresh.health();
    println!(
        "loaded {secs} {} {} {} {}",
        health.local_entries,
        health.refused,
        health.full_syncs,
        peak_rss()?
    );
    Ok(())
}

/// The ids of the clients whose last command was `XREAD` (blocked in it, for a reader).
fn xread_clients(con: &mut Connection) -> Result<Vec<String>, Error> {
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(con)?;
    Ok(clients
        .lines()
        .filter(|line| line.split(' ').any(|f| f == "cmd=xread"))
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
        .collect())
}

/// Polls `done` (every 100 µs) until it holds, at most `limit`.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> Result<(), Error> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("not within {limit:?}").into());
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    Ok(())
}

/// B, which read the stream in this process, misses [`MISSED`] logouts with its reader held
/// off, then reads them when it is let back in.
fn resume(
    url: &str,
    con: &mut Connection,
    prefix: &str,
    writer: &RedisRevocationStore,
    ring: Option<&KeyRing>,
) -> Result<(), Error> {
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(B_USER)
        .arg("reset")
        .arg("on")
        .arg(format!(">{B_PASSWORD}"))
        .arg("~*")
        .arg("+@all")
        .query::<()>(con)?;
    let result = resume_as_b(url, con, prefix, writer, ring);
    // Whatever happened, the user goes (B, dropped in `resume_as_b`, no longer uses it).
    redis::cmd("ACL")
        .arg("DELUSER")
        .arg(B_USER)
        .query::<()>(con)?;
    result
}

fn resume_as_b(
    url: &str,
    con: &mut Connection,
    prefix: &str,
    writer: &RedisRevocationStore,
    ring: Option<&KeyRing>,
) -> Result<(), Error> {
    let b_url = url.replacen("redis://", &format!("redis://{B_USER}:{B_PASSWORD}@"), 1);
    if b_url == url {
        return Err(format!("not a redis:// URL: {url}").into());
    }
    let others = xread_clients(con)?;
    let loading = Instant::now();
    let b = builder(&b_url, prefix, ring)
        .max_backoff(Duration::from_millis(50))
        .build()?;
    if !b.wait_until_loaded(LOAD_PATIENCE) {
        return Err(format!("B not loaded within {LOAD_PATIENCE:?}: {:?}", b.health()).into());
    }
    let b = common::connected(b, url)?;
    println!(
        "B (this process) read the stream from its start in {:.2} s: {} entries",
        loading.elapsed().as_secs_f64(),
        b.health().local_entries
    );
    // B's reader: the client in XREAD that was not there before B.
    let mut readers = Vec::new();
    wait_for(Duration::from_secs(10), || {
        readers = xread_clients(con)
            .unwrap_or_default()
            .into_iter()
            .filter(|id| !others.contains(id))
            .collect();
        readers.len() == 1
    })
    .map_err(|e| format!("B's reader not found in CLIENT LIST: {e}"))?;
    let before = b.health();

    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(B_USER)
        .arg("off")
        .query::<()>(con)?;
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&readers[0])
        .query(con)?;
    if killed != 1 {
        return Err("B's reader was not killed".into());
    }
    wait_for(Duration::from_secs(10), || !b.health().reading)?;
    let mut last = None;
    let made = Instant::now();
    for n in 0..MISSED {
        let (id, subject, revocation) = signed_in_logout(format!("missed-{n}"))?;
        writer.revoke(revocation, now())?;
        last = Some((id, subject));
    }
    if !writer.flush(Duration::from_secs(60)) {
        return Err(format!("not written within 60 s: {:?}", writer.health()).into());
    }
    let written_in = made.elapsed();
    let (last_id, last_subject) = last.ok_or("no logouts")?;
    if b.is_revoked(last_id, Some(&last_subject), now()) || b.health().reading {
        return Err("B's reader was back before the logouts were all written".into());
    }

    // B's reader is let back in; a thread times its return while this one waits for the last.
    redis::cmd("ACL")
        .arg("SETUSER")
        .arg(B_USER)
        .arg("on")
        .query::<()>(con)?;
    let let_in = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (b, stop) = (b.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !b.health().reading && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_micros(100));
            }
            Instant::now()
        })
    };
    let known = wait_for(Duration::from_secs(60), || {
        b.is_revoked(last_id, Some(&last_subject), now())
    });
    let knew = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let back = watcher.join().map_err(|_| "the watcher panicked")?;
    known?;
    let after = b.health();
    println!(
        "a reconnect that missed {MISSED} logouts: made and written by the other instance in \
         {:.0} ms while B's reader was out; after B's user was let back in, B's reader was \
         back in {:.1} ms and B refused the last of them after {:.1} ms ({:.1} ms after its \
         reader was back); B's entries {} -> {}, full_syncs {} -> {} ({})",
        written_in.as_secs_f64() * 1e3,
        back.saturating_duration_since(let_in).as_secs_f64() * 1e3,
        knew.saturating_duration_since(let_in).as_secs_f64() * 1e3,
        knew.saturating_duration_since(back).as_secs_f64() * 1e3,
        before.local_entries,
        after.local_entries,
        before.full_syncs,
        after.full_syncs,
        if after.full_syncs == before.full_syncs {
            "a resume"
        } else {
            "NOT a resume: a read from the start"
        }
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
