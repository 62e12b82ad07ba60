//! The key ring: the primary key seals, every key opens.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use zeroize::Zeroizing;

use crate::derive::Subkeys;
use crate::error::ConfigError;
use crate::key::{KeyId, SecretKey};
use crate::xchacha::XChaChaKey;

/// Prefix of a key-list entry that may open cookies but must not seal them yet.
///
/// Used for the first step of a rotation: every instance learns the new key before any of them
/// seals with it, so a rolling deploy logs no one out.
pub const OPEN_ONLY_PREFIX: &str = "open-only:";

/// What a key in the ring is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyRole {
    /// Seals new cookies and opens them. Exactly one key has this role.
    Primary,
    /// An older key: opens cookies sealed before a rotation; cookies it opens should be re-sealed
    /// with the primary.
    Fallback,
    /// A newer key staged for a rotation: opens cookies that instances already promoted to it
    /// sealed, but seals nothing here yet.
    OpenOnly,
}

/// One key of a ring, with its derived subkeys.
pub(crate) struct RingKey {
    pub(crate) id: KeyId,
    pub(crate) role: KeyRole,
    pub(crate) cipher: XChaChaKey,
    pub(crate) sign: Zeroizing<[u8; 32]>,
    /// HMAC-SHA256 key of a shared revocation store's entries
    /// ([`RevocationMac`](crate::revocation::RevocationMac)).
    pub(crate) revocation_mac: Zeroizing<[u8; 32]>,
}

/// An ordered set of keys: the primary seals, all of them open.
///
/// Built from configuration in one call: [`KeyRing::from_config`] takes a comma-separated list
/// of base64 secrets, newest first (the first entry not marked `open-only:` is the primary),
/// [`KeyRing::from_env`] reads that list from an environment variable, and the `Deserialize`
/// impl accepts the same string or a list of such entries from a config file.
///
/// Cloning is cheap (the keys are shared and never copied).
///
/// ```
/// use sealed_session::keys::KeyRole;
/// use sealed_session::{KeyRing, SecretKey};
///
/// let (new, old) = (SecretKey::generate(), SecretKey::generate());
/// // Step 1 of a rotation: every instance can open cookies of the new key...
/// let staged = KeyRing::from_config(&format!("open-only:{},{}", *new.to_base64(), *old.to_base64()))?;
/// assert_eq!(staged.role_of(staged.primary_id()), Some(KeyRole::Primary));
/// // ...step 2: the new key is promoted, the old one still opens.
/// let promoted = KeyRing::from_config(&format!("{},{}", *new.to_base64(), *old.to_base64()))?;
/// assert_eq!(promoted.primary_id(), staged.ids()[0]);
///
/// // The same secret twice is refused.
/// let twice = format!("{},{}", *old.to_base64(), *old.to_base64());
/// assert!(KeyRing::from_config(&twice).is_err());
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<[Arc<RingKey>]>,
    primary: usize,
}

impl KeyRing {
    /// A ring of one key, which seals and opens.
    pub fn new(primary: SecretKey) -> Self {
        // One key can't collide with itself and is the primary: the checks can't fail.
        Self::from_entries(vec![(primary, false)]).expect("a single key is a valid ring")
    }

    /// A ring of keys, newest first: the first seals, all open.
    ///
    /// # Errors
    /// [`ConfigError::EmptyKeyRing`] or [`ConfigError::DuplicateKeyId`].
    pub fn from_keys(keys: impl IntoIterator<Item = SecretKey>) -> Result<Self, ConfigError> {
        Self::from_entries(keys.into_iter().map(|k| (k, false)).collect())
    }

    /// Adds a key that opens but does not seal (step 1 of a rotation), in front of the others.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateKeyId`] if the key is already in the ring.
    pub fn with_open_only(&self, key: SecretKey) -> Result<Self, ConfigError> {
        let subkeys = Subkeys::derive(&key);
        let mut keys = vec![Arc::new(ring_key(&subkeys, KeyRole::OpenOnly))];
        keys.extend(self.keys.iter().cloned());
        check_unique(&keys)?;
        Ok(Self {
            primary: self.primary + 1,
            keys: keys.into(),
        })
    }

    /// Parses a key list: base64 secrets separated by commas or newlines, newest first. An
    /// entry prefixed with `open-only:` opens but does not seal; the first entry without it is
    /// the primary. Blank entries and surrounding whitespace are ignored (so a key file with
    /// one key per line, with or without trailing commas, works as it is).
    ///
    /// # Errors
    /// Any [`ConfigError`] about secrets or rings, naming the entry by position.
    pub fn from_config(list: &str) -> Result<Self, ConfigError> {
        Self::from_config_entries(list.split([',', '\n']))
    }

