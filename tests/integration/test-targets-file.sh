#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of TargetsFile= and Shard=: a running tlswatchd follows Prometheus file_sd files (JSON
# and YAML) edited in place and renamed into place: targets added, removed, relabelled; a corrupt file
# changes nothing and is named with its position; no target loses its state (its probe count keeps
# growing). Then two daemons with Shard=0/2 and Shard=1/2 over one target list hold every target exactly
# once, split as the documented FNV-1a 64 hash says. Real s_server on loopback; 0 pass, 1 fail, 99 broken.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

hide_journal "$@"
forget_service_environment

need_programs TLSWATCHD TLSWATCHCTL
need_commands "$openssl" "$jq" timeout python3

make_tmp
make_pki

start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
wait_port good
good=$(at good)

mkdir -p "$tmp/sd" "$tmp/state" "$tmp/state0" "$tmp/state1" || hard_error "mkdir failed"

# put FILE TEXT: written aside and renamed into place, as editors and config management do.
put() {
        printf '%s\n' "$2" >"$tmp/sd/.$1.tmp" && mv -f "$tmp/sd/.$1.tmp" "$tmp/sd/$1"
}

# status SOCKET: the daemon's status as JSON lines of name, probes, status, problem codes, shard.
status() {
        timeout -k 5 30 "$TLSWATCHCTL" --socket "$1" status --json 2>/dev/null |
                "$jq" -c '.[] | {name, probes, status, codes: [.problems[].code], shard}'
}

# probes SOCKET NAME: the target's probe count, or -1 when it has none.
probes() {
        local n
        n=$(status "$1" | "$jq" -r --arg n "$2" 'select(.name == $n) | .probes')
        echo "${n:--1}"
}

names() {
        status "$1" | "$jq" -r .name | sort | tr '\n' ' '
}

has_names() {
        [[ $(names "$1") == "$2" ]]
}

probes_above() {
        (($(probes "$1" "$2") > $3))
}

has_code() {
        local codes
        # Not `| grep -q`: grep leaving early would make jq's SIGPIPE fail the pipeline (pipefail).
        codes=$(status "$1" | "$jq" -r --arg n "$2" 'select(.name == $n) | .codes[]')
        grep -qxF -e "$3" <<<"$codes"
}

in_metrics() {
        local metrics
        metrics=$(timeout -k 5 30 "$TLSWATCHCTL" --socket "$1" metrics 2>/dev/null)
        grep -q "^tlswatch_target_status{.*target=\"$2\"" <<<"$metrics"
}

not_in_metrics() {
        ! in_metrics "$@"
}

log_has() {
        grep -qF -e "$2" "$tmp/$1.err"
}

# --- one daemon following the files -------------------------------------------------------------------

