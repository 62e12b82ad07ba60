//! The example apps' routes, shared by `examples/*.rs` and the test suite, which drives the very
//! same handlers over real HTTP.

pub mod login;
pub mod page;