    /// Reads the key list of [`KeyRing::from_config`] from environment variable `name`.
    ///
    /// # Errors
    /// [`ConfigError::MissingEnvVar`] if it is unset, else as [`KeyRing::from_config`].
    pub fn from_env(name: &str) -> Result<Self, ConfigError> {
        let value =
            std::env::var(name)
                .map(Zeroizing::new)
                .map_err(|_| ConfigError::MissingEnvVar {
                    name: name.to_owned(),
                })?;
        Self::from_config(&value)
    }

    fn from_config_entries<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ConfigError> {
        let mut parsed = Vec::new();
        // Positions count every entry as written, blank ones too, so errors point at the
        // right place in the operator's list.
        for (index, entry) in entries
            .into_iter()
            .map(str::trim)
            .enumerate()
            .filter(|(_, e)| !e.is_empty())
        {
            let (text, open_only) = match entry.strip_prefix(OPEN_ONLY_PREFIX) {
                Some(rest) => (rest, true),
                None => (entry, false),
            };
            parsed.push((SecretKey::from_base64_entry(text, index)?, open_only));
        }
        Self::from_entries(parsed)
    }

    fn from_entries(entries: Vec<(SecretKey, bool)>) -> Result<Self, ConfigError> {
        if entries.is_empty() {
            return Err(ConfigError::EmptyKeyRing);
        }
        let primary = entries
            .iter()
            .position(|(_, open_only)| !open_only)
            .ok_or(ConfigError::NoPrimaryKey)?;
        let keys: Vec<Arc<RingKey>> = entries
            .iter()
            .enumerate()
            .map(|(i, (secret, open_only))| {
                let role = match (*open_only, i.cmp(&primary)) {
                    (true, _) => KeyRole::OpenOnly,
                    (false, std::cmp::Ordering::Equal) => KeyRole::Primary,
                    (false, _) => KeyRole::Fallback,
                };
                Arc::new(ring_key(&Subkeys::derive(secret), role))
            })
            .collect();
        check_unique(&keys)?;
        Ok(Self {
            keys: keys.into(),
            primary,
        })
    }

    /// The id of the key that seals.
    pub fn primary_id(&self) -> KeyId {
        self.keys[self.primary].id
    }

    /// Every key id, in configuration order.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(|k| k.id).collect()
    }

    /// The role of the key with this id, or `None` if it is not in the ring.
    pub fn role_of(&self, id: KeyId) -> Option<KeyRole> {
        self.find(id).map(|k| k.role)
    }

    /// The keys that authenticate what a shared revocation store (e.g. Redis) holds: the
    /// primary tags, every key of the ring verifies, so a rotation keeps older tags valid. Each
    /// is derived from its secret with its own HKDF label, independent of the cookie keys.
    ///
    /// ```
    /// use sealed_session::{KeyRing, SecretKey};
    ///
    /// let (old, new) = (SecretKey::generate(), SecretKey::generate());
    /// let before = KeyRing::new(old.clone()).revocation_mac();
    /// let tag = before.tag(b"revoked: session 42");
    /// // After a rotation, the new primary tags and the old key still verifies.
    /// let after = KeyRing::from_keys([new, old])?.revocation_mac();
    /// assert!(after.verify(b"revoked: session 42", &tag));
    /// assert!(!after.verify(b"revoked: session 43", &tag), "bound to the data");
    /// assert!(!KeyRing::new(SecretKey::generate()).revocation_mac().verify(b"revoked: session 42", &tag));
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    #[doc(alias = "hmac")]
    pub fn revocation_mac(&self) -> crate::revocation::RevocationMac {
        crate::revocation::RevocationMac::new(self.clone())
    }

    /// Every key, in configuration order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &RingKey> {
        self.keys.iter().map(|k| &**k)
    }

    pub(crate) fn primary(&self) -> &RingKey {
        &self.keys[self.primary]
    }

    /// Looks a key up by id. Rings hold a handful of keys, so a scan beats hashing.
    pub(crate) fn find(&self, id: KeyId) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.id == id).map(|k| &**k)
    }
}

fn ring_key(subkeys: &Subkeys, role: KeyRole) -> RingKey {
    RingKey {
        id: subkeys.key_id,
        role,
        cipher: XChaChaKey::new(&subkeys.encrypt),
        sign: Zeroizing::new(subkeys.sign),
        revocation_mac: Zeroizing::new(subkeys.revocation_mac),
    }
}

