//! The cost of the revocation check on the request path, in one run: no revocation at all, the
//! embedded memory store and the Redis-backed store, each holding 0, 10 thousand and 1 million
//! revoked sessions (signed-in ones, eight per subject, as logouts leave them), and one subject
//! logged out everywhere per thousand sessions.
//!
//! Run with: `scripts/with-redis.sh cargo bench -p sealed-session-benches --bench revocation -- --noplot`
//! (needs a real Redis: the Redis store is filled through Redis, as in production). Prints a
//! table of medians and ratios at the end, the one in `docs/revocation.md`.
//!
//! Three levels:
//! - `check`: `RevocationStore::is_revoked` alone, for a session that is not revoked (the
//!   common case) but has a subject, with ids cycling over 4096 random ones;
//! - `open`: `SessionManager::open` of a request carrying a typical cookie (clock, cookie header,
//!   authentication, expiry, then the check);
//! - `request`: a GET through the actix-web middleware to a handler reading the session.
//!
//! "none" is a lifecycle, and the middleware, with a store that checks nothing (both always
//! have one).
//!
//! After criterion, an interleaved pass measures each redis / memory ratio again: rounds that
//! alternate the two contenders (and their order) and the median of the per-round ratios, which
//! a slow drift of the machine's load cancels out of, unlike medians measured minutes apart.
//!
//! The clock is the benchmark thread's CPU time (everything measured runs on that thread, the
//! middleware included: its actix system runs there), so that other jobs on a shared machine
//! don't skew contenders measured one after the other; `BENCH_CLOCK=wall` for the wall clock.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpResponse, test, web};
use cpu_time::ThreadTime;
use criterion::{BenchmarkId, Criterion};
use sealed_session::adapter::RequestInfo;
use sealed_session::clock::{Clock as _, SystemClock};
use sealed_session::codec::{Codec, UnixTime};
use sealed_session::revocation::{
    Cutoff, Generation, MemoryRevocationStore, Revocation, RevocationLimits, RevocationStore,
    Subject,
};
use sealed_session::{KeyRing, RevokeError, SecretKey, SessionId, SessionManager};
use sealed_session_actix::{CookieSessionMiddleware, Session};
use sealed_session_redis::RedisRevocationStore;

const SIZES: [(usize, &str); 3] = [(0, "0"), (10_000, "10k"), (1_000_000, "1M")];
/// Revoked sessions per subject in the filled stores (under the default per-subject limit, so
/// none folds into a generation).
const SESSIONS_PER_SUBJECT: usize = 8;
/// Room for the largest fill: its sessions, their subjects and the subjects logged out
/// everywhere (past the default total of a million entries).
const LIMITS: RevocationLimits = RevocationLimits::new().total(2_000_000);
const LEVELS: [&str; 3] = ["check", "open", "request"];
const SUBJECT: &str = "user-42";
/// Interleaved pass: rounds, and iterations per contender per round for each level.
const ROUNDS: usize = 31;
const ROUND_ITERS: [u64; 3] = [200_000, 20_000, 5_000];

/// Thread CPU time, or wall time with `BENCH_CLOCK=wall`.
enum Stopwatch {
    Cpu(ThreadTime),
    Wall(Instant),
}

impl Stopwatch {
    fn start() -> Self {
        if std::env::var("BENCH_CLOCK").is_ok_and(|v| v.eq_ignore_ascii_case("wall")) {
            Self::Wall(Instant::now())
        } else {
            Self::Cpu(ThreadTime::now())
        }
    }

    fn elapsed(&self) -> Duration {
        match self {
            Self::Cpu(start) => start.elapsed(),
            Self::Wall(start) => start.elapsed(),
        }
    }
}

/// Runs one level's operation `iters` times and says how long that took.
type Runner = Box<dyn FnMut(u64) -> Duration>;

/// A store that revokes nothing: the middleware's floor.
#[derive(Debug)]
struct NoRevocation;

impl RevocationStore for NoRevocation {
    fn is_revoked(&self, _: SessionId, _: Option<&Subject>, _: UnixTime) -> bool {
        false
    }
    fn generation(&self, _: &str) -> Generation {
        Generation::ZERO
    }
    fn revoke(&self, _: Revocation, _: UnixTime) -> Result<Option<Revocation>, RevokeError> {
        Ok(None)
    }
    fn advance(
        &self,
        _: &str,
        _: Cutoff,
        _: UnixTime,
        _: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        Ok(None)
    }
}

/// One store at one size, with a runner per level (`None` where the level has no such
/// contender: `check` without a store).
struct Contender {
    kind: &'static str,
    size: &'static str,
    runners: [Option<Runner>; 3],
}

fn now() -> UnixTime {
    UnixTime::from(SystemClock.now())
}

/// Entries [`fill`] leaves in a store.
fn filled_entries(n: usize) -> usize {
    n + n.div_ceil(SESSIONS_PER_SUBJECT) + n / 1_000
}

