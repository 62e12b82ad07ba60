//! One request's revoking calls against the shared store's confirmations answered in any order:
//! invariant 8 of `docs/security.md` ("Waiting for a logout holds no thread, and only the logout
//! waits"), and through it invariant 2 (a logout answered `Ok` is durable; otherwise a typed
//! error, and the cookie kept).
//!
//! What it explores. One request, on the async `Session` handle its handlers share, makes the
//! six revoking calls (`purge`, `purge_subject`, `purge_other_sessions`, `renew`,
//! `reauthenticate`, `sign_in`) and writes; it polls one waiting call or all of them, and drops
//! some unanswered (a timeout layer, a client gone). Meanwhile another request logs a user out
//! everywhere, and the store changes how it answers `settle`: `Ok` at once, an error at once, or
//! later. Each later answer has a slot of its own, which the checker answers `Ok` or with an
//! error at any point and in any order. The request's cookie is valid, revoked by a confirmed
//! logout elsewhere, missing, or one the store can't check yet (`revocations_known` false, then
//! true); the store lists 1, 2 or the default number of revoked ids per user, so revocations
//! fold into cutoffs. At the end, either every slot is answered and every call polled, or the
//! response is decided while calls still wait. The store numbers what it records, notes which
//! records the request made, and which records each ask covers: every one made before it
//! (`settle`'s contract).
//!
//! Two drivers make the request's calls. The first ([`Driver::Handle`]) is the async handle
//! above. The second ([`Driver::WithoutBlocking`]) is a plain `RequestSession`, as the
//! actix-session store's `write` uses it: each revoking op is one
//! `RequestSession::without_blocking` closure making 1 to 3 synchronous calls among `purge`,
//! `purge_subject`, `purge_other_sessions`, `renew`, `reauthenticate`, `sign_in` and `insert`,
//! stopping at the first error (the closure's answer). Its future borrows the session, so only
//! one lives at a time: polled like the handle's calls, it is polled once more before the next
//! op that touches the session (another closure, a write, the response) and dropped if it
//! still waits, a real case ("a logout after one whose future was dropped while it waited waits
//! for that confirmation too").
//!
//! In what follows, an `Ok` the request *saw* is the answer to an ask of the request that
//! reached it (a `settle` answered at once during one of its calls, or a slot one of its calls
//! polled); a record is *durable* once any ask covering it was answered `Ok`. Checked as each
//! call answers, and on the response:
//!
//! - P1: a logout (`purge`; `purge_subject` or `purge_other_sessions` returning `Ok(true)`)
//!   answers `Ok` only once the request saw an `Ok` covering every revocation it recorded up to
//!   that call, and every revocation recorded before the request (for a cookie refused as
//!   revoked, the one that ended it). Inside a `without_blocking` closure the calls answer at
//!   once, and the promise is the future's: once it answers anything but `NotDurable` (the
//!   confirmation came, or was covered), a logout among its calls holds it to P1, up to the
//!   records made when the closure returned;
//! - P2: the response (`finish`) removes the incoming cookie only if a revocation that ends the
//!   incoming session (the request's own, or one recorded before or beside it) is durable;
//! - P3: the response never sets a cookie for a session that a revocation the request recorded
//!   ended once the request saw an `Ok` covering that revocation, nor for one a durable
//!   revocation recorded before the request ended;
//! - P4: nothing panics, the response is decided (and any cookie it sets opens), and once
//!   every confirmation asked for is answered, every call resolves;
//! - P5: a call answers `NotDurable` (other than "revocations not loaded yet", which is not
//!   about a confirmation) only if, while it waited, a confirmation the request asked for failed
//!   that no `Ok` the request had seen by then covered: an error another confirmation covered is
//!   no error (for a `without_blocking` future and each call of its closure: since the future
//!   started);
//! - P6: a write answered `Ok` that started a new session (none was held: after a logout, or
//!   without a cookie), after which the request made no revoking call, is in the cookie the
//!   response sets, whatever the confirmations still awaited say ("a value written ... is
//!   kept"). A write into a session a failure took back may be lost: once a confirmation of
//!   the logout that ended that session comes, it is logged out again.
//!
//! P6 is not about confirmations alone, but it is what review 6's second bug broke (a write made
//! after a failure took a logout back, lost when the other logout's confirmation came); the
//! first broke P5 (a second `purge` answered "try again" after a confirmation that covered it).
//! At the commit before their fix, the handle's default cases break P5 (case 27), and the
//! second bug's sequence breaks P6; the `without_blocking` driver's default cases break P6 (case
//! 2,431: a write in a closure after a failure took back an earlier closure's logout). P5
//! judges a failure as the request must, by what it covers: only a failure of a confirmation
//! covering a record that no `Ok` seen by then covered excuses a `NotDurable`.
//!
//! The store records, as the Redis store does, the session's own revocation of a logout made
//! with a cookie it refuses already (`Superseded`): the confirmation asked for after it covers
//! it, so its error is the call's.
//!
//! Deterministic: case `n` of a driver runs seed `BASE_SEED + n`, with bit 40
//! ([`WITHOUT_BLOCKING`]) set for the second driver; each driver is a test of its own, running
//! [`CASES`] cases by default (about 2 s each in the debug profile; CI's `simulation` step runs
//! 200,000 of each in an optimized build, about 7 and 9 s). `CONFIRM_CASES` sets how many
//! cases each driver runs, `CONFIRM_SEED` runs that seed alone (with the driver its seed
//! names). A failure prints the seed, the property, and the shortest failing trace found by
//! removing operations, with what each step did.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sealed_session::adapter::{CookieUpdate, InsertError, RequestInfo, RequestSession};
use sealed_session::clock::ManualClock;
use sealed_session::codec::{Opened, SessionState, UnixTime};
use sealed_session::revocation::{
    Confirmation, Cutoff, Generation, MemoryRevocationStore, Revocation, RevocationLimits,
    RevocationStore, Subject,
};
use sealed_session::{
    Mode, NotDurableReason, RenewError, RevokeError, Session, SessionError, SessionId,
    SessionManager,
};

use crate::{Rng, T0, at, env_u64, lifecycle_builder, lock, set_value};

