// Trunk post-build hook: minifies wasm-bindgen's JS glue and snippets (terser; Trunk's own
// minifier cannot parse the glue's `export default`) and updates their integrity hashes, writes
// the Web Worker's script (the same glue and wasm, entered through `worker_main`), then moves
// Trunk's inline loader script into its own file, so the page's Content-Security-Policy can
// forbid inline scripts (script-src 'self'); the loader tells the page the worker's file name.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('finish-dist.mjs runs as a Trunk hook (TRUNK_STAGING_DIR is unset)');
const indexPath = path.join(dir, 'index.html');
let html = readFileSync(indexPath, 'utf8');

// The glue and wasm-bindgen's snippets (the JS files under src/ that the app imports, copied
// to snippets/) are preloaded with integrity hashes, which must match the files we leave behind.
const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), 'node/'));
let terser;
try {
  terser = require('terser');
} catch {
  throw new Error('terser is missing from scripts/node/node_modules: run scripts/setup.sh');
}
const glue = readdirSync(dir).filter((f) => f.endsWith('.js') && !f.startsWith('loader-'));
if (glue.length !== 1) throw new Error(`expected one wasm-bindgen JS file, found ${glue.join(', ') || 'none'}`);
const snippets = existsSync(path.join(dir, 'snippets'))
  ? readdirSync(path.join(dir, 'snippets'), { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .map((f) => path.posix.join('snippets', f.split(path.sep).join('/')))
  : [];
for (const file of [glue[0], ...snippets]) {
  const filePath = path.join(dir, file);
  const { code } = await terser.minify(readFileSync(filePath, 'utf8'), {
    module: true,
    ecma: 2020,
    compress: { passes: 2 },
    format: { comments: false },
  });
  writeFileSync(filePath, code);
  const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
  const preload = new RegExp(`(href="\\./${file.replace(/[.]/g, '\\.')}"[^>]*integrity=")[^"]*(")`);
  if (!preload.test(html)) throw new Error(`no preload with an integrity hash for ${file} in index.html`);
  html = html.replace(preload, `$1${integrity}$2`);
}

const hashed = (prefix, text) => `${prefix}-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.js`;

// The worker loads the page's own glue and wasm (cached: no second download). Messages that
// arrive while it initialises are kept and handed to the handler worker_main installs.
const wasm = readdirSync(dir).filter((f) => f.endsWith('_bg.wasm'));
if (wasm.length !== 1) throw new Error(`expected one wasm file, found ${wasm.join(', ') || 'none'}`);
const worker = `import init, { worker_main } from './${glue[0]}';
const early = [];
self.onmessage = (e) => early.push(e);
await init({ module_or_path: './${wasm[0]}' });
worker_main();
for (const e of early) self.onmessage(e);
`;
const workerName = hashed('worker', worker);
writeFileSync(path.join(dir, workerName), worker);

const inline = /<script type="module">([\s\S]*?)<\/script>/;
const match = html.match(inline);
if (!match) throw new Error('no inline module script in index.html: did Trunk change its loader?');
const loader = `globalThis.flakWorker = new URL('./${workerName}', import.meta.url).href;\n${match[1].trim()}\n`;
const name = hashed('loader', loader);
writeFileSync(path.join(dir, name), loader);
writeFileSync(indexPath, html.replace(inline, `<script type="module" src="./${name}"></script>`));
