#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SRV= against a real DNS server: dnsmasq on loopback answers _secure-mqtt._tcp.example.test with two
# records (two s_server listeners, one healthy and one serving an expired certificate); tlswatchd finds
# them through a private /etc/resolv.conf bind-mounted in a mount namespace (with a network namespace
# of its own, so dnsmasq may take port 53 of 127.0.0.1 without meeting the host's). Then a record is
# removed and another added (dnsmasq restarted by PID with the new records): the targets follow within
# an interval, the one that stays keeps its state; DNS gone keeps the last good targets and says so.
# Everything is checked from `tlswatchctl status --json`.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

if [[ -z ${TLSWATCH_IN_NAMESPACE:-} ]]; then
        [[ $(id -u) -eq 0 ]] || hard_error "needs root for a private mount and network namespace"
        TLSWATCH_IN_NAMESPACE=1 exec unshare -m -n --propagation private "$BASH" "$0" "$@"
fi
# The journal's socket is the host's: hidden, so events are lines on stderr.
if [[ -e /run/systemd/journal/socket ]]; then
        mount -t tmpfs -o mode=0755 tlswatch-test /run/systemd/journal || hard_error "cannot hide the journal"
fi
forget_service_environment

dnsmasq=${DNSMASQ:-/usr/sbin/dnsmasq}
need_programs TLSWATCHD TLSWATCHCTL
need_commands "$openssl" "$jq" timeout ip "$dnsmasq"
ip link set lo up || hard_error "cannot bring up lo in the network namespace"

make_tmp
make_pki

printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$tmp/resolv.conf"
mount --bind "$tmp/resolv.conf" /etc/resolv.conf || hard_error "cannot bind-mount /etc/resolv.conf"

start_tls one -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
start_tls two -cert "$pki/expired.pem" -key "$pki/expired.key" -cert_chain "$pki/int.pem"
start_tls three -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
for name in one two three; do
        wait_port "$name"
done

srv=_secure-mqtt._tcp.example.test
# start_dns PORT...: dnsmasq answering $srv with one record localhost:PORT each, nothing else.
start_dns() {
        local p
        {
                echo "no-resolv"
                echo "no-hosts"
                echo "listen-address=127.0.0.1"
                echo "bind-interfaces"
                echo "port=53"
                echo "no-negcache"
                echo "local=/example.test/"
                for p in "$@"; do
                        echo "srv-host=$srv,localhost,$p,10,5"
                done
        } >"$tmp/dnsmasq.conf"
        start_process --append dns "$dnsmasq" --keep-in-foreground --conf-file="$tmp/dnsmasq.conf" \
                --pid-file="$tmp/dnsmasq.pid" --user=root --log-facility=- --cache-size=0
        local i
        for ((i = 0; i < 100; i++)); do
                grep -q "started" "$tmp/dns.err" 2>/dev/null && break
                running "${pid[dns]}" || break
                sleep 0.1
        done
        running "${pid[dns]}" || { show_log dns "$tmp/dns.err"; hard_error "dnsmasq did not start"; }
}

start_dns "${port[one]}" "${port[two]}"

sock=$tmp/control.sock
mkdir -p "$tmp/state"
cat >"$tmp/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
ControlSocket=$sock
ConfirmFailures=1

[Target mqtt]
SRV=$srv
Protocol=tls
Interval=2s
Timeout=1s
EOF

# --check-config looks nothing up and accepts the template.
out=$(timeout 20 "$TLSWATCHD" -c "$tmp/tlswatch.conf" --check-config 2>&1)
rc=$?
errors=()
((rc == 0)) || errors+=("--check-config: exit status $(describe_rc $rc): $out")
report "--check-config takes SRV=" ${errors[@]+"${errors[@]}"}

# --once looks the name up and probes every record's listener.
out=$(timeout 30 "$TLSWATCHD" -c "$tmp/tlswatch.conf" --once --json 2>"$tmp/once.err")
rc=$?
errors=()
((rc == 2)) || errors+=("--once: exit status $(describe_rc $rc), expected 2 (one listener expired)")
got=$("$jq" -r '[.[].name] | sort | join(" ")' <<<"$out" 2>/dev/null)
[[ $got == "$(printf '%s\n' "mqtt/localhost:${port[one]}" "mqtt/localhost:${port[two]}" | sort | paste -sd ' ')" ]] ||
        errors+=("--once probed '$got'")
report "--once expands SRV= and probes each record" ${errors[@]+"${errors[@]}"} -- "$tmp/once.err"

start_daemon d -c "$tmp/tlswatch.conf" --state-directory "$tmp/state"
wait_daemon d "$sock"

