//! The store: a local copy that answers every check, and two threads that keep it in step with
//! Redis.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sealed_session::clock::Clock;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    Confirmation, Cutoff, Generation, IntoRevocationStore, MemoryRevocationStore, Revocation,
    RevocationMac, RevocationStore, Subject,
};
use sealed_session::{NotDurableReason, RevokeError, SessionId};

use crate::LOG_TARGET;
use crate::acknowledgement::{self, Acknowledgement, Acknowledgements};
use crate::config::{
    Durability, EvictingPolicy, RedisConfig, RedisStoreBuilder, RevocationConfig, Settings,
    UntilLoaded,
};
use crate::error::BuildError;
use crate::health::{LinkHealth, LinkState};
use crate::pending;
use crate::queue::Queue;
use crate::shared::{Shared, lock};
use crate::trust::Refusals;
use crate::{reader, writer};

/// A revocation store shared by every instance of an application through Redis, answering
/// each check from a local copy: no network round trip on the request path.
///
/// - **Checks** ([`RevocationStore::is_revoked`], [`RevocationStore::generation`]) read the
///   local copy, a [`MemoryRevocationStore`]: the same cost as the embedded store, whatever
///   Redis is doing.
/// - **Revocations** ([`RevocationStore::revoke`], [`RevocationStore::advance`]) go into the
///   local copy at once, so its [limits](RedisStoreBuilder::limits) (folding a subject's
///   revocations into its cutoff, raising the store-wide cutoff at the total) and its check
///   that the session a revocation acts for is still in force apply there, in the same
///   operation, and a logout holds on this instance before the response leaves. What the copy
///   recorded is then queued for a writer thread that appends it to the stream
///   `<prefix>rev:log` (one script per batch, which also trims entries no cookie needs any
///   more).
/// - **Durable acknowledgement**: [`RevocationStore::settle`], which the session lifecycle
///   asks for after each logout, is a [`Confirmation`] that resolves once Redis has
///   acknowledged every revocation made here so far, or to `RevokeError::NotDurable` after the
///   [`Durability`] timeout (the logout holds here and stays queued; the application answers
///   "try again"). So a logout answered as done survives this instance being killed the next
///   moment. Awaiting it holds no thread: the writer thread wakes it after the batch that
///   settled it, a timer thread at its deadline; [`LinkHealth::acknowledgement_p99`] reports the recent waits.
/// - **Other instances' revocations** arrive on a reader thread that follows the stream
///   (`XREAD`) into the local copy: from its start at start-up, from where it stopped after a
///   reconnect, so nothing appended while disconnected is missed.
/// - **Repairs**: after a reconnect and every
///   [`reconcile_every`](RedisStoreBuilder::reconcile_every), the reader checks that the stream
///   still holds the last entry this instance read or appended (or that a trim took it). If
///   Redis lost it (a restart without persistence, a failover to a replica that lagged, a
///   flush), the local copy's live entries are written back, after this instance's own
///   logouts, so a large repair never holds a logout up, and the stream is read again.
/// - **Redis down**: checks go on from the local copy; logouts take effect here at once and wait
///   in the queue (at most [`max_pending`](RedisStoreBuilder::max_pending)), in order, until
///   Redis takes them. A batch Redis refuses (out of memory, a missing ACL permission) is
///   set aside and retried with backoff, and the writes behind it go on.
/// - **Sign out my other devices** ([`RevocationStore::advance`] with
///   [`Cutoff::OlderThan`]) checks that the caller is in force and raises the subject's cutoff
///   to its stamp in one operation on this instance, against the local copy. Across instances
///   it needs no lock: cutoffs only rise, and every copy keeps the larger, whatever
///   the order. A sign-out-others and a log-out-everywhere of one subject made on two
///   instances within the propagation window both succeed, and the log-out-everywhere's
///   cutoff, above every stamp issued by then, ends the session the sign-out-others kept on
///   every instance; of two sign-out-others, the fresher session stays. Once a revocation that
///   ended the caller has reached an instance, a sign-out-others there fails with
///   [`RevokeError::Superseded`].
///
/// Threads are plain OS threads with blocking connections, so the store works under any async
/// runtime or none; a revoking call never waits on the calling thread: its [`Confirmation`]
/// is awaited (at most the [`Durability`] timeout, a loopback round trip when Redis is up)
/// while the thread serves other requests. Dropping the last clone
/// writes what is still queued and stops the threads, within
/// [`RedisStoreBuilder::shutdown_timeout`]; what is left then is saved to the
/// [pending file](RedisStoreBuilder::pending_file) or logged. The design, the consistency bound
/// and the measurements are in [`sealed_session::guide::revocation`].
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sealed_session::{KeyRing, SessionManager};
/// use sealed_session_redis::{LinkStatus, RedisRevocationStore};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisRevocationStore::builder(std::env::var("REDIS_URL")?)
///     .prefix("myapp:")
///     .pending_file("/var/lib/myapp/pending-revocations")
///     .build()?; // waits up to 2 s for the first load
/// if store.health().status == LinkStatus::Starting {
///     eprintln!("Redis unreachable: signed-in sessions are refused until it is back");
/// }
/// // With actix-web: `CookieSessionMiddleware::builder(ring).revocation_store(..)`, the same way.
/// let sessions = SessionManager::builder(KeyRing::from_env("SESSION_KEYS")?)
///     .revocation_store(Arc::new(store.clone())) // keep `store` for `health()`
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocationStore {
    shared: Arc<Shared>,
    /// Stops the threads when the last clone goes.
    _workers: Arc<Workers>,
}

