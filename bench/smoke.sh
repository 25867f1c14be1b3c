#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark's smoke run for `make check`: bench/run.sh --quick end to end against the tlswatchd just
# built, so the script cannot rot. It checks that every measurement produced a figure, not how fast.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT

"$here/run.sh" --quick --json "$out/results.json" >"$out/table.md"
cat "$out/table.md"

# A figure that is missing or zero means a measurement silently measured nothing.
for metric in openssl.ecdsa.cpu_ms_per_handshake openssl.rsa.cpu_ms_per_handshake \
        tlswatch.ecdsa.10.wall_s tlswatch.ecdsa.10.peak_rss_mib tlswatch.rsa.10.wall_s \
        ratio.cpu.ecdsa.10 ratio.rate.ecdsa.10 tlswatch.memory.sweep1.rss_mib tlswatch.memory.sweep3.rss_mib \
        tlswatch.memory.peak_rss_mib tlswatch.revocation.off.wall_s tlswatch.revocation.crl.wall_s \
        tlswatch.revocation.crl.crl_fetches; do
        jq -e --arg m "$metric" '.results[$m].median > 0' "$out/results.json" >/dev/null || {
                echo "smoke: no figure for $metric" >&2
                exit 1
        }
done
for metric in tlswatch.idle.cpu_ms_per_min tlswatch.idle.wakeups_per_min tlswatch.memory.growth_mib; do
        jq -e --arg m "$metric" '.results[$m].samples | length > 0' "$out/results.json" >/dev/null || {
                echo "smoke: no figure for $metric" >&2
                exit 1
        }
done
# Revocation off fetches nothing; on, each of the two CRLs once for the whole sweep.
jq -e '.results["tlswatch.revocation.off.crl_fetches"].max == 0 and
        .results["tlswatch.revocation.crl.crl_fetches"].max == 2' "$out/results.json" >/dev/null || {
        echo "smoke: the CRL requests per sweep are not 0 (off) and 2 (on)" >&2
        exit 1
}
jq -e '.machine.cores > 0 and (.versions.openssl | startswith("OpenSSL"))' "$out/results.json" >/dev/null
grep -q '^| 1. \*\*ratio\*\* tlswatchd CPU per probe' "$out/table.md"
echo "smoke: every measurement produced a figure"
