#!/usr/bin/env bash
# Multiplexed HTTP/2 over TLS, one connection with 50 streams: flak -c 50 -p 50 against
# h2load -c1 -m50, per request: CPU time (task-clock), sleeps (context switches), epoll_wait
# calls, writes, and instructions (user and kernel) where the machine has the counters; in turns,
# h2load first in each turn, then every flak build named in FLAK (space-separated), and at the end
# the median of each build's task-clock ratio to the h2load run of its turn.
# Needs an nginx serving https on URL (bench/run.sh's configuration, or any) and perf.
#
#   N=100000 REPS=3 URL=https://127.0.0.1:PORT/ FLAK=target/bench/release/flak bench/h2-multiplexed.sh
#   N=50000 REPS=5 URL=... FLAK="/tmp/flak-before /tmp/flak-after" bench/h2-multiplexed.sh
#
# bench/run.sh's scenario (m) runs the same pair by time (-z/-D) for docs/BENCHMARKS.md.
set -uo pipefail
F=${FLAK:-target/bench/release/flak}; U=${URL:?set URL to an https nginx}; N=${N:-100000}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
EVENTS=task-clock,context-switches,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_writev
# Hardware counters are missing in some VMs: count instructions only where they work.
if perf stat -x, -e instructions:u true 2>&1 >/dev/null | grep -q '^[0-9]'; then
    EVENTS="$EVENTS,instructions:u,instructions:k"
fi
report() { # name perf-file output-file
    TMP="$TMP" N="$N" python3 - "$@" <<'P'
import json, os, re, sys
name, perf, out = sys.argv[1:4]
n, t = int(os.environ['N']), os.environ['TMP']
d = {}
for line in open(perf):
    f = line.split(',')
    if len(f) > 2 and re.match(r'^[0-9.]+$', f[0]):
        d[f[2]] = float(f[0])
text = open(out).read()
try:
    ok = json.loads(text)['succeeded']
except ValueError:
    m = re.search(r'(\d+) succeeded', text)
    ok = m.group(1) if m else '?'
writes = sum(d.get('syscalls:sys_enter_' + k, 0) for k in ('write', 'sendto', 'writev'))
line = (f"{name:>12}: {d['task-clock'] * 1e3 / n:6.2f} us/req  sleeps/req {d['context-switches'] / n:.3f}"
        f"  epoll_wait/req {d['syscalls:sys_enter_epoll_wait'] / n:.2f}  req/write {n / max(writes, 1):5.1f}")
if 'instructions:u' in d:
    line += f"  instr u {d['instructions:u'] / n:.0f} k {d['instructions:k'] / n:.0f}"
if name == 'h2load':
    open(f'{t}/h2load', 'w').write(str(d['task-clock']))
else:
    ratio = d['task-clock'] / float(open(f'{t}/h2load').read())
    line += f"  ok {ok}  x h2load {ratio:.3f}"
    open(f'{t}/ratios', 'a').write(f"{name} {ratio}\n")
print(line)
P
}
for rep in $(seq 1 "${REPS:-3}"); do
    echo "turn $rep"
    perf stat -x, -e "$EVENTS" -o "$TMP/h.perf" \
        timeout 300 taskset -c 1 h2load -t1 -c1 -m50 -n "$N" "$U" >"$TMP/h.out" 2>&1
    report h2load "$TMP/h.perf" "$TMP/h.out"
    for flak in $F; do
        perf stat -x, -e "$EVENTS" -o "$TMP/f.perf" \
            timeout 300 taskset -c 1 "$flak" --threads 1 --http2 --insecure -n "$N" -c 50 -p 50 \
            --output json --no-progress "$U" >"$TMP/f.out" 2>/dev/null
        report "$(basename "$flak")" "$TMP/f.perf" "$TMP/f.out"
    done
done
python3 - "$TMP/ratios" <<'P'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, ratio = line.split()
    runs.setdefault(name, []).append(float(ratio))
for name, r in runs.items():
    print(f"{name}: task-clock x h2load, median {statistics.median(r):.3f} of {', '.join(f'{x:.3f}' for x in r)}")
P
