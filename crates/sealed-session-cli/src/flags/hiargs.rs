//! Checked configuration, one struct per command, built from [`LowArgs`]: defaults resolved,
//! values parsed, cross-flag rules enforced. Commands only ever see these types.

use std::io::{self, Read as _};
use std::path::PathBuf;

use sealed_session::{CookieName, Mode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::lowargs::{InspectArgs, KeygenArgs, LowArgs, LowCommand, ModeArg, RotateArgs};
use crate::error::CliError;
use crate::humane;
use crate::keys::{KEYS_ENV, KeySource, Redacted};

/// The library's default idle timeout, in seconds.
pub(crate) const DEFAULT_IDLE_TIMEOUT: u64 = sealed_session::DEFAULT_IDLE_TIMEOUT
    .whole_seconds()
    .unsigned_abs();
/// The library's default absolute timeout, in seconds.
pub(crate) const DEFAULT_ABSOLUTE_TIMEOUT: u64 = sealed_session::DEFAULT_ABSOLUTE_TIMEOUT
    .whole_seconds()
    .unsigned_abs();
/// Most bytes `inspect -` reads from standard input.
const MAX_STDIN: u64 = 64 * 1024;
use sealed_session::DEFAULT_COOKIE_NAME;

/// What to run, fully checked.
#[derive(Debug)]
pub(crate) enum HiArgs {
    Keygen(KeygenConfig),
    Inspect(InspectConfig),
    Rotate(RotateConfig),
}

/// `keygen`.
#[derive(Debug)]
pub(crate) struct KeygenConfig {
    /// How many secrets to print (at least one).
    pub(crate) count: u16,
}

/// `inspect`.
#[derive(Debug)]
pub(crate) struct InspectConfig {
    /// The cookie value alone (a `name=` prefix and surrounding quotes removed). A bearer
    /// token, so wiped on drop like a secret.
    pub(crate) cookie: Redacted,
    /// The name the cookie is authenticated under.
    pub(crate) cookie_name: CookieName,
    /// Where the key list comes from.
    pub(crate) keys: KeySource,
    /// The mode the server expects, or `None` for the one in the cookie's header.
    pub(crate) mode: Option<Mode>,
    /// Seconds, at least 1 and at most `absolute_timeout`.
    pub(crate) idle_timeout: u64,
    /// Seconds, at least 1.
    pub(crate) absolute_timeout: u64,
    /// The time expiry is judged at.
    pub(crate) now: OffsetDateTime,
    /// `now` came from `--at` rather than the clock.
    pub(crate) now_given: bool,
    /// Text or JSON.
    pub(crate) format: OutputFormat,
}

/// How `inspect` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

/// `rotate`.
#[derive(Debug)]
pub(crate) struct RotateConfig {
    /// The key file, rewritten in place.
    pub(crate) path: PathBuf,
    /// Which step of the runbook.
    pub(crate) action: RotateAction,
}

/// The three steps of a key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RotateAction {
    /// Prepend a new `open-only:` key.
    Stage,
    /// Strip `open-only:` from the first key.
    Promote,
    /// Drop the keys after the primary.
    Retire,
}

impl HiArgs {
    /// Checks the raw flags and resolves defaults.
    pub(crate) fn from_low_args(low: LowArgs) -> Result<Self, CliError> {
        Ok(match low.command {
            LowCommand::Keygen(args) => Self::Keygen(keygen(args)),
            LowCommand::Inspect(args) => Self::Inspect(inspect(args)?),
            LowCommand::Rotate(args) => Self::Rotate(rotate(args)),
        })
    }
}

fn keygen(args: KeygenArgs) -> KeygenConfig {
    // clap's range check guarantees 1..=1000.
    KeygenConfig { count: args.count }
}

