#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of tlswatchd as a service, without a journal (events arrive on stderr as
# "<PRIORITY>MESSAGE" lines): --check-config, --once --json (and SIGTERM during it), the sd_notify
# contract (READY, STATUS, WATCHDOG, RELOADING around good and bad reloads, STOPPING), the state file
# across a restart and when corrupt, ConfirmFailures for network faults, reminders, a reload that
# re-reads a CA file, and 201 targets behind MaxConcurrentProbes with one hung listener. Every server
# is real and on loopback. Run by the automake harness: 0 pass, 1 fail, 99 broken environment; never
# skips.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: failures are expected on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

# Events go to the journal whenever its socket is writable: hide_journal hides it on a host that has one.
hide_journal "$@"

# A test run inside a service (CI under systemd) must not notify that service's manager.
forget_service_environment

need_programs TLSWATCHD TCP_PEER NOTIFY_LISTENER
need_commands "$openssl" "$jq" timeout
[[ -r /proc/net/tcp ]] || hard_error "/proc/net/tcp is not readable (needed to count connections)"

# Configuration paths must be absolute, whatever TMPDIR is: make_tmp's $tmp is.
make_tmp
make_pki

# --- servers -------------------------------------------------------------------------------------------

start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
start_tls expired -cert "$pki/expired.pem" -key "$pki/expired.key" -cert_chain "$pki/int.pem"
# The 200-target fleet gets a server of its own, so its load does not slow the other checks.
start_tls fleet -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
# Listeners that accept and then never say a word: for ConfirmFailures, the fleet and --once.
start_peer hung silent 120
start_peer fleethung silent 120
start_peer oncehung silent 120
# A port that was just free and now has no listener: a tcp-peer that lives one second.
start_peer closed close 1
for name in good expired fleet hung fleethung oncehung closed; do
        wait_port "$name"
done

# --- helpers -------------------------------------------------------------------------------------------

# wait_match [-F] FILE PATTERN SECONDS [AFTER]: wait for a line matching the extended regular expression
# (with -F: containing the string) below line AFTER of FILE; print its line number. Polled, bounded.
wait_match() {
        local mode=-E file pattern limit after n i

        if [[ $1 == -F ]]; then
                mode=-F
                shift
        fi
        file=$1 pattern=$2 limit=$3 after=${4:-0}
        for ((i = 0; i <= limit * 10; i++)); do
                n=$(tail -n "+$((after + 1))" "$file" 2>/dev/null | grep -n -m 1 "$mode" -e "$pattern" | cut -d: -f1)
                if [[ -n $n ]]; then
                        echo $((after + n))
                        return 0
                fi
                sleep 0.1
        done
        return 1
}

lines() {
        local n

        n=$(grep -c '' "$1" 2>/dev/null) || true
        echo "${n:-0}"
}

# count_matching FILE ERE: how many lines match (0 for a missing file).
count_matching() {
        local n

        n=$(grep -c -E -e "$2" "$1" 2>/dev/null) || true
        echo "${n:-0}"
}

# start_listener NAME: a notify-listener whose socket is $tmp/NAME.sock and output $tmp/NAME.notify.
start_listener() {
        local i

        "$NOTIFY_LISTENER" --socket "$tmp/$1.sock" --lifetime 150 >"$tmp/$1.notify" 2>"$tmp/$1.listener.err" &
        pid[$1.listener]=$!
        pids+=("$!")
        for ((i = 0; i < 100; i++)); do
                [[ -S $tmp/$1.sock ]] && return 0
                running "${pid[$1.listener]}" || break
                sleep 0.05
        done
        cat "$tmp/$1.listener.err" >&2
        hard_error "notify-listener for $1 did not bind $tmp/$1.sock"
}

# start_tlswatchd NAME NOTIFY ARGS...: tlswatchd ARGS in the background, output in $tmp/NAME.out and
# $tmp/NAME.err. With NOTIFY=yes it reports to the NAME listener, with a one-second watchdog; bash execs
# the daemon, so WATCHDOG_PID is exactly the daemon's PID, as systemd would set it.
start_tlswatchd() {
        local name=$1 notify=$2

        shift 2
        if [[ $notify == yes ]]; then
                start_process "$name" env NOTIFY_SOCKET="$tmp/$name.sock" WATCHDOG_USEC=1000000 \
                        bash -c 'WATCHDOG_PID=$$ exec "$@"' bash "$TLSWATCHD" "$@"
        else
                start_process "$name" "$TLSWATCHD" "$@"
        fi
}

# run_once NAME ARGS...: tlswatchd ARGS in the foreground, bounded; rc and $tmp/NAME.out/.err.
run_once() {
        local name=$1

        shift
        timeout -k 5 120 "$TLSWATCHD" "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
        rc=$?
}

