//! Where key lists come from: the `SESSION_KEYS` environment variable or a key file, and how
//! key files are parsed and rewritten.
//!
//! Key file format: the `SESSION_KEYS` list, with newlines as separators too and `#` comments.
//!
//! ```text
//! # session keys, newest first       <- comment (ignored)
//! open-only:q0Yx…=,                  <- staged: opens, does not seal
//! 3vB9…=,                            <- primary: the first entry without `open-only:`
//! Zk1r…=, Pp0c…=                     <- fallbacks: open only (several per line are fine)
//! ```

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use sealed_session::keys::{KeyRole, OPEN_ONLY_PREFIX};
use sealed_session::{ConfigError, KeyRing, SecretKey};
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::error::CliError;

/// The environment variable applications read the key list from, by convention.
pub(crate) const KEYS_ENV: &str = "SESSION_KEYS";

/// Where `inspect` gets its keys.
#[derive(Debug)]
pub(crate) enum KeySource {
    /// `--keys-file`.
    File(PathBuf),
    /// The value of `SESSION_KEYS`.
    Env(SecretString),
    /// Neither was given.
    Missing,
}

impl KeySource {
    /// Reads and checks the key ring.
    pub(crate) fn load(&self) -> Result<KeyRing, CliError> {
        match self {
            Self::File(path) => KeyFile::read(path)?.ring(),
            // Parsed exactly as applications parse it, so what opens here opens there.
            Self::Env(list) => {
                KeyRing::from_config(list.expose_secret()).map_err(|source| CliError::KeysEnv {
                    name: KEYS_ENV,
                    source,
                })
            }
            Self::Missing => Err(CliError::NoKeys),
        }
    }
}

/// One entry of a key file.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Marked `open-only:`.
    pub(crate) open_only: bool,
    /// The base64 secret, without the prefix.
    secret: SecretString,
    /// 1-based line it was read from (0 for entries made by this program).
    line: usize,
}

impl Entry {
    /// A new entry for a secret made here.
    pub(crate) fn new(secret: &SecretKey, open_only: bool) -> Self {
        Self {
            open_only,
            secret: SecretString::from(secret.to_base64().as_str()),
            line: 0,
        }
    }

    /// The entry as `SESSION_KEYS` lists it.
    fn config_form(&self) -> Zeroizing<String> {
        let prefix = if self.open_only { OPEN_ONLY_PREFIX } else { "" };
        Zeroizing::new(format!("{prefix}{}", self.secret.expose_secret()))
    }
}

/// A parsed key file.
#[derive(Debug)]
pub(crate) struct KeyFile {
    pub(crate) path: PathBuf,
    /// Entries in file order, newest first.
    pub(crate) entries: Vec<Entry>,
    /// Comments read (a rewrite drops them).
    pub(crate) comments: usize,
    /// Unix permission bits of the file as read.
    pub(crate) permissions: Option<u32>,
}

impl KeyFile {
    /// Reads and parses `path`; [`KeyFile::ring`] checks it.
    pub(crate) fn read(path: &Path) -> Result<Self, CliError> {
        let read_error = |source| CliError::KeyFileRead {
            path: path.to_owned(),
            source,
        };
        let bytes = Zeroizing::new(fs::read(path).map_err(read_error)?);
        let text = std::str::from_utf8(&bytes).map_err(|_| CliError::KeyFileNotUnicode {
            path: path.to_owned(),
        })?;
        let (entries, comments) = parse(text);
        Ok(Self {
            path: path.to_owned(),
            entries,
            comments,
            permissions: permissions(path),
        })
    }

    /// The key ring the entries make.
    pub(crate) fn ring(&self) -> Result<KeyRing, CliError> {
        ring_of(&self.path, &self.entries)
    }
}

/// Splits a key file into entries and counts its comments.
fn parse(text: &str) -> (Vec<Entry>, usize) {
    let mut entries = Vec::new();
    let mut comments = 0;
    for (number, line) in text.lines().enumerate() {
        let content = match line.split_once('#') {
            Some((content, _comment)) => {
                comments += 1;
                content
            }
            None => line,
        };
        for entry in content.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (secret, open_only) = match entry.strip_prefix(OPEN_ONLY_PREFIX) {
                Some(rest) => (rest.trim(), true),
                None => (entry, false),
            };
            entries.push(Entry {
                open_only,
                secret: SecretString::from(secret),
                line: number + 1,
            });
        }
    }
    (entries, comments)
}

