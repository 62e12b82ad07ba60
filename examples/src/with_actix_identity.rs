//! The login app on actix-identity and actix-session's `Session`, over sealed cookies:
//! [`crate::contract`]'s routes, with actix-session's `SessionMiddleware` kept and only its
//! store swapped for `sealed_session_actix::SealedSessionStore`.
//!
//! The user is actix-identity's: `POST /login` is `Identity::login`, `POST /logout` is
//! `Identity::logout`, and `/whoami`'s `user` is `Identity::id`. The store takes the session's
//! subject from actix-identity's user id, so the logouts revoke (a copy of the cookie stops
//! working) and `/logout-everywhere` and `/logout-others` work through the store's methods.

use std::future::{Ready, ready};

use actix_identity::{Identity, IdentityExt as _};
use actix_session::{Session, SessionExt as _};
use actix_web::dev::Payload;
use actix_web::middleware::from_fn;
use actix_web::{App, FromRequest, HttpMessage as _, HttpRequest, HttpServer, web};
use sealed_session_actix::sealed_session::adapter::InsertError as SizeError;
use sealed_session_actix::{SealedSessionStore, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{AppSession, Immediate, InsertError, RouteError, USER};
use crate::request_log;
use crate::settings::SealedSettings;

/// Registers the app's routes, and the store its handlers reach through [`IdentitySession`].
/// Wrap the app in `IdentityMiddleware` and then in `store.middleware()` (outermost).
pub fn routes(store: SealedSessionStore) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(store));
        crate::contract::routes::<IdentitySession>(cfg);
    }
}

/// Serves the app as `examples/with_actix_identity.rs` does, configured by the environment
/// (see that file), until the server stops.
///
/// # Errors
/// A bad setting (`SESSION_KEYS`, `PORT`, `COOKIE_SECURE`, `COOKIE_CHUNKS` other than 1,
/// `REDIS_URL`), or a port that can't be bound.
pub async fn run_from_env() -> Result<(), Box<dyn std::error::Error>> {
    let settings = SealedSettings::from_env()?;
    if settings.cookie_chunks != 1 {
        return Err(
            "COOKIE_CHUNKS must be 1 (or unset) here: actix-session writes one cookie".into(),
        );
    }
    let port = settings.port;
    let store = settings.builder(SealedSessionStore::builder).build()?;

    tracing::info!("listening on http://127.0.0.1:{port}");
    HttpServer::new(move || {
        App::new()
            .wrap(actix_identity::IdentityMiddleware::default())
            // actix-session's middleware, over the sealed store: outside actix-identity's.
            .wrap(store.middleware())
            // Outermost, so the time logged includes the session's work.
            .wrap(from_fn(request_log::log))
            .configure(routes(store.clone()))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}

/// What the contract's routes get: actix-session's `Session`, the request (actix-identity
/// reads its extensions) and the store.
pub struct IdentitySession {
    session: Session,
    request: HttpRequest,
    store: web::Data<SealedSessionStore>,
}

impl std::fmt::Debug for IdentitySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySession").finish_non_exhaustive()
    }
}

impl FromRequest for IdentitySession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match request.app_data::<web::Data<SealedSessionStore>>() {
            Some(store) => Ok(Self {
                session: request.get_session(),
                request: request.clone(),
                store: store.clone(),
            }),
            None => Err(actix_web::error::ErrorInternalServerError(
                "no `SealedSessionStore` in the app's data: configure the app with `routes(store)`",
            )),
        })
    }
}

impl AppSession for IdentitySession {
    type Error = actix_web::Error;

    fn error_status(err: &actix_web::Error) -> u16 {
        crate::contract::actix_status(err)
    }

    /// The contract's `user` is actix-identity's user id; the rest is actix-session's.
    fn get<T: DeserializeOwned>(&self, key: &str) -> actix_web::Result<Option<T>> {
        if key != USER {
            return Ok(self.session.get(key)?);
        }
        let Ok(identity) = self.request.get_identity() else {
            return Ok(None);
        };
        let id = identity
            .id()
            .map_err(actix_web::error::ErrorInternalServerError)?;
        serde_json::from_value(serde_json::Value::String(id))
            .map(Some)
            .map_err(actix_web::error::ErrorInternalServerError)
    }

    /// The store's: set for a cookie refused after it authenticated (logged out, not checkable
    /// yet, idle too long), whose logout still reaches the store.
    fn refusal_reason(&self) -> Option<&'static str> {
        let reason = self.store.refusal(&self.session)?;
        ["revoked", "revocation_unknown", "expired_idle"]
            .into_iter()
            .find(|known| *known == reason)
    }

    /// Checked against the cookie first (`SealedSessionStore::check_size`): actix-session's
    /// `insert` refuses nothing, and a session too large would fail when it is written.
    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), InsertError> {
        if key == USER {
            // `sign_in` stored it already, as actix-identity's user id.
            return Ok(());
        }
        let other = |err| InsertError::Other(actix_web::error::ErrorInternalServerError(err));
        let encoded = serde_json::to_string(&value).map_err(other)?;
        let mut state = self.session.entries().clone();
        state.insert(key.to_owned(), encoded);
        match self.store.check_size(&state) {
            Ok(()) => {}
            Err(StoreError::Insert(SizeError::TooLarge { size, limit })) => {
                return Err(InsertError::TooLarge { size, limit });
            }
            Err(err) => return Err(InsertError::Other(err.into())),
        }
        self.session
            .insert(key, value)
            .map_err(|err| InsertError::Other(err.into()))
    }

    /// `Identity::login`, on a session emptied first (the contract keeps no value from before
    /// the login; actix-identity alone would keep them): actix-session renews the session, and
    /// the store signs the user in (a new id, the old one revoked).
    fn sign_in(&self, user: &str) -> impl Future<Output = actix_web::Result<()>> + Send {
        self.session.clear();
        let done = Identity::login(&self.request.extensions(), user.to_owned()).map(drop);
        // actix-identity's error is not `Send`: carried as text to the future's end.
        let done = done.map_err(|err| err.to_string());
        async move { done.map_err(actix_web::error::ErrorInternalServerError) }
    }

    /// `Identity::logout` (or actix-session's `purge` without a user): the store revokes the
    /// session when actix-session deletes it.
    fn purge(&self) -> impl Future<Output = actix_web::Result<()>> + Send {
        match self.request.get_identity() {
            Ok(identity) => identity.logout(),
            Err(_) => self.session.purge(),
        }
        Immediate::new(|| Ok(()))
    }

    /// Recorded now, confirmed by the awaited future (which holds nothing of the request's).
    fn purge_subject(
        &self,
    ) -> impl Future<Output = Result<(), RouteError<actix_web::Error>>> + Send {
        let confirmation = self.store.purge_subject(&self.session);
        async move {
            confirmation
                .await
                .map_err(|err| RouteError::Session(StoreError::from(err).into()))?;
            Ok(())
        }
    }

    fn purge_other_sessions(
        &self,
    ) -> impl Future<Output = Result<(), RouteError<actix_web::Error>>> + Send {
        let marked = self
            .store
            .purge_other_sessions(&self.session)
            .map(drop)
            .map_err(|err| err.to_string());
        async move {
            marked
                .map_err(|err| RouteError::Session(actix_web::error::ErrorInternalServerError(err)))
        }
    }
}
