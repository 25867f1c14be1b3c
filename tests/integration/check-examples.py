#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# For test-examples.sh: checks that the PromQL of the shipped examples (alert rules, Grafana dashboard)
# and the recorded series of the rules' unit tests name only metrics and labels that a live tlswatchd
# exports, given its exposition text. Prints one line per problem and exits 1 if there is any.
#
#   check-examples.py EXPOSITION RULES.yml RULES-TEST.yml DASHBOARD.json [RUNBOOK.md]
#
# With RUNBOOK.md, every runbook_url anchor of the rules must be a section there: the alert's own, or
# for a URL that ends in {{ $labels.code }}, one for every code the rule's expression selects.
#
# PromQL is read with a small tokenizer, enough for the expressions these files hold: string literals,
# Grafana's $variables and [ranges] are dropped; an identifier followed by "(" is a function or an
# aggregation, as is an aggregation operator followed by by/without; identifiers inside {} and after by/without/on/ignoring/group_left/group_right are label
# names; every other identifier that is no keyword is a metric name.

import json
import re
import sys

import yaml

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
            "offset", "inf", "nan", "atan2"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
                "quantile"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
# Labels Prometheus adds itself (the scrape's target labels) and the metric name.
PROMETHEUS_LABELS = {"job", "__name__"}
# Metrics Prometheus synthesizes for every scrape.
PROMETHEUS_METRICS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|\[[^\]]*\]|\$\{?\w+\}?|[0-9][0-9A-Za-z_.]*'
                   r'|[A-Za-z_:][A-Za-z0-9_:]*|=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/^%]|\s+|.')


def parse_exposition(path):
    """Metric name -> list of label-name sets, from the exposition's samples."""
    sample = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s')
    label = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*"')
    metrics = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            m = sample.match(line)
            if not m:
                continue
            names = frozenset(label.findall(m.group(3) or ""))
            metrics.setdefault(m.group(1), set()).add(names)
    return metrics


def analyse(expr):
    """(metric -> set of label names in its selector, set of grouping label names) of a PromQL expression."""
    tokens = [t for t in TOKEN.findall(expr) if not t.isspace()]
    metrics, grouping = {}, set()
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if t in GROUPING and nxt == "(":
            j = i + 2
            while j < len(tokens) and tokens[j] != ")":
                if re.match(r"^[A-Za-z_]\w*$", tokens[j]):
                    grouping.add(tokens[j])
                j += 1
            i = j + 1
            continue
        if re.match(r"^[A-Za-z_:][A-Za-z0-9_:]*$", t) and t not in KEYWORDS and t not in AGGREGATIONS and nxt != "(":
            labels = set()
            if nxt == "{":
                j = i + 2
                while j < len(tokens) and tokens[j] != "}":
                    if re.match(r"^[A-Za-z_]\w*$", tokens[j]) and j + 1 < len(tokens) and \
                            tokens[j + 1] in ("=", "!=", "=~", "!~"):
                        labels.add(tokens[j])
                    j += 1
                i = j
            metrics.setdefault(t, set()).update(labels)
        elif t == "{":
            raise ValueError(f"a selector without a metric name in: {expr}")
        i += 1
    return metrics, grouping


def check_expr(where, expr, exported, problems):
    try:
        metrics, grouping = analyse(expr)
    except ValueError as e:
        problems.append(f"{where}: {e}")
        return
    if not metrics:
        problems.append(f"{where}: no metric found in: {expr}")
    known_labels = set(PROMETHEUS_LABELS) | {"instance"}
    for name, labels in sorted(metrics.items()):
        if name in PROMETHEUS_METRICS:
            continue
        if name not in exported:
            problems.append(f"{where}: {name} is not a metric tlswatchd exports")
            continue
        have = set().union(*exported[name])
        known_labels |= have
        for label in sorted(labels - have - PROMETHEUS_LABELS):
            problems.append(f"{where}: {name} has no label {label}")
    for label in sorted(grouping - known_labels):
        problems.append(f"{where}: grouping by {label}, which none of its metrics has")


