#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile listeners (docs/HARDENING.md): each case starts a tests/tools/hostile-peer that misbehaves at
# one step and checks that `tlswatchctl probe`, and then tlswatchd --once over all of them together, end
# in the expected problem code, on time, and (in the normal build) with a bounded peak RSS. Under ASan
# the same runs prove the absence of memory errors. 0 pass, 1 fail, 99 broken environment.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: every probe here fails on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

for var in TLSWATCHCTL TLSWATCHD HOSTILE_PEER; do
        [[ -n ${!var:-} && -x ${!var} ]] || hard_error "$var is not set to an executable (run under make check)"
done
gnu_time=${GNU_TIME:-/usr/bin/time}
for tool in "$jq" "$gnu_time" timeout; do
        command -v "$tool" >/dev/null 2>&1 || hard_error "$tool not found (Debian: jq, time, coreutils)"
done

# Each probe runs with this deadline; the slow cases must end within it plus SLACK.
probe_timeout=3
slack_ms=${HOSTILE_SLACK_MS:-3000}
# Peak RSS limit of one probe, in KiB. A probe of a good listener peaks near 10 MiB; this is generous, and
# far below what buffering a 1 MiB chain or a 2^63-byte frame a few times over would take.
rss_limit_kib=${HOSTILE_RSS_LIMIT_KIB:-32768}
# Under ASan the RSS is the sanitizer's shadow memory, not ours: only the normal build is measured; and
# everything is slower, so the slack after a deadline doubles.
measure_rss=yes
if sanitized "$TLSWATCHCTL"; then
        measure_rss=no
        slack_ms=$((slack_ms * 2))
fi

make_tmp

# start_peer MODE: a hostile-peer in MODE, its port in port[MODE].
start_peer() {
        local mode=$1 i

        "$HOSTILE_PEER" --mode "$mode" --port-file "$tmp/$mode.port" --lifetime 170 \
                >"$tmp/$mode.peer.out" 2>"$tmp/$mode.peer.err" &
        pids+=($!)
        for ((i = 0; i < 200; i++)); do
                [[ -s $tmp/$mode.port ]] && break
                kill -0 "$!" 2>/dev/null || hard_error "hostile-peer --mode $mode died: $(cat "$tmp/$mode.peer.err")"
                sleep 0.05
        done
        [[ -s $tmp/$mode.port ]] || hard_error "hostile-peer --mode $mode wrote no port within 10 s"
        port[$mode]=$(<"$tmp/$mode.port")
}

