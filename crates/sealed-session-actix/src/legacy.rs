//! The legacy reader (feature `actix-session-legacy`): actix-session's cookies read into new
//! sessions, so an application moving from actix-session's `CookieSessionStore` logs no one out.
//!
//! What actix-session 0.11 writes (its `src/storage/cookie.rs` and `src/middleware.rs`), under
//! the name `id` unless configured otherwise, with the `Key` given to `SessionMiddleware::new`:
//!
//! ```text
//! Set-Cookie: id=<value, percent-encoded>; HttpOnly; SameSite=Lax; Secure; Path=/
//!
//! Private: value = base64( nonce (12) | AES-256-GCM(state) | tag (16) ), the name as AAD
//! Signed:  value = base64( HMAC-SHA256(state) ) (44 characters) | state
//! state:   {"user_id":"42","cart":"[\"sku-1\"]"}   a JSON map of JSON texts
//! ```
//!
//! Both are the `cookie` crate's private and signed jars, which open them here too: no
//! cryptography is written in this module. The state carries no time; the cookie's `Max-Age`
//! (none by default) was its only bound.
//!
//! [`LegacyCookies`] is a [`LegacyReader`]: this module reads one old value into a session; the
//! core's lifecycle finds the old cookie, decides when to migrate or remove it, and counts.

use std::collections::HashMap;
use std::fmt;

use cookie::{Cookie, CookieJar};
use sealed_session::adapter::{LegacyReader, RequestInfo};
use sealed_session::codec::{Codec, SessionState};
use sealed_session::{ConfigError, LOG_TARGET};
use time::OffsetDateTime;

/// Bytes a `cookie::Key` is made from (actix-web's `Key::from` takes at least this many).
///
/// ```
/// # let old_secret = vec![7u8; 64];
/// assert!(old_secret.len() >= sealed_session_actix::LEGACY_KEY_LEN);
/// ```
pub const LEGACY_KEY_LEN: usize = 64;

/// Longest legacy cookie value opened. actix-session refuses to write a state over 4064 bytes,
/// so a real cookie stays under this even percent-encoded and base64-expanded; a longer one is
/// refused before any cryptography, so a stuffed header costs no large decryption.
const MAX_VALUE_LEN: usize = 8192;

/// The key actix-session sealed or signed its cookies with: the bytes the old application
/// passed to actix-web's `Key::from` (a `cookie::Key`, at least [`LEGACY_KEY_LEN`] bytes).
///
/// Taken as bytes, not as a `Key`: actix-web 4 uses `cookie` 0.16, this reader `cookie` 0.18,
/// whose `Key` types differ though their jars are byte for byte the same. An application that
/// made its key with `Key::derive_from(secret)` passes `Key::derive_from(secret).master()`.
/// `Key::generate()` keys die with the process: cookies sealed under one can't be migrated.
///
/// `Debug` shows no key bytes, and there is no `PartialEq`.
///
/// # Not wiped
/// `cookie::Key` does not zeroize itself, and its jars copy the key for each cookie they open:
/// this key stays in memory as it did in actix-session, until the reader is turned off.
///
/// ```
/// use sealed_session_actix::{ConfigError, LegacyKey};
///
/// # let old_secret = [7u8; 64];
/// // The same bytes the old application gave `actix_web::cookie::Key::from`.
/// let key = LegacyKey::from_master(&old_secret)?;
/// assert_eq!(format!("{key:?}"), "LegacyKey(..)");
///
/// let err = LegacyKey::from_master(b"too short").unwrap_err();
/// assert!(matches!(err, ConfigError::LegacyKeyTooShort { len: 9, min: 64 }));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Clone)]
pub struct LegacyKey(cookie::Key);

