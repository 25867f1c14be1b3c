#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of the control socket: real tlswatchd instances and real `openssl s_server`
# listeners on loopback, driven with tlswatchctl (status, check, reload, metrics, their JSON, text,
# colour and exit statuses), with `promtool check metrics` on the metrics and the MetricsFile=, with
# two real users against the server's peer-credential check (and a daemon that runs as one of them),
# with a raw client (tests/tools/control-abuse) that sends what tlswatchctl never would and
# misbehaves, under systemd-socket-activate, and by the socket path rule. Run by the automake harness:
# 0 pass, 1 fail, 99 broken environment; never skips. Needs root: the permission checks switch users.

# SC2317: functions only reached through trap; SC2016: the $names in single quotes are jq's.
# shellcheck disable=SC2317,SC2016

# No `set -e`: commands fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

((EUID == 0)) || hard_error "must run as root: it runs tlswatchctl and tlswatchd as other users (setpriv)"

# Daemon events go to the journal whenever its socket is writable; hide it, as test-daemon.sh does.
hide_journal "$@"

forget_service_environment
export LC_ALL=C

need_programs TLSWATCHD TLSWATCHCTL TCP_PEER CONTROL_ABUSE
promtool=${PROMTOOL:-promtool}
need_commands "$openssl" "$jq"
command -v "$promtool" >/dev/null 2>&1 || hard_error "promtool not found (Debian package prometheus)"
need_commands timeout setpriv systemd-socket-activate script stat
for entry in "passwd nobody" "group nogroup" "passwd daemon"; do
        # shellcheck disable=SC2086 # database and key
        getent $entry >/dev/null ||
                hard_error "getent $entry: the users nobody and daemon and the group nogroup must exist"
done
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
as_daemon=(setpriv --reuid=daemon --regid=daemon --clear-groups)
"${as_nobody[@]}" "$TLSWATCHCTL" --version >/dev/null 2>&1 ||
        hard_error "nobody cannot run $TLSWATCHCTL (is its directory traversable by others?)"
"${as_nobody[@]}" "$TLSWATCHD" --version >/dev/null 2>&1 ||
        hard_error "nobody cannot run $TLSWATCHD (is its directory traversable by others?)"

