//! What describes a key, beside the [`SecretKey`](crate::SecretKey) and
//! [`KeyRing`](crate::KeyRing) an application builds at the crate root: the [`KeyId`] every
//! cookie's header names, the [`KeyRole`] of a key in its ring, the per-key counts of
//! [`SessionManager::key_usage`](crate::SessionManager::key_usage) ([`KeyUse`]) that tell when an
//! old key can go, and the limits a configured key list is checked against
//! ([`MIN_SECRET_LEN`], [`OPEN_ONLY_PREFIX`]).
//!
//! The rotation runbook that uses them is [`crate::guide::operations`].
//!
//! ```
//! use sealed_session::keys::{KeyRole, OPEN_ONLY_PREFIX};
//! use sealed_session::{KeyRing, SecretKey, SessionManager};
//!
//! // Step one of a rotation: every instance learns the new key before any of them seals with it.
//! let (current, next) = (SecretKey::generate(), SecretKey::generate());
//! let keys = format!("{OPEN_ONLY_PREFIX}{},{}", *next.to_base64(), *current.to_base64());
//! let ring = KeyRing::from_config(&keys)?;
//! let sessions = SessionManager::builder(ring).build()?;
//!
//! let roles: Vec<KeyRole> = sessions.key_usage().iter().map(|k| k.role).collect();
//! assert!(roles.contains(&KeyRole::Primary) && roles.contains(&KeyRole::OpenOnly));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::key::{KeyId, MIN_SECRET_LEN};
pub use crate::key_ring::{KeyRole, OPEN_ONLY_PREFIX};
pub use crate::metrics::KeyUse;
