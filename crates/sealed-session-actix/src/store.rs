//! actix-session's storage backend on sealed cookies (feature `actix-session`): an application
//! keeps actix-session's `SessionMiddleware` and `Session`, and the crates built on them
//! (actix-identity, ...), and swaps only the store.
//!
//! actix-session calls the store around each request (its `src/middleware.rs`):
//!
//! ```text
//! request:   load(key)                      key = the cookie's value, after actix-session's
//!                                                 own check of its outer signature
//! response:  Changed  -> update(key, state) -> new key, set as the cookie
//!            Renewed  -> delete(key); save(state) -> new key
//!            Purged   -> delete(key), and the cookie is removed
//!            a new session with values -> save(state)
//! ```
//!
//! Here the key *is* the session: a sealed envelope of the core, opened by
//! `SessionManager::open_value` and written by `RequestSession::sealed_value`. Every decision
//! (which key opens, expiry, revocation, sign-in stamps) is the core's `RequestSession`'s; this
//! module only translates actix-session's map of JSON texts into it and back.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use actix_session::config::{
    BrowserSession, CookieContentSecurity, PersistentSession, SessionLifecycle,
    SessionMiddlewareBuilder,
};
use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::cookie::time::Duration;
use sealed_session::adapter::{InsertError, RequestInfo, RequestSession};
use sealed_session::revocation::Confirmation;
use sealed_session::{
    KeyRing, OpenError, RenewError, RevokeError, SameSite, SealError, SessionBuilder,
};
use sealed_session::{SessionManager, ValueError};

/// The session key actix-identity 0.9 keeps its user id under: the default
/// [subject key](SealedSessionStore::subject_key).
pub const ACTIX_IDENTITY_KEY: &str = "actix_identity.user_id";

/// What actix-session's signed cookie puts before our value: a base64 HMAC-SHA256, 44
/// characters (once the cookie is read, percent-decoded).
pub const ACTIX_SIGNATURE_LEN: usize = 44;

/// The most the signature takes in the `Set-Cookie` header: actix-session percent-encodes the
/// value, and each `/` of the signature, and its final `=`, takes three bytes there (our value,
/// base64url, takes none). About 47 bytes on average; 132 at worst.
const ACTIX_SIGNATURE_MAX_ENCODED_LEN: usize = 3 * ACTIX_SIGNATURE_LEN;

/// The [`size_limit`](SessionBuilder::size_limit) [`SealedSessionStore::builder`] sets: the
/// 4096 bytes browsers keep for a cookie's name and value, less the most actix-session's
/// signature can take, percent-encoded (132 bytes).
pub const ACTIX_SESSION_SIZE_LIMIT: usize = 4096 - ACTIX_SIGNATURE_MAX_ENCODED_LEN;

/// The session key a [`SealedSessionStore::purge_other_sessions`] sets: the store then ends the
/// subject's other sessions when it writes this one, and never stores the key itself.
const OTHER_SESSIONS_KEY: &str = "sealed_session.purge_other_sessions";

/// The session key `load` sets, to the reason (`OpenError::reason`), for a cookie refused after
/// it authenticated (logged out, not checkable yet, idle too long): actix-session then keeps
/// its session key, so a `purge` reaches `delete`, which records (or waits for) the logout that
/// cookie still names, and a write starts from it as the core decides (a new session, or a
/// refusal while the store can't check it yet). Read with [`SealedSessionStore::refusal`].
const REFUSED_KEY: &str = "sealed_session.refused";

/// The key actix-session signs its cookie with: public on purpose, and never rotated.
///
/// actix-session insists on signing or encrypting the session key with a `Key` of its own. Our
/// value is already sealed (AEAD or HMAC, bound to the cookie's name) under the key ring, which
/// rotates; a second secret would have to rotate in step with it, or every rotation of one
/// would log everyone out. So the outer signature is a formality: anyone can make one, and
/// what it signs is refused unless it opens under the key ring, exactly as a forged cookie is
/// refused by `CookieSessionMiddleware`. Signed rather than private: encryption under a public
/// key hides nothing, and a signature costs 44 characters where encryption costs a third of the
/// value more.
const ACTIX_SESSION_KEY: &[u8; 64] =
    b"sealed-session: actix-session's own cookie key, public by design";