/// Checks `entries` as a key ring, exactly as `KeyRing::from_config` reads the list; errors
/// name the file and the lines at fault.
pub(crate) fn ring_of(path: &Path, entries: &[Entry]) -> Result<KeyRing, CliError> {
    let mut list = Zeroizing::new(String::new());
    for entry in entries {
        list.push_str(&entry.config_form());
        list.push(',');
    }
    KeyRing::from_config(&list).map_err(|source| CliError::KeyFile {
        path: path.to_owned(),
        lines: lines_at_fault(&source, entries),
        source,
    })
}

/// Maps a ring error's entry positions to file lines. Errors about one secret's length or
/// randomness carry no position, so the entries are checked one by one to find it.
fn lines_at_fault(err: &ConfigError, entries: &[Entry]) -> Vec<usize> {
    let indexes = match err {
        ConfigError::SecretNotBase64 { index } => vec![*index],
        ConfigError::DuplicateKeyId { first, second, .. } => vec![*first, *second],
        ConfigError::SecretTooShort { .. } | ConfigError::SecretNotRandom => entries
            .iter()
            .position(|e| SecretKey::from_base64(e.secret.expose_secret()).is_err())
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    indexes
        .into_iter()
        .filter_map(|i| entries.get(i))
        .map(|e| e.line)
        .filter(|&line| line > 0)
        .collect()
}

/// The file form: one entry per line, each followed by a comma, so that the whole file is also
/// a valid `SESSION_KEYS` value (`KeyRing::from_config` splits on commas only).
pub(crate) fn render(entries: &[Entry]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::new());
    for entry in entries {
        text.push_str(&entry.config_form());
        text.push_str(",\n");
    }
    text
}

/// Replaces the file at `path` with `contents` so that readers see the old file or the new one,
/// never a mix: `tempfile` writes a temporary file in the same directory (mode 0600 on Unix,
/// whatever the umask), which is synced, then renamed over the target; on failure it is
/// deleted, so no stray copy of the keys is left. A symbolic link is followed, so the link
/// stays and its target changes.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let dir = target
        .parent()
        .ok_or_else(|| io::Error::other("the key file has no parent directory"))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    temp.persist(&target).map_err(|err| err.error)?;
    // Make the rename itself durable. Not every platform can sync a directory; the file is
    // already complete, so failing here only risks losing the rename on a crash.
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn permissions(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn permissions(_path: &Path) -> Option<u32> {
    None
}

/// A key role as the CLI shows it.
pub(crate) fn role_name(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Primary => "primary",
        KeyRole::Fallback => "fallback",
        KeyRole::OpenOnly => "open-only",
        // `KeyRole` is non-exhaustive; a newer library may add roles.
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        SecretKey::generate().to_base64().to_string()
    }

    #[test]
    fn parses_commas_newlines_and_comments() {
        let (a, b, c) = (key(), key(), key());
        let text = format!("# keys\n open-only:{a} ,\n{b}, {c} # old\n\n");
        let (entries, comments) = parse(&text);
        assert_eq!(comments, 2);
        assert_eq!(entries.len(), 3);
        assert!(entries[0].open_only);
        assert_eq!(entries[0].secret.expose_secret(), a);
        assert_eq!(
            entries.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 3, 3]
        );
        let ring = ring_of(Path::new("k"), &entries).unwrap();
        assert_eq!(ring.role_of(ring.ids()[0]), Some(KeyRole::OpenOnly));
    }

    #[test]
    fn rendered_file_is_a_valid_session_keys_value() {
        let (entries, _) = parse(&format!("open-only:{}\n{}\n{}", key(), key(), key()));
        let rendered = render(&entries);
        let from_file = ring_of(Path::new("k"), &entries).unwrap();
        let from_config = KeyRing::from_config(&rendered).unwrap();
        assert_eq!(from_file.ids(), from_config.ids());
        assert_eq!(from_file.primary_id(), from_config.primary_id());
    }

    #[test]
    fn errors_name_the_lines_at_fault() {
        let a = key();
        let (entries, _) = parse(&format!("# c\n{a}\nc2hvcnQ=\n"));
        match ring_of(Path::new("k"), &entries).unwrap_err() {
            CliError::KeyFile { lines, source, .. } => {
                assert_eq!(lines, [3]);
                assert!(matches!(source, ConfigError::SecretTooShort { .. }));
            }
            other => panic!("{other:?}"),
        }
        let (entries, _) = parse(&format!("{a}\n\n{a}\n"));
        match ring_of(Path::new("k"), &entries).unwrap_err() {
            CliError::KeyFile { lines, .. } => assert_eq!(lines, [1, 3]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let a = key();
        let (entries, _) = parse(&a);
        let shown = format!(
            "{entries:?} {:?}",
            KeySource::Env(SecretString::from(a.as_str()))
        );
        assert!(!shown.contains(&a), "{shown}");
    }
}