# server_connections NAME: sockets the server holds on its port, besides the listening one: with a
# silent tcp-peer, one per connection ever made to it (it never closes them).
server_connections() {
        local hex

        hex=$(printf ':%04X' "${port[$1]}")
        awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p && $4 != "0A" { n++ } END { print n + 0 }' \
                /proc/net/tcp
}

# line_of FILE N: line N of FILE, for messages.
line_of() {
        sed -n "${2}p" "$1"
}

defaults="CAFile=$pki/root.pem
Protocol=tls"

# --- the fleet: 200 targets and one hung listener -----------------------------------------------------
# Started first, since its first probes are spread over 30 s; the other checks run meanwhile and the
# fleet is checked at the end.

mkdir -p "$tmp/fleet.d"
{
        echo "[Defaults]"
        echo "$defaults"
        echo "Interval=60s"
        # Generous for the 200 healthy targets, which queue at one s_server on a machine that may be
        # loaded (ASan, other jobs); the hung one has its own short timeout below.
        echo "Timeout=20s"
        echo "MaxConcurrentProbes=64"
        for ((i = 1; i <= 200; i++)); do
                printf '\n[Target fleet-%03d]\nAddress=%s\n' "$i" "$(at fleet)"
        done
        # ConfirmFailures=1: a timeout is a network fault, which by default waits for a second one a
        # RetryInterval (here 60 s) later; the point here is the first result of every target.
        printf '\n[Target fleet-hung]\nAddress=%s\nConfirmFailures=1\nTimeout=2s\n' "$(at fleethung)"
} >"$tmp/fleet.d/tlswatch.conf"
mkdir -p "$tmp/fleet.state"
start_listener fleet
fleet_started=$SECONDS
start_tlswatchd fleet yes -c "$tmp/fleet.d/tlswatch.conf" --state-directory "$tmp/fleet.state"

# --- --check-config ------------------------------------------------------------------------------------

mkdir -p "$tmp/check.d"
cat >"$tmp/check.d/tlswatch.conf" <<EOF
[Defaults]
$defaults
Interval=2s
Timeout=2s

[Target good]
Address=$(at good)
EOF
run_once check-valid -c "$tmp/check.d/tlswatch.conf" --check-config
errors=()
[[ $rc == 0 ]] || errors+=("exit code $(describe_rc "$rc"), expected 0")
grep -qF "$tmp/check.d/tlswatch.conf: configuration OK" "$tmp/check-valid.out" ||
        errors+=("stdout does not say \"$tmp/check.d/tlswatch.conf: configuration OK\"")
report "--check-config: valid configuration" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/check-valid.out" "$tmp/check-valid.err"

mkdir -p "$tmp/bad.d"
cat >"$tmp/bad.d/tlswatch.conf" <<EOF
[Defaults]
$defaults

[Target good]
Address=$(at good)
Interval=5 minutes
EOF
bad_line=$(grep -n '^Interval=5 minutes$' "$tmp/bad.d/tlswatch.conf" | cut -d: -f1)
want="$tmp/bad.d/tlswatch.conf:$bad_line: Interval: \"5 minutes\" is not a duration (try 5min)"
run_once check-bad -c "$tmp/bad.d/tlswatch.conf" --check-config
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qF -- "$want" "$tmp/check-bad.err" || errors+=("stderr lacks: $want")
report "--check-config: bad duration names file:line and the value" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/check-bad.out" "$tmp/check-bad.err"

# 2^64 - 1 microseconds fit in a usec_t, but added to now it wrapped into the past and the target was
# probed without a pause; every duration has a ceiling now.
cat >"$tmp/bad.d/tlswatch.conf" <<EOF
[Defaults]
$defaults

[Target good]
Address=$(at good)
Interval=18446744073709551615us
EOF
bad_line=$(grep -n '^Interval=18446744073709551615us$' "$tmp/bad.d/tlswatch.conf" | cut -d: -f1)
want="$tmp/bad.d/tlswatch.conf:$bad_line: Interval: \"18446744073709551615us\" is longer than the maximum, 365d"
run_once check-huge -c "$tmp/bad.d/tlswatch.conf" --check-config
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qF -- "$want" "$tmp/check-huge.err" || errors+=("stderr lacks: $want")
report "--check-config: Interval=18446744073709551615us is longer than the maximum, with file:line" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/check-huge.out" "$tmp/check-huge.err"

# The trust stores are part of the configuration: a missing CA file is an error with file and line.
mkdir -p "$tmp/noca.d"
cat >"$tmp/noca.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$tmp/noca.d/missing.pem
Interval=2s
Timeout=2s

