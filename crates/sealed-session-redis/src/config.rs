//! Settings: a builder for code, a serde type for configuration files.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use sealed_session::KeyRing;
use sealed_session::clock::{Clock, SystemClock};
use sealed_session::revocation::{RevocationLimits, RevocationMac};
use serde::Deserialize;

use crate::error::BuildError;
use crate::keys::Keys;
use crate::target::Target;

/// The key prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "sealed-session:";

/// Checked settings, shared by the store's threads.
#[derive(Clone)]
pub(crate) struct Settings {
    /// Where to connect.
    pub(crate) target: Target,
    /// The URL for logs, made from its parsed parts: any password is `***`.
    pub(crate) url: String,
    pub(crate) keys: Keys,
    pub(crate) connect_timeout: Duration,
    pub(crate) io_timeout: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: RevocationLimits,
    pub(crate) durability: Durability,
    /// Replicas that must confirm a batch (`WAIT`) before it counts as written; 0: the
    /// primary's reply is enough.
    pub(crate) replicas: u32,
    pub(crate) max_pending: usize,
    pub(crate) reconcile_every: Duration,
    pub(crate) stall_timeout: Duration,
    pub(crate) evicting_policy: EvictingPolicy,
    pub(crate) startup_wait: Duration,
    pub(crate) until_loaded: UntilLoaded,
    pub(crate) pending_file: Option<PathBuf>,
}

/// When a revoking call returns: once Redis has the revocation, or at once.
///
/// ```
/// use std::time::Duration;
/// use sealed_session_redis::{Durability, RedisRevocationStore};
///
/// let store = RedisRevocationStore::builder("redis://127.0.0.1:6379/")
///     .durability(Durability::Acknowledged { timeout: Duration::from_millis(500) })
///     .startup_wait(Duration::ZERO)
///     .build()?;
/// # Ok::<(), sealed_session_redis::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// The default, with a 250 ms timeout: a logout (`purge`, `purge_subject`,
    /// `purge_other_sessions`, a revoking `renew`) returns once Redis acknowledged the write
    /// (and, with [`RedisStoreBuilder::replicas`] above 0, that many of its replicas), so an
    /// instance killed right after its answer loses nothing. If Redis hasn't within
    /// `timeout`, the call fails with `RevokeError::NotDurable`: the logout holds on this
    /// instance and stays queued, and the application answers "try again" (the example apps
    /// answer `503`).
    Acknowledged {
        /// The longest a revoking call waits for Redis.
        timeout: Duration,
    },
    /// Fire and forget: a logout returns once it holds on this instance and is queued for
    /// Redis. An instance that dies before its queue is written takes those logouts along
    /// (they hold nowhere else).
    Queued,
}

/// What this instance does with signed-in sessions before its first full read of the shared
/// stream (at start, while Redis is unreachable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UntilLoaded {
    /// The default: fail closed. Signed-in sessions are refused (`OpenError::RevocationUnknown`,
    /// their cookies kept) until the list is loaded: no logout made elsewhere is ever
    /// accepted here, at the cost of signed-in users seeing "not signed in" while Redis is
    /// down at an instance's start. Anonymous sessions, which are not listed, are served. A
    /// logout made meanwhile with such a cookie is recorded here and queued all the same, and
    /// answered `RevokeError::NotDurable` (the cookie kept) until Redis has it; a
    /// log-out-everywhere or sign-out-others records nothing and is answered `NotDurable`
    /// until the list is loaded (the cookie may be a logged-out copy); a write is refused with
    /// `InsertError::RevocationsUnknown`, so it never replaces the signed-in cookie with an
    /// anonymous one.
    RefuseSignedIn,
    /// Fail open: serve every session from the local copy, which starts empty, so a session
    /// logged out on another instance is accepted here until the first load.
    Serve,
}

/// What to do when Redis may evict the store's keys: a `maxmemory-policy` other than
/// `noeviction` with a `maxmemory` set. Evicted revocations are logouts undone for every
/// instance started since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EvictingPolicy {
    /// The default: log an error when the policy is first seen and show it in the health.
    Warn,
    /// Also refuse to confirm logouts (`RevokeError::NotDurable`) while the policy evicts.
    Refuse,
}

