//! The test vectors of `docs/format.md`, checked in both directions against the library, and
//! once more against an independent implementation written from the document alone.
//!
//! If this fails after a change to the codec, the change altered the wire format: either revert
//! it or write a new format version (see the versioning policy in the document; until the first
//! release, version 1 changes in place and its vectors are regenerated).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sealed_session::codec::{Codec, SessionState};
use sealed_session::keys::KeyRole;
use sealed_session::revocation::Generation;
use sealed_session::{KeyRing, Mode, SecretKey, SessionId};
use sealed_session_test_support::unhex as hex;
use time::OffsetDateTime;

const FORMAT_MD: &str = include_str!("../guide/format.md");

/// The `key: value` lines of every fenced block of `kind` in the document.
fn blocks(kind: &str) -> Vec<BTreeMap<String, String>> {
    let fence = format!("```{kind}\n");
    FORMAT_MD
        .split(&fence)
        .skip(1)
        .map(|rest| {
            let body = rest.split("```").next().expect("block is closed");
            body.lines()
                .filter_map(|line| line.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect()
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

fn data(v: &BTreeMap<String, String>) -> Vec<(String, Vec<u8>)> {
    match v["data"].as_str() {
        "-" => Vec::new(),
        list => list
            .split(' ')
            .map(|pair| {
                let (k, h) = pair.split_once('=').expect("key=hex");
                (k.to_owned(), hex(h))
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

    /// The cookie value of vector `v`, and the body (plaintext) it seals.
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
