#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, as CI runs it: a warnings-as-errors build with `make check`, then the same
# suite under AddressSanitizer and UndefinedBehaviorSanitizer, each in its own out-of-tree build
# directory. Ends with one "N passed, N failed" line over both.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ -e config.status ]; then
        echo "run-all.sh: the source tree is configured in place; run 'make distclean' first" >&2
        exit 2
fi
[ -x configure ] || autoreconf -fi

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

run_suite() {
        local name=$1
        shift
        local dir="$top/build-$name"

        echo "=== $name: configure $*"
        mkdir -p "$dir"
        (cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out) || {
                cat "$dir/configure.out" "$dir/config.log" >&2 || true
                failed=$((failed + 1))
                return 1
        }
        echo "=== $name: make check"
        local rc=0
        make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1 || { cat "$dir/make.out"; failed=$((failed + 1)); return 1; }
        make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1 || rc=$?
        grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP):' "$dir/check.out" || true
        local suite_pass suite_fail
        suite_pass=$(grep -cE '^PASS:' "$dir/check.out" || true)
        suite_fail=$(grep -cE '^(FAIL|ERROR|XPASS):' "$dir/check.out" || true)
        passed=$((passed + suite_pass))
        failed=$((failed + suite_fail))
        if [ "$rc" -ne 0 ]; then
                echo "=== $name: failures; logs follow"
                for log in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$dir/tests" -name '*.trs') 2>/dev/null); do
                        echo "--- ${log%.trs}.log"
                        cat "${log%.trs}.log"
                done
                [ "$suite_fail" -gt 0 ] || failed=$((failed + 1))
        fi
}

run_suite release || true
run_suite sanitizers --enable-sanitizers || true

# --- static analysis and fuzz smoke runs (hardening) ---
# Each analyser, and the fuzz smoke run, counts as one test. cppcheck and clang-tidy read the release
# build's build-config.h; scan-build and the fuzzers build in directories of their own.
hardening_step() {
        local name=$1
        shift
        local log="$top/build-hardening/$name.log"

        mkdir -p "$top/build-hardening"
        echo "=== $name"
        if "$@" >"$log" 2>&1; then
                tail -n 8 "$log"
                echo "PASS: $name"
                passed=$((passed + 1))
        else
                cat "$log"
                echo "FAIL: $name"
                failed=$((failed + 1))
        fi
}

fuzz_smoke() {
        mkdir -p "$top/build-fuzz"
        (cd "$top/build-fuzz" && "$top/configure" CC=clang --enable-werror --enable-fuzzing >configure.out &&
                make -j"$jobs" fuzz-smoke)
}

# The build Debian's package makes (dpkg-buildflags: -O2, _FORTIFY_SOURCE, -Wformat-security, the
# hardening options), with -Werror: warnings only those flags show (an ignored asprintf() result,
# say) fail here rather than scroll past in the package build's log.
debian_flags_build() {
        mkdir -p "$top/build-debian-flags"
        (cd "$top/build-debian-flags" &&
                eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)" &&
                "$top/configure" --enable-werror >configure.out && make -j"$jobs")
}

analyse="$top/tests/static-analysis/static-analysis.sh"
hardening_step cppcheck "$analyse" cppcheck "$top/build-release" || true
hardening_step clang-tidy "$analyse" clang-tidy "$top/build-release" || true
mkdir -p "$top/build-scan-build"
hardening_step scan-build "$analyse" scan-build "$top/build-scan-build" || true
hardening_step fuzz-smoke fuzz_smoke || true
hardening_step debian-flags debian_flags_build || true

# --- make distcheck and the Debian package (shipping) ---

