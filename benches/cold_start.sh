#!/usr/bin/env bash
# Cold-start benchmark: median wall time of one `aws_signing_helper credential-process` (a fresh
# process each time, as the AWS CLI and SDKs run it) against rolesanywhere-local over TLS on
# loopback, next to the yardstick (benches/yardstick.rs: one process start, one key read, one
# signature, one TLS handshake, one POST of a real signed CreateSession request, so the endpoint
# works equally for both), and, when OFFICIAL_HELPER names it, the official helper, in the same
# interleaved rounds. Needs hyperfine (Debian package).
#
#   benches/cold_start.sh            # 300 runs of each, in 10 interleaved rounds
#   RUNS=50 benches/cold_start.sh
#   KINDS="mldsa65" benches/cold_start.sh        # default: rsa-2048 ec-p256 mldsa65
#   HELPER=/path/to/another/build benches/cold_start.sh
#   OFFICIAL_HELPER=/path/to/official/aws_signing_helper benches/cold_start.sh
#   PROFILE=release benches/cold_start.sh   # default: dist, the profile packages ship
#   COUNTS=1 benches/cold_start.sh   # also page faults (perf stat) and instructions (callgrind)
#                                    # of one run of each: steadier than times on a busy machine
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}
ROUNDS=${ROUNDS:-10}
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
if [ "${COUNTS:-0}" = 1 ]; then
    for tool in perf valgrind; do
        command -v $tool >/dev/null || { echo "COUNTS=1 needs $tool (apt-get install linux-perf valgrind)" >&2; exit 1; }
    done
fi

PROFILE=${PROFILE:-dist}
yardstick=$(cargo bench --profile "$PROFILE" --no-run --bench yardstick --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "yardstick" and m.get("executable"):
        print(m["executable"])')
# After the yardstick, not before: `cargo bench` also builds the binaries, with the
# dev-dependencies' features (tokio's test-util and multi-threaded scheduler among them), and
# leaves that build at target/$PROFILE/aws_signing_helper. This puts back the one packages ship.
cargo build --profile "$PROFILE" --bins -q

. benches/local_endpoint.sh
port=$endpoint_port
export AWS_CA_BUNDLE="$work/ca.pem"
. benches/official.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

for kind in ${KINDS:-rsa-2048 ec-p256 mldsa65}; do
    dir=testdata/pki/$kind key=$dir/key-pkcs8.pem yard_kind=${kind%%-*}
    if [ "$kind" = mldsa65 ]; then
        dir=testdata/mldsa/mldsa65 key=testdata/mldsa/mldsa65/key-seed.pem yard_kind=mldsa
    fi
    request="--private-key $key --trust-anchor-arn $ta --profile-arn $profile --role-arn $role \
--endpoint https://localhost:$port"
    helper="${HELPER:-target/$PROFILE/aws_signing_helper} credential-process --certificate $dir/fullchain.pem $request"
    yard="$yardstick localhost:$port $work/ca.pem $dir/fullchain.pem $key $yard_kind $ta $profile $role"
    $helper > /dev/null   # fail loudly now rather than inside hyperfine
    $yard
    contenders=(-n "credential-process $kind" "$helper" -n "yardstick $kind" "$yard")
    if [ -n "$official" ]; then
        theirs="$official credential-process $(official_identity "$dir") $request"
        if $theirs > /dev/null 2>&1; then
            contenders+=(-n "official $kind" "$theirs")
        else
            echo "$kind: the official helper fails with this identity ($($theirs 2>&1 | tail -n1)); measured without it"
        fi
    fi
    # Interleaved rounds: on a shared machine, load that comes and goes hits every contestant
    # alike instead of whichever hyperfine happened to be timing.
    for round in $(seq "$ROUNDS"); do
        hyperfine -N --warmup 5 --runs "$((RUNS / ROUNDS))" --export-json "$work/$kind.$round.json" \
            "${contenders[@]}" > /dev/null
    done
    if [ "${COUNTS:-0}" = 1 ]; then
        for name in credential-process yardstick; do
            command=$helper
            [ "$name" = yardstick ] && command=$yard
            # shellcheck disable=SC2086 # the command lines are words
            faults=$(perf stat -x, -r 20 -e page-faults $command 2>&1 >/dev/null | awk -F, '/page-faults/ {print $1}')
            # shellcheck disable=SC2086
            instructions=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $command 2>&1 >/dev/null |
                awk '/Collected/ {print $4}')
            echo "$kind  $name: $faults page faults, $instructions instructions"
        done
    fi
    python3 - "$kind" "$work/$kind".*.json <<'PY'
import json, statistics, sys
times = {}
for path in sys.argv[2:]:
    for result in json.load(open(path))["results"]:
        times.setdefault(result["command"].split()[0], []).extend(result["times"])
median = {name: statistics.median(t) * 1000 for name, t in times.items()}
ours, yard = median["credential-process"], median["yardstick"]
line = f"{sys.argv[1]:9}  credential-process {ours:6.2f} ms   yardstick {yard:6.2f} ms   ratio {ours / yard:.2f}"
if "official" in median:
    line += f"   official {median['official']:6.2f} ms   ours/official {ours / median['official']:.2f}"
print(line)
PY
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
