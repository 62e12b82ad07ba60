//! One error enum per operation: [`ConfigError`] at startup, [`SealError`] when writing a
//! session, [`OpenError`] when a cookie is refused.
//!
//! Every `Display` starts lowercase, names the offending value and says what to do about it.
//! None of them ever contains secret bytes or cookie contents.

use std::fmt;

use crate::key::KeyId;

/// How to make a good secret; quoted by every error about a bad one.
pub(crate) const KEYGEN_HINT: &str =
    "generate one with `sealed-session keygen` or `openssl rand -base64 32`";

/// A configuration the library refuses at startup.
///
/// Returned by key and key ring constructors and by builders' `build()`. Each message says how to
/// fix the configuration, so printing it and exiting is a good way to handle it.
///
/// ```
/// use sealed_session::{ConfigError, SecretKey};
///
/// let err = SecretKey::from_bytes(b"too short").unwrap_err();
/// assert!(matches!(err, ConfigError::SecretTooShort { len: 9, .. }));
/// assert!(err.to_string().contains("sealed-session keygen"));
/// // `Debug` is the same message, so `fn main() -> Result<..>` prints how to fix it.
/// assert_eq!(format!("{err:?}"), err.to_string());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A secret has fewer than [`MIN_SECRET_LEN`](crate::keys::MIN_SECRET_LEN) bytes.
    SecretTooShort {
        /// Bytes found.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// A secret has so little variety (e.g. all bytes equal) that it can't be random.
    SecretNotRandom,
    /// An entry of a key list is not base64.
    SecretNotBase64 {
        /// Position of the entry in the list, counting from 0.
        index: usize,
    },
    /// The key list holds no key.
    EmptyKeyRing,
    /// Every key in the list is marked open-only, so nothing can seal new cookies.
    NoPrimaryKey,
    /// Two secrets in a ring derive the same key id (most likely the same secret listed twice).
    DuplicateKeyId {
        /// The id both derive.
        key_id: KeyId,
        /// Positions of the two entries.
        first: usize,
        /// Positions of the two entries.
        second: usize,
    },
    /// An environment variable meant to hold the key list is unset or not UTF-8.
    MissingEnvVar {
        /// The variable's name.
        name: String,
    },
    /// A cookie name that is empty, too long or holds characters RFC 6265 forbids.
    InvalidCookieName {
        /// The rejected name.
        name: String,
    },
    /// A timeout or interval out of its range (less than a second, more than 400 days), or
    /// two that contradict each other (an idle timeout longer than the absolute one).
    InvalidTimeout {
        /// Which setting, named as its builder method (`"idle_timeout"`, `"absolute_timeout"`,
        /// `"clock_skew"`, `"refresh"`).
        setting: &'static str,
        /// Why it is refused.
        reason: TimeoutProblem,
    },
    /// A size budget too small to hold even an empty session.
    SizeLimitTooSmall {
        /// The configured budget.
        limit: usize,
        /// The smallest budget that holds an empty session under this name and mode.
        min: usize,
    },
    /// A setting of a session split over several cookies
    /// ([`SessionBuilder::max_cookies`](crate::SessionBuilder::max_cookies)) that can't work.
    InvalidChunking {
        /// What is wrong and how to fix it.
        reason: ChunkingProblem,
    },
    /// A cookie attribute combination browsers would reject or that defeats its purpose
    /// (e.g. a `__Host-` name without `Secure`).
    InvalidCookieAttributes {
        /// Which rule the attributes break.
        reason: CookieAttributeProblem,
    },
    /// The actix-session key given to sealed-session-actix's legacy reader (its
    /// `LegacyKey::from_master`) is shorter than the 64 bytes a `cookie::Key` is made from.
    LegacyKeyTooShort {
        /// Bytes found.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// The [`LegacyReader`](crate::adapter::LegacyReader)'s cookie name is also the session
    /// cookie's name, so an old cookie and a new one can't be told apart.
    LegacyCookieNameClash {
        /// The name both use.
        name: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretTooShort { len, min } => write!(
                f,
                "session secret is {len} bytes long, at least {min} are required: {KEYGEN_HINT}"
            ),
            Self::SecretNotRandom => write!(
                f,
                "session secret has too few distinct bytes to be random: {KEYGEN_HINT}"
            ),
            Self::SecretNotBase64 { index } => write!(
                f,
                "session key #{index} in the key list is not valid base64 \
                 (entries are comma-separated, optionally prefixed by `open-only:`): {KEYGEN_HINT}"
            ),
            Self::EmptyKeyRing => write!(f, "the session key list is empty: {KEYGEN_HINT}"),
            Self::NoPrimaryKey => write!(
                f,
                "every session key is marked `open-only:`, so none can seal cookies: \
                 remove the prefix from the key that should seal"
            ),
            Self::DuplicateKeyId {
                key_id,
                first,
                second,
            } => write!(
                f,
                "session keys #{first} and #{second} have the same key id `{key_id}`: \
                 the same secret is listed twice, remove one of them"
            ),
            Self::MissingEnvVar { name } => write!(
                f,
                "environment variable `{name}` is not set (or not UTF-8): set it to a \
                 comma-separated list of base64 secrets, newest first; {KEYGEN_HINT}"
            ),
            Self::InvalidCookieName { name } => write!(
                f,
                "invalid cookie name `{name}`: use 1 to 64 ASCII letters, digits or \
                 `!#$%&'*+-.^_|~` (e.g. `id`)"
            ),
            Self::InvalidTimeout { setting, reason } => {
                write!(f, "invalid `{setting}`: {reason}")
            }
            Self::SizeLimitTooSmall { limit, min } => write!(
                f,
                "cookie size limit {limit} cannot hold even an empty session, which needs {min} \
                 bytes: raise it (browsers allow 4096)"
            ),
            Self::InvalidCookieAttributes { reason } => {
                write!(f, "invalid cookie attributes: {reason}")
            }
            Self::InvalidChunking { reason } => {
                write!(
                    f,
                    "invalid settings for a session over several cookies: {reason}"
                )
            }
            Self::LegacyKeyTooShort { len, min } => write!(
                f,
                "actix-session key is {len} bytes long, a `cookie::Key` is made from at least \
                 {min}: pass the bytes the old application gave `Key::from` (after \
                 `Key::derive_from`, its `master()`); a new key can't read the old cookies"
            ),
            Self::LegacyCookieNameClash { name } => write!(
                f,
                "actix-session cookie name `{name}` is also the new session cookie's name, so \
                 old and new cookies can't be told apart: give the new one another name, e.g. \
                 `cookie_name(\"__Host-id\")` (the default when `Secure`)"
            ),
        }
    }
}

