#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of Format=alertmanager against two real Prometheus Alertmanagers on loopback, the
# peers of one webhook, on plain http without AllowInsecureHTTP=: a failing listener is an active alert
# at both, with severity, instance, target, code, job and a Label= as labels, summary, description and
# runbook_url as annotations, generatorURL at the [HTTP] endpoint, and an endsAt a few intervals ahead; `amtool alert query severity=critical`
# finds it; resends keep it alive past that endsAt with its first startsAt, and nothing of them is
# spooled; a peer that is down delays nothing for the other and is filled again when it returns; a severity that rises across a restart is another alert and the old one is resolved at once;
# after tlswatchd is killed, its alerts resolve by their endsAt alone; a renewal found at the next start
# resolves what was firing; `tlswatchctl webhook-test` raises an "info" TLSWatchTest alert. Run by the
# automake harness: 0 pass, 1 fail, 99 broken environment; never skips.

# SC2317: functions only reached through trap or poll; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: failures are expected on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

# As in test-daemon.sh: keep events out of a host's journal by hiding its socket.
hide_journal "$@"

forget_service_environment

need_programs TLSWATCHD TLSWATCHCTL TCP_PEER

# Debian's prometheus-alertmanager installs /usr/bin/prometheus-alertmanager; upstream calls it alertmanager.
alertmanager=${ALERTMANAGER:-}
if [[ -z $alertmanager ]]; then
        alertmanager=$(command -v prometheus-alertmanager || command -v alertmanager) ||
                hard_error "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"
fi
amtool=${AMTOOL:-}
if [[ -z $amtool ]]; then
        amtool=$(command -v amtool) || hard_error "amtool not found (apt-get install prometheus-alertmanager)"
fi
python=${PYTHON:-python3}
need_commands "$openssl" "$jq"
"$python" -c 'import urllib.request' 2>/dev/null || hard_error "$python not found"

make_tmp
make_pki

# wait_peer NAME: wait (max 10 s) for the tcp-peer's port, then for it to exit: the port is free.
wait_peer() {
        wait_port "$1"
        wait "${pid[$1]}" 2>/dev/null
}

# http_get URL FILE: the body of a GET into FILE, bounded; fails on anything but 200.
http_get() {
        "$python" - "$1" "$2" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        data = response.read()
except Exception as error:
    sys.exit(f"{sys.argv[1]}: {error}")
with open(sys.argv[2], "wb") as f:
    f.write(data)
EOF
}

# alerts PEER: that Alertmanager's current alerts (resolved ones are not listed) into $tmp/PEER.json.
alerts() {
        http_get "http://127.0.0.1:${port[$1]}/api/v2/alerts" "$tmp/$1.json" 2>>"$tmp/http.err"
}

# at_both JQ-CONDITION: some alert satisfies the condition, at each peer.
at_both() {
        alerts am1 && alerts am2 && "$jq" -e "any(.[]; $1)" "$tmp/am1.json" >/dev/null 2>&1 &&
                "$jq" -e "any(.[]; $1)" "$tmp/am2.json" >/dev/null 2>&1
}

# at_neither JQ-CONDITION: no alert satisfies it, at either peer.
at_neither() {
        alerts am1 && alerts am2 && "$jq" -e "any(.[]; $1) | not" "$tmp/am1.json" >/dev/null 2>&1 &&
                "$jq" -e "any(.[]; $1) | not" "$tmp/am2.json" >/dev/null 2>&1
}

# shown PEER JQ-CONDITION: the matching alerts of PEER's last answer, for a message.
shown() {
        "$jq" -c "[.[] | select($2) | {labels, annotations, startsAt, endsAt, status: .status.state}]" \
                "$tmp/$1.json" 2>/dev/null
}