fn check_unique(keys: &[Arc<RingKey>]) -> Result<(), ConfigError> {
    for (second, key) in keys.iter().enumerate() {
        if let Some(first) = keys[..second].iter().position(|k| k.id == key.id) {
            return Err(ConfigError::DuplicateKeyId {
                key_id: key.id,
                first,
                second,
            });
        }
    }
    Ok(())
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for key in self.keys.iter() {
            list.entry(&format_args!("{} ({:?})", key.id, key.role));
        }
        list.finish()
    }
}

/// Accepts the string form of [`KeyRing::from_config`] or a list of such entries:
///
/// ```
/// use sealed_session::{KeyRing, SecretKey};
///
/// #[derive(serde::Deserialize)]
/// struct Config { session_keys: KeyRing }
///
/// let (a, b) = (SecretKey::generate(), SecretKey::generate());
/// let json = format!(r#"{{"session_keys": ["{}", "{}"]}}"#, *a.to_base64(), *b.to_base64());
/// let config: Config = serde_json::from_str(&json)?;
/// assert_eq!(config.session_keys.ids().len(), 2);
/// # Ok::<(), serde_json::Error>(())
/// ```
impl<'de> Deserialize<'de> for KeyRing {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RingVisitor;

        impl<'de> Visitor<'de> for RingVisitor {
            type Value = KeyRing;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a comma-separated string or a list of base64 session secrets")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<KeyRing, E> {
                KeyRing::from_config(value).map_err(E::custom)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyRing, A::Error> {
                let mut entries: Vec<Zeroizing<String>> = Vec::new();
                while let Some(entry) = seq.next_element::<String>()? {
                    entries.push(Zeroizing::new(entry));
                }
                KeyRing::from_config_entries(entries.iter().map(|e| e.as_str()))
                    .map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_any(RingVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(key: &SecretKey) -> String {
        key.to_base64().to_string()
    }

    #[test]
    fn first_key_is_primary_and_rest_are_fallbacks() {
        let (a, b, c) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        let ring =
            KeyRing::from_config(&format!(" {} ,{}\n{},\n", b64(&a), b64(&b), b64(&c))).unwrap();
        let ids = ring.ids();
        assert_eq!(ids.len(), 3);
        assert_eq!(ring.primary_id(), ids[0]);
        assert_eq!(ring.role_of(ids[1]), Some(KeyRole::Fallback));
        assert_eq!(ring.role_of(ids[2]), Some(KeyRole::Fallback));
    }

    #[test]
    fn open_only_entries_are_staged() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        let ring = KeyRing::from_config(&format!("open-only:{},{}", b64(&a), b64(&b))).unwrap();
        let ids = ring.ids();
        assert_eq!(ring.role_of(ids[0]), Some(KeyRole::OpenOnly));
        assert_eq!(ring.primary_id(), ids[1]);

        let staged = KeyRing::new(b.clone()).with_open_only(a).unwrap();
        assert_eq!(staged.ids(), ids);
        assert_eq!(staged.primary_id(), ids[1]);
        assert_eq!(
            KeyRing::from_config(&format!("open-only:{}", b64(&b))).unwrap_err(),
            ConfigError::NoPrimaryKey
        );
    }

    #[test]
    fn bad_lists_are_refused_with_positions() {
        let a = SecretKey::generate();
        assert_eq!(
            KeyRing::from_config(" , ").unwrap_err(),
            ConfigError::EmptyKeyRing
        );
        assert_eq!(
            KeyRing::from_config(&format!("{},%%%", b64(&a))).unwrap_err(),
            ConfigError::SecretNotBase64 { index: 1 }
        );
        let err = KeyRing::from_config(&format!("{},{}", b64(&a), b64(&a))).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::DuplicateKeyId {
                first: 0,
                second: 1,
                ..
            }
        ));
        assert!(err.to_string().contains("listed twice"));
        assert!(matches!(
            KeyRing::from_config("c2hvcnQ=").unwrap_err(),
            ConfigError::SecretTooShort { len: 5, .. }
        ));
    }

    /// Which case [`from_env_in_a_child_process`] checks.
    const CHILD_CASE: &str = "SEALED_SESSION_TEST_FROM_ENV_CASE";
    /// What [`from_env_in_a_child_process`] prints once it checked its case, so that the parent
    /// knows the child ran the check and didn't just return.
    const CHILD_CHECKED: &str = "from_env case checked: ";

    /// Two fixed secrets and the key list the "present" case reads: `b` staged, `a` primary.
    fn env_fixture() -> (SecretKey, SecretKey, String) {
        let a = SecretKey::from_bytes(&sealed_session_test_support::secret_bytes(10)).unwrap();
        let b = SecretKey::from_bytes(&sealed_session_test_support::secret_bytes(11)).unwrap();
        let list = format!("open-only:{}\n{},", b64(&b), b64(&a));
        (a, b, list)
    }

