//! Property tests: seal then open gives back an equal state, and size limits are exact.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sealed_session::codec::{Codec, MAX_TIMEOUT, SessionState};
use sealed_session::revocation::Generation;
use sealed_session::{ConfigError, KeyRing, Mode, SealError, SessionId};

use crate::{MODES, T0, at, secret};

/// One value of the kinds an application stores.
#[derive(Debug, Clone)]
enum Value {
    Bytes(Vec<u8>),
    Text(String),
    Signed(i64),
    Unsigned(u64),
    Nested(Vec<(String, u64)>),
    /// Stored with `insert_raw`: any bytes, valid postcard or not.
    Raw(Vec<u8>),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::Bytes),
        any::<String>().prop_map(Value::Text),
        any::<i64>().prop_map(Value::Signed),
        any::<u64>().prop_map(Value::Unsigned),
        proptest::collection::vec((any::<String>(), any::<u64>()), 0..6).prop_map(Value::Nested),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::Raw),
    ]
}

fn data() -> impl Strategy<Value = BTreeMap<String, Value>> {
    proptest::collection::btree_map(any::<String>(), value(), 0..8)
}

/// A subject with its generation, or none.
fn subject() -> impl Strategy<Value = Option<(String, u64)>> {
    proptest::option::of((any::<String>(), any::<u64>()))
}

fn set_subject(state: &mut SessionState, subject: Option<&(String, u64)>) {
    match subject {
        Some((name, generation)) => state.set_subject(name.as_str(), Generation::new(*generation)),
        None => state.clear_subject(),
    }
}

fn mode() -> impl Strategy<Value = Mode> {
    proptest::sample::select(MODES.to_vec())
}

/// RFC 6265 token characters, 1 to 64 of them.
const COOKIE_NAME: &str = "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}";

fn fill(state: &mut SessionState, data: &BTreeMap<String, Value>) {
    for (key, value) in data {
        match value {
            Value::Bytes(v) => state.insert(key, v),
            Value::Text(v) => state.insert(key, v),
            Value::Signed(v) => state.insert(key, v),
            Value::Unsigned(v) => state.insert(key, v),
            Value::Nested(v) => state.insert(key, v),
            Value::Raw(v) => Ok(state.insert_raw(key, v.clone())),
        }
        .expect("every value kind encodes");
    }
}

/// Each value reads back with the type it was inserted with.
fn check_values(state: &SessionState, data: &BTreeMap<String, Value>) -> Result<(), TestCaseError> {
    for (key, value) in data {
        match value {
            Value::Bytes(v) => {
                prop_assert_eq!(state.get::<Vec<u8>>(key).ok().flatten(), Some(v.clone()))
            }
            Value::Text(v) => {
                prop_assert_eq!(state.get::<String>(key).ok().flatten(), Some(v.clone()))
            }
            Value::Signed(v) => prop_assert_eq!(state.get::<i64>(key).ok().flatten(), Some(*v)),
            Value::Unsigned(v) => prop_assert_eq!(state.get::<u64>(key).ok().flatten(), Some(*v)),
            Value::Nested(v) => prop_assert_eq!(
                state.get::<Vec<(String, u64)>>(key).ok().flatten(),
                Some(v.clone())
            ),
            Value::Raw(v) => prop_assert_eq!(state.get_raw(key), Some(v.as_slice())),
        }
    }
    prop_assert_eq!(state.keys().count(), data.len());
    Ok(())
}

fn codec(mode: Mode, name: &str, limit: usize) -> Result<Codec, ConfigError> {
    Codec::builder(KeyRing::new(secret(1)))
        .mode(mode)
        .cookie_name(name)
        .size_limit(limit)
        .build()
}

