# SPDX-License-Identifier: MIT
# The plumbing the integration tests share: environment checks, the temporary directory and its cleanup,
# children started, watched and stopped by PID (never by name) with bounded waits, loopback servers
# whose ports are announced or picked, and the "ok"/"FAIL" lines with their counters. Sourced by a test
# after `set -u -o pipefail`; sourcing it only defines functions and the variables below:
#
#     [[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
#     . "$TESTS_SRCDIR/integration/lib.sh"
#
# What differs from test to test stays in the test; a test may define report_details, which report
# calls after a failed check to show more (the probe's output, the journal's entries).

# shellcheck shell=bash
# SC2317: functions only reached through trap or from the tests; SC2034: variables for the tests.
# shellcheck disable=SC2317,SC2034

test_name=$(basename "$0" .sh)
# configure finds these with AC_PATH_PROG; fall back to PATH when run by hand.
openssl=${OPENSSL_BIN:-openssl}
jq=${JQ:-jq}
passed=0
failed=0
# Every child a test starts, for cleanup; port and pid by server name, for start_tls and the others.
pids=()
declare -A port pid

# hard_error MESSAGE: the environment is broken (automake's 99), not the code under test.
hard_error() {
        echo "$test_name: ERROR: $*" >&2
        exit 99
}

# --- environment ---------------------------------------------------------------------------------------

# need_programs VARIABLE...: each names the path of a program this build made (TLSWATCHD, TCP_PEER...).
need_programs() {
        local var

        for var in "$@"; do
                [[ -n ${!var:-} ]] || hard_error "$var is not set (path of the built program)"
                [[ -f ${!var} && -x ${!var} ]] ||
                        hard_error "$var=${!var} is not an executable file; build it first"
        done
}

# need_commands COMMAND...: each must be found in PATH (or be an executable path).
need_commands() {
        local tool

        for tool in "$@"; do
                command -v "$tool" >/dev/null 2>&1 || hard_error "$tool not found"
        done
}

# hide_journal ARGS...: events go to the journal whenever its socket is writable. On a host with a
# journal, the test runs again (ARGS are its own) in a private mount namespace, as root or with a user
# namespace, where a tmpfs hides the socket; the same PID goes on, so the harness still waits for it.
# Elsewhere (a container, a build chroot) there is nothing to hide.
hide_journal() {
        local -a ns

        if [[ -e /run/systemd/journal/socket && ${TLSWATCH_TEST_NS:-} != "$test_name" ]]; then
                command -v unshare >/dev/null 2>&1 ||
                        hard_error "/run/systemd/journal/socket exists and unshare(1) is missing to hide it"
                export TLSWATCH_TEST_NS=$test_name
                if ((EUID == 0)); then
                        ns=(unshare --mount --propagation private)
                else
                        ns=(unshare --user --map-root-user --mount --propagation private)
                fi
                "${ns[@]}" true 2>/dev/null ||
                        hard_error "/run/systemd/journal/socket exists and '${ns[*]}' is not permitted to hide it"
                exec "${ns[@]}" bash "$0" "$@"
        fi
        if [[ -e /run/systemd/journal/socket ]]; then
                mount -t tmpfs -o mode=0755 tlswatch-test /run/systemd/journal ||
                        hard_error "cannot hide /run/systemd/journal in the private mount namespace"
        fi
}

# forget_service_environment: nothing of a surrounding service manager or shell may steer the daemons
# or the client: sd_notify and the watchdog, socket activation, the directories and credentials a unit
# sets, JOURNAL_STREAM (which would turn the daemon's own stderr lines into "<N>..." ones, like its
# events), the client's socket and colour choice. A test sets what it needs after this.
forget_service_environment() {
        unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID LISTEN_FDS LISTEN_PID LISTEN_FDNAMES \
                STATE_DIRECTORY RUNTIME_DIRECTORY CREDENTIALS_DIRECTORY JOURNAL_STREAM TLSWATCH_SOCKET NO_COLOR
}