impl fmt::Debug for ConfigError {
    /// The message, as [`Display`](fmt::Display) writes it: a `main` that returns a `Result`
    /// prints its error with `Debug`, and the user should read how to fix it, not a variant
    /// name. (Secrets never appear in either.)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

/// Lets a `main` that returns `std::io::Result<()>` (as `#[actix_web::main]` examples do) use
/// `?` on key and builder errors. The kind is [`InvalidInput`](std::io::ErrorKind::InvalidInput)
/// and the message is the [`ConfigError`]'s, which says what to fix.
///
/// ```
/// use sealed_session::KeyRing;
///
/// fn main() -> std::io::Result<()> {
///     let keys = KeyRing::from_config(&sealed_session::SecretKey::generate().to_base64())?;
///     assert_eq!(keys.ids().len(), 1);
///
///     // An unset variable: the `?` above would return this, saying what to set.
///     let err = KeyRing::from_env("SEALED_SESSION_DOC_UNSET_VAR").unwrap_err();
///     let io = std::io::Error::from(err);
///     assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
///     assert!(io.to_string().contains("SEALED_SESSION_DOC_UNSET_VAR"));
///     Ok(())
/// }
/// ```
impl From<ConfigError> for std::io::Error {
    fn from(err: ConfigError) -> Self {
        Self::new(std::io::ErrorKind::InvalidInput, err)
    }
}

/// Why a timeout setting is refused: the `reason` of [`ConfigError::InvalidTimeout`]. Its
/// `Display` says how to fix it, and is the end of the error's message.
///
/// ```
/// use sealed_session::codec::Codec;
/// use sealed_session::{ConfigError, KeyRing, SecretKey, TimeoutProblem};
/// use time::Duration;
///
/// let err = Codec::builder(KeyRing::new(SecretKey::generate()))
///     .idle_timeout(Duration::hours(2))
///     .absolute_timeout(Duration::hours(1))
///     .build()
///     .unwrap_err();
/// let ConfigError::InvalidTimeout { setting, reason } = err else {
///     panic!("expected a timeout error, got {err}");
/// };
/// assert_eq!(setting, "idle_timeout");
/// let fix = match reason {
///     TimeoutProblem::IdleLongerThanAbsolute => "shorten `idle_timeout`",
///     TimeoutProblem::TooShort | TimeoutProblem::TooLong => "use 1 second to 400 days",
///     _ => "see the message",
/// };
/// assert_eq!(fix, "shorten `idle_timeout`");
/// assert_eq!(
///     err.to_string(),
///     "invalid `idle_timeout`: it is longer than the absolute timeout, which always ends a \
///      session first: shorten it or lengthen `absolute_timeout`"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutProblem {
    /// Less than one second (zero and negative durations included).
    TooShort,
    /// More than [`MAX_TIMEOUT`](crate::codec::MAX_TIMEOUT), 400 days: browsers cap `Max-Age` there.
    TooLong,
    /// The idle timeout is longer than the absolute one, which would always end a session
    /// first.
    IdleLongerThanAbsolute,
    /// The clock skew allowance is negative or past [`MAX_CLOCK_SKEW`](crate::codec::MAX_CLOCK_SKEW),
    /// one day.
    SkewOutOfRange,
    /// The refresh interval is negative or not shorter than the idle timeout, so sessions
    /// would expire before they are refreshed.
    RefreshNotShorterThanIdle,
}

