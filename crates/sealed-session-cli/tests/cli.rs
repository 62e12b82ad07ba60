//! Tests that run the `sealed-session` binary: output, exit codes, files written, and that no
//! secret ever reaches standard output or standard error (except `keygen`'s own output).
//!
//! Sections: keygen; inspect of good, expired, forged, unknown-key and key-less cookies; inspect
//! of a session over several cookies (a whole header, several arguments, a missing or extra
//! chunk); rotate (stage, promote, retire, and each step refused when out of order); `--help`
//! everywhere.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sealed_session::adapter::RequestInfo;
use sealed_session::codec::Codec;
use sealed_session::revocation::Generation;
use sealed_session::{KeyRing, Mode, SecretKey, SessionManager};
use time::{Duration, OffsetDateTime};

/// The binary, with no key list inherited from the environment.
fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sealed-session"));
    command.env_remove("SESSION_KEYS");
    command
}

/// What a run printed and how it exited.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        Self {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Both streams, for "never printed" checks and failure messages.
    fn all(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }

    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.all());
        self
    }

    fn assert_stdout(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "no {needle:?} in\n{}",
            self.all()
        );
        self
    }

    fn assert_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "no {needle:?} in\n{}",
            self.all()
        );
        self
    }

    fn assert_no_secrets(&self, secrets: &[String]) -> &Self {
        for secret in secrets {
            assert!(
                !self.all().contains(secret.as_str()),
                "a secret leaked:\n{}",
                self.all()
            );
        }
        self
    }
}

fn run(command: &mut Command) -> Run {
    Run::of(command.output().expect("the binary runs"))
}

/// A fresh directory for one test, under cargo's per-target scratch space.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sealed-session-cli")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn secret() -> String {
    SecretKey::generate().to_base64().to_string()
}

/// The key id a secret derives.
fn key_id(secret: &str) -> String {
    KeyRing::from_config(secret)
        .expect("valid secret")
        .primary_id()
        .to_string()
}

/// 2030-01-01T00:00:00Z: "now" for tests whose output depends on the exact time, passed to the
/// binary as `--at` so that no second can tick between sealing and inspecting.
const T0: &str = "2030-01-01T00:00:00Z";

fn t0() -> OffsetDateTime {
    OffsetDateTime::parse(T0, &time::format_description::well_known::Rfc3339).expect("T0")
}

/// Seals a session holding a subject and a few typed values, created `age` before `now` and last
/// active `idle` before it, with `ring` in `mode` under cookie name `name`.
fn seal(
    ring: &KeyRing,
    mode: Mode,
    name: &str,
    now: OffsetDateTime,
    age: Duration,
    idle: Duration,
) -> String {
    let codec = Codec::builder(ring.clone())
        .mode(mode)
        .cookie_name(name)
        .build()
        .expect("valid codec");
    let mut session = codec.new_session(now - age).expect("randomness");
    session.set_subject("user-42", Generation::new(1_893_455_000_000_000));
    session.insert("user_id", &42u64).expect("encodes");
    session.insert("name", "alice").expect("encodes");
    session.insert("admin", &true).expect("encodes");
    session.insert("cart", &vec![(1u8, 2u8)]).expect("encodes");
    session.touch(now - idle);
    codec.seal(&session).expect("fits")
}

/// Created 30 minutes before [`T0`], last active 5 minutes before it.
fn fresh_cookie(ring: &KeyRing) -> String {
    seal(
        ring,
        Mode::Encrypted,
        "id",
        t0(),
        Duration::minutes(30),
        Duration::minutes(5),
    )
}

