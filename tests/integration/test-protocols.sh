#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of the application stage of `tlswatchctl probe` against real servers: a Mosquitto
# with four MQTT listeners (one-way TLS, two-way TLS, password, WebSocket over TLS), an nginx serving
# HTTPS, and an `openssl s_server` that completes TLS and never answers. Each probe's exit code, status,
# problem codes and `application` members are checked. Run by the automake harness: 0 pass, 1 fail,
# 99 broken environment; never skips, so a missing server is an error, not a silent pass.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: probes fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

need_programs TLSWATCHCTL

# The Debian packages mosquitto and nginx-light (or any nginx with the SSL module).
mosquitto=${MOSQUITTO:-mosquitto}
mosquitto_passwd=${MOSQUITTO_PASSWD:-mosquitto_passwd}
nginx=${NGINX:-nginx}
need_commands "$openssl" "$jq" "$mosquitto" "$mosquitto_passwd" "$nginx" timeout

make_tmp
make_pki

# MQTT credentials. Distinctive strings, so finding one in tlswatchctl's output can only be a leak.
password=tlswatch-pw-$RANDOM$RANDOM
wrong_password=tlswatch-wrong-$RANDOM$RANDOM
printf '%s\n' "$password" >"$tmp/password"
printf '%s\n' "$wrong_password" >"$tmp/wrong-password"
chmod 600 "$tmp/password" "$tmp/wrong-password"

# --- servers -------------------------------------------------------------------------------------------

# Mosquitto and nginx take no port 0: pick_ports picks theirs, and they start again on other ports when
# another test took one between the check and the bind ("Address already in use").

# Mosquitto 2 started as root drops its privileges to the user "mosquitto" before it loads the
# listeners' keys, which make-pki.sh leaves 0600 root ("Unable to load server key file ... Permission
# denied"). `user root` keeps it as root; in a non-root run the directive is ignored and the broker runs
# as the user who owns the files. Either way the keys stay private in a private temp dir.
#
# per_listener_settings: each listener has its own allow_anonymous and password_file. A websockets
# listener may not be the broker's only listener; listener A is the other one. Mosquitto 2.0.11 with
# libwebsockets ignores the bind address of a websockets listener and listens on *:PORT unless
# socket_domain ipv4 is set.
write_mosquitto_conf() {
        local dir=$1 tls

        tls="certfile $pki/good-chain.pem
keyfile $pki/good.key"
        cat >"$dir/mosquitto.conf" <<EOF
user root
per_listener_settings true
persistence false
log_dest stderr

# A: MQTT over one-way TLS, anonymous clients welcome.
listener ${port[mqtts]} 127.0.0.1
$tls
allow_anonymous true

# B: two-way TLS. cafile is what client certificates are verified against; the server's own chain
# comes from certfile.
listener ${port[mtls]} 127.0.0.1
$tls
cafile $pki/clientca.pem
require_certificate true
allow_anonymous true

# C: user name and password required.
listener ${port[auth]} 127.0.0.1
$tls
allow_anonymous false
password_file $dir/passwd

# D: MQTT over WebSocket over TLS.
listener ${port[wss]} 127.0.0.1
protocol websockets
socket_domain ipv4
$tls
allow_anonymous true
EOF
}

start_mosquitto() {
        local dir=$tmp/mosquitto log=$tmp/mosquitto/log attempt i

        mkdir "$dir" || hard_error "mkdir $dir failed"
        "$mosquitto_passwd" -b -c "$dir/passwd" alice "$password" >"$dir/passwd.log" 2>&1 || {
                show_log mosquitto_passwd "$dir/passwd.log"
                hard_error "mosquitto_passwd failed"
        }
        for ((attempt = 1; attempt <= 5; attempt++)); do
                pick_ports 4
                port[mqtts]=${picked[0]} port[mtls]=${picked[1]}
                port[auth]=${picked[2]} port[wss]=${picked[3]}
                write_mosquitto_conf "$dir"
                "$mosquitto" -c "$dir/mosquitto.conf" </dev/null >"$log" 2>&1 &
                pid[mosquitto]=$!
                pids+=("$!")
                # "mosquitto version X running" comes once every listener is open (max 5 s).
                for ((i = 0; i < 100; i++)); do
                        grep -q '^[0-9]*: mosquitto version .* running$' "$log" && return 0
                        dead "${pid[mosquitto]}" && break
                        sleep 0.05
                done
                stop_pid "${pid[mosquitto]}" 2
                grep -qE 'Address already in use|Unable to create websockets listener' "$log" || break
                echo "test-protocols: mosquitto: a port was taken, attempt $attempt of 5" >&2
        done
        show_log mosquitto "$log"
        hard_error "mosquitto did not start"
}

