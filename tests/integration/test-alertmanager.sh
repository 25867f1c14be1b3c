#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of Format=alertmanager against a real Prometheus Alertmanager on loopback: a target
# that goes critical shows up as an active TLSWatchProblem alert with its labels and annotations, and
# is resolved by the recovery; a reminder keeps the alert's startsAt; and an expires_soon problem whose
# severity rises from warning to critical is still resolved, every alert of it, when the certificate
# is renewed; and `tlswatchctl webhook-test` raises a TLSWatchTest alert that ends by itself. Run by the
# automake harness: 0 pass, 1 fail, 99 broken environment; never skips.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: failures are expected on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

# As in test-daemon.sh: keep events out of a host's journal by hiding its socket.
hide_journal "$@"

unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID STATE_DIRECTORY JOURNAL_STREAM CREDENTIALS_DIRECTORY \
        TLSWATCH_SOCKET

need_programs TLSWATCHD TLSWATCHCTL TCP_PEER

# Debian's prometheus-alertmanager installs /usr/bin/prometheus-alertmanager; upstream calls it alertmanager.
alertmanager=${ALERTMANAGER:-}
if [[ -z $alertmanager ]]; then
        alertmanager=$(command -v prometheus-alertmanager || command -v alertmanager) ||
                hard_error "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"
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

# alerts: Alertmanager's current alerts (resolved ones are not listed) into $tmp/alerts.json.
alerts() {
        http_get "http://127.0.0.1:${port[am]}/api/v2/alerts" "$tmp/alerts.json" 2>>"$tmp/http.err"
}

# alerts_match JQ-CONDITION: some alert satisfies the condition.
alerts_match() {
        alerts && "$jq" -e "any(.[]; $1)" "$tmp/alerts.json" >/dev/null 2>&1
}

alerts_none() {
        alerts && "$jq" -e "any(.[]; $1) | not" "$tmp/alerts.json" >/dev/null 2>&1
}

# webhook_idle: tlswatchd has nothing pending for the webhook am.
webhook_idle() {
        timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/d.sock" webhooks --json >"$tmp/webhooks.json" 2>>"$tmp/ctl.err" &&
                "$jq" -e '.[] | select(.name == "am") | .pending == 0' "$tmp/webhooks.json" >/dev/null 2>&1
}

# --- Alertmanager ----------------------------------------------------------------------------------------

# A free port for Alertmanager, and ports for the targets: tcp-peers that lived a moment.
start_peer am close 1
start_peer flip close 1
start_peer expiring close 1
for name in am flip expiring; do
        wait_peer "$name"
done

mkdir -p "$tmp/am.data"
cat >"$tmp/am.yml" <<EOF
route:
  receiver: discard
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: discard
EOF
"$alertmanager" --config.file="$tmp/am.yml" --storage.path="$tmp/am.data" \
        --web.listen-address="127.0.0.1:${port[am]}" --cluster.listen-address= </dev/null >"$tmp/am.out" \
        2>"$tmp/am.err" &
pid[am]=$!
pids+=("$!")
am_ready() {
        running "${pid[am]}" && http_get "http://127.0.0.1:${port[am]}/-/ready" "$tmp/ready.out" 2>/dev/null
}
if ! poll 30 am_ready; then
        tail -n 20 "$tmp/am.err" >&2
        hard_error "Alertmanager did not become ready on 127.0.0.1:${port[am]} within 30 s"
fi

# --- tlswatchd -------------------------------------------------------------------------------------------

# write_config CRITDAYS: flip on a closed port; expiring on a server whose certificate has 10 days left.
write_config() {
        cat >"$tmp/d.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=1s
RetryInterval=1s
Timeout=1s
ConfirmFailures=1
ControlSocket=$tmp/d.sock

[Target flip]
Address=127.0.0.1:${port[flip]}

[Target expiring]
Address=127.0.0.1:${port[expiring]}
RepeatInterval=2s
WarnDays=30
CritDays=$1

[Webhook am]
URL=http://127.0.0.1:${port[am]}/api/v2/alerts
Format=alertmanager
AllowInsecureHTTP=yes
EOF
}