/// Entries of a key file as written by `rotate`: one per line, trailing comma.
fn entries(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .expect("key file")
        .lines()
        .map(|line| line.trim().trim_end_matches(',').to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

// keygen

#[test]
fn keygen_prints_one_secret_that_parses_and_runs_differ() {
    let first = run(bin().arg("keygen"));
    first.assert_code(0);
    assert!(first.stderr.is_empty(), "{}", first.all());
    let line = first.stdout.strip_suffix('\n').expect("newline-terminated");
    assert!(!line.contains('\n'), "one line only: {:?}", first.stdout);
    assert_eq!(line.len(), 44, "standard base64 of 32 bytes: {line}");
    SecretKey::from_base64(line).expect("keygen output is a valid secret");
    // Usable as the whole of SESSION_KEYS, as `SESSION_KEYS=$(sealed-session keygen)` makes it.
    KeyRing::from_config(&first.stdout).expect("keygen output is a valid key list");

    let second = run(bin().arg("keygen"));
    assert_ne!(first.stdout, second.stdout);
}

#[test]
fn keygen_count_prints_that_many_distinct_secrets() {
    let out = run(bin().args(["keygen", "--count", "3"]));
    out.assert_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        SecretKey::from_base64(line).expect("valid secret");
    }
    assert!(lines[0] != lines[1] && lines[1] != lines[2] && lines[0] != lines[2]);
    run(bin().args(["keygen", "--count", "0"])).assert_code(2);
}

// inspect

#[test]
fn inspect_shows_every_field_of_a_fresh_cookie() {
    let (primary, fallback) = (secret(), secret());
    let ring = KeyRing::from_config(&format!("{primary},{fallback}")).expect("ring");
    let cookie = fresh_cookie(&ring);
    let out = run(bin()
        .args(["inspect", &cookie, "--at", T0])
        .env("SESSION_KEYS", format!("{primary},{fallback}")));
    out.assert_code(0)
        .assert_stdout("cookie name  id")
        .assert_stdout("as of        2030-01-01T00:00:00Z")
        .assert_stdout("version      1")
        .assert_stdout("mode         encrypted")
        .assert_stdout(&format!("key id       {} (primary)", key_id(&primary)))
        .assert_stdout(&format!("`{}` (fallback)", key_id(&fallback)))
        .assert_stdout("session id   ")
        .assert_stdout("subject      \"user-42\" (generation 1893455000000000)")
        .assert_stdout("created      2029-12-31T23:30:00Z (30m ago)")
        .assert_stdout("last active  2029-12-31T23:55:00Z (5m ago)")
        .assert_stdout("idle         expires in 55m")
        .assert_stdout("absolute     expires in 23h 30m")
        .assert_stdout("expiry       idle applies: expires in 55m")
        .assert_stdout("status       accepted")
        .assert_stdout("data         4 value(s)")
        .assert_stdout("\"alice\" (string)")
        .assert_stdout("42 (integer)")
        .assert_stdout("true (bool)")
        .assert_stdout("[[1,2]] (array)")
        .assert_no_secrets(&[primary, fallback]);
    assert!(out.stderr.is_empty(), "{}", out.all());
}

#[test]
fn inspect_json_holds_the_same_facts() {
    let key = secret();
    let ring = KeyRing::from_config(&key).expect("ring");
    let cookie = seal(
        &ring,
        Mode::Signed,
        "sid",
        t0(),
        Duration::hours(2),
        Duration::minutes(1),
    );
    let out = run(bin()
        .args(["inspect", "--json", "--at", T0, &format!("sid={cookie}")])
        .env("SESSION_KEYS", &key));
    out.assert_code(0)
        .assert_no_secrets(std::slice::from_ref(&key));
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(json["cookie_name"], "sid");
    assert_eq!(json["header"]["version"], 1);
    assert_eq!(json["header"]["mode"], "signed");
    assert_eq!(json["header"]["key_id"], key_id(&key));
    assert_eq!(json["key_role"], "primary");
    assert_eq!(json["status"], "accepted");
    assert_eq!(json["session"]["subject"], "user-42");
    assert_eq!(
        json["session"]["subject_generation"],
        1_893_455_000_000_000u64
    );
    assert_eq!(json["session"]["ends_by"], "idle");
    assert_eq!(json["session"]["idle"]["expired"], false);
    assert_eq!(json["session"]["idle"]["seconds_left"], 59 * 60);
    assert_eq!(json["session"]["created"], "2029-12-31T22:00:00Z");
    assert_eq!(json["session"]["absolute"]["timeout_seconds"], 86_400);
    let data = json["session"]["data"].as_array().expect("data list");
    let user_id = data
        .iter()
        .find(|d| d["key"] == "user_id")
        .expect("user_id");
    assert_eq!(user_id["type"], "integer");
    assert_eq!(user_id["value"], 42);
    let name = data.iter().find(|d| d["key"] == "name").expect("name");
    assert_eq!(name["value"], "alice");
    assert_eq!(name["hex"], "a5616c696365");
}

#[test]
fn inspect_of_an_expired_cookie_shows_expired_and_exits_1() {
    let key = secret();
    let ring = KeyRing::from_config(&key).expect("ring");
    // Sealed with a clock two days behind the real one; inspected at the real time.
    let now = OffsetDateTime::now_utc();
    let cookie = seal(
        &ring,
        Mode::Encrypted,
        "id",
        now,
        Duration::days(2),
        Duration::days(2),
    );
    let out = run(bin().args(["inspect", &cookie]).env("SESSION_KEYS", &key));
    out.assert_code(1)
        .assert_stdout("idle         expired 1d 23h ago")
        .assert_stdout("absolute     expired 1d ago")
        .assert_stdout("expiry       idle applies: expired 1d 23h ago")
        .assert_stdout("status       refused (expired_absolute)")
        // Everything is still shown.
        .assert_stdout("subject      \"user-42\"")
        .assert_stdout("\"alice\" (string)")
        .assert_stderr(
            "error: the cookie is authentic, but a server with these settings refuses it",
        )
        .assert_stderr("absolute lifetime");

    // Longer timeouts, as the application may configure them, accept it.
    let at = now
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    run(bin()
        .args([
            "inspect",
            &cookie,
            "--idle-timeout",
            "3d",
            "--absolute-timeout",
            "7d",
        ])
        .args(["--at", &at])
        .env("SESSION_KEYS", &key))
    .assert_code(0)
    .assert_stdout("idle         expires in 1d (")
    .assert_stdout("timeout 3d)")
    .assert_stdout("absolute     expires in 5d (");
}

#[test]
fn inspect_of_a_forged_cookie_exits_1_and_still_shows_the_header() {
    let key = secret();
    let ring = KeyRing::from_config(&key).expect("ring");
    let cookie = fresh_cookie(&ring);
    let mut forged = cookie.into_bytes();
    let at = forged.len() - 5;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ASCII");
    let out = run(bin().args(["inspect", &forged]).env("SESSION_KEYS", &key));
    out.assert_code(1)
        .assert_stdout("version      1")
        .assert_stdout("mode         encrypted")
        .assert_stdout(&format!("key id       {} (primary)", key_id(&key)))
        .assert_stdout("status       not opened (forged)")
        .assert_stderr("failed authentication")
        .assert_stderr("hint: ")
        .assert_no_secrets(&[key]);
    assert!(!out.stdout.contains("user-42"), "{}", out.all());
}

/// Issue 20: a bare value was authenticated under `id` only, so a cookie pasted from an app on
/// the default `__Host-id` was reported as forged.
#[test]
fn issue_20_a_bare_value_is_tried_under_each_default_name_and_the_one_used_is_shown() {
    let key = secret();
    let ring = KeyRing::from_config(&key).expect("ring");
    let tried = ["__Host-id", "__Secure-id", "id"];
    for (index, name) in tried.iter().enumerate() {
        let cookie = seal(
            &ring,
            Mode::Encrypted,
            name,
            t0(),
            Duration::minutes(30),
            Duration::minutes(5),
        );
        let out = run(bin()
            .args(["inspect", "--at", T0, &cookie])
            .env("SESSION_KEYS", &key));
        out.assert_code(0)
            .assert_stdout(&format!("cookie name  {name} (not given"))
            .assert_stdout("`__Host-id`, `__Secure-id`, `id`, the one that authenticates it")
            .assert_stdout("status       accepted")
            .assert_no_secrets(std::slice::from_ref(&key));
        assert!(out.stderr.is_empty(), "{}", out.all());
        let out = run(bin()
            .args(["inspect", "--json", "--at", T0, &cookie])
            .env("SESSION_KEYS", &key));
        out.assert_code(0);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON object");
        assert_eq!(json["cookie_name"], *name);
        assert_eq!(json["cookie_name_given"], false);
        assert_eq!(
            json["cookie_names_tried"],
            serde_json::json!(tried[..=index])
        );
        // Given, the name is used alone, as before.
        let out = run(bin()
            .args([
                "inspect",
                "--json",
                "--at",
                T0,
                "--cookie-name",
                name,
                &cookie,
            ])
            .env("SESSION_KEYS", &key));
        out.assert_code(0);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON object");
        assert_eq!(json["cookie_name"], *name);
        assert_eq!(json["cookie_name_given"], true);
        assert_eq!(json["cookie_names_tried"], serde_json::json!([]));
    }
    // Under none of them: forged, with every default named and the flag suggested.
    let cookie = seal(
        &ring,
        Mode::Encrypted,
        "remember",
        t0(),
        Duration::minutes(30),
        Duration::minutes(5),
    );
    let out = run(bin()
        .args(["inspect", "--at", T0, &cookie])
        .env("SESSION_KEYS", &key));
    out.assert_code(1)
        .assert_stdout("cookie name  not given, and none of the library's default names")
        .assert_stderr("none of the library's default names (`__Host-id`, `__Secure-id`, `id`)")
        .assert_stderr("--cookie-name");
    let out = run(bin()
        .args(["inspect", "--json", "--at", T0, &cookie])
        .env("SESSION_KEYS", &key));
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(json["cookie_name"], serde_json::Value::Null);
    assert_eq!(json["cookie_names_tried"], serde_json::json!(tried));
    assert_eq!(json["error"]["reason"], "forged");
}

#[test]
fn inspect_under_another_cookie_name_fails_authentication() {
    let key = secret();
    let ring = KeyRing::from_config(&key).expect("ring");
    let cookie = fresh_cookie(&ring);
    run(bin()
        .args(["inspect", "--cookie-name", "remember", &cookie])
        .env("SESSION_KEYS", &key))
    .assert_code(1)
    .assert_stderr("failed authentication")
    .assert_stderr("`remember`");
    // The name in `name=value` and the flag must agree.
    run(bin()
        .args([
            "inspect",
            "--cookie-name",
            "remember",
            &format!("id={cookie}"),
        ])
        .env("SESSION_KEYS", &key))
    .assert_code(2)
    .assert_stderr("`--cookie-name` is `remember`");
}

#[test]
fn inspect_with_an_unknown_key_names_the_key_id_and_lists_the_ring() {
    let (sealer, other) = (secret(), secret());
    let cookie = fresh_cookie(&KeyRing::from_config(&sealer).expect("ring"));
    let out = run(bin().args(["inspect", &cookie]).env("SESSION_KEYS", &other));
    out.assert_code(1)
        .assert_stdout(&format!(
            "key id       {} (not in the key ring)",
            key_id(&sealer)
        ))
        .assert_stderr(&format!("sealed with key `{}`", key_id(&sealer)))
        .assert_stderr("not in the key ring")
        .assert_stderr(&format!("the ring holds `{}` (primary)", key_id(&other)))
        .assert_no_secrets(&[sealer, other]);
}

#[test]
fn inspect_without_keys_exits_2_naming_both_sources_and_shows_the_header() {
    let key = secret();
    let cookie = fresh_cookie(&KeyRing::from_config(&key).expect("ring"));
    let out = run(bin().args(["inspect", &cookie]));
    out.assert_code(2)
        .assert_stderr("SESSION_KEYS")
        .assert_stderr("--keys-file")
        .assert_stdout(&format!("key id       {} (no keys loaded)", key_id(&key)));
}

#[test]
fn inspect_reads_a_keys_file_with_comments_and_the_cookie_from_stdin() {
    let dir = scratch("inspect_keys_file");
    let (staged, primary, old) = (secret(), secret(), secret());
    let path = dir.join("keys");
    fs::write(
        &path,
        format!("# session keys, newest first\nopen-only:{staged}\n{primary}, {old} # old\n"),
    )
    .expect("write");
    // Sealed with the old key: opens as a fallback.
    let cookie = fresh_cookie(&KeyRing::from_config(&old).expect("ring"));
    let mut child = bin()
        .args(["inspect", "--at", T0, "--keys-file"])
        .arg(&path)
        .arg("-")
        .env("SESSION_KEYS", "not even base64") // the flag wins
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("id={cookie}\n").as_bytes())
        .expect("write cookie");
    let out = Run::of(child.wait_with_output().expect("wait"));
    out.assert_code(0)
        .assert_stdout(&format!("key id       {} (fallback)", key_id(&old)))
        .assert_stdout(&format!("`{}` (open-only)", key_id(&staged)))
        .assert_no_secrets(&[staged, primary, old]);
}

