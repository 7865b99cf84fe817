#!/usr/bin/env bash
# Fleet simulation: N helpers (serve, update and credential-process --cache in turn) started
# within one second against rolesanywhere-local --rate-limit RATE, with sessions scaled down
# SCALE times (60: one-hour sessions last a minute), watched through ROUNDS refreshes each. Prints
# the figures as JSON (docs/benchmarks.md#fleets explains them); needs python3 only. A release
# build; N=200 takes about 4 minutes on 2 cores; each serve or update takes about 9 MiB.
# N x SCALE stands for hosts with one-hour sessions: keep it under about 12,000 (N=1000 with
# SCALE=12) to stay within half the quota, as docs/operations.md sizes a fleet; beyond that the
# steady state itself is throttled, and helpers that do not get credentials in time exit.
#
#   benches/fleet.sh                                 # N=200 against 10/s, 3 rounds
#   N=1000 RATE=10 benches/fleet.sh
#   HELPER=/path/to/other/aws_signing_helper benches/fleet.sh   # another build (before/after)
#   benches/fleet.sh -- --start-timeout 0            # flags for serve and update
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --bins -q
helper=${HELPER:-$PWD/target/$PROFILE/aws_signing_helper}
[ "${1:-}" = "--" ] && shift
exec python3 benches/fleet.py --helper "$helper" --local "target/$PROFILE/rolesanywhere-local" \
    -n "${N:-200}" --rate "${RATE:-10}" --scale "${SCALE:-60}" --rounds "${ROUNDS:-3}" \
    ${KINDS:+--kinds "$KINDS"} ${JSON:+--json "$JSON"} -- "$@"
