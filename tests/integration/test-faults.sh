#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults under the daemon: its state directory on a filesystem that fills up (a 512 KiB tmpfs in a
# private mount namespace, so nothing of the host's is touched), where it must keep probing, say so
# once, leave the previous state file intact, and save again as soon as there is room; and 100 reloads
# in a row while 200 targets probe. Servers on 127.0.0.1, started and stopped by PID; bounded waits.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHD TLSWATCHCTL
python=${PYTHON:-python3}
need_commands unshare mount "$jq" "$openssl" dd md5sum "$python"

# The mounts live in a mount namespace of this test's own: re-run this script inside one. Root may
# unshare directly; anyone else through a user namespace, where it is that namespace's root.
if [[ -z ${TLSWATCH_TEST_FAULTS_NS:-} ]]; then
        if ((EUID == 0)); then
                ns=(unshare --mount --propagation private)
        else
                ns=(unshare --user --map-root-user --mount --propagation private)
        fi
        TLSWATCH_TEST_FAULTS_NS=1 exec "${ns[@]}" bash "$0" "$@"
        hard_error "cannot enter a private mount namespace"
fi

make_tmp
make_pki
start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
wait_port good

state=$tmp/state
mkdir -p "$state"
mount -t tmpfs -o size=512k,mode=0700 tlswatch-test-faults "$state" ||
        hard_error "cannot mount a small tmpfs on $state"
# Unmounted before make_tmp's cleanup removes $tmp, keeping the exit status for it.
trap 'status=$?; umount "$state" 2>/dev/null; (exit $status); cleanup' EXIT
cat >"$tmp/tlswatch.conf" <<CONF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=2s
Timeout=2s
ControlSocket=$tmp/control.sock

[Target one]
Address=$(at good)
ServerName=localhost

[Target two]
Address=$(at good)
ServerName=localhost
CONF

# probes NAME: the probes the running daemon counts for target NAME (0 if it cannot say).
probes() {
        local answer value
        answer=$(timeout -k 5 20 "$TLSWATCHCTL" --socket "$tmp/control.sock" status --json "$1" 2>/dev/null)
        value=$("$jq" -r '.[0].probes // 0' <<<"$answer" 2>/dev/null)
        echo "${value:-0}"
}
saved_probes() {
        "$jq" -r '.targets.one.probes // 0' "$state/state.json" 2>/dev/null || echo 0
}
# wait_for SECONDS COMMAND...: poll, and fail the check if the daemon died meanwhile.
wait_for() {
        local limit=$1 i

        shift
        for ((i = 0; i <= limit * 5; i++)); do
                "$@" && return 0
                running "${pid[daemon]}" || return 1
                sleep 0.2
        done
        return 1
}
saved_at_least() { (($(saved_probes) >= $1)); }
probed_at_least() { (($(probes one) >= $1)); }
said() { grep -qF "$1" "$tmp/daemon.err"; }

start_daemon daemon -c "$tmp/tlswatch.conf" --state-directory "$state"
wait_daemon daemon "$tmp/control.sock"

# --- the disk fills up ---------------------------------------------------------------------------------

errors=()
wait_for 60 saved_at_least 1 || errors+=("no state file with a probe of target one within 60 s")
# Fill every byte; dd stops at ENOSPC, which is the point.
dd if=/dev/zero of="$state/filler" bs=4096 2>/dev/null
sum_before=$(md5sum <"$state/state.json")
saved_before=$(saved_probes)
failing="cannot save the state to $state/state.json: No space left on device"
wait_for 60 said "$failing" || errors+=("no warning \"$failing...\" within 60 s of the disk filling up")
# Several saves later (each probe settles into one): still one warning, the old file as it was.
now=$(probes one)
wait_for 60 probed_at_least $((now + 4)) ||
        errors+=("the daemon stopped probing on a full disk: target one at $(probes one) probes, expected $((now + 4)))")
n=$(grep -cF "cannot save the state to" "$tmp/daemon.err")
((n == 1)) || errors+=("$n warnings about the full disk, expected 1 (once, not at every save)")
[[ $(md5sum <"$state/state.json") == "$sum_before" ]] || errors+=("state.json changed on a full disk")
"$jq" -e '.targets.one and .targets.two' "$state/state.json" >/dev/null 2>&1 ||
        errors+=("state.json is no longer a valid state file with both targets")