/// Builds a [`RedisRevocationStore`](crate::RedisRevocationStore); every setting is checked by
/// [`RedisStoreBuilder::build`].
///
/// # Defaults
/// - key prefix `sealed-session:` ([`DEFAULT_PREFIX`])
/// - connect timeout 1 second, command timeout 2 seconds
/// - reconnect backoff from 50 ms doubling up to 1 second
/// - shutdown: up to 2 seconds to write what is queued and stop the threads, then the rest is
///   logged (or saved to the [pending file](RedisStoreBuilder::pending_file))
/// - the system clock
/// - the local copy's [default limits](RevocationLimits#defaults)
/// - logouts confirmed by Redis within 250 ms ([`Durability::Acknowledged`]), by the primary
///   alone ([`replicas`](RedisStoreBuilder::replicas) 0)
/// - at most 100,000 logouts queued ([`RedisStoreBuilder::max_pending`])
/// - `build` waits up to 2 seconds for the first full read, and signed-in sessions are refused
///   until it is done ([`UntilLoaded::RefuseSignedIn`])
/// - a stalled Redis is noticed within 1 second (the reader's `XREAD` waits 100 ms for new
///   entries, and its answer may take 750 ms more)
/// - Redis checked every 5 seconds for lost data (a flush, a restart, a failover), which a
///   repair then writes back
/// - an evicting `maxmemory-policy` logged as an error ([`EvictingPolicy::Warn`])
/// - entries not authenticated, with a `warn` at start, unless given a key ring
///   ([`authenticate_with`](Self::authenticate_with)); a [`RedisConfig`] the session builder
///   starts is authenticated with the session key ring unless turned off
///   ([`unauthenticated`](Self::unauthenticated)). Always bounded (see
///   [`sealed_session::guide::security`])
/// - with `rediss://`, the system's root certificates
///
/// ```
/// use std::time::Duration;
/// use sealed_session_redis::{BuildError, RedisRevocationStore};
///
/// let store = RedisRevocationStore::builder("redis://127.0.0.1:6379/")
///     .prefix("myapp:session:")
///     .max_backoff(Duration::from_millis(500))
///     .build()?;
/// // Built even with no Redis there: it connects when it can, and says so.
/// assert_eq!(store.prefix(), "myapp:session:");
///
/// let err = RedisRevocationStore::builder("redis://127.0.0.1/").prefix("").build().unwrap_err();
/// assert!(matches!(err, BuildError::InvalidPrefix { .. }));
/// # Ok::<(), BuildError>(())
/// ```
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    io_timeout: Duration,
    max_backoff: Duration,
    shutdown_timeout: Duration,
    clock: Arc<dyn Clock>,
    limits: RevocationLimits,
    durability: Durability,
    replicas: u32,
    max_pending: usize,
    reconcile_every: Duration,
    stall_timeout: Duration,
    evicting_policy: EvictingPolicy,
    startup_wait: Duration,
    until_loaded: UntilLoaded,
    pending_file: Option<PathBuf>,
    mac: Option<RevocationMac>,
    /// Authentication turned off explicitly ([`RedisStoreBuilder::unauthenticated`]).
    unauthenticated: bool,
    root_certificates: Option<Vec<u8>>,
}

