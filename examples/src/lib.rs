//! The example apps' routes, shared by `examples/*.rs` and the test suite, which drives the very
//! same handlers over real HTTP.
//!
//! Both apps serve one contract ([`contract`]): [`login`] on sealed cookie sessions,
//! [`server_store`] on actix-session's Redis store. Both read their [`settings`] the same way and
//! log each request through [`request_log`].

pub mod contract;
pub mod login;
pub mod page;
pub mod request_log;
pub mod server_store;
pub mod settings;

use std::error::Error;
use std::process::ExitCode;

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
