//! What a stop leaves unwritten: saved to the pending file (and replayed from it at the next
//! start), or logged one revocation per event, in the same one-line form.
//!
//! The file starts with the line [`HEADER`], then holds one revocation per line
//! (`Entry::line`: `i <id> <until>`, `j <id> <until> <generation> <subject>`,
//! `g <generation> <until> <subject>`, `a <generation> <until>`), with `%` and control
//! characters in subjects escaped as `%XX` (so a subject can't end its line and start
//! another), and with authentication on, a tag in front bound to the key prefix
//! (`Keys::pending_line`). A line without a valid tag is skipped and counted
//! ([`LinkHealth::refused`](crate::LinkHealth::refused)).
//!
//! It is written whole to a new file in the same directory (created with `O_CREAT|O_EXCL`,
//! so it follows no symlink; mode 0600), synced, renamed over the pending file, and the
//! directory synced: a crash leaves the old file or the new one, never half of one. Each
//! instance needs its own file: two instances stopping at once would each replace the
//! other's.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sealed_session::SessionId;

use crate::LOG_TARGET;
use crate::keys::Unread;
use crate::queue::Job;
use crate::shared::{Shared, lock};
use crate::trust::{Source, TrustBounds};

/// The first line of a pending file this version writes. A file without it was written by an
/// earlier version (unescaped, untagged lines): read as such only without authentication.
const HEADER: &str = "sealed-session-redis pending v2";

/// Saves what the queue still holds: to the pending file if one is configured (replaced
/// whole, synced to disk), else as one `error` event per revocation. Removes a pending file
/// that has nothing left to carry.
pub(crate) fn save(shared: &Shared) {
    let unwritten = lock(&shared.queue).unwritten();
    let path = shared.settings.pending_file.as_deref();
    if unwritten.is_empty() {
        if let Some(path) = path {
            remove(path);
        }
        return;
    }
    let count = unwritten.len();
    let keys = &shared.settings.keys;
    let lines: Vec<String> = unwritten
        .iter()
        .map(|entry| keys.pending_line(entry))
        .collect();
    if let Some(path) = path {
        match write(path, &lines) {
            Ok(()) => {
                tracing::warn!(
                    target: LOG_TARGET,
                    event = "stopped_with_pending_writes",
                    pending = count,
                    file = %path.display(),
                    "revocation store stopped before Redis took {count} revocations: saved, the \
                     next start with this file writes them"
                );
                return;
            }
            Err(err) => tracing::error!(
                target: LOG_TARGET,
                event = "pending_file_failed",
                file = %path.display(),
                error = %err,
                "cannot save the unwritten revocations: logging them instead"
            ),
        }
    }
    for line in &lines {
        tracing::error!(
            target: LOG_TARGET,
            event = "unwritten_revocation",
            revocation = %line,
            "a revocation Redis never took: other instances don't know it; add this line to \
             the store's pending file (below its first line, `{HEADER}`) and restart the \
             instance with it to write it"
        );
    }
    tracing::warn!(
        target: LOG_TARGET,
        event = "stopped_with_pending_writes",
        pending = count,
        "revocation store stopped before Redis took {count} revocations (logged above as \
         `unwritten_revocation`)"
    );
}

