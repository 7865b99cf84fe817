#!/usr/bin/env bash
# Runs every fuzz target in turn, each until 10 million executions or an hour, whichever comes
# first (FUZZ_SECONDS overrides the hour), at the lowest priority and on one core (the machine is shared), growing
# fuzz/corpus/<target> from itself and fuzz/seeds/<target> (make-seeds.sh), then minimises the
# corpus (libFuzzer's -merge). Logs go to fuzz/logs/<target>.log; the last line of each says how
# many executions it ran and for how long. Usage: fuzz/campaign.sh [target...]
set -uo pipefail
cd "$(dirname "$0")"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pkcs11_uri credentials_file create_session_response pem certificate serve_request local_verify key pkcs12)
cargo +nightly fuzz build -O "${targets[@]/#/}" >/dev/null 2>&1 || cargo +nightly fuzz build -O
mkdir -p logs
bin=target/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
    nice -n 19 "$bin/$t" -runs=10000000 -max_total_time="${FUZZ_SECONDS:-3600}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "corpus/$t" "seeds/$t" \
        > "logs/$t.log" 2>&1
    echo "$t: exit $?" >> logs/campaign.log
    rm -rf "corpus/$t.min" && mkdir "corpus/$t.min"
    nice -n 19 "$bin/$t" -merge=1 "corpus/$t.min" "corpus/$t" > "logs/$t.merge.log" 2>&1 \
        && rm -rf "corpus/$t" && mv "corpus/$t.min" "corpus/$t"
done
