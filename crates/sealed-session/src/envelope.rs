//! The v1 wire format: parses untrusted bytes into a typed header, and seals / authenticates the
//! body under that header and the cookie name.
//!
//! ```text
//! encrypted:  | 0x01 | 0x01 | key id (4) | nonce (24) | ciphertext (n) | Poly1305 tag (16) |
//! signed:     | 0x01 | 0x02 | key id (4) | postcard body (n)          | HMAC-SHA256 (32)  |
//!               ver    mode   \___ header: 6 bytes ___/
//!
//! bound data = header (6) | cookie name length (1) | cookie name
//!   encrypted: bound data is the AEAD's associated data
//!   signed:    tag = HMAC-SHA256(sign key, bound data | body)
//! ```
//! The cookie value is the whole envelope in base64url without padding. See [`crate::guide::format`].

use std::fmt;

use hmac::digest::{CtOutput, Output};
use hmac::{KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::error::{ConfigError, OpenError};
use crate::key::KeyId;
use crate::key_ring::{KeyRing, RingKey};
use crate::xchacha::{NONCE_LEN, TAG_LEN};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The format version this build writes. Versions it reads: only this one so far.
pub(crate) const VERSION: u8 = 1;
/// Version, mode, key id.
pub(crate) const HEADER_LEN: usize = 2 + KeyId::LEN;
/// HMAC-SHA256 output length.
pub(crate) const MAC_LEN: usize = 32;
/// Longest cookie name accepted; its length is bound as one byte.
pub(crate) const MAX_NAME_LEN: usize = 64;
const _: () = assert!(MAX_NAME_LEN <= u8::MAX as usize);

/// How a session is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// XChaCha20-Poly1305: the client can neither read nor alter the session. The default.
    #[default]
    Encrypted,
    /// HMAC-SHA256: the client can read the session (it is only base64) but not alter it. Use
    /// it for state that is not secret, when readability helps debugging or the front end.
    Signed,
}

impl Mode {
    const fn byte(self) -> u8 {
        match self {
            Self::Encrypted => 1,
            Self::Signed => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Encrypted),
            2 => Some(Self::Signed),
            _ => None,
        }
    }

    /// Bytes the envelope adds around the body in this mode.
    pub(crate) const fn overhead(self) -> usize {
        match self {
            Self::Encrypted => HEADER_LEN + NONCE_LEN + TAG_LEN,
            Self::Signed => HEADER_LEN + MAC_LEN,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Encrypted => "encrypted",
            Self::Signed => "signed",
        })
    }
}

/// A validated cookie name (an RFC 6265 token of 1 to 64 bytes).
///
/// The name is bound into every cookie's authentication, so a value sealed for one name is
/// refused under another.
///
/// ```
/// use sealed_session::codec::CookieName;
///
/// assert_eq!(CookieName::new("__Host-id")?.as_str(), "__Host-id");
/// assert!(CookieName::new("has space").is_err());
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CookieName(String);

impl CookieName {
    /// Validates `name`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCookieName`] if it is empty, longer than 64 bytes or has a byte
    /// outside RFC 6265's token characters.
    pub fn new(name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if valid {
            Ok(Self(name))
        } else {
            Err(ConfigError::InvalidCookieName { name })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CookieName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CookieName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CookieName({:?})", self.0)
    }
}

/// The public header of a sealed cookie, readable without any key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u8,
    /// Sealing mode.
    pub mode: Mode,
    /// Id of the key that sealed the cookie.
    pub key_id: KeyId,
}

impl Header {
    fn bytes(&self) -> [u8; HEADER_LEN] {
        let id = self.key_id.as_bytes();
        [self.version, self.mode.byte(), id[0], id[1], id[2], id[3]]
    }

    /// Parses the header of a decoded envelope and checks that the envelope is long enough for
    /// its mode.
    pub(crate) fn parse(envelope: &[u8]) -> Result<Self, OpenError> {
        let [version, mode, a, b, c, d, ..] = *envelope else {
            return Err(OpenError::Malformed);
        };
        if version != VERSION {
            return Err(OpenError::UnsupportedVersion { version });
        }
        let mode = Mode::from_byte(mode).ok_or(OpenError::Malformed)?;
        if envelope.len() < mode.overhead() {
            return Err(OpenError::Malformed);
        }
        Ok(Self {
            version,
            mode,
            key_id: KeyId::from_bytes([a, b, c, d]),
        })
    }
}

