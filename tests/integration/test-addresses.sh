#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every address a name resolves to is probed on its own: a name with two addresses (a two-node cluster)
# where one node serves a good certificate and the other an expired one must report both, and be
# critical overall. The name comes from a private /etc/hosts bind-mounted in a mount namespace, so the
# host's resolver configuration is untouched.
set -u -o pipefail

if [[ -z ${TLSWATCH_IN_NAMESPACE:-} ]]; then
        [[ $(id -u) -eq 0 ]] || { echo "test-addresses: needs root for a private mount namespace" >&2; exit 99; }
        TLSWATCH_IN_NAMESPACE=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi

fail() {
        echo "FAIL - $*"
        exit 1
}

[[ -x ${TLSWATCHCTL:-} ]] || { echo "test-addresses: TLSWATCHCTL not set" >&2; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-test-addresses.XXXXXX") || exit 99
pids=()
cleanup() {
        for pid in "${pids[@]}"; do
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        rm -rf "$tmp"
}
trap cleanup EXIT

"$TESTS_SRCDIR/pki/make-pki.sh" "$tmp/pki" >/dev/null 2>&1 || exit 99
pki=$tmp/pki

printf '127.0.0.1 cluster.test\n127.0.0.2 cluster.test\n' >"$tmp/hosts"
mount --bind "$tmp/hosts" /etc/hosts || exit 99

mkfifo "$tmp/stdin"
exec {stdin_fd}<>"$tmp/stdin"

# start NAME ADDRESS:PORT ARGS...: sets $port to the port the server accepted on. Not called in a
# command substitution: that subshell would record the PID where cleanup() never sees it.
start() {
        local name=$1 accept=$2 i
        port=""
        shift 2
        openssl s_server -accept "$accept" "$@" <"$tmp/stdin" >"$tmp/$name.out" 2>&1 &
        pids+=("$!")
        for ((i = 0; i < 100; i++)); do
                port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
                # With a fixed port, s_server prints a bare "ACCEPT".
                grep -qx ACCEPT "$tmp/$name.out" && port=${accept##*:}
                [[ -n $port ]] && break
                sleep 0.05
        done
        [[ -n $port ]] || { cat "$tmp/$name.out" >&2; echo "test-addresses: $name did not start" >&2; exit 99; }
}

start good 127.0.0.1:0 -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
good_port=$port
start stale "127.0.0.2:$good_port" -cert "$pki/expired.pem" -key "$pki/expired.key" -cert_chain "$pki/int.pem"
port=$good_port

out=$(timeout 30 "$TLSWATCHCTL" probe --json --protocol tls --timeout 5 --ca-file "$pki/root.pem" \
      --servername localhost "cluster.test:$port")
rc=$?
passed=0

check() {
        local description=$1 filter=$2
        if jq -e "$filter" <<<"$out" >/dev/null; then
                echo "ok - $description"
                passed=$((passed + 1))
        else
                echo "$out"
                fail "$description ($filter)"
        fi
}

[[ $rc -eq 2 ]] || { echo "$out"; fail "exit status $rc, expected 2"; }
check "both addresses probed" '.addresses | length == 2'
check "the good node is ok" '.addresses[] | select(.address == "127.0.0.1") | .status == "ok"'
check "the stale node is critical" \
        '.addresses[] | select(.address == "127.0.0.2") | .status == "critical" and any(.problems[]; .code == "expired")'
check "the nodes serve different certificates" '.addresses[0].chain[0].sha256 != .addresses[1].chain[0].sha256'
check "overall status is the worst" '.status == "critical" and any(.problems[]; .code == "expired")'

echo "$passed passed, 0 failed"
