// Trunk post-build hook: moves Trunk's inline loader script into its own file, so the page's
// Content-Security-Policy can forbid inline scripts (script-src 'self').
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('finish-dist.mjs runs as a Trunk hook (TRUNK_STAGING_DIR is unset)');
const indexPath = path.join(dir, 'index.html');
const html = readFileSync(indexPath, 'utf8');
const inline = /<script type="module">([\s\S]*?)<\/script>/;
const match = html.match(inline);
if (!match) throw new Error('no inline module script in index.html: did Trunk change its loader?');
const name = `loader-${createHash('sha256').update(match[1]).digest('hex').slice(0, 16)}.js`;
writeFileSync(path.join(dir, name), match[1].trim() + '\n');
writeFileSync(indexPath, html.replace(inline, `<script type="module" src="./${name}"></script>`));
