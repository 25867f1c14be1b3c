#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of the lifetime-relative expiry policy: real 6-, 45-, 90- and 200-day certificates
# issued at run time with validity windows around now (tests/pki/make-pki.sh, lifeD-*), served by
# `openssl s_server` on loopback, each probed by `tlswatchctl probe` for the status the default policy
# gives it (tlswatch.conf(5), Expiry); explicit --warn-days/--crit-days behave as they always did, the
# lifetime options move the thresholds, and tlswatchd --once reports the same, with renewal_overdue's
# message in its log. 0 pass, 1 fail, 99 broken environment; never skips.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: probes fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHCTL TLSWATCHD
need_commands "$openssl" "$jq" timeout

# The daemon's events go to stderr, not to the host's journal.
hide_journal "$@"
make_tmp
make_pki

receiver=$TESTS_SRCDIR/integration/webhook-receiver.py
[[ -f $receiver ]] || hard_error "$receiver not found"
python=${PYTHON:-python3}
need_commands "$python"

servers=(life6-fresh life6-overdue life6-late life45-fresh life45-overdue life45-late life90-fresh
         life90-overdue soon3 life200-fresh life200-overdue life200-late)
for name in "${servers[@]}"; do
        start_tls "$name" -cert "$pki/$name.pem" -key "$pki/$name.key" -cert_chain "$pki/int.pem"
done
for name in "${servers[@]}"; do
        wait_port "$name"
done

report_details() {
        echo "    --- stdout:"
        sed 's/^/    /' "$tmp/out"
        echo "    --- stderr:"
        sed 's/^/    /' "$tmp/err"
}

