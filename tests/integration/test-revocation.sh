#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Revocation by CRL against real servers: a test CA (root -> intermediate -> leaves) made at run time
# with `openssl ca`, whose certificates name CRL distribution points on a real nginx on loopback. A
# revoked leaf is `revoked` (critical, with reason and date); a distribution point that answers 404,
# more than 10 MiB, a CRL signed by another key with the issuer's name, or never answers (tcp-peer
# --mode silent) is `revocation_unknown`, never a hang, a crash or a critical status by itself; with
# Revocation off (the default) nothing is fetched. Stapled OCSP responses (s_server -status_file) are
# shown, verified or not, as information. Then tlswatchd --once with 200 targets sharing one
# CRL: nginx's access log shows each CRL fetched once. 0 pass, 1 fail, 99 broken environment.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHCTL TLSWATCHD TCP_PEER
nginx=${NGINX:-nginx}
need_commands "$openssl" "$jq" "$nginx" timeout

make_tmp

# The distribution point that never answers: it must exist before the certificate naming it.
start_peer silent silent
wait_port silent

# --- the CA ----------------------------------------------------------------------------------------------

# ca_conf NAME: an `openssl ca` database and configuration for the CA NAME in $ca.
ca_conf() {
        mkdir -p "$ca/$1.db"
        : >"$ca/$1.db/index.txt"
        echo 1000 >"$ca/$1.db/serial"
        echo 1000 >"$ca/$1.db/crlnumber"
        cat >"$ca/$1.cnf" <<EOF
[ca]
default_ca = this
[this]
database = $ca/$1.db/index.txt
serial = $ca/$1.db/serial
crlnumber = $ca/$1.db/crlnumber
new_certs_dir = $ca/$1.db
certificate = $ca/$1.pem
private_key = $ca/$1.key
default_md = sha256
default_days = 365
default_crl_days = 2
policy = anything
unique_subject = no
[anything]
commonName = supplied
[intermediate]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
crlDistributionPoints = URI:http://127.0.0.1:${port[crl]}/root.crl
[leaf]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
crlDistributionPoints = \$ENV::CDP
EOF
}

ec_key() {
        "$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/$1.key" 2>/dev/null
}

# make_ca: root, intermediate, one leaf per case, the CRLs, into $ca and nginx's $www.
make_ca() {
        local leaf url

        rm -rf "$ca" "$www"
        mkdir -p "$ca" "$www"
        ec_key root && ca_conf root &&
                "$openssl" req -x509 -new -key "$ca/root.key" -subj "/CN=tlswatch CRL test root" -days 365 \
                        -addext "basicConstraints=critical,CA:true" \
                        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$ca/root.pem" || return 1
        ec_key int && ca_conf int &&
                "$openssl" req -new -key "$ca/int.key" -subj "/CN=tlswatch CRL test intermediate" \
                        -out "$ca/int.csr" &&
                CDP=unused "$openssl" ca -batch -config "$ca/root.cnf" -extensions intermediate \
                        -in "$ca/int.csr" -out "$ca/int.pem" -notext 2>/dev/null || return 1
        for leaf in good revoked missing big wrongkey hang; do
                case $leaf in
                missing) url=http://127.0.0.1:${port[crl]}/missing.crl ;;
                big) url=http://127.0.0.1:${port[crl]}/big.crl ;;
                wrongkey) url=http://127.0.0.1:${port[crl]}/wrong.crl ;;
                hang) url=http://127.0.0.1:${port[silent]}/int.crl ;;
                *) url=http://127.0.0.1:${port[crl]}/int.crl ;;
                esac
                ec_key "$leaf" &&
                        "$openssl" req -new -key "$ca/$leaf.key" -subj "/CN=$leaf" -out "$ca/$leaf.csr" &&
                        CDP=URI:$url "$openssl" ca -batch -config "$ca/int.cnf" -extensions leaf \
                                -in "$ca/$leaf.csr" -out "$ca/$leaf.pem" -notext 2>/dev/null || return 1
                cat "$ca/$leaf.pem" "$ca/int.pem" >"$ca/$leaf-chain.pem"
        done
        # The leaf revoked, then the CRLs: the intermediate's in DER (as RFC 5280 has it), the root's
        # in PEM (as some CAs serve it).
        CDP=unused "$openssl" ca -config "$ca/int.cnf" -revoke "$ca/revoked.pem" -crl_reason keyCompromise \
                2>/dev/null &&
                CDP=unused "$openssl" ca -config "$ca/int.cnf" -gencrl -out "$ca/int.crl.pem" 2>/dev/null &&
                "$openssl" crl -in "$ca/int.crl.pem" -outform DER -out "$www/int.crl" &&
                CDP=unused "$openssl" ca -config "$ca/root.cnf" -gencrl -out "$www/root.crl" 2>/dev/null ||
                return 1
        # The intermediate's name, another key: a CRL that revokes nothing and must not be believed.
        ec_key impostor && ca_conf impostor &&
                "$openssl" req -x509 -new -key "$ca/impostor.key" -subj "/CN=tlswatch CRL test intermediate" \
                        -days 365 -out "$ca/impostor.pem" &&
                CDP=unused "$openssl" ca -config "$ca/impostor.cnf" -gencrl -out "$www/wrong.crl" 2>/dev/null ||
                return 1
        # OCSP responses to staple: the intermediate's for good and revoked, and one for missing signed by
        # the impostor (the intermediate's name, another key), which must not show as verified.
        for leaf in good revoked missing; do
                "$openssl" ocsp -issuer "$ca/int.pem" -cert "$ca/$leaf.pem" -no_nonce -reqout "$ca/$leaf.req" \
                        >/dev/null 2>&1 || return 1
                signer=int
                [[ $leaf == missing ]] && signer=impostor
                "$openssl" ocsp -index "$ca/int.db/index.txt" -CA "$ca/int.pem" -rsigner "$ca/$signer.pem" \
                        -rkey "$ca/$signer.key" -reqin "$ca/$leaf.req" -respout "$ca/$leaf.ocsp" -ndays 1 \
                        >/dev/null 2>&1 || return 1
        done
        # 11 MiB: more than any CRL may weigh.
        head -c $((11 * 1024 * 1024)) /dev/zero >"$www/big.crl"
}

