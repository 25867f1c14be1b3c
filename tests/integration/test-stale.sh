#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The files behind a listener (CertFile=, KeyFile=): a real Mosquitto is started with one certificate,
# the files on disk are then replaced by a renewed one without restarting it, and the daemon must report
# stale_certificate; once Mosquitto is restarted it clears. With the broker down, the files' own expiry
# is still watched. Servers on 127.0.0.1, started and stopped by PID; bounded waits.
set -u -o pipefail

for variable in TLSWATCHD TLSWATCHCTL TESTS_SRCDIR; do
        [[ -n ${!variable:-} ]] || { echo "test-stale: $variable is not set" >&2; exit 99; }
done
command -v mosquitto >/dev/null || { echo "test-stale: mosquitto is not installed" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-test-stale.XXXXXX") || exit 99
chmod 755 "$tmp"
broker_pid=""
daemon_pid=""
stop() {
        local pid=$1 i
        [[ -n $pid ]] || return 0
        kill "$pid" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
}
cleanup() {
        stop "$daemon_pid"
        stop "$broker_pid"
        rm -rf "$tmp"
}
trap cleanup EXIT

"$TESTS_SRCDIR/pki/make-pki.sh" "$tmp/pki" >/dev/null 2>&1 || { echo "test-stale: PKI failed" >&2; exit 99; }
pki=$tmp/pki
chmod -R a+rX "$pki"
install -m 644 "$pki/good-chain.pem" "$tmp/server.pem"
install -m 600 "$pki/good.key" "$tmp/server.key"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_broker() {
        local i
        broker_pid=""
        for ((i = 0; i < 100; i++)); do
                port_free "$port" && break
                sleep 0.05
        done
        mosquitto -c "$tmp/mosquitto.conf" >>"$tmp/mosquitto.log" 2>&1 &
        broker_pid=$!
        for ((i = 0; i < 100; i++)); do
                port_free "$port" || return 0
                kill -0 "$broker_pid" 2>/dev/null || break
                sleep 0.05
        done
        cat "$tmp/mosquitto.log" >&2
        echo "test-stale: mosquitto did not start" >&2
        exit 99
}

for ((attempt = 0; attempt < 5; attempt++)); do
        port=$((20000 + RANDOM % 12000))
        port_free "$port" && break
done
cat >"$tmp/mosquitto.conf" <<CONF
user root
allow_anonymous true
listener $port 127.0.0.1
certfile $tmp/server.pem
keyfile $tmp/server.key
CONF
start_broker

cat >"$tmp/tlswatch.conf" <<CONF
[Defaults]
Interval=1h
ControlSocket=$tmp/control.sock

[Target broker]
Address=127.0.0.1:$port
Protocol=mqtt
ServerName=localhost
CAFile=$pki/root.pem
CertFile=$tmp/server.pem
KeyFile=$tmp/server.key
ConfirmFailures=1
CONF
mkdir -p "$tmp/state"
"$TLSWATCHD" -c "$tmp/tlswatch.conf" --state-directory "$tmp/state" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for ((i = 0; i < 200; i++)); do
        [[ -S $tmp/control.sock ]] && break
        sleep 0.05
done

passed=0
failed=0
# check NAME JQ-FILTER: `tlswatchctl check broker` (a probe now) and the report it answers.
check() {
        local name=$1 filter=$2 out
        out=$(timeout 60 "$TLSWATCHCTL" --socket "$tmp/control.sock" check --json broker 2>&1)
        if jq -e ".[0] | $filter" <<<"$out" >/dev/null 2>&1; then
                echo "ok - $name"
                passed=$((passed + 1))
        else
                echo "FAIL - $name"
                echo "$out" | sed 's/^/    /' | head -40
                failed=$((failed + 1))
        fi
}

codes='[.problems[].code]'
check "the files match what the broker serves" ".status == \"ok\" and ($codes | length == 0)"

# certbot renews: new files on disk, the broker keeps the old certificate in memory.
install -m 644 "$pki/ec-chain.pem" "$tmp/server.pem.new" && mv "$tmp/server.pem.new" "$tmp/server.pem"
install -m 600 "$pki/ec.key" "$tmp/server.key.new" && mv "$tmp/server.key.new" "$tmp/server.key"
check "renewed on disk, not loaded: stale_certificate" \
        ".status == \"warning\" and ($codes | index(\"stale_certificate\") != null) and
         (.problems[] | select(.code == \"stale_certificate\") | .message | test(\"reload the broker\"))"

stop "$broker_pid"
start_broker
check "the broker restarted with the renewed files: cleared" ".status == \"ok\" and ($codes | length == 0)"

# The listener goes down; the files' expiry is still judged.
stop "$broker_pid"
broker_pid=""
install -m 644 "$pki/soon3-chain.pem" "$tmp/server.pem.new" && mv "$tmp/server.pem.new" "$tmp/server.pem"
install -m 600 "$pki/soon3.key" "$tmp/server.key.new" && mv "$tmp/server.key.new" "$tmp/server.key"
check "broker down: the files' expiry is still watched" \
        "($codes | index(\"connect_failed\") != null) and ($codes | index(\"expires_soon\") != null)"

# A key that does not belong to the certificate on disk.
install -m 600 "$pki/good.key" "$tmp/server.key.new" && mv "$tmp/server.key.new" "$tmp/server.key"
check "a mismatched key on disk: key_mismatch" "$codes | index(\"key_mismatch\") != null"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