/// The settings, the URL without its secrets (as every other place shows it).
impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("url", &crate::error::redact(&self.url))
            .field("prefix", &self.prefix)
            .field("durability", &self.durability)
            .field("limits", &self.limits)
            .field("pending_file", &self.pending_file)
            .field(
                "authenticated",
                &(self.mac.is_some() && !self.unauthenticated),
            )
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_secs(2),
            max_backoff: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(2),
            clock: Arc::new(SystemClock),
            limits: RevocationLimits::new(),
            durability: Durability::Acknowledged {
                timeout: Duration::from_millis(250),
            },
            replicas: 0,
            max_pending: 100_000,
            reconcile_every: Duration::from_secs(5),
            stall_timeout: Duration::from_millis(750),
            evicting_policy: EvictingPolicy::Warn,
            startup_wait: Duration::from_secs(2),
            until_loaded: UntilLoaded::RefuseSignedIn,
            pending_file: None,
            mac: None,
            unauthenticated: false,
            root_certificates: None,
        }
    }

    /// The namespace of every key (the stream and its retention). Defaults to
    /// `sealed-session:`; give each
    /// application sharing a Redis its own (instances of one application share one).
    #[doc(alias = "namespace")]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long to wait for a TCP connection and its handshake. Defaults to 1 second.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a command may take before the connection is treated as broken and made anew.
    /// Defaults to 2 seconds.
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// The longest wait between two reconnection attempts (the wait starts at 50 ms and doubles).
    /// Defaults to 1 second: after an outage, the link is back at most this long after Redis.
    #[doc(alias = "retry")]
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// How long dropping the store may take: writing what is still queued, then stopping its
    /// threads. Defaults to 2 seconds.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The clock of background work (sweeping expired entries, skipping them when reloading).
    /// Defaults to the system clock; give it the codec's clock when that is a test clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The limits of the local copy: how many revoked sessions of one subject it lists before
    /// the next revocation folds into the subject's cutoff instead, and how many subjects and
    /// listed anonymous sessions it holds before a new subject's revocation raises the
    /// store-wide cutoff instead (and an anonymous session's is refused). They apply to this
    /// instance's own revocations (what it then writes to Redis is what its copy recorded, fold
    /// and store-wide cutoff included, which every instance then applies). Other instances'
    /// revocations (read from the stream) are held apart, within
    /// [`RevocationLimits::remote_total`] and 8 times the per-subject limit
    /// ([`MemoryRevocationStore::apply`]), so that however much is pushed through Redis, this
    /// instance's logouts keep all their room. Defaults to [`RevocationLimits::new`].
    ///
    /// [`MemoryRevocationStore::apply`]: sealed_session::revocation::MemoryRevocationStore::apply
    pub fn limits(mut self, limits: RevocationLimits) -> Self {
        self.limits = limits;
        self
    }

    /// When a revoking call returns (see [`Durability`]). Defaults to
    /// [`Durability::Acknowledged`] within 250 ms.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How many replicas of the primary must have each revocation before a logout is confirmed.
    /// Defaults to 0: the primary's reply is enough, as with a single Redis.
    ///
    /// With `n` above 0, the writer sends `WAIT n <ms>` after each batch of this instance's
    /// revocations (waiting at most what is left of the latest waiting logout's
    /// [`Durability`] timeout), and the batch counts as written only once `WAIT` reports at
    /// least `n` replicas: a logout is then confirmed only when a failover that promotes one of
    /// those replicas keeps it. Otherwise the batch stays queued and is written again (every
    /// write is idempotent), and the logouts waiting for it fail at their deadline with
    /// `RevokeError::NotDurable` ([`NotDurableReason::ReplicasBehind`]). With fewer than `n`
    /// replicas connected (one down, or after a failover until a new one is attached), every
    /// logout fails that way: choose `n` below the replicas you run. `WAIT` says the replicas
    /// received the writes, not that they wrote them to disk; what each topology guarantees is
    /// in [`sealed_session::guide::revocation`], "Topologies".
    ///
    /// # Performance impact
    /// Each logout waits for a replica's acknowledgement as well as the primary's: about one
    /// more round trip between them. Checks don't change (they read the local copy).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sealed_session_redis::{BuildError, Durability, RedisRevocationStore};
    ///
    /// let store = RedisRevocationStore::builder("redis+sentinel://10.0.0.5,10.0.0.6,10.0.0.7/sessions")
    ///     .replicas(1)
    ///     .startup_wait(Duration::ZERO)
    ///     .build()?;
    ///
    /// // A queued store waits for nobody, so nothing would wait for the replicas.
    /// let err = RedisRevocationStore::builder("redis://127.0.0.1:6379/")
    ///     .durability(Durability::Queued)
    ///     .replicas(1)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, BuildError::Conflict { .. }));
    /// # Ok::<(), BuildError>(())
    /// ```
    ///
    /// [`NotDurableReason::ReplicasBehind`]: sealed_session::NotDurableReason::ReplicasBehind
    #[doc(alias = "WAIT")]
    #[doc(alias = "replication")]
    #[doc(alias = "min_replicas")]
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// The most revocations queued for Redis (about 110 bytes each). Past it, a logout still
    /// holds here and fails with `RevokeError::NotDurable` at once; a repair (a write-back of
    /// every live entry of the local copy, asked for when the queue overflows) writes it when
    /// Redis takes writes again. Defaults to 100,000.
    pub fn max_pending(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// How often Redis is checked for data lost without a reconnect (a `FLUSHDB`, a restart or
    /// failover behind a proxy): whether the stream still holds the last entry this instance
    /// read or appended, or a trim took it (it is also checked after every reconnect). Lost
    /// data brings a repair (the local copy written back) and a read of the stream from its
    /// start. Defaults to 5 seconds.
    pub fn reconcile_every(mut self, interval: Duration) -> Self {
        self.reconcile_every = interval;
        self
    }

    /// How long Redis may take, beyond the 100 ms the reader's `XREAD` waits for new entries,
    /// to answer it before the link counts as down. Defaults to 750 ms, so a stalled Redis
    /// shows in the health within about a second.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// What to do when Redis may evict revocations (see [`EvictingPolicy`]). Defaults to
    /// [`EvictingPolicy::Warn`].
    pub fn evicting_policy(mut self, policy: EvictingPolicy) -> Self {
        self.evicting_policy = policy;
        self
    }

    /// How long [`RedisStoreBuilder::build`] waits for the first full read of the stream (zero: not at all).
    /// Defaults to 2 seconds.
    pub fn startup_wait(mut self, wait: Duration) -> Self {
        self.startup_wait = wait;
        self
    }

    /// What to do with signed-in sessions until the first full read of the stream (see [`UntilLoaded`]).
    /// Defaults to [`UntilLoaded::RefuseSignedIn`].
    pub fn until_loaded(mut self, until_loaded: UntilLoaded) -> Self {
        self.until_loaded = until_loaded;
        self
    }

    /// A file for the revocations still unwritten when the store stops (Redis unreachable
    /// for the whole shutdown timeout): they are saved there, and the next start with the same
    /// file applies them and writes them to Redis, then removes the file. Without one, each is
    /// logged as an `error` event `unwritten_revocation` whose `revocation` field is the line
    /// the file would hold. The directory must exist; the file is written at shutdown and read
    /// at `build`.
    pub fn pending_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pending_file = Some(path.into());
        self
    }

    /// Authenticates every entry with an HMAC-SHA256 key derived from `key_ring`
    /// ([`KeyRing::revocation_mac`]): what this store writes carries a tag, and what it reads
    /// without a valid one is ignored (counted in [`LinkHealth::refused`] and logged). Then
    /// someone who can write to Redis but does not hold the key ring can neither forge a
    /// logout nor alter one; they can still delete entries ([`sealed_session::guide::security`] says
    /// what that allows). A store the session builder starts from a [`RedisConfig`] (what a
    /// configuration file's `"revocation"` and an adapter's `.revocation_store(config)` do) is
    /// authenticated with the session key ring already; a store built here is not unless this
    /// is called, and says so at start with a `warn` (event `unauthenticated`).
    ///
    /// Give it the ring the lifecycle seals cookies with: the primary tags, every key verifies,
    /// so a rotation keeps earlier tags valid while their key is in the ring. Turn it on for
    /// every instance sharing the prefix at once: an instance with it ignores what an instance
    /// without it writes, and the other way round. Entries already in Redis are then ignored
    /// by instances with it on: logouts made before the switch are not known to instances
    /// started after it (see [`sealed_session::guide::revocation`], "Authentication").
    ///
    /// ```
    /// use sealed_session::{KeyRing, SecretKey};
    /// use sealed_session_redis::RedisRevocationStore;
    ///
    /// let ring = KeyRing::new(SecretKey::generate());
    /// let store = RedisRevocationStore::builder("redis://127.0.0.1:6379/")
    ///     .authenticate_with(&ring)
    ///     .build()?;
    /// // The key never shows.
    /// assert!(format!("{store:?}").contains("authenticated: true"));
    /// # Ok::<(), sealed_session_redis::BuildError>(())
    /// ```
    ///
    /// [`LinkHealth::refused`]: crate::LinkHealth::refused
    #[doc(alias = "mac")]
    #[doc(alias = "hmac")]
    #[doc(alias = "sign")]
    pub fn authenticate_with(mut self, key_ring: &KeyRing) -> Self {
        self.mac = Some(key_ring.revocation_mac());
        self.unauthenticated = false;
        self
    }

    /// Turns authentication off, even where the session builder would give the store its key
    /// ring: entries are written without a tag, and read without one. Anyone who can write to
    /// Redis (append to the stream) can then forge logouts, and fill each
    /// instance's copy up to its limits. Logged at start as a `warn` (event
    /// `unauthenticated`). For a fleet that can't turn authentication on everywhere at once
    /// (instances of an earlier version still write untagged entries).
    ///
    /// ```
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    /// use sealed_session_redis::RedisConfig;
    ///
    /// let config: RedisConfig =
    ///     serde_json::from_str(r#"{ "url": "redis://127.0.0.1:6379/", "authenticate": false }"#)?;
    /// assert!(format!("{config:?}").contains(r#"authentication: "off""#));
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
    ///     .revocation_store(config) // not authenticated, and a `warn` says so
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "authenticate")]
    pub fn unauthenticated(mut self) -> Self {
        self.mac = None;
        self.unauthenticated = true;
        self
    }

    /// The root certificates (PEM, one or more) that a `rediss://` server's certificate must
    /// chain to, instead of the system's: for a private CA. Defaults to the system's root
    /// certificates. The server's name in the URL is checked against its certificate either
    /// way.
    ///
    /// ```
    /// use sealed_session_redis::{BuildError, RedisRevocationStore};
    ///
    /// let err = RedisRevocationStore::builder("rediss://redis.internal:6380/")
    ///     .tls_root_certificates("not a certificate")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err, BuildError::InvalidRootCertificates);
    /// # Ok::<(), BuildError>(())
    /// ```
    #[doc(alias = "ca")]
    #[doc(alias = "tls")]
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    pub(crate) fn check(self) -> Result<RedisConfig, BuildError> {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3_600);
        for (setting, value, max, zero_allowed) in [
            ("connect_timeout", self.connect_timeout, minute, false),
            ("io_timeout", self.io_timeout, minute, false),
            ("max_backoff", self.max_backoff, minute, false),
            ("shutdown_timeout", self.shutdown_timeout, hour, false),
            ("reconcile_every", self.reconcile_every, hour, false),
            ("stall_timeout", self.stall_timeout, minute, false),
            ("startup_wait", self.startup_wait, hour, true),
            (
                "durability",
                match self.durability {
                    Durability::Acknowledged { timeout } => timeout,
                    Durability::Queued => minute,
                },
                minute,
                false,
            ),
        ] {
            if value.is_zero() && !zero_allowed {
                return Err(BuildError::InvalidTimeout { setting });
            }
            if value > max {
                return Err(BuildError::TimeoutTooLong { setting, max });
            }
        }
        if self.durability == Durability::Queued && self.replicas > 0 {
            return Err(BuildError::Conflict {
                settings: "a queued `durability` and `replicas` above 0",
            });
        }
        if self.max_pending == 0 {
            return Err(BuildError::InvalidLimit {
                setting: "max_pending",
            });
        }
        if self.prefix.is_empty()
            || self.prefix.len() > 128
            || self
                .prefix
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(BuildError::InvalidPrefix {
                prefix: self.prefix,
            });
        }
        if let Some(pem) = &self.root_certificates {
            check_certificates(pem)?;
        }
        let target = Target::parse(&self.url, self.root_certificates)?;
        if target.tls() {
            ensure_crypto_provider();
        }
        Ok(RedisConfig {
            unauthenticated: self.unauthenticated,
            settings: Settings {
                url: target.shown().to_owned(),
                target,
                keys: Keys::new(&self.prefix).authenticated(self.mac),
                connect_timeout: self.connect_timeout,
                io_timeout: self.io_timeout,
                max_backoff: self.max_backoff,
                shutdown_timeout: self.shutdown_timeout,
                clock: self.clock,
                limits: self.limits,
                durability: self.durability,
                replicas: self.replicas,
                max_pending: self.max_pending,
                reconcile_every: self.reconcile_every,
                stall_timeout: self.stall_timeout,
                evicting_policy: self.evicting_policy,
                startup_wait: self.startup_wait,
                until_loaded: self.until_loaded,
                pending_file: self.pending_file,
            },
        })
    }
}

