#!/usr/bin/env bash
# flak vs wrk, oha, hey (and h2load) side by side, on loopback only. Writes raw per-run output to
# bench/out/<timestamp>/ and the report to docs/BENCHMARKS.md. Not part of the test suite.
#
#   bench/run.sh            3 repetitions, 10 s runs (about 15 minutes plus the build)
#   bench/run.sh --quick    1 repetition, 3 s runs, no 1e7-request run (about 3 minutes plus the build)
#
# Every load run is bounded in time (the tool's own -z/-d/-D or -n, plus `timeout` around it),
# and every server this script starts is stopped on exit.
set -uo pipefail

QUICK=0
for a in "$@"; do
    case "$a" in
        --quick) QUICK=1 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$a' (use --quick)" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

if [ "$QUICK" = 1 ]; then
    REPS=1; DUR=3; ACC_DUR=3; QUIC_N=20000; COMMAND="bench/run.sh --quick"
else
    REPS=3; DUR=10; ACC_DUR=5; QUIC_N=100000; COMMAND="bench/run.sh"
fi
FROZEN_DUR=10      # scenario (d) is defined by its timeline: 10 s at 1000 req/s, frozen 4 s..5 s
FROZEN_AT=4
FROZEN_FOR=1
CONNS_DUR=5        # scenario (e), 10,000 connections
SERVER_CPU=0
LOAD_CPU=1
CONC=50

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/bench/out/$STAMP"
RAW="$OUT/raw"
RUNS="$OUT/runs.tsv"
mkdir -p "$RAW"
: >"$RUNS"
LOG="$OUT/run.log"
NOTES="$OUT/notes.txt"
: >"$NOTES"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }
note() { printf '%s\n' "$*" >>"$NOTES"; log "NOTE: $*"; }

T0=$(date +%s)
log "flak benchmarks: $COMMAND -> $OUT"

# --- 1. Peers, installed from package registries when missing -----------------------------------

APT_PKGS=(wrk hey nginx apache2-utils nghttp2-client time linux-perf)
missing=()
for p in "${APT_PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing apt packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && SUDO="sudo"
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq >>"$LOG" 2>&1 || note "apt-get update failed"
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y \
        --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1; then
        # One at a time, so that one package that cannot be had does not block the others.
        for p in "${missing[@]}"; do
            $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y \
                --no-install-recommends "$p" >>"$LOG" 2>&1 || note "apt package $p could not be installed"
        done
    fi
else
    log "apt packages already installed: ${APT_PKGS[*]}"
fi

if ! command -v oha >/dev/null; then
    # Another cargo install of oha may be under way on this machine: wait for it (bounded).
    waited=0
    while pgrep -f "cargo install oha" >/dev/null && [ ! -x "$HOME/.cargo/bin/oha" ] && [ "$waited" -lt 1800 ]; do
        [ $((waited % 60)) = 0 ] && log "waiting for a running 'cargo install oha' (${waited}s so far)"
        sleep 10; waited=$((waited + 10))
    done
    if ! command -v oha >/dev/null; then
        log "cargo install oha --locked"
        cargo install oha --locked >>"$LOG" 2>&1 || note "cargo install oha failed; oha runs are skipped"
    fi
fi
if ! [ -x /usr/bin/time ]; then
    note "/usr/bin/time is missing: CPU and RSS cannot be measured"
fi

# --- 2. flak, built for benchmarks (fat LTO, one codegen unit; Cargo.toml is not touched) --------

log "building flak (release, lto=fat, codegen-units=1) into target/bench"
if CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build --release -p flak --target-dir target/bench >>"$LOG" 2>&1; then
    FLAK="$ROOT/target/bench/release/flak"
else
    note "building flak failed (see run.log); flak runs are skipped"
    FLAK=""
fi

have() { # tool name -> 0 when it can be run
    case "$1" in
        flak | flak-busy-poll | flak-http2 | flak-http3) [ -n "$FLAK" ] && [ -x "$FLAK" ] ;;
        *) command -v "$1" >/dev/null ;;
    esac
}

