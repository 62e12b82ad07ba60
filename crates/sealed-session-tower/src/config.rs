//! Building the layer: a builder for code, a serde type for configuration files. Both only
//! collect settings for `sealed_session::LifecycleBuilder`, which checks them; the file format
//! is `sealed_session::LifecycleConfig`, shared with the actix adapter.

use std::sync::Arc;

use sealed_session::{
    Clock, ConfigError, KeyRing, LifecycleBuilder, LifecycleConfig, Mode, Persistence,
    RefreshPolicy, RevocationStore, SameSite, SessionLifecycle,
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::layer::CookieSessionLayer;

/// Builds a [`CookieSessionLayer`]. Every setting is checked by [`CookieSessionBuilder::build`].
///
/// # Defaults
/// The actix adapter's, since both are `sealed_session::LifecycleBuilder`'s:
/// - cookie `__Host-id` (when `Secure` with `Path=/` and no `Domain`; `__Secure-id` with another
///   path or a domain; `id` in plain-HTTP development mode), `Path=/`, `Secure`, `HttpOnly`,
///   `SameSite=Lax`
/// - a browser-session cookie (no `Max-Age`); for a cookie that outlives the browser, see
///   [`CookieSessionBuilder::session_lifecycle`]
/// - [`Mode::Encrypted`], idle timeout 1 hour, absolute timeout 24 hours, enforced by the server
///   whatever the browser keeps
/// - refresh an unchanged session when its activity is older than a tenth of the idle timeout
/// - a 4096-byte budget for the cookie's name plus value
/// - an in-memory revocation store, so `purge` really revokes on one instance (with the `redis`
///   feature, `CookieSessionBuilder::redis_revocation` shares it between instances); sessions
///   without a subject are not revoked (see
///   [`CookieSessionBuilder::revoke_anonymous_sessions`])
///
/// ```
/// use sealed_session_tower::{
///     CookieSessionLayer, Duration, KeyRing, Mode, RefreshPolicy, SecretKey,
/// };
///
/// let layer = CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_name("__Host-session")
///     .mode(Mode::Signed)
///     .idle_timeout(Duration::minutes(30))
///     .absolute_timeout(Duration::hours(8))
///     .refresh(RefreshPolicy::EveryRequest)
///     .build()?;
///
/// // A `__Host-` cookie must be Secure: caught at startup.
/// let err = CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_name("__Host-session")
///     .cookie_secure(false)
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("must be `Secure`"));
/// # Ok::<(), sealed_session_tower::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct CookieSessionBuilder {
    lifecycle: LifecycleBuilder,
}

impl CookieSessionBuilder {
    pub(crate) fn new(ring: KeyRing) -> Self {
        Self::from_lifecycle_builder(sealed_session::Lifecycle::builder(ring))
    }

    fn from_lifecycle_builder(lifecycle: LifecycleBuilder) -> Self {
        Self { lifecycle }
    }

    fn map(mut self, f: impl FnOnce(LifecycleBuilder) -> LifecycleBuilder) -> Self {
        self.lifecycle = f(self.lifecycle);
        self
    }

    /// The cookie's name. Defaults to `__Host-id` on a `Secure` cookie (browsers then refuse
    /// it from subdomains and over plain HTTP), `id` in plain-HTTP development mode.
    pub fn cookie_name(self, name: impl Into<String>) -> Self {
        self.map(|b| b.cookie_name(name))
    }

    /// Encrypted (default) or signed.
    pub fn mode(self, mode: Mode) -> Self {
        self.map(|b| b.mode(mode))
    }