/// actix-session's storage backend whose cookies are sealed sessions of the core: give it to
/// actix-session's `SessionMiddleware` and keep `actix_session::Session` and the crates built
/// on it (actix-identity) unchanged.
///
/// - `load` opens the cookie's value (a cookie that is forged, expired or logged out gives
///   actix-session no session, and logs why under [`LOG_TARGET`](crate::LOG_TARGET));
/// - `save` and `update` seal the session, with key rotation from the key ring, idle and
///   absolute expiry, and a size checked against the cookie;
/// - `delete` (actix-session's `purge`, and the first half of its `renew`) revokes the
///   session: a copy of the cookie stops working;
/// - the session's subject, for "log out everywhere" and the subject's generations, is the
///   value under the [subject key](SealedSessionStore::subject_key) (actix-identity's user id
///   by default): a new value signs the user in (a new id, stamped above the user's cutoff),
///   its removal logs that session out.
///
/// Build it with [`SealedSessionStore::builder`] (the core's builder, with the size limit
/// actix-session's signature leaves), and the middleware with
/// [`SealedSessionStore::middleware`], which repeats the cookie's name and attributes so that
/// they can't disagree:
///
/// ```
/// use actix_session::Session;
/// use actix_web::{App, HttpResponse, test, web};
/// use sealed_session_actix::{KeyRing, SealedSessionStore, SecretKey};
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = SealedSessionStore::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_secure(false)
///     .build()?;
/// let app = test::init_service(
///     App::new()
///         .wrap(store.middleware())
///         .route("/", web::post().to(|session: Session| async move {
///             session.insert("actix_identity.user_id", "alice")?;
///             Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
///         })),
/// )
/// .await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
/// let cookie = res.response().cookies().next().unwrap();
/// assert_eq!(cookie.name(), "id");
///
/// // The cookie's value is actix-session's signature, then the sealed session, whose
/// // subject is the user id.
/// let sealed = &cookie.value()[sealed_session_actix::ACTIX_SIGNATURE_LEN..];
/// let session = store.manager().open_value(sealed, Default::default());
/// assert_eq!(session.subject(), Some("alice"));
///
/// // A forged value is refused: no session, never an error.
/// let session = store.manager().open_value("forged", Default::default());
/// assert!(session.state().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// What actix-session's interface can't express, and how this store answers (the guide,
/// [`crate::migrating`], has the details):
/// - an unchanged session is never written, so its idle deadline slides only when the session
///   changes (as actix-session's own TTL does by default), and a cookie sealed by an older key
///   is re-sealed by the primary only then; `update_ttl` does nothing;
/// - a refused cookie is not removed (actix-session writes nothing for a session it could not
///   load); it is refused again on each request, until the browser drops it;
/// - actix-session's `renew` is a new sign-in for a session with a subject: a new stamp and a
///   new absolute window (its `save` is not told the old session);
/// - "sign out my other devices" and "log out everywhere" are methods of the store
///   ([`SealedSessionStore::purge_other_sessions`], [`SealedSessionStore::purge_subject`]);
///   a failure in the first, found when actix-session writes the session after the handler,
///   answers an opaque `500`, as every store error does in actix-session.
#[derive(Clone, Debug)]
pub struct SealedSessionStore {
    manager: SessionManager,
    subject_key: Arc<str>,
}

impl SealedSessionStore {
    /// The core's builder, with a [`size_limit`](SessionBuilder::size_limit) of
    /// [`ACTIX_SESSION_SIZE_LIMIT`]: a session that fits it fits, signed by actix-session, in a
    /// cookie browsers keep. Its `build` returns the store. (One cookie only: `max_cookies`
    /// above 1 is refused at `build`, since a size limit is set.)
    pub fn builder(ring: KeyRing) -> SessionBuilder<Self> {
        SessionBuilder::new(ring).size_limit(ACTIX_SESSION_SIZE_LIMIT)
    }

