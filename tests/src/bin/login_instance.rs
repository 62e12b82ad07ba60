//! The example login app (`examples/login.rs`) as a process of its own, for the tests that kill
//! an instance with SIGKILL right after it answered (`tests/redis/faults.rs`). Configured by the
//! same environment variables.

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    sealed_session_examples::exit_code(sealed_session_examples::login::run_from_env().await)
}
