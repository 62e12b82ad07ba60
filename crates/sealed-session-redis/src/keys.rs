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
//!                                             (a subject's cutoff)
//! sealed-session:rev:all                 ->  "<generation> <until>"             EXAT <until>
//!                                             (the store-wide cutoff: every subject's)
//! channel sealed-session:rev:events      <-  "2 <nonce: 32 hex> <sent> " followed by
//!                                            "i <32 hex> <until>"
//!                                            "j <32 hex> <until> <generation> <subject>"
//!                                            "g <generation> <until> <subject>"
//!                                            "a <generation> <until>"
//!                                            "r"  (a repair happened: reload everything)
//! sealed-session:rev:epoch               ->  a random token (no expiry): gone or changed
//!                                            means Redis lost data
//! ```
//!
//! A message starts with its version (`2`), a random nonce and the sender's unix time: a
//! receiver refuses one whose nonce it saw, or sent too long ago (`trust::Recent`). Times are
//! unix seconds and generations plain numbers, in decimal (digits only). The subject
//! comes last in its value or message, so it may hold spaces; keys hold it as is (Redis keys
//! are binary-safe). Subjects longer than [`MAX_SUBJECT_LEN`] bytes are neither written nor
//! read. The two cutoffs (`rev:sub:<subject>` and `rev:all`, the store-wide one a store at its
//! total limit raises instead of a new subject's: [`Revocation::Everyone`]) are written by the
//! same keep-the-larger script ([`SUBJECT_SCRIPT`]).
//!
//! # Authenticated values and messages
//! With [`authenticate_with`](crate::RedisStoreBuilder::authenticate_with), every value and
//! message above (its *body*) is preceded by a tag and one space:
//!
//! ```text
//! "<tag> <body>"     tag: 43 characters, the unpadded base64url of
//!                    HMAC-SHA256(the key ring's revocation key, data)
//! data (entries):    "sealed-session-redis v1 entry\0"   | u32 BE length of the key | key     | body
//! data (messages):   "sealed-session-redis v2 message\0" | u32 BE length of the channel | channel | body
//! data (pending):    "sealed-session-redis v2 pending\0" | u32 BE length of the prefix | prefix | line
//! ```
//!
//! The key (or channel) name is in the data, prefix included, so a tagged value can't be moved
//! to another session's or subject's key (nor a subject's cutoff to `rev:all`, or back), nor a
//! message to another application's channel. The HMAC key is
//! [`KeyRing::revocation_mac`](sealed_session::KeyRing::revocation_mac): the primary tags,
//! every key of the ring verifies. Untagged values and messages (or tagged ones read by a
//! store without authentication) are refused.
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
/// What the tag of a message authenticates, before the channel name: v2 messages carry a
/// [`Stamp`] (v1 ones, without, could be replayed forever).
const MESSAGE_LABEL: &[u8] = b"sealed-session-redis v2 message\0";
/// What the tag of a pending file's line authenticates, before the key prefix.
const PENDING_LABEL: &[u8] = b"sealed-session-redis v2 pending\0";
/// The version in front of a message's body.
const MESSAGE_VERSION: &str = "2";