/// Whether `pem` holds at least one certificate, and nothing that fails to parse.
fn check_certificates(pem: &[u8]) -> Result<(), BuildError> {
    let mut found = false;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        certificate.map_err(|_| BuildError::InvalidRootCertificates)?;
        found = true;
    }
    found
        .then_some(())
        .ok_or(BuildError::InvalidRootCertificates)
}

/// Installs rustls' ring provider as the process's default, unless one is installed already.
/// The redis crate builds its TLS configuration with the process default; were none installed
/// and more than one provider compiled in (the application enabling aws-lc-rs, say), rustls
/// would panic in the store's threads at the first connection instead.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Fails only if another thread installed one meanwhile, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The store's settings as they appear in a configuration file: checked when read, so a bad
/// URL or prefix fails at startup, where the file is parsed.
///
/// ```
/// use sealed_session_redis::RedisConfig;
///
/// let config: RedisConfig =
///     serde_json::from_str(r#"{ "url": "redis://127.0.0.1:6379/", "prefix": "myapp:" }"#)?;
/// assert_eq!(config.prefix(), "myapp:");
///
/// let err = serde_json::from_str::<RedisConfig>(r#"{ "url": "http://example.com" }"#).unwrap_err();
/// assert!(err.to_string().contains("is not a Redis URL"));
/// let err = serde_json::from_str::<RedisConfig>(r#"{ "url": "redis://h", "prefx": "a:" }"#);
/// assert!(err.is_err(), "unknown fields are refused");
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// `url` is required (`redis://`, `rediss://` for TLS, `redis+unix://`, or
/// `redis+sentinel://[user:password@]host[:port][,host[:port]...]/service[/db]` to find the
/// primary through Sentinel, `rediss+sentinel://` with TLS; Redis Cluster URLs are refused,
/// [`BuildError::ClusterUnsupported`]); `prefix` defaults to
/// `sealed-session:`; `ca_file` is a PEM file of the root certificates a `rediss://` server's
/// certificate must chain to (as [`RedisStoreBuilder::tls_root_certificates`]), read when the
/// configuration is. The other fields, all optional, are the builder's settings of the same
/// names: `durability` (`"acknowledged"` or `"queued"`), `ack_timeout_ms`, `replicas`, `max_pending`,
/// `reconcile_every_ms`, `startup_wait_ms`, `until_loaded` (`"refuse_signed_in"` or `"serve"`),
/// `evicting_policy` (`"warn"` or `"refuse"`) and `pending_file`; what is left out has the
/// [builder's defaults](RedisStoreBuilder#defaults). `authenticate` defaults to `true`: the
/// store the session builder starts from this configuration authenticates its entries with
/// the session key ring; `false` turns that off, with a `warn` at start
/// ([`RedisStoreBuilder::unauthenticated`]).
///
/// ```
/// use sealed_session_redis::RedisConfig;
///
/// let config: RedisConfig = serde_json::from_str(
///     r#"{ "url": "redis://127.0.0.1:6379/", "ack_timeout_ms": 400, "replicas": 1 }"#,
/// )?;
/// let err = serde_json::from_str::<RedisConfig>(
///     r#"{ "url": "redis://h", "durability": "queued", "ack_timeout_ms": 400 }"#,
/// )
/// .unwrap_err();
/// assert!(err.to_string().contains("contradict"), "{err}");
/// let err = serde_json::from_str::<RedisConfig>(
///     r#"{ "url": "redis://h", "durability": "queued", "replicas": 1 }"#,
/// )
/// .unwrap_err();
/// assert!(err.to_string().contains("contradict"), "{err}");
/// let err = serde_json::from_str::<RedisConfig>(
///     r#"{ "url": "rediss://redis.internal:6380/", "ca_file": "/surely/missing/ca.pem" }"#,
/// )
/// .unwrap_err();
/// assert!(err.to_string().contains("/surely/missing/ca.pem"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct RedisConfig {
    settings: Settings,
    /// Authentication turned off explicitly: no key ring given at start turns it on.
    unauthenticated: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    url: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    durability: Option<RawDurability>,
    #[serde(default)]
    ack_timeout_ms: Option<u64>,
    #[serde(default)]
    replicas: Option<u32>,
    #[serde(default)]
    max_pending: Option<usize>,
    #[serde(default)]
    reconcile_every_ms: Option<u64>,
    #[serde(default)]
    startup_wait_ms: Option<u64>,
    #[serde(default)]
    until_loaded: Option<UntilLoaded>,
    #[serde(default)]
    evicting_policy: Option<EvictingPolicy>,
    #[serde(default)]
    pending_file: Option<PathBuf>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    authenticate: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawDurability {
    Acknowledged,
    Queued,
}

