//! Criterion benchmark: the hand-written pieces of `sealed-session` (and one it no longer has)
//! against what a crate does in their place, each pair in one run (issue 12: a hand-written
//! piece stays only if a measurement shows it earns its lines).
//!
//! Run from the workspace root:
//! `cargo bench -p sealed-session-benches --bench hand_written -- --noplot` (under a minute
//! once built; thread CPU time, or `BENCH_CLOCK=wall` for wall time), and
//! `bash benches/hand_written_callgrind.sh` for instructions per call.
//!
//! - Group `entries`: what a request that reads a session does with its values: decode the app
//!   map (the tail of the plaintext the codec seals), get `user_id` and `role`, encode it again.
//!   `entries_*` is the codec's own `Entries` (the product source, compiled here); `btreemap_*`
//!   a `BTreeMap<String, Vec<u8>>` decoded the same way, with the same order check and the same
//!   postcard map form. `*_typical` is the typical session; `*_postcard_values` the same session
//!   with its values postcard-encoded, as they were before MessagePack (a smaller map).
//! - Group `set_cookie`: the `Set-Cookie` header, by the hand-written writer the `cookie` crate
//!   replaced (`hand_written_*`) and by the current one, reached through the public API
//!   (`RequestSession::finish`). `*_remove` is the removal header alone (the only header
//!   `finish` writes without sealing first); the typical session's header is written after a
//!   seal, so it is measured as seal + writer (`seal_hand_written_set`, `finish_set`), with the
//!   hand-written writer alone (`hand_written_set`) and one `Codec::seal` (`codec_seal`) beside.
//!
//! Before measuring, every pair is checked to produce the same bytes.
//!
//! With `HAND_WRITTEN_CALLS=n`, the bench runs the contender `HAND_WRITTEN_CONTENDER` (e.g.
//! `entries/entries_typical`) 1,000 times, then `n` times inside `counted`, for callgrind
//! (without `HAND_WRITTEN_CONTENDER` it lists the contenders).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

// The `time` crate through the `cookie` crate's re-export: the benches don't depend on it.
use cookie::time::Duration as CookieDuration;
use criterion::measurement::Measurement;
use criterion::{Criterion, criterion_main};
use sealed_session::adapter::{CookieUpdate, RequestInfo, RequestSession};
use sealed_session::codec::{Codec, SessionState};
use sealed_session::{KeyRing, Mode, PersistentSession, SecretKey, SessionManager};
use sealed_session_benches::{COOKIE_NAME, signed_body, typical_session};
use serde::{Deserialize, Serialize};

mod common;

// The codec's `Entries` is `pub(crate)`: the product file itself is compiled here, so the bench
// measures the code that runs, not a copy that could drift from it. `entries.rs` depends only
// on std, serde and serde_bytes for that reason.
//
// `dead_code`: the bench uses decode, `get` and encode, not the rest of the API.
// `unused_imports`: `cargo clippy --all-targets` checks this bench with `cfg(test)` but no test
// harness, which keeps the file's `mod tests` and drops its `#[test]` functions, so the test
// module's imports go unused.
#[path = "../../crates/sealed-session/src/entries.rs"]
#[allow(dead_code, unused_imports)]
mod entries;

use entries::Entries;

/// The contenders of one criterion group.
struct Group<'a> {
    name: &'static str,
    contenders: Vec<Contender<'a>>,
}

/// A criterion id and one call of its operation (the callgrind mode runs the same calls).
struct Contender<'a> {
    id: &'static str,
    call: Box<dyn FnMut() + 'a>,
}

fn contender<'a>(id: &'static str, call: impl FnMut() + 'a) -> Contender<'a> {
    Contender {
        id,
        call: Box::new(call),
    }
}

/// The plain contender of [`Entries`]: a `BTreeMap<String, Vec<u8>>`, decoded through the same
/// borrowed list with the same check (keys strictly increasing, else refused), and encoded as
/// the same postcard map.
#[derive(PartialEq, Eq, Debug)]
struct PlainMap(BTreeMap<String, Vec<u8>>);