leftovers=$(find "$state" -name '*.tmp' | wc -l)
((leftovers == 0)) || errors+=("$leftovers temporary files left in the state directory")
running "${pid[daemon]}" || errors+=("tlswatchd exited on a full disk")
report "state directory on a full disk: probing goes on, one warning, the old state file intact" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/daemon.err"

# --- room again ----------------------------------------------------------------------------------------

errors=()
rm -f "$state/filler"
again="the state is saved to $state/state.json again"
wait_for 60 said "$again" || errors+=("no \"$again\" within 60 s of freeing the disk")
wait_for 60 saved_at_least $((saved_before + 2)) ||
        errors+=("state.json still says $(saved_probes) probes of target one (it said $saved_before on the full disk)")
stop_daemon daemon
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
report "room again: the next save succeeds and says so" ${errors[@]+"${errors[@]}"} -- "$tmp/daemon.err"

# --- 100 reloads in a row while 200 targets probe -------------------------------------------------------

# Every reload applied (the good ones alternate between two target sets that differ in 20 names) or
# refused with the old configuration kept (every tenth has a syntax error); fds, RSS and the loop's
# event sources flat between reload 10 and reload 100.
write_fleet() { # FILE FIRST-NEW: 200 targets, those from FIRST-NEW on named n... instead of t...
        local i name
        {
                printf '[Defaults]\nCAFile=%s\nProtocol=tls\nInterval=5s\nTimeout=5s\nServerName=localhost\n' "$pki/root.pem"
                printf 'ControlSocket=%s\n' "$tmp/fleet.sock"
                for ((i = 1; i <= 200; i++)); do
                        name=t$i
                        ((i >= $2)) && name=n$i
                        printf '\n[Target %s]\nAddress=%s\n' "$name" "$(at good)"
                done
        } >"$1"
}
write_fleet "$tmp/fleet-a.conf" 999
write_fleet "$tmp/fleet-b.conf" 181
{ cat "$tmp/fleet-a.conf"; printf '\n[Target broken\nAddress=%s\n' "$(at good)"; } >"$tmp/fleet-bad.conf"
cp "$tmp/fleet-a.conf" "$tmp/fleet.conf"
mkdir -p "$tmp/fleet-state"
start_daemon fleet -c "$tmp/fleet.conf" --state-directory "$tmp/fleet-state"
wait_daemon fleet "$tmp/fleet.sock"

fleet_pid=${pid[fleet]}
fd_count() { find "/proc/$fleet_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$fleet_pid/status" 2>/dev/null || echo 0; }
event_sources() { # the fds in the loop's epoll set, as tests/soak.sh counts them
        local fd
        for fd in /proc/"$fleet_pid"/fd/*; do
                if [[ $(readlink "$fd" 2>/dev/null) == 'anon_inode:[eventpoll]' ]]; then
                        grep -c '^tfd:' "/proc/$fleet_pid/fdinfo/${fd##*/}"
                        return
                fi
        done
        echo 0
}
# sample: fds and event sources less one each per probe in flight (its socket), and RSS, into fds,
# sources and rss; the least of five looks 0.2 s apart, since a state save or a probe between its
# start and its socket holds an fd for a moment. What leaks stays in every look.
sample() {
        local answer probing i f e
        fds=999999 sources=999999
        for ((i = 0; i < 5; i++)); do
                answer=$(timeout -k 5 20 "$TLSWATCHCTL" --socket "$tmp/fleet.sock" status --json 2>/dev/null)
                probing=$("$jq" '[.[] | select(.probing)] | length' <<<"$answer" 2>/dev/null)
                f=$(($(fd_count) - ${probing:-0}))
                e=$(($(event_sources) - ${probing:-0}))
                ((f < fds)) && fds=$f
                ((e < sources)) && sources=$e
                sleep 0.2
        done
        rss=$(rss_kib)
}
outcomes() { grep -cE 'reloaded .*: 200 targets|reload failed, keeping the running configuration' "$tmp/fleet.err"; }
new_names() { # how many of the running targets have the n... names of fleet-b (status exits non-zero
        # while targets are unknown or failing, which is not this question's business)
        local answer
        answer=$(timeout -k 5 20 "$TLSWATCHCTL" --socket "$tmp/fleet.sock" status --json 2>/dev/null)
        "$jq" '[.[] | select(.name | startswith("n"))] | length' <<<"$answer" 2>/dev/null || echo -1
}