# webhook_idle: tlswatchd has nothing pending for either peer of the webhook am (one object, its peers
# in "peers").
webhook_idle() {
        timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/d.sock" webhooks --json >"$tmp/webhooks.json" 2>>"$tmp/ctl.err" &&
                "$jq" -e '[.[] | select(.name == "am")] | length == 1 and .[0].pending == 0 and
                          (.[0].peers | length == 2 and all(.pending == 0))' "$tmp/webhooks.json" >/dev/null 2>&1
}

# seconds_from_now JQ-TIME: jq's expression turning an RFC 3339 time (with fractions) into seconds from now.
seconds_from_now() {
        printf '((%s | sub("\\\\.[0-9]+Z$"; "Z") | fromdateiso8601) - now)' "$1"
}

# --- two Alertmanagers -----------------------------------------------------------------------------------

# Free ports for the Alertmanagers, and ports for the targets: tcp-peers that lived a moment.
for name in am1 am2 flip expiring http; do
        start_peer "$name" close 1
done
for name in am1 am2 flip expiring http; do
        wait_peer "$name"
done

cat >"$tmp/am.yml" <<EOF
route:
  receiver: discard
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: discard
EOF
# start_am NAME: an Alertmanager on port[NAME], with an empty store.
start_am() {
        rm -rf "$tmp/$1.data"
        mkdir -p "$tmp/$1.data"
        "$alertmanager" --config.file="$tmp/am.yml" --storage.path="$tmp/$1.data" \
                --web.listen-address="127.0.0.1:${port[$1]}" --cluster.listen-address= </dev/null \
                >>"$tmp/$1.out" 2>>"$tmp/$1.err" &
        pid[$1]=$!
        pids+=("$!")
}
am_ready() {
        running "${pid[$1]}" && http_get "http://127.0.0.1:${port[$1]}/-/ready" "$tmp/ready.out" 2>/dev/null
}
# wait_am NAME: ready within 30 s, or the environment is broken.
wait_am() {
        if ! poll 30 am_ready "$1"; then
                tail -n 20 "$tmp/$1.err" >&2
                hard_error "Alertmanager $1 did not become ready on 127.0.0.1:${port[$1]} within 30 s"
        fi
}
# Two independent Alertmanagers stand for the peers of a cluster: each must get every alert itself.
for name in am1 am2; do
        start_am "$name"
done
for name in am1 am2; do
        wait_am "$name"
done

# --- tlswatchd -------------------------------------------------------------------------------------------

# write_config CRITDAYS: flip on a closed port, probed every 2 s (its alerts hold 10 s); expiring on a
# server whose certificate has 10 days left, probed every 20 s (its alerts hold 80 s).
write_config() {
        cat >"$tmp/d.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
RetryInterval=1s
Timeout=1s
ConfirmFailures=1
ControlSocket=$tmp/d.sock
Vantage=test-lab

[HTTP]
Listen=127.0.0.1:${port[http]}

[Target flip]
Address=127.0.0.1:${port[flip]}
Interval=2s

[Target expiring]
Address=127.0.0.1:${port[expiring]}
Interval=20s
WarnDays=30
CritDays=$1

[Webhook am]
Format=alertmanager
URL=http://127.0.0.1:${port[am1]}/api/v2/alerts http://127.0.0.1:${port[am2]}/api/v2/alerts
Label=site=lab-east
RunbookURL=https://wiki.example.com/tlswatch/RUNBOOK.md
EOF
}

listen_port=${port[expiring]} start_tls expiring -cert "$pki/soon10.pem" -key "$pki/soon10.key" \
        -cert_chain "$pki/int.pem"
listen_port=${port[expiring]} wait_port expiring
write_config 7
mkdir -p "$tmp/state"
start_daemon d -c "$tmp/d.conf" --state-directory "$tmp/state"
wait_daemon d

# --- a critical problem is an active alert at both peers, severity a label ------------------------------