sock=$tmp/d.sock
cat >"$tmp/d.conf" <<EOF
[Defaults]
ControlSocket=$sock
TargetsFile=$tmp/sd/*.json
TargetsFile=$tmp/sd/*.yml
Interval=2s
Protocol=tls
CAFile=$pki/root.pem

[Target static]
Address=$good
EOF

put a.json '[{"targets": ["'"$good"'"], "labels": {"__tlswatch_name": "alpha", "env": "prod"}}]'
put b.yml "- targets: ['localhost:${port[good]}']
  labels:
    __tlswatch_server_name: localhost"

start_daemon d -c "$tmp/d.conf" --state-directory "$tmp/state"
wait_daemon d "$sock"

errors=()
poll 60 has_names "$sock" "alpha localhost:${port[good]} static " ||
        errors+=("the targets of both files and the section are not there: $(names "$sock")")
poll 60 probes_above "$sock" alpha 1 || errors+=("alpha is not probed")
poll 30 in_metrics "$sock" alpha || errors+=("alpha is not in the metrics")
report "targets from a JSON and a YAML file" "${errors[@]}" -- "$tmp/d.err"

# Added: gamma, by its address; alpha unchanged keeps its state.
errors=()
before=$(probes "$sock" alpha)
put a.json '[{"targets": ["'"$good"'"], "labels": {"__tlswatch_name": "alpha", "env": "prod"}},
 {"targets": ["127.0.0.1:'"${port[good]}"'"], "labels": {"__tlswatch_name": "gamma"}}]'
poll 60 has_names "$sock" "alpha gamma localhost:${port[good]} static " ||
        errors+=("gamma was not added: $(names "$sock")")
(($(probes "$sock" alpha) >= before)) || errors+=("alpha lost its state: $(probes "$sock" alpha) probes, was $before")
poll 60 probes_above "$sock" alpha "$before" || errors+=("alpha is no longer probed")
poll 30 in_metrics "$sock" gamma || errors+=("gamma is not in the metrics")
report "a target added to a file" "${errors[@]}" -- "$tmp/d.err"

# Relabelled: gamma now expects a name the certificate does not hold.
errors=()
before=$(probes "$sock" alpha)
put a.json '[{"targets": ["'"$good"'"], "labels": {"__tlswatch_name": "alpha", "env": "prod"}},
 {"targets": ["127.0.0.1:'"${port[good]}"'"], "labels": {"__tlswatch_name": "gamma", "__tlswatch_server_name": "wrong.example"}}]'
poll 60 has_code "$sock" gamma hostname_mismatch || errors+=("gamma's new server name did not apply: $(status "$sock")")
poll 60 probes_above "$sock" alpha "$before" || errors+=("alpha lost its state or is no longer probed")
report "a target's labels changed" "${errors[@]}" -- "$tmp/d.err"

# Removed.
errors=()
put a.json '[{"targets": ["'"$good"'"], "labels": {"__tlswatch_name": "alpha", "env": "prod"}}]'
poll 60 has_names "$sock" "alpha localhost:${port[good]} static " || errors+=("gamma was not removed: $(names "$sock")")
poll 30 not_in_metrics "$sock" gamma || errors+=("gamma is still in the metrics")
report "a target removed from a file" "${errors[@]}" -- "$tmp/d.err"

# Corrupt, written in place: nothing changes, the file and position are said, probing goes on.
errors=()
before=$(probes "$sock" alpha)
printf '[{"targets": ["%s"],\n  "labels": {"__tlswatch_name": "alpha"}' "$good" >"$tmp/sd/a.json"
printf -- "- targets: ['x:1'\n  labels: {}\n" >"$tmp/sd/b.yml"
poll 30 log_has d "$tmp/sd/a.json:2:" || errors+=("the corrupt JSON file is not named with its line")
poll 30 log_has d "$tmp/sd/b.yml:2:" || errors+=("the corrupt YAML file is not named with its line")
log_has d "keeping the file's last good 1 targets" || errors+=("no word of the last good targets kept")
poll 60 probes_above "$sock" alpha $((before + 1)) || errors+=("alpha lost its state or is no longer probed")
has_names "$sock" "alpha localhost:${port[good]} static " || errors+=("the targets changed: $(names "$sock")")
report "a corrupt file changes nothing" "${errors[@]}" -- "$tmp/d.err"

# A file whose targets do not check (an unknown key) is as corrupt as one that does not parse.
errors=()
put a.json '[{"targets": ["'"$good"'", "127.0.0.1:1"], "labels": {"__tlswatch_colour": "red"}}]'
poll 30 log_has d 'label "__tlswatch_colour" names no [Target] key' || errors+=("the unknown label is not said")
has_names "$sock" "alpha localhost:${port[good]} static " || errors+=("the targets changed: $(names "$sock")")
report "a file with an unknown label changes nothing" "${errors[@]}" -- "$tmp/d.err"

# Fixed: delta joins, alpha still keeps its state.
errors=()
before=$(probes "$sock" alpha)
put a.json '[{"targets": ["'"$good"'"], "labels": {"__tlswatch_name": "alpha", "env": "prod"}},
 {"targets": ["[::1]:1"], "labels": {"__tlswatch_name": "delta"}}]'
put b.yml "- targets: ['localhost:${port[good]}']
  labels:
    __tlswatch_server_name: localhost"
poll 60 has_names "$sock" "alpha delta localhost:${port[good]} static " ||
        errors+=("the fixed file was not applied: $(names "$sock")")
(($(probes "$sock" alpha) >= before)) || errors+=("alpha lost its state")
poll 30 in_metrics "$sock" delta || errors+=("delta is not in the metrics")
report "a fixed file applies" "${errors[@]}" -- "$tmp/d.err"

# Deleted: its targets go.
errors=()
rm -f "$tmp/sd/b.yml"
poll 60 has_names "$sock" "alpha delta static " || errors+=("the deleted file's target stayed: $(names "$sock")")
report "a deleted file takes its targets" "${errors[@]}" -- "$tmp/d.err"
stop_daemon d

# --- two shards over one target list -------------------------------------------------------------------

rm -f "$tmp/sd"/*
list=""
all=()
for i in $(seq 1 12); do
        list+="${list:+, }{\"targets\": [\"$good\"], \"labels\": {\"__tlswatch_name\": \"t$i\"}}"
        all+=("t$i")
done
put fleet.json "[$list]"
all+=(static)
for shard in 0 1; do
        sed -e "s|^ControlSocket=.*|ControlSocket=$tmp/s$shard.sock|" -e "s|^TargetsFile=.*yml$|Shard=$shard/2|" \
                -e "s|^Interval=.*|Interval=1min|" "$tmp/d.conf" >"$tmp/s$shard.conf"
        start_daemon "s$shard" -c "$tmp/s$shard.conf" --state-directory "$tmp/state$shard"
done
wait_daemon s0 "$tmp/s0.sock"
wait_daemon s1 "$tmp/s1.sock"
errors=()
both_loaded() {
        local n0 n1
        n0=$(status "$tmp/s0.sock" | grep -c '"name"')
        n1=$(status "$tmp/s1.sock" | grep -c '"name"')
        ((n0 + n1 == ${#all[@]}))
}
poll 30 both_loaded || errors+=("the shards do not hold ${#all[@]} targets between them")
held=$( (status "$tmp/s0.sock" | "$jq" -r '"\(.name) \(.shard)"'; status "$tmp/s1.sock" | "$jq" -r '"\(.name) \(.shard)"') | sort)
[[ $(cut -d' ' -f1 <<<"$held" | sort | tr '\n' ' ') == "$(printf '%s\n' "${all[@]}" | sort | tr '\n' ' ')" ]] ||
        errors+=("not every target exactly once: $(tr '\n' ' ' <<<"$held")")
# The split another tool computes from the documented hash: FNV-1a 64 of the name, modulo N.
expected=$(python3 -c '
import sys
for name in sys.argv[1:]:
    h = 0xcbf29ce484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001b3) % 2**64
    print(name, "%d/2" % (h % 2))' "${all[@]}" | sort)
[[ $held == "$expected" ]] || errors+=("the split is not the documented hash's: got $(tr '\n' ' ' <<<"$held"), expected $(tr '\n' ' ' <<<"$expected")")
n0=$(status "$tmp/s0.sock" | grep -c '"name"')
((n0 > 0 && n0 < ${#all[@]})) || errors+=("one shard holds everything ($n0 of ${#all[@]})")
report "Shard=0/2 and Shard=1/2 hold every target exactly once" "${errors[@]}" -- "$tmp/s0.err" "$tmp/s1.err"
stop_daemon s0
stop_daemon s1

summary