impl TryFrom<RawConfig> for RedisConfig {
    type Error = BuildError;

    fn try_from(raw: RawConfig) -> Result<Self, BuildError> {
        let mut builder = RedisStoreBuilder::new(raw.url);
        if let Some(prefix) = raw.prefix {
            builder = builder.prefix(prefix);
        }
        let ack_timeout = raw.ack_timeout_ms.map(Duration::from_millis);
        builder = match (raw.durability, ack_timeout) {
            (Some(RawDurability::Queued), Some(_)) => {
                return Err(BuildError::Conflict {
                    settings: "`durability: queued` and `ack_timeout_ms`",
                });
            }
            (Some(RawDurability::Queued), None) => builder.durability(Durability::Queued),
            (_, Some(timeout)) => builder.durability(Durability::Acknowledged { timeout }),
            (_, None) => builder,
        };
        if let Some(n) = raw.replicas {
            builder = builder.replicas(n);
        }
        if let Some(max) = raw.max_pending {
            builder = builder.max_pending(max);
        }
        if let Some(ms) = raw.reconcile_every_ms {
            builder = builder.reconcile_every(Duration::from_millis(ms));
        }
        if let Some(ms) = raw.startup_wait_ms {
            builder = builder.startup_wait(Duration::from_millis(ms));
        }
        if let Some(until_loaded) = raw.until_loaded {
            builder = builder.until_loaded(until_loaded);
        }
        if let Some(policy) = raw.evicting_policy {
            builder = builder.evicting_policy(policy);
        }
        if let Some(path) = raw.pending_file {
            builder = builder.pending_file(path);
        }
        if raw.authenticate == Some(false) {
            builder = builder.unauthenticated();
        }
        if let Some(path) = raw.ca_file {
            let pem = std::fs::read(&path).map_err(|err| BuildError::UnreadableCaFile {
                path,
                kind: err.kind(),
            })?;
            builder = builder.tls_root_certificates(pem);
        }
        builder.check()
    }
}

