//! `rotate`: the three steps of a key rotation, one per run, each leaving a valid key file.
//!
//! ```text
//!             stage               promote             retire
//! B           open-only:A, B      A, B                A
//! (B seals)   (B seals, A opens)  (A seals, B opens)  (A seals)
//!             deploy              deploy, then wait   deploy
//!                                 one absolute timeout
//! ```
//! Each step is refused when out of order: staging twice would leave a key unpromoted, promoting
//! needs a staged key, and retiring while a key is staged would drop the key that still seals.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use sealed_session::{KeyRing, SecretKey};

use crate::error::{CliError, list_ring, shell_word};
use crate::flags::{RotateAction, RotateConfig};
use crate::keys::{Entry, KeyFile, render, ring_of, write_atomically};

/// Runs one rotation step on the key file and prints what changed and what to do next.
pub(crate) fn run(config: &RotateConfig, out: &mut impl Write) -> Result<(), CliError> {
    let path = config.path.as_path();
    let file = KeyFile::read(path)?;
    // Refuse a file that is not a valid ring before changing anything.
    let before = file.ring()?;
    let ids = before.ids();
    let comments = file.comments;
    let permissions = file.permissions;
    let mut entries = file.entries;
    // A valid ring has at least one key, so `ids[0]` and `entries[0]` exist.
    let first = ids[0];

    let summary = match config.action {
        RotateAction::Stage => {
            if entries[0].open_only {
                return Err(CliError::AlreadyStaged {
                    path: path.to_owned(),
                    key_id: first,
                });
            }
            entries.insert(0, Entry::new(&SecretKey::generate(), true));
            Summary::Staged
        }
        RotateAction::Promote => {
            if !entries[0].open_only {
                return Err(CliError::NothingStaged {
                    path: path.to_owned(),
                    key_id: first,
                });
            }
            entries[0].open_only = false;
            Summary::Promoted {
                previous: before.primary_id(),
            }
        }
        RotateAction::Retire => {
            // Keys in front of the primary are staged ones (that is what makes the primary
            // the first key without `open-only:`).
            if before.primary_id() != first {
                return Err(CliError::RetireWhileStaged {
                    path: path.to_owned(),
                    key_id: first,
                });
            }
            if entries.len() == 1 {
                writeln!(
                    out,
                    "nothing to retire: `{first}` is the only key in `{}`",
                    path.display()
                )
                .map_err(CliError::Output)?;
                return Ok(());
            }
            entries.truncate(1);
            Summary::Retired {
                removed: roles(&before)[1..].to_vec(),
                changed_ago: changed_ago(path),
            }
        }
    };

    // The new list is checked like any other before it replaces the old one.
    let after = ring_of(path, &entries)?;
    write_atomically(path, render(&entries).as_bytes()).map_err(|source| {
        CliError::KeyFileWrite {
            path: path.to_owned(),
            source,
        }
    })?;

    if comments > 0 {
        eprintln!(
            "note: dropped {comments} comment(s) from `{}`: it is rewritten in the form \
             SESSION_KEYS takes, which has no comments",
            path.display()
        );
    }
    if let Some(mode) = permissions.filter(|mode| mode & 0o077 != 0) {
        eprintln!(
            "note: `{}` was mode {mode:04o}; it is now 0600 (owner only)",
            path.display()
        );
    }
    summary.print(path, &after, out).map_err(CliError::Output)
}

/// What a step did, for the report.
enum Summary {
    Staged,
    Promoted {
        previous: sealed_session::keys::KeyId,
    },
    Retired {
        removed: Vec<(sealed_session::keys::KeyId, sealed_session::keys::KeyRole)>,
        /// How long before this run the file was last written, when less than one default
        /// absolute timeout: most likely by `--promote`, whose wait has not passed yet.
        changed_ago: Option<Duration>,
    },
}

