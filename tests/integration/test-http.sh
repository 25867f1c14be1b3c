#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of the HTTP endpoint ([HTTP] Listen=): a real tlswatchd and real `openssl s_server`
# listeners on loopback, asked with curl. Every path (/metrics checked by `promtool check metrics`,
# /probe as the blackbox exporter answers, health, readiness, /api/status, the index), 404/400/405,
# basic authentication, reloads that move the endpoint and one refused because the port is taken (the
# old port keeps answering), an on-demand probe, and abuse (1,000 idle connections, a 1 MiB request
# line, a client that never reads) while the daemon keeps probing and its control socket answering.
# Run by the automake harness: 0 pass, 1 fail, 99 broken environment; never skips.

# SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2016

# No `set -e`: commands fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

hide_journal "$@"
forget_service_environment
export LC_ALL=C

need_programs TLSWATCHD TLSWATCHCTL TCP_PEER
promtool=${PROMTOOL:-promtool}
python=${PYTHON:-python3}
need_commands "$openssl" "$jq" curl "$python" timeout awk
command -v "$promtool" >/dev/null 2>&1 || hard_error "promtool not found (Debian package prometheus)"
abuse=$TESTS_SRCDIR/integration/http-abuse.py
[[ -f $abuse ]] || hard_error "$abuse not found"

make_tmp
make_pki

# --- servers -------------------------------------------------------------------------------------------

start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
start_tls soon -cert "$pki/soon3.pem" -key "$pki/soon3.key" -cert_chain "$pki/int.pem"
# Not configured: only an on-demand probe reaches it.
start_tls extra -cert "$pki/ec.pem" -key "$pki/ec.key" -cert_chain "$pki/int.pem"
# Accepts and never answers: an on-demand probe of it lasts until its timeout.
start_peer silent silent 300
for name in good soon extra silent; do
        wait_port "$name"
done

# --- helpers -------------------------------------------------------------------------------------------

# get NAME URL [CURL-ARGS...]: GET (bounded) into $tmp/NAME.body, headers $tmp/NAME.head; sets `code`
# (000: no answer).
get() {
        local name=$1 url=$2

        shift 2
        code=$(timeout -k 5 30 curl -sS -m 20 -o "$tmp/$name.body" -D "$tmp/$name.head" -w '%{http_code}' \
                "$@" "$url" 2>"$tmp/$name.err")
        [[ -n $code ]] || code=000
}

# expect_code WANT: the last get's status.
expect_code() {
        [[ $code == "$1" ]] || errors+=("HTTP status $code, expected $1")
}

# expect_header NAME REGEX: a header of the last get (case-insensitive name).
expect_header() {
        grep -qiE "^$1: $2"$'\r'"?$" "$tmp/$last.head" || errors+=("no header \"$1: $2\" in $last.head")
}

# expect_body NAME LINE...: each LINE is a whole line of $tmp/NAME.body.
expect_lines() {
        local name=$1 line

        shift
        for line in "$@"; do
                grep -qxF -- "$line" "$tmp/$name.body" || errors+=("$name: missing line: $line")
        done
}

promtool_ok() {
        if ! "$promtool" check metrics <"$tmp/$1.body" >"$tmp/$1.promtool" 2>&1; then
                errors+=("promtool check metrics refuses $1:")
                mapfile -t lines <"$tmp/$1.promtool"
                errors+=(${lines[@]+"${lines[@]}"})
        fi
}

run() {
        local name=$1

        shift
        timeout -k 5 "${RUN_TIMEOUT:-30}" "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
        rc=$?
}

# field VAR TARGET FILTER: a jq FILTER on the target's status object, through the control socket.
field() {
        local value

        value=$(timeout -k 5 30 "$TLSWATCHCTL" --socket "$sock" status --json "$2" 2>/dev/null | "$jq" -r ".[0] | $3")
        [[ -n $value && $value != null ]] || value="?"
        printf -v "$1" '%s' "$value"
}