[Target noca]
Address=$(at good)
EOF
run_once check-noca -c "$tmp/noca.d/tlswatch.conf" --check-config
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qE -- ": $tmp/noca.d/tlswatch.conf:[0-9]+: .*CAFile=$tmp/noca.d/missing.pem: No such file or directory" \
        "$tmp/check-noca.err" ||
        errors+=("stderr lacks \"$tmp/noca.d/tlswatch.conf:LINE: ... CAFile=$tmp/noca.d/missing.pem: No such file or directory\"")
report "--check-config: a missing CAFile= is an error with file:line" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/check-noca.err"

run_once json-alone -c "$tmp/check.d/tlswatch.conf" --json
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
report "--json without --once is a usage error" ${errors[@]+"${errors[@]}"} -- "$tmp/json-alone.err"

# As a service, a configuration error makes the start fail: status 1, the error, and no READY=1.
start_listener badstart
start_tlswatchd badstart yes -c "$tmp/bad.d/tlswatch.conf" --state-directory "$tmp"
errors=()
for ((i = 0; i < 300; i++)); do
        running "${pid[badstart]}" || break
        sleep 0.1
done
stop_daemon badstart
[[ $daemon_rc == 1 ]] || errors+=("exit code $(describe_rc "$daemon_rc"), expected 1")
grep -qF -- "$want" "$tmp/badstart.err" || errors+=("stderr lacks: $want")
sleep 0.2 # a datagram already sent is in the listener's queue; give it a moment to print it
n=$(count_matching "$tmp/badstart.notify" '^READY=1$')
((n == 0)) || errors+=("READY=1 was sent")
report "daemon start with a bad configuration: exit 1, no READY=1" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/badstart.err" "$tmp/badstart.notify"

mkdir -p "$tmp/check.d/conf.d"
cat >"$tmp/check.d/conf.d/50-extra.conf" <<EOF
# a drop-in that adds a target

[Target extra]
Address=$(at good)
Bogus=yes
EOF
want="$tmp/check.d/conf.d/50-extra.conf:5: unknown key \"Bogus\" in [Target extra]"
run_once check-dropin -c "$tmp/check.d/tlswatch.conf" --check-config
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qF -- "$want" "$tmp/check-dropin.err" || errors+=("stderr lacks: $want")
report "--check-config: unknown key in a drop-in names the drop-in and line" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/check-dropin.out" "$tmp/check-dropin.err"
rm -rf "$tmp/check.d/conf.d"

# --- --once --json -------------------------------------------------------------------------------------

mkdir -p "$tmp/once.d"
cat >"$tmp/once.d/tlswatch.conf" <<EOF
[Defaults]
$defaults
Interval=2s
Timeout=2s

[Target good]
Address=$(at good)

[Target expired]
Address=$(at expired)
EOF
run_once once -c "$tmp/once.d/tlswatch.conf" --once --json
errors=()
[[ $rc == 2 ]] || errors+=("exit code $(describe_rc "$rc"), expected 2 (the worst status is critical)")
if ! "$jq" -se 'length == 1 and (.[0] | type == "array")' "$tmp/once.out" >/dev/null 2>&1; then
        errors+=("stdout is not exactly one JSON array")
else
        "$jq" -e 'length == 2' "$tmp/once.out" >/dev/null || errors+=("expected 2 reports")
        "$jq" -e '[.[].name] | sort == ["expired", "good"]' "$tmp/once.out" >/dev/null ||
                errors+=("the reports' .name members are not \"good\" and \"expired\"")
        "$jq" -e '.[] | select(.name == "good") | .status == "ok" and (.problems | length == 0)' \
                "$tmp/once.out" >/dev/null || errors+=("good: expected status ok and no problems")
        "$jq" -e '.[] | select(.name == "expired") | .status == "critical" and
                  any(.problems[]; .code == "expired")' "$tmp/once.out" >/dev/null ||
                errors+=("expired: expected status critical with problem expired")
fi
report "--once --json: good and expired" ${errors[@]+"${errors[@]}"} -- "$tmp/once.out" "$tmp/once.err"

# SIGTERM stops --once early: the results so far, the target still in its probe unknown (status 3, as
# nothing is critical). And --once sends nothing to systemd, even with NOTIFY_SOCKET set.
mkdir -p "$tmp/oncestop.d"
cat >"$tmp/oncestop.d/tlswatch.conf" <<EOF
[Defaults]
$defaults
Interval=60s
Timeout=30s

[Target good]
Address=$(at good)

[Target slow]
Address=$(at oncehung)
EOF
start_listener oncestop
start_tlswatchd oncestop yes -c "$tmp/oncestop.d/tlswatch.conf" --once --json
errors=()
for ((i = 0; i < 300; i++)); do
        (($(server_connections oncehung) > 0)) && break
        running "${pid[oncestop]}" || break
        sleep 0.1
