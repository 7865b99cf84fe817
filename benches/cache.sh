#!/usr/bin/env bash
# Credential cache benchmark: median wall time of a `credential-process --cache` call answered
# from the cache (no network) next to `aws_signing_helper version` (a process start and nothing
# else), side by side in interleaved hyperfine rounds, as benches/cold_start.sh does; with
# OFFICIAL_HELPER, the official helper's `version` and its credential-process (which has no
# cache: every call is a CreateSession) in the same rounds. Then, with PLAYS=1, the
# CreateSession and AssumeRole calls one Ansible play of 50 AWS tasks costs with and without
# --cache (needs .venv with ansible, and oathtool). Needs hyperfine (Debian package).
#
#   benches/cache.sh                  # 300 runs of each, in 10 interleaved rounds
#   OFFICIAL_HELPER=/path/to/official/aws_signing_helper benches/cache.sh
#   PLAYS=1 benches/cache.sh          # also the calls per play
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}
ROUNDS=${ROUNDS:-10}
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
# The profile packages ship, as benches/cold_start.sh (PROFILE=release for the quick build).
PROFILE=${PROFILE:-dist}
cargo build --profile "$PROFILE" --bins -q
. benches/local_endpoint.sh
export AWS_CA_BUNDLE="$work/ca.pem"
. benches/official.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
helper=${HELPER:-$PWD/target/$PROFILE/aws_signing_helper}
dir=testdata/pki/ec-p256
request="--private-key $dir/key-pkcs8.pem --trust-anchor-arn $ta --profile-arn $profile --role-arn $role \
--endpoint https://localhost:$endpoint_port"
cached="$helper credential-process --certificate $dir/fullchain.pem $request --cache-dir $work/cache"
$cached > /dev/null   # fills the cache (and fails loudly now rather than inside hyperfine)
contenders=(-n "hit" "$cached" -n "version" "$helper version")
if [ -n "$official" ]; then
    theirs="$official credential-process $(official_identity "$dir") $request"
    $theirs > /dev/null
    contenders+=(-n "official-version" "$official version" -n "official-call" "$theirs")
fi
for round in $(seq "$ROUNDS"); do
    hyperfine -N --warmup 5 --runs "$((RUNS / ROUNDS))" --export-json "$work/cache.$round.json" \
        "${contenders[@]}" > /dev/null
done
python3 - "$work"/cache.*.json <<'PY'
import json, statistics, sys
times = {}
for path in sys.argv[1:]:
    for result in json.load(open(path))["results"]:
        times.setdefault(result["command"], []).extend(result["times"])
median = {name: statistics.median(t) * 1000 for name, t in times.items()}
hit, version = median["hit"], median["version"]
print(f"cached credential-process {hit:5.2f} ms   version {version:5.2f} ms   ratio {hit / version:.2f}")
if "official-call" in median:
    print(f"official helper: version {median['official-version']:5.2f} ms, credential-process "
          f"(no cache) {median['official-call']:5.2f} ms; our cached call is "
          f"{hit / median['official-call']:.2f} of its call")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
calls=$(curl -sS --cacert "$work/ca.pem" "https://localhost:$endpoint_port/_local/calls" |
    python3 -c 'import json,sys; print(sum(c["kind"] == "create-session" for c in json.load(sys.stdin)))')
if [ -n "$official" ]; then
    # Each of the official helper's runs is a CreateSession: its timed runs, warm-ups and check.
    calls=$((calls - (RUNS / ROUNDS * ROUNDS + ROUNDS * 5 + 1)))
fi
echo "CreateSession calls during the $((RUNS / ROUNDS * ROUNDS + ROUNDS * 5 + 1)) cached runs: $calls"

[ "${PLAYS:-0}" = 1 ] || exit 0
# Calls per play: the test suite's playbook (10 local hosts x 5 aws_caller_info tasks) on the
# same profile with and without --cache, and on a chained profile (external ID + MFA).
cat >> "$work/config.toml" <<TOML
[[role]]
arn = "arn:aws:iam::222233334444:role/deploy"
trusted_roles = ["$role"]
external_id = "bench-ext"
require_mfa = true
[[mfa_device]]
serial = "arn:aws:iam::123456789012:mfa/bench"
secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOML
kill "$endpoint_pid"; wait "$endpoint_pid" 2>/dev/null || true
rm -f "$work/port"
"target/$PROFILE/rolesanywhere-local" --config "$work/config.toml" --port-file "$work/port" \
    --ca-out "$work/ca.pem" 2>/dev/null &
cleanup_pids+=("$!")
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
count() {
    curl -sS --cacert "$work/ca.pem" "https://localhost:$port/_local/calls" | python3 -c '
import json, sys
calls = [c for c in json.load(sys.stdin) if c["ok"]]
print(sum(c["kind"] == "create-session" for c in calls), sum(c.get("action") == "AssumeRole" for c in calls))'
}
run_play() { # name, expected account, expected role, extra flags...
    local name=$1 account=$2 role_name=$3; shift 3
    local before after
    before=$(count)
    {
        echo "[profile ra]"
        echo "region = us-east-1"
        echo "credential_process = $helper credential-process --certificate $PWD/$dir/fullchain.pem \\"
        echo "    --private-key $PWD/$dir/key-pkcs8.pem --trust-anchor-arn $ta --profile-arn $profile \\"
        echo "    --role-arn $role --endpoint https://localhost:$port --sts-endpoint https://localhost:$port $*"
    } > "$work/aws-config"
    local started=$SECONDS
    env -i PATH="$PATH" HOME="$work" AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
        AWS_EC2_METADATA_DISABLED=true AWS_PROFILE=ra AWS_ENDPOINT_URL="https://localhost:$port" \
        AWS_CA_BUNDLE="$work/ca.pem" ANSIBLE_PIPELINING=true ANSIBLE_FORKS=10 ANSIBLE_LOCAL_TEMP="$work/tmp" \
        AWS_SIGNING_HELPER_MFA_CODE="$(oathtool --totp -b JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP)" \
        .venv/bin/ansible-playbook -i tests/ansible/inventory.ini tests/ansible/caller_info.yml \
        -e tasks_per_host=5 -e expected_account="$account" -e expected_role="$role_name" > "$work/play.log" ||
        { cat "$work/play.log"; exit 1; }
    after=$(count)
    read -r cs0 ar0 <<< "$before"; read -r cs1 ar1 <<< "$after"
    printf '%-36s CreateSession %3d   AssumeRole %3d   %3d s\n' "$name" $((cs1 - cs0)) $((ar1 - ar0)) $((SECONDS - started))
}
run_play "50 tasks, no cache" 123456789012 bench
run_play "50 tasks, --cache" 123456789012 bench --cache-dir "$work/play-cache"
hop="arn:aws:iam::222233334444:role/deploy,external_id=bench-ext,mfa_serial=arn:aws:iam::123456789012:mfa/bench"
run_play "50 tasks chained (ext ID + MFA), --cache" 222233334444 deploy --assume-role "$hop" --cache-dir "$work/play-cache"
