//! [`BuildError`]: a store configuration refused at startup.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A Redis store configuration refused at startup.
///
/// Returned by [`RedisStoreBuilder::build`](crate::RedisStoreBuilder::build), and as the message
/// of a deserialization error for [`RedisConfig`](crate::RedisConfig). Being unable to *reach*
/// Redis is not an error: the store starts anyway and connects when it can (see
/// [`RedisRevocationStore::health`](crate::RedisRevocationStore::health)).
///
/// ```
/// use sealed_session_redis::{BuildError, RedisRevocationStore};
///
/// let err = RedisRevocationStore::builder("http://user:hunter2@example.com/").build().unwrap_err();
/// assert!(matches!(err, BuildError::InvalidUrl { .. }));
/// assert!(err.to_string().contains("redis://"));
/// assert!(!err.to_string().contains("hunter2"), "passwords never reach messages");
/// assert_eq!(format!("{err:?}"), err.to_string(), "what a `main` returning it prints");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL is not one the Redis client can connect to.
    InvalidUrl {
        /// The URL, its password replaced by `***`.
        url: String,
    },
    /// The key prefix is empty or holds whitespace or control characters.
    InvalidPrefix {
        /// The rejected prefix.
        prefix: String,
    },
    /// A timeout of zero (the Redis client refuses them: they would mean "block forever").
    InvalidTimeout {
        /// Which setting.
        setting: &'static str,
    },
    /// A limit of zero, which would refuse everything.
    InvalidLimit {
        /// Which setting.
        setting: &'static str,
    },
    /// Two settings that contradict each other.
    Conflict {
        /// Which ones.
        settings: &'static str,
    },
    /// A `rediss://` URL ending in `#insecure`, which would accept any server certificate.
    InsecureTls {
        /// The URL, its password replaced by `***`.
        url: String,
    },
    /// The root certificates given for TLS are not PEM certificates (or there are none).
    InvalidRootCertificates,
    /// Root certificates were given for a URL that is not `rediss://`.
    RootCertificatesWithoutTls {
        /// The URL, its password replaced by `***`.
        url: String,
    },
    /// A Redis Cluster URL (`redis+cluster://`, ...): the store needs one primary that holds
    /// every entry and orders every write, which a cluster is not.
    ClusterUnsupported {
        /// The URL, its password replaced by `***`.
        url: String,
    },
    /// A duration setting longer than the store can use.
    TimeoutTooLong {
        /// Which setting.
        setting: &'static str,
        /// The longest accepted.
        max: std::time::Duration,
    },
    /// The configuration's `ca_file` could not be read.
    UnreadableCaFile {
        /// The path, as configured.
        path: PathBuf,
        /// Why (not found, permission denied, ...).
        kind: io::ErrorKind,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { url } => write!(
                f,
                "`{url}` is not a Redis URL: use `redis://[user:password@]host[:port][/db]` \
                 (e.g. `redis://127.0.0.1:6379/`), `rediss://` for TLS (e.g. \
                 `rediss://redis.example.com:6380/`), `redis+unix:///path/to/redis.sock`, or \
                 `redis+sentinel://[user:password@]host[:port][,host[:port]...]/service[/db]` \
                 (`rediss+sentinel://` for TLS); percent-encode `/`, `?`, `#`, `@` and `:` in \
                 a password"
            ),
            Self::ClusterUnsupported { url } => write!(
                f,
                "`{url}` is a Redis Cluster URL, which the revocation store does not support: it \
                 needs one primary that holds every entry and orders every write (a full \
                 load's `SCAN` sees one node, `WAIT` one node's replicas); use a primary with \
                 replicas behind Sentinel (`redis+sentinel://host:26379,.../service`)"
            ),
            Self::TimeoutTooLong { setting, max } => write!(
                f,
                "invalid `{setting}`: it must be at most {max:?} (a longer wait is a thread \
                 stuck for good rather than a timeout)"
            ),
            Self::InsecureTls { url } => write!(
                f,
                "`{url}` turns off the check of the server's certificate (`#insecure`), which \
                 lets anyone on the path read and change revocations: remove `#insecure`, and \
                 give a private CA with `tls_root_certificates` (or `ca_file`)"
            ),
            Self::InvalidRootCertificates => write!(
                f,
                "the TLS root certificates are not PEM certificates: give the CA's certificate \
                 as PEM (`-----BEGIN CERTIFICATE-----` ...), e.g. the `ca.crt` the server's \
                 certificate was signed with"
            ),
            Self::RootCertificatesWithoutTls { url } => write!(
                f,
                "root certificates were given for `{url}`, which does not use TLS: use a \
                 `rediss://` URL, or drop the certificates"
            ),
            Self::UnreadableCaFile { path, kind } => write!(
                f,
                "cannot read the TLS root certificates `ca_file` `{}` ({kind}): give the path \
                 of a readable PEM file",
                path.display()
            ),
            Self::InvalidPrefix { prefix } => write!(
                f,
                "`{prefix}` is not a usable Redis key prefix: use 1 to 128 characters without \
                 spaces or control characters, ending in a separator (e.g. `myapp:session:`)"
            ),
            Self::InvalidTimeout { setting } => write!(
                f,
                "invalid `{setting}`: it must be longer than zero (e.g. a second)"
            ),
            Self::InvalidLimit { setting } => write!(
                f,
                "invalid `{setting}`: it must be at least 1 (the default is 100000)"
            ),
            Self::Conflict { settings } => write!(
                f,
                "{settings} contradict each other: a queued store does not wait for Redis; \
                 keep one of them"
            ),
        }
    }
}

