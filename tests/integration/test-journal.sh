#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of tlswatchd's journal entries against a real systemd-journald, isolated in a private
# mount namespace: tmpfs over /run/systemd, /run/log and /var/log/journal, a journald of our own on
# them, then tlswatchd watching one port whose server goes from a wrong-name certificate to a good one,
# to another good one, and then away. journalctl -o json must show the problem, the recovery, the
# certificate change and the refused connection with their MESSAGE_IDs and TLSWATCH_* fields, and the
# host's journal must not see any of it.
# Run by the automake harness: 0 pass, 1 fail, 99 broken environment; never skips.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# The MESSAGE_IDs are a published contract (tlswatch.catalog; "never change" in src/daemon/journal.c), so
# they are spelled out here rather than read from the source: a change must fail this test.
MESSAGE_ID_HOSTNAME_MISMATCH=5ebcab9bc797690323fecd2ca845b408
MESSAGE_ID_CONNECT_FAILED=379b929d13ea102a28ad8df22339c352
MESSAGE_ID_RECOVERY=89e4ef42f78985e5beca22c9bba9634d
MESSAGE_ID_CERTIFICATE_CHANGED=f7c9b520ffb343eea44eda492f62d476

# --- environment, in both halves ----------------------------------------------------------------------

need_programs TLSWATCHD

journald=${SYSTEMD_JOURNALD:-}
if [[ -z $journald ]]; then
        for f in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
                [[ -x $f ]] && journald=$f && break
        done
fi
[[ -n $journald && -x $journald ]] ||
        hard_error "systemd-journald not found (set SYSTEMD_JOURNALD; Debian: package systemd)"
need_commands "$openssl" "$jq" journalctl logger unshare mount timeout od

# --- outer half: on the host ---------------------------------------------------------------------------

