//! The test vectors of `docs/format.md`, checked in both directions against the library, and
//! once more against an independent implementation written from the document alone; the same
//! for the vectors of sessions split over several cookies ("Chunks"), which are also cut,
//! joined back and opened by a `SessionManager` as a request carries them.
//!
//! If this fails after a change to the codec, the change altered the wire format: either revert
//! it or write a new format version (see the versioning policy in the document; until the first
//! release, version 1 changes in place and its vectors are regenerated).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sealed_session::adapter::RequestInfo;
use sealed_session::clock::ManualClock;
use sealed_session::codec::{
    Codec, DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_COOKIE_HEADER_BUDGET, DEFAULT_IDLE_TIMEOUT,
    MAX_COOKIES, SessionState, join_chunks,
};
use sealed_session::keys::KeyRole;
use sealed_session::revocation::Generation;
use sealed_session::{
    KeyRing, Mode, PersistentSession, SameSite, SecretKey, SessionId, SessionManager,
};
use sealed_session_test_support::unhex as hex;
use time::OffsetDateTime;

const FORMAT_MD: &str = include_str!("../guide/format.md");

/// The `key: value` lines of every fenced block of `kind` in the document; a line without a
/// colon continues the value above it (long values are wrapped; no value has a colon).
fn blocks(kind: &str) -> Vec<BTreeMap<String, String>> {
    let fence = format!("```{kind}\n");
    FORMAT_MD
        .split(&fence)
        .skip(1)
        .map(|rest| {
            let body = rest.split("```").next().expect("block is closed");
            let mut fields: Vec<(String, String)> = Vec::new();
            for line in body.lines() {
                match line.split_once(':') {
                    Some((k, v)) => fields.push((k.trim().to_owned(), v.trim().to_owned())),
                    None => fields.last_mut().expect("a field to continue").1 += line.trim(),
                }
            }
            fields.into_iter().collect()
        })
        .collect()
}

fn time(unix: &str) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix.parse().expect("unix seconds")).expect("time")
}

fn mode(text: &str) -> Mode {
    match text {
        "encrypted" => Mode::Encrypted,
        "signed" => Mode::Signed,
        other => panic!("unknown mode {other}"),
    }
}

fn codec(ring: KeyRing, v: &BTreeMap<String, String>) -> Codec {
    Codec::builder(ring)
        .mode(mode(&v["mode"]))
        .cookie_name(v["cookie_name"].as_str())
        .build()
        .expect("vector settings are valid")
}

/// [`codec`] for a chunk vector: bounded by the cookies' capacities, not one cookie's 4096
/// bytes (as a lifecycle that splits builds its codec).
fn chunk_codec(ring: KeyRing, v: &BTreeMap<String, String>) -> Codec {
    Codec::builder(ring)
        .mode(mode(&v["mode"]))
        .cookie_name(v["cookie_name"].as_str())
        .size_limit(usize::MAX)
        .build()
        .expect("vector settings are valid")
}

/// The `key=hex` pairs of `data`; a value's hex may come in comma-separated pieces, `hh*n`
/// standing for the byte `hh` repeated `n` times.
fn data(v: &BTreeMap<String, String>) -> Vec<(String, Vec<u8>)> {
    match v["data"].as_str() {
        "-" => Vec::new(),
        list => list
            .split(' ')
            .map(|pair| {
                let (k, h) = pair.split_once('=').expect("key=hex");
                let bytes = h
                    .split(',')
                    .flat_map(|piece| match piece.split_once('*') {
                        Some((byte, n)) => hex(byte).repeat(n.parse().expect("a count")),
                        None => hex(piece),
                    })
                    .collect();
                (k.to_owned(), bytes)
            })
            .collect(),
    }
}

/// The subject and its generation (`-` and `-` for none).
fn subject(v: &BTreeMap<String, String>) -> Option<(String, u64)> {
    match (v["subject"].as_str(), v["generation"].as_str()) {
        ("-", "-") => None,
        ("-", _) | (_, "-") => panic!("a subject and its generation go together"),
        (name, generation) => Some((
            name.to_owned(),
            generation.parse().expect("a generation with the subject"),
        )),
    }
}

