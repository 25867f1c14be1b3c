#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of what a careless administrator or an unfriendly local user can do to the files
# tlswatchd reads (issue 19): a FIFO as conf.d/x.conf, CAFile= or MQTTPasswordFile= (the reload is
# refused with file:line, the daemon keeps answering, --check-config fails instead of hanging); a
# directory named x.conf and a conf.d that is a file; saved times faked in the spool (RetryMax= sends
# nothing to the dead letters early) and in the state file (reminders still come); spool files that
# cannot be read (said once, counted in `tlswatchctl webhooks` and the metrics); Proxy= against
# https_proxy. Everything is on loopback. Run by the automake harness: 0 pass, 1 fail, 99 broken environment.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: failures are expected on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

hide_journal "$@"

unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID STATE_DIRECTORY JOURNAL_STREAM CREDENTIALS_DIRECTORY \
        TLSWATCH_SOCKET

need_programs TLSWATCHD TLSWATCHCTL
need_commands "$openssl" "$jq" timeout mkfifo
receiver=$TESTS_SRCDIR/integration/webhook-receiver.py
[[ -f $receiver ]] || hard_error "$receiver not found"
python=${PYTHON:-python3}
"$python" -c 'import ssl, http.server' 2>/dev/null || hard_error "$python (with ssl) not found"

make_tmp
make_pki

# --- helpers -------------------------------------------------------------------------------------------

# ctl NAME ARGS...: tlswatchctl against daemon NAME's socket, bounded; output in $tmp/ctl.out.
ctl() {
        local name=$1

        shift
        timeout -k 5 20 "$TLSWATCHCTL" --socket "$tmp/$name.sock" "$@" >"$tmp/ctl.out" 2>"$tmp/ctl.err"
        ctl_rc=$?
}

# answers NAME: `tlswatchctl status` answers (within its own bounded wait; its exit code is the
# targets' status).
answers() {
        ctl "$1" status --json
        "$jq" -e 'type == "array" and length >= 1' "$tmp/ctl.out" >/dev/null 2>&1
}

# check_config CONFIG: --check-config, under timeout(1) only as a guard against a hang; rc and output
# in check_rc and $tmp/check.err.
check_config() {
        timeout -k 5 30 "$TLSWATCHD" --check-config -c "$1" </dev/null >"$tmp/check.out" 2>"$tmp/check.err"
        check_rc=$?
}

# lines_after FILE N PATTERN: lines matching (grep -E) after the first N lines of FILE.
lines_after() {
        tail -n "+$(($2 + 1))" "$1" | grep -cE "$3"
}

# now_usec: the wall clock in microseconds.
now_usec() {
        echo $(($(date +%s%N) / 1000))
}

start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
start_tls expired -cert "$pki/expired.pem" -key "$pki/expired.key" -cert_chain "$pki/int.pem"
wait_port good
wait_port expired
# A port nothing listens on, for receivers that are down.
pick_ports 1
dead_port=${picked[0]}

# --- FIFOs where the configuration points ----------------------------------------------------------------

d=$tmp/fifo.d
mkdir -p "$d/conf.d"
mkfifo "$tmp/ca.fifo" "$tmp/password.fifo"
write_fifo_config() { # $1: extra lines for the target
        cat >"$d/tlswatch.conf" <<EOF
[Defaults]
Protocol=tls
Interval=1s
Timeout=1s
ControlSocket=$tmp/fifo.sock

[Target good]
Address=$(at good)
$1
EOF
}
write_fifo_config "CAFile=$pki/root.pem"
start_daemon fifo -c "$d/tlswatch.conf"
wait_daemon fifo