impl fmt::Display for TimeoutProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooShort => "it must be at least one second",
            Self::TooLong => {
                "it is longer than 400 days, the most browsers keep a cookie (they cap \
                 `Max-Age` there): use at most 400 days"
            }
            Self::IdleLongerThanAbsolute => {
                "it is longer than the absolute timeout, which always ends a session first: \
                 shorten it or lengthen `absolute_timeout`"
            }
            Self::SkewOutOfRange => "it must be between zero and one day: use a few seconds",
            Self::RefreshNotShorterThanIdle => {
                "the refresh interval must be shorter than the idle timeout, or sessions expire \
                 before they are refreshed: use a fraction of it"
            }
        })
    }
}

/// Why a session over several cookies can't be set up: the `reason` of
/// [`ConfigError::InvalidChunking`]. Its `Display` says how to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkingProblem {
    /// `max_cookies` is 0, or more than [`MAX_COOKIES`](crate::codec::MAX_COOKIES).
    CookieCount,
    /// `size_limit` was set together with `max_cookies` above 1.
    SizeLimitWithChunks,
    /// `cookie_header_budget` can't hold even an empty session.
    BudgetTooSmall,
    /// The cookie's name is too long for its chunks' names (`<name>-9`), or its attributes leave
    /// no room for a value within a 4096-byte `Set-Cookie` header.
    NameOrAttributesTooLong,
}

impl fmt::Display for ChunkingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CookieCount => {
                "`max_cookies` must be 1 (one cookie, the default) to 10: past that, the \
                 `Cookie` header is longer than the proxies in front of most sites pass"
            }
            Self::SizeLimitWithChunks => {
                "`size_limit` is one cookie's budget; with `max_cookies` above 1 each cookie is \
                 bounded by its 4096-byte `Set-Cookie` header, and the session by \
                 `cookie_header_budget`: set that instead"
            }
            Self::BudgetTooSmall => {
                "`cookie_header_budget` can't hold even an empty session: raise it (the default \
                 is 8192 bytes, what nginx's and Heroku's front ends pass in one header line)"
            }
            Self::NameOrAttributesTooLong => {
                "the cookie's name leaves no room for its chunks' names (`<name>-9`, at most 64 \
                 bytes), or its path and domain leave no room for a value in a 4096-byte \
                 `Set-Cookie` header: shorten them"
            }
        })
    }
}

/// Which rule the cookie attributes break: the `reason` of
/// [`ConfigError::InvalidCookieAttributes`]. Its `Display` says how to fix it, and is the end
/// of the error's message.
///
/// The prefix rules are the browsers' ([RFC 6265bis section
/// 4.1.3](https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3)):
/// a cookie that breaks them is dropped, so the application would never see its session.
///
/// ```
/// use sealed_session::{ConfigError, CookieAttributeProblem, KeyRing, SecretKey, SessionManager};
///
/// let err = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_name("__Host-id")
///     .cookie_path("/app")
///     .build()
///     .unwrap_err();
/// let fix = match err {
///     ConfigError::InvalidCookieAttributes {
///         reason: CookieAttributeProblem::HostPrefixPathNotRoot,
///     } => "set `Path=/`, or drop the prefix",
///     ConfigError::InvalidCookieAttributes { .. } => "another attribute rule",
///     _ => "another setting",
/// };
/// assert_eq!(fix, "set `Path=/`, or drop the prefix");
/// // A cookie outside `__Host-`'s rules builds: the same path without the prefix.
/// assert!(SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_name("id")
///     .cookie_path("/app")
///     .build()
///     .is_ok());
/// assert_eq!(
///     err.to_string(),
///     "invalid cookie attributes: a `__Host-` cookie must have `Path=/`: set `cookie_path(\"/\")`"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieAttributeProblem {
    /// A `__Host-` cookie without `Secure`.
    HostPrefixNotSecure,
    /// A `__Host-` cookie with a `Path` other than `/`.
    HostPrefixPathNotRoot,
    /// A `__Host-` cookie with a `Domain`.
    HostPrefixWithDomain,
    /// A `__Secure-` cookie without `Secure`.
    SecurePrefixNotSecure,
    /// `SameSite=None` without `Secure`: browsers drop the cookie.
    SameSiteNoneNotSecure,
    /// A `Path` that does not start with `/`, or holds a `;` or anything but visible ASCII (a
    /// space, a control character, a non-ASCII character).
    InvalidPath,
    /// A `Domain` that is empty, or holds a `;` or anything but visible ASCII.
    InvalidDomain,
}

