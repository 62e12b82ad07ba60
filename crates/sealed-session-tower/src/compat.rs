//! tower-sessions 0.14's `Session` on the sealed cookie (feature `tower-sessions`), for
//! axum-login and any code written against that `Session`.
//!
//! [`TowerSessionsLayer`] wraps [`CookieSessionLayer`]: the cookie is read and written by it,
//! unchanged. Between the two, each request gets a `tower_sessions::Session` whose store is the
//! request's sealed session ([`RequestStore`]): `load` reads its values, `delete` marks it ended,
//! `save` and `create` write the record back. Writing back is where tower-sessions' operations
//! become the lifecycle's ([`RequestStore::apply`], the one place that revokes): a `flush` a
//! logout, a `cycle_id` a renewal, a new axum-login user a sign-in.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use async_trait::async_trait;
use http::{Request, Response, StatusCode};
use sealed_session::prelude::OffsetDateTime;
use sealed_session::{LOG_TARGET, Session, SessionError, SessionId, SessionInsertError};
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::{SessionStore, session_store};

use crate::{CookieSessionLayer, CookieSessionService};

/// The key axum-login keeps its data under unless told otherwise
/// (`AuthManagerLayerBuilder::with_data_key`): `{"user_id": ..., "auth_hash": [...]}`.
pub const AXUM_LOGIN_DATA_KEY: &str = "axum-login.data";

/// A tower-sessions record's values.
type Data = HashMap<String, Value>;

/// A tower [`Layer`] that puts tower-sessions 0.14's `Session` (`tower_sessions::Session`, which
/// axum-login 0.18 reads) in each request, backed by the sealed cookie of a
/// [`CookieSessionLayer`] (feature `tower-sessions`).
///
/// axum-login's `AuthManagerLayerBuilder` insists on tower-sessions' own `SessionManagerLayer`,
/// whose cookie holds a random id; its `AuthManager` needs only the `Session`. So an
/// axum-login app replaces
/// `AuthManagerLayerBuilder::new(backend, session_layer).build()` by this layer around
/// `AuthManager`, and keeps its handlers, `AuthSession` and `login_required!` as they are:
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_login::{AuthManager, AuthSession, AuthUser, AuthnBackend, UserId};
/// use sealed_session_tower::{
///     AXUM_LOGIN_DATA_KEY, CookieSessionLayer, KeyRing, SecretKey, TowerSessionsLayer,
/// };
/// use tower_layer::layer_fn;
///
/// # #[derive(Clone, Debug)]
/// # struct User(u64);
/// # impl AuthUser for User {
/// #     type Id = u64;
/// #     fn id(&self) -> u64 { self.0 }
/// #     fn session_auth_hash(&self) -> &[u8] { b"password hash" }
/// # }
/// # #[derive(Clone, Debug)]
/// # struct Backend;
/// # impl AuthnBackend for Backend {
/// #     type User = User;
/// #     type Credentials = u64;
/// #     type Error = std::convert::Infallible;
/// #     async fn authenticate(&self, id: u64) -> Result<Option<User>, Self::Error> { Ok(Some(User(id))) }
/// #     async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Self::Error> { Ok(Some(User(*id))) }
/// # }
/// async fn me(auth: AuthSession<Backend>) -> String {
///     format!("{:?}", auth.user)
/// }
///
/// let backend = Backend;
/// let sessions = CookieSessionLayer::new(KeyRing::new(SecretKey::generate()));
/// // Was: `AuthManagerLayerBuilder::new(backend, session_layer).build()`.
/// let auth_layer = (
///     TowerSessionsLayer::new(sessions),
///     layer_fn(move |inner| AuthManager::new(inner, backend.clone(), AXUM_LOGIN_DATA_KEY)),
/// );
/// let app: Router = Router::new().route("/me", get(me)).layer(auth_layer);
/// ```
///
/// What tower-sessions' operations become, when the handler has returned (or at an explicit
/// `session.save().await`, whose error then says why):
/// - values: each key is one value of the sealed session, its `serde_json::Value` stored as
///   MessagePack, so `sealed_session_tower::Session` reads them too (`get::<u64>` for a JSON
///   number); values that are not JSON (e.g. raw bytes inserted through
///   [`Session`](crate::Session)) are left out of tower-sessions' view and kept;
/// - the subject: the `user_id` under the [data key](TowerSessionsLayer::data_key) (a JSON
///   string as it is, anything else as its JSON text, `42` for `42`). A new one signs it in
///   ([`Session::sign_in`](crate::Session::sign_in): a new id and authentication stamp, the old
///   id revoked, then the record's values written), so axum-login's `login` is a sign-in and
///   [`Session::purge_subject`](crate::Session::purge_subject) logs the user out everywhere;
///   removing it alone ends the signed-in session and starts an anonymous one with the
///   remaining values (a logout that keeps a cart);
/// - `flush` (axum-login's `logout`), `delete`, or a session left without values:
///   [`Session::purge`](crate::Session::purge), so a copy of the cookie is refused; for a
///   cookie refused after it authenticated (revoked, idle too long, not checkable yet:
///   [`OpenError::reaches_a_session`](sealed_session::OpenError::reaches_a_session)), which
///   tower-sessions sees as no session, the empty save of its `flush` is that logout;
/// - `cycle_id` that keeps the user: [`Session::renew`](crate::Session::renew);
/// - `set_expiry` and `Expiry`: no effect, the [`CookieSessionLayer`]'s timeouts apply to
///   every session.
///
/// As with tower-sessions, a handler's changes are not saved when its response is a server
/// error (`5xx`), except a `flush`, `delete` or `cycle_id`, which tower-sessions' stores carry
/// out at once. When writing back fails (a logout whose revocation could not be recorded or
/// confirmed, a value too large for the cookie), the response is replaced by an empty one
/// with the error's status (`503` for a revocation, see
/// [`SessionError::http_status`]), and the event is logged under [`LOG_TARGET`]: a logout
/// never passes for done. A handler that wants to answer that itself calls
/// `session.save().await` after the change: the error comes back there (a
/// `session_store::Error::Backend` whose message is the [`SessionError`]'s), and the response
/// is left to the handler, unless the handler logs out after it (`flush`, `delete`): that
/// logout is still carried out once it returns.
///
/// # Security
/// axum-login keeps `AuthUser::session_auth_hash` (often derived from the password hash) in
/// the session, so in the cookie: with the default [`Mode`](crate::Mode) the cookie is
/// encrypted, but with `Mode::Signed` the client can read every value. Keep the default.
#[derive(Clone, Debug)]
pub struct TowerSessionsLayer {
    sessions: CookieSessionLayer,
    data_key: Arc<str>,
}