# One step of this section, counted like a test: PASS, or FAIL followed by its problems.
ship_report() {
        local name=$1

        shift
        if [ $# -eq 0 ]; then
                echo "PASS: ship: $name"
                passed=$((passed + 1))
        else
                echo "FAIL: ship: $name"
                printf '    %s\n' "$@"
                failed=$((failed + 1))
        fi
}

# make distcheck from the release build: the tarball builds out of tree from a read-only source tree,
# passes make check, installs, uninstalls cleanly. It leaves tlswatch-VERSION.tar.gz behind.
ship_version=$(make -s -C "$top/build-release" --no-print-directory print-install-dirs 2>/dev/null |
        sed -n 's/^version=//p' || true)
echo "=== ship: make distcheck"
if make -C "$top/build-release" -j"$jobs" distcheck >"$top/build-release/distcheck.out" 2>&1; then
        ship_report "make distcheck"
else
        # The failing tests' logs when its make check failed, else the end of the output.
        ship_logs=$(grep -hE '^:test-result: (FAIL|ERROR)' -rl --include='*.trs' "$top/build-release/tlswatch-$ship_version/_build" 2>/dev/null || true)
        ship_report "make distcheck" "failed; the failing tests and the end of build-release/distcheck.out:" \
                "$(grep -E '^(FAIL|ERROR):' "$top/build-release/distcheck.out" || true)" \
                "$(for log in $ship_logs; do echo "--- ${log%.trs}.log"; grep -vE '^ok - ' "${log%.trs}.log" | head -n 40; done)" \
                "$(tail -n 20 "$top/build-release/distcheck.out")"
fi

# The Debian package, built from that tarball unpacked in a scratch directory, so dpkg-buildpackage's
# artifacts (written beside the source) stay out of the clone. The suite already ran: nocheck.
ship_tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-ship.XXXXXX")
ship_tarball=$top/build-release/tlswatch-$ship_version.tar.gz
ship_deb=$ship_tmp/tlswatch_${ship_version}_$(dpkg --print-architecture).deb
echo "=== ship: dpkg-buildpackage"
if [ -z "$ship_version" ] || { [ ! -f "$ship_tarball" ] && ! make -C "$top/build-release" dist >/dev/null 2>&1; }; then
        ship_report "dpkg-buildpackage -us -uc -b" "no tarball tlswatch-$ship_version.tar.gz to build from"
elif ! tar -xzf "$ship_tarball" -C "$ship_tmp" ||
        ! (cd "$ship_tmp/tlswatch-$ship_version" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" DEB_BUILD_PROFILES=nocheck \
                dpkg-buildpackage -us -uc -b >"$ship_tmp/build.out" 2>&1) || [ ! -f "$ship_deb" ]; then
        ship_report "dpkg-buildpackage -us -uc -b" "failed; the end of its output:" \
                "$(tail -n 60 "$ship_tmp/build.out" 2>/dev/null)"
else
        ship_report "dpkg-buildpackage -us -uc -b"
fi

if [ -f "$ship_deb" ]; then
        # Contents: every file where Debian 12 puts it, with its mode; the unit runs the packaged daemon.
        problems=()
        dpkg-deb -x "$ship_deb" "$ship_tmp/root" || problems+=("dpkg-deb -x failed")
        # docs/ and examples/ as the tree has them: dh_compress gzips a document above 4 KiB, except
        # RUNBOOK.md (the alerts link to it by name), and never an example.
        ship_docs=()
        for doc in "$top"/docs/*.md; do
                name=usr/share/doc/tlswatch/$(basename "$doc")
                [ "$(stat -c %s "$doc")" -le 4096 ] || [ "$(basename "$doc")" = RUNBOOK.md ] || name=$name.gz
                ship_docs+=("$name:644")
        done
        while IFS= read -r example; do
                ship_docs+=("usr/share/doc/tlswatch/examples/$example:644")
        done < <(cd "$top/examples" && find . -type f -printf '%P\n')
        for entry in "${ship_docs[@]}" usr/bin/tlswatchctl:755 usr/sbin/tlswatchd:755 etc/tlswatch/tlswatch.conf:644 \
                etc/tlswatch/conf.d:755 lib/systemd/system/tlswatchd.service:644 \
                lib/systemd/system/tlswatchd.socket:644 usr/lib/systemd/catalog/tlswatch.catalog:644 \
                usr/lib/sysusers.d/tlswatch.conf:644 \
                usr/share/man/man1/tlswatchctl.1.gz:644 usr/share/man/man5/tlswatch.conf.5.gz:644 \
                usr/share/man/man8/tlswatchd.8.gz:644 usr/share/bash-completion/completions/tlswatchctl:644 \
                usr/share/doc/tlswatch/copyright:644 usr/share/doc/tlswatch/NEWS.gz:644 \
                usr/share/doc/tlswatch/README.md.gz:644 usr/share/doc/tlswatch/changelog.gz:644; do
                path=${entry%:*}
                ship_expected="${ship_expected:-} /$path "
                mode=$(stat -c %a "$ship_tmp/root/$path" 2>/dev/null) || { problems+=("missing: /$path"); continue; }
                [ "$mode" = "${entry##*:}" ] || problems+=("/$path: mode $mode, expected ${entry##*:}")
        done
        while IFS= read -r path; do
                case $ship_expected in *" /$path "*) ;; *) problems+=("unexpected file: /$path") ;; esac
        done < <(cd "$ship_tmp/root" && find . \( -type f -o -type l \) -printf '%P\n')
        grep -qxF 'ExecStart=/usr/sbin/tlswatchd' "$ship_tmp/root/lib/systemd/system/tlswatchd.service" 2>/dev/null ||
                problems+=("tlswatchd.service does not run /usr/sbin/tlswatchd")
        [ "$(dpkg-deb -f "$ship_deb" Version)" = "$ship_version" ] ||
                problems+=("package version $(dpkg-deb -f "$ship_deb" Version), configure.ac says $ship_version")
        "$ship_tmp/root/usr/sbin/tlswatchd" --version 2>&1 | head -n 1 | grep -qxF "tlswatchd $ship_version" ||
                problems+=("the packaged tlswatchd --version does not say $ship_version")
        ship_report "package contents (dpkg-deb -x)" ${problems[@]+"${problems[@]}"}

        # Control files: the configuration is the only conffile; the units are not enabled or started
        # on install; the catalog lies where systemd's trigger rebuilds the catalog database.
        problems=()
        dpkg-deb -e "$ship_deb" "$ship_tmp/control" || problems+=("dpkg-deb -e failed")
        conffiles=$(cat "$ship_tmp/control/conffiles" 2>/dev/null || true)
        [ "$conffiles" = "/etc/tlswatch/tlswatch.conf" ] ||
                problems+=("conffiles is '$conffiles', expected /etc/tlswatch/tlswatch.conf")
        # dh_installsystemd --no-enable enables a unit again only if the administrator had enabled it
        # before: inside its "if deb-systemd-helper debian-installed" block.
        if awk '/deb-systemd-helper debian-installed/ { installed = 1 } /^\tfi$/ { installed = 0 }
                /deb-systemd-invoke (start|restart) |systemctl (enable|start)/ ||
                (/deb-systemd-helper enable/ && !installed) { print FILENAME ":" NR ": " $0; bad = 1 }
                END { exit !bad }' "$ship_tmp/control/postinst" >"$ship_tmp/enables" 2>/dev/null; then
                problems+=("postinst enables or starts a unit:" "$(cat "$ship_tmp/enables")")
        fi
        # The tlswatch group the socket and the service name (dh_installsysusers' snippet).
        grep -q 'systemd-sysusers .*tlswatch\.conf' "$ship_tmp/control/postinst" 2>/dev/null ||
                problems+=("postinst does not create the tlswatch group (systemd-sysusers tlswatch.conf)")
        grep -q 'deb-systemd-invoke try-restart' "$ship_tmp/control/postinst" 2>/dev/null ||
                problems+=("postinst does not try-restart a running tlswatchd after an upgrade")
        grep -qx 'interest-noawait /usr/lib/systemd/catalog' /var/lib/dpkg/info/systemd.triggers 2>/dev/null ||
                problems+=("systemd has no trigger on /usr/lib/systemd/catalog on this system")
        ship_report "package conffiles and maintainer scripts" ${problems[@]+"${problems[@]}"}

        # lintian: no errors. Its warnings and the tags it explains are listed for the log.
        echo "=== ship: lintian"
        if lintian --fail-on error "$ship_deb" >"$ship_tmp/lintian.out" 2>&1; then
                sed 's/^/    /' "$ship_tmp/lintian.out"
                ship_report "lintian (no errors)"
        else
                ship_report "lintian (no errors)" "$(cat "$ship_tmp/lintian.out")"
        fi
fi
rm -rf "$ship_tmp"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