# --- nginx: the distribution points, and one TLS listener for the fleet -----------------------------------

# One process (master_process off), so the PID this shell holds is the whole server; the access log of
# the distribution points is what the last check counts.
write_nginx_conf() {
        cat >"$ngx/nginx.conf" <<EOF
daemon off;
master_process off;
pid $ngx/nginx.pid;
error_log stderr notice;

events {
        worker_connections 512;
}

http {
        client_body_temp_path $ngx/client_body;
        proxy_temp_path $ngx/proxy;
        fastcgi_temp_path $ngx/fastcgi;
        uwsgi_temp_path $ngx/uwsgi;
        scgi_temp_path $ngx/scgi;
        default_type application/pkix-crl;

        server {
                listen 127.0.0.1:${port[crl]};
                access_log $ngx/access.log;
                root $www;
        }
        server {
                listen 127.0.0.1:${port[fleet]} ssl;
                access_log off;
                ssl_certificate $ca/good-chain.pem;
                ssl_certificate_key $ca/good.key;
                location / {
                        return 200 "ok\n";
                }
        }
}
EOF
}

ca=$tmp/ca
www=$tmp/www
ngx=$tmp/nginx
mkdir -p "$ngx"
started=no
for ((attempt = 1; attempt <= 5; attempt++)); do
        pick_ports 2
        port[crl]=${picked[0]}
        port[fleet]=${picked[1]}
        # The certificates name the port, so a new port means a new CA.
        make_ca >"$tmp/make-ca.log" 2>&1 || { cat "$tmp/make-ca.log" >&2; hard_error "making the test CA failed"; }
        write_nginx_conf
        start_process nginx "$nginx" -p "$ngx" -c "$ngx/nginx.conf" -e stderr
        for ((i = 0; i < 100; i++)); do
                grep -q 'bind() to .* failed' "$tmp/nginx.err" && break
                if port_in_use "${port[crl]}" && port_in_use "${port[fleet]}"; then
                        started=yes
                        break
                fi
                dead "${pid[nginx]}" && break
                sleep 0.05
        done
        [[ $started == yes ]] && ! grep -q 'bind() to .* failed' "$tmp/nginx.err" && break
        started=no
        stop_pid "${pid[nginx]}" 2
        grep -q 'Address already in use' "$tmp/nginx.err" || break
        echo "$test_name: nginx: a port was taken, attempt $attempt of 5" >&2
done
[[ $started == yes ]] || { show_log nginx "$tmp/nginx.err"; hard_error "nginx did not start"; }

