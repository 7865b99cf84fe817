#!/usr/bin/env bash
# The README's test command: installs what the tests need (tests/setup.sh), then runs every test
# of both crates, and the tests of the builds with other features.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# Both crates (the workspace's default members), default features.
cargo test --no-fail-fast
# TPM 2.0 keys against swtpm: the feature is off by default, so its tests (the integration
# crate's tpm module) run in a build with it.
cargo test --features tpm --test integration tpm::
# A build without the PKCS#11 backend answers pkcs11: URIs with one line naming the feature.
cargo test --no-default-features --test integration without_pkcs11::
# Man pages and completions (xtask is not a default member).
cargo test -p xtask
