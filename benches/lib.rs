//! Shared fixtures and comparators for the `sealed-session` benchmarks.
//!
//! Used by the criterion bench `benches/codec.rs` and the `cookie_sizes` binary; not a library
//! anyone should depend on (`publish = false`). Run everything from the workspace root with
//! `bash benches/run.sh`, or `cargo bench -p sealed-session-benches --bench codec -- --noplot`.
//!
//! - [`typical_session`] and [`large_session`] build the two sessions measured, each as our
//!   [`SessionState`], the exact postcard bytes our codec encrypts (for the floor), and the
//!   `HashMap<String, String>` of JSON strings actix-session would store.
//! - [`Floor`] is XChaCha20-Poly1305 + base64url and nothing else: HChaCha20 (RustCrypto
//!   `chacha20`) + ring's ChaCha20-Poly1305, a fresh `SysRng` nonce per seal, as our codec does.
//! - [`PureRustFloor`] is the same with RustCrypto's `chacha20poly1305` (what the codec's
//!   `pure-rust` feature runs): the contender the `ring` backend is measured against.
//! - [`ActixCookie`] mirrors actix-session 0.11's `CookieSessionStore` with
//!   `CookieContentSecurity::Private` (the default): `serde_json` of the state map, sealed in a
//!   `cookie` private jar (AES-256-GCM, standard base64).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{RngExt as _, SeedableRng as _, TryRng as _};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sealed_session::clock::{Clock as _, SystemClock};
use sealed_session::codec::{Codec, NONCE_LEN, SessionState};
use sealed_session::{KeyRing, Mode, SecretKey};
use serde::{Deserialize, Serialize};

/// The cookie name used by every contender (also our codec's default).
pub const COOKIE_NAME: &str = "id";

/// Length of the random value of the large session.
pub const LARGE_VALUE_LEN: usize = 2000;

/// Seed of the generator that fills the large session, so every run seals the same bytes.
pub const LARGE_SEED: u64 = 0x5EA1_ED00_5E55_1011;

/// One line of the typical session's cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    /// Stock-keeping unit.
    pub sku: String,
    /// Quantity.
    pub qty: u32,
}

/// One session, in the form each contender takes it.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Our session (fresh id, created when the fixture was made).
    pub state: SessionState,
    /// The postcard plaintext our codec encrypts for `state`, byte for byte (read out of a
    /// signed cookie of `state`).
    pub body: Vec<u8>,
    /// What actix-session keeps for the same data: key to JSON-encoded value.
    pub actix_map: HashMap<String, String>,
    /// The same session (id, times, keys) with each value postcard-encoded, as values were
    /// stored before they became MessagePack: the comparator of our value encoding.
    pub postcard_state: SessionState,
    /// Bytes of the application's values alone in our encoding (no keys, no framing).
    pub app_value_bytes: usize,
    /// Bytes of the whole application map in our encoding (keys, values, lengths).
    pub app_map_bytes: usize,
}

/// The typical session: user id 1234567, role "admin", a cart of three `("sku-12N", 2)` items.
///
/// # Panics
/// If `codec` can't draw a session id (the OS generator failed).
pub fn typical_session(codec: &Codec) -> Fixture {
    let cart: Vec<CartItem> = (0..3)
        .map(|i| CartItem {
            sku: format!("sku-12{}", i + 3),
            qty: 2,
        })
        .collect();
    let mut state = codec.new_session(SystemClock.now()).expect("session id");
    state.insert("user_id", &1_234_567u64).expect("encodes");
    state.insert("role", "admin").expect("encodes");
    state.insert("cart", &cart).expect("encodes");
    let postcard_values = [
        ("user_id", postcard_bytes(&1_234_567u64)),
        ("role", postcard_bytes("admin")),
        ("cart", postcard_bytes(&cart)),
    ];

    // actix-session's `Session::insert` stores `serde_json::to_string(&value)`.
    let mut actix_map = HashMap::new();
    actix_map.insert("user_id".to_owned(), json(&1_234_567u64));
    actix_map.insert("role".to_owned(), json("admin"));
    actix_map.insert("cart".to_owned(), json(&cart));
    fixture(state, actix_map, postcard_values)
}

