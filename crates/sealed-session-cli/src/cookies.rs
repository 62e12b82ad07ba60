//! What `inspect` is given, sorted into the session's cookies: a bare value, or `name=value`
//! pairs, one per argument or several in one as a `Cookie` header carries them
//! (`id=2.AAA; id-1=BBB`, a leading `Cookie:` allowed).
//!
//! A session over several cookies (`SessionBuilder::max_cookies`) is its first cookie, under the
//! session's cookie name, and its chunks `<name>-1`, `<name>-2`, ... (docs/format.md, "Chunks").
//! The first cookie's name is `--cookie-name`, or the one name of the input that is not a chunk
//! of another; the input's other cookies are left alone, as a server leaves them. Nothing here
//! judges the values: joining them, and refusing a missing or extra chunk, is the library's
//! `join_chunks`.

use sealed_session::codec::{DEFAULT_COOKIE_NAME, MAX_COOKIES};

use crate::error::CliError;

/// The names the library gives a session cookie when the application sets none
/// (`SessionBuilder::build`), in the order a bare value is tried under them: `__Host-id` (the
/// default: `Secure`, `Path=/`, no `Domain`), `__Secure-id` (`Secure` with another path or a
/// domain), `id` (plain-HTTP development mode).
pub(crate) const DEFAULT_NAMES: [&str; 3] = ["__Host-id", "__Secure-id", DEFAULT_COOKIE_NAME];

/// The session's cookies found in the input, as slices of it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SessionCookies<'a> {
    /// The name the session's first cookie was given under (`--cookie-name`, the one name of the
    /// input, or `id` for a bare value).
    pub(crate) name: String,
    /// Whether no name was given (a bare value without `--cookie-name`): the value is then tried
    /// under each of [`DEFAULT_NAMES`].
    pub(crate) guessed: bool,
    /// The first cookie's value.
    pub(crate) first: &'a str,
    /// Chunk `k`'s value at index `k`, the first one given under `<name>-k` (as a server reads
    /// them); index 0 unused.
    pub(crate) chunks: [Option<&'a str>; MAX_COOKIES],
}

/// Sorts `inputs` (the arguments, or standard input's text) into the session's cookies, the
/// first named `flag` if given.
///
/// # Errors
/// [`CliError::BareValueAmongPairs`], [`CliError::CookieNameConflict`] (one `name=value` of
/// another name than `flag`), [`CliError::CookieNotGiven`] (no cookie named `flag` among
/// several), [`CliError::WhichCookie`] (several candidate names and no `flag`), or
/// [`CliError::SeveralValues`] (the first cookie given twice with different values).
pub(crate) fn sort<'a>(
    inputs: &[&'a str],
    flag: Option<String>,
) -> Result<SessionCookies<'a>, CliError> {
    let pairs: Vec<(Option<&str>, &str)> = inputs.iter().flat_map(|input| pieces(input)).collect();
    let mut chunks = [None; MAX_COOKIES];
    // A bare value (or nothing at all, which the codec then refuses as malformed).
    match pairs.as_slice() {
        [] => return Ok(bare("", flag, chunks)),
        [(None, value)] => return Ok(bare(value, flag, chunks)),
        _ if pairs.iter().any(|(name, _)| name.is_none()) => {
            return Err(CliError::BareValueAmongPairs);
        }
        _ => {}
    }
    let mut names: Vec<&str> = Vec::new();
    for name in pairs.iter().filter_map(|(name, _)| *name) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let name = match flag {
        Some(flag) if names.contains(&flag.as_str()) => flag,
        Some(flag) => {
            return Err(match names.as_slice() {
                [one] => CliError::CookieNameConflict {
                    in_value: (*one).to_owned(),
                    flag,
                },
                _ => CliError::CookieNotGiven {
                    name: flag,
                    given: owned(&names),
                },
            });
        }
        None => {
            // The names that are not a chunk of another name given.
            let firsts: Vec<&str> = names
                .iter()
                .copied()
                .filter(|name| !names.iter().any(|base| chunk_index(name, base).is_some()))
                .collect();
            match firsts.as_slice() {
                [one] => (*one).to_owned(),
                _ => {
                    return Err(CliError::WhichCookie {
                        names: owned(&firsts),
                    });
                }
            }
        }
    };
    let mut firsts: Vec<&str> = Vec::new();
    for (key, value) in pairs.iter().filter_map(|&(key, value)| Some((key?, value))) {
        if key == name {
            if !firsts.contains(&value) {
                firsts.push(value);
            }
        } else if let Some(index) = chunk_index(key, &name).filter(|&k| k < MAX_COOKIES) {
            chunks[index].get_or_insert(value);
        }
    }
    match firsts.as_slice() {
        [first] => Ok(SessionCookies {
            first,
            chunks,
            name,
            guessed: false,
        }),
        several => Err(CliError::SeveralValues {
            name,
            count: several.len(),
        }),
    }
}