    /// Sessions idle this long are refused. Defaults to 1 hour; at most 400 days.
    /// tower-sessions' `Expiry::OnInactivity`.
    #[doc(alias = "inactivity_timeout")]
    #[doc(alias = "OnInactivity")]
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.idle_timeout(timeout))
    }

    /// Sessions this old are refused however active (activity never extends it). Defaults to
    /// 24 hours; at most 400 days.
    #[doc(alias = "AtDateTime")]
    pub fn absolute_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.absolute_timeout(timeout))
    }

    /// The cookie's kind and the session's lifetime in one call. Defaults to
    /// [`SessionLifecycle::BrowserSession`] (no `Max-Age`) with idle 1 hour and absolute
    /// 24 hours; see `sealed_session::LifecycleBuilder::session_lifecycle`.
    ///
    /// ```
    /// use sealed_session_tower::{
    ///     CookieSessionLayer, Duration, KeyRing, PersistentSession, SecretKey,
    /// };
    ///
    /// // "Keep me signed in" for a week: Max-Age=604800 on a new cookie, counting down.
    /// let week = CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
    ///     .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
    ///     .build()?;
    /// assert_eq!(week.codec().absolute_timeout(), Duration::days(7));
    ///
    /// // More than browsers keep a cookie for is refused at startup.
    /// let err = CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
    ///     .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(401)))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("400 days"), "{err}");
    /// # Ok::<(), sealed_session_tower::ConfigError>(())
    /// ```
    #[doc(alias = "expiry")]
    #[doc(alias = "max_age")]
    pub fn session_lifecycle(self, lifecycle: impl Into<SessionLifecycle>) -> Self {
        let lifecycle = lifecycle.into();
        self.map(|b| b.session_lifecycle(lifecycle))
    }

    /// When unchanged sessions are re-sealed. Defaults to [`RefreshPolicy::Interval`] of a
    /// tenth of the idle timeout.
    pub fn refresh(self, policy: RefreshPolicy) -> Self {
        self.map(|b| b.refresh(policy))
    }

    /// Refuses every session created before `time`: logs everyone out without a key change.
    pub fn not_before(self, time: OffsetDateTime) -> Self {
        self.map(|b| b.not_before(time))
    }

    /// Budget for the cookie's name plus value, in bytes. Defaults to 4096.
    pub fn size_limit(self, limit: usize) -> Self {
        self.map(|b| b.size_limit(limit))
    }

    /// The cookie's `Path`. Defaults to `/`.
    pub fn cookie_path(self, path: impl Into<String>) -> Self {
        self.map(|b| b.cookie_path(path))
    }

    /// The cookie's `Domain`. Defaults to none (this host only).
    pub fn cookie_domain(self, domain: impl Into<String>) -> Self {
        self.map(|b| b.cookie_domain(domain))
    }

    /// The `Secure` attribute. Defaults to `true`.
    ///
    /// Turn it off only for local development over plain HTTP: without it, anyone on the
    /// network path can read and replay the session cookie.
    pub fn cookie_secure(self, secure: bool) -> Self {
        self.map(|b| b.cookie_secure(secure))
    }

    /// The `HttpOnly` attribute. Defaults to `true`, so scripts (and XSS) can't read the cookie.
    pub fn cookie_http_only(self, http_only: bool) -> Self {
        self.map(|b| b.cookie_http_only(http_only))
    }

    /// The `SameSite` attribute. Defaults to `Lax`, which blocks cross-site POSTs (CSRF) but
    /// keeps the user signed in when following a link to the site.
    pub fn cookie_same_site(self, same_site: SameSite) -> Self {
        self.map(|b| b.cookie_same_site(same_site))
    }

    /// Browser-session (default) or persistent cookie, leaving the timeouts as they are.
    pub fn persistence(self, persistence: Persistence) -> Self {
        self.map(|b| b.persistence(persistence))
    }

    /// Also revoke sessions without a subject when they are renewed or purged. Defaults to
    /// `false`: see `sealed_session::LifecycleBuilder::revoke_anonymous_sessions`.
    pub fn revoke_anonymous_sessions(self, revoke: bool) -> Self {
        self.map(|b| b.revoke_anonymous_sessions(revoke))
    }

    /// The revocation store consulted on every request and written by the renewals, sign-ins
    /// and logouts.
    /// Defaults to a `MemoryRevocationStore` of this process; use a shared store when the
    /// application runs on several instances. Replaces any earlier choice of store.
    pub fn revocation_store(self, store: Arc<dyn RevocationStore>) -> Self {
        self.map(|b| b.revocation_store(store))
    }

    /// Shares revocations between every instance through Redis (feature `redis`): the store is
    /// started by [`CookieSessionBuilder::build`], with the layer's clock. Checks stay in
    /// memory, with no network round trip per request. Replaces any earlier choice of store.
    ///
    /// ```
    /// use sealed_session_tower::{CookieSessionLayer, KeyRing, RedisConfig, SecretKey};
    ///
    /// let redis: RedisConfig = serde_json::from_str(r#"{ "url": "redis://127.0.0.1:6379/" }"#)?;
    /// let layer = CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
    ///     .redis_revocation(redis)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    #[doc(alias = "redis")]
    pub fn redis_revocation(self, config: sealed_session_redis::RedisConfig) -> Self {
        self.map(|b| b.revocation_store_with(|clock| Arc::new(config.clock(clock).start())))
    }

    /// Where the time comes from (for tests). Defaults to the system clock.
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        self.map(|b| b.clock(clock))
    }

    /// Checks the settings and builds the layer.
    ///
    /// # Errors
    /// A [`ConfigError`] that says what to fix: an invalid cookie name, timeout (more than 400
    /// days, less than a second) or size limit, a refresh interval not shorter than the idle
    /// timeout, or cookie attributes browsers would reject (`__Host-` without `Secure`,
    /// `SameSite=None` without `Secure`, ...).
    pub fn build(self) -> Result<CookieSessionLayer, ConfigError> {
        Ok(CookieSessionLayer::from_lifecycle(self.lifecycle.build()?))
    }
}