/// Applies the revocations of a pending file to the local copy and queues them for Redis.
/// The file stays until they are written ([`forget_when_written`]).
pub(crate) fn replay(shared: &Shared, path: &Path) {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return,
        Err(err) => {
            tracing::error!(
                target: LOG_TARGET,
                event = "pending_file_failed",
                file = %path.display(),
                error = %err,
                "cannot read the pending revocations of the last stop"
            );
            return;
        }
    };
    let now = shared.now();
    let bounds = TrustBounds::at(now);
    let keys = &shared.settings.keys;
    let (mut replayed, mut skipped) = (0usize, 0usize);
    // Lines as written, ends included: a subject may end in a space (only control characters
    // and `%` are escaped), which trimming would change (and break its tag).
    let mut lines = text.lines().filter(|l| !l.is_empty()).peekable();
    let current = lines.next_if(|line| *line == HEADER).is_some();
    for line in lines {
        let read = if current {
            keys.read_pending_line(line)
        } else if keys.is_authenticated() {
            // An earlier version's line: untagged, so unauthenticated.
            Err(Unread::Refused(crate::trust::Refusal::Unauthenticated))
        } else {
            keys.read_legacy_pending_line(line.trim())
        };
        let entry = match read {
            Ok(entry) => entry,
            Err(Unread::Unknown) => {
                skipped += 1;
                continue;
            }
            Err(Unread::Refused(refusal)) => {
                shared.refused.record(refusal, Source::PendingFile);
                skipped += 1;
                continue;
            }
        };
        if let Err(refusal) = bounds.check(&entry) {
            shared.refused.record(refusal, Source::PendingFile);
            skipped += 1;
            continue;
        }
        shared.local.apply(&entry.to_revocation(), now);
        if entry.until() > now {
            shared.enqueue(Job::Write(entry));
            replayed += 1;
        }
    }
    *lock(&shared.pending_file_mark) = Some(lock(&shared.queue).mark());
    tracing::info!(
        target: LOG_TARGET,
        event = "pending_replayed",
        file = %path.display(),
        replayed,
        skipped,
        "revocations left unwritten by the last stop are in force here and queued for Redis"
    );
}

/// Removes the pending file once what was replayed from it is in Redis.
pub(crate) fn forget_when_written(shared: &Shared) {
    let mut mark = lock(&shared.pending_file_mark);
    let Some(until) = *mark else {
        return;
    };
    if !lock(&shared.queue).settled(until) {
        return;
    }
    *mark = None;
    if let Some(path) = &shared.settings.pending_file {
        remove(path);
    }
}

/// Replaces `path` with [`HEADER`] and `lines`: through a new file in the same directory
/// that follows no symlink, readable by this user only, synced, renamed over `path`, then the
/// directory synced (without that, a crash can lose the rename).
fn write(path: &Path, lines: &[String]) -> std::io::Result<()> {
    let tmp = temporary_path(path)?;
    let mut options = fs::OpenOptions::new();
    // O_CREAT|O_EXCL: fails if anything is at `tmp`, a symlink included (POSIX `open`: "If
    // O_EXCL and O_CREAT are set, and path names a symbolic link, open() shall fail"), so a
    // link planted there can't redirect the write.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    let written = (|| {
        writeln!(file, "{HEADER}")?;
        for line in lines {
            writeln!(file, "{line}")?;
        }
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_directory(path)
}

/// `<path>.<random>.tmp`, beside `path`: a name nobody can plant a link at in advance.
fn temporary_path(path: &Path) -> std::io::Result<PathBuf> {
    let random = SessionId::random().map_err(std::io::Error::other)?;
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{random}.tmp"));
    Ok(PathBuf::from(name))
}

/// Syncs the directory holding `path`, so that a rename in it survives a crash.
fn sync_directory(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn remove(path: &Path) {
    if let Err(err) = fs::remove_file(path)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(
            target: LOG_TARGET,
            event = "pending_file_failed",
            file = %path.display(),
            error = %err,
            "cannot remove the pending file, whose revocations are all written"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_follows_no_symlink_and_leaves_no_temporary() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pending");
        // A link planted at the old fixed temporary name goes nowhere now.
        let target = dir.path().join("target");
        std::os::unix::fs::symlink(&target, dir.path().join("pending.tmp")).unwrap();
        write(&path, &["one".into(), "two".into()]).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\none\ntwo\n")
        );
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert!(!target.exists());
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["pending", "pending.tmp"]);
    }

    #[test]
    fn the_temporary_name_is_new_each_time_and_beside_the_file() {
        let path = Path::new("/var/lib/app/pending");
        let (a, b) = (temporary_path(path).unwrap(), temporary_path(path).unwrap());
        assert_ne!(a, b);
        assert_eq!(a.parent(), path.parent());
        assert!(a.to_string_lossy().ends_with(".tmp"));
    }
}