struct Workers {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl RedisRevocationStore {
    /// A builder for the store connecting to `url` (`redis://host:port/db`), with the
    /// [defaults](RedisStoreBuilder#defaults).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(url.into())
    }

    pub(crate) fn start(settings: Settings) -> Self {
        let startup_wait = settings.startup_wait;
        let shared = Arc::new(Shared {
            local: MemoryRevocationStore::with_limits(settings.limits),
            queue: Mutex::new(Queue::new(settings.max_pending)),
            work: Condvar::new(),
            written: Condvar::new(),
            acks: Acknowledgements::new(),
            link: Mutex::new(LinkState::new()),
            link_changed: Condvar::new(),
            loaded: AtomicBool::new(false),
            resync_wanted: AtomicBool::new(false),
            repair_refused: AtomicBool::new(false),
            appended: Mutex::new(crate::stream::StreamId::START),
            recording: Mutex::new(()),
            overflows: AtomicU64::new(0),
            policy_unknown_reported: AtomicBool::new(false),
            pending_file_mark: Mutex::new(None),
            stop: AtomicBool::new(false),
            stop_deadline: Mutex::new(None),
            stop_signal: (Mutex::new(()), Condvar::new()),
            refused: Refusals::default(),
            settings,
        });
        if let Some(path) = &shared.settings.pending_file {
            pending::replay(&shared, path);
        }
        let spawn = |name: &str, run: fn(Arc<Shared>)| {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || run(shared))
                // As `std::thread::spawn`: only fails when the OS is out of threads or memory.
                .expect("the operating system starts a thread")
        };
        let threads = vec![
            spawn("sealed-session-redis-writer", writer::run_writer),
            spawn("sealed-session-redis-reader", reader::run_reader),
            spawn("sealed-session-redis-timer", |shared| {
                acknowledgement::run_timer(shared)
            }),
        ];
        tracing::debug!(
            target: LOG_TARGET,
            event = "start",
            url = %shared.settings.url,
            prefix = shared.settings.keys.prefix(),
            "revocation store started"
        );
        let store = Self {
            _workers: Arc::new(Workers {
                shared: Arc::clone(&shared),
                threads,
            }),
            shared,
        };
        if !startup_wait.is_zero() && !store.wait_until_loaded(startup_wait) {
            let serving = match store.shared.settings.until_loaded {
                UntilLoaded::RefuseSignedIn => {
                    "signed-in sessions are refused (their cookies kept) until it is"
                }
                UntilLoaded::Serve => {
                    "serving every session meanwhile: ones logged out on other instances are \
                     accepted here until it is"
                }
            };
            tracing::warn!(
                target: LOG_TARGET,
                event = "not_loaded",
                waited_ms = u64::try_from(startup_wait.as_millis()).unwrap_or(u64::MAX),
                url = %store.shared.settings.url,
                "the revocation list could not be loaded from Redis at start: {serving}"
            );
        }
        store
    }

    /// The state of the link to Redis. Cheap: reads a few counters.
    ///
    /// Changes are also logged under [`LOG_TARGET`] with an `event` field: `connected`,
    /// `disconnected`, `not_loaded`, `read_failed`, `write_failed`, `command_refused`,
    /// `queue_full`, `queue_drained`, `full_sync`, `data_lost`, `repair`, `evicting_policy`,
    /// `not_shared` (a revocation Redis can't hold), `slow_acknowledgement` (a logout waited more
    /// than half the timeout for Redis), `replicas_behind` and `replicas_confirmed` (with
    /// [`RedisStoreBuilder::replicas`] above 0: too few replicas confirmed a batch, then enough
    /// again), and at shutdown `unwritten_revocation`,
    /// `stopped_with_pending_writes` or `stop_timeout`. The local copy's limits are not in the
    /// health: see [`RedisRevocationStore::folds`] and [`RedisRevocationStore::overflows`].
    pub fn health(&self) -> LinkHealth {
        let (pending_writes, refused_writes, unqueued_writes, repair_writes) = {
            let queue = lock(&self.shared.queue);
            (
                queue.pending(),
                queue.refused(),
                queue.unqueued(),
                queue.repairs(),
            )
        };
        let acknowledgement_p99 = self.shared.acks.recent_p99();
        let slow = match self.shared.settings.durability {
            Durability::Acknowledged { timeout } => {
                acknowledgement_p99.is_some_and(|p99| p99 > timeout / 2)
            }
            Durability::Queued => false,
        };
        let link = lock(&self.shared.link);
        LinkHealth {
            status: link.status(refused_writes, slow),
            connected: link.connected(),
            reading: link.reading,
            loaded: link.loaded,
            pending_writes,
            refused_writes,
            unqueued_writes,
            repair_writes,
            command_errors: link.command_errors,
            last_command_error: link.last_command_error.clone(),
            evicting_policy: link.evicting_policy.clone(),
            last_full_sync: link.last_full_sync,
            full_syncs: link.full_syncs,
            disconnected_since: link.disconnected_since,
            local_entries: self.shared.local.len(),
            refused: self.shared.refused.total(),
            acknowledgement_p99,
            replicas_acknowledged: link.replicas_acknowledged,
            read_lag: link.read_lag,
        }
    }

    /// Waits up to `timeout` for the link to be [connected](LinkHealth::connected): reading
    /// the stream, read once in full; returns whether it is. For startup, to serve only once other
    /// instances' revocations are known, and for tests.
    pub fn wait_until_connected(&self, timeout: Duration) -> bool {
        self.wait_for_link(timeout, LinkState::connected)
    }

    /// Waits up to `timeout` for the first full read (at once if it was done); returns whether
    /// it was. [`RedisStoreBuilder::build`] waits for it up to
    /// [`RedisStoreBuilder::startup_wait`].
    pub fn wait_until_loaded(&self, timeout: Duration) -> bool {
        self.wait_for_link(timeout, |l| l.loaded)
    }

    fn wait_for_link(&self, timeout: Duration, done: impl Fn(&LinkState) -> bool) -> bool {
        let link = lock(&self.shared.link);
        let (link, _) = self
            .shared
            .link_changed
            .wait_timeout_while(link, timeout, |l| !done(l))
            .unwrap_or_else(PoisonError::into_inner);
        done(&link)
    }

    /// Waits up to `timeout` for every revocation made here so far to be written to Redis;
    /// returns whether they are.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.shared.wait_settled(timeout)
    }

    /// The namespace of the store's keys (the stream, and its retention).
    pub fn prefix(&self) -> &str {
        self.shared.settings.keys.prefix()
    }

    /// Revocations of this instance that found the local copy at
    /// [`RevocationLimits::total`](sealed_session::revocation::RevocationLimits::total): each raised the
    /// store-wide cutoff, ending signed-in sessions of every subject on every instance, or was
    /// an anonymous session's logout refused. The metric to alert on; each is also logged at
    /// `warn` under the core's target, `sealed_session` (`event` `revocation_overflow`).
    pub fn overflows(&self) -> u64 {
        self.shared.local.overflows()
    }

    /// Revocations of this instance folded into a subject's cutoff past
    /// [`RevocationLimits::per_subject`](sealed_session::revocation::RevocationLimits::per_subject) (logged
    /// at `warn`, `event` `revocation_fold`).
    pub fn folds(&self) -> u64 {
        self.shared.local.folds()
    }

    /// What the threads share, for the crate's unit tests.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// Builds and starts the store: the checked settings of [`RedisStoreBuilder`] or
