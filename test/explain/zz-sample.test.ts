import { it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { renderTrace } from '../../src/explain/render.ts';
import { TRACE_KIND, type DecisionTrace } from '../../src/explain/trace.ts';
import { signIn, startEnvironment } from './environment.ts';
it('sample', async () => {
  const env = await startEnvironment();
  const bob = await signIn(env.baton.url, 'bob', 'openid email offline_access orders:read orders:write');
  await new Promise((r) => setTimeout(r, 500));
  const t = (await env.store.getRecord<DecisionTrace>(TRACE_KIND, bob.tokenRequestId))!.value;
  const s = (await Promise.all(bob.requestIds.map((id) => env.store.getRecord<DecisionTrace>(TRACE_KIND, id)))).filter(Boolean).map((r) => r!.value);
  writeFileSync('/tmp/explain-sample.txt', renderTrace(t) + '\n----\n' + s.map(renderTrace).join('\n----\n') + '\n----\n' + JSON.stringify(t, null, 2));
  await env.stop();
}, 60000);
