#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlswatchctl as a Nagios/Icinga plugin: `probe` with the plugins' short options against real
# `openssl s_server`s (healthy, expiring, expired, a name with two addresses) and dead peers, and the
# fleet check `status --nagios` / `check --all --nagios` against a real tlswatchd. Every output is
# parsed by nagios-output.py, a strict reading of the Plugin Development Guidelines (first line, perfdata
# grammar, UOMs, ranges, exit code = status), and its values are checked against the certificates.
# Run by the automake harness: 0 pass, 1 fail, 99 broken environment; never skips. Needs root: the
# two-address name lives in a private /etc/hosts, bind-mounted in a mount namespace.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: plugins exit non-zero on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

if [[ -z ${TLSWATCH_IN_NAMESPACE:-} ]]; then
        ((EUID == 0)) || hard_error "needs root for a private mount namespace (the two-address name)"
        TLSWATCH_IN_NAMESPACE=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
hide_journal "$@"

forget_service_environment
# Icinga runs plugins with LC_NUMERIC=C; perfdata must be C-locale numbers anyway.
export LC_ALL=C

need_programs TLSWATCHD TLSWATCHCTL TCP_PEER
need_commands "$openssl" "$jq" python3 timeout unshare mount
checker=$TESTS_SRCDIR/integration/nagios-output.py
[[ -f $checker ]] || hard_error "$checker not found"

make_tmp
make_pki

# --- servers -------------------------------------------------------------------------------------------

chain=(-cert_chain "$pki/int.pem")
start_tls good -cert "$pki/good.pem" -key "$pki/good.key" "${chain[@]}"
for name in soon10 soon3 expired; do
        start_tls "$name" -cert "$pki/$name.pem" -key "$pki/$name.key" "${chain[@]}"
done
start_peer silent silent
start_peer closed close 1
for name in good soon10 soon3 expired silent closed; do
        wait_port "$name"
done
# A two-node cluster under one name: the good node on 127.0.0.1, a stale one on 127.0.0.2, one port.
printf '127.0.0.1 cluster.test\n127.0.0.2 cluster.test\n' >"$tmp/hosts"
mount --bind "$tmp/hosts" /etc/hosts || hard_error "cannot bind-mount a private /etc/hosts"
listen_host=127.0.0.2 listen_port=${port[good]} start_tls stale -cert "$pki/expired.pem" \
        -key "$pki/expired.key" "${chain[@]}"
listen_port=${port[good]} wait_port stale
# The one-second tcp-peer exits by itself; wait for that (bounded by its lifetime): a refused port.
wait "${pid[closed]}" 2>/dev/null

# --- helpers -------------------------------------------------------------------------------------------

report_details() {
        [[ -n ${current:-} ]] || return 0
        echo "    --- stdout:"
        sed 's/^/    /' "$tmp/$current.out"
        echo "    --- stderr:"
        sed 's/^/    /' "$tmp/$current.err"
        [[ -s $tmp/$current.parse ]] && sed 's/^/    /' "$tmp/$current.parse"
}

