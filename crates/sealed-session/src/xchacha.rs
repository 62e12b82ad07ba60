//! XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03), the AEAD that seals cookies.
//!
//! # Why XChaCha20-Poly1305
//!
//! The codec is stateless: any instance of a service may seal a cookie, and instances share
//! nothing but the key. A counter nonce would need shared state, so every cookie gets a fresh
//! *random* nonce instead. A repeated nonce is catastrophic (it reveals the XOR of two
//! plaintexts and lets an attacker forge tags), and with ChaCha20-Poly1305's 96-bit nonce a key
//! must stop after about 2^32 random-nonce messages to keep that risk under 2^-32: a volume a
//! busy site can reach. XChaCha20's 192-bit nonce moves the same bound to 2^80 messages.
//!
//! # Two interchangeable backends
//!
//! Both produce the same bytes (the tests compare them on every length up to 2100 bytes), so a
//! cookie sealed by one opens with the other, and switching the feature never logs users out.
//!
//! - Feature `ring` (default): HChaCha20 from RustCrypto's `chacha20` crate derives a
//!   per-message subkey, and ring's ChaCha20-Poly1305 does the rest. This is exactly how the
//!   draft defines the AEAD (section 2.3), but it uses ring's assembly for the bulk of the work:
//!   cookies are short (tens to hundreds of bytes), and for short messages ring's Poly1305 and
//!   ChaCha20 are much faster than the `chacha20poly1305` crate, whose runtime-dispatched AVX2
//!   code is tuned for long messages and pays a fixed setup cost on every message. Measured on
//!   x86_64 with AVX2, a seal plus an open of a 111-byte body (random nonce and base64
//!   included) takes a third of the time ([`crate::guide::benchmarks`], "ring against pure Rust").
//! - Without `ring` (feature `pure-rust`): the `chacha20poly1305` crate's `XChaCha20Poly1305`,
//!   pure Rust and portable to every target Rust supports.
//!
//! Both check the tag in constant time inside the library, and neither hands out plaintext
//! unless the tag is valid. Failures are reported as the opaque [`Unauthentic`]: a cookie that
//! doesn't open is refused, and telling an attacker why would only help them.

#[cfg(not(any(feature = "ring", feature = "pure-rust")))]
compile_error!(
    "sealed-session needs an XChaCha20-Poly1305 backend: enable the `ring` feature (default, \
     fastest) or the `pure-rust` feature (no C or assembly)"
);

use std::fmt;

/// Length of an XChaCha20-Poly1305 nonce: 192 bits, safe to pick at random for every message.
pub(crate) const NONCE_LEN: usize = 24;

/// Length of the Poly1305 authentication tag appended to every ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// A 32-byte XChaCha20-Poly1305 key, zeroized on drop, whose `Debug` output is redacted.
///
/// The struct holds the key itself, never anything derived from a nonce, so one value serves
/// every message sealed or opened with that key; `&self` methods make it shareable between
/// threads without locking.
pub(crate) struct XChaChaKey {
    /// The key bytes, kept as they are: ring's ChaCha20-Poly1305 key has to be rebuilt for every
    /// message anyway (see [`XChaChaKey::message_key`]), so there is nothing to precompute.
    #[cfg(feature = "ring")]
    key: zeroize::Zeroizing<[u8; 32]>,
    /// The RustCrypto AEAD; with its `zeroize` feature it wipes its key copy when dropped.
    #[cfg(not(feature = "ring"))]
    aead: chacha20poly1305::XChaCha20Poly1305,
}

/// The AEAD refused a ciphertext: wrong key, nonce or associated data, a modified ciphertext or
/// tag, or an input too short to hold a tag.
///
/// Deliberately opaque, with no sub-reasons: callers must treat all of these alike (refuse the
/// cookie), and an attacker must not learn which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unauthentic;

impl fmt::Debug for XChaChaKey {
    /// Prints no key material in any form, so keys can sit in structs that derive `Debug` and
    /// end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XChaChaKey").finish_non_exhaustive()
    }
}

/// Message too long for one ChaCha20 block counter: 2^32 blocks of 64 bytes, i.e. 256 GiB.
/// Cookies are a few KiB, so the only way to hit this is a bug in the caller.
const TOO_LONG: &str = "XChaCha20-Poly1305 message longer than 256 GiB";

