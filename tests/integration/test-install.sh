#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks `make install` of the build under test: installs it into a scratch DESTDIR and compares the
# tree with what configure decided (every file, its mode, nothing else; docs/ and examples/ under
# docdir), runs the installed programs' --version, completes a command with the installed bash
# completion, and checks that `make uninstall` takes every file away again. Run by the automake
# harness: 0 pass, 1 fail, 99 broken environment.

set -u -o pipefail

hard_error() {
        echo "test-install: ERROR: $*" >&2
        exit 99
}

[[ -n ${TESTS_BUILDDIR:-} ]] || hard_error "TESTS_BUILDDIR is not set (the configured build directory)"
[[ -f $TESTS_BUILDDIR/Makefile ]] || hard_error "$TESTS_BUILDDIR/Makefile not found; configure first"
[[ -n ${TESTS_SRCDIR:-} ]] || TESTS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$TESTS_SRCDIR/.." && pwd) || hard_error "TESTS_SRCDIR=$TESTS_SRCDIR: no parent directory"
for tool in make find stat bash openssl; do
        command -v "$tool" >/dev/null 2>&1 || hard_error "$tool not found"
done
bash_completion=/usr/share/bash-completion/bash_completion
[[ -f $bash_completion ]] || hard_error "$bash_completion not found (apt-get install bash-completion)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-test-install.XXXXXX") || hard_error "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 99' INT TERM HUP
export LC_ALL=C.UTF-8
# The nested make is a make of its own, not a job of the `make check` that runs this test.
unset MAKEFLAGS MFLAGS MAKELEVEL
dest=$tmp/root

passed=0
failed=0