/// Keeps the winning value of a cutoff, atomically, so that "log out everywhere" (and "sign
/// out my other devices") on one subject from several instances at once converge on the
/// larger generation whatever the order Redis runs them in (every instance also merges the
/// messages by the same max rule). The store-wide cutoff (`<prefix>rev:all`) is written the
/// same way.
///
/// KEYS[1]: the subject's key, or the store-wide one. ARGV[1]: the generation, ARGV[2]: the
/// deadline (unix seconds), both in decimal; ARGV[3]: the tag, or empty without
/// authentication; ARGV[4] and ARGV[5]: the largest generation and the latest deadline the
/// writer accepts ([`TrustBounds`]). The value is stored as "<generation> <deadline>" (with a
/// tag: "<tag> <generation> <deadline>") and the key expires at the deadline. Numbers are
/// compared as digit strings (longer is larger, then lexicographically), never converted to
/// Lua's doubles: generations (microseconds) are exact to the last digit at any size.
///
/// A value held beyond those bounds is replaced whatever it says: no instance wrote it (a
/// forged `u64::MAX` would otherwise stay for good, every genuine write losing to it).
///
/// Without a tag, the larger generation and the later deadline are kept, each on its own. With
/// one, the script can't make a tag (the key stays in the application), so it keeps one of
/// the two values whole, tag and all: the larger generation, then the later deadline on a tie
/// (the new one on an exact tie). That is still safe: the value kept is one a genuine instance
/// wrote for its own advance (or store-wide cutoff), whose deadline is that instance's
/// horizon, long enough for every session stamped before that advance to have expired. Every
/// session the other value refuses carries a smaller generation (or the same), so it was
/// stamped before the kept advance too: it is refused by the kept value, for as long as it can
/// live. (This holds with every
/// instance on the same absolute timeout and clock skew allowance, as a fleet sharing keys is.)
pub(crate) const SUBJECT_SCRIPT: &str = r"
local function larger(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local function canonical(n)
  return (string.gsub(n, '^0+(%d)', '%1'))
end
local generation, expiry, tag = canonical(ARGV[1]), canonical(ARGV[2]), ARGV[3]
local max_generation, max_expiry = canonical(ARGV[4]), canonical(ARGV[5])
local value = nil
local old = redis.call('GET', KEYS[1])
if old then
  local t, g, u = string.match(old, '^([%w_-]+) (%d+) (%d+)$')
  if not t then
    g, u = string.match(old, '^(%d+) (%d+)$')
  end
  if g then
    g, u = canonical(g), canonical(u)
    if larger(g, max_generation) or larger(u, max_expiry) then
      g = nil
    end
  end
  if g then
    if tag == '' then
      if larger(g, generation) then generation = g end
      if larger(u, expiry) then expiry = u end
    elseif larger(g, generation) or (g == generation and larger(u, expiry)) then
      value, expiry = old, u
    end
  end
end
if not value then
  value = generation .. ' ' .. expiry
  if tag ~= '' then value = tag .. ' ' .. value end
end
redis.call('SET', KEYS[1], value, 'EXAT', expiry)
return 1
";

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
    /// `<prefix>rev:events`
    pub(crate) channel: String,
    /// `<prefix>rev:epoch`: a random token the first full load after Redis lost everything
    /// writes; a change or a disappearance means Redis lost data.
    pub(crate) epoch: String,
    /// `<prefix>rev:*` with the prefix's glob characters escaped, for `SCAN MATCH`.
    pub(crate) pattern: String,
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

/// A message on the events channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Revoked(Entry),
    /// Another instance wrote entries Redis had lost, without a message each: reload.
    Resync,
}

/// What makes a message fresh, under its tag: a random nonce, and the sender's time. A
/// receiver refuses one it saw already, or sent too long ago (`trust::Recent`), so a captured
/// message can't be played again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) nonce: [u8; 16],
    pub(crate) sent: UnixTime,
}

impl Stamp {
    /// A stamp with a fresh random nonce, sent at `now`; `None` if the system's random number
    /// generator fails.
    pub(crate) fn new(now: UnixTime) -> Option<Self> {
        let nonce = *SessionId::random().ok()?.as_bytes();
        Some(Self { nonce, sent: now })
    }
}

