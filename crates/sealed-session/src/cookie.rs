//! Finding our cookie in a request's `Cookie` headers, and writing the `Set-Cookie` that sets
//! or removes it: framework-free, so every web adapter shares one implementation.

use std::fmt::Write as _;

use cookie::Cookie;
use time::{Duration, OffsetDateTime};

use crate::chunks::MAX_COOKIES;
use crate::envelope::CookieName;
use crate::error::{ConfigError, CookieAttributeProblem};

/// Prefix that makes browsers insist on `Secure`, `Path=/` and no `Domain`
/// ([RFC 6265bis section 4.1.3.2](https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2)).
const HOST_PREFIX: &str = "__Host-";
/// Prefix that makes browsers insist on `Secure`
/// ([RFC 6265bis section 4.1.3.1](https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.1)).
const SECURE_PREFIX: &str = "__Secure-";

/// Most values of our cookie name opened per request: a stale copy for a parent domain and the
/// current one fit, and a header stuffed with thousands of forged values costs no more than
/// these few tag checks.
pub(crate) const MAX_OPENED_VALUES: usize = 3;

/// Longest `Max-Age` written: 400 days, the cap browsers apply anyway (RFC 6265bis section
/// 5.6.2), so the header never carries a number a browser would read differently.
const MAX_AGE_CAP: i64 = 400 * 86_400;

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Also sent on top-level navigations from other sites (following a link), not on their
    /// POSTs: blocks CSRF, keeps users signed in from links. The default.
    #[default]
    Lax,
    /// Sent with cross-site requests too; requires `Secure`.
    None,
}

/// How long the browser keeps the cookie. [`SessionLifecycle`](crate::SessionLifecycle) sets it
/// together with the timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub(crate) enum Persistence {
    /// `Max-Age` = what is left of the session's life (the earlier of its idle and absolute
    /// deadlines, at most 400 days), so the browser forgets the cookie when the server would
    /// refuse it anyway.
    Persistent,
    /// No `Max-Age`: the browser drops the cookie when it closes (a "session cookie"). The
    /// default, as actix-session's: a cookie that is never written to disk as lasting, and
    /// that closing the browser ends (OWASP's advice for session cookies); the server enforces
    /// the timeouts all the same.
    #[default]
    BrowserSession,
}

/// The attributes of the session cookie, as the builder set them: what an adapter that writes
/// the cookie through another library repeats there
/// ([`SessionManager::cookie_attributes`](crate::SessionManager::cookie_attributes)).
///
/// # Defaults
/// `Path=/`, no `Domain`, `Secure`, `HttpOnly`, `SameSite=Lax`, no `Max-Age` (a browser-session
/// cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieAttributes {
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) persistence: Persistence,
}

impl Default for CookieAttributes {
    fn default() -> Self {
        Self {
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            persistence: Persistence::BrowserSession,
        }
    }
}

impl CookieAttributes {
    /// The cookie's `Path`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The cookie's `Domain`, if it has one.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// Whether the cookie is `Secure`.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Whether the cookie is `HttpOnly`.
    pub fn http_only(&self) -> bool {
        self.http_only
    }

    /// The cookie's `SameSite`.
    pub fn same_site(&self) -> SameSite {
        self.same_site
    }

    /// Whether the cookie carries a `Max-Age` (a
    /// [`PersistentSession`](crate::PersistentSession)) rather than ending with the browser.
    pub fn persistent(&self) -> bool {
        self.persistence == Persistence::Persistent
    }

    /// Refuses combinations browsers would reject or that defeat their purpose.
    pub(crate) fn validate(&self, name: &CookieName) -> Result<(), ConfigError> {
        let fail = |reason| Err(ConfigError::InvalidCookieAttributes { reason });
        let name = name.as_str();
        if name.starts_with(HOST_PREFIX) {
            if !self.secure {
                return fail(CookieAttributeProblem::HostPrefixNotSecure);
            }
            if self.path != "/" {
                return fail(CookieAttributeProblem::HostPrefixPathNotRoot);
            }
            if self.domain.is_some() {
                return fail(CookieAttributeProblem::HostPrefixWithDomain);
            }
        }
        if name.starts_with(SECURE_PREFIX) && !self.secure {
            return fail(CookieAttributeProblem::SecurePrefixNotSecure);
        }
        if self.same_site == SameSite::None && !self.secure {
            return fail(CookieAttributeProblem::SameSiteNoneNotSecure);
        }
        // Visible ASCII without `;`: what RFC 6265 allows in these attributes, and what the
        // `Set-Cookie` writer relies on.
        let plain = |v: &str| v.bytes().all(|b| b.is_ascii_graphic() && b != b';');
        if !self.path.starts_with('/') || !plain(&self.path) {
            return fail(CookieAttributeProblem::InvalidPath);
        }
        if self
            .domain
            .as_deref()
            .is_some_and(|d| d.is_empty() || !plain(d))
        {
            return fail(CookieAttributeProblem::InvalidDomain);
        }
        Ok(())
    }