# --- 3. Machine and versions ---------------------------------------------------------------------

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command=$COMMAND"
    echo "quick=$QUICK"
    echo "reps=$REPS"
    echo "dur=$DUR"
    echo "acc_dur=$ACC_DUR"
    echo "frozen_dur=$FROZEN_DUR"
    echo "frozen_at=$FROZEN_AT"
    echo "frozen_for=$FROZEN_FOR"
    echo "conns_dur=$CONNS_DUR"
    echo "quic_n=$QUIC_N"
    echo "cpu_model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
    echo "nproc=$(nproc)"
    echo "mem=$(free -h | awk '/^Mem:/ {print $2}')"
    echo "kernel=$(uname -r)"
    echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' (with uncommitted changes)')"
    echo "v_flak=$([ -n "$FLAK" ] && "$FLAK" --version 2>&1 | head -1 || echo 'not built')"
    echo "v_wrk=$(have wrk && { wrk -v 2>&1 | head -1 | awk '{print $1, $2}'; } || echo 'not installed')"
    echo "v_hey=$(have hey && dpkg-query -W -f='hey ${Version}' hey 2>/dev/null || echo 'not installed')"
    echo "v_oha=$(have oha && oha --version 2>&1 | head -1 || echo 'not installed')"
    echo "v_h2load=$(have h2load && h2load --version 2>&1 | head -1 || echo 'not installed')"
    echo "v_nginx=$(have nginx && nginx -v 2>&1 | head -1 | sed 's/^nginx version: //' || echo 'not installed')"
    echo "fd_limit=$(ulimit -Hn)"
    echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/meta.txt"

# --- 4. Targets on loopback, on free ports, stopped on exit --------------------------------------

TMP="$(mktemp -d /tmp/flak-bench.XXXXXX)"
PIDS=()
FROZEN_PID=""
cleanup() {
    [ -n "$FROZEN_PID" ] && kill -CONT "$FROZEN_PID" 2>/dev/null
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # port -> 0 when something listens on 127.0.0.1:port within 10 s
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
NOFILE="$(ulimit -Hn)"
[ "$NOFILE" = unlimited ] && NOFILE=65536

NGINX_OK=0
NGINX_TLS_OK=0
if have nginx; then
    P_NGINX="$(free_port)"
    P_NGINX_TLS="$(free_port)"
    while [ "$P_NGINX_TLS" = "$P_NGINX" ]; do P_NGINX_TLS="$(free_port)"; done
    mkdir -p "$TMP/www" "$TMP/nginx"
    printf 'Hello, world!' >"$TMP/www/hello.txt"        # 13 bytes
    chmod -R a+rX "$TMP"
    chmod a+rx "$TMP"
    TLS_CONF=""
    if openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >>"$LOG" 2>&1; then
        TLS_CONF="
    server {
        listen 127.0.0.1:$P_NGINX_TLS ssl http2 backlog=4096;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate     $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        root $TMP/www;
    }"
    else
        note "openssl could not make a certificate: the TLS + HTTP/2 scenario is skipped"
    fi
    WORKER_CONNS=$((NOFILE - 100))
    [ "$WORKER_CONNS" -gt 65000 ] && WORKER_CONNS=65000
    cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
worker_rlimit_nofile $NOFILE;
events {
    worker_connections $WORKER_CONNS;
}
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    default_type text/plain;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$P_NGINX backlog=4096;
        root $TMP/www;
    }$TLS_CONF
}
EOF
    (ulimit -n "$NOFILE" 2>/dev/null; exec taskset -c "$SERVER_CPU" nginx -p "$TMP/nginx" -c "$TMP/nginx.conf") \
        >>"$OUT/nginx.log" 2>&1 &
    PIDS+=($!)
    if wait_port "$P_NGINX"; then
        NGINX_OK=1
        log "nginx on 127.0.0.1:$P_NGINX (http/1.1) and 127.0.0.1:$P_NGINX_TLS (TLS, h2), CPU $SERVER_CPU"
        [ -n "$TLS_CONF" ] && wait_port "$P_NGINX_TLS" && NGINX_TLS_OK=1
    else
        note "nginx did not start (see nginx.log and $TMP/nginx/error.log)"
        cat "$TMP/nginx/error.log" >>"$OUT/nginx.log" 2>/dev/null
    fi
