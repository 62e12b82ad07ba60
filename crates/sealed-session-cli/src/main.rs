//! `sealed-session`: the operator's tool for [`sealed_session`] cookies.
//!
//! ```text
//! sealed-session keygen [--count N]               print new secrets, one per line
//! sealed-session inspect <COOKIE>... [options]    authenticate a cookie and show what it holds
//! sealed-session rotate --keys-file F             stage a new key (step 1 of a rotation)
//! sealed-session rotate --promote --keys-file F   make the staged key primary (step 2)
//! sealed-session rotate --retire --keys-file F    drop the keys after the primary (step 3)
//! ```
//!
//! # Keys
//! `inspect` reads the key list from `--keys-file F` if given, else from the `SESSION_KEYS`
//! environment variable, which it parses exactly as `KeyRing::from_config` does (the way
//! applications read it). Secrets are never printed, except by `keygen`, whose only output is
//! the new secret.
//!
//! # Sessions over several cookies
//! A session a server splits over several cookies (`SessionBuilder::max_cookies`) is inspected
//! whole: its `Cookie` header as one argument (other cookies in it are left alone), or one
//! `name=value` argument per cookie, in any order. `inspect` joins them by the index in their
//! names (`id`, `id-1`, `id-2`, ...), as a server does, and says how many cookies the session
//! spans; a missing chunk or one past the count is refused with its reason.
//!
//! # Key files
//! A key file holds the `SESSION_KEYS` list, newest first: base64 secrets separated by commas or
//! newlines, each optionally prefixed by `open-only:`. A `#` starts a comment that runs to the
//! end of the line (base64 never contains `#`); blank lines are ignored. `rotate` rewrites the
//! file as one entry per line, each followed by a comma and without comments, so that the file
//! is also a valid `SESSION_KEYS` value as it is (`SESSION_KEYS=$(cat F)`, or
//! `KeyRing::from_config(&std::fs::read_to_string(F)?)`); it says on standard error when it
//! dropped comments. Writes are atomic (a temporary file in the same directory, then a rename)
//! and leave the file readable by its owner only (mode 0600).
//!
//! # Exit codes
//! - `0`: success; for `inspect`, the cookie is authentic and a server with these settings
//!   would accept it.
//! - `1`: the cookie is refused: it can't be opened (malformed, unknown key, failed
//!   authentication) or it is authentic but a server would refuse it (expired, other mode, from
//!   the future). `inspect` still prints everything it could read.
//! - `2`: usage, configuration or I/O error: bad flags, no keys, a key list that is not a valid
//!   key ring, a rotation step out of order, a file that can't be read or written.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod cookies;
mod error;
mod flags;
mod humane;
mod inspect;
mod keygen;
mod keys;
mod rotate;
mod value;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

use crate::error::CliError;
use crate::flags::{Cli, Config};

fn main() -> ExitCode {
    // clap prints help and version (exit 0) and usage errors (exit 2) itself.
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Checks the flags into a configuration, then runs the command.
fn run(cli: Cli) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    let result = match cli.validate()? {
        Config::Keygen(config) => keygen::run(&config, &mut stdout),
        Config::Inspect(config) => inspect::run(&config, &mut stdout),
        Config::Rotate(config) => rotate::run(&config, &mut stdout),
    };
    match result {
        // Output piped into `head` and the like: the reader has what it wanted (as ripgrep).
        Err(CliError::Output(err)) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints the error chain once, on one line, then the hint if there is one.
fn report(err: &CliError) {
    let mut stderr = io::stderr().lock();
    // Nothing sensible is left to do if standard error itself is gone.
    let _ = writeln!(stderr, "error: {}", error::chain(err));
    if let Some(hint) = err.hint() {
        let _ = writeln!(stderr, "hint: {hint}");
    }
}
