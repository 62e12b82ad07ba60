//! The stream `<prefix>rev:log` as a transport: the append script with its retention, the
//! ids that say where a reader is, a page read from a position, and the check that tells a
//! trimmed position from a lost one. The invariant these keep is the 9th of
//! `docs/security.md` ("The shared log keeps what a live cookie needs").

use std::fmt;

use redis::{Connection, RedisError, RedisResult, Value};

use crate::keys::Keys;

/// Added to every entry's remaining lifetime in the retention: clocks (the application's,
/// which set each deadline, and Redis's, which stamps each id and trims) may disagree by this
/// much without a trim reaching a live entry.
pub(crate) const CLOCK_MARGIN_SECS: u64 = 3_600;

/// Appends a batch and trims what no cookie needs any more, in one atomic step.
///
/// KEYS[1]: the stream, KEYS[2]: the retention key. ARGV[1]: [`CLOCK_MARGIN_SECS`], ARGV[2]:
/// the longest retention believed (the trust bounds' latest deadline from now, plus the
/// margin). Then, per entry, three arguments: its name (`k`), its value (`v`) and its deadline
/// (unix seconds).
///
/// The retention key holds `"<seconds> <until>"`: the retention, kept while Redis's `TIME`
/// is before `until` (unix seconds). Each batch raises the retention to its longest
/// `deadline - TIME` plus the margin, keep-the-larger while it is kept, and moves `until`
/// only later, to at least `TIME` plus that batch's need: so an entry appended at `t` with
/// deadline `u` keeps the retention at `u - t` or more until `u` (plus the margin). The key
/// has no expiry of its own, so an eviction policy that picks keys with one (`volatile-*`)
/// never takes it. Each `XADD` trims entries older than `TIME` minus the retention (`MINID ~`:
/// whole macro nodes only, so it may keep more, never less). A value beyond what a genuine
/// instance writes (a retention or an `until` further than ARGV[2] from now) is not believed.
///
/// Each entry also carries its ordinal, `n`: the stream's `entries-added` once it is appended
/// (Redis counts every `XADD` of the stream's life, and a trim never lowers the count). Along
/// the stream the ordinals only grow; a reader that meets one at or below the last it read
/// has met a stream Redis rewound (a suffix lost in a failover, or the stream lost and made
/// anew). Returns the last entry's id.
///
/// Numbers stay exact: unix seconds and milliseconds are far below 2^53, Lua's doubles'
/// limit, and deadlines are bounded by the trust bounds before they are sent.
pub(crate) const APPEND_SCRIPT: &str = r"
local now = tonumber(redis.call('TIME')[1])
local margin, most = tonumber(ARGV[1]), tonumber(ARGV[2])
local need = 0
for i = 3, #ARGV, 3 do
  local left = tonumber(ARGV[i + 2]) - now
  if left > need then need = left end
end
need = need + margin
local held, kept_until = 0, 0
local r, u = string.match(redis.call('GET', KEYS[2]) or '', '^(%d+) (%d+)$')
if r then
  held, kept_until = tonumber(r), tonumber(u)
  if held > most or kept_until > now + most or kept_until <= now then
    held, kept_until = 0, 0
  end
end
local keep = math.max(held, need)
kept_until = math.max(kept_until, now + need)
redis.call('SET', KEYS[2], string.format('%d %d', keep, kept_until))
local minid = string.format('%d', math.max(now - keep, 0) * 1000)
local added = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'entries-added' then added = info[i + 1] end
  end
end
local id = false
for i = 3, #ARGV, 3 do
  added = added + 1
  id = redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', 'k', ARGV[i], 'v', ARGV[i + 1],
    'n', string.format('%d', added))
end
return id
";

/// Tells, in one atomic step, what the stream holds of some ids: `{0}` if the stream is gone;
/// else `{1, <the first entry's id, or ''>, <last-generated-id>, <max-deleted-entry-id>,
/// <entries-added>, <held: 0 or 1 for each id>...}` (three from `XINFO STREAM`, the last two
/// Redis 7.0's, missing before).
///
/// KEYS[1]: the stream. ARGV: the ids.
pub(crate) const CHECK_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local fields = {}
for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
local reply = {1, first[1] and first[1][1] or '', fields['last-generated-id'] or '',
  fields['max-deleted-entry-id'] or '', fields['entries-added'] or -1}
