#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the shipped examples/ with the tools they are written for: the alert rules with `promtool
# check rules` and `promtool test rules` (recorded series, every alert firing and not firing), the
# scrape configs with `promtool check config`, the Alertmanager route with `amtool check-config` and
# `amtool config routes test` (critical pages, warning mails and chats, info chats), and the Grafana dashboard's
# JSON. Then a live tlswatchd probes real s_server listeners on loopback, and every metric and label
# the rules and the dashboard use, and every recorded series of the rules' tests, must be one the
# daemon exports (tests/integration/check-examples.py) -- read from its HTTP endpoint's /metrics when
# the build has one ([HTTP] Listen=), else from the control socket's `tlswatchctl metrics` (the same
# exposition) and its MetricsFile=; and every runbook_url anchor a section of docs/RUNBOOK.md when the
# tree has it. Last, a real Prometheus scrapes that MetricsFile= with the job of the node-exporter
# recipe and loads the shipped rules. Run by the automake harness: 0 pass, 1 fail, 77 skipped (only
# when promtool is missing: the README's apt line installs it), 99 broken environment.

# SC2016: the $ in single quotes are jq's.
# shellcheck disable=SC2016

# No `set -e`: commands fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

promtool=${PROMTOOL:-promtool}
if ! command -v "$promtool" >/dev/null 2>&1; then
        echo "SKIP: $test_name: promtool not found (apt-get install prometheus): the shipped alert rules" \
                "and scrape configs are NOT checked" >&2
        exit 77
fi

hide_journal "$@"
forget_service_environment
export LC_ALL=C.UTF-8

need_programs TLSWATCHD TLSWATCHCTL
amtool=${AMTOOL:-amtool}
need_commands "$openssl" "$jq" "$amtool" python3 curl timeout
python3 -c 'import yaml' 2>/dev/null || hard_error "python3 cannot import yaml (apt-get install python3-yaml)"
top=$(cd "$TESTS_SRCDIR/.." && pwd) || hard_error "TESTS_SRCDIR=$TESTS_SRCDIR: no parent directory"
examples=$top/examples
checker=$TESTS_SRCDIR/integration/check-examples.py
rules=$examples/prometheus/tlswatch.rules.yml
rules_test=$examples/prometheus/tlswatch.rules.test.yml
dashboard=$examples/grafana/tlswatch-dashboard.json
for f in "$checker" "$rules" "$rules_test" "$dashboard" "$examples/README.md" \
        "$examples/prometheus/prometheus.yml" "$examples/prometheus/node-exporter.yml" \
        "$examples/alertmanager/alertmanager.yml" "$examples/node-exporter/README.md" \
        "$examples/node-exporter/60-metrics-file.conf"; do
        [[ -f $f ]] || hard_error "$f not found"
done

make_tmp
make_pki

# run NAME COMMAND...: COMMAND's output in $tmp/NAME.out, its status in rc.
run() {
        local name=$1

        shift
        timeout -k 5 60 "$@" >"$tmp/$name.out" 2>&1
        rc=$?
}

# --- the files, offline ---------------------------------------------------------------------------------

run check-rules "$promtool" check rules "$rules"
errors=()
((rc == 0)) || errors+=("promtool check rules: exit $(describe_rc "$rc")")
report "promtool check rules tlswatch.rules.yml" ${errors[@]+"${errors[@]}"} -- "$tmp/check-rules.out"

# promtool resolves rule_files relative to the test file: it runs on the shipped pair as it is.
run test-rules "$promtool" test rules "$rules_test"
errors=()
((rc == 0)) || errors+=("promtool test rules: exit $(describe_rc "$rc")")
grep -q 'SUCCESS' "$tmp/test-rules.out" || errors+=("no SUCCESS in promtool's output")
report "promtool test rules tlswatch.rules.test.yml" ${errors[@]+"${errors[@]}"} -- "$tmp/test-rules.out"

