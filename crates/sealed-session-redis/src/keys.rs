//! What goes into Redis: the stream's entries, their key names and values, and the pending
//! file's lines.
//!
//! Every revocation is one entry of the stream `<prefix>rev:log` with two fields made here,
//! `k` (the name below, which says what is revoked) and `v` (its value), and a third the
//! append script adds, `n` (its ordinal, `stream.rs`). With the default prefix
//! `sealed-session:`:
//!
//! ```text
//! k sealed-session:rev:id:<32 hex digits>  v "<until>"                          (an anonymous session)
//!                                          v "<until> <generation> <subject>"   (a session of a subject)
//! k sealed-session:rev:sub:<subject>       v "<generation> <until>"             (a subject's cutoff)
//! k sealed-session:rev:all                 v "<generation> <until>"             (the store-wide cutoff)
//! sealed-session:rev:retention             ->  "<seconds> <until>": the stream's retention (`stream.rs`)
//! ```
//!
//! Times are unix seconds and generations plain numbers, in decimal (digits only). The subject
//! comes last in its value, so it may hold spaces; names hold it as is (Redis strings are
//! binary-safe). Subjects longer than [`MAX_SUBJECT_LEN`] bytes are neither written nor read.
//! Readers merge what they read by the local copy's rules (cutoffs by the larger, ids by the
//! union), so an entry read twice, or appended again, changes nothing.
//!
//! # Authenticated values
//! With [`authenticate_with`](crate::RedisStoreBuilder::authenticate_with), every value above
//! (its *body*) and every line of the pending file is preceded by a tag and one space:
//!
//! ```text
//! "<tag> <body>"     tag: 43 characters, the unpadded base64url of
//!                    HMAC-SHA256(the key ring's revocation key, data)
//! data (entries):    "sealed-session-redis v1 entry\0"   | u32 BE length of the name | name   | body
//! data (pending):    "sealed-session-redis v2 pending\0" | u32 BE length of the prefix | prefix | line
//! ```
//!
//! The name is in the data, prefix included, so a tagged value can't be moved to another
//! session's or subject's name (nor a subject's cutoff to `rev:all`, or back), nor to another
//! application's prefix. The HMAC key is
//! [`KeyRing::revocation_mac`](sealed_session::KeyRing::revocation_mac): the primary tags,
//! every key of the ring verifies. Untagged values (or tagged ones read by a store without
//! authentication) are refused.
//!
//! Whatever is read is also bounded ([`TrustBounds`]): see `trust.rs`.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Generation, Revocation, RevocationMac, Subject};

use crate::trust::{Refusal, TrustBounds};

/// The longest subject (in bytes) written to or read from Redis: what is parsed stays bounded.
pub(crate) const MAX_SUBJECT_LEN: usize = sealed_session::revocation::MAX_SUBJECT_LEN;

/// The length of a tag in its text form: 32 bytes in unpadded base64.
const TAG_TEXT_LEN: usize = (RevocationMac::TAG_LEN * 4).div_ceil(3);
const _: () = assert!(TAG_TEXT_LEN == 43);

/// What the tag of a value authenticates, before the key name.
const ENTRY_LABEL: &[u8] = b"sealed-session-redis v1 entry\0";
/// What the tag of a pending file's line authenticates, before the key prefix.
const PENDING_LABEL: &[u8] = b"sealed-session-redis v2 pending\0";

/// The names derived from one prefix, and the tags of what goes under them.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    /// `<prefix>rev:id:`
    session: String,
    /// `<prefix>rev:sub:`
    subject: String,
    /// `<prefix>rev:all`: the store-wide cutoff.
    pub(crate) everyone: String,
    /// `<prefix>rev:log`: the stream every revocation is appended to.
    pub(crate) stream: String,
    /// `<prefix>rev:retention`: how long (seconds) the stream keeps entries (`stream.rs`).
    pub(crate) retention: String,
    /// Tags what is written and checks what is read, if authentication is on.
    mac: Option<RevocationMac>,
}

/// One revocation as Redis holds it: the core's [`Revocation`], with its deadline clamped to
/// what every instance accepts and its subject within [`MAX_SUBJECT_LEN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// `<prefix>rev:id:<id>`.
    Session {
        id: SessionId,
        subject: Option<Subject>,
        until: UnixTime,
    },
    /// `<prefix>rev:sub:<subject>`.
    Subject {
        subject: String,
        generation: Generation,
        until: UnixTime,
    },
    /// `<prefix>rev:all`: every subject's sessions stamped below `generation`.
    Everyone {
        generation: Generation,
        until: UnixTime,
    },
}

/// Why a value read from Redis (or a line of the pending file) gives no entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// Not in a shape this version writes (another program's entry in the stream, a newer
    /// version's): skipped quietly.
    Unknown,
    /// In shape, but no instance of the fleet wrote it: skipped, counted and logged.
    Refused(Refusal),
}

impl Entry {
    /// The entry for `revocation`, its deadline clamped to `bounds` (so that every instance
    /// accepts it); `None` if Redis can't carry it (a subject longer than [`MAX_SUBJECT_LEN`],
    /// or a kind of revocation this version does not know).
    pub(crate) fn from_revocation(revocation: &Revocation, bounds: &TrustBounds) -> Option<Self> {
        let entry = match revocation {
            Revocation::Session { id, subject, until } => Self::Session {
                id: *id,
                subject: subject.clone(),
                until: bounds.clamp(*until),
            },
            Revocation::Subject {
                subject,
                generation,
                until,
            } => Self::Subject {
                subject: subject.clone(),
                generation: *generation,
                until: bounds.clamp(*until),
            },
            Revocation::Everyone { generation, until } => Self::Everyone {
                generation: *generation,
                until: bounds.clamp(*until),
            },
            _ => return None,
        };
        entry
            .subject()
            .is_none_or(|s| s.len() <= MAX_SUBJECT_LEN)
            .then_some(entry)
    }

    /// As the core's type, for the local copy.
    pub(crate) fn to_revocation(&self) -> Revocation {
        match self {
            Self::Session { id, subject, until } => Revocation::Session {
                id: *id,
                subject: subject.clone(),
                until: *until,
            },
            Self::Subject {
                subject,
                generation,
                until,
            } => Revocation::Subject {
                subject: subject.clone(),
                generation: *generation,
                until: *until,
            },
            Self::Everyone { generation, until } => Revocation::Everyone {
                generation: *generation,
                until: *until,
            },
        }
    }

