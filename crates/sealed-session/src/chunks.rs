//! A session split over several cookies ([`SessionBuilder::max_cookies`]): the chunks' names,
//! how a sealed value is cut into them and joined again. Pure: no clock, no keys.
//!
//! The session is sealed once, for `n` parts (`n` is authenticated with it: see
//! [`Codec::seal_chunked`](crate::codec::Codec::seal_chunked)), and its value is cut into `n`
//! cookie values, in order: the first, under the cookie's own name, starts with `n` and a dot
//! (`3.`; base64url has no dot), the others are named `<name>-1` .. `<name>-<n-1>`. A single
//! cookie (`n` = 1) is today's value, unchanged. docs/format.md, "Chunks", has the rules and a
//! vector.
//!
//! [`SessionBuilder::max_cookies`]: crate::SessionBuilder::max_cookies

use std::borrow::Cow;

use crate::codec::BROWSER_COOKIE_LIMIT;
use crate::error::OpenError;

/// The most cookies a session may span: ten `Set-Cookie` headers of at most 4096 bytes each is
/// already past what the proxies in front of most sites pass in one `Cookie` header.
pub const MAX_COOKIES: usize = 10;

/// The default budget for the session's cookies in the request's `Cookie` header (names,
/// values and the `; ` between them): 8 KiB, the per-header-line limit of nginx's default
/// buffers and of Heroku's router, the smallest of the common front ends (ALB and Vercel allow
/// 16 KiB, hyper's HTTP/2 header list 16 KiB in all). That line also holds `Cookie: ` and the
/// site's other cookies, and some clients send less (curl refuses a `Cookie` header past about
/// 8 KiB): behind such a front end, a site with other cookies sets a smaller budget.
pub const DEFAULT_COOKIE_HEADER_BUDGET: usize = 8192;

/// The name of chunk `index` of the session cookie named `base`: `base` itself for 0, then
/// `base-1`, `base-2`, ... (a `__Host-` or `__Secure-` prefix is kept, since it starts `base`).
///
/// ```
/// use sealed_session::codec::chunk_name;
///
/// assert_eq!(chunk_name("__Host-id", 0), "__Host-id");
/// assert_eq!(chunk_name("__Host-id", 2), "__Host-id-2");
/// ```
pub fn chunk_name(base: &str, index: usize) -> String {
    if index == 0 {
        base.to_owned()
    } else {
        format!("{base}-{index}")
    }
}

/// Joins the chunks of a session whose first cookie's value is `first`: the sealed value to open
/// and the number of parts it was sealed for. `rest(k)` is the value of chunk `k` (1 ≤ k <
/// `max`), if the request carried one. A first value without the `n.` prefix is a single cookie
/// (1 part).
///
/// ```
/// use sealed_session::codec::join_chunks;
///
/// let rest = ["BBB", "CC"];
/// let (value, parts) = join_chunks("3.AAAA", |k| rest.get(k - 1).copied(), 10)?;
/// assert_eq!((value.as_ref(), parts), ("AAAABBBCC", 3));
/// // A missing chunk, or one more than the first announces, is refused with its index.
/// assert!(join_chunks("3.AAAA", |k| (k == 1).then_some("BBB"), 10).is_err());
/// assert!(join_chunks("AAAA", |k| (k == 1).then_some("BBB"), 10).is_err());
/// # Ok::<(), sealed_session::OpenError>(())
/// ```
///
/// # Errors
/// [`OpenError::Malformed`] for a count that is not 2 to `max`, [`OpenError::MissingChunk`] for
/// a chunk the first announces that the request lacks, [`OpenError::ExtraChunk`] for a chunk
/// past the count. Chunks in another order, of another session or cut elsewhere give a value
/// that does not authenticate ([`OpenError::Forged`], when it is opened).
pub fn join_chunks<'a>(
    first: &'a str,
    rest: impl Fn(usize) -> Option<&'a str>,
    max: usize,
) -> Result<(Cow<'a, str>, u8), OpenError> {
    let max = max.min(MAX_COOKIES);
    let Some((count, head)) = split_count(first) else {
        if let Some(index) = (1..max).find(|&k| rest(k).is_some()) {
            return Err(extra(index));
        }
        return Ok((Cow::Borrowed(first), 1));
    };
    if count < 2 || count > max {
        return Err(OpenError::Malformed);
    }
    // No part is longer than a cookie can be: nothing past that is joined or allocated.
    let too_long = |part: &str| part.len() > BROWSER_COOKIE_LIMIT;
    if too_long(first) {
        return Err(OpenError::Malformed);
    }
    let mut parts = Vec::with_capacity(count);
    parts.push(head);
    for index in 1..count {
        let part = rest(index).ok_or(OpenError::MissingChunk {
            index: u8::try_from(index).unwrap_or(u8::MAX),
        })?;
        if too_long(part) {
            return Err(OpenError::Malformed);
        }
        parts.push(part);
    }
    let joined = parts.concat();
    if let Some(index) = (count..max).find(|&k| rest(k).is_some()) {
        return Err(extra(index));
    }
    let parts = u8::try_from(count).map_err(|_| OpenError::Malformed)?;
    Ok((Cow::Owned(joined), parts))
}

fn extra(index: usize) -> OpenError {
    OpenError::ExtraChunk {
        index: u8::try_from(index).unwrap_or(u8::MAX),
    }
}

/// `n.rest` as `(n, rest)`, for a one- or two-digit `n`; `None` without such a prefix.
fn split_count(first: &str) -> Option<(usize, &str)> {
    let dot = first.as_bytes().iter().take(3).position(|&b| b == b'.')?;
    let digits = &first[..dot];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    Some((digits.parse().ok()?, &first[dot + 1..]))
}