/// The first case's seed; case `n` runs `BASE_SEED + n` (with [`WITHOUT_BLOCKING`] set for
/// the [`Driver::WithoutBlocking`] cases).
const BASE_SEED: u64 = 0xC0F1_0000;
/// The bit that, set in a seed, makes its case drive `RequestSession::without_blocking`.
const WITHOUT_BLOCKING: u64 = 1 << 40;
/// Cases per run of each driver by default (`CONFIRM_CASES` overrides).
const CASES: u64 = 5_000;
/// Replays the shrinking may spend.
const SHRINK_BUDGET: usize = 300;

/// Who acts on the store: what its records and asks count for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Actor {
    /// The setup: the sign-in that issued the cookie, a logout elsewhere before the request.
    BeforeRequest,
    /// The request under test.
    Request,
    /// Another request, during this one (its confirmation nobody awaits).
    AnotherRequest,
}

/// How the store answers a `settle`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answering {
    OkAtOnce,
    ErrAtOnce,
    /// A slot the checker answers later ([`Op::Answer`]).
    Later,
}

/// How a store misreports its answers to the request, for the checker's own test: the ledger
/// keeps the truth, the request gets the opposite.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lie {
    /// A confirmation that failed reaches the request as `Ok`.
    ErrAsOk,
    /// A confirmation that came reaches the request as an error.
    OkAsErr,
}

/// One revocation the store recorded (its number is its index plus one).
#[derive(Debug)]
struct Record {
    by: Actor,
    revocation: Revocation,
}

/// One `settle`: what it covers, and its answer once given.
#[derive(Debug)]
struct Ask {
    /// Every record up to this number.
    covers: usize,
    answer: Option<Result<(), RevokeError>>,
    /// Whoever awaits it, woken when it is answered.
    waker: Option<Waker>,
    /// Its answer reached the request.
    seen: bool,
}

/// What the store did and was asked, kept by the checker.
#[derive(Debug)]
struct Ledger {
    actor: Actor,
    answering: Answering,
    known: bool,
    lie: Option<Lie>,
    records: Vec<Record>,
    asks: Vec<Ask>,
    /// Every record up to this one is covered by an ask answered `Ok`.
    durable: usize,
    /// Every record up to this one is covered by an `Ok` the request saw.
    seen_ok: usize,
    /// How many failures reached the request that no `Ok` it had seen by then covered.
    uncovered_failures: usize,
    /// What happened since the runner last looked, for the trace.
    events: Vec<String>,
}

impl Ledger {
    /// Notes what a `revoke` or `advance` recorded (`recorded`), and what it answered.
    fn note(
        &mut self,
        recorded: Option<Revocation>,
        answered: &Result<Option<Revocation>, RevokeError>,
    ) {
        let answered = match answered {
            Ok(_) => String::new(),
            Err(err) => format!(" (answered {err:?})"),
        };
        match recorded {
            Some(revocation) => {
                self.events.push(format!(
                    "record #{} by {:?}: {revocation:?}{answered}",
                    self.records.len() + 1,
                    self.actor
                ));
                self.records.push(Record {
                    by: self.actor,
                    revocation,
                });
            }
            None => self.events.push(format!("nothing recorded{answered}")),
        }
    }

    /// Books an ask, answered at once or not; its index.
    fn ask(&mut self, answer: Option<Result<(), RevokeError>>) -> usize {
        let covers = self.records.len();
        if answer == Some(Ok(())) {
            self.durable = self.durable.max(covers);
        }
        self.events.push(format!(
            "ask #{} by {:?} (covers #{covers}): {}",
            self.asks.len(),
            self.actor,
            match &answer {
                Some(Ok(())) => "Ok at once",
                Some(Err(_)) => "Err at once",
                None => "later",
            }
        ));
        self.asks.push(Ask {
            covers,
            answer,
            waker: None,
            seen: false,
        });
        self.asks.len() - 1
    }

    /// The answer to ask `index` reaches the request.
    fn see(&mut self, index: usize) -> Result<(), RevokeError> {
        let ask = &mut self.asks[index];
        let truth = ask.answer.clone().unwrap_or(Err(timed_out()));
        if ask.seen {
            return truth;
        }
        ask.seen = true;
        let covers = ask.covers;
        if truth.is_ok() {
            self.seen_ok = self.seen_ok.max(covers);
        } else if covers > self.seen_ok {
            self.uncovered_failures += 1;
        }
        self.events.push(format!(
            "the request sees ask #{index}: {}",
            if truth.is_ok() { "Ok" } else { "Err" }
        ));
        match (self.lie, truth) {
            (Some(Lie::ErrAsOk), Err(_)) => Ok(()),
            (Some(Lie::OkAsErr), Ok(())) => Err(timed_out()),
            (_, truth) => truth,
        }
    }

    /// The answer to slot `index`, once given.
    fn poll_slot(&mut self, index: usize, cx: &Context<'_>) -> Poll<Result<(), RevokeError>> {
        if self.asks[index].answer.is_none() {
            self.asks[index].waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(self.see(index))
    }

    fn answer(&mut self, index: usize, ok: bool) {
        let ask = &mut self.asks[index];
        ask.answer = Some(if ok { Ok(()) } else { Err(timed_out()) });
        if ok {
            self.durable = self.durable.max(ask.covers);
        }
        if let Some(waker) = ask.waker.take() {
            waker.wake();
        }
        self.events.push(format!(
            "ask #{index} answered {}",
            if ok { "Ok" } else { "Err" }
        ));
    }

    fn unanswered(&self) -> Vec<usize> {
        (0..self.asks.len())
            .filter(|&i| self.asks[i].answer.is_none())
            .collect()
    }

    /// The latest record a logout of the request relies on: the request's own, or one made
    /// before the request.
    fn relied_on(&self) -> usize {
        self.records
            .iter()
            .rposition(|r| r.by != Actor::AnotherRequest)
            .map_or(0, |i| i + 1)
    }
}

/// A memory store whose `settle` answers as the checker says, keeping a [`Ledger`].
#[derive(Debug)]
struct ScriptedStore {
    inner: MemoryRevocationStore,
    ledger: Arc<Mutex<Ledger>>,
}

impl ScriptedStore {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }
}