    /// The `Set-Cookie` header value for `value`: `Some(max_age)` sets the cookie, `None`
    /// removes it. One function for both, so a removal always carries the same name, `Path`,
    /// `Domain` and `Secure` as the cookie it removes; otherwise browsers keep the original.
    ///
    /// Written by the `cookie` crate: every part is safe to write as it is (the name is an RFC
    /// 6265 token, the value base64url, and `validate` kept `;`, spaces and control characters
    /// out of the path and domain), so nothing needs percent-encoding. The hand-written writer
    /// this replaced was faster, by at most about 1,000 instructions per set and about 0.7 us
    /// per removal: nothing a measurement over HTTP can tell from noise (`docs/benchmarks.md`,
    /// "The `Set-Cookie` writer").
    pub(crate) fn set_cookie(
        &self,
        name: &CookieName,
        value: &str,
        max_age: Option<Duration>,
    ) -> String {
        let mut cookie = Cookie::build((name.as_str(), value))
            .http_only(self.http_only)
            .same_site(match self.same_site {
                SameSite::Strict => cookie::SameSite::Strict,
                SameSite::Lax => cookie::SameSite::Lax,
                SameSite::None => cookie::SameSite::None,
            })
            .secure(self.secure)
            .path(self.path.as_str());
        if let Some(domain) = &self.domain {
            cookie = cookie.domain(domain.as_str());
        }
        match max_age {
            // An `Expires` in the past too, for clients that ignore `Max-Age`.
            None => {
                cookie = cookie
                    .max_age(Duration::ZERO)
                    .expires(OffsetDateTime::UNIX_EPOCH);
            }
            Some(age) if self.persistence == Persistence::Persistent => {
                cookie =
                    cookie.max_age(Duration::seconds(age.whole_seconds().clamp(0, MAX_AGE_CAP)));
            }
            Some(_) => {}
        }
        // Sized up front: `to_string` would grow the buffer several times, which cost as much
        // as the formatting itself.
        let mut out = String::with_capacity(name.as_str().len() + value.len() + 96);
        // Writing into a `String` can't fail.
        let _ = write!(out, "{cookie}");
        out
    }
}

/// The distinct values sent under `name`, in header order, as raw bytes: at most
/// [`MAX_OPENED_VALUES`] of them, exact duplicates skipped; and whether more distinct values
/// followed (then the one that was skipped may be the real cookie, and a refusal of the others
/// must not remove it).
///
/// Parsed here rather than by a framework's cookie parser, which gives up on the whole `Cookie`
/// header when any one cookie in it is malformed or not UTF-8: an unrelated broken cookie must
/// not hide ours. The same name can appear more than once (e.g. one cookie set for a parent
/// domain, one for this host); the caller tries them in order. The scan stops as soon as it has
/// enough values, so its work is bounded by the header's size and nothing else.
pub(crate) fn values<'h>(
    headers: impl IntoIterator<Item = &'h [u8]>,
    name: &CookieName,
) -> (Vec<&'h [u8]>, bool) {
    let found = chunk_values(headers, name, 1);
    (found.firsts, found.skipped)
}

/// The values a request sent for a session over up to `max` cookies: those of the cookie's own
/// name as [`values`] finds them, and for each chunk name (`<name>-1` .. `<name>-<max-1>`) the
/// first value sent. One pass over the headers, whatever they hold.
pub(crate) struct ChunkValues<'h> {
    /// The distinct values of the cookie's own name (the chunks' first parts), at most
    /// [`MAX_OPENED_VALUES`].
    pub(crate) firsts: Vec<&'h [u8]>,
    /// More distinct values of the cookie's own name followed.
    pub(crate) skipped: bool,
    /// Chunk `k`'s first value, at index `k` (index 0 unused), for `k` below the session's
    /// `max`.
    rest: [Option<&'h [u8]>; MAX_COOKIES],
    /// Every chunk name sent, up to [`MAX_COOKIES`], a bit per index.
    sent: u16,
}

impl<'h> ChunkValues<'h> {
    /// Chunk `index`'s value, if the request sent one.
    pub(crate) fn chunk(&self, index: usize) -> Option<&'h [u8]> {
        self.rest.get(index).copied().flatten()
    }

    /// The chunk names (index 1 up to [`MAX_COOKIES`], whatever the session's `max`) the
    /// request sent, as a bit set (bit `k` for chunk `k`).
    pub(crate) fn sent(&self) -> u16 {
        self.sent
    }
}