#[test]
fn inspect_refuses_a_bad_key_list_with_the_config_error() {
    let dir = scratch("inspect_bad_keys");
    let path = dir.join("keys");
    fs::write(&path, format!("{}\nc2hvcnQ=\n", secret())).expect("write");
    let cookie = fresh_cookie(&KeyRing::new(SecretKey::generate()));
    run(bin().args(["inspect", &cookie, "--keys-file"]).arg(&path))
        .assert_code(2)
        .assert_stderr("is not a valid key ring (line 2)")
        .assert_stderr("session secret is 5 bytes long, at least 32 are required");
    run(bin()
        .args(["inspect", &cookie])
        .env("SESSION_KEYS", "open-only:AAAA"))
    .assert_code(2)
    .assert_stderr("environment variable `SESSION_KEYS` is not a valid key ring");
}

#[test]
fn inspect_with_the_other_mode_is_refused_as_a_mode_mismatch() {
    let key = secret();
    let cookie = fresh_cookie(&KeyRing::from_config(&key).expect("ring"));
    run(bin()
        .args(["inspect", "--mode", "signed", &cookie])
        .env("SESSION_KEYS", &key))
    .assert_code(1)
    .assert_stdout("mode         encrypted (the server expects signed)")
    .assert_stdout("status       refused (mode_mismatch)")
    .assert_stderr("hint: omit `--mode`");
}

