// Prints the web bundle's size as the budget counts it (wasm + JS + CSS in dist/, gzip level 9,
// summed) and exits 1 above the budget: 350 KB (350,000 bytes), ARCHITECTURE.md "Decisions".
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 350_000;
const dist = process.argv[2] ?? 'dist';
const counted = (name) => /\.(wasm|js|css)$/.test(name);

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : counted(name) ? [p] : [];
  });
}

let total = 0;
for (const file of files(dist)) {
  const size = gzipSync(readFileSync(file), { level: 9 }).length;
  total += size;
  console.log(`${String(size).padStart(8)}  ${path.relative(dist, file)}`);
}
console.log(`${String(total).padStart(8)}  total (${(total / 1000).toFixed(1)} KB of ${BUDGET / 1000} KB)`);
if (total > BUDGET) {
  console.error(`the web bundle is ${(total / 1000).toFixed(1)} KB gzipped, over its ${BUDGET / 1000} KB budget`);
  process.exit(1);
}
