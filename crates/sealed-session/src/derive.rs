//! Per-purpose subkeys derived from one secret with HKDF-SHA256 (RFC 5869).
//!
//! A secret is never used raw: HKDF-Extract (empty salt; the input is already uniformly random)
//! gives a pseudorandom key, and HKDF-Expand with one `info` label per purpose gives independent
//! subkeys, so the encryption key, the MAC key and the public key id can't be related to each
//! other even though one secret feeds them all.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::key::{KeyId, SecretKey};

/// `info` label of the XChaCha20-Poly1305 key.
pub(crate) const INFO_ENCRYPT: &[u8] = b"sealed-session v1 xchacha20poly1305 encryption key";
/// `info` label of the HMAC-SHA256 key.
pub(crate) const INFO_SIGN: &[u8] = b"sealed-session v1 hmac-sha256 signing key";
/// `info` label of the public key id.
pub(crate) const INFO_KEY_ID: &[u8] = b"sealed-session v1 key id";
/// `info` label of the HMAC-SHA256 key that authenticates a shared revocation store's entries and
/// messages ([`RevocationMac`](crate::revocation::RevocationMac)): a key of its own, so a tag made
/// for a store can never pass as a signed cookie's, nor the other way round.
pub(crate) const INFO_REVOCATION_MAC: &[u8] = b"sealed-session v1 hmac-sha256 revocation store key";

/// The subkeys of one secret. Wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Subkeys {
    pub(crate) encrypt: [u8; 32],
    pub(crate) sign: [u8; 32],
    pub(crate) revocation_mac: [u8; 32],
    #[zeroize(skip)]
    pub(crate) key_id: KeyId,
}

impl Subkeys {
    pub(crate) fn derive(secret: &SecretKey) -> Self {
        // `Hkdf::new` would drop the PRK (HKDF-Extract's output, as good as the secret) unwiped.
        // `extract` hands it to us: the expander is already keyed with it, so wipe it in place.
        // The expander's own HMAC state is wiped on drop (the `hmac`/`sha2` `zeroize` features).
        let (mut prk, hkdf) = Hkdf::<Sha256>::extract(None, secret.expose());
        prk.as_mut_slice().zeroize();
        let mut encrypt = [0u8; 32];
        let mut sign = [0u8; 32];
        let mut revocation_mac = [0u8; 32];
        let mut key_id = [0u8; KeyId::LEN];
        // `expand` only fails when asked for more than 255 * 32 bytes; these lengths are fixed
        // and far below that.
        hkdf.expand(INFO_ENCRYPT, &mut encrypt)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hkdf.expand(INFO_SIGN, &mut sign)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hkdf.expand(INFO_REVOCATION_MAC, &mut revocation_mac)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hkdf.expand(INFO_KEY_ID, &mut key_id)
            .expect("4 bytes is a valid HKDF-SHA256 output length");
        Self {
            encrypt,
            sign,
            revocation_mac,
            key_id: KeyId::from_bytes(key_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use sealed_session_test_support::hex;

    use super::*;

    #[test]
    fn labels_are_distinct() {
        assert_ne!(INFO_ENCRYPT, INFO_SIGN);
        assert_ne!(INFO_SIGN, INFO_KEY_ID);
        assert_ne!(INFO_ENCRYPT, INFO_KEY_ID);
        for label in [INFO_ENCRYPT, INFO_SIGN, INFO_KEY_ID] {
            assert_ne!(INFO_REVOCATION_MAC, label);
        }
    }

    #[test]
    fn subkeys_are_independent_and_deterministic() {
        let secret = SecretKey::from_bytes(&(0u8..32).collect::<Vec<_>>()).unwrap();
        let a = Subkeys::derive(&secret);
        let b = Subkeys::derive(&secret);
        assert_eq!(a.encrypt, b.encrypt);
        assert_eq!(a.key_id, b.key_id);
        assert_ne!(a.encrypt, a.sign);
        assert_ne!(&a.encrypt[..], secret.expose());
        assert_ne!(&a.encrypt[..4], a.key_id.as_bytes());
    }

    #[test]
    fn rfc5869_shape_matches_hkdf_crate() {
        // The construction, spelled out independently of our consts: HKDF-SHA256, empty salt,
        // and these exact labels. Renaming a label, changing the salt or the hash changes every
        // key id and invalidates every cookie; any of them fails this test.
        let secret_bytes: Vec<u8> = (0u8..32).collect();
        let subkeys = Subkeys::derive(&SecretKey::from_bytes(&secret_bytes).unwrap());
        let hkdf = Hkdf::<Sha256>::new(Some(&[]), &secret_bytes);
        let mut encrypt = [0u8; 32];
        let mut sign = [0u8; 32];
        let mut key_id = [0u8; 4];
        let mut revocation_mac = [0u8; 32];
        hkdf.expand(
            b"sealed-session v1 hmac-sha256 revocation store key",
            &mut revocation_mac,
        )
        .unwrap();
        hkdf.expand(
            b"sealed-session v1 xchacha20poly1305 encryption key",
            &mut encrypt,
        )
        .unwrap();
        hkdf.expand(b"sealed-session v1 hmac-sha256 signing key", &mut sign)
            .unwrap();
        hkdf.expand(b"sealed-session v1 key id", &mut key_id)
            .unwrap();
        assert_eq!(subkeys.encrypt, encrypt);
        assert_eq!(subkeys.sign, sign);
        assert_eq!(subkeys.revocation_mac, revocation_mac);
        assert_ne!(subkeys.revocation_mac, subkeys.sign);
        assert_eq!(subkeys.key_id.as_bytes(), &key_id);
    }

    #[test]
    fn derived_subkeys_are_pinned() {
        // These hex values were computed with the code as it was BEFORE the PRK was wiped
        // (`Hkdf::new(None, secret)` then `expand`), and checked against an independent
        // HKDF-SHA256 (Python's hmac/hashlib). Never recompute them from this code: a change
        // here changes every deployed key id and invalidates every cookie.
        let cases: [(Vec<u8>, &str, &str, &str); 2] = [
            (
                (0u8..32).collect(),
                "fd55ef40",
                "c19d80656823476ec68ef6521eac05c5074517bb5ae32a2dca849e0e7831d116",
                "7f3d850b949137a42928fc7c4ec73fb668a1f71f33631b9aa8d7d34490452984",
            ),
            (
                (0u8..64)
                    .map(|b| b.wrapping_mul(37).wrapping_add(11))
                    .collect(),
                "3acb6fcb",
                "df2f26267c64aaf8ec6bd030e8ab42537c26f4c81eb63bd8ee07278b9c19dc6c",
                "949b373044acf4e6d859f085ff3da31e098ff4e5a8c47dc9daeabf7a50c8531f",
            ),
        ];
        for (secret, key_id, encrypt, sign) in cases {
            let subkeys = Subkeys::derive(&SecretKey::from_bytes(&secret).unwrap());
            assert_eq!(subkeys.key_id.to_string(), key_id);
            assert_eq!(hex(&subkeys.encrypt), encrypt);
            assert_eq!(hex(&subkeys.sign), sign);
        }
    }
}
