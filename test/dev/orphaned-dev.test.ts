// Regression: `npm run dev` stopped by a SIGTERM to npm left `baton dev` running with its ports
// held. Its parent going away (here: SIGKILL, which forwards nothing) now stops the demo.
import { spawn } from 'node:child_process';

import { afterAll, describe, expect, it } from 'vitest';

import { freePort, scratchDir } from '../helpers/baton.ts';
import { REPO } from './demo-process.ts';

const data = scratchDir('baton-orphan-');
let demoPid: number | undefined;
afterAll(() => {
  try { if (demoPid) process.kill(demoPid, 'SIGKILL'); } catch { /* already gone */ }
  data.remove();
});

const answers = (url: string) => fetch(url).then(() => true, () => false);

describe('baton dev without its parent', () => {
  it('stops every component and frees the ports when the parent process dies', async () => {
    const [baton, idp, api, app] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const args = ['bin/baton.js', 'dev', '--baton-port', String(baton), '--idp-port', String(idp), '--api-port', String(api), '--app-port', String(app), '--data-dir', data.path];
    // A parent like npm's shell: starts the demo, prints its PID, forwards no signal.
    const launcher = `const c = require('node:child_process').spawn(process.execPath, ${JSON.stringify(args)}, { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1e6);`;
    const parent = spawn(process.execPath, ['-e', launcher], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    demoPid = await new Promise<number>((resolve) => parent.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))));
    const discovery = `http://localhost:${baton}/.well-known/openid-configuration`;
    const deadline = Date.now() + 60_000;
    while (!(await answers(discovery)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
    expect(await answers(discovery)).toBe(true);

    parent.kill('SIGKILL');
    const stopBy = Date.now() + 15_000;
    while ((await answers(discovery) || await answers(`http://localhost:${app}/`)) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 300));
    expect(await answers(discovery)).toBe(false);
    expect(await answers(`http://localhost:${idp}/`)).toBe(false);
    expect(await answers(`http://localhost:${app}/`)).toBe(false);
  }, 90_000);
});
