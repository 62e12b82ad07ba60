//! Writes the seed corpus of the fuzz targets (`fuzz/seeds/`): run it with
//! `cargo test -p sealed-session --test api -- --ignored write_fuzz_seeds`.
//!
//! The constants are `sealed_session_test_support::fuzz`, which `fuzz/src/lib.rs` reads too; the
//! ring and codec settings are built as there (change both together). So the seeds open in the
//! fuzzers, which start from cookies that reach every check past authentication. Nonces
//! and ids are fixed, so the files are the same on every run.

use std::path::PathBuf;
use std::sync::Arc;

use sealed_session::adapter::RequestInfo;
use sealed_session::clock::ManualClock;
use sealed_session::codec::{Codec, NONCE_LEN, SessionState, UnixTime};
use sealed_session::revocation::{Generation, Revocation};
use sealed_session::{IncomingCookie, KeyRing, Mode, SecretKey, SessionId, SessionManager};

use sealed_session_test_support::fuzz::{
    FALLBACK, NOT_BEFORE_AGO, NOW_UNIX as NOW, PRIMARY, REVOKED_ID, REVOKED_SUBJECT, STAGED,
};

fn sealer(key: SecretKey, mode: Mode, name: &str) -> Codec {
    Codec::builder(KeyRing::new(key))
        .mode(mode)
        .cookie_name(name)
        .build()
        .expect("valid")
}

fn state(id: [u8; 16], created: i64, last_active: i64, subject: Option<&str>) -> SessionState {
    let mut state = SessionState::with_id(SessionId::from_bytes(id), crate::at(created));
    state.touch(crate::at(last_active));
    if let Some(subject) = subject {
        state.set_subject(subject, Generation::ZERO);
    }
    state
}

/// (file name, content) of every seed of every target.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let day = 24 * 3600;
    for mode in crate::MODES {
        let seal = |key: u8, name: &str, state: &SessionState| {
            sealer(crate::secret(key), mode, name)
                .dangerous()
                .seal_with_nonce(state, &[key; NONCE_LEN])
                .expect("fits")
        };
        let mut full = state([1; 16], NOW - 60, NOW - 10, Some("alice"));
        full.insert("user_id", &42u64).expect("encodes");
        full.insert("roles", &vec!["admin".to_owned(), "dev".to_owned()])
            .expect("encodes");
        full.insert_raw("raw", vec![0, 1, 2, 255]);
        let plain = state([2; 16], NOW, NOW, None);
        let cases = [
            ("ok-primary", seal(PRIMARY, "id", &full)),
            ("ok-empty", seal(PRIMARY, "id", &plain)),
            ("ok-fallback", seal(FALLBACK, "id", &full)),
            ("ok-staged", seal(STAGED, "id", &plain)),
            ("forged-name", seal(PRIMARY, "other", &full)),
            ("unknown-key", seal(9, "id", &full)),
            (
                "expired-absolute",
                seal(PRIMARY, "id", &state([3; 16], NOW - day, NOW - 10, None)),
            ),
            (
                "expired-idle",
                seal(
                    PRIMARY,
                    "id",
                    &state([4; 16], NOW - 7_200, NOW - 3_600, None),
                ),
            ),
            (
                "from-future",
                seal(PRIMARY, "id", &state([5; 16], NOW + 61, NOW + 61, None)),
            ),
            (
                "not-before",
                seal(
                    PRIMARY,
                    "id",
                    &state([6; 16], NOW - NOT_BEFORE_AGO - 1, NOW, None),
                ),
            ),
            (
                "revoked-id",
                seal(PRIMARY, "id", &state(REVOKED_ID, NOW - 5, NOW, None)),
            ),
            (
                "revoked-subject",
                seal(
                    PRIMARY,
                    "id",
                    &state([7; 16], NOW - 5, NOW, Some(REVOKED_SUBJECT)),
                ),
            ),
        ];
        for (name, cookie) in cases {
            seeds.push((format!("open/{mode}-{name}"), cookie.into_bytes()));
        }
    }
    for (name, text) in [
        ("empty", ""),
        ("garbage", "not a cookie"),
        ("zeros", "AAAAAAAAAA"),
    ] {
        seeds.push((format!("open/{name}"), text.as_bytes().to_vec()));
    }
    // `open_mutated`: first byte = mode (bit 0) and operation (bits 1-2), then its operands.
    let mutations: [(&str, &[u8]); 8] = [
        ("encrypted-unchanged", &[0]),
        ("signed-unchanged", &[1]),
        ("encrypted-flip-version", &[0, 0x01]),
        ("signed-flip-tag", &[3, 0, 60, 0x80]),
        ("encrypted-flip-body", &[2, 0, 40, 0x01, 0x02]),
        ("signed-truncate", &[5, 37]),
        ("encrypted-truncate", &[4, 46, 0, 0, 0, 0, 0, 0]),
        ("signed-append", &[7, 0, 0, 0]),
    ];
    for (name, bytes) in mutations {
        seeds.push((format!("open_mutated/{name}"), bytes.to_vec()));
    }
    seeds.extend(chunk_seeds());
    seeds
}

