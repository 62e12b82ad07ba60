//! Settings the example apps read from the environment, parsed here once for both, so that both
//! accept the same values and refuse the same mistakes at startup.

use std::error::Error;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sealed_session::codec::MAX_COOKIES;
use sealed_session::revocation::RevocationStore;
use sealed_session::{KeyRing, SecretKey, SessionBuilder};
use sealed_session_redis::RedisRevocationStore;

/// What the sealed-session apps (`examples/login.rs` on actix-web, `examples/axum_login.rs` on
/// axum) read from the environment, read here once so that both accept the same variables.
#[derive(Debug)]
pub struct SealedSettings {
    /// `SESSION_KEYS`, or a throwaway key (with a loud warning).
    pub keys: KeyRing,
    /// `PORT`, default 8080.
    pub port: u16,
    /// `COOKIE_SECURE`, default `true` (see [`cookie_secure`]).
    pub secure: bool,
    /// `COOKIE_NAME`, default: the library's.
    pub cookie_name: Option<String>,
    /// `COOKIE_CHUNKS`, default 1 (see [`cookie_chunks`]): the most cookies a session spans,
    /// for `SessionBuilder::max_cookies`.
    pub cookie_chunks: usize,
    /// A Redis revocation store if `REDIS_URL` is set; the library's in-memory one otherwise.
    pub store: Option<Arc<dyn RevocationStore>>,
}

impl SealedSettings {
    /// Reads `SESSION_KEYS`, `PORT`, `COOKIE_SECURE`, `COOKIE_NAME`, `COOKIE_CHUNKS`,
    /// `REDIS_URL` and `REDIS_REPLICAS`.
    ///
    /// # Errors
    /// A key list, port, `COOKIE_SECURE`, `COOKIE_CHUNKS`, Redis URL or `REDIS_REPLICAS` that
    /// is not accepted, with what to set.
    pub fn from_env() -> Result<Self, Box<dyn Error>> {
        let keys = match std::env::var("SESSION_KEYS") {
            Ok(_) => KeyRing::from_env("SESSION_KEYS")?,
            Err(_) => {
                let key = SecretKey::generate();
                announce_throwaway_key(&key);
                KeyRing::new(key)
            }
        };
        let port: u16 = match std::env::var("PORT") {
            Ok(p) => p
                .parse()
                .map_err(|_| format!("PORT must be a port number, got `{p}`"))?,
            Err(_) => 8080,
        };
        let secure = cookie_secure()?;
        let cookie_name = std::env::var("COOKIE_NAME").ok();
        let cookie_chunks = cookie_chunks()?;
        let store = match std::env::var("REDIS_URL") {
            Ok(url) => {
                // Waits up to 2 s for the shared list (and says so if Redis is not there:
                // signed-in sessions are then refused until it is loaded). A logout is answered
                // once Redis has it, or `503` after 250 ms. Entries and messages are tagged with
                // the session keys, so that whoever can write to Redis can't forge a logout.
                let store = RedisRevocationStore::builder(url)
                    .authenticate_with(&keys)
                    .replicas(redis_replicas()?)
                    .build()?;
                Some(Arc::new(store) as Arc<dyn RevocationStore>)
            }
            Err(_) => {
                tracing::info!("REDIS_URL is not set: logouts are revoked in this process only");
                None
            }
        };
        Ok(Self {
            keys,
            port,
            secure,
            cookie_name,
            cookie_chunks,
            store,
        })
    }
}

impl SealedSettings {
    /// The session builder `new` makes from the keys (`CookieSessionMiddleware::builder`,
    /// `CookieSessionLayer::builder`, `SealedSessionStore::builder`), with the cookie's settings
    /// and the revocation store of these settings: one configuration for every app.
    pub fn builder<T>(self, new: impl FnOnce(KeyRing) -> SessionBuilder<T>) -> SessionBuilder<T> {
        let mut builder = new(self.keys)
            .cookie_secure(self.secure)
            .max_cookies(self.cookie_chunks);
        if let Some(name) = self.cookie_name {
            builder = builder.cookie_name(name);
        }
        if let Some(store) = self.store {
            builder = builder.revocation_store(store);
        }
        builder
    }
}

/// Warns that the key is a throwaway one and says where it was saved, so that the run's cookies
/// can be opened with `sealed-session inspect`.
///
/// The key goes to a file readable by its owner only ([`save_throwaway_key`]), beside the
/// running executable under cargo's `target/`, and only its path is logged: a key printed on
/// stderr ends up in terminal scrollback, CI logs and log collectors, and a development key
/// has a way of reaching a staging server.
fn announce_throwaway_key(key: &SecretKey) {
    let saved = throwaway_key_path()
        .ok_or_else(|| std::io::Error::other("no path for the running executable"))
        .and_then(|path| save_throwaway_key(key, &path).map(|()| path));
    match saved {
        Ok(path) => tracing::warn!(
            "SESSION_KEYS is not set: using a throwaway key generated for this run, a development \
             key saved (owner-only) to `{path}` so this run's cookies can be inspected: \
             `sealed-session inspect --keys-file {path} '<cookie>'`. Sessions will not survive a \
             restart. NEVER run like this in production: set SESSION_KEYS to the output of \
             `openssl rand -base64 32`.",
            path = path.display()
        ),
        Err(err) => tracing::warn!(
            "SESSION_KEYS is not set: using a throwaway key generated for this run, which could \
             not be saved ({err}), so this run's cookies can't be inspected: set SESSION_KEYS to \
             inspect them. Sessions will not survive a restart. NEVER run like this in \
             production: set SESSION_KEYS to the output of `openssl rand -base64 32`."
        ),
    }
}

