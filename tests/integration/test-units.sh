#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the files that tie tlswatchd to systemd and to the operator: the unit renders, passes
# `systemd-analyze verify` and rates an exposure of 1.5 or lower offline, with its hardening block in
# alphabetical order; tlswatchd.socket passes verify beside it; the message catalog compiles and has
# exactly the MESSAGE_IDs of src/daemon/journal.c, with substitutions only of fields journal.c sets;
# tlswatchd(8) lists every MESSAGE_ID; sysusers.d/tlswatch.conf creates the group the socket and the
# service name; and the man pages render without warnings. Run by the automake harness: 0 pass,
# 1 fail, 99 broken environment; never skips. Needs no running systemd (PID 1 may be anything) and
# no root.

set -u -o pipefail

[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$TESTS_SRCDIR/integration/lib.sh"

# --- environment ---------------------------------------------------------------------------------------

need_programs TLSWATCHD
top=$(cd "$TESTS_SRCDIR/.." && pwd) || hard_error "TESTS_SRCDIR=$TESTS_SRCDIR: no parent directory"
unit_in=$top/systemd/tlswatchd.service.in
catalog=$top/systemd/tlswatch.catalog
journal_c=$top/src/daemon/journal.c
problem_h=$top/src/probe/problem.h
man_pages=("$top/man/tlswatchd.8" "$top/man/tlswatch.conf.5" "$top/man/tlswatchctl.1")
for f in "$unit_in" "$catalog" "$journal_c" "$problem_h" "${man_pages[@]}"; do
        [[ -f $f ]] || hard_error "$f not found (is TESTS_SRCDIR the source tests/ dir?)"
done
need_commands systemd-analyze journalctl groff man sed awk sort comm

# Absolute, so the rendered ExecStart= is absolute as verify requires.
sbindir=$(cd "$(dirname "$TLSWATCHD")" && pwd) || hard_error "cannot resolve the directory of $TLSWATCHD"
daemon_name=$(basename "$TLSWATCHD")
[[ $daemon_name == tlswatchd ]] ||
        hard_error "TLSWATCHD must name a file called tlswatchd (the unit runs @sbindir@/tlswatchd)"

make_tmp

# An untranslated, UTF-8 locale: the tools' messages stay parseable, and groff and man read UTF-8.
export LC_ALL=C.UTF-8 SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat PAGER=cat MANPAGER=cat
unset SYSTEMD_LOG_LEVEL

# --- the unit ------------------------------------------------------------------------------------------

unit=$tmp/tlswatchd.service
errors=()
sed -e "s|@sbindir@|$sbindir|g" -e "s|@sysconfdir@|/etc|g" "$unit_in" >"$unit" || hard_error "sed failed"
if grep -n '@[A-Za-z_]*@' "$unit" >"$tmp/left"; then
        errors+=("placeholders left after rendering:")
        mapfile -t lines <"$tmp/left"
        errors+=("${lines[@]}")
fi
report "unit renders" ${errors[@]+"${errors[@]}"}

# The contract of tlswatchd(8) and the brief: notify, watchdog, reload by SIGHUP, a dynamic user with a
# state directory, and nothing that limits where the daemon may connect.
errors=()
# shellcheck disable=SC2016 # $MAINPID is literal unit text
for line in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' 'WatchdogSec=30s' 'Restart=on-failure' \
            'DynamicUser=yes' 'StateDirectory=tlswatch' 'RuntimeDirectory=tlswatch' \
            'ConfigurationDirectory=tlswatch' "ExecStart=$sbindir/tlswatchd"; do
        grep -qxF -- "$line" "$unit" || errors+=("missing: $line")
done
for key in IPAddressDeny IPAddressAllow PrivateNetwork; do
        ! grep -q "^$key=" "$unit" || errors+=("$key= must not be set: the daemon connects to any address")
done
report "unit keeps the systemd contract" ${errors[@]+"${errors[@]}"}

# STYLE.md rule 9: the hardening block (from its comment to the next blank line) is alphabetical.
errors=()
awk '/^# Hardening/ { on = 1; next } on && /^$/ { exit } on && !/^#/' "$unit" | cut -d= -f1 >"$tmp/hardening"
[[ -s $tmp/hardening ]] || errors+=("no '# Hardening' block found in [Service]")
if ! LC_ALL=C sort -c "$tmp/hardening" 2>"$tmp/sort.err"; then
        errors+=("not in alphabetical order: $(cat "$tmp/sort.err")")
fi
report "unit hardening block is alphabetical" ${errors[@]+"${errors[@]}"}

# systemd-analyze verify loads the unit like the manager would, and also its dependencies
# (network-online.target, ...). On a machine where PID 1 is not systemd, or with unusual units installed,
# verify may complain about those; such lines do not name our unit and are shown but not counted.
# --recursive-errors=no makes the exit status depend on our unit only. Documentation= is checked by
# running man(1): MANPATH points at this tree's pages, so they must exist under the names the unit uses.
errors=()
mkdir -p "$tmp/man/man1" "$tmp/man/man5" "$tmp/man/man8"
cp "$top/man/tlswatchctl.1" "$tmp/man/man1/"
cp "$top/man/tlswatch.conf.5" "$tmp/man/man5/"
cp "$top/man/tlswatchd.8" "$tmp/man/man8/"
(cd "$tmp" && MANPATH=$tmp/man systemd-analyze verify --recursive-errors=no ./tlswatchd.service) \
        >"$tmp/verify.out" 2>&1
rc=$?
# Lines about our unit name it, its man pages or its scratch path, which all contain "tlswatch".
ours=$(grep -i 'tlswatch' "$tmp/verify.out")
others=$(grep -vi 'tlswatch' "$tmp/verify.out")
if [[ -n $ours ]]; then
        errors+=("about our unit:")
        mapfile -t lines <<<"$ours"
        errors+=("${lines[@]}")
fi
if ((rc != 0)) && [[ -z $ours ]]; then
        errors+=("exit status $rc without naming the unit; all output:")
        mapfile -t lines <"$tmp/verify.out"
        errors+=(${lines[@]+"${lines[@]}"})
fi
if [[ -n $others ]]; then
        echo "# systemd-analyze verify, about other units (not counted):"
        printf '#   %s\n' "$others"
fi
report "systemd-analyze verify" ${errors[@]+"${errors[@]}"}

# tlswatchd.socket: verified beside the rendered service it activates, at the path tlswatchd and
# tlswatchctl use by default (the service's RuntimeDirectory=tlswatch), mode 0660.
errors=()
socket_unit=$top/systemd/tlswatchd.socket
if [[ ! -f $socket_unit ]]; then
        errors+=("$socket_unit not found")
else
        cp "$socket_unit" "$tmp/"
        for line in 'ListenStream=/run/tlswatch/control.sock' 'SocketMode=0660' 'Service=tlswatchd.service'; do
                grep -qxF -- "$line" "$tmp/tlswatchd.socket" || errors+=("missing: $line")
        done
        (cd "$tmp" && MANPATH=$tmp/man systemd-analyze verify --recursive-errors=no ./tlswatchd.socket) \
                >"$tmp/verify-socket.out" 2>&1
        rc=$?
        ours=$(grep -i 'tlswatch' "$tmp/verify-socket.out")
        if [[ -n $ours ]] || ((rc != 0)); then
                errors+=("systemd-analyze verify (exit status $rc):")
                mapfile -t lines <"$tmp/verify-socket.out"
                errors+=(${lines[@]+"${lines[@]}"})
        fi
fi
report "tlswatchd.socket: systemd-analyze verify" ${errors[@]+"${errors[@]}"}

# The tlswatch group: sysusers.d/tlswatch.conf creates it (systemd-sysusers into a scratch root, as a
# package's postinst does into the system), the socket unit gives the socket that group, and the
# service runs with it, so the socket the daemon makes itself has it too.
errors=()
sysusers=$top/systemd/sysusers.d/tlswatch.conf
mkdir -p "$tmp/sysroot/etc"
if ! systemd-sysusers --root="$tmp/sysroot" "$sysusers" >"$tmp/sysusers.out" 2>&1; then
        errors+=("systemd-sysusers $sysusers failed:" "$(cat "$tmp/sysusers.out")")
fi
grep -q '^tlswatch:x:[0-9]*:$' "$tmp/sysroot/etc/group" 2>/dev/null ||
        errors+=("no group tlswatch in the scratch root's /etc/group after systemd-sysusers")
gid=$(sed -n 's/^tlswatch:x:\([0-9]*\):$/\1/p' "$tmp/sysroot/etc/group" 2>/dev/null)
[[ -z $gid ]] || ((gid < 1000)) || errors+=("tlswatch has gid $gid, not a system group's")
[[ ! -e $tmp/sysroot/etc/passwd ]] || ! grep -q '^tlswatch' "$tmp/sysroot/etc/passwd" ||
        errors+=("systemd-sysusers created a user tlswatch: the service's user is dynamic")
grep -qxF 'SocketGroup=tlswatch' "$socket_unit" || errors+=("tlswatchd.socket: missing: SocketGroup=tlswatch")
grep -qxF 'Group=tlswatch' "$unit" || errors+=("tlswatchd.service: missing: Group=tlswatch")
report "the tlswatch group: sysusers.d creates it, socket and service use it" ${errors[@]+"${errors[@]}"}

# The overall exposure, 0.0 (best) to 10.0; --threshold is on the internal 0-100 scale.
errors=()
systemd-analyze security --offline=yes --threshold=15 --no-pager "$unit" >"$tmp/security.out" 2>&1
rc=$?
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*/\1/p' "$tmp/security.out")
if [[ -z $exposure ]]; then
        errors+=("no 'Overall exposure level' line (exit status $rc); output:")
        mapfile -t lines <"$tmp/security.out"
        errors+=(${lines[@]+"${lines[@]}"})
elif ! awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }'; then
        errors+=("overall exposure $exposure is above 1.5; the exposed items:")
        mapfile -t lines < <(grep '^✗' "$tmp/security.out")
        errors+=(${lines[@]+"${lines[@]}"})
