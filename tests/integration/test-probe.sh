#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of `tlswatchctl probe`: starts real `openssl s_server`s and tcp-peers on loopback,
# one per failure tlswatch must recognise, probes each and checks exit code, status and problem codes
# of the --json report. Run by the automake harness: 0 pass, 1 fail, 99 broken environment; never skips.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: probes fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

need_programs TLSWATCHCTL TCP_PEER
need_commands "$openssl" "$jq" timeout

make_tmp
make_pki

# --- servers -------------------------------------------------------------------------------------------

# Junk servers answer whatever is written to their own FIFO right before a probe: plain s_server mode
# sends stdin to the connected client. -www only answers a complete "GET" line and -rev answers line by
# line with bare LFs, so neither gives a non-HTTP/MQTT reply that every parser rejects promptly.
mkfifo "$tmp/junk-http.in" "$tmp/junk-mqtt.in"
exec {junk_http_fd}<>"$tmp/junk-http.in"
exec {junk_mqtt_fd}<>"$tmp/junk-mqtt.in"

good=(-cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem")
# Debian builds OpenSSL with security level 2 by default, at which s_server refuses to load an RSA-1024
# or SHA-1-signed certificate and will not speak TLS 1.0 or anonymous DH.
legacy=(-cipher 'DEFAULT:@SECLEVEL=0')
# -verify_return_error: without it s_server logs a bad client certificate and accepts it anyway.
mtls=(-Verify 1 -CAfile "$pki/clientca.pem" -verify_return_error)

start_tls good "${good[@]}"
start_tls ec -cert "$pki/ec.pem" -key "$pki/ec.key" -cert_chain "$pki/int.pem"
start_tls nochain -cert "$pki/good.pem" -key "$pki/good.key"
for name in expired notyet soon10 soon3 wrongname; do
        start_tls "$name" -cert "$pki/$name.pem" -key "$pki/$name.key" -cert_chain "$pki/int.pem"
done
for name in rsa1024 sha1; do
        start_tls "$name" -cert "$pki/$name.pem" -key "$pki/$name.key" -cert_chain "$pki/int.pem" \
                "${legacy[@]}"
done
start_tls selfsigned -cert "$pki/selfsigned.pem" -key "$pki/selfsigned.key"
start_tls untrusted -cert "$pki/untrusted.pem" -key "$pki/untrusted.key" \
        -cert_chain "$pki/otherca-chain.pem"
start_tls expiredint -cert "$pki/underexpiredint.pem" -key "$pki/underexpiredint.key" \
        -cert_chain "$pki/expiredint.pem"
start_tls tls10 "${good[@]}" -tls1 "${legacy[@]}"
start_tls mtls13 "${good[@]}" "${mtls[@]}"
start_tls mtls12 "${good[@]}" "${mtls[@]}" -tls1_2
start_tls anon -nocert -cipher 'aNULL:@SECLEVEL=0' -tls1_2
start_tls www "${good[@]}" -www
start_tls junk_http --stdin "$tmp/junk-http.in" "${good[@]}"
start_tls junk_mqtt --stdin "$tmp/junk-mqtt.in" "${good[@]}"
start_peer silent silent
start_peer close close
start_peer plain plain
# A port that was just free and now has no listener: a tcp-peer that lives one second.
start_peer closed close 1

for name in good ec nochain expired notyet soon10 soon3 wrongname rsa1024 sha1 selfsigned untrusted \
            expiredint tls10 mtls13 mtls12 anon www junk_http junk_mqtt silent close plain closed; do
        wait_port "$name"
done

# --- probing -------------------------------------------------------------------------------------------

# report_details: after a failed check, what the probe printed.
report_details() {
        echo "    --- stdout:"
        if "$jq" -e . "$tmp/out" >/dev/null 2>&1; then
                "$jq" . "$tmp/out" | sed 's/^/    /'
        else
                sed 's/^/    /' "$tmp/out"
        fi
        echo "    --- stderr:"
        sed 's/^/    /' "$tmp/err"
}

# expect_probe NAME EXIT STATUS [CHECK...] -- PROBE-ARGS...
#   CHECK is one of
#     CODE              a problem with this code is in .problems
#     CODE:K=V[,K=V]    ... and it has these field values, e.g. expired:depth=1 or
#                       expires_soon:severity=warning
#     !CODE             no problem with this code is in .problems
#     @none             .problems is empty
#     ?JQ-EXPRESSION    the expression is true for the whole report
expect_probe() {
        local name=$1 want_rc=$2 want_status=$3 check code cond status
        local -a checks=() errors=()

        shift 3
        while [[ $# -gt 0 && $1 != -- ]]; do
                checks+=("$1")
                shift
        done
        [[ $# -gt 0 ]] || hard_error "expect_probe $name: missing -- before the probe arguments"
        shift

        run_probe "$@"

        [[ $rc == "$want_rc" ]] || errors+=("exit code $(describe_rc "$rc"), expected $want_rc")
        # -s: empty output or two documents must fail too; plain `jq -e` exits 0 on empty input (jq 1.6).
        if ! "$jq" -se 'length == 1 and (.[0] | type == "object")' "$tmp/out" >/dev/null 2>&1; then
                errors+=("stdout is not exactly one JSON object")
                report "$name" "${errors[@]}"
                return
        fi
        status=$("$jq" -r '.status' "$tmp/out")
        [[ $status == "$want_status" ]] || errors+=("status \"$status\", expected \"$want_status\"")

        for check in "${checks[@]}"; do
                case $check in
                @none)
                        "$jq" -e '.problems | length == 0' "$tmp/out" >/dev/null ||
                                errors+=("expected no problems")
                        ;;
                !*)
                        "$jq" -e --arg c "${check#!}" 'all(.problems[]?; .code != $c)' "$tmp/out" \
                                >/dev/null ||
                                errors+=("problem ${check#!} present, expected absent")
                        ;;
                \?*)
                        "$jq" -e "${check#\?}" "$tmp/out" >/dev/null 2>&1 ||
                                errors+=("not true: ${check#\?}")
                        ;;
                *)
                        code=${check%%:*}
                        cond=""
                        [[ $check == *:* ]] && cond=${check#*:}
                        # Field values compare as strings, so depth=1 matches the number 1.
                        "$jq" -e --arg c "$code" --arg cond "$cond" '
                                ($cond | if . == "" then [] else split(",") | map(split("=")) end) as $kv
                                | any(.problems[]?; . as $p | .code == $c
                                      and all($kv[]; ($p[.[0]] | tostring) == .[1]))' \
                                "$tmp/out" >/dev/null ||
                                errors+=("no problem $code${cond:+ with $cond}")
                        ;;
                esac
        done

        report "$name" ${errors[@]+"${errors[@]}"}
}

# expect_usage_error NAME PROBE-ARGS...: exit 3 with exactly one line on stderr.
expect_usage_error() {
        local name=$1 lines
        local -a errors=()

        shift
        run_probe "$@"
        [[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
        lines=$(grep -c '' "$tmp/err")
        [[ $lines == 1 && -n $(tr -d '[:space:]' <"$tmp/err") ]] ||
                errors+=("expected a one-line message on stderr, got $lines lines")
        report "$name" ${errors[@]+"${errors[@]}"}
}

ca=(--ca-file "$pki/root.pem")
json=(--json --timeout 5)
tls=(--protocol tls)
sni=(--servername localhost)
# What the good server's leaf must look like in the report, from the certificate itself.
good_sha256=$("$openssl" x509 -in "$pki/good.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
              tr 'A-F' 'a-f')
good_not_after=$(date -u -d "$("$openssl" x509 -in "$pki/good.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%d)

expect_probe "good chain" 0 ok @none \
        "?.target == \"$(at good)\"" \
        '?.addresses | length == 1' \
        '?.addresses[0].address == "127.0.0.1" and .addresses[0].status == "ok"' \
        '?.addresses[0].tls.version == "TLSv1.3"' \
        '?.addresses[0].chain | length == 3' \
        '?.addresses[0].chain[0].depth == 0 and .addresses[0].chain[0].sent == true' \
        '?.addresses[0].chain[1].sent == true' \
        '?.addresses[0].chain[2].depth == 2 and .addresses[0].chain[2].sent == false' \
        '?.addresses[0].chain[2].subject | test("tlswatch test root")' \
        '?.addresses[0].chain[0].subject | test("tlswatch good")' \
        '?.addresses[0].chain[1].depth == 1' \
        '?.addresses[0].chain[1].subject | test("tlswatch test intermediate")' \
        "?.addresses[0].chain[0].sha256 | ascii_downcase | gsub(\":\"; \"\") == \"$good_sha256\"" \
        "?.addresses[0].chain[0].not_after | startswith(\"$good_not_after\")" \
        '?.addresses[0].chain[0].days_left > 89 and .addresses[0].chain[0].days_left <= 90' \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at good)"

# No --servername: the name to check is the IP literal, matched against the IP SAN.
expect_probe "IP literal target" 0 ok @none -- "${json[@]}" "${ca[@]}" "${tls[@]}" "$(at good)"

expect_probe "EC certificate" 0 ok @none -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at ec)"

# A listener (openssl s_server) that sends only its leaf: the cause (incomplete_chain) and the effect
# (chain_unverified) both, each with OpenSSL's verify code, so an alert on "the chain does not verify"
# fires for the most common reason it does not.
expect_probe "incomplete chain, intermediate unknown" 2 critical \
        incomplete_chain:severity=critical,verify_code=20 chain_unverified:severity=critical,verify_code=20 \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at nochain)"

# The CA file holds the intermediate, so verification succeeds; browsers without it would fail.
expect_probe "incomplete chain, intermediate in CA file" 1 warning \
        incomplete_chain:severity=warning '!chain_unverified' \
        '?.addresses[0].chain[1].sent == false' \
        -- "${json[@]}" --ca-file "$pki/rootint.pem" "${tls[@]}" "${sni[@]}" "$(at nochain)"

expect_probe "expired leaf" 2 critical expired:depth=0 \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at expired)"

