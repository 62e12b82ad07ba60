//! Reassembly of a session split over several cookies (`SessionBuilder::max_cookies`): the
//! input is read as a small program that writes a `Cookie` header of chunk names, and a
//! lifecycle allowing 3 to 10 cookies opens it. It must never panic; a missing or extra chunk
//! names an index below its count; what opens is the session it sealed; its response touches
//! only chunk names (up to the most any lifecycle allows). `join_chunks` on the same cookies never panics and never joins more
//! than `MAX_COOKIES` parts. Then a round trip: a session of the size the input asks for is
//! written, its cookies shuffled and opened again, and opens only whole.
//!
//! The input, byte by byte:
//!
//! ```text
//! 0       bits 0-2: the lifecycle allows 3 + n cookies; bit 3: signed mode (else encrypted)
//! 1, 2    the round trip's session size (big-endian, at most 32767 bytes; 0: no round trip)
//! 3       the most parts `join_chunks` is allowed (any number, past 10 too)
//! then    cookies, each a selector byte s:
//!           s & 0x0f   the name: 0 `id`, 1-11 `id-1` .. `id-11`, 12 `id-0`, 13 `id-01`,
//!                      14 `other`, 15 `id-x`
//!           s & 0x80   the value is the fixture's (a session sealed over three cookies):
//!                      (s >> 4) & 3 picks its chunk 0, 1 or 2, or 3: its sealed value whole,
//!                      without the count; else a length byte and that many raw bytes follow
//!           s & 0x40   (raw values) the value in double quotes
//!         the round trip's shuffle and the chunk it drops come from the same bytes
//! ```
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sealed_session::adapter::RequestInfo;
use sealed_session::codec::{MAX_COOKIES, chunk_name, join_chunks};
use sealed_session::{IncomingCookie, Mode, OpenError, SessionManager};
use sealed_session_fuzz::{COOKIE_NAME, MIN_CHUNKED, chunked_lifecycle};

/// The fixture's value, under the key `blob`.
const FIXTURE_LEN: usize = 8_000;

/// A session sealed by [`chunked_lifecycle`] over three cookies, per mode (encrypted, signed):
/// its cookies' values in order, and its sealed value (joined, without the count).
fn fixtures() -> &'static [(Vec<String>, String); 2] {
    static FIXTURES: OnceLock<[(Vec<String>, String); 2]> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        [Mode::Encrypted, Mode::Signed].map(|mode| {
            let pairs = write(
                chunked_lifecycle(mode, MAX_COOKIES),
                MAX_COOKIES,
                &vec![7u8; FIXTURE_LEN],
            )
            .expect("the fixture fits");
            assert_eq!(pairs.len(), 3, "the fixture spans three cookies");
            let values: Vec<String> = pairs.into_iter().map(|(_, value)| value).collect();
            let (_, head) = values[0].split_once('.').expect("a count prefix");
            let sealed = [head]
                .into_iter()
                .chain(values[1..].iter().map(String::as_str))
                .collect();
            (values, sealed)
        })
    })
}

/// The `(name, value)` of every cookie `sessions` (allowing `max` cookies) sets for a new
/// session holding `blob`, in order; `None` if the session is too large. The response removes
/// the other chunk names up to `max`, which the session does not use.
fn write(sessions: &SessionManager, max: usize, blob: &Vec<u8>) -> Option<Vec<(String, String)>> {
    let mut session = sessions.open([], RequestInfo::new("/"));
    session.insert("blob", blob).ok()?;
    let update = session.finish().expect("what insert accepted seals");
    let headers: Vec<&str> = update
        .header()
        .into_iter()
        .chain(session.chunk_headers().iter().map(String::as_str))
        .collect();
    let pair = |header: &&str| {
        let pair = header.split(';').next().expect("split yields one piece");
        let (name, value) = pair.split_once('=').expect("name=value");
        (name.to_owned(), value.to_owned())
    };
    for header in &headers {
        assert!(
            header.len() <= 4096,
            "a Set-Cookie of {} bytes",
            header.len()
        );
    }
    let (removals, set): (Vec<&str>, Vec<&str>) = headers
        .iter()
        .partition(|header| header.contains("Max-Age=0"));
    let unused = (set.len()..max).map(|k| chunk_name(COOKIE_NAME, k));
    assert!(
        removals.iter().map(|h| pair(h).0).eq(unused),
        "{removals:?}"
    );
    Some(set.iter().map(pair).collect())
}

/// The cookie name selector `s` picks.
fn name(s: u8) -> String {
    match s & 0x0f {
        0 => COOKIE_NAME.to_owned(),
        k @ 1..=11 => chunk_name(COOKIE_NAME, usize::from(k)),
        12 => format!("{COOKIE_NAME}-0"),
        13 => format!("{COOKIE_NAME}-01"),
        14 => "other".to_owned(),
        _ => format!("{COOKIE_NAME}-x"),
    }
}

/// The `Cookie` header `program` writes, and its `(name, value)` pairs.
fn header(program: &[u8], fixture: &(Vec<String>, String)) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut pairs = Vec::new();
    let mut rest = program;
    while let [s, tail @ ..] = rest {
        let value = if s & 0x80 != 0 {
            rest = tail;
            match usize::from((s >> 4) & 3) {
                3 => fixture.1.clone().into_bytes(),
                k => fixture.0[k].clone().into_bytes(),
            }
        } else {
            let [len, tail @ ..] = tail else { break };
            let (raw, tail) = tail.split_at(usize::from(*len).min(tail.len()));
            rest = tail;
            if s & 0x40 != 0 {
                [b"\"", raw, b"\""].concat()
            } else {
                raw.to_vec()
            }
        };
        pairs.push((name(*s), value));
    }
    let mut header = Vec::new();
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            header.extend_from_slice(b"; ");
        }
        header.extend_from_slice(name.as_bytes());
        header.push(b'=');
        header.extend_from_slice(value);
    }
    (header, pairs)
}