elif ((rc != 0)); then
        errors+=("exposure $exposure, but systemd-analyze exited with status $rc:")
        mapfile -t lines <"$tmp/security.out"
        errors+=(${lines[@]+"${lines[@]}"})
fi
report "systemd-analyze security: exposure ${exposure:-?} <= 1.5" ${errors[@]+"${errors[@]}"}

# --- the catalog ---------------------------------------------------------------------------------------

grep -o '"[0-9a-f]\{32\}"' "$journal_c" | tr -d '"' | sort >"$tmp/ids.code"
sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$catalog" | sort >"$tmp/ids.catalog"
[[ -s $tmp/ids.code ]] || hard_error "no MESSAGE_IDs found in $journal_c"
expected=$(wc -l <"$tmp/ids.code")
# One ID per problem code (the enum in problem.h, without _PROBLEM_CODE_MAX), then recovery and change.
codes=$(grep -cE '^[[:space:]]+PROBLEM_[A-Z_]+,' "$problem_h")

errors=()
dups=$(uniq -d "$tmp/ids.code")
[[ -z $dups ]] || errors+=("journal.c uses an ID twice: $dups")
dups=$(uniq -d "$tmp/ids.catalog")
[[ -z $dups ]] || errors+=("the catalog defines an ID twice: $dups")
missing=$(comm -23 "$tmp/ids.code" "$tmp/ids.catalog")
[[ -z $missing ]] || errors+=("in journal.c but not in the catalog: $(tr '\n' ' ' <<<"$missing")")
extra=$(comm -13 "$tmp/ids.code" "$tmp/ids.catalog")
[[ -z $extra ]] || errors+=("in the catalog but not in journal.c: $(tr '\n' ' ' <<<"$extra")")
((expected == codes + 2)) ||
        errors+=("journal.c has $expected MESSAGE_IDs, not $codes (problem codes) + recovery + change")
