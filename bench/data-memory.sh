#!/usr/bin/env bash
# Memory of a journey reading a large data file: a CSV of N rows (default 1,000,000, two columns)
# is read once into one shared store, so peak RSS must not grow with worker threads.
# Usage: bench/data-memory.sh [ROWS] [FLAK]   (FLAK defaults to target/release/flak)
set -euo pipefail
rows="${1:-1000000}"
flak="${2:-target/release/flak}"
dir="$(mktemp -d)"; trap 'kill $target 2>/dev/null; rm -rf "$dir"' EXIT
awk -v n="$rows" 'BEGIN { print "user,item"; srand(1); for (i = 0; i < n; i++) printf "user%d,%d\n", i, int(rand() * 100000) + 1 }' >"$dir/users.csv"
"$flak" target --listen 127.0.0.1:18190 >/dev/null 2>&1 & target=$!
sleep 0.5
printf 'data = "users.csv"\n[[step]]\nurl = "http://127.0.0.1:18190/items/{data:item}?u={data:user}"\n' >"$dir/data.toml"
printf '[[step]]\nurl = "http://127.0.0.1:18190/items/1?u=x"\n' >"$dir/none.toml"
echo "data file: $(du -h "$dir/users.csv" | cut -f1), $rows rows"
for threads in 1 4; do
  for s in none data; do
    /usr/bin/time -f "$s, --threads $threads: peak RSS %M KB, %e s" \
      "$flak" --scenario "$dir/$s.toml" -n 20000 -c 8 --threads "$threads" --output json >/dev/null
  done
done