#[cfg(feature = "ring")]
impl XChaChaKey {
    /// Wraps a 32-byte key. The caller should wipe its own copy (e.g. hold it in `Zeroizing`).
    pub(crate) fn new(bytes: &[u8; 32]) -> Self {
        Self {
            key: zeroize::Zeroizing::new(*bytes),
        }
    }

    /// Encrypts `buf` in place and appends the 16-byte tag.
    ///
    /// `nonce` must never repeat under this key; pick it at random for every message.
    ///
    /// # Panics
    ///
    /// If `buf` is longer than 256 GiB (the ChaCha20 block counter would wrap).
    #[cfg(test)]
    pub(crate) fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut Vec<u8>) {
        self.seal_tail_in_place(nonce, aad, buf, 0);
    }

    /// Encrypts `buf[start..]` in place and appends the 16-byte tag; `buf[..start]` (e.g. a
    /// header already written) is left as it is. Lets a caller build a whole envelope in one
    /// buffer.
    ///
    /// `nonce` must never repeat under this key; pick it at random for every message.
    ///
    /// # Panics
    ///
    /// If `buf[start..]` is longer than 256 GiB, or `start > buf.len()`.
    pub(crate) fn seal_tail_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
        start: usize,
    ) {
        let (key, nonce) = self.message_key(nonce);
        let tag = key
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), &mut buf[start..])
            .expect(TOO_LONG);
        buf.extend_from_slice(tag.as_ref());
    }

    /// Checks and decrypts `ciphertext_and_tag` (ciphertext followed by the 16-byte tag) in
    /// place, and returns the plaintext: the first `len - 16` bytes of the buffer.
    ///
    /// # Errors
    ///
    /// [`Unauthentic`] if the tag doesn't match (wrong key, nonce or `aad`, modified bytes) or
    /// the input is shorter than a tag. The buffer's contents are then unspecified (ring wipes
    /// the would-be plaintext), and must not be used.
    pub(crate) fn open_in_place<'a>(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &'a mut [u8],
    ) -> Result<&'a [u8], Unauthentic> {
        if ciphertext_and_tag.len() < TAG_LEN {
            // ring would refuse it as well; returning early skips HChaCha20 for obvious junk.
            return Err(Unauthentic);
        }
        let (key, nonce) = self.message_key(nonce);
        match key.open_in_place(nonce, ring::aead::Aad::from(aad), ciphertext_and_tag) {
            Ok(plaintext) => Ok(plaintext),
            Err(ring::error::Unspecified) => Err(Unauthentic),
        }
    }

    /// The ChaCha20-Poly1305 key and 96-bit nonce that XChaCha20-Poly1305 uses for one message
    /// (draft-irtf-cfrg-xchacha-03, section 2.3):
    ///
    /// - subkey = HChaCha20(key, nonce[0..16]),
    /// - nonce' = four zero bytes || nonce[16..24].
    ///
    /// The subkey depends on the nonce, so a ring key has to be built per message. That is
    /// cheap: ring's ChaCha20-Poly1305 has no key schedule, building the key copies 32 bytes.
    /// The real per-message cost is HChaCha20 (one ChaCha20 block without the final addition),
    /// which every XChaCha20 implementation pays, `chacha20poly1305` included.
    ///
    /// Our copy of the subkey is wiped as soon as the ring key is built. ring keeps its own
    /// copy inside the returned key and doesn't wipe it on drop, and that can't be done without
    /// `unsafe`; it lives on the stack only for the duration of one call and is soon
    /// overwritten. Even if it leaked, it would expose only the one message sealed under this
    /// nonce: HChaCha20 is a PRF, the subkey reveals nothing about `key`.
    fn message_key(&self, nonce: &[u8; NONCE_LEN]) -> (ring::aead::LessSafeKey, ring::aead::Nonce) {
        let mut hchacha_input = [0u8; 16];
        hchacha_input.copy_from_slice(&nonce[..16]);
        // `.0` moves the bytes out of the returned `Array` straight into the wiped wrapper.
        let subkey = zeroize::Zeroizing::new(
            chacha20::hchacha::<chacha20::R20>((&*self.key).into(), (&hchacha_input).into()).0,
        );
        let unbound = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &subkey[..])
            .expect("CHACHA20_POLY1305 takes a 32-byte key");

        let mut chacha_nonce = [0u8; ring::aead::NONCE_LEN];
        chacha_nonce[4..].copy_from_slice(&nonce[16..]);
        (
            ring::aead::LessSafeKey::new(unbound),
            ring::aead::Nonce::assume_unique_for_key(chacha_nonce),
        )
    }
}