impl LegacyKey {
    /// The key actix-web's `Key::from(master)` made: its first 32 bytes sign, the next 32
    /// encrypt; bytes past the 64th are ignored, as there.
    ///
    /// # Errors
    /// [`ConfigError::LegacyKeyTooShort`] below [`LEGACY_KEY_LEN`] bytes (where `Key::from`
    /// panics).
    pub fn from_master(master: &[u8]) -> Result<Self, ConfigError> {
        cookie::Key::try_from(master)
            .map(Self)
            .map_err(|_| ConfigError::LegacyKeyTooShort {
                len: master.len(),
                min: LEGACY_KEY_LEN,
            })
    }
}

impl fmt::Debug for LegacyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LegacyKey(..)")
    }
}

/// How actix-session protected its cookie: its `CookieContentSecurity`.
///
/// Pick the one the old application used: a private reader refuses signed cookies and the
/// reverse (each is counted as refused, and logged with the reason `legacy_refused`).
///
/// ```
/// use sealed_session_actix::{LegacyContentSecurity, LegacyCookies, LegacyKey};
///
/// # let old_secret = [7u8; 64];
/// // The old app: `.cookie_content_security(CookieContentSecurity::Signed)`.
/// let legacy = LegacyCookies::new(LegacyKey::from_master(&old_secret)?)
///     .content_security(LegacyContentSecurity::Signed);
/// assert_eq!(LegacyContentSecurity::default(), LegacyContentSecurity::Private);
/// # Ok::<(), sealed_session_actix::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LegacyContentSecurity {
    /// Encrypted and authenticated (the `cookie` crate's private jar): actix-session's default.
    #[default]
    Private,
    /// Signed, readable by the client (the `cookie` crate's signed jar).
    Signed,
}

/// What the legacy reader needs to know about the old actix-session cookies: the key, and the
/// settings the old `SessionMiddleware` was built with.
///
/// Given to [`CookieSessionBuilder::legacy_reader`](crate::CookieSessionBuilder::legacy_reader)
/// (or, as the [`LegacyReader`] it is, to `sealed_session::SessionBuilder::legacy_reader`),
/// which checks it at `build`.
///
/// # Defaults
/// actix-session's: the name `id`, [`LegacyContentSecurity::Private`], `Path=/`, no `Domain`.
///
/// # Performance impact
/// An old cookie costs one AES-256-GCM or HMAC-SHA256 check per value tried (at most three,
/// each at most 8192 bytes), plus parsing its JSON when it opens.
///
/// # Security
/// actix-session's cookies carry no expiry and no id, so they can't be revoked: a copy of one
/// works, as a new session, for as long as the reader is on ([`sealed_session::guide::security`],
/// "Migrating from actix-session").
///
/// ```
/// use sealed_session_actix::{
///     ConfigError, KeyRing, LegacyContentSecurity, LegacyCookies, LegacyKey, SessionManager, SecretKey,
/// };
///
/// # let old_secret = [7u8; 64];
/// let legacy = LegacyCookies::new(LegacyKey::from_master(&old_secret)?)
///     .content_security(LegacyContentSecurity::Signed);
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .legacy_reader(legacy.clone())
///     .build()?;
/// assert_eq!(sessions.legacy_migrations().migrated, 0);
///
/// // Over plain HTTP the new cookie is named `id` too: old and new would be confused.
/// let err = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_secure(false)
///     .legacy_reader(legacy)
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::LegacyCookieNameClash { .. }));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct LegacyCookies {
    key: LegacyKey,
    name: String,
    security: LegacyContentSecurity,
    path: String,
    domain: Option<String>,
}

impl LegacyCookies {
    /// The old cookies, sealed or signed with `key`, with actix-session's
    /// [defaults](LegacyCookies#defaults) otherwise.
    pub fn new(key: LegacyKey) -> Self {
        Self {
            key,
            name: "id".to_owned(),
            security: LegacyContentSecurity::Private,
            path: "/".to_owned(),
            domain: None,
        }
    }