impl RevocationStore for ScriptedStore {
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool {
        self.inner.is_revoked(id, subject, now)
    }

    fn generation(&self, subject: &str) -> Generation {
        self.inner.generation(subject)
    }

    fn authentication_stamp(&self, subject: &str, at: Generation) -> Generation {
        self.inner.authentication_stamp(subject, at)
    }

    fn revoke(&self, r: Revocation, now: UnixTime) -> Result<Option<Revocation>, RevokeError> {
        let result = self.inner.revoke(r.clone(), now);
        let recorded = match &result {
            Ok(recorded) => recorded.clone(),
            // As the Redis store does: refused here already (perhaps only by this copy's
            // coarser state), the session's own revocation is shared all the same, and a
            // `settle` after it covers it.
            Err(RevokeError::Superseded { .. }) => Some(r),
            Err(_) => None,
        };
        self.ledger().note(recorded, &result);
        result
    }

    fn advance(
        &self,
        subject: &str,
        cutoff: Cutoff,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        let result = self.inner.advance(subject, cutoff, until, now);
        self.ledger().note(result.clone().ok().flatten(), &result);
        result
    }

    fn settle(&self) -> Confirmation {
        let mut ledger = self.ledger();
        let at_once = match ledger.answering {
            Answering::OkAtOnce => Some(Ok(())),
            Answering::ErrAtOnce => Some(Err(timed_out())),
            Answering::Later => None,
        };
        let index = ledger.ask(at_once.clone());
        match at_once {
            Some(_) if ledger.actor == Actor::Request => Confirmation::ready(ledger.see(index)),
            Some(answer) => Confirmation::ready(answer),
            None => {
                let ledger = Arc::clone(&self.ledger);
                Confirmation::waiting(
                    (),
                    std::future::poll_fn(move |cx| lock(&ledger).poll_slot(index, cx)),
                )
            }
        }
    }

    fn revocations_known(&self) -> bool {
        self.ledger().known
    }
}

/// The store's answer when a confirmation doesn't come.
fn timed_out() -> RevokeError {
    RevokeError::NotDurable {
        waited: Duration::from_millis(250),
        reason: NotDurableReason::RedisTimedOut,
    }
}

#[derive(Clone, Copy, Debug)]
enum User {
    Alice,
    Bob,
}

impl User {
    fn name(self) -> &'static str {
        match self {
            Self::Alice => "alice",
            Self::Bob => "bob",
        }
    }
}

/// The request's cookie: alice's session, in some state, or none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Incoming {
    Valid,
    /// Refused as revoked: alice logged out everywhere (confirmed) before the request.
    RevokedElsewhere,
    Missing,
    /// The store can't check revocations yet (`revocations_known` false) until
    /// [`Op::StoreKnows`].
    NotKnownYet,
}

/// A revoking call of the async handle.
#[derive(Clone, Copy, Debug)]
enum Call {
    Purge,
    PurgeSubject,
    PurgeOtherSessions,
    Renew,
    Reauthenticate,
    SignIn(User),
}

/// A call's answer (`Some` for the calls that return a `bool`).
type Answer = Result<Option<bool>, CallError>;

/// Why a call failed: a revoking call's error, or (in a `without_blocking` closure) a write's.
enum CallError {
    Session(SessionError),
    Insert(InsertError),
}

impl fmt::Debug for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session(err) => err.fmt(f),
            Self::Insert(err) => err.fmt(f),
        }
    }
}

impl From<RevokeError> for CallError {
    fn from(err: RevokeError) -> Self {
        Self::Session(err.into())
    }
}

impl CallError {
    /// Whether this is a `NotDurable` (`loaded`: other than "revocations not loaded yet").
    fn not_durable(&self, loaded: bool) -> bool {
        matches!(
            self,
            Self::Session(SessionError::Operation(RenewError::Revoke(RevokeError::NotDurable { reason, .. })))
                if !(loaded && matches!(reason, NotDurableReason::RevocationsNotLoaded))
        )
    }
}

impl Call {
    fn start(self, session: Session) -> Pin<Box<dyn Future<Output = Answer>>> {
        let future: Pin<Box<dyn Future<Output = Result<Option<bool>, SessionError>>>> = match self {
            Self::Purge => Box::pin(async move { session.purge().await.map(|()| None) }),
            Self::PurgeSubject => Box::pin(async move { session.purge_subject().await.map(Some) }),
            Self::PurgeOtherSessions => {
                Box::pin(async move { session.purge_other_sessions().await.map(Some) })
            }
            Self::Renew => Box::pin(async move { session.renew().await.map(|()| None) }),
            Self::Reauthenticate => {
                Box::pin(async move { session.reauthenticate().await.map(Some) })
            }
            Self::SignIn(user) => {
                Box::pin(async move { session.sign_in(user.name()).await.map(|()| None) })
            }
        };
        Box::pin(async move { future.await.map_err(CallError::Session) })
    }

    /// The same call, synchronous, on a `RequestSession` (inside `without_blocking`).
    fn run(self, s: &mut RequestSession) -> Answer {
        let answer: Result<Option<bool>, SessionError> = match self {
            Self::Purge => s.purge().map(|()| None).map_err(Into::into),
            Self::PurgeSubject => s.purge_subject().map(Some).map_err(Into::into),
            Self::PurgeOtherSessions => s.purge_other_sessions().map(Some).map_err(Into::into),
            Self::Renew => s.renew().map(|()| None).map_err(Into::into),
            Self::Reauthenticate => s.reauthenticate().map(Some).map_err(Into::into),
            Self::SignIn(user) => s.sign_in(user.name()).map(|()| None).map_err(Into::into),
        };
        answer.map_err(CallError::Session)
    }

    /// Whether `answer` says this call logged out.
    fn logged_out(self, answer: &Answer) -> bool {
        matches!(
            (self, answer),
            (Self::Purge, Ok(_))
                | (
                    Self::PurgeSubject | Self::PurgeOtherSessions,
                    Ok(Some(true))
                )
        )
    }
}

/// One call inside a `without_blocking` closure.
#[derive(Clone, Copy, Debug)]
enum Step {
    Call(Call),
    /// A write of the next value.
    Insert,
}