/// The large session: one value of [`LARGE_VALUE_LEN`] random alphanumeric bytes from a
/// generator seeded with [`LARGE_SEED`].
///
/// Alphanumeric rather than arbitrary bytes so that all contenders carry the same bytes: a
/// `Vec<u8>` goes through `serde_json` as an array of numbers (about 3.6 bytes per byte), which
/// would make actix-session's cookie larger than its own 4064-byte limit.
///
/// # Panics
/// If `codec` can't draw a session id (the OS generator failed).
pub fn large_session(codec: &Codec) -> Fixture {
    let blob = large_value();
    let mut state = codec.new_session(SystemClock.now()).expect("session id");
    state.insert("blob", &blob).expect("encodes");
    let postcard_values = [("blob", postcard_bytes(&blob))];
    let mut actix_map = HashMap::new();
    actix_map.insert("blob".to_owned(), json(&blob));
    fixture(state, actix_map, postcard_values)
}

/// The value of the large session (same on every call).
pub fn large_value() -> String {
    rand::rngs::StdRng::seed_from_u64(LARGE_SEED)
        .sample_iter(rand::distr::Alphanumeric)
        .take(LARGE_VALUE_LEN)
        .map(char::from)
        .collect()
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON-encodes")
}

/// `value` as postcard, the encoding session values had before MessagePack.
///
/// # Panics
/// If `value`'s `Serialize` implementation fails.
pub fn postcard_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("postcard-encodes")
}

/// A copy of `state` (same id, times and keys) whose values are replaced by `values`.
pub fn with_values<'a>(
    state: &SessionState,
    values: impl IntoIterator<Item = (&'a str, Vec<u8>)>,
) -> SessionState {
    let mut copy = state.clone();
    for (key, bytes) in values {
        copy.insert_raw(key, bytes);
    }
    copy
}

fn fixture<'a>(
    state: SessionState,
    actix_map: HashMap<String, String>,
    postcard_values: impl IntoIterator<Item = (&'a str, Vec<u8>)>,
) -> Fixture {
    let postcard_state = with_values(&state, postcard_values);
    let app_value_bytes = state
        .keys()
        .filter_map(|k| state.get_raw(k))
        .map(<[u8]>::len)
        .sum();
    let app_map_bytes = postcard::to_stdvec(&app_map(&state))
        .expect("encodes")
        .len();
    // The plaintext is the same in both modes and under any key: take it from a signed cookie.
    let signed = Codec::builder(KeyRing::new(SecretKey::generate()))
        .mode(Mode::Signed)
        .build()
        .expect("valid settings");
    Fixture {
        body: signed_body(&signed.seal(&state).expect("seals")),
        state,
        actix_map,
        postcard_state,
        app_value_bytes,
        app_map_bytes,
    }
}

/// The same field layout as the codec's private `Body` (see `state.rs`: field order is the
/// wire format), so postcard produces the same bytes.
#[derive(Serialize)]
struct MirrorBody<'a> {
    id: [u8; 16],
    created: u64,
    active_for: u64,
    /// Name and revocation generation.
    subject: Option<(&'a str, u64)>,
    data: BTreeMap<&'a str, &'a serde_bytes::Bytes>,
}

fn app_map(state: &SessionState) -> BTreeMap<&str, &serde_bytes::Bytes> {
    state
        .keys()
        .filter_map(|k| Some((k, serde_bytes::Bytes::new(state.get_raw(k)?))))
        .collect()
}

/// The postcard plaintext our codec seals for `state`, rebuilt from a mirror of the codec's
/// private `Body` layout. Only for the `floor_postcard` diagnostic: the fixtures take the
/// plaintext from a real signed cookie ([`signed_body`]), which can't drift from the codec,
/// and the bench warns when this mirror does.
///
/// # Panics
/// Never: every field encodes.
pub fn body_bytes(state: &SessionState) -> Vec<u8> {
    postcard::to_stdvec(&MirrorBody {
        id: *state.id().as_bytes(),
        created: state.created_unix().secs(),
        active_for: state.last_active_unix().secs() - state.created_unix().secs(),
        subject: state
            .subject_generation()
            .map(|s| (s.name(), s.generation().get())),
        data: app_map(state),
    })
    .expect("encodes")
}