# Set by field.
probes0='' probes1=''

not_after_unix() {
        date -u -d "$("$openssl" x509 -in "$pki/$1.pem" -noout -enddate | cut -d= -f2)" +%s
}

url() {
        echo "http://127.0.0.1:$http_port$1"
}

# --- the daemon ----------------------------------------------------------------------------------------

pick_ports 4
http_port=${picked[0]} moved_port=${picked[1]} taken_port=${picked[2]}
sock=$tmp/control.sock
conf=$tmp/tlswatch.conf
metrics_file=$tmp/metrics.prom
mkdir -p "$tmp/state"
# write_conf LISTEN [HTTP-LINES...]: the configuration with an [HTTP] section.
write_conf() {
        local listen=$1

        shift
        {
                cat <<EOF
[Defaults]
CAFile=$pki/root.pem
ServerName=localhost
Interval=2s
Timeout=1s
ControlSocket=$sock
MetricsFile=$metrics_file

[Target good]
Address=127.0.0.1:${port[good]}
Protocol=tls

[Target soon]
Address=127.0.0.1:${port[soon]}
Protocol=tls

# The endpoint: listed after the targets, its errors name this file and line.
[HTTP]
Listen=$listen
EOF
                printf '%s\n' "$@"
        } >"$conf"
}
write_conf "127.0.0.1:$http_port"
http_line=$(grep -n '^\[HTTP\]' "$conf" | cut -d: -f1)

start_daemon main -c "$conf" --state-directory "$tmp/state"
wait_daemon main "$sock"

errors=()
ready=no
for ((i = 0; i < 300; i++)); do
        get ready "$(url /-/ready)"
        [[ $code == 200 ]] && ready=yes && break
        sleep 0.1
done
[[ $ready == yes ]] || errors+=("/-/ready did not answer 200 within 30 s (last: $code)")
grep -qF "HTTP endpoint on http://127.0.0.1:$http_port/" "$tmp/main.err" ||
        errors+=("no log line \"HTTP endpoint on http://127.0.0.1:$http_port/\"")
report "the endpoint listens on Listen= and is ready once both targets are probed" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/ready.body" "$tmp/main.err"

# --- /metrics ------------------------------------------------------------------------------------------

errors=()
last=metrics
get metrics "$(url /metrics)"
expect_code 200
expect_header Content-Type 'text/plain; version=0\.0\.4; charset=utf-8'
promtool_ok metrics
id_good="instance=\"127.0.0.1:${port[good]}\",target=\"good\""
id_soon="instance=\"127.0.0.1:${port[soon]}\",target=\"soon\""
labels_good="$id_good,address=\"127.0.0.1\",protocol=\"tls\""
labels_soon="$id_soon,address=\"127.0.0.1\",protocol=\"tls\""
# soon is critical (3 days left, CritDays=7): not a success, as blackbox users alert on it.
expect_lines metrics "probe_success{$labels_good} 1" "probe_success{$labels_soon} 0" \
        "probe_ssl_earliest_cert_expiry{$labels_good} $(not_after_unix good)" \
        "probe_ssl_earliest_cert_expiry{$labels_soon} $(not_after_unix soon3)" \
        "probe_tls_version_info{$labels_good,version=\"TLS 1.3\"} 1" \
        "tlswatch_target_status{$id_good,protocol=\"tls\"} 0" \
        "tlswatch_target_status{$id_soon,protocol=\"tls\"} 2" \
        "tlswatch_problem{$id_soon,protocol=\"tls\",code=\"expires_soon\",severity=\"critical\"} 1" \
        "tlswatch_targets 2"
grep -qxF "probe_ssl_last_chain_info{$labels_good,fingerprint_sha256=\"$(fingerprint good)\",subject=\"CN=tlswatch good\",issuer=\"CN=tlswatch test intermediate\",subjectalternative=\"localhost,127.0.0.1,::1\"} 1" \
        "$tmp/metrics.body" || errors+=("no probe_ssl_last_chain_info for good with its fingerprint, subject, issuer and SANs")
