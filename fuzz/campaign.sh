#!/usr/bin/env bash
# Runs every fuzz target in turn, each until 10 million executions or an hour, whichever comes
# first (FUZZ_SECONDS overrides the hour), at the lowest priority and on one core (the machine is
# shared). Each run starts from the committed fuzz/seeds/<target> and fuzz/regressions/<target>
# (read only) and grows the untracked working corpus fuzz/corpus/<target>, created if absent
# (fuzz/make-seeds.sh fills it with a broader generated start, optionally). The working corpus is
# then minimised (libFuzzer's -merge) against the committed inputs, so it keeps only what they do
# not already cover. Crashes go to fuzz/artifacts/<target>/ (see fuzz/README.md for what to do
# with one). Logs go to fuzz/logs/<target>.log; the last line of each says how many executions it
# ran and for how long. Usage: fuzz/campaign.sh [target...]
set -uo pipefail
cd "$(dirname "$0")"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pkcs11_uri credentials_file create_session_response sts_response cache_entry
    pem certificate serve_request local_verify key pkcs12)
cargo +nightly fuzz build -O "${targets[@]/#/}" >/dev/null 2>&1 || cargo +nightly fuzz build -O
mkdir -p logs
bin=target/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    committed=("seeds/$t")
    [ -d "regressions/$t" ] && committed+=("regressions/$t")
    # libFuzzer writes new inputs into the first directory only.
    nice -n 19 "$bin/$t" -runs=10000000 -max_total_time="${FUZZ_SECONDS:-3600}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "corpus/$t" "${committed[@]}" \
        > "logs/$t.log" 2>&1
    echo "$t: exit $?" >> logs/campaign.log
    # Minimise: start from copies of the committed inputs, merge in what adds coverage, then drop
    # the copies (they stay in seeds/ and regressions/).
    rm -rf "corpus/$t.min" && mkdir "corpus/$t.min"
    for d in "${committed[@]}"; do cp "$d"/* "corpus/$t.min/"; done
    if nice -n 19 "$bin/$t" -merge=1 "corpus/$t.min" "corpus/$t" > "logs/$t.merge.log" 2>&1; then
        for d in "${committed[@]}"; do
            for f in "$d"/*; do rm -f "corpus/$t.min/$(basename "$f")"; done
        done
        rm -rf "corpus/$t" && mv "corpus/$t.min" "corpus/$t"
    else
        rm -rf "corpus/$t.min"
    fi
    echo "$t: $(find "corpus/$t" -type f | wc -l) files in corpus/$t" >> logs/campaign.log
done
