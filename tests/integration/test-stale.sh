#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The files behind a listener (CertFile=, KeyFile=): a real Mosquitto is started with one certificate,
# the files on disk are then replaced by a renewed one without restarting it, and the daemon must report
# stale_certificate; once Mosquitto is restarted it clears. With the broker down, the files' own expiry
# is still watched. Servers on 127.0.0.1, started and stopped by PID; bounded waits.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHD TLSWATCHCTL
need_commands mosquitto

make_tmp
chmod 755 "$tmp"
make_pki
chmod -R a+rX "$pki"
install -m 644 "$pki/good-chain.pem" "$tmp/server.pem"
install -m 600 "$pki/good.key" "$tmp/server.key"

# start_broker: Mosquitto on port[broker], once the port is free again (a broker just stopped may hold it a
# moment), and waited for until it listens.
start_broker() {
        local i
        for ((i = 0; i < 100; i++)); do
                port_in_use "${port[broker]}" || break
                sleep 0.05
        done
        mosquitto -c "$tmp/mosquitto.conf" >>"$tmp/mosquitto.log" 2>&1 &
        broker_pid=$!
        pids+=("$!")
        for ((i = 0; i < 100; i++)); do
                port_in_use "${port[broker]}" && return 0
                running "$broker_pid" || break
                sleep 0.05
        done
        show_log mosquitto "$tmp/mosquitto.log"
        hard_error "mosquitto did not start"
}

pick_ports 1
port[broker]=${picked[0]}
cat >"$tmp/mosquitto.conf" <<CONF
user root
allow_anonymous true
listener ${port[broker]} 127.0.0.1
certfile $tmp/server.pem
keyfile $tmp/server.key
CONF
start_broker

cat >"$tmp/tlswatch.conf" <<CONF
[Defaults]
Interval=1h
ControlSocket=$tmp/control.sock

[Target broker]
Address=127.0.0.1:${port[broker]}
Protocol=mqtt
ServerName=localhost
CAFile=$pki/root.pem
CertFile=$tmp/server.pem
KeyFile=$tmp/server.key
ConfirmFailures=1
CONF
mkdir -p "$tmp/state"
start_daemon daemon -c "$tmp/tlswatch.conf" --state-directory "$tmp/state"
wait_daemon daemon "$tmp/control.sock"

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

stop_pid "$broker_pid" 5
start_broker
check "the broker restarted with the renewed files: cleared" ".status == \"ok\" and ($codes | length == 0)"

# The listener goes down; the files' expiry is still judged.
stop_pid "$broker_pid" 5
install -m 644 "$pki/soon3-chain.pem" "$tmp/server.pem.new" && mv "$tmp/server.pem.new" "$tmp/server.pem"
install -m 600 "$pki/soon3.key" "$tmp/server.key.new" && mv "$tmp/server.key.new" "$tmp/server.key"
check "broker down: the files' expiry is still watched" \
        "($codes | index(\"connect_failed\") != null) and ($codes | index(\"expires_soon\") != null)"

# A key that does not belong to the certificate on disk.
install -m 600 "$pki/good.key" "$tmp/server.key.new" && mv "$tmp/server.key.new" "$tmp/server.key"
check "a mismatched key on disk: key_mismatch" "$codes | index(\"key_mismatch\") != null"

summary