report() {
        local name=$1

        shift
        if [[ $# -eq 0 ]]; then
                echo "ok - $name"
                passed=$((passed + 1))
                return 0
        fi
        echo "FAIL - $name"
        printf '    %s\n' "$@"
        echo "    --- stdout:"
        "$jq" -c 'del(.addresses[]?.chain)' "$tmp/out" 2>/dev/null | cut -c1-2000 | sed 's/^/    /' ||
                head -c 2000 "$tmp/out" | sed 's/^/    /'
        echo "    --- stderr:"
        head -c 2000 "$tmp/err" | sed 's/^/    /'
        failed=$((failed + 1))
}

# CASES, separated by @: name, hostile-peer mode, probe protocol, problem codes (a jq regex one of them must match) and
# an extra jq check on the report.
cases=(
        '1 MiB certificate chain@big-chain@tls@^tls_handshake_failed$@true'
        '200 certificates@many-certs@tls@^chain_unverified$@true'
        'slowloris, one byte a second@slowloris@tls@^timeout$@true'
        'TLS records of random bytes@random-records@tls@^tls_handshake_failed$@true'
        'HTTP 101, then an endless header (https)@http-endless@https@^protocol_failed$@true'
        'HTTP 101, then an endless header (wss)@http-endless@wss@^protocol_failed$@true'
        'CONNACK with remaining length 268,435,455@mqtt-huge@mqtt@^protocol_failed$@true'
        'WebSocket frame claiming 2^63 bytes@ws-huge@wss@^protocol_failed$@true'
        'reset mid-handshake@reset@tls@^tls_handshake_failed$@any(.problems[]; .message | test("reset"))'
        'close before the ServerHello@close@tls@^tls_handshake_failed$@any(.problems[]; .message | test("closed"))'
        'renegotiation after renegotiation@renegotiate@mqtt@^(protocol_failed|tls_handshake_failed|timeout)$@true'
        # A name is shown cut short, never copied whole into a report; a NUL byte never reaches it raw.
        '64 KiB names@long-names@tls@^hostname_mismatch$@.addresses[0].chain[0] | (.subject | length <= 1024) and (.subject_alt_names | length <= 256) and all(.subject_alt_names[]; length <= 255)'
        'NUL bytes in the names@nul-names@tls@^hostname_mismatch$@.addresses[0].chain[0].subject_alt_names | any(.[]; test("evil")) and all(.[]; all(explode[]; . != 0))'
        'notAfter in 9999 (GeneralizedTime)@year-9999@tls@^chain_unverified$@.addresses[0].chain[0].not_after == "9999-12-31T23:59:59Z" and all(.problems[]; .code != "expired" and .code != "not_yet_valid")'
        'dated 1950 (UTCTime)@year-1950@tls@^expired$@.addresses[0].chain[0].not_before == "1950-01-01T00:00:00Z"'
)

for c in "${cases[@]}"; do
        IFS='@' read -r _ mode _ _ _ <<<"$c"
        [[ -n ${port[$mode]:-} ]] || start_peer "$mode"
done

# --- tlswatchctl probe, one hostile listener at a time ---------------------------------------------------

for c in "${cases[@]}"; do
        IFS='@' read -r name mode protocol codes check <<<"$c"
        errors=()
        t0=$(date +%s%N)
        timeout -k 5 60 "$gnu_time" -f %M -o "$tmp/rss" "$TLSWATCHCTL" probe --json --timeout "$probe_timeout" \
                --protocol "$protocol" --servername localhost "127.0.0.1:${port[$mode]}" \
                </dev/null >"$tmp/out" 2>"$tmp/err"
        rc=$?
        elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
        [[ $rc == 2 ]] || errors+=("exit code $rc, expected 2 (critical)")
        if ! "$jq" -e . "$tmp/out" >/dev/null 2>&1; then
                errors+=("stdout is not JSON")
        else
                "$jq" -e --arg re "$codes" '.status == "critical" and any(.problems[]; .code | test($re))' \
                        "$tmp/out" >/dev/null || errors+=("no problem code matching /$codes/ with status critical")
                "$jq" -e "$check" "$tmp/out" >/dev/null || errors+=("the report fails: $check")
        fi
        ((elapsed_ms <= probe_timeout * 1000 + slack_ms)) ||
                errors+=("took $elapsed_ms ms; the deadline was $probe_timeout s (+$slack_ms ms slack)")
        if [[ $measure_rss == yes ]]; then
                rss=$(tail -n 1 "$tmp/rss")
                [[ $rss =~ ^[0-9]+$ ]] || errors+=("no peak RSS from $gnu_time: $(cat "$tmp/rss")")
                ((${rss:-0} <= rss_limit_kib)) || errors+=("peak RSS $rss KiB, limit $rss_limit_kib KiB")
                name+=" (${elapsed_ms} ms, ${rss} KiB)"
        else
                name+=" (${elapsed_ms} ms)"
        fi
        report "probe: $name" ${errors[@]+"${errors[@]}"}
done

# --- tlswatchd --once, all hostile listeners in one run ----------------------------------------------------

{
        printf '[Defaults]\nTimeout=%ss\nServerName=localhost\n' "$probe_timeout"
        i=0
        for c in "${cases[@]}"; do
                IFS='@' read -r _ mode protocol _ _ <<<"$c"
                printf '\n[Target hostile-%02d]\nAddress=127.0.0.1:%s\nProtocol=%s\n' "$i" "${port[$mode]}" "$protocol"
                i=$((i + 1))
        done
} >"$tmp/tlswatch.conf"

errors=()
t0=$(date +%s%N)
timeout -k 5 60 "$gnu_time" -f %M -o "$tmp/rss" "$TLSWATCHD" -c "$tmp/tlswatch.conf" --once --json \
        </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
[[ $rc == 2 ]] || errors+=("exit code $rc, expected 2 (critical)")
if ! "$jq" -e 'type == "array"' "$tmp/out" >/dev/null 2>&1; then
        errors+=("stdout is not a JSON array")
else
        i=0
        for c in "${cases[@]}"; do
                IFS='@' read -r name _ _ codes check <<<"$c"
                target=$(printf 'hostile-%02d' "$i")
                "$jq" -e --arg t "$target" --arg re "$codes" \
                        '.[] | select(.name == $t) | .status == "critical" and any(.problems[]; .code | test($re))' \
                        "$tmp/out" >/dev/null || errors+=("$target ($name): no problem code matching /$codes/")
                i=$((i + 1))
        done
fi
# The probes run in parallel: the whole run ends with the slowest deadline.
((elapsed_ms <= probe_timeout * 1000 + 2 * slack_ms)) ||
        errors+=("took $elapsed_ms ms; every deadline was $probe_timeout s")
name="tlswatchd --once: ${#cases[@]} hostile listeners at once (${elapsed_ms} ms"
if [[ $measure_rss == yes ]]; then
        rss=$(tail -n 1 "$tmp/rss")
        ((${rss:-0} <= 2 * rss_limit_kib)) || errors+=("peak RSS $rss KiB, limit $((2 * rss_limit_kib)) KiB")
        name+=", $rss KiB"
fi
report "$name)" ${errors[@]+"${errors[@]}"}

echo "test-hostile: $passed passed, $failed failed"
((failed == 0))
