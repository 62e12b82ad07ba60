//! Command-line flags. clap does the typing: `value_parser` turns durations and times into
//! numbers and `OffsetDateTime`s, `ValueEnum` the mode, ranges bound `--count`; what is left is
//! [`Cli::validate`], for the rules that span flags or read the environment, which turns the
//! flags into one checked configuration per command. Commands only ever see those.

use std::io::{self, Read as _};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sealed_session::Mode;
use sealed_session::codec::CookieName;
use secrecy::SecretString;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::cookies;
use crate::error::CliError;
use crate::humane;
use crate::keys::{KEYS_ENV, KeySource};

/// The library's default idle timeout, in seconds.
pub(crate) const DEFAULT_IDLE_TIMEOUT: u64 = sealed_session::codec::DEFAULT_IDLE_TIMEOUT
    .whole_seconds()
    .unsigned_abs();
/// The library's default absolute timeout, in seconds.
pub(crate) const DEFAULT_ABSOLUTE_TIMEOUT: u64 = sealed_session::codec::DEFAULT_ABSOLUTE_TIMEOUT
    .whole_seconds()
    .unsigned_abs();
/// Most bytes `inspect -` reads from standard input.
const MAX_STDIN: u64 = 64 * 1024;

/// Appended to every command's `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  success (inspect: the cookie is authentic and would be accepted)
  1  the cookie is refused: it can't be opened, or it is expired, of the other mode or from
     the future (inspect still prints what it could read)
  2  usage, configuration or I/O error (bad flags, no keys, an invalid key list, a rotation
     step out of order, a file that can't be read or written)";

/// Generates secrets, inspects session cookies and rotates keys for sealed-session.
#[derive(Debug, Parser)]
#[command(
    name = "sealed-session",
    version,
    after_help = EXIT_CODES,
    long_about = "Generates secrets, inspects session cookies and rotates keys for sealed-session.\n\n\
Keys are read from `--keys-file F` if given, else from the SESSION_KEYS environment variable \
(a comma-separated list of base64 secrets, newest first, as applications read it). Secrets are \
never printed, except by `keygen`."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One subcommand's flags.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print a new random secret (standard base64 of 32 bytes), in the form SESSION_KEYS takes.
    #[command(
        after_help = EXIT_CODES,
        long_about = "Print a new random secret: standard base64 of 32 bytes from the operating \
system's generator, the form SESSION_KEYS and key files take. Nothing else goes to standard \
output, so `SESSION_KEYS=$(sealed-session keygen)` works."
    )]
    Keygen(KeygenArgs),
    /// Authenticate a session cookie and show its header, times, expiry and data.
    #[command(
        after_help = EXIT_CODES,
        long_about = "Authenticate a session cookie and show its header (format version, mode, \
key id and the key's role in the ring), session id, subject, creation and last-activity times, \
idle and absolute expiry, and each value it holds (shown as the JSON it reads as, since values \
carry their types, or in hex for raw bytes).\n\n\
A session over several cookies (a server's `max_cookies`) is given whole: its `Cookie` header as \
one argument, or its cookies as `name=value` arguments, in any order (`id=3.AAA id-1=BBB \
id-2=CCC`). They are joined by the index in their names, and the report says how many cookies \
the session spans; a missing chunk, or one past the count the first announces, is refused with \
its reason.\n\n\
Keys come from `--keys-file F` if given, else from SESSION_KEYS. When the keys can't open the \
cookie, the public header is still shown. Revocation is not checked: the revocation store \
lives with the application."
    )]
    Inspect(InspectArgs),
    /// Rotate the keys of a key file: stage a new key, promote it, retire old keys.
    #[command(
        after_help = EXIT_CODES,
        long_about = "Rotate the keys of a key file, one step of the runbook per run:\n\n\
1. `rotate --keys-file F` adds a new key in front, as `open-only:` (it opens cookies but seals \
none yet). Deploy F everywhere, so every instance can open cookies of the new key before any \
seals with it.\n\
2. `rotate --promote --keys-file F` makes the new key primary; older keys stay as fallbacks, \
which open cookies sealed before. Deploy F everywhere.\n\
3. Wait one absolute timeout (24h by default) after that deploy, so no live cookie was sealed \
with an old key, then `rotate --retire --keys-file F` drops the keys after the primary. Deploy F.\n\n\
A key file holds base64 secrets separated by commas or newlines, newest first; `#` starts a \
comment. The file is rewritten atomically with mode 0600, one entry per line each followed by a \
comma and without comments, so it is also a valid SESSION_KEYS value as it is. Secrets are never \
printed."
    )]
    Rotate(RotateArgs),
}

