//! What every bench server stores: the typical session (a user id, a role, a 3-item cart), so
//! the actix (`bench-server`) and axum (`axum-bench-server`) runs seal the same data; and, for
//! the kinds whose session spans several cookies (issue 21), the filler that makes it span
//! exactly that many.

use std::ops::Range;

use sealed_session::SessionManager;
use sealed_session::adapter::RequestInfo;
use serde::{Deserialize, Serialize};

/// One cart line of the typical session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartItem {
    sku: String,
    quantity: u16,
}

/// The typical session's cart.
pub fn cart() -> Vec<CartItem> {
    ["sku-1001", "sku-2002", "sku-3003"]
        .into_iter()
        .enumerate()
        .map(|(i, sku)| CartItem {
            sku: sku.to_owned(),
            quantity: u16::try_from(i + 1).unwrap_or(1),
        })
        .collect()
}

/// The typical session's user id.
pub const USER_ID: u64 = 1_234_567;

/// `max_cookies` of the kinds whose session may span several cookies (`ours-1-cookie`,
/// `ours-2-cookies`, `ours-3-cookies`): one manager for the three sizes, as an app configures.
pub const CHUNKED_MAX_COOKIES: usize = 3;

/// The session key under which `/seed` stores [`filler`] for those kinds.
pub const PADDING_KEY: &str = "padding";

/// Past any session the default `cookie_header_budget` (8 KiB) lets through: where the search of
/// [`padding_for`] stops.
const PADDING_SEARCH_END: usize = 1 << 14;

/// `n` bytes of text that don't compress much (letters and digits from a xorshift generator):
/// the payload of `POST /big` and of the chunked kinds' `/seed`, the same on every server.
pub fn filler(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // The index is below 62, so it fits in usize on every platform.
            char::from(ALPHABET[usize::try_from(x % 62).unwrap_or(0)])
        })
        .collect()
}

/// The [`filler`] length that makes the typical session span exactly `cookies` cookies under
/// `sessions` (configured as the server's middleware is: same name, attributes, `max_cookies`
/// and budget), with the range of the lengths that do: the length is the range's middle, so the
/// few bytes `/write`'s counter adds never move the session to another count. `None` if no
/// length does (`cookies` past `max_cookies`, or past what the budget lets through).
///
/// Found by sealing the session for real, with the range of lengths halved each step: the count
/// only grows with the length.
pub fn padding_for(sessions: &SessionManager, cookies: usize) -> Option<(usize, Range<usize>)> {
    let first = first_reaching(sessions, cookies);
    let past = first_reaching(sessions, cookies + 1);
    (first < past && cookie_count(sessions, first) == cookies)
        .then(|| (first + (past - first) / 2, first..past))
}

/// The smallest filler length whose session spans `cookies` cookies or more (or does not fit),
/// [`PADDING_SEARCH_END`] if none below it does.
fn first_reaching(sessions: &SessionManager, cookies: usize) -> usize {
    let (mut low, mut high) = (0, PADDING_SEARCH_END);
    while low < high {
        let mid = low + (high - low) / 2;
        if cookie_count(sessions, mid) >= cookies {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

/// How many cookies a new typical session with `padding` filler bytes sets; `usize::MAX`
/// when the session refuses it (past the count or the budget).
fn cookie_count(sessions: &SessionManager, padding: usize) -> usize {
    let mut session = sessions.open([], RequestInfo::new("/seed"));
    let stored = session
        .insert("user_id", &USER_ID)
        .and_then(|()| session.insert("role", "admin"))
        .and_then(|()| session.insert("cart", &cart()))
        .and_then(|()| session.insert(PADDING_KEY, &filler(padding)));
    match stored.map(|()| session.finish()) {
        // The chunks set; a write also removes the names it doesn't use (`Max-Age=0`).
        Ok(Ok(update)) => {
            let removal = |header: &str| header.contains("Max-Age=0");
            usize::from(update.header().is_some_and(|h| !removal(h)))
                + session
                    .chunk_headers()
                    .iter()
                    .filter(|header| !removal(header))
                    .count()
        }
        _ => usize::MAX,
    }
}

/// The cookies `kind` spans, for the `ours-<n>-cookie(s)` kinds of both bench servers.
pub fn chunked_kind(kind: &str) -> Option<usize> {
    match kind {
        "ours-1-cookie" => Some(1),
        "ours-2-cookies" => Some(2),
        "ours-3-cookies" => Some(3),
        _ => None,
    }
}

/// [`padding_for`] as both bench servers use it: the filler for `cookies` cookies, the range
/// that gives them logged on stderr.
///
/// # Errors
/// When no filler makes the typical session span exactly `cookies` cookies.
pub fn padding_reported(sessions: &SessionManager, cookies: usize) -> std::io::Result<usize> {
    let (padding, range) = padding_for(sessions, cookies).ok_or_else(|| {
        std::io::Error::other(format!(
            "no session of the typical data and filler spans {cookies} cookies"
        ))
    })?;
    eprintln!(
        "over {cookies} cookie(s): /seed stores the typical session and {padding} filler bytes \
         ({} to {} take exactly {cookies})",
        range.start,
        range.end - 1
    );
    Ok(padding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_padding_of_each_count_spans_exactly_that_many_cookies() {
        let ring = sealed_session::KeyRing::new(sealed_session::SecretKey::generate());
        let sessions = SessionManager::builder(ring)
            .max_cookies(CHUNKED_MAX_COOKIES)
            .build()
            .unwrap();
        let mut previous = 0;
        for cookies in 1..=CHUNKED_MAX_COOKIES {
            let (padding, range) = padding_for(&sessions, cookies).unwrap();
            assert!(range.contains(&padding));
            for length in [range.start, padding, range.end - 1] {
                assert_eq!(cookie_count(&sessions, length), cookies, "{length}");
            }
            assert_ne!(cookie_count(&sessions, range.end), cookies);
            assert!(padding > previous || cookies == 1, "{cookies}: {padding}");
            previous = padding;
        }
        assert_eq!(padding_for(&sessions, CHUNKED_MAX_COOKIES + 1), None);
    }
}