/// Fills `store` with `n` revoked sessions of subjects `other-*` ([`SESSIONS_PER_SUBJECT`]
/// each) and `n / 1000` subjects logged out everywhere.
fn fill(store: &dyn RevocationStore, n: usize) {
    let now = now();
    let until = now.saturating_add_secs(86_400);
    for i in 0..n {
        let subject = Subject::new(
            format!("other-{}", i / SESSIONS_PER_SUBJECT),
            Generation::ZERO,
        );
        let revocation = Revocation::Session {
            id: SessionId::random().expect("randomness"),
            subject: Some(subject),
            until,
        };
        store.revoke(revocation, now).expect("room for the fill");
    }
    for s in 0..n / 1_000 {
        store
            .advance(
                &format!("everywhere-{s}"),
                Cutoff::Everything {
                    above: Generation::ZERO,
                },
                until,
                now,
            )
            .expect("room for the fill");
    }
}

fn redis_store(url: &str, n: usize, size: &str) -> RedisRevocationStore {
    let redis = RedisRevocationStore::builder(url)
        .prefix(format!(
            "bench:{}:",
            SessionId::random().expect("randomness")
        ))
        .limits(LIMITS)
        .build()
        .expect("valid store settings");
    assert!(
        redis.wait_until_connected(Duration::from_secs(10)),
        "Redis at {url} unreachable"
    );
    let started = Instant::now();
    fill(&redis, n);
    assert!(redis.flush(Duration::from_secs(600)), "Redis took too long");
    // Let our own messages come back, so that nothing runs in the background while measuring.
    let expected = filled_entries(n);
    while redis.health().local_entries < expected || started.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "redis/{size}: {} entries written and echoed back in {:.1} s",
        redis.health().local_entries,
        started.elapsed().as_secs_f64()
    );
    redis
}

/// The typical cookie, sealed by `codec`: a user name, a subject, a counter.
fn typical_cookie(codec: &Codec) -> String {
    let mut state = codec.new_session(SystemClock.now()).expect("randomness");
    state.set_subject(SUBJECT, Generation::ZERO);
    state.insert("user", &"alice").expect("encodes");
    state.insert("counter", &7u64).expect("encodes");
    codec.seal(&state).expect("fits")
}

fn check_runner(store: Arc<dyn RevocationStore>) -> Runner {
    let probes: Vec<SessionId> = (0..4096)
        .map(|_| SessionId::random().expect("randomness"))
        .collect();
    let subject = Subject::new(SUBJECT, Generation::ZERO);
    let now = now();
    let mut i = 0;
    Box::new(move |iters| {
        let stopwatch = Stopwatch::start();
        for _ in 0..iters {
            i = (i + 1) % probes.len();
            black_box(store.is_revoked(black_box(probes[i]), Some(&subject), now));
        }
        stopwatch.elapsed()
    })
}

fn open_runner(ring: &KeyRing, store: Arc<dyn RevocationStore>) -> Runner {
    let lifecycle = SessionManager::builder(ring.clone())
        .revocation_store(store)
        .build()
        .expect("valid lifecycle");
    let header = format!(
        "{}={}",
        lifecycle.cookie_name(),
        typical_cookie(lifecycle.codec())
    );
    assert!(
        lifecycle
            .open([header.as_bytes()], RequestInfo::new("/"))
            .refusal()
            .is_none()
    );
    Box::new(move |iters| {
        let stopwatch = Stopwatch::start();
        for _ in 0..iters {
            let request = lifecycle.open([black_box(header.as_bytes())], RequestInfo::new("/"));
            black_box(request.refusal().is_none());
        }
        stopwatch.elapsed()
    })
}

async fn whoami(session: Session) -> HttpResponse {
    let user = session.get::<String>("user").ok().flatten();
    HttpResponse::Ok().body(user.unwrap_or_default())
}

fn request_runner(ring: &KeyRing, store: Arc<dyn RevocationStore>) -> Runner {
    let middleware = CookieSessionMiddleware::builder(ring.clone())
        .revocation_store(store)
        .build()
        .expect("valid middleware");
    let header = format!(
        "{}={}",
        middleware.manager().cookie_name(),
        typical_cookie(middleware.codec())
    );
    // The actix system runs on the bench thread: its CPU time is the whole request's.
    let system = actix_web::rt::System::new();
    let app = system.block_on(test::init_service(
        App::new()
            .wrap(middleware)
            .route("/", web::get().to(whoami)),
    ));
    Box::new(move |iters| {
        system.block_on(async {
            let stopwatch = Stopwatch::start();
            for _ in 0..iters {
                let request = test::TestRequest::get()
                    .uri("/")
                    .insert_header(("cookie", header.as_str()))
                    .to_request();
                let response: ServiceResponse = app.call(request).await.expect("a response");
                debug_assert!(response.status().is_success());
                black_box(response);
            }
            stopwatch.elapsed()
        })
    })
}