impl TowerSessionsLayer {
    /// The layer over `sessions`, reading the subject under [`AXUM_LOGIN_DATA_KEY`].
    pub fn new(sessions: CookieSessionLayer) -> Self {
        Self {
            sessions,
            data_key: AXUM_LOGIN_DATA_KEY.into(),
        }
    }

    /// The key under which axum-login keeps its data, when it was changed with
    /// `AuthManagerLayerBuilder::with_data_key` (give `AuthManager::new` the same one).
    /// Defaults to [`AXUM_LOGIN_DATA_KEY`], axum-login's default.
    ///
    /// ```
    /// use sealed_session_tower::{CookieSessionLayer, KeyRing, SecretKey, TowerSessionsLayer};
    ///
    /// let sessions = CookieSessionLayer::new(KeyRing::new(SecretKey::generate()));
    /// let layer = TowerSessionsLayer::new(sessions).data_key("auth");
    /// ```
    #[doc(alias = "with_data_key")]
    #[must_use]
    pub fn data_key(mut self, key: impl Into<Arc<str>>) -> Self {
        self.data_key = key.into();
        self
    }

    /// The cookie layer underneath, e.g. for its
    /// [`manager`](CookieSessionLayer::manager) in an admin task.
    pub fn sessions(&self) -> &CookieSessionLayer {
        &self.sessions
    }
}

impl<S> Layer<S> for TowerSessionsLayer {
    type Service = CookieSessionService<TowerSessionsService<S>>;

    fn layer(&self, inner: S) -> Self::Service {
        self.sessions.layer(TowerSessionsService {
            inner,
            data_key: Arc::clone(&self.data_key),
        })
    }
}

/// The service [`TowerSessionsLayer`] puts inside the cookie layer's: it hands the handler a
/// `tower_sessions::Session` and writes what it did back to the sealed session.
#[derive(Clone, Debug)]
pub struct TowerSessionsService<S> {
    inner: S,
    data_key: Arc<str>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TowerSessionsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: Default + Send,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Always there: the layer puts this service inside the cookie layer's. Were it not, a
        // detached session refuses every write, and the response says so.
        let sealed = req
            .extensions()
            .get::<Session>()
            .cloned()
            .unwrap_or_else(Session::detached);
        let store = Arc::new(RequestStore::new(sealed, Arc::clone(&self.data_key)));
        let session = tower_sessions_core::Session::new(store.id(), Arc::clone(&store), None);
        req.extensions_mut().insert(session.clone());
        // The service that was polled ready is the one to call (tower's `Service` contract).
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let res = ready.call(req).await?;
            Ok(written_back(res, &store, &session).await)
        })
    }
}