for leaf in good revoked missing big wrongkey hang; do
        staple=()
        [[ -f $ca/$leaf.ocsp ]] && staple=(-status_file "$ca/$leaf.ocsp")
        start_tls "$leaf" -cert "$ca/$leaf.pem" -cert_chain "$ca/int.pem" -key "$ca/$leaf.key" ${staple[@]+"${staple[@]}"}
        wait_port "$leaf"
done

# requests PATH: how many times nginx was asked for PATH so far.
requests() {
        grep -c "\"GET $1 " "$ngx/access.log" 2>/dev/null
}

report_details() {
        echo "    --- probe stdout:"
        sed 's/^/    /' "$tmp/out" | head -60
        echo "    --- probe stderr:"
        sed 's/^/    /' "$tmp/err" | head -20
}

# check_probe NAME EXPECTED_RC JQ-FILTER [ARGS...]: probe listener NAME with --json, the CA as trust
# anchor, and ARGS; the exit code and the filter applied to the report must hold.
check_probe() {
        local name=$1 want=$2 filter=$3
        local -a errors=()

        shift 3
        run_probe "127.0.0.1:${port[$name]}" --protocol tls --ca-file "$ca/root.pem" --json "$@"
        [[ $rc == "$want" ]] || errors+=("exit code $(describe_rc "$rc"), expected $want")
        "$jq" -e "$filter" "$tmp/out" >/dev/null 2>&1 || errors+=("the report does not match: $filter")
        report "$name (${*:-no option: revocation off})" ${errors[@]+"${errors[@]}"}
}

chain='.addresses[0].chain'
codes='[.problems[].code]'

# --- off by default -----------------------------------------------------------------------------------------