errors=()
applied=0 refused=0 expected_new=0
for ((round = 1; round <= 100; round++)); do
        if ((round % 10 == 0)); then
                config=bad
        elif ((round % 2)); then
                config=b
        else
                config=a
        fi
        cp "$tmp/fleet-$config.conf" "$tmp/fleet.conf.new" && mv "$tmp/fleet.conf.new" "$tmp/fleet.conf"
        before=$(outcomes)
        kill -HUP "$fleet_pid"
        for ((i = 0; i < 300; i++)); do
                (($(outcomes) > before)) && break
                running "$fleet_pid" || break
                sleep 0.1
        done
        if ! (($(outcomes) > before)); then
                errors+=("reload $round ($config) was neither applied nor refused within 30 s")
                break
        fi
        if [[ $config == bad ]]; then
                refused=$((refused + 1))
                # Refused: the set from before runs on, whole.
                n=$(new_names)
                ((n == expected_new)) || errors+=("after the refused reload $round, $n targets named n..., expected $expected_new")
        else
                applied=$((applied + 1))
                expected_new=0
                [[ $config == b ]] && expected_new=20
        fi
        if ((round == 10)); then
                sample
                fds_early=$fds rss_early=$rss sources_early=$sources
        fi
done
sample
fds_late=$fds rss_late=$rss sources_late=$sources
n=$(new_names)
((n == expected_new)) || errors+=("after the last reload, $n targets named n..., expected $expected_new")
n=$(grep -c 'reload failed, keeping the running configuration' "$tmp/fleet.err")
((n == 10)) || errors+=("$n refused reloads logged, expected 10")
grep -q 'fleet.conf:[0-9]*:' "$tmp/fleet.err" || errors+=("the refused reloads do not name the file and line")
# Noise: probes in flight hold a socket and an IO source each (a few of them at any time), the heap
# fragments a little.
((fds_late <= fds_early + 8)) || errors+=("open fds grew from $fds_early to $fds_late over 90 reloads")
((sources_late <= sources_early + 8)) ||
        errors+=("event sources grew from $sources_early to $sources_late over 90 reloads")
# Under ASan freed memory waits in the sanitizer's quarantine (up to 256 MiB): RSS says nothing there.
sanitized "$TLSWATCHD" || ((rss_late <= rss_early + rss_early / 10 + 2048)) ||
        errors+=("RSS grew from $rss_early to $rss_late KiB over 90 reloads")