/// Opens `header` with `sessions` (allowing `max` cookies): the checks that hold for any
/// header. Returns the request's refusal, if any.
fn open(sessions: &SessionManager, max: usize, header: &[u8]) -> Option<OpenError> {
    let mut request = sessions.open([header], RequestInfo::new("/"));
    let refusal = request.refusal();
    if let Some(OpenError::MissingChunk { index } | OpenError::ExtraChunk { index }) = refusal {
        let index = usize::from(index);
        assert!((1..max).contains(&index), "chunk {index} of {max}");
    }
    if request.incoming() == &IncomingCookie::Valid {
        // Only what the lifecycle sealed opens: the fixture or a round trip's session, which
        // hold `blob` and nothing else.
        let state = request.state().expect("a valid cookie has a session");
        assert!(
            state.keys().eq(["blob"]),
            "a session that was never sealed opened"
        );
    }
    let update = request
        .finish()
        .expect("an unchanged or refused session needs no seal");
    // Its own chunk names, and those up to `MAX_COOKIES` that the request sent (left by a
    // larger `max_cookies`, or without their first cookie).
    let names: Vec<String> = (0..MAX_COOKIES)
        .map(|k| chunk_name(COOKIE_NAME, k))
        .collect();
    for header in update
        .header()
        .into_iter()
        .chain(request.chunk_headers().iter().map(String::as_str))
    {
        let name = header.split('=').next().expect("split yields one piece");
        assert!(
            names.iter().any(|n| n == name),
            "the response touched `{name}`"
        );
    }
    refusal
}

fuzz_target!(|data: &[u8]| {
    let [flags, size_hi, size_lo, join_max, program @ ..] = data else {
        return;
    };
    let max = MIN_CHUNKED + usize::from(flags & 7);
    let mode = if flags & 8 != 0 {
        Mode::Signed
    } else {
        Mode::Encrypted
    };
    let sessions = chunked_lifecycle(mode, max);
    let fixture = &fixtures()[usize::from(mode == Mode::Signed)];

    // The program's header.
    let (header, pairs) = header(program, fixture);
    open(sessions, max, &header);

    // `join_chunks` over the same cookies (the first value of each name), allowed any number
    // of parts: never more than `MAX_COOKIES`, and a join is the pieces in index order.
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    };
    if let Some(first) = value(COOKIE_NAME) {
        let chunk = |k: usize| value(&chunk_name(COOKIE_NAME, k));
        let allowed = usize::from(*join_max);
        if let Ok((joined, parts)) = join_chunks(first, chunk, allowed) {
            let parts = usize::from(parts);
            assert!(parts <= MAX_COOKIES, "{parts} parts joined");
            if parts == 1 {
                assert_eq!(joined, first);
            } else {
                assert!(parts <= allowed);
                let (_, head) = first.split_once('.').expect("a count prefix");
                let expected: String = [head]
                    .into_iter()
                    .chain((1..parts).map(|k| chunk(k).expect("joined")))
                    .collect();
                assert_eq!(joined, expected);
            }
        }
    }

    // The round trip: written, shuffled, opened whole; with a chunk dropped, refused for it.
    let size = usize::from(u16::from_be_bytes([*size_hi, *size_lo]) & 0x7fff);
    if size == 0 {
        return;
    }
    let blob: Vec<u8> = program.iter().copied().cycle().take(size).collect();
    let Some(mut cookies) = write(sessions, max, &blob) else {
        return;
    };
    let n = cookies.len();
    assert!((1..=max).contains(&n));
    for (k, (name, value)) in cookies.iter().enumerate() {
        assert_eq!(*name, chunk_name(COOKIE_NAME, k));
        // Only the first announces the count (base64url has no dot).
        let counted = value.starts_with(&format!("{n}."));
        assert_eq!(counted, k == 0 && n >= 2, "{k} of {n}");
    }
    // Fisher-Yates, its choices from the program (zeros past its end).
    let mut choices = program.iter().copied().chain(std::iter::repeat(0));
    for i in (1..n).rev() {
        let j = usize::from(choices.next().unwrap_or(0)) % (i + 1);
        cookies.swap(i, j);
    }
    let text = |cookies: &[(String, String)]| {
        let mut pairs: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.push("other=1".to_owned());
        pairs.join("; ")
    };
    let whole = text(&cookies);
    let mut request = sessions.open([whole.as_bytes()], RequestInfo::new("/"));
    assert_eq!(request.refusal(), None);
    let opened = request.state().expect("the round trip opens");
    assert_eq!(opened.get::<Vec<u8>>("blob"), Ok(Some(blob)));
    assert!(request.finish().is_ok());
    if n >= 2 {
        let dropped = usize::from(choices.next().unwrap_or(0)) % n;
        let (name, _) = cookies.remove(
            cookies
                .iter()
                .position(|(name, _)| *name == chunk_name(COOKIE_NAME, dropped))
                .expect("every chunk is there"),
        );
        let refusal = open(sessions, max, text(&cookies).as_bytes());
        if dropped == 0 {
            // Without its first cookie the chunks are nobody's session.
            assert_eq!(refusal, None, "without `{name}`");
        } else {
            let index = u8::try_from(dropped).expect("at most 10");
            assert_eq!(
                refusal,
                Some(OpenError::MissingChunk { index }),
                "without `{name}`"
            );
        }
    }
});