/// Header and cookie name, as authenticated in both modes: `header | len(name) | name`; for a
/// session split over `parts` > 1 cookies, `header | 0x80 + len(name) | name | parts` (one byte
/// each): so a session can't be read with another number of chunks than it was sealed for, and
/// the two forms never hash alike (a name is at most 64 bytes, so its length never has the
/// high bit; in signed mode the body follows the bound data in the MAC's input, so without the
/// flag a body starting with the byte `parts` would read the same either way) (docs/format.md,
/// "Chunks").
///
/// On the stack: it is built for every seal and open, and is at most 72 bytes.
struct BoundData {
    bytes: [u8; HEADER_LEN + 1 + MAX_NAME_LEN + 1],
    len: usize,
}

impl BoundData {
    fn new(header: &[u8; HEADER_LEN], name: &CookieName, parts: u8) -> Self {
        let name = name.as_str().as_bytes();
        let mut bytes = [0u8; HEADER_LEN + 1 + MAX_NAME_LEN + 1];
        bytes[..HEADER_LEN].copy_from_slice(header);
        // `CookieName` guarantees at most `MAX_NAME_LEN` (< 256) bytes.
        bytes[HEADER_LEN] = u8::try_from(name.len()).unwrap_or(u8::MAX);
        let mut len = HEADER_LEN + 1 + name.len().min(MAX_NAME_LEN);
        bytes[HEADER_LEN + 1..len].copy_from_slice(&name[..len - HEADER_LEN - 1]);
        if parts > 1 {
            bytes[HEADER_LEN] |= 0x80;
            bytes[len] = parts;
            len += 1;
        }
        Self { bytes, len }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Seals a body of exactly `body_len` bytes, which `write_body` appends to the buffer it is
/// given, under the ring's primary key; returns the whole envelope, built in one allocation.
/// `nonce` is used only in encrypted mode and must be fresh random bytes for every call.
pub(crate) fn seal(
    ring: &KeyRing,
    mode: Mode,
    name: &CookieName,
    parts: u8,
    nonce: &[u8; NONCE_LEN],
    body_len: usize,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let key = ring.primary();
    let header = Header {
        version: VERSION,
        mode,
        key_id: key.id,
    }
    .bytes();
    let bound = BoundData::new(&header, name, parts);
    let mut out = Vec::with_capacity(mode.overhead() + body_len);
    out.extend_from_slice(&header);
    match mode {
        Mode::Encrypted => {
            out.extend_from_slice(nonce);
            let start = out.len();
            write_body(&mut out);
            key.cipher
                .seal_tail_in_place(nonce, bound.as_slice(), &mut out, start);
        }
        Mode::Signed => {
            let start = out.len();
            write_body(&mut out);
            let tag = mac(key, bound.as_slice(), &out[start..]);
            out.extend_from_slice(tag.as_bytes());
        }
    }
    out
}

/// Authenticates `envelope` (whose header is `header`) and returns the body, decrypted in place
/// where needed.
pub(crate) fn open<'a>(
    key: &RingKey,
    header: &Header,
    name: &CookieName,
    parts: u8,
    envelope: &'a mut [u8],
) -> Result<&'a [u8], OpenError> {
    let bound = BoundData::new(&header.bytes(), name, parts);
    let rest = &mut envelope[HEADER_LEN..];
    match header.mode {
        Mode::Encrypted => {
            let (nonce, sealed) = rest.split_at_mut(NONCE_LEN);
            let nonce: &[u8; NONCE_LEN] = (&*nonce).try_into().map_err(|_| OpenError::Malformed)?;
            key.cipher
                .open_in_place(nonce, bound.as_slice(), sealed)
                .map_err(|_| OpenError::Forged)
        }
        Mode::Signed => {
            let (body, tag) = rest.split_at(rest.len() - MAC_LEN);
            let tag: &Output<HmacSha256> = tag.try_into().map_err(|_| OpenError::Forged)?;
            // `CtOutput`'s `==` compares in constant time.
            if mac(key, bound.as_slice(), body) != CtOutput::from(tag) {
                return Err(OpenError::Forged);
            }
            Ok(body)
        }
    }
}