# expect NAME SERVER EXIT STATUS CODE[:SEVERITY]|@none [JQ...] [-- PROBE-OPTIONS...]: probes SERVER
# with --json and checks exit code, status, the one expiry problem (or none) and each JQ expression.
expect() {
        local name=$1 server=$2 want_rc=$3 want_status=$4 want=$5 code severity check
        local -a checks=() options=() errors=()

        shift 5
        while [[ $# -gt 0 && $1 != -- ]]; do
                checks+=("$1")
                shift
        done
        [[ $# -gt 0 ]] && shift
        options=("$@")

        run_probe --json --protocol tls --ca-file "$pki/root.pem" --servername localhost \
                ${options[@]+"${options[@]}"} "$(at "$server")"
        [[ $rc == "$want_rc" ]] || errors+=("exit code $(describe_rc "$rc"), expected $want_rc")
        if ! "$jq" -se 'length == 1 and (.[0] | type == "object")' "$tmp/out" >/dev/null 2>&1; then
                report "$name" "${errors[@]}" "stdout is not exactly one JSON object"
                return
        fi
        "$jq" -e --arg s "$want_status" '.status == $s' "$tmp/out" >/dev/null ||
                errors+=("status $("$jq" -r .status "$tmp/out"), expected $want_status")
        if [[ $want == @none ]]; then
                "$jq" -e '.problems | length == 0' "$tmp/out" >/dev/null || errors+=("expected no problems")
        else
                code=${want%%:*}
                severity=${want#*:}
                [[ $severity == "$want" ]] && severity=$want_status
                "$jq" -e --arg c "$code" --arg s "$severity" \
                        '[.problems[] | select(.code == "expires_soon" or .code == "renewal_overdue")] |
                         length == 1 and .[0].code == $c and .[0].severity == $s and .[0].depth == 0' \
                        "$tmp/out" >/dev/null || errors+=("expected exactly one expiry problem, $code $severity")
        fi
        for check in ${checks[@]+"${checks[@]}"}; do
                "$jq" -e "$check" "$tmp/out" >/dev/null 2>&1 || errors+=("not true: $check")
        done
        report "$name" ${errors[@]+"${errors[@]}"}
}

# --- the default policy, per lifetime class -----------------------------------------------------------

# The lifetime members of the JSON report are the certificate's own.
leaf='.addresses[0].chain[0]'
expect "6 days, 1 day in: OK" life6-fresh 0 ok @none \
        "$leaf.lifetime_seconds == 6 * 86400" "$leaf.lifetime_left_fraction > 0.8 and $leaf.lifetime_left_fraction < 0.84"
expect "6 days, 60 h left (renewal at half): renewal_overdue" life6-overdue 1 warning renewal_overdue \
        '.problems[0].message | test("should have renewed it by .* \\(50% left\\)")' \
        '.problems[0].message | test("6.0 days lifetime")'
expect "6 days, 20 h left, no replacement: critical" life6-late 2 critical expires_soon \
        '.problems[0].message | test("expires in 20.0 hours") and test("less than the 24.0 hours a renewal needs")'
expect "45 days, 35 days left: OK" life45-fresh 0 ok @none
expect "45 days, 13 days left: renewal_overdue" life45-overdue 1 warning renewal_overdue \
        '.problems[0].message | test("29% of its 45.0 days lifetime left") and test("\\(33% left\\)")'
expect "45 days, 5 days left: critical" life45-late 2 critical expires_soon
expect "90 days, 70 days left: OK" life90-fresh 0 ok @none
expect "90 days, 25 days left: renewal_overdue" life90-overdue 1 warning renewal_overdue
expect "90 days, 3 days left: critical" soon3 2 critical expires_soon
expect "200 days, 100 days left: OK" life200-fresh 0 ok @none
# 50 days left, where 30/7 days said nothing: a 200-day certificate renews at 66.7 days.
expect "200 days, 50 days left: renewal_overdue" life200-overdue 1 warning renewal_overdue
expect "200 days, 5 days left: critical" life200-late 2 critical expires_soon

# --- explicit days, exactly as before -------------------------------------------------------------------

expect "-w 30 -c 7: 45 days, 13 days left is expires_soon, no renewal_overdue" life45-overdue 1 warning \
        expires_soon -- -w 30 -c 7
expect "-w 30 -c 7: the fresh 6-day certificate is critical, as it always was" life6-fresh 2 critical \
        expires_soon -- -w 30 -c 7
expect "--warn-days 40 alone (crit 7): 200 days, 50 days left is OK" life200-overdue 0 ok @none \
        -- --warn-days 40
expect "--crit-days 3 alone (warn 30): 45 days, 5 days left is a warning" life45-late 1 warning \
        expires_soon -- --crit-days 3

# --- the lifetime options ---------------------------------------------------------------------------------

expect "--warn-lifetime 80%: 90 days, 70 days left is renewal_overdue" life90-fresh 1 warning \
        renewal_overdue '.problems[0].message | test("\\(80% left\\)")' -- --warn-lifetime 80%
expect "--renewal-floor 3d: 6 days, 60 h left is critical" life6-overdue 2 critical expires_soon \
        -- --renewal-floor 3d
expect "--crit-lifetime 30: 45 days, 13 days left is critical" life45-overdue 2 critical expires_soon \
        -- --crit-lifetime 30
expect "-w 30 and --warn-lifetime 80: both apply, renewal_overdue on the fresh 90-day" life90-fresh 1 \
        warning renewal_overdue -- -w 30 --warn-lifetime 80

run_probe --crit-lifetime 50% --warn-lifetime 40% --protocol tls "$(at life6-fresh)"
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qF -- "--crit-lifetime (50) must not exceed --warn-lifetime (40)" "$tmp/err" ||
        errors+=("stderr does not name both options")
report "--crit-lifetime above --warn-lifetime: usage error" ${errors[@]+"${errors[@]}"}

run_probe --warn-lifetime 100% --protocol tls "$(at life6-fresh)"
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qF -- '--warn-lifetime: "100%" is not a percent of the lifetime left (1% to 99%)' "$tmp/err" ||
        errors+=("stderr lacks the reason")
report "--warn-lifetime 100%: usage error" ${errors[@]+"${errors[@]}"}

# --- the plugin's text and perfdata -----------------------------------------------------------------------

run_probe --protocol tls --ca-file "$pki/root.pem" --servername localhost "$(at life45-overdue)"
errors=()
[[ $rc == 1 ]] || errors+=("exit code $(describe_rc "$rc"), expected 1")
head -n 1 "$tmp/out" | grep -q '^WARNING: .* renewal_overdue: "CN=tlswatch life45 overdue" expires in 13.0 days' ||
        errors+=("the first line does not say renewal_overdue")
head -n 1 "$tmp/out" | grep -q ' days_left=13\.[0-9]*;15\.00:;7\.00: lifetime_left=28\.[0-9]%;33\.3:;15\.6:;0;100 ' ||
        errors+=("perfdata lacks days_left with the renew point and floor, or lifetime_left")
grep -q '(13\.0 days left, 29% of a 45\.0 days lifetime)' "$tmp/out" ||
        errors+=("the chain does not show the lifetime")
report "text: renewal_overdue, lifetime in the chain, thresholds in perfdata" ${errors[@]+"${errors[@]}"}

# --- tlswatchd --once --------------------------------------------------------------------------------------

mkdir -p "$tmp/once"
cat >"$tmp/once/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
ServerName=localhost
Protocol=tls
Interval=60s
Timeout=5s

[Target fresh6]
Address=$(at life6-fresh)

[Target overdue90]
Address=$(at life90-overdue)

[Target late6]
Address=$(at life6-late)

[Target days45]
Address=$(at life45-overdue)
WarnDays=30
CritDays=7
EOF
timeout -k 5 120 "$TLSWATCHD" -c "$tmp/once/tlswatch.conf" --state-directory "$tmp/once" --once --json \
        </dev/null >"$tmp/once.out" 2>"$tmp/once.err"
rc=$?
errors=()
[[ $rc == 2 ]] || errors+=("exit code $(describe_rc "$rc"), expected 2")
status_of() {
        "$jq" -r --arg n "$1" '.[] | select(.name == $n) | .status + " " +
                ([.problems[].code] | join(","))' "$tmp/once.out" 2>/dev/null
}
[[ $(status_of fresh6) == "ok " ]] || errors+=("fresh6: $(status_of fresh6), expected ok")
[[ $(status_of overdue90) == "warning renewal_overdue" ]] ||
        errors+=("overdue90: $(status_of overdue90), expected warning renewal_overdue")
[[ $(status_of late6) == "critical expires_soon" ]] ||
        errors+=("late6: $(status_of late6), expected critical expires_soon")
[[ $(status_of days45) == "warning expires_soon" ]] ||
        errors+=("days45 (WarnDays=30): $(status_of days45), expected warning expires_soon")
report "tlswatchd --once: the default policy, and WarnDays= as before" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/once.out" "$tmp/once.err"

# --- tlswatchd: journal, webhook, metrics ----------------------------------------------------------------

start_process hook "$python" "$receiver" --port 0 --port-file "$tmp/hook.port" --log "$tmp/hook.log" \
        --control "$tmp/hook.control"
wait_port hook
mkdir -p "$tmp/d/state"
{
        sed -e "s|^Timeout=5s$|Timeout=5s\nControlSocket=$tmp/d.sock|" -e 's|^Interval=60s$|Interval=5s|' \
                "$tmp/once/tlswatch.conf"
        printf '\n[Webhook hook]\nURL=http://127.0.0.1:%s/hook\nAllowInsecureHTTP=yes\n' "${port[hook]}"
} >"$tmp/d/tlswatch.conf"
start_daemon d -c "$tmp/d/tlswatch.conf" --state-directory "$tmp/d/state"
wait_daemon d "$tmp/d.sock"

# logged: the event's log line (the journal's MESSAGE, on stderr without a journal) carries the
# lifetime and when renewal was due.
logged() {
        grep -q 'overdue90.*renewal_overdue.*90\.0 days lifetime left: its ACME client should have renewed it by' \
                "$tmp/d.err"
}
# hooked: the webhook's payload has the problem with the same message.
hooked() {
        "$jq" -se '[.[] | select(.status < 300) | .body | fromjson? | select(.target == "overdue90") |
                    .problem | select(.code == "renewal_overdue" and .severity == "warning" and
                                      (.message | test("90.0 days lifetime left")))] | length > 0' \
                "$tmp/hook.log" >/dev/null 2>&1
}
errors=()
poll 30 logged || errors+=("no renewal_overdue event with the lifetime and renewal date on stderr in 30 s")
poll 30 hooked || errors+=("no renewal_overdue webhook with the message in 30 s")
report "tlswatchd: renewal_overdue in the log and the webhook" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/d.err" "$tmp/hook.log"

# scraped: every target's leaf is in the exposition (probes are spread over the first interval).
scraped() {
        local t

        timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/d.sock" metrics >"$tmp/metrics.out" 2>"$tmp/metrics.err" ||
                return 1
        for t in fresh6 overdue90 late6 days45; do
                grep -q "^tlswatch_cert_lifetime_seconds{.*target=\"$t\".*depth=\"0\"}" "$tmp/metrics.out" || return 1
        done
}
errors=()
poll 30 scraped || errors+=("not every target's tlswatch_cert_lifetime_seconds within 30 s")
grep -qE '^tlswatch_cert_lifetime_seconds\{instance="127\.0\.0\.1:[0-9]+",target="late6",address="127\.0\.0\.1",protocol="tls",depth="0"\} 518400$' \
        "$tmp/metrics.out" || errors+=("no tlswatch_cert_lifetime_seconds 518400 (6 days) for late6's leaf")
grep -qE '^tlswatch_cert_lifetime_left_ratio\{instance="127\.0\.0\.1:[0-9]+",target="overdue90",address="127\.0\.0\.1",protocol="tls",depth="0"\} 0\.27[0-9]+$' \
        "$tmp/metrics.out" || errors+=("no tlswatch_cert_lifetime_left_ratio 0.27... for overdue90's leaf")
grep -q '^tlswatch_problem{.*target="overdue90".*code="renewal_overdue",severity="warning"} 1$' \
        "$tmp/metrics.out" || errors+=("no tlswatch_problem renewal_overdue for overdue90")
report "metrics: lifetime, fraction left, renewal_overdue" ${errors[@]+"${errors[@]}"} -- "$tmp/metrics.out"
stop_daemon d

summary