    /// The old cookie's name: what `SessionMiddlewareBuilder::cookie_name` set. Defaults to
    /// `id`, actix-session's default.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Private or signed: what `SessionMiddlewareBuilder::cookie_content_security` set.
    /// Defaults to [`LegacyContentSecurity::Private`], actix-session's default.
    pub fn content_security(mut self, security: LegacyContentSecurity) -> Self {
        self.security = security;
        self
    }

    /// The old cookie's `Path`, which the removal of a migrated cookie must repeat or browsers
    /// keep it: what `SessionMiddlewareBuilder::cookie_path` set. Defaults to `/`.
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The old cookie's `Domain`, repeated by the removal: what
    /// `SessionMiddlewareBuilder::cookie_domain` set. Defaults to none.
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Opens one raw value as actix-session does: percent-decoded (actix-web parses request
    /// cookies with `Cookie::parse_encoded`), then checked by the jar.
    fn read(&self, raw: &[u8]) -> Result<HashMap<String, String>, Refusal> {
        if raw.len() > MAX_VALUE_LEN {
            return Err(Refusal::Unauthentic);
        }
        let raw = std::str::from_utf8(raw).map_err(|_| Refusal::Unauthentic)?;
        let cookie = Cookie::parse_encoded(format!("{}={raw}", self.name))
            .map_err(|_| Refusal::Unauthentic)?
            .into_owned();
        let jar = CookieJar::new();
        let opened = match self.security {
            LegacyContentSecurity::Private => jar.private(&self.key.0).decrypt(cookie),
            LegacyContentSecurity::Signed => jar.signed(&self.key.0).verify(cookie),
        }
        .ok_or(Refusal::Unauthentic)?;
        // `CookieSessionStore::load`: the session key is the state's JSON.
        serde_json::from_str(opened.value()).map_err(|_| Refusal::Unreadable)
    }
}

impl LegacyReader for LegacyCookies {
    fn name(&self) -> &str {
        &self.name
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The first of the old cookie's values that opens and fits in the new cookie, re-encoded.
    /// Logs the outcome at `debug` (an old cookie that fails is the ordinary end of a
    /// migration's window, or a misconfiguration, not an attack on the new cookies).
    fn migrate(
        &self,
        values: &[&[u8]],
        codec: &Codec,
        now: OffsetDateTime,
        request: RequestInfo<'_>,
    ) -> Option<SessionState> {
        let mut first_refusal = None;
        for raw in values {
            match self.read(raw).and_then(|state| convert(&state, codec, now)) {
                Ok(state) => {
                    tracing::debug!(
                        target: LOG_TARGET,
                        cookie = self.name.as_str(),
                        path = request.path(),
                        "actix-session cookie migrated into a new session"
                    );
                    return Some(state);
                }
                Err(refusal) => {
                    first_refusal.get_or_insert(refusal);
                }
            }
        }
        let refusal = first_refusal?;
        tracing::debug!(
            target: LOG_TARGET,
            reason = refusal.reason(),
            cookie = self.name.as_str(),
            path = request.path(),
            "actix-session cookie not migrated, left in place: {refusal}"
        );
        None
    }
}

/// Why a legacy cookie was not migrated (the `reason` logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The jar refused it: another key, the other content security, altered, or not one.
    Unauthentic,
    /// Authentic, but not actix-session's state (a JSON map of JSON texts).
    Unreadable,
    /// The migrated session would not fit in the new cookie.
    TooLarge,
    /// No session id could be drawn.
    Randomness,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Self::Unauthentic => "legacy_refused",
            Self::Unreadable => "legacy_unreadable",
            Self::TooLarge => "legacy_too_large",
            Self::Randomness => "legacy_randomness",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unauthentic => {
                "it failed the old key's check (another key or content security, or altered)"
            }
            Self::Unreadable => "it holds no actix-session state",
            Self::TooLarge => "the session it holds would not fit in the new cookie",
            Self::Randomness => "no session id could be drawn",
        })
    }
}

