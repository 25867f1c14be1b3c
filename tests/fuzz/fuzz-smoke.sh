#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make fuzz-smoke`: runs each libFuzzer target for SECONDS under ASan+UBSan, two at a time (the CI
# machine has two cores), starting from its seed corpus. Inputs the run finds go to a scratch copy,
# never into the tree; a crash is kept in fuzz-findings/ and fails the run.
# Usage: fuzz-smoke.sh SECONDS FUZZ_SOURCE_DIR TARGET...
set -euo pipefail

seconds=$1
source_dir=$2
shift 2
findings=$PWD/fuzz-findings
work=$(mktemp -d)
pids=()
cleanup() {
        for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
        rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$findings"
bash "$source_dir/make-cert-seeds.sh" "$work/seeds-cert-chain"

# One target: a fresh corpus seeded from the tree; libFuzzer's exit status says whether it crashed.
run_one() {
        local target=$1 name=${1##*/fuzz-}
        local corpus=$work/corpus-$name
        local seeds=("$source_dir/corpus/$name")
        [[ $name != cert-chain ]] || seeds+=("$work/seeds-cert-chain")
        mkdir -p "$corpus" "$findings/$name"
        # -timeout: one input taking 10 s is a hang; -rss_limit_mb bounds memory like the daemon must be.
        timeout $((seconds + 120)) "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$findings/$name/" "$corpus" "${seeds[@]}" \
                >"$work/$name.log" 2>&1
}

failed=0
report() {
        local name=$1 rc=$2
        local stats
        stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb)|cov: [0-9]+ ft: [0-9]+' "$work/$name.log" |
                tail -3 | tr -s ' \n' ' ')
        if [[ $rc -eq 0 ]]; then
                echo "ok: fuzz-$name ${seconds}s: $stats"
        else
                echo "FAIL: fuzz-$name (exit $rc); its log:"
                tail -60 "$work/$name.log"
                failed=$((failed + 1))
        fi
}

targets=("$@")
for ((i = 0; i < ${#targets[@]}; i += 2)); do
        names=()
        pids=()
        for target in "${targets[@]:i:2}"; do
                run_one "$target" &
                pids+=($!)
                names+=("${target##*/fuzz-}")
        done
        for j in "${!pids[@]}"; do
                rc=0
                wait "${pids[j]}" || rc=$?
                report "${names[j]}" "$rc"
        done
        pids=()
done
echo "fuzz-smoke: ${#targets[@]} targets, $failed failed"
[[ $failed -eq 0 ]]
