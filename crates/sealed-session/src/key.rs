//! Secrets and key ids.

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::TryRng as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::ConfigError;

/// The shortest secret accepted, in bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// A random 32-byte secret has about 30 distinct byte values; fewer than this many is a typed
/// password, a repeated pattern or a placeholder, never output of a random generator (the
/// chance that 32 random bytes show fewer than 16 distinct values is below 2^-60).
const MIN_DISTINCT_BYTES: usize = 16;

/// Standard and URL-safe base64, padded or not: operators paste keys from many tools. Which of
/// the two decodes a secret is chosen from its characters (see [`SecretKey::from_base64`]).
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// High-entropy secret material from which a key's subkeys are derived.
///
/// Zeroized on drop; `Debug` never shows the bytes; there is no `PartialEq` (compare key ids
/// instead). Build one with [`SecretKey::generate`] or parse configuration with
/// [`SecretKey::from_base64`].
///
/// ```
/// use sealed_session::SecretKey;
///
/// let key = SecretKey::generate();
/// assert!(!format!("{key:?}").contains(key.to_base64().as_str()));
///
/// // All-equal bytes are refused, with a hint on how to make a good secret.
/// let err = SecretKey::from_bytes(&[7u8; 32]).unwrap_err();
/// assert!(err.to_string().contains("keygen"));
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    bytes: Vec<u8>,
}

impl SecretKey {
    /// Checks and takes a copy of `bytes`.
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`] below [`MIN_SECRET_LEN`] bytes,
    /// [`ConfigError::SecretNotRandom`] when the bytes are visibly not random.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        check(bytes)?;
        // The only copy made; it belongs to the key, which wipes it on drop.
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// Decodes a base64 secret and checks it as [`SecretKey::from_bytes`] does.
    ///
    /// Padding is optional, surrounding whitespace is ignored, and either alphabet is accepted,
    /// one per secret, told apart by its characters: `-` or `_` means URL-safe, `+` or `/` (or
    /// neither) standard.
    ///
    /// # Errors
    /// [`ConfigError::SecretNotBase64`] (with index 0) if `text` is not base64 or mixes the two
    /// alphabets, else as [`SecretKey::from_bytes`].
    pub fn from_base64(text: &str) -> Result<Self, ConfigError> {
        Self::from_base64_entry(text, 0)
    }

    /// [`SecretKey::from_base64`] for entry `index` of a key list.
    ///
    /// Decodes once, straight into a buffer that is wiped on every path: trying one alphabet and
    /// then the other would leave a failed attempt's partial output in freed memory.
    pub(crate) fn from_base64_entry(text: &str, index: usize) -> Result<Self, ConfigError> {
        let not_base64 = ConfigError::SecretNotBase64 { index };
        let text = text.trim();
        let url_safe = text.bytes().any(|b| b == b'-' || b == b'_');
        let standard = text.bytes().any(|b| b == b'+' || b == b'/');
        let engine = match (standard, url_safe) {
            (true, true) => return Err(not_base64),
            (false, true) => &LENIENT_URL_SAFE,
            (_, false) => &LENIENT_STANDARD,
        };
        let mut decoded = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(text.len())]);
        let len = engine
            .decode_slice(text, &mut decoded)
            .map_err(|_| not_base64)?;
        decoded.truncate(len);
        check(&decoded)?;
        // Move the allocation into the key rather than copy it: no second copy to wipe. The
        // key's `Vec` zeroize also wipes the spare capacity left by the estimate.
        Ok(Self {
            bytes: std::mem::take(&mut *decoded),
        })
    }

    /// A new random 32-byte secret from the operating system's generator.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness, which leaves no safe way to go on.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; MIN_SECRET_LEN];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator failed");
        Self { bytes }
    }

    /// The secret in the form configuration takes (standard base64, padded).
    ///
    /// Handle the result as a secret: it is wiped when dropped.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&self.bytes))
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

/// The checks of [`SecretKey::from_bytes`]. The table of byte values seen says which bytes the
/// secret holds, so it is wiped too.
fn check(bytes: &[u8]) -> Result<(), ConfigError> {
    if bytes.len() < MIN_SECRET_LEN {
        return Err(ConfigError::SecretTooShort {
            len: bytes.len(),
            min: MIN_SECRET_LEN,
        });
    }
    let mut seen = Zeroizing::new([false; 256]);
    for &b in bytes {
        seen[usize::from(b)] = true;
    }
    if seen.iter().filter(|&&s| s).count() < MIN_DISTINCT_BYTES {
        return Err(ConfigError::SecretNotRandom);
    }
    Ok(())
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// The 4-byte public name of a key, derived from its secret, carried in every cookie's header
/// so that opening picks the right key at once.
///
/// Shown as 8 lowercase hex digits.
///
/// ```
/// use sealed_session::{KeyRing, SecretKey};
///
/// let ring = KeyRing::new(SecretKey::generate());
/// let id = ring.primary_id();
/// assert_eq!(id.to_string().len(), 8);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KeyId::LEN]);

impl KeyId {
    /// Length in bytes.
    pub const LEN: usize = 4;

