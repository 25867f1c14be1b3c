#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of webhook delivery: tlswatchd against real receivers (webhook-receiver.py, HTTPS
# with the test PKI, one per webhook) while a target flips between a closed port and two s_servers.
# Checks the tlswatch.alert/2 documents, their order and ids, the HMAC signature, the bearer token and
# custom headers; the slack body; retries after 500s, a receiver that is down and comes back, 429 with
# Retry-After, a receiver that hangs past Timeout=, 400 into the dead-letter file, untrusted receiver
# certificates; a daemon killed with SIGKILL whose spool is delivered after the restart with the same
# ids; a spool that cannot be created; `tlswatchctl webhooks`, `webhook-test` and the metrics; and
# --check-config on webhook errors. Everything is on loopback. Run by the automake harness: 0 pass,
# 1 fail, 99 broken environment; never skips.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: failures are expected on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

hide_journal "$@"

forget_service_environment

need_programs TLSWATCHD TLSWATCHCTL TCP_PEER
receiver=$TESTS_SRCDIR/integration/webhook-receiver.py
[[ -f $receiver ]] || hard_error "$receiver not found"

python=${PYTHON:-python3}
need_commands "$openssl" "$jq"
"$python" -c 'import ssl, http.server, hmac' 2>/dev/null || hard_error "$python (with ssl) not found"

make_tmp
make_pki

# --- servers -------------------------------------------------------------------------------------------

# start_receiver NAME PORT [ARGS...]: webhook-receiver.py on PORT (0: any), HTTPS unless ARGS say
# --http; requests in $tmp/NAME.log, behaviour from $tmp/NAME.control.
start_receiver() {
        local name=$1 want=$2
        local -a tls=(--cert "$pki/good-chain.pem" --key "$pki/good.key")

        shift 2
        if [[ ${1:-} == --http ]]; then
                tls=()
                shift
        fi
        rm -f "$tmp/$name.port"
        start_process --append "$name" "$python" "$receiver" --port "$want" --port-file "$tmp/$name.port" \
                --log "$tmp/$name.log" --control "$tmp/$name.control" ${tls[@]+"${tls[@]}"} "$@"
        wait_port "$name"
}

# --- helpers -------------------------------------------------------------------------------------------

# rlog NAME JQ-FILTER: the filter applied to the array of requests NAME's receiver has logged.
rlog() {
        "$jq" -s -c "$2" "$tmp/$1.log" 2>/dev/null
}

# delivered NAME: how many requests NAME's receiver answered with a 2xx.
delivered() {
        local n

        n=$(rlog "$1" '[.[] | select(.status < 300)] | length')
        echo "${n:-0}"
}

# delivered_at_least NAME N
delivered_at_least() {
        (($(delivered "$1") >= $2))
}

# has_event NAME TARGET JQ-CONDITION: NAME's receiver accepted an event of TARGET satisfying the
# condition on the parsed body.
has_event() {
        local n

        n=$(rlog "$1" "[.[] | select(.status < 300) | .body | fromjson? | select(.target == \"$2\") |
                        select($3)] | length")
        ((${n:-0} > 0))
}

# ctl NAME ARGS...: tlswatchctl against NAME's control socket, bounded; output in $tmp/ctl.out and
# $tmp/ctl.err, status in ctl_rc.
ctl() {
        local name=$1

        shift
        timeout -k 5 30 "$TLSWATCHCTL" --socket "$tmp/$name.sock" "$@" >"$tmp/ctl.out" 2>"$tmp/ctl.err"
        ctl_rc=$?
}

# webhook_field DAEMON WEBHOOK JQ-PATH: one member of `tlswatchctl webhooks --json` for WEBHOOK.
webhook_field() {
        ctl "$1" webhooks --json
        "$jq" -c ".[] | select(.name == \"$2\") | $3" "$tmp/ctl.out" 2>/dev/null
}

webhook_field_is() {
        [[ $(webhook_field "$1" "$2" "$3") == "$4" ]]
}

# spool_files DIR: the spooled events in DIR, oldest first.
spool_files() {
        find "$1" -maxdepth 1 -name '*.json' -printf '%f\n' 2>/dev/null | sort
}

spool_count_is() {
        [[ $(spool_files "$1" | grep -c .) == "$2" ]]
}

# --- the world: two TLS servers, closed ports, receivers -------------------------------------------------

start_tls steady -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
# Ports that were just free and now have nothing listening: flip gets servers later, closed never.
start_peer flip close 1
start_peer closed close 1
for name in steady flip closed; do
        wait_port "$name"
done
good_sha256=$(fingerprint good)
ec_sha256=$(fingerprint ec)

printf 'hmac-secret-of-the-test\n' >"$tmp/secret"
# 4 KiB, as OAuth and JWT tokens can be: every byte must arrive, not the first 511.
bearer_token="bearer-token-of-the-test-$(printf 'J%.0s' {1..4071})"
# A Header= line as long as a configuration line may be, near 4 KiB.
long_header_value=$(printf 'H%.0s' {1..3900})
printf '%s\n' "$bearer_token" >"$tmp/token"
chmod 0600 "$tmp/secret" "$tmp/token"

# One receiver per webhook, so each log tells one story.
start_receiver main 0 --secret-file "$tmp/secret"
echo "500*5 ok" >"$tmp/flaky.control"
start_receiver flaky 0
echo "429:2 ok" >"$tmp/busy.control"
start_receiver busy 0
echo "hang:12 ok" >"$tmp/slow.control"
start_receiver slow 0
echo "400" >"$tmp/reject.control"
start_receiver reject 0
start_receiver chat 0
start_receiver untrusted 0
start_receiver probetest 0 --http
start_receiver mem 0
# Receivers that are down at first: started once to learn a free port, then stopped.
for name in outage killed; do
        start_receiver "$name" 0
        stop_pid "${pid[$name]}"