#[test]
fn inspect_of_garbage_exits_1_as_malformed() {
    run(bin()
        .args(["inspect", "hello"])
        .env("SESSION_KEYS", secret()))
    .assert_code(1)
    .assert_stdout("status       not opened (malformed)")
    .assert_stderr("malformed");
}

#[test]
fn inspect_refuses_bad_timeouts_and_times() {
    let cookie = fresh_cookie(&KeyRing::new(SecretKey::generate()));
    run(bin().args(["inspect", &cookie, "--idle-timeout", "soon"]))
        .assert_code(2)
        .assert_stderr("invalid value 'soon' for '--idle-timeout <DURATION>'")
        .assert_stderr("use whole seconds");
    run(bin().args(["inspect", &cookie, "--idle-timeout", "2d"]))
        .assert_code(2)
        .assert_stderr("is longer than `--absolute-timeout`");
    run(bin().args(["inspect", &cookie, "--at", "yesterday"]))
        .assert_code(2)
        .assert_stderr("RFC 3339");
}

#[test]
fn inspect_at_a_given_time_judges_expiry_then() {
    let key = secret();
    let cookie = fresh_cookie(&KeyRing::from_config(&key).expect("ring"));
    run(bin()
        .args(["inspect", &cookie, "--at", "2030-01-01T00:55:00Z"])
        .env("SESSION_KEYS", &key))
    .assert_code(1)
    .assert_stdout("idle         expired just now")
    .assert_stdout("status       refused (expired_idle)");
}

