#!/usr/bin/env node
// Entry shim: moat is TypeScript run by Node 24's type stripping. When started by an older
// node, re-run on the Node 24 that the project pins (the npm `node` package in node_modules).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import(main);
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(`moat needs Node 24 or later (this is ${process.version}); run \`npm install\` in the moat folder first\n`);
    process.exit(2);
  }
  const result = spawnSync(pinned, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