impl fmt::Debug for BuildError {
    /// The message, as [`Display`](fmt::Display) writes it (passwords redacted): a `main` that
    /// returns a `Result` prints its error with `Debug`, and should say how to fix it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BuildError {}

/// What an unparseable URL shows: nothing of it, as it may be a password pasted in the wrong
/// place.
const UNPARSEABLE: &str = "<unparseable URL>";

/// `url` for an error message, its secrets replaced by `***`, parsed or not: everything before
/// the last `@` is user info (a password may hold `/`, `?`, `#` or `@` unencoded), of which
/// only a user name before a `:` is kept; query values other than `db`, `protocol`, `user`
/// and `sentinel_user` (`pass=`, `sentinel_pass=`, ...) are replaced; a fragment other than
/// `#insecure` is dropped. Text without a `scheme://` is not shown at all. A URL the store
/// accepted is shown from its parsed parts instead (`Target::shown`).
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return UNPARSEABLE.to_owned();
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return UNPARSEABLE.to_owned();
    }
    let mut shown = format!("{scheme}://");
    let rest = match rest.rsplit_once('@') {
        Some((user_info, rest)) => {
            match user_info.split_once(':') {
                Some((user, _)) if !user.contains(['/', '?', '#']) => {
                    shown.push_str(user);
                    shown.push_str(":***@");
                }
                _ => shown.push_str("***@"),
            }
            rest
        }
        None => rest,
    };
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (location, query) = match rest.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (rest, None),
    };
    shown.push_str(location);
    if let Some(query) = query {
        shown.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value))
                    if matches!(name, "db" | "protocol" | "user" | "sentinel_user") =>
                {
                    format!("{name}={value}")
                }
                Some((name, _)) => format!("{name}=***"),
                // A bare word: a known flag, or the rest of a secret split by an unencoded `&`.
                None if matches!(pair, "" | "insecure") => pair.to_owned(),
                None => "***".to_owned(),
            })
            .collect();
        shown.push_str(&pairs.join("&"));
    }
    if fragment == "insecure" {
        shown.push_str("#insecure");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_word_without_a_value_is_not_shown() {
        // `pass=a&b`: a secret holding an unencoded `&`.
        let shown = redact("redis+unix:///run/redis.sock?pass=a&bcdef");
        assert!(!shown.contains("bcdef"), "{shown}");
        assert!(!shown.contains("=a"), "{shown}");
    }

    #[test]
    fn passwords_are_redacted_whatever_the_url() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://u:p%40ss@h:1/2", "redis://u:***@h:1/2"),
            ("redis://:pw@h", "redis://:***@h"),
            ("redis://pw@h/0?x=@", "redis://***@"),
            ("redis://u:pa/ss@h:1/2", "redis://u:***@h:1/2"),
            ("redis://u:pa?ss@h:1/2", "redis://u:***@h:1/2"),
            ("redis://u:pa#ss@h:1/2", "redis://u:***@h:1/2"),
            ("redis://u:pa@ss@h:1/2", "redis://u:***@h:1/2"),
            ("redis://:a/b+c==@h", "redis://:***@h"),
            (
                "redis+unix:///run/redis.sock?db=1&pass=pw",
                "redis+unix:///run/redis.sock?db=1&pass=***",
            ),
            (
                "unix:///run/redis.sock?pass=pw&db=1",
                "unix:///run/redis.sock?pass=***&db=1",
            ),
            (
                "redis+sentinel://u:pw@s1,s2/m?sentinel_user=x&sentinel_pass=pw",
                "redis+sentinel://u:***@s1,s2/m?sentinel_user=x&sentinel_pass=***",
            ),
            ("rediss://h/#insecure", "rediss://h/#insecure"),
            ("rediss://h/#pw", "rediss://h/"),
            ("not a url", "<unparseable URL>"),
            ("pw", "<unparseable URL>"),
            ("p:w://x", "<unparseable URL>"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn messages_say_how_to_fix() {
        let err = BuildError::InvalidPrefix {
            prefix: "a b".into(),
        };
        assert_eq!(
            err.to_string(),
            "`a b` is not a usable Redis key prefix: use 1 to 128 characters without spaces or \
             control characters, ending in a separator (e.g. `myapp:session:`)"
        );
    }
}
