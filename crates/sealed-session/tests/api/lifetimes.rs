//! The cookie lifetimes of `session_lifecycle`: the `Max-Age` each writes (or doesn't), and the
//! server-side timeouts it sets with it, so the browser's copy and the server's deadline agree.

use sealed_session::adapter::{CookieUpdate, RequestSession};
use sealed_session::{BrowserSession, Mode, OpenError, PersistentSession, SessionLifecycle};
use time::Duration;

use crate::{lifecycle_builder, sessions, set_value};

/// The `Max-Age` of a `Set-Cookie`, if it has one.
fn max_age(update: &CookieUpdate) -> Option<i64> {
    let header = update.header().expect("a Set-Cookie");
    header
        .split("; ")
        .find_map(|attr| attr.strip_prefix("Max-Age="))
        .map(|n| n.parse().expect("a number"))
}

/// Writes a value so that the response sets the cookie.
fn write(mut session: RequestSession) -> CookieUpdate {
    session.insert("n", &1u8).expect("fits");
    session.finish().expect("seals")
}

#[test]
fn the_default_is_a_browser_session_cookie_with_the_default_timeouts() {
    let sessions = sessions(lifecycle_builder(1, Mode::Encrypted));
    let update = write(sessions.request(None));
    let header = update.header().unwrap();
    assert_eq!(max_age(&update), None, "{header}");
    assert!(!header.contains("Expires"), "{header}");
    let cookie = set_value(&update);
    sessions.clock.advance(Duration::hours(1));
    assert_eq!(
        sessions.request(Some(&cookie)).refusal(),
        Some(OpenError::ExpiredIdle),
        "the server ends it after an hour whatever the browser keeps"
    );
}

#[test]
fn a_persistent_session_ttl_is_the_max_age_and_the_absolute_timeout() {
    let week = Duration::days(7);
    let sessions = sessions(
        lifecycle_builder(1, Mode::Encrypted)
            .session_lifecycle(PersistentSession::default().session_ttl(week)),
    );
    let update = write(sessions.request(None));
    assert_eq!(max_age(&update), Some(week.whole_seconds()));
    // A day and a write later, what is left; activity never extends it.
    sessions.clock.advance(Duration::days(1));
    let update = write(sessions.request(Some(&set_value(&update))));
    assert_eq!(max_age(&update), Some(Duration::days(6).whole_seconds()));
    let cookie = set_value(&update);
    sessions
        .clock
        .advance(Duration::days(6) - Duration::seconds(1));
    assert_eq!(sessions.request(Some(&cookie)).refusal(), None);
    sessions.clock.advance(Duration::seconds(1));
    assert_eq!(
        sessions.request(Some(&cookie)).refusal(),
        Some(OpenError::ExpiredAbsolute)
    );
}

#[test]
fn a_persistent_idle_timeout_slides_within_the_session_ttl() {
    let sessions = sessions(
        lifecycle_builder(1, Mode::Encrypted).session_lifecycle(
            PersistentSession::default()
                .session_ttl(Duration::days(30))
                .idle_timeout(Duration::days(1)),
        ),
    );
    let mut update = write(sessions.request(None));
    for _ in 0..3 {
        assert_eq!(max_age(&update), Some(86_400));
        sessions.clock.advance(Duration::hours(20));
        update = write(sessions.request(Some(&set_value(&update))));
    }
    let cookie = set_value(&update);
    sessions.clock.advance(Duration::days(1));
    assert_eq!(
        sessions.request(Some(&cookie)).refusal(),
        Some(OpenError::ExpiredIdle)
    );
}

#[test]
fn persistent_session_without_a_ttl_keeps_the_builder_timeouts() {
    let builder = || lifecycle_builder(1, Mode::Encrypted).idle_timeout(Duration::minutes(10));
    let lifecycle = sessions(builder().session_lifecycle(PersistentSession::default()));
    assert_eq!(max_age(&write(lifecycle.request(None))), Some(600));
    // The one setting of the cookie's kind: the last call wins, and keeps the timeouts too.
    let browser = sessions(
        builder()
            .session_lifecycle(PersistentSession::default())
            .session_lifecycle(BrowserSession::default()),
    );
    assert_eq!(max_age(&write(browser.request(None))), None);
    assert_eq!(
        browser.lifecycle.codec().idle_timeout(),
        Duration::minutes(10)
    );
}

#[test]
fn a_browser_session_state_ttl_bounds_the_session_without_a_max_age() {
    let sessions = sessions(
        lifecycle_builder(1, Mode::Encrypted)
            .session_lifecycle(BrowserSession::default().state_ttl(Duration::hours(8))),
    );
    let mut update = write(sessions.request(None));
    assert_eq!(max_age(&update), None);
    // Active every 7 hours: the idle deadline never passes, the absolute one does.
    sessions.clock.advance(Duration::hours(7));
    update = write(sessions.request(Some(&set_value(&update))));
    assert_eq!(max_age(&update), None);
    sessions.clock.advance(Duration::hours(1));
    assert_eq!(
        sessions.request(Some(&set_value(&update))).refusal(),
        Some(OpenError::ExpiredAbsolute)
    );
}

#[test]
fn a_later_timeout_call_overrides_the_lifecycle_and_the_last_lifecycle_wins() {
    let overridden = sessions(
        lifecycle_builder(1, Mode::Encrypted)
            .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
            .idle_timeout(Duration::hours(2)),
    );
    assert_eq!(max_age(&write(overridden.request(None))), Some(7_200));
    let last = sessions(
        lifecycle_builder(1, Mode::Encrypted)
            .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
            .session_lifecycle(BrowserSession::default()),
    );
    assert_eq!(max_age(&write(last.request(None))), None);
    assert_eq!(last.lifecycle.codec().absolute_timeout(), Duration::days(7));
}

#[test]
fn removal_cookies_expire_at_once_in_either_kind() {
    let kinds: [SessionLifecycle; 2] = [
        PersistentSession::default().into(),
        BrowserSession::default().into(),
    ];
    for lifecycle in kinds {
        let sessions = sessions(lifecycle_builder(1, Mode::Encrypted).session_lifecycle(lifecycle));
        let cookie = set_value(&write(sessions.request(None)));
        let mut session = sessions.request(Some(&cookie));
        session
            .purge()
            .expect("anonymous sessions purge without the store");
        let update = session.finish().unwrap();
        assert!(matches!(update, CookieUpdate::Remove(_)));
        assert_eq!(max_age(&update), Some(0));
        assert!(
            update
                .header()
                .unwrap()
                .contains("Expires=Thu, 01 Jan 1970")
        );
    }
}