done
stop_daemon oncestop
[[ $daemon_rc == 3 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 3")
if ! "$jq" -se 'length == 1 and (.[0] | type == "array")' "$tmp/oncestop.out" >/dev/null 2>&1; then
        errors+=("stdout is not exactly one JSON array")
else
        "$jq" -e 'all(.[]; .name != "slow")' "$tmp/oncestop.out" >/dev/null ||
                errors+=("a report for the target whose probe was cancelled")
fi
report "--once and SIGTERM: partial results, status 3" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/oncestop.out" "$tmp/oncestop.err"
sleep 0.2 # a datagram already sent is in the listener's queue; give it a moment to print it
errors=()
[[ ! -s $tmp/oncestop.notify ]] ||
        errors+=("--once sent to NOTIFY_SOCKET: $(tr '\n' ' ' <"$tmp/oncestop.notify")" \
                 "(tlswatchd(8): with --once \"no notification is sent to systemd\")")
report "--once and SIGTERM: nothing sent to NOTIFY_SOCKET" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/oncestop.notify"

# --- sd_notify, watchdog, reload, stop -----------------------------------------------------------------

mkdir -p "$tmp/svc.d" "$tmp/svc.state"
conf=$tmp/svc.d/tlswatch.conf
cat >"$conf" <<EOF
[Defaults]
$defaults
Interval=2s
Timeout=2s

[Target good]
Address=$(at good)

[Target expired]
Address=$(at expired)
EOF
start_listener svc
start_tlswatchd svc yes -c "$conf" --state-directory "$tmp/svc.state"
notify=$tmp/svc.notify
show=("$notify" "$tmp/svc.err")

errors=()
wait_match "$notify" '^READY=1$' 30 >/dev/null || errors+=("no READY=1")
wait_match "$notify" '^STATUS=.*targets:' 30 >/dev/null || errors+=("no STATUS=... targets: ...")
wait_match "$tmp/svc.err" "watching 2 targets from $conf" 30 >/dev/null ||
        errors+=("stderr lacks \"watching 2 targets from $conf\"")
report "notify: READY=1 and STATUS= after start" ${errors[@]+"${errors[@]}"} -- "${show[@]}"

errors=()
wait_match "$notify" '^WATCHDOG=1$' 30 >/dev/null || errors+=("no WATCHDOG=1 with WATCHDOG_USEC=1000000")
report "notify: WATCHDOG=1 pings" ${errors[@]+"${errors[@]}"} -- "${show[@]}"

errors=()
want='STATUS=2 targets: 1 ok, 0 warning, 1 critical, 0 unknown'
wait_match -F "$notify" "$want" 30 >/dev/null || errors+=("no \"$want\"")
wait_match "$tmp/svc.err" '^<2>expired: critical expired: ' 30 >/dev/null ||
        errors+=("stderr lacks \"<2>expired: critical expired: ...\"")
wait_match -F "$tmp/svc.err" '<2>expired: status unknown -> critical (expired)' 30 >/dev/null ||
        errors+=("stderr lacks \"<2>expired: status unknown -> critical (expired)\"")
report "notify: STATUS= after the first probes, problem events on stderr" ${errors[@]+"${errors[@]}"} -- \
        "${show[@]}"

# A valid change: one more target.
cat >>"$conf" <<EOF

[Target good2]
Address=$(at good)
EOF
mark=$(lines "$notify")
err_mark=$(lines "$tmp/svc.err")
kill -HUP "${pid[svc]}"
errors=()
if reloading=$(wait_match "$notify" '^RELOADING=1$' 30 "$mark"); then
        wait_match "$notify" '^MONOTONIC_USEC=[0-9]+$' 5 "$mark" >/dev/null ||
                errors+=("no MONOTONIC_USEC=<number> with RELOADING=1")
        wait_match -F "$notify" "STATUS=Reloading $conf" 5 "$mark" >/dev/null ||
                errors+=("no \"STATUS=Reloading $conf\" with RELOADING=1")
        wait_match "$notify" '^READY=1$' 30 "$reloading" >/dev/null || errors+=("no READY=1 after RELOADING=1")
else
        errors+=("no RELOADING=1 after SIGHUP")
fi
wait_match -F "$tmp/svc.err" "reloaded $conf: 3 targets" 30 "$err_mark" >/dev/null ||
        errors+=("stderr lacks \"reloaded $conf: 3 targets\"")
want='STATUS=3 targets: 2 ok, 0 warning, 1 critical, 0 unknown'
wait_match -F "$notify" "$want" 30 "$mark" >/dev/null || errors+=("no \"$want\" after the reload")
report "reload: RELOADING=1, MONOTONIC_USEC=, READY=1, the new target probed" ${errors[@]+"${errors[@]}"} -- \
        "${show[@]}"

# An invalid change: the daemon keeps running the old configuration.
sed -i 's/^Interval=2s$/Interval=5 minutes/' "$conf"
bad_line=$(grep -n '^Interval=5 minutes$' "$conf" | cut -d: -f1)
want="reload failed, keeping the running configuration: $conf:$bad_line: Interval: \"5 minutes\" is not a duration (try 5min)"
mark=$(lines "$notify")
err_mark=$(lines "$tmp/svc.err")
kill -HUP "${pid[svc]}"
errors=()
if reloading=$(wait_match "$notify" '^RELOADING=1$' 30 "$mark"); then
        wait_match "$notify" '^READY=1$' 30 "$reloading" >/dev/null ||
                errors+=("no READY=1 after the failed reload's RELOADING=1")
        if status_line=$(wait_match "$notify" '^STATUS=[0-9]+ targets:' 30 "$reloading"); then
                [[ $(line_of "$notify" "$status_line") == "STATUS=3 targets: 2 ok, 0 warning, 1 critical, 0 unknown" ]] ||
                        errors+=("after the failed reload: \"$(line_of "$notify" "$status_line")\", expected the 3 running targets")
        else
                errors+=("no STATUS=N targets: ... after the failed reload")
        fi
else
        errors+=("no RELOADING=1 after SIGHUP")
fi
wait_match -F "$tmp/svc.err" "$want" 30 "$err_mark" >/dev/null || errors+=("stderr lacks: $want")
running "${pid[svc]}" || errors+=("the daemon exited after a failed reload")
report "reload with an invalid configuration: logged with file:line, daemon stays up" \
        ${errors[@]+"${errors[@]}"} -- "${show[@]}"

# Still probing with the running configuration: the expired server (nothing else talks to it now) logs
# each handshake; two more after the failed reload mean a probe that started after it.
errors=()
state=$tmp/svc.state/state.json
probes_now() {
        "$jq" -r --arg t "$1" '.targets[$t].probes // 0' "$state" 2>/dev/null || echo 0
}
handshakes=$(count_matching "$tmp/expired.out" '^CIPHER is ')
still=no
for ((i = 0; i < 200; i++)); do
        if (($(count_matching "$tmp/expired.out" '^CIPHER is ') >= handshakes + 2)); then
                still=yes
                break
        fi
        sleep 0.1
done
[[ $still == yes ]] ||
        errors+=("no new handshake with the expired target's server within 20 s of the failed reload")
report "reload with an invalid configuration: targets are still probed" ${errors[@]+"${errors[@]}"} -- \
        "${show[@]}"

mark=$(lines "$notify")
stop_daemon svc
errors=()
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
wait_match "$notify" '^STOPPING=1$' 5 "$mark" >/dev/null || errors+=("no STOPPING=1")
wait_match "$notify" '^STATUS=Shutting down$' 5 "$mark" >/dev/null || errors+=("no STATUS=Shutting down")
# Both reloads left expired alone, so it kept its state: its problem was logged once, at the start.
n=$(count_matching "$tmp/svc.err" '^<[0-9]>expired: ')
((n == 2)) || errors+=("expired logged $n event lines over two reloads, expected 2 (problem and status, once)")
if ! "$jq" -e . "$state" >/dev/null 2>&1; then
        errors+=("$state is missing or not valid JSON")
else
        "$jq" -e '.targets | keys == ["expired", "good", "good2"]' "$state" >/dev/null ||
                errors+=("state.json does not hold exactly the targets expired, good, good2")
        "$jq" -e '.targets.good.status == "ok" and .targets.good2.status == "ok" and
                  .targets.expired.status == "critical"' "$state" >/dev/null ||
                errors+=("state.json: expected good and good2 ok, expired critical")
fi
report "SIGTERM: STOPPING=1, exit 0, state.json written, no re-announcement across reloads" ${errors[@]+"${errors[@]}"} -- "${show[@]}" "$state"

# --- the state survives a restart ----------------------------------------------------------------------

# Same state directory; expired keeps its name and address, so its problem is known already and must not
# be announced again; a new target on the same expired listener is news. Meanwhile good's listener was
# restarted with another certificate, which the first probe must notice.
probes_before=$(probes_now expired)
stop_pid "${pid[good]}"
listen_port=${port[good]}
start_tls good -cert "$pki/ec.pem" -key "$pki/ec.key" -cert_chain "$pki/int.pem"
wait_port good
unset listen_port
good_sha256=$(fingerprint good)
ec_sha256=$(fingerprint ec)
cat >"$conf" <<EOF
[Defaults]
$defaults
Interval=2s
Timeout=2s

[Target good]
Address=$(at good)

[Target expired]
Address=$(at expired)

[Target fresh]
Address=$(at expired)
EOF
start_tlswatchd restart no -c "$conf" --state-directory "$tmp/svc.state"
show=("$tmp/restart.err" "$state")
errors=()
wait_match "$tmp/restart.err" '^<2>fresh: critical expired: ' 30 >/dev/null ||
        errors+=("the new target was not announced: no \"<2>fresh: critical expired: ...\"")
# Once the saved state counts a new probe of expired, that probe's events (if any) are on stderr.
probed=no
for ((i = 0; i < 300; i++)); do
        if (($(probes_now expired) > probes_before)); then
                probed=yes
                break
        fi
        running "${pid[restart]}" || break
        sleep 0.1
done
[[ $probed == yes ]] || errors+=("state.json shows no probe of expired after the restart within 30 s")
n=$(count_matching "$tmp/restart.err" '^<[0-9]>expired: ')
((n == 0)) || errors+=("expired was announced again after the restart ($n event lines)")
want="<5>good: the listener serves a new certificate (sha256 ${ec_sha256:0:16}..., not after "
wait_match -F "$tmp/restart.err" "$want" 30 >/dev/null ||
        errors+=("the certificate changed while stopped was not logged: no \"$want...\"")
grep -qF "; was ${good_sha256:0:16}..., not after " "$tmp/restart.err" ||
        errors+=("the certificate change does not name the old certificate (sha256 ${good_sha256:0:16}...)")
n=$(count_matching "$tmp/restart.err" '^<[0-9]>good: ')
((n == 1)) || errors+=("good logged $n event lines after the restart, expected 1 (the certificate change)")
stop_daemon restart
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
report "restart: known problem not re-announced, new target and new certificate announced" \
        ${errors[@]+"${errors[@]}"} -- "${show[@]}"

# A state file that cannot be parsed is moved aside, and every target starts afresh.
echo '{"version": 1, "targets": ' >"$state"
start_tlswatchd corrupt no -c "$conf" --state-directory "$tmp/svc.state"
errors=()
wait_match -F "$tmp/corrupt.err" "$state is not a valid state file" 30 >/dev/null ||
        errors+=("no warning \"$state is not a valid state file ...\"")
wait_match "$tmp/corrupt.err" '^<2>expired: critical expired: ' 30 >/dev/null ||
        errors+=("expired was not announced afresh")
[[ -f $state.corrupt ]] || errors+=("$state.corrupt does not exist")
stop_daemon corrupt
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
"$jq" -e '.targets | has("expired")' "$state" >/dev/null 2>&1 || errors+=("no valid state.json after the stop")
report "corrupt state file: moved to state.json.corrupt, targets start afresh" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/corrupt.err"

# A state file cut short in its last entry (a full disk under an editor, a crash of the machine): the
# entries before the cut are kept, the file is set aside with a warning naming it.
errors=()
names=$("$jq" -r '.targets | keys_unsorted[]' "$state" 2>/dev/null)
n_saved=$(grep -c '' <<<"$names")
last=$(tail -n 1 <<<"$names")
offset=$(grep -bo "\"$last\":" "$state" | tail -n 1 | cut -d: -f1)
rm -f "$state.corrupt"
if [[ -z $offset ]] || ((n_saved < 2)); then
        errors+=("cannot cut the state file: $n_saved saved targets, last \"$last\"")
else
        head -c $((offset + ${#last} + 12)) "$state" >"$state.cut" && mv "$state.cut" "$state"
        start_tlswatchd truncated no -c "$conf" --state-directory "$tmp/svc.state"
        want="$state is damaged ("
        wait_match -F "$tmp/truncated.err" "$want" 30 >/dev/null ||
                errors+=("no warning \"$want...\"")
        grep -qF "kept the $((n_saved - 1)) targets' state saved before the damage, moved the file to $state.corrupt" \
                "$tmp/truncated.err" || errors+=("the warning does not say that $((n_saved - 1)) targets' state was kept")
        [[ -f $state.corrupt ]] || errors+=("$state.corrupt does not exist")
        stop_daemon truncated
        [[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
        "$jq" -e --arg last "$last" '.targets | has($last)' "$state" >/dev/null 2>&1 ||
                errors+=("no valid state.json with $last after the stop")
fi
report "state file cut short: the entries before the cut kept, the file set aside" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/truncated.err"

# --- ConfirmFailures -----------------------------------------------------------------------------------

# Two network faults that must repeat three times before they count: a listener that never answers
# (its connections can be counted, so each probe is seen to start) and a port with no listener.
wait "${pid[closed]}" 2>/dev/null
mkdir -p "$tmp/confirm.d" "$tmp/confirm.state"
cat >"$tmp/confirm.d/tlswatch.conf" <<EOF
[Defaults]
$defaults
Interval=2s
RetryInterval=1s
Timeout=1s
ConfirmFailures=3

[Target hung]
Address=$(at hung)

[Target refused]
Address=$(at closed)
EOF
confirm_started=$(date +%s%N)
start_tlswatchd confirm no -c "$tmp/confirm.d/tlswatch.conf" --state-directory "$tmp/confirm.state"

# Meanwhile, reminders: a problem that lasts is logged again every RepeatInterval=.
mkdir -p "$tmp/remind.d"
cat >"$tmp/remind.d/tlswatch.conf" <<EOF
[Defaults]
$defaults
Interval=2s
Timeout=2s
RepeatInterval=3s

[Target remind]
Address=$(at expired)
EOF
# The state directory is the first of STATE_DIRECTORY's, as systemd passes several.
mkdir -p "$tmp/remind.state1" "$tmp/remind.state2"
STATE_DIRECTORY=$tmp/remind.state1:$tmp/remind.state2 start_tlswatchd remind no -c "$tmp/remind.d/tlswatch.conf"

# And a reload re-reads a CA file whose path did not change: first a CA that did not issue the chain.
mkdir -p "$tmp/careload.d" "$tmp/careload.state"
cp "$pki/otherroot.pem" "$tmp/careload.d/ca.pem"
cat >"$tmp/careload.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$tmp/careload.d/ca.pem
Protocol=tls
Interval=2s
Timeout=2s

[Target careload]
Address=$(at good)
EOF
start_tlswatchd careload no -c "$tmp/careload.d/tlswatch.conf" --state-directory "$tmp/careload.state"
err=$tmp/confirm.err
show=("$err")

# Connection k+1 to the silent listener opens after probe k has finished and been applied.
errors=()
for k in 2 3; do
        seen=no
        for ((i = 0; i < 300; i++)); do
                if (($(server_connections hung) >= k)); then
                        seen=yes
                        break
                fi
                running "${pid[confirm]}" || break
                sleep 0.1
        done
        if [[ $seen != yes ]]; then
                errors+=("no connection #$k to the silent listener within 30 s")
                break
        fi
        n=$(count_matching "$err" '^<[0-9]>hung: ')
        ((n == 0)) ||
                errors+=("after $((k - 1)) failed probe(s) of 3 needed, hung already logged: $(grep -E '^<[0-9]>hung: ' "$err" | head -n 1)")
done
report "ConfirmFailures=3: first two timeouts log nothing" ${errors[@]+"${errors[@]}"} -- "${show[@]}"

errors=()
wait_match "$err" '^<2>hung: critical timeout: ' 30 >/dev/null ||
        errors+=("no \"<2>hung: critical timeout: ...\" after the third timeout")
wait_match -F "$err" '<2>hung: status unknown -> critical (timeout)' 30 >/dev/null ||
        errors+=("no \"<2>hung: status unknown -> critical (timeout)\"")
report "ConfirmFailures=3: the third timeout logs problem and status change" ${errors[@]+"${errors[@]}"} -- \
        "${show[@]}"

errors=()
if wait_match "$err" '^<2>refused: critical connect_failed: ' 30 >/dev/null; then
        # Three probes, two RetryIntervals of 1 s apart, all after the start: never sooner than 2 s.
        elapsed_ms=$((($(date +%s%N) - confirm_started) / 1000000))
        ((elapsed_ms >= 2000)) ||
                errors+=("connect_failed was logged ${elapsed_ms} ms after the start; three probes 1 s apart take 2 s at least")
else
        errors+=("no \"<2>refused: critical connect_failed: ...\" after three refused connections")
fi
wait_match -F "$err" '<2>refused: status unknown -> critical (connect_failed)' 30 >/dev/null ||
        errors+=("no \"<2>refused: status unknown -> critical (connect_failed)\"")
report "ConfirmFailures=3: refused connections count on the third" ${errors[@]+"${errors[@]}"} -- "${show[@]}"

# Let a fourth probe of each pass (the state file counts them), not a fixed time that a loaded machine
# may not fill: an ongoing problem is not logged again.
more_failures() {
        "$jq" -e '.targets.refused.consecutive_failures >= 4 and .targets.hung.consecutive_failures >= 4' \
                "$tmp/confirm.state/state.json" >/dev/null 2>&1
}
poll 30 more_failures
more=$?
stop_daemon confirm
errors=()
((more == 0)) || errors+=("state.json shows no fourth probe of hung and refused within 30 s")
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
for t in hung refused; do
        n=$(count_matching "$err" "^<[0-9]>$t: ")
        ((n == 2)) || errors+=("$t: $n event lines, expected 2 (problem and status change, once)")
done
"$jq" -e '.targets.refused.status == "critical" and .targets.refused.consecutive_failures >= 3 and
          .targets.hung.status == "critical" and .targets.hung.consecutive_failures >= 3' \
        "$tmp/confirm.state/state.json" >/dev/null 2>&1 ||
        errors+=("state.json: expected hung and refused critical with 3 or more consecutive failures")
report "ConfirmFailures=3: events once, state kept" ${errors[@]+"${errors[@]}"} -- "${show[@]}" \
        "$tmp/confirm.state/state.json"

errors=()
wait_match "$tmp/remind.err" '^<2>remind: critical expired: ' 30 >/dev/null ||
        errors+=("no \"<2>remind: critical expired: ...\"")
wait_match "$tmp/remind.err" '^<2>remind: still critical: expired: ' 30 >/dev/null ||
        errors+=("no reminder \"<2>remind: still critical: expired: ...\" with RepeatInterval=3s")
stop_daemon remind
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
report "RepeatInterval=3s: a lasting problem is logged again as a reminder" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/remind.err"

errors=()
if wait_match -F "$tmp/careload.err" '<2>careload: status unknown -> critical (' 30 >/dev/null; then
        cp "$pki/root.pem" "$tmp/careload.d/ca.pem"
        mark=$(lines "$tmp/careload.err")
        kill -HUP "${pid[careload]}"
        wait_match -F "$tmp/careload.err" '<5>careload: status critical -> ok' 30 "$mark" >/dev/null ||
                errors+=("no \"<5>careload: status critical -> ok\" after the CA file was replaced and SIGHUP sent")
else
        errors+=("no \"<2>careload: status unknown -> critical (...)\" with an unrelated CA")
fi
stop_daemon careload
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
report "reload re-reads a CA file replaced in place" ${errors[@]+"${errors[@]}"} -- "$tmp/careload.err"

errors=()
[[ -f $tmp/remind.state1/state.json ]] || errors+=("no state.json in the first directory of STATE_DIRECTORY")
[[ ! -e $tmp/remind.state2/state.json ]] || errors+=("state.json in the second directory of STATE_DIRECTORY")
report "STATE_DIRECTORY=A:B: the state goes to A" ${errors[@]+"${errors[@]}"} -- "$tmp/remind.err"

# --- the fleet, checked -------------------------------------------------------------------------------

run_once fleet-once -c "$tmp/fleet.d/tlswatch.conf" --once --json
errors=()
[[ $rc == 2 ]] || errors+=("exit code $(describe_rc "$rc"), expected 2")
if ! "$jq" -se 'length == 1 and (.[0] | type == "array")' "$tmp/fleet-once.out" >/dev/null 2>&1; then
        errors+=("stdout is not exactly one JSON array")
else
        n=$("$jq" 'length' "$tmp/fleet-once.out")
        ((n == 201)) || errors+=("$n reports, expected 201")
        n=$("$jq" '[.[] | .name] | unique | length' "$tmp/fleet-once.out")
        ((n == 201)) || errors+=("$n distinct names, expected 201")
        n=$("$jq" '[.[] | select(.name != "fleet-hung" and .status == "ok")] | length' "$tmp/fleet-once.out")
        ((n == 200)) || errors+=("$n of the 200 targets on the good server are ok: $("$jq" -c \
                '[.[] | select(.name != "fleet-hung" and .status != "ok") | {name, status, codes: [.problems[].code]}] | .[:5]' \
                "$tmp/fleet-once.out")")
        "$jq" -e '.[] | select(.name == "fleet-hung") | .status == "critical" and
                  any(.problems[]; .code == "timeout")' "$tmp/fleet-once.out" >/dev/null ||
                errors+=("fleet-hung: expected critical with problem timeout")
fi
report "201 targets, --once --json: 200 ok, the hung one times out" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/fleet-once.err"

errors=()
want='STATUS=201 targets: 200 ok, 0 warning, 1 critical, 0 unknown'
left=$((60 - (SECONDS - fleet_started)))
((left < 10)) && left=10
if ! wait_match -F "$tmp/fleet.notify" "$want" "$left" >/dev/null; then
        errors+=("no \"$want\" within $((SECONDS - fleet_started)) s of the start; last: $(grep '^STATUS=' "$tmp/fleet.notify" | tail -n 1)")
fi
running "${pid[fleet]}" || errors+=("the daemon is not running")
report "201 targets, daemon: every target has its first result" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/fleet.notify" "$tmp/fleet.err"

stop_daemon fleet
errors=()
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
"$jq" -e '.targets | length == 201' "$tmp/fleet.state/state.json" >/dev/null 2>&1 ||
        errors+=("state.json does not hold 201 targets")
report "201 targets, daemon: clean stop" ${errors[@]+"${errors[@]}"} -- "$tmp/fleet.err"

summary