expect_probe "leaf not yet valid" 2 critical not_yet_valid \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at notyet)"

# soon10 is a 90-day certificate with 10 days left: past its renew point (30 days left) under the
# default lifetime policy; with WarnDays=30 given, expires_soon exactly as before lifetimes.
expect_probe "expires in 10 days, 90-day lifetime" 1 warning renewal_overdue:severity=warning,depth=0 \
        '!expires_soon' '?.addresses[0].chain[0].lifetime_seconds == 90 * 86400' \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at soon10)"

expect_probe "expires in 10 days, --warn-days 30" 1 warning expires_soon:severity=warning '!renewal_overdue' \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" --warn-days 30 "$(at soon10)"

expect_probe "expires in 3 days" 2 critical expires_soon:severity=critical \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at soon3)"

# --crit-days too, so the thresholds stay ordered (warn >= crit) whatever the CLI thinks of 5 < 7.
expect_probe "expires in 10 days, --warn-days 5" 0 ok @none \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" --warn-days 5 --crit-days 2 "$(at soon10)"

expect_probe "hostname mismatch" 2 critical hostname_mismatch \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at wrongname)"

expect_probe "self-signed leaf" 2 critical chain_unverified:verify_code=18 \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at selfsigned)"

expect_probe "untrusted root in chain" 2 critical chain_unverified:verify_code=19 \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at untrusted)"

