//! The deterministic simulation of the revocation protocol: the invariants of
//! `docs/security.md` ("Invariants of logout, expiry and revocation"), checked after every step
//! of seeded random interleavings.
//!
//! The world: three lifecycle instances, each with its own manual clock (offsets within the clock
//! skew allowance) and its own local copy of the revocations (a `MemoryRevocationStore` with small
//! limits, so that folds and overflows happen all the time, its room for other instances'
//! revocations included; a fold or store-wide cutoff a copy makes alone there is a cause on that
//! copy only). What an instance records goes to an outbox (a logout its copy refuses already
//! too, as the Redis store shares it); a flush (its writer, or `settle` while its link is up)
//! appends it to the shared log ("Redis"); each other instance receives the log's entries through
//! a channel that delays, reorders and drops them, and merges them with
//! `MemoryRevocationStore::apply`, as the Redis store's local copy does (the log is the Redis
//! store's stream; the channel's delays, reordering and drops stand for readers at different
//! positions, which see the same entries in another order or later); a reload (a read of the
//! stream from its start, after a loss) applies the whole log.
//! Instances crash (losing their copy and outbox) and restart not knowing revocations until they
//! load the log. Users sign in, write, renew, re-authenticate, log out, log out everywhere and
//! sign out other devices with any cookie ever issued, in any order: every old cookie is an
//! attacker's copy.
//!
//! The oracle keeps what each operation promised, from its meaning rather than from the store's
//! records, and checks after every step, on every instance (numbers as in the oracle's checks):
//! 1. a logout answered `Ok` refuses its cookie on its instance and on every instance that has
//!    received it (and after every load: it was durable);
//! 2. once refused, a cookie stays refused on an instance until it expires or the instance
//!    restarts;
//! 3. `Ok` only once durable; a logout that is not durable keeps its cookie; while revocations
//!    are unknown, writes neither succeed nor replace the cookie;
//! 4. no session is refused without a cause that covers it: its own id logged out, a
//!    log-out-everywhere it did not come after, a sign-out-others from a fresher session, a fold
//!    or overflow at or above its stamp (so no attacker can lock the owner out);
//! 5. log-out-everywhere and sign-out-others end exactly what they promise;
//! 6. only an authentication moves a session's absolute deadline, and every cookie is refused
//!    from its absolute deadline on;
//!
//! and, after every full load, that the Redis store's repair (the write-back of what the copy's
//! `entries` yields) would write no store-wide cutoff that no instance recorded.
//!
//! `SIM_SEED` and `SIM_STEPS` override the seeds and the steps per seed, `SIM_SEEDS` the number
//! of seeds; a failure prints the seed and the shortest failing trace found by removing
//! operations.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sealed_session::NotDurableReason;
use sealed_session::adapter::{CookieUpdate, InsertError, RequestInfo, RequestSession};
use sealed_session::clock::ManualClock;
use sealed_session::codec::{SessionState, UnixTime};
use sealed_session::revocation::{
    Confirmation, Cutoff, Generation, MemoryRevocationStore, Revocation, RevocationLimits,
    RevocationStore, Subject,
};
use sealed_session::{KeyRing, OpenError, RevokeError, SessionId, SessionManager};
use time::{Duration, OffsetDateTime};

use crate::{Rng, T0, at, env_u64, lock, secret, set_value};

const INSTANCES: usize = 3;
const USERS: [&str; 3] = ["u0", "u1", "u2"];
const SKEW_SECS: i64 = 60;
const IDLE_SECS: i64 = 300;
const ABSOLUTE_SECS: i64 = 1_200;
/// Cookies the operations pick from: the latest ones, plus a few old copies kept by "attackers".
const POOL: usize = 12;
const KEPT_COPIES: usize = 4;

/// One step of a trace. Cookie and instance numbers are taken modulo what exists, so a trace with
/// steps removed still replays.
#[derive(Clone, Copy, Debug)]
enum Op {
    Tick {
        millis: u32,
    },
    SignIn {
        inst: usize,
        user: usize,
        with: Option<usize>,
    },
    Write {
        inst: usize,
        cookie: usize,
    },
    Read {
        inst: usize,
        cookie: usize,
    },
    Renew {
        inst: usize,
        cookie: usize,
    },
    Reauthenticate {
        inst: usize,
        cookie: usize,
    },
    Logout {
        inst: usize,
        cookie: usize,
    },
    LogoutEverywhere {
        inst: usize,
        cookie: usize,
    },
    SignOutOthers {
        inst: usize,
        cookie: usize,
    },
    Deliver {
        inst: usize,
        count: usize,
    },
    Drop {
        inst: usize,
    },
    Reload {
        inst: usize,
    },
    Flush {
        inst: usize,
    },
    Link {
        inst: usize,
        up: bool,
    },
    Crash {
        inst: usize,
    },
    Load {
        inst: usize,
    },
}

