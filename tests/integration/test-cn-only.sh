#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A certificate without subjectAltName whose name is only in its subject CN, made at run time by the
# test PKI's intermediate and served by a real `openssl s_server` on loopback. OpenSSL's own host check
# accepts it (shown with `openssl verify -verify_hostname`), so without name_only_in_cn the probe would
# say OK; tlswatch reports it as a warning naming the clients that refuse it, a note or critical by
# --name-only-in-cn / NameOnlyInCN=, and nothing for the same name in subjectAltName. Run by the
# automake harness: 0 pass, 1 fail, 99 broken environment.

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

# --- the certificate: CN=localhost, no subjectAltName, issued by the trusted intermediate --------------

# make_cert NAME EXTENSIONS: $tmp/NAME.pem (CN=localhost, valid for 90 days from now) and its key.
make_cert() {
        printf '%s\n' "$2" >"$tmp/$1.ext"
        if ! { "$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$1.key" &&
                "$openssl" req -new -key "$tmp/$1.key" -subj /CN=localhost -out "$tmp/$1.csr" &&
                "$openssl" x509 -req -in "$tmp/$1.csr" -CA "$pki/int.pem" -CAkey "$pki/int.key" -CAcreateserial \
                        -CAserial "$tmp/int.srl" -days 90 -sha256 -extfile "$tmp/$1.ext" -out "$tmp/$1.pem"
        } 2>>"$tmp/pki.log"; then
                cat "$tmp/pki.log" >&2
                hard_error "cannot make the $1 certificate"
        fi
}
leaf_ext='basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth'
make_cert cnonly "$leaf_ext"
make_cert cnsan "$leaf_ext
subjectAltName = DNS:localhost"
"$openssl" x509 -in "$tmp/cnonly.pem" -noout -ext subjectAltName 2>/dev/null | grep -q . &&
        hard_error "the CN-only certificate has a subjectAltName"

# The premise: OpenSSL's host check accepts the CN-only certificate for "localhost".
errors=()
"$openssl" verify -CAfile "$pki/root.pem" -untrusted "$pki/int.pem" -verify_hostname localhost \
        "$tmp/cnonly.pem" >"$tmp/verify.out" 2>&1 || errors+=("openssl verify -verify_hostname localhost refuses it")
report "openssl's own host check accepts CN=localhost without subjectAltName" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/verify.out"

start_tls cnonly -cert "$tmp/cnonly.pem" -key "$tmp/cnonly.key" -cert_chain "$pki/int.pem"
start_tls cnsan -cert "$tmp/cnsan.pem" -key "$tmp/cnsan.key" -cert_chain "$pki/int.pem"
wait_port cnonly
wait_port cnsan

common=(--ca-file "$pki/root.pem" --servername localhost --protocol tls --timeout 10)

report_details() {
        echo "    --- stdout:"
        sed 's/^/    /' "$tmp/out"
        echo "    --- stderr:"
        sed 's/^/    /' "$tmp/err"
}

# check NAME EXPECTED-RC JQ-FILTER: the last probe's exit status and a jq condition on its JSON.
check() {
        local -a errors=()

        [[ $rc == "$2" ]] || errors+=("exit status $(describe_rc "$rc"), expected $2")
        "$jq" -e "$3" "$tmp/out" >/dev/null 2>&1 || errors+=("JSON does not satisfy: $3")
        report "$1" ${errors[@]+"${errors[@]}"}
}

only_cn='[.problems[] | .code] == ["name_only_in_cn"]'

# --- tlswatchctl probe ---------------------------------------------------------------------------------

run_probe "${common[@]}" --json "$(at cnonly)"
check "CN-only: name_only_in_cn, a warning, naming who refuses it" 1 \
        '.status == "warning" and '"$only_cn"' and
         (.problems[0] | .severity == "warning" and .depth == 0 and
          (.message | test("\"localhost\" is only in the certificate.s subject CN") and test("Chrome") and
                      test("Go 1.15") and test("rustls") and test("DNS:localhost")))'

run_probe "${common[@]}" "$(at cnonly)"
errors=()
[[ $rc == 1 ]] || errors+=("exit status $(describe_rc "$rc"), expected 1")
head -n 1 "$tmp/out" | grep -q '^WARNING: .* name_only_in_cn: "localhost" is only in' ||
        errors+=("the first line is not the WARNING verdict with the code")
report "CN-only, text: the first line says WARNING name_only_in_cn" ${errors[@]+"${errors[@]}"}

run_probe "${common[@]}" --json --name-only-in-cn note "$(at cnonly)"
check "--name-only-in-cn note: OK, the note listed" 0 \
        '.status == "ok" and '"$only_cn"' and .problems[0].severity == "note"'

run_probe "${common[@]}" --json --name-only-in-cn critical "$(at cnonly)"
check "--name-only-in-cn critical: CRITICAL" 2 '.status == "critical" and '"$only_cn"

# The same name in subjectAltName: nothing to report.
run_probe "${common[@]}" --json "$(at cnsan)"
check "CN and subjectAltName DNS:localhost: ok, no problem" 0 '.status == "ok" and (.problems | length == 0)'

# A name in neither: the mismatch it always was, not name_only_in_cn.
run_probe "${common[@]}" --json --servername other.example "$(at cnonly)"
check "CN-only, another name: hostname_mismatch" 2 '[.problems[] | .code] == ["hostname_mismatch"]'

# --- tlswatchd: NameOnlyInCN= ---------------------------------------------------------------------------

mkdir -p "$tmp/d" "$tmp/state"
cat >"$tmp/d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
ServerName=localhost
Protocol=tls
Interval=1h
Timeout=5s
ControlSocket=$tmp/control.sock

[Target default]
Address=127.0.0.1:${port[cnonly]}

[Target critical]
Address=127.0.0.1:${port[cnonly]}
NameOnlyInCN=critical
EOF
timeout -k 5 60 "$TLSWATCHD" -c "$tmp/d/tlswatch.conf" --state-directory "$tmp/state" --once --json \
        >"$tmp/once.out" 2>"$tmp/once.err"
rc=$?
errors=()
[[ $rc == 2 ]] || errors+=("exit status $(describe_rc "$rc"), expected 2")
"$jq" -e '[.[] | [.status, (.problems[] | .code, .severity)]] | sort ==
        [["critical", "name_only_in_cn", "critical"], ["warning", "name_only_in_cn", "warning"]]' \
        "$tmp/once.out" >/dev/null 2>&1 || errors+=("not one warning and one critical name_only_in_cn")
report "tlswatchd --once: NameOnlyInCN= per target" ${errors[@]+"${errors[@]}"} -- "$tmp/once.out" \
        "$tmp/once.err"

sed -i 's/^NameOnlyInCN=critical$/NameOnlyInCN=ignore/' "$tmp/d/tlswatch.conf"
timeout -k 5 30 "$TLSWATCHD" -c "$tmp/d/tlswatch.conf" --check-config >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
errors=()
[[ $rc != 0 ]] || errors+=("--check-config accepted NameOnlyInCN=ignore")
grep -qF "$tmp/d/tlswatch.conf:14: NameOnlyInCN: \"ignore\" is not one of note, warning, critical" \
        "$tmp/bad.err" || errors+=("no FILE:LINE error for NameOnlyInCN=ignore")
report "NameOnlyInCN= with a bad value: FILE:LINE" ${errors[@]+"${errors[@]}"} -- "$tmp/bad.err"

summary