fn nonce(v: &BTreeMap<String, String>) -> [u8; 24] {
    match v["nonce"].as_str() {
        "-" => [0; 24],
        h => hex(h).try_into().expect("24-byte nonce"),
    }
}

fn state(v: &BTreeMap<String, String>) -> SessionState {
    let id = SessionId::from_bytes(hex(&v["session_id"]).try_into().expect("16-byte id"));
    let mut state = SessionState::with_id(id, time(&v["created"]));
    state.touch(time(&v["last_active"]));
    if let Some((name, generation)) = subject(v) {
        state.set_subject(name, Generation::new(generation));
    }
    for (k, bytes) in data(v) {
        state.insert_raw(&k, bytes);
    }
    state
}

#[test]
fn the_document_has_the_promised_vectors() {
    let valid = blocks("vector");
    assert!(valid.len() >= 4, "at least four valid vectors");
    assert!(valid.iter().any(|v| v["mode"] == "signed"));
    assert!(
        valid
            .iter()
            .any(|v| !v["keys"].starts_with(&v["sealed_by"]))
    );
    // A subject with a generation of several varint bytes, and one without a subject.
    assert!(
        valid
            .iter()
            .any(|v| subject(v).is_some_and(|(_, g)| g >= 1 << 14))
    );
    assert!(valid.iter().any(|v| subject(v).is_none()));
    assert!(blocks("invalid-vector").len() >= 8);
}

#[test]
fn valid_vectors_seal_to_the_documented_cookie() {
    for v in blocks("vector") {
        let ring = KeyRing::from_config(&v["sealed_by"]).expect("sealing key");
        let codec = codec(ring, &v);
        let cookie = codec
            .dangerous()
            .seal_with_nonce(&state(&v), &nonce(&v))
            .expect("vector fits");
        assert_eq!(cookie, v["cookie"], "{}", v["title"]);
    }
}

/// The values the document describes for its user-data vector, read back with their types
/// from the cookie: the hex in the document is what `insert` writes for them (MessagePack with
/// named fields), not just bytes that round-trip.
#[test]
fn the_documented_values_read_back_with_their_types() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
    struct CartItem {
        sku: String,
        qty: u32,
    }
    let v = blocks("vector")
        .into_iter()
        .find(|v| v["title"] == "encrypted, primary key, user data")
        .expect("the user-data vector");
    let ring = KeyRing::from_config(&v["keys"]).expect("ring");
    let opened = codec(ring, &v)
        .open_at(&v["cookie"], time(&v["now"]))
        .expect("opens");
    let state = opened.state();
    let cart = vec![
        CartItem {
            sku: "sku-123".into(),
            qty: 2,
        },
        CartItem {
            sku: "sku-456".into(),
            qty: 1,
        },
    ];
    assert_eq!(state.get::<u64>("user_id"), Ok(Some(1_234_098)));
    assert_eq!(state.get::<String>("role"), Ok(Some("admin".to_owned())));
    assert_eq!(state.get::<Vec<CartItem>>("cart"), Ok(Some(cart.clone())));
    // And the other way: inserting those values writes exactly the documented bytes.
    let mut fresh = SessionState::with_id(state.id(), state.created());
    fresh.insert("user_id", &1_234_098u64).expect("encodes");
    fresh.insert("role", "admin").expect("encodes");
    fresh.insert("cart", &cart).expect("encodes");
    for (key, bytes) in data(&v) {
        assert_eq!(fresh.get_raw(&key), Some(bytes.as_slice()), "{key}");
    }
    // A wrong type is an error, not another number.
    assert!(state.get::<String>("user_id").is_err());
    assert!(state.get::<i8>("user_id").is_err());
}

#[test]
fn valid_vectors_open_to_the_documented_session() {
    for v in blocks("vector") {
        let ring = KeyRing::from_config(&v["keys"]).expect("ring");
        let primary_sealed = v["keys"].starts_with(&v["sealed_by"]);
        let opened = codec(ring, &v)
            .open_at(&v["cookie"], time(&v["now"]))
            .expect(&v["title"]);
        assert_eq!(opened.state(), &state(&v), "{}", v["title"]);
        let expected_role = if primary_sealed {
            KeyRole::Primary
        } else {
            KeyRole::Fallback
        };
        assert_eq!(opened.key_role(), expected_role, "{}", v["title"]);
        assert_eq!(opened.should_reseal(), !primary_sealed, "{}", v["title"]);
    }
}