fn inspect(args: InspectArgs) -> Result<InspectConfig, CliError> {
    let raw = if args.cookie == "-" {
        let mut text = Zeroizing::new(String::new());
        // Cookies are at most a few KiB (the codec refuses longer ones unread); don't let a
        // wrong pipe fill memory.
        io::stdin()
            .take(MAX_STDIN)
            .read_to_string(&mut text)
            .map_err(CliError::CookieInput)?;
        text
    } else {
        Zeroizing::new(args.cookie)
    };
    let (name_in_value, value) = split_cookie(&raw);
    let name = match (name_in_value, args.cookie_name) {
        (Some(in_value), Some(flag)) if in_value != flag => {
            return Err(CliError::CookieNameConflict {
                in_value: in_value.to_owned(),
                flag,
            });
        }
        (_, Some(flag)) => flag,
        (Some(in_value), None) => in_value.to_owned(),
        (None, None) => DEFAULT_COOKIE_NAME.to_owned(),
    };
    let cookie_name = CookieName::new(name).map_err(|source| CliError::Config {
        setting: "cookie name",
        source,
    })?;

    let idle_timeout = timeout("--idle-timeout", args.idle_timeout, DEFAULT_IDLE_TIMEOUT)?;
    let absolute_timeout = timeout(
        "--absolute-timeout",
        args.absolute_timeout,
        DEFAULT_ABSOLUTE_TIMEOUT,
    )?;
    if idle_timeout > absolute_timeout {
        return Err(CliError::TimeoutOrder {
            idle: humane::exact(idle_timeout),
            absolute: humane::exact(absolute_timeout),
        });
    }

    let now_given = args.at.is_some();
    let now = match args.at {
        None => OffsetDateTime::now_utc(),
        Some(at) => OffsetDateTime::parse(&at, &Rfc3339).map_err(|_| CliError::InvalidFlag {
            flag: "--at",
            value: at,
            expected: "use an RFC 3339 time such as `2030-01-01T12:00:00Z`",
        })?,
    };

    Ok(InspectConfig {
        cookie: Redacted::new(value.to_owned()),
        cookie_name,
        keys: key_source(args.keys_file)?,
        mode: args.mode.map(|m| match m {
            ModeArg::Encrypted => Mode::Encrypted,
            ModeArg::Signed => Mode::Signed,
        }),
        idle_timeout,
        absolute_timeout,
        now,
        now_given,
        format: if args.json {
            OutputFormat::Json
        } else {
            OutputFormat::Text
        },
    })
}

fn rotate(args: RotateArgs) -> RotateConfig {
    // clap refuses `--promote` with `--retire`.
    let action = match (args.promote, args.retire) {
        (true, _) => RotateAction::Promote,
        (_, true) => RotateAction::Retire,
        _ => RotateAction::Stage,
    };
    RotateConfig {
        path: args.keys_file,
        action,
    }
}

/// `--keys-file` wins over the environment: an explicit flag is the more specific request.
fn key_source(file: Option<PathBuf>) -> Result<KeySource, CliError> {
    if let Some(path) = file {
        return Ok(KeySource::File(path));
    }
    match std::env::var(KEYS_ENV) {
        Ok(list) => Ok(KeySource::Env(Redacted::new(list))),
        Err(std::env::VarError::NotPresent) => Ok(KeySource::Missing),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::KeysEnvNotUnicode { name: KEYS_ENV })
        }
    }
}

fn timeout(flag: &'static str, value: Option<String>, default: u64) -> Result<u64, CliError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match humane::parse(&value) {
        Some(seconds) if seconds > 0 => Ok(seconds),
        _ => Err(CliError::InvalidFlag {
            flag,
            value,
            expected: "use whole seconds (`3600`) or a humane form such as `90m`, `1h30m` or \
                       `2d`, of at least one second",
        }),
    }
}

/// Splits `name=value` (as copied from a `Cookie` header) and strips whitespace and the
/// optional double quotes of RFC 6265's `cookie-value`. Cookie values of ours are base64url
/// without padding, so they never contain `=` themselves.
fn split_cookie(raw: &str) -> (Option<&str>, &str) {
    let raw = raw.trim();
    let (name, value) = match raw.split_once('=') {
        Some((name, value)) => (Some(name.trim()), value.trim()),
        None => (None, raw),
    };
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    (name, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_split_into_name_and_value() {
        assert_eq!(split_cookie(" AQEabc \n"), (None, "AQEabc"));
        assert_eq!(split_cookie("id=AQEabc"), (Some("id"), "AQEabc"));
        assert_eq!(split_cookie("sid=\"AQEabc\""), (Some("sid"), "AQEabc"));
    }
}
