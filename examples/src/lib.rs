//! The example apps' routes, shared by `examples/*.rs` and the test suite, which drives the very
//! same handlers over real HTTP.
//!
//! Both apps serve one contract ([`contract`]): [`login`] on sealed cookie sessions,
//! [`server_store`] on actix-session's Redis store.

pub mod contract;
pub mod login;
pub mod page;
pub mod server_store;
