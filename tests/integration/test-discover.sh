#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlswatchctl discover on real broker layouts: Debian's own stock mosquitto.conf (as the mosquitto
# package installs it) with TLS listeners in its include_dir, an EMQX 4 tree (emqx.conf and
# plugins/emqx_dashboard.conf) and an EMQX 5 tree (HOCON with an include, base.hocon, cluster.hocon,
# ${EMQX_ETC_DIR}). Each result must pass --check-config, and its listeners must probe ok against a real
# Mosquitto configured from the same certificate files. Also: wildcards, names, defaults, --write.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHD TLSWATCHCTL
stock=/etc/mosquitto/mosquitto.conf
[[ -f $stock ]] || hard_error "$stock not found: the mosquitto package installs it"
make_tmp
chmod 755 "$tmp"
make_pki
chmod -R a+rX "$pki"
chmod 600 "$pki"/*.key # the broker runs as root here; keys stay private (key_permissions)

pick_ports 8
mqtts=${picked[0]}
mtls=${picked[1]}
wss=${picked[2]}
plain=${picked[3]}
e1=${picked[4]}
e2=${picked[5]}
e3=${picked[6]}
e4=${picked[7]}

broker_pid=""
# start_broker CONF: a real Mosquitto, waited for until it says it runs.
start_broker() {
        local log=$tmp/mosquitto.$RANDOM.log i
        : >"$log"
        mosquitto -c "$1" >"$log" 2>&1 &
        broker_pid=$!
        pids+=("$!")
        for ((i = 0; i < 100; i++)); do
                grep -q "running" "$log" && break
                running "$broker_pid" || break
                sleep 0.05
        done
        grep -q "running" "$log" || { show_log mosquitto "$log"; hard_error "mosquitto did not start"; }
}

# broker_from_targets FILE: a mosquitto.conf with one listener per mqtt/wss target of the discovered
# FILE, on its address, with its CertFile= and KeyFile=: the broker serves the files discover named.
broker_from_targets() {
        awk -v run="$tmp" 'BEGIN { print "user root\npid_file " run "/broker.pid\npersistence false\nper_listener_settings true" }
                function flush() {
                        if (addr != "" && cert != "" && (proto == "mqtt" || proto == "wss")) {
                                n = split(addr, a, ":")
                                print "listener " a[n] " 127.0.0.1\nallow_anonymous true\ncertfile " cert "\nkeyfile " key
                                if (proto == "wss") print "protocol websockets\nsocket_domain ipv4"
                        }
                        addr = cert = key = proto = ""
                }
                /^\[Target / { flush() }
                /^Address=/ { addr = substr($0, 9) }
                /^Protocol=/ { proto = substr($0, 10) }
                /^CertFile=/ { cert = substr($0, 10) }
                /^KeyFile=/ { key = substr($0, 9) }
                END { flush() }' "$1"
}

# check_config NAME FILE: the discovered sections as a drop-in pass tlswatchd --check-config.
check_config() {
        local etc=$tmp/$1-etc out
        mkdir -p "$etc/conf.d"
        printf '[Defaults]\nCAFile=%s\nServerName=localhost\n' "$pki/root.pem" >"$etc/tlswatch.conf"
        cp "$2" "$etc/conf.d/50-$1.conf"
        if out=$("$TLSWATCHD" -c "$etc/tlswatch.conf" --check-config 2>&1); then
                report "$1: the sections pass --check-config"
        else
                report "$1: --check-config" "$out"
        fi
}

# probe_targets NAME JQ: --once over the drop-in of check_config; JQ maps {name: status} to true.
probe_targets() {
        local json
        json=$(timeout 60 "$TLSWATCHD" -c "$tmp/$1-etc/tlswatch.conf" --once --json 2>&1)
        if jq -e "[.[] | {(.name): .status}] | add | $2" <<<"$json" >/dev/null 2>&1; then
                report "$1: the discovered listeners probe as expected against the real broker"
        else
                report "$1: --once over the discovered targets" \
                        "$(jq -c '[.[] | [.name, .status, [.problems[].code]]]' <<<"$json" 2>&1 || echo "$json")"
        fi
}

# --- Debian's stock mosquitto.conf, its include_dir pointed into the temp tree ------------------
etc=$tmp/etc/mosquitto
mkdir -p "$etc/conf.d" "$tmp/var"
sed -e "s|^include_dir .*|user root\nper_listener_settings true\ninclude_dir $etc/conf.d|" -e "s|^pid_file .*|pid_file $tmp/var/mosquitto.pid|" \
        -e "s|^persistence_location .*|persistence_location $tmp/var/|" \
        -e "s|^log_dest file .*|log_dest stderr|" "$stock" >"$etc/mosquitto.conf"
grep -q "^include_dir $etc/conf.d" "$etc/mosquitto.conf" || hard_error "the stock mosquitto.conf has no include_dir"
echo "Debian's conf.d README: not *.conf, not read" >"$etc/conf.d/README"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$plain" >"$etc/conf.d/00-plain.conf"
cat >"$etc/conf.d/20-tls.conf" <<CONF
listener $mqtts 127.0.0.1
allow_anonymous true
cafile $pki/root.pem
certfile $pki/good-chain.pem
keyfile $pki/good.key

listener $wss 127.0.0.1
protocol websockets
socket_domain ipv4
allow_anonymous true
certfile $pki/good-chain.pem
keyfile $pki/good.key
CONF
# Loaded after 20-tls.conf, as mosquitto sorts: upper case first, A before a.
cat >"$etc/conf.d/a-mtls.conf" <<CONF
listener $mtls 127.0.0.1
allow_anonymous true
cafile $pki/clientca.pem
certfile $pki/good-chain.pem
keyfile $pki/good.key
require_certificate true
CONF
start_broker "$etc/mosquitto.conf"

out=$("$TLSWATCHCTL" discover --mosquitto "$etc/mosquitto.conf" 2>&1)
rc=$?
printf '%s\n' "$out" >"$tmp/mosquitto.targets"
if [[ $rc -eq 0 && $(grep -c '^\[Target ' <<<"$out") -eq 3 && $out != *":$plain"* &&
      $out == *"[Target mosquitto-mqtts-$mqtts]"$'\n'"Address=127.0.0.1:$mqtts"$'\n'"Protocol=mqtt"$'\n'"CertFile=$pki/good-chain.pem"$'\n'"KeyFile=$pki/good.key"$'\n'"CACertFile=$pki/root.pem"* &&
      $out == *"CAFile=$pki/root.pem"* &&
      $out == *"[Target mosquitto-wss-$wss]"$'\n'"Address=127.0.0.1:$wss"$'\n'"Protocol=wss"* &&
      $out == *"[Target mosquitto-mqtts-$mtls]"* && $out == *"CACertFile=$pki/clientca.pem"* &&
      $out == *"did not issue its certificate"* && $out == *"two-way TLS"* &&
      $(grep -n '^\[Target' <<<"$out" | cut -d' ' -f2 | tr -d ']' | tr '\n' ' ') == "mosquitto-mqtts-$mqtts mosquitto-wss-$wss mosquitto-mqtts-$mtls " ]]; then
        report "mosquitto: include_dir read in mosquitto's order, per-listener files, names by role, CAFile= where the cafile serves"
else
        report "mosquitto discover (exit $rc)" "$out"
fi
check_config mosquitto "$tmp/mosquitto.targets"
probe_targets mosquitto "(.[\"mosquitto-mqtts-$mqtts\"] == \"ok\" and .[\"mosquitto-wss-$wss\"] == \"ok\" and
        .[\"mosquitto-mqtts-$mtls\"] == \"critical\")"
stop_pid "$broker_pid"

# --write: atomic, refuses to replace a file unless --force.
dropin=$tmp/mosquitto-etc/conf.d/60-written.conf
"$TLSWATCHCTL" discover --mosquitto "$etc/mosquitto.conf" --write "$dropin" 2>"$tmp/write.err"
rc1=$?
echo "# changed by hand" >>"$dropin"
"$TLSWATCHCTL" discover --mosquitto "$etc/mosquitto.conf" --write "$dropin" 2>"$tmp/write2.err"
rc2=$?
kept=$(tail -1 "$dropin")
"$TLSWATCHCTL" discover --mosquitto "$etc/mosquitto.conf" --write "$dropin" --force 2>/dev/null
rc3=$?
if [[ $rc1 -eq 0 && $rc2 -eq 3 && $kept == "# changed by hand" && $rc3 -eq 0 && $(<"$tmp/write2.err") == *"--force"* &&
      $(grep -v '^# Written' "$dropin") == "$(grep -v '^# Written' "$tmp/mosquitto.targets")" ]] &&
   ! ls "$(dirname "$dropin")" | grep -qv '\.conf$'; then
        report "--write: a drop-in written, not replaced without --force, replaced with it, no temporary left"
else
        report "--write (exits $rc1 $rc2 $rc3)" "$(cat "$tmp/write.err" "$tmp/write2.err")" "kept: $kept"
fi

# --- EMQX 4: etc/emqx.conf and etc/plugins/emqx_dashboard.conf, relative files ---------------
e4root=$tmp/emqx4
mkdir -p "$e4root/etc/certs" "$e4root/etc/plugins"
cp "$pki/good-chain.pem" "$e4root/etc/certs/cert.pem"
cp "$pki/good.key" "$e4root/etc/certs/key.pem"
cp "$pki/root.pem" "$e4root/etc/certs/cacert.pem"
chmod 600 "$e4root/etc/certs/key.pem"
cat >"$e4root/etc/emqx.conf" <<CONF
## EMQX 4.x etc/emqx.conf, the keys its documentation uses
node.name = emqx@127.0.0.1
listener.tcp.external = 127.0.0.1:$plain
listener.ssl.external = 127.0.0.1:$e1
listener.ssl.external.keyfile = etc/certs/key.pem
listener.ssl.external.certfile = etc/certs/cert.pem
listener.ssl.external.cacertfile = etc/certs/cacert.pem
listener.ssl.external.verify = verify_none
listener.wss.external = 127.0.0.1:$e2
listener.wss.external.mqtt_path = /mqtt
listener.wss.external.keyfile = $e4root/etc/certs/key.pem
listener.wss.external.certfile = $e4root/etc/certs/cert.pem
plugins.etc_dir = etc/plugins/
CONF
cat >"$e4root/etc/plugins/emqx_dashboard.conf" <<CONF
dashboard.listener.http = 18083
dashboard.listener.https = 0.0.0.0:$e3
dashboard.listener.https.keyfile = etc/certs/key.pem
dashboard.listener.https.certfile = etc/certs/cert.pem
CONF
out=$("$TLSWATCHCTL" discover --emqx "$e4root/etc/emqx.conf" --host localhost 2>&1)
rc=$?
printf '%s\n' "$out" >"$tmp/emqx4.targets"
if [[ $rc -eq 0 && $(grep -c '^\[Target ' <<<"$out") -eq 3 &&
      $out == *"[Target emqx-mqtts-external]"$'\n'"Address=127.0.0.1:$e1"$'\n'"Protocol=mqtt"$'\n'"CertFile=$e4root/etc/certs/cert.pem"$'\n'"KeyFile=$e4root/etc/certs/key.pem"$'\n'"CACertFile=$e4root/etc/certs/cacert.pem"* &&
      $out == *"CAFile=$e4root/etc/certs/cacert.pem"* &&
      $out == *"[Target emqx-wss-external]"$'\n'"Address=127.0.0.1:$e2"$'\n'"Protocol=wss"$'\n'"Path=/mqtt"* &&
      $out == *"[Target emqx-https-dashboard]"$'\n'"# bound to every address: probed as localhost"$'\n'"Address=localhost:$e3"$'\n'"Protocol=https"* ]]; then
        report "EMQX 4: ssl, wss and the dashboard's plugin file, relative files from EMQX's root"
else
        report "EMQX 4 discover (exit $rc)" "$out"
fi
check_config emqx4 "$tmp/emqx4.targets"
broker_from_targets "$tmp/emqx4.targets" >"$tmp/emqx4-broker.conf"
start_broker "$tmp/emqx4-broker.conf"
probe_targets emqx4 '(.["emqx-mqtts-external"] == "ok" and .["emqx-wss-external"] == "ok")'
stop_pid "$broker_pid"

# --- EMQX 5: HOCON with an include, ${EMQX_ETC_DIR}, base.hocon < cluster.hocon < emqx.conf ----
e5root=$tmp/emqx5
mkdir -p "$e5root/etc/certs" "$e5root/data/configs"
cp "$e4root/etc/certs/"* "$e5root/etc/certs/"
cat >"$e5root/etc/emqx.conf" <<CONF
## NOTE: this file overrides data/configs/cluster.hocon (EMQX 5.1 and later)
node {
  name = "emqx@127.0.0.1"
  cookie = "emqxsecretcookie"
  data_dir = "data"
}
cluster { name = emqxcl, discovery_strategy = manual }
include "listeners.hocon"
dashboard {
  listeners.http { bind = 18083 }
  listeners.https { bind = 0 } // off
}
CONF
cat >"$e5root/etc/listeners.hocon" <<CONF
listeners {
  tcp.default { bind = "127.0.0.1:$plain" }
  ssl.default {
    bind = "127.0.0.1:$e1"
    ssl_options {
      verify = verify_none
    }
  }
  wss.default.enabled = false
  wss.ws2 {
    bind: "127.0.0.1:$e2"
    websocket.mqtt_path = "/ws"
    ssl_options { certfile = "\${EMQX_ETC_DIR}/certs/cert.pem", keyfile = "\${EMQX_ETC_DIR}/certs/key.pem" }
  }
}
CONF
# base.hocon adds a listener that cluster.hocon (the Dashboard's changes) turns off; cluster.hocon also
# moves ssl.default, which emqx.conf's include overrides.
cat >"$e5root/etc/base.hocon" <<CONF
listeners.ssl.base { bind = "127.0.0.1:$e3", ssl_options.certfile = "\${EMQX_ETC_DIR}/certs/cert.pem" }
CONF
cat >"$e5root/data/configs/cluster.hocon" <<CONF
listeners { ssl { base { enabled = false }, default { bind = "127.0.0.1:$e4" } } }
CONF
out=$("$TLSWATCHCTL" discover --emqx "$e5root/etc/emqx.conf" 2>&1)
rc=$?
printf '%s\n' "$out" >"$tmp/emqx5.targets"
if [[ $rc -eq 0 && $(grep -c '^\[Target ' <<<"$out") -eq 2 &&
      $out == *"[Target emqx-mqtts-default]"$'\n'"Address=127.0.0.1:$e1"$'\n'"Protocol=mqtt"$'\n'"CertFile=$e5root/etc/certs/cert.pem"$'\n'"KeyFile=$e5root/etc/certs/key.pem"$'\n'"CACertFile=$e5root/etc/certs/cacert.pem"* &&
      $out == *"CAFile=$e5root/etc/certs/cacert.pem"* &&
      $out == *"[Target emqx-wss-ws2]"$'\n'"Address=127.0.0.1:$e2"$'\n'"Protocol=wss"$'\n'"Path=/ws"$'\n'"CertFile=$e5root/etc/certs/cert.pem"* &&
      $out == *"left out: emqx-wss-default"*"enabled = false"* && $out == *"left out: emqx-mqtts-base"* &&
      $out != *":$e4"* && $out != *"emqx-https-dashboard]"* ]]; then
        report "EMQX 5: include, \${EMQX_ETC_DIR}, layers as EMQX reads them, enabled = false left out, mqtt_path kept"
else
        report "EMQX 5 discover (exit $rc)" "$out"
fi
check_config emqx5 "$tmp/emqx5.targets"
broker_from_targets "$tmp/emqx5.targets" >"$tmp/emqx5-broker.conf"
start_broker "$tmp/emqx5-broker.conf"
probe_targets emqx5 '(.["emqx-mqtts-default"] == "ok" and .["emqx-wss-ws2"] == "ok")'
stop_pid "$broker_pid"

# --etc-dir: ${EMQX_ETC_DIR} as the broker's environment sets it, not where the file was read.
out=$("$TLSWATCHCTL" discover --emqx "$e5root/etc/emqx.conf" --etc-dir /srv/emqx/etc 2>&1)
if [[ $out == *"[Target emqx-wss-ws2]"*"CertFile=/srv/emqx/etc/certs/cert.pem"* ]]; then
        report "EMQX 5: --etc-dir names \${EMQX_ETC_DIR}"
else
        report "EMQX 5 --etc-dir" "$out"
fi

# A HOCON error names the file and line, even in an include.
printf 'listeners.ssl.x {\n  bind = "127.0.0.1:1"\n' >"$e5root/etc/listeners.hocon"
out=$("$TLSWATCHCTL" discover --emqx "$e5root/etc/emqx.conf" 2>&1)
rc=$?
if [[ $rc -eq 3 && $out == *"$e5root/etc/listeners.hocon:1: '{' is not closed"* ]]; then
        report "EMQX 5: a broken include is an error naming file:line, exit 3"
else
        report "EMQX 5 broken include (exit $rc)" "$out"
fi

# --- wildcard binds, and the default locations (under --root, as a mounted image is read) ----------
root=$tmp/root
mkdir -p "$root/etc/mosquitto/conf.d"
cp "$stock" "$root/etc/mosquitto/mosquitto.conf" # verbatim: include_dir /etc/mosquitto/conf.d
cat >"$root/etc/mosquitto/conf.d/tls.conf" <<CONF
listener 8883 0.0.0.0
certfile /etc/mosquitto/certs/server.pem
listener 8443 ::
certfile /etc/mosquitto/certs/server.pem
port 8884
certfile /etc/mosquitto/certs/server.pem
CONF
out=$("$TLSWATCHCTL" discover --root "$root" 2>&1)
rc=$?
host=$(hostname)
if [[ $rc -eq 0 && $out == *"[Target mosquitto-mqtts-8883]"*"Address=$host:8883"* &&
      $out == *"[Target mosquitto-mqtts-8443]"*"Address=$host:8443"* && $out == *"Address=$host:8884"* &&
      $out != *"0.0.0.0"?* && $out != *"[::]"* ]]; then
        report "no file named: /etc/mosquitto/mosquitto.conf found (under --root), wildcards probed as the host's name"
else
        report "default location and wildcards (exit $rc)" "$out"
fi
out=$("$TLSWATCHCTL" discover --root "$root" --host localhost 2>&1)
if [[ $out == *"Address=localhost:8883"* && $out == *"Address=localhost:8443"* ]]; then
        report "--host names what a wildcard is probed as"
else
        report "--host" "$out"
fi
out=$("$TLSWATCHCTL" discover --root "$tmp/var" 2>&1)
rc=$?
if [[ $rc -eq 3 && $out == *"/etc/mosquitto/mosquitto.conf, /etc/emqx/emqx.conf or /opt/emqx/etc/emqx.conf"* ]]; then
        report "no configuration in the default locations: they are named, exit 3"
else
        report "no default location (exit $rc)" "$out"
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
