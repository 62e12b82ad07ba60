//! What goes into Redis: key names, values and the messages on the events channel.
//!
//! With the default prefix `sealed-session:`:
//!
//! ```text
//! sealed-session:rev:id:<32 hex digits>  ->  "<until>"                          EXAT <until>
//!                                             (an anonymous session)
//!                                         ->  "<until> <generation> <subject>"  EXAT <until>
//!                                             (a session of a subject)
//! sealed-session:rev:sub:<subject>       ->  "<generation> <until>"             EXAT <until>
//! channel sealed-session:rev:events      <-  "i <32 hex> <until>"
//!                                            "j <32 hex> <until> <generation> <subject>"
//!                                            "g <generation> <until> <subject>"
//!                                            "r"  (a repair happened: reload everything)
//! sealed-session:rev:epoch               ->  a random token (no expiry): gone or changed
//!                                            means Redis lost data
//! ```
//!
//! Times are unix seconds and generations plain numbers, in decimal (digits only). The subject
//! comes last in its value or message, so it may hold spaces; keys hold it as is (Redis keys
//! are binary-safe). Subjects longer than [`MAX_SUBJECT_LEN`] bytes are neither written nor
//! read.

use sealed_session::{Generation, Revocation, SessionId, Subject, UnixTime};

/// Deadlines are clamped here (2106): the memory store keeps 32-bit deadlines, saturating to
/// "forever", and `EXAT` takes any of them.
pub(crate) const MAX_UNTIL: u64 = u32::MAX as u64;

/// The longest subject (in bytes) written to or read from Redis: what is parsed stays bounded.
pub(crate) const MAX_SUBJECT_LEN: usize = 1024;

/// The names derived from one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    /// `<prefix>rev:id:`
    session: String,
    /// `<prefix>rev:sub:`
    subject: String,
    /// `<prefix>rev:events`
    pub(crate) channel: String,
    /// `<prefix>rev:epoch`: a random token the first full load after Redis lost everything
    /// writes; a change or a disappearance means Redis lost data.
    pub(crate) epoch: String,
    /// `<prefix>rev:*` with the prefix's glob characters escaped, for `SCAN MATCH`.
    pub(crate) pattern: String,
}

/// One revocation as Redis holds it: the core's [`Revocation`], with its deadline clamped to
/// [`MAX_UNTIL`] and its subject within [`MAX_SUBJECT_LEN`].
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
}

/// A message on the events channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Revoked(Entry),
    /// Another instance wrote entries Redis had lost, without a message each: reload.
    Resync,
}

impl Entry {
    /// The entry for `revocation`; `None` if Redis can't carry it (a subject longer than
    /// [`MAX_SUBJECT_LEN`], or a kind of revocation this version does not know).
    pub(crate) fn from_revocation(revocation: &Revocation) -> Option<Self> {
        let clamp = |until: UnixTime| UnixTime::from_secs(until.secs().min(MAX_UNTIL));
        let entry = match revocation {
            Revocation::Session { id, subject, until } => Self::Session {
                id: *id,
                subject: subject.clone(),
                until: clamp(*until),
            },
            Revocation::Subject {
                subject,
                generation,
                until,
            } => Self::Subject {
                subject: subject.clone(),
                generation: *generation,
                until: clamp(*until),
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
        }
    }

    /// When Redis drops it.
    pub(crate) fn until(&self) -> UnixTime {
        match self {
            Self::Session { until, .. } | Self::Subject { until, .. } => *until,
        }
    }

    /// The subject's name, if it has one.
    pub(crate) fn subject(&self) -> Option<&str> {
        match self {
            Self::Session { subject, .. } => subject.as_ref().map(Subject::name),
            Self::Subject { subject, .. } => Some(subject),
        }
    }
}

/// The value of a session's key: `"<until>"`, or for a session of a subject
/// `"<until> <generation> <subject>"`.
pub(crate) fn session_value(subject: Option<&Subject>, until: UnixTime) -> String {
    match subject {
        None => until.to_string(),
        Some(subject) => format!("{until} {} {}", subject.generation(), subject.name()),
    }
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        let mut pattern = String::with_capacity(prefix.len() + 5);
        for c in prefix.chars() {
            // Redis glob syntax (https://redis.io/docs/latest/commands/keys/): `*`, `?`, `[...]`,
            // and `\` escapes the next character.
            if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str("rev:*");
        Self {
            prefix: prefix.to_owned(),
            session: format!("{prefix}rev:id:"),
            subject: format!("{prefix}rev:sub:"),
            channel: format!("{prefix}rev:events"),
            epoch: format!("{prefix}rev:epoch"),
            pattern,
        }
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
        }
    }

