#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The renewal diff end to end: one s_server whose certificate files are swapped and which is restarted
# for each kind of renewal (the same key again, a new key, a SAN dropped, clientAuth dropped, another
# intermediate with a shorter lifetime, across a daemon restart), watched by tlswatchd. The webhook
# document (webhook-receiver.py) and the daemon's event lines (stderr "<N>MESSAGE", no journal here;
# test-journal.sh checks the fields) must say what changed, with intermediate_changed, pin_mismatch and
# client_auth_dropped as the warnings they are. Run by the automake harness: 0 pass, 1 fail, 99 broken
# environment; never skips.

# SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2016

set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

hide_journal "$@"
forget_service_environment

need_programs TLSWATCHD TLSWATCHCTL
receiver=$TESTS_SRCDIR/integration/webhook-receiver.py
[[ -f $receiver ]] || hard_error "$receiver not found"
python=${PYTHON:-python3}
need_commands "$openssl" "$jq"

make_tmp

# --- a PKI of renewals, made now -------------------------------------------------------------------------

# A root, two intermediates (the old "R10" and the new "YR1", as Let's Encrypt's generations), two leaf
# keys; leaves are issued per step below.
r=$tmp/pki
mkdir -p "$r"
key() { "$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$r/$1.key" 2>/dev/null ||
        hard_error "cannot make key $1"; }
for k in root r10 yr1 k1 k2; do
        key "$k"
done
"$openssl" req -x509 -new -key "$r/root.key" -subj "/CN=Renewal Test Root" -days 3650 -out "$r/root.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
        hard_error "cannot make the root"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' \
        >"$r/ca.ext"
for ca in r10 yr1; do
        "$openssl" req -new -key "$r/$ca.key" -subj "/CN=Renewal Test ${ca^^}" -out "$r/$ca.csr" 2>/dev/null &&
                "$openssl" x509 -req -in "$r/$ca.csr" -CA "$r/root.pem" -CAkey "$r/root.key" -CAcreateserial \
                        -days 1825 -extfile "$r/ca.ext" -out "$r/$ca.pem" 2>/dev/null ||
                hard_error "cannot make intermediate $ca"
done

# leaf NAME KEY CA DAYS SANS EKU: NAME.pem for KEY.key, issued by CA, valid from an hour ago for DAYS.
leaf() {
        local name=$1 k=$2 ca=$3 days=$4 sans=$5 eku=$6

        printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\nextendedKeyUsage=%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' \
                "$sans" "$eku" >"$r/$name.ext"
        "$openssl" req -new -key "$r/$k.key" -subj "/CN=broker.test" -out "$r/$name.csr" 2>/dev/null &&
                "$openssl" x509 -req -in "$r/$name.csr" -CA "$r/$ca.pem" -CAkey "$r/$ca.key" -CAcreateserial \
                        -days "$days" -extfile "$r/$name.ext" -out "$r/$name.pem" 2>/dev/null ||
                hard_error "cannot issue $name"
        cp "$r/$k.key" "$r/$name.key"
        cp "$r/$ca.pem" "$r/$name-ca.pem"
}
both_names=DNS:localhost,DNS:broker.test
leaf v0 k1 r10 90 "$both_names" serverAuth,clientAuth   # the first certificate
leaf v1 k1 r10 90 "$both_names" serverAuth,clientAuth   # renewed with the same key
leaf v2 k2 r10 90 "$both_names" serverAuth,clientAuth   # renewed with a new key
leaf v3 k2 r10 90 DNS:localhost serverAuth,clientAuth   # broker.test dropped
leaf v4 k2 r10 90 DNS:localhost serverAuth              # clientAuth dropped
leaf v5 k2 yr1 6 DNS:localhost serverAuth               # another intermediate, a 6-day certificate

sha() {
        "$openssl" x509 -in "$r/$1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}
# The pin of k1 as `openssl ... | base64` gives it, with curl's prefix.
pin_k1=sha256//$("$openssl" pkey -in "$r/k1.key" -pubout -outform DER 2>/dev/null |
        "$openssl" dgst -sha256 -binary | base64)
r10_key_id=$("$openssl" x509 -in "$r/r10.pem" -noout -ext subjectKeyIdentifier | sed -n '2s/[ :]//gp' |
        tr 'A-F' 'a-f')

# --- the listener, whose files are swapped ---------------------------------------------------------------