# make_tmp: $tmp, a fresh private directory (an absolute path) that cleanup removes at exit, after
# stopping every child in pids; an interrupted test exits 99. Also $tmp/idle.in for start_tls.
make_tmp() {
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-$test_name.XXXXXX") || hard_error "mktemp failed"
        tmp=$(cd "$tmp" && pwd) || hard_error "cannot enter $tmp"
        trap cleanup EXIT
        trap 'exit 99' INT TERM HUP
        # s_server only prints "ACCEPT host:port" (the only way to learn an ephemeral port) without
        # -quiet, and without -quiet it treats EOF on stdin as "shut down the whole server" after the
        # first connection (-ign_eof does not prevent that in OpenSSL 3.0). So an s_server reads a FIFO
        # that this shell holds open for writing and never writes to: stdin never ends, and there is no
        # extra process to clean up.
        mkfifo "$tmp/idle.in" || hard_error "mkfifo $tmp/idle.in failed"
        # shellcheck disable=SC2034 # only held open, never used
        exec {idle_fd}<>"$tmp/idle.in"
}

# make_pki: the test PKI of tests/pki/make-pki.sh in $pki ($tmp/pki).
make_pki() {
        local script=$TESTS_SRCDIR/pki/make-pki.sh

        [[ -f $script ]] || hard_error "$script not found (is TESTS_SRCDIR the source tests/ dir?)"
        pki=$tmp/pki
        # Through bash: a dist tarball or a checkout may have lost the exec bit.
        if ! bash "$script" "$pki" >"$tmp/make-pki.log" 2>&1; then
                cat "$tmp/make-pki.log" >&2
                hard_error "make-pki.sh failed"
        fi
}

# sanitized BINARY: built with AddressSanitizer (its RSS is the sanitizer's shadow and quarantine, not
# ours, and it is slower). Not `ldd | grep -q`: grep leaving early can kill ldd with SIGPIPE, which
# pipefail turns into "not sanitized" at random.
sanitized() {
        local libraries

        libraries=$(ldd "$1" 2>/dev/null)
        [[ $libraries == *libasan* ]]
}

# --- children, by PID ----------------------------------------------------------------------------------

# stat_fields PID: the fields of /proc/PID/stat after "(comm) " into the caller's array `fields`: state,
# ppid, ... (comm itself may contain spaces).
stat_fields() {
        local stat

        stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
        read -r -a fields <<<"${stat##*) }"
}

# ours PID: still a child of this shell. A PID that was already reaped may have been reused by an
# unrelated process, which must never be signalled.
ours() {
        local -a fields

        stat_fields "$1" || return 1
        [[ ${fields[1]:-} == "$$" ]]
}

# running PID: our child and not a zombie.
running() {
        local -a fields

        stat_fields "$1" || return 1
        [[ ${fields[1]:-} == "$$" && ${fields[0]:-} != Z ]]
}

# dead PID: exited (a zombie included), or no child of ours at all.
dead() {
        ! running "$1"
}

# stop_pid PID [SECONDS]: SIGTERM, wait (max SECONDS, default 10), SIGKILL, reap; returns the child's
# exit status (127 for a PID that is not our child, which is never signalled).
stop_pid() {
        local limit=${2:-10} i

        if ours "$1"; then
                kill -TERM "$1" 2>/dev/null
                for ((i = 0; i < limit * 10; i++)); do
                        running "$1" || break
                        sleep 0.1
                done
                running "$1" && kill -KILL "$1" 2>/dev/null
        fi
        wait "$1" 2>/dev/null
}

# cleanup: the EXIT trap. Stops every child still ours, all at once and bounded, so a server that
# ignores SIGTERM costs two seconds and a SIGKILL rather than a hung test run; then removes $tmp. Keeps
# the test's exit status.
cleanup() {
        local rc=$? p i
        local -a live=()

        trap - EXIT
        for p in ${pids[@]+"${pids[@]}"}; do
                ours "$p" && live+=("$p")
        done
        for p in ${live[@]+"${live[@]}"}; do
                kill "$p" 2>/dev/null
        done
        for p in ${live[@]+"${live[@]}"}; do
                for ((i = 0; i < 40; i++)); do
                        running "$p" || break
                        sleep 0.05
                done
                kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        [[ -n ${tmp:-} ]] && rm -rf "$tmp"
        exit "$rc"
}