/// Finds [`ChunkValues`] for the cookie `name` over up to `max` cookies.
pub(crate) fn chunk_values<'h>(
    headers: impl IntoIterator<Item = &'h [u8]>,
    name: &CookieName,
    max: usize,
) -> ChunkValues<'h> {
    let base = name.as_str().as_bytes();
    let mut found = ChunkValues {
        firsts: Vec::new(),
        skipped: false,
        rest: [None; MAX_COOKIES],
        sent: 0,
    };
    let pairs = headers
        .into_iter()
        .flat_map(|header| header.split(|&b| b == b';'))
        .filter_map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            Some((trim(&pair[..eq]), trim(&pair[eq + 1..])))
        });
    for (key, value) in pairs {
        if key == base {
            let value = unquote(value);
            if !found.firsts.contains(&value) {
                if found.firsts.len() == MAX_OPENED_VALUES {
                    found.skipped = true;
                } else {
                    found.firsts.push(value);
                }
            }
        } else if let Some(index) = chunk_index(key, base)
            && index < MAX_COOKIES
        {
            found.sent |= 1 << index;
            if index < max {
                found.rest[index].get_or_insert(unquote(value));
            }
        }
    }
    found
}

/// `k` if `key` is `<base>-<k>`, `k` of one or two digits without a leading zero, 1 or more.
fn chunk_index(key: &[u8], base: &[u8]) -> Option<usize> {
    let digits = key.strip_prefix(base)?.strip_prefix(b"-")?;
    match digits {
        [d @ b'1'..=b'9'] => Some(usize::from(d - b'0')),
        [d @ b'1'..=b'9', e @ b'0'..=b'9'] => {
            Some(usize::from(d - b'0') * 10 + usize::from(e - b'0'))
        }
        _ => None,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// RFC 6265 allows a cookie value in double quotes.
fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default attributes with a `Max-Age`.
    fn persistent() -> CookieAttributes {
        CookieAttributes {
            persistence: Persistence::Persistent,
            ..CookieAttributes::default()
        }
    }

    #[test]
    fn finds_every_value_of_our_name_despite_broken_neighbours() {
        let name = CookieName::new("id").unwrap();
        let headers: [&[u8]; 2] = [
            b"a=1; broken; id=first; x=\xff\xfe",
            b" id = \"second\" ;idx=no; xid=no",
        ];
        assert_eq!(
            values(headers, &name),
            (vec![b"first".as_slice(), b"second".as_slice()], false)
        );
        assert_eq!(values([b"other=1".as_slice()], &name), (vec![], false));
        assert_eq!(values([], &name), (vec![], false));
    }

    #[test]
    fn takes_a_few_distinct_values_whatever_the_header_holds() {
        let name = CookieName::new("id").unwrap();
        let mut header = b"id=dup; id=dup".to_vec();
        for n in 0..5_000 {
            header.extend_from_slice(format!("; id=forged{n}").as_bytes());
        }
        assert_eq!(
            values([header.as_slice()], &name),
            (vec![b"dup".as_slice(), b"forged0", b"forged1"], true)
        );
        let three = b"id=a; id=b; id=a; id=c; id=b";
        assert_eq!(
            values([three.as_slice()], &name),
            (vec![b"a".as_slice(), b"b", b"c"], false)
        );
    }

    #[test]
    fn max_age_is_capped_at_400_days() {
        let name = CookieName::new("id").unwrap();
        let text = persistent().set_cookie(&name, "v", Some(Duration::days(9_999)));
        assert!(text.contains("Max-Age=34560000"), "{text}");
    }

    #[test]
    fn headers_are_byte_for_byte_what_the_hand_written_writer_sent() {
        // Pinned from the writer the `cookie` crate replaced: attribute order and the removal's
        // `Expires` are unchanged, so clients and tests that match on the text see no change.
        let name = CookieName::new("id").unwrap();
        let attrs = CookieAttributes {
            domain: Some("example.com".into()),
            ..persistent()
        };
        assert_eq!(
            attrs.set_cookie(&name, "v-_1", Some(Duration::hours(1))),
            "id=v-_1; HttpOnly; SameSite=Lax; Secure; Path=/; Domain=example.com; Max-Age=3600"
        );
        assert_eq!(
            attrs.set_cookie(&name, "", None),
            "id=; HttpOnly; SameSite=Lax; Secure; Path=/; Domain=example.com; Max-Age=0; \
             Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let plain = CookieAttributes {
            secure: false,
            http_only: false,
            same_site: SameSite::Strict,
            persistence: Persistence::BrowserSession,
            ..CookieAttributes::default()
        };
        assert_eq!(
            plain.set_cookie(&name, "v", Some(Duration::hours(1))),
            "id=v; SameSite=Strict; Path=/"
        );
        assert_eq!(
            persistent().set_cookie(&name, "v", Some(Duration::seconds(-5))),
            "id=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn host_prefix_rules_are_enforced() {
        let host = CookieName::new("__Host-id").unwrap();
        let ok = CookieAttributes::default();
        assert!(ok.validate(&host).is_ok());
        for (bad, reason) in [
            (
                CookieAttributes {
                    secure: false,
                    ..ok.clone()
                },
                CookieAttributeProblem::HostPrefixNotSecure,
            ),
            (
                CookieAttributes {
                    path: "/app".into(),
                    ..ok.clone()
                },
                CookieAttributeProblem::HostPrefixPathNotRoot,
            ),
            (
                CookieAttributes {
                    domain: Some("example.com".into()),
                    ..ok.clone()
                },
                CookieAttributeProblem::HostPrefixWithDomain,
            ),
        ] {
            let err = bad.validate(&host).unwrap_err();
            assert_eq!(err, ConfigError::InvalidCookieAttributes { reason });
            assert!(err.to_string().contains("__Host-"), "{err}");
        }
        let insecure = CookieAttributes {
            secure: false,
            ..ok.clone()
        };
        assert_eq!(
            insecure.validate(&CookieName::new("__Secure-id").unwrap()),
            Err(ConfigError::InvalidCookieAttributes {
                reason: CookieAttributeProblem::SecurePrefixNotSecure
            })
        );
        let plain = CookieName::new("id").unwrap();
        assert!(insecure.validate(&plain).is_ok());
        let none_insecure = CookieAttributes {
            same_site: SameSite::None,
            ..insecure
        };
        assert_eq!(
            none_insecure.validate(&plain),
            Err(ConfigError::InvalidCookieAttributes {
                reason: CookieAttributeProblem::SameSiteNoneNotSecure
            })
        );
    }

    #[test]
    fn removal_mirrors_the_set_cookie() {
        let theirs = |s| match s {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        };
        let name = CookieName::new("id").unwrap();
        for same_site in [SameSite::Strict, SameSite::Lax, SameSite::None] {
            let attrs = CookieAttributes {
                path: "/app".into(),
                domain: Some("example.com".into()),
                same_site,
                ..persistent()
            };
            let set = attrs.set_cookie(&name, "v-_1", Some(Duration::hours(1)));
            let removal = attrs.set_cookie(&name, "", None);
            // What browsers (and the `cookie` crate) read back is what was configured.
            for (text, value, age) in [(&set, "v-_1", 3600), (&removal, "", 0)] {
                let parsed = Cookie::parse(text.as_str()).unwrap();
                assert_eq!(parsed.name(), "id");
                assert_eq!(parsed.value(), value);
                assert_eq!(parsed.path(), Some("/app"));
                assert_eq!(parsed.domain(), Some("example.com"));
                assert_eq!(parsed.secure(), Some(true));
                assert_eq!(parsed.http_only(), Some(true));
                assert_eq!(parsed.same_site(), Some(theirs(same_site)));
                assert_eq!(parsed.max_age(), Some(Duration::seconds(age)));
            }
            assert!(removal.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        }
        let session_only = CookieAttributes {
            persistence: Persistence::BrowserSession,
            ..CookieAttributes::default()
        };
        let text = session_only.set_cookie(&name, "v", Some(Duration::hours(1)));
        assert_eq!(Cookie::parse(text.as_str()).unwrap().max_age(), None);
    }

    #[test]
    fn paths_and_domains_that_would_break_the_header_are_refused() {
        let name = CookieName::new("id").unwrap();
        let (in_path, in_domain) = (
            CookieAttributeProblem::InvalidPath,
            CookieAttributeProblem::InvalidDomain,
        );
        for (path, domain, reason) in [
            ("/a;b", None, in_path),
            ("/a b", None, in_path),
            ("/a\n", None, in_path),
            ("app", None, in_path),
            ("/", Some("exa mple.com"), in_domain),
            ("/", Some("example.com;x"), in_domain),
            ("/", Some(""), in_domain),
        ] {
            let attrs = CookieAttributes {
                path: path.into(),
                domain: domain.map(Into::into),
                ..CookieAttributes::default()
            };
            assert_eq!(
                attrs.validate(&name),
                Err(ConfigError::InvalidCookieAttributes { reason }),
                "{path:?} {domain:?}"
            );
        }
    }
}
