#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('rac: not built yet. Run `npm install` (or `npm run build`) in the rac directory.\n');
  process.exit(1);
}
const { main } = await import(cli.href);
await main(process.argv);
