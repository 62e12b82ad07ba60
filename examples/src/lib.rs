//! The example apps' routes, shared by `examples/*.rs` and the test suite, which drives the very
//! same handlers over real HTTP.
//!
//! Every app serves one contract ([`contract`]): [`login`] on sealed cookie sessions,
//! [`server_store`] on actix-session's Redis store, [`with_actix_identity`] on actix-identity and
//! actix-session's middleware over sealed cookies (all on actix-web), [`axum_login`] on
//! sealed cookie sessions on axum ([`contract_axum`]), and [`with_axum_login`], the same app
//! written with the axum-login crate, on sealed cookie sessions through tower-sessions' API.
//! All read their [`settings`] the same way and
//! log each request through [`request_log`].

pub mod axum_login;
pub mod contract;
pub mod contract_axum;
pub mod login;
pub mod page;
pub mod request_log;
pub mod sealed;
pub mod server_store;
pub mod settings;
pub mod with_actix_identity;
pub mod with_axum_login;

use std::error::Error;
use std::process::ExitCode;

/// Logs to stderr: `RUST_LOG` if set, else `info` and the session library's `debug` events
/// (refused cookies with their reason, cookies opened by older keys).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sealed_session=debug".into()),
        )
        .init();
}

/// The exit code of an app whose startup or serving ended with `result`; an error is printed to
/// stderr once, with its chain of causes, by its `Display` (what `main` returning a `Result`
/// would print is its `Debug`).
pub fn exit_code(result: Result<(), Box<dyn Error>>) -> ExitCode {
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    eprint!("error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        eprint!(": {cause}");
        source = cause.source();
    }
    eprintln!();
    ExitCode::FAILURE
}