fn contenders(ring: &KeyRing) -> Vec<Contender> {
    // This benchmark fills a real Redis: run it through `scripts/with-redis.sh`.
    let url = sealed_session_test_support::redis_url();
    let none: Arc<dyn RevocationStore> = Arc::new(NoRevocation);
    let mut all = vec![Contender {
        kind: "none",
        size: "-",
        runners: [
            None,
            Some(open_runner(ring, Arc::clone(&none))),
            Some(request_runner(ring, none)),
        ],
    }];
    for (n, size) in SIZES {
        let memory = Arc::new(MemoryRevocationStore::with_limits(LIMITS));
        fill(memory.as_ref(), n);
        assert_eq!(memory.len(), filled_entries(n));
        let redis = Arc::new(redis_store(&url, n, size));
        for (kind, store) in [
            ("memory", memory as Arc<dyn RevocationStore>),
            ("redis", redis as Arc<dyn RevocationStore>),
        ] {
            all.push(Contender {
                kind,
                size,
                runners: [
                    Some(check_runner(Arc::clone(&store))),
                    Some(open_runner(ring, Arc::clone(&store))),
                    Some(request_runner(ring, store)),
                ],
            });
        }
    }
    all
}

fn benches(c: &mut Criterion, contenders: &mut [Contender]) {
    for (level, name) in LEVELS.iter().enumerate() {
        let mut group = c.benchmark_group(*name);
        for contender in contenders.iter_mut() {
            if let Some(runner) = contender.runners[level].as_mut() {
                group.bench_function(BenchmarkId::new(contender.kind, contender.size), |b| {
                    b.iter_custom(&mut *runner);
                });
            }
        }
        group.finish();
    }
}

/// For each level and size: the median over rounds of (redis time / memory time), each round
/// running both back to back, in alternating order.
fn interleaved(contenders: &mut [Contender]) -> Vec<(usize, &'static str, f64)> {
    let mut ratios = Vec::new();
    for (level, &iters) in ROUND_ITERS.iter().enumerate() {
        for (_, size) in SIZES {
            let position = |kind: &str| {
                contenders
                    .iter()
                    .position(|c| c.kind == kind && c.size == size)
                    .expect("every store at every size")
            };
            let (memory, redis) = (position("memory"), position("redis"));
            let mut run = |i: usize| {
                let runner = contenders[i].runners[level].as_mut().expect("a runner");
                runner(iters).as_secs_f64()
            };
            run(memory);
            run(redis);
            let mut round_ratios: Vec<f64> = (0..ROUNDS)
                .map(|round| {
                    if round % 2 == 0 {
                        let m = run(memory);
                        run(redis) / m
                    } else {
                        let r = run(redis);
                        r / run(memory)
                    }
                })
                .collect();
            round_ratios.sort_by(f64::total_cmp);
            ratios.push((level, size, round_ratios[ROUNDS / 2]));
        }
    }
    ratios
}

fn main() {
    let ring = KeyRing::new(SecretKey::generate());
    let mut contenders = contenders(&ring);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c, &mut contenders);
    c.final_summary();
    let ratios = interleaved(&mut contenders);
    print_table(&ratios);
}

/// Where criterion wrote its estimates: `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`, or
/// the `target/criterion` of the nearest ancestor directory that has one.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join("target").join("criterion"))
        .find(|dir| dir.is_dir())
}

fn median_ns(root: &Path, group: &str, kind: &str, size: &str) -> Option<f64> {
    let path = root
        .join(group)
        .join(kind)
        .join(size)
        .join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// Criterion's medians of this run, their ratios, and the interleaved redis / memory ratio.
fn print_table(interleaved: &[(usize, &'static str, f64)]) {
    let root = criterion_dir();
    let median = |group: &str, kind: &str, size: &str| {
        root.as_deref()
            .and_then(|root| median_ns(root, group, kind, size))
    };
    let show = |v: Option<f64>| v.map_or("-".to_owned(), |ns| format!("{ns:.1}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.3}", a / b),
        _ => "-".to_owned(),
    };
    println!();
    println!(
        "| level | revoked | none (ns) | memory (ns) | redis (ns) | redis / memory \
         | redis / memory, interleaved | memory / none |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (level, group) in LEVELS.iter().enumerate() {
        let none = median(group, "none", "-");
        for (_, size) in SIZES {
            let memory = median(group, "memory", size);
            let redis = median(group, "redis", size);
            let paired = interleaved
                .iter()
                .find(|(l, s, _)| *l == level && *s == size)
                .map_or("-".to_owned(), |(_, _, r)| format!("{r:.3}"));
            println!(
                "| {group} | {size} | {} | {} | {} | {} | {paired} | {} |",
                show(none),
                show(memory),
                show(redis),
                ratio(redis, memory),
                ratio(memory, none),
            );
        }
    }
}
