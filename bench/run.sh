#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlswatch's benchmark (issue 8): sets up a throwaway PKI and nginx TLS listeners on loopback, measures
# tlswatchd against OpenSSL's own handshake loop and against the tools people use today, repetitions
# interleaved so every ratio compares runs made under the same load. Prints one markdown table and
# writes the samples and their medians as JSON. `--quick` is the seconds-long smoke run of `make check`.
set -euo pipefail

usage() {
        cat <<EOF
usage: $0 [--quick] [--reps N] [--sizes "100 1000 10000"] [--peer-targets N] [--memory-sweeps N]
          [--json FILE] [--no-install] [--serve DIR]

  --quick       a few targets, two repetitions, no peers and no long runs: the smoke run of make check
  --reps N      repetitions of each interleaved measurement (default 3; 2 with --quick)
  --sizes LIST  sweep sizes (default "100 1000 10000"; "10" with --quick)
  --peer-targets N   targets each peer tool checks, one process after the other (default 100)
  --memory-sweeps N   sweeps of a running daemon (Interval=30s) with its RSS read after each (default 10)
  --only-hung   only measurement 6 (1,000 healthy targets beside 50 silent ones)
  --only-memory only measurements 1 and 2 over ECDSA, and 3 (the memory of --once and of a running daemon)
  --only-revocation  only measurement 7 (the same sweep with Revocation=off, with Revocation=crl, and
                over a chain without CRL distribution points)
  --json FILE   where the machine-readable results go (default bench-results.json)
  --no-install  do not apt-get the peer tools; those missing are reported as skipped
  --serve DIR   only set up: write the PKI and the target files to DIR, keep the listeners up until
                interrupted (for profiling with perf or callgrind against the same listeners)

TLSWATCHD (default: the tlswatchd of the newest build-*/ beside bench/) is the daemon measured.
EOF
}

quick=0
reps=
sizes=
json_out=bench-results.json
install=1
serve=
peer_n=100
memory_sweeps=
only_hung=0
only_memory=0
only_revocation=0
while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=1 ;;
        --reps) reps=$2; shift ;;
        --sizes) sizes=$2; shift ;;
        --json) json_out=$2; shift ;;
        --no-install) install=0 ;;
        --serve) serve=$2; shift ;;
        --peer-targets) peer_n=$2; shift ;;
        --memory-sweeps) memory_sweeps=$2; shift ;;
        --only-hung) only_hung=1 ;;
        --only-memory) only_memory=1 ;;
        --only-revocation) only_revocation=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
        esac
        shift
done
if [ "$quick" = 1 ]; then
        reps=${reps:-2}
        sizes=${sizes:-10}
        install=0
else
        reps=${reps:-3}
        sizes=${sizes:-100 1000 10000}
fi

top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${TLSWATCHD:-}" ]; then
        TLSWATCHD=$(ls -t "$top"/build*/tlswatchd 2>/dev/null | head -n 1 || true)
fi
if [ -z "${TLSWATCHD:-}" ] || [ ! -x "$TLSWATCHD" ]; then
        echo "run.sh: no tlswatchd; build first or set TLSWATCHD" >&2
        exit 2
fi
for tool in openssl nginx jq python3; do
        command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "run.sh: $tool is missing" >&2; exit 2; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "run.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tlswatch-bench.XXXXXX")
pids=()