/// A `without_blocking` closure: 1 to 3 synchronous calls, in order, stopping at the first
/// error (which the closure returns), as the actix-session store's `write` does.
#[derive(Clone, Copy)]
struct Block {
    steps: [Step; 3],
    len: usize,
}

impl Block {
    fn random(rng: &mut Rng) -> Self {
        use Call::{Purge, PurgeOtherSessions, PurgeSubject, Reauthenticate, Renew, SignIn};
        const STEPS: [Step; 9] = [
            Step::Call(Purge),
            Step::Call(Purge),
            Step::Call(PurgeSubject),
            Step::Call(PurgeOtherSessions),
            Step::Call(Renew),
            Step::Call(Reauthenticate),
            Step::Call(SignIn(User::Alice)),
            Step::Call(SignIn(User::Bob)),
            Step::Insert,
        ];
        let len = 1 + rng.below(3);
        let steps = [rng.pick(&STEPS), rng.pick(&STEPS), rng.pick(&STEPS)];
        Self { steps, len }
    }

    fn steps(&self) -> &[Step] {
        &self.steps[..self.len]
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.steps()).finish()
    }
}

/// What drives the request's calls.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Driver {
    /// The async `Session` handle: each revoking call a future of its own, any number waiting.
    Handle,
    /// A plain `RequestSession`: revoking calls in `without_blocking` closures ([`Op::Block`]),
    /// one future at a time borrowing the session.
    WithoutBlocking,
}

impl Driver {
    fn of(seed: u64) -> Self {
        if seed & WITHOUT_BLOCKING == 0 {
            Self::Handle
        } else {
            Self::WithoutBlocking
        }
    }

    /// The seed of case `n`.
    fn seed(self, n: u64) -> u64 {
        match self {
            Self::Handle => BASE_SEED + n,
            Self::WithoutBlocking => (BASE_SEED + n) | WITHOUT_BLOCKING,
        }
    }
}

/// One step. Calls and slots are picked modulo those waiting, so that a trace with steps
/// removed still replays.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// A revoking call of the async handle ([`Driver::Handle`]).
    Call(Call),
    /// `without_blocking` with this closure ([`Driver::WithoutBlocking`]).
    Block(Block),
    Insert,
    Poll {
        call: usize,
    },
    PollAll,
    Drop {
        call: usize,
    },
    AnotherLogsOutEverywhere(User),
    Answering(Answering),
    Answer {
        ask: usize,
        ok: bool,
    },
    StoreKnows,
}

impl Op {
    fn random(rng: &mut Rng, incoming: Incoming, driver: Driver) -> Self {
        use Call::{Purge, PurgeOtherSessions, PurgeSubject, Reauthenticate, Renew, SignIn};
        const CALLS: [Call; 8] = [
            Purge,
            Purge,
            PurgeSubject,
            PurgeOtherSessions,
            Renew,
            Reauthenticate,
            SignIn(User::Alice),
            SignIn(User::Bob),
        ];
        let which = rng.below(usize::MAX);
        match rng.below(100) {
            0..=34 if driver == Driver::WithoutBlocking => Self::Block(Block::random(rng)),
            0..=34 => Self::Call(rng.pick(&CALLS)),
            35..=40 => Self::Insert,
            41..=52 => Self::Poll { call: which },
            53..=58 => Self::PollAll,
            59..=63 => Self::Drop { call: which },
            64..=69 => Self::AnotherLogsOutEverywhere(rng.pick(&[User::Alice, User::Bob])),
            70..=79 => Self::Answering(Answering::random(rng)),
            97.. if incoming == Incoming::NotKnownYet => Self::StoreKnows,
            _ => Self::Answer {
                ask: which,
                ok: rng.below(2) == 0,
            },
        }
    }
}

impl Answering {
    fn random(rng: &mut Rng) -> Self {
        rng.pick(&[Self::OkAtOnce, Self::ErrAtOnce, Self::Later])
    }
}

/// How a case ends.
#[derive(Clone, Copy, Debug)]
enum End {
    /// The response is decided while calls still wait (their futures dropped after).
    FinishWithCallsPending,
    /// Every slot is answered (the `n`th answer is `Ok` if bit `n % 64` of `oks` is set) and
    /// every call polled until none waits, then the response is decided.
    AnswerEverything { oks: u64 },
}

#[derive(Clone, Debug)]
struct Case {
    driver: Driver,
    incoming: Incoming,
    per_subject: Option<usize>,
    answering: Answering,
    ops: Vec<Op>,
    end: End,
}

impl Case {
    fn random(seed: u64) -> Self {
        let driver = Driver::of(seed);
        let mut rng = Rng(seed);
        let incoming = rng.pick(&[
            Incoming::Valid,
            Incoming::RevokedElsewhere,
            Incoming::Missing,
            Incoming::NotKnownYet,
        ]);
        let per_subject = rng.pick(&[None, Some(1), Some(2)]);
        let answering = Answering::random(&mut rng);
        let len = 3 + rng.below(12);
        let ops = (0..len)
            .map(|_| Op::random(&mut rng, incoming, driver))
            .collect();
        let end = if rng.below(4) == 0 {
            End::FinishWithCallsPending
        } else {
            End::AnswerEverything { oks: rng.next() }
        };
        Self {
            driver,
            incoming,
            per_subject,
            answering,
            ops,
            end,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Property {
    P1,
    P2,
    P3,
    P4,
    P5,
    P6,
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::P1 => "P1 (a logout answers Ok only once the request saw it confirmed)",
            Self::P2 => "P2 (the cookie is removed only once a revocation ending it is durable)",
            Self::P3 => "P3 (no cookie is set for a session a confirmed revocation ended)",
            Self::P4 => "P4 (no panic; the response is decided; every call resolves)",
            Self::P5 => "P5 (NotDurable only after an uncovered failure)",
            Self::P6 => "P6 (a write that started a new session is kept)",
        })
    }
}

/// A property broken at `step` (`ops.len()` for the end of the case).
#[derive(Debug)]
struct Violation {
    property: Property,
    step: usize,
    what: String,
}

/// What a waiting future is.
#[derive(Clone, Copy)]
enum What {
    Call(Call),
    /// A `without_blocking` future; `logged_out` if a call of its closure answered as a
    /// logout.
    Block {
        block: Block,
        logged_out: bool,
    },
}