/// [`RedisConfig`], turned into the running threads.
impl RedisStoreBuilder {
    /// Checks the settings and starts the store (its threads connect in the background), then
    /// waits up to [`RedisStoreBuilder::startup_wait`] for the first full read.
    ///
    /// # Errors
    /// [`BuildError::InvalidUrl`], [`BuildError::InvalidPrefix`],
    /// [`BuildError::InvalidTimeout`], [`BuildError::TimeoutTooLong`] (`connect_timeout`,
    /// `io_timeout`, `max_backoff`, `stall_timeout` and the [`Durability`] timeout at most a
    /// minute; `shutdown_timeout`, `reconcile_every` and `startup_wait` at most an hour),
    /// [`BuildError::ClusterUnsupported`], [`BuildError::InvalidLimit`],
    /// [`BuildError::InsecureTls`], [`BuildError::InvalidRootCertificates`] or
    /// [`BuildError::RootCertificatesWithoutTls`]. An unreachable Redis is not an error (see
    /// [`UntilLoaded`]).
    ///
    /// # Panics
    /// If the operating system cannot start a thread, as [`std::thread::spawn`].
    pub fn build(self) -> Result<RedisRevocationStore, BuildError> {
        Ok(RedisRevocationStore::start(
            self.check()?.into_settings(None),
        ))
    }
}

