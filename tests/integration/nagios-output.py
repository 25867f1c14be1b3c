#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Parses a plugin's output by the Nagios Plugin Development Guidelines, strictly: the first line is
# "[SERVICE ]STATUS: text" (or "STATUS - text"), perfdata after the first '|', and long text after it
# (a '|' there starts more perfdata); each perfdata item 'label'=value[UOM];[warn];[crit];[min];[max]
# with a label quoted when it holds a space, '=' or a quote (doubled inside), a UOM of the guidelines'
# list, ranges for warn and crit, plain numbers for the rest, labels unique. Usage:
#     nagios-output.py EXIT-CODE <OUTPUT
# Prints the parse as JSON ({"service", "status", "text", "perfdata": {label: {...}}, "long_text"})
# and exits 0, or says on stderr what breaks the rules and exits 1.
import json
import re
import sys

NUM = r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
# Guidelines, "Threshold and ranges": N, N:, ~:N, N:M, each optionally with a leading @.
RANGE = rf"@?(?:(?:{NUM}|~):(?:{NUM})?|{NUM})"
LABEL = r"'(?:[^']|'')+'|[^ '=]+"
UOM = r"s|ms|us|%|B|KB|MB|TB|c"
ITEM = re.compile(
    rf"(?P<label>{LABEL})=(?P<value>{NUM})(?P<uom>{UOM})?"
    rf"(?:;(?P<warn>{RANGE})?(?:;(?P<crit>{RANGE})?(?:;(?P<min>{NUM})?(?:;(?P<max>{NUM})?)?)?)?)?"
)
FIRST = re.compile(r"(?:(?P<service>[A-Z][A-Z0-9_]*(?: [A-Z][A-Z0-9_]*)*) )?"
                   r"(?P<status>OK|WARNING|CRITICAL|UNKNOWN)(?::| -) (?P<text>\S.*)")
EXIT = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


def fail(message):
    sys.stderr.write(f"nagios-output: {message}\n")
    sys.exit(1)


def parse_perfdata(text, where, into):
    """Items separated by spaces, nothing else; each must match ITEM in full."""
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] == " ":
            pos += 1
        if pos >= len(text):
            break
        m = ITEM.match(text, pos)
        if not m or (m.end() < len(text) and text[m.end()] != " "):
            fail(f"{where}: not a perfdata item by the guidelines at {text[pos:]!r}")
        label = m.group("label")
        if label.startswith("'"):
            label = label[1:-1].replace("''", "'")
        if label in into:
            fail(f"{where}: label {label!r} twice")
        into[label] = {
            "value": float(m.group("value")),
            "uom": m.group("uom") or "",
            **{k: m.group(k) for k in ("warn", "crit", "min", "max")},
        }
        pos = m.end()


def main():
    if len(sys.argv) != 2:
        fail("usage: nagios-output.py EXIT-CODE <OUTPUT")
    output = sys.stdin.read()
    if not output.endswith("\n"):
        fail("the output does not end with a newline")
    lines = output[:-1].split("\n")
    first, _, perf = lines[0].partition("|")
    m = FIRST.fullmatch(first.rstrip(" "))
    if not m:
        fail(f"first line {lines[0]!r} is not 'SERVICE STATUS: text'")
    if EXIT[m.group("status")] != int(sys.argv[1]):
        fail(f"status {m.group('status')} but exit code {sys.argv[1]}")
    perfdata = {}
    parse_perfdata(perf, "first line", perfdata)
    # Long text until a '|'; from there on every line is perfdata (Guidelines, "Plugin Output").
    long_text = []
    in_perfdata = False
    for number, line in enumerate(lines[1:], 2):
        if in_perfdata:
            parse_perfdata(line, f"line {number}", perfdata)
            continue
        text, bar, more = line.partition("|")
        long_text.append(text)
        if bar:
            in_perfdata = True
            parse_perfdata(more, f"line {number}", perfdata)
    json.dump({"service": m.group("service"), "status": m.group("status"), "text": m.group("text"),
               "perfdata": perfdata, "long_text": long_text}, sys.stdout)
    sys.stdout.write("\n")


main()