    /// When Redis drops it.
    pub(crate) fn until(&self) -> UnixTime {
        match self {
            Self::Session { until, .. }
            | Self::Subject { until, .. }
            | Self::Everyone { until, .. } => *until,
        }
    }

    /// The subject's name, if it has one.
    pub(crate) fn subject(&self) -> Option<&str> {
        match self {
            Self::Session { subject, .. } => subject.as_ref().map(Subject::name),
            Self::Subject { subject, .. } => Some(subject),
            Self::Everyone { .. } => None,
        }
    }

    /// The generation it carries: the session's stamp (of a session of a subject) or the
    /// cutoff (of a subject, or store-wide).
    pub(crate) fn generation(&self) -> Option<Generation> {
        match self {
            Self::Session { subject, .. } => subject.as_ref().map(Subject::generation),
            Self::Subject { generation, .. } | Self::Everyone { generation, .. } => {
                Some(*generation)
            }
        }
    }
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            session: format!("{prefix}rev:id:"),
            subject: format!("{prefix}rev:sub:"),
            everyone: format!("{prefix}rev:all"),
            stream: format!("{prefix}rev:log"),
            retention: format!("{prefix}rev:retention"),
            mac: None,
        }
    }

    /// Tags what is written with `mac`, and refuses what is read without a valid tag.
    pub(crate) fn authenticated(mut self, mac: Option<RevocationMac>) -> Self {
        self.mac = mac;
        self
    }

    pub(crate) fn is_authenticated(&self) -> bool {
        self.mac.is_some()
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn session_key(&self, id: SessionId) -> String {
        format!("{}{id}", self.session)
    }

    pub(crate) fn subject_key(&self, subject: &str) -> String {
        format!("{}{subject}", self.subject)
    }

    /// The key of `entry`.
    pub(crate) fn key(&self, entry: &Entry) -> String {
        match entry {
            Entry::Session { id, .. } => self.session_key(*id),
            Entry::Subject { subject, .. } => self.subject_key(subject),
            Entry::Everyone { .. } => self.everyone.clone(),
        }
    }

    /// The value of `entry` (the stream entry's `v`, under the name [`Keys::key`]): for a
    /// session `"<until>"`, or for a session of a subject `"<until> <generation> <subject>"`;
    /// for a cutoff `"<generation> <until>"`; tagged if authentication is on.
    pub(crate) fn value(&self, entry: &Entry) -> String {
        let body = match entry {
            Entry::Session {
                subject: None,
                until,
                ..
            } => until.to_string(),
            Entry::Session {
                subject: Some(subject),
                until,
                ..
            } => format!("{until} {} {}", subject.generation(), subject.name()),
            Entry::Subject {
                generation, until, ..
            }
            | Entry::Everyone { generation, until } => format!("{generation} {until}"),
        };
        self.tagged(ENTRY_LABEL, &self.key(entry), body)
    }

    /// Reads a stream entry's name (`k`) and value (`v`), checked against `bounds` (and its
    /// tag).
    pub(crate) fn read_entry(
        &self,
        key: &[u8],
        value: &[u8],
        bounds: &TrustBounds,
    ) -> Result<Entry, Unread> {
        let key = std::str::from_utf8(key).map_err(|_| Unread::Unknown)?;
        let value = std::str::from_utf8(value).map_err(|_| Unread::Unknown)?;
        if !key.starts_with(&self.session)
            && !key.starts_with(&self.subject)
            && key != self.everyone
        {
            return Err(Unread::Unknown);
        }
        let body = self.untagged(ENTRY_LABEL, key, value)?;
        let entry = self.parse_entry(key, body).ok_or(Unread::Unknown)?;
        bounds.check(&entry).map_err(Unread::Refused)?;
        Ok(entry)
    }

    /// A line of the pending file: [`Entry::line`] with its subject escaped ([`escape`]: no
    /// line break or other control character survives), tagged under the prefix if
    /// authentication is on.
    pub(crate) fn pending_line(&self, entry: &Entry) -> String {
        let body = escape(&entry.line());
        self.tagged(PENDING_LABEL, &self.prefix, body)
    }

    /// The entry of a line of an earlier version's pending file ([`Entry::line`], unescaped
    /// and untagged), not bounded: the caller checks. Read only without authentication.
    pub(crate) fn read_legacy_pending_line(&self, line: &str) -> Result<Entry, Unread> {
        if self.is_authenticated() {
            return Err(Unread::Refused(Refusal::Unauthenticated));
        }
        Entry::from_line(line).ok_or(Unread::Unknown)
    }

    /// The entry of a pending file's line (its tag checked), not bounded: the caller checks.
    pub(crate) fn read_pending_line(&self, line: &str) -> Result<Entry, Unread> {
        let body = self.untagged(PENDING_LABEL, &self.prefix, line)?;
        Entry::from_line(&unescape(body).ok_or(Unread::Unknown)?).ok_or(Unread::Unknown)
    }

    /// The entry in `body`, the value of `key` without its tag.
    fn parse_entry(&self, key: &str, body: &str) -> Option<Entry> {
        if let Some(hex) = key.strip_prefix(self.session.as_str()) {
            let id = hex.parse().ok()?;
            let Some((until, rest)) = body.split_once(' ') else {
                return Some(Entry::Session {
                    id,
                    subject: None,
                    until: time(body)?,
                });
            };
            let (generation, subject) = rest.split_once(' ')?;
            Some(Entry::Session {
                id,
                subject: Some(Subject::new(subject, generation_of(generation)?)),
                until: time(until)?,
            })
        } else if key == self.everyone {
            let (generation, until) = body.split_once(' ')?;
            Some(Entry::Everyone {
                generation: generation_of(generation)?,
                until: time(until)?,
            })
        } else {
            let subject = key.strip_prefix(self.subject.as_str())?;
            let (generation, until) = body.split_once(' ')?;
            Some(Entry::Subject {
                subject: subject.to_owned(),
                generation: generation_of(generation)?,
                until: time(until)?,
            })
        }
    }

    /// `body` under `name`, with its tag in front if authentication is on.
    fn tagged(&self, label: &[u8], name: &str, body: String) -> String {
        match &self.mac {
            None => body,
            Some(mac) => format!("{} {body}", tag_text(mac, label, name, &body)),
        }
    }

    /// The body of `text` (read under `name`): all of it without authentication; with it, what
    /// follows a valid tag, or a refusal.
    fn untagged<'a>(&self, label: &[u8], name: &str, text: &'a str) -> Result<&'a str, Unread> {
        let Some(mac) = &self.mac else {
            return Ok(text);
        };
        let refused = Unread::Refused(Refusal::Unauthenticated);
        let (tag, body) = text.split_once(' ').ok_or(refused)?;
        if tag.len() != TAG_TEXT_LEN {
            return Err(refused);
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| refused)?;
        if !mac.verify(&signed_data(label, name, body), &tag) {
            return Err(refused);
        }
        Ok(body)
    }
}