done

# --- --check-config ------------------------------------------------------------------------------------

mkdir -p "$tmp/plain.d"
cat >"$tmp/plain.d/tlswatch.conf" <<EOF
[Target steady]
Address=$(at steady)
CAFile=$pki/root.pem

[Webhook plain]
URL=http://127.0.0.1:${port[probetest]}/hook
AllowInsecureHTTP=no
EOF
timeout -k 5 30 "$TLSWATCHD" -c "$tmp/plain.d/tlswatch.conf" --check-config >"$tmp/plain.out" 2>"$tmp/plain.err"
rc=$?
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qE "$tmp/plain.d/tlswatch.conf:[0-9]+: \[Webhook plain\]: .*http.*AllowInsecureHTTP=yes" "$tmp/plain.err" ||
        errors+=("stderr does not name file:line, [Webhook plain] and AllowInsecureHTTP=yes")
sed -i 's/^AllowInsecureHTTP=no$/AllowInsecureHTTP=yes/' "$tmp/plain.d/tlswatch.conf"
timeout -k 5 30 "$TLSWATCHD" -c "$tmp/plain.d/tlswatch.conf" --check-config >"$tmp/plain-ok.out" \
        2>"$tmp/plain-ok.err"
rc=$?
[[ $rc == 0 ]] || errors+=("with AllowInsecureHTTP=yes: exit code $(describe_rc "$rc"), expected 0")
report "--check-config: an http:// URL needs AllowInsecureHTTP=yes" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/plain.err" "$tmp/plain-ok.err"

cat >"$tmp/plain.d/tlswatch.conf" <<EOF
[Target steady]
Address=$(at steady)

[Webhook nosecret]
URL=https://127.0.0.1:${port[main]}/hook
SecretFile=$tmp/missing-secret
EOF
timeout -k 5 30 "$TLSWATCHD" -c "$tmp/plain.d/tlswatch.conf" --check-config >"$tmp/nosecret.out" \
        2>"$tmp/nosecret.err"
rc=$?
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
grep -qF "[Webhook nosecret]: SecretFile=$tmp/missing-secret: No such file or directory" "$tmp/nosecret.err" ||
        errors+=("stderr does not say \"[Webhook nosecret]: SecretFile=$tmp/missing-secret: No such file or directory\"")
report "--check-config: an unreadable SecretFile= is an error" ${errors[@]+"${errors[@]}"} -- "$tmp/nosecret.err"

# A bearer token over 16 KiB is refused when the configuration is read, naming the line.
printf '%s\n' "$(printf 'T%.0s' {1..16400})" >"$tmp/huge-token"
cat >"$tmp/plain.d/tlswatch.conf" <<EOF
[Target steady]
Address=$(at steady)

[Webhook hugetoken]
URL=https://127.0.0.1:${port[main]}/hook
BearerTokenFile=$tmp/huge-token
EOF
timeout -k 5 30 "$TLSWATCHD" -c "$tmp/plain.d/tlswatch.conf" --check-config >"$tmp/hugetoken.out" \
        2>"$tmp/hugetoken.err"
rc=$?
errors=()
[[ $rc == 3 ]] || errors+=("exit code $(describe_rc "$rc"), expected 3")
want="$tmp/plain.d/tlswatch.conf:4: [Webhook hugetoken]: BearerTokenFile=$tmp/huge-token: larger than 16 KiB"
grep -qF "$want" "$tmp/hugetoken.err" || errors+=("stderr does not say \"$want\"")
report "--check-config: a BearerTokenFile= over 16 KiB is an error naming its line" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/hugetoken.err"

# --- the daemons -----------------------------------------------------------------------------------------

# d1: every delivery behaviour, one webhook each; the target flip goes closed -> good -> closed -> ec.
hook() {
        echo "https://127.0.0.1:${port[$1]}/hooks/$1"
}
mkdir -p "$tmp/d1.d" "$tmp/d1.state"
cat >"$tmp/d1.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
# Deadlines generous against a loaded machine: a steady target's probe that timed out would be an
# event no check expects. Closed ports are refused at once, whatever the deadline.
Interval=3s
RetryInterval=1s
Timeout=3s
ConfirmFailures=1
ControlSocket=$tmp/d1.sock

[Target flip]
Address=$(at flip)

[Target steady]
Address=$(at steady)

[Webhook main]
URL=$(hook main)
CAFile=$pki/root.pem
SecretFile=$tmp/secret
BearerTokenFile=$tmp/token
Header=X-Test-One: first value
Header=X-Test-Two: second
Header=X-Test-Long: $long_header_value

[Webhook flaky]
URL=$(hook flaky)
CAFile=$pki/root.pem

[Webhook outage]
URL=$(hook outage)
CAFile=$pki/root.pem

[Webhook busy]
URL=$(hook busy)
CAFile=$pki/root.pem
Targets=steady

[Webhook slow]
URL=$(hook slow)
CAFile=$pki/root.pem
Targets=steady
Timeout=4s

[Webhook reject]
URL=$(hook reject)
CAFile=$pki/root.pem
Targets=steady
Events=recovery

[Webhook chat]
URL=$(hook chat)
CAFile=$pki/root.pem
Format=slack
Targets=no-such-*
Targets=st?ad[xy]

[Webhook untrusted]
URL=$(hook untrusted)
CAFile=$pki/otherroot.pem
Targets=steady

[Webhook untrusted-system]
URL=$(hook untrusted)
Targets=steady

[Webhook probe-test]
URL=http://127.0.0.1:${port[probetest]}/hooks/probetest
AllowInsecureHTTP=yes
Targets=nothing-matches
EOF

