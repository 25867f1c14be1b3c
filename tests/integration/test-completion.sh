#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bash completion of tlswatchctl against a real tlswatchd: loaded the way bash-completion loads
# it, it offers each target name once for status and check (also after the daemon has probed, when
# the status JSON holds the name twice: the target's and its report's), the webhook names for
# webhook-test, names with a colon whole, the same with and without jq on PATH, and nothing -- and
# no noise -- when the daemon does not run. Run by the automake harness: 0 pass, 1 fail, 99 broken
# environment.

# SC2016: the $ in single quotes are the inner shell's; SC2034: the PATHs are read through ${!variant}.
# shellcheck disable=SC2016,SC2034

# No `set -e`: commands fail on purpose, and every status is checked explicitly.
set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

hide_journal "$@"
forget_service_environment
export LC_ALL=C.UTF-8

need_programs TLSWATCHD TLSWATCHCTL
need_commands "$openssl" "$jq" awk bash
bash_completion=/usr/share/bash-completion/bash_completion
[[ -f $bash_completion ]] || hard_error "$bash_completion not found (apt-get install bash-completion)"
top=$(cd "$TESTS_SRCDIR/.." && pwd) || hard_error "TESTS_SRCDIR=$TESTS_SRCDIR: no parent directory"
completion=$top/shell-completion/bash/tlswatchctl
[[ -f $completion ]] || hard_error "$completion not found"
ctl_dir=$(cd "$(dirname "$TLSWATCHCTL")" && pwd)
[[ $(basename "$TLSWATCHCTL") == tlswatchctl ]] || hard_error "TLSWATCHCTL must name a file called tlswatchctl"

make_tmp
make_pki

# PATHs for the completion: the build's tlswatchctl with everything else as usual; and one without jq
# (only tlswatchctl and awk).
with_jq=$ctl_dir:$PATH
mkdir -p "$tmp/nojq"
ln -s "$TLSWATCHCTL" "$tmp/nojq/tlswatchctl"
ln -s "$(command -v awk)" "$tmp/nojq/awk"
ln -s "$(command -v sort)" "$tmp/nojq/sort"
ln -s "$(command -v tr)" "$tmp/nojq/tr"
without_jq=$tmp/nojq

