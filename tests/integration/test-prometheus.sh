#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real Prometheus (Debian's) scrapes a real tlswatchd: /metrics directly (honor_labels) and /probe with
# the blackbox exporter's relabeling, both every second, while `openssl s_server` listeners on loopback
# serve a good certificate and one that expires in ten days. Its HTTP API must return
# probe_ssl_earliest_cert_expiry{instance="127.0.0.1:PORT"} for each listener from both jobs, and an
# expiry alert rule must fire for the expiring listener only, then stop once that listener serves a
# good certificate again. Run by the automake harness: 0 pass, 1 fail, 99 broken environment.

# SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2016

set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

hide_journal "$@"
forget_service_environment
export LC_ALL=C

need_programs TLSWATCHD TLSWATCHCTL
prometheus=${PROMETHEUS:-prometheus}
promtool=${PROMTOOL:-promtool}
need_commands "$openssl" "$jq" curl timeout
for tool in "$prometheus" "$promtool"; do
        command -v "$tool" >/dev/null 2>&1 || hard_error "$tool not found (Debian package prometheus)"
done

make_tmp
make_pki

# --- listeners and the daemon --------------------------------------------------------------------------

start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
start_tls expiring -cert "$pki/soon10.pem" -key "$pki/soon10.key" -cert_chain "$pki/int.pem"
wait_port good
wait_port expiring

pick_ports 2
http_port=${picked[0]} prometheus_port=${picked[1]}
sock=$tmp/control.sock
mkdir -p "$tmp/state"
cat >"$tmp/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
ServerName=localhost
Protocol=tls
Interval=5s
Timeout=2s
ControlSocket=$sock

[Target good]
Address=127.0.0.1:${port[good]}

[Target expiring]
Address=127.0.0.1:${port[expiring]}

[HTTP]
Listen=127.0.0.1:$http_port
EOF
start_daemon main -c "$tmp/tlswatch.conf" --state-directory "$tmp/state"
wait_daemon main "$sock"

# --- Prometheus ------------------------------------------------------------------------------------------

# The shipped rules (examples/), their for: durations cut to nothing: a test cannot wait 15 minutes,
# and the expressions are what is tested. Without them (a tree before examples/), the expiry rule
# they ship, inline.
shipped_rules=${SHIPPED_RULES:-$TESTS_SRCDIR/../examples/prometheus/tlswatch.rules.yml}
if [[ -f $shipped_rules ]]; then
        sed -E 's/^( *)for: .*/\1for: 0s/' "$shipped_rules" >"$tmp/rules.yml"
        echo "# rules: $shipped_rules, for: 0s"
else
        cat >"$tmp/rules.yml" <<'EOF'
groups:
  - name: tlswatch-test
    rules:
      - alert: TLSWatchCertificateExpiresSoon
        expr: probe_ssl_earliest_cert_expiry - time() < 14 * 86400 and probe_ssl_earliest_cert_expiry - time() >= 3 * 86400
        labels:
          severity: warning
        annotations:
          summary: "Certificate of {{ $labels.instance }} expires in {{ $value | humanizeDuration }}"
EOF
        echo "# rules: inline (no $shipped_rules)"
fi

cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $tmp/rules.yml
scrape_configs:
  # Every target's series, with the daemon's own instance and target labels kept.
  - job_name: tlswatch
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$http_port"]
  # As with the blackbox exporter: the listener is the target, tlswatchd the address scraped.
  - job_name: tlswatch-probe
    metrics_path: /probe
    params:
      module: [tls]
    static_configs:
      - targets: ["127.0.0.1:${port[good]}", "127.0.0.1:${port[expiring]}"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:$http_port
EOF

errors=()
if ! "$promtool" check config "$tmp/prometheus.yml" >"$tmp/check-config.out" 2>&1; then
        errors+=("promtool check config refuses the scrape configuration")
fi
report "promtool accepts the scrape configuration and the rules" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/check-config.out"

start_process prometheus "$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
        --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn
papi="http://127.0.0.1:$prometheus_port"

# query NAME PROMQL: an instant query into $tmp/NAME.json.
query() {
        timeout -k 5 20 curl -sS -m 10 -G --data-urlencode "query=$2" "$papi/api/v1/query" >"$tmp/$1.json" \
                2>"$tmp/$1.err"
}

ready=no
for ((i = 0; i < 600; i++)); do
        if timeout 5 curl -sf -m 2 -o /dev/null "$papi/-/ready" 2>/dev/null; then
                ready=yes
                break
        fi
        running "${pid[prometheus]}" || break
        sleep 0.1
done
[[ $ready == yes ]] || hard_error "prometheus did not become ready within 60 s: $(tail -5 "$tmp/prometheus.err")"

# --- the series ------------------------------------------------------------------------------------------

not_after_unix() {
        date -u -d "$("$openssl" x509 -in "$pki/$1.pem" -noout -enddate | cut -d= -f2)" +%s
}

# has_expiry LISTENER CERT: both jobs return the listener's expiry, the certificate's notAfter.
has_expiry() {
        local instance="127.0.0.1:${port[$1]}" want

        want=$(not_after_unix "$2")
        query "expiry-$1" "probe_ssl_earliest_cert_expiry{instance=\"$instance\"}"
        "$jq" -e --arg want "$want" '.status == "success" and
                (.data.result | map(select(.value[1] == $want) | .metric.job) | sort) == ["tlswatch","tlswatch-probe"]' \
                "$tmp/expiry-$1.json" >/dev/null 2>&1
}

errors=()
found=no
for ((i = 0; i < 600; i++)); do
        has_expiry good good && has_expiry expiring soon10 && found=yes && break
        sleep 0.1
done
[[ $found == yes ]] ||
        errors+=("probe_ssl_earliest_cert_expiry{instance=...} is not in both jobs with the notAfter within 60 s")
# The direct job keeps the daemon's labels (honor_labels), the /probe job has Prometheus's.
"$jq" -e '.data.result | map(select(.metric.job == "tlswatch")) | .[0].metric |
        .target == "good" and .protocol == "tls" and .address == "127.0.0.1"' "$tmp/expiry-good.json" >/dev/null 2>&1 ||
        errors+=("the direct job lost the target/protocol/address labels")
query up 'up{job=~"tlswatch|tlswatch-probe"}'
"$jq" -e '.data.result | length == 3 and all(.value[1] == "1")' "$tmp/up.json" >/dev/null 2>&1 ||
        errors+=("not all three scrapes are up")
report "Prometheus: probe_ssl_earliest_cert_expiry{instance=\"127.0.0.1:PORT\"} for each listener, direct and via /probe" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/expiry-good.json" "$tmp/expiry-expiring.json" "$tmp/up.json" \
        "$tmp/prometheus.err"

# --- the alert -----------------------------------------------------------------------------------------------

# firing_instances: the instances of firing expiry alerts, sorted and unique, one line.
firing_instances() {
        timeout -k 5 20 curl -sS -m 10 "$papi/api/v1/alerts" >"$tmp/alerts.json" 2>/dev/null
        "$jq" -r '[.data.alerts[] | select(.state == "firing" and (.labels.alertname | test("Expir"))) |
                .labels.instance] | unique | join(" ")' "$tmp/alerts.json" 2>/dev/null
}

errors=()
fired=""
for ((i = 0; i < 600; i++)); do
        fired=$(firing_instances)
        [[ $fired == *"127.0.0.1:${port[expiring]}"* ]] && break
        sleep 0.1
done
[[ $fired == *"127.0.0.1:${port[expiring]}"* ]] ||
        errors+=("no expiry alert fires for 127.0.0.1:${port[expiring]} within 60 s (firing: \"$fired\")")
[[ $fired == *"127.0.0.1:${port[good]}"* ]] && errors+=("an expiry alert fires for the good listener too")
report "the expiry rule fires in Prometheus for the listener whose certificate expires in 10 days only" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/alerts.json" "$tmp/rules.yml"

errors=()
# The fix: the listener serves a good certificate again (same port), and tlswatch probes it now.
stop_pid "${pid[expiring]}" 10
listen_port=${port[expiring]} start_tls expiring -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
listen_port=${port[expiring]} wait_port expiring
timeout -k 5 30 "$TLSWATCHCTL" --socket "$sock" check expiring >"$tmp/check.out" 2>&1 ||
        errors+=("tlswatchctl check expiring after the fix: $(tail -1 "$tmp/check.out")")
stopped=no
for ((i = 0; i < 600; i++)); do
        fired=$(firing_instances)
        [[ $fired != *"127.0.0.1:${port[expiring]}"* ]] && stopped=yes && break
        sleep 0.1
done
[[ $stopped == yes ]] || errors+=("the expiry alert still fires 60 s after the fix (firing: \"$fired\")")
has_expiry expiring good || errors+=("the fixed listener's expiry is not the good certificate's in Prometheus")
report "after the fix (a good certificate, a probe), the alert stops firing" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/alerts.json" "$tmp/check.out"

stop_pid "${pid[prometheus]}" 30
stop_daemon main
summary