impl fmt::Display for CookieAttributeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HostPrefixNotSecure => {
                "a `__Host-` cookie must be `Secure`: enable `cookie_secure` (serve over HTTPS) \
                 or drop the prefix"
            }
            Self::HostPrefixPathNotRoot => {
                "a `__Host-` cookie must have `Path=/`: set `cookie_path(\"/\")`"
            }
            Self::HostPrefixWithDomain => {
                "a `__Host-` cookie can't have a `Domain`: remove `cookie_domain` or drop the \
                 prefix"
            }
            Self::SecurePrefixNotSecure => {
                "a `__Secure-` cookie must be `Secure`: enable `cookie_secure`"
            }
            Self::SameSiteNoneNotSecure => {
                "`SameSite=None` requires `Secure` (browsers drop the cookie otherwise): enable \
                 `cookie_secure` or use `SameSite::Lax`"
            }
            Self::InvalidPath => {
                "the cookie path must start with `/` and hold only visible ASCII other than `;`"
            }
            Self::InvalidDomain => "the cookie domain must be a host name such as `example.com`",
        })
    }
}

/// A session that could not be sealed.
///
/// ```
/// use sealed_session::codec::Codec;
/// use sealed_session::{KeyRing, SealError, SecretKey};
///
/// let codec = Codec::builder(KeyRing::new(SecretKey::generate())).size_limit(200).build()?;
/// let mut session = codec.new_session(time::OffsetDateTime::now_utc())?;
/// session.insert("blob", &vec![7u8; 500])?;
/// let err = codec.seal(&session).unwrap_err();
/// assert!(matches!(err, SealError::TooLarge { limit: 200, .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The cookie (name plus value) would exceed the configured budget.
    TooLarge {
        /// Bytes the cookie's name and value would take.
        size: usize,
        /// The configured budget.
        limit: usize,
    },
    /// The operating system's random number generator failed (no nonce could be drawn).
    Randomness,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => write!(
                f,
                "session cookie would be {size} bytes, over the {limit}-byte limit: store less \
                 in the session (keep large data server-side and store its id)"
            ),
            Self::Randomness => write!(
                f,
                "the operating system's random number generator failed, so no nonce could be drawn"
            ),
        }
    }
}

impl std::error::Error for SealError {}

/// A value could not be stored in a session; the session is left exactly as it was.
///
/// Returned by [`RequestSession::insert`](crate::adapter::RequestSession::insert) and
/// [`RequestSession::set_subject`](crate::adapter::RequestSession::set_subject), which check the
/// size at once, so a session that can't be stored is an error where it is written, not a failed
/// response later.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertError {
    /// The cookie would exceed its size budget.
    TooLarge {
        /// Bytes the cookie's name and value would take.
        size: usize,
        /// The budget.
        limit: usize,
    },
    /// The value could not be encoded.
    Encode(ValueError),
    /// No id could be drawn for a new session (the operating system's generator failed).
    Randomness,
    /// A subject longer than [`MAX_SUBJECT_LEN`](crate::revocation::MAX_SUBJECT_LEN) bytes.
    SubjectTooLong {
        /// Bytes given.
        len: usize,
        /// The most accepted.
        max: usize,
    },
    /// The request's cookie is signed in, but the revocation store can't tell yet whether it
    /// was logged out (a shared store before its first load): a write now would replace that
    /// cookie with an anonymous session, so nothing was written. Answer "try again" (`503`).
    RevocationsUnknown,
    /// A subject holding a control character (a line break, a tab, a NUL, ...), which logs,
    /// files and stores that hold one subject per line would read as something else.
    SubjectControlCharacter,
}

/// The message of a subject holding a control character, shared by the errors that can report
/// it.
pub(crate) fn subject_control_character(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(
        f,
        "session subject holds a control character (a line break, a tab, a NUL, ...), which \
         logs and revocation stores would read as something else: use a user id of printable \
         characters"
    )
}

