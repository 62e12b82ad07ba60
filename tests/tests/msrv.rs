//! The minimum supported Rust version holds for `Cargo.lock`: no locked package declares a
//! `rust-version` above the workspace's. Cargo's resolver picks such versions when it resolves,
//! but a lock written by an older Cargo, or by `cargo update --ignore-rust-version`, can hold one
//! (it did: actix-http 3.20, which needs 1.89), and CI, on the current stable toolchain, would
//! not notice.

use std::process::Command;

use serde_json::Value;

/// `major.minor[.patch]` as a comparable triple.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|_| panic!("not a version: {text:?}"))
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major, minor, patch)
}

#[test]
fn no_locked_package_needs_a_newer_rust_than_the_msrv() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata JSON");
    let packages = metadata["packages"].as_array().expect("a package list");
    let msrv = packages
        .iter()
        .find(|p| p["name"] == "sealed-session")
        .and_then(|p| p["rust_version"].as_str())
        .expect("the core crate declares a rust-version");

    let resolved: Vec<&str> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("a resolve graph")
        .iter()
        .filter_map(|node| node["id"].as_str())
        .collect();
    assert!(
        resolved.len() > 100,
        "the whole lock is read ({} packages)",
        resolved.len()
    );
    let too_new: Vec<String> = packages
        .iter()
        .filter(|p| resolved.contains(&p["id"].as_str().unwrap_or_default()))
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (version(needs) > version(msrv))
                .then(|| format!("{} {} needs {needs}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "Cargo.lock holds packages that need a newer Rust than the MSRV {msrv}: {too_new:?}; \
         run `cargo update` (it resolves for the MSRV) or raise rust-version, with the README's \
         policy"
    );
}

#[test]
fn versions_compare_as_numbers() {
    assert!(version("1.89") > version("1.88"));
    assert!(version("1.88.1") > version("1.88"));
    assert!(version("1.100") > version("1.99.9"));
    assert_eq!(version("1.88"), version("1.88.0"));
}