    /// The session key whose value is the session's subject. Defaults to
    /// [`ACTIX_IDENTITY_KEY`], actix-identity's user id; set it to what
    /// `IdentityMiddleware::builder().id_key(..)` was given, or to the key an application
    /// without actix-identity keeps its user id under.
    ///
    /// The subject is the value's JSON string, or, for another JSON value (a number), its JSON
    /// text: `"42"` and `42` are both the subject `42`.
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// use sealed_session_actix::{KeyRing, RenewError, SealedSessionStore, SecretKey, StoreError};
    ///
    /// // An app without actix-identity that keeps its user id under `user_id`.
    /// let store = SealedSessionStore::builder(KeyRing::new(SecretKey::generate()))
    ///     .build()?
    ///     .subject_key("user_id");
    /// // Under the subject key, a value is a subject, bounded by the revocation list's limit
    /// // (1024 bytes); anywhere else, only by the cookie.
    /// let long = "x".repeat(2000);
    /// store.check_size(&HashMap::from([("bio".to_owned(), long.clone())]))?;
    /// let err = store.check_size(&HashMap::from([("user_id".to_owned(), long)]));
    /// assert!(matches!(err, Err(StoreError::SignIn(RenewError::SubjectTooLong { .. }))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn subject_key(mut self, key: impl Into<String>) -> Self {
        self.subject_key = Arc::from(key.into());
        self
    }

    /// actix-session's middleware over this store, with the cookie's name and attributes of
    /// the store's settings, and actix-session's own key (see below).
    ///
    /// actix-session's cookie lives as long as the session: `Max-Age` is the idle timeout
    /// (reset by every write) for a [`PersistentSession`](crate::PersistentSession), none for
    /// a browser session.
    ///
    /// # actix-session's key
    /// actix-session signs its cookie with a `Key` of its own. This one is public, in this
    /// crate's source, and never changes: the value it signs is a sealed session, which only
    /// the key ring opens, so a signature anyone can make adds nothing to forge, and rotating
    /// the key ring never needs a second key rotated with it (nor logs anyone out). Don't change
    /// the cookie's settings on the builder ([`SealedSessionStore::middleware_builder`]): they
    /// come from the store, which seals the cookie's name into every value.
    pub fn middleware(&self) -> SessionMiddleware<Self> {
        self.middleware_builder().build()
    }

    /// [`SealedSessionStore::middleware`]'s builder, e.g. for actix-session's
    /// `TtlExtensionPolicy` (which changes nothing here: an unchanged session is never
    /// re-sealed). Its cookie settings are the store's: leave them.
    pub fn middleware_builder(&self) -> SessionMiddlewareBuilder<Self> {
        let attributes = self.manager.cookie_attributes();
        let lifecycle: SessionLifecycle = if attributes.persistent() {
            PersistentSession::default()
                .session_ttl(self.manager.codec().idle_timeout())
                .into()
        } else {
            BrowserSession::default().into()
        };
        let same_site = match attributes.same_site() {
            SameSite::Strict => actix_web::cookie::SameSite::Strict,
            SameSite::None => actix_web::cookie::SameSite::None,
            _ => actix_web::cookie::SameSite::Lax,
        };
        SessionMiddleware::builder(self.clone(), Key::from(ACTIX_SESSION_KEY))
            .cookie_name(self.manager.cookie_name().as_str().to_owned())
            .cookie_path(attributes.path().to_owned())
            .cookie_domain(attributes.domain().map(str::to_owned))
            .cookie_secure(attributes.secure())
            .cookie_http_only(attributes.http_only())
            .cookie_same_site(same_site)
            .cookie_content_security(CookieContentSecurity::Signed)
            .session_lifecycle(lifecycle)
    }

    /// The session lifecycle: its revocation store, key usage, `revoke_subject` for an admin
    /// task.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }

    /// Logs out every session of the subject of `session` ("log out everywhere"), this one
    /// included, and purges `session` (its cookie is removed): the core's
    /// [`SessionManager::revoke_subject`], with the subject read as the store reads it. The
    /// cutoff holds on this instance when this returns; the returned confirmation resolves to
    /// `true` once the shared store has it (`false`, changing nothing, when `session` has no
    /// subject). `session` is marked purged at once unless the logout was refused outright:
    /// if the confirmation then fails, answer `503` ("try again"); actix-session's removal of
    /// the cookie revokes the session and waits for the store again, so the cookie is removed
    /// only with a confirmed logout (otherwise that write fails, `500`, and the cookie stays).
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// use actix_session::Session;
    /// use sealed_session_actix::{SealedSessionStore, StoreError};
    ///
    /// async fn log_out_everywhere(
    ///     session: Session,
    ///     store: web::Data<SealedSessionStore>,
    /// ) -> actix_web::Result<HttpResponse> {
    ///     // A logout that can't be confirmed (Redis unreachable) answers 503: try again.
    ///     store.purge_subject(&session).await.map_err(StoreError::from)?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// ```
    ///
    /// # Errors
    /// The confirmation resolves to the [`RevokeError`] when the logout can't be recorded
    /// (`session` is then left as it was), or the shared store did not confirm it in time.
    pub fn purge_subject(&self, session: &Session) -> Confirmation<bool> {
        let Some(subject) = self.subject_in(&session.entries()) else {
            if self.refusal(session).is_some() {
                // A refused cookie still names a session: actix-session's `delete` records
                // (or waits for) its logout, and fails (`500`, the cookie kept) if it can't.
                session.purge();
            }
            return Confirmation::ready(Ok(false));
        };
        let confirmation = self.manager.revoke_subject(&subject);
        if !confirmation.is_refused() {
            session.purge();
        }
        confirmation.map(|_| true)
    }

    /// Marks `session` so that, when actix-session writes it after the handler, the store logs
    /// out every session of its subject authenticated before this one ("sign out my other
    /// devices") and renews this one: the core's `RequestSession::purge_other_sessions`,
    /// which keeps this session's authentication stamp, so that a stolen copy of an older
    /// cookie can't end a newer session. Returns `false`, changing nothing, when `session` has
    /// no subject.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// use actix_session::Session;
    /// use sealed_session_actix::SealedSessionStore;
    ///
    /// async fn log_out_others(
    ///     session: Session,
    ///     store: web::Data<SealedSessionStore>,
    /// ) -> actix_web::Result<HttpResponse> {
    ///     // Without a signed-in user, nothing to do (and nothing marked).
    ///     if !store.purge_other_sessions(&session)? {
    ///         return Ok(HttpResponse::Unauthorized().finish());
    ///     }
    ///     Ok(HttpResponse::Ok().finish()) // with a new cookie for this session
    /// }
    /// ```
    ///
    /// # Errors
    /// actix-session's, if the mark can't be stored. The outcome itself is known only when the
    /// session is written: a failure then (the session was logged out meanwhile, or the
    /// revocation could not be recorded) answers actix-session's opaque `500`.
    pub fn purge_other_sessions(
        &self,
        session: &Session,
    ) -> Result<bool, actix_session::SessionInsertError> {
        if self.subject_in(&session.entries()).is_none() {
            return Ok(false);
        }
        session.insert(OTHER_SESSIONS_KEY, true)?;
        Ok(true)
    }

    /// Why the request's cookie was refused, if it was refused after it authenticated (logged
    /// out: `"revoked"`, not checkable yet: `"revocation_unknown"`, idle too long:
    /// `"expired_idle"`): such a session reads as empty, and a logout made with it still
    /// reaches the store (a retry of a logout not confirmed is answered once it is).
    ///
    /// ```
    /// use actix_session::Session;
    /// use sealed_session_actix::SealedSessionStore;
    ///
    /// fn tell(store: &SealedSessionStore, session: &Session) -> String {
    ///     match store.refusal(session) {
    ///         Some(reason) => format!("your session ended ({reason}): sign in again"),
    ///         None => "welcome".to_owned(),
    ///     }
    /// }
    /// ```
    pub fn refusal(&self, session: &Session) -> Option<String> {
        session.get::<String>(REFUSED_KEY).ok().flatten()
    }

    /// Whether a session holding `state` fits in the cookie, as `save` would seal it: what
    /// an application checks before an insert that may be too large, since actix-session's
    /// `insert` can't refuse one (a session too large fails when it is written, with a `500`).
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// use sealed_session_actix::sealed_session::adapter::InsertError;
    /// use sealed_session_actix::{KeyRing, SealedSessionStore, SecretKey, StoreError};
    ///
    /// let store = SealedSessionStore::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut state = HashMap::from([("cart".to_owned(), r#"["sku-1"]"#.to_owned())]);
    /// store.check_size(&state)?;
    /// state.insert("blob".to_owned(), "x".repeat(5000));
    /// let err = store.check_size(&state).unwrap_err();
    /// assert!(matches!(err, StoreError::Insert(InsertError::TooLarge { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// What `save` would fail with: [`StoreError::Insert`] with `TooLarge` past the limit.
    pub fn check_size(&self, state: &HashMap<String, String>) -> Result<(), StoreError> {
        let mut session = self.manager.open([], RequestInfo::default());
        // A fresh session: nothing to revoke, so nothing to wait for.
        self.apply(&mut session, state)
    }

    /// The session of a session key, opened as the request's cookie would be.
    fn open(&self, key: &SessionKey) -> RequestSession {
        self.manager
            .open_value(key.as_ref(), RequestInfo::default())
    }

    /// The subject the value under the subject key names, if there is one.
    fn subject_in(&self, state: &HashMap<String, String>) -> Option<String> {
        let text = state.get(&*self.subject_key)?;
        Some(serde_json::from_str::<String>(text).unwrap_or_else(|_| text.clone()))
    }

    /// Makes `session` hold `state`: signs its subject in if it is a new one (a new session,
    /// the old one revoked), logs the session out if its subject was removed, then sets the
    /// values. Its revocations' confirmations are awaited by `write`, once, not blocked on.
    fn apply(
        &self,
        session: &mut RequestSession,
        state: &HashMap<String, String>,
    ) -> Result<(), StoreError> {
        match (session.subject(), self.subject_in(state)) {
            (current, Some(wanted)) if current != Some(wanted.as_str()) => {
                session.sign_in(wanted).map_err(StoreError::SignIn)?;
            }
            (Some(_), None) => session.purge().map_err(StoreError::Logout)?,
            _ => {}
        }
        // Emptied first, so that the session only grows toward `state` and no step is refused
        // as too large when `state` itself fits.
        session.clear();
        let kept = |key: &&String| *key != OTHER_SESSIONS_KEY && *key != REFUSED_KEY;
        for (key, value) in state.iter().filter(|(key, _)| kept(key)) {
            session
                .insert(key, value.as_str())
                .map_err(StoreError::Insert)?;
        }
        Ok(())
    }

    /// `save` (no `key`) and `update`: the session `state`, sealed into a new session key.
    /// The revocations it makes are confirmed by the shared store before it returns, awaited
    /// (no thread waits for Redis).
    async fn write(
        &self,
        key: Option<&SessionKey>,
        state: &HashMap<String, String>,
    ) -> Result<SessionKey, StoreError> {
        let mut session = match key {
            Some(key) => self.open(key),
            None => self.manager.open([], RequestInfo::default()),
        };
        if let Some(key) = key
            && session.state().is_none()
            && !state.contains_key(REFUSED_KEY)
        {
            // Refused since `load` opened it: logged out (or expired) while the request ran.
            // The same cookie is set again, still refused: the write goes nowhere, as a write
            // to a logged-out session does, and nothing is revived.
            return session_key(key.as_ref().to_owned());
        }
        session
            .without_blocking(|session| {
                self.apply(session, state)?;
                if state.contains_key(OTHER_SESSIONS_KEY) {
                    session
                        .purge_other_sessions()
                        .map_err(StoreError::OtherSessions)?;
                }
                if session.state().is_none() {
                    // actix-session asks for a key even for an empty session (a renewal).
                    session.renew().map_err(StoreError::SignIn)?;
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        let value = session.sealed_value().map_err(StoreError::Seal)?;
        session_key(value.unwrap_or_default())
    }
}

/// The reason of a cookie refused after it authenticated, whose session a logout must still
/// reach; `None` for one that names no session (forged, malformed, past its absolute deadline).
fn held_for_logout(session: &RequestSession) -> Option<&'static str> {
    session
        .refusal()
        .filter(OpenError::reaches_a_session)
        .map(|refusal| refusal.reason())
}

/// The store of a lifecycle built (or shared) elsewhere, with [`ACTIX_IDENTITY_KEY`] as its
/// subject key. Its size limit should leave room for actix-session's signature
/// ([`ACTIX_SESSION_SIZE_LIMIT`]): [`SealedSessionStore::builder`] sets it.
impl From<SessionManager> for SealedSessionStore {
    fn from(manager: SessionManager) -> Self {
        Self {
            manager,
            subject_key: Arc::from(ACTIX_IDENTITY_KEY),
        }
    }
}

impl SessionStore for SealedSessionStore {
    /// The cookie's session as actix-session's map of JSON texts, or `None` when the cookie is
    /// refused (forged, expired, logged out: the reason is logged by the core).
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let session = self.open(key);
        if session.state().is_none() {
            return Ok(held_for_logout(&session).map(|reason| {
                HashMap::from([(
                    REFUSED_KEY.to_owned(),
                    serde_json::Value::from(reason).to_string(),
                )])
            }));
        }
        session
            .values()
            .map(|value| match value.decode::<String>() {
                Ok(text) => Ok((value.key().to_owned(), text)),
                Err(source) => Err(StoreError::NotText {
                    key: value.key().to_owned(),
                    source,
                }),
            })
            .collect::<Result<_, _>>()
            .map(Some)
            .map_err(|err| LoadError::Deserialization(err.into()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        _ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        self.write(None, &state)
            .await
            .map_err(|err| SaveError::Other(err.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        self.write(Some(&key), &state)
            .await
            .map_err(|err| UpdateError::Other(err.into()))
    }

    /// Nothing: a new deadline needs a new value, which actix-session can't take from here.
    async fn update_ttl(&self, _key: &SessionKey, _ttl: &Duration) -> Result<(), anyhow::Error> {
        Ok(())
    }

    /// Revokes the session (actix-session's `purge`, and the old session of a `renew`): a copy
    /// of the cookie stops working. The one place a logout is recorded and awaited.
    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.open(key)
            .without_blocking(RequestSession::purge)
            .await
            .map_err(StoreError::Logout)?;
        Ok(())
    }
}

/// `value` as actix-session's session key.
fn session_key(value: String) -> Result<SessionKey, StoreError> {
    let len = value.len();
    SessionKey::try_from(value).map_err(|_| StoreError::KeyTooLong { len })
}

/// Why [`SealedSessionStore`] could not load or write a session. actix-session answers every
/// store error with an opaque `500`, and logs it.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// A value could not be stored (too large for the cookie, ...): nothing was written.
    Insert(InsertError),
    /// A new subject could not be signed in (its old session not revoked, no new id).
    SignIn(RenewError),
    /// A logout (`purge`, a removed subject, "log out everywhere") could not be recorded, or
    /// the shared revocation store did not confirm a revocation of the write in time (a
    /// logout's, or that of the session a sign-in or renewal replaced).
    Logout(RevokeError),
    /// "Sign out my other devices" failed (the session was logged out meanwhile, or the
    /// revocation could not be recorded).
    OtherSessions(RenewError),
    /// The session could not be sealed.
    Seal(SealError),
    /// A value in the cookie is not a JSON text (a session written by something else than
    /// this store under the same cookie name and keys).
    NotText {
        /// The value's key.
        key: String,
        /// Why it does not decode as text.
        source: ValueError,
    },
    /// The sealed session is longer than actix-session's session keys may be.
    KeyTooLong {
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Insert(err) => write!(f, "the session was not written: {err}"),
            Self::SignIn(err) => write!(f, "the new user was not signed in: {err}"),
            Self::Logout(err) => write!(f, "the logout is not done, try again: {err}"),
            Self::OtherSessions(err) => write!(f, "the other sessions were not ended: {err}"),
            Self::Seal(err) => write!(f, "the session was not sealed: {err}"),
            Self::NotText { key, .. } => write!(
                f,
                "session value `{key}` is not a JSON text: the cookie was written by another \
                 app under the same cookie name and keys; give each app its own cookie name"
            ),
            Self::KeyTooLong { len } => write!(
                f,
                "the sealed session is {len} bytes, past the 4064 of actix-session's session \
                 key: keep the size limit at `ACTIX_SESSION_SIZE_LIMIT` or below"
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Insert(err) => Some(err),
            Self::SignIn(err) | Self::OtherSessions(err) => Some(err),
            Self::Logout(err) => Some(err),
            Self::Seal(err) => Some(err),
            Self::NotText { source, .. } => Some(source),
            Self::KeyTooLong { .. } => None,
        }
    }
}

/// A revocation the shared store did not confirm (what `write` awaits after its calls).
impl From<RevokeError> for StoreError {
    fn from(err: RevokeError) -> Self {
        Self::Logout(err)
    }
}

/// The status a handler's [`SealedSessionStore::purge_subject`] answers with: `503` for a
/// logout that could not be recorded (try again), as the core's errors; an opaque `500`
/// otherwise. The body is empty; the error is logged.
impl actix_web::ResponseError for StoreError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        let status = match self {
            Self::Logout(err) => err.http_status(),
            Self::SignIn(err) | Self::OtherSessions(err) => err.http_status(),
            _ => 500,
        };
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        tracing::error!(target: sealed_session::LOG_TARGET, "session store: {self}");
        actix_web::HttpResponse::new(self.status_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_at_the_limit_fits_in_a_cookie_even_with_the_worst_signature() {
        // actix-session's `Set-Cookie`: the signature (43 characters of base64 and a `=`)
        // before our value, percent-encoded. At worst every character of the signature is a
        // `/`; our value (base64url) and name are written as they are.
        let name = "id";
        let sealed = "A".repeat(ACTIX_SESSION_SIZE_LIMIT - name.len());
        let value = format!("{}={sealed}", "/".repeat(ACTIX_SIGNATURE_LEN - 1));
        let cookie = actix_web::cookie::Cookie::new(name, value);
        let pair = cookie.encoded().to_string();
        // Browsers keep a cookie whose name and value take at most 4096 bytes.
        assert_eq!(pair.len() - "=".len(), 4096, "{pair}");
    }
}