flip_alert='.labels.alertname == "TLSWatchConnectFailed" and .labels.target == "flip" and .labels.code == "connect_failed"'
errors=()
if poll 20 at_both "$flip_alert"; then
        for peer in am1 am2; do
                "$jq" -e ".[] | select($flip_alert) | .status.state == \"active\" and
                           .labels.severity == \"critical\" and .labels.instance == \"127.0.0.1:${port[flip]}\" and
                           .labels.job == \"tlswatch\" and .labels.site == \"lab-east\" and
                           .labels.vantage == null and .annotations.vantage == \"test-lab\" and
                           .annotations.runbook_url == \"https://wiki.example.com/tlswatch/RUNBOOK.md#connect_failed\" and
                           .generatorURL == \"http://127.0.0.1:${port[http]}/api/status?target=flip\" and
                           (.annotations.summary | startswith(\"flip: \")) and
                           (.annotations.description | length > 0) and
                           $(seconds_from_now .endsAt) > 0 and $(seconds_from_now .endsAt) < 60 and
                           ($(seconds_from_now .startsAt) | fabs < 120)" "$tmp/$peer.json" >/dev/null ||
                        errors+=("$peer: not an active alert with the labels severity=critical, instance, job, site (Label=), the annotations (vantage among them), the generatorURL of the [HTTP] endpoint, startsAt now and endsAt a few intervals ahead: $(shown "$peer" "$flip_alert") $("$jq" -c ".[] | select($flip_alert) | .generatorURL" "$tmp/$peer.json")")
        done
else
        errors+=("no TLSWatchConnectFailed alert for flip at both Alertmanagers within 20 s: am1 $(cat "$tmp/am1.json" 2>/dev/null) am2 $(cat "$tmp/am2.json" 2>/dev/null)")
fi
# The link leads to the target's status at the endpoint.
generator=$("$jq" -r "first(.[] | select($flip_alert) | .generatorURL) // empty" "$tmp/am1.json" 2>/dev/null)
if [[ -n $generator ]] && http_get "$generator" "$tmp/generator.json" 2>>"$tmp/http.err"; then
        "$jq" -e '.targets | length == 1 and .[0].name == "flip"' "$tmp/generator.json" >/dev/null ||
                errors+=("the generatorURL $generator does not answer with flip's status: $(head -c 500 "$tmp/generator.json")")
else
        errors+=("the generatorURL \"$generator\" cannot be fetched")
fi
grep -q 'over plain http' "$tmp/d.err" || errors+=("no notice that the alerts travel over plain http")
report "a failing listener is an alert at both peers, its severity a label" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/d.err" "$tmp/http.err"

# --- amtool finds it by severity --------------------------------------------------------------------------

expiring_alert='.labels.target == "expiring" and .labels.code == "expires_soon"'
# amtool_query PEER MATCHER...: amtool's answer (JSON) into $tmp/amtool.json.
amtool_query() {
        local peer=$1

        shift
        timeout -k 5 20 "$amtool" --alertmanager.url="http://127.0.0.1:${port[$peer]}" -o json alert query "$@" \
                >"$tmp/amtool.json" 2>>"$tmp/amtool.err"
}
warning_arrived() {
        at_both "$expiring_alert and .labels.severity == \"warning\""
}
errors=()
poll 20 warning_arrived || errors+=("no warning alert for expiring within 20 s: $(shown am1 '.labels.target == "expiring"')")
for peer in am1 am2; do
        if amtool_query "$peer" severity=critical; then
                "$jq" -e "any(.[]; $flip_alert) and (any(.[]; .labels.target == \"expiring\") | not)" \
                        "$tmp/amtool.json" >/dev/null ||
                        errors+=("$peer: amtool alert query severity=critical: flip's alert missing, or expiring's warning listed: $(cat "$tmp/amtool.json")")
        else
                errors+=("$peer: amtool alert query severity=critical failed: $(cat "$tmp/amtool.err")")
        fi
done
if amtool_query am1 severity=warning alertname=TLSWatchExpiresSoon; then
        "$jq" -e "length == 1 and any(.[]; $expiring_alert)" "$tmp/amtool.json" >/dev/null ||
                errors+=("amtool alert query severity=warning alertname=TLSWatchExpiresSoon: $(cat "$tmp/amtool.json")")
else
        errors+=("amtool alert query severity=warning failed: $(cat "$tmp/amtool.err")")
fi
report "amtool alert query severity=critical finds it, and only it" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err"

# --- resends keep it firing past its first endsAt, from its first start, without the spool ----------------

errors=()
starts=$("$jq" -r ".[] | select($flip_alert) | .startsAt" "$tmp/am1.json")
first_ends=$("$jq" -r ".[] | select($flip_alert) | .endsAt" "$tmp/am1.json")
# The first endsAt lies at most a minute ahead (checked above): past it, only resends keep the alert.
past_first_end() {
        alerts am1 && "$jq" -e "$(seconds_from_now "\"$first_ends\"") < -2" "$tmp/am1.json" >/dev/null
}
if poll 70 past_first_end && alerts am1 && alerts am2; then
        for peer in am1 am2; do
                "$jq" -e "any(.[]; $flip_alert and .status.state == \"active\" and .startsAt == \"$starts\" and
                          .endsAt > \"$first_ends\")" "$tmp/$peer.json" >/dev/null ||
                        errors+=("$peer: the alert is not active with its first startsAt $starts and a later endsAt than $first_ends: $(shown "$peer" "$flip_alert")")
        done
        poll 10 webhook_idle || errors+=("events pending for the peers: $(cat "$tmp/webhooks.json")")
        spooled=$(find "$tmp/state/spool" -name '*.json' | wc -l)
        [[ $spooled == 0 ]] || errors+=("$spooled files in the spool while idle: resends are not to be spooled")
else
        errors+=("the alert's first endsAt $first_ends did not pass within 70 s")
fi
report "resends renew the alert and keep its startsAt, without the spool" ${errors[@]+"${errors[@]}"} -- "$tmp/ctl.err" \
        "$tmp/d.err" "$tmp/http.err"

# --- a peer down: the other goes on, resends are not spooled for it, and it is filled again -----------------

errors=()
stop_pid "${pid[am2]}"
peer2_failed() {
        timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/d.sock" webhooks --json >"$tmp/webhooks.json" 2>>"$tmp/ctl.err" &&
                "$jq" -e '.[] | select(.name == "am") | .peers[1].last_error != null and .peers[0].last_error == null' \
                        "$tmp/webhooks.json" >/dev/null 2>&1
}
if poll 20 peer2_failed; then
        alerts am1 && "$jq" -e "any(.[]; $flip_alert and .status.state == \"active\")" "$tmp/am1.json" >/dev/null ||
                errors+=("am1 lost flip's alert while am2 was down: $(shown am1 "$flip_alert")")
        spooled=$(find "$tmp/state/spool/am#2" -name '*.json' | wc -l)
        [[ $spooled == 0 ]] || errors+=("$spooled files in am2's spool: resends for a peer that is down are not to be spooled")
else
        errors+=("no failed attempt to am2 within 20 s of its stop: $(cat "$tmp/webhooks.json")")
fi
# Back with an empty store: the resends fill it again.
start_am am2
wait_am am2
poll 20 at_both "$flip_alert and .status.state == \"active\"" ||
        errors+=("flip's alert did not reach am2 within 20 s of its return: $(shown am2 "$flip_alert")")
report "a peer that is down delays nothing for the other, and is filled again by the resends" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/d.err" "$tmp/am2.err"

# --- the severity rises across a restart: another alert, the old one resolved at once ----------------------
# Ten days left and CritDays=14 (a restart with the state kept stands in for four days passing). The
# warning alert holds 80 s after its last resend; gone much earlier, it was resolved explicitly.
stop_daemon d
errors=()
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
write_config 14
start_daemon d -c "$tmp/d.conf" --state-directory "$tmp/state"
wait_daemon d
escalated() {
        at_both "$expiring_alert and .labels.severity == \"critical\"" &&
                at_neither "$expiring_alert and .labels.severity == \"warning\""
}
# Bounded at 40 s: expiring is probed within 20 s of the restart, and the warning alert's last resend,
# at most 20 s before it, holds it 80 s.
poll 40 escalated ||
        errors+=("within 40 s of the restart: not one critical and no warning alert of expiring at both peers: am1 $(shown am1 "$expiring_alert") am2 $(shown am2 "$expiring_alert")")
report "a severity that rises is a new alert, and the old one is resolved" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/d.err"

# --- tlswatchctl webhook-test: an "info" alert of its own at both peers, ending by itself --------------------

test_alert='.labels.alertname == "TLSWatchTest" and .labels.target == "tlswatch-test" and .labels.code == "test"'
errors=()
timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/d.sock" webhook-test am >"$tmp/webhook-test.out" 2>>"$tmp/ctl.err" ||
        errors+=("tlswatchctl webhook-test am failed: $(cat "$tmp/ctl.err")")
if poll 20 at_both "$test_alert"; then
        "$jq" -e ".[] | select($test_alert) | .status.state == \"active\" and .labels.severity == \"info\" and
                   ($(seconds_from_now .endsAt) | . > 0 and . <= 310)" "$tmp/am1.json" >/dev/null ||
                errors+=("the test alert is not active, \"info\" and ending within 5 minutes: $(shown am1 "$test_alert")")
else
        errors+=("no TLSWatchTest alert at both peers within 20 s: $(cat "$tmp/am1.json" "$tmp/am2.json" 2>/dev/null)")
fi
report "webhook-test: an info TLSWatchTest alert at both peers" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err"

# --- tlswatchd killed: its alerts resolve by their endsAt alone ----------------------------------------------

errors=()
poll 10 webhook_idle || errors+=("events still pending before the kill: $(cat "$tmp/webhooks.json")")
at_both "$flip_alert and .status.state == \"active\"" || errors+=("flip's alert is not active before the kill")
# (Grouped: bash reports a child killed by a signal on stderr, which is expected here.)
{
        kill -KILL "${pid[d]}"
        wait "${pid[d]}"
} 2>/dev/null
# Held 10 s from the last resend; a week would be the old behaviour. Generous against a slow machine.
poll 45 at_neither "$flip_alert" ||
        errors+=("flip's alert still active 45 s after tlswatchd was killed: am1 $(shown am1 "$flip_alert") am2 $(shown am2 "$flip_alert")")
report "after tlswatchd dies, its alerts resolve within a few intervals" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/d.err"

# --- the renewal, found at the next start, resolves the alert that was firing --------------------------------
# expiring's critical alert still holds (80 s): the saved state says it fires, so the first probe, which
# finds the renewed certificate, resolves it.
stop_pid "${pid[expiring]}"
listen_port=${port[expiring]} start_tls expiring -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
listen_port=${port[expiring]} wait_port expiring
errors=()
at_both "$expiring_alert and .labels.severity == \"critical\"" ||
        errors+=("expiring's critical alert is not active before the restart: $(shown am1 "$expiring_alert")")
start_daemon d -c "$tmp/d.conf" --state-directory "$tmp/state"
wait_daemon d
poll 40 at_neither "$expiring_alert" ||
        errors+=("alerts of expiring still active 40 s after the restart with the renewed certificate: $(shown am1 "$expiring_alert")")
if poll 10 webhook_idle; then
        "$jq" -e '.[] | select(.name == "am") | .dead_letters == 0 and ([.peers[].url] | unique | length == 2)' \
                "$tmp/webhooks.json" >/dev/null ||
                errors+=("Alertmanager refused something: $(cat "$tmp/webhooks.json")")
else
        errors+=("tlswatchctl webhooks --json: events still pending: $(cat "$tmp/webhooks.json" "$tmp/ctl.err")")
fi
stop_daemon d
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
running "${pid[am1]}" && running "${pid[am2]}" || errors+=("an Alertmanager is not running any more")
report "a renewal resolves the firing alert; every POST accepted; clean stop" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/d.err" "$tmp/am1.err"

summary