/// The prefix of the first chunk of a session of `parts` parts.
fn count_prefix(parts: usize) -> String {
    format!("{parts}.")
}

/// How a sealed value of `len` characters is cut into cookies whose values hold at most
/// `caps[k]` characters each, within `budget` bytes of `Cookie` header (`name_lens[k]` is chunk
/// `k`'s name length): the fewest parts that fit, or `None` if even `caps.len()` parts don't.
pub(crate) fn plan(len: usize, caps: &[usize], name_lens: &[usize], budget: usize) -> Option<u8> {
    (1..=caps.len()).find_map(|parts| {
        let lens = part_lens(len, parts, caps)?;
        let header: usize = lens
            .iter()
            .zip(name_lens)
            .map(|(value, name)| name + 1 + value)
            .sum::<usize>()
            + 2 * (parts - 1);
        (header <= budget)
            .then(|| u8::try_from(parts).ok())
            .flatten()
    })
}

/// The `Cookie` header bytes a value of `len` characters takes split into the fewest parts
/// that fit `caps` (ignoring the budget), for an error's `size`.
pub(crate) fn header_len(len: usize, caps: &[usize], name_lens: &[usize]) -> usize {
    let parts = caps.len();
    let prefix = if parts > 1 {
        count_prefix(parts).len()
    } else {
        0
    };
    name_lens
        .iter()
        .take(parts)
        .map(|name| name + 1)
        .sum::<usize>()
        + prefix
        + len
        + 2 * (parts - 1)
}

/// The values' lengths of a `len`-character value cut into `parts` cookies, the first ones
/// filled to their capacity; `None` if it does not fit.
fn part_lens(len: usize, parts: usize, caps: &[usize]) -> Option<Vec<usize>> {
    if parts == 1 {
        return (len <= *caps.first()?).then(|| vec![len]);
    }
    let prefix = count_prefix(parts).len();
    let mut left = len;
    let mut lens = Vec::with_capacity(parts);
    for (index, &cap) in caps.iter().take(parts).enumerate() {
        let room = if index == 0 {
            cap.checked_sub(prefix)?
        } else {
            cap
        };
        let take = left.min(room);
        // Every part carries something: an empty last chunk would be a cookie without a value.
        if take == 0 {
            return None;
        }
        lens.push(take + if index == 0 { prefix } else { 0 });
        left -= take;
    }
    (left == 0).then_some(lens)
}

/// Cuts `value` (sealed for `parts` parts) into the cookie values, as [`plan`] planned it.
pub(crate) fn cut(value: &str, parts: u8, caps: &[usize]) -> Vec<String> {
    let parts = usize::from(parts);
    if parts <= 1 {
        return vec![value.to_owned()];
    }
    let prefix = count_prefix(parts);
    debug_assert_eq!(
        part_lens(value.len(), parts, caps).map(|lens| lens.len()),
        Some(parts),
        "cut as planned"
    );
    let mut rest = value;
    let mut out = Vec::with_capacity(parts);
    for (index, &cap) in caps.iter().take(parts).enumerate() {
        let room = if index == 0 { cap - prefix.len() } else { cap };
        // base64url is ASCII: any byte index is a character boundary.
        let (part, tail) = rest.split_at(room.min(rest.len()));
        out.push(if index == 0 {
            format!("{prefix}{part}")
        } else {
            part.to_owned()
        });
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_value_joins_back_and_fits_its_caps() {
        let caps = [10, 10, 10];
        let names = [2, 4, 4];
        let value: String = ('a'..='z').collect();
        let parts = plan(value.len(), &caps, &names, 1000).unwrap();
        assert_eq!(parts, 3);
        let cut = cut(&value, parts, &caps);
        assert_eq!(cut, ["3.abcdefgh", "ijklmnopqr", "stuvwxyz"]);
        let (joined, n) = join_chunks(&cut[0], |k| cut.get(k).map(String::as_str), 10).unwrap();
        assert_eq!((joined.as_ref(), n), (value.as_str(), 3));
    }

    #[test]
    fn the_fewest_parts_that_fit_the_caps_and_the_budget() {
        let caps = [10, 10, 10];
        let names = [2, 4, 4];
        assert_eq!(plan(10, &caps, &names, 1000), Some(1));
        assert_eq!(plan(11, &caps, &names, 1000), Some(2));
        assert_eq!(plan(28, &caps, &names, 1000), Some(3));
        assert_eq!(plan(29, &caps, &names, 1000), None, "past the caps");
        // 3 + 10 + 2 + 5 + 3 = 23 bytes of header for 11 characters in 2 parts.
        assert_eq!(plan(11, &caps, &names, 23), Some(2));
        assert_eq!(plan(11, &caps, &names, 22), None, "past the budget");
    }

    #[test]
    fn counts_and_chunks_out_of_place_are_refused() {
        let none = |_: usize| None;
        assert_eq!(join_chunks("1.AAAA", none, 10), Err(OpenError::Malformed));
        assert_eq!(join_chunks("11.AAAA", none, 10), Err(OpenError::Malformed));
        assert_eq!(join_chunks("4.AAAA", none, 3), Err(OpenError::Malformed));
        assert_eq!(
            join_chunks("2.AAAA", none, 10),
            Err(OpenError::MissingChunk { index: 1 })
        );
        let two = |k: usize| (k <= 2).then_some("B");
        assert_eq!(
            join_chunks("2.AAAA", two, 10),
            Err(OpenError::ExtraChunk { index: 2 })
        );
        // A leading zero or no digits: not a count, so a single cookie's value (which then
        // does not decode).
        assert_eq!(join_chunks("02.A", none, 10).unwrap().1, 1);
        assert_eq!(join_chunks(".A", none, 10).unwrap().1, 1);
    }
}