impl Serialize for PlainMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, serde_bytes::Bytes::new(v))))
    }
}

impl<'de> Deserialize<'de> for PlainMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let borrowed = Vec::<(&'de str, &'de serde_bytes::Bytes)>::deserialize(deserializer)?;
        if borrowed.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(serde::de::Error::custom(
                "session keys out of order or repeated",
            ));
        }
        Ok(Self(
            borrowed
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_vec()))
                .collect(),
        ))
    }
}

/// Decode, get `user_id` and `role`, encode again.
fn entries_op(app_map: &[u8]) -> Vec<u8> {
    let entries: Entries = postcard::from_bytes(app_map).expect("decodes");
    black_box(entries.get("user_id"));
    black_box(entries.get("role"));
    postcard::to_stdvec(&entries).expect("encodes")
}

/// [`entries_op`] on the plain contender.
fn plain_op(app_map: &[u8]) -> Vec<u8> {
    let map: PlainMap = postcard::from_bytes(app_map).expect("decodes");
    black_box(map.0.get("user_id"));
    black_box(map.0.get("role"));
    postcard::to_stdvec(&map).expect("encodes")
}

/// The two app maps the `entries` group decodes.
struct AppMaps {
    /// The typical session's, as the codec seals it today (MessagePack values).
    typical: Vec<u8>,
    /// The same session's with postcard values.
    postcard_values: Vec<u8>,
}

impl AppMaps {
    fn new() -> Self {
        let signed = Codec::builder(KeyRing::new(SecretKey::generate()))
            .mode(Mode::Signed)
            .build()
            .expect("valid settings");
        let fixture = typical_session(&signed);
        // `data` is the body's last field, and both sessions share the fields before it.
        let before_data = fixture.body.len() - fixture.app_map_bytes;
        let postcard_body = signed_body(&signed.seal(&fixture.postcard_state).expect("seals"));
        let maps = Self {
            typical: fixture.body[before_data..].to_vec(),
            postcard_values: postcard_body[before_data..].to_vec(),
        };
        for app_map in [&maps.typical, &maps.postcard_values] {
            check_same_reads(app_map);
        }
        for disordered in [[2u8, 1, b'b', 0, 1, b'a', 0], [2u8, 1, b'a', 0, 1, b'a', 0]] {
            assert!(postcard::from_bytes::<Entries>(&disordered).is_err());
            assert!(postcard::from_bytes::<PlainMap>(&disordered).is_err());
        }
        println!(
            "app maps: typical {} bytes, with postcard values {} bytes",
            maps.typical.len(),
            maps.postcard_values.len()
        );
        maps
    }

    fn group(&self) -> Group<'_> {
        let (typical, postcard_values) = (&self.typical, &self.postcard_values);
        Group {
            name: "entries",
            contenders: vec![
                contender("entries_typical", || {
                    drop(black_box(entries_op(black_box(typical))))
                }),
                contender("btreemap_typical", || {
                    drop(black_box(plain_op(black_box(typical))))
                }),
                contender("entries_postcard_values", || {
                    drop(black_box(entries_op(black_box(postcard_values))));
                }),
                contender("btreemap_postcard_values", || {
                    drop(black_box(plain_op(black_box(postcard_values))));
                }),
            ],
        }
    }
}

/// Both contenders read the same `user_id` and `role`, and re-encode to the input bytes.
fn check_same_reads(app_map: &[u8]) {
    let entries: Entries = postcard::from_bytes(app_map).expect("decodes");
    let plain: PlainMap = postcard::from_bytes(app_map).expect("decodes");
    for key in ["user_id", "role"] {
        let ours = entries.get(key);
        assert!(ours.is_some(), "`{key}` is in the typical session");
        assert_eq!(ours, plain.0.get(key).map(Vec::as_slice), "`{key}`");
    }
    assert_eq!(
        entries_op(app_map),
        app_map,
        "Entries re-encodes to the input"
    );
    assert_eq!(
        plain_op(app_map),
        app_map,
        "the BTreeMap re-encodes to the input"
    );
}