impl RedisConfig {
    /// Starts the store. Infallible: the settings were checked when read, and reaching Redis is
    /// the store's business from here on. Without [`RedisConfig::authenticate_with`], the store
    /// is not authenticated, and says so with a `warn`: started by the session builder
    /// (`.revocation_store(config)`), it is authenticated with the session key ring instead.
    ///
    /// # Panics
    /// If the operating system cannot start a thread, as [`std::thread::spawn`].
    pub fn start(self) -> RedisRevocationStore {
        RedisRevocationStore::start(self.into_settings(None))
    }
}

impl IntoRevocationStore for RedisConfig {
    fn into_store(self, clock: Arc<dyn Clock>) -> Arc<dyn RevocationStore> {
        Arc::new(self.clock(clock).start())
    }

    /// Authenticated with `mac`, the session key ring's, unless turned off
    /// ([`RedisConfig::unauthenticated`], `"authenticate": false`) or given a key already.
    fn into_store_authenticated(
        self,
        clock: Arc<dyn Clock>,
        mac: RevocationMac,
    ) -> Arc<dyn RevocationStore> {
        Arc::new(RedisRevocationStore::start(
            self.clock(clock).into_settings(Some(mac)),
        ))
    }
}

/// The store the setting chooses, started at the session builder's `build`.
impl IntoRevocationStore for RevocationConfig {
    fn into_store(self, clock: Arc<dyn Clock>) -> Arc<dyn RevocationStore> {
        match self {
            Self::Memory => Arc::new(MemoryRevocationStore::new()),
            Self::Redis(config) => config.into_store(clock),
        }
    }

    fn into_store_authenticated(
        self,
        clock: Arc<dyn Clock>,
        mac: RevocationMac,
    ) -> Arc<dyn RevocationStore> {
        match self {
            Self::Memory => Arc::new(MemoryRevocationStore::new()),
            Self::Redis(config) => config.into_store_authenticated(clock, mac),
        }
    }
}

impl RevocationStore for RedisRevocationStore {
    #[inline]
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool {
        self.shared.local.is_revoked(id, subject, now)
    }