# fifo_case NAME PATTERN: after the config change, SIGHUP; the reload is refused with PATTERN (grep -E)
# in the log, the daemon keeps answering, and --check-config fails with it too, without hanging.
fifo_case() {
        local name=$1 pattern=$2 before
        local -a errors=()

        before=$(wc -l <"$tmp/fifo.err")
        kill -HUP "${pid[fifo]}"
        poll 10 eval '(($(lines_after "$tmp/fifo.err" "$before" "reload failed, keeping the running configuration: $pattern") >= 1))' ||
                errors+=("no \"reload failed, keeping the running configuration: $pattern\" within 10 s of SIGHUP")
        poll 10 answers fifo || errors+=("tlswatchctl status does not answer after the SIGHUP (rc $ctl_rc)")
        running "${pid[fifo]}" || errors+=("the daemon is gone")
        check_config "$d/tlswatch.conf"
        ((check_rc != 0 && check_rc != 124 && check_rc < 128)) ||
                errors+=("--check-config exited $(describe_rc "$check_rc"), expected an error")
        grep -qE "$pattern" "$tmp/check.err" || errors+=("--check-config does not say \"$pattern\"")
        report "a FIFO as $name: reload refused with file:line, the daemon answers, --check-config fails" \
                ${errors[@]+"${errors[@]}"} -- "$tmp/fifo.err" "$tmp/check.err"
}

fifo_msg='not a regular file \(a FIFO'
mkfifo "$d/conf.d/x.conf"
fifo_case "conf.d/x.conf" "$d/conf.d/x.conf: cannot read: $fifo_msg"
rm -f "$d/conf.d/x.conf"

write_fifo_config "CAFile=$tmp/ca.fifo"
fifo_case "CAFile=" "$d/tlswatch.conf:7: \[Target good\]: CAFile=$tmp/ca.fifo: $fifo_msg"

write_fifo_config "CAFile=$pki/root.pem
MQTTUsername=watcher
MQTTPasswordFile=$tmp/password.fifo"
fifo_case "MQTTPasswordFile=" "$d/tlswatch.conf:7: \[Target good\]: MQTTPasswordFile=$tmp/password.fifo: $fifo_msg"

# The good configuration again: the reload goes through, so the daemon was not merely stuck.
write_fifo_config "CAFile=$pki/root.pem"
errors=()
before=$(wc -l <"$tmp/fifo.err")
kill -HUP "${pid[fifo]}"
poll 10 eval '(($(lines_after "$tmp/fifo.err" "$before" "reloaded ") >= 1))' ||
        errors+=("the good configuration was not reloaded within 10 s")
report "after the FIFOs, a good configuration reloads" ${errors[@]+"${errors[@]}"} -- "$tmp/fifo.err"
stop_daemon fifo

# --- a directory named x.conf, a conf.d that is a file ----------------------------------------------------

errors=()
mkdir -p "$d/conf.d/dir.conf"
check_config "$d/tlswatch.conf"
((check_rc != 0 && check_rc != 124)) || errors+=("--check-config exited $(describe_rc "$check_rc"), expected an error")
grep -qF "$d/conf.d/dir.conf: cannot read: it is a directory, not a file" "$tmp/check.err" ||
        errors+=("no \"$d/conf.d/dir.conf: cannot read: it is a directory, not a file\"")
grep -q "Input/output error" "$tmp/check.err" && errors+=("still \"Input/output error\"")
report "a directory named x.conf: a clear error" ${errors[@]+"${errors[@]}"} -- "$tmp/check.err"
rmdir "$d/conf.d/dir.conf"

errors=()
rmdir "$d/conf.d"
echo "[Target never]" >"$d/conf.d"
check_config "$d/tlswatch.conf"
((check_rc != 0 && check_rc != 124)) || errors+=("--check-config exited $(describe_rc "$check_rc"), expected an error")
grep -qF "$d/conf.d: cannot read the directory: it is not a directory" "$tmp/check.err" ||
        errors+=("no \"$d/conf.d: cannot read the directory: it is not a directory\"")
report "a conf.d that is a regular file: an error, not silence" ${errors[@]+"${errors[@]}"} -- "$tmp/check.err"
rm -f "$d/conf.d"

# --- RetryMax= and a faked first attempt in the spool -------------------------------------------------------

r=$tmp/retry
mkdir -p "$r.d" "$r.state"
cat >"$r.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=1s
Timeout=1s
ControlSocket=$tmp/retry.sock