# poll SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds (0) or SECONDS pass (1).
poll() {
        local limit=$1 i

        shift
        for ((i = 0; i <= limit * 10; i++)); do
                "$@" && return 0
                sleep 0.1
        done
        return 1
}

# describe_rc STATUS: an exit status for a failure message, naming timeout(1)'s and signals.
describe_rc() {
        if (($1 == 124)); then
                echo "$1 (killed by the test's timeout)"
        elif (($1 > 128)); then
                echo "$1 (killed by signal $(kill -l "$(($1 - 128))" 2>/dev/null || echo "$(($1 - 128))"))"
        else
                echo "$1"
        fi
}

# --- servers -------------------------------------------------------------------------------------------

# start_process [--append] NAME COMMAND...: COMMAND in the background, stdin /dev/null, its output in
# $tmp/NAME.out and $tmp/NAME.err (added to with --append, so a restart keeps the earlier run's).
start_process() {
        local append=no name

        if [[ $1 == --append ]]; then
                append=yes
                shift
        fi
        name=$1
        shift
        if [[ $append == yes ]]; then
                "$@" </dev/null >>"$tmp/$name.out" 2>>"$tmp/$name.err" &
        else
                "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
        fi
        pid[$name]=$!
        pids+=("$!")
}

# start_tls NAME [--stdin FILE] S_SERVER-ARGS...: an s_server on an ephemeral port of 127.0.0.1, or on
# $listen_port (of $listen_host) when that is set; it reads FILE (default: the idle FIFO, see make_tmp).
# wait_port learns the port.
start_tls() {
        local name=$1 in=$tmp/idle.in

        shift
        if [[ ${1:-} == --stdin ]]; then
                in=$2
                shift 2
        fi
        rm -f "$tmp/$name.out"
        "$openssl" s_server -accept "${listen_host:-127.0.0.1}:${listen_port:-0}" "$@" <"$in" >"$tmp/$name.out" \
                2>"$tmp/$name.err" &
        pid[$name]=$!
        pids+=("$!")
}

# start_peer NAME MODE [LIFETIME]: a tcp-peer, which exits by itself after LIFETIME seconds (default 120;
# killed at cleanup anyway). wait_port learns the port.
start_peer() {
        "$TCP_PEER" --mode "$2" --port-file "$tmp/$1.port" --lifetime "${3:-120}" >"$tmp/$1.out" \
                2>"$tmp/$1.err" &
        pid[$1]=$!
        pids+=("$!")
}

# wait_port NAME: wait (max 10 s) for the server to announce its port (in $tmp/NAME.port, or s_server's
# "ACCEPT" line; with $listen_port set, that it listens there), and record it in port[NAME]. A server that does not start is a hard error.
wait_port() {
        local name=$1 p="" i

        for ((i = 0; i < 200; i++)); do
                if [[ -n ${listen_port:-} ]]; then
                        # On a given port s_server says just "ACCEPT" once it listens (a port file of
                        # an earlier server of that name is stale).
                        grep -q '^ACCEPT' "$tmp/$name.out" 2>/dev/null && p=$listen_port
                elif [[ -s $tmp/$name.port ]]; then
                        p=$(<"$tmp/$name.port")
                elif [[ -s $tmp/$name.out ]]; then
                        p=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
                fi
                [[ -n $p ]] && break
                running "${pid[$name]}" || break
                sleep 0.05
        done
        if [[ -z $p ]]; then
                show_log "$name stdout" "$tmp/$name.out"
                show_log "$name stderr" "$tmp/$name.err"
                hard_error "server '$name' did not start"
        fi
        port[$name]=$p
}

# at NAME: the address of server NAME, for a target.
at() {
        echo "127.0.0.1:${port[$1]}"
}