impl fmt::Debug for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Call(call) => call.fmt(f),
            Self::Block { block, .. } => write!(f, "without_blocking {block:?}"),
        }
    }
}

/// A call inside a `without_blocking` closure, as it answered.
struct Inner {
    step: Step,
    /// No session was held before it.
    fresh: bool,
    /// The value written, for a write.
    value: u64,
    ok: bool,
    logged_out: bool,
    not_durable: bool,
    text: String,
}

/// The request's session, as the driver holds it.
enum Held {
    Handle(Session),
    /// Borrowed by a `without_blocking` future while it lives: the runner polls it to
    /// completion or drops it before touching the session.
    Request(Rc<RefCell<RequestSession>>),
}

impl Held {
    fn id(&self) -> Option<SessionId> {
        match self {
            Self::Handle(session) => session.id(),
            Self::Request(session) => session.borrow().id(),
        }
    }

    fn insert(&self, value: u64) -> Result<(), String> {
        match self {
            Self::Handle(session) => session.insert("n", value).map_err(|e| format!("{e:?}")),
            Self::Request(session) => session
                .borrow_mut()
                .insert("n", &value)
                .map_err(|e| format!("{e:?}")),
        }
    }

    fn finish(&self) -> Result<CookieUpdate, String> {
        match self {
            Self::Handle(session) => session
                .finish()
                .map(|cookies| cookies.update().clone())
                .map_err(|e| format!("{e:?}")),
            Self::Request(session) => session.borrow_mut().finish().map_err(|e| format!("{e:?}")),
        }
    }
}

/// A call that was made: its future while it waits, and what its answer is checked against.
struct Made {
    what: What,
    future: Option<Pin<Box<dyn Future<Output = Answer>>>>,
    /// [`Ledger::relied_on`] once the call returned to its caller.
    relies_on: usize,
    /// [`Ledger::uncovered_failures`] when the call was made.
    failures_before: usize,
}

/// A case being run.
struct Run<'a> {
    lifecycle: SessionManager,
    store: Arc<ScriptedStore>,
    session: Held,
    /// The incoming cookie's session, if the request came with one.
    incoming: Option<SessionState>,
    calls: Vec<Made>,
    inserts: u64,
    /// The value of the last write, if one started a new session and no revoking call came
    /// after it (property 6).
    kept_write: Option<u64>,
    step: usize,
    log: &'a mut Vec<String>,
}

impl<'a> Run<'a> {
    fn new(case: &Case, lie: Option<Lie>, log: &'a mut Vec<String>) -> Self {
        let limits = case.per_subject.map_or_else(RevocationLimits::new, |n| {
            RevocationLimits::new().per_subject(n)
        });
        let store = Arc::new(ScriptedStore {
            inner: MemoryRevocationStore::with_limits(limits),
            ledger: Arc::new(Mutex::new(Ledger {
                actor: Actor::BeforeRequest,
                answering: Answering::OkAtOnce,
                known: true,
                lie,
                records: Vec::new(),
                asks: Vec::new(),
                durable: 0,
                seen_ok: 0,
                uncovered_failures: 0,
                events: Vec::new(),
            })),
        });
        let lifecycle = lifecycle_builder(1, Mode::Encrypted)
            .clock(Arc::new(ManualClock::new(at(T0))))
            .revocation_store(store.clone())
            .build()
            .expect("valid settings");
        let mut signing_in = lifecycle.open(std::iter::empty::<&[u8]>(), RequestInfo::new("/"));
        signing_in.sign_in("alice").expect("a sign-in");
        let signed_in = signing_in.state().cloned().expect("signed in");
        let cookie = set_value(&signing_in.finish().expect("sealed"));
        match case.incoming {
            Incoming::RevokedElsewhere => {
                lifecycle
                    .revoke_subject("alice")
                    .wait()
                    .expect("confirmed at once");
            }
            Incoming::NotKnownYet => store.ledger().known = false,
            Incoming::Valid | Incoming::Missing => {}
        }
        let header = format!("{}={cookie}", lifecycle.cookie_name());
        let (headers, incoming) = match case.incoming {
            Incoming::Missing => (Vec::new(), None),
            _ => (vec![header.as_bytes()], Some(signed_in)),
        };
        let (session, refusal) = match case.driver {
            Driver::Handle => {
                let session = lifecycle.attach(headers, RequestInfo::new("/"));
                let refusal = session.refusal();
                (Held::Handle(session), refusal)
            }
            Driver::WithoutBlocking => {
                let session = lifecycle.open(headers, RequestInfo::new("/"));
                let refusal = session.refusal();
                (Held::Request(Rc::new(RefCell::new(session))), refusal)
            }
        };
        {
            let mut ledger = store.ledger();
            ledger.events.clear();
            ledger.actor = Actor::Request;
            ledger.answering = case.answering;
        }
        log.push(format!(
            "{:?}: incoming {:?} (refusal {refusal:?}), per_subject {:?}, the store answers {:?}, \
             {} records before the request",
            case.driver,
            case.incoming,
            case.per_subject,
            case.answering,
            store.ledger().records.len()
        ));
        Self {
            lifecycle,
            store,
            session,
            incoming,
            calls: Vec::new(),
            inserts: 0,
            kept_write: None,
            step: 0,
            log,
        }
    }

    fn violation(&self, property: Property, what: String) -> Violation {
        Violation {
            property,
            step: self.step,
            what,
        }
    }

    /// Moves the store's events to the trace, under `what` happened.
    fn trace(&mut self, what: String) {
        let events = std::mem::take(&mut self.store.ledger().events);
        self.log.push(what);
        self.log
            .extend(events.into_iter().map(|e| format!("      {e}")));
    }

    fn play(&mut self, case: &Case) -> Result<(), Violation> {
        for (step, op) in case.ops.iter().enumerate() {
            self.step = step;
            self.apply(*op)?;
        }
        self.step = case.ops.len();
        if let End::AnswerEverything { oks } = case.end {
            self.answer_everything(oks)?;
        }
        self.check_response(case.end)
    }

    fn waiting(&self) -> Vec<usize> {
        (0..self.calls.len())
            .filter(|&i| self.calls[i].future.is_some())
            .collect()
    }