impl RedisConfig {
    /// The key prefix.
    pub fn prefix(&self) -> &str {
        self.settings.keys.prefix()
    }

    /// Sets the clock of background work (see [`RedisStoreBuilder::clock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.settings.clock = clock;
        self
    }

    /// Sets the limits of the local copy (see [`RedisStoreBuilder::limits`]).
    #[must_use]
    pub fn limits(mut self, limits: RevocationLimits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// Turns on authentication with `key_ring` (see [`RedisStoreBuilder::authenticate_with`]):
    /// for a store started with [`RedisConfig::start`]. The session builder gives the store
    /// its own key ring anyway.
    #[must_use]
    pub fn authenticate_with(mut self, key_ring: &KeyRing) -> Self {
        self.settings.keys = self
            .settings
            .keys
            .authenticated(Some(key_ring.revocation_mac()));
        self.unauthenticated = false;
        self
    }

    /// Turns authentication off (see [`RedisStoreBuilder::unauthenticated`]), as
    /// `"authenticate": false` does.
    #[must_use]
    pub fn unauthenticated(mut self) -> Self {
        self.settings.keys = self.settings.keys.authenticated(None);
        self.unauthenticated = true;
        self
    }

    /// The settings to start the store with, authenticated with `mac` unless it has a key
    /// already or authentication was turned off; warns when it is not authenticated.
    pub(crate) fn into_settings(mut self, mac: Option<RevocationMac>) -> Settings {
        let keys = &self.settings.keys;
        if !keys.is_authenticated() && !self.unauthenticated && mac.is_some() {
            self.settings.keys = keys.clone().authenticated(mac);
        }
        if self.unauthenticated {
            tracing::warn!(
                target: crate::LOG_TARGET,
                event = "unauthenticated",
                prefix = self.settings.keys.prefix(),
                "Redis revocation entries are not authenticated (turned off): \
                 anyone who can write to this Redis can forge logouts and fill every \
                 instance's copy; turn it back on (remove `unauthenticated()` or \
                 `\"authenticate\": false`) once every instance runs this version"
            );
        } else if !self.settings.keys.is_authenticated() {
            tracing::warn!(
                target: crate::LOG_TARGET,
                event = "unauthenticated",
                prefix = self.settings.keys.prefix(),
                "Redis revocation entries are not authenticated: no key ring was \
                 given; call `authenticate_with(&key_ring)` with the session key ring (or let \
                 the session builder start the store from a `RedisConfig`), or \
                 `unauthenticated()` to turn it off explicitly"
            );
        }
        self.settings
    }
}