# d2: a receiver that is down, then SIGKILL: the spool survives and is delivered after the restart.
mkdir -p "$tmp/d2.d" "$tmp/d2.state"
cat >"$tmp/d2.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=3s
RetryInterval=1s
Timeout=3s
ConfirmFailures=1
ControlSocket=$tmp/d2.sock

[Target k-steady]
Address=$(at steady)

[Target k-closed]
Address=$(at closed)

[Webhook spooled]
URL=$(hook killed)
CAFile=$pki/root.pem
EOF

# d3: the spool cannot be created (a file is where its directory would be): events live in memory.
mkdir -p "$tmp/d3.d" "$tmp/d3.state"
: >"$tmp/d3.state/spool"
cat >"$tmp/d3.d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=3s
Timeout=3s
ControlSocket=$tmp/d3.sock

[Target m-steady]
Address=$(at steady)

[Webhook mem]
URL=$(hook mem)
CAFile=$pki/root.pem
EOF

wait "${pid[flip]}" "${pid[closed]}" 2>/dev/null
started=$SECONDS
start_daemon d1 -c "$tmp/d1.d/tlswatch.conf" --state-directory "$tmp/d1.state"
start_daemon d2 -c "$tmp/d2.d/tlswatch.conf" --state-directory "$tmp/d2.state"
start_daemon d3 -c "$tmp/d3.d/tlswatch.conf" --state-directory "$tmp/d3.state"
for name in d1 d2 d3; do
        wait_daemon "$name"
done

# --- d1, phase 1: flip is closed ---------------------------------------------------------------------------

errors=()
poll 40 has_event main flip '.event == "status_changed" and .status == "critical"' ||
        errors+=("no status_changed of flip to critical at main within 40 s")
poll 30 has_event main steady '.event == "status_changed" and .status == "ok"' ||
        errors+=("no status_changed of steady to ok at main within 30 s")
report "phase 1: a closed port is announced (problem, status_change)" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/main.log" "$tmp/d1.err"

# --- d2: SIGKILL with three events in the spool ---------------------------------------------------------

