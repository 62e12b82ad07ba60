//! What a session holds, and its postcard encoding (the plaintext of a sealed cookie); each
//! value inside is encoded by [`crate::value`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::entries::Entries;
use crate::error::{SealError, ValueError};
use crate::random::{RandomSource as _, SystemRandom};
use crate::revocation::{Generation, Subject};
use crate::unix::UnixTime;
use crate::value::{self, SessionValue};

/// A random 128-bit session identifier, shown as 32 lowercase hex digits.
///
/// Renewing a session (at login or privilege change) gives it a new id; revocation lists hold
/// ids.
///
/// ```
/// use sealed_session::SessionId;
///
/// let id = SessionId::random()?;
/// assert_eq!(id.to_string().len(), 32);
/// assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
/// # Ok::<(), sealed_session::SealError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId([u8; 16]);

impl SessionId {
    /// A fresh id from the operating system's random number generator. (A
    /// [`SessionManager`](crate::SessionManager) draws its ids from its codec's
    /// [`RandomSource`](crate::codec::RandomSource) instead, which is this generator by default.)
    ///
    /// # Errors
    /// [`SealError::Randomness`] if the generator fails.
    pub fn random() -> Result<Self, SealError> {
        let mut bytes = [0u8; 16];
        SystemRandom.fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// An id from its 16 bytes (e.g. read back from a revocation store).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// Returned when a string is not 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseSessionIdError;

impl fmt::Display for ParseSessionIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a session id is 32 lowercase hex digits")
    }
}

impl std::error::Error for ParseSessionIdError {}

impl std::str::FromStr for SessionId {
    type Err = ParseSessionIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Lowercase only, as `Display` writes it: one id, one text form.
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ParseSessionIdError);
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseSessionIdError)?;
        Ok(Self(bytes))
    }
}

/// The contents of one session: its id, creation and last-activity times, an optional subject
/// and the application's data.
///
/// Values are stored under string keys, each encoded as MessagePack with named fields, so a read
/// with another type than the one inserted is an error, never another value. Times have whole-second precision, as in the cookie.
///
/// ```
/// use sealed_session::codec::SessionState;
/// use time::OffsetDateTime;
///
/// let mut session = SessionState::new(OffsetDateTime::now_utc())?;
/// session.insert("user_id", &42u64)?;
/// assert_eq!(session.get::<u64>("user_id")?, Some(42));
/// assert_eq!(session.get::<u64>("missing")?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionState {
    body: Body,
}

/// The postcard-encoded plaintext. Field order is the wire format: never reorder.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Body {
    pub(crate) id: SessionId,
    /// Unix seconds: anchor of the absolute timeout, the session's creation or its last
    /// authentication (never moved by a renewal).
    pub(crate) created: u64,
    /// Seconds from `created` to the last activity (anchor of the idle timeout). An offset
    /// rather than a second timestamp: a varint of 1 to 3 bytes instead of 5.
    pub(crate) active_for: u64,
    /// Whom the session belongs to, with the subject's revocation generation at sign-in.
    pub(crate) subject: Option<Subject>,
    pub(crate) data: Entries,
}

impl Body {
    pub(crate) fn last_active(&self) -> u64 {
        self.created.saturating_add(self.active_for)
    }
}

impl SessionState {
    /// A new, empty session with a fresh random id (from [`SessionId::random`]), created and
    /// last active at `now`. [`Codec::new_session`](crate::codec::Codec::new_session) draws the id
    /// from the codec's [`RandomSource`](crate::codec::RandomSource) instead.
    ///
    /// # Errors
    /// [`SealError::Randomness`] if no random id can be drawn.
    pub fn new(now: OffsetDateTime) -> Result<Self, SealError> {
        Ok(Self::with_id(SessionId::random()?, now))
    }

    /// A new, empty session with the given id.
    pub fn with_id(id: SessionId, now: OffsetDateTime) -> Self {
        let now = unix_seconds(now);
        Self {
            body: Body {
                id,
                created: now,
                active_for: 0,
                subject: None,
                data: Entries::default(),
            },
        }
    }