else
    note "nginx is not installed: scenarios (a), (b) and (e) are skipped"
fi
URL_NGINX="http://127.0.0.1:${P_NGINX:-0}/hello.txt"
URL_NGINX_TLS="https://127.0.0.1:${P_NGINX_TLS:-0}/hello.txt"

start_flak_target() { # var-name-for-pid var-name-for-port
    local port pid
    port="$(free_port)"
    taskset -c "$SERVER_CPU" "$FLAK" target --listen "127.0.0.1:$port" --threads 1 >>"$OUT/flak-target.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if wait_port "$port"; then
        printf -v "$1" '%s' "$pid"
        printf -v "$2" '%s' "$port"
        return 0
    fi
    return 1
}
DELAY_OK=0
FROZEN_OK=0
QUIC_OK=0
if have flak; then
    if start_flak_target DELAY_PID P_DELAY; then DELAY_OK=1; else note "flak target (delay) did not start"; fi
    if start_flak_target FROZEN_PID P_FROZEN; then FROZEN_OK=1; else FROZEN_PID=""; note "flak target (frozen) did not start"; fi
    log "flak target on 127.0.0.1:${P_DELAY:-?} (delays) and 127.0.0.1:${P_FROZEN:-?} (frozen), CPU $SERVER_CPU, 1 thread"
    # (g) HTTP/3 and, for comparison, HTTP/2 over TLS from the same target: TCP and UDP on one port.
    P_QUIC="$(free_port)"
    taskset -c "$SERVER_CPU" "$FLAK" target --listen "127.0.0.1:$P_QUIC" --threads 1 --tls --http3 \
        >>"$OUT/flak-target.log" 2>&1 &
    PIDS+=($!)
    if wait_port "$P_QUIC"; then QUIC_OK=1; else note "flak target --http3 did not start"; fi
fi

# --- 5. Running one tool once --------------------------------------------------------------------

# run SCENARIO TOOL REP LIMIT_S CMD... : pinned to LOAD_CPU, measured by /usr/bin/time, killed
# after LIMIT_S. Appends one line to runs.tsv: scenario, tool, rep, exit code, seconds, command.
# /proc/stat before and after tells how busy each CPU was, so the report can flag runs that other
# work on this shared machine disturbed.
run() {
    local sc=$1 tool=$2 rep=$3 lim=$4
    shift 4
    local id="$sc.$tool.$rep" t1 t2 rc
    if ! have "$tool"; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$tool" "$rep" "skipped" "0" "$tool is not installed" >>"$RUNS"
        return 0
    fi
    t1=$(date +%s.%N)
    grep -E '^cpu[01] ' /proc/stat >"$RAW/$id.stat0"
    timeout -k 5 "$lim" taskset -c "$LOAD_CPU" /usr/bin/time -f '%U %S %M' -o "$RAW/$id.time" "$@" \
        >"$RAW/$id.out" 2>"$RAW/$id.err"
    rc=$?
    grep -E '^cpu[01] ' /proc/stat >"$RAW/$id.stat1"
    t2=$(date +%s.%N)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$tool" "$rep" "$rc" \
        "$(python3 -c "print(round($t2 - $t1, 2))")" "$*" >>"$RUNS"
    log "  $id: exit $rc"
    sleep 1     # let TIME_WAIT and the server settle between runs
}
skip() { # SCENARIO TOOL REASON
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "-" "skipped" "0" "$3" >>"$RUNS"
}

# Brief untimed warm-up of each server (not recorded).
if [ "$NGINX_OK" = 1 ] && have wrk; then
    timeout 10 taskset -c "$LOAD_CPU" wrk -t1 -c"$CONC" -d1s "$URL_NGINX" >/dev/null 2>&1
fi

# --- 6. Scenarios (a)-(d) and (m), interleaved: for each repetition, every tool in turn ------------------