// inspect of a session over several cookies

/// The `name=value` pairs of a session of about 5,000 bytes that the library, allowed three
/// cookies (`max_cookies(3)`), splits over `__Host-id` and `__Host-id-1`; and its id.
fn chunked_session(key: &str) -> (Vec<String>, String) {
    let sessions = SessionManager::builder(KeyRing::from_config(key).expect("ring"))
        .max_cookies(3)
        .build()
        .expect("valid settings");
    let session = sessions.attach([], RequestInfo::new("/"));
    session
        .insert("tokens", "t".repeat(5_000))
        .expect("fits three cookies");
    let id = session.id().expect("a session").to_string();
    let cookies = session.finish().expect("sealed");
    // The session's cookies, without the removal of `__Host-id-2`, which it does not use.
    let pairs: Vec<String> = cookies
        .headers()
        .filter(|header| !header.contains("Max-Age=0"))
        .map(|header| header.split(';').next().expect("name=value").to_owned())
        .collect();
    assert_eq!(pairs.len(), 2, "two cookies");
    assert!(pairs[0].starts_with("__Host-id=2."), "{}", pairs[0]);
    assert!(pairs[1].starts_with("__Host-id-1="), "{}", pairs[1]);
    (pairs, id)
}

#[test]
fn inspect_joins_a_session_over_several_cookies_given_as_its_cookie_header() {
    let key = secret();
    let (pairs, id) = chunked_session(&key);
    // As a browser may send it: chunks in another order, other cookies around them.
    let header = format!("theme=dark; {}; {}; lang=en", pairs[1], pairs[0]);
    let out = run(bin()
        .args(["inspect", "--cookie-name", "__Host-id", &header])
        .env("SESSION_KEYS", &key));
    out.assert_code(0)
        .assert_stdout("cookie name  __Host-id")
        .assert_stdout("cookies      2 (`__Host-id`, `__Host-id-1`)")
        .assert_stdout(&format!("session id   {id}"))
        .assert_stdout("status       accepted")
        .assert_stdout("data         1 value(s), 5003 bytes")
        .assert_no_secrets(std::slice::from_ref(&key));
    assert!(out.stderr.is_empty(), "{}", out.all());
    // Its cookies as arguments, the name found from them; and the header from standard input,
    // as copied with its `Cookie:` name.
    run(bin()
        .args(["inspect", "--json", &pairs[1], &pairs[0]])
        .env("SESSION_KEYS", &key))
    .assert_code(0)
    .assert_stdout("\"cookies\": 2")
    .assert_stdout("\"cookie_name\": \"__Host-id\"");
    let mut child = bin()
        .args(["inspect", "-"])
        .env("SESSION_KEYS", &key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("Cookie: {}; {}\n", pairs[0], pairs[1]).as_bytes())
        .expect("write cookies");
    Run::of(child.wait_with_output().expect("wait"))
        .assert_code(0)
        .assert_stdout("cookies      2 (");
    // The single-cookie forms say so too.
    let single = fresh_cookie(&KeyRing::from_config(&key).expect("ring"));
    run(bin()
        .args(["inspect", "--at", T0, &format!("id={single}")])
        .env("SESSION_KEYS", &key))
    .assert_code(0)
    .assert_stdout("cookies      1\n");
}

