#!/usr/bin/env node
// Baton's executable. The installed package (which ships dist/ and no src/) runs the compiled JavaScript
// and registers tsx only right before the first TypeScript hook module is imported (issue 16: tsx's loader
// costs ~34 MiB of RSS, its ESM hooks running in a worker thread on Node 20); a deployment with JavaScript
// hooks or none never loads it. A git checkout runs its TypeScript sources, so a stale build never shadows
// them: there tsx is registered at once.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

// Both loaders: a TypeScript hook outside an ES module package (an operator's /etc/baton, a directory
// whose package.json has no "type": "module") is loaded as CommonJS, which the ESM loader alone leaves untranspiled.
async function registerTsx() {
  const [{ register }, { register: registerCommonJs }] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  register();
  registerCommonJs();
}

const sources = new URL('../src/main.ts', import.meta.url);
if (existsSync(sources)) {
  await registerTsx();
  await import(sources.href);
} else {
  const { setTypeScriptLoader } = await import('../dist/orchestration/hooks/typescript-loader.js');
  setTypeScriptLoader(registerTsx);
  await import('../dist/main.js');
}