expect_probe "expired intermediate" 2 critical expired:depth=1 \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at expiredint)"

expect_probe "RSA-1024 key" 1 warning weak_key \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at rsa1024)"

expect_probe "SHA-1 signature" 1 warning weak_signature \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at sha1)"

expect_probe "TLS 1.0 only" 1 warning old_tls_version '?.addresses[0].tls.version == "TLSv1"' \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at tls10)"

expect_probe "mTLS 1.3, no client certificate" 2 critical client_certificate_required \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at mtls13)"

expect_probe "mTLS 1.2, no client certificate" 2 critical client_certificate_required \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at mtls12)"

expect_probe "mTLS 1.3, client certificate" 0 ok @none \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" --cert "$pki/client.pem" --key "$pki/client.key" \
        "$(at mtls13)"

expect_probe "mTLS 1.3, client certificate from another CA" 2 critical client_certificate_required \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "${sni[@]}" --cert "$pki/good.pem" --key "$pki/good.key" \
        "$(at mtls13)"

expect_probe "anonymous DH, no peer certificate" 2 critical no_peer_certificate \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "$(at anon)"

# The one-second tcp-peer exits by itself; wait for that (bounded by its lifetime) before relying on it.
wait "${pid[closed]}" 2>/dev/null
expect_probe "connection refused" 2 critical connect_failed \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "$(at closed)"

expect_probe "silent listener" 2 critical timeout \
        -- --json --timeout 2 "${ca[@]}" "${tls[@]}" "$(at silent)"
# The deadline covers the whole probe: not (much) earlier than 2 s, and nowhere near a second timeout.
if ((elapsed_ms < 1500 || elapsed_ms > 8000)); then
        report "silent listener: took ${elapsed_ms} ms" "expected about 2000 ms (1500..8000)"
else
        report "silent listener: took ${elapsed_ms} ms"
fi

expect_probe "peer closes at once (no SIGPIPE death)" 2 critical tls_handshake_failed \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "$(at close)"

expect_probe "plain-text peer" 2 critical tls_handshake_failed \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" "$(at plain)"

expect_probe "DNS failure" 2 critical dns_failed \
        -- "${json[@]}" "${ca[@]}" "${tls[@]}" nonexistent.invalid:8883

expect_probe "HTTPS" 0 ok @none -- "${json[@]}" "${ca[@]}" --protocol https "${sni[@]}" "$(at www)"

printf 'this is not HTTP\r\n\r\n' >&"$junk_http_fd"
expect_probe "HTTPS, non-HTTP reply" 2 critical protocol_failed \
        -- "${json[@]}" "${ca[@]}" --protocol https "${sni[@]}" "$(at junk_http)"

# What an HTTPS server says to an MQTT CONNECT.
printf 'HTTP/1.0 400 Bad Request\r\n\r\n' >&"$junk_mqtt_fd"
expect_probe "MQTT, HTTP reply" 2 critical protocol_failed \
        -- "${json[@]}" "${ca[@]}" --protocol mqtt "${sni[@]}" "$(at junk_mqtt)"

expect_usage_error "usage: empty target" ''
expect_usage_error "usage: IPv6 without brackets" ::1
expect_usage_error "usage: port out of range" 127.0.0.1:70000
expect_usage_error "usage: missing CA file" --ca-file /nonexistent "$(at good)"
expect_usage_error "usage: key does not match certificate" "${ca[@]}" \
        --cert "$pki/client.pem" --key "$pki/good.key" "$(at mtls13)"

run_probe --timeout 5 "${ca[@]}" "${tls[@]}" "${sni[@]}" "$(at good)"
errors=()
[[ $rc == 0 ]] || errors+=("exit code $(describe_rc "$rc"), expected 0")
[[ $(head -n 1 "$tmp/out") == OK* ]] || errors+=("first line of stdout does not start with OK")
report "human output" ${errors[@]+"${errors[@]}"}

summary
