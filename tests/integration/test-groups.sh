#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The key-exchange group, against real `openssl s_server`s on loopback that each accept one group only
# (-groups): `tlswatchctl probe` reports the group negotiated in its text and JSON output, for TLS 1.3
# and 1.2; --groups narrows what the probe offers, so a P-384-only probe fails the handshake with a
# P-256-only listener and says which groups it offered; a group this OpenSSL lacks is a usage error
# naming what it has. tlswatchd takes Groups= per target (its TLS contexts differ by the groups, so
# two targets with the same CA file still probe with different offers), checks it with FILE:LINE, and
# exports tlswatch_tls_group_info. Run by the automake harness: 0 pass, 1 fail, 99 broken environment.

# SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2016

# No `set -e`: probes fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

hide_journal "$@"
forget_service_environment
export LC_ALL=C

need_programs TLSWATCHCTL TLSWATCHD
need_commands "$openssl" "$jq" timeout

make_tmp
make_pki

# --- listeners, one group each -------------------------------------------------------------------------

good=(-cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem")
start_tls p256 "${good[@]}" -groups P-256
start_tls x25519 "${good[@]}" -groups X25519
start_tls p384 "${good[@]}" -groups P-384
start_tls p256_tls12 "${good[@]}" -groups P-256 -tls1_2
# RSA key exchange (TLS 1.2, no ECDHE/DHE suite): no group at all.
start_tls rsa_kx "${good[@]}" -tls1_2 -cipher 'AES128-SHA:@SECLEVEL=0'
for name in p256 x25519 p384 p256_tls12 rsa_kx; do
        wait_port "$name"
done

common=(--ca-file "$pki/root.pem" --servername localhost --protocol tls --timeout 10)

# report_details: after a failed check, what the probe printed.
report_details() {
        echo "    --- stdout:"
        sed 's/^/    /' "$tmp/out"
        echo "    --- stderr:"
        sed 's/^/    /' "$tmp/err"
}

# probe_json NAME ARGS...: probe server NAME with --json, leaving rc and the output in $tmp/out.
probe_json() {
        local name=$1

        shift
        run_probe "${common[@]}" --json "$@" "$(at "$name")"
}

# check NAME EXPECTED-RC JQ-FILTER: the last probe's exit status and a jq condition on its JSON.
check() {
        local -a errors=()

        [[ $rc == "$2" ]] || errors+=("exit status $(describe_rc "$rc"), expected $2")
        "$jq" -e "$3" "$tmp/out" >/dev/null 2>&1 || errors+=("JSON does not satisfy: $3")
        report "$1" ${errors[@]+"${errors[@]}"}
}

# --- the group negotiated ------------------------------------------------------------------------------

probe_json p256
check "P-256-only listener: tls.group is P-256" 0 \
        '.status == "ok" and .addresses[0].tls.version == "TLSv1.3" and .addresses[0].tls.group == "P-256"'

probe_json x25519
check "X25519-only listener: tls.group is X25519" 0 '.addresses[0].tls.group == "X25519"'

# OpenSSL's default offers an X25519 key share; the P-384-only listener asks for another
# (HelloRetryRequest), and the group reported is the one finally used.
probe_json p384
check "P-384-only listener, default offer: tls.group is P-384" 0 '.addresses[0].tls.group == "P-384"'

probe_json p256_tls12
check "TLS 1.2 ECDHE: tls.group is P-256" 0 \
        '.addresses[0].tls.version == "TLSv1.2" and .addresses[0].tls.group == "P-256"'

probe_json rsa_kx
check "TLS 1.2 RSA key exchange: tls without group" 0 \
        '.addresses[0].tls.version == "TLSv1.2" and (.addresses[0].tls | has("group") | not)'

# The text output says it on the address line.
run_probe "${common[@]}" "$(at x25519)"
errors=()
[[ $rc == 0 ]] || errors+=("exit status $(describe_rc "$rc"), expected 0")
grep -Eq '^address 127\.0\.0\.1: ok, TLSv1\.3 [A-Z0-9_]+ group X25519, ' "$tmp/out" ||
        errors+=("no \"group X25519\" on the address line")
report "text output: the address line names the group" ${errors[@]+"${errors[@]}"}

# --- --groups: what the probe offers -------------------------------------------------------------------

probe_json p256 --groups X25519:P-256
check "--groups X25519:P-256 against P-256 only: P-256" 0 '.addresses[0].tls.group == "P-256"'

probe_json p384 --groups P-384
check "--groups P-384 against P-384 only: P-384" 0 '.addresses[0].tls.group == "P-384"'

# No group in common: the listener refuses the handshake, and the problem says what was offered.
probe_json p256 --groups P-384
check "--groups P-384 against P-256 only: tls_handshake_failed naming the groups offered" 2 \
        '.status == "critical" and (.addresses[0] | has("tls") | not) and
         (.problems[] | select(.code == "tls_handshake_failed") | .message |
          test("alert 40") and test("offered only the key-exchange groups P-384"))'

run_probe "${common[@]}" --groups P-384 "$(at p256)"
errors=()
[[ $rc == 2 ]] || errors+=("exit status $(describe_rc "$rc"), expected 2")
head -n 1 "$tmp/out" | grep -q '^CRITICAL: .* tls_handshake_failed: .*offered only the key-exchange groups P-384' ||
        errors+=("the first line does not name the failure and the groups offered")
report "--groups P-384 against P-256 only: the text's first line says why" ${errors[@]+"${errors[@]}"}

# Without --groups the same listener is fine: the failure above is the narrowed offer.
probe_json p256
check "the same listener with OpenSSL's default groups: ok" 0 '.status == "ok"'

# Usage errors: a group this OpenSSL does not have, a name twice, an empty list; nothing is probed.
usage_error() {
        local name=$1 pattern=$2
        local -a errors=()

        shift 2
        run_probe "${common[@]}" "$@" "$(at p256)"
        [[ $rc == 3 ]] || errors+=("exit status $(describe_rc "$rc"), expected 3")
        grep -q -- "$pattern" "$tmp/err" || errors+=("stderr lacks: $pattern")
        [[ ! -s $tmp/out ]] || errors+=("something was printed on stdout")
        report "$name" ${errors[@]+"${errors[@]}"}
}
openssl_version=$("$openssl" version | awk '{print $2}')
usage_error "--groups with an unknown group: named, with what this OpenSSL offers" \
        '--groups: "P-257" is not a key-exchange group this OpenSSL (.*) can offer; it offers X25519, ' \
        --groups X25519:P-257
usage_error "--groups naming a group twice" '--groups: "X25519" is listed twice' --groups X25519,X25519
usage_error "--groups empty" '--groups: the list of groups is empty' --groups ""
if [[ $openssl_version == 3.[0-4].* ]]; then
        # Debian 12's OpenSSL 3.0 has no ML-KEM: the hybrid group cannot be offered, and the message says
        # which OpenSSL it takes.
        usage_error "--groups X25519MLKEM768 on OpenSSL $openssl_version: needs OpenSSL 3.5" \
                'hybrid post-quantum groups need OpenSSL 3.5' --groups X25519MLKEM768:X25519
else
        probe_json x25519 --groups X25519MLKEM768:X25519
        check "--groups X25519MLKEM768:X25519 on OpenSSL $openssl_version" 0 '.addresses[0].tls.group == "X25519"'
fi

# --- tlswatchd: Groups= ---------------------------------------------------------------------------------

mkdir -p "$tmp/bad.d" "$tmp/state" "$tmp/once.d"
cat >"$tmp/bad.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem

[Target a]
Address=127.0.0.1:${port[p256]}
Groups=X25519 P-257
EOF
timeout -k 5 30 "$TLSWATCHD" -c "$tmp/bad.d/tlswatch.conf" --check-config >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
errors=()
[[ $rc != 0 ]] || errors+=("--check-config accepted Groups=X25519 P-257")
grep -qF "$tmp/bad.d/tlswatch.conf:6: Groups: \"P-257\" is not a key-exchange group this OpenSSL" \
        "$tmp/bad.err" || errors+=("no FILE:LINE error naming P-257")
report "Groups= with an unknown group: FILE:LINE" ${errors[@]+"${errors[@]}"} -- "$tmp/bad.err"

# Two targets on one listener with the same CAFile=, one narrowed to a group the listener lacks: if
# the TLS context cache ignored the groups, both would probe with one context and agree.
sock=$tmp/control.sock
cat >"$tmp/once.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
ServerName=localhost
Protocol=tls
Interval=1h
Timeout=5s
ControlSocket=$sock

[Target default]
Address=127.0.0.1:${port[p256]}

[Target narrowed]
Address=127.0.0.1:${port[p256]}
Groups=P-384

[Target x25519]
Address=127.0.0.1:${port[x25519]}
Groups=P-256,X25519
EOF
timeout -k 5 60 "$TLSWATCHD" -c "$tmp/once.d/tlswatch.conf" --state-directory "$tmp/state" --once --json \
        >"$tmp/once.out" 2>"$tmp/once.err"
rc=$?
errors=()
[[ $rc == 2 ]] || errors+=("exit status $(describe_rc "$rc"), expected 2 (one target critical)")
"$jq" -e 'type == "array" and length == 3' "$tmp/once.out" >/dev/null 2>&1 ||
        errors+=("--once --json did not print reports")
for condition in \
        '.[] | select(.target | endswith(":'"${port[p256]}"'")) | select(.status == "ok") |
                .addresses[0].tls.group == "P-256"' \
        '.[] | select(.target | endswith(":'"${port[p256]}"'")) | select(.status == "critical") |
                .problems[] | select(.code == "tls_handshake_failed") | .message |
                test("offered only the key-exchange groups P-384")' \
        '.[] | select(.target | endswith(":'"${port[x25519]}"'")) | .addresses[0].tls.group == "X25519"' \
        '[.[] | .status] | sort == ["critical", "ok", "ok"]'; do
        "$jq" -e "$condition" "$tmp/once.out" >/dev/null 2>&1 || errors+=("--once --json does not satisfy: $condition")
done
report "tlswatchd --once: Groups= per target, contexts apart" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/once.out" "$tmp/once.err"

# The metric, from a running daemon.
start_daemon main -c "$tmp/once.d/tlswatch.conf" --state-directory "$tmp/state"
wait_daemon main "$sock"
has_group_metrics() {
        timeout -k 2 10 "$TLSWATCHCTL" --socket "$sock" metrics >"$tmp/metrics.out" 2>"$tmp/metrics.err" &&
                grep -q '^tlswatch_tls_group_info{.*group="X25519"} 1$' "$tmp/metrics.out" &&
                grep -q '^tlswatch_tls_group_info{.*group="P-256"} 1$' "$tmp/metrics.out"
}
errors=()
poll 30 has_group_metrics || errors+=("no tlswatch_tls_group_info samples for X25519 and P-256 within 30 s")
grep -q '^# TYPE tlswatch_tls_group_info gauge$' "$tmp/metrics.out" || errors+=("no TYPE line for the family")
line="tlswatch_tls_group_info{instance=\"127.0.0.1:${port[x25519]}\",target=\"x25519\",address=\"127.0.0.1\","
line+="protocol=\"tls\",group=\"X25519\"} 1"
grep -qxF -- "$line" "$tmp/metrics.out" || errors+=("missing: $line")
# The target whose handshake failed negotiated nothing: no sample.
grep -q '^tlswatch_tls_group_info{.*target="narrowed"' "$tmp/metrics.out" &&
        errors+=("a sample for the target whose handshake failed")
report "tlswatchd: tlswatch_tls_group_info per address" ${errors[@]+"${errors[@]}"} -- "$tmp/metrics.out"
stop_daemon main

summary