# nginx: one process (master_process off), so the PID this shell holds is the whole server and no
# worker can outlive it; it then also never switches to another user, so no `user` is needed. Every
# path it would write (pid, temp dirs) is inside the prefix, the error log goes to stderr (-e stderr
# also covers the time before the config is read), and there is no access log.
write_nginx_conf() {
        local dir=$1

        cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log stderr notice;

events {
        worker_connections 64;
}

http {
        access_log off;
        client_body_temp_path $dir/client_body;
        proxy_temp_path $dir/proxy;
        fastcgi_temp_path $dir/fastcgi;
        uwsgi_temp_path $dir/uwsgi;
        scgi_temp_path $dir/scgi;
        default_type text/plain;

        server {
                listen 127.0.0.1:${port[https]} ssl;
                server_name localhost;
                ssl_certificate $pki/good-chain.pem;
                ssl_certificate_key $pki/good.key;

                location = / {
                        return 200 "tlswatch test page\n";
                }
                # The service behind a reverse proxy is down.
                location = /broken {
                        return 502;
                }
                # A WebSocket path that a misconfigured proxy answers like a page: 200, not 101.
                location = /mqtt {
                        return 200 "not a WebSocket endpoint\n";
                }
                location / {
                        return 404;
                }
        }
}
EOF
}

start_nginx() {
        local dir=$tmp/nginx log=$tmp/nginx/log attempt i

        mkdir "$dir" || hard_error "mkdir $dir failed"
        for ((attempt = 1; attempt <= 5; attempt++)); do
                pick_ports 1
                port[https]=${picked[0]}
                write_nginx_conf "$dir"
                "$nginx" -p "$dir" -c "$dir/nginx.conf" -e stderr </dev/null >"$log" 2>&1 &
                pid[nginx]=$!
                pids+=("$!")
                # Ready when the port answers and the bind was ours: on a taken port nginx logs the
                # failure and retries for 2.5 s, while someone else's listener answers (max 5 s).
                for ((i = 0; i < 100; i++)); do
                        grep -q 'bind() to .* failed' "$log" && break
                        port_in_use "${port[https]}" && ! grep -q 'bind() to .* failed' "$log" && return 0
                        dead "${pid[nginx]}" && break
                        sleep 0.05
                done
                stop_pid "${pid[nginx]}" 2
                grep -q 'Address already in use' "$log" || break
                echo "test-protocols: nginx: the port was taken, attempt $attempt of 5" >&2
        done
        show_log nginx "$log"
        hard_error "nginx did not start"
}

start_mosquitto
start_nginx
# A TLS listener that completes the handshake and then says nothing.
start_tls silent -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
wait_port silent

# --- probing -------------------------------------------------------------------------------------------


# report_details: after a failed check, what the probe printed (without the certificates).
report_details() {
        echo "    --- stdout:"
        if "$jq" -e . "$tmp/out" >/dev/null 2>&1; then
                "$jq" 'del(.addresses[]?.chain)' "$tmp/out" | sed 's/^/    /'
        else
                sed 's/^/    /' "$tmp/out"
        fi
        echo "    --- stderr:"
        sed 's/^/    /' "$tmp/err"
}

