//! Display and Debug of every error, and Debug of key-holding types: lowercase start, no
//! trailing period, and no secret or cookie content anywhere.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sealed_session::adapter::{LegacyReader, RequestInfo};
use sealed_session::codec::{Codec, MAX_CLOCK_SKEW, MAX_TIMEOUT, SessionState};
use sealed_session::{ConfigError, KeyRing, Mode, OpenError, SealError, SecretKey, SessionManager};
use sealed_session::{CookieAttributeProblem, TimeoutProblem};
use time::Duration;

use crate::{
    MODES, T0, at, b64, builder, decode, encode, lifecycle_builder, secret, secret_bytes, session,
    sessions,
};

/// Checks the wording rules on one message, and that it shows none of `forbidden`.
fn check_message(what: &str, message: &str, forbidden: &[String]) {
    let first = message
        .chars()
        .next()
        .unwrap_or_else(|| panic!("{what}: empty message"));
    assert!(!first.is_uppercase(), "{what}: starts uppercase: {message}");
    let first_letter = message.chars().find(|c| c.is_alphabetic());
    assert!(
        first_letter.is_some_and(char::is_lowercase),
        "{what}: first letter not lowercase: {message}"
    );
    assert!(
        !message.ends_with('.'),
        "{what}: trailing period: {message}"
    );
    assert_eq!(message.trim(), message, "{what}: surrounding whitespace");
    for f in forbidden {
        assert!(
            !message.contains(f.as_str()),
            "{what}: shows {f:?}: {message}"
        );
    }
}

/// Every encoding of the secrets `seeds` a log reader could recognise.
fn secret_forms(seeds: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for &seed in seeds {
        let bytes = secret_bytes(seed);
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let full = engine.encode(bytes);
            // Any 12-character window of the base64 (9 bytes' worth).
            for start in 0..full.len().saturating_sub(12) {
                forms.push(full[start..start + 12].to_owned());
            }
        }
        let hex = sealed_session_test_support::hex(&bytes);
        forms.push(hex[..16].to_owned());
        forms.push(hex[24..40].to_owned());
        forms.push(format!("{:?}", &bytes[..4]));
        forms.push(
            format!("{:?}", &bytes[10..14])
                .trim_matches(['[', ']'])
                .to_owned(),
        );
    }
    forms
}

/// Session content and cookie text: the session's data values, its subject and any 12
/// characters of the cookie.
fn cookie_forms(cookie: &str) -> Vec<String> {
    let mut forms = vec![
        "alice@example.com".to_owned(),
        "alice".to_owned(),
        cookie.to_owned(),
    ];
    for start in 0..cookie.len().saturating_sub(12) {
        forms.push(cookie[start..start + 12].to_owned());
    }
    forms
}

/// All ten `OpenError` variants, each produced by a real open, with the cookie that caused it:
/// nine by the codec, and `Revoked` by the lifecycle (revocation is its check).
fn every_open_error(mode: Mode) -> Vec<(OpenError, String)> {
    let lifecycle = sessions(
        lifecycle_builder(1, mode)
            .idle_timeout(Duration::seconds(600))
            .absolute_timeout(Duration::seconds(3_600))
            .not_before(at(T0 - 1_000)),
    );
    let codec = lifecycle.lifecycle.codec();
    let other_mode = if mode == Mode::Signed {
        Mode::Encrypted
    } else {
        Mode::Signed
    };
    let cookie = |created: i64, last_active: i64| {
        let mut state = session(1, created);
        state.touch(at(last_active));
        codec.seal(&state).expect("fits")
    };
    let good = cookie(T0, T0);
    let mut bad_version = decode(&good);
    bad_version[0] = 0xfe;
    let mut forged = decode(&good);
    *forged.last_mut().expect("not empty") ^= 0x80;

    let cases = [
        "!".repeat(40),
        encode(&bad_version),
        crate::codec(1, other_mode)
            .seal(&session(1, T0))
            .expect("fits"),
        crate::codec(2, mode).seal(&session(1, T0)).expect("fits"),
        encode(&forged),
        cookie(T0 - 4_000, T0 - 10),
        cookie(T0 - 1_000, T0 - 700),
        cookie(T0 + 3_000, T0 + 3_000),
        cookie(T0 - 1_001, T0),
    ];
    let mut errors: Vec<(OpenError, String)> = cases
        .into_iter()
        .map(|value| {
            let err = crate::open(codec, &value).expect_err("refused");
            // The lifecycle refuses it for the same reason.
            assert_eq!(lifecycle.refusal_at(&value, at(T0)), Some(err.clone()));
            (err, value)
        })
        .collect();
    // Logged out: the codec still opens the cookie, the lifecycle refuses it.
    let revoked = lifecycle.seal(&session(2, T0));
    lifecycle.request(Some(&revoked)).purge().expect("recorded");
    assert!(crate::open(codec, &revoked).is_ok());
    let err = lifecycle.refusal_at(&revoked, at(T0)).expect("refused");
    errors.push((err, revoked));
    let reasons: std::collections::BTreeSet<&str> =
        errors.iter().map(|(e, _)| e.reason()).collect();
    assert_eq!(reasons.len(), 10, "{mode}: not every variant: {reasons:?}");
    errors
}

