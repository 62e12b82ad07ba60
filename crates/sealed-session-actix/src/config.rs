//! Building the middleware: a builder for code, a serde type for configuration files. Both
//! only collect settings for `sealed_session::LifecycleBuilder`, which checks them.

use std::sync::Arc;

use actix_web::cookie::SameSite;
use sealed_session::{
    Clock, ConfigError, KeyRing, LifecycleBuilder, LifecycleConfig, Mode, Persistence,
    RefreshPolicy, RevocationStore, SessionLifecycle,
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::middleware::CookieSessionMiddleware;

/// Builds a [`CookieSessionMiddleware`]. Every setting is checked by
/// [`CookieSessionBuilder::build`].
///
/// # Defaults
/// - cookie `__Host-id` (when `Secure` with `Path=/` and no `Domain`; `__Secure-id` with another
///   path or a domain; `id` in plain-HTTP development mode), `Path=/`, `Secure`, `HttpOnly`,
///   `SameSite=Lax`
/// - a browser-session cookie (no `Max-Age`), as actix-session's default
///   ([`SessionLifecycle::BrowserSession`]); for a cookie that outlives the browser, see
///   [`CookieSessionBuilder::session_lifecycle`]
/// - [`Mode::Encrypted`], idle timeout 1 hour, absolute timeout 24 hours, enforced by the server
///   whatever the browser keeps
/// - refresh an unchanged session when its activity is older than a tenth of the idle timeout
/// - a 4096-byte budget for the cookie's name plus value
/// - an in-memory revocation store, so `purge` really revokes on one instance (with the `redis`
// The method exists only with the `redis` feature: link to it only then.
#[cfg_attr(
    feature = "redis",
    doc = "  feature, [`CookieSessionBuilder::redis_revocation`] shares it between instances); sessions"
)]
#[cfg_attr(
    not(feature = "redis"),
    doc = "  feature, `CookieSessionBuilder::redis_revocation` shares it between instances); sessions"
)]
///   without a subject are not revoked (see
///   [`CookieSessionBuilder::revoke_anonymous_sessions`])
///
/// ```
/// use sealed_session_actix::{
///     CookieSessionMiddleware, Duration, KeyRing, Mode, RefreshPolicy, SecretKey,
/// };
///
/// let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_name("__Host-session")
///     .mode(Mode::Signed)
///     .idle_timeout(Duration::minutes(30))
///     .absolute_timeout(Duration::hours(8))
///     .refresh(RefreshPolicy::EveryRequest)
///     .build()?;
///
/// // A `__Host-` cookie must be Secure: caught at startup.
/// let err = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_name("__Host-session")
///     .cookie_secure(false)
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("must be `Secure`"));
/// # Ok::<(), sealed_session_actix::ConfigError>(())
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
    #[doc(alias = "inactivity_timeout")]
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.idle_timeout(timeout))
    }

    /// Sessions this old are refused however active (activity never extends it). Defaults to
    /// 24 hours; at most 400 days. To set it with the cookie's `Max-Age` in one call, see
    /// [`CookieSessionBuilder::session_lifecycle`].
    pub fn absolute_timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.absolute_timeout(timeout))
    }

    /// The cookie's kind and the session's lifetime in one call, with actix-session's names.
    /// Defaults to [`SessionLifecycle::BrowserSession`] (no `Max-Age`) with idle 1 hour and
    /// absolute 24 hours.
    ///
    /// - [`PersistentSession`](crate::PersistentSession)`::default().session_ttl(ttl)`: a
    ///   cookie with `Max-Age`, and sessions that last `ttl` from sign-in (the absolute and,
    ///   unless `.idle_timeout(..)` sets a shorter one, the idle timeout). Unlike
    ///   actix-session's, activity never extends `ttl`.
    /// - [`BrowserSession`](crate::BrowserSession)`::default()`: no `Max-Age`; `.state_ttl(ttl)`
    ///   bounds the session on the server.
    ///
    /// A later call of [`idle_timeout`](Self::idle_timeout) or
    /// [`absolute_timeout`](Self::absolute_timeout) overrides what it sets.
    ///
    /// ```
    /// use sealed_session_actix::{
    ///     CookieSessionMiddleware, Duration, KeyRing, PersistentSession, SecretKey,
    /// };
    ///
    /// // "Keep me signed in" for a week: Max-Age=604800 on a new cookie, counting down.
    /// let week = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
    ///     .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
    ///     .build()?;
    /// assert_eq!(week.codec().absolute_timeout(), Duration::days(7));
    ///
    /// // More than browsers keep a cookie for is refused at startup.
    /// let err = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
    ///     .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(401)))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("400 days"), "{err}");
    /// # Ok::<(), sealed_session_actix::ConfigError>(())
    /// ```
    #[doc(alias = "session_ttl")]
    #[doc(alias = "max_age")]
    #[doc(alias = "state_ttl")]
    pub fn session_lifecycle(self, lifecycle: impl Into<SessionLifecycle>) -> Self {
        let lifecycle = lifecycle.into();
        self.map(|b| b.session_lifecycle(lifecycle))
    }

    /// When unchanged sessions are re-sealed. Defaults to
    /// [`RefreshPolicy::Interval`] of a tenth of the idle timeout.
    #[doc(alias = "ttl_extension_policy")]
    #[doc(alias = "session_ttl_extension_policy")]
    #[doc(alias = "state_ttl_extension_policy")]
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

    /// The `SameSite` attribute. Defaults to `Lax`, which blocks cross-site POSTs (CSRF) but keeps
    /// the user signed in when following a link to the site.
    pub fn cookie_same_site(self, same_site: SameSite) -> Self {
        let same_site = match same_site {
            SameSite::Strict => sealed_session::SameSite::Strict,
            SameSite::Lax => sealed_session::SameSite::Lax,
            SameSite::None => sealed_session::SameSite::None,
        };
        self.map(|b| b.cookie_same_site(same_site))
    }

    /// Browser-session (default) or persistent cookie, leaving the timeouts as they are; see
    /// [`CookieSessionBuilder::session_lifecycle`] to set both in one call.
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
    /// started by [`CookieSessionBuilder::build`], with the middleware's clock. Checks stay
    /// in memory, with no network round trip per request; see `sealed-session-redis`. Replaces
    /// any earlier choice of store.
    ///
    /// To watch the link's health (`RedisRevocationStore::health`), start the store yourself
    /// and pass it to [`CookieSessionBuilder::revocation_store`] instead.
    ///
    /// ```
    /// use sealed_session_actix::{CookieSessionMiddleware, KeyRing, RedisConfig, SecretKey};
    ///
    /// let redis: RedisConfig = serde_json::from_str(r#"{ "url": "redis://127.0.0.1:6379/" }"#)?;
    /// let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
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

    /// Reads actix-session 0.11's `CookieSessionStore` cookies (feature `actix-session-legacy`)
    /// and re-seals them as sealed sessions in the same response, so moving from actix-session
    /// logs no one out. Defaults to off. Watch
    /// [`CookieSessionMiddleware::legacy_migrations`], and turn it off once the old cookies'
    /// lifetime has passed: see `sealed_session::LifecycleBuilder::legacy_reader` for what
    /// it does, [`LegacyCookies`](crate::LegacyCookies) for the cost of reading an old cookie,
    /// and the cut-over runbook in [`crate::migrating`].
    ///
    /// ```
    /// use sealed_session_actix::{
    ///     CookieSessionMiddleware, KeyRing, LegacyContentSecurity, LegacyCookies, LegacyKey,
    ///     SecretKey,
    /// };
    ///
    /// # let old_secret = [7u8; 64];
    /// // What the old app built: SessionMiddleware::builder(CookieSessionStore::default(),
    /// //     Key::from(&old_secret)).cookie_content_security(CookieContentSecurity::Signed)
    /// let legacy = LegacyCookies::new(LegacyKey::from_master(&old_secret)?)
    ///     .content_security(LegacyContentSecurity::Signed);
    /// let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
    ///     .legacy_reader(legacy.clone())
    ///     .build()?;
    ///
    /// // In plain-HTTP development mode the new cookie is named `id`, as the old one was.
    /// let err = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
    ///     .cookie_secure(false)
    ///     .legacy_reader(legacy)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("another name"));
    /// # Ok::<(), sealed_session_actix::ConfigError>(())
    /// ```
    #[cfg(feature = "actix-session-legacy")]
    #[cfg_attr(docsrs, doc(cfg(feature = "actix-session-legacy")))]
    #[doc(alias = "migrate")]
    #[doc(alias = "actix-session")]
    pub fn legacy_reader(self, legacy: crate::LegacyCookies) -> Self {
        self.map(|b| b.legacy_reader(legacy))
    }

    /// Checks the settings and builds the middleware.
    ///
    /// # Errors
    /// A [`ConfigError`] that says what to fix: an invalid cookie name, timeout (more than 400
    /// days, less than a second) or size limit, a refresh interval not shorter than the idle
    /// timeout, or cookie attributes browsers would reject (`__Host-` without `Secure`,
    /// `SameSite=None` without `Secure`, ...); with a legacy reader, an old cookie name that is
    /// the new one's or invalid, or an old path or domain browsers would reject.
    pub fn build(self) -> Result<CookieSessionMiddleware, ConfigError> {
        Ok(CookieSessionMiddleware::from_lifecycle(
            self.lifecycle.build()?,
        ))
    }
}

