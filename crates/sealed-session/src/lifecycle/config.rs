//! The lifecycle's settings as a configuration file holds them, read once here for every web
//! adapter: each adapter's `SessionConfig` is this type with its own revocation-store choice.

use serde::Deserialize;

use super::{RefreshPolicy, SessionBuilder, SessionManager};
use crate::cookie::SameSite;
use crate::envelope::Mode;
use crate::error::ConfigError;
use crate::key_ring::KeyRing;
use crate::lifetime::{BrowserSession, PersistentSession};
use crate::revocation::{IntoRevocationStore, NoRevocationConfig};
use crate::unix::duration_from_secs;

/// The lifecycle's settings as they appear in a configuration file, so operators change
/// cookies, timeouts and keys without a code change. The web adapters' `SessionConfig` types
/// are this type, with `R` the revocation-store choice they accept under `"revocation"`.
///
/// Only `keys` or `keys_env` is required; everything else has [`SessionBuilder`]'s defaults.
/// Unknown fields are refused, so a typo fails at startup instead of being ignored; so is
/// `"revocation"` with the default `R`, [`NoRevocationConfig`].
///
/// ```
/// use sealed_session::{SessionManager, SessionConfig, SecretKey};
///
/// let key = SecretKey::generate().to_base64();
/// let json = format!(r#"{{
///     "keys": "{}",
///     "idle_timeout_secs": 1800,
///     "same_site": "strict"
/// }}"#, *key);
/// let config: SessionConfig = serde_json::from_str(&json)?;
/// let sessions: SessionManager = config.build()?;
/// assert_eq!(sessions.codec().idle_timeout(), time::Duration::minutes(30));
///
/// // A typo is refused, with the field's name.
/// let err = serde_json::from_str::<SessionConfig>(r#"{"idle_timout_secs": 60}"#).unwrap_err();
/// assert!(err.to_string().contains("idle_timout_secs"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "R: Deserialize<'de>"))]
pub struct SessionConfig<R = NoRevocationConfig> {
    /// The key list: a comma-separated string or a list of base64 secrets, newest first; an
    /// entry prefixed `open-only:` opens but doesn't seal yet.
    #[serde(default)]
    keys: Option<KeyRing>,
    /// Name of an environment variable holding the key list (e.g. `SESSION_KEYS`), read when
    /// the settings are turned into a builder. Keeps secrets out of the configuration file.
    #[serde(default)]
    keys_env: Option<String>,
    #[serde(default)]
    cookie_name: Option<String>,
    #[serde(default)]
    mode: Option<ModeConfig>,
    #[serde(default)]
    idle_timeout_secs: Option<u64>,
    #[serde(default)]
    absolute_timeout_secs: Option<u64>,
    /// Seconds, or absent for the default; `refresh_every_request` overrides it.
    #[serde(default)]
    refresh_interval_secs: Option<u64>,
    #[serde(default)]
    refresh_every_request: bool,
    #[serde(default)]
    secure: Option<bool>,
    #[serde(default)]
    http_only: Option<bool>,
    #[serde(default)]
    same_site: Option<SameSiteConfig>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    /// `true` for a cookie with `Max-Age` (what is left of the session's life); absent or
    /// `false` for a browser-session cookie, the builder's default.
    #[serde(default)]
    persistent: Option<bool>,
    #[serde(default)]
    size_limit: Option<usize>,
    /// The most cookies a session may span (`SessionBuilder::max_cookies`).
    #[serde(default)]
    max_cookies: Option<usize>,
    /// The session's budget in the request's `Cookie` header
    /// (`SessionBuilder::cookie_header_budget`).
    #[serde(default)]
    cookie_header_budget: Option<usize>,
    /// The revocation store, as the adapter reads it.
    #[serde(default = "none")]
    revocation: Option<R>,
}

fn none<R>() -> Option<R> {
    None
}

