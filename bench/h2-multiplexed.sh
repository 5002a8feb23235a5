#!/usr/bin/env bash
# Multiplexed HTTP/2 over TLS, one connection with 50 streams: flak -c 50 -p 50 against
# h2load -c1 -m50, instructions (user and kernel, perf stat) and task-clock per request, in turns.
# Needs an nginx serving https on URL (bench/run.sh's configuration, or any) and perf.
#
#   N=100000 REPS=3 URL=https://127.0.0.1:PORT/ FLAK=target/bench/release/flak bench/h2-multiplexed.sh
#
# bench/run.sh's scenario (m) runs the same pair by time (-z/-D) for docs/BENCHMARKS.md.
set -uo pipefail
F=${FLAK:-target/bench/release/flak}; U=${URL:?set URL to an https nginx}; N=${N:-100000}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
for rep in $(seq 1 "${REPS:-3}"); do
    perf stat -x, -e instructions:u,instructions:k,task-clock -o "$TMP/h.perf" \
        timeout 300 taskset -c 1 h2load -t1 -c1 -m50 -n "$N" "$U" >"$TMP/h.out" 2>&1
    perf stat -x, -e instructions:u,instructions:k,task-clock -o "$TMP/f.perf" \
        timeout 300 taskset -c 1 "$F" --threads 1 --http2 --insecure -n "$N" -c 50 -p 50 \
        --output json --no-progress "$U" >"$TMP/f.out" 2>/dev/null
    TMP="$TMP" N="$N" python3 - <<'P'
import json, os
def read(path):
    d = {}
    for line in open(path):
        f = line.split(',')
        if len(f) > 2 and f[0].replace('.', '').isdigit():
            d[f[2]] = float(f[0])
    return d
t, n = os.environ['TMP'], int(os.environ['N'])
h, f = read(f'{t}/h.perf'), read(f'{t}/f.perf')
ok = json.load(open(f'{t}/f.out'))['succeeded']
for k in ('instructions:u', 'instructions:k', 'task-clock'):
    print(f"{k:16} h2load {h[k]/n:10.1f}/req  flak {f[k]/n:10.1f}/req  flak/h2load {f[k]/h[k]:.3f}")
print(f"flak succeeded {ok} of {n}")
P
done