report() {
        local name=$1

        shift
        if [[ $# -eq 0 ]]; then
                echo "ok - $name"
                passed=$((passed + 1))
        else
                echo "FAIL - $name"
                printf '    %s\n' "$@"
                failed=$((failed + 1))
        fi
}

declare -A dir
while IFS='=' read -r key value; do
        dir[$key]=$value
done < <(make -s -C "$TESTS_BUILDDIR" --no-print-directory print-install-dirs) ||
        hard_error "make print-install-dirs failed"
for key in version bindir sbindir tlswatchconfdir systemdsystemunitdir catalogdir bashcompletiondir sysusersdir docdir mandir; do
        [[ ${dir[$key]:-} == /* || $key == version ]] || hard_error "configure gave no absolute $key: '${dir[$key]:-}'"
done

# --- make install ----------------------------------------------------------------------------------------

errors=()
if ! timeout 300 make -s -C "$TESTS_BUILDDIR" --no-print-directory install DESTDIR="$dest" >"$tmp/install.out" 2>&1; then
        errors+=("make install DESTDIR=$dest failed:")
        mapfile -t lines <"$tmp/install.out"
        errors+=(${lines[@]+"${lines[@]}"})
fi
report "make install DESTDIR=..." ${errors[@]+"${errors[@]}"}

# Every file and directory of ours, with its mode; directories that the prefix merely contains
# (usr/, usr/share/, ...) are not ours and are not listed.
declare -A expected=(
        ["${dir[bindir]}/tlswatchctl"]=755
        ["${dir[sbindir]}/tlswatchd"]=755
        ["${dir[tlswatchconfdir]}/tlswatch.conf"]=644
        ["${dir[tlswatchconfdir]}/conf.d"]=755
        ["${dir[systemdsystemunitdir]}/tlswatchd.service"]=644
        ["${dir[systemdsystemunitdir]}/tlswatchd.socket"]=644
        ["${dir[catalogdir]}/tlswatch.catalog"]=644
        ["${dir[mandir]}/man1/tlswatchctl.1"]=644
        ["${dir[mandir]}/man5/tlswatch.conf.5"]=644
        ["${dir[mandir]}/man8/tlswatchd.8"]=644
        ["${dir[bashcompletiondir]}/tlswatchctl"]=644
        ["${dir[sysusersdir]}/tlswatch.conf"]=644
)
# The documents and every file of examples/, as the source tree has them.
for doc in SECURITY.md HARDENING.md BENCHMARKS.md RUNBOOK.md FLEET.md; do
        expected["${dir[docdir]}/$doc"]=644
done
while IFS= read -r -d '' file; do
        expected["${dir[docdir]}/examples/${file#"$top/examples/"}"]=644
done < <(find "$top/examples" -type f -print0)
((${#expected[@]} > 20)) || hard_error "$top/examples has too few files"
errors=()
for path in "${!expected[@]}"; do
        if [[ ! -e $dest$path ]]; then
                errors+=("missing: $path")
                continue
        fi
        mode=$(stat -c %a "$dest$path")
        [[ $mode == "${expected[$path]}" ]] || errors+=("$path: mode $mode, expected ${expected[$path]}")
done
report "every file in place with its mode" ${errors[@]+"${errors[@]}"}

errors=()
while IFS= read -r -d '' file; do
        path=${file#"$dest"}
        [[ -n ${expected[$path]:-} ]] || errors+=("unexpected file: $path")
done < <(find "$dest" \( -type f -o -type l \) -print0)
report "nothing installed beyond the expected files" ${errors[@]+"${errors[@]}"}

errors=()
conf_d=$dest${dir[tlswatchconfdir]}/conf.d
[[ -d $conf_d ]] && [[ -z $(ls -A "$conf_d") ]] || errors+=("${dir[tlswatchconfdir]}/conf.d is not an empty directory")
cmp -s "$top/etc/tlswatch.conf" "$dest${dir[tlswatchconfdir]}/tlswatch.conf" ||
        errors+=("the installed tlswatch.conf differs from etc/tlswatch.conf")
for file in examples/prometheus/tlswatch.rules.yml examples/grafana/tlswatch-dashboard.json docs/SECURITY.md; do
        installed=$dest${dir[docdir]}/${file#docs/}
        cmp -s "$top/$file" "$installed" || errors+=("the installed $installed differs from $file")
done
cmp -s "$top/systemd/sysusers.d/tlswatch.conf" "$dest${dir[sysusersdir]}/tlswatch.conf" ||
        errors+=("the installed sysusers.d/tlswatch.conf differs from systemd/sysusers.d/tlswatch.conf")
cmp -s "$top/systemd/tlswatch.catalog" "$dest${dir[catalogdir]}/tlswatch.catalog" ||
        errors+=("the installed catalog differs from systemd/tlswatch.catalog")
unit=$dest${dir[systemdsystemunitdir]}/tlswatchd.service
grep -qxF "ExecStart=${dir[sbindir]}/tlswatchd" "$unit" 2>/dev/null ||
        errors+=("the installed unit does not run ${dir[sbindir]}/tlswatchd")
! grep -n '@[A-Za-z_]*@' "$unit" >/dev/null 2>&1 || errors+=("the installed unit has placeholders left")
report "configuration, catalog, unit, docs and examples are the ones built" ${errors[@]+"${errors[@]}"}

# --- the installed programs ------------------------------------------------------------------------------

# OpenSSL's runtime version as the openssl tool sees the library, e.g. "OpenSSL 3.0.22 25 Aug 2026".
openssl_library=$(openssl version | sed -n 's/.*(Library: \(.*\))$/\1/p')
[[ -n $openssl_library ]] || openssl_library=$(openssl version)
for program in "${dir[sbindir]}/tlswatchd" "${dir[bindir]}/tlswatchctl"; do
        errors=()
        name=$(basename "$program")
        if ! "$dest$program" --version >"$tmp/version" 2>&1; then
                errors+=("$program --version failed:")
        fi
        head -n 1 "$tmp/version" | grep -qxF "$name ${dir[version]}" ||
                errors+=("first line is not '$name ${dir[version]}'")
        grep -qF "OpenSSL: $openssl_library " "$tmp/version" ||
                errors+=("no 'OpenSSL: $openssl_library' line")
        grep -qE '^libsystemd: [0-9]+ \(libsystemd\.so\.[0-9.]+\)$' "$tmp/version" ||
                errors+=("no 'libsystemd: N (libsystemd.so.N...)' line")
        if [[ $name == tlswatchd ]]; then
                grep -qE '^libcurl: [0-9]+\.[0-9]+\.[0-9]+' "$tmp/version" || errors+=("no 'libcurl: X.Y.Z' line")
        fi
        ((${#errors[@]} == 0)) || {
                errors+=("output:")
                mapfile -t lines <"$tmp/version"
                errors+=(${lines[@]+"${lines[@]}"})
        }
        report "$name --version names its version and libraries" ${errors[@]+"${errors[@]}"}
done

# The installed completion, loaded the way bash-completion loads it: commands, then probe's options and
# the values of --protocol.
complete_words() {
        bash --norc --noprofile -c '
                source "$1" && source "$2" || exit 1
                shift 2
                COMP_WORDS=("$@")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMP_LINE="${COMP_WORDS[*]}"
                COMP_POINT=${#COMP_LINE}
                _tlswatchctl tlswatchctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
        ' complete "$bash_completion" "$dest${dir[bashcompletiondir]}/tlswatchctl" "$@"
}
errors=()
got=$(complete_words tlswatchctl "")
want="check discover inspect lint metrics probe reload status webhook-test webhooks "
[[ $got == "$want" ]] || errors+=("commands: got '$got', want '$want'")
got=$(complete_words tlswatchctl probe --pro)
[[ $got == "--protocol " ]] || errors+=("probe --pro: got '$got', want '--protocol '")
got=$(complete_words tlswatchctl --socket /run/x.sock probe --protocol "")
[[ $got == "https mqtt tls wss " ]] || errors+=("probe --protocol: got '$got', want 'https mqtt tls wss '")
got=$(complete_words tlswatchctl check --)
[[ $got == "--all --json --nagios " ]] || errors+=("check --: got '$got', want '--all --json --nagios '")
report "bash completion completes commands and options" ${errors[@]+"${errors[@]}"}

# --- make uninstall --------------------------------------------------------------------------------------

errors=()
if ! timeout 300 make -s -C "$TESTS_BUILDDIR" --no-print-directory uninstall DESTDIR="$dest" >"$tmp/uninstall.out" 2>&1; then
        errors+=("make uninstall failed:")
        mapfile -t lines <"$tmp/uninstall.out"
        errors+=(${lines[@]+"${lines[@]}"})
fi
left=$(find "$dest" \( -type f -o -type l \) -printf '%P\n')
[[ -z $left ]] || errors+=("left behind: $left")
[[ ! -e $dest${dir[tlswatchconfdir]} ]] || errors+=("${dir[tlswatchconfdir]} is left behind")
report "make uninstall removes every file" ${errors[@]+"${errors[@]}"}

echo "$passed passed, $failed failed"
((failed == 0)) || exit 1
exit 0