/// The body of a cookie value sealed in `Mode::Signed`: header (6 bytes) | body | HMAC (32).
///
/// # Panics
/// If `value` is not base64url or too short to be a signed cookie.
pub fn signed_body(value: &str) -> Vec<u8> {
    let envelope = URL_SAFE_NO_PAD.decode(value).expect("base64url");
    envelope[6..envelope.len() - 32].to_vec()
}

/// The floor: XChaCha20-Poly1305 of the body, base64url without padding, nothing else (no
/// header, no associated data, no serialization, no expiry checks).
///
/// Wire form: `nonce (24) | ciphertext | tag (16)`.
#[derive(Debug)]
pub struct Floor {
    key: [u8; 32],
}

impl Floor {
    /// A floor with a random key.
    ///
    /// # Panics
    /// If the OS generator fails.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::SysRng.try_fill_bytes(&mut key).expect("OS rng");
        Self { key }
    }

    /// Encrypts `body` under a fresh `SysRng` nonce and base64url-encodes it.
    ///
    /// # Panics
    /// If the OS generator fails.
    pub fn seal(&self, body: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .expect("OS rng");
        self.seal_with_nonce(body, &nonce)
    }

    /// [`Floor::seal`] with a caller-chosen nonce, to time everything but the randomness. Never
    /// reuse a nonce outside a benchmark.
    ///
    /// # Panics
    /// Never for cookie-sized bodies.
    pub fn seal_with_nonce(&self, body: &[u8], nonce: &[u8; NONCE_LEN]) -> String {
        let (key, chacha_nonce) = self.message_key(nonce);
        let mut out = Vec::with_capacity(NONCE_LEN + body.len() + 16);
        out.extend_from_slice(nonce);
        out.extend_from_slice(body);
        let tag = key
            .seal_in_place_separate_tag(chacha_nonce, Aad::empty(), &mut out[NONCE_LEN..])
            .expect("short message");
        out.extend_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decodes and decrypts a value of [`Floor::seal`]; `None` if it is not authentic.
    pub fn open(&self, value: &str) -> Option<Vec<u8>> {
        let mut data = URL_SAFE_NO_PAD.decode(value).ok()?;
        if data.len() < NONCE_LEN + 16 {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = data[..NONCE_LEN].try_into().ok()?;
        let (key, chacha_nonce) = self.message_key(&nonce);
        let len = key
            .open_in_place(chacha_nonce, Aad::empty(), &mut data[NONCE_LEN..])
            .ok()?
            .len();
        data.copy_within(NONCE_LEN..NONCE_LEN + len, 0);
        data.truncate(len);
        Some(data)
    }

    /// subkey = HChaCha20(key, nonce[0..16]); nonce' = 0u32 || nonce[16..24]
    /// (draft-irtf-cfrg-xchacha-03, section 2.3).
    fn message_key(&self, nonce: &[u8; NONCE_LEN]) -> (LessSafeKey, Nonce) {
        let mut input = [0u8; 16];
        input.copy_from_slice(&nonce[..16]);
        let subkey = chacha20::hchacha::<chacha20::R20>((&self.key).into(), (&input).into());
        let key = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, subkey.as_slice()).expect("32-byte key"),
        );
        let mut short = [0u8; 12];
        short[4..].copy_from_slice(&nonce[16..]);
        (key, Nonce::assume_unique_for_key(short))
    }
}

impl Default for Floor {
    fn default() -> Self {
        Self::new()
    }
}

/// The pure-Rust contender: [`Floor`] with RustCrypto's `chacha20poly1305` `XChaCha20Poly1305`
/// in place of HChaCha20 + ring (what our codec runs with `default-features = false, features =
/// ["pure-rust"]`). Same bytes as [`Floor`] for the same key and nonce, so the two time the same
/// work; the difference is the backend.
pub struct PureRustFloor {
    aead: chacha20poly1305::XChaCha20Poly1305,
}

impl PureRustFloor {
    /// A contender with a random key.
    ///
    /// # Panics
    /// If the OS generator fails.
    pub fn new() -> Self {
        use chacha20poly1305::KeyInit as _;
        let mut key = [0u8; 32];
        rand::rngs::SysRng.try_fill_bytes(&mut key).expect("OS rng");
        Self {
            aead: chacha20poly1305::XChaCha20Poly1305::new((&key).into()),
        }
    }