# Every server is ours by PID; each gets a bounded wait after SIGTERM, then SIGKILL.
stop_pid() {
        local pid=$1 i
        kill "$pid" 2>/dev/null || return 0
        for i in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
}
cleanup() {
        local pid
        for pid in "${pids[@]}"; do
                stop_pid "$pid"
        done
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One /16 of loopback for the whole benchmark, a random /24 per run: two runs at once (a make check in
# two build directories) never share an address, so fixed ports cannot collide.
net=127.8.$((RANDOM % 250 + 1))
ecdsa_addr=$net.1
rsa_addr=$net.2
hung_addr=$net.3
crl_addr=$net.4 # listeners whose chain names CRL distribution points
cdp_addr=$net.5 # the plain-HTTP server of those CRLs, with an access log to count the fetches
cdp_port=8080
port_base=20000
n_ports=$([ "$quick" = 1 ] && echo 2 || echo 16)
workers=$([ "$quick" = 1 ] && echo 1 || echo 2)

# --- PKI: a root, an intermediate and a leaf for *.bench.test, once ECDSA P-256 and once RSA-2048 ---
make_chain() {
        local kind=$1 keyopt=$2 d=$work/pki/$1 cdp_int='' cdp_leaf=''
        mkdir -p "$d"
        if [ "$kind" = crl ]; then
                cdp_int="\ncrlDistributionPoints=URI:http://$cdp_addr:$cdp_port/root.crl"
                cdp_leaf="\ncrlDistributionPoints=URI:http://$cdp_addr:$cdp_port/int.crl"
        fi
        # shellcheck disable=SC2086
        openssl req -x509 -new -newkey $keyopt -nodes -keyout "$d/root.key" -out "$d/root.pem" -days 3650 \
                -subj "/CN=tlswatch bench $kind root" -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        # shellcheck disable=SC2086
        openssl req -new -newkey $keyopt -nodes -keyout "$d/int.key" -out "$d/int.csr" \
                -subj "/CN=tlswatch bench $kind intermediate" 2>/dev/null
        printf "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign$cdp_int\n" >"$d/int.ext"
        openssl x509 -req -in "$d/int.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial -days 3650 \
                -sha256 -extfile "$d/int.ext" -out "$d/int.pem" 2>/dev/null
        # shellcheck disable=SC2086
        openssl req -new -newkey $keyopt -nodes -keyout "$d/leaf.key" -out "$d/leaf.csr" \
                -subj "/CN=bench.test" 2>/dev/null
        printf "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature%s\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:*.bench.test,DNS:bench.test,IP:%s,IP:%s,IP:%s,IP:%s$cdp_leaf\n" \
                "$([ "$kind" = rsa ] && echo ,keyEncipherment)" "$ecdsa_addr" "$rsa_addr" "$hung_addr" "$crl_addr" >"$d/leaf.ext"
        openssl x509 -req -in "$d/leaf.csr" -CA "$d/int.pem" -CAkey "$d/int.key" -CAcreateserial -days 365 \
                -sha256 -extfile "$d/leaf.ext" -out "$d/leaf.pem" 2>/dev/null
        cat "$d/leaf.pem" "$d/int.pem" >"$d/fullchain.pem"
}
make_chain ecdsa "ec -pkeyopt ec_paramgen_curve:P-256"
make_chain rsa "rsa:2048"
make_chain crl "ec -pkeyopt ec_paramgen_curve:P-256"
cat "$work/pki/ecdsa/root.pem" "$work/pki/rsa/root.pem" "$work/pki/crl/root.pem" >"$work/pki/roots.pem"

# The CRLs of the crl chain, revoking nothing: the root's (for the intermediate) and the intermediate's
# (for the leaf), as `openssl ca` writes them, served in DER as RFC 5280 has it.
make_crl() {
        local d=$work/pki/crl issuer=$1 out=$2 db=$work/pki/crl/$1.db
        mkdir -p "$db" "$work/www"
        : >"$db/index.txt"
        echo 1000 >"$db/crlnumber"
        printf '[ca]\ndefault_ca=x\n[x]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\ndefault_crl_days=2\n' \
                "$db" "$db" >"$db/ca.cnf"
        openssl ca -config "$db/ca.cnf" -gencrl -keyfile "$d/$issuer.key" -cert "$d/$issuer.pem" -out "$db/crl.pem" 2>/dev/null
        openssl crl -in "$db/crl.pem" -outform DER -out "$work/www/$out"
}
make_crl root root.crl
make_crl int int.crl
roots=$work/pki/roots.pem

# --- the listeners: nginx with $workers worker processes, $n_ports ports per chain ---
start_nginx() {
        local d=$work/nginx p
        mkdir -p "$d/logs" "$d/tmp"
        {
                echo "worker_processes $workers; daemon off; master_process on;"
                echo "pid $d/nginx.pid; error_log $d/logs/error.log warn;"
                echo "events { worker_connections 4096; }"
                echo "http { access_log off; client_body_temp_path $d/tmp; proxy_temp_path $d/tmp;"
                echo "  ssl_session_cache off; ssl_session_tickets off;"
                for kind in ecdsa rsa crl; do
                        local addr=$ecdsa_addr
                        [ "$kind" = rsa ] && addr=$rsa_addr
                        [ "$kind" = crl ] && addr=$crl_addr
                        echo "  server {"
                        for p in $(seq "$port_base" $((port_base + n_ports - 1))); do
                                echo "    listen $addr:$p ssl backlog=4096;"
                        done
                        echo "    ssl_certificate $work/pki/$kind/fullchain.pem;"
                        echo "    ssl_certificate_key $work/pki/$kind/leaf.key;"
                        echo "    return 200 \"ok\\n\";"
                        echo "  }"
                done
                echo "  server { listen $cdp_addr:$cdp_port; access_log $d/logs/cdp.log; root $work/www;"
                echo "           default_type application/pkix-crl; }"
                echo "}"
        } >"$d/nginx.conf"
        "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" 2>>"$d/logs/error.log" &
        nginx_pid=$!
        pids+=("$nginx_pid")
        local i
        for i in $(seq 100); do
                if openssl s_client -connect "$ecdsa_addr:$port_base" </dev/null >/dev/null 2>&1 &&
                   openssl s_client -connect "$rsa_addr:$((port_base + n_ports - 1))" </dev/null >/dev/null 2>&1 &&
                   (exec 3<>"/dev/tcp/$cdp_addr/$cdp_port") 2>/dev/null; then
                        return 0
                fi
                kill -0 "$nginx_pid" 2>/dev/null || break
                sleep 0.1
        done
        echo "run.sh: nginx did not come up:" >&2
        cat "$d/logs/error.log" >&2
        exit 1
}
start_nginx

# A listener that completes TCP handshakes (the kernel does, from its backlog) and never says a word.
start_hung() {
        python3 - "$hung_addr" "$port_base" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4096)
time.sleep(3600)
EOF
        hung_pid=$!
        pids+=("$hung_pid")
        local i
        for i in $(seq 100); do
                (exec 3<>"/dev/tcp/$hung_addr/$port_base") 2>/dev/null && return 0
                sleep 0.1
        done
        echo "run.sh: the hung listener did not come up" >&2
        exit 1
}

# --- helpers ---
samples=$work/samples # lines: metric value
record() { echo "$1 $2" >>"$samples"; }

# CPU seconds (user + system) of a process and all its live threads and children, from /proc.
proc_cpu() {
        local pid=$1 total=0 t
        for t in $pid $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
                [ -r "/proc/$t/stat" ] || continue
                total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$t/stat")))
        done
        echo "$total"
}
hz=$(getconf CLK_TCK)

# Target files: N targets cycling over the ports of one chain, each with its own name (no cache helps).
write_config() {
        local file=$1 n=$2 addr=$3 extra_timeout=${4:-10s} i
        {
                printf '[Defaults]\nCAFile=%s\nProtocol=tls\nInterval=1h\nTimeout=%s\nMaxConcurrentProbes=64\n' \
                        "$roots" "$extra_timeout"
                for i in $(seq 1 "$n"); do
                        printf '\n[Target t%05d]\nAddress=%s:%d\nServerName=t%05d.bench.test\n' \
                                "$i" "$addr" $((port_base + i % n_ports)) "$i"
                done
        } >"$file"
}

# tlswatchd --once over CONFIG: wall, user+sys CPU and peak RSS of the daemon, server CPU beside it.
# Every probe must come back OK: a benchmark of failing probes measures nothing.
sweep() {
        local label=$1 conf=$2 n=$3 expect=${4:-0}
        local s0 s1 rc=0
        s0=$(proc_cpu "$nginx_pid")
        "$TIME" -f '%e %U %S %M' -o "$work/time.out" "$TLSWATCHD" -c "$conf" --once >"$work/once.out" 2>&1 || rc=$?
        s1=$(proc_cpu "$nginx_pid")
        if [ "$rc" != "$expect" ]; then
                echo "run.sh: tlswatchd --once over $conf exited $rc, not $expect:" >&2
                tail -n 20 "$work/once.out" >&2
                exit 1
        fi
        read -r wall user sys rss_kb < <(tail -n 1 "$work/time.out")
        record "$label.wall_s" "$wall"
        record "$label.probes_per_s" "$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.1f", n / (w > 0 ? w : 0.01) }')"
        record "$label.cpu_ms_per_probe" "$(awk -v n="$n" -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", (u + s) * 1000 / n }')"
        record "$label.probes_per_cpu_s" "$(awk -v n="$n" -v u="$user" -v s="$sys" 'BEGIN { c = u + s; printf "%.1f", n / (c > 0 ? c : 0.01) }')"
        record "$label.peak_rss_mib" "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
        record "$label.server_cpu_ms_per_probe" "$(awk -v n="$n" -v d=$((s1 - s0)) -v hz="$hz" 'BEGIN { printf "%.3f", d * 1000 / hz / n }')"
}

