#!/usr/bin/env bash
# The README's test command: installs what the tests need (tests/setup.sh), then runs every test
# of the workspace, and the tests of the builds with other features.
#
# Each cargo command selects the same packages as the others where it can, so that they share
# one build of the dependencies: a different selection (`-p xtask`, say) unifies features
# differently and compiles much of the tree again.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# The tests mostly wait (on the binaries they start, on servers, on timeouts), so on a small
# machine more of them run side by side than it has cores: at least 4 (2 cores: the
# integration tests take 110 s instead of 180 s). RUST_TEST_THREADS set by the caller wins.
cores=$(nproc)
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-$((cores < 4 ? 4 : cores))}

# `cargo test ARGS`, failing when it ran no test at all: a module filter that matches nothing
# (the feature did not reach the crate) must not pass quietly.
tests_ran() {
    local log
    log=$(mktemp)
    cargo test "$@" 2>&1 | tee "$log"
    grep -Eq '^test result: ok\. [1-9][0-9]* passed' "$log" || {
        echo "tests/run.sh: cargo test $* ran no test" >&2
        rm -f "$log"
        return 1
    }
    rm -f "$log"
}

# Every package (both crates, test-support, xtask's man pages and completions), default
# features.
cargo test --workspace --no-fail-fast
# A build without the PKCS#11 backend answers pkcs11: URIs with one line naming the feature
# (not --workspace: xtask's dependency on the product would bring the default features back).
tests_ran --no-default-features --test integration -- without_pkcs11::
# TPM 2.0 keys against swtpm: the feature is off by default, so its tests (the integration
# crate's tpm module) run in a build with it, and so do xtask's, on the pages packages ship.
tests_ran --workspace --features aws_signing_helper/tpm --test integration -- tpm::
cargo test --workspace --features aws_signing_helper/tpm --test assets