    pub(crate) const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes as written in the cookie header.
    pub const fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_leak_key() {
        let key = SecretKey::from_bytes(&(0u8..32).collect::<Vec<_>>()).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("0, 1, 2"), "{shown}");
        assert!(!shown.contains(key.to_base64().as_str()));
        assert_eq!(shown, "SecretKey { len: 32, .. }");
    }

    #[test]
    fn short_and_weak_secrets_are_refused() {
        assert_eq!(
            SecretKey::from_bytes(&[1; 31]).unwrap_err(),
            ConfigError::SecretTooShort { len: 31, min: 32 }
        );
        assert_eq!(
            SecretKey::from_bytes(&[9; 64]).unwrap_err(),
            ConfigError::SecretNotRandom
        );
        assert_eq!(
            SecretKey::from_bytes(b"passwordpasswordpasswordpassword").unwrap_err(),
            ConfigError::SecretNotRandom
        );
        assert!(SecretKey::from_bytes(&(0u8..32).collect::<Vec<_>>()).is_ok());
    }

    #[test]
    fn base64_is_lenient_about_alphabet_and_padding() {
        let key = SecretKey::generate();
        let standard = key.to_base64();
        let url = standard.replace('+', "-").replace('/', "_");
        let unpadded = standard.trim_end_matches('=');
        for text in [standard.as_str(), &url, unpadded, &format!(" {unpadded}\n")] {
            let parsed = SecretKey::from_base64(text).unwrap();
            assert_eq!(parsed.expose(), key.expose());
        }
        assert_eq!(
            SecretKey::from_base64("not base64!").unwrap_err(),
            ConfigError::SecretNotBase64 { index: 0 }
        );
    }

    #[test]
    fn generated_keys_differ_and_pass_checks() {
        let a = SecretKey::generate();
        let b = SecretKey::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(SecretKey::from_bytes(a.expose()).is_ok());
    }

    /// 32 bytes whose standard base64 holds both `+` and `/`:
    /// `+/+/AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0=` (URL-safe: `-_-_AQID...HB0=`).
    fn both_alphabets_differ() -> Vec<u8> {
        let mut bytes = vec![0xfb, 0xff, 0xbf];
        bytes.extend(1u8..30);
        bytes
    }

    #[test]
    fn the_alphabet_is_chosen_by_its_characters() {
        let bytes = both_alphabets_differ();
        let standard = "+/+/AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0=";
        let url_safe = "-_-_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0=";
        for text in [
            standard,
            standard.trim_end_matches('='),
            url_safe,
            url_safe.trim_end_matches('='),
        ] {
            assert_eq!(
                SecretKey::from_base64(text).unwrap().expose(),
                &bytes[..],
                "{text}"
            );
        }
        // Only one of each alphabet's own characters is enough to tell it.
        for (text, what) in [
            (
                "-AAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0",
                "URL-safe `-`",
            ),
            (
                "_AAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0",
                "URL-safe `_`",
            ),
            (
                "+AAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0",
                "standard `+`",
            ),
            (
                "/AAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0",
                "standard `/`",
            ),
        ] {
            assert!(SecretKey::from_base64(text).is_ok(), "{what}: {text}");
        }
    }

    #[test]
    fn a_secret_mixing_both_alphabets_is_refused() {
        for text in [
            "-/+/AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0=",
            "+_-_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0",
        ] {
            assert_eq!(
                SecretKey::from_base64_entry(text, 3).unwrap_err(),
                ConfigError::SecretNotBase64 { index: 3 },
                "{text}"
            );
            assert_eq!(
                SecretKey::from_base64(text).unwrap_err(),
                ConfigError::SecretNotBase64 { index: 0 }
            );
        }
        // Characters of neither alphabet are refused the same way, at the entry's index.
        assert_eq!(
            SecretKey::from_base64_entry("AQID*AUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0", 1).unwrap_err(),
            ConfigError::SecretNotBase64 { index: 1 }
        );
    }

    #[test]
    fn decoded_secrets_are_checked_like_raw_ones() {
        // 24 bytes, valid base64 of either alphabet: too short, not a decoding error.
        assert_eq!(
            SecretKey::from_base64("-_-_AQIDBAUGBwgJCgsMDQ4PEBES").unwrap_err(),
            ConfigError::SecretTooShort { len: 21, min: 32 }
        );
        assert_eq!(
            SecretKey::from_base64(&"A".repeat(44)).unwrap_err(),
            ConfigError::SecretNotRandom
        );
    }
}