/// The middleware's settings as they appear in a configuration file, so operators change
/// cookies, timeouts and keys without a code change.
///
/// Only `keys` or `keys_env` is required; everything else has the builder's defaults. Unknown
/// fields are refused, so a typo fails at startup instead of being ignored.
///
/// With the `redis` feature, `revocation` selects the revocation store: `{"store": "memory"}`
/// (the default) or a Redis store shared by every instance, whose URL and prefix are checked
/// when the file is read:
///
/// ```text
/// "revocation": { "store": "redis", "url": "redis://127.0.0.1:6379/", "prefix": "myapp:" }
/// ```
///
/// ```
/// use sealed_session_actix::SessionConfig;
///
/// # let key = sealed_session_actix::SecretKey::generate().to_base64();
/// let json = format!(r#"{{
///     "keys": "{}",
///     "cookie_name": "__Host-id",
///     "idle_timeout_secs": 1800,
///     "absolute_timeout_secs": 28800,
///     "same_site": "strict"
/// }}"#, *key);
/// let config: SessionConfig = serde_json::from_str(&json)?;
/// let middleware = config.build()?;
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
    /// Timeouts past 400 days are refused by the build, with a message that says so.
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

    /// Builds the middleware these settings describe.
    ///
    /// # Errors
    /// As [`SessionConfig::into_builder`] and [`CookieSessionBuilder::build`].
    pub fn build(self) -> Result<CookieSessionMiddleware, ConfigError> {
        self.into_builder()?.build()
    }
}
