//! Fixtures and helpers shared by sealed-session's tests, benches and fuzz targets, so that each
//! is written once: hex in both directions, the fixture secrets, and the run's Redis URL.
//!
//! Test code only: helpers panic on bad input, naming it, rather than returning errors.

/// Lowercase hex of `bytes`, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The bytes of hex `text`, either case; whitespace is skipped (specifications print vectors
/// wrapped over several lines).
///
/// # Panics
/// On a character that is neither a hex digit nor whitespace, or an odd number of digits.
pub fn unhex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    hex::decode(&digits).unwrap_or_else(|e| panic!("not hex ({e}): {text:?}"))
}

/// The fixture secret of `seed`: `seed, seed + 7, seed + 14, ...` (wrapping), 32 distinct bytes
/// (7 is odd, so 32 steps of it never meet modulo 256), which every secret check accepts.
/// Different seeds give different secrets, and so different key ids.
///
/// The tests, the fuzz targets and the fuzz seed writer all build their keys from this, so that
/// the seed corpus keeps opening with the fuzzers' keys.
pub fn secret_bytes(seed: u8) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, byte) in (0u8..).zip(&mut bytes) {
        *byte = seed.wrapping_add(i.wrapping_mul(7));
    }
    bytes
}

/// The fixture of the fuzz targets (`fuzz/src/lib.rs`) and of the seed writer that makes their
/// corpus (`crates/sealed-session/tests/api/fuzz_seeds.rs`). Both read it from here: the seeds
/// only open in the fuzzers (and so only reach the code past authentication) while the two
/// agree.
pub mod fuzz {
    /// The fixed "now": 2030-03-17 17:46:40 UTC, in unix seconds. The codecs open at it and the
    /// lifecycles' clock is stopped there, so seeds never expire.
    pub const NOW_UNIX: i64 = 1_900_000_000;
    /// Every session of this subject signed in before the lifecycles were built (generation 0)
    /// is logged out.
    pub const REVOKED_SUBJECT: &str = "revoked-subject";
    /// This session id, without a subject, is revoked in the lifecycles' store.
    pub const REVOKED_ID: [u8; 16] = [0xee; 16];
    /// The cookie name (the codec default, rather than the lifecycle's `__Host-id`, so the
    /// codecs and the lifecycles open the same cookies).
    pub const COOKIE_NAME: &str = "id";
    /// Sessions created before `NOW_UNIX - NOT_BEFORE_AGO` are refused with `NotBefore`.
    pub const NOT_BEFORE_AGO: i64 = 6 * 3600;
    /// [`secret_bytes`](super::secret_bytes) seed of the ring's primary key.
    pub const PRIMARY: u8 = 1;
    /// Seed of the ring's fallback (older) key.
    pub const FALLBACK: u8 = 2;
    /// Seed of the ring's staged (`open-only`) key.
    pub const STAGED: u8 = 3;
}

/// The environment variable that holds the run's Redis URL, exported by
/// `scripts/with-redis.sh`.
pub const REDIS_URL_VAR: &str = "REDIS_URL";

/// The URL of the run's redis-server, from [`REDIS_URL_VAR`]. Fails, never skips, when there is
/// none: what needs Redis is part of the suite.
///
/// # Panics
/// When `REDIS_URL` is unset (or not UTF-8), saying how to run with a Redis.
pub fn redis_url() -> String {
    std::env::var(REDIS_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{REDIS_URL_VAR} is not set: this needs a real redis-server; run the tests with \
             `scripts/test.sh`, or wrap the command in `scripts/with-redis.sh`, which installs \
             redis-server if missing and starts a private one on a free loopback port"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let text = hex(&all);
        assert_eq!(&text[..8], "00010203");
        assert_eq!(&text[text.len() - 4..], "feff");
        assert_eq!(unhex(&text), all);
        assert_eq!(unhex("0A ff\n 10"), [0x0a, 0xff, 0x10]);
    }

    #[test]
    #[should_panic(expected = "Odd number of digits")]
    fn odd_hex_is_refused() {
        unhex("abc");
    }

    #[test]
    #[should_panic(expected = "Invalid character 'g'")]
    fn non_hex_is_refused() {
        unhex("0g");
    }

    #[test]
    fn fixture_secrets_are_distinct_bytes_and_differ_by_seed() {
        let one = secret_bytes(1);
        assert_eq!(one[..3], [1, 8, 15]);
        assert_eq!(secret_bytes(250)[1], 1, "wraps");
        let distinct: std::collections::HashSet<u8> = one.into_iter().collect();
        assert_eq!(distinct.len(), 32);
        assert_ne!(secret_bytes(1), secret_bytes(2));
    }
}
