#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every address a name resolves to is probed on its own: a name with two addresses (a two-node cluster)
# where one node serves a good certificate and the other an expired one must report both, and be
# critical overall; two nodes that both serve valid but different certificates (one node renewed, the
# other not) are one nodes_differ warning naming each address's fingerprint and notAfter. The name
# comes from a private /etc/hosts bind-mounted in a mount namespace, so the host's resolver
# configuration is untouched.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

if [[ -z ${TLSWATCH_IN_NAMESPACE:-} ]]; then
        [[ $(id -u) -eq 0 ]] || hard_error "needs root for a private mount namespace"
        TLSWATCH_IN_NAMESPACE=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi

fail() {
        echo "FAIL - $*"
        exit 1
}

need_programs TLSWATCHCTL
make_tmp
make_pki

printf '127.0.0.1 cluster.test\n127.0.0.2 cluster.test\n' >"$tmp/hosts"
mount --bind "$tmp/hosts" /etc/hosts || exit 99

# Both nodes on one port, as a cluster's would be.
start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
wait_port good
listen_host=127.0.0.2 listen_port=${port[good]} start_tls stale -cert "$pki/expired.pem" -key "$pki/expired.key" \
        -cert_chain "$pki/int.pem"
listen_port=${port[good]} wait_port stale

out=$(timeout 30 "$TLSWATCHCTL" probe --json --protocol tls --timeout 5 --ca-file "$pki/root.pem" \
      --servername localhost "cluster.test:${port[good]}")
rc=$?

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
check "the drift is one target-level finding" '[.problems[] | select(.code == "nodes_differ")] | length == 1'

# Drift alone: both nodes valid, one renewed (another key and fingerprint) and one not. The stale
# node's listener is replaced by one serving the ec certificate, on the same address and port.
stop_pid "${pid[stale]}"
listen_host=127.0.0.2 listen_port=${port[good]} start_tls renewed -cert "$pki/ec.pem" -key "$pki/ec.key" \
        -cert_chain "$pki/int.pem"
listen_port=${port[good]} wait_port renewed
good_sha=$(fingerprint good)
ec_sha=$(fingerprint ec)
good_end=$(date -u -d "$("$openssl" x509 -in "$pki/good.pem" -noout -enddate | sed 's/notAfter=//')" +%FT%TZ)

out=$(timeout 30 "$TLSWATCHCTL" probe --json --protocol tls --timeout 5 --ca-file "$pki/root.pem" \
      --servername localhost "cluster.test:${port[good]}")
rc=$?
[[ $rc -eq 1 ]] || { echo "$out"; fail "drift: exit status $rc, expected 1 (warning)"; }
check "drift: each node alone is ok" '[.addresses[] | .status] == ["ok", "ok"]'
check "drift: the target is a nodes_differ warning" \
        '.status == "warning" and any(.problems[]; .code == "nodes_differ" and .severity == "warning")'
check "drift: the finding names which address serves which fingerprint and notAfter" \
        "any(.problems[]; .code == \"nodes_differ\" and
             (.message | contains(\"127.0.0.1 serves sha256 ${good_sha:0:16}\") and
                         contains(\"127.0.0.2 serves sha256 ${ec_sha:0:16}\") and
                         contains(\"not after $good_end\")))"
text=$(timeout 30 "$TLSWATCHCTL" probe --protocol tls --timeout 5 --ca-file "$pki/root.pem" \
       --servername localhost "cluster.test:${port[good]}")
grep -q "nodes_differ" <<<"$text" || { echo "$text"; fail "drift: the text output does not say nodes_differ"; }
echo "ok - drift: the text output says nodes_differ"
passed=$((passed + 1))

echo "$passed passed, 0 failed"
