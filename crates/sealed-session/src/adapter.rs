//! What a web adapter uses, and code that drives a session without one (a test, a job that
//! acts for a user): [`RequestSession`], the session of one request that
//! [`SessionManager::open`](crate::SessionManager::open) returns, with the [`RequestInfo`] it
//! logs; the response's cookies it decides ([`CookieUpdate`], [`ResponseCookies`]); the errors
//! of its writes ([`InsertError`], [`UpdateError`]); and the [`LegacyReader`] hook that reads
//! another library's cookies into new sessions, with its counts ([`LegacyMigrations`]).
//!
//! A handler needs none of it: it takes the [`Session`](crate::Session) handle, whose errors are
//! at the crate root. An adapter only translates between its framework and these types:
//!
//! ```
//! use sealed_session::adapter::{CookieUpdate, RequestInfo};
//! use sealed_session::{KeyRing, SecretKey, SessionManager};
//!
//! let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
//! // The request's `Cookie` header values (none here) and what to log about it.
//! let mut session = sessions.open([], RequestInfo::new("/login"));
//! session.sign_in("alice")?;
//! // The `Set-Cookie` header values the response carries, in order: `finish`'s, then those of
//! // the session's other chunks (with `max_cookies` above 1) and a legacy cookie's removal.
//! let CookieUpdate::Set(header) = session.finish()? else { panic!("a new session is set") };
//! assert!(header.starts_with("__Host-id="));
//! let headers: Vec<&str> = std::iter::once(header.as_str())
//!     .chain(session.chunk_headers().iter().map(String::as_str))
//!     .chain(session.legacy_removal())
//!     .collect();
//! assert_eq!(headers.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::cookie::CookieAttributes;
pub use crate::error::{InsertError, UpdateError};
pub use crate::lifecycle::{
    CookieUpdate, LegacyMigrations, LegacyReader, PendingResponse, RequestInfo, RequestSession,
    ResponseCookies,
};