/// `chunks`: byte 0 = cookies allowed (3 + bits 0-2) and mode (bit 3), bytes 1-2 = the round
/// trip's size, byte 3 = `join_chunks`' limit, then cookies: a selector (name in bits 0-3; bit 7:
/// the fixture's chunk `(s >> 4) & 3`, 3 its sealed value whole) or a selector, a length and a
/// raw value (see `fuzz/fuzz_targets/chunks.rs`).
fn chunk_seeds() -> Vec<(String, Vec<u8>)> {
    // The fixture's chunk `k` under the name of index `name`.
    let fixture = |k: u8, name: u8| 0x80 | (k << 4) | name;
    let raw = |name: u8, value: &[u8]| {
        let len = u8::try_from(value.len()).expect("short");
        [&[name, len][..], value].concat()
    };
    let cases: [(&str, Vec<u8>); 9] = [
        (
            "encrypted-in-order",
            vec![0, 0, 0, 10, fixture(0, 0), fixture(1, 1), fixture(2, 2)],
        ),
        (
            "signed-reversed",
            vec![8 | 2, 0, 0, 3, fixture(2, 2), fixture(1, 1), fixture(0, 0)],
        ),
        (
            "encrypted-missing",
            vec![0, 0, 0, 10, fixture(0, 0), fixture(2, 2)],
        ),
        (
            "encrypted-extra",
            [
                vec![2, 0, 0, 10, fixture(0, 0), fixture(1, 1), fixture(2, 2)],
                raw(3, b"AAAA"),
            ]
            .concat(),
        ),
        ("signed-count-dropped", vec![8, 0, 0, 10, fixture(3, 0)]),
        (
            "encrypted-swapped",
            vec![0, 0, 0, 10, fixture(1, 0), fixture(0, 1), fixture(2, 2)],
        ),
        (
            "odd-names",
            [
                vec![7, 0, 0, 255],
                raw(0, b"3.AB"),
                raw(12, b"x"),
                raw(13, b"y"),
                raw(14, b"z"),
                raw(15, b"w"),
                raw(1 | 0x40, b"CD"),
                raw(2, b"EF"),
                raw(11, b"GH"),
            ]
            .concat(),
        ),
        // Round trips: 3,000 bytes over two cookies of three; 28,000 over ten.
        (
            "round-trip-two",
            vec![0, 0x0b, 0xb8, 10, 14, 3, 1, 2, 3, 0, 1],
        ),
        (
            "round-trip-ten",
            vec![8 | 7, 0x6d, 0x60, 10, 14, 4, 9, 3, 6, 1, 5, 2, 8, 7],
        ),
    ];
    cases
        .into_iter()
        .map(|(name, bytes)| (format!("chunks/{name}"), bytes))
        .collect()
}