/// The `Set-Cookie` writer `CookieAttributes::set_cookie` had before the `cookie` crate
/// replaced it, copied from `crates/sealed-session/src/cookie.rs` at `77fd411^` (the parent of
/// commit 77fd411, which removed it). No longer product code: here only as the comparator. The
/// body of `set_cookie` is unchanged but for the name, a `&str` here instead of a `CookieName`;
/// the types are cut down to what it reads.
mod hand_written {
    use cookie::time::Duration; // `time::Duration` in the product

    /// Longest `Max-Age` written: 400 days, as in the product.
    const MAX_AGE_CAP: i64 = 400 * 86_400;

    #[derive(Clone, Copy, PartialEq, Eq)]
    #[allow(dead_code)] // all three are written; the bench uses `Lax`
    pub(crate) enum SameSite {
        Strict,
        Lax,
        None,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    #[allow(dead_code)] // both are handled; the bench uses `Persistent`
    pub(crate) enum Persistence {
        Persistent,
        BrowserSession,
    }

    pub(crate) struct CookieAttributes {
        pub(crate) path: String,
        pub(crate) domain: Option<String>,
        pub(crate) secure: bool,
        pub(crate) http_only: bool,
        pub(crate) same_site: SameSite,
        pub(crate) persistence: Persistence,
    }

    impl CookieAttributes {
        pub(crate) fn set_cookie(
            &self,
            name: &str,
            value: &str,
            max_age: Option<Duration>,
        ) -> String {
            let mut out = String::with_capacity(name.len() + value.len() + 96);
            out.push_str(name);
            out.push('=');
            out.push_str(value);
            if self.http_only {
                out.push_str("; HttpOnly");
            }
            out.push_str(match self.same_site {
                SameSite::Strict => "; SameSite=Strict",
                SameSite::Lax => "; SameSite=Lax",
                SameSite::None => "; SameSite=None",
            });
            if self.secure {
                out.push_str("; Secure");
            }
            out.push_str("; Path=");
            out.push_str(&self.path);
            if let Some(domain) = &self.domain {
                out.push_str("; Domain=");
                out.push_str(domain);
            }
            match max_age {
                None => out.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
                Some(age) if self.persistence == Persistence::Persistent => {
                    out.push_str("; Max-Age=");
                    out.push_str(&age.whole_seconds().clamp(0, MAX_AGE_CAP).to_string());
                }
                Some(_) => {}
            }
            out
        }
    }
}

/// The header `finish` returns, for any update that writes one.
fn header(update: CookieUpdate) -> String {
    update.header().expect("a Set-Cookie header").to_owned()
}

/// What the `set_cookie` group writes with: the typical `Set-Cookie` is `id=<value>; HttpOnly;
/// SameSite=Lax; Secure; Path=/; Max-Age=86400`.
struct Cookies {
    lifecycle: SessionManager,
    old: hand_written::CookieAttributes,
    state: SessionState,
    /// A sealed value of `state`.
    value: String,
    /// A logged-out request: with no session left, each `finish` only writes the removal.
    purged: RequestSession,
    /// A request that changed the typical session: each `finish` seals it and writes the
    /// header (its status stays changed).
    changed: RequestSession,
}

impl Cookies {
    fn new() -> Self {
        let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .cookie_name(COOKIE_NAME)
            .session_lifecycle(PersistentSession::default())
            .idle_timeout(CookieDuration::days(1))
            .absolute_timeout(CookieDuration::days(7))
            .build()
            .expect("valid settings");
        let old = hand_written::CookieAttributes {
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: hand_written::SameSite::Lax,
            persistence: hand_written::Persistence::Persistent,
        };
        let state = typical_session(lifecycle.codec()).state;
        let value = lifecycle.codec().seal(&state).expect("seals");

        let mut purged = lifecycle.open([], RequestInfo::new("/"));
        purged.purge().expect("nothing to revoke");
        let removal = header(purged.finish().expect("no sealing"));
        assert_eq!(removal, old.set_cookie(COOKIE_NAME, "", None));

        let cookie = format!("{COOKIE_NAME}={value}");
        let mut changed = lifecycle.open([cookie.as_bytes()], RequestInfo::new("/"));
        assert_eq!(changed.state(), Some(&state), "the typical session opens");
        // The same value again: changed, same contents.
        changed.insert("role", "admin").expect("fits");
        let set = header(changed.finish().expect("seals"));
        let sealed = set
            .split(';')
            .next()
            .and_then(|pair| pair.strip_prefix(COOKIE_NAME)?.strip_prefix('='))
            .expect("our cookie first");
        assert_eq!(
            set,
            old.set_cookie(COOKIE_NAME, sealed, Some(CookieDuration::days(1)))
        );
        println!(
            "typical Set-Cookie: {} bytes, value {} characters",
            set.len(),
            sealed.len()
        );
        Self {
            lifecycle,
            old,
            state,
            value,
            purged,
            changed,
        }
    }