#[test]
fn open_errors_are_lowercase_unpunctuated_and_show_no_cookie() {
    for mode in MODES {
        for (err, cookie) in every_open_error(mode) {
            let forbidden = [cookie_forms(&cookie), secret_forms(&[1, 2])].concat();
            check_message(err.reason(), &err.to_string(), &forbidden);
            check_message(err.reason(), &format!("{err:?}").to_lowercase(), &forbidden);
            // `reason` is a stable snake_case name; `is_suspicious` separates tampering.
            assert!(
                err.reason()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            let suspicious = matches!(
                err,
                OpenError::Malformed
                    | OpenError::UnsupportedVersion { .. }
                    | OpenError::ModeMismatch
                    | OpenError::Forged
                    | OpenError::FromFuture
            );
            assert_eq!(err.is_suspicious(), suspicious, "{err:?}");
        }
    }
    // The key id is the only header content an error shows, as 8 hex digits.
    let ring = KeyRing::new(secret(3));
    let err = OpenError::UnknownKey {
        key_id: ring.primary_id(),
    };
    assert!(err.to_string().contains(&ring.primary_id().to_string()));
}

#[test]
fn seal_errors_are_lowercase_and_unpunctuated() {
    for mode in MODES {
        let codec = builder(1, mode).size_limit(300).build().expect("valid");
        let mut state = codec.new_session(at(T0)).expect("randomness");
        let secret_value = "very-secret-value-".repeat(20);
        state.insert("blob", &secret_value).expect("encodes");
        let err = codec.seal(&state).expect_err("too large");
        assert!(matches!(err, SealError::TooLarge { limit: 300, .. }));
        let forbidden = [
            vec![secret_value.clone(), "very-secret".to_owned()],
            secret_forms(&[1]),
        ]
        .concat();
        check_message("too_large", &err.to_string(), &forbidden);
        check_message("too_large", &format!("{err:?}").to_lowercase(), &forbidden);
    }
    let err = SealError::Randomness;
    check_message("randomness", &err.to_string(), &[]);
}

/// Every `ConfigError` variant, produced by the API where it can be.
fn every_config_error() -> Vec<ConfigError> {
    let short = STANDARD.encode(&secret_bytes(5)[..20]);
    let weak = STANDARD.encode([b'x'; 40]);
    let mut errors = vec![
        SecretKey::from_base64(&short).expect_err("short"),
        SecretKey::from_base64(&weak).expect_err("weak"),
        KeyRing::from_config(&format!("{},%%{}", b64(1), b64(2))).expect_err("not base64"),
        KeyRing::from_config(" , ").expect_err("empty"),
        KeyRing::from_config(&format!("open-only:{}", b64(1))).expect_err("no primary"),
        KeyRing::from_config(&format!("{},{}", b64(1), b64(1))).expect_err("duplicate"),
        KeyRing::from_env("SEALED_SESSION_API_TEST_UNSET_VARIABLE").expect_err("unset"),
        builder(1, Mode::Encrypted)
            .cookie_name("a b")
            .build()
            .expect_err("name"),
        builder(1, Mode::Encrypted)
            .idle_timeout(Duration::ZERO)
            .build()
            .expect_err("timeout"),
        builder(1, Mode::Encrypted)
            .size_limit(10)
            .build()
            .expect_err("size"),
    ];
    errors.push(
        builder(1, Mode::Encrypted)
            .idle_timeout(Duration::hours(2))
            .absolute_timeout(Duration::hours(1))
            .build()
            .expect_err("idle over absolute"),
    );
    errors.push(
        builder(1, Mode::Encrypted)
            .clock_skew(Duration::seconds(-1))
            .build()
            .expect_err("negative skew"),
    );
    // Past the caps browsers and fleets impose.
    let past_cap = MAX_TIMEOUT + Duration::SECOND;
    for (builder, expected) in [
        (
            builder(1, Mode::Encrypted).idle_timeout(past_cap),
            TimeoutProblem::TooLong,
        ),
        (
            builder(1, Mode::Encrypted).absolute_timeout(past_cap),
            TimeoutProblem::TooLong,
        ),
        (
            builder(1, Mode::Encrypted).clock_skew(MAX_CLOCK_SKEW + Duration::SECOND),
            TimeoutProblem::SkewOutOfRange,
        ),
    ] {
        let err = builder.build().expect_err("past the cap");
        assert!(
            matches!(err, ConfigError::InvalidTimeout { reason, .. } if reason == expected),
            "{err:?}"
        );
        errors.push(err);
    }
    // The lifecycle's own settings: a refresh interval not shorter than the idle timeout, and
    // cookie attributes browsers would reject.
    let refresh = lifecycle_builder(1, Mode::Encrypted)
        .refresh(sealed_session::RefreshPolicy::Interval(Duration::hours(1)))
        .build()
        .expect_err("refresh interval");
    assert_eq!(
        refresh,
        ConfigError::InvalidTimeout {
            setting: "refresh",
            reason: TimeoutProblem::RefreshNotShorterThanIdle,
        }
    );
    errors.push(refresh);
    let host = lifecycle_builder(1, Mode::Encrypted)
        .cookie_secure(false)
        .cookie_name("__Host-id")
        .build()
        .expect_err("__Host- without Secure");
    assert_eq!(
        host,
        ConfigError::InvalidCookieAttributes {
            reason: CookieAttributeProblem::HostPrefixNotSecure,
        }
    );
    errors.push(host);
    // The legacy reader's: a short actix-session key (made by sealed-session-actix's
    // `LegacyKey`, so by hand here), and an old name that is the new one's.
    errors.push(ConfigError::LegacyKeyTooShort { len: 20, min: 64 });
    errors.push(
        lifecycle_builder(1, Mode::Encrypted)
            .cookie_name("id")
            .legacy_reader(OldIdCookies)
            .build()
            .expect_err("same name"),
    );
    // One of each variant (`Debug` is the message, so variants are told apart this way).
    let variants: std::collections::HashSet<_> =
        errors.iter().map(std::mem::discriminant).collect();
    assert_eq!(variants.len(), 13, "not every variant: {errors:?}");
    errors
}

/// A legacy reader of `id` cookies that reads none: its name is what `build` checks.
#[derive(Debug)]
struct OldIdCookies;

impl LegacyReader for OldIdCookies {
    fn name(&self) -> &str {
        "id"
    }
    fn path(&self) -> &str {
        "/"
    }
    fn domain(&self) -> Option<&str> {
        None
    }
    fn migrate(
        &self,
        _: &[&[u8]],
        _: &Codec,
        _: time::OffsetDateTime,
        _: RequestInfo<'_>,
    ) -> Option<SessionState> {
        None
    }
}

#[test]
fn config_errors_are_lowercase_unpunctuated_and_show_no_secret() {
    let mut forbidden = secret_forms(&[1, 2, 5]);
    forbidden.push(STANDARD.encode([b'x'; 40]));
    forbidden.push("xxxxxxxx".to_owned());
    for err in every_config_error() {
        let what = format!("{err:?}");
        check_message(&what, &err.to_string(), &forbidden);
        for f in &forbidden {
            assert!(!what.contains(f.as_str()), "Debug shows {f:?}: {what}");
        }
    }
}

#[test]
fn value_errors_are_lowercase_and_unpunctuated() {
    let mut state = SessionState::new(at(T0)).expect("randomness");
    state.insert("n", &300u32).expect("encodes");
    let err = state.get::<bool>("n").expect_err("wrong type");
    check_message("value", &err.to_string(), &[]);
    let err = "zz"
        .parse::<sealed_session::SessionId>()
        .expect_err("not hex");
    check_message("session id", &err.to_string(), &[]);
}

/// `Debug` of every type that holds keys or sessions shows no secret and no session content.
#[test]
fn debug_of_key_holders_shows_no_secret() {
    let forbidden = secret_forms(&[1, 2]);
    let key = secret(1);
    let ring = KeyRing::from_config(&format!("{},open-only:{}", b64(1), b64(2))).expect("valid");
    for mode in MODES {
        let codec = Codec::builder(ring.clone())
            .mode(mode)
            .build()
            .expect("valid");
        let cookie = codec.seal(&session(1, T0)).expect("fits");
        let opened = codec.open_at(&cookie, at(T0)).expect("opens");
        let lifecycle = SessionManager::builder(ring.clone())
            .mode(mode)
            .cookie_name("id")
            .build()
            .expect("valid");
        let request = lifecycle.open_at(
            [format!("id={cookie}").as_bytes()],
            sealed_session::adapter::RequestInfo::new("/"),
            at(T0),
        );
        assert_eq!(request.refusal(), None);
        let session_forbidden = [forbidden.clone(), cookie_forms(&cookie)].concat();
        for shown in [
            format!("{key:?}"),
            format!("{key:#?}"),
            format!("{ring:?}"),
            format!("{ring:#?}"),
            format!("{codec:?}"),
            format!("{codec:#?}"),
            format!("{:?}", Codec::builder(ring.clone())),
            format!("{opened:?}"),
            format!("{:?}", opened.state()),
            format!("{:?}", opened.state().subject_generation()),
            format!("{lifecycle:?}"),
            format!("{:?}", SessionManager::builder(ring.clone())),
            format!("{request:?}"),
        ] {
            for f in &session_forbidden {
                assert!(!shown.contains(f.as_str()), "shows {f:?}: {shown}");
            }
        }
        // What they do show: the key ids and the settings.
        assert!(format!("{codec:?}").contains(&ring.primary_id().to_string()));
        assert!(format!("{lifecycle:?}").contains(&ring.primary_id().to_string()));
        assert!(format!("{opened:?}").contains("email"));
    }
    assert_eq!(format!("{key:?}"), "SecretKey { len: 32, .. }");
}