mkdir -p "$tmp/live"
# serve VERSION: the listener's files become VERSION's and it is restarted on the same port, as a
# renewal hook (certbot --deploy-hook) would do.
serve() {
        cp "$r/$1.pem" "$tmp/live/cert.pem"
        cp "$r/$1.key" "$tmp/live/key.pem"
        cp "$r/$1-ca.pem" "$tmp/live/chain.pem"
        [[ -n ${pid[broker]:-} ]] && stop_pid "${pid[broker]}"
        listen_port=${broker_port:-} start_tls broker -cert "$tmp/live/cert.pem" -key "$tmp/live/key.pem" \
                -cert_chain "$tmp/live/chain.pem"
        listen_port=${broker_port:-} wait_port broker
        broker_port=${port[broker]}
}
serve v0

# --- the webhook receiver and the daemon -----------------------------------------------------------------

start_process --append hook "$python" "$receiver" --port 0 --port-file "$tmp/hook.port" --log "$tmp/hook.log" \
        --control "$tmp/hook.control"
wait_port hook

mkdir -p "$tmp/conf" "$tmp/state"
cat >"$tmp/conf/tlswatch.conf" <<EOF
[Defaults]
ControlSocket=$tmp/d.sock

[Target broker]
Address=127.0.0.1:$broker_port
Protocol=tls
ServerName=localhost
CAFile=$r/root.pem
Interval=1s
RetryInterval=1s
Timeout=1s
# A restart of the listener must not count as an outage.
ConfirmFailures=5
PinSHA256=$pin_k1
ExpectClientAuth=yes

[Webhook hook]
URL=http://127.0.0.1:${port[hook]}/hook
AllowInsecureHTTP=yes
EOF

start_daemon d -c "$tmp/conf/tlswatch.conf" --state-directory "$tmp/state"
wait_daemon d

# events JQ-FILTER: the filter applied to the array of event documents the receiver accepted.
events() {
        "$jq" -s -c "[.[] | select(.status < 300) | .body | fromjson? | select(.target == \"broker\")] | $1" \
                "$tmp/hook.log" 2>/dev/null
}
# change_to VERSION: the certificate_changed document whose new certificate is VERSION's ("" if none yet).
change_to() {
        events "map(select(.event == \"certificate_changed\" and .sha256 == \"$(sha "$1")\")) | last // empty"
}
has_change_to() {
        [[ -n $(change_to "$1") ]]
}
first_probe_done() {
        timeout 10 "$TLSWATCHCTL" --socket "$tmp/d.sock" status --json 2>/dev/null |
                "$jq" -e --arg sha "$(sha v0)" 'any(.[]; .name == "broker" and .sha256 == $sha)' >/dev/null
}
# line_for VERSION: the daemon's event line (stderr, "<N>MESSAGE") of the change to VERSION.
line_for() {
        grep -F "serves a new certificate (sha256 $(sha "$1" | cut -c1-16)..." "$tmp/d.err" | tail -n 1
}

report_details() {
        echo "    --- event documents:"
        events '.[] | {event, sha256, changes: [.changes[]?.message], problem: .problem.code}' | sed 's/^/    /' |
                tail -n 20
        echo "    --- tlswatchd stderr (last 20 lines):"
        tail -n 20 "$tmp/d.err" | cut -c1-400 | sed 's/^/    /'
}

# check NAME VERSION JQ-CONDITION [LINE-REGEX]: after serving VERSION, its certificate_changed document
# satisfies the condition and the daemon's line for it matches LINE-REGEX.
check() {
        local name=$1 version=$2 condition=$3 line_regex=${4:-} doc line
        local -a errors=()

        serve "$version"
        if poll 30 has_change_to "$version"; then
                doc=$(change_to "$version")
                "$jq" -e "$condition" <<<"$doc" >/dev/null ||
                        errors+=("the certificate_changed document does not satisfy: $condition" "document: $doc")
                line=$(line_for "$version")
                if [[ -n $line_regex ]] && ! grep -qE -- "$line_regex" <<<"$line"; then
                        errors+=("the daemon's event line does not match /$line_regex/: ${line:-no line}")
                fi
        else
                errors+=("no certificate_changed document for $version ($(sha "$version")) within 30 s")
        fi
        report "$name" ${errors[@]+"${errors[@]}"}
}

poll 30 first_probe_done || hard_error "the daemon did not probe the first certificate within 30 s"

