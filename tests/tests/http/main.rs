//! The session surface over real HTTP, on actix-web and on axum, with both revocation stores:
//! one test binary for every concern that drives the apps through their routes.
//!
//! - [`scenarios`]: the example login app's route contract, step by step, on both stacks.
//! - [`middleware`]: the actix middleware's cookie decisions and configuration.
//! - [`on_axum`]: the tower layer, and both adapters answering the same requests with the same
//!   cookies, byte for byte.
//! - [`session_api`]: actix-session's API on `Session`, and the methods no route calls.
//! - [`logout`]: the three logouts and their races.
//! - [`issue_17`]: the invariants of logout, expiry and revocation (docs/security.md).
//! - [`legacy`]: actix-session cookies read by the legacy reader.
//! - [`chunks`]: sessions over several cookies (`max_cookies`, issue 21) on both stacks.
//! - [`actix_identity`]: actix-identity on actix-session's middleware over `SealedSessionStore`.
//! - [`with_axum_login`]: axum-login's `AuthSession` on sealed cookies (`TowerSessionsLayer`).

mod actix_identity;
mod chunks;
mod issue_17;
mod legacy;
mod logout;
mod middleware;
mod on_axum;
mod scenarios;
mod session_api;
mod with_axum_login;