/// The tag of `body` under `name`, as text.
fn tag_text(mac: &RevocationMac, label: &[u8], name: &str, body: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac.tag(&signed_data(label, name, body)))
}

/// What a tag authenticates: `label | u32 BE length of name | name | body`. The length makes
/// the split between name and body unambiguous (a subject, in a key name, may hold any byte).
fn signed_data(label: &[u8], name: &str, body: &str) -> Vec<u8> {
    // Names are a prefix of at most 128 bytes plus a subject of at most MAX_SUBJECT_LEN, far
    // below 4 GiB; saturating keeps this total anyway.
    let len = u32::try_from(name.len()).unwrap_or(u32::MAX);
    let mut data = Vec::with_capacity(label.len() + 4 + name.len() + body.len());
    data.extend_from_slice(label);
    data.extend_from_slice(&len.to_be_bytes());
    data.extend_from_slice(name.as_bytes());
    data.extend_from_slice(body.as_bytes());
    data
}

impl Entry {
    /// The entry as one line of text: `i <id> <until>`, `j <id> <until> <generation>
    /// <subject>`, `g <generation> <until> <subject>` or `a <generation> <until>` (the pending
    /// file's body, escaped and tagged there; the same as the events channel's messages of
    /// earlier versions, whose pending files are still read).
    pub(crate) fn line(&self) -> String {
        match self {
            Self::Session {
                id,
                subject: None,
                until,
            } => format!("i {id} {until}"),
            Self::Session {
                id,
                subject: Some(subject),
                until,
            } => format!("j {id} {until} {} {}", subject.generation(), subject.name()),
            Self::Subject {
                subject,
                generation,
                until,
            } => format!("g {generation} {until} {subject}"),
            Self::Everyone { generation, until } => format!("a {generation} {until}"),
        }
    }

    /// The entry of a [`Entry::line`]; `None` for a line this version does not know (e.g.
    /// from a newer one). Not bounded: see [`TrustBounds::check`].
    pub(crate) fn from_line(line: &str) -> Option<Self> {
        let (kind, rest) = line.split_once(' ')?;
        let entry = match kind {
            "i" => {
                let (id, until) = rest.split_once(' ')?;
                Entry::Session {
                    id: id.parse().ok()?,
                    subject: None,
                    until: time(until)?,
                }
            }
            "j" => {
                let mut parts = rest.splitn(4, ' ');
                let id = parts.next()?.parse().ok()?;
                let until = time(parts.next()?)?;
                let generation = generation_of(parts.next()?)?;
                let subject = parts.next()?;
                Entry::Session {
                    id,
                    subject: Some(Subject::new(subject, generation)),
                    until,
                }
            }
            "g" => {
                let mut parts = rest.splitn(3, ' ');
                let generation = generation_of(parts.next()?)?;
                let until = time(parts.next()?)?;
                let subject = parts.next()?.to_owned();
                Entry::Subject {
                    subject,
                    generation,
                    until,
                }
            }
            "a" => {
                let (generation, until) = rest.split_once(' ')?;
                Entry::Everyone {
                    generation: generation_of(generation)?,
                    until: time(until)?,
                }
            }
            _ => return None,
        };
        Some(entry)
    }
}