#[test]
fn invalid_vectors_are_refused_for_the_documented_reason() {
    for v in blocks("invalid-vector") {
        let ring = KeyRing::from_config(&v["keys"]).expect("ring");
        let err = codec(ring, &v)
            .open_at(&v["cookie"], time(&v["now"]))
            .expect_err(&v["title"]);
        assert_eq!(err.reason(), v["error"], "{}", v["title"]);
    }
}

/// The format, implemented again from `docs/format.md` with no code of the library.
mod reference {
    use super::*;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use hmac::Mac;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Body {
        id: [u8; 16],
        created: u64,
        active_for: u64,
        /// The subject's name and its revocation generation.
        subject: Option<(String, u64)>,
        data: BTreeMap<String, serde_bytes::ByteBuf>,
    }

    fn subkey<const N: usize>(secret: &[u8], info: &str) -> [u8; N] {
        let mut out = [0u8; N];
        hkdf::Hkdf::<sha2::Sha256>::new(None, secret)
            .expand(info.as_bytes(), &mut out)
            .expect("valid length");
        out
    }

    /// The cookie value of vector `v` (for a chunk vector, its sealed value before the cut),
    /// and the body (plaintext) it seals.
    pub(super) fn seal(v: &BTreeMap<String, String>) -> (String, Vec<u8>) {
        let secret = STANDARD.decode(&v["sealed_by"]).expect("base64 secret");
        let key_id: [u8; 4] = subkey(&secret, "sealed-session v1 key id");
        let mode_byte = match v["mode"].as_str() {
            "encrypted" => 1,
            _ => 2,
        };
        let mut header = vec![1u8, mode_byte];
        header.extend_from_slice(&key_id);
        let name = v["cookie_name"].as_bytes();
        let mut bound = header.clone();
        bound.push(u8::try_from(name.len()).expect("short name"));
        bound.extend_from_slice(name);
        // "Chunks": for a session over two cookies or more, the length byte's high bit is set
        // and the count ends the bound data.
        let parts: u8 = v.get("parts").map_or(1, |n| n.parse().expect("a count"));
        if parts >= 2 {
            bound[6] |= 0x80;
            bound.push(parts);
        }

        let created: u64 = v["created"].parse().expect("created");
        let last: u64 = v["last_active"].parse().expect("last_active");
        let body = postcard::to_stdvec(&Body {
            id: hex(&v["session_id"]).try_into().expect("id"),
            created,
            active_for: last - created,
            subject: subject(v),
            data: data(v)
                .into_iter()
                .map(|(k, b)| (k, serde_bytes::ByteBuf::from(b)))
                .collect(),
        })
        .expect("body encodes");

        let plaintext = body.clone();
        let mut envelope = header;
        if mode_byte == 1 {
            let key: [u8; 32] = subkey(
                &secret,
                "sealed-session v1 xchacha20poly1305 encryption key",
            );
            let nonce = nonce(v);
            let aead = chacha20poly1305::XChaCha20Poly1305::new(&key.into());
            let sealed = aead
                .encrypt(
                    &nonce.into(),
                    Payload {
                        msg: &body,
                        aad: &bound,
                    },
                )
                .expect("encrypts");
            envelope.extend_from_slice(&nonce);
            envelope.extend_from_slice(&sealed);
        } else {
            let key: [u8; 32] = subkey(&secret, "sealed-session v1 hmac-sha256 signing key");
            let mut mac =
                <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&key).expect("key");
            mac.update(&bound);
            mac.update(&body);
            envelope.extend_from_slice(&body);
            envelope.extend_from_slice(&mac.finalize().into_bytes());
        }
        (URL_SAFE_NO_PAD.encode(envelope), plaintext)
    }

    /// The name of chunk `k` of the cookie `name`.
    pub(super) fn chunk_name(name: &str, k: usize) -> String {
        if k == 0 {
            name.to_owned()
        } else {
            format!("{name}-{k}")
        }
    }

    /// `cap(k)` of chunks 0 to `m - 1` of the cookie `name` written with `attributes` (the
    /// header's text after the value and its `; `, with `Max-Age` at its longest).
    pub(super) fn caps(name: &str, attributes: &str, m: usize) -> Vec<usize> {
        (0..m)
            .map(|k| 4096 - format!("{}=; {attributes}", chunk_name(name, k)).len())
            .collect()
    }

    /// The `n` values of `sealed` cut for `n` cookies, if they fit `caps` with a character in
    /// each and none left over.
    pub(super) fn cut(sealed: &str, n: usize, caps: &[usize]) -> Option<Vec<String>> {
        if n == 1 {
            return (sealed.len() <= caps[0]).then(|| vec![sealed.to_owned()]);
        }
        let prefix = format!("{n}.");
        let mut left = sealed;
        let mut values = Vec::new();
        for (k, &cap) in caps.iter().enumerate().take(n) {
            let room = if k == 0 { cap - prefix.len() } else { cap };
            let (piece, rest) = left.split_at(room.min(left.len()));
            if piece.is_empty() {
                return None;
            }
            values.push(if k == 0 {
                format!("{prefix}{piece}")
            } else {
                piece.to_owned()
            });
            left = rest;
        }
        left.is_empty().then_some(values)
    }

    /// The fewest cookies, up to `caps.len()`, that carry `sealed` within `budget` bytes of
    /// `Cookie` header, and their values.
    pub(super) fn write(
        sealed: &str,
        name: &str,
        caps: &[usize],
        budget: usize,
    ) -> Option<Vec<String>> {
        (1..=caps.len()).find_map(|n| {
            let values = cut(sealed, n, caps)?;
            let header: usize = values
                .iter()
                .enumerate()
                .map(|(k, value)| chunk_name(name, k).len() + 1 + value.len())
                .sum::<usize>()
                + 2 * (n - 1);
            (header <= budget).then_some(values)
        })
    }

    /// What a reader allowing `m` cookies makes of the `name=value` pairs of a `Cookie`
    /// header, for the first value of `name`: the sealed value and its count, or the reason it
    /// is refused.
    pub(super) fn read(
        pairs: &[(String, String)],
        name: &str,
        m: usize,
    ) -> Result<(String, u8), &'static str> {
        let first = pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
            .expect("a first value");
        let chunk = |k: usize| {
            pairs
                .iter()
                .find(|(n, _)| *n == chunk_name(name, k))
                .map(|(_, value)| value.as_str())
        };
        let digits = first.split('.').next().expect("split yields one piece");
        let counted = first.contains('.')
            && (1..=2).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !counted {
            return match (1..m).find(|&k| chunk(k).is_some()) {
                Some(_) => Err("extra_chunk"),
                None => Ok((first.to_owned(), 1)),
            };
        }
        let n: usize = digits.parse().expect("digits");
        if !(2..=m).contains(&n) || first.len() > 4096 {
            return Err("malformed");
        }
        let mut sealed = first[digits.len() + 1..].to_owned();
        for k in 1..n {
            let piece = chunk(k).ok_or("missing_chunk")?;
            if piece.len() > 4096 {
                return Err("malformed");
            }
            sealed += piece;
        }
        if (n..m).any(|k| chunk(k).is_some()) {
            return Err("extra_chunk");
        }
        Ok((sealed, u8::try_from(n).expect("at most 10")))
    }
}