/// Flags of `keygen`.
#[derive(Debug, Args)]
struct KeygenArgs {
    /// How many secrets to print, one per line (e.g. one per environment).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    count: u16,
}

/// Flags of `inspect`.
#[derive(Debug, Args)]
struct InspectArgs {
    /// The cookie value, or `name=value`, or a whole Cookie header (`id=2.AAA; id-1=BBB`, as
    /// one argument); a session over several cookies as its header or as one `name=value` per
    /// argument; `-` reads any of these from standard input (which keeps it out of shell
    /// history).
    #[arg(value_name = "COOKIE", required = true)]
    cookies: Vec<String>,

    /// Read the key list from this file instead of SESSION_KEYS (commas or newlines between
    /// entries, `#` comments allowed).
    #[arg(long, value_name = "FILE")]
    keys_file: Option<PathBuf>,

    /// The name the cookie was set under (a session over several cookies: its first cookie's);
    /// it is authenticated, so it must match [default: the name in `name=value`, or the one
    /// name of the input that is not `<name>-1`, `<name>-2`, ...; for a bare value, the
    /// library's defaults `__Host-id`, `__Secure-id`, `id` are tried in turn and the output
    /// says which one authenticates it].
    #[arg(long, value_name = "NAME")]
    cookie_name: Option<String>,

    /// The mode the server is configured for [default: the mode in the cookie's header].
    #[arg(long, value_enum, value_name = "MODE")]
    mode: Option<ModeArg>,

    /// The server's idle timeout: seconds or a humane form such as `30m`, `1h30m`, `2d`
    /// [default: 1h, the library's].
    #[arg(long, value_name = "DURATION", value_parser = timeout)]
    idle_timeout: Option<u64>,

    /// The server's absolute timeout: seconds or a humane form such as `12h`, `7d`
    /// [default: 24h, the library's].
    #[arg(long, value_name = "DURATION", value_parser = timeout)]
    absolute_timeout: Option<u64>,

    /// Judge expiry as of this time (RFC 3339, e.g. `2030-01-01T12:00:00Z`) instead of now.
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    at: Option<OffsetDateTime>,

    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// XChaCha20-Poly1305 (the library's default).
    Encrypted,
    /// HMAC-SHA256.
    Signed,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Encrypted => Self::Encrypted,
            ModeArg::Signed => Self::Signed,
        }
    }
}

/// Flags of `rotate`.
#[derive(Debug, Args)]
struct RotateArgs {
    /// The key file to rotate, rewritten in place.
    #[arg(long, value_name = "FILE")]
    keys_file: PathBuf,

    /// Step 2: make the staged `open-only:` key primary.
    #[arg(long, conflicts_with = "retire")]
    promote: bool,

    /// Step 3: drop the keys listed after the primary. Refused while a key is still staged.
    #[arg(long)]
    retire: bool,
}