/// `text` with `%` and every control character (line breaks included) as `%XX`: what a
/// line-based file or log can carry, whatever a subject holds.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '%' || c.is_control() {
            let mut buffer = [0; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                let _ = write!(escaped, "%{byte:02X}");
            }
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// The text [`escape`] made `text` from; `None` if it is not one of its outputs (a raw control
/// character, a bad `%` sequence).
pub(crate) fn unescape(text: &str) -> Option<String> {
    if text.chars().any(char::is_control) {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail
                .get(..2)
                .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// A decimal number, digits only (no sign, no spaces), as this crate writes them.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn time(text: &str) -> Option<UnixTime> {
    number(text).map(UnixTime::from_secs)
}

fn generation_of(text: &str) -> Option<Generation> {
    number(text).map(Generation::new)
}

/// The check of an entry against the bounds: here, with the entry's format, so that the
/// bounds (`trust.rs`) know nothing of it.
impl TrustBounds {
    /// Whether `entry` could have been written by an instance of the fleet at our `now`.
    pub(crate) fn check(&self, entry: &Entry) -> Result<(), Refusal> {
        if entry.subject().is_some_and(|s| s.len() > MAX_SUBJECT_LEN) {
            return Err(Refusal::SubjectTooLong);
        }
        if entry.until() > self.max_until() {
            return Err(Refusal::DeadlineAhead);
        }
        if entry
            .generation()
            .is_some_and(|g| g > self.max_generation())
        {
            return Err(Refusal::GenerationAhead);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::MAX_UNTIL;

    /// Bounds late enough for every deadline these tests use (up to [`MAX_UNTIL`]).
    fn bounds() -> TrustBounds {
        TrustBounds::at(UnixTime::from_secs(MAX_UNTIL))
    }

    /// A generation as large as [`bounds`] accepts.
    const LARGE: u64 = 8_000_000_000_000_000;

    fn read(keys: &Keys, key: &[u8], value: &[u8]) -> Option<Entry> {
        keys.read_entry(key, value, &bounds()).ok()
    }

    fn id() -> SessionId {
        SessionId::from_bytes(*b"0123456789abcdef")
    }

    const HEX: &str = "30313233343536373839616263646566";

    fn t(secs: u64) -> UnixTime {
        UnixTime::from_secs(secs)
    }

    fn of(name: &str, generation: u64) -> Option<Subject> {
        Some(Subject::new(name, Generation::new(generation)))
    }

    /// The fixture secret of `seed`.
    fn secret(seed: u8) -> sealed_session::SecretKey {
        sealed_session::SecretKey::from_bytes(&sealed_session_test_support::secret_bytes(seed))
            .unwrap()
    }

    fn ring(seed: u8) -> sealed_session::KeyRing {
        sealed_session::KeyRing::new(secret(seed))
    }

    /// Keys of prefix `prefix`, authenticated with the ring of `seed`.
    fn authenticated(prefix: &str, seed: u8) -> Keys {
        Keys::new(prefix).authenticated(Some(ring(seed).revocation_mac()))
    }

    #[test]
    fn names_are_namespaced() {
        let keys = Keys::new("app:");
        assert_eq!(keys.prefix(), "app:");
        assert_eq!(keys.session_key(id()), format!("app:rev:id:{HEX}"));
        assert_eq!(keys.subject_key("alice smith"), "app:rev:sub:alice smith");
        assert_eq!(keys.everyone, "app:rev:all");
        assert_eq!(keys.stream, "app:rev:log");
        assert_eq!(keys.retention, "app:rev:retention");
        assert_eq!(
            keys.key(&Entry::Everyone {
                generation: Generation::new(1),
                until: t(2)
            }),
            "app:rev:all"
        );
        assert_eq!(
            keys.key(&Entry::Subject {
                subject: "alice smith".into(),
                generation: Generation::new(1),
                until: t(2)
            }),
            "app:rev:sub:alice smith"
        );
        assert_eq!(
            keys.key(&Entry::Session {
                id: id(),
                subject: of("alice", 1),
                until: t(2)
            }),
            format!("app:rev:id:{HEX}")
        );
        // Names are literal (no pattern any more): glob characters in a prefix stay as they are.
        let odd = Keys::new(r"a*b?[c]\");
        assert_eq!(odd.stream, r"a*b?[c]\rev:log");
        assert_eq!(odd.retention, r"a*b?[c]\rev:retention");
        // Neither the stream's nor the retention's name is read as an entry's.
        for name in [&keys.stream, &keys.retention] {
            assert_eq!(
                keys.read_entry(name.as_bytes(), b"10 20", &bounds()),
                Err(Unread::Unknown),
                "{name}"
            );
        }
    }

    #[test]
    fn entries_read_back() {
        let keys = Keys::new("p:");
        let session_key = keys.session_key(id());
        assert_eq!(
            read(&keys, session_key.as_bytes(), b"1700000000"),
            Some(Entry::Session {
                id: id(),
                subject: None,
                until: t(1_700_000_000)
            })
        );
        assert_eq!(
            read(&keys, session_key.as_bytes(), b"1700000000 42 alice smith"),
            Some(Entry::Session {
                id: id(),
                subject: of("alice smith", 42),
                until: t(1_700_000_000)
            })
        );
        assert_eq!(
            read(&keys, b"p:rev:sub:a b", b"10 20"),
            Some(Entry::Subject {
                subject: "a b".into(),
                generation: Generation::new(10),
                until: t(20)
            })
        );
        assert_eq!(
            read(&keys, b"p:rev:all", b"10 20"),
            Some(Entry::Everyone {
                generation: Generation::new(10),
                until: t(20)
            })
        );
        // The values, as the module's documentation has them.
        assert_eq!(
            keys.value(&Entry::Session {
                id: id(),
                subject: None,
                until: t(1_700_000_000)
            }),
            "1700000000"
        );
        assert_eq!(
            keys.value(&Entry::Session {
                id: id(),
                subject: of("alice smith", 42),
                until: t(1_700_000_000)
            }),
            "1700000000 42 alice smith"
        );
        assert_eq!(
            keys.value(&Entry::Subject {
                subject: "a b".into(),
                generation: Generation::new(10),
                until: t(20)
            }),
            "10 20"
        );
        assert_eq!(
            keys.value(&Entry::Everyone {
                generation: Generation::new(10),
                until: t(20)
            }),
            "10 20"
        );
        // What the writer appends is what a reader reads, whatever the kind of entry.
        for entry in [
            Entry::Session {
                id: id(),
                subject: None,
                until: t(5),
            },
            Entry::Session {
                id: id(),
                subject: of(" x y ", LARGE),
                until: t(MAX_UNTIL),
            },
            Entry::Session {
                id: id(),
                subject: of("", 0),
                until: t(5),
            },
            Entry::Subject {
                subject: " x y ".into(),
                generation: Generation::new(LARGE),
                until: t(MAX_UNTIL),
            },
            Entry::Subject {
                subject: String::new(),
                generation: Generation::ZERO,
                until: t(0),
            },
            Entry::Subject {
                subject: "x".repeat(MAX_SUBJECT_LEN),
                generation: Generation::new(3),
                until: t(9),
            },
            Entry::Everyone {
                generation: Generation::new(LARGE),
                until: t(MAX_UNTIL),
            },
            Entry::Everyone {
                generation: Generation::ZERO,
                until: t(0),
            },
        ] {
            assert_eq!(
                read(
                    &keys,
                    keys.key(&entry).as_bytes(),
                    keys.value(&entry).as_bytes()
                ),
                Some(entry)
            );
        }
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
        let long_key = format!("p:rev:sub:{long}");
        let long_value = format!("1 2 {long}");
        for (key, value) in [
            (&b"p:rev:id:nothex"[..], &b"1"[..]),
            (session_key.as_bytes(), b"soon"),
            (session_key.as_bytes(), b"+5"),
            (session_key.as_bytes(), b"5 7"),
            (session_key.as_bytes(), b"5 x alice"),
            (session_key.as_bytes(), long_value.as_bytes()),
            (session_key.as_bytes(), b"\xff"),
            (b"p:rev:sub:alice", b"10"),
            (b"p:rev:sub:alice", b"10 -20"),
            (b"p:rev:sub:alice", b"10 20 30"),
            (b"p:rev:sub:alice", b"99999999999999999999 20"),
            (long_key.as_bytes(), b"10 20"),
            (b"p:rev:other", b"1"),
            (b"p:rev:all", b"10"),
            (b"p:rev:all", b"10 20 alice"),
            (b"p:rev:all", b"10 +20"),
            (b"p:rev:all", b"99999999999999999999 20"),
            (b"p:rev:all:x", b"10 20"),
            (b"p:rev:alll", b"10 20"),
            (b"p:rev:epoch", b"10 20"),
            (b"p:rev:log", b"10 20"),
            (b"p:rev:retention", b"86400"),
            (b"q:rev:all", b"10 20"),
            (b"q:rev:sub:alice", b"10 20"),
            (b"p:rev:sub:\xff", b"10 20"),
        ] {
            assert_eq!(read(&keys, key, value), None, "{key:?} {value:?}");
        }
        let longest = "x".repeat(MAX_SUBJECT_LEN);
        assert!(read(&keys, format!("p:rev:sub:{longest}").as_bytes(), b"1 2").is_some());
    }

    #[test]
    fn lines_round_trip() {
        for entry in [
            Entry::Session {
                id: id(),
                subject: None,
                until: t(5),
            },
            Entry::Session {
                id: id(),
                subject: of("user 42: x", 1_900_000_000_000_000),
                until: t(5),
            },
            Entry::Session {
                id: id(),
                subject: of("", 0),
                until: t(5),
            },
            Entry::Subject {
                subject: "user 42: x".into(),
                generation: Generation::new(LARGE),
                until: t(9),
            },
            Entry::Subject {
                subject: String::new(),
                generation: Generation::new(3),
                until: t(9),
            },
            Entry::Everyone {
                generation: Generation::new(LARGE),
                until: t(MAX_UNTIL),
            },
            Entry::Everyone {
                generation: Generation::ZERO,
                until: t(0),
            },
        ] {
            assert_eq!(Entry::from_line(&entry.line()), Some(entry.clone()));
        }
        let session = |subject| {
            Entry::Session {
                id: id(),
                subject,
                until: t(5),
            }
            .line()
        };
        assert_eq!(session(None), format!("i {HEX} 5"));
        assert_eq!(session(of("a b", 7)), format!("j {HEX} 5 7 a b"));
        assert_eq!(
            Entry::Subject {
                subject: "a b".into(),
                generation: Generation::new(7),
                until: t(9)
            }
            .line(),
            "g 7 9 a b"
        );
        assert_eq!(
            Entry::Everyone {
                generation: Generation::new(7),
                until: t(9)
            }
            .line(),
            "a 7 9"
        );
        for junk in [
            String::new(),
            "x 1".into(),
            "i 00 5".into(),
            "i".into(),
            format!("i {HEX}"),
            format!("i {HEX} -5"),
            format!("i {HEX} 5 7 alice"),
            format!("j {HEX} 5"),
            format!("j {HEX} 5 7"),
            format!("j {HEX} 5 +7 alice"),
            "j 00 5 7 alice".into(),
            "g 1".into(),
            "g 1 2".into(),
            "g x 2 alice".into(),
            "g 1 2x alice".into(),
            "s 1 2 alice".into(),
            "a".into(),
            "a 1".into(),
            "a 1 2 alice".into(),
            "a 1 2 ".into(),
            "a x 2".into(),
            "a 1 +2".into(),
            "a  1 2".into(),
            // No resync line any more.
            "r".into(),
            "r ".into(),
            "\u{0}".into(),
        ] {
            assert_eq!(Entry::from_line(&junk), None, "{junk:?}");
        }
        // Lines are not bounded (their reader checks the entry): a subject too long is read,
        // and refused by the bounds.
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
        for line in [format!("j {HEX} 5 7 {long}"), format!("g 1 2 {long}")] {
            let entry = Entry::from_line(&line).unwrap();
            assert_eq!(bounds().check(&entry), Err(Refusal::SubjectTooLong));
        }
        let longest = Entry::from_line(&format!("g 1 2 {}", &long[1..])).unwrap();
        assert_eq!(bounds().check(&longest), Ok(()));
    }

    #[test]
    fn pending_lines_escape_subjects_and_carry_a_tag() {
        let entry = Entry::Subject {
            subject: "mallory\ng 99999 99999 alice\r%0A\u{0}".into(),
            generation: Generation::new(7),
            until: t(9),
        };
        for keys in [Keys::new("p:"), authenticated("p:", 1)] {
            let line = keys.pending_line(&entry);
            assert!(!line.chars().any(char::is_control), "{line:?}");
            assert!(line.ends_with("g 7 9 mallory%0Ag 99999 99999 alice%0D%250A%00"));
            assert_eq!(keys.read_pending_line(&line), Ok(entry.clone()));
        }
        let keys = authenticated("p:", 1);
        let line = keys.pending_line(&entry);
        let (tag, _) = line.split_once(' ').unwrap();
        assert_eq!(tag.len(), TAG_TEXT_LEN);
        for forged in [
            "g 7 9 alice",
            "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX g 7 9 alice",
        ] {
            assert_eq!(
                keys.read_pending_line(forged),
                Err(Unread::Refused(Refusal::Unauthenticated))
            );
        }
        // Bound to the prefix (and to the ring).
        assert_eq!(
            authenticated("q:", 1).read_pending_line(&line),
            Err(Unread::Refused(Refusal::Unauthenticated))
        );
        assert_eq!(
            authenticated("p:", 2).read_pending_line(&line),
            Err(Unread::Refused(Refusal::Unauthenticated))
        );
        // A tagged line is not a line of a store without authentication.
        assert_eq!(
            Keys::new("p:").read_pending_line(&line),
            Err(Unread::Unknown)
        );
        for bad in [
            "g 7 9 a%",
            "g 7 9 a%4",
            "g 7 9 a%zz",
            "g 7 9 a%+1",
            "g 7 9 a\u{1}",
        ] {
            assert_eq!(
                Keys::new("p:").read_pending_line(bad),
                Err(Unread::Unknown),
                "{bad:?}"
            );
        }
        assert_eq!(
            unescape(&escape("a%b\u{7f}é\n")).as_deref(),
            Some("a%b\u{7f}é\n")
        );
    }

    #[test]
    fn legacy_pending_lines_are_plain_lines() {
        // An earlier version's line: the entry's line, neither escaped nor tagged (so `%`
        // stays as is). Whether it is read at all (only without authentication) is
        // `pending.rs`'s call.
        let keys = Keys::new("p:");
        assert_eq!(
            keys.read_legacy_pending_line("g 7 9 a%0A b"),
            Ok(Entry::Subject {
                subject: "a%0A b".into(),
                generation: Generation::new(7),
                until: t(9),
            })
        );
        assert_eq!(
            keys.read_legacy_pending_line(&format!("i {HEX} 5")),
            Ok(Entry::Session {
                id: id(),
                subject: None,
                until: t(5),
            })
        );
        for junk in ["r", "", "x 1 2"] {
            assert_eq!(
                keys.read_legacy_pending_line(junk),
                Err(Unread::Unknown),
                "{junk:?}"
            );
        }
        // A current, tagged line is not an earlier version's.
        let tagged = authenticated("p:", 1).pending_line(&Entry::Everyone {
            generation: Generation::new(7),
            until: t(9),
        });
        assert_eq!(keys.read_legacy_pending_line(&tagged), Err(Unread::Unknown));
    }

    #[test]
    fn revocations_map_to_entries_clamped_and_bounded() {
        let revocation = Revocation::Subject {
            subject: "alice".into(),
            generation: Generation::new(3),
            until: UnixTime::MAX,
        };
        let entry = Entry::from_revocation(&revocation, &bounds()).unwrap();
        assert_eq!(entry.until(), t(MAX_UNTIL));
        assert_eq!(
            entry.to_revocation(),
            Revocation::Subject {
                subject: "alice".into(),
                generation: Generation::new(3),
                until: t(MAX_UNTIL)
            }
        );
        let session = Revocation::Session {
            id: id(),
            subject: of("bob", 1),
            until: t(7),
        };
        assert_eq!(
            Entry::from_revocation(&session, &bounds()).map(|e| e.to_revocation()),
            Some(session)
        );
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
        assert_eq!(
            Entry::from_revocation(
                &Revocation::Session {
                    id: id(),
                    subject: Some(Subject::new(long.clone(), Generation::ZERO)),
                    until: t(7),
                },
                &bounds()
            ),
            None
        );
        assert_eq!(
            Entry::from_revocation(
                &Revocation::Subject {
                    subject: long,
                    generation: Generation::ZERO,
                    until: t(7),
                },
                &bounds()
            ),
            None
        );
        // The store-wide cutoff is carried, never dropped: clamped like the others.
        let everyone = Revocation::Everyone {
            generation: Generation::new(3),
            until: UnixTime::MAX,
        };
        let entry = Entry::from_revocation(&everyone, &bounds()).unwrap();
        assert_eq!(
            entry,
            Entry::Everyone {
                generation: Generation::new(3),
                until: t(MAX_UNTIL)
            }
        );
        assert_eq!(
            (entry.subject(), entry.generation()),
            (None, Some(Generation::new(3)))
        );
        assert_eq!(
            entry.to_revocation(),
            Revocation::Everyone {
                generation: Generation::new(3),
                until: t(MAX_UNTIL)
            }
        );
    }

    #[test]
    fn the_store_wide_cutoff_round_trips_with_and_without_authentication() {
        let entry = Entry::Everyone {
            generation: Generation::new(LARGE),
            until: t(1_700_000_000),
        };
        let body = format!("{LARGE} 1700000000");
        // Without authentication: the value as appended, and the pending file's line.
        let plain = Keys::new("p:");
        assert_eq!(plain.key(&entry), "p:rev:all");
        assert_eq!(plain.value(&entry), body);
        assert_eq!(
            plain.read_entry(b"p:rev:all", body.as_bytes(), &bounds()),
            Ok(entry.clone())
        );
        assert_eq!(plain.pending_line(&entry), format!("a {body}"));
        assert_eq!(
            plain.read_pending_line(&plain.pending_line(&entry)),
            Ok(entry.clone())
        );
        // With it: "<tag> <generation> <until>", the tag bound to the name.
        let keys = authenticated("p:", 1);
        let unauthenticated = Unread::Refused(Refusal::Unauthenticated);
        let stored = keys.value(&entry);
        let (tag, rest) = stored.split_once(' ').unwrap();
        assert_eq!(tag.len(), TAG_TEXT_LEN);
        assert_eq!(rest, body);
        assert_eq!(
            keys.read_entry(b"p:rev:all", stored.as_bytes(), &bounds()),
            Ok(entry.clone())
        );
        assert_eq!(
            keys.read_pending_line(&keys.pending_line(&entry)),
            Ok(entry.clone())
        );
        // Untagged, altered, moved to a subject's name, a subject's (same body) moved here,
        // another ring's.
        let subject_value = keys.value(&Entry::Subject {
            subject: "bob".into(),
            generation: Generation::new(LARGE),
            until: t(1_700_000_000),
        });
        assert_eq!(
            subject_value.split_once(' ').map(|(_, body)| body),
            Some(body.as_str())
        );
        let foreign_value = authenticated("p:", 2).value(&entry);
        for (key, value) in [
            (&b"p:rev:all"[..], body.clone()),
            (b"p:rev:all", format!("{tag} {} 1700000000", LARGE - 1)),
            (b"p:rev:all", format!("{tag} {LARGE} 1700000001")),
            (b"p:rev:sub:bob", stored.clone()),
            (b"p:rev:all", subject_value),
            (b"p:rev:all", foreign_value),
        ] {
            assert_eq!(
                keys.read_entry(key, value.as_bytes(), &bounds()),
                Err(unauthenticated),
                "{key:?} {value}"
            );
        }
        // Another application's prefix, with the same ring.
        assert_eq!(
            authenticated("q:", 1).read_entry(b"q:rev:all", stored.as_bytes(), &bounds()),
            Err(unauthenticated)
        );
        // A store without authentication does not take it for its own.
        assert_eq!(
            plain.read_entry(b"p:rev:all", stored.as_bytes(), &bounds()),
            Err(Unread::Unknown)
        );
    }

    #[test]
    fn authenticated_values_verify_and_nothing_else_does() {
        let keys = authenticated("p:", 1);
        let plain = Keys::new("p:");
        let unauthenticated = Unread::Refused(Refusal::Unauthenticated);
        let entry = Entry::Session {
            id: id(),
            subject: of("alice smith", 42),
            until: t(1_700_000_000),
        };
        let key = keys.key(&entry);
        let value = keys.value(&entry);
        let (tag, body) = value.split_once(' ').unwrap();
        assert_eq!(tag.len(), TAG_TEXT_LEN);
        assert_eq!(body, "1700000000 42 alice smith");
        assert_eq!(
            keys.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
            Ok(entry.clone())
        );
        // Untagged, tampered, moved to another session's key, tagged with another ring.
        let other_key = format!("p:rev:id:{}", "f".repeat(32));
        let foreign_value = authenticated("p:", 2).value(&entry);
        for (key, value) in [
            (key.as_str(), body.to_owned()),
            (key.as_str(), value.replace(" 42 ", " 43 ")),
            (key.as_str(), format!("{}A {body}", &tag[..42])),
            (key.as_str(), format!("{tag}{body}")),
            (other_key.as_str(), value.clone()),
            (key.as_str(), foreign_value),
        ] {
            assert_eq!(
                keys.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
                Err(unauthenticated),
                "{value}"
            );
        }
        // Another application's prefix, with the same ring.
        let other = authenticated("q:", 1);
        assert_eq!(
            other.read_entry(other.key(&entry).as_bytes(), value.as_bytes(), &bounds()),
            Err(unauthenticated)
        );
        // A store without authentication does not take tagged values for its own.
        assert_eq!(
            plain.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
            Err(Unread::Unknown)
        );
        // An anonymous session's value: "<tag> <until>".
        let anonymous = Entry::Session {
            id: id(),
            subject: None,
            until: t(1_700_000_000),
        };
        let value = keys.value(&anonymous);
        assert_eq!(value.split_once(' ').map(|(_, b)| b), Some("1700000000"));
        assert_eq!(
            keys.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
            Ok(anonymous)
        );
        for (key, value) in [
            (key.as_str(), "1700000000"),
            (other_key.as_str(), value.as_str()),
        ] {
            assert_eq!(
                keys.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
                Err(unauthenticated),
                "{key} {value}"
            );
        }
        // A subject's cutoff: "<tag> <generation> <until>".
        let bob = Entry::Subject {
            subject: "bob".into(),
            generation: Generation::new(7),
            until: t(9),
        };
        let stored = keys.value(&bob);
        let (tag, body) = stored.split_once(' ').unwrap();
        assert_eq!(tag.len(), TAG_TEXT_LEN);
        assert_eq!(body, "7 9");
        assert_eq!(
            keys.read_entry(b"p:rev:sub:bob", stored.as_bytes(), &bounds()),
            Ok(bob.clone())
        );
        // Altered, moved to another subject's name, to the store-wide cutoff's, untagged.
        for (key, value) in [
            (&b"p:rev:sub:bob"[..], format!("{tag} 8 9")),
            (b"p:rev:sub:carol", stored.clone()),
            (b"p:rev:all", stored.clone()),
            (b"p:rev:sub:bob", "7 9".to_owned()),
        ] {
            assert_eq!(
                keys.read_entry(key, value.as_bytes(), &bounds()),
                Err(unauthenticated),
                "{key:?} {value}"
            );
        }
        assert_eq!(
            other.read_entry(b"q:rev:sub:bob", stored.as_bytes(), &bounds()),
            Err(unauthenticated)
        );
        // Without authentication, nothing is tagged.
        assert_eq!(plain.value(&bob), "7 9");
    }

    #[test]
    fn a_tag_of_an_older_key_still_verifies_after_a_rotation() {
        let (old, new) = (secret(1), secret(2));
        let before = authenticated("p:", 1);
        let rotated = sealed_session::KeyRing::from_keys([new, old]).unwrap();
        let after = Keys::new("p:").authenticated(Some(rotated.revocation_mac()));
        let unauthenticated = Err(Unread::Refused(Refusal::Unauthenticated));
        let entry = Entry::Subject {
            subject: "bob".into(),
            generation: Generation::new(7),
            until: t(9),
        };
        let key = before.key(&entry);
        let value = before.value(&entry);
        assert_eq!(
            after.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
            Ok(entry.clone())
        );
        assert_eq!(
            after.read_pending_line(&before.pending_line(&entry)),
            Ok(entry.clone())
        );
        assert_ne!(after.value(&entry), value, "the new primary tags");
        assert_eq!(
            before.read_entry(key.as_bytes(), after.value(&entry).as_bytes(), &bounds()),
            unauthenticated,
            "a ring without the new key refuses its tags"
        );
        assert_eq!(
            before.read_pending_line(&after.pending_line(&entry)),
            unauthenticated
        );
    }

    #[test]
    fn out_of_bounds_entries_are_refused() {
        let now = TrustBounds::at(t(1_800_000_000));
        let genuine = Generation::at(t(1_800_000_000).to_datetime());
        let ahead = now.max_generation().next();
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
        let subject = |subject: &str, generation, until| Entry::Subject {
            subject: subject.into(),
            generation,
            until: t(until),
        };
        let session = |subject: Option<Subject>, until| Entry::Session {
            id: id(),
            subject,
            until: t(until),
        };
        let everyone = |generation, until| Entry::Everyone {
            generation,
            until: t(until),
        };
        let max = Generation::new(u64::MAX);
        // Refused whether tagged or not: a valid tag does not lift the bounds.
        for keys in [Keys::new("p:"), authenticated("p:", 1)] {
            for (entry, refusal) in [
                (
                    subject("alice", max, 1_800_000_100),
                    Refusal::GenerationAhead,
                ),
                (
                    subject("alice", ahead, 1_800_000_100),
                    Refusal::GenerationAhead,
                ),
                (
                    session(Some(Subject::new("alice", max)), 1_800_000_100),
                    Refusal::GenerationAhead,
                ),
                (
                    subject("alice", Generation::new(1), 9_999_999_999),
                    Refusal::DeadlineAhead,
                ),
                (session(None, 9_999_999_999), Refusal::DeadlineAhead),
                (
                    subject(&long, Generation::new(1), 1_800_000_100),
                    Refusal::SubjectTooLong,
                ),
                (
                    session(
                        Some(Subject::new(long.clone(), Generation::new(1))),
                        1_800_000_100,
                    ),
                    Refusal::SubjectTooLong,
                ),
                // The store-wide cutoff, past the bound.
                (everyone(ahead, 1_800_000_100), Refusal::GenerationAhead),
                (everyone(max, 1_800_000_100), Refusal::GenerationAhead),
                (everyone(genuine, 9_999_999_999), Refusal::DeadlineAhead),
            ] {
                assert_eq!(
                    keys.read_entry(
                        keys.key(&entry).as_bytes(),
                        keys.value(&entry).as_bytes(),
                        &now
                    ),
                    Err(Unread::Refused(refusal)),
                    "{entry:?}"
                );
            }
            for entry in [
                subject("alice", genuine, 1_800_000_100),
                subject("alice", now.max_generation(), 1_800_000_100),
                session(Some(Subject::new("alice", genuine)), 1_800_000_100),
                everyone(genuine, 1_800_000_100),
                everyone(now.max_generation(), 1_800_000_100),
            ] {
                assert_eq!(
                    keys.read_entry(
                        keys.key(&entry).as_bytes(),
                        keys.value(&entry).as_bytes(),
                        &now
                    ),
                    Ok(entry.clone())
                );
            }
        }
        // As the values are written, by hand.
        let keys = Keys::new("p:");
        assert_eq!(
            keys.read_entry(b"p:rev:all", format!("{ahead} 1800000100").as_bytes(), &now),
            Err(Unread::Refused(Refusal::GenerationAhead))
        );
        assert_eq!(
            keys.read_entry(
                b"p:rev:sub:alice",
                format!("{} 1800000100", u64::MAX).as_bytes(),
                &now
            ),
            Err(Unread::Refused(Refusal::GenerationAhead))
        );
    }
}

/// The bounds against what a genuine instance writes: [`TrustBounds::check`] lives here.
#[cfg(test)]
mod bounds_tests {
    use sealed_session::SessionId;
    use sealed_session::revocation::{
        Cutoff, MemoryRevocationStore, Revocation, RevocationStore, Subject,
    };

    use super::*;

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    use sealed_session::codec::MAX_CLOCK_SKEW;

    use crate::trust::{Refusal, STEPS_SECS, TrustBounds};

    fn subject(generation: Generation, until: UnixTime) -> Entry {
        Entry::Subject {
            subject: "alice".into(),
            generation,
            until,
        }
    }

    /// What a memory store at `now` records for a "log out everywhere" of a subject whose
    /// cutoff is `current`, with the clock skew allowance `skew`.
    fn everywhere(now: UnixTime, skew: time::Duration, current: Generation) -> Generation {
        let store = MemoryRevocationStore::new();
        let until = now.saturating_add_secs(60);
        store.apply(
            &Revocation::Subject {
                subject: "alice".into(),
                generation: current,
                until,
            },
            now,
        );
        let above = Generation::everywhere_at(now.to_datetime(), skew);
        match store.advance("alice", Cutoff::Everything { above }, until, now) {
            Ok(Some(Revocation::Subject { generation, .. })) => generation,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_a_genuine_instance_writes_is_accepted_and_nothing_beyond() {
        let bounds = TrustBounds::at(NOW);
        let day = 86_400;
        // An instance a day ahead of us, logging out everywhere with the longest timeout and
        // skew allowance the core accepts, twice in a row (the second lands above the first).
        let ahead = NOW.saturating_add_secs(day);
        let first = everywhere(ahead, MAX_CLOCK_SKEW, Generation::ZERO);
        let second = everywhere(ahead, MAX_CLOCK_SKEW, first);
        assert!(second > first);
        let genuine = subject(second, ahead.saturating_add_secs(400 * day + day));
        assert_eq!(bounds.check(&genuine), Ok(()));
        // And a sign-in there, past that cutoff.
        let stamp = Generation::authenticated_at(ahead.to_datetime(), second);
        assert_eq!(bounds.check(&subject(stamp, NOW)), Ok(()));
        // Two skews ahead, plus more than the hour's margin of steps: no instance writes it.
        let beyond = Generation::at(
            NOW.saturating_add_secs(2 * day + STEPS_SECS + 1)
                .to_datetime(),
        );
        assert_eq!(
            bounds.check(&subject(beyond, NOW)),
            Err(Refusal::GenerationAhead)
        );
        assert_eq!(
            bounds.check(&subject(bounds.max_generation().next(), NOW)),
            Err(Refusal::GenerationAhead)
        );
        assert_eq!(bounds.check(&subject(bounds.max_generation(), NOW)), Ok(()));
        assert_eq!(
            bounds.check(&subject(Generation::new(u64::MAX), NOW)),
            Err(Refusal::GenerationAhead)
        );
        assert_eq!(
            bounds.check(&subject(
                Generation::ZERO,
                NOW.saturating_add_secs(402 * day + 1)
            )),
            Err(Refusal::DeadlineAhead)
        );
        let session = |generation| Entry::Session {
            id: SessionId::from_bytes([1; 16]),
            subject: Some(Subject::new("bob", generation)),
            until: NOW,
        };
        assert_eq!(bounds.check(&session(Generation::ZERO)), Ok(()));
        assert_eq!(
            bounds.check(&session(Generation::new(u64::MAX))),
            Err(Refusal::GenerationAhead)
        );
        let long = Entry::Subject {
            subject: "x".repeat(MAX_SUBJECT_LEN + 1),
            generation: Generation::ZERO,
            until: NOW,
        };
        assert_eq!(bounds.check(&long), Err(Refusal::SubjectTooLong));
        // The store-wide cutoff is bounded the same way.
        let everyone = |generation| Entry::Everyone {
            generation,
            until: NOW,
        };
        assert_eq!(bounds.check(&everyone(second)), Ok(()));
        assert_eq!(
            bounds.check(&everyone(beyond)),
            Err(Refusal::GenerationAhead)
        );
        assert_eq!(
            bounds.check(&Entry::Everyone {
                generation: second,
                until: NOW.saturating_add_secs(402 * day + 1),
            }),
            Err(Refusal::DeadlineAhead)
        );
    }
}