grep -qE '^tlswatch_build_info\{version="[^"]+",openssl="3\.[^"]+"\} 1$' "$tmp/metrics.body" ||
        errors+=("no tlswatch_build_info{version,openssl} 1")
stamp=$(sed -n 's/^tlswatch_metrics_timestamp_seconds \([0-9.]*\)$/\1/p' "$tmp/metrics.body")
now=$(date +%s)
[[ -n $stamp ]] && (($(printf '%.0f' "$stamp") >= now - 60 && $(printf '%.0f' "$stamp") <= now + 5)) ||
        errors+=("tlswatch_metrics_timestamp_seconds \"$stamp\" is not the time of the scrape ($now)")
grep -qE "^tlswatch_last_probe_timestamp_seconds\{$id_good,protocol=\"tls\"\} [0-9]+\.[0-9]+$" \
        "$tmp/metrics.body" || errors+=("no tlswatch_last_probe_timestamp_seconds for good")
report "/metrics: Prometheus's content type, promtool accepts it, instance/target labels, chain info, build info, timestamp" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/metrics.body"

errors=()
# MetricsFile= is written a few seconds after probes (every 2 s here): the same families, its own time.
file_stamp=""
for ((i = 0; i < 150; i++)); do
        file_stamp=$(sed -n 's/^tlswatch_metrics_timestamp_seconds \([0-9.]*\)$/\1/p' "$metrics_file" 2>/dev/null)
        [[ -n $file_stamp ]] && break
        sleep 0.1
done
[[ -n $file_stamp ]] || errors+=("$metrics_file has no tlswatch_metrics_timestamp_seconds within 15 s")
grep -qxF "probe_success{$labels_good} 1" "$metrics_file" 2>/dev/null ||
        errors+=("$metrics_file lacks probe_success{$labels_good} 1")
report "MetricsFile=: the same labels, and a timestamp that shows its age" ${errors[@]+"${errors[@]}"} -- \
        "$metrics_file"

# --- /probe --------------------------------------------------------------------------------------------

errors=()
last=probe
get probe "$(url "/probe?target=127.0.0.1:${port[good]}&module=tls")"
expect_code 200
expect_header Content-Type 'text/plain; version=0\.0\.4; charset=utf-8'
promtool_ok probe
expect_lines probe "probe_success 1" "probe_ssl_earliest_cert_expiry $(not_after_unix good)" \
        "probe_ssl_last_chain_expiry_timestamp_seconds $(not_after_unix good)" \
        "probe_tls_version_info{version=\"TLS 1.3\"} 1" "tlswatch_target_status 0"
grep -qxF "probe_ssl_last_chain_info{fingerprint_sha256=\"$(fingerprint good)\",subject=\"CN=tlswatch good\",issuer=\"CN=tlswatch test intermediate\",subjectalternative=\"localhost,127.0.0.1,::1\"} 1" \
        "$tmp/probe.body" || errors+=("no probe_ssl_last_chain_info for good")
grep -E '^[a-z_]+\{[^}]*(instance|target|address)=' "$tmp/probe.body" >/dev/null &&
        errors+=("/probe's samples carry listener labels, which Prometheus sets by relabeling")
grep -qE '^probe_duration_seconds [0-9]+\.[0-9]+$' "$tmp/probe.body" || errors+=("no probe_duration_seconds")
get probe-nomodule "$(url "/probe?target=127.0.0.1:${port[soon]}")"
expect_code 200
expect_lines probe-nomodule "probe_success 0" "probe_ssl_earliest_cert_expiry $(not_after_unix soon3)" \
        "tlswatch_target_status 2" "tlswatch_problem{code=\"expires_soon\",severity=\"critical\"} 1"
report "/probe?target=HOST:PORT[&module=]: blackbox's families from the last result, no listener labels" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/probe.body" "$tmp/probe-nomodule.body"

