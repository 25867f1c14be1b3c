#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replays each fuzz target's seed corpus through it (libFuzzer's main or fuzz-replay.c, whichever the
# build linked), plus the certificate seeds made at run time: a target that crashes, leaks or trips a
# sanitizer on a seed or a past crash fails `make check`.
set -euo pipefail

: "${FUZZ_TARGETS:?run me through make check}" "${FUZZ_BUILDDIR:?}" "${TESTS_SRCDIR:?}"
corpus=$TESTS_SRCDIR/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$TESTS_SRCDIR/fuzz/make-cert-seeds.sh" "$work/cert-chain"

failed=0
for target in $FUZZ_TARGETS; do
        name=${target##*/fuzz-}
        dirs=("$corpus/$name")
        # The renewal diff splits a file's certificates into an old and a new path: the same seeds.
        [[ $name != cert-chain && $name != cert-diff ]] || dirs+=("$work/cert-chain")
        # -runs=0 makes libFuzzer only execute the given inputs; fuzz-replay.c ignores it.
        if timeout 300 "$FUZZ_BUILDDIR/$target" -runs=0 "${dirs[@]}" >"$work/$name.log" 2>&1; then
                echo "ok: $name ($(find "${dirs[@]}" -type f | wc -l) inputs)"
        else
                echo "FAIL: $name"
                cat "$work/$name.log"
                failed=1
        fi
done
exit "$failed"