/// The message of a subject that is too long, shared by the errors that can report it.
fn subject_too_long(f: &mut fmt::Formatter<'_>, len: usize, max: usize) -> fmt::Result {
    write!(
        f,
        "session subject is {len} bytes long, at most {max} are accepted: use a user id, not a \
         whole profile"
    )
}

impl InsertError {
    /// The HTTP status a web adapter answers this error with, the same for every framework:
    /// `503 Service Unavailable` for [`InsertError::RevocationsUnknown`] (try again in a
    /// moment), an opaque `500` for the rest (a programming or system error).
    ///
    /// ```
    /// use sealed_session::adapter::InsertError;
    ///
    /// assert_eq!(InsertError::RevocationsUnknown.http_status(), 503);
    /// assert_eq!(InsertError::TooLarge { size: 5000, limit: 4096 }.http_status(), 500);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            Self::RevocationsUnknown => 503,
            _ => 500,
        }
    }
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SubjectTooLong { len, max } => subject_too_long(f, *len, *max),
            Self::SubjectControlCharacter => subject_control_character(f),
            Self::TooLarge { size, limit } => SealError::TooLarge {
                size: *size,
                limit: *limit,
            }
            .fmt(f),
            Self::Encode(err) => err.fmt(f),
            Self::Randomness => SealError::Randomness.fmt(f),
            Self::RevocationsUnknown => write!(
                f,
                "the revocation list is not loaded yet, so this signed-in session can't be \
                 written without being replaced: try again in a moment, and check the \
                 revocation store's health"
            ),
        }
    }
}

impl std::error::Error for InsertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Encode(err) => Some(err),
            Self::TooLarge { .. }
            | Self::Randomness
            | Self::SubjectTooLong { .. }
            | Self::SubjectControlCharacter
            | Self::RevocationsUnknown => None,
        }
    }
}

impl From<SealError> for InsertError {
    fn from(err: SealError) -> Self {
        match err {
            SealError::TooLarge { size, limit } => Self::TooLarge { size, limit },
            SealError::Randomness => Self::Randomness,
        }
    }
}

impl From<ValueError> for InsertError {
    fn from(err: ValueError) -> Self {
        Self::Encode(err)
    }
}

/// A renewal, a sign-in or "sign out my other devices" could not be carried out; the session is
/// left as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewError {
    /// No new session id could be drawn (the operating system's generator failed).
    Randomness,
    /// The old session could not be revoked, so renewing would leave a copy of it valid.
    Revoke(crate::RevokeError),
    /// The subject does not fit in the cookie.
    TooLarge {
        /// Bytes the cookie's name and value would take.
        size: usize,
        /// The budget.
        limit: usize,
    },
    /// A subject longer than [`MAX_SUBJECT_LEN`](crate::revocation::MAX_SUBJECT_LEN) bytes.
    SubjectTooLong {
        /// Bytes given.
        len: usize,
        /// The most accepted.
        max: usize,
    },
    /// A subject holding a control character (a line break, a tab, a NUL, ...), which logs,
    /// files and stores that hold one subject per line would read as something else.
    SubjectControlCharacter,
}

impl fmt::Display for RenewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SubjectTooLong { len, max } => subject_too_long(f, *len, *max),
            Self::SubjectControlCharacter => subject_control_character(f),
            Self::Randomness => SealError::Randomness.fmt(f),
            Self::Revoke(err) => err.fmt(f),
            Self::TooLarge { size, limit } => SealError::TooLarge {
                size: *size,
                limit: *limit,
            }
            .fmt(f),
        }
    }
}

impl std::error::Error for RenewError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Revoke(err) => Some(err),
            Self::Randomness
            | Self::TooLarge { .. }
            | Self::SubjectTooLong { .. }
            | Self::SubjectControlCharacter => None,
        }
    }
}

impl RenewError {
    /// The HTTP status a web adapter answers this error with, the same for every framework:
    /// what [`RevokeError::http_status`](crate::RevokeError::http_status) says for a
    /// revocation that could not be recorded, `500` otherwise (a failed random generator or a
    /// subject too large for the cookie: a bug or an outage, not the client's doing).
    ///
    /// ```
    /// use sealed_session::{RenewError, RevokeError};
    ///
    /// let full = RenewError::Revoke(RevokeError::CapacityExceeded { limit: 10 });
    /// assert_eq!(full.http_status(), 503, "try again: the logout was not recorded");
    /// assert_eq!(RenewError::Randomness.http_status(), 500);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Revoke(err) => err.http_status(),
            Self::Randomness
            | Self::TooLarge { .. }
            | Self::SubjectTooLong { .. }
            | Self::SubjectControlCharacter => 500,
        }
    }
}