/// actix-session's state as a new session: each value (the JSON text actix-session's `insert`
/// wrote) is parsed and stored with sealed-session's encoding, so `get::<T>` reads it for every `T`
/// the JSON deserializes to. The old state has no times: the session starts at `now`.
///
/// One shape does not come back: a map with integer keys (`HashMap<u64, _>`), which JSON wrote
/// with string keys (`{"7": ..}`). It is stored as it is, with string keys, not rewritten with
/// integer ones: a `HashMap<String, _>` whose keys are `"7"` looks the same in the JSON, and
/// rewriting would break it instead. A read with the integer key type fails with a
/// `ValueError` naming this cause and the fix (read with `String` keys, `insert` it again).
fn convert(
    legacy: &HashMap<String, String>,
    codec: &Codec,
    now: OffsetDateTime,
) -> Result<SessionState, Refusal> {
    let mut state = codec.new_session(now).map_err(|_| Refusal::Randomness)?;
    for (key, json) in legacy {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|_| Refusal::Unreadable)?;
        state.insert(key, &value).map_err(|_| Refusal::Unreadable)?;
    }
    codec.check_size(&state).map_err(|_| Refusal::TooLarge)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use sealed_session::{KeyRing, SecretKey, SessionManager};

    use super::*;

    fn jar_cookie(key: &LegacyKey, security: LegacyContentSecurity, state: &str) -> String {
        let mut jar = CookieJar::new();
        match security {
            LegacyContentSecurity::Private => jar.private_mut(&key.0).add(("id", state.to_owned())),
            LegacyContentSecurity::Signed => jar.signed_mut(&key.0).add(("id", state.to_owned())),
        }
        let cookie = jar.get("id").expect("added");
        cookie.encoded().stripped().to_string()
    }

    fn reader(key: &LegacyKey, security: LegacyContentSecurity) -> LegacyCookies {
        LegacyCookies::new(key.clone()).content_security(security)
    }

    /// A lifecycle reading old cookies with `reader`.
    fn lifecycle(reader: LegacyCookies) -> SessionManager {
        SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .legacy_reader(reader)
            .build()
            .unwrap()
    }

    #[test]
    fn opens_both_jars_percent_encoded_and_refuses_the_other_one() {
        let key = LegacyKey::from_master(&[3; 64]).unwrap();
        let other = LegacyKey::from_master(&[4; 64]).unwrap();
        let codec = Codec::new(KeyRing::new(SecretKey::generate()));
        let now = OffsetDateTime::UNIX_EPOCH;
        let state = r#"{"n":"7","s":"\"a; b\""}"#;
        for security in [
            LegacyContentSecurity::Private,
            LegacyContentSecurity::Signed,
        ] {
            let header = jar_cookie(&key, security, state);
            let values = [header.trim_start_matches("id=").as_bytes()];
            let migrated = reader(&key, security)
                .migrate(&values, &codec, now, RequestInfo::new("/"))
                .unwrap();
            assert_eq!(migrated.get::<u64>("n").unwrap(), Some(7));
            assert_eq!(
                migrated.get::<String>("s").unwrap().as_deref(),
                Some("a; b")
            );
            let wrong_key = reader(&other, security);
            assert!(
                wrong_key
                    .migrate(&values, &codec, now, RequestInfo::new("/"))
                    .is_none()
            );
            // Counted by the lifecycle that holds the reader.
            let wrong_key = lifecycle(wrong_key);
            let session = wrong_key.open([header.as_bytes()], RequestInfo::new("/"));
            assert!(session.state().is_none());
            let counts = wrong_key.legacy_migrations();
            assert_eq!((counts.migrated, counts.refused), (0, 1));
        }
        // A signed cookie presented to a private reader, and the reverse.
        let signed = jar_cookie(&key, LegacyContentSecurity::Signed, state);
        let private = reader(&key, LegacyContentSecurity::Private);
        assert_eq!(
            private.read(signed.trim_start_matches("id=").as_bytes()),
            Err(Refusal::Unauthentic)
        );
    }

    #[test]
    fn authentic_cookies_that_hold_no_state_or_too_much_are_refused() {
        let key = LegacyKey::from_master(&[3; 64]).unwrap();
        let security = LegacyContentSecurity::Signed;
        let codec = Codec::builder(KeyRing::new(SecretKey::generate()))
            .size_limit(300)
            .build()
            .unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        for (state, refusal) in [
            ("not json", Refusal::Unreadable),
            (r#"{"n":7}"#, Refusal::Unreadable),
            (r#"{"n":"not json"}"#, Refusal::Unreadable),
            (
                &format!(r#"{{"big":"\"{}\""}}"#, "x".repeat(400)),
                Refusal::TooLarge,
            ),
        ] {
            let header = jar_cookie(&key, security, state);
            let raw = header.trim_start_matches("id=").as_bytes();
            let result = reader(&key, security)
                .read(raw)
                .and_then(|state| convert(&state, &codec, now));
            assert_eq!(result.err(), Some(refusal), "{state}");
        }
        let oversized = "a".repeat(MAX_VALUE_LEN + 1);
        assert_eq!(
            reader(&key, security).read(oversized.as_bytes()),
            Err(Refusal::Unauthentic)
        );
    }

    /// Issue 20: actix-session wrote a `HashMap<u64, _>` as a JSON object, whose keys are
    /// strings; migrated, it reads as a map with `String` keys, and a read with the integer key
    /// type fails naming that cause rather than as an ordinary type mismatch.
    #[test]
    fn issue_20_an_integer_keyed_map_reads_with_string_keys_or_fails_naming_the_cause() {
        use std::collections::BTreeMap;
        let key = LegacyKey::from_master(&[3; 64]).unwrap();
        let security = LegacyContentSecurity::Private;
        let codec = Codec::new(KeyRing::new(SecretKey::generate()));
        // What actix-session's `insert("scores", &map)` and `CookieSessionStore` write.
        let scores = HashMap::from([(1u64, "gold".to_owned()), (22, "silver".to_owned())]);
        let state = HashMap::from([("scores".to_owned(), serde_json::to_string(&scores).unwrap())]);
        let header = jar_cookie(&key, security, &serde_json::to_string(&state).unwrap());
        let values = [header.trim_start_matches("id=").as_bytes()];
        let migrated = reader(&key, security)
            .migrate(
                &values,
                &codec,
                OffsetDateTime::UNIX_EPOCH,
                RequestInfo::new("/"),
            )
            .unwrap();
        let err = migrated.get::<HashMap<u64, String>>("scores").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("strings of integers") && message.contains("actix-session"),
            "{message}"
        );
        let read = migrated
            .get::<BTreeMap<String, String>>("scores")
            .unwrap()
            .unwrap();
        assert_eq!(
            read,
            BTreeMap::from([
                ("1".to_owned(), "gold".to_owned()),
                ("22".to_owned(), "silver".to_owned())
            ])
        );
    }

    #[test]
    fn debug_does_not_leak_key() {
        let key = LegacyKey::from_master(&[0xab; 64]).unwrap();
        // A fixed session key: its id, which the lifecycle shows, is the same on every run.
        let secret: Vec<u8> = (0..32).collect();
        let ring = KeyRing::new(SecretKey::from_bytes(&secret).unwrap());
        let builder = SessionManager::builder(ring).legacy_reader(LegacyCookies::new(key.clone()));
        let shown = format!("{builder:?}");
        let built = format!("{:?}", builder.build().unwrap());
        for shown in [
            format!("{:?} {:?}", key, LegacyCookies::new(key.clone())),
            format!("{:#?}", LegacyCookies::new(key.clone())),
            shown,
            built,
        ] {
            assert!(
                !shown.contains("171") && !shown.to_lowercase().contains("ab, "),
                "{shown}"
            );
            assert!(shown.contains("LegacyKey(..)"), "{shown}");
        }
    }
}