# plugin NAME WANT-RC [JQ-FILTER...] -- TLSWATCHCTL-ARGS...: runs tlswatchctl (bounded); its stdout
# must parse by the guidelines with the exit code WANT-RC, and each filter be true on the parse (see
# nagios-output.py for its shape), kept in $tmp/ID.json (ID: the NAME's letters and digits, in `current`).
plugin() {
        local name=$1 want_rc=$2 filter
        local -a filters=() errors=()
        local id=${name//[^A-Za-z0-9]/_}

        shift 2
        while [[ $# -gt 0 && $1 != -- ]]; do
                filters+=("$1")
                shift
        done
        [[ $# -gt 0 ]] || hard_error "plugin $name: missing -- before the arguments"
        shift
        current=$id
        timeout -k 5 30 "$TLSWATCHCTL" "$@" </dev/null >"$tmp/$id.out" 2>"$tmp/$id.err"
        rc=$?
        [[ $rc == "$want_rc" ]] || errors+=("exit code $(describe_rc "$rc"), expected $want_rc")
        if python3 "$checker" "$rc" <"$tmp/$id.out" >"$tmp/$id.json" 2>"$tmp/$id.parse"; then
                for filter in ${filters[@]+"${filters[@]}"}; do
                        "$jq" -e "$filter" "$tmp/$id.json" >/dev/null 2>&1 || errors+=("not true: $filter")
                done
        else
                errors+=("the output breaks the plugin guidelines: $(cat "$tmp/$id.parse")")
        fi
        report "$name" ${errors[@]+"${errors[@]}"}
}

tls=(--protocol tls --ca-file "$pki/root.pem" --servername localhost)

# --- probe ---------------------------------------------------------------------------------------------

plugin "probe: healthy listener, positional HOST:PORT" 0 \
        '.status == "OK" and (.text | startswith("127.0.0.1:'"${port[good]}"' (tls) "))' \
        '.perfdata | keys == ["days_left", "duration", "handshake", "lifetime_left"]' \
        '.perfdata.days_left | .value > 89 and .value <= 90 and .uom == "" and (.warn | test("^30\\.0[0-9]:$")) and
                               .crit == "7.00:"' \
        '.perfdata.lifetime_left | .uom == "%" and .value > 99 and .warn == "33.3:" and .crit == "7.8:" and
                                   .min == "0" and .max == "100"' \
        '.perfdata.handshake | .uom == "s" and .value > 0 and .min == "0" and .max == "10"' \
        '.perfdata.duration | .uom == "s" and .value >= 0 and .min == "0" and .max == "10"' \
        '.perfdata.handshake.value <= .perfdata.duration.value' \
        '.long_text[0] == "" and any(.long_text[]; startswith("address 127.0.0.1: ok, TLSv1.3"))' \
        -- probe "${tls[@]}" "$(at good)"
good_id=$current

# The perfdata's days are the report's: the same as --json says, within the seconds between the runs.
timeout -k 5 30 "$TLSWATCHCTL" probe --json "${tls[@]}" "$(at good)" >"$tmp/good-json.out" 2>&1
errors=()
"$jq" -se 'length == 1 and (.[0] | type == "object" and (has("perfdata") | not))' "$tmp/good-json.out" \
        >/dev/null 2>&1 || errors+=("--json is not one JSON object as before")
grep -q '|' "$tmp/good-json.out" && errors+=("--json output holds a '|'")
json_days=$("$jq" -r '.addresses[0].chain[0].days_left' "$tmp/good-json.out" 2>/dev/null)
perf_days=$("$jq" -r '.perfdata.days_left.value' "$tmp/$good_id.json" 2>/dev/null)
python3 -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 0.01)' "$json_days" \
        "$perf_days" 2>/dev/null || errors+=("days_left $perf_days in perfdata, $json_days in --json")
report "probe --json: unchanged, no perfdata; its days_left is the perfdata's" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/good-json.out"

plugin "probe -H -p -w -c -t: expires in 10 days is WARNING" 1 \
        '.status == "WARNING" and (.text | test("expires_soon"))' \
        '.perfdata.days_left | .value > 9 and .value <= 10 and .warn == "30:" and .crit == "7:"' \
        '.perfdata.duration.max == "10"' \
        -- probe -H 127.0.0.1 -p "${port[soon10]}" -w 30 -c 7 -t 10 "${tls[@]}"

plugin "probe -H -p: expires in 3 days is CRITICAL" 2 \
        '.status == "CRITICAL"' '.perfdata.days_left | .value > 2 and .value <= 3' \
        -- probe -H 127.0.0.1 -p "${port[soon3]}" "${tls[@]}"

# The thresholds in perfdata are the ones given, and they decide the state.
plugin "probe -w 2 -c 1: 3 days left is OK, thresholds 2: and 1:" 0 \
        '.status == "OK"' '.perfdata.days_left | .warn == "2:" and .crit == "1:"' \
        '.perfdata.duration.max == "2.5"' \
        -- probe -w2 -c1 -t 2.5 "${tls[@]}" -p "${port[soon3]}" 127.0.0.1

plugin "probe: expired, days_left negative" 2 \
        '.status == "CRITICAL"' '.perfdata.days_left.value < 0' \
        -- probe "${tls[@]}" --host 127.0.0.1 --port "${port[expired]}"

plugin "probe: two addresses, perfdata per address" 2 \
        '.status == "CRITICAL"' \
        '.perfdata | keys == ["days_left", "days_left_127.0.0.1", "days_left_127.0.0.2", "duration",
                              "duration_127.0.0.1", "duration_127.0.0.2", "handshake_127.0.0.1",
                              "handshake_127.0.0.2", "lifetime_left", "lifetime_left_127.0.0.1",
                              "lifetime_left_127.0.0.2"]' \
        '.perfdata["days_left_127.0.0.1"].value > 89 and .perfdata["days_left_127.0.0.2"].value < 0' \
        '.perfdata.days_left.value == .perfdata["days_left_127.0.0.2"].value' \
        '.perfdata["days_left_127.0.0.1"] | (.warn | test("^30\\.0[0-9]:$")) and .crit == "7.00:"' \
        '[.perfdata["handshake_127.0.0.1", "handshake_127.0.0.2"].uom] == ["s", "s"]' \
        -- probe "${tls[@]}" -H cluster.test -p "${port[good]}"

plugin "probe: connection refused, only the duration" 2 \
        '.status == "CRITICAL" and (.text | test("connect_failed"))' '.perfdata | keys == ["duration"]' \
        -- probe "${tls[@]}" -H 127.0.0.1 -p "${port[closed]}"

# Plugin convention for -t: a listener that does not answer in time is CRITICAL (as check_tcp says),
# not UNKNOWN: the plugin itself worked, the listener did not.
plugin "probe -t 1: silent listener is CRITICAL timeout" 2 \
        '.status == "CRITICAL" and (.text | test("timeout"))' '.perfdata.duration.max == "1"' \
        -- probe "${tls[@]}" -t 1 -H 127.0.0.1 -p "${port[silent]}"

plugin "probe: DNS failure" 2 '.status == "CRITICAL" and (.text | test("dns_failed"))' \
        '.perfdata | keys == ["duration"]' \
        -- probe "${tls[@]}" -H nonexistent.invalid

errors=()
current=""
timeout -k 5 30 "$TLSWATCHCTL" probe -V >"$tmp/version.out" 2>&1
rc=$?
[[ $rc == 0 ]] || errors+=("probe -V: exit $(describe_rc "$rc")")
grep -qE '^tlswatchctl [0-9]' "$tmp/version.out" || errors+=("probe -V: no version line")
timeout -k 5 30 "$TLSWATCHCTL" probe -h >"$tmp/help.out" 2>&1
rc=$?
[[ $rc == 0 ]] || errors+=("probe -h: exit $(describe_rc "$rc")")
grep -q -- '-H, --host HOST' "$tmp/help.out" || errors+=("probe -h: no -H in the help")
timeout -k 5 30 "$TLSWATCHCTL" probe -w x -H 127.0.0.1 >"$tmp/usage.out" 2>"$tmp/usage.err"
rc=$?
[[ $rc == 3 && $(cat "$tmp/usage.err") == *'-w: "x"'* ]] ||
        errors+=("probe -w x: exit $(describe_rc "$rc") and \"$(cat "$tmp/usage.err")\", expected 3 and -w named")
report "probe -V, -h, a bad -w (UNKNOWN)" ${errors[@]+"${errors[@]}"}

# --- the fleet check -----------------------------------------------------------------------------------

mkdir -p "$tmp/daemon/state"
sock=$tmp/daemon/control.sock
cat >"$tmp/daemon/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
ServerName=localhost
Interval=1h
ControlSocket=$sock

[Target good]
Address=127.0.0.1:${port[good]}

[Target soon10]
Address=127.0.0.1:${port[soon10]}

[Target soon3]
Address=127.0.0.1:${port[soon3]}

[Target expired]
Address=127.0.0.1:${port[expired]}
EOF
start_daemon daemon -c "$tmp/daemon/tlswatch.conf" --state-directory "$tmp/daemon/state"
wait_daemon daemon "$sock"

fleet=('.perfdata | keys == ["critical", "days_left", "ok", "unknown", "warning"]'
       # The fleet's earliest expiry: the expired certificate's, two days ago.
       '.perfdata.days_left | .value < -1 and .value > -3 and .warn == null'
       '.perfdata.ok == {"value": 1, "uom": "", "warn": null, "crit": null, "min": "0", "max": null}'
       '[.perfdata["ok", "warning", "critical", "unknown"]] | map(.min == "0") | all'
       '[.perfdata.warning.value, .perfdata.critical.value, .perfdata.unknown.value] == [1, 2, 0]'
       '(.long_text | length) == 3'
       # The critical ones first, in any order (check answers in the order the probes end), then warning.
       '(.long_text[:2] | map(split(": ")[:3] | join(": ")) | sort) ==
            ["CRITICAL: expired (127.0.0.1:'"${port[expired]}"'): expired",
             "CRITICAL: soon3 (127.0.0.1:'"${port[soon3]}"'): expires_soon"]'
       # soon10, a 90-day certificate with 10 days left, is past its renew point (the lifetime policy).
       '.long_text[2] | startswith("WARNING: soon10 (127.0.0.1:'"${port[soon10]}"'): renewal_overdue: ")')

plugin "check --all --nagios: probes now, the summary first" 2 \
        '.service == "TLSWATCH" and .status == "CRITICAL" and .text == "2 critical, 1 warning, 1 ok"' \
        "${fleet[@]}" -- --socket "$sock" check --all --nagios

# status answers in the configuration's order, and so do the lines within a state.
plugin "status --nagios: the same from the daemon's state" 2 \
        '.service == "TLSWATCH" and .status == "CRITICAL" and .text == "2 critical, 1 warning, 1 ok"' \
        "${fleet[@]}" '.long_text[0] | startswith("CRITICAL: soon3 ")' \
        '.long_text[1] | startswith("CRITICAL: expired ")' -- --socket "$sock" status --nagios

plugin "status --nagios TARGET: one target's check" 1 \
        '.text == "1 warning, 0 ok" and .perfdata.warning.value == 1 and (.long_text | length) == 1' \
        '.perfdata.days_left.value > 9 and .perfdata.days_left.value <= 10' \
        -- --socket "$sock" status --nagios soon10

plugin "status --nagios TARGET: OK" 0 '.status == "OK" and .text == "1 ok" and .long_text == []' \
        -- --socket "$sock" status --nagios good

# Plain status is the table, as before: its header first.
errors=()
current=""
timeout -k 5 30 "$TLSWATCHCTL" --socket "$sock" status >"$tmp/table.out" 2>"$tmp/table.err"
rc=$?
[[ $rc == 2 ]] || errors+=("status: exit $(describe_rc "$rc"), expected 2")
head -n 1 "$tmp/table.out" | grep -qE '^TARGET +ADDRESS +STATE +DAYS LEFT +PROBLEMS$' ||
        errors+=("status without --nagios does not start with its table header")
grep -q '|' "$tmp/table.out" && errors+=("status without --nagios prints perfdata")
timeout -k 5 30 "$TLSWATCHCTL" --socket "$sock" status --json --nagios >"$tmp/both.out" 2>"$tmp/both.err"
rc=$?
[[ $rc == 3 && -s $tmp/both.err ]] || errors+=("status --json --nagios: exit $(describe_rc "$rc"), expected 3 and a message")
report "status: the table unchanged; --json with --nagios is a usage error" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/table.out" "$tmp/table.err"

stop_daemon daemon
plugin "status --nagios, daemon stopped: UNKNOWN on stdout" 3 \
        '.service == "TLSWATCH" and .status == "UNKNOWN" and (.text | test("tlswatchd is not running"))' \
        -- --socket "$sock" status --nagios

summary
