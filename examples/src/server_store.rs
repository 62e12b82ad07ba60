//! The login app on server-side sessions: [`crate::contract`]'s routes, with actix-session's
//! `Session` over its `RedisSessionStore`. The cookie carries only a random session key (signed
//! and encrypted by actix-session); the data lives in Redis under that key.
//!
//! # What "too large" means here
//!
//! With a server-side store the cookie never grows, so nothing forces a limit. To keep the
//! contract (`POST /big` answers `413` and leaves the session as it was), every insert is
//! refused once the session would exceed [`MAX_SESSION_BYTES`], measured as the JSON body that
//! `RedisSessionStore` would `SET` (a map of JSON-encoded values). Random bytes are stored as a
//! JSON array of numbers, so `/big` fits about 18,000 of them, against about 3,000 in the cookie
//! of [`crate::login`].

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use actix_session::storage::RedisSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::web;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{AppSession, Immediate, InsertError};

/// Largest session the app stores, in bytes of the JSON that goes to Redis: 64 KiB.
///
/// A per-session cap of our own (actix-session has none): it keeps one client from filling
/// Redis, and gives `POST /big` the same `413` as the cookie app.
pub const MAX_SESSION_BYTES: usize = 64 * 1024;

/// The app's Redis key prefix: sessions are stored as `<prefix><session key>`.
pub const KEY_PREFIX: &str = "sealed-session-example:session:";

/// How long [`store`] tries to reach Redis before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The cookie's name, `Secure` or not. ([`crate::login`]'s is `__Host-id` when `Secure`, `id`
/// when not: the library's default.)
pub const COOKIE_NAME: &str = "id";

/// Registers the app's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::contract::routes::<Session>(cfg);
}

/// Connects to Redis at `url` and returns the store, whose keys start with `key_prefix`.
///
/// # Errors
/// [`ConnectError`] if Redis does not answer within [`CONNECT_TIMEOUT`], or `url` is invalid.
pub async fn store(url: &str, key_prefix: &str) -> Result<RedisSessionStore, ConnectError> {
    let key_prefix = key_prefix.to_owned();
    let build = RedisSessionStore::builder(url)
        // Namespace the keys: the Redis may hold other data (actix-session's default is the bare
        // session key).
        .cache_keygen(move |session_key| format!("{key_prefix}{session_key}"))
        .build();
    // The store connects now, and retries with back-off while Redis refuses: bound the wait.
    let cause = match actix_web::rt::time::timeout(CONNECT_TIMEOUT, build).await {
        Ok(Ok(store)) => return Ok(store),
        Ok(Err(err)) => Cause::Failed(err.into()),
        Err(_) => Cause::TimedOut,
    };
    Err(ConnectError {
        url: redact(url),
        cause,
    })
}

/// The session middleware over `store`, with cookies named [`COOKIE_NAME`], encrypted with `key`,
/// and marked `Secure` if `secure`.
pub fn middleware(
    store: RedisSessionStore,
    key: Key,
    secure: bool,
) -> SessionMiddleware<RedisSessionStore> {
    SessionMiddleware::builder(store, key)
        .cookie_name(COOKIE_NAME.to_owned())
        .cookie_secure(secure)
        .build()
}

/// Redis could not be reached at start-up.
#[derive(Debug)]
pub struct ConnectError {
    /// The URL, without its password.
    url: String,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    TimedOut,
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot reach Redis at `{}`: ", self.url)?;
        match &self.cause {
            Cause::TimedOut => write!(f, "no connection within {CONNECT_TIMEOUT:?}")?,
            Cause::Failed(err) => write!(f, "{err}")?,
        }
        write!(
            f,
            "; start a redis-server there, point `REDIS_URL` at one, or run through \
             `scripts/with-redis.sh`, which starts a throwaway one"
        )
    }
}

/// No `source`: the cause is already in the message, before the fix it suggests.
impl std::error::Error for ConnectError {}

/// `url` with the password, if any, replaced by `***`: error messages end up in logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

// `Session::method(self, ..)` below is actix-session's inherent method: inherent methods come
// before trait methods of the same name.
impl AppSession for Session {
    type Error = actix_web::Error;

    fn error_status(err: &actix_web::Error) -> u16 {
        crate::contract::actix_status(err)
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> actix_web::Result<Option<T>> {
        Ok(Session::get(self, key)?)
    }

    /// Refused past [`MAX_SESSION_BYTES`]; the session is then left untouched, so the request
    /// writes nothing to Redis.
    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), InsertError> {
        let encoded = serde_json::to_string(&value)
            .map_err(|err| InsertError::Other(actix_web::error::ErrorInternalServerError(err)))?;
        let size = stored_size(&self.entries(), key, encoded)
            .map_err(|err| InsertError::Other(actix_web::error::ErrorInternalServerError(err)))?;
        if size > MAX_SESSION_BYTES {
            return Err(InsertError::TooLarge {
                size,
                limit: MAX_SESSION_BYTES,
            });
        }
        Session::insert(self, key, value).map_err(|err| InsertError::Other(err.into()))
    }

    /// Clears the data and marks the session for a new key: at the end of the request,
    /// actix-session deletes the old Redis entry and saves the (empty) data under a new key.
    fn sign_in(&self, _user: &str) -> impl Future<Output = actix_web::Result<()>> + Send {
        Session::clear(self);
        Session::renew(self);
        Immediate::new(|| Ok(()))
    }

    /// Marks the session purged: at the end of the request, actix-session deletes the Redis entry
    /// (so a copy of the cookie finds nothing) and removes the cookie.
    fn purge(&self) -> impl Future<Output = actix_web::Result<()>> + Send {
        Session::purge(self);
        Immediate::new(|| Ok(()))
    }

    // `purge_subject` and `purge_other_sessions` keep the trait's `501`: actix-session's
    // `RedisSessionStore` keeps each session under a random key and no index from a user to
    // their sessions, so it can't find the other ones.
}

/// Bytes `RedisSessionStore` would `SET` for the session `entries` with `key` set to the
/// JSON-encoded value `encoded`: the store writes the whole map as one JSON object.
///
/// Serializing a copy is the simplest exact measure; it costs about the size of the session,
/// which [`MAX_SESSION_BYTES`] bounds (plus the one value being inserted).
fn stored_size(
    entries: &HashMap<String, String>,
    key: &str,
    encoded: String,
) -> Result<usize, serde_json::Error> {
    let mut state = entries.clone();
    state.insert(key.to_owned(), encoded);
    Ok(serde_json::to_vec(&state)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_size_is_the_json_the_store_writes() {
        let mut entries = HashMap::new();
        entries.insert("user".to_owned(), "\"alice\"".to_owned());
        // {"user":"\"alice\"","counter":"1"} in some order.
        let size = stored_size(&entries, "counter", "1".to_owned()).unwrap();
        assert_eq!(size, r#"{"user":"\"alice\"","counter":"1"}"#.len());
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://***@127.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379/"), "redis://127.0.0.1:6379/");
    }

    #[test]
    fn connect_error_names_the_url_and_the_fix() {
        let err = ConnectError {
            url: redact("redis://user:pw@127.0.0.1:1/"),
            cause: Cause::TimedOut,
        };
        let message = err.to_string();
        assert!(message.starts_with("cannot reach Redis at `redis://***@127.0.0.1:1/`"));
        assert!(message.contains("REDIS_URL"), "{message}");
        assert!(!message.contains("pw"), "{message}");
    }
}
