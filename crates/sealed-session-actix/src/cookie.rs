//! Finding our cookie in a request, and writing the `Set-Cookie` that sets or removes it.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{COOKIE, HeaderMap};
use sealed_session::{ConfigError, CookieName};
use time::{Duration, OffsetDateTime};

/// Prefix that makes browsers insist on `Secure`, `Path=/` and no `Domain`
/// ([RFC 6265bis section 4.1.3.2](https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2)).
const HOST_PREFIX: &str = "__Host-";
/// Prefix that makes browsers insist on `Secure`
/// ([RFC 6265bis section 4.1.3.1](https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.1)).
const SECURE_PREFIX: &str = "__Secure-";

/// How long the browser keeps the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Persistence {
    /// `Max-Age` = what is left of the session's life (the earlier of its idle and absolute
    /// deadlines), so the browser forgets the cookie when the server would refuse it anyway.
    /// The default.
    #[default]
    Persistent,
    /// No `Max-Age`: the browser drops the cookie when it closes (a "session cookie").
    BrowserSession,
}

/// The attributes of the session cookie.
///
/// # Defaults
/// `Path=/`, no `Domain`, `Secure`, `HttpOnly`, `SameSite=Lax`, [`Persistence::Persistent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CookieAttributes {
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
            persistence: Persistence::Persistent,
        }
    }
}

impl CookieAttributes {
    /// Refuses combinations browsers would reject or that defeat their purpose.
    pub(crate) fn validate(&self, name: &CookieName) -> Result<(), ConfigError> {
        let fail = |reason| Err(ConfigError::InvalidCookieAttributes { reason });
        let name = name.as_str();
        if name.starts_with(HOST_PREFIX) {
            if !self.secure {
                return fail(
                    "a `__Host-` cookie must be `Secure`: enable `cookie_secure` (serve over \
                     HTTPS) or drop the prefix",
                );
            }
            if self.path != "/" {
                return fail("a `__Host-` cookie must have `Path=/`: set `cookie_path(\"/\")`");
            }
            if self.domain.is_some() {
                return fail(
                    "a `__Host-` cookie can't have a `Domain`: remove `cookie_domain` or drop \
                     the prefix",
                );
            }
        }
        if name.starts_with(SECURE_PREFIX) && !self.secure {
            return fail("a `__Secure-` cookie must be `Secure`: enable `cookie_secure`");
        }
        if self.same_site == SameSite::None && !self.secure {
            return fail(
                "`SameSite=None` requires `Secure` (browsers drop the cookie otherwise): enable \
                 `cookie_secure` or use `SameSite::Lax`",
            );
        }
        if !self.path.starts_with('/') || self.path.contains(';') {
            return fail("the cookie path must start with `/` and hold no `;`");
        }
        if self
            .domain
            .as_deref()
            .is_some_and(|d| d.is_empty() || d.contains(';') || d.contains(' '))
        {
            return fail("the cookie domain must be a host name such as `example.com`");
        }
        Ok(())
    }

    /// The `Set-Cookie` for `value`: `Some(max_age)` sets the cookie, `None` removes it. One
    /// function for both, so a removal always carries the same name, `Path`, `Domain` and
    /// `Secure` as the cookie it removes; otherwise browsers keep the original.
    pub(crate) fn cookie<'a>(
        &'a self,
        name: &'a CookieName,
        value: String,
        max_age: Option<Duration>,
    ) -> Cookie<'a> {
        let mut cookie = Cookie::new(name.as_str(), value);
        cookie.set_path(self.path.as_str());
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.as_str());
        }
        cookie.set_secure(self.secure);
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
        match max_age {
            None => {
                cookie.set_max_age(Duration::ZERO);
                cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
            }
            Some(age) if self.persistence == Persistence::Persistent => {
                cookie.set_max_age(age.max(Duration::ZERO));
            }
            Some(_) => {}
        }
        cookie
    }
}

/// Every value sent under `name`, in header order, as raw bytes.
///
/// Parsed here rather than by actix-web, whose parser gives up on the whole `Cookie` header
/// when any one cookie in it is malformed or not UTF-8: an unrelated broken cookie must not
/// hide ours. The same name can appear more than once (e.g. one cookie set for a parent
/// domain, one for this host); the caller tries them in order.
pub(crate) fn values<'h>(headers: &'h HeaderMap, name: &CookieName) -> Vec<&'h [u8]> {
    let name = name.as_str().as_bytes();
    headers
        .get_all(COOKIE)
        .flat_map(|header| header.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (k, v) = (trim(&pair[..eq]), trim(&pair[eq + 1..]));
            (k == name).then(|| unquote(v))
        })
        .collect()
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
    use actix_web::http::header::HeaderValue;

    fn headers(raw: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in raw {
            map.append(COOKIE, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn finds_every_value_of_our_name_despite_broken_neighbours() {
        let name = CookieName::new("id").unwrap();
        let map = headers(&[
            b"a=1; broken; id=first; x=\xff\xfe",
            b" id = \"second\" ;idx=no; xid=no",
        ]);
        assert_eq!(
            values(&map, &name),
            vec![b"first".as_slice(), b"second".as_slice()]
        );
        assert!(values(&headers(&[b"other=1"]), &name).is_empty());
        assert!(values(&HeaderMap::new(), &name).is_empty());
    }

    #[test]
    fn host_prefix_rules_are_enforced() {
        let host = CookieName::new("__Host-id").unwrap();
        let ok = CookieAttributes::default();
        assert!(ok.validate(&host).is_ok());
        for bad in [
            CookieAttributes {
                secure: false,
                ..ok.clone()
            },
            CookieAttributes {
                path: "/app".into(),
                ..ok.clone()
            },
            CookieAttributes {
                domain: Some("example.com".into()),
                ..ok.clone()
            },
        ] {
            let err = bad.validate(&host).unwrap_err();
            assert!(err.to_string().contains("__Host-"), "{err}");
        }
        let plain = CookieName::new("id").unwrap();
        let none_insecure = CookieAttributes {
            same_site: SameSite::None,
            secure: false,
            ..ok
        };
        assert!(none_insecure.validate(&plain).is_err());
    }

    #[test]
    fn removal_mirrors_the_set_cookie() {
        let name = CookieName::new("id").unwrap();
        let attrs = CookieAttributes {
            path: "/app".into(),
            domain: Some("example.com".into()),
            ..CookieAttributes::default()
        };
        let set = attrs
            .cookie(&name, "v".into(), Some(Duration::hours(1)))
            .to_string();
        let removal = attrs.cookie(&name, String::new(), None).to_string();
        for part in [
            "id=",
            "Path=/app",
            "Domain=example.com",
            "Secure",
            "HttpOnly",
        ] {
            assert!(set.contains(part), "{set}");
            assert!(removal.contains(part), "{removal}");
        }
        assert!(removal.contains("Max-Age=0"), "{removal}");
        assert!(set.contains("Max-Age=3600"), "{set}");
    }
}