impl From<crate::RevokeError> for RenewError {
    fn from(err: crate::RevokeError) -> Self {
        Self::Revoke(err)
    }
}

impl From<SealError> for RenewError {
    fn from(err: SealError) -> Self {
        match err {
            SealError::TooLarge { size, limit } => Self::TooLarge { size, limit },
            SealError::Randomness => Self::Randomness,
        }
    }
}

/// A value could not be updated in place
/// ([`RequestSession::update`](crate::adapter::RequestSession::update),
/// [`RequestSession::update_or`](crate::adapter::RequestSession::update_or)); the session is left
/// as it was.
///
/// ```
/// use sealed_session::adapter::{RequestInfo, UpdateError};
/// use sealed_session::{KeyRing, SecretKey, SessionManager};
///
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
/// let mut session = sessions.open([], RequestInfo::new("/"));
/// session.insert("name", "alice")?;
/// let err = session.update_or("name", 0u64, |n| n + 1).unwrap_err();
/// let UpdateError::Decode(cause) = &err else { unreachable!() };
/// assert_eq!(cause.key(), "name");
/// assert!(err.to_string().contains("not of the requested type"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateError {
    /// The stored value is not of the requested type; the updater was not called.
    Decode(ValueError),
    /// The updated (or default) value could not be stored: too large for the cookie, or its
    /// `Serialize` implementation failed.
    Insert(InsertError),
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(err) => err.fmt(f),
            Self::Insert(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for UpdateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decode(err) => Some(err),
            Self::Insert(err) => Some(err),
        }
    }
}

impl From<InsertError> for UpdateError {
    fn from(err: InsertError) -> Self {
        Self::Insert(err)
    }
}

/// A value that could not be stored in or read from a session's data.
///
/// ```
/// use sealed_session::ValueError;
/// use sealed_session::codec::SessionState;
/// use time::OffsetDateTime;
///
/// let mut session = SessionState::new(OffsetDateTime::now_utc())?;
/// session.insert("n", &u8::MAX)?;
/// let err: ValueError = session.get::<bool>("n").unwrap_err();
/// assert_eq!(err.key(), "n");
/// assert!(err.is_decode());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    key: String,
    reason: ValueFailure,
}

/// What went wrong, as the encoder or decoder said it (their errors are neither `Clone` nor
/// comparable, so only their messages are kept).
#[derive(Debug, Clone, PartialEq, Eq)]
enum ValueFailure {
    Encode(String),
    Decode(String),
    /// A decode failure of a value holding map keys that are strings of integers: a map with
    /// integer keys that went through JSON.
    IntegerStringKeys(String),
    Trailing,
}

impl ValueError {
    pub(crate) fn encode(key: &str, reason: &impl fmt::Display) -> Self {
        Self::with(key, ValueFailure::Encode(reason.to_string()))
    }

    pub(crate) fn decode(key: &str, reason: &impl fmt::Display) -> Self {
        Self::with(key, ValueFailure::Decode(reason.to_string()))
    }

    pub(crate) fn integer_string_keys(key: &str, reason: &impl fmt::Display) -> Self {
        Self::with(key, ValueFailure::IntegerStringKeys(reason.to_string()))
    }

    pub(crate) fn trailing(key: &str) -> Self {
        Self::with(key, ValueFailure::Trailing)
    }

    fn with(key: &str, reason: ValueFailure) -> Self {
        Self {
            key: key.to_owned(),
            reason,
        }
    }

    /// The session key whose value failed.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether reading failed (the value is not of the requested type), rather than storing
    /// (the value's `Serialize` implementation returned an error).
    pub fn is_decode(&self) -> bool {
        !matches!(self.reason, ValueFailure::Encode(_))
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        match &self.reason {
            ValueFailure::Encode(reason) => write!(
                f,
                "session value `{key}` could not be encoded ({reason}): its `Serialize` \
                 implementation failed"
            ),
            ValueFailure::Decode(reason) => write!(
                f,
                "session value `{key}` is not of the requested type ({reason}): read it with \
                 the type it was inserted with"
            ),
            ValueFailure::IntegerStringKeys(reason) => write!(
                f,
                "session value `{key}` is not of the requested type ({reason}); it holds map \
                 keys that are strings of integers (`\"7\"`), which is what a map with integer \
                 keys becomes through JSON (a value migrated from an actix-session cookie): read \
                 such a map with `String` keys and parse them, then `insert` it again to store \
                 it with its own key type"
            ),
            ValueFailure::Trailing => write!(
                f,
                "session value `{key}` has bytes after its end: it was not stored by \
                 `insert`; store it again"
            ),
        }
    }
}

impl std::error::Error for ValueError {}