    pub(crate) fn from_body(body: Body) -> Self {
        Self { body }
    }

    pub(crate) fn body(&self) -> &Body {
        &self.body
    }

    /// The session id.
    pub fn id(&self) -> SessionId {
        self.body.id
    }

    /// When the session was created or last authenticated (anchor of the absolute timeout).
    pub fn created(&self) -> OffsetDateTime {
        from_unix_seconds(self.body.created)
    }

    /// When the session was last active (anchor of the idle timeout).
    pub fn last_active(&self) -> OffsetDateTime {
        from_unix_seconds(self.body.last_active())
    }

    /// [`SessionState::created`] in whole unix seconds.
    pub fn created_unix(&self) -> UnixTime {
        UnixTime::from_secs(self.body.created)
    }

    /// [`SessionState::last_active`] in whole unix seconds.
    pub fn last_active_unix(&self) -> UnixTime {
        UnixTime::from_secs(self.body.last_active())
    }

    /// Marks the session active at `now`, which slides its idle deadline. A time before the
    /// session's creation counts as its creation.
    pub fn touch(&mut self, now: OffsetDateTime) {
        self.body.active_for = unix_seconds(now).saturating_sub(self.body.created);
    }

    /// Gives the session a new id, keeping its data, its subject (with its authentication
    /// stamp) and its absolute deadline, and marks it active at `now`. Use it at privilege
    /// changes, so that an id known before the change is worthless after it. Nothing but an
    /// authentication starts a new absolute window ([`SessionState::authenticated`]), so a
    /// client can't extend its session by asking for renewals. Revoking the old id is the
    /// [`SessionManager`](crate::SessionManager)'s job.
    pub fn renew(&mut self, id: SessionId, now: OffsetDateTime) {
        self.body.id = id;
        self.touch(now);
    }

    /// Records an authentication at `now`: the absolute timeout counts from here again. The
    /// [`SessionManager`](crate::SessionManager) calls it at sign-in and re-authentication, with a new
    /// id and stamp.
    pub fn authenticated(&mut self, now: OffsetDateTime) {
        self.body.created = unix_seconds(now);
        self.body.active_for = 0;
    }

    /// Whose session this is (e.g. a user id), if set.
    pub fn subject(&self) -> Option<&str> {
        self.body.subject.as_ref().map(Subject::name)
    }

    /// The subject with the generation the session carries, if set.
    pub fn subject_generation(&self) -> Option<&Subject> {
        self.body.subject.as_ref()
    }

    /// Sets the subject, stamped with `generation`: the subject's current generation in the
    /// revocation store
    /// ([`RevocationStore::generation`](crate::revocation::RevocationStore::generation)), or the
    /// session is refused as revoked at once. A [`SessionManager`](crate::SessionManager) does this
    /// for you.
    pub fn set_subject(&mut self, subject: impl Into<String>, generation: Generation) {
        self.body.subject = Some(Subject::new(subject, generation));
    }

    /// Removes the subject.
    pub fn clear_subject(&mut self) {
        self.body.subject = None;
    }