# check_report WANT_RC WANT_STATUS CHECK...: the last probe's output against the expectations; adds what
# is wrong to the caller's `errors`.
#   CHECK is one of
#     CODE              a problem with this code is in .problems
#     CODE~REGEX        ... and its message matches the regular expression (jq's test())
#     !CODE             no problem with this code is in .problems
#     @none             .problems is empty
#     ?JQ-EXPRESSION    the expression is true for the whole report; $app is
#                       .addresses[0].application ({} when missing)
# Whatever the case, neither MQTT password may appear in stdout or stderr.
check_report() {
        local want_rc=$1 want_status=$2 check code regex status secret

        shift 2
        [[ $rc == "$want_rc" ]] || errors+=("exit code $(describe_rc "$rc"), expected $want_rc")
        for secret in "$password" "$wrong_password"; do
                grep -qF -e "$secret" "$tmp/out" && errors+=("a password is in stdout")
                grep -qF -e "$secret" "$tmp/err" && errors+=("a password is in stderr")
        done
        # -s: empty output or two documents must fail too; plain `jq -e` exits 0 on empty input (jq 1.6).
        if ! "$jq" -se 'length == 1 and (.[0] | type == "object")' "$tmp/out" >/dev/null 2>&1; then
                errors+=("stdout is not exactly one JSON object")
                return
        fi
        status=$("$jq" -r '.status' "$tmp/out")
        [[ $status == "$want_status" ]] || errors+=("status \"$status\", expected \"$want_status\"")

        for check in "$@"; do
                case $check in
                @none)
                        "$jq" -e '.problems | length == 0' "$tmp/out" >/dev/null ||
                                errors+=("expected no problems")
                        ;;
                !*)
                        "$jq" -e --arg c "${check#!}" 'all(.problems[]?; .code != $c)' "$tmp/out" \
                                >/dev/null ||
                                errors+=("problem ${check#!} present, expected absent")
                        ;;
                \?*)
                        "$jq" -e "(.addresses[0].application // {}) as \$app | ${check#\?}" "$tmp/out" \
                                >/dev/null 2>&1 ||
                                errors+=("not true: ${check#\?}")
                        ;;
                *)
                        code=${check%%\~*}
                        regex=""
                        [[ $check == *\~* ]] && regex=${check#*\~}
                        "$jq" -e --arg c "$code" --arg re "$regex" \
                                'any(.problems[]?; .code == $c and (.message | test($re)))' \
                                "$tmp/out" >/dev/null 2>&1 ||
                                errors+=("no problem $code${regex:+ with a message matching /$regex/}")
                        ;;
                esac
        done
}

