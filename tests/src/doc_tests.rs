//! The top-level README's Rust snippets, compiled as doctests (`cargo test --doc`), so a changed
//! API breaks the build, not the reader. It lives here because the README is in no crate's
//! package. The guides in `docs/` are doctested by the crates that render them
//! (`sealed_session::guide`, `sealed_session_actix::migrating`, `sealed_session_tower::migrating`),
//! and each crate's own README by that crate.

/// README.md: the actix-web quick start.
#[doc = include_str!("../../README.md")]
struct Readme;