errors=()
check_refusal() {
        local name=$1 path=$2 want=$3 text=$4

        get "$name" "$(url "$path")"
        [[ $code == "$want" ]] || errors+=("$path: HTTP $code, expected $want")
        grep -qF -- "$text" "$tmp/$name.body" || errors+=("$path: the answer lacks \"$text\": $(head -c 200 "$tmp/$name.body")")
}
check_refusal p-wrong-module "/probe?target=127.0.0.1:${port[good]}&module=mqtt" 404 \
        "no configured target is 127.0.0.1:${port[good]} with protocol mqtt"
check_refusal p-unknown "/probe?target=127.0.0.1:${port[extra]}" 404 \
        "no configured target is 127.0.0.1:${port[extra]} (ProbeOnDemand=yes would probe it)"
check_refusal p-bad-module "/probe?target=127.0.0.1:${port[good]}&module=smtp" 400 \
        "module: \"smtp\" is not one of"
check_refusal p-no-target "/probe" 400 "the target parameter is missing"
check_refusal p-bad-target "/probe?target=nohostport" 400 "target: \"nohostport\":"
check_refusal nowhere "/nowhere" 404 "not found"
report "/probe refuses with 404/400 and a plain-text reason; unknown paths 404" ${errors[@]+"${errors[@]}"}

# --- the other paths, the methods ------------------------------------------------------------------------

errors=()
for path in /-/healthy /healthz; do
        get health "$(url "$path")"
        [[ $code == 200 ]] || errors+=("$path: HTTP $code")
done
last=status
get status "$(url /api/status)"
expect_code 200
expect_header Content-Type 'application/json'
"$jq" -e '.schema == "tlswatch.status/2" and (.targets | map(.name) | sort) == ["good","soon"] and
        (.webhooks | type) == "array"' "$tmp/status.body" >/dev/null 2>&1 ||
        errors+=("/api/status is not the status document of both targets")
run ctl-status "$TLSWATCHCTL" --socket "$sock" status --json
"$jq" -e --slurpfile http "$tmp/status.body" '(map(.name) | sort) == ($http[0].targets | map(.name) | sort)' \
        "$tmp/ctl-status.out" >/dev/null 2>&1 || errors+=("/api/status and tlswatchctl status name other targets")
get status-one "$(url "/api/status?target=good")"
[[ $code == 200 ]] && "$jq" -e '.targets | length == 1 and .[0].name == "good" and .[0].status == "ok"' \
        "$tmp/status-one.body" >/dev/null 2>&1 || errors+=("/api/status?target=good: HTTP $code, not good alone")
get status-none "$(url "/api/status?target=nope")"
[[ $code == 404 ]] || errors+=("/api/status?target=nope: HTTP $code, expected 404")
get index "$(url /)"
[[ $code == 200 ]] && grep -qF 'href="metrics"' "$tmp/index.body" || errors+=("/: HTTP $code or no link to metrics")
last=post
get post "$(url /metrics)" -X POST -d x=1
expect_code 405
expect_header Allow 'GET, HEAD'
get delete "$(url /api/status)" -X DELETE
[[ $code == 405 ]] || errors+=("DELETE /api/status: HTTP $code, expected 405")
get getbody "$(url /metrics)" -X GET -d x=1
[[ $code == 400 ]] || errors+=("GET with a body: HTTP $code, expected 400")
# Two requests on one connection: the connection is kept for the next scrape.
timeout -k 5 30 curl -sS -m 20 -v -o /dev/null -o /dev/null "$(url /-/healthy)" "$(url /metrics)" \
        >"$tmp/keepalive.out" 2>&1