/// Where a throwaway key is saved: beside the running executable, named after it
/// (`target/debug/examples/login.session-key` for `cargo run --example login`), so each
/// example keeps its own and `cargo clean` removes it.
fn throwaway_key_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let stem = exe.file_stem()?.to_string_lossy().into_owned();
    Some(exe.with_file_name(format!("{stem}.session-key")))
}

/// Writes `key` to `path` in the form `SESSION_KEYS` and `sealed-session --keys-file` take, mode
/// 0600 on Unix. An existing file is removed first rather than truncated, so one made with
/// wider permissions does not keep them.
///
/// # Errors
/// The file could not be removed, created or written.
pub fn save_throwaway_key(key: &SecretKey, path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key.to_base64().as_bytes())?;
    file.write_all(b"\n")
}

/// The variable [`cookie_secure`] reads.
pub const COOKIE_SECURE: &str = "COOKIE_SECURE";

/// Whether the session cookie is marked `Secure`, from `COOKIE_SECURE`. Defaults to `true`, as
/// the library does: browsers and curl send a `Secure` cookie back to `http://127.0.0.1` and
/// `http://localhost` too (loopback counts as a secure context), so the default works on the
/// plain-HTTP dev server and is right behind HTTPS. `false` is for a client that keeps `Secure`
/// cookies for HTTPS only (Python's `http.cookiejar`), and lets the cookie travel in clear to
/// any host.
///
/// # Errors
/// [`SettingError`] if the variable is set to anything but `true` or `false` (or `1` or `0`, in
/// any case), or is not UTF-8: a typo must not quietly pick a cookie policy.
pub fn cookie_secure() -> Result<bool, SettingError> {
    cookie_secure_from(std::env::var_os(COOKIE_SECURE).as_deref())
}

/// [`cookie_secure`] for the value `value` of `COOKIE_SECURE` (`None`: unset).
///
/// # Errors
/// As [`cookie_secure`].
pub fn cookie_secure_from(value: Option<&OsStr>) -> Result<bool, SettingError> {
    let Some(value) = value else {
        return Ok(true);
    };
    let invalid = || SettingError {
        name: COOKIE_SECURE,
        value: value.to_string_lossy().into_owned(),
        accepted: "`true` or `false` (also `1` or `0`, any case), or unset it for `true`",
    };
    let text = value.to_str().ok_or_else(invalid)?;
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Ok(true)
    } else if text.eq_ignore_ascii_case("false") || text == "0" {
        Ok(false)
    } else {
        Err(invalid())
    }
}

/// The variable [`cookie_chunks`] reads.
pub const COOKIE_CHUNKS: &str = "COOKIE_CHUNKS";

// `cookie_chunks_from`'s message names the range in a literal.
const _: () = assert!(MAX_COOKIES == 10);

/// The most cookies a session may span, from `COOKIE_CHUNKS`, for
/// `SessionBuilder::max_cookies`. Defaults to 1, as the library does: one cookie, so a session
/// holds about 3,000 random bytes and `POST /big` answers `413` past that. With 2 to 10 the
/// session is cut into as few cookies as it needs, named `<name>`, `<name>-1`, ..., each
/// `Set-Cookie` within 4096 bytes, and all within the library's default budget of 8192 bytes of
/// `Cookie` header: two hold about 5,960 random bytes, and past two the budget binds (about
/// 6,000 bytes, however many cookies are allowed).
///
/// # Errors
/// [`SettingError`] if the variable is not a whole number from 1 to 10, or is not UTF-8: the
/// library would refuse the count at build too, but with the builder's words, not the
/// variable's.
pub fn cookie_chunks() -> Result<usize, SettingError> {
    cookie_chunks_from(std::env::var_os(COOKIE_CHUNKS).as_deref())
}

/// [`cookie_chunks`] for the value `value` of `COOKIE_CHUNKS` (`None`: unset).
///
/// # Errors
/// As [`cookie_chunks`].
pub fn cookie_chunks_from(value: Option<&OsStr>) -> Result<usize, SettingError> {
    let Some(value) = value else {
        return Ok(1);
    };
    let invalid = || SettingError {
        name: COOKIE_CHUNKS,
        value: value.to_string_lossy().into_owned(),
        accepted: "a whole number from 1 (one cookie, the default) to 10, or unset it for 1",
    };
    let text = value.to_str().ok_or_else(invalid)?;
    // `parse` alone would take `+3`; the count is digits only.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_COOKIES).contains(&n) => Ok(n),
        _ => Err(invalid()),
    }
}

