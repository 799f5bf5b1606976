// Benchmark child of bench/sign-in.ts: the upstream OpenID Provider (test/helpers/upstream.ts, the
// one the federation tests use, with its login form) in its own process, so its CPU is counted
// apart from Baton's. Baton's callback is at BENCH_BATON_URL.
import { startUpstream } from '../test/helpers/upstream.ts';
import { serveBenchIpc } from './server-ipc.ts';
import { UPSTREAM_CLIENT, UPSTREAM_ID, UPSTREAM_SECRET, USERS } from './sign-in-parts.ts';

const baton = process.env.BENCH_BATON_URL;
if (!baton) throw new Error('BENCH_BATON_URL must be set by bench/sign-in.ts');
const upstream = await startUpstream({
  profile: 'generic',
  clients: [{ client_id: UPSTREAM_CLIENT, client_secret: UPSTREAM_SECRET, redirect_uris: [`${baton}/callback/${UPSTREAM_ID}`] }],
  users: USERS,
});
serveBenchIpc(upstream.issuer, () => upstream.stop());
