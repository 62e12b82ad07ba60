//! What goes into Redis: key names, values and the messages on the events channel.
//!
//! With the default prefix `sealed-session:`:
//!
//! ```text
//! sealed-session:rev:id:<32 hex digits>  ->  "<until>"           EXAT <until>
//! sealed-session:rev:sub:<subject>       ->  "<cutoff> <until>"  EXAT <until>
//! channel sealed-session:rev:events      <-  "i <32 hex> <until>"
//!                                            "s <cutoff> <until> <subject>"
//!                                            "r"  (a repair happened: reload everything)
//! ```
//!
//! Times are unix seconds in decimal. The subject comes last in its message, so it may hold
//! spaces; keys hold it as is (Redis keys are binary-safe).

use sealed_session::SessionId;

/// Deadlines are clamped here (2106): the memory store keeps 32-bit deadlines, saturating to
/// "forever", and Lua numbers stay exact.
pub(crate) const MAX_UNTIL: u64 = u32::MAX as u64;

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
    /// `<prefix>rev:*` with the prefix's glob characters escaped, for `SCAN MATCH`.
    pub(crate) pattern: String,
}

/// One revocation read from Redis or from the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Revocation {
    Session {
        id: SessionId,
        until: u64,
    },
    Subject {
        subject: String,
        cutoff: u64,
        until: u64,
    },
}

/// A message on the events channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Revoked(Revocation),
    /// Another instance wrote entries Redis had lost, without a message each: reload.
    Resync,
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

    /// Reads a key found by `SCAN` and its value; `None` for anything not written by us.
    pub(crate) fn parse_entry(&self, key: &[u8], value: &[u8]) -> Option<Revocation> {
        let key = std::str::from_utf8(key).ok()?;
        let value = std::str::from_utf8(value).ok()?;
        if let Some(hex) = key.strip_prefix(self.session.as_str()) {
            Some(Revocation::Session {
                id: hex.parse().ok()?,
                until: value.parse().ok()?,
            })
        } else {
            let subject = key.strip_prefix(self.subject.as_str())?;
            let (cutoff, until) = value.split_once(' ')?;
            Some(Revocation::Subject {
                subject: subject.to_owned(),
                cutoff: cutoff.parse().ok()?,
                until: until.parse().ok()?,
            })
        }
    }
}

impl Message {
    pub(crate) fn encode(&self) -> String {
        match self {
            Self::Revoked(Revocation::Session { id, until }) => format!("i {id} {until}"),
            Self::Revoked(Revocation::Subject {
                subject,
                cutoff,
                until,
            }) => format!("s {cutoff} {until} {subject}"),
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
        match kind {
            "i" => {
                let (id, until) = rest.split_once(' ')?;
                Some(Self::Revoked(Revocation::Session {
                    id: id.parse().ok()?,
                    until: until.parse().ok()?,
                }))
            }
            "s" => {
                let mut parts = rest.splitn(3, ' ');
                let cutoff = parts.next()?.parse().ok()?;
                let until = parts.next()?.parse().ok()?;
                let subject = parts.next()?.to_owned();
                Some(Self::Revoked(Revocation::Subject {
                    subject,
                    cutoff,
                    until,
                }))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SessionId {
        SessionId::from_bytes(*b"0123456789abcdef")
    }

    #[test]
    fn names_are_namespaced() {
        let keys = Keys::new("app:");
        assert_eq!(
            keys.session_key(id()),
            "app:rev:id:30313233343536373839616263646566"
        );
        assert_eq!(keys.subject_key("alice smith"), "app:rev:sub:alice smith");
        assert_eq!(keys.channel, "app:rev:events");
        assert_eq!(keys.pattern, "app:rev:*");
        assert_eq!(Keys::new(r"a*b?[c]\").pattern, r"a\*b\?\[c\]\\rev:*");
    }

    #[test]
    fn entries_read_back() {
        let keys = Keys::new("p:");
        assert_eq!(
            keys.parse_entry(keys.session_key(id()).as_bytes(), b"1700000000"),
            Some(Revocation::Session {
                id: id(),
                until: 1_700_000_000
            })
        );
        assert_eq!(
            keys.parse_entry(b"p:rev:sub:a b", b"10 20"),
            Some(Revocation::Subject {
                subject: "a b".into(),
                cutoff: 10,
                until: 20
            })
        );
        for (key, value) in [
            (&b"p:rev:id:nothex"[..], &b"1"[..]),
            (b"p:rev:id:30313233343536373839616263646566", b"soon"),
            (b"p:rev:sub:alice", b"10"),
            (b"p:rev:other", b"1"),
            (b"q:rev:sub:alice", b"10 20"),
            (b"p:rev:sub:\xff", b"10 20"),
        ] {
            assert_eq!(keys.parse_entry(key, value), None, "{key:?}");
        }
    }

    #[test]
    fn messages_round_trip() {
        for message in [
            Message::Revoked(Revocation::Session { id: id(), until: 5 }),
            Message::Revoked(Revocation::Subject {
                subject: "user 42: x".into(),
                cutoff: 3,
                until: 9,
            }),
            Message::Revoked(Revocation::Subject {
                subject: String::new(),
                cutoff: 3,
                until: 9,
            }),
            Message::Resync,
        ] {
            assert_eq!(
                Message::decode(message.encode().as_bytes()),
                Some(message.clone())
            );
        }
        assert_eq!(
            Message::encode(&Message::Revoked(Revocation::Session {
                id: id(),
                until: 5
            })),
            "i 30313233343536373839616263646566 5"
        );
        for junk in ["", "x 1", "i 00 5", "i", "s 1", "s 1 2", "r ", "\u{0}"] {
            assert_eq!(Message::decode(junk.as_bytes()), None, "{junk:?}");
        }
    }
}
