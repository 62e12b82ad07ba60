//! Settings: a builder for code, a serde type for configuration files.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::IntoConnectionInfo as _;
use redis::io::tcp::TcpSettings;
use sealed_session::{Clock, RevocationLimits, SystemClock};
use serde::Deserialize;

use crate::error::{BuildError, redact};
use crate::keys::Keys;
use crate::store::RedisRevocationStore;

/// The key prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "sealed-session:";

/// Checked settings, shared by the store's threads.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) client: redis::Client,
    /// The URL with its password redacted, for logs.
    pub(crate) url: String,
    pub(crate) keys: Keys,
    pub(crate) connect_timeout: Duration,
    pub(crate) io_timeout: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: RevocationLimits,
}

/// Builds a [`RedisRevocationStore`]; every setting is checked by
/// [`RedisStoreBuilder::build`].
///
/// # Defaults
/// - key prefix `sealed-session:` ([`DEFAULT_PREFIX`])
/// - connect timeout 1 second, command timeout 2 seconds
/// - reconnect backoff from 50 ms doubling up to 1 second
/// - shutdown: up to 2 seconds to write what is queued and stop the threads
/// - the system clock
/// - the local copy's [default limits](RevocationLimits#defaults)
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
#[derive(Debug)]
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
        }
    }

    /// The namespace of every key and of the channel. Defaults to `sealed-session:`; give each
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

    /// The limits of the local copy: how many sessions of one subject this instance lists
    /// before a logout advances the subject's generation instead, and how many entries it
    /// holds at most. They apply to this instance's own revocations (what it then writes to
    /// Redis is what its copy recorded); other instances' revocations are applied as recorded,
    /// whatever the limits. Defaults to [`RevocationLimits::new`].
    pub fn limits(mut self, limits: RevocationLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Checks the settings and starts the store (its threads connect in the background).
    ///
    /// # Errors
    /// [`BuildError::InvalidUrl`], [`BuildError::InvalidPrefix`] or
    /// [`BuildError::InvalidTimeout`]. An unreachable Redis is not an error.
    ///
    /// # Panics
    /// If the operating system cannot start a thread, as [`std::thread::spawn`].
    pub fn build(self) -> Result<RedisRevocationStore, BuildError> {
        Ok(self.check()?.start())
    }

    fn check(self) -> Result<RedisConfig, BuildError> {
        for (setting, value) in [
            ("connect_timeout", self.connect_timeout),
            ("io_timeout", self.io_timeout),
            ("max_backoff", self.max_backoff),
            ("shutdown_timeout", self.shutdown_timeout),
        ] {
            if value.is_zero() {
                return Err(BuildError::InvalidTimeout { setting });
            }
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
        let invalid = || BuildError::InvalidUrl {
            url: redact(&self.url),
        };
        let info = self
            .url
            .as_str()
            .into_connection_info()
            .map_err(|_| invalid())?
            // Messages are tiny and latency is the point: don't let Nagle hold them back.
            .set_tcp_settings(TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info).map_err(|_| invalid())?;
        Ok(RedisConfig {
            settings: Settings {
                client,
                url: redact(&self.url),
                keys: Keys::new(&self.prefix),
                connect_timeout: self.connect_timeout,
                io_timeout: self.io_timeout,
                max_backoff: self.max_backoff,
                shutdown_timeout: self.shutdown_timeout,
                clock: self.clock,
                limits: self.limits,
            },
        })
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
/// `url` is required; `prefix` defaults to `sealed-session:`. Everything else has the
/// [builder's defaults](RedisStoreBuilder#defaults).
#[derive(Clone, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct RedisConfig {
    settings: Settings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    url: String,
    #[serde(default)]
    prefix: Option<String>,
}

impl TryFrom<RawConfig> for RedisConfig {
    type Error = BuildError;

    fn try_from(raw: RawConfig) -> Result<Self, BuildError> {
        let mut builder = RedisStoreBuilder::new(raw.url);
        if let Some(prefix) = raw.prefix {
            builder = builder.prefix(prefix);
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

    /// Starts the store. Infallible: the settings were checked when read, and reaching Redis is
    /// the store's business from here on.
    ///
    /// # Panics
    /// If the operating system cannot start a thread, as [`std::thread::spawn`].
    pub fn start(self) -> RedisRevocationStore {
        RedisRevocationStore::start(self.settings)
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.settings.url)
            .field("prefix", &self.prefix())
            .finish_non_exhaustive()
    }
}