/// `cases` cases; failures are saved beside this file (`round_trip.regressions`).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Under the browser's budget, everything of this size fits and comes back equal.
    #[test]
    fn seal_then_open_gives_back_an_equal_state(
        data in data(),
        subject in subject(),
        id in any::<[u8; 16]>(),
        mode in mode(),
        name in COOKIE_NAME,
    ) {
        let codec = codec(mode, &name, sealed_session::codec::BROWSER_COOKIE_LIMIT).expect("valid");
        let mut state = SessionState::with_id(SessionId::from_bytes(id), at(T0));
        set_subject(&mut state, subject.as_ref());
        fill(&mut state, &data);
        let len = codec.sealed_len(&state);
        let worst = codec.check_size(&state);
        prop_assume!(worst.is_ok());
        // `check_size` measures the largest size activity alone can reach: never less than now.
        prop_assert!(worst.clone().is_ok_and(|worst| worst >= len), "{worst:?} < {len}");

        let cookie = codec.seal(&state).expect("it fits");
        prop_assert_eq!(name.len() + cookie.len(), len);
        prop_assert!(cookie.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let opened = codec.open_at(&cookie, at(T0)).expect("a sealed cookie opens");
        prop_assert_eq!(opened.state(), &state);
        prop_assert_eq!(
            opened.state().subject(),
            subject.as_ref().map(|(name, _)| name.as_str())
        );
        prop_assert_eq!(
            opened.state().subject_generation().map(|s| s.generation().get()),
            subject.as_ref().map(|(_, generation)| *generation)
        );
        prop_assert!(!opened.should_reseal());
        check_values(opened.state(), &data)?;

        // Sealing is not deterministic in encrypted mode (fresh nonce), but both open the same.
        let again = codec.seal(&state).expect("it fits");
        if mode == Mode::Encrypted {
            prop_assert_ne!(&again, &cookie);
        } else {
            prop_assert_eq!(&again, &cookie);
        }
        prop_assert_eq!(crate::open(&codec, &again).expect("opens"), state);
    }

    /// `seal` fails with `TooLarge { size: sealed_len, limit }` exactly when `sealed_len` is over
    /// the limit; `check_size` agrees with it; what fits opens to an equal state.
    #[test]
    fn too_large_exactly_when_sealed_len_is_over_the_limit(
        data in data(),
        subject in subject(),
        mode in mode(),
        name in COOKIE_NAME,
        limit in 0usize..1_500,
    ) {
        let codec = match codec(mode, &name, limit) {
            Ok(codec) => codec,
            Err(ConfigError::SizeLimitTooSmall { limit: l, min }) => {
                prop_assert_eq!(l, limit);
                prop_assert!(min > limit);
                // The minimum itself is accepted.
                prop_assert!(self::codec(mode, &name, min).is_ok());
                return Ok(());
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
        };
        let mut state = SessionState::new(at(T0)).expect("randomness");
        set_subject(&mut state, subject.as_ref());
        fill(&mut state, &data);
        let len = codec.sealed_len(&state);
        let checked = codec.check_size(&state);
        if len > limit {
            prop_assert_eq!(codec.seal(&state), Err(SealError::TooLarge { size: len, limit }));
            // What doesn't fit now doesn't fit at its largest either.
            prop_assert!(
                matches!(checked, Err(SealError::TooLarge { size, limit: l }) if size >= len && l == limit),
                "{:?}", checked
            );
        } else {
            let cookie = codec.seal(&state).expect("it fits");
            prop_assert_eq!(name.len() + cookie.len(), len);
            prop_assert_eq!(crate::open(&codec, &cookie).expect("opens"), state.clone());
            match checked {
                Ok(worst) => prop_assert!(len <= worst && worst <= limit),
                Err(SealError::TooLarge { size, limit: l }) => {
                    prop_assert!(size > limit && size >= len && l == limit);
                }
                Err(other) => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            }
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// `check_size`'s promise: a session it accepts can be touched at any time up to its
    /// absolute deadline and still seals, and the size it reports is the size it then reaches
    /// at most.
    #[test]
    fn check_size_covers_any_later_activity(
        data in data(),
        mode in mode(),
        limit in 80usize..1_000,
        absolute in 1i64..=MAX_TIMEOUT.whole_seconds(),
        active in 0f64..=1.0,
    ) {
        let Ok(codec) = Codec::builder(KeyRing::new(secret(1)))
            .mode(mode)
            .size_limit(limit)
            .idle_timeout(time::Duration::seconds(absolute))
            .absolute_timeout(time::Duration::seconds(absolute))
            .build()
        else {
            return Ok(());
        };
        let mut state = SessionState::with_id(SessionId::from_bytes([1; 16]), at(T0));
        fill(&mut state, &data);
        let Ok(worst) = codec.check_size(&state) else {
            return Ok(());
        };
        #[allow(clippy::cast_possible_truncation)] // `active` is in [0, 1].
        let offset = (active * absolute as f64) as i64;
        for later in [offset, absolute - 1, absolute] {
            let mut touched = state.clone();
            touched.touch(at(T0 + later));
            let len = codec.sealed_len(&touched);
            prop_assert!(len <= worst, "touched after {later} s: {len} > {worst}");
            prop_assert!(codec.seal(&touched).is_ok());
        }
    }
}

/// An empty session at the smallest budget `build` accepts seals; one byte less is refused.
/// The minimum is what `check_size` measures: the empty session at its largest.
#[test]
fn smallest_budget_holds_an_empty_session() {
    for mode in MODES {
        let min = match codec(mode, "id", 1) {
            Err(ConfigError::SizeLimitTooSmall { limit: 1, min }) => min,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            codec(mode, "id", min - 1),
            Err(ConfigError::SizeLimitTooSmall { .. })
        ));
        let codec = codec(mode, "id", min).expect("the minimum is accepted");
        let state = SessionState::new(at(T0)).expect("randomness");
        // The minimum is the empty session at its largest: fresh, it is a little smaller.
        assert_eq!(codec.check_size(&state), Ok(min), "{mode}");
        assert!(codec.sealed_len(&state) <= min, "{mode}");
        let cookie = codec
            .seal(&state)
            .expect("an empty session fits the minimum");
        assert_eq!(crate::open(&codec, &cookie).expect("opens"), state);
    }
}

/// `SizeLimitTooSmall` promises that the budget `build` accepts holds an empty session, and
/// `check_size` promises a session it accepts keeps fitting while active. At the smallest
/// accepted budget, an empty session must therefore pass `check_size` and still seal an hour
/// later.
#[test]
fn smallest_budget_holds_an_empty_session_however_long_it_is_active() {
    for mode in MODES {
        let min = match codec(mode, "id", 1) {
            Err(ConfigError::SizeLimitTooSmall { limit: 1, min }) => min,
            other => panic!("{other:?}"),
        };
        let codec = codec(mode, "id", min).expect("the minimum is accepted");
        let mut state = SessionState::new(at(T0)).expect("randomness");
        let fresh = codec.check_size(&state);
        state.touch(at(T0) + time::Duration::hours(1));
        assert_eq!(
            codec.seal(&state).map(|_| ()),
            Ok(()),
            "{mode}: an empty session outgrows the budget of {min} `build` accepted, an hour \
             after it was created"
        );
        assert!(
            fresh.is_ok(),
            "{mode}: `build` accepted a budget of {min} that `check_size` says an empty session \
             outgrows: {fresh:?}"
        );
    }
}