#[test]
fn inspect_joins_a_session_past_8_kib_over_three_cookies() {
    let key = secret();
    let sessions = SessionManager::builder(KeyRing::from_config(&key).expect("ring"))
        .max_cookies(3)
        .cookie_header_budget(16_384)
        .build()
        .expect("valid settings");
    let session = sessions.attach([], RequestInfo::new("/"));
    session
        .insert("tokens", "t".repeat(9_000))
        .expect("fits three cookies");
    let cookies = session.finish().expect("sealed");
    let header = cookies
        .headers()
        .map(|header| header.split(';').next().expect("name=value"))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(header.len() > 12_000, "past what one value may hold");
    run(bin().args(["inspect", &header]).env("SESSION_KEYS", &key))
        .assert_code(0)
        .assert_stdout("cookies      3 (`__Host-id`, `__Host-id-1`, `__Host-id-2`)")
        .assert_stdout("mode         encrypted")
        .assert_stdout("status       accepted");
}

#[test]
fn inspect_refuses_a_missing_or_extra_chunk_with_its_reason() {
    let key = secret();
    let (pairs, _) = chunked_session(&key);
    let out = run(bin().args(["inspect", &pairs[0]]).env("SESSION_KEYS", &key));
    out.assert_code(1)
        .assert_stdout("status       not opened (missing_chunk)")
        .assert_stderr("error: cannot open the cookie: the session's cookie chunk 1 is missing")
        .assert_stderr("hint: pass every cookie of the session")
        .assert_stderr("`__Host-id-1=…`");
    assert!(!out.stdout.contains("cookies "), "{}", out.all());

    let header = format!("{}; {}; __Host-id-2=AAAA", pairs[0], pairs[1]);
    run(bin().args(["inspect", &header]).env("SESSION_KEYS", &key))
        .assert_code(1)
        .assert_stdout("status       not opened (extra_chunk)")
        .assert_stderr("a session cookie chunk 2 came past the number the session announces")
        .assert_stderr("hint: `__Host-id-2` is not one of this session's cookies");

    // The chunks swapped: they join, and do not authenticate.
    let (first, second) = (
        &pairs[0]["__Host-id=2.".len()..],
        &pairs[1]["__Host-id-1=".len()..],
    );
    run(bin()
        .args([
            "inspect",
            &format!("__Host-id=2.{second}"),
            &format!("__Host-id-1={first}"),
        ])
        .env("SESSION_KEYS", &key))
    .assert_code(1)
    .assert_stdout("status       not opened (");
    // Joined by hand into one value, the count (bound into the authentication) is lost.
    run(bin()
        .args(["inspect", &format!("__Host-id={first}{second}")])
        .env("SESSION_KEYS", &key))
    .assert_code(1)
    .assert_stdout("status       not opened (forged)");
}

