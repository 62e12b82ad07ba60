#!/usr/bin/env bash
# Runs every check CI runs, in this order, stopping at the first failure:
#
#   fmt        cargo fmt --check
#   clippy     every target, warnings denied (clippy.toml's msrv checks APIs against rust-version)
#   features   clippy again on each published crate alone, once per feature set a user can pick
#              (the workspace build unifies features, so it never sees e.g. the actix crate
#              without `redis`); each library's doctests alone; one `rand` in each published
#              crate's dependencies; and the core crate without a backend must refuse to build
#              with its message
#   deny       licenses, bans and sources (deny.toml); advisories are not checked: their
#              database can't be fetched offline
#   doc        every crate's docs, all features, then each library alone with its defaults;
#              rustdoc's and Cargo's warnings denied
#   pure-rust  the core crate's tests with the `pure-rust` backend only (no ring)
#   test       every test of the workspace, with a private redis-server and headless Chromium
#   simulation the two random interleaving checkers again, optimized: the revocation
#              simulation over SIM_SEEDS worlds (default 64; the test step runs 8) and one
#              request's confirmations over CONFIRM_CASES cases of each driver (default
#              200,000; the test step runs 5,000), in about two and a half minutes
#   package    `cargo package` of each publishable crate, built from its .crate file (after the
#              tests, so their build is reused): it has README.md and license files that
#              match the top's
#   fuzz       each cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default 20)
#
# It installs what is missing (Debian's redis-server, chromium and chromium-driver through
# apt-get; cargo-fuzz and cargo-deny through `cargo install --locked`), so it runs on a fresh
# machine too, and prints one line per step with its duration at the end.
#
#   scripts/test.sh                      # everything
#   scripts/test.sh -p sealed-session    # only the tests: extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -gt 0 ]]; then
    scripts/ensure-chromium.sh
    exec scripts/with-redis.sh cargo test --workspace --locked "$@"
fi

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# The crates `cargo package` must accept (publish = false ones are left out).
PUBLISHED=(sealed-session sealed-session-actix sealed-session-tower sealed-session-redis sealed-session-cli)
# cargo-fuzz and cargo-deny, pinned so a new release can't change CI underneath us.
CARGO_FUZZ_VERSION=0.13.2
CARGO_DENY_VERSION=0.20.2

SUMMARY=()
CURRENT=
STARTED=0
# set -e stops the script at a step's first failing command; this says which step it was.
trap 'rc=$?; [[ $rc -ne 0 && -n $CURRENT ]] && echo "=== $CURRENT: FAILED (exit $rc) after $((SECONDS - STARTED)) s"' EXIT
step() {
    CURRENT=$1
    shift
    echo
    echo "=== $CURRENT: $*"
    STARTED=$SECONDS
    "$@"
    SUMMARY+=("$(printf '%-10s %5d s' "$CURRENT" $((SECONDS - STARTED)))")
    CURRENT=
}

# `cargo install` a tool unless its command is there already.
ensure_tool() {
    local crate=$1 version=$2
    if ! cargo "${crate#cargo-}" --version >/dev/null 2>&1; then
        echo "installing $crate $version (cargo install --locked) ..."
        cargo install --locked --quiet "$crate" --version "$version"
    fi
}

deny() {
    ensure_tool cargo-deny "$CARGO_DENY_VERSION"
    echo "(advisories are not checked: the advisory database can't be fetched offline)"
    cargo deny check licenses bans sources
}

doc() {
    local log=target/doc.log
    mkdir -p target
    # RUSTDOCFLAGS denies rustdoc's warnings; Cargo's own (two targets writing the same page)
    # are failed on here.
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --locked --workspace --no-deps --all-features 2>&1 |
        tee "$log"
    # Then each library alone with its default features, as docs.rs readers of a build without
    # a feature see it: a link to an item behind a feature breaks only there.
    local crate
    for crate in "${PUBLISHED[@]}"; do
        [[ $crate == sealed-session-cli ]] && continue # a binary: its documentation is --help
        RUSTDOCFLAGS="-D warnings" cargo doc --quiet --locked --no-deps -p "$crate" 2>&1 |
            tee -a "$log"
    done
    if grep -q '^warning' "$log"; then
        echo "cargo doc warned (above)"
        return 1
    fi
}