    fn apply(&mut self, op: Op) -> Result<(), Violation> {
        match op {
            Op::Call(call) => self.call(call)?,
            Op::Block(block) => self.block(block)?,
            Op::Insert => {
                self.free_the_session()?;
                self.inserts += 1;
                let fresh = self.session.id().is_none();
                let result = self.session.insert(self.inserts);
                if result.is_ok() && (fresh || self.kept_write.is_some()) {
                    self.kept_write = Some(self.inserts);
                }
                self.trace(format!(
                    "{op:?} {} -> {result:?}",
                    if fresh { "(a new session)" } else { "" }
                ));
            }
            Op::Poll { call } => {
                let waiting = self.waiting();
                match waiting.get(call % waiting.len().max(1)) {
                    Some(&number) => self.poll(number)?,
                    None => self.trace(format!("{op:?}: no call waits")),
                }
            }
            Op::PollAll => {
                self.trace(format!("{op:?}"));
                for number in self.waiting() {
                    self.poll(number)?;
                }
            }
            Op::Drop { call } => {
                let waiting = self.waiting();
                match waiting.get(call % waiting.len().max(1)) {
                    Some(&number) => {
                        self.calls[number].future = None;
                        self.trace(format!("drop call #{number}"));
                    }
                    None => self.trace(format!("{op:?}: no call waits")),
                }
            }
            Op::AnotherLogsOutEverywhere(user) => {
                self.store.ledger().actor = Actor::AnotherRequest;
                // Its confirmation is nobody's to await: dropped, its slot still answerable.
                drop(self.lifecycle.revoke_subject(user.name()));
                self.store.ledger().actor = Actor::Request;
                self.trace(format!("another request logs {user:?} out everywhere"));
            }
            Op::Answering(answering) => {
                self.store.ledger().answering = answering;
                self.trace(format!("the store now answers {answering:?}"));
            }
            Op::Answer { ask, ok } => {
                let unanswered = self.store.ledger().unanswered();
                match unanswered.get(ask % unanswered.len().max(1)) {
                    Some(&index) => self.store.ledger().answer(index, ok),
                    None => self.store.ledger().events.push("no ask waits".into()),
                }
                self.trace(format!("{op:?}"));
            }
            Op::StoreKnows => {
                self.store.ledger().known = true;
                self.trace("the store knows its revocations now".into());
            }
        }
        Ok(())
    }

    fn call(&mut self, call: Call) -> Result<(), Violation> {
        self.kept_write = None;
        let number = self.calls.len();
        let failures_before = self.store.ledger().uncovered_failures;
        let Held::Handle(session) = &self.session else {
            unreachable!("a call of the async handle in a case without it");
        };
        let mut future = call.start(session.clone());
        let polled = future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        let relies_on = self.store.ledger().relied_on();
        self.calls.push(Made {
            what: What::Call(call),
            future: Some(future),
            relies_on,
            failures_before,
        });
        self.trace(format!(
            "call #{number}: {call:?} (relies on records up to #{relies_on})"
        ));
        match polled {
            Poll::Ready(answer) => self.answered(number, &answer),
            Poll::Pending => {
                self.log.push(format!("  #{number} waits"));
                Ok(())
            }
        }
    }

    /// Before an op that touches the `RequestSession`: the `without_blocking` future that
    /// borrows it is polled once, and dropped if it still waits (a timeout, a client gone).
    fn free_the_session(&mut self) -> Result<(), Violation> {
        if matches!(self.session, Held::Handle(_)) {
            return Ok(());
        }
        for number in self.waiting() {
            self.poll(number)?;
            if self.calls[number].future.take().is_some() {
                self.trace(format!("drop call #{number} (the session is needed)"));
            }
        }
        Ok(())
    }

