// Benchmark child of bench/sign-in.ts: the sign-in driver. `concurrency` users at a time sign in
// without a browser (test/helpers/http-sign-in.ts: authorize, the upstream's login form, the
// callback, the code redemption), each with fresh cookies, so every sign-in goes to the upstream.
import { performance } from 'node:perf_hooks';

import { CookieAgent, signIn } from '../test/helpers/http-sign-in.ts';
import { API, APP, APP_REDIRECT, APP_SECRET, SCOPE, type SignInResult, type SignInRun, USERS } from './sign-in-parts.ts';

if (!process.send) throw new Error('run this file through bench/sign-in.ts (it needs an IPC channel)');

async function run(message: SignInRun): Promise<SignInResult> {
  const result: SignInResult = { type: 'result', seconds: 0, total: 0, non2xx: 0, errors: 0, timeouts: 0, latencies: [], samples: [] };
  const target = { issuer: message.issuer, clientId: APP, secret: APP_SECRET, redirectUri: APP_REDIRECT, scope: SCOPE, resource: API };
  const started = performance.now();
  const end = started + message.duration * 1000;
  let next = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const user = USERS[next++ % USERS.length]!;
      const began = performance.now();
      try {
        await signIn(target, user.username, user.password, new CookieAgent());
        result.latencies.push(performance.now() - began);
        result.total += 1;
      } catch (err) {
        result.errors += 1;
        if (result.samples.length < 5) result.samples.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: message.concurrency }, worker));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

process.on('message', async (message: SignInRun | { type: 'stop' }) => {
  if (message.type === 'stop') process.exit(0);
  process.send!(await run(message));
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
