//! The project's guides, rendered with the crate's documentation: the wire format and its test
//! vectors, the security model, the operations runbook, the revocation model and the
//! benchmarks.
//!
//! These are the repository's `docs/*.md` files; the crate's `guide/` folder links to them, and
//! `cargo package` packs the files themselves, so the published crate carries the same text. The
//! migration guides are in the adapters' documentation, next to the API they show:
//! `sealed_session_actix::migrating` and `sealed_session_tower::migrating`.

#[doc = include_str!("../guide/format.md")]
pub mod format {}

#[doc = include_str!("../guide/security.md")]
pub mod security {}

#[doc = include_str!("../guide/operations.md")]
pub mod operations {}

#[doc = include_str!("../guide/revocation.md")]
pub mod revocation {}

#[doc = include_str!("../guide/benchmarks.md")]
pub mod benchmarks {}