# A sweep of the revocation set, with the CRL requests nginx served during it counted from its log.
cdp_log=$work/nginx/logs/cdp.log
crl_sweep() {
        local label=$1 conf=$2 before after
        before=$(wc -l <"$cdp_log" 2>/dev/null || echo 0)
        sweep "$label" "$conf" "$revocation_n"
        after=$(wc -l <"$cdp_log" 2>/dev/null || echo 0)
        record "$label.crl_fetches" $((after - before))
}

# OpenSSL alone: s_time's full handshakes against the same listener, its CPU from getrusage (time(1)).
s_time_run() {
        local label=$1 addr=$2 seconds=$3 out
        out=$("$TIME" -f 'TIME %U %S' openssl s_time -connect "$addr:$port_base" -new -CAfile "$roots" \
                -time "$seconds" 2>&1 || true)
        local conns user sys
        conns=$(awk '/connections in .* real seconds/ { print $1; exit }' <<<"$out")
        read -r user sys < <(awk '/^TIME / { print $2, $3 }' <<<"$out")
        if [ -z "$conns" ] || [ "$conns" = 0 ]; then
                echo "run.sh: openssl s_time made no connection:" >&2
                echo "$out" >&2
                exit 1
        fi
        record "$label.handshakes_per_s" "$(awk -v n="$conns" -v w="$seconds" 'BEGIN { printf "%.1f", n / w }')"
        record "$label.cpu_ms_per_handshake" "$(awk -v n="$conns" -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", (u + s) * 1000 / n }')"
        record "$label.handshakes_per_cpu_s" "$(awk -v n="$conns" -v u="$user" -v s="$sys" 'BEGIN { c = u + s; printf "%.1f", n / (c > 0 ? c : 0.01) }')"
}