# The same key again, nothing else changed: only its reuse is news, and nothing is a warning.
check "renewal with the same key: key_reused and nothing else" v1 \
        '(.changes | map(.change)) == ["key_reused"] and .diff_partial == false and .change_problems == []
         and (has("problem") | not)' \
        '^<5>broker: the listener serves a new certificate .*: key reused \(sha256 '

# A new key, and the pin holds only the old one: key_rotated, and pin_mismatch as its own problem.
check "renewal with a new key: key_rotated" v2 \
        '(.changes | map(.change)) == ["key_rotated"] and
         (.changes[0] | .old != .new and (.message | startswith("key rotated (sha256 ")))' \
        ': key rotated \(sha256 [0-9a-f]{16}\.\.\. -> [0-9a-f]{16}\.\.\.\)'
errors=()
poll 30 eval '[[ -n $(events "map(select(.event == \"problem\" and .problem.code == \"pin_mismatch\")) | .[]") ]]' ||
        errors+=("no problem document with code pin_mismatch within 30 s of the key rotation")
events 'map(select(.event == "problem" and .problem.code == "pin_mismatch")) | last' |
        "$jq" -e '.problem.severity == "warning" and (.problem.message | test("no key on the path matches a pinned one"))' \
                >/dev/null || errors+=("the pin_mismatch problem is not a warning naming the unpinned key")
grep -qE '^<4>broker: warning pin_mismatch: ' "$tmp/d.err" || errors+=("no <4> pin_mismatch line on stderr")
report "the rotated key breaks the pin: pin_mismatch (warning)" ${errors[@]+"${errors[@]}"}

check "a SAN dropped: san_removed names it, the key is reused" v3 \
        '(.changes | map(.change)) == ["key_reused", "san_removed"] and
         (.changes[] | select(.change == "san_removed") | .names == ["broker.test"])' \
        '; SAN removed: broker.test'

# ExpectClientAuth=yes: the certificate also authenticates this broker to others (a bridge), so losing
# clientAuth is a warning, and the event line a <4> one.
check "clientAuth dropped: client_auth_dropped, a warning with ExpectClientAuth=yes" v4 \
        '(.changes | map(.change)) == ["key_reused", "client_auth_dropped"] and
         .problem.code == "client_auth_dropped" and .problem.severity == "warning" and
         (.change_problems | map(.code)) == ["client_auth_dropped"]' \
        '^<4>broker: .*clientAuth dropped from the extended key usage.*lacks the clientAuth extended key usage'

# Across a daemon restart: the state file keeps the path, so the diff is whole (not partial).
stop_daemon d
((daemon_rc == 0)) || report "the daemon stops cleanly before the restart" "exit status $daemon_rc"
"$jq" -e '.targets.broker.path.leaf.spki_sha256 | length == 64' "$tmp/state/state.json" >/dev/null 2>&1 ||
        report "the state file keeps the served path" "no targets.broker.path.leaf.spki_sha256 in $tmp/state/state.json"
start_daemon d -c "$tmp/conf/tlswatch.conf" --state-directory "$tmp/state"
wait_daemon d
check "another intermediate after a restart: intermediate_changed (warning), lifetime, whole diff" v5 \
        '.diff_partial == false and
         (.changes | map(.change)) == ["intermediate_changed", "key_reused", "lifetime_changed"] and
         (.changes[0] | (.old | test("CN=Renewal Test R10 \\(key id '"$r10_key_id"'\\)")) and
                        (.new | test("CN=Renewal Test YR1 \\(key id [0-9a-f]+\\)"))) and
         (.changes[2] | .old == "90 days" and .new == "6 days") and
         .problem.code == "intermediate_changed" and .problem.severity == "warning"' \
        '^<4>broker: .*intermediate "CN=Renewal Test R10 \(key id [0-9a-f]+\)" -> "CN=Renewal Test YR1'

# The counters: one change since this daemon started, what it changed by kind.
errors=()
timeout 10 "$TLSWATCHCTL" --socket "$tmp/d.sock" metrics >"$tmp/metrics" 2>"$tmp/metrics.err" ||
        errors+=("tlswatchctl metrics failed: $(cat "$tmp/metrics.err")")
grep -qE '^tlswatch_certificate_changes_total\{[^}]*target="broker"[^}]*\} 1$' "$tmp/metrics" ||
        errors+=("no tlswatch_certificate_changes_total{target=\"broker\"} 1")
grep -qE '^tlswatch_certificate_change_kinds_total\{[^}]*target="broker"[^}]*,change="intermediate_changed"\} 1$' \
        "$tmp/metrics" || errors+=("no tlswatch_certificate_change_kinds_total{change=\"intermediate_changed\"} 1")
report "metrics: tlswatch_certificate_changes_total and ..._change_kinds_total" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/metrics"

stop_daemon d
summary