    /// Reads a key found by `SCAN` and its value; `None` for anything not written by us.
    pub(crate) fn parse_entry(&self, key: &[u8], value: &[u8]) -> Option<Entry> {
        let key = std::str::from_utf8(key).ok()?;
        let value = std::str::from_utf8(value).ok()?;
        if let Some(hex) = key.strip_prefix(self.session.as_str()) {
            let id = hex.parse().ok()?;
            let Some((until, rest)) = value.split_once(' ') else {
                return Some(Entry::Session {
                    id,
                    subject: None,
                    until: time(value)?,
                });
            };
            let (generation, subject) = rest.split_once(' ')?;
            Some(Entry::Session {
                id,
                subject: Some(Subject::new(bounded(subject)?, generation_of(generation)?)),
                until: time(until)?,
            })
        } else {
            let subject = bounded(key.strip_prefix(self.subject.as_str())?)?;
            let (generation, until) = value.split_once(' ')?;
            Some(Entry::Subject {
                subject: subject.to_owned(),
                generation: generation_of(generation)?,
                until: time(until)?,
            })
        }
    }
}

impl Message {
    pub(crate) fn encode(&self) -> String {
        match self {
            Self::Revoked(Entry::Session {
                id,
                subject: None,
                until,
            }) => format!("i {id} {until}"),
            Self::Revoked(Entry::Session {
                id,
                subject: Some(subject),
                until,
            }) => format!("j {id} {until} {} {}", subject.generation(), subject.name()),
            Self::Revoked(Entry::Subject {
                subject,
                generation,
                until,
            }) => format!("g {generation} {until} {subject}"),
            Self::Resync => "r".to_owned(),
        }
    }

    /// `None` for a payload this version does not know (e.g. from a newer one).
    pub(crate) fn decode(payload: &[u8]) -> Option<Self> {
        let payload = std::str::from_utf8(payload).ok()?;
        if payload == "r" {
            return Some(Self::Resync);
        }
        let (kind, rest) = payload.split_once(' ')?;
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
                let subject = bounded(parts.next()?)?;
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
                let subject = bounded(parts.next()?)?.to_owned();
                Entry::Subject {
                    subject,
                    generation,
                    until,
                }
            }
            _ => return None,
        };
        Some(Self::Revoked(entry))
    }
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

