//! The CLI's one error type, its exit codes and hints.
//!
//! Every message names the offending value and says how to fix it; none contains a secret or a
//! cookie value. `main` prints the chain once (`error: outer: cause`), then the hint.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

use sealed_session::keys::{KeyId, KeyRole};
use sealed_session::{ConfigError, OpenError};

use crate::keys::role_name;

/// Exit code of a refused cookie: not openable, or authentic but refused by a server's checks.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// Exit code of a usage, configuration or I/O error.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Writing to standard output failed.
    #[error("cannot write to standard output")]
    Output(#[source] io::Error),
    /// Reading the cookie from standard input failed.
    #[error("cannot read the cookie from standard input")]
    CookieInput(#[source] io::Error),
    /// Neither `--keys-file` nor `SESSION_KEYS` gives a key list.
    #[error(
        "no session keys: set `SESSION_KEYS` to the application's key list, or pass \
         `--keys-file F` naming a file that holds it"
    )]
    NoKeys,
    /// The key environment variable is set but not UTF-8.
    #[error(
        "environment variable `{name}` is not UTF-8: set it to a comma-separated list of \
         base64 secrets"
    )]
    KeysEnvNotUnicode { name: &'static str },
    /// The key environment variable does not parse as a key ring.
    #[error("environment variable `{name}` is not a valid key ring")]
    KeysEnv {
        name: &'static str,
        source: ConfigError,
    },
    /// The key file can't be read.
    #[error("cannot read key file `{}`", path.display())]
    KeyFileRead { path: PathBuf, source: io::Error },
    /// The key file is not UTF-8.
    #[error(
        "key file `{}` is not UTF-8 text: it should hold base64 secrets separated by commas \
         or newlines",
        path.display()
    )]
    KeyFileNotUnicode { path: PathBuf },
    /// The key file does not parse as a key ring; `lines` are where the faulty entries are.
    #[error("key file `{}` is not a valid key ring{}", path.display(), where_lines(lines))]
    KeyFile {
        path: PathBuf,
        lines: Vec<usize>,
        source: ConfigError,
    },
    /// The key file can't be written.
    #[error("cannot write key file `{}`", path.display())]
    KeyFileWrite { path: PathBuf, source: io::Error },
    /// `--idle-timeout` longer than `--absolute-timeout`.
    #[error(
        "`--idle-timeout` ({idle}) is longer than `--absolute-timeout` ({absolute}), which \
         always ends a session first: pass the application's own settings"
    )]
    TimeoutOrder { idle: String, absolute: String },
    /// The cookie came as `name=value` and `--cookie-name` names another cookie.
    #[error(
        "the cookie is given as `{in_value}=…` but `--cookie-name` is `{flag}`: drop one of \
         them (the name is authenticated, so it must be the one the cookie was set under)"
    )]
    CookieNameConflict { in_value: String, flag: String },
    /// `--cookie-name` names none of the several cookies given.
    #[error(
        "no cookie named `{name}` in the input, which holds {}: pass the session's first \
         cookie too, or set `--cookie-name` to its name",
        names_list(given)
    )]
    CookieNotGiven { name: String, given: Vec<String> },
    /// Several cookies given, none of them a chunk of another, and no `--cookie-name`.
    #[error(
        "the input holds several cookies ({}): pass `--cookie-name` with the session's cookie \
         name",
        names_list(names)
    )]
    WhichCookie { names: Vec<String> },
    /// A bare value given with `name=value` pairs.
    #[error(
        "a bare cookie value among `name=value` pairs: give every cookie as `name=value` (the \
         session's first cookie under its name, the others under `<name>-1`, `<name>-2`, ...)"
    )]
    BareValueAmongPairs,
    /// The session's first cookie given twice, with different values.
    #[error(
        "the input holds {count} different values of `{name}` (a browser sends one for each \
         domain or path the cookie was set for): pass only the one to inspect"
    )]
    SeveralValues { name: String, count: usize },
    /// A setting the library refuses.
    #[error("invalid {setting}")]
    Config {
        setting: &'static str,
        source: ConfigError,
    },
    /// The cookie can't be opened with the given keys and name.
    #[error("cannot open the cookie")]
    Unopenable {
        source: OpenError,
        cookie_name: String,
        /// The library's default names tried in turn, when no name was given; empty otherwise.
        names_tried: Vec<String>,
        ring: Vec<(KeyId, KeyRole)>,
    },
    /// The cookie is authentic, but a server with these settings would refuse it.
    #[error("the cookie is authentic, but a server with these settings refuses it")]
    Refused { source: OpenError },
    /// `rotate` while a staged key waits for `--promote`.
    #[error(
        "key `{key_id}` is already staged as `open-only:` in `{shown}`: finish that rotation \
         first with `sealed-session rotate --promote --keys-file {word}`",
        shown = path.display(),
        word = shell_word(path)
    )]
    AlreadyStaged { path: PathBuf, key_id: KeyId },
    /// `rotate --promote` with no staged key.
    #[error(
        "the first key in `{shown}` (`{key_id}`) is not staged as `open-only:`, so there is \
         nothing to promote: stage a new key first with \
         `sealed-session rotate --keys-file {word}`",
        shown = path.display(),
        word = shell_word(path)
    )]
    NothingStaged { path: PathBuf, key_id: KeyId },
    /// `rotate --retire` while a staged key waits for `--promote`.
    #[error(
        "key `{key_id}` in `{shown}` is still staged as `open-only:`, so the rotation is half \
         done and the keys after the primary still seal or open live cookies: promote it \
         first (`sealed-session rotate --promote --keys-file {word}`), deploy, wait one \
         absolute timeout, then retire",
        shown = path.display(),
        word = shell_word(path)
    )]
    RetireWhileStaged { path: PathBuf, key_id: KeyId },
}

