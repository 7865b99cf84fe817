#!/usr/bin/env bash
# The library provider's costs next to credential-process, in one run: a new provider's first
# credentials against a cold `aws_signing_helper credential-process` (interleaved rounds, TLS on
# loopback against rolesanywhere-local), and a cached call. Not a test: figures go into
# docs/benchmarks.md.
#
#   benches/provider.sh                 # EC P-256
#   KIND=rsa-2048 benches/provider.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins -q
cargo bench -q -p rolesanywhere-credentials --bench provider