LIM=$((DUR + 30))
for rep in $(seq 1 "$REPS"); do
    log "repetition $rep of $REPS"

    # (a) HTTP/1.1 keep-alive, 50 connections, nginx 13-byte file.
    if [ "$NGINX_OK" = 1 ]; then
        run a wrk "$rep" "$LIM" wrk -t1 -c"$CONC" -d"${DUR}s" --latency "$URL_NGINX"
        run a oha "$rep" "$LIM" oha --no-tui --output-format json -z "${DUR}s" -c "$CONC" "$URL_NGINX"
        run a hey "$rep" "$LIM" hey -z "${DUR}s" -c "$CONC" "$URL_NGINX"
        run a flak "$rep" "$LIM" "${FLAK:-flak}" --threads 1 -z "${DUR}s" -c "$CONC" --output json --no-progress "$URL_NGINX"
        # The throughput mode: a never-sleeping client spares the server its wake-ups.
        run a flak-busy-poll "$rep" "$LIM" "${FLAK:-flak}" --threads 1 --busy-poll -z "${DUR}s" -c "$CONC" --output json --no-progress "$URL_NGINX"
    elif [ "$rep" = 1 ]; then
        for t in wrk oha hey flak flak-busy-poll; do skip a "$t" "nginx did not start"; done
    fi

    # (b) TLS + HTTP/2 against nginx, 50 connections with one stream each.
    if [ "$NGINX_TLS_OK" = 1 ]; then
        run b oha "$rep" "$LIM" oha --no-tui --output-format json --http2 --insecure -z "${DUR}s" -c "$CONC" "$URL_NGINX_TLS"
        run b h2load "$rep" "$LIM" h2load -t1 -c"$CONC" -m1 -D "$DUR" "$URL_NGINX_TLS"
        run b flak "$rep" "$LIM" "${FLAK:-flak}" --threads 1 --http2 --insecure -z "${DUR}s" -c "$CONC" --output json --no-progress "$URL_NGINX_TLS"
    elif [ "$rep" = 1 ]; then
        for t in oha h2load flak; do skip b "$t" "nginx with TLS did not start"; done
    fi

    # (m) Multiplexed HTTP/2 over TLS: one connection carrying 50 streams.
    if [ "$NGINX_TLS_OK" = 1 ]; then
        run m h2load "$rep" "$LIM" h2load -t1 -c1 -m50 -D "$DUR" "$URL_NGINX_TLS"
        run m flak "$rep" "$LIM" "${FLAK:-flak}" --threads 1 --http2 --insecure -z "${DUR}s" -c 50 -p 50 --output json --no-progress "$URL_NGINX_TLS"
    elif [ "$rep" = 1 ]; then
        for t in h2load flak; do skip m "$t" "nginx with TLS did not start"; done
    fi

    # (c) Accuracy: flak target /delay/20 (one thread, CPU 0), 100 connections.
    if [ "$DELAY_OK" = 1 ]; then
        url="http://127.0.0.1:$P_DELAY/delay/20"
        run c wrk "$rep" $((ACC_DUR + 30)) wrk -t1 -c100 -d"${ACC_DUR}s" --latency "$url"
        run c flak "$rep" $((ACC_DUR + 30)) "$FLAK" --threads 1 -z "${ACC_DUR}s" -c 100 --output json --no-progress "$url"
    elif [ "$rep" = 1 ]; then
        for t in wrk flak; do skip c "$t" "flak target did not start"; done
    fi

    # (d) Constant rate against a server frozen (SIGSTOP) for 1 s, 4 s into a 10 s run.
    if [ "$FROZEN_OK" = 1 ]; then
        url="http://127.0.0.1:$P_FROZEN/"
        run d flak "$rep" $((FROZEN_DUR + 30)) "$FLAK" --threads 1 -q 1000 -z "${FROZEN_DUR}s" -c 200 \
            --output json --no-progress "$url" &
        runner=$!
        sleep "$FROZEN_AT"
        kill -STOP "$FROZEN_PID" && log "  target frozen (SIGSTOP)"
        sleep "$FROZEN_FOR"
        kill -CONT "$FROZEN_PID" && log "  target resumed (SIGCONT)"
        wait "$runner"
    elif [ "$rep" = 1 ]; then
        skip d flak "flak target did not start"
    fi

    # (g) HTTP/3 over QUIC against flak target, 50 slots (one connection each), a count of
    # requests; HTTP/2 over TLS to the same server beside it. No peer: Debian's h2load is built
    # without QUIC (no --alpn-list), and oha's HTTP/3 is not in its default build.
    if [ "$QUIC_OK" = 1 ]; then
        url="https://127.0.0.1:$P_QUIC/"
        run g flak-http3 "$rep" "$LIM" "$FLAK" --threads 1 --http3 --insecure -n "$QUIC_N" -c "$CONC" --output json --no-progress "$url"
        run g flak-http2 "$rep" "$LIM" "$FLAK" --threads 1 --http2 --insecure -n "$QUIC_N" -c "$CONC" --output json --no-progress "$url"
    elif [ "$rep" = 1 ]; then
        for t in flak-http3 flak-http2; do skip g "$t" "flak target --http3 did not start"; done
    fi
