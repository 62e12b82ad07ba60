//! `inspect`: authenticate a cookie with the given keys and show everything it holds, or as much
//! as can be read without them (the public header).
//!
//! The cookie is authenticated in the mode its header names (both modes bind the mode, so this
//! forges nothing), then judged as a server with the given mode and timeouts would judge it.
//! Revocation is not checked: the store lives with the application.
//!
//! A session over several cookies is joined first, by the index in their names, with the
//! library's `join_chunks`, and authenticated for that many parts (the count is bound into the
//! authentication): a missing or extra chunk is refused there, with its reason.

use std::io::Write;

use sealed_session::OpenError;
use sealed_session::codec::{
    Codec, CookieName, Header, MAX_COOKIES, SessionState, chunk_name, join_chunks,
};
use sealed_session::keys::{KeyId, KeyRole};
use secrecy::ExposeSecret as _;
use serde_json::{Value as Json, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{CliError, chain};
use crate::flags::{InspectConfig, OutputFormat};
use crate::humane;
use crate::keys::role_name;
use crate::value::Decoded;

/// Width of the label column of the text output.
const LABEL: usize = 12;

/// Inspects the cookie of `config`, prints the report, and returns the error that sets the exit
/// code when the cookie is refused or can't be opened.
pub(crate) fn run(config: &InspectConfig, out: &mut impl Write) -> Result<(), CliError> {
    let mut report = Report::new(config);
    // Up to the most cookies any server allows: one configured for fewer refuses a larger
    // count as malformed, and ignores the chunk names past its own count.
    let joined = join_chunks(
        config.cookie.expose_secret(),
        |index| {
            config
                .chunks
                .get(index)
                .and_then(Option::as_ref)
                .map(|chunk| chunk.expose_secret())
        },
        MAX_COOKIES,
    );
    let (value, parts) = match joined {
        // The joined value is a bearer token too: wiped on drop.
        Ok((value, parts)) => (Zeroizing::new(value.into_owned()), parts),
        Err(source) => return report.fail_open(source, out),
    };
    report.parts = Some(parts);
    let value = value.as_str();
    let header = match Codec::peek_header(header_part(value)) {
        Ok(header) => header,
        Err(source) => return report.fail_open(source, out),
    };
    report.header = Some(header);

    let ring = match config.keys.load() {
        Ok(ring) => ring,
        Err(err) => {
            report.outcome = Outcome::NoKeys(chain(&err));
            report.print(out)?;
            return Err(err);
        }
    };
    report.ring = Some(
        ring.ids()
            .into_iter()
            .filter_map(|id| ring.role_of(id).map(|role| (id, role)))
            .collect(),
    );

    // A name that was not given is guessed: the value is tried under each of the library's
    // default names, and the one that authenticates it is the application's (the name is bound
    // into the authentication, so the others fail it as forged, and nothing else differs).
    let names: Vec<&CookieName> = if config.guessed_names.is_empty() {
        vec![&config.cookie_name]
    } else {
        config.guessed_names.iter().collect()
    };
    let mut opened = None;
    for name in names {
        let codec = Codec::builder(ring.clone())
            .cookie_name(name.as_str())
            .mode(config.mode.unwrap_or(header.mode))
            .idle_timeout(seconds(config.idle_timeout))
            .absolute_timeout(seconds(config.absolute_timeout))
            .build()
            .map_err(|source| CliError::Config {
                setting: "inspect settings",
                source,
            })?;
        report.name = name.clone();
        report.tried.push(name.clone());
        match codec.inspect_chunked_at(value, parts, config.now) {
            Err(OpenError::Forged) => opened = Some(Err(OpenError::Forged)),
            other => {
                opened = Some(other);
                break;
            }
        }
    }
    // At least one name is tried: `cookie_name` is always there.
    let Some(opened) = opened else {
        return report.fail_open(OpenError::Forged, out);
    };
    let inspection = match opened {
        Ok(inspection) => inspection,
        Err(source) => return report.fail_open(source, out),
    };
    report.state = Some(inspection.state);
    match inspection.verdict {
        Ok(()) => {
            report.outcome = Outcome::Accepted;
            report.print(out)
        }
        Err(source) => {
            report.outcome = Outcome::Refused(source.clone());
            report.print(out)?;
            Err(CliError::Refused { source })
        }
    }
}

/// What `Codec::peek_header` reads of `value`: all of it, or for a session over several cookies
/// whose joined value is past the 8192 characters it reads, their first whole base64 groups
/// (the header is in the first eight characters, and the envelope's length is checked by
/// `inspect_chunked_at`).
fn header_part(value: &str) -> &str {
    const PEEKED: usize = 8192;
    if value.len() <= PEEKED {
        value
    } else {
        // base64url is ASCII, and 8192 characters are whole groups of four.
        &value[..PEEKED]
    }
}

/// A timeout flag's seconds as the builder takes them; a number too large for `Duration` is
/// refused by the builder as too long, like any past 400 days.
fn seconds(s: u64) -> Duration {
    Duration::try_from(std::time::Duration::from_secs(s)).unwrap_or(Duration::MAX)
}

/// How the inspection ended.
enum Outcome {
    /// Authentic, and a server with these settings accepts it.
    Accepted,
    /// Authentic, but a server with these settings refuses it.
    Refused(OpenError),
    /// Could not be opened.
    Unopenable(OpenError),
    /// No usable keys (the error chain, for JSON).
    NoKeys(String),
}

/// Everything known about the cookie, printed as text or JSON.
struct Report<'a> {
    config: &'a InspectConfig,
    /// The name the cookie was authenticated under: the given one, or the last default tried.
    name: CookieName,
    /// The names tried so far, in order.
    tried: Vec<CookieName>,
    header: Option<Header>,
    /// How many cookies the session spans, once they are joined.
    parts: Option<u8>,
    ring: Option<Vec<(KeyId, KeyRole)>>,
    state: Option<SessionState>,
    outcome: Outcome,
}

