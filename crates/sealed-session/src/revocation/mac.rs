//! [`RevocationMac`]: authenticates what a shared revocation store holds, with keys derived
//! from the key ring.

use std::fmt;

use hmac::{KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::key_ring::{KeyRing, RingKey};

type HmacSha256 = hmac::Hmac<Sha256>;

/// HMAC-SHA256 over a shared revocation store's entries and messages, so that someone who can
/// write to the store (e.g. Redis) can neither forge a revocation nor alter one.
///
/// Made by [`KeyRing::revocation_mac`]. [`tag`](Self::tag) uses the ring's primary key;
/// [`verify`](Self::verify) accepts a tag of any key of the ring (fallback and open-only keys
/// too), so entries tagged before a rotation stay valid as long as their key is in the ring.
/// Each key is derived from its secret with HKDF-SHA256 and a label of its own
/// (`"sealed-session v1 hmac-sha256 revocation store key"`), independent of the keys that seal
/// and sign cookies.
///
/// The MAC says who wrote the bytes, not when: a store can still replay an older tagged value
/// of the same data, or delete one. Callers bind everything that gives the bytes their meaning
/// (the key name an entry is stored under, the channel a message is sent on) into `data`.
///
/// `Debug` shows the key ids only; there is no way to read the keys.
///
/// ```
/// use sealed_session::{KeyRing, SecretKey};
///
/// let mac = KeyRing::new(SecretKey::generate()).revocation_mac();
/// let tag = mac.tag(b"app:rev:id:0123 1900000000");
/// assert!(mac.verify(b"app:rev:id:0123 1900000000", &tag));
/// // Tampered data, a tampered tag, a truncated tag: refused.
/// assert!(!mac.verify(b"app:rev:id:0123 1900000001", &tag));
/// let mut flipped = tag;
/// flipped[0] ^= 1;
/// assert!(!mac.verify(b"app:rev:id:0123 1900000000", &flipped));
/// assert!(!mac.verify(b"app:rev:id:0123 1900000000", &tag[..16]));
/// ```
#[derive(Clone)]
pub struct RevocationMac {
    ring: KeyRing,
}

impl RevocationMac {
    /// The length of a tag, in bytes (a full HMAC-SHA256 output).
    pub const TAG_LEN: usize = 32;

    pub(crate) fn new(ring: KeyRing) -> Self {
        Self { ring }
    }

    /// The tag of `data` under the ring's primary key.
    #[must_use]
    pub fn tag(&self, data: &[u8]) -> [u8; Self::TAG_LEN] {
        keyed(self.ring.primary())
            .chain_update(data)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Whether `tag` is the tag of `data` under any key of the ring. Compares in constant time
    /// (the `hmac` crate's `verify_slice`); a tag of another length is refused.
    #[must_use]
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        // Every key is tried, whichever matches: the time taken says nothing about which.
        self.ring.keys().fold(false, |ok, key| {
            keyed(key).chain_update(data).verify_slice(tag).is_ok() | ok
        })
    }
}

/// An HMAC state keyed with `key`'s revocation subkey. Its midstates (as good as the key) are
/// wiped when it is dropped, by the `zeroize` features of `hmac` and `sha2`.
fn keyed(key: &RingKey) -> HmacSha256 {
    // HMAC accepts keys of any length; ours is always 32 bytes.
    HmacSha256::new_from_slice(key.revocation_mac.as_slice())
        .expect("HMAC takes keys of any length")
}

impl fmt::Debug for RevocationMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationMac")
            .field("tags_with", &self.ring.primary_id())
            .field("verifies_with", &self.ring.ids())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use sealed_session_test_support::hex;

    use super::*;
    use crate::SecretKey;

    fn secret(start: u8) -> SecretKey {
        SecretKey::from_bytes(&(start..start + 32).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn the_primary_tags_and_every_key_verifies() {
        let (old, new, staged) = (secret(0), secret(100), secret(200));
        let old_tag = KeyRing::new(old.clone()).revocation_mac().tag(b"x");
        let ring = KeyRing::from_keys([new.clone(), old.clone()])
            .unwrap()
            .with_open_only(staged.clone())
            .unwrap();
        let mac = ring.revocation_mac();
        assert_eq!(mac.tag(b"x"), KeyRing::new(new).revocation_mac().tag(b"x"));
        assert!(mac.verify(b"x", &old_tag), "a fallback key verifies");
        let staged_tag = KeyRing::new(staged).revocation_mac().tag(b"x");
        assert!(mac.verify(b"x", &staged_tag), "an open-only key verifies");
        assert!(!KeyRing::new(old).revocation_mac().verify(b"x", &staged_tag));
        assert!(!mac.verify(b"x", &[]));
        assert!(!mac.verify(b"x", &[0; 64]));
    }

    #[test]
    fn tags_are_hmac_sha256_under_the_derived_key_and_pinned() {
        // HMAC-SHA256(HKDF-SHA256(secret, "sealed-session v1 hmac-sha256 revocation store
        // key"), data), computed here with the crates, then pinned: a change of label or
        // construction would make every instance refuse the entries the others wrote.
        let mac = KeyRing::new(secret(0)).revocation_mac();
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(&[]), &(0u8..32).collect::<Vec<_>>());
        let mut key = [0u8; 32];
        hkdf.expand(
            b"sealed-session v1 hmac-sha256 revocation store key",
            &mut key,
        )
        .unwrap();
        let expected = HmacSha256::new_from_slice(&key)
            .unwrap()
            .chain_update(b"data")
            .finalize()
            .into_bytes();
        assert_eq!(mac.tag(b"data")[..], expected[..]);
        assert_eq!(
            hex(&mac.tag(b"data")), // Checked against an independent HKDF + HMAC (Python's hmac/hashlib).
            "9feb0f37c21231a6d0a74729307c154c10b9e5127fd6fa9e863362602d8d68ce"
        );
    }

    #[test]
    fn debug_does_not_leak_keys() {
        let mac = KeyRing::new(secret(0)).revocation_mac();
        let shown = format!("{mac:?}");
        assert!(shown.contains("fd55ef40"), "{shown}");
        let key = hex(KeyRing::new(secret(0)).primary().revocation_mac.as_slice());
        assert!(!shown.contains(&key[..8]));
    }
}