done

# --- 7. (e) Memory: flak's peak RSS after 1e6 and 1e7 requests, and with 10,000 connections ------

if [ "$NGINX_OK" = 1 ]; then
    for rep in $(seq 1 "$REPS"); do
        run e1e6 flak "$rep" 300 "${FLAK:-flak}" --threads 1 -n 1000000 -c "$CONC" --output json --no-progress "$URL_NGINX"
    done
    if [ "$QUICK" = 1 ]; then
        skip e1e7 flak "not run with --quick"
    else
        run e1e7 flak 1 1800 "${FLAK:-flak}" --threads 1 -n 10000000 -c "$CONC" --output json --no-progress "$URL_NGINX"
    fi
    # 10,000 connections: raise the open-files limit in a subshell (as far as the hard limit allows).
    for rep in $(seq 1 "$REPS"); do
        (
            ulimit -n 65536 2>/dev/null || ulimit -n "$NOFILE" 2>/dev/null
            echo "open files limit for the 10k run: $(ulimit -n)" >>"$LOG"
            run e10k flak "$rep" $((CONNS_DUR + 60)) "${FLAK:-flak}" --threads 1 -c 10000 -z "${CONNS_DUR}s" \
                --output json --no-progress "$URL_NGINX"
        )
    done
    if ! bash -c 'ulimit -n 65536' 2>/dev/null; then
        note "ulimit -n 65536 is not permitted here; the 10k-connection runs used the hard limit, $NOFILE"
    fi
else
    skip e1e6 flak "nginx did not start"
    skip e1e7 flak "nginx did not start"
    skip e10k flak "nginx did not start"
fi

# (f) The browser: the app against a hand-written fetch loop in headless Chromium.
if [ -x "$ROOT/scripts/build-app.sh" ] && "$ROOT/scripts/setup.sh" --no-cross >/dev/null && "$ROOT/scripts/build-app.sh" >/dev/null 2>&1; then
    log "browser: the app vs a JS fetch loop in headless Chromium"
    quick_flag=""; [ "$QUICK" = 1 ] && quick_flag="--quick"
    if ! (cd "$ROOT" && FLAK_BIN="$FLAK" BROWSER_OUT="$OUT/browser.json" timeout 900 node bench/browser-bench.mjs $quick_flag >"$OUT/browser.log" 2>&1); then
        note "the browser benchmark failed (see browser.log)"
    fi
else
    note "the browser benchmark was skipped: the app did not build"
fi

T1=$(date +%s)
echo "elapsed_s=$((T1 - T0))" >>"$OUT/meta.txt"
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
log "runs done in $((T1 - T0)) s; writing the report"

# --- 8. Report -----------------------------------------------------------------------------------

if python3 "$ROOT/bench/report.py" "$OUT" "$ROOT/docs/BENCHMARKS.md"; then
    log "wrote docs/BENCHMARKS.md and $OUT/summary.json"
else
    log "report.py failed; raw results are in $OUT"
    exit 1
fi