fn bounded(subject: &str) -> Option<&str> {
    (subject.len() <= MAX_SUBJECT_LEN).then_some(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn names_are_namespaced() {
        let keys = Keys::new("app:");
        assert_eq!(keys.session_key(id()), format!("app:rev:id:{HEX}"));
        assert_eq!(keys.subject_key("alice smith"), "app:rev:sub:alice smith");
        assert_eq!(keys.channel, "app:rev:events");
        assert_eq!(keys.pattern, "app:rev:*");
        assert_eq!(Keys::new(r"a*b?[c]\").pattern, r"a\*b\?\[c\]\\rev:*");
    }

    #[test]
    fn entries_read_back() {
        let keys = Keys::new("p:");
        let session_key = keys.session_key(id());
        assert_eq!(
            keys.parse_entry(session_key.as_bytes(), b"1700000000"),
            Some(Entry::Session {
                id: id(),
                subject: None,
                until: t(1_700_000_000)
            })
        );
        assert_eq!(
            keys.parse_entry(session_key.as_bytes(), b"1700000000 42 alice smith"),
            Some(Entry::Session {
                id: id(),
                subject: of("alice smith", 42),
                until: t(1_700_000_000)
            })
        );
        assert_eq!(
            keys.parse_entry(b"p:rev:sub:a b", b"10 20"),
            Some(Entry::Subject {
                subject: "a b".into(),
                generation: Generation::new(10),
                until: t(20)
            })
        );
        // What the writer writes is what a load reads.
        for entry in [
            Entry::Session {
                id: id(),
                subject: None,
                until: t(5),
            },
            Entry::Session {
                id: id(),
                subject: of(" x y ", u64::MAX),
                until: t(MAX_UNTIL),
            },
        ] {
            let Entry::Session { subject, until, .. } = &entry else {
                unreachable!()
            };
            let value = session_value(subject.as_ref(), *until);
            assert_eq!(
                keys.parse_entry(keys.key(&entry).as_bytes(), value.as_bytes()),
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
            (b"p:rev:sub:alice", b"10"),
            (b"p:rev:sub:alice", b"10 -20"),
            (b"p:rev:sub:alice", b"10 20 30"),
            (b"p:rev:sub:alice", b"99999999999999999999 20"),
            (long_key.as_bytes(), b"10 20"),
            (b"p:rev:other", b"1"),
            (b"q:rev:sub:alice", b"10 20"),
            (b"p:rev:sub:\xff", b"10 20"),
        ] {
            assert_eq!(keys.parse_entry(key, value), None, "{key:?} {value:?}");
        }
        let longest = "x".repeat(MAX_SUBJECT_LEN);
        assert!(
            keys.parse_entry(format!("p:rev:sub:{longest}").as_bytes(), b"1 2")
                .is_some()
        );
    }

    #[test]
    fn messages_round_trip() {
        for message in [
            Message::Revoked(Entry::Session {
                id: id(),
                subject: None,
                until: t(5),
            }),
            Message::Revoked(Entry::Session {
                id: id(),
                subject: of("user 42: x", 1_900_000_000_000_000),
                until: t(5),
            }),
            Message::Revoked(Entry::Session {
                id: id(),
                subject: of("", 0),
                until: t(5),
            }),
            Message::Revoked(Entry::Subject {
                subject: "user 42: x".into(),
                generation: Generation::new(u64::MAX),
                until: t(9),
            }),
            Message::Revoked(Entry::Subject {
                subject: String::new(),
                generation: Generation::new(3),
                until: t(9),
            }),
            Message::Resync,
        ] {
            assert_eq!(
                Message::decode(message.encode().as_bytes()),
                Some(message.clone())
            );
        }
        let session = |subject| {
            Message::Revoked(Entry::Session {
                id: id(),
                subject,
                until: t(5),
            })
            .encode()
        };
        assert_eq!(session(None), format!("i {HEX} 5"));
        assert_eq!(session(of("a b", 7)), format!("j {HEX} 5 7 a b"));
        assert_eq!(
            Message::Revoked(Entry::Subject {
                subject: "a b".into(),
                generation: Generation::new(7),
                until: t(9)
            })
            .encode(),
            "g 7 9 a b"
        );
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
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
            format!("j {HEX} 5 7 {long}"),
            "g 1".into(),
            "g 1 2".into(),
            "g x 2 alice".into(),
            "g 1 2x alice".into(),
            format!("g 1 2 {long}"),
            "s 1 2 alice".into(),
            "r ".into(),
            "\u{0}".into(),
        ] {
            assert_eq!(Message::decode(junk.as_bytes()), None, "{junk:?}");
        }
        assert!(Message::decode(format!("g 1 2 {}", &long[1..]).as_bytes()).is_some());
    }

    #[test]
    fn revocations_map_to_entries_clamped_and_bounded() {
        let revocation = Revocation::Subject {
            subject: "alice".into(),
            generation: Generation::new(3),
            until: UnixTime::MAX,
        };
        let entry = Entry::from_revocation(&revocation).unwrap();
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
            Entry::from_revocation(&session).map(|e| e.to_revocation()),
            Some(session)
        );
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
        assert_eq!(
            Entry::from_revocation(&Revocation::Session {
                id: id(),
                subject: Some(Subject::new(long.clone(), Generation::ZERO)),
                until: t(7),
            }),
            None
        );
        assert_eq!(
            Entry::from_revocation(&Revocation::Subject {
                subject: long,
                generation: Generation::ZERO,
                until: t(7),
            }),
            None
        );
    }
}