#[cfg(not(feature = "ring"))]
impl XChaChaKey {
    /// Wraps a 32-byte key. The caller should wipe its own copy (e.g. hold it in `Zeroizing`).
    pub(crate) fn new(bytes: &[u8; 32]) -> Self {
        use chacha20poly1305::KeyInit;
        Self {
            aead: chacha20poly1305::XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// Encrypts `buf` in place and appends the 16-byte tag.
    ///
    /// `nonce` must never repeat under this key; pick it at random for every message.
    ///
    /// # Panics
    ///
    /// If `buf` is longer than 256 GiB (the ChaCha20 block counter would wrap).
    #[cfg(test)]
    pub(crate) fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut Vec<u8>) {
        self.seal_tail_in_place(nonce, aad, buf, 0);
    }

    /// Encrypts `buf[start..]` in place and appends the 16-byte tag; `buf[..start]` is left as
    /// it is.
    ///
    /// `nonce` must never repeat under this key; pick it at random for every message.
    ///
    /// # Panics
    ///
    /// If `buf[start..]` is longer than 256 GiB, or `start > buf.len()`.
    pub(crate) fn seal_tail_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut Vec<u8>,
        start: usize,
    ) {
        use chacha20poly1305::AeadInOut;
        let tag = self
            .aead
            .encrypt_inout_detached(nonce.into(), aad, (&mut buf[start..]).into())
            .expect(TOO_LONG);
        buf.extend_from_slice(&tag);
    }