grep -q 'Re-using existing connection' "$tmp/keepalive.out" || errors+=("the connection is not kept open (keep-alive)")
get head "$(url /metrics)" -I
# curl -I writes the head as the "body": there must be no sample in it.
[[ $code == 200 ]] && ! grep -q '^probe_success' "$tmp/head.body" || errors+=("HEAD /metrics: HTTP $code, or a body")
report "health, /api/status (= tlswatchctl status --json), the index; POST/DELETE 405 with Allow, HEAD, keep-alive" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/status.body" "$tmp/post.head"

# --- basic authentication ----------------------------------------------------------------------------------

errors=()
printf '# who may scrape\nprometheus:s3cret:with:colons\n\nops:other\n' >"$tmp/users"
chmod 0600 "$tmp/users"
write_conf "127.0.0.1:$http_port" "BasicAuthFile=$tmp/users"
run reload-auth "$TLSWATCHCTL" --socket "$sock" reload
((rc == 0)) || errors+=("reload with BasicAuthFile= failed: $(cat "$tmp/reload-auth.err")")
last=noauth
get noauth "$(url /metrics)"
expect_code 401
expect_header WWW-Authenticate 'Basic realm="tlswatch".*'
get wrongauth "$(url /metrics)" -u prometheus:wrong
[[ $code == 401 ]] || errors+=("a wrong password: HTTP $code, expected 401")
get goodauth "$(url /metrics)" -u 'prometheus:s3cret:with:colons'
[[ $code == 200 ]] && grep -q '^probe_success{' "$tmp/goodauth.body" || errors+=("the right password: HTTP $code")
get otheruser "$(url "/probe?target=127.0.0.1:${port[good]}")" -u ops:other
[[ $code == 200 ]] || errors+=("the second user on /probe: HTTP $code")
get health-noauth "$(url /-/healthy)"
[[ $code == 200 ]] || errors+=("/-/healthy without credentials: HTTP $code, expected 200")
grep -qF 's3cret' "$tmp/main.err" "$tmp/main.out" && errors+=("a password reached the daemon's log")
report "BasicAuthFile=: 401 with a Basic challenge, wrong password 401, each user 200, health open" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/noauth.head"

errors=()
write_conf "127.0.0.1:$http_port" "BasicAuthFile=$tmp/missing-users"
run reload-missing "$TLSWATCHCTL" --socket "$sock" reload
((rc != 0)) || errors+=("a reload with a missing BasicAuthFile= succeeded")
grep -qF "$conf:$http_line: [HTTP]: BasicAuthFile=$tmp/missing-users: No such file or directory" \
        "$tmp/reload-missing.err" || errors+=("no file:line error naming BasicAuthFile=: $(cat "$tmp/reload-missing.err")")
get still-auth "$(url /metrics)"
[[ $code == 401 ]] || errors+=("after the refused reload: HTTP $code without credentials, expected 401 (old config)")
run check-config "$TLSWATCHD" --check-config -c "$conf"
((rc != 0)) && grep -qF "BasicAuthFile=$tmp/missing-users" "$tmp/check-config.err" ||
        errors+=("--check-config does not catch the missing BasicAuthFile=")
report "a BasicAuthFile= that cannot be read refuses the reload (file:line), the old users stay" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/reload-missing.err"

# --- reloads that move the endpoint ------------------------------------------------------------------------

errors=()
write_conf "127.0.0.1:$moved_port"
run reload-move "$TLSWATCHCTL" --socket "$sock" reload
((rc == 0)) || errors+=("reload to Listen=127.0.0.1:$moved_port failed: $(cat "$tmp/reload-move.err")")
old_port=$http_port
http_port=$moved_port
get moved "$(url /metrics)"
[[ $code == 200 ]] || errors+=("the new port $moved_port: HTTP $code (no auth any more)")
get old "http://127.0.0.1:$old_port/metrics"
[[ $code == 000 ]] || errors+=("the old port $old_port still answers (HTTP $code)")
report "a reload with another Listen= moves the endpoint; the old port is closed" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/main.err"