# port_in_use PORT: something listens on 127.0.0.1:PORT.
port_in_use() {
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_ports N: N distinct free ports into the array `picked`, for servers that take no port 0. At random
# from 20000-32767, below Linux's default ephemeral range so that no test's outgoing connection or
# s_server on port 0 holds them, skipping any that has a listener now. Another test may still take one
# between the check and the bind; the caller then starts its server again on other ports.
pick_ports() {
        local p tries

        picked=()
        for ((tries = 0; ${#picked[@]} < $1; tries++)); do
                ((tries < 200)) || hard_error "no free port found in 20000-32767"
                p=$((20000 + RANDOM % 12768))
                [[ " ${picked[*]} " == *" $p "* ]] && continue
                port_in_use "$p" && continue
                picked+=("$p")
        done
}

# show_log NAME FILE: a server's log on stderr, for a hard error.
show_log() {
        echo "--- $1 log:" >&2
        cat "$2" >&2
}

# fingerprint NAME: the SHA-256 fingerprint of $pki/NAME.pem, lower-case hex without colons.
fingerprint() {
        "$openssl" x509 -in "$pki/$1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# --- tlswatchctl --------------------------------------------------------------------------------------

# run_probe ARGS...: run `tlswatchctl probe ARGS`, leaving exit code in rc, elapsed time in elapsed_ms,
# output in $tmp/out and $tmp/err. Bounded by timeout(1) so an engine bug cannot hang the suite. SIGPIPE
# is reset to its default so a probe that does not guard against it really dies (exit 141) here, even
# when the harness ignores the signal.
run_probe() {
        local t0 t1

        t0=$(date +%s%N)
        timeout -k 5 30 env --default-signal=PIPE "$TLSWATCHCTL" probe "$@" \
                </dev/null >"$tmp/out" 2>"$tmp/err"
        rc=$?
        t1=$(date +%s%N)
        elapsed_ms=$(((t1 - t0) / 1000000))
}

# --- tlswatchd -----------------------------------------------------------------------------------------

# start_daemon NAME ARGS...: tlswatchd ARGS in the background; its output added to $tmp/NAME.out and
# $tmp/NAME.err.
start_daemon() {
        local name=$1

        shift
        start_process --append "$name" "$TLSWATCHD" "$@"
}

# wait_daemon NAME [SOCKET]: wait (max 15 s) for the control socket (default $tmp/NAME.sock) of a daemon
# just started; one that does not come up fails the test at once, since everything after it would only
# time out.
wait_daemon() {
        local sock=${2:-$tmp/$1.sock} i

        for ((i = 0; i < 150; i++)); do
                [[ -S $sock ]] && return 0
                running "${pid[$1]}" || break
                sleep 0.1
        done
        echo "FAIL - daemon $1 did not start (no $sock)"
        sed 's/^/    /' "$tmp/$1.err"
        echo "$passed passed, $((failed + 1)) failed"
        exit 1
}

# stop_daemon NAME: SIGTERM, wait (max 30 s), then SIGKILL; the exit status goes to daemon_rc.
stop_daemon() {
        stop_pid "${pid[$1]}" 30
        daemon_rc=$?
}

# --- results -------------------------------------------------------------------------------------------

# report NAME [ERROR...] [-- FILE...]: "ok" without errors; else "FAIL", the errors (every line
# indented), the end of each file, and whatever report_details prints if the test defines it. Counts
# into passed and failed.
report() {
        local name=$1 f
        local -a errors=() files=()

        shift
        while [[ $# -gt 0 && $1 != -- ]]; do
                errors+=("$1")
                shift
        done
        [[ $# -gt 0 ]] && shift
        files=("$@")
        if [[ ${#errors[@]} -eq 0 ]]; then
                echo "ok - $name"
                passed=$((passed + 1))
                return 0
        fi
        echo "FAIL - $name"
        printf '%s\n' "${errors[@]}" | sed 's/^/    /'
        for f in ${files[@]+"${files[@]}"}; do
                echo "    --- ${f#"${tmp:-}"/} (last 40 lines):"
                tail -n 40 "$f" 2>/dev/null | cut -c1-300 | sed 's/^/    /'
        done
        declare -F report_details >/dev/null && report_details
        failed=$((failed + 1))
        return 1
}

# summary: the last line, and the exit status for the harness (0 all passed, 1 a failure).
summary() {
        echo "$passed passed, $failed failed"
        ((failed == 0))
}