# Configuration paths must be absolute, whatever TMPDIR is: make_tmp's $tmp is.
make_tmp
# Other users must reach the sockets below (each is opened up one by one); nothing here is secret.
chmod 0711 "$tmp"
((${#tmp} < 70)) || hard_error "TMPDIR gives $tmp, too long for the Unix socket paths below it"
make_pki

# The daemon that runs as nobody reads the CA file.
chmod 0755 "$pki"
chmod 0644 "$pki/root.pem"

# --- servers -------------------------------------------------------------------------------------------

good=(-cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem")
start_tls good "${good[@]}"
start_tls expired -cert "$pki/expired.pem" -key "$pki/expired.key" -cert_chain "$pki/int.pem"
# The abuse daemon's 200 targets get a server of their own.
start_tls bulk "${good[@]}"
# A listener that accepts and never answers: a probe of it lasts until its Timeout=.
start_peer slow silent 150
for name in good expired bulk slow; do
        wait_port "$name"
done

# --- helpers -------------------------------------------------------------------------------------------


# run NAME COMMAND...: COMMAND in the foreground, bounded (RUN_TIMEOUT, 30 s by default); $tmp/NAME.out,
# $tmp/NAME.err, rc.
run() {
        local name=$1

        shift
        timeout -k 5 "${RUN_TIMEOUT:-30}" "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
        rc=$?
}

# ctl NAME ARGS...: tlswatchctl ARGS as root, like run.
ctl() {
        local name=$1

        shift
        run "$name" "$TLSWATCHCTL" "$@"
}

# expect FILE FILTER...: each jq FILTER must be true on FILE, else an error naming it.
expect() {
        local file=$1 filter

        shift
        # jq -e is true on an empty input: a missing answer must not pass.
        if [[ ! -s $file ]] || ! "$jq" -e . "$file" >/dev/null 2>&1; then
                errors+=("${file#"$tmp"/} is empty or not JSON")
                return
        fi
        for filter in "$@"; do
                "$jq" -e "$filter" "$file" >/dev/null 2>&1 || errors+=("not true on ${file#"$tmp"/}: $filter")
        done
}

# expect_rc WANT: the last run's exit status.
expect_rc() {
        ((rc == $1)) || errors+=("exit status $(describe_rc "$rc"), expected $1")
}

# expect_one_line FILE TEXT: FILE is exactly one line, equal to TEXT.
expect_one_line() {
        local got

        got=$(cat "$1")
        [[ $(grep -c '' "$1") -eq 1 && $got == "$2" ]] ||
                errors+=("${1#"$tmp"/} is not the one line \"$2\" but: \"$got\"")
}

# answer_of FILE N: the JSON of the Nth "answer " line of a control-abuse output, into FILE.N.json.
answer_of() {
        sed -n 's/^answer //p' "$1" | sed -n "${2}p" >"$1.$2.json"
        echo "$1.$2.json"
}

rss_kib() {
        awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

open_fds() {
        find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# field VAR SOCKET TARGET FILTER: VAR = a jq FILTER on the target's status object, asked as root; an
# error (and VAR = "?") when there is no such value.
field() {
        local value

        value=$(timeout -k 5 30 "$TLSWATCHCTL" --socket "$2" status --json "$3" 2>/dev/null |
                "$jq" -r ".[0] | $4")
        if [[ -z $value || $value == null ]]; then
                errors+=("no $4 for target $3 in the status of ${2#"$tmp"/}")
                value="?"
        fi
        printf -v "$1" '%s' "$value"
}

# Set by field.
before_probes='' before_last='' after_probes='' after_last='' probes_before='' probes_after=''
probes_now='' tick_probes0='' tick_probes1='' tick_last=''

# is_number VALUE...: all are integers (a failed field lookup is not).
is_number() {
        local v

        for v in "$@"; do
                [[ $v =~ ^[0-9]+$ ]] || return 1
        done
}

not_after_unix() {
        date -u -d "$("$openssl" x509 -in "$pki/$1.pem" -noout -enddate | cut -d= -f2)" +%s
}

iso_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
denied='permission denied: only root and the daemon'"'"'s user may change anything'

# --- the daemons ---------------------------------------------------------------------------------------

# main: two targets, a long Interval= so no scheduled probe interferes once `check --all` has run.
mkdir -p "$tmp/main/state"
chmod 0755 "$tmp/main"
conf=$tmp/main/tlswatch.conf
sock=$tmp/main/control.sock
metrics_file=$tmp/main/metrics.prom
# write_main_conf [CONTROL_SOCKET] [EXTRA...]: the main daemon's configuration.
write_main_conf() {
        local control=${1:-$sock}

        shift
        {
                cat <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
ServerName=localhost
Interval=60s
ControlSocket=$control
MetricsFile=$metrics_file

[Target good]
Address=127.0.0.1:${port[good]}

[Target expired]
Address=127.0.0.1:${port[expired]}
EOF
                printf '%s\n' "$@"
        } >"$conf"
}
write_main_conf
# With the unit's UMask=0077, which must not narrow the socket's 0660 or the MetricsFile='s 0644.
# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
start_process main bash -c 'umask 0077 && exec "$0" "$@"' "$TLSWATCHD" -c "$conf" \
        --state-directory "$tmp/main/state"

# abuse: one target probed every 2 s, to see the daemon keep its schedule under abuse, and 200 with
# long names, so that a status answer is far larger than a socket buffer.
mkdir -p "$tmp/abuse/state"
asock=$tmp/abuse/control.sock
{
        cat <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
ServerName=localhost
Interval=1h
# Generous: 200 handshakes queue at one s_server, and a loaded CI machine under ASan is slow; the
# point here is the size of the answer, not the speed of the probes.
Timeout=15s
ControlSocket=$asock

[Target tick]
Address=127.0.0.1:${port[good]}
Interval=2s
Timeout=1s
EOF
        long=$(printf 'x%.0s' {1..110})
        for ((i = 1; i <= 200; i++)); do
                printf '\n[Target bulk-%03d-%s]\nAddress=127.0.0.1:%s\n' "$i" "$long" "${port[bulk]}"
        done
} >"$tmp/abuse/tlswatch.conf"
start_process abuse "$TLSWATCHD" -c "$tmp/abuse/tlswatch.conf" --state-directory "$tmp/abuse/state"

wait_daemon main "$sock"
wait_daemon abuse "$asock"

# --- abuse, part 1: what the server answers, and what it refuses ------------------------------------------
# The abuse daemon is attacked first and then held busy for 10 s (a request's deadline) in the
# background while the main daemon is tested; the results are collected at the end.

errors=()
RUN_TIMEOUT=240 run abuse-fill "$TLSWATCHCTL" --socket "$asock" check --all --json
expect_rc 0
expect "$tmp/abuse-fill.out" 'length == 201' 'all(.[]; .status == "ok")'
run abuse-size "$TLSWATCHCTL" --socket "$asock" status --json
answer_size=$(wc -c <"$tmp/abuse-size.out")
((answer_size > 400000)) ||
        errors+=("the status answer has $answer_size bytes; the never-read test needs > 400000")
report "abuse: 201 targets probed by check --all; status is $answer_size bytes" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/abuse-fill.err" "$tmp/abuse.err"

abuse_rss0=$(rss_kib "${pid[abuse]}")
abuse_fds0=$(open_fds "${pid[abuse]}")
field tick_probes0 "$asock" tick .probes
tick_t0=$SECONDS

errors=()
run flood "$CONTROL_ABUSE" "$asock" flood $((1024 * 1024))
grep -qxF 'answer {"ok":false,"error":"request larger than 64 KiB"}' "$tmp/flood.out" ||
        errors+=("no answer {\"ok\":false,\"error\":\"request larger than 64 KiB\"}")
grep -qx 'eof' "$tmp/flood.out" || errors+=("the server did not hang up after refusing the request")
sent=$(sed -n 's/^sent //p' "$tmp/flood.out")
((${sent:-0} < 1024 * 1024)) || errors+=("the server read all of the 1 MiB ($sent bytes sent)")
running "${pid[abuse]}" || errors+=("tlswatchd died")
report "abuse: 1 MiB without a newline is refused and the connection closed" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/flood.out" "$tmp/abuse.err"

# The limit: a request of 64 KiB (65536 bytes) is the largest one allowed (CONTROL_REQUEST_MAX,
# "A request larger than this is refused"); one byte more is refused.
errors=()
for length in 65535 65536; do
        run "pad$length" "$CONTROL_ABUSE" "$asock" pad "$length"
        expect "$(answer_of "$tmp/pad$length.out" 1)" '.ok == true' '.targets | length == 201'
done
run pad65537 "$CONTROL_ABUSE" "$asock" pad 65537
expect "$(answer_of "$tmp/pad65537.out" 1)" '. == {"ok":false,"error":"request larger than 64 KiB"}'
report "abuse: requests of 65535 and 65536 bytes are answered, 65537 is refused" \
        ${errors[@]+"${errors[@]}"} -- \
        "$tmp/pad65535.out" "$tmp/pad65536.out" "$tmp/pad65537.out"

# Bad requests on one connection: each is answered with its error, and the connection goes on.
errors=()
run bad "$CONTROL_ABUSE" "$asock" send \
        'this is not JSON' \
        '{"command":"stop"}' \
        '{"command":"status","verbose":true}' \
        '{"command":"metrics","target":"tick"}' \
        '{"command":"status","target":7}' \
        '{"command":"status","target":""}' \
        '{"command":1}' \
        '["status"]' \
        '{"command":"status","command":"reload"}' \
        '{"command":"status","target":"nope"}' \
        '{"command":"check","target":"nope"}' \
        '{"command":"status","target":"tick"}'
expect_rc 0
expect "$(answer_of "$tmp/bad.out" 1)" '.ok == false' '.error | startswith("invalid JSON: ")' \
        'keys == ["error","ok"]'
expect "$(answer_of "$tmp/bad.out" 2)" \
        '.ok == false and (.error | startswith("unknown command \"stop\" (status, check, reload, metrics"))'
expect "$(answer_of "$tmp/bad.out" 3)" '. == {"ok":false,"error":"\"status\" takes no member \"verbose\""}'
expect "$(answer_of "$tmp/bad.out" 4)" '. == {"ok":false,"error":"\"metrics\" takes no member \"target\""}'
expect "$(answer_of "$tmp/bad.out" 5)" '. == {"ok":false,"error":"\"target\" must be a target'"'"'s name"}'
expect "$(answer_of "$tmp/bad.out" 6)" '. == {"ok":false,"error":"\"target\" must be a target'"'"'s name"}'
expect "$(answer_of "$tmp/bad.out" 7)" '. == {"ok":false,"error":"the request has no \"command\" string"}'
expect "$(answer_of "$tmp/bad.out" 8)" \
        '. == {"ok":false,"error":"a request is a JSON object, e.g. {\"command\":\"status\"}"}'
expect "$(answer_of "$tmp/bad.out" 9)" '.ok == false' \
        '.error | startswith("invalid JSON: duplicate object key")'
expect "$(answer_of "$tmp/bad.out" 10)" '. == {"ok":false,"error":"no target \"nope\""}'
expect "$(answer_of "$tmp/bad.out" 11)" '. == {"ok":false,"error":"no target \"nope\""}'
expect "$(answer_of "$tmp/bad.out" 12)" '.ok == true' '.targets | length == 1' '.targets[0].name == "tick"'
report "protocol: bad requests get their error and the connection stays usable" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/bad.out" "$tmp/bad.err"

# Two requests in one write: "one JSON request per line, one JSON answer per line", so both are
# answered, in order.
errors=()
run pipeline "$CONTROL_ABUSE" "$asock" pipeline '{"command":"status","target":"tick"}' '{"command":"metrics"}'
expect "$(answer_of "$tmp/pipeline.out" 1)" '.ok == true' '.targets[0].name == "tick"'
expect "$(answer_of "$tmp/pipeline.out" 2)" '.ok == true' '.metrics | type == "string"'
grep -qx timeout "$tmp/pipeline.out" && errors+=("the second request of the write was never answered")
report "protocol: two pipelined requests get two answers" ${errors[@]+"${errors[@]}"} -- "$tmp/pipeline.out"

# --- abuse, part 2: clients that hold on, in the background --------------------------------------------

# A client that asks for the large status and never reads it; the server may neither block on it nor
# keep it: after 30 s without progress it is dropped.
"$CONTROL_ABUSE" "$asock" noread '{"command":"status"}' 34 >"$tmp/noread.out" 2>"$tmp/noread.err" &
pid[noread]=$!
pids+=("$!")
for ((i = 0; i < 100; i++)); do
        grep -qx sent "$tmp/noread.out" && break
        sleep 0.05
done
sleep 0.5
errors=()
ctl while-noread --socket "$asock" status tick
expect_rc 0
report "abuse: a client that does not read its answer does not hold up others" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/while-noread.err" "$tmp/noread.out"

# 1000 clients that say nothing: 128 at once are kept (one of them the reader above), the others are
# told "too many clients"; the kept ones are dropped 10 s after they connected (a request's deadline).
"$CONTROL_ABUSE" "$asock" idle 1000 40 >"$tmp/idle.out" 2>"$tmp/idle.err" &
pid[idle]=$!
pids+=("$!")
for ((i = 0; i < 300; i++)); do
        grep -q '^other ' "$tmp/idle.out" && break
        running "${pid[idle]}" || break
        sleep 0.05
done
# The server answers and hangs up at once, maybe before tlswatchctl has written its request: tlswatchctl
# must still read and show the answer. Ten tries, since which comes first is up to the scheduler.
errors=()
wrong=0
for ((i = 1; i <= 10; i++)); do
        ctl while-idle --socket "$asock" status
        if ((rc != 3)) || [[ -s $tmp/while-idle.out || $(cat "$tmp/while-idle.err") != \
                "$(basename "$TLSWATCHCTL"): too many clients" ]]; then
                ((wrong++ == 0)) && cp "$tmp/while-idle.err" "$tmp/while-idle.first-wrong.err"
        fi
done
((wrong == 0)) ||
        errors+=("$wrong of 10 tries did not print \"$(basename "$TLSWATCHCTL"): too many clients\" and exit 3;"
                 "the first printed: $(head -c 300 "$tmp/while-idle.first-wrong.err")")
report "abuse: with 128 clients connected, the next one is told \"too many clients\"" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/idle.out"

# --- the main daemon: every command --------------------------------------------------------------------

good_port=${port[good]}
expired_port=${port[expired]}

errors=()
[[ $(stat -c %a "$sock") == 660 ]] ||
        errors+=("the socket has mode $(stat -c %a "$sock"), not 0660 (under UMask=0077)")
ctl check-all --socket "$sock" check --all
expect_rc 2
grep -qxF "good (127.0.0.1:$good_port): ok" "$tmp/check-all.out" ||
        errors+=("no line \"good (127.0.0.1:$good_port): ok\"")
grep -qxF "expired (127.0.0.1:$expired_port): critical" "$tmp/check-all.out" ||
        errors+=("no line \"expired (127.0.0.1:$expired_port): critical\"")
[[ $(grep -c '' "$tmp/check-all.out") -eq 2 ]] || errors+=("not two lines")
report "check --all: one line per target, exit 2 (the worst, critical)" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/check-all.out" "$tmp/check-all.err"

errors=()
ctl check-all-json --socket "$sock" check --all --json
expect_rc 2
expect "$tmp/check-all-json.out" \
        'type == "array" and length == 2' \
        '[.[].name] | sort == ["expired","good"]' \
        '.[] | select(.name == "good") | .status == "ok" and .target == "127.0.0.1:'"$good_port"'"' \
        '.[] | select(.name == "good") | .server_name == "localhost" and .protocol == "tls"' \
        '.[] | select(.name == "good") | .addresses[0].tls.version == "TLSv1.3"' \
        '.[] | select(.name == "expired") | .status == "critical"' \
        '.[] | select(.name == "expired") | [.problems[].code] | index("expired") != null'
report "check --all --json: the reports, each with its name" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/check-all-json.out" "$tmp/check-all-json.err"

errors=()
ctl status-all --socket "$sock" status
expect_rc 2
head -n 1 "$tmp/status-all.out" | grep -qE '^TARGET +ADDRESS +STATE +DAYS LEFT +PROBLEMS$' ||
        errors+=("the first line is not the header TARGET ADDRESS STATE DAYS LEFT PROBLEMS")
grep -qE "^good +127\.0\.0\.1:$good_port +ok +(89|90)\.[0-9] +-$" "$tmp/status-all.out" ||
        errors+=("no row: good 127.0.0.1:$good_port ok 90.0 -")
grep -qE "^expired +127\.0\.0\.1:$expired_port +critical +-[12]\.[0-9] +expired$" "$tmp/status-all.out" ||
        errors+=("no row: expired 127.0.0.1:$expired_port critical -2.0 expired")
grep -q $'\033' "$tmp/status-all.out" && errors+=("colour escapes although standard output is not a terminal")
[[ -s $tmp/status-all.err ]] && errors+=("something on standard error")
report "status: the table, no colour into a file, exit 2 (the worst)" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/status-all.out" "$tmp/status-all.err"

errors=()
ctl status-json --socket "$sock" status --json
expect_rc 2
sha=$(fingerprint good)
expect "$tmp/status-json.out" \
        'type == "array" and length == 2 and ([.[].name] == ["good","expired"])' \
        '.[0] | .address == "127.0.0.1:'"$good_port"'" and .protocol == "tls" and .status == "ok"' \
        '.[0] | .problems == [] and .consecutive_failures == 0 and .probes >= 1' \
        '.[0] | (.last_probe | test("'"$iso_re"'")) and (.next_probe | test("'"$iso_re"'"))' \
        '.[0] | (.last_probe_unix | type == "number") and (.next_probe_unix | type == "number")' \
        '.[0] | (.last_probe_unix | todate) == .last_probe and (.next_probe_unix | todate) == .next_probe' \
        '.[0] | (.probing | type == "boolean") and (.not_after_unix | todate) == .not_after' \
        '.[0] | (.last_duration_seconds | type == "number") and .last_duration_seconds >= 0' \
        '.[0] | .days_left > 89 and .days_left <= 90 and (.not_after | test("'"$iso_re"'"))' \
        '.[0] | .sha256 == "'"$sha"'" and .subject == "CN=tlswatch good"' \
        '.[0] | .issuer == "CN=tlswatch test intermediate"' \
        '.[0].report | .name == "good" and .status == "ok" and (.addresses[0].chain | length == 3)' \
        '.[1] | .status == "critical" and .days_left < 0' \
        '.[1].problems | any(.code == "expired" and .severity == "critical" and
                             (.message | type == "string"))' \
        '.[1].problems | all(keys - ["depth","verify_code"] == ["code","message","severity"])' \
        '.[1].problems | all((.depth // 0 | type == "number") and (.verify_code // 0 | type == "number"))' \
        '.[] | keys - ["days_left","not_after","not_after_unix","sha256","subject","issuer","report"] ==
               ["address","consecutive_failures","last_duration_seconds","last_probe","last_probe_unix","name",
                "next_probe","next_probe_unix","probes","probing","problems","protocol","status"]'
report "status --json: every member of both targets" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/status-json.out" "$tmp/status-json.err"

errors=()
ctl status-good --socket "$sock" status --json good
expect_rc 0
expect "$tmp/status-good.out" 'length == 1 and .[0].name == "good"'
ctl status-expired --socket "$sock" status expired
expect_rc 2
[[ $(grep -c '' "$tmp/status-expired.out") -eq 2 ]] || errors+=("status expired: not the header and one row")
ctl status-nope --socket "$sock" status nope
expect_rc 3
expect_one_line "$tmp/status-nope.err" "$(basename "$TLSWATCHCTL"): no target \"nope\""
[[ -s $tmp/status-nope.out ]] && errors+=("status nope: something on standard output")
report "status TARGET: one target, its own exit status; an unknown one is an error, exit 3" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/status-good.out" "$tmp/status-nope.err"

# Colour: only on a terminal, and never with NO_COLOR set or TERM=dumb (script(1) gives a terminal).
# on_tty NAME ENV... -- ARGS...: tlswatchctl ARGS on a terminal, its output in $tmp/NAME.tty.
on_tty() {
        local name=$1
        local -a env=()

        shift
        while [[ $1 != -- ]]; do
                env+=("$1")
                shift
        done
        shift
        timeout -k 5 30 env "${env[@]}" script -qec "$TLSWATCHCTL --socket $sock $*" /dev/null \
                </dev/null >"$tmp/$name.tty" 2>&1
}
errors=()
on_tty colour TERM=xterm -- status
grep -qF $'\033[1;31mcritical\033[0m' "$tmp/colour.tty" || errors+=("no red \"critical\" on a terminal")
grep -qF $'\033[32mok ' "$tmp/colour.tty" || errors+=("no green \"ok\" on a terminal")
on_tty nocolour TERM=xterm NO_COLOR=1 -- status
grep -q $'\033' "$tmp/nocolour.tty" && errors+=("colour on a terminal with NO_COLOR=1")
grep -q '^expired  *127' "$tmp/nocolour.tty" || errors+=("no table on a terminal with NO_COLOR=1")
on_tty dumb TERM=dumb -- status
grep -q $'\033' "$tmp/dumb.tty" && errors+=("colour on a terminal with TERM=dumb")
on_tty emptynocolour TERM=xterm NO_COLOR= -- status
grep -qF $'\033[32mok' "$tmp/emptynocolour.tty" ||
        errors+=("no colour with NO_COLOR empty (no-color.org: ignored)")
on_tty json TERM=xterm -- status --json
grep -q $'\033' "$tmp/json.tty" && errors+=("colour in --json output")
report "status: colour only on a terminal, not with NO_COLOR or TERM=dumb, never in JSON" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/colour.tty"

# check TARGET: a probe now; last_probe and the probe count advance.
errors=()
field before_probes "$sock" good .probes
field before_last "$sock" good .last_probe
sleep 1.1
ctl check-good --socket "$sock" check --json good
expect_rc 0
expect "$tmp/check-good.out" 'length == 1 and .[0].name == "good" and .[0].status == "ok"'
field after_probes "$sock" good .probes
field after_last "$sock" good .last_probe
is_number "$before_probes" "$after_probes" && ((after_probes > before_probes)) ||
        errors+=("probes did not advance: $before_probes -> $after_probes")
[[ $after_last > $before_last ]] || errors+=("last_probe did not advance: $before_last -> $after_last")
ctl check-expired --socket "$sock" check expired
expect_rc 2
grep -qxF "expired (127.0.0.1:$expired_port): critical" "$tmp/check-expired.out" ||
        errors+=("check expired: no line \"expired (127.0.0.1:$expired_port): critical\"")
ctl check-nope --socket "$sock" check nope
expect_rc 3
expect_one_line "$tmp/check-nope.err" "$(basename "$TLSWATCHCTL"): no target \"nope\""
ctl check-none --socket "$sock" check
expect_rc 3
grep -qF 'check needs a TARGET or --all' "$tmp/check-none.err" || errors+=("check alone: no usage error")
report "check TARGET: a probe now (last_probe $before_last -> $after_last), exit by its status" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/check-good.out" "$tmp/check-good.err"

# metrics, through tlswatchctl and the MetricsFile=, both accepted by promtool.
errors=()
ctl metrics --socket "$sock" metrics
expect_rc 0
if ! "$promtool" check metrics <"$tmp/metrics.out" >"$tmp/promtool.out" 2>&1; then
        errors+=("promtool check metrics refuses tlswatchctl metrics:")
        mapfile -t lines <"$tmp/promtool.out"
        errors+=(${lines[@]+"${lines[@]}"})
fi
id_good="instance=\"127.0.0.1:${port[good]}\",target=\"good\""
id_expired="instance=\"127.0.0.1:${port[expired]}\",target=\"expired\""
labels_good="$id_good,address=\"127.0.0.1\",protocol=\"tls\""
labels_expired="$id_expired,address=\"127.0.0.1\",protocol=\"tls\""
for line in "probe_success{$labels_good} 1" \
            "probe_success{$labels_expired} 0" \
            "probe_ssl_earliest_cert_expiry{$labels_good} $(not_after_unix good)" \
            "probe_ssl_earliest_cert_expiry{$labels_expired} $(not_after_unix expired)" \
            "probe_tls_version_info{$labels_good,version=\"TLS 1.3\"} 1" \
            "tlswatch_target_status{$id_good,protocol=\"tls\"} 0" \
            "tlswatch_target_status{$id_expired,protocol=\"tls\"} 2" \
            "tlswatch_problem{$id_expired,protocol=\"tls\",code=\"expired\",severity=\"critical\"} 1" \
            "tlswatch_cert_not_after_seconds{$labels_good,depth=\"0\"} $(not_after_unix good)" \
            "tlswatch_cert_not_after_seconds{$labels_good,depth=\"1\"} $(not_after_unix int)" \
            "tlswatch_cert_not_after_seconds{$labels_good,depth=\"2\"} $(not_after_unix root)"; do
        grep -qxF -- "$line" "$tmp/metrics.out" || errors+=("missing: $line")
done
grep -q '^probe_duration_seconds{'"$labels_good"'} [0-9]*\.[0-9]*$' "$tmp/metrics.out" ||
        errors+=("missing: probe_duration_seconds{$labels_good} SECONDS")
report "metrics: accepted by promtool, the expected samples" ${errors[@]+"${errors[@]}"} -- "$tmp/metrics.out"

errors=()
# Written 5 s after a probe (and at exit); the checks above probed both targets.
for ((i = 0; i < 150; i++)); do
        grep -qxF "probe_success{$labels_good} 1" "$metrics_file" 2>/dev/null &&
                grep -qxF "probe_success{$labels_expired} 0" "$metrics_file" && break
        sleep 0.1
done
if [[ ! -s $metrics_file ]]; then
        errors+=("$metrics_file was not written within 15 s of a probe")
else
        if ! "$promtool" check metrics <"$metrics_file" >"$tmp/promtool-file.out" 2>&1; then
                errors+=("promtool check metrics refuses the MetricsFile=:")
                mapfile -t lines <"$tmp/promtool-file.out"
                errors+=(${lines[@]+"${lines[@]}"})
        fi
        [[ $(stat -c %a "$metrics_file") == 644 ]] || errors+=("mode $(stat -c %a "$metrics_file"), not 644")
        grep -qxF "probe_success{$labels_good} 1" "$metrics_file" ||
                errors+=("missing: probe_success{$labels_good} 1")
        grep -qxF "probe_success{$labels_expired} 0" "$metrics_file" ||
                errors+=("missing: probe_success{$labels_expired} 0")
fi
report "MetricsFile=: written, mode 0644 (under UMask=0077), accepted by promtool" \
        ${errors[@]+"${errors[@]}"} -- "$metrics_file"

# The answers themselves, as the protocol documents them.
errors=()
run raw "$CONTROL_ABUSE" "$sock" send '{"command":"reload"}' '{"command":"status","target":"good"}' \
        '{"command":"check","target":"good"}' '{"command":"metrics"}'
expect_rc 0
expect "$(answer_of "$tmp/raw.out" 1)" '. == {"ok":true}'
expect "$(answer_of "$tmp/raw.out" 2)" 'keys == ["ok","schema","targets","webhooks"] and .ok == true and .schema == "tlswatch.status/2" and (.targets | length == 1)'
expect "$(answer_of "$tmp/raw.out" 3)" 'keys == ["ok","reports"] and .ok == true' \
        '.reports | length == 1 and .[0].name == "good" and .[0].status == "ok"'
expect "$(answer_of "$tmp/raw.out" 4)" 'keys == ["metrics","ok"] and .ok == true' \
        '.metrics | startswith("# HELP probe_success ") and endswith("\n")'
report "protocol: one JSON line per answer, {\"ok\":true,...}" ${errors[@]+"${errors[@]}"} -- "$tmp/raw.out"

# reload: good, invalid (the daemon keeps running and answers with file:line), a changed
# ControlSocket= (taken at start only).
errors=()
field probes_before "$sock" good .probes
ctl reload --socket "$sock" reload
expect_rc 0
expect_one_line "$tmp/reload.out" reloaded
[[ -s $tmp/reload.err ]] && errors+=("reload: something on standard error")
field probes_after "$sock" good .probes
[[ $probes_after == "$probes_before" ]] ||
        errors+=("an unchanged target lost its state: probes $probes_before -> $probes_after")
report "reload: \"reloaded\", exit 0, unchanged targets keep their state" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/reload.err" "$tmp/main.err"

errors=()
write_main_conf "$sock" "" "[Target broken]" "Address=127.0.0.1:1" "Bogus=1"
bad_line=$(grep -n '^Bogus=1$' "$conf" | cut -d: -f1)
ctl reload-bad --socket "$sock" reload
expect_rc 3
expect_one_line "$tmp/reload-bad.err" \
        "$(basename "$TLSWATCHCTL"): $conf:$bad_line: unknown key \"Bogus\" in [Target broken]"
[[ -s $tmp/reload-bad.out ]] && errors+=("something on standard output")
running "${pid[main]}" || errors+=("tlswatchd died")
ctl after-bad --socket "$sock" status --json
expect "$tmp/after-bad.out" '[.[].name] == ["good","expired"]'
report "reload of an invalid file: the error names FILE:LINE, exit 3, the daemon goes on" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/reload-bad.err" "$tmp/main.err"

errors=()
write_main_conf "$tmp/main/other.sock"
ctl reload-socket --socket "$sock" reload
expect_rc 0
ctl after-socket --socket "$sock" status good
expect_rc 0
[[ -e $tmp/main/other.sock ]] && errors+=("a reload created the new ControlSocket= $tmp/main/other.sock")
write_main_conf
ctl reload-back --socket "$sock" reload
expect_rc 0
report "reload: ControlSocket= takes effect at the next start, not at a reload" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/after-socket.err"

# --- two users -----------------------------------------------------------------------------------------

# Open the socket's file to everyone: the point is the server's SO_PEERCRED check, not file modes.
chmod 0666 "$sock"
errors=()
run nobody-status "${as_nobody[@]}" "$TLSWATCHCTL" --socket "$sock" status --json
expect_rc 2
expect "$tmp/nobody-status.out" '[.[].name] == ["good","expired"]'
run nobody-metrics "${as_nobody[@]}" "$TLSWATCHCTL" --socket "$sock" metrics
expect_rc 0
grep -qxF "probe_success{$labels_good} 1" "$tmp/nobody-metrics.out" ||
        errors+=("nobody: metrics lack probe_success")
report "as nobody: status and metrics are allowed" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/nobody-status.err" "$tmp/nobody-metrics.err"

errors=()
field probes_before "$sock" good .probes
reloads_before=$(grep -c 'reloaded ' "$tmp/main.err")
run nobody-reload "${as_nobody[@]}" "$TLSWATCHCTL" --socket "$sock" reload
expect_rc 3
expect_one_line "$tmp/nobody-reload.err" "$(basename "$TLSWATCHCTL"): $denied"
run nobody-check "${as_nobody[@]}" "$TLSWATCHCTL" --socket "$sock" check good
expect_rc 3
expect_one_line "$tmp/nobody-check.err" "$(basename "$TLSWATCHCTL"): $denied"
run nobody-check-all "${as_nobody[@]}" "$TLSWATCHCTL" --socket "$sock" check --all
expect_rc 3
expect_one_line "$tmp/nobody-check-all.err" "$(basename "$TLSWATCHCTL"): $denied"
run nobody-raw "${as_nobody[@]}" "$CONTROL_ABUSE" "$sock" send '{"command":"reload"}' '{"command":"check"}' \
        '{"command":"status","target":"good"}'
expect "$(answer_of "$tmp/nobody-raw.out" 1)" '. == {"ok":false,"error":"'"$denied"'"}'
expect "$(answer_of "$tmp/nobody-raw.out" 2)" '. == {"ok":false,"error":"'"$denied"'"}'
expect "$(answer_of "$tmp/nobody-raw.out" 3)" '.ok == true'
field probes_now "$sock" good .probes
[[ $probes_now == "$probes_before" ]] ||
        errors+=("a refused check probed: probes $probes_before -> $probes_now")
[[ $(grep -c 'reloaded ' "$tmp/main.err") == "$reloads_before" ]] || errors+=("a refused reload reloaded")
report "as nobody: check and reload are \"permission denied\", exit 3, and nothing happens" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/nobody-raw.out" "$tmp/main.err"

# --- lockout: members of the socket's group hold every slot they can --------------------------------------

# Four users who may only read (nobody and three uids without a name, all in the socket's group) each
# open 48 connections and dribble a byte a second into every one they hold, never a newline: 192 tries
# for 128 slots. Each gets at most its share (32), together they get at most the 112 not kept for root
# and the daemon's user, and root's status and reload are still answered. Then every held connection is
# dropped by its request's deadline, bytes or not. The dribblers finish in the background; their
# results are collected at the end.
chgrp nogroup "$sock"
chmod 0660 "$sock"
lockout_uids=(nobody 61001 61002 61003)
refusals_before=$(grep -c 'control socket: ' "$tmp/main.err")
for user in "${lockout_uids[@]}"; do
        setpriv --reuid="$user" --regid=nogroup --clear-groups \
                "$CONTROL_ABUSE" "$sock" dribble 48 60 >"$tmp/dribble-$user.out" 2>"$tmp/dribble-$user.err" &
        pid[dribble-$user]=$!
        pids+=("$!")
done
for user in "${lockout_uids[@]}"; do
        for ((i = 0; i < 600; i++)); do
                grep -q '^other ' "$tmp/dribble-$user.out" && break
                running "${pid[dribble-$user]}" || break
                sleep 0.05
        done
done
errors=()
ctl lockout-status --socket "$sock" status --json good
expect_rc 0
expect "$tmp/lockout-status.out" 'length == 1 and .[0].name == "good"'
ctl lockout-reload --socket "$sock" reload
expect_rc 0
held_total=0
for user in "${lockout_uids[@]}"; do
        held=$(sed -n 's/^held //p' "$tmp/dribble-$user.out")
        is_number "$held" || { errors+=("the dribbler as $user did not say how many it held"); continue; }
        ((held <= 32)) || errors+=("$user holds $held connections at once, more than its 32")
        ((held_total += held))
done
((held_total <= 112)) || errors+=("the four users hold $held_total connections, more than the 112 not reserved")
((held_total >= 64)) || errors+=("the four users hold only $held_total connections: nothing was tested")
refusals=$(($(grep -c 'control socket: ' "$tmp/main.err") - refusals_before))
((refusals >= 1 && refusals <= 2)) ||
        errors+=("$refusals warnings about refused connections in the log, expected one (at most one a minute)")
report "lockout: four read-only users hold $held_total of 128 slots; root's status and reload still answer" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/lockout-status.err" "$tmp/lockout-reload.err" \
        "$tmp/dribble-nobody.out" "$tmp/main.err"

# A daemon that itself runs as nobody: its own user may change things, root too, others not.
mkdir -p "$tmp/asnobody/state"
chown -R nobody:nogroup "$tmp/asnobody"
nsock=$tmp/asnobody/control.sock
cat >"$tmp/asnobody/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
ServerName=localhost
Interval=60s
ControlSocket=$nsock

[Target good]
Address=127.0.0.1:$good_port
EOF
chmod 0644 "$tmp/asnobody/tlswatch.conf"
start_process asnobody "${as_nobody[@]}" "$TLSWATCHD" -c "$tmp/asnobody/tlswatch.conf" \
        --state-directory "$tmp/asnobody/state"
wait_daemon asnobody "$nsock"
errors=()
[[ $(stat -c '%a %U' "$nsock") == "660 nobody" ]] ||
        errors+=("the socket is $(stat -c '%a %U:%G' "$nsock"), not 0660 nobody")
run asnobody-reload "${as_nobody[@]}" "$TLSWATCHCTL" --socket "$nsock" reload
expect_rc 0
run asnobody-check "${as_nobody[@]}" "$TLSWATCHCTL" --socket "$nsock" check good
expect_rc 0
ctl asnobody-root --socket "$nsock" reload
expect_rc 0
run asnobody-daemon-denied "${as_daemon[@]}" "$TLSWATCHCTL" --socket "$nsock" status
expect_rc 3
grep -qF "permission denied" "$tmp/asnobody-daemon-denied.err" ||
        errors+=("user daemon reached a 0660 socket of nobody:nogroup")
chmod 0666 "$nsock"
run asnobody-daemon "${as_daemon[@]}" "$TLSWATCHCTL" --socket "$nsock" reload
expect_rc 3
expect_one_line "$tmp/asnobody-daemon.err" "$(basename "$TLSWATCHCTL"): $denied"
run asnobody-daemon-status "${as_daemon[@]}" "$TLSWATCHCTL" --socket "$nsock" status
expect_rc 0
# Not dumpable: no core dump carries its secrets, and even its own user cannot read its memory or
# environment through /proc (the kernel makes those files root's).
"${as_nobody[@]}" cat "/proc/${pid[asnobody]}/environ" >/dev/null 2>&1 &&
        errors+=("user nobody can read the environment of its own tlswatchd: the process is dumpable")
report "a daemon run as nobody: nobody and root may reload and check, user daemon may not" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/asnobody.err" "$tmp/asnobody-reload.err" "$tmp/asnobody-daemon.err"
stop_daemon asnobody

# --- where the socket is -------------------------------------------------------------------------------

errors=()
for command in status "check --all" reload metrics; do
        # shellcheck disable=SC2086 # the command's words
        ctl "none-${command%% *}" --socket "$tmp/none.sock" $command
        expect_rc 3
        expect_one_line "$tmp/none-${command%% *}.err" \
                "$(basename "$TLSWATCHCTL"): tlswatchd is not running (nothing listens on $tmp/none.sock)"
        [[ -s $tmp/none-${command%% *}.out ]] && errors+=("$command: something on standard output")
done
run none-env env TLSWATCH_SOCKET="$tmp/none-env.sock" "$TLSWATCHCTL" status
expect_rc 3
expect_one_line "$tmp/none-env.err" \
        "$(basename "$TLSWATCHCTL"): tlswatchd is not running (nothing listens on $tmp/none-env.sock)"
default_sock=/run/tlswatch/control.sock
if [[ ! -e $default_sock ]]; then
        ctl none-default status
        expect_rc 3
        expect_one_line "$tmp/none-default.err" \
                "$(basename "$TLSWATCHCTL"): tlswatchd is not running (nothing listens on $default_sock)"
fi
report "no daemon: one line naming the socket, exit 3, for every command" ${errors[@]+"${errors[@]}"}

# The rule: --socket, else $TLSWATCH_SOCKET, else $RUNTIME_DIRECTORY (its first entry)/control.sock.
mkdir -p "$tmp/rt1" "$tmp/rt2" "$tmp/rt/state"
cat >"$tmp/rt/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=60s

[Target good]
Address=127.0.0.1:$good_port
EOF
start_process rt env RUNTIME_DIRECTORY="$tmp/rt1:$tmp/rt2" "$TLSWATCHD" -c "$tmp/rt/tlswatch.conf" \
        --state-directory "$tmp/rt/state"
wait_daemon rt "$tmp/rt1/control.sock"
errors=()
[[ $(stat -c %a "$tmp/rt1/control.sock") == 660 ]] ||
        errors+=("mode $(stat -c %a "$tmp/rt1/control.sock"), not 0660")
run rt-runtime env RUNTIME_DIRECTORY="$tmp/rt1:$tmp/rt2" "$TLSWATCHCTL" status --json
expect "$tmp/rt-runtime.out" '.[0].name == "good"'
run rt-env env TLSWATCH_SOCKET="$tmp/rt1/control.sock" RUNTIME_DIRECTORY="$tmp/rt2" "$TLSWATCHCTL" status --json
expect "$tmp/rt-env.out" '.[0].name == "good"'
run rt-option env TLSWATCH_SOCKET="$tmp/none.sock" "$TLSWATCHCTL" --socket="$tmp/rt1/control.sock" status --json
expect "$tmp/rt-option.out" '.[0].name == "good"'
run rt-wins env TLSWATCH_SOCKET="$tmp/rt1/control.sock" "$TLSWATCHCTL" --socket "$tmp/none.sock" status
expect_rc 3
grep -qF "$tmp/none.sock" "$tmp/rt-wins.err" || errors+=("--socket did not win over \$TLSWATCH_SOCKET")
stop_daemon rt
[[ -e $tmp/rt1/control.sock ]] && errors+=("the daemon left its socket behind at exit")
report "socket path: --socket, \$TLSWATCH_SOCKET, \$RUNTIME_DIRECTORY/control.sock; removed at exit" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/rt.err" "$tmp/rt-runtime.err"

# Socket activation: systemd-socket-activate binds, then execs the daemon on the first connection.
mkdir -p "$tmp/act/state"
cat >"$tmp/act/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
Protocol=tls
Interval=60s
ControlSocket=$tmp/act/unused.sock

[Target good]
Address=127.0.0.1:$good_port
EOF
start_process act systemd-socket-activate -l "$tmp/act/act.sock" "$TLSWATCHD" -c "$tmp/act/tlswatch.conf" \
        --state-directory "$tmp/act/state"
for ((i = 0; i < 200; i++)); do
        [[ -S $tmp/act/act.sock ]] && break
        running "${pid[act]}" || break
        sleep 0.05
done
[[ -S $tmp/act/act.sock ]] ||
        hard_error "systemd-socket-activate did not bind $tmp/act/act.sock: $(cat "$tmp/act.err")"
errors=()
ctl act-status --socket "$tmp/act/act.sock" status --json
expect "$tmp/act-status.out" 'length == 1 and .[0].name == "good"'
ctl act-check --socket "$tmp/act/act.sock" check good
expect_rc 0
[[ -e $tmp/act/unused.sock ]] &&
        errors+=("the activated daemon also created its ControlSocket= $tmp/act/unused.sock")
stop_daemon act
[[ -S $tmp/act/act.sock ]] || errors+=("the daemon removed the socket systemd passed it")
report "socket activation: the passed socket serves, none is created, none removed" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/act.err" "$tmp/act-status.err"

# --- a check whose target a reload removes ---------------------------------------------------------------

# The slow target's probe lasts its Timeout= of 5 s; the reload removes the target meanwhile. The check
# must still be answered (a report or an error), and its connection released.
write_main_conf "$sock" "" "[Target slow]" "Address=127.0.0.1:${port[slow]}" "Timeout=5s"
ctl reload-slow --socket "$sock" reload
fds_before=$(open_fds "${pid[main]}")
timeout -k 2 12 "$TLSWATCHCTL" --socket "$sock" check slow >"$tmp/check-slow.out" 2>"$tmp/check-slow.err" &
check_pid=$!
pids+=("$check_pid")
sleep 1
write_main_conf
ctl reload-noslow --socket "$sock" reload
wait "$check_pid"
check_rc=$?
errors=()
((check_rc != 124 && check_rc < 128)) ||
        errors+=("check slow was not answered within 12 s of a reload that removed the target"
                 "(exit status $(describe_rc "$check_rc"))")
for ((i = 0; i < 20; i++)); do
        (($(open_fds "${pid[main]}") <= fds_before)) && break
        sleep 0.1
done
(($(open_fds "${pid[main]}") <= fds_before)) ||
        errors+=("the daemon holds $(($(open_fds "${pid[main]}") - fds_before)) more descriptors than before"
                 "the check")
report "check: a target removed by a reload while it is checked still gets an answer" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/check-slow.err" "$tmp/main.err"

# --- abuse, part 3: the results ------------------------------------------------------------------------

for name in noread idle; do
        for ((i = 0; i < 600; i++)); do
                running "${pid[$name]}" || break
                sleep 0.1
        done
        running "${pid[$name]}" && hard_error "control-abuse $name did not finish in time"
        wait "${pid[$name]}"
done

errors=()
held=$(sed -n 's/^held //p' "$tmp/idle.out")
refused=$(sed -n 's/^refused //p' "$tmp/idle.out")
grep -qx 'connected 1000' "$tmp/idle.out" || errors+=("not all 1000 connections were accepted")
[[ $held == 127 ]] || errors+=("$held idle clients kept, expected 127 (128 with the reader)")
[[ $refused == $((1000 - ${held:-0})) ]] ||
        errors+=("$refused told \"too many clients\", expected $((1000 - ${held:-0}))")
grep -qxF 'answer {"ok":false,"error":"too many clients"}' "$tmp/idle.out" ||
        errors+=("no answer {\"ok\":false,\"error\":\"too many clients\"}")
grep -qx "dropped $held" "$tmp/idle.out" || errors+=("not all kept idle clients were dropped within 40 s")
grep -q '^unexpected ' "$tmp/idle.out" && errors+=("an idle client was sent something")
report "abuse: 1000 idle clients: 128 kept at once, the rest refused, the kept ones dropped after 10 s" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/idle.out"

errors=()
for user in "${lockout_uids[@]}"; do
        for ((i = 0; i < 900; i++)); do
                running "${pid[dribble-$user]}" || break
                sleep 0.1
        done
        running "${pid[dribble-$user]}" && hard_error "control-abuse dribble as $user did not finish in time"
        wait "${pid[dribble-$user]}"
        held=$(sed -n 's/^held //p' "$tmp/dribble-$user.out")
        grep -qx "dropped ${held:-?}" "$tmp/dribble-$user.out" ||
                errors+=("$user: of $held connections that kept sending bytes, not all were dropped in 60 s:"
                         "$(grep '^still ' "$tmp/dribble-$user.out")")
        grep -q '^unexpected ' "$tmp/dribble-$user.out" && errors+=("$user: a dribbling client was sent something")
done
report "lockout: a request line that trickles in a byte a second is dropped at its deadline all the same" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/dribble-nobody.out"

errors=()
grep -qx 'eof yes' "$tmp/noread.out" || errors+=("the server did not drop the client that never reads")
grep -qx 'complete no' "$tmp/noread.out" ||
        errors+=("the whole answer fit in the socket buffers; nothing was tested")
received=$(sed -n 's/^received //p' "$tmp/noread.out")
((${received:-0} < answer_size)) || errors+=("received $received of $answer_size bytes")
report "abuse: a client that never reads its answer is dropped ($received of $answer_size bytes queued)" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/noread.out"

errors=()
ctl abuse-after --socket "$asock" status tick
expect_rc 0
field tick_probes1 "$asock" tick .probes
field tick_last "$asock" tick .last_probe
elapsed=$((SECONDS - tick_t0))
# One probe per 2 s Interval=, from the end of the last; allow for a slow machine.
want=$((elapsed * 3 / 8 - 1))
is_number "$tick_probes0" "$tick_probes1" && ((tick_probes1 - tick_probes0 >= want)) ||
        errors+=("tick was probed $((tick_probes1 - tick_probes0)) times in ${elapsed} s of abuse;"
                 "expected >= $want")
last_age=$(($(date -u +%s) - $(date -u -d "$tick_last" +%s)))
((last_age <= 5)) || errors+=("tick's last probe was $last_age s ago (Interval=2s)")
abuse_rss1=$(rss_kib "${pid[abuse]}")
# Not under ASan: there RSS is mostly its quarantine of freed memory, which grows with the time the
# abuse lasts (the lockout's dribblers add to it), not with what the daemon holds.
sanitized "$TLSWATCHD" || ((abuse_rss1 - abuse_rss0 < 65536)) ||
        errors+=("RSS grew from $abuse_rss0 to $abuse_rss1 KiB under abuse (bound: 64 MiB)")
abuse_fds1=$(open_fds "${pid[abuse]}")
((abuse_fds1 <= abuse_fds0)) ||
        errors+=("the daemon holds $abuse_fds1 descriptors, $abuse_fds0 before the abuse")
running "${pid[abuse]}" || errors+=("tlswatchd died")
name="abuse: the daemon kept probing on schedule ($((tick_probes1 - tick_probes0)) probes in ${elapsed} s),"
name+=" RSS $abuse_rss0 -> $abuse_rss1 KiB, no descriptor left"
report "$name" \
        ${errors[@]+"${errors[@]}"} -- "$tmp/abuse.err"

# --- the end -------------------------------------------------------------------------------------------

errors=()
stop_daemon main
((daemon_rc == 0)) || errors+=("main exited with $(describe_rc "$daemon_rc") at SIGTERM")
[[ -e $sock ]] && errors+=("the daemon left $sock behind")
stop_daemon abuse
((daemon_rc == 0)) || errors+=("abuse exited with $(describe_rc "$daemon_rc") at SIGTERM")
report "SIGTERM: both daemons exit 0 and remove their sockets" ${errors[@]+"${errors[@]}"} -- \
        "$tmp/main.err" "$tmp/abuse.err"

summary