/// A bare value, under `flag` or the default name.
fn bare<'a>(
    value: &'a str,
    flag: Option<String>,
    chunks: [Option<&'a str>; MAX_COOKIES],
) -> SessionCookies<'a> {
    SessionCookies {
        guessed: flag.is_none(),
        name: flag.unwrap_or_else(|| DEFAULT_COOKIE_NAME.to_owned()),
        first: value,
        chunks,
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

/// The cookies of one input: `;`-separated pieces, each `name=value` or a bare value, without
/// surrounding whitespace, RFC 6265's optional double quotes, or a leading `Cookie:` header name.
/// Our values are base64url, with neither `=` nor `;` in them.
fn pieces(input: &str) -> impl Iterator<Item = (Option<&str>, &str)> {
    let input = input.trim_start();
    let input = match input.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("cookie:") => &input[7..],
        _ => input,
    };
    input
        .split(';')
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = match piece.split_once('=') {
                Some((name, value)) => (Some(name.trim()), value.trim()),
                None => (None, piece),
            };
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (name, value)
        })
}

/// `k` if `name` is `<base>-<k>`, `k` of one or two digits without a leading zero: the chunk
/// names the library reads.
fn chunk_index(name: &str, base: &str) -> Option<usize> {
    let digits = name.strip_prefix(base)?.strip_prefix('-')?;
    let valid = matches!(digits.len(), 1 | 2)
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks<const N: usize>(given: [(usize, &str); N]) -> [Option<&str>; MAX_COOKIES] {
        let mut chunks = [None; MAX_COOKIES];
        for (index, value) in given {
            chunks[index] = Some(value);
        }
        chunks
    }

    fn sorted(inputs: &[&str], flag: Option<&str>) -> Result<SessionCookies<'static>, String> {
        // Leaked: a test's few bytes, so that the result can outlive `inputs`' copies.
        let inputs: Vec<&'static str> = inputs
            .iter()
            .map(|i| &*Box::leak(i.to_string().into_boxed_str()))
            .collect();
        sort(&inputs, flag.map(str::to_owned)).map_err(|e| e.to_string())
    }

    #[test]
    fn a_bare_value_or_one_pair_is_the_single_cookie() {
        assert_eq!(
            sorted(&[" AQEabc \n"], None).unwrap(),
            SessionCookies {
                name: "id".into(),
                guessed: true,
                first: "AQEabc",
                chunks: chunks([])
            }
        );
        let one = sorted(&["sid=\"AQEabc\""], None).unwrap();
        assert_eq!((one.name.as_str(), one.first), ("sid", "AQEabc"));
        assert!(!one.guessed);
        let flagged = sorted(&["AQEabc"], Some("remember")).unwrap();
        assert_eq!(flagged.name, "remember");
        assert!(!flagged.guessed);
    }

    #[test]
    fn a_header_or_several_arguments_give_the_first_cookie_and_its_chunks() {
        let expected = SessionCookies {
            name: "__Host-id".into(),
            guessed: false,
            first: "2.AAA",
            chunks: chunks([(1, "BBB"), (2, "CC")]),
        };
        // In any order, with other cookies, `Cookie:` and quotes.
        let header = "Cookie: theme=dark; __Host-id-2=CC; __Host-id=2.AAA;__Host-id-1=\"BBB\"";
        assert_eq!(sorted(&[header], Some("__Host-id")).unwrap(), expected);
        let args = ["__Host-id-1=BBB", "__Host-id=2.AAA", "__Host-id-2=CC"];
        assert_eq!(sorted(&args, None).unwrap(), expected);
        // The first value of a chunk name counts, as a server reads it; names that are no
        // chunk's (`-0`, `-01`, `-x`, past the most cookies) are someone else's.
        let odd = "id=2.A; id-1=B; id-1=other; id-0=x; id-01=x; id-1x=x; id-10=x; id-99=x";
        let cookies = sorted(&[odd], Some("id")).unwrap();
        assert_eq!(cookies.chunks, chunks([(1, "B")]));
    }

    #[test]
    fn an_ambiguous_or_inconsistent_input_asks_for_what_is_missing() {
        let err = sorted(&["theme=dark; id=2.A; id-1=B"], None).unwrap_err();
        assert!(err.contains("`theme`, `id`"), "{err}");
        assert!(err.contains("--cookie-name"), "{err}");
        let err = sorted(&["id=A", "id-1"], None).unwrap_err();
        assert!(err.contains("`name=value`"), "{err}");
        let err = sorted(&["id=A; id=B; id=A"], None).unwrap_err();
        assert!(err.contains("2 different values of `id`"), "{err}");
        let err = sorted(&["id=A"], Some("sid")).unwrap_err();
        assert!(err.contains("`--cookie-name` is `sid`"), "{err}");
        let err = sorted(&["id=A; x=B"], Some("sid")).unwrap_err();
        assert!(err.contains("no cookie named `sid`"), "{err}");
    }

    #[test]
    fn chunk_names_follow_the_library() {
        assert_eq!(chunk_index("id-1", "id"), Some(1));
        assert_eq!(chunk_index("id-42", "id"), Some(42));
        for other in [
            "id", "id-", "id-0", "id-01", "id-100", "id-+1", "idx-1", "id-1-1",
        ] {
            assert_eq!(chunk_index(other, "id"), None, "{other}");
        }
    }
}