spool2=$tmp/d2.state/spool/spooled
spooled_ids=()
errors=()
if poll 40 spool_count_is "$spool2" 3; then
        # Give a fourth event (there should be none) a moment, then kill without warning.
        sleep 0.5
        kill -KILL "${pid[d2]}"
        wait "${pid[d2]}" 2>/dev/null
        mapfile -t spooled < <(spool_files "$spool2")
        spooled_ids=()
        for f in "${spooled[@]}"; do
                [[ $f =~ ^[0-9]{20}\.json$ ]] || errors+=("spool file name \"$f\" is not 20 digits and .json")
                id=$("$jq" -r 'select(.schema == "tlswatch.alert/2") | .id' "$spool2/$f" 2>/dev/null)
                [[ $id =~ ^[0-9a-f]{32}$ ]] || errors+=("$f does not hold a tlswatch.alert/2 event with an id")
                spooled_ids+=("$id")
                mode=$(stat -c %a "$spool2/$f")
                [[ $mode == 600 ]] || errors+=("$f has mode $mode, expected 600")
        done
        ((${#spooled[@]} == 3)) || errors+=("${#spooled[@]} spool files after SIGKILL, expected 3")
        n=$(find "$spool2" -name '*.tmp' | grep -c .)
        ((n == 0)) || errors+=("$n temporary files left in the spool")
        [[ ! -s $tmp/killed.log ]] || errors+=("the receiver that was down has a log")
else
        errors+=("the spool never held exactly 3 events (it has: $(spool_files "$spool2" | tr '\n' ' '))")
fi
report "SIGKILL: pending events are in the spool, one file each" ${errors[@]+"${errors[@]}"} -- "$tmp/d2.err"

# RetryMax= counts from the first attempt, across the restart: the head event's first attempt is
# recorded beside it, and the restarted daemon reports it as older than the time it was down.
errors=()
head_file=$(spool_files "$spool2" | head -n 1)
[[ -n $head_file && -f $spool2/$head_file.first-attempt ]] ||
        errors+=("no $head_file.first-attempt beside the head event")
sleep 2
rm -f "$tmp/d2.sock"
start_daemon d2 -c "$tmp/d2.d/tlswatch.conf" --state-directory "$tmp/d2.state"
wait_daemon d2
ctl d2 webhooks --json
age=$("$jq" -r '.[] | select(.name == "spooled") | .oldest_pending_seconds // 0' "$tmp/ctl.out" 2>/dev/null)
[[ $age =~ ^[0-9.]+$ ]] && "$jq" -ne "$age >= 2" >/dev/null ||
        errors+=("oldest_pending_seconds after the restart is \"$age\", expected 2 or more (the downtime)")
report "SIGKILL, restart: the first attempt is remembered, so RetryMax= counts from it" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/d2.err"
start_receiver killed "${port[killed]}"

# --- d1, phase 2: a good server on flip's port -------------------------------------------------------------

listen_port=${port[flip]} start_tls flip -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
listen_port=${port[flip]} wait_port flip
errors=()
poll 40 has_event main flip '.event == "status_changed" and .status == "ok"' ||
        errors+=("no status_changed of flip to ok at main within 40 s")
report "phase 2: the good server is announced (recovery, status_change)" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/main.log" "$tmp/d1.err"

# The receiver that was down comes back.
outage_up=$(date +%s.%N)
start_receiver outage "${port[outage]}"

# --- d1, phase 3: flip closed again ----------------------------------------------------------------------

stop_pid "${pid[flip]}"
errors=()
poll 40 has_event main flip '.event == "status_changed" and .old_status == "ok" and .status == "critical"' ||
        errors+=("no status_changed of flip from ok to critical at main within 40 s")
report "phase 3: closed again" ${errors[@]+"${errors[@]}"} -- "$tmp/main.log" "$tmp/d1.err"

# --- d1, phase 4: another certificate on flip's port -----------------------------------------------------

listen_port=${port[flip]} start_tls flip -cert "$pki/ec.pem" -key "$pki/ec.key" -cert_chain "$pki/int.pem"
listen_port=${port[flip]} wait_port flip
errors=()
poll 40 has_event main flip '.event == "status_changed" and .old_status == "critical" and .status == "ok" and
                             .sha256 == "'"$ec_sha256"'"' ||
        errors+=("no status_changed of flip back to ok with the ec certificate at main within 40 s")
report "phase 4: a new certificate is announced" ${errors[@]+"${errors[@]}"} -- "$tmp/main.log" "$tmp/d1.err"

# --- d3: no spool ----------------------------------------------------------------------------------------

errors=()
grep -qE "webhook mem: cannot create the spool $tmp/d3.state/spool/mem: .*; events are kept in memory only" \
        "$tmp/d3.err" ||
        errors+=("stderr does not say \"webhook mem: cannot create the spool $tmp/d3.state/spool/mem: ...; events are kept in memory only\"")
poll 30 has_event mem m-steady '.event == "status_changed" and .status == "ok"' ||
        errors+=("the status_changed of m-steady was not delivered from memory within 30 s")
probes_of_m_steady() {
        ctl d3 status --json
        "$jq" -r '.[] | select(.name == "m-steady") | .probes' "$tmp/ctl.out" 2>/dev/null
}
p1=$(probes_of_m_steady)
more_probes() {
        local p

        p=$(probes_of_m_steady)
        [[ -n $p && -n $p1 ]] && ((p >= p1 + 2))
}
poll 30 more_probes || errors+=("m-steady was not probed twice more within 30 s (probes: ${p1:-?} -> $(probes_of_m_steady))")
running "${pid[d3]}" || errors+=("the daemon is not running")
[[ -f $tmp/d3.state/spool ]] || errors+=("$tmp/d3.state/spool is no longer the file the test made")
report "spool cannot be created: error on stderr, events delivered from memory, probing goes on" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/d3.err" "$tmp/mem.log"
stop_daemon d3
[[ $daemon_rc == 0 ]] || report "d3 stops cleanly" "exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0" -- "$tmp/d3.err"

# --- d2: after the restart ---------------------------------------------------------------------------------

errors=()
if ((${#spooled_ids[@]} == 3)) && poll 40 delivered_at_least killed 3; then
        mapfile -t got < <(rlog killed '.[] | select(.status < 300) | .headers["x-tlswatch-event-id"]' | tr -d '"')
        [[ "${got[*]:0:3}" == "${spooled_ids[*]}" ]] ||
                errors+=("first deliveries after the restart: ${got[*]:0:3}; spooled, in order: ${spooled_ids[*]}")
        for i in 0 1 2; do
                n=$(rlog killed "[.[] | select(.headers[\"x-tlswatch-event-id\"] == \"${spooled_ids[i]}\")] | length")
                [[ $n == 1 ]] || errors+=("event ${spooled_ids[i]} was received $n times, expected once")
                body_id=$(rlog killed "[.[] | select(.headers[\"x-tlswatch-event-id\"] == \"${spooled_ids[i]}\") |
                                         .body | fromjson | .id][0]" | tr -d '"')
                [[ $body_id == "${spooled_ids[i]}" ]] || errors+=("the body of ${spooled_ids[i]} has id $body_id")
        done
        poll 15 spool_count_is "$spool2" 0 || errors+=("the spool still holds: $(spool_files "$spool2" | tr '\n' ' ')")
else
        errors+=("fewer than 3 deliveries after the restart within 40 s")
fi
report "SIGKILL, restart: the spooled events are delivered once, in order, with their ids" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/killed.log" "$tmp/d2.err"
stop_daemon d2
[[ $daemon_rc == 0 ]] || report "d2 stops cleanly" "exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0" -- "$tmp/d2.err"

# --- d1: the main receiver's story ------------------------------------------------------------------------

# What main accepted, in order. Killing flip's server may, rarely, catch a probe mid-handshake and
# announce another code before connect_failed: such a pair (problem, recovery of that code) is
# allowed, and left out of the exact comparison.
errors=()
main_ok='[.[] | select(.status < 300)]'
flip_events="[${main_ok}[] | .body | fromjson | select(.target == \"flip\")]"
expected_total=$(rlog main "$main_ok | length")
n=$(rlog main "$main_ok | map(select(.body | fromjson | .target == \"steady\")) | length")
[[ $n == 1 ]] || errors+=("main accepted $n events of steady, expected 1")
n=$(rlog main '[.[] | select(.status >= 300)] | length')
[[ $n == 0 ]] || errors+=("main answered $n requests with an error, expected none")
changes=$(rlog main "[${flip_events}[] | select(.event == \"status_changed\") | \"\(.old_status)>\(.status)\"] |
                     join(\" \")" | tr -d '"')
[[ $changes == "unknown>critical critical>ok ok>critical critical>ok" ]] ||
        errors+=("flip's status changes: $changes; expected unknown>critical critical>ok ok>critical critical>ok")
types=$(rlog main "[${flip_events}[] | select((.event == \"problem\" or .event == \"recovery\") and
                                           .problem.code != \"connect_failed\" | not) | .event] | join(\" \")" |
        tr -d '"')
want="problem status_changed recovery status_changed problem status_changed certificate_changed recovery status_changed"
[[ $types == "$want" ]] || errors+=("flip's events: $types; expected $want")
# Per code, problems and recoveries alternate, starting with a problem, ending recovered.
v=$(rlog main "$flip_events | map(select(.event == \"problem\" or .event == \"recovery\")) | group_by(.problem.code) |
               map([.[].event] | . as \$e | (length % 2 == 0) and
                   all(range(length); \$e[.] == (if . % 2 == 0 then \"problem\" else \"recovery\" end))) | all")
[[ $v == true ]] || errors+=("flip's problems and recoveries do not pair up per code: $(rlog main "$flip_events |
        map(select(.problem) | \"\(.event):\(.problem.code)\")")")
n=$(rlog main "$main_ok | map(.headers[\"x-tlswatch-event-id\"]) | (length - (unique | length))")
[[ $n == 0 ]] || errors+=("$n duplicate event ids at main, which never failed a request")
report "main: every event of flip and steady, in order, each once" ${errors[@]+"${errors[@]}"} -- "$tmp/main.log"

# Headers and signature on every request.
errors=()
n=$(rlog main 'length')
((${n:-0} > 0)) || errors+=("main logged no request")
bad=$(rlog main '[.[] | select(.signature_ok != true)] | length')
[[ $bad == 0 ]] || errors+=("$bad requests without a valid X-Tlswatch-Signature")
bad=$(rlog main '[.[] | select(.headers.authorization != "Bearer '"$bearer_token"'")] | length')
[[ $bad == 0 ]] || errors+=("$bad requests without \"Authorization: Bearer\" and the whole 4 KiB token:" \
                            "$(rlog main '.[0].headers.authorization | length') characters in the first")
bad=$(rlog main '[.[] | select(.headers["x-test-long"] != "'"$long_header_value"'")] | length')
[[ $bad == 0 ]] || errors+=("$bad requests without the whole 3900-byte Header=X-Test-Long:" \
                            "$(rlog main '.[0].headers["x-test-long"] | length') characters in the first")
bad=$(rlog main '[.[] | select(.headers["x-test-one"] != "first value" or .headers["x-test-two"] != "second")] |
                 length')
[[ $bad == 0 ]] || errors+=("$bad requests without the Header= lines X-Test-One and X-Test-Two")
bad=$(rlog main '[.[] | select(.method != "POST" or .path != "/hooks/main" or
                             (.headers["content-type"] | startswith("application/json") | not))] | length')
[[ $bad == 0 ]] || errors+=("$bad requests that are not POST /hooks/main with Content-Type application/json")
bad=$(rlog main '[.[] | (.body | fromjson) as $b | select(.headers["x-tlswatch-event"] != $b.event or
                             .headers["x-tlswatch-event-id"] != $b.id)] | length')
[[ $bad == 0 ]] || errors+=("$bad requests whose X-Tlswatch-Event or -Event-Id differ from the body")
bad=$(rlog main '[.[] | select((.headers["x-tlswatch-timestamp"] | tonumber? // 0) - .time | fabs > 60)] | length')
[[ $bad == 0 ]] || errors+=("$bad requests whose X-Tlswatch-Timestamp is not the time of sending")
report "main: signature, 4 KiB bearer token, custom headers (one of 3.9 KiB), event headers" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/main.log"

# The schema's members.
errors=()
common='.schema == "tlswatch.alert/2" and (.id | test("^[0-9a-f]{32}$")) and
        (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")) and (.time_unix | todate) == .time and
        (.protocol == "tls") and (.monitor | type == "string" and length > 0) and (.problems | type == "array") and
        (.old_status | IN("ok", "warning", "critical", "unknown")) and
        (.status | IN("ok", "warning", "critical", "unknown"))'
bad=$(rlog main "[${main_ok}[] | .body | fromjson | select(($common) | not) | .id]")
[[ $bad == "[]" ]] || errors+=("events lacking a common member or with a wrong type: $bad")
bad=$(rlog main "[${main_ok}[] | .body | fromjson | select(.target == \"flip\") |
                 select(.address != \"$(at flip)\") | .address]")
[[ $bad == "[]" ]] || errors+=("flip's events with another address than $(at flip): $bad")
bad=$(rlog main "[${main_ok}[] | .body | fromjson | select(.event == \"problem\") |
                 select(.problem.code as \$c | (.problem | (\$c | type == \"string\") and
                         .severity == \"critical\" and (.message | length > 0)) and .status == \"critical\" and
                         any(.problems[]; .code == \$c and .severity == \"critical\" and (.message | length > 0)) |
                         not) | .id]")
[[ $bad == "[]" ]] || errors+=("problem events without problem{code,severity,message} or in problems[]: $bad")
bad=$(rlog main "[${main_ok}[] | .body | fromjson | select(.event == \"recovery\") |
                 select(.problem.code as \$c | (\$c | type == \"string\") and
                        (any(.problems[]; .code == \$c) | not) | not) | .id]")
[[ $bad == "[]" ]] || errors+=("recovery events without the cleared problem, or with it still in problems[]: $bad")
cert_ok="(.sha256 | test(\"^[0-9a-f]{64}$\")) and (.not_after | type == \"string\") and
         (.not_after_unix | todate) == .not_after and
         (.subject | type == \"string\") and (.issuer | type == \"string\") and (.days_left | type == \"number\")"
rlog main "${main_ok}[] | .body | fromjson | select(.target == \"steady\")" >"$tmp/steady.json"
"$jq" -e -s "length == 1 and (.[0] | .event == \"status_changed\" and .old_status == \"unknown\" and
             .status == \"ok\" and .sha256 == \"$good_sha256\" and $cert_ok and (has(\"problem\") | not))" \
        "$tmp/steady.json" >/dev/null ||
        errors+=("steady's one event is not status_change unknown -> ok with the certificate's members: $(cat "$tmp/steady.json")")
rlog main "${main_ok}[] | .body | fromjson | select(.event == \"certificate_changed\")" >"$tmp/certchange.json"
"$jq" -e -s "length == 1 and (.[0] | .target == \"flip\" and .old_sha256 == \"$good_sha256\" and
             .sha256 == \"$ec_sha256\" and $cert_ok)" "$tmp/certchange.json" >/dev/null ||
        errors+=("no certificate_change of flip from good ($good_sha256) to ec ($ec_sha256): $(cat "$tmp/certchange.json")")
report "main: the tlswatch.alert/2 members of each event type" ${errors[@]+"${errors[@]}"} -- "$tmp/main.log"

mapfile -t main_ids < <(rlog main "${main_ok}[] | .headers[\"x-tlswatch-event-id\"]" | tr -d '"')

# flaky: 500 five times, then 200; everything delivered in main's order; the retries carry the same id.
errors=()
if poll 40 delivered_at_least flaky "$expected_total"; then
        mapfile -t got < <(rlog flaky '.[] | select(.status < 300) | .headers["x-tlswatch-event-id"]' | tr -d '"')
        [[ "${got[*]}" == "${main_ids[*]}" ]] || errors+=("order at flaky: ${got[*]}; at main: ${main_ids[*]}")
        counts=$(rlog flaky 'group_by(.headers["x-tlswatch-event-id"]) | map(length) | sort | reverse | map(tostring) |
                             join(" ")' | tr -d '"')
        want=$(printf '6'; for ((i = 1; i < expected_total; i++)); do printf ' 1'; done)
        [[ $counts == "$want" ]] ||
                errors+=("requests per event id: $counts; expected 6 for the first (5 failures) and 1 for the rest")
        statuses=$(rlog flaky '[.[] | .status | tostring] | join(" ")' | tr -d '"')
        want="500 500 500 500 500$(for ((i = 0; i < expected_total; i++)); do printf ' 200'; done)"
        [[ $statuses == "$want" ]] ||
                errors+=("statuses at flaky: $statuses")
        first=$(rlog flaky '.[0].headers["x-tlswatch-event-id"]' | tr -d '"')
        [[ $first == "${main_ids[0]}" ]] || errors+=("the first event retried is $first, not ${main_ids[0]}")
else
        errors+=("flaky accepted $(delivered flaky) of $expected_total events within 40 s")
fi
v=$(webhook_field d1 flaky .failures_total)
[[ $v == 5 ]] || errors+=("tlswatchctl webhooks --json: failures_total of flaky is ${v:-missing}, expected 5")
v=$(webhook_field d1 flaky '[.pending, .dead_letters, .last_error]')
[[ $v == '[0,0,null]' ]] || errors+=("flaky's pending, dead_letters, last_error: $v, expected [0,0,null]")
ctl d1 metrics
grep -qxF 'tlswatch_webhook_failures_total{webhook="flaky"} 5' "$tmp/ctl.out" ||
        errors+=("metrics lack tlswatch_webhook_failures_total{webhook=\"flaky\"} 5: $(grep 'webhook="flaky"' "$tmp/ctl.out" | tr '\n' ' ')")
grep -qxF 'tlswatch_webhook_pending{webhook="flaky"} 0' "$tmp/ctl.out" ||
        errors+=("metrics lack tlswatch_webhook_pending{webhook=\"flaky\"} 0")
report "500 five times, then 200: delivered in order, 5 failures counted" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/flaky.log" "$tmp/d1.err"

# outage: nothing was received while it was down; after it came back, everything, in order, once each.
errors=()
if poll 40 delivered_at_least outage "$expected_total"; then
        mapfile -t got < <(rlog outage '.[] | select(.status < 300) | .headers["x-tlswatch-event-id"]' | tr -d '"')
        [[ "${got[*]}" == "${main_ids[*]}" ]] || errors+=("order at outage: ${got[*]}; at main: ${main_ids[*]}")
        n=$(rlog outage "length")
        [[ $n == "$expected_total" ]] || errors+=("outage got $n requests for $expected_total events")
        early=$(rlog outage "[.[] | select(.time < $outage_up)] | length")
        [[ $early == 0 ]] || errors+=("$early requests logged before the receiver was started")
else
        errors+=("outage accepted $(delivered outage) of $expected_total events within 40 s of coming back")
fi
v=$(webhook_field d1 outage '.failures_total > 0 and .pending == 0 and .last_error == null and
                               (.last_success_unix | type == "number") and (.last_success_unix | todate) == .last_success')
[[ $v == true ]] || errors+=("tlswatchctl webhooks --json for outage: $(webhook_field d1 outage .)")
report "receiver down, then up: the events arrive afterwards, in order, once each" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/outage.log" "$tmp/d1.err"

# busy: 429 with Retry-After: 2; the next attempt is not sooner.
errors=()
if poll 40 delivered_at_least busy 1; then
        v=$(rlog busy '[.[] | [.status, .headers["x-tlswatch-event-id"]]] | (length == 2 and .[0][0] == 429 and
                        .[1][0] == 200 and .[0][1] == .[1][1])')
        [[ $v == true ]] || errors+=("expected 429 then 200 for one event id: $(rlog busy '[.[] | [.status, .headers["x-tlswatch-event-id"]]]')")
        gap=$(rlog busy '.[1].time - .[0].time')
        "$jq" -e -n "$gap >= 1.8" >/dev/null ||
                errors+=("the attempt after \"429, Retry-After: 2\" came after ${gap} s, expected 2 s or more")
else
        errors+=("busy accepted nothing within 40 s")
fi
report "429 with Retry-After: 2: the next attempt waits" ${errors[@]+"${errors[@]}"} -- "$tmp/busy.log"

# slow: the receiver hangs (12 s) past Timeout=4s; the attempt fails and the retry is delivered.
errors=()
if poll 40 delivered_at_least slow 1; then
        v=$(rlog slow '[.[] | [.behaviour, .headers["x-tlswatch-event-id"]]] | (.[0][0] == "hang:12" and
                        .[-1][0] == "ok" and (map(.[1]) | unique | length) == 1)')
        [[ $v == true ]] || errors+=("expected a hang then 200 for one event id: $(rlog slow '[.[] | .behaviour]')")
        v=$(webhook_field d1 slow '.failures_total')
        [[ $v == 1 ]] || errors+=("failures_total of slow is $v, expected 1 (one timeout)")
else
        errors+=("slow accepted nothing within 40 s")
fi
grep -qE "webhook slow: delivery failed \(.*([Tt]imeout|timed out).*\), will retry" "$tmp/d1.err" ||
        errors+=("no \"webhook slow: delivery failed (...timeout...), will retry\" on stderr")
report "a receiver slower than Timeout=4s: the attempt fails, the retry succeeds" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/slow.log" "$tmp/d1.err"

# reject: 400 is final; the event goes to the dead-letter file.
errors=()
dead=$tmp/d1.state/spool/reject.dead
poll 30 test -s "$dead" || errors+=("no $dead within 30 s")
n=$(rlog reject 'length')
[[ $n == 1 ]] || errors+=("reject got $n requests, expected 1 (a 400 is not retried)")
id=$(rlog reject '.[0].headers["x-tlswatch-event-id"]' | tr -d '"')
if [[ -s $dead ]]; then
        "$jq" -e -s "length == 1 and (.[0] | .webhook == \"reject\" and .attempts == 1 and
                     (.error | test(\"400\")) and .event.id == \"$id\" and .event.schema == \"tlswatch.alert/2\" and
                     .event.target == \"steady\")" "$dead" >/dev/null ||
                errors+=("$dead is not one line {webhook: reject, attempts: 1, error: ...400..., event: $id}: $(cat "$dead")")
fi
n=$(spool_files "$tmp/d1.state/spool/reject" | grep -c .)
[[ $n == 0 ]] || errors+=("the rejected event is still in the spool")
grep -qF "webhook reject: giving up on event $id after 1 attempts: HTTP 400" "$tmp/d1.err" ||
        errors+=("stderr lacks \"webhook reject: giving up on event $id after 1 attempts: HTTP 400...\"")
v=$(webhook_field d1 reject '[.dead_letters, .pending]')
[[ $v == '[1,0]' ]] || errors+=("tlswatchctl webhooks --json: reject's dead_letters, pending are $v, expected [1,0]")
ctl d1 webhooks
[[ $ctl_rc == 1 ]] || errors+=("tlswatchctl webhooks exits $(describe_rc "$ctl_rc") with a dead letter, expected 1")
grep -qE '^reject +0 +1 +1  HTTP 400' "$tmp/ctl.out" ||
        errors+=("tlswatchctl webhooks has no row \"reject 0 1 1  HTTP 400...\": $(grep '^reject' "$tmp/ctl.out")")
report "400: one attempt, then the dead-letter file; tlswatchctl webhooks exits 1" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/reject.log" "$tmp/ctl.out" "$tmp/d1.err"

# chat: Format=slack, Targets= globs: steady's one event, as {"text": ...}.
errors=()
poll 30 delivered_at_least chat 1 || errors+=("chat accepted nothing within 30 s")
v=$(rlog chat '[.[] | .body | fromjson | keys] | unique')
[[ $v == '[["text"]]' ]] || errors+=("slack bodies have the members $v, expected only text")
text=$(rlog chat '.[0].body | fromjson | .text')
[[ $text == "\":white_check_mark: *steady* ($(at steady)) is now ok (was unknown)\"" ]] ||
        errors+=("slack text: $text")
n=$(rlog chat 'length')
[[ $n == 1 ]] || errors+=("chat got $n requests, expected 1 (Targets= matches only steady)")
v=$(rlog chat '.[0].headers["x-tlswatch-event"]')
[[ $v == '"status_changed"' ]] || errors+=("X-Tlswatch-Event of the slack request: $v")
report "Format=slack: {\"text\": ...}; Targets= globs" ${errors[@]+"${errors[@]}"} -- "$tmp/chat.log"

# untrusted: a receiver certificate from the wrong CA, or none the system trusts: never delivered.
errors=()
grep -q 'TLSV1_ALERT_UNKNOWN_CA\|unknown ca' "$tmp/untrusted.err" ||
        errors+=("the untrusted receiver saw no handshake ended for an unknown CA")
n=$(rlog untrusted 'length')
[[ ${n:-0} == 0 ]] || errors+=("the untrusted receiver logged $n requests")
for name in untrusted untrusted-system; do
        v=$(webhook_field d1 "$name" '[.pending, .last_success, (.failures_total > 0), .last_error]')
        "$jq" -e '.[0] == 1 and .[1] == null and .[2] and (.[3] | test("certificate"; "i"))' <<<"$v" >/dev/null ||
                errors+=("$name: pending, last_success, failures, last_error are $v; expected 1, null, true and a certificate error")
done
grep -qiE 'webhook untrusted: delivery failed \(.*certificate.*\), will retry' "$tmp/d1.err" ||
        errors+=("no \"webhook untrusted: delivery failed (...certificate...), will retry\" on stderr")
report "an untrusted receiver certificate: never delivered, last_error names the certificate" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/untrusted.err" "$tmp/d1.err"

# webhook-test: one event of type test, through a plain-http webhook that matches no target.
errors=()
ctl d1 webhook-test probe-test
[[ $ctl_rc == 0 ]] || errors+=("tlswatchctl webhook-test probe-test exits $(describe_rc "$ctl_rc")")
grep -qxF "queued a test event for probe-test" "$tmp/ctl.out" || errors+=("stdout: $(cat "$tmp/ctl.out")")
if poll 30 delivered_at_least probetest 1; then
        v=$(rlog probetest 'length == 1 and (.[0] | (.body | fromjson) as $b | $b.event == "test" and
                            $b.schema == "tlswatch.alert/2" and ($b.id | test("^[0-9a-f]{32}$")) and
                            .headers["x-tlswatch-event"] == "test" and .headers["x-tlswatch-event-id"] == $b.id)')
        [[ $v == true ]] || errors+=("not one tlswatch.alert/2 event of type test: $(rlog probetest '.[0].body')")
else
        errors+=("the test event did not arrive within 30 s")
fi
ctl d1 webhook-test no-such-webhook
[[ $ctl_rc != 0 ]] || errors+=("webhook-test of an unknown webhook exits 0")
grep -qF 'no webhook "no-such-webhook"' "$tmp/ctl.err" || errors+=("stderr: $(cat "$tmp/ctl.err")")
report "tlswatchctl webhook-test NAME delivers an event of type test" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/probetest.log" "$tmp/ctl.err"

# tlswatchctl webhooks --json: every webhook, its format, and no secret.
errors=()
ctl d1 webhooks --json
names=$("$jq" -r '[.[] | .name] | join(" ")' "$tmp/ctl.out" 2>/dev/null)
[[ $names == "main flaky outage busy slow reject chat untrusted untrusted-system probe-test" ]] ||
        errors+=("webhooks listed: $names")
v=$("$jq" -c '[.[] | select(.name == "chat" or .name == "main") | .format]' "$tmp/ctl.out" 2>/dev/null)
[[ $v == '["json","slack"]' ]] || errors+=("formats of main and chat: $v")
v=$("$jq" -c '[.[] | select(.name == "main") | .url]' "$tmp/ctl.out" 2>/dev/null)
# Scheme, host and port only: a path such as Slack's carries the webhook's token.
[[ $v == "[\"https://127.0.0.1:${port[main]}/...\"]" ]] || errors+=("url of main: $v")
bad=$("$jq" -c '[.[] | select((has("pending") and has("failures_total") and has("dead_letters") and
                               has("last_success") and has("last_error")) | not) | .name]' "$tmp/ctl.out" 2>/dev/null)
[[ $bad == "[]" ]] || errors+=("webhooks without pending/failures_total/dead_letters/last_success/last_error: $bad")
if grep -qE 'hmac-secret-of-the-test|bearer-token-of-the-test' "$tmp/ctl.out" "$tmp/d1.err"; then
        errors+=("a secret or the bearer token appears in tlswatchctl's output or the log")
fi
report "tlswatchctl webhooks --json: every webhook, no secrets" ${errors[@]+"${errors[@]}"} -- "$tmp/ctl.out"

# Delivered events leave no spool files behind; the ones still pending (untrusted) are there.
errors=()
for name in main flaky outage busy slow chat probe-test; do
        n=$(spool_files "$tmp/d1.state/spool/$name" | grep -c .)
        [[ $n == 0 ]] || errors+=("$name: $n spool files left after delivery")
done
for name in untrusted untrusted-system; do
        n=$(spool_files "$tmp/d1.state/spool/$name" | grep -c .)
        [[ $n == 1 ]] || errors+=("$name: $n spool files for its one pending event, expected 1")
done
report "the spool holds exactly the pending events" ${errors[@]+"${errors[@]}"}

stop_daemon d1
errors=()
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
report "d1 stops cleanly" ${errors[@]+"${errors[@]}"} -- "$tmp/d1.err"

# d4: a backlog of 2,000 events for a receiver that is down costs their spool files, not memory: a
# pending event keeps only its path until it is sent (its document alone is some 4 KiB).
mkdir -p "$tmp/d4.d" "$tmp/d4.state"
cat >"$tmp/d4.d/tlswatch.conf" <<EOF
[Defaults]
ControlSocket=$tmp/d4.sock

[Webhook down]
URL=https://$(at closed)/hooks/down
RetryMax=1h
EOF
rm -f "$tmp/d4.sock"
start_daemon d4 -c "$tmp/d4.d/tlswatch.conf" --state-directory "$tmp/d4.state"
wait_daemon d4
errors=()
requests=()
for ((i = 0; i < 2000; i++)); do
        requests+=('{"command":"webhook-test","name":"down"}')
done
# A first batch warms the allocator; the growth is measured over the second.
timeout -k 5 120 "$CONTROL_ABUSE" "$tmp/d4.sock" send "${requests[@]:0:200}" >"$tmp/d4-warm.out" 2>&1
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/${pid[d4]}/status")
timeout -k 5 120 "$CONTROL_ABUSE" "$tmp/d4.sock" send "${requests[@]}" >"$tmp/d4-fill.out" 2>&1
rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/${pid[d4]}/status")
n=$(spool_files "$tmp/d4.state/spool/down" | grep -c .)
((n == 2200)) || errors+=("$n spool files, expected 2200")
# ASan keeps freed memory in its quarantine, so only the plain build's RSS means anything here.
if ! sanitized "$TLSWATCHD" && ((rss1 - rss0 > 2048)); then
        errors+=("RSS grew $((rss1 - rss0)) KiB for 2,000 pending events, expected under 2 MiB")
fi
stop_daemon d4
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
report "2,000 events pending for a receiver that is down: RSS $rss0 -> $rss1 KiB" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/d4.err" "$tmp/d4-fill.out"

echo "test-webhooks: $((SECONDS - started)) s after the daemons started"
summary