    #[inline]
    fn generation(&self, subject: &str) -> Generation {
        self.shared.local.generation(subject)
    }

    #[inline]
    fn authentication_stamp(&self, subject: &str, at: Generation) -> Generation {
        self.shared.local.authentication_stamp(subject, at)
    }

    /// Records `revocation` in the local copy (its limits and folding apply), then queues what
    /// the copy recorded for Redis and the other instances.
    fn revoke(
        &self,
        revocation: Revocation,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        // Recorded and queued under one lock: a `settle` (another request's, for a cookie the
        // copy refuses already) can't see the queue settled in between.
        let _recording = lock(&self.shared.recording);
        let recorded = match self.shared.local.revoke(revocation.clone(), now) {
            Ok(recorded) => recorded,
            Err(err @ RevokeError::Superseded { .. }) => {
                // Refused here already, perhaps only by this copy's coarser state (a store-wide
                // cutoff raised for other instances' revocations, a fold) that Redis and the
                // other instances don't hold: the session's own revocation goes to Redis all the
                // same (idempotent), so the logout is confirmed only once it is there.
                self.shared.share(&revocation, now);
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        if let Some(recorded) = &recorded {
            self.shared.share(recorded, now);
        }
        Ok(recorded)
    }

    /// Raises the subject's cutoff in the local copy (the check that a kept session is in
    /// force is decided there, in the same operation: atomic on this instance, not across
    /// instances), then queues what the copy recorded for Redis and the other instances.
    fn advance(
        &self,
        subject: &str,
        cutoff: Cutoff,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        // Recorded and queued under one lock: a `settle` (another request's, for a cookie the
        // copy refuses already) can't see the queue settled in between.
        let _recording = lock(&self.shared.recording);
        let recorded = self.shared.local.advance(subject, cutoff, until, now)?;
        if let Some(recorded) = &recorded {
            self.shared.share(recorded, now);
        }
        Ok(recorded)
    }

    /// With [`Durability::Acknowledged`] (the default), the confirmation that Redis has every
    /// revocation made here so far, resolved within the configured timeout: by the writer
    /// thread once Redis acknowledged them, or by the timer thread at the deadline. With
    /// [`Durability::Queued`], confirmed at once.
    ///
    /// It resolves to `RevokeError::NotDurable` when Redis did not acknowledge them in time
    /// ([`NotDurableReason::RedisTimedOut`], or [`RedisRefusedWrite`], [`RedisUnreachable`] or,
    /// with [`RedisStoreBuilder::replicas`] above 0, [`ReplicasBehind`] when that is why), a revocation found the queue full ([`RedisQueueFull`]), or the policy
    /// is [`EvictingPolicy::Refuse`] and Redis may evict ([`RedisMayEvict`]); at once, without
    /// waiting, when the link is known to be down and something is unwritten
    /// ([`RedisUnreachable`]).
    ///
    /// [`RedisRefusedWrite`]: NotDurableReason::RedisRefusedWrite
    /// [`RedisUnreachable`]: NotDurableReason::RedisUnreachable
    /// [`RedisQueueFull`]: NotDurableReason::RedisQueueFull
    /// [`ReplicasBehind`]: NotDurableReason::ReplicasBehind
    /// [`RedisMayEvict`]: NotDurableReason::RedisMayEvict
    fn settle(&self) -> Confirmation {
        let Durability::Acknowledged { timeout } = self.shared.settings.durability else {
            return Confirmation::ready(Ok(()));
        };
        let not_durable = |reason| {
            Confirmation::ready(Err(RevokeError::NotDurable {
                waited: Duration::ZERO,
                reason,
            }))
        };
        if self.shared.settings.evicting_policy == EvictingPolicy::Refuse
            && lock(&self.shared.link).evicting_policy.is_some()
        {
            return not_durable(NotDurableReason::RedisMayEvict);
        }
        // After every revocation recorded so far is queued (see `revoke`).
        let recorded = lock(&self.shared.recording);
        let mark = {
            let queue = lock(&self.shared.queue);
            if queue.unqueued() > 0 {
                return not_durable(NotDurableReason::RedisQueueFull);
            }
            if queue.settled_now() {
                return Confirmation::ready(Ok(()));
            }
            queue.mark()
        };
        drop(recorded);
        // A writer known to fail won't confirm within the wait: answer at once rather than keep
        // the logout waiting for the whole timeout, request after request, through an outage.
        // Only the writer's link counts: while the reader reconnects or reads the stream again,
        // the writer's acknowledgements still come, and a logout is answered as usual.
        if !lock(&self.shared.link).writable {
            return not_durable(NotDurableReason::RedisUnreachable);
        }
        Confirmation::waiting((), Acknowledgement::new(self.shared.clone(), mark, timeout))
    }

    /// `false` until the first full read when signed-in sessions are refused until then
    /// ([`UntilLoaded::RefuseSignedIn`], the default).
    #[inline]
    fn revocations_known(&self) -> bool {
        self.shared.settings.until_loaded == UntilLoaded::Serve
            || self.shared.loaded.load(Ordering::Acquire)
    }
}

impl fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStore")
            .field("url", &self.shared.settings.url)
            .field("prefix", &self.prefix())
            .field(
                "authenticated",
                &self.shared.settings.keys.is_authenticated(),
            )
            .field("health", &self.health())
            .finish()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let timeout = self.shared.settings.shutdown_timeout;
        // A configured timeout too large for `Instant` (e.g. `Duration::MAX`) means "wait as long
        // as it takes": a year stands for it, rather than an overflow panic in `drop`.
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
        *lock(&self.shared.stop_deadline) = Some(deadline);
        self.shared.stop.store(true, Ordering::Release);
        // Notified under each waiter's mutex: a thread that checked the flag just before it was
        // set is then already waiting, and wakes.
        {
            let _queue = lock(&self.shared.queue);
            self.shared.work.notify_all();
        }
        {
            let _guard = lock(&self.shared.stop_signal.0);
            self.shared.stop_signal.1.notify_all();
        }
        self.shared.acks.stop_timer();
        for thread in self.threads.drain(..) {
            // `JoinHandle::join` has no timeout: poll, so that a thread stuck in a connect or
            // a command can't hold the caller longer than the shutdown timeout.
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                tracing::warn!(
                    target: LOG_TARGET,
                    event = "stop_timeout",
                    thread = thread.thread().name().unwrap_or_default(),
                    "revocation store thread still busy after {timeout:?}: left to finish alone"
                );
            }
        }
        // Whatever the writer could not write (it may still be busy with its last attempt:
        // its queue is read as it stands).
        pending::save(&self.shared);
    }
}

