#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlswatchctl discover on broker configurations: a mosquitto.conf that a real Mosquitto starts with
# (MQTTS, two-way MQTTS, WSS, and a plain listener that must be left out), and EMQX 4 (emqx.conf) and
# EMQX 5 (HOCON) files written from EMQX's documented keys. The printed sections must pass
# --check-config, and for Mosquitto the discovered targets must probe ok against the running broker.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHD TLSWATCHCTL
make_tmp
chmod 755 "$tmp"
make_pki
chmod -R a+rX "$pki"
chmod 600 "$pki"/*.key # the broker runs as root here; keys stay private (key_permissions)

pick_ports 4
mqtts=${picked[0]}
mtls=${picked[1]}
wss=${picked[2]}
plain=${picked[3]}

cat >"$tmp/mosquitto.conf" <<CONF
# mosquitto.conf as an operator writes it
user root
per_listener_settings true
listener $plain 127.0.0.1
allow_anonymous true

listener $mqtts 127.0.0.1
allow_anonymous true
certfile $pki/good-chain.pem
keyfile $pki/good.key

listener $mtls 127.0.0.1
allow_anonymous true
cafile $pki/clientca.pem
certfile $pki/good-chain.pem
keyfile $pki/good.key
require_certificate true

listener $wss 127.0.0.1
protocol websockets
socket_domain ipv4
allow_anonymous true
certfile $pki/good-chain.pem
keyfile $pki/good.key
CONF
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
broker_pid=$!
pids+=("$!")
for ((i = 0; i < 100; i++)); do
        grep -q "running" "$tmp/mosquitto.log" && break
        running "$broker_pid" || break
        sleep 0.05
done
grep -q "running" "$tmp/mosquitto.log" || { show_log mosquitto "$tmp/mosquitto.log"; hard_error "mosquitto did not start"; }

out=$("$TLSWATCHCTL" discover --mosquitto "$tmp/mosquitto.conf" 2>&1)
rc=$?
if [[ $rc -eq 0 && $(grep -c '^\[Target ' <<<"$out") -eq 3 && $out == *"Address=127.0.0.1:$mqtts"* &&
      $out == *"Address=127.0.0.1:$wss"*$'\n'"Protocol=wss"* && $out == *"CACertFile=$pki/clientca.pem"* &&
      $out != *":$plain"* ]]; then
        report "mosquitto: three TLS listeners, the plain one left out, two-way TLS noted"
else
        report "mosquitto discover (exit $rc)" "$out"
fi

# The sections work: as a drop-in with a CA file, they pass --check-config and probe the broker.
mkdir -p "$tmp/etc/conf.d"
printf '[Defaults]\nCAFile=%s\nServerName=localhost\n' "$pki/root.pem" >"$tmp/etc/tlswatch.conf"
printf '%s\n' "$out" >"$tmp/etc/conf.d/50-mosquitto.conf"
if check=$("$TLSWATCHD" -c "$tmp/etc/tlswatch.conf" --check-config 2>&1); then
        report "mosquitto: the sections pass --check-config"
else
        report "mosquitto: --check-config" "$check"
fi
report=$(timeout 60 "$TLSWATCHD" -c "$tmp/etc/tlswatch.conf" --once --json 2>&1)
if jq -e '[.[] | {(.name): .status}] | add | (.["mosquitto-2"] == "ok" and .["mosquitto-4"] == "ok" and
          .["mosquitto-3"] == "critical")' <<<"$report" >/dev/null 2>&1; then
        report "mosquitto: the discovered MQTTS and WSS listeners probe ok; two-way TLS asks for a client certificate"
else
        report "mosquitto: --once over the discovered targets" "$(jq -c '[.[] | [.name, .status, [.problems[].code]]]' <<<"$report" 2>&1)"
fi

cat >"$tmp/emqx4.conf" <<'CONF'
## EMQX 4.x etc/emqx.conf, the keys its documentation uses
listener.tcp.external = 0.0.0.0:1883
listener.ssl.external = 0.0.0.0:8883
listener.ssl.external.keyfile = etc/certs/key.pem
listener.ssl.external.certfile = etc/certs/cert.pem
listener.ssl.external.cacertfile = etc/certs/cacert.pem
listener.ssl.external.verify = verify_peer
listener.wss.external = 8084
listener.wss.external.keyfile = /etc/emqx/certs/key.pem
listener.wss.external.certfile = /etc/emqx/certs/cert.pem
dashboard.listener.https = 18084
dashboard.listener.https.keyfile = /etc/emqx/certs/key.pem
dashboard.listener.https.certfile = /etc/emqx/certs/cert.pem
CONF
out=$("$TLSWATCHCTL" discover --emqx "$tmp/emqx4.conf" 2>&1)
rc=$?
if [[ $rc -eq 0 && $(grep -c '^\[Target ' <<<"$out") -eq 3 && $out == *"Address=localhost:8883"*$'\n'"Protocol=mqtt"* &&
      $out == *"Address=localhost:8084"*$'\n'"Protocol=wss"* && $out == *"Address=localhost:18084"*$'\n'"Protocol=https"* &&
      $out == *"# relative to the broker: CertFile=etc/certs/cert.pem"* && $out == *"CertFile=/etc/emqx/certs/cert.pem"* ]]; then
        report "EMQX 4: ssl, wss and the dashboard"
else
        report "EMQX 4 discover (exit $rc)" "$out"
fi

cat >"$tmp/emqx.conf" <<'CONF'
## EMQX 5 etc/emqx.conf (HOCON)
listeners.tcp.default { bind = "0.0.0.0:1883" }
listeners.ssl.default {
  bind = "0.0.0.0:8883"
  ssl_options {
    keyfile = "/etc/emqx/certs/key.pem"
    certfile = "/etc/emqx/certs/cert.pem"
    cacertfile = "/etc/emqx/certs/cacert.pem"
    verify = verify_peer
  }
}
listeners.wss.default {
  bind = "0.0.0.0:8084", websocket.mqtt_path = "/mqtt"
  ssl_options { keyfile = "/etc/emqx/certs/key.pem", certfile = "/etc/emqx/certs/cert.pem" }
}
dashboard {
  listeners.https {
    bind = 18084
    ssl_options { certfile = "/etc/emqx/certs/cert.pem", keyfile = "/etc/emqx/certs/key.pem" }
  }
}
CONF
out=$("$TLSWATCHCTL" discover --emqx "$tmp/emqx.conf" 2>&1)
rc=$?
if [[ $rc -eq 0 && $(grep -c '^\[Target ' <<<"$out") -eq 3 && $out == *"Address=localhost:8883"* &&
      $out == *"CACertFile=/etc/emqx/certs/cacert.pem"* && $out == *"Address=localhost:8084"*$'\n'"Protocol=wss"* &&
      $out == *"Address=localhost:18084"*$'\n'"Protocol=https"* ]]; then
        report "EMQX 5: ssl (two-way), wss and the dashboard from HOCON"
else
        report "EMQX 5 discover (exit $rc)" "$out"
fi

printf 'listener 1883\nallow_anonymous true\n' >"$tmp/plain.conf"
out=$("$TLSWATCHCTL" discover --mosquitto "$tmp/plain.conf" 2>&1)
rc=$?
if [[ $rc -eq 3 && $out == *"no TLS listener found"* ]]; then
        report "no TLS listener: a clear message, exit 3"
else
        report "no TLS listener (exit $rc)" "$out"
fi

summary
