//! `keygen`: new secrets on standard output, one per line, and nothing else.

use std::io::Write;

use sealed_session::SecretKey;

use crate::error::CliError;
use crate::flags::KeygenConfig;

/// Prints `config.count` fresh secrets in the form `SESSION_KEYS` takes.
pub(crate) fn run(config: &KeygenConfig, out: &mut impl Write) -> Result<(), CliError> {
    for _ in 0..config.count {
        // `to_base64` returns a wiped-on-drop string; it goes straight to the output.
        let secret = SecretKey::generate().to_base64();
        out.write_all(secret.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(CliError::Output)?;
    }
    out.flush().map_err(CliError::Output)
}
