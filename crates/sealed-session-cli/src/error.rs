//! The CLI's one error type, its exit codes and hints.
//!
//! Every message names the offending value and says how to fix it; none contains a secret or a
//! cookie value. `main` prints the chain once (`error: outer: cause`), then the hint.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use sealed_session::{ConfigError, KeyId, KeyRole, OpenError};

use crate::keys::role_name;

/// Exit code of a refused cookie: not openable, or authentic but refused by a server's checks.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// Exit code of a usage, configuration or I/O error.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum CliError {
    /// Writing to standard output failed.
    Output(io::Error),
    /// Reading the cookie from standard input failed.
    CookieInput(io::Error),
    /// Neither `--keys-file` nor `SESSION_KEYS` gives a key list.
    NoKeys,
    /// The key environment variable is set but not UTF-8.
    KeysEnvNotUnicode { name: &'static str },
    /// The key environment variable does not parse as a key ring.
    KeysEnv {
        name: &'static str,
        source: ConfigError,
    },
    /// The key file can't be read.
    KeyFileRead { path: PathBuf, source: io::Error },
    /// The key file is not UTF-8.
    KeyFileNotUnicode { path: PathBuf },
    /// The key file does not parse as a key ring; `lines` are where the faulty entries are.
    KeyFile {
        path: PathBuf,
        lines: Vec<usize>,
        source: ConfigError,
    },
    /// The key file can't be written.
    KeyFileWrite { path: PathBuf, source: io::Error },
    /// A flag's value does not parse.
    InvalidFlag {
        flag: &'static str,
        value: String,
        expected: &'static str,
    },
    /// `--idle-timeout` longer than `--absolute-timeout`.
    TimeoutOrder { idle: String, absolute: String },
    /// The cookie came as `name=value` and `--cookie-name` names another cookie.
    CookieNameConflict { in_value: String, flag: String },
    /// A setting the library refuses.
    Config {
        setting: &'static str,
        source: ConfigError,
    },
    /// The cookie can't be opened with the given keys and name.
    Unopenable {
        source: OpenError,
        cookie_name: String,
        ring: Vec<(KeyId, KeyRole)>,
    },
    /// The cookie is authentic, but a server with these settings would refuse it.
    Refused { source: OpenError },
    /// `rotate` while a staged key waits for `--promote`.
    AlreadyStaged { path: PathBuf, key_id: KeyId },
    /// `rotate --promote` with no staged key.
    NothingStaged { path: PathBuf, key_id: KeyId },
    /// `rotate --retire` while a staged key waits for `--promote`.
    RetireWhileStaged { path: PathBuf, key_id: KeyId },
}