    #[test]
    fn env_var_is_read_and_missing_one_named() {
        let err = KeyRing::from_env("SEALED_SESSION_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(
            err,
            ConfigError::MissingEnvVar {
                name: "SEALED_SESSION_TEST_SURELY_UNSET".into()
            }
        );
        assert!(err.to_string().contains("SEALED_SESSION_TEST_SURELY_UNSET"));
        // Setting a variable in this process would be `unsafe` (other test threads read the
        // environment meanwhile), which the workspace forbids. So each other case runs in a
        // child process of this test binary, started with its own variable (one name per case).
        let (_, _, list) = env_fixture();
        let mut cases: Vec<(&str, &str, std::ffi::OsString)> = vec![
            (
                "present",
                "SEALED_SESSION_TEST_FROM_ENV_PRESENT",
                list.into(),
            ),
            (
                "malformed",
                "SEALED_SESSION_TEST_FROM_ENV_MALFORMED",
                "%%%,open-only:".into(),
            ),
        ];
        #[cfg(unix)]
        cases.push((
            "non_utf8",
            "SEALED_SESSION_TEST_FROM_ENV_NON_UTF8",
            std::os::unix::ffi::OsStringExt::from_vec(b"x\xff\xfe".to_vec()),
        ));
        let child_test = concat!(module_path!(), "::from_env_in_a_child_process")
            .split_once("::")
            .map(|(_crate, path)| path)
            .unwrap();
        for (case, name, value) in cases {
            let output = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", child_test, "--ignored", "--nocapture"])
                .env(CHILD_CASE, case)
                .env(name, value)
                .output()
                .unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
            assert!(
                output.status.success() && stdout.contains(&format!("{CHILD_CHECKED}{case}")),
                "case `{case}`: {}\n{stdout}\n{stderr}",
                output.status
            );
        }
    }

    #[test]
    #[ignore = "run by `env_var_is_read_and_missing_one_named` in a child process"]
    fn from_env_in_a_child_process() {
        let Ok(case) = std::env::var(CHILD_CASE) else {
            return; // Not started by the parent test: nothing to check.
        };
        match case.as_str() {
            "present" => {
                let (a, b, _) = env_fixture();
                let ring = KeyRing::from_env("SEALED_SESSION_TEST_FROM_ENV_PRESENT").unwrap();
                let (a, b) = (KeyRing::new(a).primary_id(), KeyRing::new(b).primary_id());
                assert_eq!(ring.ids(), [b, a]);
                assert_eq!(ring.primary_id(), a);
                assert_eq!(ring.role_of(b), Some(KeyRole::OpenOnly));
            }
            // A value that is set but wrong is reported as what is wrong with it, not as unset.
            "malformed" => assert_eq!(
                KeyRing::from_env("SEALED_SESSION_TEST_FROM_ENV_MALFORMED").unwrap_err(),
                ConfigError::SecretNotBase64 { index: 0 }
            ),
            "non_utf8" => assert_eq!(
                KeyRing::from_env("SEALED_SESSION_TEST_FROM_ENV_NON_UTF8").unwrap_err(),
                ConfigError::MissingEnvVar {
                    name: "SEALED_SESSION_TEST_FROM_ENV_NON_UTF8".into()
                }
            ),
            other => panic!("unknown case `{other}`"),
        }
        println!("{CHILD_CHECKED}{case}");
    }

    #[test]
    fn debug_shows_ids_not_secrets() {
        let a = SecretKey::generate();
        let ring = KeyRing::new(a.clone());
        let shown = format!("{ring:?}");
        assert!(shown.contains(&ring.primary_id().to_string()));
        assert!(!shown.contains(&b64(&a)));
    }

    #[test]
    fn deserializes_from_string_and_list() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        let from_str: KeyRing =
            serde_json::from_str(&format!("\"{},open-only:{}\"", b64(&a), b64(&b))).unwrap();
        let from_list: KeyRing =
            serde_json::from_str(&format!("[\"{}\",\"open-only:{}\"]", b64(&a), b64(&b))).unwrap();
        assert_eq!(from_str.ids(), from_list.ids());
        assert_eq!(
            from_list.role_of(from_list.ids()[1]),
            Some(KeyRole::OpenOnly)
        );
        let err = serde_json::from_str::<KeyRing>("\"abc\"").unwrap_err();
        assert!(err.to_string().contains("keygen"), "{err}");
    }
}