# A peer tool run once per target, sequentially, over the 100-target set: wall seconds per target.
peer_loop() {
        local label=$1 n=$2
        shift 2
        local start end i name port failed=0
        start=$(date +%s.%N)
        for i in $(seq 1 "$n"); do
                name=$(printf 't%05d.bench.test' "$i")
                port=$((port_base + i % n_ports))
                "$@" "$name" "$port" >"$work/peer.out" 2>&1 </dev/null || failed=$((failed + 1))
        done
        end=$(date +%s.%N)
        # A tool that fails fast would look fast: its failures are counted and shown beside its time.
        record "$label.failed" "$failed"
        [ "$failed" = 0 ] || { echo "run.sh: $label failed on $failed of $n targets; the last said:" >&2; cat "$work/peer.out" >&2; }
        record "$label.wall_ms_per_target" "$(awk -v a="$start" -v b="$end" -v n="$n" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')"
}
seed_s_client() {
        openssl s_client -connect "$ecdsa_addr:$2" -servername "$1" -CAfile "$roots" -verify_return_error
}
peer_check_ssl_cert() {
        /usr/lib/nagios/plugins/check_ssl_cert -H "$ecdsa_addr" -p "$2" --sni "$1" -r "$roots" --ignore-ocsp \
                --ignore-sct
}
peer_check_http() {
        /usr/lib/nagios/plugins/check_http -I "$ecdsa_addr" -H "$1" -p "$2" -S --sni -C 30,7
}
peer_ssl_cert_check() {
        # Its own loop over a host list; SNI is the host, so the address stands for the name here.
        ssl-cert-check -s "$ecdsa_addr" -p "$2" -x 30 -q
}

