#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The cost of one one-shot check (issue 18): `tlswatchctl probe` against `openssl s_client` on the same
# loopback listener in the same run, and `tlswatchctl check --nagios` answered by a running tlswatchd
# (the daemon's CPU counted too). Batches of each are interleaved, in a rotating order, so every ratio
# compares runs made under the same load. Prints a markdown table; --json FILE writes the samples.
set -euo pipefail

usage() {
        cat <<EOF
usage: $0 [--quick] [--reps N] [--checks N] [--json FILE]

  --quick     2 repetitions of 5 checks each: a smoke run that the script works
  --reps N    interleaved repetitions (default 7)
  --checks N  checks per batch (default 40)
  --json FILE the samples and medians as JSON

TLSWATCHCTL and TLSWATCHD (default: those of the newest build*/ beside bench/) are measured.
EOF
}

reps=7
checks=40
json_out=
while [ $# -gt 0 ]; do
        case $1 in
        --quick) reps=2 checks=5 ;;
        --reps) reps=$2; shift ;;
        --checks) checks=$2; shift ;;
        --json) json_out=$2; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
        esac
        shift
done

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC2012 # build directory names are ours, and ls -t sorts by age
newest() { ls -t "$top"/build*/"$1" 2>/dev/null | head -n 1 || true; }
TLSWATCHCTL=${TLSWATCHCTL:-$(newest tlswatchctl)}
TLSWATCHD=${TLSWATCHD:-$(newest tlswatchd)}
for p in "$TLSWATCHCTL" "$TLSWATCHD"; do
        if [ -z "$p" ] || [ ! -x "$p" ]; then
                echo "oneshot.sh: build first or set TLSWATCHCTL and TLSWATCHD" >&2
                exit 2
        fi