#[test]
fn an_independent_implementation_of_the_document_agrees() {
    for v in blocks("vector") {
        let (cookie, body) = reference::seal(&v);
        assert_eq!(cookie, v["cookie"], "{}", v["title"]);
        if let Some(documented) = v.get("body") {
            assert_eq!(&hex(documented), &body, "{}", v["title"]);
        }
    }
}

#[test]
fn documented_secrets_are_the_documented_bytes() {
    let first = SecretKey::from_bytes(&(0u8..32).collect::<Vec<_>>()).expect("valid");
    let second = SecretKey::from_bytes(&(0x40u8..0x60).collect::<Vec<_>>()).expect("valid");
    let v = &blocks("vector")[1];
    assert_eq!(
        v["keys"],
        format!("{},{}", *first.to_base64(), *second.to_base64())
    );
}

// Sessions over several cookies ("Chunks").

/// The cookies of chunk vector `v`, `(name, value)` in index order: its fields named
/// `<cookie_name>`, `<cookie_name>-1`, ...
fn chunk_cookies(v: &BTreeMap<String, String>) -> Vec<(String, String)> {
    (0..MAX_COOKIES)
        .map(|k| reference::chunk_name(&v["cookie_name"], k))
        .map_while(|name| v.get(&name).map(|value| (name, value.clone())))
        .collect()
}