[Target down]
Address=127.0.0.1:$dead_port

[Webhook dead]
URL=https://127.0.0.1:$dead_port/hook
CAFile=$pki/root.pem
RetryMax=1d
EOF
spool=$r.state/spool/dead
start_daemon retry -c "$r.d/tlswatch.conf" --state-directory "$r.state"
wait_daemon retry
errors=()
markers=()
has_marker() {
        mapfile -t markers < <(find "$spool" -name '*.first-attempt' 2>/dev/null)
        ((${#markers[@]} >= 1))
}
poll 20 has_marker || errors+=("no first-attempt record in $spool within 20 s")
stop_daemon retry
# Two days ago, in the form of a record from before a reboot (no boot id): with RetryMax=1d the event
# would go straight to the dead letters on the first failure after the restart. The record's own
# mtime (now) and the event file's (a moment ago) say that cannot be.
faked=$(($(now_usec) - 2 * 86400 * 1000000))
for m in ${markers[@]+"${markers[@]}"}; do
        echo "$faked" >"$m"
done
rm -f "$tmp/retry.sock"
start_daemon retry -c "$r.d/tlswatch.conf" --state-directory "$r.state"
wait_daemon retry
failures() {
        ctl retry webhooks --json
        "$jq" -e '.[] | select(.name == "dead") | .failures_total >= 2' "$tmp/ctl.out" >/dev/null 2>&1
}
poll 30 failures || errors+=("fewer than 2 failed attempts after the restart within 30 s")
ctl retry webhooks --json
"$jq" -e '.[] | select(.name == "dead") | .dead_letters == 0 and .pending >= 1' "$tmp/ctl.out" >/dev/null 2>&1 ||
        errors+=("after the restart: $("$jq" -c '.[] | select(.name == "dead") | {pending, dead_letters}' "$tmp/ctl.out" 2>/dev/null), expected pending >= 1, dead_letters 0")
[[ -e $r.state/spool/dead.dead ]] && errors+=("an event went to the dead letters: $(head -c 300 "$r.state/spool/dead.dead")")
report "a first attempt faked two days back: nothing goes to the dead letters early (RetryMax=1d)" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/retry.err"
stop_daemon retry

# --- reminders and a faked announcement in the state file ----------------------------------------------------

m=$tmp/remind
mkdir -p "$m.d" "$m.state"
cat >"$m.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=1s
Timeout=1s
RepeatInterval=3s
ControlSocket=$tmp/remind.sock

[Target remind]
Address=$(at expired)
EOF
start_daemon remind -c "$m.d/tlswatch.conf" --state-directory "$m.state"
wait_daemon remind
errors=()
has_announced() {
        "$jq" -e '.targets.remind.status == "critical" and (.targets.remind.last_announced_unix // 0) > 0' \
                "$m.state/state.json" >/dev/null 2>&1
}
poll 20 has_announced || errors+=("state.json has no announced critical state of remind within 20 s")
stop_daemon remind
# Announced ten days ahead: before, no reminder until the clock got there.
future=$(($(date +%s) + 10 * 86400))
"$jq" --argjson t "$future" '.targets.remind.last_announced_unix = $t |
        if .targets.remind.last_announced then .targets.remind.last_announced = ($t | todate) else . end' \
        "$m.state/state.json" >"$m.state/state.json.new" && mv "$m.state/state.json.new" "$m.state/state.json"
before=$(wc -l <"$tmp/remind.err")
rm -f "$tmp/remind.sock"
start_daemon remind -c "$m.d/tlswatch.conf" --state-directory "$m.state"
wait_daemon remind
poll 30 eval '(($(lines_after "$tmp/remind.err" "$before" "^<[0-9]>remind: still critical: expired") >= 1))' ||
        errors+=("no reminder \"remind: still critical: expired ...\" within 30 s after the restart")
report "an announcement faked ten days ahead in the state file: reminders still come" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/remind.err" "$m.state/state.json"
stop_daemon remind

# --- spool files that cannot be read ---------------------------------------------------------------------------

u=$tmp/unread
mkdir -p "$u.d" "$u.state/spool/dead"
cat >"$u.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=1s
Timeout=1s
ControlSocket=$tmp/unread.sock

[Target good]
Address=$(at good)

[Webhook dead]
URL=https://127.0.0.1:$dead_port/hook
CAFile=$pki/root.pem
EOF
# Root reads any file: a directory in the place of an event is what root cannot read.
bad=$u.state/spool/dead/00000000000000000001.json
mkdir "$bad"
start_daemon unread -c "$u.d/tlswatch.conf" --state-directory "$u.state"
wait_daemon unread
errors=()
said="webhook dead: cannot read the spooled event $bad: it is a directory, not a file"
poll 10 grep -qF "$said" "$tmp/unread.err" || errors+=("no \"$said\"")
ctl unread webhooks --json
"$jq" -e '.[] | select(.name == "dead") | .spool_unreadable == 1' "$tmp/ctl.out" >/dev/null 2>&1 ||
        errors+=("tlswatchctl webhooks: spool_unreadable is $("$jq" -c '.[] | select(.name == "dead") | .spool_unreadable' "$tmp/ctl.out" 2>/dev/null), expected 1")
ctl unread webhooks
((ctl_rc == 1)) || errors+=("tlswatchctl webhooks exited $ctl_rc with an unreadable spool file, expected 1")
grep -qF "webhook dead: 1 spool file(s) cannot be read and stay unsent" "$tmp/ctl.out" ||
        errors+=("tlswatchctl webhooks does not say that a spool file cannot be read")
ctl unread metrics
grep -qF 'tlswatch_webhook_spool_unreadable{webhook="dead"} 1' "$tmp/ctl.out" ||
        errors+=("no tlswatch_webhook_spool_unreadable{webhook=\"dead\"} 1 in the metrics")
# A reload reads the spool again: counted again, not said again.
before=$(wc -l <"$tmp/unread.err")
kill -HUP "${pid[unread]}"
poll 10 eval '(($(lines_after "$tmp/unread.err" "$before" "reloaded ") >= 1))' || errors+=("no reload")
n=$(grep -cF "$said" "$tmp/unread.err")
((n == 1)) || errors+=("said $n times after a reload, expected once")
ctl unread webhooks --json
"$jq" -e '.[] | select(.name == "dead") | .spool_unreadable == 1' "$tmp/ctl.out" >/dev/null 2>&1 ||
        errors+=("after the reload spool_unreadable is not 1")
[[ -d $bad ]] || errors+=("$bad was removed")
report "an unreadable spool file is said once and counted (status, metrics)" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/unread.err"
stop_daemon unread

# The case of DynamicUser=: the daemon under another uid, one event a file of root's, mode 0600.
if ((EUID == 0)) && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
        errors=()
        n=$tmp/nobody
        mkdir -p "$n.d" "$n.state/spool/dead"
        sed "s|$tmp/unread.sock|$n.d/nobody.sock|" "$u.d/tlswatch.conf" >"$n.d/tlswatch.conf"
        cp "$pki/root.pem" "$n.d/root.pem"
        sed -i "s|CAFile=$pki/root.pem|CAFile=$n.d/root.pem|" "$n.d/tlswatch.conf"
        echo '{"schema":"tlswatch.alert/2","id":"0123456789abcdef0123456789abcdef"}' \
                >"$n.state/spool/dead/00000000000000000007.json"
        chmod 0600 "$n.state/spool/dead/00000000000000000007.json"
        chown -R nobody "$n.state" "$n.d"
        chown root "$n.state/spool/dead/00000000000000000007.json"
        chmod o+x "$tmp"
        start_process nobody setpriv --reuid nobody --regid nogroup --clear-groups "$TLSWATCHD" \
                -c "$n.d/tlswatch.conf" --state-directory "$n.state"
        wait_daemon nobody "$n.d/nobody.sock"
        said="webhook dead: cannot read the spooled event $n.state/spool/dead/00000000000000000007.json: Permission denied"
        poll 10 grep -qF "$said" "$tmp/nobody.err" || errors+=("no \"$said\"")
        timeout -k 5 20 "$TLSWATCHCTL" --socket "$n.d/nobody.sock" webhooks --json >"$tmp/ctl.out" 2>&1
        "$jq" -e '.[] | select(.name == "dead") | .spool_unreadable == 1' "$tmp/ctl.out" >/dev/null 2>&1 ||
                errors+=("spool_unreadable is not 1 for a file of root's under uid nobody")
        report "a spool file of another uid (as under DynamicUser=): said and counted" \
                ${errors[@]+"${errors[@]}"} -- "$tmp/nobody.err"
        stop_daemon nobody
        chmod o-x "$tmp"
fi

# --- Proxy= and https_proxy ------------------------------------------------------------------------------------

# libcurl takes https_proxy from the environment; Proxy= overrides it, and Proxy= (empty) means none.
# The environment's proxy is a port nothing listens on: a webhook that uses it never delivers.
start_process receiver "$python" "$receiver" --port 0 --port-file "$tmp/receiver.port" --log "$tmp/receiver.log" \
        --control "$tmp/receiver.control" --cert "$pki/good-chain.pem" --key "$pki/good.key"
wait_port receiver
x=$tmp/proxy
mkdir -p "$x.d" "$x.state"
cat >"$x.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=1s
Timeout=1s
ControlSocket=$tmp/proxy.sock

[Target good]
Address=$(at good)

[Webhook none]
URL=https://localhost:${port[receiver]}/none
CAFile=$pki/root.pem
Proxy=

[Webhook environment]
URL=https://localhost:${port[receiver]}/environment
CAFile=$pki/root.pem

[Webhook explicit]
URL=https://localhost:${port[receiver]}/explicit
CAFile=$pki/root.pem
Proxy=http://127.0.0.1:$dead_port
EOF
errors=()
check_config "$x.d/tlswatch.conf"
((check_rc == 0)) || errors+=("--check-config exited $(describe_rc "$check_rc") on Proxy=: $(head -c 300 "$tmp/check.err")")
https_proxy=http://127.0.0.1:$dead_port HTTPS_PROXY=http://127.0.0.1:$dead_port no_proxy='' NO_PROXY='' \
        start_daemon proxy -c "$x.d/tlswatch.conf" --state-directory "$x.state"
wait_daemon proxy
delivered_to() {
        "$jq" -s -e --arg p "$1" '[.[] | select(.path == $p and .status < 300)] | length >= 1' "$tmp/receiver.log" \
                >/dev/null 2>&1
}
failing() {
        ctl proxy webhooks --json
        "$jq" -e --arg n "$1" '.[] | select(.name == $n) | .failures_total >= 1 and .pending >= 1' "$tmp/ctl.out" \
                >/dev/null 2>&1
}
poll 20 delivered_to /none || errors+=("Proxy= (empty): nothing delivered despite https_proxy within 20 s")
poll 20 failing environment || errors+=("without Proxy=, https_proxy was not used (no failure through it)")
poll 20 failing explicit || errors+=("Proxy=URL was not used (no failure through it)")
delivered_to /environment && errors+=("without Proxy=, delivered around https_proxy")
delivered_to /explicit && errors+=("with Proxy=URL, delivered around it")
report "Proxy= overrides https_proxy (empty: no proxy); without it libcurl follows https_proxy" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/proxy.err" "$tmp/receiver.log" "$tmp/ctl.out"
stop_daemon proxy
errors=()
sed -i 's|^Proxy=http.*|Proxy=ftp://127.0.0.1:1|' "$x.d/tlswatch.conf"
check_config "$x.d/tlswatch.conf"
((check_rc != 0 && check_rc != 124)) || errors+=("--check-config accepted Proxy=ftp://...")
grep -qE "tlswatch.conf:[0-9]+: .*Proxy: not a proxy URL" "$tmp/check.err" || errors+=("no file:line error for Proxy=ftp://")
report "Proxy= with another scheme: an error with file:line" ${errors[@]+"${errors[@]}"} -- "$tmp/check.err"

summary