# The test runs twice over: here, on the host, it starts a copy of itself in a private mount namespace,
# then checks that nothing reached the host's journal and prints the summary for both halves.
if [[ -z ${TLSWATCH_TEST_JOURNAL_NS:-} ]]; then
        outer=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-test-journal.XXXXXX") || hard_error "mktemp failed"
        outer=$(cd "$outer" && pwd) || hard_error "cannot enter $outer"
        trap 'rm -rf "$outer"' EXIT
        trap 'exit 99' INT TERM HUP

        # A target name no other run uses, to look for in the host's journal afterwards.
        target=journal-test-${outer##*.}
        host_socket_before=no
        [[ -e /run/systemd/journal/socket ]] && host_socket_before=yes
        # Without a journald of its own the host's journal directories must stay exactly as they are.
        host_listing() {
                find /run/log/journal /var/log/journal -printf '%p %s %T@\n' 2>/dev/null | sort
        }
        host_listing >"$outer/host-before"

        # Root may unshare the mount namespace directly; anyone else needs a user namespace for it, in
        # which journald runs as that namespace's root (it logs that it cannot open /dev/kmsg, which it
        # does not need here).
        if ((EUID == 0)); then
                ns=(unshare --mount --propagation private)
        else
                ns=(unshare --user --map-root-user --mount --propagation private)
        fi
        TLSWATCH_TEST_JOURNAL_NS=$outer TLSWATCH_TEST_JOURNAL_TARGET=$target "${ns[@]}" bash "$0"
        rc=$?
        if ((rc == 99)) || [[ ! -s $outer/counts ]]; then
                ((rc == 99)) || echo "test-journal: ERROR: the namespaced half exited $rc without a result" >&2
                exit 99
        fi
        read -r passed failed <"$outer/counts"

        errors=()
        host_socket_after=no
        [[ -e /run/systemd/journal/socket ]] && host_socket_after=yes
        [[ $host_socket_after == "$host_socket_before" ]] ||
                errors+=("/run/systemd/journal/socket on the host: existed before: $host_socket_before, after: $host_socket_after")
        if [[ $host_socket_before == yes ]]; then
                # A live host journal changes all the time; look for our entries in it instead.
                n=$(journalctl --no-pager -q -o json "TLSWATCH_TARGET=$target" 2>/dev/null | grep -c '') || true
                [[ ${n:-0} == 0 ]] || errors+=("the host's journal holds $n entries for target $target")
        else
                host_listing >"$outer/host-after"
                cmp -s "$outer/host-before" "$outer/host-after" ||
                        errors+=("the host's /run/log/journal or /var/log/journal changed: $(diff "$outer/host-before" "$outer/host-after" | head -n 5 | tr '\n' ' ')")
        fi
        report "the host's journal is untouched" ${errors[@]+"${errors[@]}"}
        summary
        exit
fi

# --- inner half: in the private mount namespace --------------------------------------------------------

# A test run inside a service (CI under systemd) must not let journald or tlswatchd notify its manager.
forget_service_environment

outer=$TLSWATCH_TEST_JOURNAL_NS
target=${TLSWATCH_TEST_JOURNAL_TARGET:-journal-test}
tmp=$outer/inner
mkdir -p "$tmp" || hard_error "cannot create $tmp"
# Stop everything this half started, newest first (journald last), bounded. The outer half removes the
# files; the tmpfs mounts vanish with the namespace.
cleanup() {
        local rc=$? i

        trap - EXIT
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
                running "${pids[i]}" && stop_pid "${pids[i]}"
        done
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

# tmp lives in TMPDIR, which must stay visible under the mounts.
case $tmp/ in
/run/systemd/* | /run/log/* | /var/log/journal/*)
        hard_error "TMPDIR ($tmp) lies under a directory this test hides; use another TMPDIR" ;;
esac

# --- a journald of our own -----------------------------------------------------------------------------

# Only in this mount namespace, so the host's /run and /var/log stay as they are. Where /run/systemd or
# /run/log do not exist (a host without systemd), all of /run gets a tmpfs rather than new directories.
hide() {
        mount -t tmpfs -o mode=0755 tlswatch-test "$1" || hard_error "cannot mount a tmpfs on $1"
}
if [[ -d /run/systemd && -d /run/log ]]; then
        hide /run/systemd
        hide /run/log
else
        case $tmp/ in
        /run/*) hard_error "/run/systemd or /run/log is missing and TMPDIR ($tmp) is under /run" ;;
        esac
        hide /run
        mkdir -p /run/systemd /run/log
fi
# journald writes only to /run/log/journal here (Storage=volatile); /var/log/journal is hidden anyway,
# in case a flush request from anywhere made it move the journal there.
[[ -d /var/log/journal ]] && hide /var/log/journal
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal

# journald names its directory after the machine ID; a container may have an empty /etc/machine-id.
if ! grep -qE '^[0-9a-f]{32}$' /etc/machine-id 2>/dev/null && [[ -f /etc/machine-id ]]; then
        od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$tmp/machine-id"
        echo >>"$tmp/machine-id"
        mount --bind "$tmp/machine-id" /etc/machine-id || hard_error "cannot give this namespace a machine ID"
fi

# Sorted after any drop-in of the host's, so these settings win. ReadKMsg=no: the host's kernel log is
# none of this test's business; the Forward* keys: nothing leaves this journal.
cat >/run/systemd/journald.conf.d/zz-tlswatch-test.conf <<'EOF'
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitBurst=0
EOF

# journald's own messages go to its stderr (a file), never to /dev/kmsg; debug level, so that a journald
# that cannot run here says why.
SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug "$journald" </dev/null >"$tmp/journald.log" 2>&1 &
pid[journald]=$!
pids+=("$!")
for ((i = 0; i < 100; i++)); do
        [[ -S /run/systemd/journal/socket ]] && break
        running "${pid[journald]}" || break
        sleep 0.1
done
if [[ ! -S /run/systemd/journal/socket ]]; then
        echo "--- journald's log:" >&2
        tail -n 40 "$tmp/journald.log" >&2
        running "${pid[journald]}" || echo "(journald exited)" >&2
        hard_error "systemd-journald did not create /run/systemd/journal/socket within 10 s"
fi

# journal QUERY...: our journal's entries as JSON lines, oldest first.
journal() {
        timeout -k 2 20 journalctl --directory=/run/log/journal --no-pager -q -o json "$@" 2>>"$tmp/journalctl.err"
}

# An entry sent like tlswatchd sends them must come back, or nothing below can work.
probe_id=tlswatch-test-$$-$RANDOM
timeout 10 logger --journald <<EOF || hard_error "logger --journald failed to send to our journald"
MESSAGE=journal test: $probe_id
SYSLOG_IDENTIFIER=$probe_id
EOF
for ((i = 0; i < 50; i++)); do
        [[ -n $(journal "SYSLOG_IDENTIFIER=$probe_id") ]] && break
        sleep 0.1
done
if [[ -z $(journal "SYSLOG_IDENTIFIER=$probe_id") ]]; then
        tail -n 40 "$tmp/journald.log" "$tmp/journalctl.err" >&2
        hard_error "an entry sent to our journald did not show up in journalctl --directory=/run/log/journal"
fi

# --- PKI and servers -----------------------------------------------------------------------------------

make_pki

# As make_tmp does for other tests: s_server only prints "ACCEPT host:port" without -quiet, and then
# shuts down at EOF on stdin; so its stdin is a FIFO this shell holds open and never writes to.
mkfifo "$tmp/idle.in"
# shellcheck disable=SC2034 # only held open, never used
exec {idle_fd}<>"$tmp/idle.in"

# serve NAME PORT CERT: an s_server for CERT.pem (+ int.pem) on 127.0.0.1:PORT (0: any); it becomes the
# current server, pid[server] listening on server_port. Waits (max 10 s) until it listens.
serve() {
        local name=$1 cert=$3 listen_port=

        (($2 == 0)) || listen_port=$2
        start_tls "$name" -cert "$pki/$cert.pem" -key "$pki/$cert.key" -cert_chain "$pki/int.pem"
        wait_port "$name"
        pid[server]=${pid[$name]}
        server_port=${port[$name]}
}

not_after() {
        date -u -d "$("$openssl" x509 -in "$pki/$1.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}
wrongname_sha256=$(fingerprint wrongname)
good_sha256=$(fingerprint good)
ec_sha256=$(fingerprint ec)
wrongname_not_after=$(not_after wrongname)

# The wrong-name certificate first, on a port of the kernel's choosing that all later servers reuse.
serve wrongname 0 wrongname

# --- the daemon ----------------------------------------------------------------------------------------


# report_details: after a failed check, the target's journal entries and the daemon's stderr.
report_details() {
        echo "    --- the target's journal entries (MESSAGE_ID, TLSWATCH_EVENT, MESSAGE):"
        journal "SYSLOG_IDENTIFIER=tlswatchd" |
                "$jq" -r '"    \(.MESSAGE_ID) \(.TLSWATCH_EVENT) \(.MESSAGE)"' 2>/dev/null | tail -n 20
        echo "    --- tlswatchd stderr (last 20 lines):"
        tail -n 20 "$tmp/daemon.err" 2>/dev/null | sed 's/^/    /'
}

mkdir -p "$tmp/conf" "$tmp/state"
cat >"$tmp/conf/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=2s
RetryInterval=1s
Timeout=2s
ConfirmFailures=1
Vantage=lab-1

[Target $target]
Address=127.0.0.1:$server_port
EOF

"$TLSWATCHD" -c "$tmp/conf/tlswatch.conf" --state-directory "$tmp/state" \
        </dev/null >"$tmp/daemon.out" 2>"$tmp/daemon.err" &
pid[daemon]=$!
pids+=("$!")

# entries: all of the target's entries from tlswatchd, as one JSON array.
entries() {
        journal "SYSLOG_IDENTIFIER=tlswatchd" "TLSWATCH_TARGET=$target" | "$jq" -s .
}

# wait_entry SECONDS JQ-CONDITION: wait until an entry satisfies the condition (with $after: only
# entries after the one with that cursor). Bounded in tries and in time, should journalctl be slow.
wait_entry() {
        local limit=$1 condition=$2 i deadline=$((SECONDS + $1))

        for ((i = 0; i <= limit * 5 && SECONDS <= deadline; i++)); do
                entries | "$jq" -e --arg after "${after:-}" \
                        '(if $after == "" then . else (map(.__CURSOR) | index($after)) as $i
                          | if $i == null then [] else .[$i + 1:] end end)
                         | any(.[]; '"$condition"')' >/dev/null 2>&1 && return 0
                running "${pid[daemon]}" || return 1
                sleep 0.2
        done
        return 1
}

# cursor_of JQ-CONDITION: the cursor of the last entry that satisfies it.
cursor_of() {
        entries | "$jq" -r '[.[] | select('"$1"')] | last | .__CURSOR // empty'
}

# swap NAME CERT: replace the current server with one for CERT on the same port, as a certificate
# renewal with a server restart would.
swap() {
        local p=$server_port

        stop_pid "${pid[server]}"
        serve "$1" "$p" "$2"
        [[ $server_port == "$p" ]] || hard_error "the new server listens on $server_port, not $p"
}

problem='.TLSWATCH_EVENT == "problem" and .TLSWATCH_CODE == "hostname_mismatch"'
errors=()
after=""
if wait_entry 30 "$problem"; then
        "$jq" -e --arg id "$MESSAGE_ID_HOSTNAME_MISMATCH" --arg target "$target" --arg sha "$wrongname_sha256" \
                --arg not_after "$wrongname_not_after" --arg address "127.0.0.1:$server_port" \
                '[.[] | select('"$problem"')] | first
                | .PRIORITY == "2" and .MESSAGE_ID == $id and .TLSWATCH_TARGET == $target
                  and .TLSWATCH_ADDRESS == $address
                  and .TLSWATCH_SHA256 == $sha and .TLSWATCH_NOT_AFTER == $not_after
                  and .TLSWATCH_SEVERITY == "critical" and ._TRANSPORT == "journal"
                  and .TLSWATCH_VANTAGE == "lab-1"
                  and (.MESSAGE | startswith($target + ": critical hostname_mismatch"))' \
                <(entries) >/dev/null ||
                errors+=("the problem entry lacks one of PRIORITY=2, MESSAGE_ID=$MESSAGE_ID_HOSTNAME_MISMATCH, TLSWATCH_TARGET=$target, TLSWATCH_ADDRESS=127.0.0.1:$server_port, TLSWATCH_SHA256=$wrongname_sha256, TLSWATCH_NOT_AFTER=$wrongname_not_after, TLSWATCH_SEVERITY=critical, _TRANSPORT=journal, TLSWATCH_VANTAGE=lab-1, MESSAGE=\"$target: critical hostname_mismatch: ...\"")
        "$jq" -e --arg id "$MESSAGE_ID_HOSTNAME_MISMATCH" 'any(.[]; .TLSWATCH_EVENT == "status_changed"
                  and .TLSWATCH_STATUS == "critical" and .PRIORITY == "2" and .MESSAGE_ID == $id)' \
                <(entries) >/dev/null ||
                errors+=("no status_changed entry to critical with PRIORITY=2 and MESSAGE_ID=$MESSAGE_ID_HOSTNAME_MISMATCH")
else
        errors+=("no entry with TLSWATCH_EVENT=problem and TLSWATCH_CODE=hostname_mismatch within 30 s")
fi
report "problem: hostname_mismatch entry with its MESSAGE_ID and fields" ${errors[@]+"${errors[@]}"}

# The fix: a good certificate on the same port. A probe may fall into the moment without a listener
# and log connect_failed (ConfirmFailures=1); the recovery comes all the same.
after=$(cursor_of "$problem")
swap good good
recovered='.TLSWATCH_EVENT == "status_changed" and .TLSWATCH_STATUS == "ok"'
errors=()
if wait_entry 30 "$recovered"; then
        "$jq" -e --arg id "$MESSAGE_ID_RECOVERY" --arg after "$after" --arg address "127.0.0.1:$server_port" \
                '(map(.__CURSOR) | index($after)) as $i | .[$i + 1:]
                 | ([.[] | select('"$recovered"')] | first | .MESSAGE_ID == $id and .PRIORITY == "5"
                    and .TLSWATCH_ADDRESS == $address)
                   and any(.[]; .TLSWATCH_EVENT == "recovery" and .TLSWATCH_CODE == "hostname_mismatch"
                           and .MESSAGE_ID == $id)' \
                <(entries) >/dev/null ||
                errors+=("expected a status_changed entry to ok and a recovery entry for hostname_mismatch, both with MESSAGE_ID=$MESSAGE_ID_RECOVERY (status_changed with PRIORITY=5 and TLSWATCH_ADDRESS=127.0.0.1:$server_port)")
else
        errors+=("no status_changed entry to ok within 30 s of the good certificate")
fi
n=$("$jq" "[.[] | select($problem)] | length" <(entries))
[[ $n == 1 ]] || errors+=("$n problem entries for hostname_mismatch, expected 1 (it lasted several probes)")
report "recovery: entries with MESSAGE_ID $MESSAGE_ID_RECOVERY" ${errors[@]+"${errors[@]}"}

changed='.TLSWATCH_EVENT == "certificate_changed"'
errors=()
"$jq" -e --arg id "$MESSAGE_ID_CERTIFICATE_CHANGED" --arg old "$wrongname_sha256" --arg new "$good_sha256" \
        'any(.[]; '"$changed"' and .MESSAGE_ID == $id and .TLSWATCH_OLD_SHA256 == $old and .TLSWATCH_SHA256 == $new)' \
        <(entries) >/dev/null ||
        errors+=("no certificate_changed entry from the wrong-name certificate ($old) to the good one ($new)")
report "the fix is a certificate change too" ${errors[@]+"${errors[@]}"}

# A renewal: another good certificate on the same port.
after=$(cursor_of "$recovered")
swap ec ec
errors=()
new_cert="$changed"' and .TLSWATCH_SHA256 == "'"$ec_sha256"'"'
if wait_entry 30 "$new_cert"; then
        "$jq" -e --arg id "$MESSAGE_ID_CERTIFICATE_CHANGED" --arg old "$good_sha256" \
                '[.[] | select('"$new_cert"')] | last
                 | .MESSAGE_ID == $id and .TLSWATCH_OLD_SHA256 == $old and .PRIORITY == "5"
                   and (.TLSWATCH_NOT_AFTER | type == "string" and length > 0)
                   and (.TLSWATCH_SUBJECT | tostring | test("tlswatch ec"))
                   and (.TLSWATCH_ISSUER | tostring | test("tlswatch test intermediate"))' \
                <(entries) >/dev/null ||
                errors+=("the certificate_changed entry lacks MESSAGE_ID=$MESSAGE_ID_CERTIFICATE_CHANGED, TLSWATCH_OLD_SHA256=$good_sha256, PRIORITY=5, TLSWATCH_NOT_AFTER, or TLSWATCH_SUBJECT/TLSWATCH_ISSUER of the new certificate")
else
        errors+=("no certificate_changed entry with TLSWATCH_SHA256=$ec_sha256 within 30 s of the swap")
fi
report "certificate change: entry with MESSAGE_ID $MESSAGE_ID_CERTIFICATE_CHANGED and TLSWATCH_OLD_SHA256" \
        ${errors[@]+"${errors[@]}"}

# The renewal diff in fields: good (RSA 2048) to ec (EC P-256) under the same intermediate is a new key
# of another type and another subject, one TLSWATCH_CHANGE field per change (an array in -o json).
errors=()
"$jq" -e '[.[] | select('"$new_cert"')] | last
          | (.TLSWATCH_CHANGES | split(",")) as $kinds
          | ($kinds | index("key_rotated")) and ($kinds | index("key_type_changed"))
            and ($kinds | index("subject_changed")) and ($kinds | index("intermediate_changed") | not)
            and .TLSWATCH_DIFF_PARTIAL == "0"
            and (.TLSWATCH_CHANGE | type == "array" and any(.[]; . == "key_type_changed: key RSA 2048 -> EC 256"))
            and (.MESSAGE | test("key rotated .*key RSA 2048 -> EC 256"))' <(entries) >/dev/null ||
        errors+=("the certificate_changed entry lacks TLSWATCH_CHANGES with key_rotated, key_type_changed and subject_changed (and no intermediate_changed), TLSWATCH_DIFF_PARTIAL=0, a TLSWATCH_CHANGE field \"key_type_changed: key RSA 2048 -> EC 256\", or the diff in MESSAGE")
report "certificate change: the renewal diff in TLSWATCH_CHANGES, TLSWATCH_CHANGE and MESSAGE" \
        ${errors[@]+"${errors[@]}"}

# The listener goes away. ConfirmFailures=1: the first refused connection counts, and its entries still
# describe the certificate served before.
after=$(cursor_of "$new_cert")
stop_pid "${pid[server]}"
refused='.TLSWATCH_EVENT == "problem" and .TLSWATCH_CODE == "connect_failed"'
errors=()
if wait_entry 30 "$refused"; then
        "$jq" -e --arg id "$MESSAGE_ID_CONNECT_FAILED" --arg sha "$ec_sha256" --arg address "127.0.0.1:$server_port" \
                '[.[] | select('"$refused"')] | last
                 | .MESSAGE_ID == $id and .PRIORITY == "2" and .TLSWATCH_ADDRESS == $address
                   and .TLSWATCH_SHA256 == $sha' \
                <(entries) >/dev/null ||
                errors+=("the connect_failed entry lacks MESSAGE_ID=$MESSAGE_ID_CONNECT_FAILED, PRIORITY=2, TLSWATCH_ADDRESS=127.0.0.1:$server_port or TLSWATCH_SHA256=$ec_sha256 (the certificate served before)")
else
        errors+=("no connect_failed problem entry within 30 s of stopping the listener (ConfirmFailures=1)")
fi
report "listener gone: connect_failed entry, still naming the last certificate" ${errors[@]+"${errors[@]}"}

stop_pid "${pid[daemon]}"
stop_rc=$?
errors=()
[[ $stop_rc == 0 ]] || errors+=("tlswatchd exited $stop_rc after SIGTERM, expected 0")
# Make journald write out everything it holds before the last look.
timeout -k 2 20 journalctl --sync >>"$tmp/journalctl.err" 2>&1 || errors+=("journalctl --sync failed")
n=$(grep -c -E '^<[0-9]>' "$tmp/daemon.err") || true
[[ ${n:-0} == 0 ]] || errors+=("$n events went to stderr although the journal was there")
n=$("$jq" '[.[] | select(.TLSWATCH_EVENT == null or .TLSWATCH_STATUS == null or .MESSAGE_ID == null)] | length' \
        <(entries))
[[ $n == 0 ]] || errors+=("$n entries lack TLSWATCH_EVENT, TLSWATCH_STATUS or MESSAGE_ID")
report "every event went to the journal, complete" ${errors[@]+"${errors[@]}"}

# --- a journald that starts after the daemon -----------------------------------------------------------

# Early boot, a journald restart, a container that starts journald late: the daemon must not decide once.
# Our journald goes away; a second daemon starts and its first problem can only go to stderr (as a
# "<N>" line); journald comes back; the daemon's next event is a structured entry again, unrestarted.
late=$target-late
stop_pid "${pid[journald]}"
rm -f /run/systemd/journal/socket
serve late-wrong 0 wrongname
mkdir -p "$tmp/late-conf" "$tmp/late-state"
sed -e "s/^\[Target .*\]$/[Target $late]/" -e "s/^Address=.*/Address=127.0.0.1:$server_port/" \
        "$tmp/conf/tlswatch.conf" >"$tmp/late-conf/tlswatch.conf"
"$TLSWATCHD" -c "$tmp/late-conf/tlswatch.conf" --state-directory "$tmp/late-state" \
        </dev/null >"$tmp/late.out" 2>"$tmp/late.err" &
pid[late]=$!
pids+=("$!")
errors=()
for ((i = 0; i < 150; i++)); do
        grep -qE "^<2>$late: critical hostname_mismatch" "$tmp/late.err" && break
        running "${pid[late]}" || break
        sleep 0.2
done
grep -qE "^<2>$late: critical hostname_mismatch" "$tmp/late.err" ||
        errors+=("without a journal, the problem did not go to stderr as a <2> line within 30 s")
SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug "$journald" </dev/null >>"$tmp/journald.log" 2>&1 &
pid[journald]=$!
pids+=("$!")
for ((i = 0; i < 100; i++)); do
        [[ -S /run/systemd/journal/socket ]] && break
        sleep 0.1
done
[[ -S /run/systemd/journal/socket ]] || hard_error "the second systemd-journald did not create its socket"
# The fix: the next event is the recovery, and it must be an entry with its fields.
swap late-good good
late_recovered=false
for ((i = 0; i < 150; i++)); do
        if journal "SYSLOG_IDENTIFIER=tlswatchd" "TLSWATCH_TARGET=$late" | "$jq" -s -e --arg id "$MESSAGE_ID_RECOVERY" \
                'any(.[]; .TLSWATCH_EVENT == "status_changed" and .TLSWATCH_STATUS == "ok" and .MESSAGE_ID == $id
                          and ._TRANSPORT == "journal")' >/dev/null 2>&1; then
                late_recovered=true
                break
        fi
        running "${pid[late]}" || break
        sleep 0.2
done
$late_recovered || errors+=("after journald came back, the recovery was no structured entry (TLSWATCH_TARGET=$late, MESSAGE_ID=$MESSAGE_ID_RECOVERY) within 30 s")
grep -q 'the journal is reachable again' "$tmp/late.err" ||
        errors+=("the daemon did not say that the journal is reachable again")
((${#errors[@]} == 0)) || { echo "    --- the late daemon's stderr:"; tail -n 20 "$tmp/late.err" | sed 's/^/    /'; }
report "journald started after the daemon: structured entries resume without a restart" ${errors[@]+"${errors[@]}"}
stop_pid "${pid[late]}"

echo "$passed $failed" >"$outer/counts"
exit 0