impl Op {
    fn random(rng: &mut Rng) -> Self {
        let inst = rng.below(INSTANCES);
        let cookie = rng.below(1 << 16);
        match rng.below(100) {
            0..=11 => Self::Tick {
                millis: match rng.below(20) {
                    0 => 200_000 + (rng.next() % 400_000) as u32,
                    _ => (rng.next() % 4_000) as u32,
                },
            },
            12..=21 => Self::SignIn {
                inst,
                user: rng.below(USERS.len()),
                with: (rng.below(2) == 0).then_some(cookie),
            },
            22..=29 => Self::Write { inst, cookie },
            30..=35 => Self::Read { inst, cookie },
            36..=40 => Self::Renew { inst, cookie },
            41..=43 => Self::Reauthenticate { inst, cookie },
            44..=50 => Self::Logout { inst, cookie },
            51..=55 => Self::LogoutEverywhere { inst, cookie },
            56..=65 => Self::SignOutOthers { inst, cookie },
            66..=79 => Self::Deliver {
                inst,
                count: 1 + rng.below(4),
            },
            80..=82 => Self::Drop { inst },
            83..=84 => Self::Reload { inst },
            85..=90 => Self::Flush { inst },
            91..=94 => Self::Link {
                inst,
                up: rng.below(3) != 0,
            },
            95..=96 => Self::Crash { inst },
            _ => Self::Load { inst },
        }
    }
}

/// What the simulated Redis holds: every revocation flushed, in order, with the operation that
/// recorded it.
#[derive(Default)]
struct Log {
    entries: Vec<(usize, Revocation)>,
}

/// One instance's revocation store: a local copy, an outbox to the log, a link and a "loaded"
/// flag, behind the trait the lifecycle uses.
#[derive(Debug)]
struct SimStore {
    local: Mutex<Arc<MemoryRevocationStore>>,
    outbox: Mutex<Vec<(usize, Revocation)>>,
    /// Entries recorded here (own operations), by operation: what this instance knows.
    recorded: Mutex<Vec<usize>>,
    log: Arc<Mutex<Log>>,
    /// The operation being run, which the store tags its records with.
    op: Mutex<usize>,
    link_up: AtomicBool,
    loaded: AtomicBool,
    limits: RevocationLimits,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Log({} entries)", self.entries.len())
    }
}

impl SimStore {
    fn new(log: Arc<Mutex<Log>>, limits: RevocationLimits) -> Self {
        Self {
            local: Mutex::new(Arc::new(MemoryRevocationStore::with_limits(limits))),
            outbox: Mutex::default(),
            recorded: Mutex::default(),
            log,
            op: Mutex::new(usize::MAX),
            link_up: AtomicBool::new(true),
            loaded: AtomicBool::new(true),
            limits,
        }
    }

    fn local(&self) -> Arc<MemoryRevocationStore> {
        lock(&self.local).clone()
    }

    fn record(&self, recorded: &Option<Revocation>) {
        if let Some(revocation) = recorded {
            let op = *lock(&self.op);
            lock(&self.outbox).push((op, revocation.clone()));
            lock(&self.recorded).push(op);
        }
    }

    /// The writer: moves the outbox to the log while the link is up.
    fn flush(&self) -> bool {
        if !self.link_up.load(Ordering::SeqCst) {
            return lock(&self.outbox).is_empty();
        }
        let mut outbox = lock(&self.outbox);
        lock(&self.log).entries.append(&mut outbox);
        true
    }

    /// A crash: the local copy and the outbox are gone; the restart does not know revocations
    /// until it loads the log.
    fn crash(&self) {
        *lock(&self.local) = Arc::new(MemoryRevocationStore::with_limits(self.limits));
        lock(&self.outbox).clear();
        lock(&self.recorded).clear();
        self.loaded.store(false, Ordering::SeqCst);
    }
}

impl RevocationStore for SimStore {
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool {
        self.local().is_revoked(id, subject, now)
    }

    fn generation(&self, subject: &str) -> Generation {
        self.local().generation(subject)
    }

    fn authentication_stamp(&self, subject: &str, at: Generation) -> Generation {
        self.local().authentication_stamp(subject, at)
    }