for i = 1, #ARGV do
  reply[#reply + 1] = #redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
end
return reply
";

/// The most ids one [`probe`] asks about: bounds the script's work, whatever a page holds.
pub(crate) const MAX_PROBED: usize = 256;

/// A stream entry's id: `<milliseconds>-<sequence>`, ordered as Redis orders them. `0-0` is
/// before every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub(crate) struct StreamId {
    millis: u64,
    sequence: u64,
}

impl StreamId {
    /// Before every entry: where a reader with nothing read starts.
    pub(crate) const START: Self = Self {
        millis: 0,
        sequence: 0,
    };

    /// The id in Redis's text form; `None` if it is not one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (millis, sequence) = text.split_once('-')?;
        let digits = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        Some(Self {
            millis: digits(millis)?,
            sequence: digits(sequence)?,
        })
    }

    pub(crate) fn is_start(self) -> bool {
        self == Self::START
    }

    /// When Redis appended it, by Redis's clock (the id's milliseconds since the epoch).
    pub(crate) fn appended_at(self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.millis)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.millis, self.sequence)
    }
}

/// One entry read from the stream: its id, its two fields as bytes (checked by the reader,
/// `Keys::read_entry`; a field missing is empty, which no reading accepts), and its ordinal
/// (`n`, see [`APPEND_SCRIPT`]; `None` for an entry no instance appended).
#[derive(Debug)]
pub(crate) struct Read {
    pub(crate) id: StreamId,
    pub(crate) name: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) ordinal: Option<u64>,
}

/// Up to `count` entries after `after`, waiting up to `block` for one if there are none yet
/// (`XREAD`; `None`: answer at once). The connection's read timeout must cover `block`.
pub(crate) fn read_after(
    con: &mut Connection,
    keys: &Keys,
    after: StreamId,
    count: usize,
    block: Option<std::time::Duration>,
) -> RedisResult<Vec<Read>> {
    let mut cmd = redis::cmd("XREAD");
    cmd.arg("COUNT").arg(count); // at most this many entries: bounds each reply
    if let Some(block) = block {
        // Wait this many ms for an entry when there is none after the id (nil then).
        cmd.arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1));
    }
    cmd.arg("STREAMS").arg(&keys.stream).arg(after.to_string()); // entries after this id
    let reply: Value = cmd.query(con)?;
    parse_read(reply)
}

/// The entries of an `XREAD` reply for one stream: nil, or `[[stream, [[id, [field, value,
/// ...]], ...]]]` (RESP2; a map from stream to entries in RESP3).
fn parse_read(reply: Value) -> RedisResult<Vec<Read>> {
    let streams = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Value::Map(streams) => streams.into_iter().map(|(_, entries)| entries).collect(),
        other => return Err(unexpected("XREAD", &other)),
    };
    let mut read = Vec::new();
    for entries in streams {
        let Value::Array(entries) = entries else {
            return Err(unexpected("XREAD", &entries));
        };
        read.reserve(entries.len());
        for entry in entries {
            read.push(parse_entry(entry)?);
        }
    }
    Ok(read)
}

/// `[id, [field, value, ...]]`.
fn parse_entry(entry: Value) -> RedisResult<Read> {
    let Value::Array(parts) = entry else {
        return Err(unexpected("XREAD", &entry));
    };
    let mut parts = parts.into_iter();
    let id = match parts.next() {
        Some(Value::BulkString(id)) => std::str::from_utf8(&id).ok().and_then(StreamId::parse),
        Some(Value::SimpleString(id)) => StreamId::parse(&id),
        _ => None,
    }
    .ok_or_else(|| unexpected("XREAD", "an entry without an id"))?;
    let mut read = Read {
        id,
        name: Vec::new(),
        value: Vec::new(),
        ordinal: None,
    };
    if let Some(Value::Array(fields)) = parts.next() {
        let mut fields = fields.into_iter();
        while let (Some(field), Some(value)) = (fields.next(), fields.next()) {
            let (Value::BulkString(field), Value::BulkString(value)) = (field, value) else {
                continue;
            };
            match field.as_slice() {
                b"k" => read.name = value,
                b"v" => read.value = value,
                b"n" => {
                    read.ordinal = std::str::from_utf8(&value)
                        .ok()
                        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|n| n.parse().ok());
                }
                _ => {}
            }
        }
    }
    Ok(read)
}