/// Why a cookie was refused. Whatever the reason, the caller treats the request as having no
/// session; the variant only says what to log or tell the user.
///
/// [`OpenError::is_suspicious`] separates tampering (worth a warning) from ordinary expiry.
///
/// ```
/// use sealed_session::codec::Codec;
/// use sealed_session::{KeyRing, OpenError, SecretKey};
///
/// let codec = Codec::new(KeyRing::new(SecretKey::generate()));
/// let now = time::OffsetDateTime::now_utc();
/// assert_eq!(codec.open_at("not a cookie", now).unwrap_err(), OpenError::Malformed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// Not base64url, too short or too long to be a sealed cookie of any version.
    Malformed,
    /// A format version this build does not know (a newer release wrote it, or it is garbage).
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// Sealed in another mode than the one configured (a signed cookie where encrypted ones are
    /// expected, or the reverse): refused so that no one can downgrade a cookie.
    ModeMismatch,
    /// The key id in the header is not in the key ring: the key was retired, or the cookie comes
    /// from another application.
    UnknownKey {
        /// The id found in the header.
        key_id: KeyId,
    },
    /// Authentication failed: the cookie was altered, truncated, moved to another cookie name,
    /// or forged.
    Forged,
    /// The session outlived its absolute timeout.
    ExpiredAbsolute,
    /// The session was idle for longer than the idle timeout.
    ExpiredIdle,
    /// The session's times lie in the future beyond the allowed clock skew.
    FromFuture,
    /// The session was created before the configured "not before" time (everyone was logged
    /// out at once).
    NotBefore,
    /// The session was revoked (logged out) on the server.
    Revoked,
    /// The revocation store can't tell yet whether the session was revoked (a shared store
    /// configured to fail closed, before its first load): the session is refused for now, and
    /// its cookie is kept, so it works again once the store is loaded.
    RevocationUnknown,
    /// A session split over several cookies ([`SessionBuilder::max_cookies`]) arrived without
    /// one of its chunks: a proxy or the browser dropped a cookie (the request's `Cookie` header
    /// may be past what a proxy passes), or it was removed.
    ///
    /// [`SessionBuilder::max_cookies`]: crate::SessionBuilder::max_cookies
    MissingChunk {
        /// The missing chunk's index (1 is the cookie named `<name>-1`).
        index: u8,
    },
    /// A chunk past the number the session's first cookie announces: a cookie planted under a
    /// chunk's name, or one left from another session.
    ExtraChunk {
        /// The extra chunk's index.
        index: u8,
    },
}

impl OpenError {
    /// `true` for refusals that suggest tampering or a misconfiguration (worth a `warn` log),
    /// `false` for the ordinary end of a session's life.
    pub fn is_suspicious(&self) -> bool {
        matches!(
            self,
            Self::Malformed
                | Self::UnsupportedVersion { .. }
                | Self::ModeMismatch
                | Self::Forged
                | Self::FromFuture
                | Self::MissingChunk { .. }
                | Self::ExtraChunk { .. }
        )
    }

    /// `true` for a cookie refused after it authenticated, whose session a logout made with it
    /// still reaches (invariants 1 and 2 of [`crate::guide::security`]): revoked, idle too long
    /// (a copy kept active elsewhere may hold the same id), or not checkable yet. `false` for
    /// one that names no session: forged, malformed, past its absolute deadline, and the like.
    /// Adapters that map another library's logout onto
    /// [`RequestSession::purge`](crate::adapter::RequestSession::purge) use it to reach it
    /// for such a cookie too.
    ///
    /// ```
    /// use sealed_session::OpenError;
    ///
    /// assert!(OpenError::ExpiredIdle.reaches_a_session());
    /// assert!(!OpenError::Forged.reaches_a_session());
    /// ```
    pub fn reaches_a_session(&self) -> bool {
        matches!(
            self,
            Self::Revoked | Self::RevocationUnknown | Self::ExpiredIdle
        )
    }