/// The layer's settings as they appear in a configuration file, so operators change cookies,
/// timeouts and keys without a code change: the same format as `sealed_session_actix`'s
/// `SessionConfig` (both are `sealed_session::LifecycleConfig`).
///
/// Only `keys` or `keys_env` is required; everything else has the builder's defaults. Unknown
/// fields are refused, so a typo fails at startup instead of being ignored. With the `redis`
/// feature, `"revocation": { "store": "redis", "url": "redis://127.0.0.1:6379/" }` selects the
/// Redis store (`{"store": "memory"}` is the default).
///
/// ```
/// use sealed_session_tower::SessionConfig;
///
/// # let key = sealed_session_tower::SecretKey::generate().to_base64();
/// let json = format!(r#"{{
///     "keys": "{}",
///     "idle_timeout_secs": 1800,
///     "same_site": "strict"
/// }}"#, *key);
/// let config: SessionConfig = serde_json::from_str(&json)?;
/// let layer = config.build()?;
///
/// // Neither `keys` nor `keys_env`: an error that says what to set.
/// let empty: SessionConfig = serde_json::from_str("{}")?;
/// assert!(empty.build().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct SessionConfig(LifecycleConfig<RevocationConfig>);

/// `"revocation"` in a configuration file: with the `redis` feature, the memory or Redis store;
/// without it, the field is refused.
#[cfg(feature = "redis")]
type RevocationConfig = sealed_session_redis::RevocationConfig;
#[cfg(not(feature = "redis"))]
type RevocationConfig = sealed_session::NoRevocationConfig;

impl SessionConfig {
    /// A builder with these settings, to add what configuration can't hold (a custom
    /// revocation store, a clock) before [`CookieSessionBuilder::build`].
    ///
    /// # Errors
    /// [`ConfigError::EmptyKeyRing`] if neither `keys` nor `keys_env` is given,
    /// [`ConfigError::MissingEnvVar`] or any key-list error for `keys_env`.
    pub fn into_builder(self) -> Result<CookieSessionBuilder, ConfigError> {
        let (lifecycle, revocation) = self.0.into_parts()?;
        let builder = CookieSessionBuilder::from_lifecycle_builder(lifecycle);
        Ok(match revocation {
            #[cfg(feature = "redis")]
            Some(RevocationConfig::Redis(config)) => builder.redis_revocation(*config),
            _ => builder,
        })
    }

    /// Builds the layer these settings describe.
    ///
    /// # Errors
    /// As [`SessionConfig::into_builder`] and [`CookieSessionBuilder::build`].
    pub fn build(self) -> Result<CookieSessionLayer, ConfigError> {
        self.into_builder()?.build()
    }
}