report "catalog and journal.c have the same $expected MESSAGE_IDs" ${errors[@]+"${errors[@]}"}

# Compiled into a scratch root, as `journalctl --update-catalog` would into the system's.
errors=()
root=$tmp/root
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$catalog" "$root/usr/lib/systemd/catalog/"
if ! journalctl --root="$root" --update-catalog >"$tmp/update.out" 2>&1; then
        errors+=("journalctl --update-catalog failed:")
        mapfile -t lines <"$tmp/update.out"
        errors+=(${lines[@]+"${lines[@]}"})
elif [[ -s $tmp/update.out ]]; then
        errors+=("journalctl --update-catalog complained:")
        mapfile -t lines <"$tmp/update.out"
        errors+=("${lines[@]}")
else
        journalctl --root="$root" --list-catalog >"$tmp/list.out" 2>&1
        listed=$(grep -c ' tlswatch: ' "$tmp/list.out")
        ((listed == expected)) ||
                errors+=("--list-catalog shows $listed tlswatch entries, expected $expected")
        awk '{ print $1 }' "$tmp/list.out" | sort >"$tmp/ids.listed"
        missing=$(comm -23 "$tmp/ids.code" "$tmp/ids.listed")
        [[ -z $missing ]] || errors+=("compiled catalog lacks: $(tr '\n' ' ' <<<"$missing")")
        # Every entry has a subject, and Defined-By: tlswatch.
        while read -r id; do
                journalctl --root="$root" --dump-catalog "$id" >"$tmp/entry" 2>&1
                grep -q '^Subject: .' "$tmp/entry" || errors+=("$id: no Subject:")
                grep -qx 'Defined-By: tlswatch' "$tmp/entry" || errors+=("$id: no 'Defined-By: tlswatch'")
        done <"$tmp/ids.code"