/// Why a value or message read from Redis gives no entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// Not in a shape this version writes (another program's key under the prefix, a newer
    /// version's message): skipped quietly.
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
            everyone: format!("{prefix}rev:all"),
            channel: format!("{prefix}rev:events"),
            epoch: format!("{prefix}rev:epoch"),
            pattern,
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

    /// The value of a session's key: `"<until>"`, or for a session of a subject
    /// `"<until> <generation> <subject>"`; tagged if authentication is on.
    pub(crate) fn session_value(
        &self,
        id: SessionId,
        subject: Option<&Subject>,
        until: UnixTime,
    ) -> String {
        let body = match subject {
            None => until.to_string(),
            Some(subject) => format!("{until} {} {}", subject.generation(), subject.name()),
        };
        self.tagged(ENTRY_LABEL, &self.session_key(id), body)
    }

    /// The tag of a cutoff's value `"<generation> <until>"` under `key` (a subject's key, or
    /// [`Keys::everyone`]): the script's ARGV[3], or an empty string if authentication is off.
    pub(crate) fn cutoff_tag(&self, key: &str, generation: Generation, until: UnixTime) -> String {
        self.mac.as_ref().map_or_else(String::new, |mac| {
            tag_text(mac, ENTRY_LABEL, key, &format!("{generation} {until}"))
        })
    }

    /// A message for the events channel: `"2 <nonce, 32 hex digits> <sent> <body>"`, tagged if
    /// authentication is on.
    pub(crate) fn message(&self, message: &Message, stamp: &Stamp) -> String {
        let nonce = SessionId::from_bytes(stamp.nonce);
        let body = format!(
            "{MESSAGE_VERSION} {nonce} {} {}",
            stamp.sent,
            message.encode()
        );
        self.tagged(MESSAGE_LABEL, &self.channel, body)
    }

    /// Reads a key found by `SCAN` and its value, checked against `bounds` (and its tag).
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

    /// Reads a message of the events channel, checked against `bounds` (and its tag); its
    /// stamp is for the caller to check (`trust::Recent`).
    pub(crate) fn read_message(
        &self,
        payload: &[u8],
        bounds: &TrustBounds,
    ) -> Result<(Stamp, Message), Unread> {
        let payload = std::str::from_utf8(payload).map_err(|_| Unread::Unknown)?;
        let body = self.untagged(MESSAGE_LABEL, &self.channel, payload)?;
        let mut parts = body.splitn(4, ' ');
        if parts.next() != Some(MESSAGE_VERSION) {
            return Err(Unread::Unknown);
        }
        let nonce: SessionId = parts
            .next()
            .and_then(|hex| hex.parse().ok())
            .ok_or(Unread::Unknown)?;
        let sent = parts.next().and_then(time).ok_or(Unread::Unknown)?;
        let message = parts
            .next()
            .and_then(|body| Message::decode(body.as_bytes()))
            .ok_or(Unread::Unknown)?;
        if let Message::Revoked(entry) = &message {
            bounds.check(entry).map_err(Unread::Refused)?;
        }
        let stamp = Stamp {
            nonce: *nonce.as_bytes(),
            sent,
        };
        Ok((stamp, message))
    }

    /// A line of the pending file: the message's body with its subject escaped
    /// ([`escape`]: no line break or other control character survives), tagged under the
    /// prefix if authentication is on.
    pub(crate) fn pending_line(&self, entry: &Entry) -> String {
        let body = escape(&Message::Revoked(entry.clone()).encode());
        self.tagged(PENDING_LABEL, &self.prefix, body)
    }

    /// The entry of a line of an earlier version's pending file (a message's body, unescaped
    /// and untagged), not bounded: the caller checks. Read only without authentication.
    pub(crate) fn read_legacy_pending_line(&self, line: &str) -> Result<Entry, Unread> {
        match Message::decode(line.as_bytes()) {
            Some(Message::Revoked(entry)) => Ok(entry),
            _ => Err(Unread::Unknown),
        }
    }

    /// The entry of a pending file's line (its tag checked), not bounded: the caller checks.
    pub(crate) fn read_pending_line(&self, line: &str) -> Result<Entry, Unread> {
        let body = self.untagged(PENDING_LABEL, &self.prefix, line)?;
        match Message::decode(unescape(body).ok_or(Unread::Unknown)?.as_bytes()) {
            Some(Message::Revoked(entry)) => Ok(entry),
            _ => Err(Unread::Unknown),
        }
    }

    /// Whether a repair should write `candidate` (a live entry of the local copy) over `value`,
    /// what Redis holds at its key. A cutoff (a subject's or the store-wide one): unless Redis
    /// holds a trusted generation at least as large, and unless [`SUBJECT_SCRIPT`] would keep
    /// `value` anyway (a larger one that this instance refuses: writing again would change
    /// nothing, and the reload it announces would make every instance repair in turn, forever).
    /// A session's value is always written over one it refuses (`SET` replaces it).
    pub(crate) fn repair_overwrites(
        &self,
        candidate: &Entry,
        value: &[u8],
        bounds: &TrustBounds,
    ) -> bool {
        let key = self.key(candidate);
        let read = self.read_entry(key.as_bytes(), value, bounds);
        match (candidate, &read) {
            (Entry::Session { .. }, _) => read.is_err(),
            (
                Entry::Subject { generation, .. },
                Ok(Entry::Subject {
                    generation: held, ..
                }),
            )
            | (
                Entry::Everyone { generation, .. },
                Ok(Entry::Everyone {
                    generation: held, ..
                }),
            ) => held < generation,
            (
                Entry::Subject {
                    generation, until, ..
                }
                | Entry::Everyone { generation, until },
                _,
            ) => !self.script_keeps(value, *generation, *until, bounds),
        }
    }

    /// Whether [`SUBJECT_SCRIPT`] keeps the cutoff `value` held (refused here) over a write of
    /// `generation` and `until`. Mirrors the script: only with authentication (without it, a
    /// value refused here is out of bounds or malformed, and the script replaces those), and
    /// only a value in the script's shape, within the bounds, and larger.
    fn script_keeps(
        &self,
        value: &[u8],
        generation: Generation,
        until: UnixTime,
        bounds: &TrustBounds,
    ) -> bool {
        let Ok(value) = std::str::from_utf8(value) else {
            return false;
        };
        let parts: Vec<&str> = value.split(' ').collect();
        let (held, held_until) = match parts[..] {
            // '^([%w_-]+) (%d+) (%d+)$'
            [tag, g, u]
                if !tag.is_empty()
                    && tag
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                (g, u)
            }
            // '^(%d+) (%d+)$'
            [g, u] => (g, u),
            _ => return false,
        };
        let (Some(held), Some(held_until)) = (generation_of(held), time(held_until)) else {
            return false;
        };
        self.is_authenticated()
            && held <= bounds.max_generation()
            && held_until <= bounds.max_until()
            && (held, held_until) > (generation, until)
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