peers=()
peer_skipped=()
if [ "$quick" = 0 ] && [ "$only_memory" = 0 ] && [ "$only_revocation" = 0 ]; then
        if [ "$install" = 1 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=120 \
                        nagios-plugins-contrib monitoring-plugins-standard ssl-cert-check bind9-host >"$work/apt.out" 2>&1 ||
                        echo "run.sh: apt-get could not install every peer tool; see the table" >&2
        fi
        peers+=(seed_s_client)
        if [ -x /usr/lib/nagios/plugins/check_ssl_cert ]; then peers+=(peer_check_ssl_cert); else peer_skipped+=(peer_check_ssl_cert); fi
        if [ -x /usr/lib/nagios/plugins/check_http ]; then peers+=(peer_check_http); else peer_skipped+=(peer_check_http); fi
        if command -v ssl-cert-check >/dev/null; then peers+=(peer_ssl_cert_check); else peer_skipped+=(peer_ssl_cert_check); fi
        start_hung
fi

# --- configurations ---
for n in $sizes; do
        write_config "$work/ecdsa-$n.conf" "$n" "$ecdsa_addr"
done
first_size=${sizes%% *}
write_config "$work/rsa.conf" "$first_size" "$rsa_addr"
# Revocation: one target set over the chain that names CRL distribution points, checked without and
# with Revocation=crl, and the same number of targets over the plain ECDSA chain (the baseline).
revocation_n=$([ "$quick" = 1 ] && echo 10 || echo 1000)
write_config "$work/crl-off.conf" "$revocation_n" "$crl_addr"
sed 's/^Protocol=tls$/Protocol=tls\nRevocation=crl/' "$work/crl-off.conf" >"$work/crl-on.conf"
write_config "$work/crl-baseline.conf" "$revocation_n" "$ecdsa_addr"
if [ "$quick" = 0 ]; then
        write_config "$work/ecdsa-peers.conf" "$peer_n" "$ecdsa_addr"
        # 1,000 healthy targets with 50 silent ones spread among them, a 2 s timeout for all.
        hung_timeout=2
        write_config "$work/healthy.conf" 1000 "$ecdsa_addr" "${hung_timeout}s"
        # One silent target after every 20th healthy one: targets start in file order, so the silent
        # ones hold slots all through the sweep, not only at its end.
        awk -v addr="$hung_addr" -v port="$port_base" '
                { print }
                /^\[Target t/ { n++ }
                /^ServerName=t/ && n % 20 == 0 {
                        h++
                        printf "\n[Target h%05d]\nAddress=%s:%d\nServerName=h%05d.bench.test\n", h, addr, port, h
                }' "$work/healthy.conf" >"$work/hung.conf"
fi

if [ -n "$serve" ]; then
        mkdir -p "$serve"
        cp "$roots" "$serve/roots.pem"
        for conf in "$work"/*.conf; do
                sed "s|^CAFile=.*|CAFile=$serve/roots.pem|" "$conf" >"$serve/${conf##*/}"
        done
        echo "run.sh: listeners on $ecdsa_addr (ECDSA) and $rsa_addr (RSA), ports $port_base-$((port_base + n_ports - 1)); targets in $serve; interrupt to stop" >&2
        wait "$nginx_pid" || true
        exit 0
fi

# --- the interleaved measurements: a b c, a b c, ... ---
s_time_seconds=$([ "$quick" = 1 ] && echo 1 || echo 3)
for rep in $(seq 1 "$reps"); do
        echo "run.sh: repetition $rep of $reps" >&2
        if [ "$only_hung" = 1 ]; then
                sweep tlswatch.healthy "$work/healthy.conf" 1000
                sweep tlswatch.hung "$work/hung.conf" 1050 2
                continue
        fi
        if [ "$only_memory" = 0 ]; then
                crl_sweep tlswatch.revocation.baseline "$work/crl-baseline.conf"
                crl_sweep tlswatch.revocation.off "$work/crl-off.conf"
                crl_sweep tlswatch.revocation.crl "$work/crl-on.conf"
        fi
        [ "$only_revocation" = 0 ] || continue
        s_time_run openssl.ecdsa "$ecdsa_addr" "$s_time_seconds"
        for n in $sizes; do
                sweep "tlswatch.ecdsa.$n" "$work/ecdsa-$n.conf" "$n"
        done
        [ "$only_memory" = 0 ] || continue
        s_time_run openssl.rsa "$rsa_addr" "$s_time_seconds"
        sweep "tlswatch.rsa.$first_size" "$work/rsa.conf" "$first_size"
        if [ "$quick" = 0 ]; then
                sweep tlswatch.peerset "$work/ecdsa-peers.conf" "$peer_n"
                for peer in "${peers[@]}"; do
                        peer_loop "peer.$peer" "$peer_n" "$peer"
                done
                sweep tlswatch.healthy "$work/healthy.conf" 1000
                sweep tlswatch.hung "$work/hung.conf" 1050 2
        fi
done

# --- memory over repeated sweeps, and the idle cost, of a running daemon ---
# The daemon runs as the service does (not --once); its sweeps are timed by Interval=.
daemon_run() {
        local conf=$1 state=$2
        mkdir -p "$state"
        "$TLSWATCHD" -c "$conf" --state-directory "$state" >"$state/log" 2>&1 &
        daemon_pid=$!
        pids+=("$daemon_pid")
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
wakeups() {
        local pid=$1 total=0 t
        for t in /proc/"$pid"/task/*/schedstat; do
                total=$((total + $(awk '{ print $3 }' "$t" 2>/dev/null || echo 0)))
        done
        echo "$total"
}

if [ "$only_hung" = 0 ] && [ "$only_revocation" = 0 ]; then
        mem_n=${sizes##* }
        mem_sweeps=${memory_sweeps:-$([ "$quick" = 1 ] && echo 3 || echo 10)}
        mem_interval=$([ "$quick" = 1 ] && echo 2 || echo 30)
        # Interval=30s keeps the daemon sweeping the whole time (targets that come due while all slots are
        # busy wait their turn). Sweep k is over when every target has been probed k times, as the state
        # file says (it is written within 5 s of a probe); the RSS is read then. The bound is generous: a
        # loaded machine may take several intervals a sweep, and the script says so rather than hang.
        sed -e "s/^Interval=1h$/Interval=${mem_interval}s/" -e "s/^Timeout=.*/Timeout=$([ "$quick" = 1 ] && echo 1 || echo 10)s/" \
                "$work/ecdsa-$mem_n.conf" >"$work/memory.conf"
        daemon_run "$work/memory.conf" "$work/state-memory"
        sweep_rss=()
        deadline=$(($(date +%s) + mem_sweeps * mem_interval * 6 + 120))
        for k in $(seq 1 "$mem_sweeps"); do
                while :; do
                        kill -0 "$daemon_pid" 2>/dev/null || { echo "run.sh: tlswatchd died:" >&2; cat "$work/state-memory/log" >&2; exit 1; }
                        done_sweeps=$(jq '[.targets[] | .probes // 0] | min // 0' "$work/state-memory/state.json" 2>/dev/null || echo 0)
                        [ "${done_sweeps:-0}" -ge "$k" ] && break
                        if [ "$(date +%s)" -gt "$deadline" ]; then
                                echo "run.sh: the daemon made only ${done_sweeps:-0} of $mem_sweeps sweeps in time" >&2
                                exit 1
                        fi
                        sleep 1
                done
                rss=$(rss_kib "$daemon_pid")
                sweep_rss+=("$rss")
                record "tlswatch.memory.sweep$k.rss_mib" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
        done
        record "tlswatch.memory.peak_rss_mib" "$(awk -v k="$(hwm_kib "$daemon_pid")" 'BEGIN { printf "%.1f", k / 1024 }')"
        # Flat: the RSS after the last sweep against the RSS after the third (the first, in a short run).
        from=$((mem_sweeps > 3 ? 3 : 1))
        record "tlswatch.memory.growth_mib" "$(awk -v a="${sweep_rss[from - 1]}" -v b="${sweep_rss[mem_sweeps - 1]}" 'BEGIN { printf "%.1f", (b - a) / 1024 }')"
        record "tlswatch.memory.sweeps" "$mem_sweeps"
        stop_pid "$daemon_pid"
fi

if [ "$only_hung" = 0 ] && [ "$only_memory" = 0 ] && [ "$only_revocation" = 0 ]; then
        idle_n=$([ "$quick" = 1 ] && echo 10 || echo 1000)
        idle_window=$([ "$quick" = 1 ] && echo 2 || echo 20)
        idle_windows=$([ "$quick" = 1 ] && echo 1 || echo 3)
        idle_conf=$work/ecdsa-$idle_n.conf
        [ -f "$idle_conf" ] || write_config "$idle_conf" "$idle_n" "$ecdsa_addr"
        daemon_run "$idle_conf" "$work/state-idle"
        # The first probes are spread over 30 s; after that nothing is due for an hour.
        sleep "$([ "$quick" = 1 ] && echo 1 || echo 35)"
        for _ in $(seq 1 "$idle_windows"); do
                c0=$(proc_cpu "$daemon_pid")
                k0=$(wakeups "$daemon_pid")
                sleep "$idle_window"
                c1=$(proc_cpu "$daemon_pid")
                k1=$(wakeups "$daemon_pid")
                record tlswatch.idle.cpu_ms_per_min "$(awk -v d=$((c1 - c0)) -v hz="$hz" -v w="$idle_window" 'BEGIN { printf "%.1f", d * 1000 / hz * 60 / w }')"
                record tlswatch.idle.wakeups_per_min "$(awk -v d=$((k1 - k0)) -v w="$idle_window" 'BEGIN { printf "%.1f", d * 60 / w }')"
        done
        stop_pid "$daemon_pid"
fi

# --- statistics, JSON and the table ---
stats() { # metric -> "median min max"
        awk -v m="$1" '$1 == m { print $2 }' "$samples" | sort -g | awk '
                { v[NR] = $1 }
                END {
                        if (NR == 0) { print "- - -"; exit }
                        med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                        printf "%g %g %g\n", med, v[1], v[NR]
                }'
}
median() { stats "$1" | awk '{ print $1 }'; }
fmt() { # metric -> "median (min–max)"
        stats "$1" | awk '{ if ($1 == "-") print "–"; else printf "%s (%s–%s)", $1, $2, $3 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "–" }'; }

# Per-repetition ratios, each from runs made moments apart.
paired_ratio() { # metric_a metric_b name: a/b per repetition
        paste <(awk -v m="$1" '$1 == m { print $2 }' "$samples") <(awk -v m="$2" '$1 == m { print $2 }' "$samples") |
                awk -v name="$3" '$2 > 0 { printf "%s %.3f\n", name, $1 / $2 }' >>"$samples"
}
for n in $sizes; do
        paired_ratio "tlswatch.ecdsa.$n.cpu_ms_per_probe" openssl.ecdsa.cpu_ms_per_handshake "ratio.cpu.ecdsa.$n"
        paired_ratio "tlswatch.ecdsa.$n.probes_per_cpu_s" openssl.ecdsa.handshakes_per_cpu_s "ratio.rate.ecdsa.$n"
done
paired_ratio "tlswatch.rsa.$first_size.cpu_ms_per_probe" openssl.rsa.cpu_ms_per_handshake "ratio.cpu.rsa.$first_size"
paired_ratio tlswatch.revocation.off.cpu_ms_per_probe tlswatch.revocation.baseline.cpu_ms_per_probe ratio.revocation.off
paired_ratio tlswatch.revocation.crl.cpu_ms_per_probe tlswatch.revocation.off.cpu_ms_per_probe ratio.revocation.crl
# What one more target costs: the --once peak RSS of the largest sweep less that of the smallest, per
# target between them, per repetition. (Every bench target serves the same leaf and chain, which the
# daemon keeps once; docs/BENCHMARKS.md gives the figure for targets that each serve their own.)
last_size=${sizes##* }
if [ "$last_size" != "$first_size" ]; then
        paste <(awk -v m="tlswatch.ecdsa.$last_size.peak_rss_mib" '$1 == m { print $2 }' "$samples") \
                <(awk -v m="tlswatch.ecdsa.$first_size.peak_rss_mib" '$1 == m { print $2 }' "$samples") |
                awk -v n=$((last_size - first_size)) '{ printf "tlswatch.bytes_per_target %.0f\n", ($1 - $2) * 1048576 / n }' >>"$samples"
fi
if [ "$quick" = 0 ] && [ "$only_memory" = 0 ] && [ "$only_revocation" = 0 ]; then
        awk -v n="$peer_n" '$1 == "tlswatch.peerset.wall_s" { printf "tlswatch.peerset.wall_ms_per_target %.2f\n", $2 * 1000 / n }' "$samples" >>"$samples"
        for peer in "${peers[@]}"; do
                paired_ratio "peer.$peer.wall_ms_per_target" tlswatch.peerset.wall_ms_per_target "ratio.peer.$peer"
        done
        paste <(awk '$1 == "tlswatch.hung.wall_s" { print $2 }' "$samples") <(awk '$1 == "tlswatch.healthy.wall_s" { print $2 }' "$samples") |
                awk '{ printf "tlswatch.hung.growth_s %.2f\n", $1 - $2 }' >>"$samples"
fi

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
openssl_version=$(openssl version)
tlswatch_version=$("$TLSWATCHD" --version 2>/dev/null | head -n 1 || echo unknown)
nginx_version=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
load=$(cut -d' ' -f1-3 /proc/loadavg)

jq -n --rawfile s "$samples" --arg cpu "$cpu_model" --arg cores "$cores" --arg openssl "$openssl_version" \
        --arg tlswatch "$tlswatch_version" --arg nginx "$nginx_version" --arg load "$load" --arg reps "$reps" \
        --arg quick "$quick" --arg skipped "${peer_skipped[*]:-}" '
        ($s | split("\n") | map(select(length > 0) | split(" ") | {key: .[0], value: (.[1] | tonumber)})
            | group_by(.key) | map({key: .[0].key, value: map(.value)}) | from_entries) as $samples
        | {
            machine: {cpu: $cpu, cores: ($cores | tonumber), load_before: $load},
            versions: {tlswatch: $tlswatch, openssl: $openssl, nginx: $nginx},
            repetitions: ($reps | tonumber), quick: ($quick == "1"),
            skipped_peers: ($skipped | split(" ") | map(select(length > 0))),
            results: ($samples | with_entries(.value |= (. as $taken | sort | {
                median: (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end),
                min: .[0], max: .[-1], samples: $taken})))
        }' >"$json_out"

row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
{
        echo "Machine: $cpu_model, $cores cores; $openssl_version; nginx $nginx_version ($workers workers); $tlswatch_version."
        echo "Each figure: median (min–max) over $reps interleaved repetitions; ratios are per repetition, then the median."
        echo
        echo "| Measurement | Result | Goal |"
        echo "|---|---|---|"
        row "1. OpenSSL s_time, ECDSA P-256: client CPU per full handshake (ms)" "$(fmt openssl.ecdsa.cpu_ms_per_handshake)" ""
        for n in $sizes; do
                row "1. tlswatchd CPU per probe, ECDSA, $n targets (ms)" "$(fmt "tlswatch.ecdsa.$n.cpu_ms_per_probe")" ""
                row "1. **ratio** tlswatchd CPU per probe / s_time CPU per handshake, $n" "$(fmt "ratio.cpu.ecdsa.$n")" "≤ 1.25"
        done
        row "1. OpenSSL s_time, RSA-2048: client CPU per full handshake (ms)" "$(fmt openssl.rsa.cpu_ms_per_handshake)" ""
        row "1. tlswatchd CPU per probe, RSA-2048, $first_size targets (ms)" "$(fmt "tlswatch.rsa.$first_size.cpu_ms_per_probe")" ""
        row "1. **ratio** RSA-2048" "$(fmt "ratio.cpu.rsa.$first_size")" "≤ 1.25"
        row "2. OpenSSL s_time handshakes per client CPU-second, ECDSA" "$(fmt openssl.ecdsa.handshakes_per_cpu_s)" ""
        for n in $sizes; do
                row "2. sweep $n: wall (s)" "$(fmt "tlswatch.ecdsa.$n.wall_s")" ""
                row "2. sweep $n: probes per second" "$(fmt "tlswatch.ecdsa.$n.probes_per_s")" ""
                row "2. sweep $n: probes per daemon CPU-second" "$(fmt "tlswatch.ecdsa.$n.probes_per_cpu_s")" ""
                row "2. **ratio** sweep $n: probes per CPU-s / s_time handshakes per CPU-s" "$(fmt "ratio.rate.ecdsa.$n")" "≥ 0.80"
                row "2. sweep $n: peak RSS (MiB)" "$(fmt "tlswatch.ecdsa.$n.peak_rss_mib")" ""
                row "2. sweep $n: server (nginx) CPU per probe (ms)" "$(fmt "tlswatch.ecdsa.$n.server_cpu_ms_per_probe")" ""
        done
        row "2. --once, $last_size targets: peak RSS (MiB)" "$(fmt "tlswatch.ecdsa.$last_size.peak_rss_mib")" "≤ 40"
        [ "$last_size" = "$first_size" ] ||
                row "2. bytes per target (--once peak RSS, $last_size less $first_size targets, per target)" "$(fmt tlswatch.bytes_per_target)" ""
        if [ "$only_hung" = 0 ] && [ "$only_revocation" = 0 ]; then
                row "3. running daemon, $mem_n targets, Interval=${mem_interval}s: RSS after sweep $from (MiB)" "$(fmt "tlswatch.memory.sweep$from.rss_mib")" "≤ 32"
                row "3. RSS after sweep $mem_sweeps (MiB)" "$(fmt "tlswatch.memory.sweep$mem_sweeps.rss_mib")" "≤ 32"
                row "3. peak RSS (VmHWM, MiB)" "$(fmt tlswatch.memory.peak_rss_mib)" ""
                row "3. RSS growth from sweep $from to sweep $mem_sweeps (MiB)" "$(fmt tlswatch.memory.growth_mib)" "flat"
        fi
        if [ "$only_hung" = 0 ] && [ "$only_memory" = 0 ] && [ "$only_revocation" = 0 ]; then
                row "4. idle, $idle_n targets, Interval=1h: CPU (ms per minute)" "$(fmt tlswatch.idle.cpu_ms_per_min)" "no busy loop"
                row "4. idle: wake-ups per minute (all threads, schedstat)" "$(fmt tlswatch.idle.wakeups_per_min)" "≈ timers due"
        fi
        if [ "$quick" = 0 ] && [ "$only_memory" = 0 ] && [ "$only_revocation" = 0 ]; then
                row "5. tlswatchd --once over the $peer_n peer targets: wall per target (ms)" "$(fmt tlswatch.peerset.wall_ms_per_target)" ""
                for peer in "${peers[@]}"; do
                        row "5. $peer: wall per target (ms); **ratio** to tlswatchd; failed checks of $peer_n" \
                                "$(fmt "peer.$peer.wall_ms_per_target"); ratio $(fmt "ratio.peer.$peer"); failed $(median "peer.$peer.failed")" ""
                done
                for peer in "${peer_skipped[@]}"; do
                        row "5. $peer" "skipped: could not be installed" ""
                done
                row "6. 1,000 healthy targets alone: wall (s)" "$(fmt tlswatch.healthy.wall_s)" ""
                row "6. the same plus 50 silent ones (timeout ${hung_timeout} s): wall (s)" "$(fmt tlswatch.hung.wall_s)" ""
                row "6. growth (s)" "$(fmt tlswatch.hung.growth_s)" "≤ ${hung_timeout}"
        fi
        if [ "$only_hung" = 0 ] && [ "$only_memory" = 0 ]; then
                row "7. $revocation_n targets, chain without CRL distribution points: CPU per probe (ms)" "$(fmt tlswatch.revocation.baseline.cpu_ms_per_probe)" ""
                row "7. the same over a chain naming CDPs, Revocation=off: CPU per probe (ms)" "$(fmt tlswatch.revocation.off.cpu_ms_per_probe)" ""
                row "7. **ratio** Revocation=off / baseline" "$(fmt ratio.revocation.off)" "≈ 1.00"
                row "7. Revocation=crl: CPU per probe (ms)" "$(fmt tlswatch.revocation.crl.cpu_ms_per_probe)" ""
                row "7. **ratio** Revocation=crl / Revocation=off" "$(fmt ratio.revocation.crl)" "≤ 1.10"
                row "7. CRL requests per sweep of $revocation_n targets: off; crl" \
                        "$(median tlswatch.revocation.off.crl_fetches); $(median tlswatch.revocation.crl.crl_fetches)" "0; 2 (one per CRL)"
        fi
} | tee "$work/table.md"
echo "run.sh: JSON in $json_out" >&2