#[cfg(test)]
mod tests {
    //! What needs no redis-server: a store with nothing to connect to, and its settings. The
    //! store against a real Redis is tested through its public API in the tests crate
    //! (`tests/tests/redis/store.rs`), so `cargo test` passes here on a machine without one.

    use std::net::TcpListener;

    use super::*;
    use crate::config::{Durability, UntilLoaded};
    use crate::error::BuildError;
    use crate::keys::MAX_SUBJECT_LEN;

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

    /// A session of `subject` signed in at `NOW` on `store`.
    fn signed_in(store: &RedisRevocationStore, subject: &str) -> Subject {
        let stamp = Generation::authenticated_at(NOW.to_datetime(), store.generation(subject));
        Subject::new(subject, stamp)
    }

    /// "Log out everywhere" at `NOW`, with a minute's clock skew allowance.
    fn everything() -> Cutoff {
        Cutoff::Everything {
            above: Generation::everywhere_at(NOW.to_datetime(), time::Duration::minutes(1)),
        }
    }

    #[test]
    fn without_redis_logouts_hold_locally_queue_up_and_the_health_says_so() {
        // A loopback port with nothing listening (bound, then released).
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = RedisRevocationStore::builder(format!("redis://127.0.0.1:{port}/"))
            .max_backoff(Duration::from_millis(100))
            .shutdown_timeout(Duration::from_millis(500))
            .durability(Durability::Acknowledged {
                timeout: Duration::from_secs(30),
            })
            .startup_wait(Duration::from_millis(100))
            .build()
            .unwrap();
        let id = SessionId::random().unwrap();
        store.revoke(anonymous(id, t(100)), NOW).unwrap();
        // Already expired: recorded nowhere, queued for nothing.
        store
            .revoke(anonymous(SessionId::random().unwrap(), NOW), NOW)
            .unwrap();
        let before = signed_in(&store, "heidi");
        store.advance("heidi", everything(), t(100), NOW).unwrap();
        assert!(store.is_revoked(id, None, NOW));
        assert!(store.is_revoked(id, Some(&before), NOW));
        let err = store.settle().wait().unwrap_err();
        assert!(
            matches!(err, RevokeError::NotDurable { reason: NotDurableReason::RedisUnreachable, waited } if waited < Duration::from_secs(30)),
            "a link known to be down answers without waiting out the timeout: {err:?}"
        );
        assert!(!store.revocations_known(), "fails closed until loaded");
        assert!(!store.wait_until_connected(Duration::from_millis(300)));
        assert!(!store.flush(Duration::from_millis(100)));
        let health = store.health();
        assert!(!health.connected && !health.reading && !health.loaded);
        assert_eq!(health.status, crate::LinkStatus::Starting);
        assert_eq!(health.pending_writes, 2);
        assert_eq!(health.full_syncs, 0);
        assert!(health.disconnected_since.is_some());
        let started = Instant::now();
        drop(store);
        assert!(started.elapsed() < Duration::from_secs(2), "bounded stop");
    }