/// The `"revocation"` setting of a web adapter's `SessionConfig` (with its `redis` feature):
/// `{"store": "memory"}`, this process's own store (the default), or `{"store": "redis", "url":
/// ..., "prefix": ...}`, a Redis store shared by every instance, checked as [`RedisConfig`] is.
///
/// ```
/// use sealed_session_redis::RevocationConfig;
///
/// let redis: RevocationConfig =
///     serde_json::from_str(r#"{ "store": "redis", "url": "redis://127.0.0.1:6379/" }"#)?;
/// assert!(matches!(redis, RevocationConfig::Redis(_)));
/// let err = serde_json::from_str::<RevocationConfig>(r#"{ "store": "disk" }"#).unwrap_err();
/// assert!(err.to_string().contains("unknown variant `disk`"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "store", rename_all = "lowercase")]
#[non_exhaustive]
pub enum RevocationConfig {
    /// This process's own store, `sealed_session::revocation::MemoryRevocationStore`.
    Memory,
    /// A Redis store shared by every instance.
    Redis(Box<RedisConfig>),
}

/// Started at the session builder's `build`, with its clock: what
/// `.revocation_store(redis_config)` on the lifecycle's or an adapter's builder does.
///
/// ```
/// use sealed_session::{KeyRing, SessionManager, SecretKey};
/// use sealed_session_redis::RedisConfig;
///
/// let redis: RedisConfig = serde_json::from_str(r#"{ "url": "redis://127.0.0.1:6379/" }"#)?;
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .revocation_store(redis)
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.settings.url)
            .field("prefix", &self.prefix())
            .field(
                "authentication",
                &if self.settings.keys.is_authenticated() {
                    "on"
                } else if self.unauthenticated {
                    "off"
                } else {
                    "with the session key ring, at start"
                },
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_shows_no_password() {
        let builder = RedisStoreBuilder::new("redis://app:s3cr3t@127.0.0.1:6379/".to_owned());
        let shown = format!("{builder:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("app:***@"), "{shown}");
    }

    #[test]
    fn a_store_started_with_the_session_key_ring_is_authenticated_unless_turned_off() {
        let mac = || KeyRing::new(sealed_session::SecretKey::generate()).revocation_mac();
        let config = |json: &str| {
            serde_json::from_str::<RedisConfig>(json)
                .unwrap()
                .clock(Arc::new(SystemClock))
        };
        let default = r#"{ "url": "redis://127.0.0.1:1/", "startup_wait_ms": 0 }"#;
        let off =
            r#"{ "url": "redis://127.0.0.1:1/", "startup_wait_ms": 0, "authenticate": false }"#;
        let on = r#"{ "url": "redis://127.0.0.1:1/", "startup_wait_ms": 0, "authenticate": true }"#;
        for (json, with_ring, authenticated) in [
            (default, true, true),
            (on, true, true),
            (off, true, false),
            (default, false, false),
        ] {
            let settings = config(json).into_settings(with_ring.then(mac));
            assert_eq!(
                settings.keys.is_authenticated(),
                authenticated,
                "{json} {with_ring}"
            );
        }
        assert!(format!("{:?}", config(default)).contains("with the session key ring"));
        assert!(format!("{:?}", config(off)).contains(r#"authentication: "off""#));
        // An explicit key wins over the ring's; turning it off afterwards wins over both.
        let ring = KeyRing::new(sealed_session::SecretKey::generate());
        let keyed = config(off).authenticate_with(&ring);
        assert!(format!("{keyed:?}").contains(r#"authentication: "on""#));
        assert!(format!("{:?}", keyed.unauthenticated()).contains(r#""off""#));
    }

    #[test]
    fn every_duration_is_bounded_at_build() {
        let builder = || RedisStoreBuilder::new("redis://127.0.0.1:1/".to_owned());
        let day = Duration::from_secs(86_400);
        for (setting, built) in [
            ("connect_timeout", builder().connect_timeout(day)),
            ("io_timeout", builder().io_timeout(day)),
            ("max_backoff", builder().max_backoff(day)),
            (
                "shutdown_timeout",
                builder().shutdown_timeout(Duration::MAX),
            ),
            ("reconcile_every", builder().reconcile_every(Duration::MAX)),
            ("stall_timeout", builder().stall_timeout(day)),
            ("startup_wait", builder().startup_wait(Duration::MAX)),
            (
                "durability",
                builder().durability(Durability::Acknowledged { timeout: day }),
            ),
        ] {
            let err = built.check().map(|_| ()).unwrap_err();
            assert!(
                matches!(err, BuildError::TimeoutTooLong { setting: s, .. } if s == setting),
                "{setting}: {err}"
            );
            assert!(err.to_string().contains(setting), "{err}");
        }
        let err = serde_json::from_str::<RedisConfig>(
            r#"{ "url": "redis://h", "reconcile_every_ms": 18446744073709551615 }"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("reconcile_every"), "{err}");
    }
}