/// `REDIS_REPLICAS`: how many Redis replicas must have a logout before it is answered
/// (`RedisStoreBuilder::replicas`, with `WAIT`), default 0 (the primary's reply). With
/// `REDIS_URL` only.
pub const REDIS_REPLICAS: &str = "REDIS_REPLICAS";

/// [`REDIS_REPLICAS`], or 0 if unset.
///
/// # Errors
/// [`SettingError`] for anything but a whole number from 0 to 16.
pub fn redis_replicas() -> Result<u32, SettingError> {
    redis_replicas_from(std::env::var_os(REDIS_REPLICAS).as_deref())
}

/// [`redis_replicas`] for the value `value` of `REDIS_REPLICAS` (`None`: unset).
///
/// ```
/// use std::ffi::OsStr;
///
/// use sealed_session_examples::settings::redis_replicas_from;
///
/// assert_eq!(redis_replicas_from(None)?, 0);
/// assert_eq!(redis_replicas_from(Some(OsStr::new("1")))?, 1);
/// assert!(redis_replicas_from(Some(OsStr::new("one"))).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`redis_replicas`].
pub fn redis_replicas_from(value: Option<&OsStr>) -> Result<u32, SettingError> {
    let Some(value) = value else {
        return Ok(0);
    };
    let invalid = || SettingError {
        name: REDIS_REPLICAS,
        value: value.to_string_lossy().into_owned(),
        accepted: "a whole number of replicas from 0 (the primary's reply, the default) to 16, \
                   or unset it for 0",
    };
    let text = value.to_str().ok_or_else(invalid)?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<u32>() {
        Ok(n) if n <= 16 => Ok(n),
        _ => Err(invalid()),
    }
}

/// An environment variable holds a value the app does not accept.
#[derive(Debug)]
pub struct SettingError {
    name: &'static str,
    /// What was found, lossily decoded if it was not UTF-8.
    value: String,
    /// What to set instead.
    accepted: &'static str,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is `{}`, which is not accepted: set it to {}",
            self.name, self.value, self.accepted
        )
    }
}

impl std::error::Error for SettingError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_secure_defaults_to_true_and_accepts_booleans_in_any_case() {
        assert!(cookie_secure_from(None).unwrap());
        for on in ["true", "TRUE", "True", "1"] {
            assert!(cookie_secure_from(Some(OsStr::new(on))).unwrap(), "{on}");
        }
        for off in ["false", "FALSE", "False", "0"] {
            assert!(!cookie_secure_from(Some(OsStr::new(off))).unwrap(), "{off}");
        }
    }

    #[test]
    fn cookie_secure_refuses_anything_else_and_says_what_to_set() {
        for bad in ["", "yes", "off", " true", "2", "ture"] {
            let err = cookie_secure_from(Some(OsStr::new(bad))).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("`COOKIE_SECURE` is `{bad}`")),
                "{message}"
            );
            assert!(message.contains("`true` or `false`"), "{message}");
        }
    }

    #[test]
    fn cookie_chunks_defaults_to_one_and_accepts_one_to_ten() {
        assert_eq!(cookie_chunks_from(None).unwrap(), 1);
        for (text, n) in [("1", 1), ("3", 3), ("10", 10), ("03", 3)] {
            assert_eq!(
                cookie_chunks_from(Some(OsStr::new(text))).unwrap(),
                n,
                "{text}"
            );
        }
    }

    #[test]
    fn cookie_chunks_refuses_anything_else_and_says_what_to_set() {
        for bad in [
            "",
            "0",
            "11",
            "-1",
            "+3",
            " 3",
            "3 ",
            "three",
            "2.5",
            "99999999999999999999",
        ] {
            let err = cookie_chunks_from(Some(OsStr::new(bad))).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("`COOKIE_CHUNKS` is `{bad}`")),
                "{message}"
            );
            assert!(
                message.contains("from 1 (one cookie, the default) to 10"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_saved_throwaway_key_is_owner_only_and_reads_back_as_the_same_ring() {
        let dir = std::env::temp_dir().join(format!("throwaway-key-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("login.session-key");
        // A file left with wider permissions is replaced, not reused.
        fs::write(&path, "old\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        let key = SecretKey::generate();
        let expected = KeyRing::new(SecretKey::from_base64(&key.to_base64()).unwrap());
        save_throwaway_key(&key, &path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let read = KeyRing::new(SecretKey::from_base64(text.trim_end()).unwrap());
        assert_eq!(read.primary_id(), expected.primary_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn cookie_secure_refuses_a_value_that_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt as _;
        let err = cookie_secure_from(Some(OsStr::from_bytes(b"tru\xffe"))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`COOKIE_SECURE` is `tru\u{fffd}e`")
        );
    }
}
