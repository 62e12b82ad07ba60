//! The Rust snippets of the repository's Markdown, compiled as doctests (`cargo test --doc`), so
//! a changed API breaks the build, not the reader. They live here rather than in the crates they
//! show because these files are not in those crates' packages: a published crate whose doctests
//! include `../../README.md` would fail its own `cargo test`. Each crate's own README is
//! doctested by that crate.

/// README.md: the actix-web quick start.
#[doc = include_str!("../../README.md")]
struct Readme;

/// docs/operations.md: watching the per-key counts during a rotation.
#[doc = include_str!("../../docs/operations.md")]
struct Operations;

/// docs/migrating-from-actix-session.md: the replacement of every actix-session call it shows,
/// and the legacy reader turned on and watched.
#[doc = include_str!("../../docs/migrating-from-actix-session.md")]
struct MigratingFromActixSession;

/// docs/migrating-from-tower-sessions.md: the replacement of every tower-sessions call it shows.
#[doc = include_str!("../../docs/migrating-from-tower-sessions.md")]
struct MigratingFromTowerSessions;
