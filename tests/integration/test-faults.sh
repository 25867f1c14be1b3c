#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults under the daemon: its state directory on a filesystem that fills up (a 512 KiB tmpfs in a
# private mount namespace, so nothing of the host's is touched). The daemon must keep probing, say so
# once, leave the previous state file intact, and save again as soon as there is room. Servers on
# 127.0.0.1, started and stopped by PID; bounded waits.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

need_programs TLSWATCHD TLSWATCHCTL
need_commands unshare mount "$jq" "$openssl" dd md5sum

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
        timeout -k 5 20 "$TLSWATCHCTL" --socket "$tmp/control.sock" status --json "$1" 2>/dev/null |
                "$jq" -r '.[0].probes // 0' 2>/dev/null || echo 0
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

summary
