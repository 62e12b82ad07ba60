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
                 `rediss://redis.example.com:6380/`) or `redis+unix:///path/to/redis.sock`"
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

/// `url` with the password of its user info, if any, replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
        // `redis://secret@host` puts the password where the user would be.
        None => format!("{scheme}://***@{host}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://u:p%40ss@h:1/2", "redis://u:***@h:1/2"),
            ("redis://:pw@h", "redis://:***@h"),
            ("redis://pw@h/0?x=@", "redis://***@h/0?x=@"),
            ("not a url", "not a url"),
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
