#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo. Builds a throw-away PKI and starts, on loopback, the three listeners of the seed's
# broker — MQTT over TLS (8883) and MQTT over WebSocket/TLS (8084) in a real Mosquitto, and an HTTPS
# dashboard (18084) — on those ports when they are free; then has tlswatchd probe them all once with
# the example targets of the shipped configuration, uncommented, and shows tlswatchctl on two
# listeners configured the way operators often get wrong. Everything it starts is stopped by PID.
set -uo pipefail

build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd) || { echo "demo: no build directory $1; run make first" >&2; exit 3; }
ctl=$build/tlswatchctl
daemon=$build/tlswatchd
[ -x "$ctl" ] && [ -x "$daemon" ] || { echo "demo: build tlswatchctl and tlswatchd first" >&2; exit 3; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-demo.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
        for pid in "${pids[@]}"; do
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        rm -rf "$tmp"
}
trap cleanup EXIT

"$top/tests/pki/make-pki.sh" "$tmp/pki" >/dev/null || { echo "demo: making the PKI failed" >&2; exit 3; }
pki=$tmp/pki
chmod -R a+rX "$pki"

port_free() {
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The seed's port if it is free, else one nearby that is.
pick_port() {
        local port=$1 i
        for ((i = 0; i < 50; i++)); do
                port_free "$port" && { echo "$port"; return; }
                port=$((20000 + RANDOM % 20000))
        done
        echo "demo: no free port" >&2
        exit 3
}

wait_listening() {
        local port=$1 i
        for ((i = 0; i < 100; i++)); do
                port_free "$port" || return 0
                sleep 0.05
        done
        echo "demo: nothing listens on port $port" >&2
        exit 3
}

mqtts=$(pick_port 8883)
wss=$(pick_port 8084)
dashboard=$(pick_port 18084)

if command -v mosquitto >/dev/null; then
        cat >"$tmp/mosquitto.conf" <<CONF
allow_anonymous true
listener $mqtts 127.0.0.1
certfile $pki/good-chain.pem
keyfile $pki/good.key
listener $wss 127.0.0.1
protocol websockets
socket_domain ipv4
certfile $pki/good-chain.pem
keyfile $pki/good.key
CONF
        mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
        pids+=("$!")
        wait_listening "$mqtts"
        wait_listening "$wss"
else
        echo "demo: mosquitto is not installed; the MQTT listeners will be reported as refused"
fi

# s_server prints a port and must not see EOF on stdin: give it a FIFO this shell holds open.
mkfifo "$tmp/stdin"
exec {stdin_fd}<>"$tmp/stdin"
openssl s_server -quiet -www -accept "127.0.0.1:$dashboard" -cert "$pki/good.pem" -key "$pki/good.key" \
        -cert_chain "$pki/int.pem" <"$tmp/stdin" >/dev/null 2>&1 &
pids+=("$!")
wait_listening "$dashboard"

# The shipped configuration with its example targets uncommented, the ports chosen above, and a
# drop-in that trusts the demo's CA.
mkdir -p "$tmp/etc/conf.d"
sed -e '/^#\[Target emqx-/,/^$/ s/^#//' \
        -e "s/localhost:8883/localhost:$mqtts/; s/localhost:8084/localhost:$wss/; s/localhost:18084/localhost:$dashboard/" \
        "$top/etc/tlswatch.conf" >"$tmp/etc/tlswatch.conf"
grep -q '^\[Target emqx-dashboard\]' "$tmp/etc/tlswatch.conf" ||
        { echo "demo: etc/tlswatch.conf has no commented [Target emqx-...] examples to uncomment" >&2; exit 3; }
printf '[Defaults]\nCAFile=%s\n' "$pki/root.pem" >"$tmp/etc/conf.d/50-demo.conf"

echo "== tlswatchd --once: the three example listeners of etc/tlswatch.conf"
"$daemon" -c "$tmp/etc/tlswatch.conf" --check-config
"$daemon" -c "$tmp/etc/tlswatch.conf" --once
echo "(exit status $?)"
echo

missing=$(pick_port 28883)
openssl s_server -quiet -accept "127.0.0.1:$missing" -cert "$pki/good.pem" -key "$pki/good.key" \
        <"$tmp/stdin" >/dev/null 2>&1 &
pids+=("$!")
expired=$(pick_port 38883)
openssl s_server -quiet -accept "127.0.0.1:$expired" -cert "$pki/expired.pem" -key "$pki/expired.key" \
        -cert_chain "$pki/int.pem" <"$tmp/stdin" >/dev/null 2>&1 &
pids+=("$!")
wait_listening "$missing"
wait_listening "$expired"

run() {
        echo "\$ tlswatchctl probe $*"
        "$ctl" probe "$@"
        echo "(exit status $?)"
        echo
}

echo "== A listener whose certfile is cert.pem instead of fullchain.pem"
run --ca-file "$pki/root.pem" --servername localhost --protocol tls "127.0.0.1:$missing"
echo "== A listener serving an expired certificate, as JSON"
run --ca-file "$pki/root.pem" --servername localhost --protocol tls --json "127.0.0.1:$expired"

echo "== The files behind that listener, checked before the broker loads them"
chmod 600 "$pki/good.key"
echo "\$ tlswatchctl lint --certfile cert.pem --keyfile privkey.pem --ca-file root.pem"
"$ctl" lint --certfile "$pki/good.pem" --keyfile "$pki/good.key" --ca-file "$pki/root.pem" | head -1
echo "(exit status ${PIPESTATUS[0]})"