before=$(requests /int.crl)
check_probe revoked 0 ".status == \"ok\" and ($codes | length == 0) and all($chain[]; has(\"revocation\") | not) and
        (.addresses[0] | has(\"ocsp_staple\") | not)"
after=$(requests /int.crl)
report "without --crl nothing is fetched" \
        $([[ $before == "$after" ]] || echo "nginx served /int.crl $((after - before)) times")

# --- verdicts -------------------------------------------------------------------------------------------------

check_probe good 0 ".status == \"ok\" and ($codes | length == 0) and $chain[0].revocation.status == \"good\" and
        $chain[1].revocation.status == \"good\" and ($chain[2] | has(\"revocation\") | not) and
        ($chain[0].revocation.crl_next_update_unix > now) and
        (.addresses[0].ocsp_staple | .status == \"good\" and .verified and .next_update_unix > now)" --crl

check_probe revoked 2 ".status == \"critical\" and $codes == [\"revoked\"] and
        (.problems[0] | .severity == \"critical\" and .depth == 0 and (.message | test(\"keyCompromise\"))) and
        ($chain[0].revocation | .status == \"revoked\" and .reason == \"keyCompromise\" and
         (.revoked_at_unix | . > now - 3600 and . <= now + 60)) and
        $chain[1].revocation.status == \"good\" and
        (.addresses[0].ocsp_staple | .status == \"revoked\" and .verified and .reason == \"keyCompromise\")" --crl

# unknown alone: a note (exit 0), with --revocation crl-warn a warning (exit 1); never critical.
unknown_note=".status == \"ok\" and $codes == [\"revocation_unknown\"] and .problems[0].severity == \"note\" and
        $chain[0].revocation.status == \"unknown\" and $chain[1].revocation.status == \"good\""
# Its staple says good but is signed by another key: shown as not verified, and it changes nothing.
check_probe missing 0 "$unknown_note and (.problems[0].message | test(\"HTTP 404\")) and
        (.addresses[0].ocsp_staple | .status == \"good\" and .verified == false)" --crl
check_probe missing 1 ".status == \"warning\" and .problems[0].severity == \"warning\" and
        $codes == [\"revocation_unknown\"]" --revocation crl-warn
check_probe big 0 "$unknown_note and (.problems[0].message | test(\"more than 10 MiB\"))" --crl
check_probe wrongkey 0 "$unknown_note and (.problems[0].message | test(\"signature\"))" --crl
# A distribution point that accepts and never answers: curl's bound (10 s) ends the wait.
check_probe hang 0 "$unknown_note and (.problems[0].message | test(\"did not answer within\"))" --crl

# --- one fetch per nextUpdate for a fleet ----------------------------------------------------------------------

n_targets=200
{
        printf '[Defaults]\nProtocol=tls\nCAFile=%s\nRevocation=crl\nTimeout=20s\nMaxConcurrentProbes=50\n' \
                "$ca/root.pem"
        for ((i = 0; i < n_targets; i++)); do
                printf '\n[Target fleet-%d]\nAddress=127.0.0.1:%s\n' "$i" "${port[fleet]}"
        done
} >"$tmp/fleet.conf"
int_before=$(requests /int.crl)
root_before=$(requests /root.crl)
timeout -k 5 120 "$TLSWATCHD" -c "$tmp/fleet.conf" --once --json </dev/null >"$tmp/fleet.out" 2>"$tmp/fleet.err"
rc=$?
errors=()
[[ $rc == 0 ]] || errors+=("tlswatchd --once: exit code $(describe_rc "$rc"), expected 0")
"$jq" -e "length == $n_targets and all(.[]; .status == \"ok\" and
        .addresses[0].chain[0].revocation.status == \"good\" and
        .addresses[0].chain[1].revocation.status == \"good\")" "$tmp/fleet.out" >/dev/null 2>&1 ||
        errors+=("not $n_targets reports, each ok with both CRLs checked good")
int_fetches=$(($(requests /int.crl) - int_before))
root_fetches=$(($(requests /root.crl) - root_before))
((int_fetches == 1)) || errors+=("the intermediate's CRL was fetched $int_fetches times, expected once")
((root_fetches == 1)) || errors+=("the root's CRL was fetched $root_fetches times, expected once")
report "$n_targets targets sharing a CRL: each CRL fetched once ($int_fetches, $root_fetches)" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/fleet.err"

# --- a running daemon counts its fetches ---------------------------------------------------------------------

# 50 targets sharing the CRL pair and one whose distribution point answers 404: once every target has
# been probed, tlswatch_crl_fetches_total is what nginx served, the 404 is one failure, and every other
# CRL request was a cache hit.
{
        printf '[Defaults]\nProtocol=tls\nCAFile=%s\nRevocation=crl\nInterval=1h\nTimeout=20s\n' "$ca/root.pem"
        printf 'ControlSocket=%s\n' "$tmp/d.sock"
        for ((i = 0; i < 50; i++)); do
                printf '\n[Target shared-%d]\nAddress=127.0.0.1:%s\n' "$i" "${port[fleet]}"
        done
        printf '\n[Target missing]\nAddress=127.0.0.1:%s\n' "${port[missing]}"
} >"$tmp/d.conf"
mkdir -p "$tmp/d-state"
served_before=$(($(requests /int.crl) + $(requests /root.crl) + $(requests /missing.crl)))
start_daemon d -c "$tmp/d.conf" --state-directory "$tmp/d-state"
wait_daemon d
# every_target_probed: the exposition has a last-probe time for all 51 targets.
every_target_probed() {
        timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/d.sock" metrics >"$tmp/metrics" 2>"$tmp/metrics.err" &&
                (($(grep -c '^tlswatch_last_probe_timestamp_seconds{' "$tmp/metrics") == 51))
}
counter() { awk -v name="$1" '$1 == name { print $2 }' "$tmp/metrics"; }
errors=()
if poll 60 every_target_probed; then
        served=$(($(requests /int.crl) + $(requests /root.crl) + $(requests /missing.crl) - served_before))
        fetches=$(counter tlswatch_crl_fetches_total)
        failures=$(counter tlswatch_crl_fetch_failures_total)
        hits=$(counter tlswatch_crl_cache_hits_total)
        [[ $fetches == "$served" && $served == 3 ]] ||
                errors+=("tlswatch_crl_fetches_total is ${fetches:-missing}, nginx served $served CRL requests; expected 3")
        [[ $failures == 1 ]] || errors+=("tlswatch_crl_fetch_failures_total is ${failures:-missing}, expected 1 (the 404)")
        # 51 leaves and 51 intermediates ask: 3 fetches answer 3 of the 102 requests (or more of them, as
        # requests made while a fetch runs wait for it), the rest come from the cache.
        [[ -n $hits ]] && ((hits >= 51 && hits <= 99)) ||
                errors+=("tlswatch_crl_cache_hits_total is ${hits:-missing}, expected between 51 and 99")
else
        errors+=("not every target was probed within 60 s")
fi
stop_daemon d
report "a running daemon counts its CRL fetches, failures and cache hits (${fetches:-?}, ${failures:-?}, ${hits:-?})" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/metrics" "$tmp/d.err"

summary