    fn revoke(&self, r: Revocation, now: UnixTime) -> Result<Option<Revocation>, RevokeError> {
        let recorded = match self.local().revoke(r.clone(), now) {
            Ok(recorded) => recorded,
            Err(err @ RevokeError::Superseded { .. }) => {
                // As the Redis store does: refused here perhaps only by this copy's own
                // coarsening (a store-wide cutoff raised for others' revocations, a fold), so
                // the exact revocation is shared all the same.
                self.record(&Some(r));
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        self.record(&recorded);
        Ok(recorded)
    }

    fn advance(
        &self,
        subject: &str,
        cutoff: Cutoff,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        let recorded = self.local().advance(subject, cutoff, until, now)?;
        self.record(&recorded);
        Ok(recorded)
    }

    fn settle(&self) -> Confirmation {
        Confirmation::ready(if self.flush() {
            Ok(())
        } else {
            Err(RevokeError::NotDurable {
                waited: std::time::Duration::ZERO,
                reason: NotDurableReason::RedisUnreachable,
            })
        })
    }

    fn revocations_known(&self) -> bool {
        self.loaded.load(Ordering::SeqCst)
    }
}

struct Instance {
    lifecycle: SessionManager,
    store: Arc<SimStore>,
    clock: Arc<ManualClock>,
    offset: Duration,
    /// Log entries not applied here yet (by index), and those the channel dropped.
    pending: Vec<usize>,
    dropped: HashSet<usize>,
    /// Entries applied here, per operation (own records included).
    known: HashMap<usize, usize>,
    /// Cookies seen refused as revoked here: they must stay so (check 2).
    refused: HashSet<usize>,
    /// Crashes so far: what this instance promised before one holds again only once it has
    /// loaded the log.
    epoch: u64,
}

impl Instance {
    fn knows_any(&self, op: usize) -> bool {
        self.known.get(&op).is_some_and(|n| *n > 0)
    }

    /// The first log entry not applied here: every entry before it is.
    fn applied_up_to(&self, log_len: usize) -> usize {
        self.pending
            .iter()
            .chain(self.dropped.iter())
            .copied()
            .min()
            .unwrap_or(log_len)
            .min(log_len)
    }

    fn now(&self) -> OffsetDateTime {
        self.lifecycle.now()
    }
}

/// A cookie ever issued, as the oracle knows it.
#[derive(Clone)]
struct Cookie {
    value: String,
    id: SessionId,
    subject: Option<Subject>,
    created: u64,
    last_active: u64,
    step: usize,
    /// The issuing instance's cutoff of the subject when it was signed in.
    cutoff_seen: Generation,
    /// The log-out-everywhere operations of its subject its instance knew of when it was signed
    /// in.
    knew: Vec<usize>,
}

impl Cookie {
    fn stamp(&self) -> Option<Generation> {
        self.subject.as_ref().map(Subject::generation)
    }

    fn user(&self) -> Option<&str> {
        self.subject.as_ref().map(Subject::name)
    }

    fn expired(&self, now: OffsetDateTime) -> bool {
        let now = UnixTime::from(now).secs();
        now >= self.created + ABSOLUTE_SECS as u64 || now >= self.last_active + IDLE_SECS as u64
    }
}

/// What an operation promised, by meaning.
#[derive(Clone, Debug)]
enum Promise {
    /// The session `id` is logged out.
    Kill(SessionId),
    /// Every session of the subject signed in before it, where the cutoff seen was no later.
    Everything { cutoff_seen: Generation },
    /// Every session of the subject authenticated before `stamp`.
    OlderThan { stamp: Generation },
    /// A fold: sessions of the subject stamped at or below `stamp`.
    Fold { stamp: Generation },
    /// An overflow: every signed-in session stamped below `generation`.
    Everyone { generation: Generation },
}

struct Fact {
    op: usize,
    step: usize,
    /// The instance that made it, and its epoch then: there it holds at once.
    origin: (usize, u64),
    /// The log's length after it: an acknowledged operation was durable, so an instance that
    /// has applied every entry before this mark holds it, whatever else it knew.
    log_mark: usize,
    /// The world's time when it was made: facts older than every live cookie are dropped.
    at: OffsetDateTime,
    subject: Option<String>,
    promise: Promise,
    acked: bool,
    /// Set for what an instance's copy made coarser alone, applying another's revocation past
    /// its limits for those (`RevocationLimits::remote_total`, 8 times `per_subject`): a cause
    /// on that instance in that epoch only, never shared.
    only_on: Option<(usize, u64)>,
}

struct World {
    instances: Vec<Instance>,
    log: Arc<Mutex<Log>>,
    cookies: Vec<Cookie>,
    /// Indexes of the cookies operations pick from.
    pool: Vec<usize>,
    facts: Vec<Fact>,
    /// Log entries already handed to the instances' pending lists.
    synced: usize,
    step: usize,
    /// The instance the current operation runs on.
    current: usize,
    rng: Rng,
}

/// A broken invariant, with the step and what was seen.
struct Violation(String);

type Checked = Result<(), Violation>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(Violation(format!($($arg)*)));
        }
    };
}

impl World {
    fn new(seed: u64) -> Self {
        let log = Arc::new(Mutex::new(Log::default()));
        let mut rng = Rng(seed);
        // Small enough that folds and overflows happen all the time, the room for other
        // instances' revocations included (a user with a revoked id takes both its units).
        let limits = RevocationLimits::new()
            .per_subject(2)
            .total(6)
            .remote_total(2);
        let instances = (0..INSTANCES)
            .map(|_| {
                let store = Arc::new(SimStore::new(log.clone(), limits));
                // Offsets within +-30 s: any two clocks differ by at most the 60 s allowance.
                let offset = Duration::milliseconds(
                    i64::try_from(rng.next() % 60_001).expect("small") - 30_000,
                );
                let clock = Arc::new(ManualClock::new(at(T0) + offset));
                let lifecycle = SessionManager::builder(KeyRing::new(secret(1)))
                    .idle_timeout(Duration::seconds(IDLE_SECS))
                    .absolute_timeout(Duration::seconds(ABSOLUTE_SECS))
                    .clock_skew(Duration::seconds(SKEW_SECS))
                    .clock(clock.clone())
                    .revocation_store(store.clone())
                    .build()
                    .expect("valid settings");
                Instance {
                    lifecycle,
                    store,
                    clock,
                    offset,
                    pending: Vec::new(),
                    dropped: HashSet::new(),
                    known: HashMap::new(),
                    refused: HashSet::new(),
                    epoch: 0,
                }
            })
            .collect();
        Self {
            instances,
            log,
            cookies: Vec::new(),
            pool: Vec::new(),
            facts: Vec::new(),
            synced: 0,
            step: 0,
            current: 0,
            rng,
        }
    }

    fn pick(&self, n: usize) -> Option<usize> {
        (!self.pool.is_empty()).then(|| self.pool[n % self.pool.len()])
    }

    fn request(&self, inst: usize, cookie: Option<usize>) -> RequestSession {
        let instance = &self.instances[inst];
        let header = cookie.map(|c| {
            format!(
                "{}={}",
                instance.lifecycle.cookie_name(),
                self.cookies[c].value
            )
        });
        instance
            .lifecycle
            .open(header.iter().map(String::as_bytes), RequestInfo::new("/"))
    }