errors=()
# Something else holds the port the next reload asks for.
listen_port=$taken_port start_tls squatter -cert "$pki/good.pem" -key "$pki/good.key"
listen_port=$taken_port wait_port squatter
write_conf "127.0.0.1:$taken_port"
run reload-taken "$TLSWATCHCTL" --socket "$sock" reload
((rc != 0)) || errors+=("a reload to a taken port succeeded")
grep -qF "$conf:$http_line: [HTTP]: Listen=127.0.0.1:$taken_port: cannot listen: Address already in use" \
        "$tmp/reload-taken.err" || errors+=("no clear error: $(cat "$tmp/reload-taken.err")")
grep -qF "reload failed, keeping the running configuration" "$tmp/main.err" ||
        errors+=("the daemon did not log the refused reload")
get kept "$(url /metrics)"
[[ $code == 200 ]] || errors+=("after the refused reload, the old port $http_port: HTTP $code")
running "${pid[main]}" || errors+=("the daemon died")
report "a reload whose Listen= is taken is refused with the reason; the old endpoint keeps answering" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/reload-taken.err"

# --- on-demand probes ----------------------------------------------------------------------------------------

errors=()
write_conf "127.0.0.1:$http_port" "ProbeOnDemand=yes"
run reload-demand "$TLSWATCHCTL" --socket "$sock" reload
((rc == 0)) || errors+=("reload with ProbeOnDemand=yes failed: $(cat "$tmp/reload-demand.err")")
# The extra listener's chain comes from the test CA, which an on-demand probe (system trust store)
# does not trust: a blackbox-style failure, HTTP 200 and probe_success 0, with what it saw.
get demand "$(url "/probe?target=127.0.0.1:${port[extra]}&module=tls")"
[[ $code == 200 ]] || errors+=("on-demand /probe: HTTP $code, expected 200")
expect_lines demand "probe_success 0" "probe_ssl_earliest_cert_expiry $(not_after_unix ec)" \
        "probe_tls_version_info{version=\"TLS 1.3\"} 1"
grep -qE '^tlswatch_problem\{code="chain_unverified",severity="critical"\} 1$' \
        "$tmp/demand.body" || errors+=("no critical trust problem in the on-demand answer")
"$promtool" check metrics <"$tmp/demand.body" >/dev/null 2>&1 || errors+=("promtool refuses the on-demand answer")
# Nothing listens there: still 200, probe_success 0.
pick_ports 1
get demand-closed "$(url "/probe?target=127.0.0.1:${picked[0]}")"
[[ $code == 200 ]] && grep -qxF "probe_success 0" "$tmp/demand-closed.body" ||
        errors+=("on-demand probe of a closed port: HTTP $code, not probe_success 0")
# The configured targets still answer from their last result.
get demand-configured "$(url "/probe?target=127.0.0.1:${port[good]}")"
[[ $code == 200 ]] && grep -qxF "probe_success 1" "$tmp/demand-configured.body" ||
        errors+=("the configured target with ProbeOnDemand=yes: HTTP $code")
report "ProbeOnDemand=yes: an unconfigured target is probed, blackbox semantics (200, probe_success 0)" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/demand.body" "$tmp/demand-closed.body"

errors=()
# MaxProbesOnDemand=1: a second on-demand probe while one runs gets 503. The first, of a listener that
# never answers, ends at the scrape timeout Prometheus announces (less half a second).
write_conf "127.0.0.1:$http_port" "ProbeOnDemand=yes" "MaxProbesOnDemand=1"
run reload-demand1 "$TLSWATCHCTL" --socket "$sock" reload
((rc == 0)) || errors+=("reload with MaxProbesOnDemand=1 failed: $(cat "$tmp/reload-demand1.err")")
timeout -k 5 30 curl -sS -m 20 -o "$tmp/slow.body" -w '%{http_code}' -H 'X-Prometheus-Scrape-Timeout-Seconds: 3' \
        "$(url "/probe?target=127.0.0.1:${port[silent]}&module=tls")" >"$tmp/slow.code" 2>"$tmp/slow.err" &