#[test]
fn inspect_asks_which_cookie_when_the_input_does_not_say() {
    let key = secret();
    let (pairs, _) = chunked_session(&key);
    let header = format!("theme=dark; {}; {}", pairs[0], pairs[1]);
    run(bin().args(["inspect", &header]).env("SESSION_KEYS", &key))
        .assert_code(2)
        .assert_stderr("the input holds several cookies (`theme`, `__Host-id`)")
        .assert_stderr("--cookie-name");
    run(bin()
        .args(["inspect", "--cookie-name", "id", &header])
        .env("SESSION_KEYS", &key))
    .assert_code(2)
    .assert_stderr("no cookie named `id` in the input");
    run(bin()
        .args(["inspect", &pairs[0], "AAAA"])
        .env("SESSION_KEYS", &key))
    .assert_code(2)
    .assert_stderr("a bare cookie value among `name=value` pairs");
    run(bin()
        .args(["inspect", &format!("{}; __Host-id=AAAA", pairs[0])])
        .env("SESSION_KEYS", &key))
    .assert_code(2)
    .assert_stderr("2 different values of `__Host-id`");
}

// rotate

/// A key file holding `primary` then `old`, with a comment and loose permissions.
fn key_file(test: &str, primary: &str, old: &str) -> PathBuf {
    let path = scratch(test).join("session.keys");
    fs::write(&path, format!("# production keys\n{primary}\n{old}\n")).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    path
}

#[test]
fn rotate_stages_a_new_open_only_key_in_front() {
    let (primary, old) = (secret(), secret());
    let path = key_file("rotate_stage", &primary, &old);
    let out = run(bin().args(["rotate", "--keys-file"]).arg(&path));
    out.assert_code(0)
        .assert_stdout("staged new key `")
        .assert_stdout("as open-only")
        .assert_stdout("deploy this file everywhere")
        .assert_stdout("rotate --promote --keys-file")
        .assert_stdout("wait one absolute timeout")
        .assert_stdout("rotate --retire --keys-file")
        .assert_stderr("dropped 1 comment(s)")
        .assert_stderr("was mode 0644; it is now 0600");

    let after = entries(&path);
    assert_eq!(after.len(), 3, "{after:?}");
    let new = after[0]
        .strip_prefix("open-only:")
        .expect("first is open-only");
    SecretKey::from_base64(new).expect("a valid new secret");
    assert_eq!(
        after[1..],
        [primary.clone(), old.clone()],
        "others kept in order"
    );
    out.assert_no_secrets(&[new.to_owned(), primary.clone(), old]);
    assert!(out.stdout.contains(&key_id(new)), "{}", out.all());
    #[cfg(unix)]
    assert_eq!(mode_of(&path), 0o600);

    // The file is a valid SESSION_KEYS value as it is; the primary is unchanged.
    let ring = KeyRing::from_config(&fs::read_to_string(&path).expect("read")).expect("ring");
    assert_eq!(ring.primary_id().to_string(), key_id(&primary));
    // No temporary file is left behind.
    let dir = path.parent().expect("dir");
    assert_eq!(fs::read_dir(dir).expect("list").count(), 1);
}