    /// Runs one operation, then every check.
    fn run(&mut self, op: Op) -> Checked {
        self.step += 1;
        for inst in &self.instances {
            *lock(&inst.store.op) = self.step;
        }
        self.current = match op {
            Op::Tick { .. } => 0,
            Op::SignIn { inst, .. }
            | Op::Write { inst, .. }
            | Op::Read { inst, .. }
            | Op::Renew { inst, .. }
            | Op::Reauthenticate { inst, .. }
            | Op::Logout { inst, .. }
            | Op::LogoutEverywhere { inst, .. }
            | Op::SignOutOthers { inst, .. }
            | Op::Deliver { inst, .. }
            | Op::Drop { inst }
            | Op::Reload { inst }
            | Op::Flush { inst }
            | Op::Link { inst, .. }
            | Op::Crash { inst }
            | Op::Load { inst } => inst,
        };
        if debug() {
            eprintln!("step {} {op:?}", self.step);
        }
        self.apply(op)?;
        self.sync_log();
        self.check()
    }

    /// Moves new log entries into each instance's pending list.
    fn sync_log(&mut self) {
        let total = lock(&self.log).entries.len();
        for index in self.synced..total {
            for inst in &mut self.instances {
                inst.pending.push(index);
            }
        }
        self.synced = total;
    }

    fn apply(&mut self, op: Op) -> Checked {
        match op {
            Op::Tick { millis } => {
                for inst in &self.instances {
                    inst.clock
                        .advance(Duration::milliseconds(i64::from(millis)));
                }
                let now = self.instances[0].now() - self.instances[0].offset;
                // Expired cookies leave the pool.
                let live: Vec<usize> = self
                    .pool
                    .iter()
                    .copied()
                    .filter(|c| !self.cookies[*c].expired(now - Duration::seconds(SKEW_SECS)))
                    .collect();
                self.pool = live;
                // A fact can only cover sessions authenticated before it was made, or stamped
                // (at most two clock skews ahead) below a stamp of its time: past an absolute
                // timeout and a few skews, every session it covers has expired.
                let horizon = now - Duration::seconds(ABSOLUTE_SECS + 4 * SKEW_SECS);
                self.facts.retain(|f| f.at >= horizon);
                Ok(())
            }
            Op::SignIn { inst, user, with } => {
                self.sign_in(inst, user, with.and_then(|c| self.pick(c)))
            }
            Op::Write { inst, cookie } => self.write(inst, self.pick(cookie)),
            Op::Read { inst, cookie } => match self.pick(cookie) {
                Some(c) => {
                    let mut session = self.request(inst, Some(c));
                    let cookie = &self.cookies[c];
                    let now = UnixTime::from(session.now()).secs();
                    // Check 6: refused from its absolute deadline on, whatever happened to it.
                    if now >= cookie.created + ABSOLUTE_SECS as u64 {
                        ensure!(
                            session.refusal() == Some(OpenError::ExpiredAbsolute),
                            "6: a cookie past its absolute deadline was {:?}",
                            session.refusal()
                        );
                    }
                    let update = session.finish().expect("sealed");
                    self.issued(inst, &session, &update, Some(c), false)
                }
                None => Ok(()),
            },
            Op::Renew { inst, cookie } => self.renew(inst, cookie, false),
            Op::Reauthenticate { inst, cookie } => self.renew(inst, cookie, true),
            Op::Logout { inst, cookie } => self.logout(inst, cookie),
            Op::LogoutEverywhere { inst, cookie } => self.logout_everywhere(inst, cookie),
            Op::SignOutOthers { inst, cookie } => self.sign_out_others(inst, cookie),
            Op::Deliver { inst, count } => {
                for _ in 0..count {
                    let pending = &self.instances[inst].pending;
                    if pending.is_empty() {
                        break;
                    }
                    let at = self.rng.below(pending.len());
                    self.deliver(inst, at);
                }
                Ok(())
            }
            Op::Drop { inst } => {
                let pending = &mut self.instances[inst].pending;
                if !pending.is_empty() {
                    let at = self.rng.below(pending.len());
                    let index = pending.swap_remove(at);
                    self.instances[inst].dropped.insert(index);
                }
                Ok(())
            }
            Op::Reload { inst } | Op::Load { inst } => {
                if matches!(op, Op::Load { .. })
                    || self.instances[inst].store.loaded.load(Ordering::SeqCst)
                {
                    self.load(inst)?;
                }
                Ok(())
            }
            Op::Flush { inst } => {
                self.instances[inst].store.flush();
                Ok(())
            }
            Op::Link { inst, up } => {
                self.instances[inst]
                    .store
                    .link_up
                    .store(up, Ordering::SeqCst);
                Ok(())
            }
            Op::Crash { inst } => {
                let instance = &mut self.instances[inst];
                instance.store.crash();
                instance.known.clear();
                instance.refused.clear();
                instance.epoch += 1;
                instance.dropped.clear();
                instance.pending.clear();
                Ok(())
            }
        }
    }

    fn deliver(&mut self, inst: usize, at: usize) {
        let index = self.instances[inst].pending.swap_remove(at);
        self.apply_entry(inst, index);
    }