running "$fleet_pid" || errors+=("tlswatchd exited during the reloads")
echo "    reloads: $applied applied, $refused refused; fds $fds_early -> $fds_late, event sources $sources_early -> $sources_late (less the probes in flight), RSS $rss_early -> $rss_late KiB"
stop_daemon fleet
[[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
report "100 reloads while 200 targets probe: each applied or refused, fds, sources and RSS flat" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/fleet.err"

# --- SIGKILL while the state is written ------------------------------------------------------------------

# 20 rounds: the daemon is killed at a random moment while 200 targets probe every second and the
# state is saved after each burst; every restart must find a whole state file (never "damaged" or
# "not a valid state file") and no temporary file must outlive the next save.
errors=()
sed -e 's/^Interval=5s$/Interval=1s/' -e 's/^Timeout=5s$/Timeout=1s/' "$tmp/fleet-a.conf" >"$tmp/kill.conf"
rm -rf "$tmp/kill-state" && mkdir -p "$tmp/kill-state"
for ((round = 1; round <= 20; round++)); do
        start_daemon "kill$round" -c "$tmp/kill.conf" --state-directory "$tmp/kill-state"
        if ((round == 1)); then
                for ((i = 0; i < 300; i++)); do
                        [[ -s $tmp/kill-state/state.json ]] && break
                        sleep 0.1
                done
        fi
        sleep "$((RANDOM % 3)).$((RANDOM % 10))"
        kill -KILL "${pid[kill$round]}" 2>/dev/null
        wait "${pid[kill$round]}" 2>/dev/null
        if grep -qE 'is damaged|is not a valid state file' "$tmp/kill$round.err"; then
                errors+=("round $round: $(grep -E 'is damaged|is not a valid state file' "$tmp/kill$round.err" | head -n 1)")
        fi
done
"$jq" -e '.targets | length == 200' "$tmp/kill-state/state.json" >/dev/null 2>&1 ||
        errors+=("after 20 kills, state.json is not a whole state file of 200 targets")
start_daemon kill-last -c "$tmp/kill.conf" --state-directory "$tmp/kill-state"
for ((i = 0; i < 300; i++)); do
        grep -q 'watching 200 targets' "$tmp/kill-last.err" && break
        sleep 0.1
done
stop_daemon kill-last
grep -qE 'is damaged|is not a valid state file' "$tmp/kill-last.err" && errors+=("the last restart found a broken state file")
leftovers=$(find "$tmp/kill-state" -name '*.tmp' | wc -l)
((leftovers == 0)) || errors+=("$leftovers temporary files left after a clean stop")
report "20 SIGKILLs at random moments of a probing, saving daemon: every restart finds a whole state file" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/kill-last.err"

# --- a damaged spool entry ---------------------------------------------------------------------------

# Events spooled while the receiver fails; with the daemon stopped, one spool file is cut in half. At
# the next start that file is set aside with a warning naming it, and every other event is delivered,
# in order, with the id it was spooled with.
errors=()
receiver=$TESTS_SRCDIR/integration/webhook-receiver.py
echo 500 >"$tmp/hook.control"
start_process hook "$python" "$receiver" --port 0 --port-file "$tmp/hook.port" --log "$tmp/hook.log" \
        --control "$tmp/hook.control"
wait_port hook
pick_ports 3
cat >"$tmp/spool.conf" <<CONF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=1h
RetryInterval=1h
Timeout=2s
ConfirmFailures=1
ControlSocket=$tmp/spool.sock

[Target gone-1]
Address=127.0.0.1:${picked[0]}

[Target gone-2]
Address=127.0.0.1:${picked[1]}

[Target gone-3]
Address=127.0.0.1:${picked[2]}

[Webhook hook]
URL=http://127.0.0.1:${port[hook]}/hook
AllowInsecureHTTP=yes
CONF
mkdir -p "$tmp/spool-state"
spool_dir=$tmp/spool-state/spool/hook
spooled() { (($(find "$spool_dir" -name '*.json' 2>/dev/null | wc -l) >= 3)); }
start_daemon spool -c "$tmp/spool.conf" --state-directory "$tmp/spool-state"
for ((i = 0; i < 300; i++)); do
        spooled && break
        running "${pid[spool]}" || break
        sleep 0.1
done
stop_daemon spool
mapfile -t files < <(find "$spool_dir" -name '*.json' | sort)
if ((${#files[@]} < 3)); then
        errors+=("${#files[@]} events spooled while the receiver failed, expected at least 3")
else
        damaged=${files[1]}
        mapfile -t kept_ids < <(for f in "${files[@]}"; do [[ $f == "$damaged" ]] || "$jq" -r '.id' "$f"; done)
        head -c "$(($(stat -c %s "$damaged") / 2))" "$damaged" >"$damaged.cut" && mv "$damaged.cut" "$damaged"
        echo ok >"$tmp/hook.control"
        : >"$tmp/hook.log"
        start_daemon spool-again -c "$tmp/spool.conf" --state-directory "$tmp/spool-state"
        delivered_ids() { "$jq" -r '.body | fromjson? | .id // empty' "$tmp/hook.log" 2>/dev/null; }
        for ((i = 0; i < 300; i++)); do
                (($(delivered_ids | grep -c '') >= ${#kept_ids[@]})) && break
                running "${pid[spool-again]}" || break
                sleep 0.1
        done
        want="webhook hook: $damaged is not an event; moved aside"
        grep -qF "$want" "$tmp/spool-again.err" || errors+=("no warning \"$want\"")
        [[ -f $damaged.corrupt ]] || errors+=("$damaged.corrupt does not exist")
        mapfile -t got < <(delivered_ids | head -n "${#kept_ids[@]}")
        [[ "${got[*]}" == "${kept_ids[*]}" ]] ||
                errors+=("delivered ids \"${got[*]}\", expected the spooled ones in order: \"${kept_ids[*]}\"")
        stop_daemon spool-again
        [[ $daemon_rc == 0 ]] || errors+=("exit code $(describe_rc "$daemon_rc") after SIGTERM, expected 0")
fi
report "a spool entry cut in half: set aside with a warning naming it, the others delivered in order" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/spool-again.err" "$tmp/hook.log"

summary