package() {
    local crate log=target/package.log
    mkdir -p target
    for crate in "${PUBLISHED[@]}"; do
        local dir=crates/$crate
        for license in LICENSE-MIT LICENSE-APACHE; do
            cmp -s "$license" "$dir/$license" || {
                echo "$dir/$license differs from ./$license: copy it again"
                return 1
            }
        done
        local list
        # Its warnings are noise here (the CLI has no documentation URL: it has no library), so
        # stderr is shown only on failure.
        list=$(cargo package --locked --allow-dirty --no-verify --list -p "$crate" 2>"$log") ||
            { cat "$log"; return 1; }
        for file in LICENSE-MIT LICENSE-APACHE README.md; do
            grep -qx "$file" <<<"$list" || {
                echo "$crate: $file is not in the package"
                return 1
            }
        done
        echo "$crate: $(wc -l <<<"$list") files, README.md and license files included"
    done
    # Together, so each finds the others' new versions before they are on crates.io; each is
    # then built from its .crate file, which is what a user's build would see. Cargo serves the
    # others from a local registry that it unpacks under CARGO_HOME, and keeps an unpacked
    # `name-version`, and its build in target/, as they are: left from an earlier run, they
    # would be the old code. So those copies of ours go first (no dependency from crates.io has
    # these names), and their builds (`cargo clean -p` removes every build of the name).
    local args=() cargo_home=${CARGO_HOME:-$HOME/.cargo} version
    for crate in "${PUBLISHED[@]}"; do
        args+=(-p "$crate")
        version=$(cargo pkgid --locked -p "$crate")
        version=${version##*[#@]}
        rm -rf "$cargo_home"/registry/src/*/"$crate-$version" \
            "$cargo_home"/registry/cache/*/"$crate-$version.crate"
        cargo clean --quiet --locked -p "$crate"
    done
    cargo package --locked --allow-dirty "${args[@]}" 2>"$log" || { cat "$log"; return 1; }
    echo "packaged and built from the .crate files: ${PUBLISHED[*]} (target/package/)"
}

# Each published crate alone (so no other member's features leak in), with each feature set.
FEATURE_SETS=(
    "sealed-session"
    "sealed-session --features pure-rust"
    "sealed-session --no-default-features --features pure-rust"
    "sealed-session --features actix-web"
    "sealed-session --features axum-core"
    "sealed-session-actix"
    "sealed-session-actix --features redis"
    "sealed-session-actix --features actix-session-legacy"
    "sealed-session-actix --features actix-session"
    "sealed-session-tower"
    "sealed-session-tower --no-default-features"
    "sealed-session-tower --features redis"
    "sealed-session-tower --features tower-sessions"
    "sealed-session-redis"
    "sealed-session-cli"
)
features() {
    local set log=target/features.log
    mkdir -p target
    for set in "${FEATURE_SETS[@]}"; do
        echo "--- clippy -p $set"
        # $set is split on purpose: it is the package and its feature flags.
        # shellcheck disable=SC2086
        cargo clippy --quiet --locked --all-targets -p $set -- -D warnings
    done
    # Doctests too: an example that needs a feature passes in the workspace run, where the
    # tests crate turns the feature on, and fails for `cargo test -p <crate>`.
    local crate
    for crate in "${PUBLISHED[@]}"; do
        [[ $crate == sealed-session-cli ]] && continue # a binary: no doctests
        echo "--- doctests of $crate alone (default features)"
        cargo test --quiet --locked --doc -p "$crate"
    done
    echo "--- one rand in each published crate's dependencies (default features)"
    local rands
    for crate in "${PUBLISHED[@]}"; do
        rands=$(cargo tree --locked -p "$crate" -e normal,build --prefix none --format '{p}' |
            grep -E '^rand v' | sort -u)
        if [[ $(wc -l <<<"$rands") -gt 1 ]]; then
            echo "$crate depends on more than one rand: $(tr '\n' ' ' <<<"$rands")"
            return 1
        fi
    done
    echo "--- sealed-session without a backend must not build"
    if cargo check --quiet --locked -p sealed-session --no-default-features 2>"$log"; then
        echo "sealed-session built without ring or pure-rust: its compile_error! is gone"
        return 1
    fi
    grep -q "needs an XChaCha20-Poly1305 backend: enable the \`ring\` feature" "$log" || {
        cat "$log"
        echo "sealed-session failed without a backend, but not with its message (above)"
        return 1
    }
}

fuzz() {
    ensure_tool cargo-fuzz "$CARGO_FUZZ_VERSION"
    # cargo-fuzz passes nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP lets stable accept them.
    export RUSTC_BOOTSTRAP=1
    (
        cd fuzz
        cargo fuzz build 2>&1 | sed '/^ *Compiling /d'
        local target
        for target in $(cargo fuzz list); do
            mkdir -p "corpus/$target"
            local seeds=()
            [[ -d "seeds/$target" ]] && seeds=("seeds/$target")
            echo "--- fuzz $target for ${FUZZ_SECONDS} s"
            local log=artifacts/$target.log
            mkdir -p artifacts
            # libFuzzer's log is long: show its last line (`Done N runs in S second(s)`), or
            # the crash report if it found one.
            if cargo fuzz run "$target" "corpus/$target" "${seeds[@]}" -- \
                -max_total_time="$FUZZ_SECONDS" >"$log" 2>&1; then
                tail -n 1 "$log"
            else
                tail -n 80 "$log"
                return 1
            fi
        done
    )
}

step fmt cargo fmt --all -- --check
step clippy cargo clippy --quiet --locked --workspace --all-targets -- -D warnings
step features features
step deny deny
step doc doc
step pure-rust cargo test --quiet --locked -p sealed-session --no-default-features --features pure-rust
step test bash -c 'scripts/ensure-chromium.sh && exec scripts/with-redis.sh cargo test --quiet --workspace --locked'
step simulation env SIM_SEEDS="${SIM_SEEDS:-64}" CONFIRM_CASES="${CONFIRM_CASES:-200000}" \
    cargo test --quiet --locked --release -p sealed-session --test api -- simulation confirmation_interleavings
step package package
step fuzz fuzz

echo
echo "=== all checks passed"
printf '%s\n' "${SUMMARY[@]}"