def check_rules(path, exported, problems):
    with open(path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    n = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            check_expr(f"{path}: {name}", rule["expr"], exported, problems)
            if "alert" in rule:
                if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                    problems.append(f"{path}: {name}: no severity label critical, warning or info")
                for a in ("summary", "description", "runbook_url"):
                    if not rule.get("annotations", {}).get(a):
                        problems.append(f"{path}: {name}: no annotation {a}")
            n += 1
    return n


def check_rules_test(path, exported, problems):
    """The recorded series must look like the live ones: the same label names, for the direct job
    (job="tlswatch", labels as exported) and for node-exporter's (job and instance from the scrape)."""
    series = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)\{(.*)\}$')
    label = re.compile(r'([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"')
    with open(path, encoding="utf-8") as f:
        tests = yaml.safe_load(f)
    n = 0
    for test in tests["tests"]:
        for s in test.get("input_series", []):
            m = series.match(s["series"])
            if not m:
                problems.append(f"{path}: cannot read the series {s['series']}")
                continue
            name, labels = m.group(1), dict(label.findall(m.group(2)))
            job = labels.pop("job", None)
            if name in PROMETHEUS_METRICS:
                continue
            # A series without an instance of its own gets the scrape's.
            if job == "node":
                labels.pop("instance", None)
            elif job != "tlswatch":
                continue  # /probe's series: what the blackbox relabeling makes, not the exposition
            if name not in exported:
                problems.append(f"{path}: recorded series of {name}, which tlswatchd does not export")
            elif frozenset(labels) not in exported[name] and not (
                    # The daemon's own series (no target) get the scrape's instance, as node's do.
                    not any("target" in x for x in exported[name]) and
                    frozenset(labels.keys() - {"instance"}) in exported[name]):
                problems.append(f"{path}: {name} recorded with the labels {sorted(labels)}, tlswatchd exports "
                                f"{' or '.join(str(sorted(x)) for x in sorted(exported[name], key=sorted))}")
            n += 1
    return n


def check_runbook(path, rules_path, problems):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    anchors = set(re.findall(r'<a id="([^"]+)"', text))
    for heading in re.findall(r"^#+ +(.+?) *$", text, re.M):  # GitHub's anchor of a heading
        anchors.add(re.sub(r"[^a-z0-9_ -]", "", heading.lower()).replace(" ", "-"))
    with open(rules_path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            url = rule.get("annotations", {}).get("runbook_url", "")
            anchor = url.partition("#")[2]
            if not anchor:
                problems.append(f"{rules_path}: {rule['alert']}: runbook_url {url!r} has no #anchor")
                continue
            if "{{" in anchor:
                codes = re.findall(r'code=~"([^"]+)"', rule["expr"])
                wanted = [c for alternatives in codes for c in alternatives.split("|")]
                if not wanted:
                    problems.append(f"{rules_path}: {rule['alert']}: a templated anchor but no code=~ selector")
            else:
                wanted = [anchor]
            for a in wanted:
                if a not in anchors:
                    problems.append(f"{path}: no section #{a} for {rule['alert']} ({rules_path})")


def dashboard_exprs(dashboard):
    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if "expr" in t:
                    yield f"panel {p.get('title')!r}", t["expr"]
            yield from walk(p.get("panels", []))

    yield from walk(dashboard.get("panels", []))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        query = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
        m = re.match(r"^label_values\((.*),\s*(\w+)\)$", query)
        yield f"variable ${v['name']}", m.group(1) if m else query


def check_dashboard(path, exported, problems):
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    names = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
    if "instance" not in names:
        problems.append(f"{path}: no templating variable instance")
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        problems.append(f"{path}: panel ids are not unique")
    n = 0
    for where, expr in dashboard_exprs(dashboard):
        check_expr(f"{path}: {where}", expr, exported, problems)
        n += 1
    return n


def main():
    if len(sys.argv) not in (5, 6):
        print("usage: check-examples.py EXPOSITION RULES RULES-TEST DASHBOARD [RUNBOOK]", file=sys.stderr)
        return 2
    exposition, rules, rules_test, dashboard = sys.argv[1:5]
    exported = parse_exposition(exposition)
    if not exported:
        print(f"{exposition}: no samples", file=sys.stderr)
        return 1
    problems = []
    counts = (check_rules(rules, exported, problems), check_rules_test(rules_test, exported, problems),
              check_dashboard(dashboard, exported, problems))
    if len(sys.argv) == 6:
        check_runbook(sys.argv[5], rules, problems)
    for p in sorted(set(problems)):
        print(p)
    print(f"checked {counts[0]} rules, {counts[1]} recorded series, {counts[2]} dashboard queries against "
          f"{len(exported)} exported metrics", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