/// What the stream holds of a reader's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// The entry is there, or a trim (or `XDEL`) removed it: nothing is lost.
    Kept,
    /// The stream is gone (a flush, a restart without persistence).
    StreamGone,
    /// The entry is gone and neither a trim nor a deletion removed it: Redis lost a suffix of
    /// the stream (a failover to a replica that lagged).
    EntryLost,
    /// An entry read carries an ordinal at or below the last one read: the stream was rewound
    /// (a suffix lost, or the stream lost and made anew) and then appended to.
    Rewound,
}

impl Held {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Kept => "kept",
            Self::StreamGone => "stream_gone",
            Self::EntryLost => "entry_lost",
            Self::Rewound => "rewound",
        }
    }
}

/// What [`CHECK_SCRIPT`] said of the stream and of the ids asked about.
#[derive(Debug)]
pub(crate) struct Probe {
    /// `None`: the stream is gone.
    stream: Option<StreamState>,
}

#[derive(Debug)]
struct StreamState {
    first: Option<StreamId>,
    last_generated: StreamId,
    max_deleted: StreamId,
    /// Whether each id asked about is held, in order.
    held: Vec<bool>,
}

/// Asks [`CHECK_SCRIPT`] about `ids` (at most [`MAX_PROBED`]). An error if the server is older
/// than Redis 7.0, which doesn't say what it deleted or added.
pub(crate) fn probe(con: &mut Connection, keys: &Keys, ids: &[StreamId]) -> RedisResult<Probe> {
    let mut script = redis::cmd("EVAL");
    script
        .arg(CHECK_SCRIPT) // sent whole: run every few seconds, and a restart can't lose it
        .arg(1) // one key follows
        .arg(&keys.stream); // KEYS[1]: the stream
    for id in ids.iter().take(MAX_PROBED) {
        script.arg(id.to_string()); // ARGV: the ids to look for
    }
    let reply: Vec<Value> = script.query(con)?;
    let int = |value: Option<&Value>| match value {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    };
    let id = |value: Option<&Value>| match value {
        Some(Value::BulkString(text)) => std::str::from_utf8(text).ok().and_then(StreamId::parse),
        Some(Value::SimpleString(text)) => StreamId::parse(text),
        _ => None,
    };
    if int(reply.first()) != Some(1) {
        return Ok(Probe { stream: None });
    }
    // `entries-added` is not used here, but says the server is Redis 7.0 or later, which the
    // append script's ordinals need.
    let (Some(last_generated), Some(max_deleted), Some(_entries_added)) = (
        id(reply.get(2)),
        id(reply.get(3)),
        int(reply.get(4)).and_then(|n| u64::try_from(n).ok()),
    ) else {
        return Err(RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "the revocation store needs Redis 7.0 or later (XINFO STREAM's \
             max-deleted-entry-id and entries-added tell a trimmed entry from a lost one): \
             upgrade Redis",
        )));
    };
    Ok(Probe {
        stream: Some(StreamState {
            first: id(reply.get(1)),
            last_generated,
            max_deleted,
            held: reply
                .iter()
                .skip(5)
                .map(|held| int(Some(held)).unwrap_or(0) > 0)
                .collect(),
        }),
    })
}