/// What to run, fully checked.
#[derive(Debug)]
pub(crate) enum Config {
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
    /// The cookie value alone (a `name=` prefix and surrounding quotes removed); for a session
    /// over several cookies, its first cookie's. A bearer token, so wiped on drop like a secret.
    pub(crate) cookie: SecretString,
    /// The values of the session's other cookies, chunk `k`'s (`<name>-k`) at index `k` (index
    /// 0 unused), as given.
    pub(crate) chunks: Vec<Option<SecretString>>,
    /// The name the cookie is authenticated under (the first of `guessed_names` when no name
    /// was given).
    pub(crate) cookie_name: CookieName,
    /// For a bare value without `--cookie-name`: the library's default names, tried in order
    /// until one authenticates it (the name is bound into the cookie's authentication). Empty
    /// when a name was given.
    pub(crate) guessed_names: Vec<CookieName>,
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

impl Cli {
    /// Applies the rules clap can't (across flags, or reading the environment and standard
    /// input) and resolves defaults.
    pub(crate) fn validate(self) -> Result<Config, CliError> {
        Ok(match self.command {
            // clap's range check guarantees 1..=1000.
            Command::Keygen(args) => Config::Keygen(KeygenConfig { count: args.count }),
            Command::Inspect(args) => Config::Inspect(inspect(args)?),
            Command::Rotate(args) => Config::Rotate(rotate(args)),
        })
    }
}

fn inspect(args: InspectArgs) -> Result<InspectConfig, CliError> {
    let mut raw = Vec::with_capacity(args.cookies.len());
    for arg in args.cookies {
        raw.push(if arg == "-" {
            let mut text = Zeroizing::new(String::new());
            // Cookies are at most a few KiB each (the codec refuses longer ones unread); don't
            // let a wrong pipe fill memory.
            io::stdin()
                .take(MAX_STDIN)
                .read_to_string(&mut text)
                .map_err(CliError::CookieInput)?;
            text
        } else {
            Zeroizing::new(arg)
        });
    }
    let inputs: Vec<&str> = raw.iter().map(|text| text.as_str()).collect();
    let cookies = cookies::sort(&inputs, args.cookie_name)?;
    let cookie_name = |name: String| {
        CookieName::new(name).map_err(|source| CliError::Config {
            setting: "cookie name",
            source,
        })
    };
    let guessed_names = if cookies.guessed {
        cookies::DEFAULT_NAMES
            .iter()
            .map(|&name| cookie_name(name.to_owned()))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let cookie_name = match guessed_names.first() {
        Some(first) => first.clone(),
        None => cookie_name(cookies.name)?,
    };

    let idle_timeout = args.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT);
    let absolute_timeout = args.absolute_timeout.unwrap_or(DEFAULT_ABSOLUTE_TIMEOUT);
    if idle_timeout > absolute_timeout {
        return Err(CliError::TimeoutOrder {
            idle: humane::exact(idle_timeout),
            absolute: humane::exact(absolute_timeout),
        });
    }

    let now_given = args.at.is_some();
    let now = args.at.unwrap_or_else(OffsetDateTime::now_utc);

    Ok(InspectConfig {
        cookie: SecretString::from(cookies.first),
        chunks: cookies
            .chunks
            .iter()
            .map(|chunk| chunk.map(SecretString::from))
            .collect(),
        cookie_name,
        guessed_names,
        keys: key_source(args.keys_file)?,
        mode: args.mode.map(Mode::from),
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
        Ok(list) => Ok(KeySource::Env(SecretString::from(list))),
        Err(std::env::VarError::NotPresent) => Ok(KeySource::Missing),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::KeysEnvNotUnicode { name: KEYS_ENV })
        }
    }
}

/// `--idle-timeout` / `--absolute-timeout`: seconds, or a humane form, at least one second.
fn timeout(value: &str) -> Result<u64, String> {
    match humane::parse(value) {
        Some(seconds) if seconds > 0 => Ok(seconds),
        _ => Err(
            "use whole seconds (`3600`) or a humane form such as `90m`, `1h30m` or `2d`, \
                  of at least one second"
                .to_owned(),
        ),
    }
}

/// `--at`: an RFC 3339 time.
fn rfc3339(value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map_err(|_| "use an RFC 3339 time such as `2030-01-01T12:00:00Z`".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_accepts_the_flag_definitions() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