status() {
        timeout -k 5 20 "$TLSWATCHCTL" --socket "$sock" status --json 2>/dev/null
}
# names: the sorted names of the targets, on one line.
names() {
        status | "$jq" -r '[.[].name] | sort | join(" ")'
}
# wait_names WANT: the target set becomes WANT (bounded).
wait_names() {
        local i
        for ((i = 0; i < 150; i++)); do
                [[ $(names) == "$1" ]] && return 0
                sleep 0.1
        done
        return 1
}
# get NAME FILTER: a jq FILTER on target NAME's status object.
get() {
        status | "$jq" -r --arg n "$1" ".[] | select(.name == \$n) | $2"
}
# wait_status NAME STATUS: target NAME has been probed and has STATUS (bounded).
wait_status() {
        local i
        for ((i = 0; i < 150; i++)); do
                [[ $(get "$1" .status) == "$2" ]] && return 0
                sleep 0.1
        done
        return 1
}
# sorted WORD...: the words sorted, on one line.
sorted() {
        printf '%s\n' "$@" | sort | paste -sd ' '
}

n1=mqtt/localhost:${port[one]}
n2=mqtt/localhost:${port[two]}
n3=mqtt/localhost:${port[three]}

errors=()
want=$(sorted "$n1" "$n2")
wait_names "$want" || errors+=("targets '$(names)', expected '$want'")
wait_status "$n1" ok || errors+=("$n1 is not ok (the SRV target verified as the server name)")
wait_status "$n2" critical || errors+=("$n2 is not critical (it serves an expired certificate)")
addr=$(get "$n1" .address)
[[ $addr == "localhost:${port[one]}" ]] || errors+=("$n1 has address $addr, expected localhost:${port[one]}")
# What the target that stays must keep: its state, here its count of probes (a new target starts at 0).
probed_thrice() {
        (($(get "$n1" '.probes // 0') >= 3))
}
poll 20 probed_thrice || errors+=("$n1 was not probed 3 times")
first=$(get "$n1" '.probes // 0')
report "one target per SRV record, probed at the record's host and port" ${errors[@]+"${errors[@]}"} \
        -- "$tmp/d.err"
reloads=$(grep -c "reloaded" "$tmp/d.err")

# A record removed, another added: dnsmasq restarted (by PID) with the new set.
stop_pid "${pid[dns]}"
start_dns "${port[one]}" "${port[three]}"
errors=()
want=$(sorted "$n1" "$n3")
wait_names "$want" || errors+=("targets '$(names)' after the change, expected '$want'")
wait_status "$n3" ok || errors+=("the added $n3 is not ok")
again=$(get "$n1" '.probes // 0')
((again >= first)) || errors+=("$n1 lost its state: $first probes became $again")
(($(grep -c "reloaded" "$tmp/d.err") > reloads)) || errors+=("the change was not applied as a reload")
report "a record removed and one added change the targets; the one that stays keeps its state" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/d.err"

# DNS gone: the last good targets stay, and the log says so once.
stop_pid "${pid[dns]}"
errors=()
poll 15 grep -q "SRV=$srv: the lookup failed" "$tmp/d.err" || errors+=("no log line for the failed lookup")
grep -q "SRV=$srv: the lookup failed: .*keeping the 2 targets" "$tmp/d.err" ||
        errors+=("the log line does not say the last good targets are kept")
sleep 5 # two more intervals of failed lookups
[[ $(names) == "$want" ]] || errors+=("targets '$(names)' while DNS is down, expected '$want'")
(($(grep -c "SRV=$srv: the lookup failed" "$tmp/d.err") == 1)) || errors+=("the failure was said more than once")
report "a failed lookup keeps the last good targets and is logged once" ${errors[@]+"${errors[@]}"} \
        -- "$tmp/d.err"

# DNS back: said so.
start_dns "${port[one]}" "${port[three]}"
errors=()
poll 15 grep -q "SRV=$srv: the lookup succeeds again" "$tmp/d.err" || errors+=("no log line for the recovery")
report "the lookup's recovery is logged" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err"

# A restart waits for the first answer: the targets are there from the start, with their saved state.
stop_daemon d
first=$("$jq" -r --arg n "$n1" '.targets[$n].probes // empty' "$tmp/state/state.json")
start_daemon d -c "$tmp/tlswatch.conf" --state-directory "$tmp/state"
wait_daemon d "$sock"
errors=()
got=$(names)
[[ $got == "$want" ]] || errors+=("right after a restart: targets '$got', expected '$want'")
again=$(get "$n1" '.probes // 0')
((again >= ${first:-1})) || errors+=("$n1 did not get its saved state back: ${first:-?} probes saved, $again now")
report "a restart expands SRV= before the first probe, with the saved states" ${errors[@]+"${errors[@]}"} \
        -- "$tmp/d.err"

stop_daemon d
((daemon_rc == 0)) || { echo "FAIL - tlswatchd exited $(describe_rc "$daemon_rc")"; failed=$((failed + 1)); }
summary