slow_pid=$!
pids+=("$slow_pid")
# The slot is the slow probe's only once its connection to the silent listener exists: before that, on
# a loaded machine, the second request can be first and take it.
# /proc/net/tcp: local and remote address as hex IP:PORT, then the state (01: established).
in_flight() {
        awk -v port="$(printf '%04X' "${port[silent]}")" '
                $3 ~ ":" port "$" && $4 == "01" { found = 1 } END { exit !found }' /proc/net/tcp
}
for ((i = 0; i < 200; i++)); do
        in_flight && break
        running "$slow_pid" || break
        sleep 0.05
done
in_flight || errors+=("the on-demand probe of the silent listener did not connect within 10 s")
busy=no
for ((i = 0; i < 100; i++)); do
        get second "$(url "/probe?target=127.0.0.1:${port[extra]}")"
        [[ $code == 503 ]] && busy=yes && break
        sleep 0.02
done
[[ $busy == yes ]] && grep -qF "MaxProbesOnDemand=" "$tmp/second.body" ||
        errors+=("a second on-demand probe while one runs: HTTP $code, not 503")
wait "$slow_pid"
[[ $(cat "$tmp/slow.code") == 200 ]] && grep -qxF "probe_success 0" "$tmp/slow.body" &&
        grep -q '^tlswatch_problem{code="timeout"' "$tmp/slow.body" ||
        errors+=("the probe of the silent listener: HTTP $(cat "$tmp/slow.code"), not a timeout with probe_success 0")
report "MaxProbesOnDemand=: one more gets 503; X-Prometheus-Scrape-Timeout-Seconds bounds the probe" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/second.body" "$tmp/slow.body"

errors=()
# A reload that changes the endpoint's bounds while an on-demand probe waits: the waiting client still
# gets its answer from the old server, the new bounds serve on the same port at once.
timeout -k 5 30 curl -sS -m 20 -o "$tmp/moving.body" -w '%{http_code}' -H 'X-Prometheus-Scrape-Timeout-Seconds: 4' \
        "$(url "/probe?target=127.0.0.1:${port[silent]}&module=tls")" >"$tmp/moving.code" 2>"$tmp/moving.err" &
moving_pid=$!
pids+=("$moving_pid")
sleep 1
write_conf "127.0.0.1:$http_port" "ProbeOnDemand=yes" "MaxConnections=63"
run reload-bounds "$TLSWATCHCTL" --socket "$sock" reload
((rc == 0)) || errors+=("reload with new bounds failed: $(cat "$tmp/reload-bounds.err")")
get after-bounds "$(url /metrics)"
[[ $code == 200 ]] || errors+=("after the reload with new bounds: HTTP $code on the same port")
wait "$moving_pid"
[[ $(cat "$tmp/moving.code") == 200 ]] && grep -qxF "probe_success 0" "$tmp/moving.body" ||
        errors+=("the waiting client got HTTP $(cat "$tmp/moving.code"), not its answer")
running "${pid[main]}" || errors+=("the daemon died")
report "a reload with new bounds while an on-demand probe waits: it is answered, the same port serves on" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/moving.body" "$tmp/main.err"

# --- abuse -------------------------------------------------------------------------------------------------------

errors=()
field probes0 good .probes
t0=$SECONDS
# A 1 MiB request line first, alone: the idle connections below fill what one address may hold.
run longline timeout 30 "$python" "$abuse" 127.0.0.1 "$http_port" longline 1048576
# Refused with 414 (or the connection reset before the whole line was sent), never read to its end.
grep -qE '^status (414|431|400)$|^send_error (32|104)$' "$tmp/longline.out" ||
        errors+=("the 1 MiB request line: not refused with 414/431/400: $(tr '\n' ' ' <"$tmp/longline.out")")
