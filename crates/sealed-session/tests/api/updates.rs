//! `RequestSession::update`, `update_or` and `values`: actix-session's semantics (update only a
//! present key; `update_or` stores the default when absent), typed errors, and a session left
//! as it was by every failure.

use sealed_session::adapter::{CookieUpdate, InsertError, UpdateError};
use sealed_session::{Mode, SessionStatus};

use crate::{lifecycle_builder, sessions, set_value};

#[test]
fn update_changes_only_a_present_key_and_marks_the_session_changed() {
    let sessions = sessions(lifecycle_builder(1, Mode::Encrypted));
    let mut session = sessions.request(None);
    assert_eq!(session.update("n", |n: u64| n + 1), Ok(false));
    assert_eq!(session.status(), SessionStatus::Unchanged);
    assert!(!session.contains_key("n"));
    assert_eq!(session.finish().unwrap(), CookieUpdate::None);

    let mut session = sessions.request(None);
    session.insert("n", &1u64).unwrap();
    let cookie = set_value(&session.finish().unwrap());
    let mut session = sessions.request(Some(&cookie));
    assert_eq!(session.update("n", |n: u64| n * 10), Ok(true));
    assert_eq!(session.status(), SessionStatus::Changed);
    let cookie = set_value(&session.finish().unwrap());
    assert_eq!(
        sessions.request(Some(&cookie)).get::<u64>("n"),
        Ok(Some(10))
    );
}

#[test]
fn update_or_stores_the_default_then_updates() {
    let sessions = sessions(lifecycle_builder(1, Mode::Encrypted));
    let mut cookie = None;
    for expected in [1u64, 2, 3] {
        let mut session = sessions.request(cookie.as_deref());
        session
            .update_or("n", 1u64, |n| n + 1)
            .expect("fits and decodes");
        assert_eq!(session.get::<u64>("n"), Ok(Some(expected)));
        cookie = Some(set_value(&session.finish().unwrap()));
    }
}

#[test]
fn a_wrong_type_is_a_decode_error_and_the_updater_is_not_called() {
    let sessions = sessions(lifecycle_builder(1, Mode::Encrypted));
    let mut session = sessions.request(None);
    session.insert("name", "alice").unwrap();
    let mut called = false;
    let err = session
        .update_or("name", 0u64, |n| {
            called = true;
            n
        })
        .unwrap_err();
    let UpdateError::Decode(err) = err else {
        panic!("{err:?}")
    };
    assert_eq!(err.key(), "name");
    assert!(!called);
    assert_eq!(session.get::<String>("name"), Ok(Some("alice".into())));
}

#[test]
fn an_update_too_large_for_the_cookie_leaves_the_old_value() {
    let sessions = sessions(lifecycle_builder(1, Mode::Encrypted).size_limit(400));
    let mut session = sessions.request(None);
    session.insert("blob", &vec![1u8; 10]).unwrap();
    let err = session
        .update("blob", |mut v: Vec<u8>| {
            v.resize(1_000, 1);
            v
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            UpdateError::Insert(InsertError::TooLarge { limit: 400, .. })
        ),
        "{err:?}"
    );
    assert_eq!(session.get::<Vec<u8>>("blob"), Ok(Some(vec![1u8; 10])));
    assert!(err.to_string().contains("400"), "{err}");
}

#[test]
fn values_lists_every_value_in_key_order_still_encoded() {
    let sessions = sessions(lifecycle_builder(1, Mode::Encrypted));
    let mut session = sessions.request(None);
    assert_eq!(session.values().count(), 0);
    session.insert("b", &2u64).unwrap();
    session.insert("a", "one").unwrap();
    let values: Vec<_> = session.values().collect();
    let keys: Vec<_> = values.iter().map(|v| v.key()).collect();
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(values[0].decode::<String>(), Ok("one".into()));
    assert_eq!(values[1].decode::<u64>(), Ok(2));
}
