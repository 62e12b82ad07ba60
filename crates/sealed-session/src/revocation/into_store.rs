//! [`IntoRevocationStore`]: what the session builder accepts as its revocation store, a store
//! already running or a configuration that starts one at `build`, with the lifecycle's clock;
//! and [`NoRevocationConfig`], the configuration file's store setting where there is none to
//! choose.

use std::sync::Arc;

use serde::Deserialize;

use super::RevocationStore;
use crate::clock::Clock;

/// A revocation store, or what starts one: what
/// [`SessionBuilder::revocation_store`](crate::SessionBuilder::revocation_store) takes.
///
/// Implemented for a running store (`Arc<S>` or `Arc<dyn RevocationStore>`) and, in
/// `sealed-session-redis`, for `RedisConfig` and the `"revocation"` setting of a configuration
/// file: those start at `build`, given the lifecycle's clock, so a store with background work
/// runs on the same time as the sessions (a test clock included).
///
/// ```
/// use std::sync::Arc;
/// use sealed_session::revocation::MemoryRevocationStore;
/// use sealed_session::{KeyRing, SecretKey, SessionManager};
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

    /// The running store, started with `clock` and `mac` if it isn't yet: what
    /// [`SessionBuilder::build`](crate::SessionBuilder::build) calls, with the session key
    /// ring's [`RevocationMac`](super::RevocationMac), so that a store that shares revocations
    /// with other instances authenticates them by default, with no key of its own to manage.
    /// Defaults to [`into_store`](Self::into_store): a store that shares nothing needs no key.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sealed_session::clock::SystemClock;
    /// use sealed_session::codec::UnixTime;
    /// use sealed_session::revocation::{IntoRevocationStore, MemoryRevocationStore, Revocation};
    /// use sealed_session::{KeyRing, SecretKey, SessionId};
    ///
    /// let mac = KeyRing::new(SecretKey::generate()).revocation_mac();
    /// let memory = Arc::new(MemoryRevocationStore::new());
    /// // A running store is itself: the key is for stores that share.
    /// let store = memory.clone().into_store_authenticated(Arc::new(SystemClock), mac);
    /// let (id, now) = (SessionId::random()?, UnixTime::from_secs(1_000));
    /// store.revoke(Revocation::Session { id, subject: None, until: UnixTime::from_secs(2_000) }, now)?;
    /// assert_eq!(memory.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn into_store_authenticated(
        self,
        clock: Arc<dyn Clock>,
        mac: super::RevocationMac,
    ) -> Arc<dyn RevocationStore>
    where
        Self: Sized,
    {
        drop(mac);
        self.into_store(clock)
    }
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

/// The `"revocation"` setting of an adapter built without a configurable store (e.g. without
/// its `redis` feature), and [`SessionConfig`](crate::SessionConfig)'s default: the field is
/// refused, with a message naming the feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRevocationConfig {}

impl<'de> Deserialize<'de> for NoRevocationConfig {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        // Whatever the value: the setting has no meaning without a store to choose.
        Err(serde::de::Error::custom(
            "`revocation` chooses a revocation store, which needs the adapter's `redis` \
             feature: enable it, or remove the field for this process's own store",
        ))
    }
}