impl Summary {
    fn print(&self, path: &Path, ring: &KeyRing, out: &mut impl Write) -> std::io::Result<()> {
        let shown = path.display();
        let word = shell_word(path);
        let first = ring.ids()[0];
        match self {
            Self::Staged => {
                writeln!(out, "staged new key `{first}` as open-only in `{shown}`")?;
                writeln!(out, "keys now: {}", list_ring(&roles(ring)))?;
                writeln!(out)?;
                writeln!(out, "next steps:")?;
                writeln!(
                    out,
                    "  1. deploy this file everywhere, so every instance can open cookies of the \
                     new key before any seals with it"
                )?;
                writeln!(
                    out,
                    "  2. then run `sealed-session rotate --promote --keys-file {word}` to make \
                     the new key primary, and deploy again"
                )?;
                writeln!(
                    out,
                    "  3. wait one absolute timeout (24h by default), then run \
                     `sealed-session rotate --retire --keys-file {word}` to drop the keys after \
                     the primary, and deploy again"
                )?;
            }
            Self::Promoted { previous } => {
                writeln!(
                    out,
                    "promoted key `{first}` to primary in `{shown}`; `{previous}` is now a \
                     fallback"
                )?;
                writeln!(out, "keys now: {}", list_ring(&roles(ring)))?;
                writeln!(out)?;
                writeln!(out, "next steps:")?;
                writeln!(
                    out,
                    "  1. deploy this file everywhere (cookies of older keys still open, and \
                     move to the new key as they are re-sealed)"
                )?;
                writeln!(
                    out,
                    "  2. wait one absolute timeout (24h by default) after that deploy, so that \
                     no live cookie was sealed with an older key"
                )?;
                writeln!(
                    out,
                    "  3. then run `sealed-session rotate --retire --keys-file {word}` to drop \
                     the keys after the primary, and deploy again"
                )?;
            }
            Self::Retired {
                removed,
                changed_ago,
            } => {
                writeln!(
                    out,
                    "retired {} key(s) from `{shown}`: {}",
                    removed.len(),
                    list_ring(removed)
                )?;
                writeln!(out, "keys now: {}", list_ring(&roles(ring)))?;
                writeln!(out)?;
                writeln!(
                    out,
                    "next step: deploy this file everywhere; from then on, cookies sealed with \
                     the retired keys are refused and their holders sign in again"
                )?;
                writeln!(out)?;
                if let Some(ago) = changed_ago {
                    writeln!(
                        out,
                        "warning: `{shown}` was last changed {} ago: if that was the promotion, \
                         the retired keys may still have live cookies",
                        crate::humane::approx(ago.as_secs())
                    )?;
                }
                // The runbook's wait (docs/operations.md, "When is the old key no longer
                // needed?"): retiring is only safe to deploy once it has passed.
                writeln!(
                    out,
                    "wait before deploying: the old key is no longer needed at the latest one \
                     absolute timeout after the promotion is deployed everywhere (24h by \
                     default), or once the `opened` count of the `Fallback` key in \
                     `key_usage()` stops growing on every instance; after a key leak, deploy \
                     at once"
                )?;
            }
        }
        Ok(())
    }
}

/// The default absolute timeout: a key file changed more recently may hold a promotion whose
/// wait has not passed.
const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// How long ago `path` was last written, if less than [`DEFAULT_ABSOLUTE_TIMEOUT`] (and the
/// file system keeps modification times).
fn changed_ago(path: &Path) -> Option<Duration> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    // A time in the future (a clock step) is an error: no warning rather than a wrong one.
    let ago = SystemTime::now().duration_since(modified).ok()?;
    (ago < DEFAULT_ABSOLUTE_TIMEOUT).then_some(ago)
}

/// Every key of the ring with its role, in order.
fn roles(ring: &KeyRing) -> Vec<(sealed_session::keys::KeyId, sealed_session::keys::KeyRole)> {
    ring.ids()
        .into_iter()
        .filter_map(|id| ring.role_of(id).map(|role| (id, role)))
        .collect()
}