# complete PATH WORD...: the sorted candidates the completion offers for the command line WORD...,
# whose last word is being completed. COMP_WORDS are split as bash splits them (COMP_WORDBREAKS: a
# colon or an equals sign is a word of its own), COMP_LINE is the line as typed.
complete() {
        local path=$1 w rest
        local -a split=()

        shift
        for w in "$@"; do
                rest=$w
                while [[ $rest =~ ^([^:=]*)([:=])(.*)$ ]]; do
                        [[ -n ${BASH_REMATCH[1]} ]] && split+=("${BASH_REMATCH[1]}")
                        split+=("${BASH_REMATCH[2]}")
                        rest=${BASH_REMATCH[3]}
                done
                [[ -n $rest || $w == "$rest" ]] && split+=("$rest")
        done
        PATH=$path "$BASH" --norc --noprofile -c '
                source "$1" && source "$2" || exit 1
                line=$3
                shift 3
                COMP_WORDS=("$@")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMP_LINE=$line
                COMP_POINT=${#COMP_LINE}
                _tlswatchctl tlswatchctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
        ' complete "$bash_completion" "$completion" "$*" "${split[@]}" 2>"$tmp/complete.err"
        [[ ! -s $tmp/complete.err ]] || echo "(stderr: $(head -c 300 "$tmp/complete.err"))"
}

# --- a daemon with three targets (one with a colon in its name) and two webhooks -----------------------

start_tls good -cert "$pki/good.pem" -key "$pki/good.key" -cert_chain "$pki/int.pem"
wait_port good
mkdir -p "$tmp/d/state"
sock=$tmp/d/control.sock
cat >"$tmp/d/tlswatch.conf" <<EOF
[Defaults]
CAFile=$pki/root.pem
ServerName=localhost
Protocol=tls
Interval=1h
ControlSocket=$sock

[Target alpha]
Address=127.0.0.1:${port[good]}

[Target beta]
Address=127.0.0.1:${port[good]}

[Target gw:edge]
Address=127.0.0.1:${port[good]}

[Webhook ops]
URL=https://127.0.0.1:9/ops

[Webhook chat]
URL=https://127.0.0.1:9/chat
EOF
start_daemon d -c "$tmp/d/tlswatch.conf" --state-directory "$tmp/d/state"
wait_daemon d "$sock"
# Every target probed: its report (with the name again) is in the status JSON.
probed() {
        "$TLSWATCHCTL" --socket "$sock" status --json 2>/dev/null |
                "$jq" -e 'length == 3 and all(.report != null)' >/dev/null 2>&1
}
errors=()
poll 60 probed || errors+=("the daemon did not report all three targets within 60 s")
names=$("$TLSWATCHCTL" --socket "$sock" status --json | "$jq" '[.. | objects | .name? // empty] | length')
((names > 3)) || errors+=("the status JSON holds $names names; the test wants the reports' names too")
report "a daemon with three probed targets and two webhooks" ${errors[@]+"${errors[@]}"} -- "$tmp/d.err"

# --- the completion ---------------------------------------------------------------------------------------

for variant in with_jq without_jq; do
        path=${!variant}
        errors=()
        got=$(complete "$path" tlswatchctl --socket "$sock" status "")
        [[ $got == "alpha beta gw:edge " ]] || errors+=("status: got '$got', want 'alpha beta gw:edge '")
        got=$(complete "$path" tlswatchctl --socket "$sock" check "")
        [[ $got == "alpha beta gw:edge " ]] || errors+=("check: got '$got', want 'alpha beta gw:edge '")
        got=$(complete "$path" tlswatchctl --socket="$sock" status a)
        [[ $got == "alpha " ]] || errors+=("status a: got '$got', want 'alpha '")
        # Bash splits gw:e into gw, :, e; the candidate is what follows the colon.
        got=$(complete "$path" tlswatchctl --socket "$sock" status gw:e)
        [[ $got == "edge " ]] || errors+=("status gw:e: got '$got', want 'edge '")
        got=$(complete "$path" tlswatchctl --socket "$sock" webhook-test "")
        [[ $got == "chat ops " ]] || errors+=("webhook-test: got '$got', want 'chat ops '")
        got=$(complete "$path" tlswatchctl --socket "$sock" webhook-test ops "")
        [[ $got == "" ]] || errors+=("webhook-test ops: got '$got', want nothing (one NAME only)")
        report "names from the daemon, each once (${variant/_/ })" ${errors[@]+"${errors[@]}"}
done

errors=()
got=$(complete "$with_jq" tlswatchctl status --)
[[ $got == "--json --nagios " ]] || errors+=("status --: got '$got', want '--json --nagios '")
got=$(complete "$with_jq" tlswatchctl check --)
[[ $got == "--all --json --nagios " ]] || errors+=("check --: got '$got', want '--all --json --nagios '")
got=$(complete "$with_jq" tlswatchctl probe -)
for option in -H -p -w -c -t -h -V --host --port --timeout --protocol --json; do
        [[ " $got" == *" $option "* ]] || errors+=("probe -: no $option in '$got'")
done
got=$(complete "$with_jq" tlswatchctl probe --protocol "")
[[ $got == "https mqtt tls wss " ]] || errors+=("probe --protocol: got '$got', want 'https mqtt tls wss '")
report "options of status, check and probe" ${errors[@]+"${errors[@]}"}

# The names come from the control socket's answers, never from JSON taken apart by sed.
errors=()
! grep -n '\bsed\b' "$completion" >"$tmp/sed.out" || errors+=("the completion runs sed:" "$(cat "$tmp/sed.out")")
report "no sed in the completion" ${errors[@]+"${errors[@]}"}

stop_daemon d
errors=()
for variant in with_jq without_jq; do
        got=$(complete "${!variant}" tlswatchctl --socket "$sock" status "")
        [[ $got == "" ]] || errors+=("status with no daemon (${variant/_/ }): got '$got', want nothing")
done
report "no daemon: no names, nothing on stderr" ${errors[@]+"${errors[@]}"}

summary