    #[test]
    fn a_subject_too_long_for_redis_holds_locally_and_is_not_queued() {
        let store = RedisRevocationStore::builder("redis://127.0.0.1:1/")
            .shutdown_timeout(Duration::from_millis(200))
            .startup_wait(Duration::ZERO)
            .build()
            .unwrap();
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
        let before = signed_in(&store, &long);
        store.advance(&long, everything(), t(100), NOW).unwrap();
        assert!(store.is_revoked(SessionId::random().unwrap(), Some(&before), NOW));
        assert_eq!(store.health().pending_writes, 0);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let store = RedisRevocationStore::builder("redis://user:s3cret@127.0.0.1:1/")
            .shutdown_timeout(Duration::from_millis(200))
            .startup_wait(Duration::ZERO)
            .build()
            .unwrap();
        let shown = format!("{store:?}");
        assert!(shown.contains("user:***@127.0.0.1:1"), "{shown}");
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn bad_settings_are_refused_at_startup() {
        for url in ["http://host/", "redis://", "not a url", "redis://h:99999/"] {
            assert!(
                matches!(
                    RedisRevocationStore::builder(url).build(),
                    Err(BuildError::InvalidUrl { .. })
                ),
                "{url}"
            );
        }
        for prefix in ["", "a b", "a\nb", &"x".repeat(129)] {
            assert!(
                matches!(
                    RedisRevocationStore::builder("redis://127.0.0.1/")
                        .prefix(prefix)
                        .build(),
                    Err(BuildError::InvalidPrefix { .. })
                ),
                "{prefix:?}"
            );
        }
        assert_eq!(
            RedisRevocationStore::builder("redis://127.0.0.1/")
                .io_timeout(Duration::ZERO)
                .build()
                .unwrap_err(),
            BuildError::InvalidTimeout {
                setting: "io_timeout"
            }
        );
        assert_eq!(
            RedisRevocationStore::builder("redis://127.0.0.1/")
                .max_pending(0)
                .build()
                .unwrap_err(),
            BuildError::InvalidLimit {
                setting: "max_pending"
            }
        );
        assert_eq!(
            RedisRevocationStore::builder("redis://127.0.0.1/")
                .durability(Durability::Acknowledged {
                    timeout: Duration::ZERO
                })
                .build()
                .unwrap_err(),
            BuildError::InvalidTimeout {
                setting: "durability"
            }
        );
    }

    #[test]
    fn a_queued_store_does_not_wait_and_serving_open_knows_at_once() {
        let store = RedisRevocationStore::builder("redis://127.0.0.1:1/")
            .shutdown_timeout(Duration::from_millis(200))
            .startup_wait(Duration::ZERO)
            .durability(Durability::Queued)
            .until_loaded(UntilLoaded::Serve)
            .build()
            .unwrap();
        store
            .revoke(anonymous(SessionId::random().unwrap(), t(100)), NOW)
            .unwrap();
        assert_eq!(store.settle().wait(), Ok(()));
        assert!(store.revocations_known());
    }

    /// A store whose Redis never answers, saving what is unwritten to `file` at a stop, with its
    /// clock at the test's `NOW` (replayed entries are bounded by it), as `configure` sets it.
    fn offline_with_pending_file(
        file: &std::path::Path,
        configure: impl FnOnce(RedisStoreBuilder) -> RedisStoreBuilder,
    ) -> RedisRevocationStore {
        configure(RedisRevocationStore::builder("redis://127.0.0.1:1/"))
            .shutdown_timeout(Duration::from_millis(200))
            .startup_wait(Duration::ZERO)
            .pending_file(file)
            .clock(Arc::new(sealed_session::clock::ManualClock::new(
                NOW.to_datetime(),
            )))
            .build()
            .unwrap()
    }

    #[test]
    fn a_full_queue_fails_at_once_and_the_stop_saves_what_is_unwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pending");
        let build = || offline_with_pending_file(&file, |b| b.max_pending(2));
        let store = build();
        let ids: Vec<SessionId> = (0..3).map(|_| SessionId::random().unwrap()).collect();
        for id in &ids {
            store.revoke(anonymous(*id, t(100)), NOW).unwrap();
        }
        let started = Instant::now();
        let err = store.settle().wait().unwrap_err();
        assert!(
            matches!(
                err,
                RevokeError::NotDurable {
                    reason: NotDurableReason::RedisQueueFull,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_millis(100), "no wait");
        let health = store.health();
        assert_eq!((health.pending_writes, health.unqueued_writes), (2, 1));
        assert!(
            ids.iter().all(|id| store.is_revoked(*id, None, NOW)),
            "all hold here"
        );
        drop(store);
        let saved = std::fs::read_to_string(&file).unwrap();
        assert_eq!(saved.lines().count(), 3, "a header and two: {saved}");
        // The next start applies them (and queues them again).
        let store = build();
        assert!(store.is_revoked(ids[0], None, NOW) && store.is_revoked(ids[1], None, NOW));
        assert_eq!(store.health().pending_writes, 2);
    }

    #[test]
    fn a_store_wide_cutoff_is_queued_for_redis_and_survives_a_stop() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pending");
        let build = || {
            offline_with_pending_file(&file, |b| {
                b.limits(sealed_session::revocation::RevocationLimits::new().total(1))
            })
        };
        let store = build();
        let (alice, bob, carol) = (
            signed_in(&store, "alice"),
            signed_in(&store, "bob"),
            signed_in(&store, "carol"),
        );
        let recorded = store.advance("alice", everything(), t(100), NOW).unwrap();
        assert!(
            matches!(recorded, Some(Revocation::Subject { .. })),
            "{recorded:?}"
        );
        // Full: bob's logout everywhere raises the store-wide cutoff instead.
        let recorded = store.advance("bob", everything(), t(100), NOW).unwrap();
        let Some(Revocation::Everyone { generation, .. }) = recorded else {
            panic!("{recorded:?}");
        };
        assert!(generation > carol.generation());
        assert_eq!(store.overflows(), 1);
        let any = SessionId::random().unwrap();
        for before in [&alice, &bob, &carol] {
            assert!(store.is_revoked(any, Some(before), NOW));
        }
        // Queued for Redis like any other revocation, not dropped.
        assert_eq!(store.health().pending_writes, 2);
        drop(store);
        let saved = std::fs::read_to_string(&file).unwrap();
        assert_eq!(saved.lines().count(), 3, "a header and two: {saved}");
        assert!(
            saved
                .lines()
                .any(|line| line.starts_with(&format!("a {generation} "))),
            "{saved}"
        );
        // The next start applies it (and queues it again).
        let store = build();
        assert!(store.is_revoked(any, Some(&carol), NOW));
        assert_eq!(store.generation("dave"), generation);
        let after = signed_in(&store, "dave");
        assert!(!store.is_revoked(any, Some(&after), NOW));
        assert_eq!(store.health().pending_writes, 2);
    }
}
