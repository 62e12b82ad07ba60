//! What a stop leaves unwritten: saved to the pending file (and replayed from it at the next
//! start), or logged one revocation per event, in the same one-line form.
//!
//! The file holds one revocation per line, as the events channel carries them (`i <id>
//! <until>`, `j <id> <until> <generation> <subject>`, `g <generation> <until> <subject>`,
//! `a <generation> <until>`).

use std::fs;
use std::io::Write as _;
use std::path::Path;

use crate::LOG_TARGET;
use crate::keys::Message;
use crate::queue::Job;
use crate::store::{Shared, lock};
use crate::trust::TrustBounds;

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
    let lines: Vec<String> = unwritten
        .into_iter()
        .map(|entry| Message::Revoked(entry).encode())
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
             the store's pending file and restart one instance with it to write it"
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
    let (mut replayed, mut skipped) = (0usize, 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some(Message::Revoked(entry)) = Message::decode(line.trim().as_bytes()) else {
            skipped += 1;
            continue;
        };
        if bounds.check(&entry).is_err() {
            skipped += 1;
            continue;
        }
        shared.local.apply(&entry.to_revocation(), now);
        if entry.until() > now {
            shared.enqueue(Job::Write {
                entry,
                publish: true,
            });
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

fn write(path: &Path, lines: &[String]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut file = fs::File::create(&tmp)?;
    for line in lines {
        writeln!(file, "{line}")?;
    }
    file.sync_all()?;
    fs::rename(&tmp, path)
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