listen_port=${port[expiring]} start_tls expiring -cert "$pki/soon10.pem" -key "$pki/soon10.key" \
        -cert_chain "$pki/int.pem"
listen_port=${port[expiring]} wait_port expiring
write_config 7
mkdir -p "$tmp/state"
start_daemon d -c "$tmp/d.conf" --state-directory "$tmp/state"
daemon_up() {
        [[ -S $tmp/d.sock ]]
}
if ! poll 15 daemon_up; then
        echo "FAIL - tlswatchd did not start"
        sed 's/^/    /' "$tmp/d.err"
        echo "$passed passed, 1 failed"
        exit 1
fi

# --- a critical problem is an active alert ----------------------------------------------------------------

flip_alert='.labels.alertname == "TLSWatchProblem" and .labels.target == "flip" and .labels.code == "connect_failed"'
errors=()
if poll 20 alerts_match "$flip_alert"; then
        "$jq" -e ".[] | select($flip_alert) | .status.state == \"active\" and .annotations.severity == \"critical\" and
                   .annotations.address == \"127.0.0.1:${port[flip]}\" and (.annotations.summary | length > 0) and
                   (.annotations.monitor | length > 0) and
                   ((.endsAt | sub(\"\\\\.[0-9]+Z$\"; \"Z\") | fromdateiso8601) - now > 6 * 86400) and
                   ((.startsAt | sub(\"\\\\.[0-9]+Z$\"; \"Z\") | fromdateiso8601) - now | fabs < 120)" \
                "$tmp/alerts.json" >/dev/null ||
                errors+=("the alert is not active with severity, address, summary, monitor, startsAt now and endsAt a week ahead: $("$jq" -c ".[] | select($flip_alert)" "$tmp/alerts.json")")
else
        errors+=("no TLSWatchProblem alert for target flip, code connect_failed within 20 s: $(cat "$tmp/alerts.json" 2>/dev/null)")
fi
report "a critical target is an active TLSWatchProblem alert" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err" \
        "$tmp/http.err"

# --- the recovery resolves it ----------------------------------------------------------------------------

listen_port=${port[flip]} start_tls flip -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
listen_port=${port[flip]} wait_port flip
errors=()
poll 20 alerts_none "$flip_alert" ||
        errors+=("the alert of flip is still active 20 s after the server came up: $("$jq" -c ".[] | select($flip_alert)" "$tmp/alerts.json")")
grep -qF '<5>flip: status critical -> ok' "$tmp/d.err" || errors+=("the daemon did not see flip recover")
report "the recovery resolves the alert" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err" "$tmp/http.err"

# --- a warning, and its reminders ---------------------------------------------------------------------------

warning_alert='.labels.target == "expiring" and .labels.code == "expires_soon" and .annotations.severity == "warning"'
expiring_alert='.labels.target == "expiring"'
errors=()
if poll 20 alerts_match "$warning_alert"; then
        starts=$("$jq" -r ".[] | select($warning_alert) | .startsAt" "$tmp/alerts.json")
        # RepeatInterval=2s: reminders (no startsAt) renew the alert; Alertmanager keeps the first start.
        mark=$(grep -c '' "$tmp/d.err")
        reminded() {
                (($(tail -n "+$((mark + 1))" "$tmp/d.err" | grep -c 'expiring: still warning') >= 2))
        }
        if poll 15 reminded && poll 10 webhook_idle && alerts; then
                now_starts=$("$jq" -r ".[] | select($warning_alert) | .startsAt" "$tmp/alerts.json")
                [[ $now_starts == "$starts" ]] ||
                        errors+=("the alert's startsAt moved from $starts to $now_starts with the reminders (a reminder without startsAt makes Alertmanager take its endsAt as the start)")
                n=$("$jq" "[.[] | select($expiring_alert)] | length" "$tmp/alerts.json")
                [[ $n == 1 ]] || errors+=("$n alerts for expiring, expected 1")
        else
                errors+=("no two reminders of expiring delivered within 25 s")
        fi
else
        errors+=("no warning alert expires_soon for expiring within 20 s: $(cat "$tmp/alerts.json" 2>/dev/null)")
fi
report "reminders renew the alert and keep its startsAt" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err"

# --- the severity rises, then the certificate is renewed ---------------------------------------------------
# Ten days left and CritDays=14 (a restart with the state kept stands in for four days passing): the
# same code, now critical. Once the certificate is renewed no alert of it may stay active; a warning
# alert left behind would fire for a week.
stop_daemon d
errors=()
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
write_config 14
start_daemon d -c "$tmp/d.conf" --state-directory "$tmp/state"
reminded_critical() {
        grep -qF '<2>expiring: still critical: expires_soon' "$tmp/d.err"
}
if poll 20 reminded_critical && poll 10 webhook_idle; then
        alerts
        echo "alerts of expiring while critical: $("$jq" -c "[.[] | select($expiring_alert) | .annotations.severity]" \
                "$tmp/alerts.json" 2>/dev/null)"
else
        errors+=("no reminder \"expiring: still critical: expires_soon ...\" delivered within 30 s of the restart")
fi
stop_pid "${pid[expiring]}"
listen_port=${port[expiring]} start_tls expiring -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
listen_port=${port[expiring]} wait_port expiring
renewed() {
        grep -qF '<5>expiring: status critical -> ok' "$tmp/d.err"
}
if poll 20 renewed && poll 10 webhook_idle; then
        poll 5 alerts_none "$expiring_alert" ||
                errors+=("alerts of expiring still active after the renewal: $("$jq" -c "[.[] | select($expiring_alert) | .labels]" "$tmp/alerts.json")")
else
        errors+=("expiring did not recover within 20 s of the renewal")
fi
report "a problem whose severity rose is resolved entirely by the recovery" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/d.err"

# --- tlswatchctl webhook-test: an alert of its own that resolves by itself ---------------------------------

test_alert='.labels.alertname == "TLSWatchTest" and .labels.target == "tlswatch-test" and .labels.code == "test"'
errors=()
timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/d.sock" webhook-test am >"$tmp/webhook-test.out" 2>>"$tmp/ctl.err" ||
        errors+=("tlswatchctl webhook-test am failed: $(cat "$tmp/ctl.err")")
if poll 20 alerts_match "$test_alert"; then
        "$jq" -e ".[] | select($test_alert) | .status.state == \"active\" and
                   ((.endsAt | sub(\"\\\\.[0-9]+Z$\"; \"Z\") | fromdateiso8601) - now | . > 0 and . <= 310)" \
                "$tmp/alerts.json" >/dev/null ||
                errors+=("the test alert is not active or does not end within 5 minutes: $("$jq" -c ".[] | select($test_alert)" "$tmp/alerts.json")")
else
        errors+=("no TLSWatchTest alert within 20 s: $(cat "$tmp/alerts.json" 2>/dev/null)")
fi
report "webhook-test: a TLSWatchTest alert that ends within 5 minutes" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err" \
        "$tmp/http.err"

errors=()
if webhook_idle; then
        "$jq" -e '.[] | select(.name == "am") | .failures_total == 0 and .dead_letters == 0 and .last_error == null' \
                "$tmp/webhooks.json" >/dev/null ||
                errors+=("Alertmanager refused something: $("$jq" -c '.[] | select(.name == "am")' "$tmp/webhooks.json")")
else
        errors+=("tlswatchctl webhooks --json: am still has events pending: $(cat "$tmp/webhooks.json" "$tmp/ctl.err")")
fi
stop_daemon d
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
running "${pid[am]}" || errors+=("Alertmanager is not running any more")
report "every POST accepted by Alertmanager; clean stop" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err" "$tmp/am.err"

summary
