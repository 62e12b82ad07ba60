//! A session over several cookies (`SessionBuilder::max_cookies`): the field's chunking bugs,
//! one test each. Chunks left behind, `Set-Cookie` headers past 4096 bytes counting name and
//! attributes, lexicographic reassembly, no cap on the count, and chunks dropped, reordered or
//! taken from another session without the server noticing.

use sealed_session::adapter::{CookieUpdate, RequestInfo, RequestSession};
use sealed_session::{
    ChunkingProblem, ConfigError, KeyRing, OpenError, SealError, SecretKey, SessionManager,
};

/// A manager over up to `max` cookies, not `Secure` (cookie `id`), one key.
fn sessions(max: usize) -> SessionManager {
    SessionManager::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .max_cookies(max)
        .build()
        .expect("valid settings")
}

/// The `name=value` pairs a browser sends back for `headers` (removals dropped).
fn jar(headers: &[String]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|h| !h.contains("Max-Age=0"))
        .map(|h| {
            let pair = h.split(';').next().expect("name=value");
            let (name, value) = pair.split_once('=').expect("=");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// A `Cookie` header of `pairs`.
fn cookie_header(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every `Set-Cookie` header `session` decides, in order.
fn finish(session: &mut RequestSession) -> Vec<String> {
    let update = session.finish().expect("sealed");
    update
        .header()
        .map(str::to_owned)
        .into_iter()
        .chain(session.chunk_headers().iter().cloned())
        .collect()
}

/// A request carrying `pairs`.
fn request(sessions: &SessionManager, pairs: &[(String, String)]) -> RequestSession {
    let header = cookie_header(pairs);
    sessions.open([header.as_bytes()], RequestInfo::new("/"))
}

/// A session holding `bytes` bytes (as a string of that many letters) and the cookies it sets.
fn with_bytes(sessions: &SessionManager, bytes: usize) -> Vec<(String, String)> {
    let mut session = sessions.open([], RequestInfo::new("/"));
    session.insert("big", &"x".repeat(bytes)).expect("fits");
    jar(&finish(&mut session))
}

#[test]
fn a_large_session_spans_numbered_cookies_each_within_4096_bytes_and_reads_back() {
    let sessions = sessions(3);
    let mut session = sessions.open([], RequestInfo::new("/"));
    session.insert("big", &"x".repeat(6_000)).unwrap();
    let headers = finish(&mut session);
    for header in &headers {
        assert!(header.len() <= 4096, "{} bytes", header.len());
    }
    let pairs = jar(&headers);
    assert_eq!(pairs.len(), 2, "6,000 bytes take two cookies");
    // The third name is removed, though the request never sent it: a concurrent response may
    // have set it, and left beside this session it would refuse it.
    assert_eq!(headers.len(), 3);
    assert!(headers[2].starts_with("id-2=") && headers[2].contains("Max-Age=0"));
    let names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["id", "id-1"]);
    assert!(
        pairs[0].1.starts_with("2."),
        "the first announces the count"
    );
    let read = request(&sessions, &pairs);
    assert_eq!(read.refusal(), None);
    assert_eq!(read.get::<String>("big").unwrap().unwrap().len(), 6_000);
    // The chunks in another order in the header: the names say the order, not the header.
    let reversed: Vec<_> = pairs.iter().rev().cloned().collect();
    assert_eq!(request(&sessions, &reversed).refusal(), None);
}

#[test]
fn a_host_prefix_stays_on_every_chunk_name() {
    let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
        .max_cookies(3)
        .build()
        .unwrap();
    let mut session = sessions.open([], RequestInfo::new("/"));
    session.insert("big", &"x".repeat(6_000)).unwrap();
    let headers = finish(&mut session);
    assert!(headers.len() >= 2);
    assert!(headers[0].starts_with(&format!("__Host-id={}.", headers.len())));
    for (index, header) in headers.iter().enumerate().skip(1) {
        assert!(
            header.starts_with(&format!("__Host-id-{index}=")),
            "{header}"
        );
    }
    assert!(
        headers
            .iter()
            .all(|h| h.contains("Secure") && h.contains("Path=/"))
    );
    assert!(headers.iter().all(|h| h.len() <= 4096));
}

#[test]
fn chunks_reassemble_by_their_index_whatever_the_header_order() {
    let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .max_cookies(10)
        .cookie_header_budget(45_000)
        .build()
        .unwrap();
    let pairs = with_bytes(&sessions, 28_000);
    assert_eq!(pairs.len(), 10, "the most cookies");
    // The header in reverse, and sorted as strings: the index in each name decides the order
    // (at most 10 cookies, so indexes have one digit: no `id-10` to sort before `id-2`).
    for order in [pairs.iter().rev().cloned().collect::<Vec<_>>(), {
        let mut sorted = pairs.clone();
        sorted.sort();
        sorted
    }] {
        let read = request(&sessions, &order);
        assert_eq!(read.refusal(), None);
        assert_eq!(read.get::<String>("big").unwrap().unwrap().len(), 28_000);
    }
    // One more byte than ten cookies hold is refused at insert.
    let mut session = sessions.open([], RequestInfo::new("/"));
    assert!(session.insert("big", &"x".repeat(31_000)).is_err());
}

#[test]
fn a_missing_chunk_refuses_the_session_with_its_index_and_removes_the_rest() {
    let sessions = sessions(3);
    let pairs = with_bytes(&sessions, 6_000);
    let mut read = request(&sessions, &pairs[..1]);
    assert_eq!(read.refusal(), Some(OpenError::MissingChunk { index: 1 }));
    assert!(read.state().is_none());
    assert!(matches!(read.finish().unwrap(), CookieUpdate::Remove(_)));
}

#[test]
fn an_extra_chunk_refuses_the_session_and_every_chunk_sent_is_removed() {
    let sessions = sessions(3);
    let mut pairs = with_bytes(&sessions, 6_000);
    pairs.push(("id-2".to_owned(), "AAAA".to_owned()));
    let mut read = request(&sessions, &pairs);
    assert_eq!(read.refusal(), Some(OpenError::ExtraChunk { index: 2 }));
    let headers = finish(&mut read);
    let removed: Vec<&str> = headers
        .iter()
        .map(|h| h.split('=').next().unwrap())
        .collect();
    assert_eq!(removed, ["id", "id-1", "id-2"], "{headers:?}");
    assert!(headers.iter().all(|h| h.contains("Max-Age=0")));
}

#[test]
fn chunks_swapped_taken_from_another_session_or_recut_do_not_authenticate() {
    let sessions = sessions(3);
    let a = with_bytes(&sessions, 6_000);
    let b = with_bytes(&sessions, 6_000);
    // A chunk of another session of the same key.
    let foreign = vec![a[0].clone(), b[1].clone()];
    assert_eq!(
        request(&sessions, &foreign).refusal(),
        Some(OpenError::Forged)
    );
    // The two parts swapped between the names.
    let (head, tail) = (a[0].1.trim_start_matches("2."), &a[1].1);
    let swapped = vec![
        ("id".to_owned(), format!("2.{tail}")),
        ("id-1".to_owned(), head.to_owned()),
    ];
    assert_ne!(request(&sessions, &swapped).refusal(), None);
    // The same bytes cut elsewhere still join to the same value: that is not a change.
    let joined = format!("{head}{tail}");
    let half = joined.len() / 2;
    let recut = vec![
        ("id".to_owned(), format!("2.{}", &joined[..half])),
        ("id-1".to_owned(), joined[half..].to_owned()),
    ];
    assert_eq!(request(&sessions, &recut).refusal(), None);
    // But the count is authenticated: the same value announced as one cookie is refused.
    let single = vec![("id".to_owned(), joined)];
    assert_eq!(
        request(&sessions, &single).refusal(),
        Some(OpenError::Forged)
    );
}

#[test]
fn a_smaller_session_and_a_logout_remove_the_chunks_they_no_longer_use() {
    let sessions = sessions(3);
    let pairs = with_bytes(&sessions, 6_000);
    // Shrinks to one cookie: the response sets `id` and removes `id-1`.
    let mut shrink = request(&sessions, &pairs);
    shrink.insert("big", &"x").unwrap();
    let headers = finish(&mut shrink);
    assert_eq!(headers.len(), 3, "{headers:?}");
    assert!(headers[0].starts_with("id=") && !headers[0].contains("Max-Age=0"));
    for (header, name) in headers[1..].iter().zip(["id-1=", "id-2="]) {
        assert!(
            header.starts_with(name) && header.contains("Max-Age=0"),
            "{header}"
        );
    }
    let small = jar(&headers);
    assert_eq!(
        request(&sessions, &small)
            .get::<String>("big")
            .unwrap()
            .as_deref(),
        Some("x")
    );
    // A logout of the large session removes every name up to `max_cookies`.
    let mut logout = request(&sessions, &pairs);
    logout.purge().unwrap();
    let headers = finish(&mut logout);
    assert_eq!(headers.len(), 3);
    assert!(
        headers.iter().all(|h| h.contains("Max-Age=0")),
        "{headers:?}"
    );
}

#[test]
fn insert_refuses_past_the_count_or_the_header_budget_and_changes_nothing() {
    let sessions = sessions(3);
    let mut session = sessions.open([], RequestInfo::new("/"));
    session.insert("small", &1u8).unwrap();
    let err = session.insert("big", &"x".repeat(20_000)).unwrap_err();
    assert!(
        matches!(
            err,
            sealed_session::adapter::InsertError::TooLarge { limit: 8192, .. }
        ),
        "{err:?}"
    );
    assert!(!session.contains_key("big"));
    // A smaller budget binds first.
    let tight = SessionManager::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .max_cookies(3)
        .cookie_header_budget(5_000)
        .build()
        .unwrap();
    let mut session = tight.open([], RequestInfo::new("/"));
    assert!(session.insert("big", &"x".repeat(4_000)).is_err());
    session.insert("big", &"x".repeat(3_000)).unwrap();
}

#[test]
fn settings_that_cannot_work_fail_at_build_with_the_fix() {
    let build = |b: sealed_session::SessionBuilder| b.build().map(drop).unwrap_err();
    let ring = || KeyRing::new(SecretKey::generate());
    for max in [0, 11] {
        assert_eq!(
            build(SessionManager::builder(ring()).max_cookies(max)),
            ConfigError::InvalidChunking {
                reason: ChunkingProblem::CookieCount
            }
        );
    }
    assert_eq!(
        build(
            SessionManager::builder(ring())
                .max_cookies(2)
                .size_limit(3000)
        ),
        ConfigError::InvalidChunking {
            reason: ChunkingProblem::SizeLimitWithChunks
        }
    );
    assert_eq!(
        build(
            SessionManager::builder(ring())
                .max_cookies(2)
                .cookie_header_budget(20)
        ),
        ConfigError::InvalidChunking {
            reason: ChunkingProblem::BudgetTooSmall
        }
    );
    assert_eq!(
        build(
            SessionManager::builder(ring())
                .cookie_name("x".repeat(63))
                .max_cookies(2)
        ),
        ConfigError::InvalidChunking {
            reason: ChunkingProblem::NameOrAttributesTooLong
        }
    );
    let err = build(SessionManager::builder(ring()).max_cookies(11));
    assert!(
        err.to_string()
            .contains("1 (one cookie, the default) to 10"),
        "{err}"
    );
}

#[test]
fn one_cookie_stays_todays_format_and_chunk_names_are_ignored() {
    let one = sessions(1);
    let mut session = one.open([], RequestInfo::new("/"));
    session.insert("n", &1u8).unwrap();
    let headers = finish(&mut session);
    assert_eq!(headers.len(), 1);
    let mut pairs = jar(&headers);
    assert!(
        !pairs[0].1.contains('.'),
        "no count prefix on a single cookie"
    );
    // With `max_cookies(1)`, a cookie named like a chunk is someone else's: not read.
    pairs.push(("id-1".to_owned(), "anything".to_owned()));
    assert_eq!(request(&one, &pairs).refusal(), None);
    // A session under the count of a chunking manager is a single cookie too, byte for byte
    // the same format: a manager with chunks reads a one-cookie session.
    let key = SecretKey::generate();
    let chunked = SessionManager::builder(KeyRing::new(key.clone()))
        .cookie_secure(false)
        .max_cookies(3)
        .build()
        .unwrap();
    let single = SessionManager::builder(KeyRing::new(key))
        .cookie_secure(false)
        .build()
        .unwrap();
    let small = with_bytes(&single, 10);
    assert_eq!(request(&chunked, &small).refusal(), None);
    let _ = SealError::Randomness;
}

#[test]
fn a_concurrent_response_can_not_leave_a_chunk_beside_a_smaller_session() {
    let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .max_cookies(3)
        .cookie_header_budget(16_384)
        .build()
        .unwrap();
    let two = with_bytes(&sessions, 6_000);
    // Two requests with the same two cookies: A grows the session to three, B shrinks it to
    // one. Whichever response the browser applies last, no chunk of the other stays.
    let mut a = request(&sessions, &two);
    a.insert("big", &"y".repeat(7_000)).unwrap();
    let a_headers = finish(&mut a);
    let mut b = request(&sessions, &two);
    b.insert("big", &"z").unwrap();
    let b_headers = finish(&mut b);
    for (first, last) in [(&a_headers, &b_headers), (&b_headers, &a_headers)] {
        let mut browser: Vec<(String, String)> = Vec::new();
        for header in first.iter().chain(last.iter()) {
            let pair = header.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            browser.retain(|(n, _)| n != name);
            if !header.contains("Max-Age=0") {
                browser.push((name.to_owned(), value.to_owned()));
            }
        }
        let names: Vec<&str> = browser.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(request(&sessions, &browser).refusal(), None, "{names:?}");
    }
}

#[test]
fn chunks_left_by_a_larger_max_cookies_are_removed_after_a_rollback() {
    let key = SecretKey::generate();
    let manager = |max: usize| {
        SessionManager::builder(KeyRing::new(key.clone()))
            .cookie_secure(false)
            .max_cookies(max)
            .cookie_header_budget(16_384)
            .build()
            .unwrap()
    };
    let three = with_bytes(&manager(3), 9_000);
    assert_eq!(three.len(), 3);
    for lower in [1, 2] {
        let sessions = manager(lower);
        let mut read = request(&sessions, &three);
        assert!(read.refusal().is_some());
        let headers = finish(&mut read);
        for name in ["id=", "id-1=", "id-2="] {
            assert!(
                headers
                    .iter()
                    .any(|h| h.starts_with(name) && h.contains("Max-Age=0")),
                "max_cookies {lower}: {name} removed"
            );
        }
    }
    // A one-cookie session of the rolled-back manager with a stale chunk beside it: still
    // valid, and the chunk is removed even by a read.
    let one = manager(1);
    let mut pairs = with_bytes(&one, 10);
    pairs.push(three[2].clone());
    let mut read = request(&one, &pairs);
    assert_eq!(read.refusal(), None);
    let headers = finish(&mut read);
    assert_eq!(headers.len(), 1);
    assert!(headers[0].starts_with("id-2=") && headers[0].contains("Max-Age=0"));
}

#[test]
fn chunks_without_their_first_cookie_are_removed() {
    let sessions = sessions(3);
    let pairs = with_bytes(&sessions, 6_000);
    let mut read = request(&sessions, &pairs[1..]);
    assert_eq!(
        read.refusal(),
        None,
        "no first cookie: no session, nothing refused"
    );
    let headers = finish(&mut read);
    assert_eq!(headers.len(), 1);
    assert!(headers[0].starts_with("id-1=") && headers[0].contains("Max-Age=0"));
}

#[test]
fn a_refresh_past_limits_lowered_since_keeps_the_cookie_instead_of_failing() {
    let key = SecretKey::generate();
    let manager = |budget: usize| {
        SessionManager::builder(KeyRing::new(key.clone()))
            .cookie_secure(false)
            .max_cookies(3)
            .cookie_header_budget(budget)
            .refresh(sealed_session::RefreshPolicy::EveryRequest)
            .build()
            .unwrap()
    };
    let big = with_bytes(&manager(16_384), 9_000);
    let mut read = request(&manager(8_192), &big);
    assert_eq!(read.refusal(), None);
    let update = read.finish().expect("no error: the old cookie stays");
    assert_eq!(update, CookieUpdate::None);
    // A write that doesn't fit is refused at the write, as always.
    let mut write = request(&manager(8_192), &big);
    assert!(write.insert("more", &1u8).is_err());
}

#[test]
fn the_part_count_is_bound_apart_from_the_body_in_signed_mode_too() {
    // Signed: the MAC covers the bound data then the body; a value sealed for one cookie must
    // not verify as sealed for more, whatever its body's first byte.
    let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .mode(sealed_session::Mode::Signed)
        .max_cookies(3)
        .build()
        .unwrap();
    let small = with_bytes(&sessions, 10);
    let value = &small[0].1;
    let now = time::OffsetDateTime::now_utc();
    assert!(sessions.codec().open_chunked_at(value, 1, now).is_ok());
    for parts in [2u8, 3] {
        let read = sessions.codec().open_chunked_at(value, parts, now);
        assert_eq!(read.err(), Some(OpenError::Forged), "{parts} parts");
    }
}