/// `` `a`, `b` ``
pub(crate) fn names_list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` (line 2)`, ` (lines 1 and 2)`, or nothing.
fn where_lines(lines: &[usize]) -> String {
    match lines {
        [] => String::new(),
        [line] => format!(" (line {line})"),
        [first, second, ..] => format!(" (lines {first} and {second})"),
    }
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
                names_tried,
                ring,
            } => match source {
                OpenError::UnknownKey { .. } => Some(format!(
                    "the ring holds {}: pass the key list of the application that set the cookie",
                    list_ring(ring)
                )),
                OpenError::Forged if !names_tried.is_empty() => Some(format!(
                    "the cookie name is authenticated too, and none of the library's default \
                     names ({}) authenticates it: pass `--cookie-name` (or the cookie as \
                     `name=value`) with the application's, and check that the value was copied \
                     whole",
                    names_list(names_tried)
                )),
                OpenError::Forged => Some(format!(
                    "the cookie name is authenticated too and was taken to be `{cookie_name}`: \
                     pass `--cookie-name` (or the cookie as `name=value`) if the application \
                     uses another, and check that the value was copied whole"
                )),
                OpenError::Malformed => Some(
                    "pass the cookie's value, `name=value`, or the whole `Cookie` header (a \
                     session over several cookies needs all of them)"
                        .to_owned(),
                ),
                OpenError::MissingChunk { index } => Some(format!(
                    "pass every cookie of the session: the whole `Cookie` header as one \
                     argument, or `{cookie_name}-{index}=…` as another"
                )),
                OpenError::ExtraChunk { index } => Some(format!(
                    "`{cookie_name}-{index}` is not one of this session's cookies: leave it out \
                     to inspect the others (a server refuses the session while the browser \
                     sends it)"
                )),
                _ => None,
            },
            Self::Refused {
                source: OpenError::ModeMismatch,
            } => Some("omit `--mode` to authenticate it in the mode its header names".to_owned()),
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

/// The path as one shell word, quoted only when it needs to be (by `shlex`), for commands to
/// copy.
pub(crate) fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    // `try_quote` refuses only a NUL byte, which no path holds.
    shlex::try_quote(&text)
        .map(Cow::into_owned)
        .unwrap_or_else(|_| text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_only_when_needed() {
        assert_eq!(shell_word(Path::new("/etc/app/keys")), "/etc/app/keys");
        for path in [
            "my keys",
            "it's",
            "$HOME/k",
            "a;rm -rf b",
            "tab\there",
            "\"q\"",
            "`x`",
        ] {
            let word = shell_word(Path::new(path));
            assert_ne!(word, path, "{path:?} must be quoted");
            assert_eq!(shlex::split(&word), Some(vec![path.to_owned()]), "{word}");
        }
    }
}