    /// `without_blocking` with `block`'s closure: polled once (the closure runs), its calls'
    /// answers checked (property 5; a logout among them answered at once promises only once
    /// the future answers), and the future kept while it waits.
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the future borrows the session while it lives, as `without_blocking`'s does; \
                  the runner never touches the session while one lives"
    )]
    fn block(&mut self, block: Block) -> Result<(), Violation> {
        self.free_the_session()?;
        let Held::Request(session) = &self.session else {
            unreachable!("a without_blocking op in a case without a RequestSession");
        };
        let session = Rc::clone(session);
        let number = self.calls.len();
        let failures_before = self.store.ledger().uncovered_failures;
        let inners = Rc::new(RefCell::new(Vec::<Inner>::new()));
        let first_value = self.inserts;
        self.inserts += block
            .steps()
            .iter()
            .filter(|s| matches!(s, Step::Insert))
            .count() as u64;
        let record = Rc::clone(&inners);
        let mut future: Pin<Box<dyn Future<Output = Answer>>> = Box::pin(async move {
            let mut session = session.borrow_mut();
            session
                .without_blocking(|s| {
                    let mut value = first_value;
                    for &step in block.steps() {
                        let fresh = s.id().is_none();
                        let answer = match step {
                            Step::Call(call) => call.run(s),
                            Step::Insert => {
                                value += 1;
                                s.insert("n", &value)
                                    .map(|()| None)
                                    .map_err(CallError::Insert)
                            }
                        };
                        record.borrow_mut().push(Inner {
                            step,
                            fresh,
                            value,
                            ok: answer.is_ok(),
                            logged_out: matches!(step, Step::Call(c) if c.logged_out(&answer)),
                            not_durable: answer.as_ref().is_err_and(|e| e.not_durable(true)),
                            text: format!("{answer:?}"),
                        });
                        answer?;
                    }
                    Ok(None)
                })
                .await
        });
        let polled = future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        let relies_on = self.store.ledger().relied_on();
        let failures = self.store.ledger().uncovered_failures;
        self.trace(format!(
            "call #{number}: without_blocking {block:?} (relies on records up to #{relies_on})"
        ));
        let mut logged_out = false;
        let mut problem = None;
        for inner in inners.borrow().iter() {
            self.log.push(format!(
                "  in the closure: {:?} -> {}",
                inner.step, inner.text
            ));
            match inner.step {
                Step::Call(_) => self.kept_write = None,
                Step::Insert if inner.ok && (inner.fresh || self.kept_write.is_some()) => {
                    self.kept_write = Some(inner.value);
                }
                Step::Insert => {}
            }
            logged_out |= inner.logged_out;
            if inner.not_durable && failures == failures_before && problem.is_none() {
                problem = Some(format!(
                    "in call #{number}'s closure, {:?} answered {}, but no confirmation failed \
                     uncovered",
                    inner.step, inner.text
                ));
            }
        }
        if let Some(what) = problem {
            return Err(self.violation(Property::P5, what));
        }
        self.calls.push(Made {
            what: What::Block { block, logged_out },
            future: Some(future),
            relies_on,
            failures_before,
        });
        match polled {
            Poll::Ready(answer) => self.answered(number, &answer),
            Poll::Pending => {
                self.log.push(format!("  #{number} waits"));
                Ok(())
            }
        }
    }

    fn poll(&mut self, number: usize) -> Result<(), Violation> {
        let Some(future) = self.calls[number].future.as_mut() else {
            return Ok(());
        };
        let polled = future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        self.trace(format!("poll call #{number}"));
        match polled {
            Poll::Ready(answer) => self.answered(number, &answer),
            Poll::Pending => {
                self.log.push(format!("  #{number} still waits"));
                Ok(())
            }
        }
    }

    /// Checks a call's answer (properties 1 and 5).
    fn answered(&mut self, number: usize, answer: &Answer) -> Result<(), Violation> {
        let made = &mut self.calls[number];
        made.future = None;
        let (what, relies_on, failures_before) = (made.what, made.relies_on, made.failures_before);
        self.log
            .push(format!("  #{number} {what:?} answers {answer:?}"));
        let (seen_ok, failures) = {
            let ledger = self.store.ledger();
            (ledger.seen_ok, ledger.uncovered_failures)
        };
        let logged_out = match what {
            What::Call(call) => call.logged_out(answer),
            // The closure's logouts answered at once; the future's answer is their promise,
            // unless it is the confirmation's error.
            What::Block { logged_out, .. } => {
                logged_out && !answer.as_ref().is_err_and(|e| e.not_durable(false))
            }
        };
        if logged_out && seen_ok < relies_on {
            return Err(self.violation(
                Property::P1,
                format!(
                    "call #{number} {what:?} answered {answer:?}, but the request saw records \
                     confirmed only up to #{seen_ok}, not #{relies_on}"
                ),
            ));
        }
        let not_durable = answer.as_ref().is_err_and(|e| e.not_durable(true));
        if not_durable && failures == failures_before {
            return Err(self.violation(
                Property::P5,
                format!(
                    "call #{number} {what:?} answered {answer:?}, but no confirmation failed \
                     uncovered while it waited (the request saw records confirmed up to \
                     #{seen_ok})"
                ),
            ));
        }
        Ok(())
    }

    fn answer_everything(&mut self, oks: u64) -> Result<(), Violation> {
        let mut answers = 0;
        // Each round answers every slot, then polls every call; a call awaits one confirmation
        // at a time, so one round is enough unless polling asks again.
        for _ in 0..4 {
            let unanswered = self.store.ledger().unanswered();
            for index in unanswered {
                self.store
                    .ledger()
                    .answer(index, oks >> (answers % 64) & 1 == 1);
                answers += 1;
            }
            self.trace("answer every ask".into());
            for number in self.waiting() {
                self.poll(number)?;
            }
            if self.waiting().is_empty() {
                return Ok(());
            }
            if self.store.ledger().unanswered().is_empty() {
                break;
            }
        }
        let waiting = self.waiting();
        Err(self.violation(
            Property::P4,
            format!("calls {waiting:?} still wait with every confirmation answered"),
        ))
    }

    /// Decides the response and checks its cookie (properties 2, 3 and 4).
    fn check_response(&mut self, end: End) -> Result<(), Violation> {
        let waiting = self.waiting();
        if matches!(self.session, Held::Request(_)) {
            // The futures borrow the session: the response is decided once they are dropped.
            for number in &waiting {
                self.calls[*number].future = None;
            }
        }
        let update = match self.session.finish() {
            Ok(update) => update,
            Err(err) => {
                return Err(self.violation(Property::P4, format!("finish failed: {err}")));
            }
        };
        let kind = match &update {
            CookieUpdate::Remove(_) => "Remove",
            CookieUpdate::Set(_) => "Set",
            CookieUpdate::Refresh(_) => "Refresh",
            _ => "no change",
        };
        self.trace(format!(
            "{end:?}: finish -> {kind} (calls {waiting:?} still waiting, dropped)"
        ));
        self.calls.clear();
        let ledger = self.store.ledger();
        self.log.push(format!(
            "  durable up to #{}, seen Ok up to #{}",
            ledger.durable, ledger.seen_ok
        ));
        let mut problem = None;
        match &update {
            CookieUpdate::Remove(_) => {
                if let Some(incoming) = &self.incoming {
                    let ended_durably = ledger.records[..ledger.durable]
                        .iter()
                        .any(|r| ends(&r.revocation, incoming));
                    if !ended_durably {
                        problem = Some((
                            Property::P2,
                            "the response removes the cookie, but no durable revocation ends \
                             the incoming session"
                                .to_owned(),
                        ));
                    }
                }
            }
            CookieUpdate::Set(_) | CookieUpdate::Refresh(_) => {
                let value = set_value(&update);
                match self
                    .lifecycle
                    .codec()
                    .open_at(&value, at(T0))
                    .map(Opened::into_state)
                {
                    Err(err) => {
                        problem = Some((
                            Property::P4,
                            format!("the response sets a cookie that does not open: {err:?}"),
                        ));
                    }
                    Ok(set) if self.kept_write.is_some_and(|n| set.get("n") != Ok(Some(n))) => {
                        problem = Some((
                            Property::P6,
                            format!(
                                "the response sets a session without the write of {:?}",
                                self.kept_write
                            ),
                        ));
                    }
                    Ok(set) => {
                        let ended = ledger.records.iter().enumerate().find(|(i, r)| {
                            let confirmed = match r.by {
                                Actor::Request => *i < ledger.seen_ok,
                                Actor::BeforeRequest => *i < ledger.durable,
                                Actor::AnotherRequest => false,
                            };
                            confirmed && ends(&r.revocation, &set)
                        });
                        if let Some((i, record)) = ended {
                            problem = Some((
                                Property::P3,
                                format!(
                                    "the response sets session {:?}, which record #{} \
                                     ({record:?}) ended",
                                    set.id(),
                                    i + 1
                                ),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        let set = matches!(update, CookieUpdate::Set(_) | CookieUpdate::Refresh(_));
        if let (Some(n), false) = (self.kept_write, set) {
            problem = problem.or(Some((
                Property::P6,
                format!("the write of {n} is lost: the response sets no cookie"),
            )));
        }
        drop(ledger);
        match problem {
            Some((property, what)) => Err(self.violation(property, what)),
            None => Ok(()),
        }
    }
}

/// Whether `revocation` ends `session`.
fn ends(revocation: &Revocation, session: &SessionState) -> bool {
    let stamp = session.subject_generation();
    match revocation {
        Revocation::Session { id, .. } => *id == session.id(),
        Revocation::Subject {
            subject,
            generation,
            ..
        } => stamp.is_some_and(|s| s.name() == subject && s.generation() < *generation),
        Revocation::Everyone { generation, .. } => {
            stamp.is_some_and(|s| s.generation() < *generation)
        }
        _ => false,
    }
}

/// Runs `case` (against a store telling `lie`), writing what happened to `log`: the first
/// property broken, if any. A panic breaks property 4.
fn replay(case: &Case, lie: Option<Lie>, log: &mut Vec<String>) -> Result<(), Violation> {
    let outcome = catch_unwind(AssertUnwindSafe(|| Run::new(case, lie, log).play(case)));
    outcome.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(not a string)");
        Err(Violation {
            property: Property::P4,
            step: usize::MAX,
            what: format!("panicked: {message}"),
        })
    })
}

/// The shortest trace found that still breaks `property`, by removing chunks of operations
/// (halving their size) within a budget of replays, as the simulation does.
fn shrink(mut case: Case, property: Property, lie: Option<Lie>) -> Case {
    let mut budget = SHRINK_BUDGET;
    let mut chunk = case.ops.len().div_ceil(2);
    while chunk >= 1 && budget > 0 {
        let mut start = 0;
        while start < case.ops.len() && budget > 0 {
            let mut candidate = case.clone();
            let end = (start + chunk).min(candidate.ops.len());
            candidate.ops.drain(start..end);
            budget -= 1;
            match replay(&candidate, lie, &mut Vec::new()) {
                Err(v) if v.property == property => {
                    // What comes after the failing step doesn't matter.
                    candidate.ops.truncate(v.step.saturating_add(1));
                    case = candidate;
                }
                _ => start += chunk,
            }
        }
        chunk /= 2;
    }
    case
}

/// A case that broke a property: its seed, the first violation, and the shrunk trace.
struct Failure {
    seed: u64,
    first: Violation,
    shrunk: Case,
    shrunk_violation: Violation,
    trace: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seed = self.seed;
        writeln!(
            f,
            "seed {seed} (CONFIRM_SEED={seed}): {}: {}",
            self.first.property, self.first.what
        )?;
        writeln!(
            f,
            "shortest failing trace found ({} ops, ending {:?}): {}: {}",
            self.shrunk.ops.len(),
            self.shrunk.end,
            self.shrunk_violation.property,
            self.shrunk_violation.what
        )?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// Runs the case of `seed` against a store telling `lie`; the failure, shrunk, if it breaks a
/// property.
fn check(seed: u64, lie: Option<Lie>) -> Option<Failure> {
    let case = Case::random(seed);
    let first = replay(&case, lie, &mut Vec::new()).err()?;
    let mut shrunk = shrink(case, first.property, lie);
    let mut trace = Vec::new();
    let shrunk_violation = match replay(&shrunk, lie, &mut trace) {
        Err(v) => v,
        // Not expected (replays are deterministic); the first trace then.
        Ok(()) => {
            shrunk = Case::random(seed);
            trace.clear();
            replay(&shrunk, lie, &mut trace).err()?
        }
    };
    Some(Failure {
        seed,
        first,
        shrunk,
        shrunk_violation,
        trace,
    })
}

/// Runs `driver`'s cases (or, with `CONFIRM_SEED`, that seed alone if it is `driver`'s),
/// panicking at the first that breaks a property.
fn run_cases(driver: Driver) {
    let seeds: Vec<u64> = match env_u64("CONFIRM_SEED") {
        Some(seed) if Driver::of(seed) == driver => vec![seed],
        Some(_) => Vec::new(),
        None => (0..env_u64("CONFIRM_CASES").unwrap_or(CASES))
            .map(|n| driver.seed(n))
            .collect(),
    };
    for &seed in &seeds {
        if let Some(failure) = check(seed, None) {
            panic!("{failure}");
        }
    }
    println!("{driver:?}: {} cases, every property held", seeds.len());
}

#[test]
fn logouts_keep_their_promises_whatever_order_confirmations_come_in() {
    run_cases(Driver::Handle);
}

#[test]
fn logouts_without_blocking_keep_their_promises_whatever_order_confirmations_come_in() {
    run_cases(Driver::WithoutBlocking);
}

#[test]
fn the_checker_catches_a_store_that_misreports_its_confirmations() {
    // A mutation check of the checker itself (a checker that can't fail proves nothing): a
    // store whose failures reach the request as `Ok` must break property 1 or 2, and one whose
    // `Ok`s reach it as errors property 5, within the first cases, with either driver.
    for driver in [Driver::Handle, Driver::WithoutBlocking] {
        for (lie, expected) in [
            (Lie::ErrAsOk, &[Property::P1, Property::P2][..]),
            (Lie::OkAsErr, &[Property::P5][..]),
        ] {
            let failure = (0..200)
                .find_map(|n| check(driver.seed(n), Some(lie)))
                .unwrap_or_else(|| {
                    panic!("{driver:?}: the checker missed a store that tells {lie:?}")
                });
            assert!(
                expected.contains(&failure.shrunk_violation.property),
                "{driver:?}, {lie:?}: {failure}"
            );
        }
    }
}