# Every alert of the rules file has a case in the test file, and every case names an alert there.
errors=()
mapfile -t alerts < <(python3 -c 'import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        print(r.get("alert", ""))' "$rules" | sort -u)
mapfile -t tested < <(python3 -c 'import sys, yaml
for t in yaml.safe_load(open(sys.argv[1]))["tests"]:
    for a in t.get("alert_rule_test", []):
        print(a["alertname"], "fires" if a.get("exp_alerts") else "quiet")' "$rules_test" | sort -u)
for a in "${alerts[@]}"; do
        [[ " ${tested[*]} " == *" $a fires "* ]] || errors+=("$a: no test case where it fires")
        [[ " ${tested[*]} " == *" $a quiet "* ]] || errors+=("$a: no test case where it does not fire")
done
((${#alerts[@]} >= 8)) || errors+=("only ${#alerts[@]} alerts in $rules")
report "every alert is tested firing and not firing" ${errors[@]+"${errors[@]}"}

errors=()
for f in prometheus.yml node-exporter.yml; do
        run check-config "$promtool" check config "$examples/prometheus/$f"
        ((rc == 0)) || errors+=("promtool check config $f: exit $(describe_rc "$rc")" "$(cat "$tmp/check-config.out")")
done
report "promtool check config prometheus.yml node-exporter.yml" ${errors[@]+"${errors[@]}"}

# The direct scrape keeps the exposition's instance; /probe is relabeled as blackbox users do.
errors=()
prom=$examples/prometheus/prometheus.yml
jobs=$(python3 -c 'import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$prom") ||
        errors+=("cannot read $prom")
expect_jq() {
        "$jq" -e "$1" >/dev/null 2>&1 <<<"$jobs" || errors+=("prometheus.yml: not true: $1")
}
expect_jq '.scrape_configs[] | select(.job_name == "tlswatch") | .honor_labels == true and .metrics_path == "/metrics"
        and .static_configs[0].targets == ["127.0.0.1:9883"]'
expect_jq '.scrape_configs[] | select(.job_name == "tlswatch-probe") | .metrics_path == "/probe" and (.params.module | length == 1)
        and (.relabel_configs | map([(.source_labels // []), .target_label, (.replacement // null)]) ==
             [[["__address__"], "__param_target", null], [["__param_target"], "instance", null],
              [[], "__address__", "127.0.0.1:9883"]])'
report "scrape configs: direct with honor_labels, /probe with blackbox relabeling" ${errors[@]+"${errors[@]}"}

am=$examples/alertmanager/alertmanager.yml
run amtool-check "$amtool" check-config "$am"
errors=()
((rc == 0)) || errors+=("amtool check-config: exit $(describe_rc "$rc")")
# labels -> the receivers the route picks
for pair in "severity=critical alertname=TLSWatchChainProblem instance=a:8883|tls-pager" \
        "severity=warning alertname=TLSWatchCertificateExpiresSoon instance=a:8883|tls-mail,tls-chat" \
        "severity=critical alertname=TLSWatchExpired job=tlswatch code=expired|tls-pager" \
        "severity=info alertname=TLSWatchTest job=tlswatch code=test|tls-chat"; do
        # shellcheck disable=SC2086 # the labels are words
        got=$(timeout 30 "$amtool" config routes test --config.file="$am" ${pair%|*} 2>/dev/null)
        [[ $got == "${pair#*|}" ]] || errors+=("${pair%|*}: routed to '$got', want '${pair#*|}'")
done
report "amtool check-config, and the route splits by severity" ${errors[@]+"${errors[@]}"} -- "$tmp/amtool-check.out"

errors=()
"$jq" -e . "$dashboard" >/dev/null 2>"$tmp/jq.err" || errors+=("jq cannot parse it: $(cat "$tmp/jq.err")")
"$jq" -e '[.templating.list[].name] | index("instance") != null' "$dashboard" >/dev/null 2>&1 ||
        errors+=("no templating variable instance")
"$jq" -e '[.panels[] | select(.type != "row") | .targets[]?.datasource.uid] | all(. == "${datasource}")' \
        "$dashboard" >/dev/null 2>&1 || errors+=("a panel does not use the \${datasource} variable")
"$jq" -e '[.panels[] | select(.repeat == "instance")] | length == 1' "$dashboard" >/dev/null 2>&1 ||
        errors+=("no row repeated per instance (listener)")
for title in "Days left" "Status" "TLS version" "Probe duration" "Fingerprint changes"; do
        "$jq" -e --arg t "$title" '[.panels[] | select(.title == $t)] | length >= 1' "$dashboard" >/dev/null 2>&1 ||
                errors+=("no panel \"$title\"")
done
report "grafana dashboard: JSON, variables, panels per listener" ${errors[@]+"${errors[@]}"}

# --- a live daemon: what it exports ---------------------------------------------------------------------

# A good listener, one that expires in 10 days, and one whose certificate names another host: between
# them every family has samples (tlswatch_problem only exists while there is a problem).
start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
start_tls soon -cert "$pki/soon10.pem" -key "$pki/soon10.key" -cert_chain "$pki/int.pem"
start_tls wrongname -cert "$pki/wrongname.pem" -key "$pki/wrongname.key" -cert_chain "$pki/int.pem"
for s in good soon wrongname; do
        wait_port "$s"
done

mkdir -p "$tmp/d/state"
sock=$tmp/d/control.sock
metrics_file=$tmp/d/metrics.prom
write_conf() {
        cat <<EOF
[Defaults]
CAFile=$pki/root.pem
ServerName=localhost
Protocol=tls
Interval=60s
ControlSocket=$sock
MetricsFile=$metrics_file

[Target good]
Address=127.0.0.1:${port[good]}

[Target soon]
Address=127.0.0.1:${port[soon]}

[Target wrongname]
Address=127.0.0.1:${port[wrongname]}
EOF
        [[ -z ${http_port:-} ]] || printf '\n[HTTP]\nListen=127.0.0.1:%s\n' "$http_port"
}

# The HTTP endpoint where the daemon has one: a configuration with [HTTP] that --check-config takes.
pick_ports 1
http_port=${picked[0]}
write_conf >"$tmp/d/tlswatch.conf"
if ! "$TLSWATCHD" -c "$tmp/d/tlswatch.conf" --check-config >"$tmp/check-http.out" 2>&1; then
        echo "note: this tlswatchd takes no [HTTP] Listen= ($(head -n 1 "$tmp/check-http.out")): the metrics" \
                "come from the control socket (tlswatchctl metrics) and the MetricsFile= instead of /metrics"
        http_port=
        write_conf >"$tmp/d/tlswatch.conf"
fi
start_daemon d -c "$tmp/d/tlswatch.conf" --state-directory "$tmp/d/state"
wait_daemon d "$sock"
# A build whose configuration knows [HTTP] but whose daemon serves nothing on it yet.
if [[ -n $http_port ]] && ! poll 10 port_in_use "$http_port"; then
        echo "note: this tlswatchd takes [HTTP] Listen= but nothing listens on 127.0.0.1:$http_port: the" \
                "metrics come from the control socket (tlswatchctl metrics) and the MetricsFile= instead of /metrics"
        http_port=
fi

# scrape: the exposition into $tmp/metrics.out, from /metrics or the control socket.
scrape() {
        if [[ -n $http_port ]]; then
                curl -fsS --max-time 10 "http://127.0.0.1:$http_port/metrics" >"$tmp/metrics.out" 2>"$tmp/curl.err"
        else
                timeout 10 "$TLSWATCHCTL" --socket "$sock" metrics >"$tmp/metrics.out" 2>"$tmp/curl.err"
        fi
}
# probed: every target has been probed and the file written (within 5 s of the last probe).
probed() {
        local t

        scrape || return 1
        for t in good soon wrongname; do
                grep -q "^probe_success{.*target=\"$t\"" "$tmp/metrics.out" || return 1
                grep -q "^probe_success{.*target=\"$t\"" "$metrics_file" 2>/dev/null || return 1
        done
}
errors=()
poll 60 probed || errors+=("the daemon's metrics did not show all three targets within 60 s")
source=$([[ -n $http_port ]] && echo "GET /metrics" || echo "tlswatchctl metrics")
if ! "$promtool" check metrics <"$tmp/metrics.out" >"$tmp/promtool-metrics.out" 2>&1; then
        errors+=("promtool check metrics refuses the exposition:" "$(cat "$tmp/promtool-metrics.out")")
fi
report "live exposition ($source) of three probed listeners, accepted by promtool" ${errors[@]+"${errors[@]}"} \
        -- "$tmp/metrics.out" "$tmp/d.err"

# The runbook the rules link to, once docs/ has it: every anchor a section there.
runbook=()
if [[ -f $top/docs/RUNBOOK.md ]]; then
        runbook=("$top/docs/RUNBOOK.md")
else
        echo "note: no docs/RUNBOOK.md in this tree: the rules' runbook_url anchors are not checked"
fi
for what in "$source:$tmp/metrics.out" "MetricsFile=:$metrics_file"; do
        errors=()
        cp "${what#*:}" "$tmp/exposition" 2>/dev/null || errors+=("no ${what%%:*} exposition")
        if ! python3 "$checker" "$tmp/exposition" "$rules" "$rules_test" "$dashboard" ${runbook[@]+"${runbook[@]}"} \
                >"$tmp/checker.out" 2>"$tmp/checker.err"; then
                errors+=("metrics or labels the examples use that the daemon does not export:")
                mapfile -t lines <"$tmp/checker.out"
                errors+=(${lines[@]+"${lines[@]}"})
        fi
        report "rules, their recorded series and the dashboard use only what ${what%%:*} has" \
                ${errors[@]+"${errors[@]}"} -- "$tmp/checker.err"
done

# --- the node-exporter recipe, in a real Prometheus ----------------------------------------------------

# Prometheus scrapes the MetricsFile= as node-exporter's textfile collector serves it (the file's
# lines among the exporter's own: here served as they are) with the job of node-exporter.yml, and
# loads the shipped rules. Each listener must be its own instance, exported_instance gone, the
# daemon's timestamp on the node's instance; every rule must evaluate without error.
need_commands prometheus
pick_ports 2
file_port=${picked[0]} prometheus_port=${picked[1]}
mkdir -p "$tmp/textfile"
start_process textfile python3 -m http.server --bind 127.0.0.1 --directory "$tmp/textfile" "$file_port"
cp "$metrics_file" "$tmp/textfile/metrics.prom"
python3 - "$examples/prometheus/node-exporter.yml" "$rules" "$file_port" >"$tmp/prometheus.yml" <<'PYTHON' ||
import json, sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
config["rule_files"] = [sys.argv[2]]
job = config["scrape_configs"][0]
job["static_configs"] = [{"targets": ["127.0.0.1:" + sys.argv[3]]}]
job["metrics_path"] = "/metrics.prom"
print(json.dumps(config, indent=2))
PYTHON
        hard_error "cannot write the Prometheus configuration from node-exporter.yml"
start_process prometheus prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
        --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn
papi=http://127.0.0.1:$prometheus_port
# api NAME PATH [QUERY]: a Prometheus API answer into $tmp/NAME.json.
api() {
        local name=$1 path=$2

        shift 2
        timeout -k 5 20 curl -sS -m 10 -G ${1:+--data-urlencode "query=$1"} "$papi$path" >"$tmp/$name.json" \
                2>"$tmp/$name.err"
}
ready() {
        running "${pid[prometheus]}" && timeout 5 curl -sf -m 2 -o /dev/null "$papi/-/ready" 2>/dev/null
}
poll 60 ready || hard_error "prometheus did not become ready within 60 s: $(tail -n 5 "$tmp/prometheus.err")"

listeners=$(for t in good soon wrongname; do echo "127.0.0.1:${port[$t]}"; done | sort | "$jq" -R . | "$jq" -sc .)
scraped() {
        api success /api/v1/query 'probe_success{job="node"}' &&
                "$jq" -e '.data.result | length == 3' "$tmp/success.json" >/dev/null 2>&1
}
errors=()
poll 60 scraped || errors+=("probe_success{job=\"node\"} does not have the three listeners within 60 s")
"$jq" -e --argjson want "$listeners" '[.data.result[].metric.instance] | sort == $want' "$tmp/success.json" \
        >/dev/null 2>&1 || errors+=("the instances are not the listeners $listeners")
"$jq" -e '[.data.result[].metric | has("exported_instance")] | any | not' "$tmp/success.json" >/dev/null 2>&1 ||
        errors+=("exported_instance is left on the series")
api stamp /api/v1/query 'tlswatch_metrics_timestamp_seconds{job="node"}'
"$jq" -e --arg node "127.0.0.1:$file_port" '.data.result | length == 1 and .[0].metric.instance == $node' \
        "$tmp/stamp.json" >/dev/null 2>&1 || errors+=("tlswatch_metrics_timestamp_seconds is not there once, on the node's instance")
report "node-exporter.yml: each listener its own instance in Prometheus, the timestamp the node's" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/success.json" "$tmp/stamp.json" "$tmp/prometheus.err"

evaluated() {
        api rules /api/v1/rules &&
                "$jq" -e '[.data.groups[].rules[]] | length >= 9 and all(.lastEvaluation | startswith("0001") | not)' \
                        "$tmp/rules.json" >/dev/null 2>&1
}
errors=()
poll 60 evaluated || errors+=("Prometheus has not evaluated every shipped rule within 60 s")
"$jq" -e '[.data.groups[].rules[] | .health] | all(. == "ok")' "$tmp/rules.json" >/dev/null 2>&1 ||
        errors+=("rules with errors:" "$("$jq" -c '.data.groups[].rules[] | select(.health != "ok") | {name, lastError}' \
                "$tmp/rules.json" 2>/dev/null)")
report "Prometheus loads and evaluates every shipped rule" ${errors[@]+"${errors[@]}"} -- "$tmp/prometheus.err"

stop_daemon d
summary