fi
report "catalog compiles and lists all $expected entries" ${errors[@]+"${errors[@]}"}

# journalctl shows a @FIELD@ that an entry lacks as the bare field name, and substitutes only names made
# of capital letters and '_' (systemd's replace-var.c): @TLSWATCH_SHA256@ would be shown verbatim.
errors=()
for field in $(grep -o '@[A-Za-z0-9_]*@' "$catalog" | tr -d '@' | sort -u); do
        [[ $field =~ ^[A-Z_]+$ ]] || errors+=("@$field@ cannot be substituted: only A-Z and _ are")
        grep -q "\"$field=" "$journal_c" || errors+=("@$field@ is not a field journal.c sets")
done
report "catalog substitutes only fields journal.c sets" ${errors[@]+"${errors[@]}"}

errors=()
while read -r id; do
        grep -q "$id" "$top/man/tlswatchd.8" || errors+=("tlswatchd(8) does not list $id")
done <"$tmp/ids.code"
report "tlswatchd(8) lists every MESSAGE_ID" ${errors[@]+"${errors[@]}"}

# --- the man pages -------------------------------------------------------------------------------------

for page in "${man_pages[@]}"; do
        errors=()
        if ! groff -man -Tutf8 -ww "$page" >/dev/null 2>"$tmp/groff.err" || [[ -s $tmp/groff.err ]]; then
                errors+=("groff -man -Tutf8 -ww:")
                mapfile -t lines <"$tmp/groff.err"
                errors+=(${lines[@]+"${lines[@]}"})
        fi
        if ! MANWIDTH=100 man --warnings -l "$page" >/dev/null 2>"$tmp/man.err" ||
                [[ -s $tmp/man.err ]]; then
                errors+=("man --warnings -l:")
                mapfile -t lines <"$tmp/man.err"
                errors+=(${lines[@]+"${lines[@]}"})
        fi
        report "$(basename "$page") renders without warnings" ${errors[@]+"${errors[@]}"}
done

summary