/// `res`, once what the handler did to `session` is written back to the sealed session; or, if
/// it can't be, an empty response with the failure's status.
async fn written_back<B: Default>(
    res: Response<B>,
    store: &RequestStore,
    session: &tower_sessions_core::Session,
) -> Response<B> {
    let Err(failure) = store.finish(session, res.status().is_server_error()).await else {
        return res;
    };
    tracing::error!(
        target: LOG_TARGET,
        "tower-sessions' changes not written to the sealed session: {failure}"
    );
    let mut res = Response::new(B::default());
    *res.status_mut() =
        StatusCode::from_u16(failure.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res
}

/// tower-sessions' store for one request: its sealed session.
#[derive(Debug)]
struct RequestStore {
    sealed: Session,
    data_key: Arc<str>,
    written: Mutex<Written>,
}

/// What tower-sessions knows of the sealed session, as of the last write back.
#[derive(Debug)]
struct Written {
    /// The sealed session's id as tower-sessions knows it (`None` without a session).
    id: Option<Id>,
    /// The values as tower-sessions last saw them (loaded, or written back); `None` until then.
    seen: Option<Data>,
    /// tower-sessions deleted the session (`flush`, `delete`, `cycle_id`) since the last write.
    deleted: bool,
    /// The last write back failed and `save` returned the error to the handler.
    failure: Option<Failure>,
}

impl RequestStore {
    fn new(sealed: Session, data_key: Arc<str>) -> Self {
        let id = sealed.id().map(tower_id);
        Self {
            sealed,
            data_key,
            written: Mutex::new(Written {
                id,
                seen: None,
                deleted: false,
                failure: None,
            }),
        }
    }

    fn written(&self) -> MutexGuard<'_, Written> {
        // Nothing panics while it is held: the flag carries nothing to act on.
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn id(&self) -> Option<Id> {
        self.written().id
    }

    /// The sealed session's values that are JSON, as tower-sessions sees them.
    fn view(&self) -> Data {
        self.sealed
            .entries()
            .into_iter()
            .filter_map(|value| match value.decode::<Value>() {
                Ok(json) => Some((value.key().to_owned(), json)),
                Err(err) => {
                    tracing::debug!(
                        target: LOG_TARGET,
                        "session value `{}` left out of tower-sessions' view: {err}",
                        value.key()
                    );
                    None
                }
            })
            .collect()
    }

    /// The subject `data` names: axum-login's `user_id`.
    fn subject(&self, data: &Data) -> Option<String> {
        match data.get(&*self.data_key)?.get("user_id")? {
            Value::Null => None,
            Value::String(id) => Some(id.clone()),
            other => Some(other.to_string()),
        }
    }

    /// Once the handler returned: writes back what it left unsaved, as tower-sessions'
    /// `SessionManager` saves (not after a server error, except a deletion).
    async fn finish(
        &self,
        session: &tower_sessions_core::Session,
        server_error: bool,
    ) -> Result<(), Failure> {
        let deleted = {
            let written = self.written();
            if written.failure.is_some() {
                // The handler's `save` got the error, and answered it (a deletion since, a
                // logout after the failed save, cleared it: `delete`).
                return Ok(());
            }
            written.deleted
        };
        let modified = session.is_modified();
        if !deleted && (!modified || server_error) {
            return Ok(());
        }
        let saved = if modified {
            session.save().await.map_err(|_| ())
        } else {
            // Deleted and nothing else: nothing for `save` to write.
            self.apply(true, &Data::new()).await.map_err(|_| ())
        };
        match saved {
            Ok(()) => Ok(()),
            Err(()) => Err(self
                .written()
                .failure
                .take()
                .unwrap_or(Failure::Session(SessionError::MissingMiddleware))),
        }
    }

    /// Writes `data` back to the sealed session. `same_id`: tower-sessions saved under the id it
    /// had (`save`), not under a new one (`create`, after `cycle_id` or `flush`, or a first
    /// save).
    ///
    /// The one place where tower-sessions' operations become revocations (`purge`, `sign_in`,
    /// `renew`, each awaiting its revocation's durability). No lock of this store is held
    /// meanwhile: tower-sessions calls its store under its own record lock, one call at a time.
    async fn apply(&self, same_id: bool, data: &Data) -> Result<(), Failure> {
        let (deleted, seen) = {
            let mut written = self.written();
            (std::mem::take(&mut written.deleted), written.seen.take())
        };
        let seen = seen.unwrap_or_else(|| self.view());
        let result = self.carry_out(deleted, same_id, &seen, data).await;
        let mut written = self.written();
        written.id = self.sealed.id().map(tower_id);
        match result {
            Ok(()) => {
                written.seen = Some(data.clone());
                written.failure = None;
                Ok(())
            }
            Err(failure) => {
                // As it was: the retry (a second `save`) writes back the same change.
                written.seen = Some(seen);
                written.deleted = deleted;
                written.failure = Some(failure.clone());
                Err(failure)
            }
        }
    }

    /// [`RequestStore::apply`]'s work: `seen` as it was, `data` as tower-sessions saves it.
    async fn carry_out(
        &self,
        deleted: bool,
        same_id: bool,
        seen: &Data,
        data: &Data,
    ) -> Result<(), Failure> {
        let (before, after) = (self.subject(seen), self.subject(data));
        // `delete`, or `flush`: the session ends. A session emptied ends too, and so does an
        // empty save on a cookie refused after it authenticated (tower-sessions saw no session,
        // so its `flush` reaches no `delete`): revoked (maybe the retry of a logout the shared
        // store did not confirm: `purge` answers once it has), not checkable yet, or idle too
        // long (a copy kept active may hold its id).
        let refused_session = self
            .sealed
            .refusal()
            .is_some_and(|refusal| refusal.reaches_a_session());
        let ends = (deleted && same_id)
            || (data.is_empty() && (deleted || !seen.is_empty() || refused_session))
            || (after.is_none() && before.is_some());
        let empty = Data::new();
        let mut held = seen;
        if ends {
            self.sealed.purge().await.map_err(Failure::Session)?;
            held = &empty;
        }
        match after {
            Some(subject) if ends || before.as_deref() != Some(subject.as_str()) => {
                self.sealed
                    .sign_in(subject)
                    .await
                    .map_err(Failure::Session)?;
                held = &empty;
            }
            _ if deleted && !ends => self.sealed.renew().await.map_err(Failure::Session)?,
            _ => {}
        }
        for key in held.keys().filter(|key| !data.contains_key(*key)) {
            self.sealed.remove(key);
        }
        let mut changed: Vec<_> = data
            .iter()
            .filter(|(key, value)| held.get(*key) != Some(value))
            .collect();
        // Sorted: the same request fails on the same key.
        changed.sort_unstable_by_key(|(key, _)| *key);
        for (key, value) in changed {
            self.sealed
                .insert(key.clone(), value)
                .map_err(Failure::Insert)?;
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for RequestStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.apply(false, &record.data)
            .await
            .map_err(Failure::into_store)?;
        if let Some(id) = self.id() {
            record.id = id;
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.apply(true, &record.data)
            .await
            .map_err(Failure::into_store)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if self.id() != Some(*id) {
            return Ok(None);
        }
        let data = self.view();
        self.written().seen = Some(data.clone());
        Ok(Some(Record {
            id: *id,
            data,
            // tower-sessions sets it again before each save, from the session's `Expiry`;
            // the cookie layer's timeouts are what apply.
            expiry_date: OffsetDateTime::UNIX_EPOCH,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut written = self.written();
        if written.id == Some(*id) {
            written.deleted = true;
            // A deletion after a failed write (a logout after a `save` that got an error): the
            // response still carries it out.
            written.failure = None;
        }
        Ok(())
    }
}

/// tower-sessions' id for a sealed session's: the same 16 bytes.
fn tower_id(id: SessionId) -> Id {
    Id(i128::from_le_bytes(*id.as_bytes()))
}

/// Why tower-sessions' changes could not be written to the sealed session.
#[derive(Debug, Clone)]
enum Failure {
    /// The logout, sign-in or renewal failed.
    Session(SessionError),
    /// A value could not be stored (too large for the cookie, ...).
    Insert(SessionInsertError),
}

impl Failure {
    fn http_status(&self) -> u16 {
        match self {
            Self::Session(err) => err.http_status(),
            Self::Insert(err) => err.http_status(),
        }
    }

    /// The error tower-sessions' `save` returns: its message is this one's.
    fn into_store(self) -> session_store::Error {
        session_store::Error::Backend(self.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Session(err) => err.fmt(f),
            Self::Insert(err) => err.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use sealed_session::adapter::RequestInfo;
    use sealed_session::{KeyRing, SecretKey, SessionManager};
    use serde_json::json;

    use super::*;

    /// One request on `cookie`: its sealed session, and tower-sessions' on it.
    fn request(
        manager: &SessionManager,
        cookie: Option<&str>,
    ) -> (Session, Arc<RequestStore>, tower_sessions_core::Session) {
        let sealed = manager.attach(cookie.map(str::as_bytes), RequestInfo::new("/"));
        let store = Arc::new(RequestStore::new(
            sealed.clone(),
            AXUM_LOGIN_DATA_KEY.into(),
        ));
        let session = tower_sessions_core::Session::new(store.id(), Arc::clone(&store), None);
        (sealed, store, session)
    }

    /// The `name=value` of the session cookie the response sets.
    fn cookie_of(sealed: &Session) -> String {
        let cookies = sealed.finish().unwrap();
        let header = cookies.headers().next().expect("a cookie is set");
        header.split(';').next().unwrap().to_owned()
    }

    #[tokio::test]
    async fn json_values_round_trip_through_the_cookie() {
        let manager = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .build()
            .unwrap();
        let values = json!({
            "null": null,
            "bool": true,
            "max": u64::MAX,
            "min": i64::MIN,
            "half": 1.5,
            "whole float": 2.0,
            "text": "é\u{0}\"",
            "array": [1, "two", [3.25], {}],
            "object": { "nested": { "empty": [] } },
        });
        let values = values.as_object().unwrap();
        let (sealed, store, session) = request(&manager, None);
        for (key, value) in values {
            session.insert_value(key, value.clone()).await.unwrap();
        }
        store.finish(&session, false).await.unwrap();
        let cookie = cookie_of(&sealed);

        let (sealed, _, session) = request(&manager, Some(&cookie));
        for (key, value) in values {
            let read = session.get_value(key).await.unwrap();
            assert_eq!(read.as_ref(), Some(value), "{key}");
            // The float stays a float, the integer an integer.
            assert_eq!(read.unwrap().to_string(), value.to_string(), "{key}");
        }
        // The sealed session reads them with their Rust types.
        assert_eq!(sealed.get::<u64>("max").unwrap(), Some(u64::MAX));
        assert_eq!(sealed.get::<i64>("min").unwrap(), Some(i64::MIN));
        assert_eq!(sealed.get::<f64>("half").unwrap(), Some(1.5));
        assert_eq!(sealed.get::<String>("text").unwrap().unwrap(), "é\u{0}\"");
    }

    /// Serializes as MessagePack `bin`, which JSON has no type for.
    struct Raw;

    impl serde::Serialize for Raw {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(&[1, 2, 3])
        }
    }

    #[tokio::test]
    async fn values_that_are_not_json_stay_out_of_view_and_are_kept() {
        let manager = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .build()
            .unwrap();
        let (sealed, store, session) = request(&manager, None);
        sealed.insert("raw", Raw).unwrap();
        session.insert("n", 1).await.unwrap();
        store.finish(&session, false).await.unwrap();
        let cookie = cookie_of(&sealed);

        let (sealed, store, session) = request(&manager, Some(&cookie));
        assert_eq!(session.get_value("raw").await.unwrap(), None);
        session.insert("n", 2).await.unwrap();
        store.finish(&session, false).await.unwrap();
        let cookie = cookie_of(&sealed);

        let (sealed, _, _) = request(&manager, Some(&cookie));
        assert_eq!(sealed.get::<u64>("n").unwrap(), Some(2));
        let raw = sealed.entries().into_iter().find(|v| v.key() == "raw");
        // MessagePack `bin 8` of 3 bytes, as inserted.
        assert_eq!(raw.unwrap().as_bytes(), [0xc4, 3, 1, 2, 3]);
    }

    #[test]
    fn the_subject_is_axum_logins_user_id() {
        let store = RequestStore::new(Session::detached(), AXUM_LOGIN_DATA_KEY.into());
        let data = |user_id: Value| -> Data {
            [(
                AXUM_LOGIN_DATA_KEY.to_owned(),
                json!({ "user_id": user_id, "auth_hash": [1, 2] }),
            )]
            .into()
        };
        assert_eq!(
            store.subject(&data(json!("alice"))).as_deref(),
            Some("alice")
        );
        assert_eq!(store.subject(&data(json!(42))).as_deref(), Some("42"));
        assert_eq!(
            store
                .subject(&data(json!({ "org": 1, "user": 2 })))
                .as_deref(),
            Some(r#"{"org":1,"user":2}"#)
        );
        assert_eq!(store.subject(&data(Value::Null)), None);
        assert_eq!(store.subject(&Data::new()), None);
        let other_key = RequestStore::new(Session::detached(), "auth".into());
        assert_eq!(other_key.subject(&data(json!(42))), None);
    }
}
