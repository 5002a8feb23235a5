// Trunk post-build hook: minifies wasm-bindgen's JS glue (terser; Trunk's own minifier cannot
// parse its `export default`) and updates its integrity hash, then moves Trunk's inline loader
// script into its own file, so the page's Content-Security-Policy can forbid inline scripts
// (script-src 'self').
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('finish-dist.mjs runs as a Trunk hook (TRUNK_STAGING_DIR is unset)');
const indexPath = path.join(dir, 'index.html');
let html = readFileSync(indexPath, 'utf8');

// The glue is preloaded with an integrity hash, which must match the file we leave behind.
const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), 'node/'));
let terser;
try {
  terser = require('terser');
} catch {
  throw new Error('terser is missing from scripts/node/node_modules: run scripts/setup.sh');
}
const glue = readdirSync(dir).filter((f) => f.endsWith('.js') && !f.startsWith('loader-'));
if (glue.length !== 1) throw new Error(`expected one wasm-bindgen JS file, found ${glue.join(', ') || 'none'}`);
const gluePath = path.join(dir, glue[0]);
const { code } = await terser.minify(readFileSync(gluePath, 'utf8'), {
  module: true,
  ecma: 2020,
  compress: { passes: 2 },
  format: { comments: false },
});
writeFileSync(gluePath, code);
const integrity = `sha384-${createHash('sha384').update(code).digest('base64')}`;
const preload = new RegExp(`(href="\\./${glue[0].replace(/[.]/g, '\\.')}"[^>]*integrity=")[^"]*(")`);
if (!preload.test(html)) throw new Error(`no preload with an integrity hash for ${glue[0]} in index.html`);
html = html.replace(preload, `$1${integrity}$2`);

const inline = /<script type="module">([\s\S]*?)<\/script>/;
const match = html.match(inline);
if (!match) throw new Error('no inline module script in index.html: did Trunk change its loader?');
const name = `loader-${createHash('sha256').update(match[1]).digest('hex').slice(0, 16)}.js`;
writeFileSync(path.join(dir, name), match[1].trim() + '\n');
writeFileSync(indexPath, html.replace(inline, `<script type="module" src="./${name}"></script>`));
