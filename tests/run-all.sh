#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, as CI runs it: a warnings-as-errors build with `make check`, then the same
# suite under AddressSanitizer and UndefinedBehaviorSanitizer, each in its own out-of-tree build
# directory. Ends with one "N passed, N failed" line over both.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ -e config.status ]; then
        echo "run-all.sh: the source tree is configured in place; run 'make distclean' first" >&2
        exit 2
fi
[ -x configure ] || autoreconf -fi

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

run_suite() {
        local name=$1
        shift
        local dir="$top/build-$name"

        echo "=== $name: configure $*"
        mkdir -p "$dir"
        (cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out) || {
                cat "$dir/configure.out" "$dir/config.log" >&2 || true
                failed=$((failed + 1))
                return 1
        }
        echo "=== $name: make check"
        local rc=0
        make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1 || { cat "$dir/make.out"; failed=$((failed + 1)); return 1; }
        make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1 || rc=$?
        grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP):' "$dir/check.out" || true
        local suite_pass suite_fail
        suite_pass=$(grep -cE '^PASS:' "$dir/check.out" || true)
        suite_fail=$(grep -cE '^(FAIL|ERROR|XPASS):' "$dir/check.out" || true)
        passed=$((passed + suite_pass))
        failed=$((failed + suite_fail))
        if [ "$rc" -ne 0 ]; then
                echo "=== $name: failures; logs follow"
                for log in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$dir/tests" -name '*.trs') 2>/dev/null); do
                        echo "--- ${log%.trs}.log"
                        cat "${log%.trs}.log"
                done
                [ "$suite_fail" -gt 0 ] || failed=$((failed + 1))
        fi
}

run_suite release || true
run_suite sanitizers --enable-sanitizers || true

# --- static analysis and fuzz smoke runs (hardening) ---
# Each analyser, and the fuzz smoke run, counts as one test. cppcheck and clang-tidy read the release
# build's build-config.h; scan-build and the fuzzers build in directories of their own.
hardening_step() {
        local name=$1
        shift
        local log="$top/build-hardening/$name.log"

        mkdir -p "$top/build-hardening"
        echo "=== $name"
        if "$@" >"$log" 2>&1; then
                tail -n 8 "$log"
                echo "PASS: $name"
                passed=$((passed + 1))
        else
                cat "$log"
                echo "FAIL: $name"
                failed=$((failed + 1))
        fi
}

fuzz_smoke() {
        mkdir -p "$top/build-fuzz"
        (cd "$top/build-fuzz" && "$top/configure" CC=clang --enable-werror --enable-fuzzing >configure.out &&
                make -j"$jobs" fuzz-smoke)
}

analyse="$top/tests/static-analysis/static-analysis.sh"
hardening_step cppcheck "$analyse" cppcheck "$top/build-release" || true
hardening_step clang-tidy "$analyse" clang-tidy "$top/build-release" || true
mkdir -p "$top/build-scan-build"
hardening_step scan-build "$analyse" scan-build "$top/build-scan-build" || true
hardening_step fuzz-smoke fuzz_smoke || true

# --- make distcheck and the Debian package (shipping) ---


echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
