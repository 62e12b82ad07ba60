//! [`IntoRevocationStore`]: what the builder accepts as its revocation store, a store already
//! running or a configuration that starts one at `build`, with the lifecycle's clock.

use std::fmt;
use std::sync::Arc;

use super::config::NoRevocationConfig;
use crate::clock::Clock;
use crate::revocation::RevocationStore;

/// A revocation store, or what starts one: what
/// [`SessionBuilder::revocation_store`](super::SessionBuilder::revocation_store) takes.
///
/// Implemented for a running store (`Arc<S>` or `Arc<dyn RevocationStore>`) and, in
/// `sealed-session-redis`, for `RedisConfig` and the `"revocation"` setting of a configuration
/// file: those start at `build`, given the lifecycle's clock, so a store with background work
/// runs on the same time as the sessions (a test clock included).
///
/// ```
/// use std::sync::Arc;
/// use sealed_session::{KeyRing, SessionManager, MemoryRevocationStore, SecretKey};
///
/// let store = Arc::new(MemoryRevocationStore::new());
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .revocation_store(store.clone()) // a running store, kept to watch it
///     .build()?;
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
pub trait IntoRevocationStore: Send + 'static {
    /// The running store, started with `clock` if it isn't yet.
    fn into_store(self, clock: Arc<dyn Clock>) -> Arc<dyn RevocationStore>;
}

impl<S: RevocationStore> IntoRevocationStore for Arc<S> {
    fn into_store(self, _: Arc<dyn Clock>) -> Arc<dyn RevocationStore> {
        self
    }
}

impl IntoRevocationStore for Arc<dyn RevocationStore> {
    fn into_store(self, _: Arc<dyn Clock>) -> Arc<dyn RevocationStore> {
        self
    }
}

impl IntoRevocationStore for NoRevocationConfig {
    fn into_store(self, _: Arc<dyn Clock>) -> Arc<dyn RevocationStore> {
        match self {}
    }
}

/// What the builder keeps until `build` starts it.
pub(super) struct StoreChoice(Box<StartStore>);

/// Starts the chosen store with the lifecycle's clock.
type StartStore = dyn FnOnce(Arc<dyn Clock>) -> Arc<dyn RevocationStore> + Send;

impl StoreChoice {
    pub(super) fn new(store: impl IntoRevocationStore) -> Self {
        Self(Box::new(move |clock| store.into_store(clock)))
    }

    pub(super) fn start(self, clock: Arc<dyn Clock>) -> Arc<dyn RevocationStore> {
        (self.0)(clock)
    }
}

impl fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreChoice(started at build)")
    }
}
