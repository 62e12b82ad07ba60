//! Raw flags as clap parses them. Nothing here is validated beyond syntax; see `hiargs.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
pub(crate) struct LowArgs {
    #[command(subcommand)]
    pub(crate) command: LowCommand,
}

/// One subcommand's raw flags.
#[derive(Debug, Subcommand)]
pub(crate) enum LowCommand {
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
idle and absolute expiry, and each value it holds (decoded as a string, an integer or a bool \
where it decodes as one, else shown in hex).\n\n\
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
pub(crate) struct KeygenArgs {
    /// How many secrets to print, one per line (e.g. one per environment).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) count: u16,
}

/// Flags of `inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The cookie value, or `name=value` as in a Cookie header, or `-` to read it from standard
    /// input (which keeps it out of shell history).
    #[arg(value_name = "COOKIE")]
    pub(crate) cookie: String,

    /// Read the key list from this file instead of SESSION_KEYS (commas or newlines between
    /// entries, `#` comments allowed).
    #[arg(long, value_name = "FILE")]
    pub(crate) keys_file: Option<PathBuf>,

    /// The name the cookie was set under; it is authenticated, so it must match [default: id,
    /// or the name in `name=value`].
    #[arg(long, value_name = "NAME")]
    pub(crate) cookie_name: Option<String>,

    /// The mode the server is configured for [default: the mode in the cookie's header].
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) mode: Option<ModeArg>,

    /// The server's idle timeout: seconds or a humane form such as `30m`, `1h30m`, `2d`
    /// [default: 1h, the library's].
    #[arg(long, value_name = "DURATION")]
    pub(crate) idle_timeout: Option<String>,

    /// The server's absolute timeout: seconds or a humane form such as `12h`, `7d`
    /// [default: 24h, the library's].
    #[arg(long, value_name = "DURATION")]
    pub(crate) absolute_timeout: Option<String>,

    /// Judge expiry as of this time (RFC 3339, e.g. `2030-01-01T12:00:00Z`) instead of now.
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// XChaCha20-Poly1305 (the library's default).
    Encrypted,
    /// HMAC-SHA256.
    Signed,
}

/// Flags of `rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The key file to rotate, rewritten in place.
    #[arg(long, value_name = "FILE")]
    pub(crate) keys_file: PathBuf,

    /// Step 2: make the staged `open-only:` key primary.
    #[arg(long, conflicts_with = "retire")]
    pub(crate) promote: bool,

    /// Step 3: drop the keys listed after the primary. Refused while a key is still staged.
    #[arg(long)]
    pub(crate) retire: bool,
}