    /// A short, stable, machine-friendly name of the reason (for logs and metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::ModeMismatch => "mode_mismatch",
            Self::UnknownKey { .. } => "unknown_key",
            Self::Forged => "forged",
            Self::ExpiredAbsolute => "expired_absolute",
            Self::ExpiredIdle => "expired_idle",
            Self::FromFuture => "from_future",
            Self::NotBefore => "not_before",
            Self::Revoked => "revoked",
            Self::RevocationUnknown => "revocation_unknown",
            Self::MissingChunk { .. } => "missing_chunk",
            Self::ExtraChunk { .. } => "extra_chunk",
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => write!(
                f,
                "session cookie is malformed (not a sealed cookie): it was damaged or made by \
                 something else; a new session starts"
            ),
            Self::UnsupportedVersion { version } => write!(
                f,
                "session cookie has format version {version}, which this build does not read: \
                 upgrade sealed-session if a newer release wrote it"
            ),
            Self::ModeMismatch => write!(
                f,
                "session cookie was sealed in another mode (signed vs encrypted) than the one \
                 configured: it is refused to prevent downgrades"
            ),
            Self::UnknownKey { key_id } => write!(
                f,
                "session cookie was sealed with key `{key_id}`, which is not in the key ring: \
                 the key was retired, or the cookie belongs to another application"
            ),
            Self::Forged => write!(
                f,
                "session cookie failed authentication: it was altered, truncated, renamed or forged"
            ),
            Self::ExpiredAbsolute => {
                write!(
                    f,
                    "session reached its absolute lifetime: please sign in again"
                )
            }
            Self::ExpiredIdle => {
                write!(f, "session expired after inactivity: please sign in again")
            }
            Self::FromFuture => write!(
                f,
                "session cookie claims to be from the future beyond the allowed clock skew: \
                 check the servers' clocks"
            ),
            Self::NotBefore => write!(
                f,
                "session was created before the configured not-before time, which logged \
                 everyone out: please sign in again"
            ),
            Self::Revoked => write!(f, "session was logged out: please sign in again"),
            Self::RevocationUnknown => write!(
                f,
                "the revocation list is not loaded yet, so signed-in sessions can't be checked \
                 and are refused for now: retry shortly (and check the revocation store's link)"
            ),
            Self::MissingChunk { index } => write!(
                f,
                "the session's cookie chunk {index} is missing: a proxy or the browser dropped \
                 a cookie (check the front end's header size limit against the session's cookie \
                 header budget), or it was removed"
            ),
            Self::ExtraChunk { index } => write!(
                f,
                "a session cookie chunk {index} came past the number the session announces: a \
                 cookie planted under a chunk's name, or left from another session"
            ),
        }
    }
}

impl std::error::Error for OpenError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages, byte for byte as they were when the reasons were free text: a log search
    /// or an alert written against them keeps working.
    #[test]
    fn reasons_keep_their_messages() {
        let timeout = |reason| ConfigError::InvalidTimeout {
            setting: "idle_timeout",
            reason,
        };
        for (reason, message) in [
            (TimeoutProblem::TooShort, "it must be at least one second"),
            (
                TimeoutProblem::TooLong,
                "it is longer than 400 days, the most browsers keep a cookie (they cap `Max-Age` \
                 there): use at most 400 days",
            ),
            (
                TimeoutProblem::IdleLongerThanAbsolute,
                "it is longer than the absolute timeout, which always ends a session first: \
                 shorten it or lengthen `absolute_timeout`",
            ),
            (
                TimeoutProblem::SkewOutOfRange,
                "it must be between zero and one day: use a few seconds",
            ),
            (
                TimeoutProblem::RefreshNotShorterThanIdle,
                "the refresh interval must be shorter than the idle timeout, or sessions expire \
                 before they are refreshed: use a fraction of it",
            ),
        ] {
            assert_eq!(
                timeout(reason).to_string(),
                format!("invalid `idle_timeout`: {message}")
            );
        }
        for (reason, message) in [
            (
                CookieAttributeProblem::HostPrefixNotSecure,
                "a `__Host-` cookie must be `Secure`: enable `cookie_secure` (serve over HTTPS) \
                 or drop the prefix",
            ),
            (
                CookieAttributeProblem::HostPrefixPathNotRoot,
                "a `__Host-` cookie must have `Path=/`: set `cookie_path(\"/\")`",
            ),
            (
                CookieAttributeProblem::HostPrefixWithDomain,
                "a `__Host-` cookie can't have a `Domain`: remove `cookie_domain` or drop the \
                 prefix",
            ),
            (
                CookieAttributeProblem::SecurePrefixNotSecure,
                "a `__Secure-` cookie must be `Secure`: enable `cookie_secure`",
            ),
            (
                CookieAttributeProblem::SameSiteNoneNotSecure,
                "`SameSite=None` requires `Secure` (browsers drop the cookie otherwise): enable \
                 `cookie_secure` or use `SameSite::Lax`",
            ),
            (
                CookieAttributeProblem::InvalidPath,
                "the cookie path must start with `/` and hold only visible ASCII other than `;`",
            ),
            (
                CookieAttributeProblem::InvalidDomain,
                "the cookie domain must be a host name such as `example.com`",
            ),
        ] {
            assert_eq!(
                ConfigError::InvalidCookieAttributes { reason }.to_string(),
                format!("invalid cookie attributes: {message}")
            );
        }
    }
}