impl<R> Default for SessionConfig<R> {
    fn default() -> Self {
        Self {
            keys: None,
            keys_env: None,
            cookie_name: None,
            mode: None,
            idle_timeout_secs: None,
            absolute_timeout_secs: None,
            refresh_interval_secs: None,
            refresh_every_request: false,
            secure: None,
            http_only: None,
            same_site: None,
            path: None,
            domain: None,
            persistent: None,
            size_limit: None,
            max_cookies: None,
            cookie_header_budget: None,
            revocation: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModeConfig {
    Encrypted,
    Signed,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SameSiteConfig {
    Strict,
    Lax,
    None,
}

impl<R: IntoRevocationStore> SessionConfig<R> {
    /// A builder of a `T` with these settings (the store of `"revocation"` included), to add
    /// what configuration can't hold (a custom revocation store, a clock) before
    /// [`SessionBuilder::build`].
    ///
    /// Timeouts past 400 days are refused by the build, with a message that says so.
    ///
    /// # Errors
    /// [`ConfigError::EmptyKeyRing`] if neither `keys` nor `keys_env` is given,
    /// [`ConfigError::MissingEnvVar`] or any key-list error for `keys_env`.
    pub fn into_builder<T>(self) -> Result<SessionBuilder<T>, ConfigError> {
        let ring = match self.keys {
            Some(ring) => ring,
            None => match &self.keys_env {
                Some(var) => KeyRing::from_env(var)?,
                None => return Err(ConfigError::EmptyKeyRing),
            },
        };
        let mut b = SessionBuilder::new(ring);
        if let Some(name) = self.cookie_name {
            b = b.cookie_name(name);
        }
        if let Some(mode) = self.mode {
            b = b.mode(match mode {
                ModeConfig::Encrypted => Mode::Encrypted,
                ModeConfig::Signed => Mode::Signed,
            });
        }
        // Without a TTL, either kind keeps the timeouts below.
        if let Some(persistent) = self.persistent {
            b = if persistent {
                b.session_lifecycle(PersistentSession::default())
            } else {
                b.session_lifecycle(BrowserSession::default())
            };
        }
        if let Some(secs) = self.idle_timeout_secs {
            b = b.idle_timeout(duration_from_secs(secs));
        }
        if let Some(secs) = self.absolute_timeout_secs {
            b = b.absolute_timeout(duration_from_secs(secs));
        }
        if self.refresh_every_request {
            b = b.refresh(RefreshPolicy::EveryRequest);
        } else if let Some(secs) = self.refresh_interval_secs {
            b = b.refresh(RefreshPolicy::Interval(duration_from_secs(secs)));
        }
        if let Some(secure) = self.secure {
            b = b.cookie_secure(secure);
        }
        if let Some(http_only) = self.http_only {
            b = b.cookie_http_only(http_only);
        }
        if let Some(same_site) = self.same_site {
            b = b.cookie_same_site(match same_site {
                SameSiteConfig::Strict => SameSite::Strict,
                SameSiteConfig::Lax => SameSite::Lax,
                SameSiteConfig::None => SameSite::None,
            });
        }
        if let Some(path) = self.path {
            b = b.cookie_path(path);
        }
        if let Some(domain) = self.domain {
            b = b.cookie_domain(domain);
        }
        if let Some(limit) = self.size_limit {
            b = b.size_limit(limit);
        }
        if let Some(max) = self.max_cookies {
            b = b.max_cookies(max);
        }
        if let Some(budget) = self.cookie_header_budget {
            b = b.cookie_header_budget(budget);
        }
        if let Some(store) = self.revocation {
            b = b.revocation_store(store);
        }
        Ok(b)
    }

    /// Builds the `T` these settings describe: a [`SessionManager`], or a web adapter's middleware
    /// (`let middleware: CookieSessionMiddleware = config.build()?;`).
    ///
    /// # Errors
    /// As [`SessionConfig::into_builder`] and [`SessionBuilder::build`].
    pub fn build<T: From<SessionManager>>(self) -> Result<T, ConfigError> {
        self.into_builder()?.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_without_a_store_to_choose_is_refused_with_the_feature_to_enable() {
        let json = r#"{ "keys_env": "SESSION_KEYS", "revocation": { "store": "memory" } }"#;
        let err = serde_json::from_str::<SessionConfig>(json).unwrap_err();
        assert!(err.to_string().contains("`redis` feature"), "{err}");
    }

    /// A store setting that records that `build` started it.
    #[derive(Debug, serde::Deserialize)]
    struct MarkedStore(String);

    static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    impl IntoRevocationStore for MarkedStore {
        fn into_store(
            self,
            _: std::sync::Arc<dyn crate::clock::Clock>,
        ) -> std::sync::Arc<dyn crate::revocation::RevocationStore> {
            assert_eq!(self.0, "anything");
            STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
            std::sync::Arc::new(crate::revocation::MemoryRevocationStore::new())
        }
    }

    #[test]
    fn the_revocation_setting_starts_its_store() {
        let key = crate::SecretKey::generate().to_base64();
        let json = format!(r#"{{ "keys": "{}", "revocation": "anything" }}"#, *key);
        let config: SessionConfig<MarkedStore> = serde_json::from_str(&json).unwrap();
        let builder = config.into_builder::<SessionManager>().unwrap();
        assert!(
            !STARTED.load(std::sync::atomic::Ordering::SeqCst),
            "started at build"
        );
        builder.build().unwrap();
        assert!(STARTED.load(std::sync::atomic::Ordering::SeqCst));
    }
}
