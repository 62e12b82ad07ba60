//! The random source behind `dangerous()`: the same source seals the same cookies, the default
//! one never repeats a nonce, and every id and nonce the lifecycle draws comes from its source.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use sealed_session::adapter::InsertError;
use sealed_session::codec::{Codec, NONCE_LEN, RandomSource};
use sealed_session::{KeyRing, Mode, RenewError, SealError, SessionId, SessionStatus};

use crate::{MODES, T0, at, decode, lifecycle_builder, secret, sessions, set_value};

/// Bytes before the nonce in an encrypted cookie: version, mode, key id.
const HEADER_LEN: usize = 6;

/// 1, 2, 3, ... (wrapping): the same bytes from every fresh one.
#[derive(Debug, Default)]
struct Counter(Mutex<u8>);

impl RandomSource for Counter {
    fn fill(&self, dest: &mut [u8]) -> Result<(), SealError> {
        let mut next = self.0.lock().expect("not poisoned");
        for byte in dest {
            *next = next.wrapping_add(1);
            *byte = *next;
        }
        Ok(())
    }
}

/// A generator that always fails.
#[derive(Debug)]
struct Broken;

impl RandomSource for Broken {
    fn fill(&self, _: &mut [u8]) -> Result<(), SealError> {
        Err(SealError::Randomness)
    }
}

fn counting_codec(mode: Mode) -> Codec {
    Codec::builder(KeyRing::new(secret(1)))
        .mode(mode)
        .dangerous()
        .random_source(Arc::new(Counter::default()))
        .build()
        .expect("valid settings")
}

#[test]
fn the_same_source_seals_the_same_cookie() {
    for mode in MODES {
        let cookies: Vec<String> = (0..2)
            .map(|_| {
                let codec = counting_codec(mode);
                let mut state = codec.new_session(at(T0)).expect("an id");
                state.insert("user_id", &42u64).expect("encodes");
                codec.seal(&state).expect("fits")
            })
            .collect();
        assert_eq!(cookies[0], cookies[1], "{mode:?}");
        let state = counting_codec(mode)
            .open_at(&cookies[0], at(T0))
            .expect("opens")
            .into_state();
        // The id is the source's first 16 bytes, and the nonce its next 24.
        let first: Vec<u8> = (1..=16).collect();
        assert_eq!(state.id().as_bytes().as_slice(), first, "{mode:?}");
        if mode == Mode::Encrypted {
            let nonce: Vec<u8> = (17..17 + 24).collect();
            assert_eq!(
                &decode(&cookies[0])[HEADER_LEN..HEADER_LEN + NONCE_LEN],
                nonce
            );
        }
    }
}

#[test]
fn the_default_source_draws_a_new_nonce_and_id_every_time() {
    let codec = Codec::new(KeyRing::new(secret(1)));
    let state = codec.new_session(at(T0)).expect("an id");
    let nonces: HashSet<Vec<u8>> = (0..8)
        .map(|_| {
            let cookie = codec.seal(&state).expect("fits");
            decode(&cookie)[HEADER_LEN..HEADER_LEN + NONCE_LEN].to_vec()
        })
        .collect();
    assert_eq!(nonces.len(), 8, "eight seals, eight nonces");
    let ids: HashSet<SessionId> = (0..8)
        .map(|_| codec.new_session(at(T0)).expect("an id").id())
        .collect();
    assert_eq!(ids.len(), 8);
    assert!(format!("{codec:?}").contains("SystemRandom"), "{codec:?}");
}

#[test]
fn the_lifecycle_draws_every_id_and_nonce_from_its_source() {
    // A session with a subject, sealed by a lifecycle on the OS generator...
    let good = sessions(lifecycle_builder(1, Mode::Encrypted));
    let mut request = good.request(None);
    request.sign_in("alice").expect("signed in");
    let cookie = set_value(&request.finish().expect("sealed"));

    // ... opened by one on the same key whose source always fails.
    let broken = sessions(
        lifecycle_builder(1, Mode::Encrypted)
            .dangerous()
            .random_source(Arc::new(Broken)),
    );
    assert!(format!("{:?}", broken.lifecycle).contains("Broken"));
    let mut fresh = broken.request(None);
    assert_eq!(fresh.insert("n", &1u8), Err(InsertError::Randomness));
    assert_eq!(fresh.sign_in("bob"), Err(RenewError::Randomness));
    assert_eq!(fresh.renew(), Err(RenewError::Randomness));
    assert!(fresh.state().is_none(), "no session without an id");

    let mut opened = broken.request(Some(&cookie));
    assert_eq!(opened.subject(), Some("alice"), "opening draws nothing");
    let id = opened.id();
    assert_eq!(opened.renew(), Err(RenewError::Randomness));
    assert_eq!(opened.reauthenticate(), Err(RenewError::Randomness));
    assert_eq!(opened.purge_other_sessions(), Err(RenewError::Randomness));
    assert_eq!(opened.sign_in("alice"), Err(RenewError::Randomness));
    assert_eq!(
        (opened.id(), opened.status()),
        (id, SessionStatus::Unchanged)
    );
    opened
        .insert("n", &1u8)
        .expect("an existing session needs no id");
    assert_eq!(opened.finish(), Err(SealError::Randomness), "no nonce");
    assert!(broken.store.is_empty(), "nothing was revoked");

    // And a source that gives bytes gives the ids.
    let counting = sessions(
        lifecycle_builder(1, Mode::Encrypted)
            .dangerous()
            .random_source(Arc::new(Counter::default())),
    );
    let mut request = counting.request(None);
    request.insert("n", &1u8).expect("fits");
    let first: [u8; 16] = std::array::from_fn(|i| u8::try_from(i + 1).expect("small"));
    assert_eq!(request.id(), Some(SessionId::from_bytes(first)));
}