done
for tool in openssl python3; do
        command -v "$tool" >/dev/null || { echo "oneshot.sh: $tool is missing" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-oneshot.XXXXXX")
pids=()
stop_pid() {
        kill "$1" 2>/dev/null || return 0
        for _ in $(seq 50); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.1
        done
        kill -9 "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}
cleanup() {
        local pid
        for pid in ${pids[@]+"${pids[@]}"}; do
                stop_pid "$pid"
        done
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- an ECDSA P-256 root, intermediate and leaf for 127.0.0.1 and localhost ---
d=$work/pki
mkdir -p "$d"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/root.key" \
        -out "$d/root.pem" -days 365 -subj "/CN=oneshot root" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/int.key" -out "$d/int.csr" \
        -subj "/CN=oneshot intermediate" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$d/int.ext"
openssl x509 -req -in "$d/int.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial -days 365 \
        -sha256 -extfile "$d/int.ext" -out "$d/int.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/leaf.key" -out "$d/leaf.csr" \
        -subj "/CN=localhost" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' \
        >"$d/leaf.ext"
openssl x509 -req -in "$d/leaf.csr" -CA "$d/int.pem" -CAkey "$d/int.key" -CAcreateserial -days 365 -sha256 \
        -extfile "$d/leaf.ext" -out "$d/leaf.pem" 2>/dev/null

# --- the listener: one s_server on an ephemeral port; its stdin a FIFO held open, so it never sees EOF ---
mkfifo "$work/idle"
# shellcheck disable=SC2034 # only held open, never used
exec {idle_fd}<>"$work/idle"
openssl s_server -accept 127.0.0.1:0 -cert "$d/leaf.pem" -key "$d/leaf.key" -cert_chain "$d/int.pem" \
        <"$work/idle" >"$work/server.out" 2>"$work/server.err" &
pids+=("$!")
port=
for _ in $(seq 100); do
        port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$work/server.out")
        [ -n "$port" ] && break
        sleep 0.1
done
[ -n "$port" ] || { echo "oneshot.sh: s_server did not start" >&2; cat "$work/server.err" >&2; exit 1; }

# --- a daemon watching the same listener, for `tlswatchctl check` ---
cat >"$work/tlswatch.conf" <<EOF
[Defaults]
ControlSocket=$work/control.sock
Interval=1h
Protocol=tls
CAFile=$d/root.pem

[Target oneshot]
Address=127.0.0.1:$port
ServerName=localhost
EOF
mkdir -p "$work/state"
"$TLSWATCHD" -c "$work/tlswatch.conf" --state-directory "$work/state" >"$work/daemon.out" 2>"$work/daemon.err" &
daemon_pid=$!
pids+=("$daemon_pid")
for _ in $(seq 150); do
        [ -S "$work/control.sock" ] && break
        sleep 0.1
done
[ -S "$work/control.sock" ] || { echo "oneshot.sh: tlswatchd did not start" >&2; cat "$work/daemon.err" >&2; exit 1; }

# Each check must succeed: a benchmark of failures measures nothing.
probe=("$TLSWATCHCTL" probe --ca-file "$d/root.pem" --servername localhost --protocol tls "127.0.0.1:$port")
sclient=(openssl s_client -connect "127.0.0.1:$port" -CAfile "$d/root.pem" -servername localhost -verify_return_error)
check=("$TLSWATCHCTL" --socket "$work/control.sock" check --nagios oneshot)
"${probe[@]}" >/dev/null || { echo "oneshot.sh: tlswatchctl probe failed" >&2; exit 1; }
openssl s_client -connect "127.0.0.1:$port" -CAfile "$d/root.pem" -servername localhost -verify_return_error \
        </dev/null >"$work/s_client.out" 2>&1 || { echo "oneshot.sh: s_client failed" >&2; cat "$work/s_client.out" >&2; exit 1; }
"${check[@]}" >/dev/null || { echo "oneshot.sh: tlswatchctl check failed" >&2; exit 1; }

export ONESHOT_PROBE ONESHOT_SCLIENT ONESHOT_CHECK
ONESHOT_PROBE=$(printf '%s\0' "${probe[@]}" | base64 -w0)
ONESHOT_SCLIENT=$(printf '%s\0' "${sclient[@]}" | base64 -w0)
ONESHOT_CHECK=$(printf '%s\0' "${check[@]}" | base64 -w0)

python3 - "$reps" "$checks" "$daemon_pid" "${json_out:-}" "$(openssl version)" <<'EOF'
import base64, json, os, resource, statistics, subprocess, sys, time

reps, checks, daemon_pid, json_out, openssl_version = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
argv = lambda name: [a for a in base64.b64decode(os.environ[name]).decode().split("\0") if a]
tools = [("tlswatchctl probe", argv("ONESHOT_PROBE"), False),
         ("openssl s_client", argv("ONESHOT_SCLIENT"), False),
         ("tlswatchctl check (daemon)", argv("ONESHOT_CHECK"), True)]
tick = os.sysconf("SC_CLK_TCK")

def daemon_cpu():
    with open(f"/proc/{daemon_pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

def batch(command, with_daemon):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    d0 = daemon_cpu() if with_daemon else 0.0
    t0 = time.monotonic()
    for _ in range(checks):
        subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if with_daemon:
        cpu += daemon_cpu() - d0
    return cpu / checks * 1000, wall / checks * 1000

samples = {name: {"cpu_ms": [], "wall_ms": []} for name, _, _ in tools}
for rep in range(reps):
    order = tools[rep % len(tools):] + tools[:rep % len(tools)]
    for name, command, with_daemon in order:
        cpu, wall = batch(command, with_daemon)
        samples[name]["cpu_ms"].append(cpu)
        samples[name]["wall_ms"].append(wall)

med = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}
base = med["openssl s_client"]
print(f"One-shot check, median of {reps} interleaved batches of {checks} ({openssl_version}; "
      f"load average {os.getloadavg()[0]:.1f}; the daemon's CPU is read in clock ticks)\n")
print("| Check | CPU ms | wall ms | CPU vs s_client | wall vs s_client |")
print("|---|---:|---:|---:|---:|")
for name, _, _ in tools:
    m = med[name]
    print(f"| {name} | {m['cpu_ms']:.2f} | {m['wall_ms']:.2f} | {m['cpu_ms'] / base['cpu_ms']:.2f} | "
          f"{m['wall_ms'] / base['wall_ms']:.2f} |")
if json_out:
    with open(json_out, "w") as f:
        json.dump({"reps": reps, "checks": checks, "openssl": openssl_version, "samples": samples, "medians": med,
                   "ratio_cpu_probe": med["tlswatchctl probe"]["cpu_ms"] / base["cpu_ms"]}, f, indent=1)
EOF
