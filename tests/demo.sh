#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo: builds a throw-away PKI, starts three local TLS listeners the way brokers are often
# (mis)configured — a dashboard serving its full chain, a listener whose certfile lacks the intermediate,
# and one serving an expired certificate — probes each with tlswatchctl, then stops them by PID.
set -uo pipefail

ctl=${1:-build/tlswatchctl}
top=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$ctl" ] || { echo "demo: $ctl is not built; run make first" >&2; exit 3; }
ctl=$(cd "$(dirname "$ctl")" && pwd)/$(basename "$ctl")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-demo.XXXXXX")
pids=()
cleanup() {
        for pid in "${pids[@]}"; do
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        rm -rf "$tmp"
}
trap cleanup EXIT

"$top/tests/pki/make-pki.sh" "$tmp/pki" >/dev/null || { echo "demo: making the PKI failed" >&2; exit 3; }
pki=$tmp/pki

# s_server prints its ephemeral port ("ACCEPT 127.0.0.1:PORT") and must not see EOF on stdin: give it a
# FIFO this shell holds open.
mkfifo "$tmp/stdin"
exec {stdin_fd}<>"$tmp/stdin"

start() {
        local name=$1 port="" i
        shift
        openssl s_server -accept 127.0.0.1:0 "$@" <"$tmp/stdin" >"$tmp/$name.out" 2>&1 &
        pids+=("$!")
        for ((i = 0; i < 100; i++)); do
                port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
                [ -n "$port" ] && break
                sleep 0.05
        done
        [ -n "$port" ] || { echo "demo: the $name listener did not start" >&2; cat "$tmp/$name.out" >&2; exit 3; }
        echo "$port"
}

dashboard=$(start dashboard -www -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem")
missing=$(start missing-intermediate -cert "$pki/good.pem" -key "$pki/good.key")
expired=$(start expired -cert "$pki/expired.pem" -key "$pki/expired.key" -cert_chain "$pki/int.pem")

run() {
        echo "\$ tlswatchctl probe $*"
        "$ctl" probe "$@"
        echo "(exit status $?)"
        echo
}

echo "== A dashboard on HTTPS that serves its full chain"
run --ca-file "$pki/root.pem" --servername localhost --protocol https "127.0.0.1:$dashboard"
echo "== A listener whose certfile is cert.pem instead of fullchain.pem"
run --ca-file "$pki/root.pem" --servername localhost --protocol tls "127.0.0.1:$missing"
echo "== A listener serving an expired certificate, as JSON"
run --ca-file "$pki/root.pem" --servername localhost --protocol tls --json "127.0.0.1:$expired"
