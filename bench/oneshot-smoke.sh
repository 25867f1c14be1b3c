#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one-shot benchmark's smoke run for `make check`: bench/oneshot.sh --quick against the programs just
# built, so the script cannot rot. It checks that every check produced a figure, not how fast.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-oneshot-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT

"$here/oneshot.sh" --quick --json "$out/results.json"
python3 - "$out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for name, m in r["medians"].items():
    if not (m["cpu_ms"] > 0 and m["wall_ms"] > 0):
        sys.exit(f"smoke: no figure for {name}")
print("smoke: every one-shot check produced a figure")
PY