    /// Checks and decrypts `ciphertext_and_tag` (ciphertext followed by the 16-byte tag) in
    /// place, and returns the plaintext: the first `len - 16` bytes of the buffer.
    ///
    /// # Errors
    ///
    /// [`Unauthentic`] if the tag doesn't match (wrong key, nonce or `aad`, modified bytes) or
    /// the input is shorter than a tag. The buffer's contents are then unspecified, and must not
    /// be used.
    pub(crate) fn open_in_place<'a>(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext_and_tag: &'a mut [u8],
    ) -> Result<&'a [u8], Unauthentic> {
        use chacha20poly1305::AeadInOut;
        let tag_start = ciphertext_and_tag
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Unauthentic)?;
        let (ciphertext, tag) = ciphertext_and_tag.split_at_mut(tag_start);
        let tag: &chacha20poly1305::Tag = (&*tag).try_into().map_err(|_| Unauthentic)?;
        // Verifies the tag (constant time) before decrypting anything.
        self.aead
            .decrypt_inout_detached(nonce.into(), aad, (&mut *ciphertext).into(), tag)
            .map_err(|_| Unauthentic)?;
        Ok(ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::{NONCE_LEN, TAG_LEN, Unauthentic, XChaChaKey};
    use chacha20poly1305::XChaCha20Poly1305;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    // Skips whitespace: the draft prints vectors wrapped over several lines.
    use sealed_session_test_support::unhex as hex;

    fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
        bytes.try_into().expect("wrong length")
    }

    /// SplitMix64: a tiny seeded generator, so every run tests the same inputs and a failure
    /// reproduces. Statistical quality is irrelevant here; it only has to vary the inputs.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn fill(&mut self, out: &mut [u8]) {
            for chunk in out.chunks_mut(8) {
                let word = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            let mut v = vec![0; len];
            self.fill(&mut v);
            v
        }

        fn array<const N: usize>(&mut self) -> [u8; N] {
            let mut a = [0; N];
            self.fill(&mut a);
            a
        }

        fn below(&mut self, n: u64) -> usize {
            usize::try_from(self.next_u64() % n).expect("small")
        }
    }

    /// draft-irtf-cfrg-xchacha-03, appendix A.3.1 (the same values as A.1, in hex).
    mod a_3_1 {
        pub(super) const PLAINTEXT: &str = "
            4c616469657320616e642047656e746c656d656e206f662074686520636c6173
            73206f66202739393a204966204920636f756c64206f6666657220796f75206f
            6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73
            637265656e20776f756c642062652069742e";
        pub(super) const AAD: &str = "50515253c0c1c2c3c4c5c6c7";
        pub(super) const KEY: &str =
            "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
        pub(super) const IV: &str = "404142434445464748494a4b4c4d4e4f5051525354555657";
        pub(super) const CIPHERTEXT: &str = "
            bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
            731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
            2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
            21f9664c97637da9768812f615c68b13b52e";
        pub(super) const TAG: &str = "c0875924c1c7987947deafd8780acf49";
    }

    #[test]
    fn draft_xchacha_03_a_3_1_seal_and_open() {
        let key = XChaChaKey::new(&array(&hex(a_3_1::KEY)));
        let nonce: [u8; NONCE_LEN] = array(&hex(a_3_1::IV));
        let aad = hex(a_3_1::AAD);
        let plaintext = hex(a_3_1::PLAINTEXT);
        assert_eq!(
            plaintext,
            b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip \
              for the future, sunscreen would be it."
        );
        let mut expected = hex(a_3_1::CIPHERTEXT);
        expected.extend_from_slice(&hex(a_3_1::TAG));
        assert_eq!(expected.len(), plaintext.len() + TAG_LEN);

        let mut sealed = plaintext.clone();
        key.seal_in_place(&nonce, &aad, &mut sealed);
        assert_eq!(sealed, expected, "ciphertext || tag differs from the draft");

        assert_eq!(
            key.open_in_place(&nonce, &aad, &mut sealed),
            Ok(&plaintext[..])
        );
    }

    /// The active backend against `chacha20poly1305::XChaCha20Poly1305`, on every plaintext
    /// length from 0 to 2100 (all ChaCha block and Poly1305 padding boundaries, and the
    /// lengths where SIMD backends switch strategy), with fresh random keys, nonces and AAD.
    #[test]
    fn matches_chacha20poly1305_crate() {
        let mut rng = SplitMix64(0x5ea1_ed5e_5510_0001);
        for len in 0..=2100 {
            let key_bytes: [u8; 32] = rng.array();
            let nonce: [u8; NONCE_LEN] = rng.array();
            let aad_len = if len % 3 == 0 {
                len % 97
            } else {
                rng.below(300)
            };
            let aad = rng.bytes(aad_len);
            let plaintext = rng.bytes(len);

            let ours = XChaChaKey::new(&key_bytes);
            let reference = XChaCha20Poly1305::new(&key_bytes.into());

            let mut sealed = plaintext.clone();
            ours.seal_in_place(&nonce, &aad, &mut sealed);
            let expected = reference
                .encrypt(
                    &nonce.into(),
                    Payload {
                        msg: &plaintext,
                        aad: &aad,
                    },
                )
                .expect("reference seals");
            assert_eq!(sealed, expected, "seal differs (len {len}, aad {aad_len})");

            // Each opens the other's output (identical bytes, but checked both ways anyway).
            let opened = reference
                .decrypt(
                    &nonce.into(),
                    Payload {
                        msg: &sealed,
                        aad: &aad,
                    },
                )
                .expect("reference opens ours");
            assert_eq!(opened, plaintext);
            let mut theirs = expected;
            assert_eq!(
                ours.open_in_place(&nonce, &aad, &mut theirs),
                Ok(&plaintext[..]),
                "we don't open the reference's output (len {len}, aad {aad_len})"
            );
        }
    }

    fn sample() -> (XChaChaKey, [u8; NONCE_LEN], Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut rng = SplitMix64(42);
        let key = XChaChaKey::new(&rng.array());
        let nonce = rng.array();
        let aad = rng.bytes(10);
        let plaintext = rng.bytes(60);
        let mut sealed = plaintext.clone();
        key.seal_in_place(&nonce, &aad, &mut sealed);
        (key, nonce, aad, plaintext, sealed)
    }

    #[test]
    fn untampered_sample_opens() {
        let (key, nonce, aad, plaintext, mut sealed) = sample();
        assert_eq!(
            key.open_in_place(&nonce, &aad, &mut sealed),
            Ok(&plaintext[..])
        );
    }

    #[test]
    fn any_flipped_bit_of_ciphertext_or_tag_is_refused() {
        let (key, nonce, aad, _, sealed) = sample();
        for bit in 0..sealed.len() * 8 {
            let mut tampered = sealed.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                key.open_in_place(&nonce, &aad, &mut tampered),
                Err(Unauthentic),
                "bit {bit} flipped but accepted"
            );
        }
    }

    #[test]
    fn any_change_of_aad_is_refused() {
        let (key, nonce, aad, _, sealed) = sample();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for bit in 0..aad.len() * 8 {
            let mut a = aad.clone();
            a[bit / 8] ^= 1 << (bit % 8);
            variants.push(a);
        }
        for cut in 0..aad.len() {
            variants.push(aad[..cut].to_vec());
        }
        let mut longer = aad.clone();
        longer.push(0);
        variants.push(longer);
        for other in variants {
            assert_eq!(
                key.open_in_place(&nonce, &other, &mut sealed.clone()),
                Err(Unauthentic),
                "aad {other:02x?} accepted instead of {aad:02x?}"
            );
        }
    }

    #[test]
    fn any_other_nonce_or_key_is_refused() {
        let (key, nonce, aad, _, sealed) = sample();
        // Every bit, so both the HChaCha20 half (bytes 0..16) and the ChaCha20 half (16..24)
        // are shown to matter.
        for bit in 0..NONCE_LEN * 8 {
            let mut other = nonce;
            other[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                key.open_in_place(&other, &aad, &mut sealed.clone()),
                Err(Unauthentic),
                "nonce bit {bit} flipped but accepted"
            );
        }
        let other_key = XChaChaKey::new(&[7; 32]);
        assert_eq!(
            other_key.open_in_place(&nonce, &aad, &mut sealed.clone()),
            Err(Unauthentic)
        );
    }

    #[test]
    fn truncated_or_too_short_input_is_refused_without_panic() {
        let (key, nonce, aad, _, sealed) = sample();
        // Every proper prefix, including those shorter than a tag (0..16 bytes).
        for len in 0..sealed.len() {
            assert_eq!(
                key.open_in_place(&nonce, &aad, &mut sealed[..len].to_vec()),
                Err(Unauthentic),
                "prefix of {len} bytes accepted"
            );
        }
        // Dropping bytes from the front misaligns the tag as well.
        for skip in 1..sealed.len() {
            assert_eq!(
                key.open_in_place(&nonce, &aad, &mut sealed[skip..].to_vec()),
                Err(Unauthentic)
            );
        }
        for len in 0..TAG_LEN {
            assert_eq!(
                key.open_in_place(&nonce, &[], &mut vec![0; len]),
                Err(Unauthentic)
            );
        }
    }

    #[test]
    fn empty_plaintext_is_just_a_tag() {
        let (key, nonce, aad, _, _) = sample();
        let mut sealed = Vec::new();
        key.seal_in_place(&nonce, &aad, &mut sealed);
        assert_eq!(sealed.len(), TAG_LEN);
        assert_eq!(key.open_in_place(&nonce, &aad, &mut sealed), Ok(&[][..]));
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let bytes: [u8; 32] = array(&hex(
            "d3f1a9b2c4e5f607 18293a4b5c6d7e8f 9aabbccddeeff001 1223344556677889",
        ));
        let key = XChaChaKey::new(&bytes);
        for shown in [format!("{key:?}"), format!("{key:#?}")] {
            assert!(shown.starts_with("XChaChaKey"), "{shown}");
            // Not as hex (either case), decimal (`Debug` of arrays and slices) or raw bytes,
            // whole or any 2-byte window of it.
            let mut forbidden = vec![
                format!("{bytes:?}"),
                format!("{bytes:x?}"),
                format!("{bytes:X?}"),
                String::from_utf8_lossy(&bytes).into_owned(),
            ];
            for w in bytes.windows(2) {
                forbidden.push(format!("{:02x}{:02x}", w[0], w[1]));
                forbidden.push(format!("{:02X}{:02X}", w[0], w[1]));
                forbidden.push(format!("{}, {}", w[0], w[1]));
                forbidden.push(format!("{:#x}, {:#x}", w[0], w[1]));
            }
            for f in &forbidden {
                assert!(!shown.contains(f.as_str()), "{shown:?} contains {f:?}");
            }
            // And nothing long enough to hide an encoding (base64 of 32 bytes is 44 chars).
            assert!(shown.len() < 32, "{shown:?}");
        }
    }
}