    /// Decodes the value under `key`, or `None` if there is none.
    ///
    /// # Errors
    /// [`ValueError`] if the stored bytes do not decode as a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ValueError> {
        match self.body.data.get(key) {
            None => Ok(None),
            Some(value) => value::decode(key, value).map(Some),
        }
    }

    /// The encoded bytes under `key` (for tools that show a session without knowing its types).
    pub fn get_raw(&self, key: &str) -> Option<&[u8]> {
        self.body.data.get(key)
    }

    /// Encodes and stores `value` under `key`, returning the previous encoded bytes, if any.
    ///
    /// # Errors
    /// [`ValueError`] if `value` can't be encoded (e.g. a map with non-string keys is fine, but a
    /// type whose `Serialize` impl fails is not).
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<Option<SessionValue>, ValueError> {
        let bytes = value::encode(key, value)?;
        Ok(self.insert_raw(key, bytes))
    }

    /// Stores already-encoded bytes under `key`, returning the previous value. [`get`] reads
    /// them only if they are one MessagePack value ([`crate::guide::format`]); this is for tools that
    /// copy values between sessions without knowing their types.
    ///
    /// [`get`]: Self::get
    pub fn insert_raw(&mut self, key: &str, bytes: Vec<u8>) -> Option<SessionValue> {
        self.body
            .data
            .insert(key, &bytes)
            .map(|previous| SessionValue::new(key, previous))
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<SessionValue> {
        self.body
            .data
            .remove(key)
            .map(|removed| SessionValue::new(key, removed))
    }

    /// The values, in key order, still encoded.
    pub fn values(&self) -> impl Iterator<Item = SessionValue> + '_ {
        self.body
            .data
            .iter()
            .map(|(key, bytes)| SessionValue::new(key, bytes.to_vec()))
    }

    /// Removes every value (the id, times and subject stay).
    pub fn clear(&mut self) {
        self.body.data.clear();
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.body.data.iter().map(|(k, _)| k)
    }

    /// Whether the session holds no values.
    pub fn is_empty(&self) -> bool {
        self.body.data.is_empty()
    }
}

impl fmt::Debug for SessionState {
    /// Shows the id, times, subject and the keys with their sizes, never the values (they may
    /// hold personal data).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionState")
            .field("id", &self.body.id)
            .field("created", &self.body.created)
            .field("last_active", &self.body.last_active())
            .field("subject", &self.body.subject)
            .field(
                "data",
                &self
                    .body
                    .data
                    .iter()
                    .map(|(k, v)| (k, v.len()))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish()
    }
}

/// Whole seconds since the unix epoch; times before 1970 count as the epoch.
pub(crate) fn unix_seconds(t: OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}

pub(crate) fn from_unix_seconds(s: u64) -> OffsetDateTime {
    // Opened cookies are authentic, so `s` is a time we wrote; out-of-range values can only come
    // from a key holder and are clamped rather than trusted.
    i64::try_from(s)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_type_errors_name_the_key() {
        let mut s = SessionState::new(OffsetDateTime::now_utc()).unwrap();
        s.insert("cart", &vec!["a".to_string(), "b".to_string()])
            .unwrap();
        assert_eq!(
            s.get::<Vec<String>>("cart").unwrap(),
            Some(vec!["a".into(), "b".into()])
        );
        s.insert("flag", &7u32).unwrap();
        let err = s.get::<bool>("flag").unwrap_err();
        assert_eq!(err.key(), "flag");
        assert!(err.to_string().contains("`flag`"));
        assert!(s.remove("cart").is_some());
        assert_eq!(s.keys().collect::<Vec<_>>(), vec!["flag"]);
        s.clear();
        assert!(s.is_empty());
    }

    #[test]
    fn debug_hides_values_and_subject() {
        let mut s = SessionState::new(OffsetDateTime::now_utc()).unwrap();
        s.insert("email", "alice@example.com").unwrap();
        s.set_subject("alice", Generation::ZERO);
        let shown = format!("{s:?}");
        assert!(!shown.contains("alice"), "{shown}");
        assert!(shown.contains("email"));
    }

    #[test]
    fn session_id_parses_only_its_own_form() {
        let id = SessionId::random().unwrap();
        assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
        for bad in [
            "",
            "zz",
            &"g".repeat(32),
            &"é".repeat(16),
            &"0".repeat(33),
            &"+a".repeat(16),
        ] {
            assert_eq!(bad.parse::<SessionId>(), Err(ParseSessionIdError), "{bad}");
        }
    }

    #[test]
    fn times_before_the_epoch_clamp() {
        assert_eq!(
            unix_seconds(OffsetDateTime::UNIX_EPOCH - time::Duration::DAY),
            0
        );
        assert_eq!(from_unix_seconds(u64::MAX), OffsetDateTime::UNIX_EPOCH);
    }
}