/// The sealed value of chunk vector `v`: its cookies' values joined, the count prefix dropped.
fn chunk_sealed(v: &BTreeMap<String, String>) -> String {
    let cookies = chunk_cookies(v);
    let (_, first) = cookies[0].1.split_once('.').expect("a count prefix");
    let rest: String = cookies[1..]
        .iter()
        .map(|(_, value)| value.as_str())
        .collect();
    format!("{first}{rest}")
}

fn count(v: &BTreeMap<String, String>, field: &str) -> usize {
    v[field].parse().expect("a number")
}

/// A `Cookie` header of `pairs`, in their order.
fn cookie_header(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A lifecycle of chunk vector `v`'s keys, mode, cookie name and attributes, allowing
/// `max_cookies` cookies, its clock stopped at `now`, with the default timeouts.
fn chunk_manager(v: &BTreeMap<String, String>, max_cookies: usize) -> SessionManager {
    let ring = KeyRing::from_config(&v["keys"]).expect("ring");
    let mut builder = SessionManager::builder(ring)
        .mode(mode(&v["mode"]))
        .cookie_name(v["cookie_name"].as_str())
        .cookie_secure(false)
        .cookie_http_only(false)
        .max_cookies(max_cookies)
        .clock(Arc::new(ManualClock::new(time(&v["now"]))));
    for attribute in v["attributes"].split("; ") {
        builder = match attribute.split_once('=') {
            None if attribute == "Secure" => builder.cookie_secure(true),
            None if attribute == "HttpOnly" => builder.cookie_http_only(true),
            Some(("SameSite", "Strict")) => builder.cookie_same_site(SameSite::Strict),
            Some(("SameSite", "Lax")) => builder.cookie_same_site(SameSite::Lax),
            Some(("SameSite", "None")) => builder.cookie_same_site(SameSite::None),
            Some(("Path", path)) => builder.cookie_path(path),
            Some(("Domain", domain)) => builder.cookie_domain(domain),
            Some(("Max-Age", "34560000")) => {
                builder.session_lifecycle(PersistentSession::default())
            }
            _ => panic!("unknown attribute {attribute}"),
        };
    }
    builder
        .idle_timeout(DEFAULT_IDLE_TIMEOUT)
        .absolute_timeout(DEFAULT_ABSOLUTE_TIMEOUT)
        .build()
        .expect("vector settings are valid")
}

/// The invalid chunk vector's request: `send`'s items in order, each a cookie of the base
/// vector by name, or `name=value` with `{sealed}` standing for the base's sealed value.
fn chunk_request(
    v: &BTreeMap<String, String>,
    base: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let cookies = chunk_cookies(base);
    v["send"]
        .split(' ')
        .map(|item| match item.split_once('=') {
            Some((name, value)) => (
                name.to_owned(),
                value.replace("{sealed}", &chunk_sealed(base)),
            ),
            None => cookies
                .iter()
                .find(|(name, _)| name == item)
                .cloned()
                .expect("a cookie of the base vector"),
        })
        .collect()
}

fn chunk_base(title: &str) -> BTreeMap<String, String> {
    blocks("chunk-vector")
        .into_iter()
        .find(|v| v["title"] == title)
        .expect("the base vector")
}

#[test]
fn the_document_has_the_promised_chunk_vectors() {
    let valid = blocks("chunk-vector");
    assert!(valid.iter().any(|v| v["mode"] == "signed"));
    assert!(valid.iter().any(|v| v["mode"] == "encrypted"));
    assert!(valid.iter().any(|v| count(v, "parts") >= 3));
    assert!(valid.iter().any(|v| v["attributes"].contains("Max-Age")));
    for v in &valid {
        assert_eq!(chunk_cookies(v).len(), count(v, "parts"), "{}", v["title"]);
    }
    let reasons: std::collections::BTreeSet<String> = blocks("invalid-chunk-vector")
        .into_iter()
        .map(|v| v["error"].clone())
        .collect();
    for reason in ["missing_chunk", "extra_chunk", "malformed", "forged"] {
        assert!(
            reasons.contains(reason),
            "no invalid chunk vector for {reason}"
        );
    }
}

/// Sealed for its count with its nonce, the session is the documented cookies' joined value,
/// and the document's rule cuts it into exactly those cookies.
#[test]
fn chunk_vectors_seal_and_cut_to_the_documented_cookies() {
    for v in blocks("chunk-vector") {
        let parts = u8::try_from(count(&v, "parts")).expect("a count");
        let ring = KeyRing::from_config(&v["sealed_by"]).expect("sealing key");
        let sealed = chunk_codec(ring, &v)
            .dangerous()
            .seal_chunked_with_nonce(&state(&v), parts, &nonce(&v))
            .expect("vector fits");
        assert_eq!(sealed, chunk_sealed(&v), "{}", v["title"]);
        let caps = reference::caps(
            &v["cookie_name"],
            &v["attributes"],
            count(&v, "max_cookies"),
        );
        let documented: Vec<usize> = v["caps"]
            .split(' ')
            .map(|cap| cap.parse().expect("a number"))
            .collect();
        assert_eq!(caps, documented, "{}", v["title"]);
        let values = reference::write(
            &sealed,
            &v["cookie_name"],
            &caps,
            DEFAULT_COOKIE_HEADER_BUDGET,
        )
        .expect("fits");
        let cookies: Vec<String> = chunk_cookies(&v)
            .into_iter()
            .map(|(_, value)| value)
            .collect();
        assert_eq!(values, cookies, "{}", v["title"]);
    }
}

/// A request carrying the documented cookies, in any order, opens to the documented session,
/// through the lifecycle and through `join_chunks` and the codec.
#[test]
fn chunk_vectors_join_and_open_whatever_the_header_order() {
    for v in blocks("chunk-vector") {
        let parts = u8::try_from(count(&v, "parts")).expect("a count");
        let sessions = chunk_manager(&v, count(&v, "max_cookies"));
        let cookies = chunk_cookies(&v);
        let reversed: Vec<_> = cookies.iter().rev().cloned().collect();
        for order in [&cookies, &reversed] {
            let header = cookie_header(order);
            let request = sessions.open([header.as_bytes()], RequestInfo::new("/"));
            assert_eq!(request.refusal(), None, "{}", v["title"]);
            assert_eq!(request.state(), Some(&state(&v)), "{}", v["title"]);
        }
        let chunk = |k: usize| cookies.get(k).map(|(_, value)| value.as_str());
        let (joined, n) = join_chunks(&cookies[0].1, chunk, MAX_COOKIES).expect("joins");
        assert_eq!((joined.as_ref(), n), (chunk_sealed(&v).as_str(), parts));
        let opened = sessions
            .codec()
            .open_chunked_at(&joined, n, time(&v["now"]))
            .expect(&v["title"]);
        assert_eq!(opened.state(), &state(&v), "{}", v["title"]);
        assert_eq!(opened.key_role(), KeyRole::Primary, "{}", v["title"]);
    }
}

/// The lifecycle writes a session of each vector's data as the document says: the count its
/// rule picks, cut where it cuts, every `Set-Cookie` header within 4096 bytes.
#[test]
fn the_library_cuts_sessions_as_the_document_says() {
    for v in blocks("chunk-vector") {
        let max = count(&v, "max_cookies");
        let sessions = chunk_manager(&v, max);
        let mut session = sessions.open([], RequestInfo::new("/"));
        let documented = state(&v);
        for key in documented.keys() {
            let value: serde_json::Value = documented.get(key).expect("a value").expect("one");
            session.insert(key, &value).expect("fits");
        }
        let update = session.finish().expect("sealed");
        let headers: Vec<&str> = update
            .header()
            .into_iter()
            .chain(session.chunk_headers().iter().map(String::as_str))
            .collect();
        assert!(headers.iter().all(|h| h.len() <= 4096), "{}", v["title"]);
        // The chunks, then the removals of the names up to `max_cookies` it does not use.
        let (removals, cookies): (Vec<&str>, Vec<&str>) =
            headers.iter().partition(|h| h.contains("Max-Age=0"));
        let pair = |h: &&str| {
            let pair = h.split(';').next().expect("name=value");
            let (name, value) = pair.split_once('=').expect("=");
            (name.to_owned(), value.to_owned())
        };
        let cookies: Vec<(String, String)> = cookies.iter().map(pair).collect();
        let removed: Vec<String> = removals.iter().map(|h| pair(h).0).collect();
        let names: Vec<String> = (0..max)
            .map(|k| reference::chunk_name(&v["cookie_name"], k))
            .collect();
        let (used, unused) = names.split_at(cookies.len());
        assert!(cookies.iter().map(|(name, _)| name).eq(used), "{cookies:?}");
        assert_eq!(removed, unused, "{}", v["title"]);
        let (sealed, _) = reference::read(&cookies, &v["cookie_name"], max).expect("joins");
        let caps = reference::caps(&v["cookie_name"], &v["attributes"], max);
        let values = reference::write(
            &sealed,
            &v["cookie_name"],
            &caps,
            DEFAULT_COOKIE_HEADER_BUDGET,
        )
        .expect("fits");
        assert!(
            cookies.iter().map(|(_, value)| value).eq(&values),
            "{}",
            v["title"]
        );
    }
}

#[test]
fn invalid_chunk_vectors_are_refused_for_the_documented_reason() {
    for v in blocks("invalid-chunk-vector") {
        let base = chunk_base(&v["base"]);
        let max = count(&v, "max_cookies");
        let request = chunk_request(&v, &base);
        let header = cookie_header(&request);
        let opened = chunk_manager(&base, max).open([header.as_bytes()], RequestInfo::new("/"));
        let refusal = opened.refusal().expect(&v["title"]);
        assert_eq!(refusal.reason(), v["error"], "{}", v["title"]);
        // The reader of the document refuses it for the same reason, or joins a value the
        // codec then refuses for it.
        let reason = match reference::read(&request, &base["cookie_name"], max) {
            Err(reason) => reason.to_owned(),
            Ok((sealed, n)) => {
                chunk_codec(KeyRing::from_config(&base["keys"]).expect("ring"), &base)
                    .open_chunked_at(&sealed, n, time(&base["now"]))
                    .expect_err(&v["title"])
                    .reason()
                    .to_owned()
            }
        };
        assert_eq!(reason, v["error"], "{}", v["title"]);
    }
}

#[test]
fn an_independent_implementation_of_the_chunks_agrees() {
    for v in blocks("chunk-vector") {
        let (sealed, body) = reference::seal(&v);
        assert_eq!(sealed, chunk_sealed(&v), "{}", v["title"]);
        if let Some(documented) = v.get("body") {
            assert_eq!(&hex(documented), &body, "{}", v["title"]);
        }
        let caps = reference::caps(
            &v["cookie_name"],
            &v["attributes"],
            count(&v, "max_cookies"),
        );
        let values = reference::write(
            &sealed,
            &v["cookie_name"],
            &caps,
            DEFAULT_COOKIE_HEADER_BUDGET,
        )
        .expect("fits");
        let cookies = chunk_cookies(&v);
        assert!(
            cookies.iter().map(|(_, value)| value).eq(&values),
            "{}",
            v["title"]
        );
        let (joined, parts) =
            reference::read(&cookies, &v["cookie_name"], count(&v, "max_cookies")).expect("joins");
        assert_eq!((joined, usize::from(parts)), (sealed, count(&v, "parts")));
    }
}