impl Message {
    /// The body of the message (also a line of the pending file, which is local and untagged).
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
            Self::Revoked(Entry::Everyone { generation, until }) => {
                format!("a {generation} {until}")
            }
            Self::Resync => "r".to_owned(),
        }
    }

    /// `None` for a body this version does not know (e.g. from a newer one). Not bounded: see
    /// [`TrustBounds::check`].
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
        Some(Self::Revoked(entry))
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

    /// The nonce of the tests' messages.
    const NONCE: [u8; 16] = [7; 16];

    fn stamp() -> Stamp {
        Stamp {
            nonce: NONCE,
            sent: t(1),
        }
    }

    /// A message's `body` as v2 frames it, untagged, with [`stamp`].
    fn framed(body: &str) -> String {
        format!("2 {} 1 {body}", SessionId::from_bytes(NONCE))
    }

    /// The message of `body`, framed, as a store without authentication reads it.
    fn decode(body: &[u8]) -> Option<Message> {
        let framed = framed(std::str::from_utf8(body).ok()?);
        Keys::new("p:")
            .read_message(framed.as_bytes(), &bounds())
            .ok()
            .map(|(_, m)| m)
    }

    fn encode(message: &Message) -> String {
        message.encode()
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

    #[test]
    fn names_are_namespaced() {
        let keys = Keys::new("app:");
        assert_eq!(keys.session_key(id()), format!("app:rev:id:{HEX}"));
        assert_eq!(keys.subject_key("alice smith"), "app:rev:sub:alice smith");
        assert_eq!(keys.channel, "app:rev:events");
        assert_eq!(keys.everyone, "app:rev:all");
        assert_eq!(
            keys.key(&Entry::Everyone {
                generation: Generation::new(1),
                until: t(2)
            }),
            "app:rev:all"
        );
        assert_eq!(keys.pattern, "app:rev:*");
        assert_eq!(Keys::new(r"a*b?[c]\").pattern, r"a\*b\?\[c\]\\rev:*");
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
        // What the writer writes is what a load reads.
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
        ] {
            let Entry::Session { subject, until, .. } = &entry else {
                unreachable!()
            };
            let value = keys.session_value(id(), subject.as_ref(), *until);
            assert_eq!(
                read(&keys, keys.key(&entry).as_bytes(), value.as_bytes()),
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
            (b"p:rev:all", b"10"),
            (b"p:rev:all", b"10 20 alice"),
            (b"p:rev:all", b"10 +20"),
            (b"p:rev:all", b"99999999999999999999 20"),
            (b"p:rev:all:x", b"10 20"),
            (b"p:rev:alll", b"10 20"),
            (b"p:rev:epoch", b"10 20"),
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
                generation: Generation::new(LARGE),
                until: t(9),
            }),
            Message::Revoked(Entry::Subject {
                subject: String::new(),
                generation: Generation::new(3),
                until: t(9),
            }),
            Message::Revoked(Entry::Everyone {
                generation: Generation::new(LARGE),
                until: t(MAX_UNTIL),
            }),
            Message::Revoked(Entry::Everyone {
                generation: Generation::ZERO,
                until: t(0),
            }),
            Message::Resync,
        ] {
            assert_eq!(decode(encode(&message).as_bytes()), Some(message.clone()));
        }
        let session = |subject| {
            let message = Message::Revoked(Entry::Session {
                id: id(),
                subject,
                until: t(5),
            });
            encode(&message)
        };
        assert_eq!(session(None), format!("i {HEX} 5"));
        assert_eq!(session(of("a b", 7)), format!("j {HEX} 5 7 a b"));
        assert_eq!(
            encode(&Message::Revoked(Entry::Subject {
                subject: "a b".into(),
                generation: Generation::new(7),
                until: t(9)
            })),
            "g 7 9 a b"
        );
        assert_eq!(
            encode(&Message::Revoked(Entry::Everyone {
                generation: Generation::new(7),
                until: t(9)
            })),
            "a 7 9"
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
            "a".into(),
            "a 1".into(),
            "a 1 2 alice".into(),
            "a 1 2 ".into(),
            "a x 2".into(),
            "a 1 +2".into(),
            "a  1 2".into(),
            "r ".into(),
            "\u{0}".into(),
        ] {
            assert_eq!(decode(junk.as_bytes()), None, "{junk:?}");
        }
        assert!(decode(format!("g 1 2 {}", &long[1..]).as_bytes()).is_some());
    }

    #[test]
    fn a_message_carries_its_stamp_under_its_tag() {
        let keys = Keys::new("p:").authenticated(Some(ring(1).revocation_mac()));
        let stamp = Stamp::new(t(1_800_000_000)).unwrap();
        assert_ne!(
            Stamp::new(t(1_800_000_000)),
            Some(stamp),
            "a fresh nonce each time"
        );
        let text = keys.message(&Message::Resync, &stamp);
        assert_eq!(
            keys.read_message(text.as_bytes(), &bounds()),
            Ok((stamp, Message::Resync))
        );
        // The stamp is under the tag: another time or nonce in the same text is refused.
        let (tag, body) = text.split_once(' ').unwrap();
        let mut parts: Vec<&str> = body.split(' ').collect();
        for (index, other) in [(1, "00000000000000000000000000000000"), (2, "1800000001")] {
            let kept = parts[index];
            parts[index] = other;
            let altered = format!("{tag} {}", parts.join(" "));
            assert_eq!(
                keys.read_message(altered.as_bytes(), &bounds()),
                Err(Unread::Refused(Refusal::Unauthenticated))
            );
            parts[index] = kept;
        }
        // A version 1 message (no stamp), even correctly tagged by v1's rules, is refused.
        let v1 = format!(
            "{} r",
            tag_text(
                &ring(1).revocation_mac(),
                b"sealed-session-redis v1 message\0",
                "p:rev:events",
                "r"
            )
        );
        assert_eq!(
            keys.read_message(v1.as_bytes(), &bounds()),
            Err(Unread::Refused(Refusal::Unauthenticated))
        );
        assert_eq!(
            Keys::new("p:").read_message(b"r", &bounds()),
            Err(Unread::Unknown)
        );
    }

    #[test]
    fn pending_lines_escape_subjects_and_carry_a_tag() {
        let entry = Entry::Subject {
            subject: "mallory\ng 99999 99999 alice\r%0A\u{0}".into(),
            generation: Generation::new(7),
            until: t(9),
        };
        for keys in [
            Keys::new("p:"),
            Keys::new("p:").authenticated(Some(ring(1).revocation_mac())),
        ] {
            let line = keys.pending_line(&entry);
            assert!(!line.chars().any(char::is_control), "{line:?}");
            assert!(line.ends_with("g 7 9 mallory%0Ag 99999 99999 alice%0D%250A%00"));
            assert_eq!(keys.read_pending_line(&line), Ok(entry.clone()));
        }
        let keys = Keys::new("p:").authenticated(Some(ring(1).revocation_mac()));
        for forged in [
            "g 7 9 alice",
            "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX g 7 9 alice",
        ] {
            assert_eq!(
                keys.read_pending_line(forged),
                Err(Unread::Refused(Refusal::Unauthenticated))
            );
        }
        let other_prefix = Keys::new("q:").authenticated(Some(ring(1).revocation_mac()));
        assert_eq!(
            other_prefix.read_pending_line(&keys.pending_line(&entry)),
            Err(Unread::Refused(Refusal::Unauthenticated))
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
        let message = Message::Revoked(entry.clone());
        let body = format!("{LARGE} 1700000000");
        // Without authentication: the value as the script stores it, and the message.
        let plain = Keys::new("p:");
        assert_eq!(
            plain.cutoff_tag(&plain.everyone, Generation::new(LARGE), t(1)),
            ""
        );
        assert_eq!(
            plain.read_entry(b"p:rev:all", body.as_bytes(), &bounds()),
            Ok(entry.clone())
        );
        let text = plain.message(&message, &stamp());
        assert_eq!(text, framed(&format!("a {body}")));
        assert_eq!(
            plain
                .read_message(text.as_bytes(), &bounds())
                .map(|(_, m)| m),
            Ok(message.clone())
        );
        // The pending file's line.
        assert_eq!(
            plain.read_pending_line(&plain.pending_line(&entry)),
            Ok(entry.clone())
        );
        // With it: "<tag> <generation> <until>", the tag bound to the key.
        let keys = Keys::new("p:").authenticated(Some(ring(1).revocation_mac()));
        let unauthenticated = Unread::Refused(Refusal::Unauthenticated);
        let tag = keys.cutoff_tag(&keys.everyone, Generation::new(LARGE), t(1_700_000_000));
        assert_eq!(tag.len(), TAG_TEXT_LEN);
        let stored = format!("{tag} {body}");
        assert_eq!(
            keys.read_entry(b"p:rev:all", stored.as_bytes(), &bounds()),
            Ok(entry.clone())
        );
        // Untagged, altered, moved to a subject's key, a subject's moved here, another ring's.
        let subject_tag =
            keys.cutoff_tag("p:rev:sub:bob", Generation::new(LARGE), t(1_700_000_000));
        let foreign = Keys::new("p:").authenticated(Some(ring(2).revocation_mac()));
        let foreign_tag =
            foreign.cutoff_tag(&foreign.everyone, Generation::new(LARGE), t(1_700_000_000));
        for (key, value) in [
            (&b"p:rev:all"[..], body.clone()),
            (b"p:rev:all", format!("{tag} {} 1700000000", LARGE - 1)),
            (b"p:rev:all", format!("{tag} {LARGE} 1700000001")),
            (b"p:rev:sub:bob", stored.clone()),
            (b"p:rev:all", format!("{subject_tag} {body}")),
            (b"p:rev:all", format!("{foreign_tag} {body}")),
        ] {
            assert_eq!(
                keys.read_entry(key, value.as_bytes(), &bounds()),
                Err(unauthenticated),
                "{key:?} {value}"
            );
        }
        assert_eq!(
            plain.read_entry(b"p:rev:all", stored.as_bytes(), &bounds()),
            Err(Unread::Unknown)
        );
        let text = keys.message(&message, &stamp());
        assert_eq!(
            text.split_once(' ').map(|(_, body)| body),
            Some(&*framed(&format!("a {body}")))
        );
        assert_eq!(
            keys.read_message(text.as_bytes(), &bounds())
                .map(|(_, m)| m),
            Ok(message.clone())
        );
        let other = Keys::new("q:").authenticated(Some(ring(1).revocation_mac()));
        assert_eq!(
            other
                .read_message(text.as_bytes(), &bounds())
                .map(|(_, m)| m),
            Err(unauthenticated)
        );
        assert_eq!(
            keys.read_message(message.encode().as_bytes(), &bounds())
                .map(|(_, m)| m),
            Err(unauthenticated)
        );
    }

    /// The fixture secret of `seed`.
    fn secret(seed: u8) -> sealed_session::SecretKey {
        sealed_session::SecretKey::from_bytes(&sealed_session_test_support::secret_bytes(seed))
            .unwrap()
    }

    fn ring(seed: u8) -> sealed_session::KeyRing {
        sealed_session::KeyRing::new(secret(seed))
    }

    #[test]
    fn authenticated_values_and_messages_verify_and_nothing_else_does() {
        let keys = Keys::new("p:").authenticated(Some(ring(1).revocation_mac()));
        let plain = Keys::new("p:");
        let unauthenticated = Unread::Refused(Refusal::Unauthenticated);
        let entry = Entry::Session {
            id: id(),
            subject: of("alice smith", 42),
            until: t(1_700_000_000),
        };
        let key = keys.key(&entry);
        let value = keys.session_value(id(), of("alice smith", 42).as_ref(), t(1_700_000_000));
        let (tag, body) = value.split_once(' ').unwrap();
        assert_eq!(tag.len(), TAG_TEXT_LEN);
        assert_eq!(body, "1700000000 42 alice smith");
        assert_eq!(
            keys.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
            Ok(entry)
        );
        // Untagged, tampered, moved to another session's key, tagged with another ring.
        let other_key = format!("p:rev:id:{}", "f".repeat(32));
        let foreign = Keys::new("p:").authenticated(Some(ring(2).revocation_mac()));
        let foreign_value =
            foreign.session_value(id(), of("alice smith", 42).as_ref(), t(1_700_000_000));
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
        // A store without authentication does not take tagged values for its own.
        assert_eq!(
            plain.read_entry(key.as_bytes(), value.as_bytes(), &bounds()),
            Err(Unread::Unknown)
        );
        // Messages: bound to the channel, "r" too.
        let message = Message::Revoked(Entry::Subject {
            subject: "bob".into(),
            generation: Generation::new(7),
            until: t(9),
        });
        for message in [message, Message::Resync] {
            let text = keys.message(&message, &stamp());
            assert_eq!(
                keys.read_message(text.as_bytes(), &bounds())
                    .map(|(_, m)| m),
                Ok(message.clone())
            );
            let other = Keys::new("q:").authenticated(Some(ring(1).revocation_mac()));
            assert_eq!(
                other
                    .read_message(text.as_bytes(), &bounds())
                    .map(|(_, m)| m),
                Err(unauthenticated),
                "another prefix's channel"
            );
            assert_eq!(
                keys.read_message(encode(&message).as_bytes(), &bounds())
                    .map(|(_, m)| m),
                Err(unauthenticated)
            );
        }
        // Subject values, as the script stores them: "<tag> <generation> <until>".
        let tag = keys.cutoff_tag("p:rev:sub:bob", Generation::new(7), t(9));
        let stored = format!("{tag} 7 9");
        assert_eq!(
            keys.read_entry(b"p:rev:sub:bob", stored.as_bytes(), &bounds()),
            Ok(Entry::Subject {
                subject: "bob".into(),
                generation: Generation::new(7),
                until: t(9)
            })
        );
        assert_eq!(
            keys.read_entry(b"p:rev:sub:bob", format!("{tag} 8 9").as_bytes(), &bounds()),
            Err(unauthenticated)
        );
        assert_eq!(
            keys.read_entry(b"p:rev:sub:carol", stored.as_bytes(), &bounds()),
            Err(unauthenticated)
        );
        assert_eq!(
            plain.cutoff_tag("p:rev:sub:bob", Generation::new(7), t(9)),
            ""
        );
    }

    #[test]
    fn a_tag_of_an_older_key_still_verifies_after_a_rotation() {
        let (old, new) = (secret(1), secret(2));
        let before = Keys::new("p:").authenticated(Some(ring(1).revocation_mac()));
        let rotated = sealed_session::KeyRing::from_keys([new, old]).unwrap();
        let after = Keys::new("p:").authenticated(Some(rotated.revocation_mac()));
        let text = before.message(&Message::Resync, &stamp());
        assert_eq!(
            after
                .read_message(text.as_bytes(), &bounds())
                .map(|(_, m)| m),
            Ok(Message::Resync)
        );
        assert_ne!(
            after.message(&Message::Resync, &stamp()),
            text,
            "the new primary tags"
        );
        assert_eq!(
            before
                .read_message(
                    after.message(&Message::Resync, &stamp()).as_bytes(),
                    &bounds()
                )
                .map(|(_, m)| m),
            Err(Unread::Refused(Refusal::Unauthenticated)),
            "a ring without the new key refuses its tags"
        );
    }

    #[test]
    fn out_of_bounds_entries_and_messages_are_refused() {
        let keys = Keys::new("p:");
        let now = TrustBounds::at(t(1_800_000_000));
        for payload in [
            format!("g {} 1800000100 alice", u64::MAX),
            format!("j {HEX} 1800000100 {} alice", u64::MAX),
            "g 1 9999999999 alice".to_owned(),
            format!("g 1 1800000100 {}", "x".repeat(MAX_SUBJECT_LEN + 1)),
        ] {
            assert!(
                matches!(
                    keys.read_message(framed(&payload).as_bytes(), &now)
                        .map(|(_, m)| m),
                    Err(Unread::Refused(_))
                ),
                "{payload}"
            );
        }
        let genuine = Generation::at(t(1_800_000_000).to_datetime());
        assert!(
            keys.read_message(
                framed(&format!("g {genuine} 1800000100 alice")).as_bytes(),
                &now
            )
            .map(|(_, m)| m)
            .is_ok()
        );
        assert!(
            keys.read_message(framed(&format!("a {genuine} 1800000100")).as_bytes(), &now)
                .map(|(_, m)| m)
                .is_ok()
        );
        // The store-wide cutoff, past the bound: as a message and as a value.
        let ahead = now.max_generation().next();
        assert_eq!(
            keys.read_message(framed(&format!("a {ahead} 1800000100")).as_bytes(), &now)
                .map(|(_, m)| m),
            Err(Unread::Refused(Refusal::GenerationAhead))
        );
        assert_eq!(
            keys.read_message(
                framed(&format!("a {} 1800000100", u64::MAX)).as_bytes(),
                &now
            )
            .map(|(_, m)| m),
            Err(Unread::Refused(Refusal::GenerationAhead))
        );
        assert_eq!(
            keys.read_message(framed(&format!("a {genuine} 9999999999")).as_bytes(), &now)
                .map(|(_, m)| m),
            Err(Unread::Refused(Refusal::DeadlineAhead))
        );
        assert_eq!(
            keys.read_entry(b"p:rev:all", format!("{ahead} 1800000100").as_bytes(), &now),
            Err(Unread::Refused(Refusal::GenerationAhead))
        );
        assert!(
            keys.read_entry(
                b"p:rev:all",
                format!("{genuine} 1800000100").as_bytes(),
                &now
            )
            .is_ok()
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

    #[test]
    fn repairs_overwrite_what_is_refused_unless_the_script_would_keep_it() {
        let bounds = TrustBounds::at(t(1_800_000_000));
        let g = |n| Generation::at(t(1_800_000_000).to_datetime()).get() - 100 + n;
        let candidate = |n| Entry::Subject {
            subject: "bob".into(),
            generation: Generation::new(g(n)),
            until: t(1_800_000_100),
        };
        let plain = Keys::new("p:");
        let held = |n: u64| format!("{} 1800000100", g(n));
        assert!(!plain.repair_overwrites(&candidate(5), held(5).as_bytes(), &bounds));
        assert!(!plain.repair_overwrites(&candidate(5), held(6).as_bytes(), &bounds));
        assert!(plain.repair_overwrites(&candidate(5), held(4).as_bytes(), &bounds));
        assert!(plain.repair_overwrites(&candidate(5), b"garbage", &bounds));
        let forged = format!("{} 1800000100", u64::MAX);
        assert!(plain.repair_overwrites(&candidate(5), forged.as_bytes(), &bounds));
        let keys = Keys::new("p:").authenticated(Some(ring(1).revocation_mac()));
        // A forged value the script keeps (larger, in bounds): writing again changes nothing.
        let forged_larger = format!("{} {}", "A".repeat(43), held(6));
        assert!(!keys.repair_overwrites(&candidate(5), forged_larger.as_bytes(), &bounds));
        assert!(!keys.repair_overwrites(&candidate(5), held(6).as_bytes(), &bounds));
        // One it replaces: smaller, or out of bounds.
        let forged_smaller = format!("{} {}", "A".repeat(43), held(4));
        assert!(keys.repair_overwrites(&candidate(5), forged_smaller.as_bytes(), &bounds));
        assert!(keys.repair_overwrites(&candidate(5), forged.as_bytes(), &bounds));
        let tag = keys.cutoff_tag("p:rev:sub:bob", Generation::new(g(5)), t(1_800_000_100));
        let genuine = format!("{tag} {}", held(5));
        assert!(!keys.repair_overwrites(&candidate(5), genuine.as_bytes(), &bounds));
        assert!(keys.repair_overwrites(&candidate(6), genuine.as_bytes(), &bounds));
        // A session's value is replaced by `SET` whenever it is refused.
        let session = Entry::Session {
            id: id(),
            subject: None,
            until: t(1_800_000_100),
        };
        assert!(keys.repair_overwrites(&session, b"1800000100", &bounds));
        let value = keys.session_value(id(), None, t(1_800_000_100));
        assert!(!keys.repair_overwrites(&session, value.as_bytes(), &bounds));
        assert!(!plain.repair_overwrites(&session, b"1800000100", &bounds));
        // The store-wide cutoff, as a subject's.
        let everyone = |n| Entry::Everyone {
            generation: Generation::new(g(n)),
            until: t(1_800_000_100),
        };
        assert!(!plain.repair_overwrites(&everyone(5), held(5).as_bytes(), &bounds));
        assert!(!plain.repair_overwrites(&everyone(5), held(6).as_bytes(), &bounds));
        assert!(plain.repair_overwrites(&everyone(5), held(4).as_bytes(), &bounds));
        assert!(plain.repair_overwrites(&everyone(5), b"garbage", &bounds));
        assert!(plain.repair_overwrites(&everyone(5), forged.as_bytes(), &bounds));
        assert!(!keys.repair_overwrites(&everyone(5), forged_larger.as_bytes(), &bounds));
        assert!(keys.repair_overwrites(&everyone(5), forged_smaller.as_bytes(), &bounds));
        assert!(keys.repair_overwrites(&everyone(5), forged.as_bytes(), &bounds));
        let tag = keys.cutoff_tag(&keys.everyone, Generation::new(g(5)), t(1_800_000_100));
        let genuine = format!("{tag} {}", held(5));
        assert!(!keys.repair_overwrites(&everyone(5), genuine.as_bytes(), &bounds));
        assert!(keys.repair_overwrites(&everyone(6), genuine.as_bytes(), &bounds));
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