#[test]
fn rotate_promote_then_retire_completes_the_runbook() {
    let (primary, old) = (secret(), secret());
    let path = key_file("rotate_runbook", &primary, &old);
    run(bin().args(["rotate", "--keys-file"]).arg(&path)).assert_code(0);
    let staged = entries(&path)[0]
        .strip_prefix("open-only:")
        .expect("staged")
        .to_owned();

    // Retiring before promoting would drop the key that still seals.
    run(bin().args(["rotate", "--retire", "--keys-file"]).arg(&path))
        .assert_code(2)
        .assert_stderr("still staged")
        .assert_stderr("--promote");
    // Staging twice is refused too.
    run(bin().args(["rotate", "--keys-file"]).arg(&path))
        .assert_code(2)
        .assert_stderr("already staged");

    let out = run(bin()
        .args(["rotate", "--promote", "--keys-file"])
        .arg(&path));
    out.assert_code(0)
        .assert_stdout(&format!("promoted key `{}` to primary", key_id(&staged)))
        .assert_stdout(&format!("`{}` is now a fallback", key_id(&primary)))
        .assert_stdout("rotate --retire --keys-file")
        .assert_no_secrets(&[staged.clone(), primary.clone(), old.clone()]);
    assert_eq!(
        entries(&path),
        [staged.clone(), primary.clone(), old.clone()]
    );
    #[cfg(unix)]
    assert_eq!(mode_of(&path), 0o600);

    // Nothing left to promote.
    run(bin()
        .args(["rotate", "--promote", "--keys-file"])
        .arg(&path))
    .assert_code(2)
    .assert_stderr("nothing to promote");

    let out = run(bin().args(["rotate", "--retire", "--keys-file"]).arg(&path));
    out.assert_code(0)
        .assert_stdout("retired 2 key(s)")
        .assert_stdout(&format!("`{}` (fallback)", key_id(&primary)))
        .assert_stdout(&format!("`{}` (fallback)", key_id(&old)))
        // Right after the promotion: the runbook's wait, and that the file just changed.
        .assert_stdout("was last changed")
        .assert_stdout("wait before deploying")
        .assert_stdout("one absolute timeout after the promotion is deployed everywhere")
        .assert_stdout("key_usage()")
        .assert_no_secrets(&[staged.clone(), primary, old]);
    assert_eq!(entries(&path), [staged]);

    run(bin().args(["rotate", "--retire", "--keys-file"]).arg(&path))
        .assert_code(0)
        .assert_stdout("nothing to retire");
}

#[test]
fn rotate_retire_long_after_the_promotion_only_recalls_the_wait() {
    let (primary, old) = (secret(), secret());
    let path = key_file("rotate_retire_late", &primary, &old);
    // Written two days ago, past the default absolute timeout.
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_modified(two_days_ago))
        .expect("set mtime");
    let out = run(bin().args(["rotate", "--retire", "--keys-file"]).arg(&path));
    out.assert_code(0)
        .assert_stdout("retired 1 key(s)")
        .assert_stdout("wait before deploying");
    assert!(!out.stdout.contains("was last changed"), "{}", out.stdout);
}

#[test]
fn rotate_refuses_an_invalid_or_missing_file_and_leaves_it_alone() {
    let dir = scratch("rotate_invalid");
    let path = dir.join("keys");
    let key = secret();
    let text = format!("{key}\n{key}\n");
    fs::write(&path, &text).expect("write");
    run(bin().args(["rotate", "--keys-file"]).arg(&path))
        .assert_code(2)
        .assert_stderr("is not a valid key ring (lines 1 and 2)")
        .assert_stderr("the same secret is listed twice")
        .assert_no_secrets(&[key]);
    assert_eq!(fs::read_to_string(&path).expect("read"), text);

    run(bin()
        .args(["rotate", "--keys-file"])
        .arg(dir.join("missing")))
    .assert_code(2)
    .assert_stderr("cannot read key file")
    .assert_stderr("hint: create it with `(umask 077; sealed-session keygen >");

    run(bin()
        .args(["rotate", "--promote", "--retire", "--keys-file"])
        .arg(&path))
    .assert_code(2);
}

// help

#[test]
fn help_works_for_every_command_and_documents_exit_codes() {
    for args in [
        &["--help"][..],
        &["keygen", "--help"],
        &["inspect", "--help"],
        &["rotate", "--help"],
        &["help", "inspect"],
    ] {
        let out = run(bin().args(args));
        out.assert_code(0)
            .assert_stdout("Usage: sealed-session")
            .assert_stdout("Exit codes:");
    }
    run(bin().args(["inspect", "--help"]))
        .assert_stdout("SESSION_KEYS")
        .assert_stdout("--keys-file");
    run(bin().args(["rotate", "--help"])).assert_stdout("open-only:");
    run(&mut bin()).assert_code(2);
    run(bin().arg("frobnicate")).assert_code(2);
}
