//! [`StoreChoice`]: the builder's [`IntoRevocationStore`], kept until `build` starts it with the
//! lifecycle's clock.

use std::fmt;
use std::sync::Arc;

use crate::clock::Clock;
use crate::revocation::{IntoRevocationStore, RevocationMac, RevocationStore};

/// What the builder keeps until `build` starts it.
pub(super) struct StoreChoice(Box<StartStore>);

/// Starts the chosen store with the lifecycle's clock and the key ring's revocation key.
type StartStore = dyn FnOnce(Arc<dyn Clock>, RevocationMac) -> Arc<dyn RevocationStore> + Send;

impl StoreChoice {
    pub(super) fn new(store: impl IntoRevocationStore) -> Self {
        Self(Box::new(move |clock, mac| {
            store.into_store_authenticated(clock, mac)
        }))
    }

    pub(super) fn start(
        self,
        clock: Arc<dyn Clock>,
        mac: RevocationMac,
    ) -> Arc<dyn RevocationStore> {
        (self.0)(clock, mac)
    }
}

impl fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreChoice(started at build)")
    }
}