/// One of the two expiry deadlines.
struct Deadline {
    timeout: u64,
    /// Unix seconds.
    at: u64,
    /// Seconds from now to the deadline; zero or less is expired (as the codec judges it).
    left: i64,
}

impl Deadline {
    fn new(anchor: u64, timeout: u64, now: i64) -> Self {
        let at = anchor.saturating_add(timeout);
        let left = i128::from(at) - i128::from(now);
        Self {
            timeout,
            at,
            left: i64::try_from(left).unwrap_or(if left > 0 { i64::MAX } else { i64::MIN }),
        }
    }

    fn expired(&self) -> bool {
        self.left <= 0
    }

    /// `expires in 42m` or `expired 3m ago`.
    fn status(&self) -> String {
        match self.left {
            0 => "expired just now".to_owned(),
            left if left > 0 => format!("expires in {}", humane::approx(left.unsigned_abs())),
            left => format!("expired {} ago", humane::approx(left.unsigned_abs())),
        }
    }

    fn to_json(&self) -> Json {
        json!({
            "timeout_seconds": self.timeout,
            "deadline": unix_time(self.at),
            "expired": self.expired(),
            "seconds_left": self.left,
        })
    }
}

impl<'a> Report<'a> {
    fn new(config: &'a InspectConfig) -> Self {
        Self {
            config,
            name: config.cookie_name.clone(),
            tried: Vec::new(),
            header: None,
            parts: None,
            ring: None,
            state: None,
            outcome: Outcome::NoKeys(String::new()),
        }
    }

    /// Prints what is known and returns the error for a cookie that can't be opened.
    fn fail_open(mut self, source: OpenError, out: &mut impl Write) -> Result<(), CliError> {
        self.outcome = Outcome::Unopenable(source.clone());
        self.print(out)?;
        Err(CliError::Unopenable {
            source,
            cookie_name: self.name.as_str().to_owned(),
            names_tried: if self.guessed() {
                names(&self.tried)
            } else {
                Vec::new()
            },
            ring: self.ring.unwrap_or_default(),
        })
    }

