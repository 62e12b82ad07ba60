//! The legacy reader hook: another library's session cookies read into new sessions, so an
//! application that moves over logs no one out.
//!
//! The format of the old cookies is the reader's business ([`LegacyReader::migrate`]); finding
//! them in the request, checking their name against ours, removing them and counting outcomes
//! is written once, here. sealed-session-actix's `LegacyCookies` reads actix-session's.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use super::RequestInfo;
use crate::codec::Codec;
use crate::cookie::{self as cookies, CookieAttributes};
use crate::envelope::CookieName;
use crate::error::ConfigError;
use crate::state::SessionState;

/// Reads another library's session cookies into new sessions: the hook
/// [`SessionBuilder::legacy_reader`](crate::SessionBuilder::legacy_reader) takes.
///
/// The reader says which cookie it reads (name, `Path`, `Domain`) and turns its values into a
/// session; the lifecycle checks the name against the session cookie's at `build`, finds the
/// values in each request, decides when to migrate and when to remove the old cookie, and
/// counts the outcomes ([`SessionManager::legacy_migrations`](crate::SessionManager::legacy_migrations)).
/// sealed-session-actix's `LegacyCookies` (feature `actix-session-legacy`) reads actix-session
/// 0.11's `CookieSessionStore` cookies.
///
/// # Security
/// Whatever [`migrate`](LegacyReader::migrate) returns becomes a session the application
/// trusts: a reader must authenticate the values it reads (a MAC, an AEAD tag, a lookup of a
/// random id), or any client can make itself a session.
///
/// ```
/// use std::collections::HashMap;
///
/// use sealed_session::adapter::{LegacyReader, RequestInfo};
/// use sealed_session::codec::{Codec, SessionState};
/// use sealed_session::{ConfigError, IncomingCookie, KeyRing, SecretKey, SessionManager};
/// use time::OffsetDateTime;
///
/// /// An old app's `sid` cookie: a random id, authenticated by finding it among the ids the old
/// /// server-side store held (here, the user id each one was signed in as).
/// #[derive(Debug)]
/// struct OldSessions(HashMap<&'static str, u64>);
///
/// impl LegacyReader for OldSessions {
///     fn name(&self) -> &str {
///         "sid"
///     }
///     fn path(&self) -> &str {
///         "/"
///     }
///     fn domain(&self) -> Option<&str> {
///         None
///     }
///     fn migrate(
///         &self,
///         values: &[&[u8]],
///         codec: &Codec,
///         now: OffsetDateTime,
///         _request: RequestInfo<'_>,
///     ) -> Option<SessionState> {
///         let user = values.iter().find_map(|v| self.0.get(std::str::from_utf8(v).ok()?))?;
///         let mut state = codec.new_session(now).ok()?;
///         state.insert("user_id", user).ok()?;
///         codec.check_size(&state).ok().map(|_| state)
///     }
/// }
///
/// let old = OldSessions(HashMap::from([("a1b2c3", 42)]));
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .legacy_reader(old)
///     .build()?;
/// let mut session = sessions.open([b"sid=a1b2c3".as_slice()], RequestInfo::new("/"));
/// assert_eq!(session.incoming(), &IncomingCookie::Migrated);
/// assert_eq!(session.get::<u64>("user_id")?, Some(42));
/// let new_cookie = session.finish()?;
/// assert!(new_cookie.header().unwrap().starts_with("__Host-id="));
/// assert!(session.legacy_removal().unwrap().starts_with("sid=;"));
///
/// // An id the old store never held: no session, counted, and the old cookie left in place.
/// let session = sessions.open([b"sid=forged".as_slice()], RequestInfo::new("/"));
/// assert!(session.state().is_none());
/// assert_eq!(session.legacy_removal(), None);
/// let counts = sessions.legacy_migrations();
/// assert_eq!((counts.migrated, counts.refused), (1, 1));
///
/// // Old and new cookies must have different names.
/// let err = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .cookie_name("sid")
///     .legacy_reader(OldSessions(HashMap::new()))
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::LegacyCookieNameClash { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait LegacyReader: fmt::Debug + Send + Sync {
    /// The old cookie's name. Checked at `build`: a valid cookie name
    /// ([`ConfigError::InvalidCookieName`]) other than the session cookie's
    /// ([`ConfigError::LegacyCookieNameClash`]).
    fn name(&self) -> &str;

    /// The old cookie's `Path`, which the removal of a migrated cookie must repeat or browsers
    /// keep it. Checked at `build` with the session cookie's other attributes
    /// ([`ConfigError::InvalidCookieAttributes`]).
    fn path(&self) -> &str;

    /// The old cookie's `Domain`, repeated by the removal, if it had one.
    fn domain(&self) -> Option<&str>;

    /// The session the old cookie holds: a new one (a fresh id, created and last active at
    /// `now`, no subject, every value re-encoded), which fits in the new cookie
    /// ([`Codec::check_size`]). `values` are the distinct values sent under
    /// [`name`](LegacyReader::name), in header order, at most three, never none; the first
    /// that reads should win.
    ///
    /// `None` when none of them could be read: the request gets an empty session, the old
    /// cookie is left in place and the request is counted as refused. Say why in one `tracing`
    /// event at `debug` under [`LOG_TARGET`](crate::LOG_TARGET), with a `reason` field starting
    /// `legacy_` and `request`'s [`path`](RequestInfo::path), and never the cookie's value: an
    /// old cookie that fails is the ordinary end of a migration's window, or a
    /// misconfiguration, not an attack on the new cookies.
    fn migrate(
        &self,
        values: &[&[u8]],
        codec: &Codec,
        now: OffsetDateTime,
        request: RequestInfo<'_>,
    ) -> Option<SessionState>;
}

/// What the legacy reader did since startup: [`SessionManager::legacy_migrations`].
///
/// When `migrated` stops growing (on every instance) for as long as the old cookies could live,
/// the reader can be turned off: see the cut-over runbook in
/// `sealed_session_actix::migrating`.
///
/// ```
/// use sealed_session::adapter::LegacyMigrations;
/// use sealed_session::{KeyRing, SecretKey, SessionManager};
///
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
/// let counts = sessions.legacy_migrations();
/// if counts.refused > 0 && counts.migrated == 0 {
///     eprintln!("no old cookie opens: check the legacy reader's key and settings");
/// }
/// assert_eq!(counts, LegacyMigrations::default(), "no reader, nothing counted");
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
///
/// [`SessionManager::legacy_migrations`]: crate::SessionManager::legacy_migrations
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LegacyMigrations {
    /// Requests whose old cookie became a new session.
    pub migrated: u64,
    /// Requests that carried old cookies of which none could be read: wrong key or settings,
    /// altered, or too large for the new cookie. Growing while `migrated` stays at zero means
    /// the reader is misconfigured.
    pub refused: u64,
}

/// A reader checked against the session cookie, with its removal header and counts: what the
/// lifecycle holds.
pub(super) struct CheckedReader {
    reader: Box<dyn LegacyReader>,
    name: CookieName,
    /// The `Set-Cookie` that removes the old cookie.
    removal: String,
    migrated: AtomicU64,
    refused: AtomicU64,
}

impl CheckedReader {
    /// Checks `reader`'s cookie against the session cookie (`ours`, with `attributes`).
    pub(super) fn new(
        reader: Box<dyn LegacyReader>,
        ours: &CookieName,
        attributes: &CookieAttributes,
    ) -> Result<Self, ConfigError> {
        let name = CookieName::new(reader.name())?;
        if name == *ours {
            return Err(ConfigError::LegacyCookieNameClash {
                name: reader.name().to_owned(),
            });
        }
        // The removal carries the old cookie's name, path and domain, and the session cookie's
        // other attributes (a `Secure` removal can't be set over plain HTTP in development).
        let removal = CookieAttributes {
            path: reader.path().to_owned(),
            domain: reader.domain().map(str::to_owned),
            ..attributes.clone()
        };
        removal.validate(&name)?;
        Ok(Self {
            removal: removal.set_cookie(&name, "", None),
            name,
            reader,
            migrated: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// Whether the request carries a cookie of the old name (nothing is opened).
    pub(super) fn present(&self, headers: &[&[u8]]) -> bool {
        !cookies::values(headers.iter().copied(), &self.name)
            .0
            .is_empty()
    }

    /// The `Set-Cookie` header value that removes the old cookie.
    pub(super) fn removal(&self) -> &str {
        &self.removal
    }

    /// The session the request's old cookie held, if the reader read one of its (at most
    /// three) values; counts the outcome when there was an old cookie.
    pub(super) fn migrate(
        &self,
        headers: &[&[u8]],
        codec: &Codec,
        now: OffsetDateTime,
        request: RequestInfo<'_>,
        fits: impl Fn(&SessionState) -> bool,
    ) -> Option<SessionState> {
        let (values, _) = cookies::values(headers.iter().copied(), &self.name);
        if values.is_empty() {
            return None;
        }
        // The reader checks the state against the codec; the manager's own limits (a session
        // over several cookies and its header budget) are checked here.
        let migrated = self
            .reader
            .migrate(&values, codec, now, request)
            .filter(|state| {
                let fits = fits(state);
                if !fits {
                    tracing::debug!(
                        target: crate::LOG_TARGET,
                        reason = "legacy_too_large",
                        path = request.path(),
                        "old session cookie not migrated: too large for the session's cookies"
                    );
                }
                fits
            });
        let count = match migrated {
            Some(_) => &self.migrated,
            None => &self.refused,
        };
        count.fetch_add(1, Ordering::Relaxed);
        migrated
    }

    /// The counts since startup.
    pub(super) fn counts(&self) -> LegacyMigrations {
        LegacyMigrations {
            migrated: self.migrated.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for CheckedReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyReader")
            .field("reader", &self.reader)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use cookie::Cookie;

    use super::*;
    use crate::lifecycle::CookieUpdate;
    use crate::{IncomingCookie, KeyRing, SecretKey, SessionManager, SessionStatus};

    /// Old cookies whose value `n=<number>` reads as a session holding `n` (unauthenticated:
    /// the lifecycle's part is what is tested here, not a format).
    #[derive(Debug)]
    struct Old {
        name: &'static str,
        path: &'static str,
        domain: Option<&'static str>,
    }

    const OLD: Old = Old {
        name: "id",
        path: "/",
        domain: None,
    };

    impl LegacyReader for Old {
        fn name(&self) -> &str {
            self.name
        }
        fn path(&self) -> &str {
            self.path
        }
        fn domain(&self) -> Option<&str> {
            self.domain
        }
        fn migrate(
            &self,
            values: &[&[u8]],
            codec: &Codec,
            now: OffsetDateTime,
            _: RequestInfo<'_>,
        ) -> Option<SessionState> {
            let n: u64 = values.iter().find_map(|v| {
                std::str::from_utf8(v.strip_prefix(b"n=")?)
                    .ok()?
                    .parse()
                    .ok()
            })?;
            let mut state = codec.new_session(now).ok()?;
            state.insert("n", &n).ok()?;
            Some(state)
        }
    }

    fn checked(old: Old, ours: &str) -> Result<CheckedReader, ConfigError> {
        CheckedReader::new(
            Box::new(old),
            &CookieName::new(ours).unwrap(),
            &CookieAttributes::default(),
        )
    }

    #[test]
    fn settings_that_cannot_work_fail_with_the_fix() {
        let clash = checked(Old { name: "sid", ..OLD }, "sid").unwrap_err();
        assert!(clash.to_string().contains("another name"), "{clash}");
        let bad_name = checked(Old { name: "a b", ..OLD }, "sid").unwrap_err();
        assert!(matches!(bad_name, ConfigError::InvalidCookieName { .. }));
        let bad_path = checked(Old { path: "app", ..OLD }, "sid").unwrap_err();
        assert!(matches!(
            bad_path,
            ConfigError::InvalidCookieAttributes { .. }
        ));
    }

    #[test]
    fn the_removal_repeats_the_old_path_and_domain() {
        let old = Old {
            name: "session",
            path: "/app",
            domain: Some("example.com"),
        };
        let reader = checked(old, "__Host-id").unwrap();
        let removal = Cookie::parse(reader.removal()).unwrap();
        assert_eq!(removal.name(), "session");
        assert_eq!(removal.value(), "");
        assert_eq!(removal.path(), Some("/app"));
        assert_eq!(removal.domain(), Some("example.com"));
        assert_eq!(removal.max_age(), Some(time::Duration::ZERO));
    }

    /// A lifecycle reading [`OLD`] cookies.
    fn lifecycle() -> SessionManager {
        SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .legacy_reader(OLD)
            .build()
            .unwrap()
    }

    fn open(lifecycle: &SessionManager, header: &str) -> crate::lifecycle::RequestSession {
        lifecycle.open([header.as_bytes()], RequestInfo::new("/"))
    }

    #[test]
    fn a_migrated_session_is_set_and_its_old_cookie_removed_whatever_the_handler_does() {
        let lifecycle = lifecycle();
        let legacy = "id=n=7";

        let mut session = open(&lifecycle, legacy);
        assert_eq!(session.incoming(), &IncomingCookie::Migrated);
        assert_eq!(session.status(), SessionStatus::Changed);
        assert_eq!(session.get::<u64>("n").unwrap(), Some(7));
        assert_eq!(session.subject(), None);
        let CookieUpdate::Set(set) = session.finish().unwrap() else {
            panic!("a new cookie");
        };
        assert!(set.starts_with("__Host-id="), "{set}");
        assert!(session.legacy_removal().unwrap().starts_with("id=;"));
        assert_eq!(lifecycle.legacy_migrations().migrated, 1);

        // Logged out in the very request: the old cookie goes too, or it would come back.
        let mut session = open(&lifecycle, legacy);
        session.purge().unwrap();
        assert!(matches!(session.finish(), Ok(CookieUpdate::Remove(_))));
        assert!(session.legacy_removal().is_some());

        // Beside a session cookie that opens, the old one is removed and not read.
        let ours = set.split(';').next().unwrap();
        let both = format!("{ours}; {legacy}");
        let mut session = open(&lifecycle, &both);
        assert_eq!(session.incoming(), &IncomingCookie::Valid);
        assert!(session.legacy_removal().is_some());
        assert_eq!(session.finish().unwrap(), CookieUpdate::None);
        assert_eq!(lifecycle.legacy_migrations().migrated, 2);
    }

    #[test]
    fn a_refused_old_cookie_is_left_in_place_and_untried_values_of_ours_block_migration() {
        let lifecycle = lifecycle();
        let mut session = open(&lifecycle, "id=forged");
        assert_eq!(session.incoming(), &IncomingCookie::Missing);
        assert_eq!(session.finish().unwrap(), CookieUpdate::None);
        assert_eq!(session.legacy_removal(), None);
        assert_eq!(
            lifecycle.legacy_migrations(),
            LegacyMigrations {
                migrated: 0,
                refused: 1
            }
        );

        // More values of our name than are tried: the real session may be among them.
        let legacy = "id=n=7";
        let stuffed = format!("__Host-id=a; __Host-id=b; __Host-id=c; __Host-id=d; {legacy}");
        let session = open(&lifecycle, &stuffed);
        assert!(session.state().is_none());
        assert_eq!(session.legacy_removal(), None);
        // Three refused values of ours, then the old cookie: migrated.
        let three = format!("__Host-id=a; __Host-id=b; __Host-id=c; {legacy}");
        assert_eq!(
            open(&lifecycle, &three).incoming(),
            &IncomingCookie::Migrated
        );
        // No more than three values of the old name are opened.
        let forged = (0..1_000).map(|n| format!("id=f{n}")).collect::<Vec<_>>();
        let header = format!("{}; {legacy}", forged.join("; "));
        assert!(open(&lifecycle, &header).state().is_none());
    }
}