# [RUNS=N] expect_probe NAME EXIT STATUS [CHECK...] -- PROBE-ARGS...: probe and check (see check_report).
# With RUNS, the probe runs N times and every run must pass: for a verdict that a race with the server
# could change, one lucky run proves nothing. The first failing run is the one shown.
expect_probe() {
        local name=$1 want_rc=$2 want_status=$3 runs=${RUNS:-1} run
        local -a checks=() errors=()

        shift 3
        while [[ $# -gt 0 && $1 != -- ]]; do
                checks+=("$1")
                shift
        done
        [[ $# -gt 0 ]] || hard_error "expect_probe $name: missing -- before the probe arguments"
        shift

        for ((run = 1; run <= runs; run++)); do
                run_probe "$@"
                check_report "$want_rc" "$want_status" ${checks[@]+"${checks[@]}"}
                if ((${#errors[@]} > 0)); then
                        ((runs > 1)) && errors=("run $run of $runs:" "${errors[@]}")
                        break
                fi
        done
        ((runs > 1)) && name+=" ($runs runs)"
        report "$name" ${errors[@]+"${errors[@]}"}
}

ca=(--ca-file "$pki/root.pem")
json=(--json --timeout 5 "${ca[@]}" --servername localhost)
# What every completed exchange reports, whatever its verdict.
timing='?(.addresses[0].tls.handshake_ms | type == "number" and . >= 0)
         and ($app.duration_ms | type == "number" and . >= 0)'
# mqtt_accepted PROTOCOL VERSION: the check for a CONNACK that accepted us.
mqtt_accepted() {
        printf '?$app.protocol == "%s" and $app.mqtt_version == %s and $app.connack == 0 %s' "$1" "$2" \
                'and ($app.connack_text | type == "string")'
}
# mqtt_refused_info VERSION CODE: a refused CONNACK is data: status ok, the code in application and in
# protocol_detail.
mqtt_refused_info() {
        printf '?$app.mqtt_version == %s and $app.connack == %s %s %s' "$1" "$2" \
                'and ($app.connack_text | type == "string")' \
                "and (.addresses[0].protocol_detail | contains(\"CONNACK $2 \"))"
}

# --- MQTT over TLS, listener A: anonymous, one-way TLS

expect_probe "mqtt 3.1.1, one-way TLS" 0 ok @none "$timing" "$(mqtt_accepted mqtt 4)" \
        '?.protocol == "mqtt" and ($app | has("http_status") | not) and ($app | has("subprotocol") | not)' \
        -- "${json[@]}" --protocol mqtt "$(at mqtts)"

expect_probe "mqtt 5, one-way TLS" 0 ok @none "$timing" "$(mqtt_accepted mqtt 5)" \
        -- "${json[@]}" --protocol mqtt --mqtt-version 5 "$(at mqtts)"

expect_probe "mqtt, explicit --client-id" 0 ok @none "$(mqtt_accepted mqtt 4)" \
        -- "${json[@]}" --protocol mqtt --client-id tlswatch-test-client "$(at mqtts)"

# --- listener C: user name and password required

expect_probe "mqtt 3.1.1, no credentials: CONNACK 5 is information" 0 ok @none "$timing" \
        "$(mqtt_refused_info 4 5)" \
        -- "${json[@]}" --protocol mqtt "$(at auth)"

expect_probe "mqtt 5, no credentials: CONNACK 135 is information" 0 ok @none \
        "$(mqtt_refused_info 5 135)" \
        -- "${json[@]}" --protocol mqtt --mqtt-version 5 "$(at auth)"

expect_probe "mqtt 3.1.1, no credentials, --expect-accept" 2 critical 'protocol_failed~\b5\b' \
        '?$app.connack == 5' \
        -- "${json[@]}" --protocol mqtt --expect-accept "$(at auth)"

expect_probe "mqtt 5, no credentials, --expect-accept" 2 critical 'protocol_failed~\b135\b' \
        '?$app.connack == 135' \
        -- "${json[@]}" --protocol mqtt --mqtt-version 5 --expect-accept "$(at auth)"

expect_probe "mqtt 3.1.1, user name and password" 0 ok @none "$(mqtt_accepted mqtt 4)" \
        -- "${json[@]}" --protocol mqtt --username alice --password-file "$tmp/password" "$(at auth)"

expect_probe "mqtt 5, user name and password, --expect-accept" 0 ok @none "$(mqtt_accepted mqtt 5)" \
        -- "${json[@]}" --protocol mqtt --mqtt-version 5 --username alice --password-file "$tmp/password" \
        --expect-accept "$(at auth)"

# The broker chooses the refusal (Mosquitto 2.0 answers 5 "not authorised" rather than 4 "bad user name
# or password"); whichever it is, the message must carry it.
expect_probe "mqtt 3.1.1, wrong password, --expect-accept" 2 critical protocol_failed \
        '?$app.connack as $c | $c > 0 and any(.problems[]; .code == "protocol_failed"
                                               and (.message | test("\\b\($c)\\b")))' \
        -- "${json[@]}" --protocol mqtt --username alice --password-file "$tmp/wrong-password" \
        --expect-accept "$(at auth)"

expect_probe "mqtt 5, wrong password, --expect-accept" 2 critical protocol_failed \
        '?$app.connack as $c | $c >= 128 and any(.problems[]; .code == "protocol_failed"
                                                  and (.message | test("\\b\($c)\\b")))' \
        -- "${json[@]}" --protocol mqtt --mqtt-version 5 --username alice \
        --password-file "$tmp/wrong-password" --expect-accept "$(at auth)"

expect_probe "mqtt 3.1.1, wrong password, no --expect-accept" 0 ok @none '?$app.connack > 0' \
        -- "${json[@]}" --protocol mqtt --username alice --password-file "$tmp/wrong-password" "$(at auth)"

# --- listener B: two-way TLS

# Mosquitto sends its certificate_required alert and closes at once, while the probe, done with its
# side of the TLS 1.3 handshake, is sending the CONNECT: the connection may be reset before or after
# that write. The alert is in the probe's receive queue either way, and the verdict must not depend on
# the race; hence several runs. The tls probe on the same listener waits for the alert instead of
# writing, as a reference.
RUNS=10 expect_probe "mqtt, two-way TLS, no client certificate" 2 critical client_certificate_required \
        '!tls_handshake_failed' \
        -- "${json[@]}" --protocol mqtt "$(at mtls)"

RUNS=10 expect_probe "tls, two-way TLS, no client certificate (same listener)" 2 critical \
        client_certificate_required \
        -- "${json[@]}" --protocol tls "$(at mtls)"

expect_probe "mqtt, two-way TLS, client certificate" 0 ok @none "$(mqtt_accepted mqtt 4)" \
        -- "${json[@]}" --protocol mqtt --cert "$pki/client.pem" --key "$pki/client.key" "$(at mtls)"

# --- listener D: MQTT over WebSocket over TLS

expect_probe "wss, MQTT 3.1.1" 0 ok @none "$timing" "$(mqtt_accepted wss 4)" \
        '?$app.http_status == 101 and $app.subprotocol == "mqtt"' \
        -- "${json[@]}" --protocol wss "$(at wss)"

expect_probe "wss, MQTT 5" 0 ok @none "$(mqtt_accepted wss 5)" \
        '?$app.http_status == 101 and $app.subprotocol == "mqtt"' \
        -- "${json[@]}" --protocol wss --mqtt-version 5 "$(at wss)"

# --- nginx: HTTPS, and WebSocket paths it does not upgrade

expect_probe "https /" 0 ok @none "$timing" \
        '?.protocol == "https" and $app.protocol == "https" and $app.http_status == 200
          and ($app | has("connack") or has("mqtt_version") or has("subprotocol") | not)' \
        -- "${json[@]}" --protocol https "$(at https)"

expect_probe "https /broken: 502" 2 critical 'protocol_failed~\b502\b' '?$app.http_status == 502' \
        -- "${json[@]}" --protocol https --path /broken "$(at https)"
expect_probe "https /broken with --expect-status 502: ok" 0 ok @none '?$app.http_status == 502' \
        '?$app.first_byte_ms > 0' \
        -- "${json[@]}" --protocol https --path /broken --expect-status "5xx" "$(at https)"
expect_probe "https / with --expect-status 204: not expected" 2 critical \
        'protocol_failed~HTTP 200 on /: not one of the expected statuses' '?$app.http_status == 200' \
        -- "${json[@]}" --protocol https --expect-status "204, 3xx" "$(at https)"

expect_probe "wss on a path answered with 200" 2 critical 'protocol_failed~expected 101' \
        '?$app.http_status == 200 and ($app | has("connack") | not)' \
        -- "${json[@]}" --protocol wss --path /mqtt "$(at https)"

expect_probe "wss on a path that is not found" 2 critical 'protocol_failed~wrong WebSocket path' \
        '?$app.http_status == 404' \
        -- "${json[@]}" --protocol wss --path /no/such/path "$(at https)"

# --- the wrong protocol for the port

expect_probe "mqtt against HTTPS" 2 critical protocol_failed '!timeout' \
        -- "${json[@]}" --protocol mqtt "$(at https)"

expect_probe "https against MQTTS" 2 critical protocol_failed '!timeout' \
        -- "${json[@]}" --protocol https "$(at mqtts)"

expect_probe "wss against MQTTS" 2 critical protocol_failed '!timeout' \
        -- "${json[@]}" --protocol wss "$(at mqtts)"

# --- the password goes only to a listener that proved who it is
# The silent listener is an `openssl s_server`, which prints what a client sends it: the password is
# there after a probe that trusts the listener, and must not be after one that cannot.

# password_probe NAME WANT_SENT CHECK... -- PROBE-ARGS...: a password probe of the silent listener.
password_probe() {
        local name=$1 want_sent=$2 before sent=no
        local -a checks=() errors=()

        shift 2
        while [[ $# -gt 0 && $1 != -- ]]; do
                checks+=("$1")
                shift
        done
        shift
        before=$(stat -c %s "$tmp/silent.out")
        run_probe --json --timeout 2 --protocol mqtt --username alice --password-file "$tmp/password" "$@"
        # The listener may print what it got a moment after the probe gave up: wait for it (1 s at most).
        for ((i = 0; i < 20; i++)); do
                tail -c +"$((before + 1))" "$tmp/silent.out" | grep -qF -e "$password" && { sent=yes; break; }
                [[ $want_sent == no ]] && ((i >= 4)) && break
                sleep 0.05
        done
        [[ $sent == "$want_sent" ]] || errors+=("password sent: $sent, expected $want_sent")
        local rc_seen=$rc
        check_report "$rc_seen" critical "${checks[@]}"
        report "$name" ${errors[@]+"${errors[@]}"}
}

password_probe "password: sent to the trusted listener" yes protocol_failed '!chain_unverified' \
        -- "${ca[@]}" --servername localhost "$(at silent)"
password_probe "password: withheld from an untrusted chain" no chain_unverified '!protocol_failed' \
        '?.addresses[0].protocol_detail | test("withheld")' -- --servername localhost "$(at silent)"
password_probe "password: withheld from a name the certificate does not cover" no hostname_mismatch \
        '!protocol_failed' '?.addresses[0].protocol_detail | test("withheld")' \
        -- "${ca[@]}" --servername wrong.example "$(at silent)"

# --- a TLS listener that never answers

expect_probe "mqtt against a silent TLS listener" 2 critical protocol_failed '!timeout' \
        '?.addresses[0].tls.handshake_ms | type == "number"' \
        -- --json --timeout 2 "${ca[@]}" --servername localhost --protocol mqtt "$(at silent)"
# The deadline covers the whole probe: not (much) earlier than 2 s, and nowhere near a second timeout.
if ((elapsed_ms < 1500 || elapsed_ms >= 10000)); then
        report "silent TLS listener: took ${elapsed_ms} ms" "expected about 2000 ms (1500..10000)"
else
        report "silent TLS listener: took ${elapsed_ms} ms"
fi

summary