    /// Encrypts `body` under a fresh `SysRng` nonce and base64url-encodes it.
    ///
    /// # Panics
    /// If the OS generator fails.
    pub fn seal(&self, body: &[u8]) -> String {
        use chacha20poly1305::AeadInOut as _;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .expect("OS rng");
        let mut out = Vec::with_capacity(NONCE_LEN + body.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(body);
        let tag = self
            .aead
            .encrypt_inout_detached((&nonce).into(), &[], (&mut out[NONCE_LEN..]).into())
            .expect("short message");
        out.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decodes and decrypts a value of [`PureRustFloor::seal`]; `None` if it is not authentic.
    pub fn open(&self, value: &str) -> Option<Vec<u8>> {
        use chacha20poly1305::AeadInOut as _;
        let mut data = URL_SAFE_NO_PAD.decode(value).ok()?;
        let tag_start = data.len().checked_sub(16)?;
        if tag_start < NONCE_LEN {
            return None;
        }
        let (head, tag) = data.split_at_mut(tag_start);
        let (nonce, ciphertext) = head.split_at_mut(NONCE_LEN);
        let tag: &chacha20poly1305::Tag = (&*tag).try_into().ok()?;
        let nonce: &[u8; NONCE_LEN] = (&*nonce).try_into().ok()?;
        self.aead
            .decrypt_inout_detached(nonce.into(), &[], ciphertext.into(), tag)
            .ok()?;
        data.copy_within(NONCE_LEN..tag_start, 0);
        data.truncate(tag_start - NONCE_LEN);
        Some(data)
    }
}

impl Default for PureRustFloor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for PureRustFloor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PureRustFloor")
    }
}

/// actix-session 0.11's cookie storage with private (encrypted) content, the default.
///
/// Mirrors `CookieSessionStore::{save, load}` (`serde_json` of the `HashMap<String, String>`)
/// and the middleware's `set_session_cookie` / `extract_session_key` (a fresh `CookieJar`,
/// `private_mut(&key).add(..)` to seal, `add_original` + `private(&key).get(..)` to open).
/// The percent-encoding actix-web applies when it writes the `Set-Cookie` header is left out of
/// the timing, as is our codec's header writing.
#[derive(Debug)]
pub struct ActixCookie {
    key: cookie::Key,
}

impl ActixCookie {
    /// A jar key as `cookie::Key::generate` makes it (what actix-session's docs use).
    pub fn new() -> Self {
        Self {
            key: cookie::Key::generate(),
        }
    }

    /// `serde_json::to_string(map)`, sealed into a private cookie named [`COOKIE_NAME`];
    /// returns the cookie value.
    ///
    /// # Panics
    /// If the map doesn't serialize (it always does).
    pub fn seal(&self, map: &HashMap<String, String>) -> String {
        let session_key = serde_json::to_string(map).expect("JSON-encodes");
        let mut jar = cookie::CookieJar::new();
        jar.private_mut(&self.key)
            .add(cookie::Cookie::new(COOKIE_NAME, session_key));
        jar.delta()
            .next()
            .expect("the cookie just added")
            .value()
            .to_owned()
    }

    /// Opens a value of [`ActixCookie::seal`] back into the map; `None` if it is not authentic
    /// or not a JSON string map.
    pub fn open(&self, value: &str) -> Option<HashMap<String, String>> {
        let mut jar = cookie::CookieJar::new();
        jar.add_original(cookie::Cookie::new(COOKIE_NAME, value.to_owned()));
        let cookie = jar.private(&self.key).get(COOKIE_NAME)?;
        let session_key = cookie.value().to_owned();
        serde_json::from_str(&session_key).ok()
    }

    /// Length of `value` as actix-web writes it into `Set-Cookie` (`Cookie::encoded`
    /// percent-encodes the `/` and `=` of standard base64).
    pub fn encoded_len(value: &str) -> usize {
        cookie::Cookie::new(COOKIE_NAME, value)
            .encoded()
            .to_string()
            .len()
            - COOKIE_NAME.len()
            - 1
    }
}

impl Default for ActixCookie {
    fn default() -> Self {
        Self::new()
    }
}