impl CliError {
    /// The process exit code: 1 for a refused cookie, 2 for everything else.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Unopenable { .. } | Self::Refused { .. } => EXIT_REFUSED,
            _ => EXIT_USAGE,
        }
    }

    /// What to do next, when the message alone does not say it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Self::KeyFileRead { path, source } if source.kind() == io::ErrorKind::NotFound => {
                Some(format!(
                    "create it with `(umask 077; sealed-session keygen > {})`",
                    shell_word(path)
                ))
            }
            Self::Unopenable {
                source,
                cookie_name,
                ring,
            } => match source {
                OpenError::UnknownKey { .. } => Some(format!(
                    "the ring holds {}: pass the key list of the application that set the cookie",
                    list_ring(ring)
                )),
                OpenError::Forged => Some(format!(
                    "the cookie name is authenticated too and was taken to be `{cookie_name}`: \
                     pass `--cookie-name` (or the cookie as `name=value`) if the application \
                     uses another, and check that the value was copied whole"
                )),
                OpenError::Malformed => Some(
                    "pass the cookie's value, or `name=value` as in a `Cookie` header".to_owned(),
                ),
                _ => None,
            },
            Self::Refused {
                source: OpenError::ModeMismatch,
            } => Some("omit `--mode` to authenticate it in the mode its header names".to_owned()),
            _ => None,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Output(_) => write!(f, "cannot write to standard output"),
            Self::CookieInput(_) => write!(f, "cannot read the cookie from standard input"),
            Self::NoKeys => write!(
                f,
                "no session keys: set `SESSION_KEYS` to the application's key list, or pass \
                 `--keys-file F` naming a file that holds it"
            ),
            Self::KeysEnvNotUnicode { name } => write!(
                f,
                "environment variable `{name}` is not UTF-8: set it to a comma-separated list of \
                 base64 secrets"
            ),
            Self::KeysEnv { name, .. } => {
                write!(f, "environment variable `{name}` is not a valid key ring")
            }
            Self::KeyFileRead { path, .. } => {
                write!(f, "cannot read key file `{}`", path.display())
            }
            Self::KeyFileNotUnicode { path } => write!(
                f,
                "key file `{}` is not UTF-8 text: it should hold base64 secrets separated by \
                 commas or newlines",
                path.display()
            ),
            Self::KeyFile { path, lines, .. } => {
                write!(f, "key file `{}` is not a valid key ring", path.display())?;
                match lines.as_slice() {
                    [] => Ok(()),
                    [line] => write!(f, " (line {line})"),
                    [first, second, ..] => write!(f, " (lines {first} and {second})"),
                }
            }
            Self::KeyFileWrite { path, .. } => {
                write!(f, "cannot write key file `{}`", path.display())
            }
            Self::InvalidFlag {
                flag,
                value,
                expected,
            } => write!(f, "invalid value `{value}` for `{flag}`: {expected}"),
            Self::TimeoutOrder { idle, absolute } => write!(
                f,
                "`--idle-timeout` ({idle}) is longer than `--absolute-timeout` ({absolute}), \
                 which always ends a session first: pass the application's own settings"
            ),
            Self::CookieNameConflict { in_value, flag } => write!(
                f,
                "the cookie is given as `{in_value}=…` but `--cookie-name` is `{flag}`: drop one \
                 of them (the name is authenticated, so it must be the one the cookie was set \
                 under)"
            ),
            Self::Config { setting, .. } => write!(f, "invalid {setting}"),
            Self::Unopenable { .. } => write!(f, "cannot open the cookie"),
            Self::Refused { .. } => write!(
                f,
                "the cookie is authentic, but a server with these settings refuses it"
            ),
            Self::AlreadyStaged { path, key_id } => write!(
                f,
                "key `{key_id}` is already staged as `open-only:` in `{path}`: finish that \
                 rotation first with `sealed-session rotate --promote --keys-file {word}`",
                path = path.display(),
                word = shell_word(path)
            ),
            Self::NothingStaged { path, key_id } => write!(
                f,
                "the first key in `{path}` (`{key_id}`) is not staged as `open-only:`, so there \
                 is nothing to promote: stage a new key first with \
                 `sealed-session rotate --keys-file {word}`",
                path = path.display(),
                word = shell_word(path)
            ),
            Self::RetireWhileStaged { path, key_id } => write!(
                f,
                "key `{key_id}` in `{path}` is still staged as `open-only:`, so the rotation is \
                 half done and the keys after the primary still seal or open live cookies: \
                 promote it first (`sealed-session rotate --promote --keys-file {word}`), \
                 deploy, wait one absolute timeout, then retire",
                path = path.display(),
                word = shell_word(path)
            ),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Output(source)
            | Self::CookieInput(source)
            | Self::KeyFileRead { source, .. }
            | Self::KeyFileWrite { source, .. } => Some(source),
            Self::KeysEnv { source, .. }
            | Self::KeyFile { source, .. }
            | Self::Config { source, .. } => Some(source),
            Self::Unopenable { source, .. } | Self::Refused { source } => Some(source),
            _ => None,
        }
    }
}

/// The error and its causes on one line: `outer: cause: root cause`.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// `` `0a1b2c3d` (primary), `5e6f7a8b` (fallback) ``
pub(crate) fn list_ring(ring: &[(KeyId, KeyRole)]) -> String {
    ring.iter()
        .map(|(id, role)| format!("`{id}` ({})", role_name(*role)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The path as one shell word, quoted only when it needs to be, for commands to copy.
pub(crate) fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:@%=,".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_only_when_needed() {
        assert_eq!(shell_word(Path::new("/etc/app/keys")), "/etc/app/keys");
        assert_eq!(shell_word(Path::new("my keys")), "'my keys'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
    }
}