impl Probe {
    /// Whether `known` (the last id this instance read, or the last it appended: the id probed
    /// at `index`) is lost.
    ///
    /// `known` gone is a loss unless a trim or a deletion took it: a deletion (`XDEL`) raises
    /// `max-deleted-entry-id` to it; a trim removes the oldest entries first, so it leaves no
    /// entry older than `known`, and never lowers `last-generated-id`. This is for a quiet
    /// stream: once entries follow a loss, the reader meets their ordinals (see
    /// [`APPEND_SCRIPT`] and [`Probe::rewound`]) first. (The stream's `entries-added` going
    /// down is no sign: one `XSETID` of someone else's lowers it, and would make every
    /// instance write everything back.)
    pub(crate) fn quiet_loss(&self, known: StreamId, index: usize) -> Held {
        let Some(stream) = &self.stream else {
            return if known.is_start() {
                Held::Kept
            } else {
                Held::StreamGone
            };
        };
        let held = stream.held.get(index).copied().unwrap_or(false);
        let lost = !(known.is_start() || held || stream.max_deleted >= known)
            && (stream.last_generated < known || stream.first.is_some_and(|first| first < known));
        if lost { Held::EntryLost } else { Held::Kept }
    }

    /// Whether one of `suspects` shows a rewound stream: each is an entry read just before one
    /// whose ordinal was not above its own, in the order probed. A stream rewound (a suffix
    /// lost, or the stream lost and made anew) and then appended to no longer holds such an
    /// entry, although no deletion took it (nor a trim, which takes the oldest first, unless
    /// the stream took nothing for its whole retention before). An entry appended by someone else with a made-up ordinal, low or high (the
    /// ordinal is not under the tag), leaves the entry before it where it was: no loss. (The
    /// count of entries added is no help here: a made-up ordinal can be above any count.)
    pub(crate) fn rewound(&self, suspects: &[StreamId]) -> bool {
        let Some(stream) = &self.stream else {
            return !suspects.is_empty();
        };
        suspects
            .iter()
            .zip(&stream.held)
            .any(|(&id, &held)| !held && stream.max_deleted < id)
    }
}

/// A reply of `command` in a shape this module does not read (`what`: the reply, or what it
/// lacked).
fn unexpected(command: &'static str, what: impl fmt::Debug) -> RedisError {
    RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply",
        format!("{command}: {what:?}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_print_and_order_as_redis_does() {
        let id = StreamId::parse("1700000000000-7").unwrap();
        assert_eq!(id.to_string(), "1700000000000-7");
        assert!(StreamId::parse("1700000000000-8").unwrap() > id);
        assert!(StreamId::parse("1700000000001-0").unwrap() > id);
        assert!(StreamId::parse("999-99").unwrap() < id);
        assert!(StreamId::START < StreamId::parse("0-1").unwrap());
        for bad in [
            "",
            "1",
            "-1",
            "1-",
            "a-1",
            "1-+2",
            "1 -2",
            "18446744073709551616-0",
        ] {
            assert_eq!(StreamId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn read_replies_parse_in_both_protocols_and_skip_other_fields() {
        let entry = |id: &str| {
            Value::Array(vec![
                Value::BulkString(id.as_bytes().to_vec()),
                Value::Array(vec![
                    Value::BulkString(b"x".to_vec()),
                    Value::BulkString(b"ignored".to_vec()),
                    Value::BulkString(b"k".to_vec()),
                    Value::BulkString(b"name".to_vec()),
                    Value::BulkString(b"v".to_vec()),
                    Value::BulkString(b"value".to_vec()),
                ]),
            ])
        };
        let resp2 = Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"p:rev:log".to_vec()),
            Value::Array(vec![entry("5-0"), entry("5-1")]),
        ])]);
        let read = parse_read(resp2).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].id.to_string(), "5-1");
        assert_eq!(read[0].name, b"name");
        assert_eq!(read[0].value, b"value");
        let resp3 = Value::Map(vec![(
            Value::BulkString(b"p:rev:log".to_vec()),
            Value::Array(vec![entry("6-0")]),
        )]);
        assert_eq!(parse_read(resp3).unwrap()[0].id.to_string(), "6-0");
        assert!(parse_read(Value::Nil).unwrap().is_empty());
        assert!(parse_read(Value::Int(3)).is_err());
    }
}