/// HMAC-SHA256(sign key, `bound` | `body`).
///
/// The HMAC state (its inner and outer SHA-256 midstates are as good as the key) is built,
/// used and consumed in this one frame, never returned: `finalize` drops it here, and with the
/// `zeroize` features of `hmac` and `sha2` that drop wipes the midstates and the block buffer.
/// The returned tag is wiped on drop as well (`CtOutput`) and compares in constant time.
fn mac(key: &RingKey, bound: &[u8], body: &[u8]) -> CtOutput<HmacSha256> {
    // HMAC accepts keys of any length; ours is always 32 bytes.
    let mut mac =
        HmacSha256::new_from_slice(key.sign.as_slice()).expect("HMAC takes keys of any length");
    mac.update(bound);
    mac.update(body);
    mac.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while the `zeroize` features of `sha2` and `hmac` (through `digest`) are
    /// on: without them these types have no `ZeroizeOnDrop` and HMAC states outlive requests.
    #[test]
    fn hmac_states_and_tags_are_wiped_on_drop() {
        fn wiped_on_drop<T: hmac::digest::zeroize::ZeroizeOnDrop>() {}
        // The two midstates inside `Hmac<Sha256>` are of this type.
        wiped_on_drop::<<Sha256 as hmac::EagerHash>::Core>();
        wiped_on_drop::<Sha256>();
        wiped_on_drop::<CtOutput<HmacSha256>>();
    }

    #[test]
    fn cookie_names_follow_rfc6265_tokens() {
        for good in ["id", "__Host-id", "a.b_c~1", &"x".repeat(64)] {
            assert!(CookieName::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a b",
            "a=b",
            "a;b",
            "é",
            "a,b",
            "\"q\"",
            &"x".repeat(65),
        ] {
            assert!(CookieName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_parse_checks_version_mode_and_length() {
        assert_eq!(Header::parse(&[]), Err(OpenError::Malformed));
        assert_eq!(Header::parse(&[1, 1, 0, 0, 0]), Err(OpenError::Malformed));
        assert_eq!(
            Header::parse(&[2, 1, 0, 0, 0, 0]),
            Err(OpenError::UnsupportedVersion { version: 2 })
        );
        assert_eq!(
            Header::parse(&[1, 3, 0, 0, 0, 0]),
            Err(OpenError::Malformed)
        );
        let short = [1u8, 2, 0, 0, 0, 0, 0, 0];
        assert_eq!(Header::parse(&short), Err(OpenError::Malformed));
        let mut long = vec![1u8, 2, 9, 8, 7, 6];
        long.resize(HEADER_LEN + MAC_LEN, 0);
        let header = Header::parse(&long).unwrap();
        assert_eq!(header.mode, Mode::Signed);
        assert_eq!(header.key_id.as_bytes(), &[9, 8, 7, 6]);
    }

    #[test]
    fn bound_data_length_prefixes_the_name() {
        // Without the length byte, name "ab" + body "c" and name "a" + body "bc" would MAC the
        // same bytes in signed mode.
        let h = [1u8; HEADER_LEN];
        let ab = BoundData::new(&h, &CookieName::new("ab").unwrap(), 1);
        let a = BoundData::new(&h, &CookieName::new("a").unwrap(), 1);
        assert_ne!(
            [ab.as_slice(), b"c"].concat(),
            [a.as_slice(), b"bc"].concat()
        );
        let longest = "n".repeat(MAX_NAME_LEN);
        let full = BoundData::new(&h, &CookieName::new(longest.as_str()).unwrap(), 1);
        assert_eq!(full.as_slice().len(), HEADER_LEN + 1 + MAX_NAME_LEN);
        assert_eq!(&full.as_slice()[HEADER_LEN + 1..], longest.as_bytes());
    }

    #[test]
    fn bound_data_of_several_parts_never_reads_as_one_part_and_a_body_byte() {
        // Signed mode MACs bound data then body: without the flag on the length byte, a value
        // sealed for one cookie whose body starts with `2` would MAC the same bytes as a value
        // sealed for two cookies whose body is one byte shorter.
        let h = [1u8; HEADER_LEN];
        let name = CookieName::new("id").unwrap();
        for parts in 2..=10u8 {
            let many = BoundData::new(&h, &name, parts);
            let one = BoundData::new(&h, &name, 1);
            assert_ne!(
                many.as_slice(),
                [one.as_slice(), &[parts]].concat().as_slice()
            );
            assert_ne!(many.as_slice()[HEADER_LEN], one.as_slice()[HEADER_LEN]);
        }
    }
}