# A client that asks for /metrics again and again and never reads, then 1,000 idle connections, both
# for 8 s (the endpoint takes 16 from one address, 64 in all, and closes the rest; an idle one is
# closed after Timeout=, 10 s).
"$python" "$abuse" 127.0.0.1 "$http_port" noread /metrics 8 >"$tmp/noread.out" 2>"$tmp/noread.err" &
noread_pid=$!
pids+=("$noread_pid")
sleep 0.5
"$python" "$abuse" 127.0.0.1 "$http_port" idle 1000 8 >"$tmp/idle.out" 2>"$tmp/idle.err" &
idle_pid=$!
pids+=("$idle_pid")
# Meanwhile the control socket answers, every time.
for ((i = 0; i < 5; i++)); do
        run ctl-abuse "$TLSWATCHCTL" --socket "$sock" status --json
        # Exit 2: soon is critical; the answer is what counts.
        ((rc == 2)) && "$jq" -e 'length == 2' "$tmp/ctl-abuse.out" >/dev/null 2>&1 ||
                errors+=("tlswatchctl status during the abuse: exit $rc, $(head -c 200 "$tmp/ctl-abuse.err")")
        sleep 1
done
wait "$idle_pid"
wait "$noread_pid"
grep -qx 'opened 1000' "$tmp/idle.out" || errors+=("the idle client: $(tr '\n' ' ' <"$tmp/idle.out")")
field probes1 good .probes
elapsed=$((SECONDS - t0))
# Interval=2s: over $elapsed s (>= 8) the schedule goes on; at least two more probes, generously.
[[ $probes0 =~ ^[0-9]+$ && $probes1 =~ ^[0-9]+$ ]] && ((probes1 >= probes0 + 2)) ||
        errors+=("probes of good went from $probes0 to $probes1 in $elapsed s of abuse (Interval=2s)")
running "${pid[main]}" || errors+=("the daemon died")
# Once the abusers are gone, the endpoint answers again (idle connections end at Timeout=).
answered=no
for ((i = 0; i < 300; i++)); do
        get after-abuse "$(url /metrics)"
        [[ $code == 200 ]] && answered=yes && break
        sleep 0.1
done
[[ $answered == yes ]] || errors+=("/metrics does not answer within 30 s after the abuse (last: $code)")
fds=$(find "/proc/${pid[main]}/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
((fds < 100)) || errors+=("the daemon holds $fds descriptors after the abuse")
report "abuse: 1,000 idle connections, a 1 MiB request line, a non-reader; probing and the control socket go on" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/idle.out" "$tmp/longline.out" "$tmp/noread.out" "$tmp/main.err"

# --- off, and stop -----------------------------------------------------------------------------------------------

errors=()
write_conf "127.0.0.1:$http_port"
sed -i '/^\[HTTP\]/,$d' "$conf"
run reload-off "$TLSWATCHCTL" --socket "$sock" reload
((rc == 0)) || errors+=("reload without [HTTP] failed")
get off "$(url /metrics)"
[[ $code == 000 ]] || errors+=("without [HTTP] the port still answers (HTTP $code)")
stop_daemon main
((daemon_rc == 0)) || errors+=("tlswatchd exited $(describe_rc "$daemon_rc") on SIGTERM")
# The file written at the stop keeps its time: how old it is shows that nobody writes it any more.
stamp_at_stop=$(sed -n 's/^tlswatch_metrics_timestamp_seconds \([0-9.]*\)$/\1/p' "$metrics_file")
sleep 2
stamp_later=$(sed -n 's/^tlswatch_metrics_timestamp_seconds \([0-9.]*\)$/\1/p' "$metrics_file")
[[ -n $stamp_at_stop && $stamp_at_stop == "$stamp_later" ]] && (($(date +%s) > ${stamp_at_stop%.*})) ||
        errors+=("MetricsFile= after the stop: timestamp \"$stamp_at_stop\", then \"$stamp_later\"")
report "a reload without [HTTP] closes the endpoint; the daemon stops cleanly; its MetricsFile= shows its age" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/main.err"

summary