    fn group(&mut self) -> Group<'_> {
        let Self {
            lifecycle,
            old,
            state,
            value,
            purged,
            changed,
        } = self;
        let (old, state, value) = (&*old, &*state, &*value);
        let codec = lifecycle.codec();
        let day = Some(CookieDuration::days(1));
        Group {
            name: "set_cookie",
            contenders: vec![
                contender("hand_written_remove", move || {
                    let header = old.set_cookie(black_box(COOKIE_NAME), black_box(""), None);
                    drop(black_box(header));
                }),
                contender("cookie_crate_remove", move || {
                    drop(black_box(purged.finish()))
                }),
                contender("hand_written_set", move || {
                    let header = old.set_cookie(black_box(COOKIE_NAME), black_box(value), day);
                    drop(black_box(header));
                }),
                contender("seal_hand_written_set", move || {
                    let value = codec.seal(black_box(state)).expect("seals");
                    drop(black_box(old.set_cookie(COOKIE_NAME, &value, day)));
                }),
                contender("finish_set", move || drop(black_box(changed.finish()))),
                contender("codec_seal", move || {
                    drop(black_box(codec.seal(black_box(state))))
                }),
            ],
        }
    }
}

fn measure<M: Measurement>(c: &mut Criterion<M>, group: &mut Group<'_>) {
    let mut g = c.benchmark_group(group.name);
    for Contender { id, call } in &mut group.contenders {
        g.bench_function(*id, |b| b.iter(&mut *call));
    }
    g.finish();
}

/// `calls` calls of `call`: the only function `benches/hand_written_callgrind.sh` counts.
#[inline(never)]
fn counted(call: &mut dyn FnMut(), calls: u64) {
    for _ in 0..calls {
        call();
    }
}

/// What `criterion_group!` would generate, written out so that it can carry a doc comment, pick
/// the clock (`BENCH_CLOCK`, see `common/mod.rs`) and run the callgrind mode.
fn benches() {
    fn run<M: Measurement>(c: Criterion<M>, groups: &mut [Group<'_>]) {
        let mut c = c
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .configure_from_args();
        for group in groups {
            measure(&mut c, group);
        }
    }
    let maps = AppMaps::new();
    let mut cookies = Cookies::new();
    let mut groups = [maps.group(), cookies.group()];
    if let Ok(calls) = std::env::var("HAND_WRITTEN_CALLS") {
        let calls: u64 = calls.parse().expect("HAND_WRITTEN_CALLS is a number");
        let wanted = std::env::var("HAND_WRITTEN_CONTENDER").unwrap_or_default();
        for group in &mut groups {
            for Contender { id, call } in &mut group.contenders {
                let name = format!("{}/{id}", group.name);
                if wanted.is_empty() {
                    println!("{name}");
                } else if name == wanted {
                    // First calls pay for what later ones reuse (allocator pages, lazy state).
                    for _ in 0..1_000 {
                        call();
                    }
                    counted(call, calls);
                }
            }
        }
    } else if common::wall_clock() {
        run(Criterion::default(), &mut groups);
    } else {
        run(
            Criterion::default().with_measurement(common::ThreadCpuTime::new()),
            &mut groups,
        );
    }
}

criterion_main!(benches);