    fn print(&self, out: &mut impl Write) -> Result<(), CliError> {
        let text = match self.config.format {
            OutputFormat::Text => self.text(),
            OutputFormat::Json => {
                // A `serde_json::Value` always serializes.
                let mut json = serde_json::to_string_pretty(&self.json()).unwrap_or_default();
                json.push('\n');
                json
            }
        };
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            // Piped into `head` or the like: the verdict, not the pipe, sets the exit code.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(CliError::Output),
        }
    }

    /// `1`, or `2 (`id`, `id-1`)`: how many cookies the session spans, and their names.
    fn cookies_text(&self, parts: u8) -> String {
        if parts == 1 {
            return "1".to_owned();
        }
        let base = self.name.as_str();
        let names: Vec<String> = (0..usize::from(parts))
            .map(|index| format!("`{}`", chunk_name(base, index)))
            .collect();
        format!("{parts} ({})", names.join(", "))
    }

    /// Whether the name was not given, and the library's defaults are tried.
    fn guessed(&self) -> bool {
        !self.config.guessed_names.is_empty()
    }

    /// The name the cookie is known to be under: the given one, or the default that
    /// authenticated it.
    fn name_found(&self) -> Option<&CookieName> {
        (!self.guessed() || self.state.is_some()).then_some(&self.name)
    }

    /// The name, and for a guessed one how it was found: `__Host-id (not given; ...)`.
    fn name_text(&self) -> String {
        if !self.guessed() {
            return self.name.as_str().to_owned();
        }
        let defaults = crate::error::names_list(&names(&self.config.guessed_names));
        match self.name_found() {
            Some(name) => format!(
                "{name} (not given: of the library's default names {defaults}, the one that \
                 authenticates it)"
            ),
            None if self.tried.len() == self.config.guessed_names.len()
                && matches!(self.outcome, Outcome::Unopenable(OpenError::Forged)) =>
            {
                format!(
                    "not given, and none of the library's default names {defaults} authenticates it"
                )
            }
            None => format!("not given (the library's default names {defaults} are tried in turn)"),
        }
    }

    fn now(&self) -> i64 {
        self.config.now.unix_timestamp()
    }

    fn key_role(&self) -> Option<KeyRole> {
        let (header, ring) = (self.header?, self.ring.as_ref()?);
        ring.iter()
            .find(|(id, _)| *id == header.key_id)
            .map(|(_, role)| *role)
    }

    /// The idle and absolute deadlines of the session, if it was opened.
    fn deadlines(&self) -> Option<(Deadline, Deadline)> {
        let state = self.state.as_ref()?;
        let now = self.now();
        Some((
            Deadline::new(
                state.last_active_unix().secs(),
                self.config.idle_timeout,
                now,
            ),
            Deadline::new(
                state.created_unix().secs(),
                self.config.absolute_timeout,
                now,
            ),
        ))
    }

    fn text(&self) -> String {
        let mut lines = Vec::new();
        let mut line = |label: &str, value: String| lines.push(format!("{label:LABEL$} {value}"));
        let config = self.config;
        line("cookie name", self.name_text());
        if let Some(parts) = self.parts {
            line("cookies", self.cookies_text(parts));
        }
        if config.now_given {
            line("as of", time_text(config.now));
        }
        if let Some(header) = self.header {
            line("version", header.version.to_string());
            line(
                "mode",
                match config.mode.filter(|&m| m != header.mode) {
                    Some(expected) => format!("{} (the server expects {expected})", header.mode),
                    None => header.mode.to_string(),
                },
            );
            let key = match (self.key_role(), &self.ring) {
                (Some(role), _) => role_name(role),
                (None, Some(_)) => "not in the key ring",
                (None, None) => "no keys loaded",
            };
            line("key id", format!("{} ({key})", header.key_id));
        }
        if let Some(ring) = &self.ring {
            line("key ring", crate::error::list_ring(ring));
        }
        if let Some(state) = &self.state {
            line("session id", state.id().to_string());
            line(
                "subject",
                state.subject_generation().map_or_else(
                    || "(none)".to_owned(),
                    |s| format!("{:?} (generation {})", s.name(), s.generation()),
                ),
            );
            let now = self.now();
            line(
                "created",
                format!(
                    "{} ({})",
                    time_text(state.created()),
                    humane::relative(state.created().unix_timestamp() - now)
                ),
            );
            line(
                "last active",
                format!(
                    "{} ({})",
                    time_text(state.last_active()),
                    humane::relative(state.last_active().unix_timestamp() - now)
                ),
            );
        }
        if let Some((idle, absolute)) = self.deadlines() {
            for (label, deadline) in [("idle", &idle), ("absolute", &absolute)] {
                line(
                    label,
                    format!(
                        "{} ({}; timeout {})",
                        deadline.status(),
                        unix_time(deadline.at),
                        humane::exact(deadline.timeout)
                    ),
                );
            }
            let (which, deadline) = ends_by(&idle, &absolute);
            line("expiry", format!("{which} applies: {}", deadline.status()));
        }
        line(
            "status",
            match &self.outcome {
                Outcome::Accepted => "accepted (revocation is not checked here)".to_owned(),
                Outcome::Refused(e) => format!("refused ({}): {e}", e.reason()),
                Outcome::Unopenable(e) => {
                    format!("not opened ({}): see the error below", e.reason())
                }
                Outcome::NoKeys(_) => "not opened: no usable keys, see the error below".to_owned(),
            },
        );
        if let Some(state) = &self.state {
            let keys: Vec<&str> = state.keys().collect();
            let total: usize = keys
                .iter()
                .filter_map(|k| state.get_raw(k))
                .map(<[u8]>::len)
                .sum();
            line(
                "data",
                match keys.len() {
                    0 => "(empty)".to_owned(),
                    n => format!("{n} value(s), {total} bytes"),
                },
            );
            let names: Vec<String> = keys.iter().map(|k| key_text(k)).collect();
            let width = names
                .iter()
                .map(|n| n.chars().count())
                .max()
                .unwrap_or(0)
                .min(24);
            for (value, name) in state.values().zip(&names) {
                let bytes = value.as_bytes();
                let size = match bytes.len() {
                    1 => "1 byte".to_owned(),
                    n => format!("{n} bytes"),
                };
                lines.push(format!(
                    "  {name:width$}  {size:<9} {}",
                    Decoded::of(&value).describe(bytes)
                ));
            }
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    fn json(&self) -> Json {
        let config = self.config;
        let header = self.header.map(|h| {
            json!({
                "version": h.version,
                "mode": h.mode.to_string(),
                "key_id": h.key_id.to_string(),
            })
        });
        let ring = self.ring.as_ref().map(|ring| {
            ring.iter()
                .map(|(id, role)| json!({ "key_id": id.to_string(), "role": role_name(*role) }))
                .collect::<Vec<_>>()
        });
        let session = self.state.as_ref().map(|state| {
            let data: Vec<Json> = state
                .values()
                .map(|value| {
                    let bytes = value.as_bytes();
                    let mut entry = Decoded::of(&value).to_json();
                    entry["key"] = json!(value.key());
                    entry["size"] = json!(bytes.len());
                    entry["hex"] = json!(hex::encode(bytes));
                    entry
                })
                .collect();
            let mut session = json!({
                "id": state.id().to_string(),
                "subject": state.subject(),
                "subject_generation": state.subject_generation().map(|s| s.generation().get()),
                "created": time_text(state.created()),
                "last_active": time_text(state.last_active()),
                "data": data,
            });
            if let Some((idle, absolute)) = self.deadlines() {
                session["idle"] = idle.to_json();
                session["absolute"] = absolute.to_json();
                session["ends_by"] = json!(ends_by(&idle, &absolute).0);
            }
            session
        });
        let (status, error) = match &self.outcome {
            Outcome::Accepted => ("accepted", Json::Null),
            Outcome::Refused(e) => ("refused", open_error_json(e)),
            Outcome::Unopenable(e) => ("not_opened", open_error_json(e)),
            Outcome::NoKeys(message) => (
                "not_opened",
                json!({ "reason": "no_keys", "message": message }),
            ),
        };
        json!({
            "cookie_name": self.name_found().map(CookieName::as_str),
            "cookie_name_given": !self.guessed(),
            "cookie_names_tried": if self.guessed() { names(&self.tried) } else { Vec::new() },
            "cookies": self.parts,
            "as_of": time_text(config.now),
            "expected_mode": config.mode.map(|m| m.to_string()),
            "header": header,
            "key_role": self.key_role().map(role_name),
            "key_ring": ring,
            "session": session,
            "status": status,
            "revocation_checked": false,
            "error": error,
        })
    }
}

/// The names as text.
fn names(names: &[CookieName]) -> Vec<String> {
    names.iter().map(|name| name.as_str().to_owned()).collect()
}

/// Which deadline ends the session: the earlier one (the absolute one on a tie, as the codec
/// checks it first).
fn ends_by<'d>(idle: &'d Deadline, absolute: &'d Deadline) -> (&'static str, &'d Deadline) {
    if idle.at < absolute.at {
        ("idle", idle)
    } else {
        ("absolute", absolute)
    }
}

fn open_error_json(e: &OpenError) -> Json {
    json!({ "reason": e.reason(), "message": e.to_string() })
}

/// RFC 3339, whole seconds.
fn time_text(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| format!("@{}", t.unix_timestamp()))
}

/// RFC 3339 of unix seconds, or `@seconds` past what dates can show.
fn unix_time(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .map_or_else(|| format!("@{seconds}"), time_text)
}

/// A session key as shown: as is when printable, else quoted and escaped (it came from a
/// cookie, and must not drive the terminal).
fn key_text(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| !c.is_control() && c != '"' && !c.is_whitespace())
    {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}