#[test]
#[ignore = "writes fuzz/seeds/; run on demand with --ignored"]
fn write_fuzz_seeds() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for (name, content) in seeds() {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write seed");
    }
}

/// The ring of `fuzz/src/lib.rs`: staged, primary and fallback keys.
fn fuzz_ring() -> KeyRing {
    KeyRing::from_keys([crate::secret(PRIMARY), crate::secret(FALLBACK)])
        .and_then(|r| r.with_open_only(crate::secret(STAGED)))
        .expect("valid")
}

/// The codec of `fuzz/src/lib.rs`: [`fuzz_ring`] and a "not before" time.
fn fuzz_codec(mode: Mode) -> Codec {
    Codec::builder(fuzz_ring())
        .mode(mode)
        .not_before(crate::at(NOW - NOT_BEFORE_AGO))
        .build()
        .expect("valid")
}

/// The lifecycle of `fuzz/src/lib.rs`: the codec's settings under the cookie name `id`, a clock
/// stopped at `NOW`, and a revocation store holding one revoked (anonymous) id and one subject
/// logged out everywhere.
fn fuzz_lifecycle(mode: Mode) -> SessionManager {
    let lifecycle = SessionManager::builder(fuzz_ring())
        .mode(mode)
        .cookie_name("id")
        .not_before(crate::at(NOW - NOT_BEFORE_AGO))
        .clock(Arc::new(ManualClock::new(crate::at(NOW))))
        .build()
        .expect("valid");
    let now = UnixTime::from(crate::at(NOW));
    lifecycle
        .revocation_store()
        .revoke(
            Revocation::Session {
                id: SessionId::from_bytes(REVOKED_ID),
                subject: None,
                until: UnixTime::MAX,
            },
            now,
        )
        .expect("recorded");
    lifecycle
        .revoke_subject(REVOKED_SUBJECT)
        .wait()
        .expect("recorded");
    lifecycle
}

/// The seeds do what their names say under the fuzz targets' codecs and lifecycles (this runs
/// always, so the recipe can't drift from the format unnoticed).
#[test]
fn fuzz_seeds_reach_every_check() {
    let seeds = seeds();
    let mut outcomes = std::collections::BTreeSet::new();
    for (name, content) in &seeds {
        let Some(rest) = name.strip_prefix("open/") else {
            continue;
        };
        let Some((mode, case)) = rest
            .split_once('-')
            .filter(|(m, _)| *m == "encrypted" || *m == "signed")
        else {
            continue;
        };
        let mode = if mode == "signed" {
            Mode::Signed
        } else {
            Mode::Encrypted
        };
        let value = std::str::from_utf8(content).expect("ASCII");
        let result = fuzz_codec(mode).open_at(value, crate::at(NOW));
        // The lifecycle makes the codec's checks, then the revocation check.
        let header = format!("id={value}");
        let request = fuzz_lifecycle(mode).open([header.as_bytes()], RequestInfo::new("/"));
        let outcome = match (&result, request.incoming()) {
            (Ok(opened), IncomingCookie::Valid) => {
                format!("ok-{:?}", opened.key_role()).to_lowercase()
            }
            (Ok(_), IncomingCookie::Refused(err)) => err.reason().replace('_', "-"),
            (Err(err), IncomingCookie::Refused(same)) if err == same => {
                err.reason().replace('_', "-")
            }
            (result, incoming) => panic!("{name}: codec {result:?}, lifecycle {incoming:?}"),
        };
        let expected = match case {
            "ok-primary" | "ok-empty" => "ok-primary",
            "ok-fallback" => "ok-fallback",
            "ok-staged" => "ok-openonly",
            "forged-name" => "forged",
            "revoked-id" | "revoked-subject" => "revoked",
            other => other,
        };
        assert_eq!(outcome, expected, "{name}: {result:?}");
        outcomes.insert(outcome);
    }
    assert_eq!(outcomes.len(), 10, "{outcomes:?}");
}