    /// A full load (a read of the stream from its start): every log entry, in order; then the
    /// check that the Redis store's repair, which writes back what `entries` yields, would add
    /// no store-wide cutoff that no instance recorded (one a copy raised alone, past its room
    /// for others' revocations, would end every instance's sessions).
    fn load(&mut self, inst: usize) -> Checked {
        let entries = lock(&self.log).entries.len();
        self.instances[inst].known = HashMap::new();
        for index in 0..entries {
            self.apply_entry(inst, index);
        }
        let instance = &mut self.instances[inst];
        let everyone = |revocation: &Revocation| match revocation {
            Revocation::Everyone { generation, .. } => Some(*generation),
            _ => None,
        };
        let recorded = lock(&self.log)
            .entries
            .iter()
            .chain(lock(&instance.store.outbox).iter())
            .filter_map(|(_, revocation)| everyone(revocation))
            .max();
        let yielded = instance
            .store
            .local()
            .entries(UnixTime::from(instance.now()))
            .filter_map(|revocation| everyone(&revocation))
            .max();
        ensure!(
            yielded <= recorded,
            "repair: instance {inst} would write a store-wide cutoff {yielded:?} above any \
             recorded ({recorded:?})"
        );
        // What this instance recorded itself and has not flushed stays known too.
        for op in lock(&instance.store.outbox).iter().map(|(op, _)| *op) {
            *instance.known.entry(op).or_default() += 1;
        }
        instance.pending.clear();
        instance.dropped.clear();
        instance.store.loaded.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Records what a request issued: a new cookie, checked against the one it came with.
    fn issued(
        &mut self,
        inst: usize,
        session: &RequestSession,
        update: &CookieUpdate,
        from: Option<usize>,
        authenticated: bool,
    ) -> Checked {
        let value = match update {
            CookieUpdate::Set(_) | CookieUpdate::Refresh(_) => set_value(update),
            _ => return Ok(()),
        };
        let instance = &self.instances[inst];
        let state: SessionState = instance
            .lifecycle
            .codec()
            .open_at(&value, session.now())
            .expect("a cookie just issued opens")
            .into_state();
        let subject = state.subject_generation().cloned();
        let created = state.created_unix().secs();
        // Check 6: only an authentication moves the absolute deadline.
        if let Some(from) = from
            && !authenticated
            && session.incoming() == &sealed_session::IncomingCookie::Valid
        {
            let before = &self.cookies[from];
            ensure!(
                before.created == created,
                "6: a cookie issued without authentication moved its absolute deadline from {} to {created}",
                before.created
            );
            ensure!(
                before.stamp() == subject.as_ref().map(Subject::generation),
                "3: a session's stamp changed without an authentication"
            );
        }
        let user = subject.as_ref().map(|s| s.name().to_owned());
        let knew = self
            .facts
            .iter()
            .filter(|f| {
                matches!(f.promise, Promise::Everything { .. })
                    && f.subject == user
                    && instance.knows_any(f.op)
            })
            .map(|f| f.op)
            .collect();
        let mut cutoff_seen = user
            .as_deref()
            .map_or(Generation::ZERO, |u| instance.store.generation(u));
        if let Some(from) =
            from.filter(|_| session.incoming() == &sealed_session::IncomingCookie::Valid)
        {
            // A session renewed or re-authenticated from another carries what its stamp was
            // built on: the cutoff that other session's instance knew (invariant 4's bound).
            cutoff_seen = cutoff_seen.max(self.cookies[from].cutoff_seen);
        }
        let cookie = Cookie {
            value,
            id: state.id(),
            subject,
            created,
            last_active: state.last_active_unix().secs(),
            step: self.step,
            cutoff_seen,
            knew,
        };
        if debug() {
            eprintln!(
                "  cookie #{} inst {inst} {:?} stamp {:?} cutoff_seen {:?} created {}",
                self.cookies.len(),
                cookie.user(),
                cookie.stamp(),
                cookie.cutoff_seen,
                cookie.created
            );
        }
        self.cookies.push(cookie);
        let index = self.cookies.len() - 1;
        self.pool.push(index);
        if self.pool.len() > POOL + KEPT_COPIES {
            // Keep a few old copies (the attacker's) and the latest ones.
            let drop_at = KEPT_COPIES + self.rng.below(self.pool.len() - KEPT_COPIES - 1);
            self.pool.remove(drop_at);
        }
        Ok(())
    }

    fn fact(&mut self, subject: Option<&str>, promise: Promise, acked: bool) {
        if debug() {
            eprintln!("  fact {subject:?} {promise:?} acked={acked}");
        }
        let at = self.instances[0].now() - self.instances[0].offset;
        let inst = self.current;
        let log_mark = lock(&self.log).entries.len();
        self.facts.push(Fact {
            op: self.step,
            step: self.step,
            origin: (inst, self.instances[inst].epoch),
            log_mark,
            at,
            subject: subject.map(str::to_owned),
            promise,
            acked,
            only_on: None,
        });
    }

    /// Applies log entry `index` on `inst`, as the Redis store's copy does, with a fact for
    /// what the copy recorded coarser than the entry (a fold, or its own store-wide cutoff).
    fn apply_entry(&mut self, inst: usize, index: usize) {
        let (op, revocation) = lock(&self.log).entries[index].clone();
        let instance = &self.instances[inst];
        let now = UnixTime::from(instance.now());
        let local = instance.store.local();
        let counts = |local: &MemoryRevocationStore| (local.overflows(), local.folds());
        // A name no user has: its generation is the store-wide cutoff.
        let everyone = |local: &MemoryRevocationStore| local.generation("\0nobody");
        let (before, everyone_before) = (counts(&local), everyone(&local));
        local.apply(&revocation, now);
        *self.instances[inst].known.entry(op).or_default() += 1;
        if counts(&local) == before {
            return;
        }
        let (subject, promise) = if everyone(&local) > everyone_before {
            let generation = everyone(&local);
            (None, Promise::Everyone { generation })
        } else if let Revocation::Session {
            subject: Some(subject),
            ..
        } = &revocation
        {
            let stamp = subject.generation();
            (Some(subject.name().to_owned()), Promise::Fold { stamp })
        } else {
            return;
        };
        if debug() {
            eprintln!("  coarser on {inst}: {subject:?} {promise:?}");
        }
        let epoch = self.instances[inst].epoch;
        self.facts.push(Fact {
            op,
            step: self.step,
            origin: (inst, epoch),
            log_mark: lock(&self.log).entries.len(),
            at: self.instances[0].now() - self.instances[0].offset,
            subject,
            promise,
            acked: false,
            only_on: Some((inst, epoch)),
        });
    }

    /// The facts a revoking call's records add beyond what it promised: folds and overflows,
    /// each checked against the session it revoked.
    fn coarser(
        &mut self,
        inst: usize,
        revoked_stamp: Option<Generation>,
        promised: Option<Generation>,
        user: Option<&str>,
    ) -> Checked {
        let records: Vec<Revocation> = lock(&self.instances[inst].store.outbox)
            .iter()
            .filter(|(op, _)| *op == self.step)
            .map(|(_, r)| r.clone())
            .chain(
                lock(&self.log)
                    .entries
                    .iter()
                    .filter(|(op, _)| *op == self.step)
                    .map(|(_, r)| r.clone()),
            )
            .collect();
        for record in records {
            match record {
                // A sign-out-others' own cutoff is what it promised, not a fold.
                Revocation::Subject { generation, .. }
                    if revoked_stamp.is_some() && Some(generation) != promised =>
                {
                    let stamp = revoked_stamp.expect("checked");
                    ensure!(
                        generation == stamp.next(),
                        "6: a fold set {generation} for a session stamped {stamp}"
                    );
                    self.fact(user, Promise::Fold { stamp }, false);
                }
                Revocation::Everyone { generation, .. } => {
                    self.fact(None, Promise::Everyone { generation }, false);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn mark_known(&mut self, inst: usize) {
        let step = self.step;
        let recorded = lock(&self.instances[inst].store.recorded)
            .iter()
            .filter(|op| **op == step)
            .count();
        if recorded > 0 {
            *self.instances[inst].known.entry(step).or_default() += recorded;
        }
    }

    fn durable(&self, inst: usize, what: &str) -> Checked {
        let step = self.step;
        ensure!(
            !lock(&self.instances[inst].store.outbox)
                .iter()
                .any(|(op, _)| *op == step),
            "3: {what} answered Ok before it was durable"
        );
        Ok(())
    }

    fn sign_in(&mut self, inst: usize, user: usize, with: Option<usize>) -> Checked {
        let mut session = self.request(inst, with);
        let previous = session.state().or(None).cloned();
        let result = session.sign_in(USERS[user]);
        self.mark_known(inst);
        let previous_cookie = with.map(|c| self.cookies[c].clone());
        if let Some(prev) = previous_cookie.as_ref().filter(|c| c.subject.is_some()) {
            let acked = result.is_ok()
                && (previous.is_some() || session.refusal() == Some(OpenError::RevocationUnknown));
            self.fact(prev.user(), Promise::Kill(prev.id), acked);
            if acked {
                self.durable(inst, "a sign-in's revocation of the session it replaced")?;
            }
            self.coarser(inst, prev.stamp(), None, prev.user())?;
        }
        let update = session.finish().expect("sealed");
        self.issued(inst, &session, &update, with, true)
    }

    fn write(&mut self, inst: usize, cookie: Option<usize>) -> Checked {
        let mut session = self.request(inst, cookie);
        let unknown = session.refusal() == Some(OpenError::RevocationUnknown);
        let result = session.insert("n", &self.step);
        let update = session.finish().expect("sealed");
        if unknown {
            ensure!(
                result == Err(InsertError::RevocationsUnknown),
                "3: a write with a cookie the store can't check yet was {result:?}"
            );
            ensure!(
                update == CookieUpdate::None,
                "3: a write before the first load replaced a signed-in cookie"
            );
            return Ok(());
        }
        result.expect("a small value fits");
        self.issued(inst, &session, &update, cookie, false)
    }

    fn renew(&mut self, inst: usize, cookie: usize, reauthenticate: bool) -> Checked {
        let Some(c) = self.pick(cookie) else {
            return Ok(());
        };
        let mut session = self.request(inst, Some(c));
        let valid = session.state().is_some();
        let result = if reauthenticate {
            session.reauthenticate().map(|_| ())
        } else {
            session.renew()
        };
        self.mark_known(inst);
        let cookie = self.cookies[c].clone();
        if valid && cookie.subject.is_some() {
            self.fact(cookie.user(), Promise::Kill(cookie.id), result.is_ok());
            if result.is_ok() {
                self.durable(inst, "a renewal")?;
            }
            self.coarser(inst, cookie.stamp(), None, cookie.user())?;
        }
        let update = session.finish().expect("sealed");
        self.issued(inst, &session, &update, Some(c), reauthenticate)
    }

    fn logout(&mut self, inst: usize, cookie: usize) -> Checked {
        let Some(c) = self.pick(cookie) else {
            return Ok(());
        };
        let mut session = self.request(inst, Some(c));
        // Idle-expired cookies too: a copy kept active elsewhere has the same id. Revoked ones
        // too: perhaps only by this copy's own coarsening, so the logout shares their id.
        let held = session.state().is_some()
            || matches!(
                session.refusal(),
                Some(OpenError::RevocationUnknown | OpenError::ExpiredIdle | OpenError::Revoked)
            );
        let result = session.purge();
        self.mark_known(inst);
        let update = session.finish().expect("sealed");
        let cookie = self.cookies[c].clone();
        match &result {
            Ok(()) => {
                self.durable(inst, "a logout")?;
                if held && cookie.subject.is_some() {
                    self.fact(cookie.user(), Promise::Kill(cookie.id), true);
                }
            }
            Err(err) => {
                ensure!(
                    !matches!(update, CookieUpdate::Remove(_)),
                    "3: a logout that failed ({err}) removed the cookie"
                );
                if held && cookie.subject.is_some() {
                    self.fact(cookie.user(), Promise::Kill(cookie.id), false);
                }
            }
        }
        if held {
            self.coarser(inst, cookie.stamp(), None, cookie.user())?;
        }
        Ok(())
    }

    fn logout_everywhere(&mut self, inst: usize, cookie: usize) -> Checked {
        let Some(c) = self.pick(cookie) else {
            return Ok(());
        };
        let cookie = self.cookies[c].clone();
        let Some(user) = cookie.user().map(str::to_owned) else {
            return Ok(());
        };
        let cutoff_seen = self.instances[inst].store.generation(&user);
        let mut session = self.request(inst, Some(c));
        let unknown = session.refusal() == Some(OpenError::RevocationUnknown);
        let held = session.state().is_some();
        let result = session.purge_subject();
        self.mark_known(inst);
        let update = session.finish().expect("sealed");
        if unknown {
            // A cookie the store can't check yet may be dead: it records nothing (check 3).
            ensure!(
                result.as_ref().is_err_and(RevokeError::is_not_durable),
                "3: a log-out-everywhere before the first load was {result:?}"
            );
            ensure!(
                update == CookieUpdate::None,
                "3: a log-out-everywhere before the first load changed the cookie"
            );
            return Ok(());
        }
        if !held {
            return Ok(());
        }
        let acked = matches!(result, Ok(true));
        if acked {
            self.durable(inst, "a log-out-everywhere")?;
        } else {
            ensure!(
                !matches!(update, CookieUpdate::Remove(_)),
                "3: a log-out-everywhere that failed removed the cookie"
            );
        }
        self.fact(Some(&user), Promise::Everything { cutoff_seen }, acked);
        self.coarser(inst, None, None, Some(&user))
    }

    fn sign_out_others(&mut self, inst: usize, cookie: usize) -> Checked {
        let Some(c) = self.pick(cookie) else {
            return Ok(());
        };
        let cookie = self.cookies[c].clone();
        let (Some(user), Some(stamp)) = (cookie.user().map(str::to_owned), cookie.stamp()) else {
            return Ok(());
        };
        let mut session = self.request(inst, Some(c));
        let unknown = session.refusal() == Some(OpenError::RevocationUnknown);
        let held = session.state().is_some();
        let result = session.purge_other_sessions();
        self.mark_known(inst);
        if unknown {
            ensure!(
                result.is_err(),
                "3: a sign-out-others before the first load was {result:?}"
            );
        }
        let acked = matches!(result, Ok(true));
        if held {
            self.fact(Some(&user), Promise::OlderThan { stamp }, acked);
            if session.state().is_some() || acked {
                self.fact(Some(&user), Promise::Kill(cookie.id), acked);
            }
            if acked {
                self.durable(inst, "a sign-out-others")?;
            }
            self.coarser(inst, Some(stamp), Some(stamp), Some(&user))?;
        }
        let update = session.finish().expect("sealed");
        self.issued(inst, &session, &update, Some(c), false)
    }

    /// Checks 1, 2, 4 and 5 on every instance for every cookie of the pool, and 6's expiry.
    fn check(&mut self) -> Checked {
        for i in 0..self.instances.len() {
            let instance = &self.instances[i];
            if !instance.store.loaded.load(Ordering::SeqCst) {
                continue;
            }
            let now = instance.now();
            let local = instance.store.local();
            let mut refused_now = Vec::new();
            let applied_up_to = instance.applied_up_to(lock(&self.log).entries.len());
            for &c in &self.pool {
                let cookie = &self.cookies[c];
                if cookie.expired(now) {
                    continue;
                }
                let revoked = local.is_revoked(cookie.id, cookie.subject.as_ref(), now.into());
                if revoked {
                    refused_now.push(c);
                } else {
                    ensure!(
                        !instance.refused.contains(&c),
                        "2: instance {i} refused cookie #{c} earlier and now serves it"
                    );
                }
                let mut must = None;
                let mut allowed = false;
                for fact in &self.facts {
                    if fact.only_on.is_some_and(|only| only != (i, instance.epoch)) {
                        continue;
                    }
                    let covers_must = self.covers(fact, cookie, true);
                    let covers = covers_must || self.covers(fact, cookie, false);
                    if !covers {
                        continue;
                    }
                    let holds_here =
                        fact.origin == (i, instance.epoch) || fact.log_mark <= applied_up_to;
                    if fact.acked && covers_must && holds_here {
                        must = Some(fact);
                    }
                    if instance.knows_any(fact.op) {
                        allowed = true;
                    }
                }
                if let Some(fact) = must {
                    ensure!(
                        revoked,
                        "1/5: instance {i} serves cookie #{c} ({}) that {:?} at step {} ended",
                        cookie.user().unwrap_or("-"),
                        fact.promise,
                        fact.step
                    );
                }
                ensure!(
                    !revoked || allowed,
                    "4: instance {i} refuses cookie #{c} ({}, stamp {:?}, issued at step {}) with no cause",
                    cookie.user().unwrap_or("-"),
                    cookie.stamp(),
                    cookie.step
                );
            }
            self.instances[i].refused.extend(refused_now);
        }
        Ok(())
    }

    /// Whether `fact` covers `cookie`: as promised (`must`), or as it may (a coarser record).
    fn covers(&self, fact: &Fact, cookie: &Cookie, must: bool) -> bool {
        let same_subject = fact.subject.is_some() && fact.subject.as_deref() == cookie.user();
        match &fact.promise {
            Promise::Kill(id) => *id == cookie.id,
            Promise::Everything { cutoff_seen } => {
                same_subject
                    && if must {
                        cookie.step < fact.step && cookie.cutoff_seen <= *cutoff_seen
                    } else {
                        cookie.step <= fact.step || !cookie.knew.contains(&fact.op)
                    }
            }
            Promise::OlderThan { stamp } => {
                same_subject && cookie.stamp().is_some_and(|s| s < *stamp)
            }
            Promise::Fold { stamp } => {
                !must && same_subject && cookie.stamp().is_some_and(|s| s <= *stamp)
            }
            Promise::Everyone { generation } => {
                !must && cookie.stamp().is_some_and(|s| s < *generation)
            }
        }
    }
}

/// Runs `ops` on a fresh world of `seed`; the first broken invariant, with its step.
fn replay(seed: u64, ops: &[Op]) -> Result<(), (usize, String)> {
    let mut world = World::new(seed);
    for (n, op) in ops.iter().enumerate() {
        world.run(*op).map_err(|Violation(what)| (n, what))?;
    }
    Ok(())
}

/// The shortest failing trace found by removing chunks of operations (halving their size) while
/// the run still breaks an invariant, within a budget of replays.
fn shrink(seed: u64, mut ops: Vec<Op>) -> Vec<Op> {
    let mut budget = 300;
    let mut chunk = ops.len() / 2;
    while chunk >= 1 && budget > 0 {
        let mut start = 0;
        while start < ops.len() && budget > 0 {
            let mut candidate = ops.clone();
            let end = (start + chunk).min(candidate.len());
            candidate.drain(start..end);
            budget -= 1;
            match replay(seed, &candidate) {
                Err((at, _)) => {
                    candidate.truncate(at + 1);
                    ops = candidate;
                }
                Ok(()) => start += chunk,
            }
        }
        chunk /= 2;
    }
    ops
}

/// `SIM_DEBUG=1` prints each step, fact and cookie of the shrunk trace's replay.
fn debug() -> bool {
    std::env::var_os("SIM_DEBUG").is_some()
}

#[test]
fn invariants_hold_under_random_interleavings() {
    // Eight worlds of 12,500 steps: 10^5 steps per run (`SIM_SEEDS` worlds instead: CI's
    // `simulation` step runs more in an optimized build). `SIM_SEED` runs one world of that
    // seed (`SIM_STEPS` long) instead, to replay a failure.
    let steps = env_u64("SIM_STEPS").map_or(12_500, |n| usize::try_from(n).expect("fits"));
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("SIM_SEEDS").unwrap_or(8))
            .map(|n| 0x5EA1_ED00 + n)
            .collect(),
    };
    let mut total = 0;
    for seed in seeds {
        let mut rng = Rng(seed ^ 0xA5A5_A5A5);
        let ops: Vec<Op> = (0..steps).map(|_| Op::random(&mut rng)).collect();
        if let Err((at, what)) = replay(seed, &ops) {
            let trace = shrink(seed, ops[..=at].to_vec());
            let (_, shrunk_what) = replay(seed, &trace).expect_err("the shrunk trace still fails");
            let lines: Vec<String> = trace.iter().map(|op| format!("  {op:?}")).collect();
            panic!(
                "seed {seed} (SIM_SEED={seed} SIM_STEPS={steps}): step {at}: {what}\n\
                 shortest failing trace found ({} steps): {shrunk_what}\n{}",
                trace.len(),
                lines.join("\n")
            );
        }
        total += steps;
        println!("seed {seed}: {steps} steps, every invariant held");
    }
    assert!(total >= 10_000, "the simulation ran {total} steps");
}

#[test]
fn the_oracle_catches_a_store_that_forgets_a_logout() {
    // A mutation check of the oracle itself: a world whose logouts are answered `Ok` without
    // being recorded must fail check 1 or 3 (a test that can't fail proves nothing).
    let mut world = World::new(7);
    world
        .run(Op::SignIn {
            inst: 0,
            user: 0,
            with: None,
        })
        .map_err(|v| v.0)
        .unwrap();
    // Forge the promise of a logout that nothing recorded.
    let c = world.pool[0];
    let id = world.cookies[c].id;
    world.fact(Some("u0"), Promise::Kill(id), true);
    let Err(Violation(what)) = world.check() else {
        panic!("the oracle missed a logout that was not recorded");
    };
    assert!(what.starts_with("1/5"), "{what}");
}
