#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The static analysers CI runs (tests/run-all.sh), each of which must be clean:
#   static-analysis.sh cppcheck BUILDDIR    cppcheck with tlswatch.cfg and cppcheck-suppressions.txt
#   static-analysis.sh clang-tidy BUILDDIR  clang-tidy on every C file (.clang-tidy, tests/unit/.clang-tidy)
#   static-analysis.sh scan-build BUILDDIR  a fresh build of everything under the clang static analyzer
# BUILDDIR is a configured build directory (its build-config.h is included as the compiler does); for
# scan-build, an empty directory that it configures itself.
set -euo pipefail

tool=${1:?usage: static-analysis.sh cppcheck|clang-tidy|scan-build BUILDDIR}
builddir=$(cd "${2:?usage: static-analysis.sh TOOL BUILDDIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/static-analysis
jobs=$(nproc 2>/dev/null || echo 2)
cd "$top"

sources() { find src tests/fuzz tests/tools tests/unit -name '*.c' | sort; }
includes=(-Isrc/basic -Isrc/probe -Isrc/ctl -Isrc/daemon -Itests/fuzz -Itests/unit)
defines=(-DSYSCONFDIR='"/etc"' -DLOCALSTATEDIR='"/var"' -DDOCDIR='"/usr/share/doc/tlswatch"' -DTOP_SRCDIR='"."')

case $tool in
cppcheck)
        # gnu.cfg is left out: its accept4() wrongly forbids a NULL address; tlswatch.cfg declares it as
        # accept4(2) documents it (and jansson's foreach macros).
        cppcheck -q --std=c11 --library=posix,libcurl,openssl,"$here/tlswatch.cfg" \
                --enable=warning,performance,portability --inline-suppr \
                --suppressions-list="$here/cppcheck-suppressions.txt" --error-exitcode=1 \
                --template='{file}:{line}: {severity}: {message} [{id}]' -j"$jobs" \
                "${includes[@]}" -include "$builddir/build-config.h" "${defines[@]}" $(sources)
        ;;
clang-tidy)
        # The flags the build uses, so clang-tidy sees the same headers and macros.
        read -r -a flags <<<"$(pkg-config --cflags libssl libcrypto libsystemd jansson libcurl inih yaml-0.1 cmocka)"
        export TIDY_FLAGS
        TIDY_FLAGS=$(printf '%q ' -std=gnu11 -include "$builddir/build-config.h" "${includes[@]}" "${defines[@]}" \
                "${flags[@]}")
        sources | xargs -P"$jobs" -n4 bash -c 'eval "flags=($TIDY_FLAGS)"; \
                exec clang-tidy -quiet "$@" -- "${flags[@]}"' clang-tidy \
                2> >(grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' >&2)
        ;;
scan-build)
        # A build of its own with clang, every program and test; any report is a failure.
        cd "$builddir"
        scan-build --status-bugs -o "$builddir/scan-build-reports" "$top/configure" CC=clang >configure.out
        make clean >/dev/null 2>&1 || true
        # `make check TESTS=` builds everything, the test programs too, and runs none. (Not `make all
        # check`: with -j the two goals would build the same objects at once.)
        # unix.Malloc is off: clang 14's analyzer does not model __attribute__((cleanup)), so it reports
        # every _cleanup_ local as leaked; LeakSanitizer (make check, the fuzzers) finds the real ones.
        # tests/unit and tests/tools are left to clang-tidy's run of the same analyzer, where a false
        # positive can be marked at its line (cmocka's assertions are not noreturn; getsockname()).
        scan-build --status-bugs -o "$builddir/scan-build-reports" -disable-checker unix.Malloc \
                --exclude "$top/tests/unit" --exclude "$top/tests/tools" \
                make -j"$jobs" check TESTS= \
                >make.out 2>&1 || {
                grep -E 'warning:|error:' make.out | sort -u
                echo "scan-build: see $builddir/scan-build-reports" >&2
                exit 1
        }
        grep -E 'scan-build: [0-9]+ bugs? found|No bugs found' make.out | tail -1
        ;;
*)
        echo "static-analysis.sh: unknown tool $tool" >&2
        exit 2
        ;;
esac
