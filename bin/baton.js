#!/usr/bin/env node
// Baton's executable. The installed package (which ships dist/ and no src/) runs the compiled JavaScript;
// a git checkout runs its TypeScript sources, so a stale build never shadows them. tsx is registered
// either way, so TypeScript hook modules named in the configuration load.
import { existsSync, readFileSync } from 'node:fs';
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

// Both loaders: a TypeScript hook outside an ES module package (an operator's /etc/baton, a directory
// whose package.json has no "type": "module") is loaded as CommonJS, which the ESM loader alone leaves untranspiled.
register();
registerCommonJs();
const sources = new URL('../src/main.ts', import.meta.url);
await import(existsSync(sources) ? sources.href : new URL('../dist/main.js', import.meta.url).href);
