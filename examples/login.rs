//! The login app on stateless, sealed cookie sessions.
//!
//! Run with: `cargo run --example login`, then open http://127.0.0.1:8080
//!
//! Environment:
//! - `SESSION_KEYS`: comma-separated base64 secrets, newest first (`sealed-session keygen`, or
//!   `openssl rand -base64 32`). Without it a throwaway key is generated (loud warning, and the
//!   key saved with mode 0600 beside the binary, with the `sealed-session inspect` command that
//!   opens its cookies): every restart then logs everyone out.
//! - `PORT` (default 8080), `COOKIE_NAME` (default: the library's, `__Host-id` when the cookie is
//!   `Secure`, `id` when it is not)
//! - `REDIS_URL` (e.g. `redis://127.0.0.1:6379/`): share logouts with every other instance
//!   through Redis (checks stay in memory). Without it, revocations live in this process only.
//!   Try two instances: `REDIS_URL=... SESSION_KEYS=... PORT=8081 cargo run --example login`.
//!   `REDIS_REPLICAS` (default 0): how many Redis replicas must have a logout before it is
//!   answered (`WAIT`; a Sentinel failover then loses none), else `503`.
//! - `COOKIE_CHUNKS` (default 1): the most cookies one session may span, 1 to 10
//!   (`SessionBuilder::max_cookies`). With `COOKIE_CHUNKS=3` a session past one cookie
//!   (`POST /big?bytes=5000`, say) is cut into `__Host-id`, `__Host-id-1`, ... and a smaller one
//!   removes the chunks it no longer uses. Any other value stops the app at startup.
//! - `COOKIE_SECURE` (default `true`, as the library's): the cookie is `Secure` even on this
//!   plain-HTTP server, since browsers and curl send `Secure` cookies back to `127.0.0.1` and
//!   `localhost`. `COOKIE_SECURE=false` for a client that keeps them for HTTPS only (Python's
//!   `http.cookiejar`); any value but `true`/`false`/`1`/`0` stops the app at startup.
//!
//! Each request is logged at `info` (method, path, status, time taken; never a cookie).

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    sealed_session_examples::init_tracing();
    sealed_session_examples::exit_code(sealed_session_examples::login::run_from_env().await)
}
