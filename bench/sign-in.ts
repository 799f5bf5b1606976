// Benchmark: a complete brokered sign-in without a browser: authorize at Baton, Baton's redirect to
// the upstream, the upstream's login form, the callback (Baton redeems the upstream code and checks
// its id_token), the app's code, its redemption (id_token, JWT access token, refresh token). Baton
// and the upstream (test/helpers/upstream.ts) each in their own child on CPU 0, the driver on CPU 1;
// CPU per sign-in is counted for each process apart (issue 16 target 3: Baton adds at most a few
// milliseconds beyond the upstream's own). There is no bare reference: oidc-provider does not broker.
//   npm run bench:sign-in   (= node --import tsx bench/sign-in.ts)
//   env: BENCH_DURATION (6 s), BENCH_WARMUP (1 s), BENCH_CONCURRENCY (4 sign-ins in flight), BENCH_BATON_LOG_LEVEL,
//        BENCH_SERVER_NODE_ARGS (Node options of the Baton and upstream children, e.g. "--cpu-prof --cpu-prof-dir=DIR")
import { type Child, Children, choosePinning, onInterrupt } from './processes.ts';
import { Tally } from './report.ts';
import type { ServerMessage } from './server-ipc.ts';
import type { SignInResult, SignInRun } from './sign-in-parts.ts';
import { BATON_DIST, checkBuild, envNumber, freePort, recordSummary } from './support.ts';

const DURATION = envNumber('BENCH_DURATION', 6);
const WARMUP = envNumber('BENCH_WARMUP', 1);
const CONCURRENCY = Math.round(envNumber('BENCH_CONCURRENCY', 4));
const LOG_LEVEL = process.env.BENCH_BATON_LOG_LEVEL ?? 'info';
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

type Stats = Extract<ServerMessage, { type: 'stats' }>;
const cpu = async (child: Child) => (await child.request<Stats>({ type: 'stats' }, 'stats')).cpuMicros;

async function main(): Promise<void> {
  const pinning = choosePinning();
  console.log(`brokered sign-in (authorize -> upstream login -> callback -> code -> token), no browser; node ${process.version}`);
  console.log(`${WARMUP} s warm-up, ${DURATION} s measured, ${CONCURRENCY} sign-ins in flight, each a new user agent; Baton log level ${LOG_LEVEL}`);
  if (BATON_DIST) checkBuild();
  console.log(BATON_DIST ? 'Baton: its compiled dist/ (BENCH_BATON=dist), as installed' : 'Baton: its TypeScript sources under tsx (BENCH_BATON=dist: compiled)');
  console.log(pinning.note ? `note: ${pinning.note}` : `Baton and the upstream on CPU ${pinning.server}, the driver on CPU ${pinning.load}`);
  const children = new Children();
  const releaseInterrupt = onInterrupt(() => children.stopAll());
  try {
    const batonPort = await freePort();
    const { child: upstream, ready: up } = await children.start('upstream', './sign-in-upstream.ts', { cpu: pinning.server, nodeArgs: SERVER_NODE_ARGS, env: { BENCH_BATON_URL: `http://127.0.0.1:${batonPort}` } });
    const { child: baton, ready } = await children.start('Baton', './sign-in-baton.ts', { cpu: pinning.server, nodeArgs: SERVER_NODE_ARGS, env: { BENCH_PORT: String(batonPort), BENCH_UPSTREAM: up.url!, BENCH_BATON_LOG_LEVEL: LOG_LEVEL } });
    const { child: driver } = await children.start('driver', './sign-in-load.ts', { cpu: pinning.load });
    const run = (duration: number, concurrency: number) => driver.request<SignInResult>({ type: 'run', issuer: ready.url!, duration, concurrency } satisfies SignInRun, 'result');

    const check = await run(0.001, 1);
    if (check.total !== 1) throw new Error(`the check sign-in failed: ${check.samples[0] ?? 'no sign-in completed'}`);
    await run(WARMUP, CONCURRENCY);
    const before = { baton: await cpu(baton), upstream: await cpu(upstream) };
    const result = await run(DURATION, CONCURRENCY);
    const spent = { baton: (await cpu(baton)) - before.baton, upstream: (await cpu(upstream)) - before.upstream };
    const tally = new Tally('sign-in');
    tally.add(result, spent.baton);
    const perSignIn = (micros: number) => micros / Math.max(tally.requests, 1) / 1000;

    console.log('');
    console.log(`sign-ins/s              ${tally.requestsPerSecond.toFixed(1)}  (${tally.requests} in ${tally.seconds.toFixed(1)} s; ${result.errors} failed${result.samples[0] ? `: ${result.samples[0]}` : ''})`);
    console.log(`p50 / p99 ms            ${tally.percentile(50).toFixed(1)} / ${tally.percentile(99).toFixed(1)}  (a whole sign-in: about a dozen HTTP exchanges)`);
    console.log(`Baton CPU ms/sign-in    ${perSignIn(spent.baton).toFixed(2)}`);
    console.log(`upstream CPU ms/sign-in ${perSignIn(spent.upstream).toFixed(2)}  (oidc-provider with a login form: the IdP's own work)`);
    console.log(`Baton / upstream CPU    ${(spent.baton / spent.upstream).toFixed(2)}  (target: Baton adds at most a few ms beyond the upstream's own)`);
    recordSummary([
      { benchmark: 'sign_in', figure: 'sign-ins/s (p50 ms)', value: `${tally.requestsPerSecond.toFixed(1)} (${tally.percentile(50).toFixed(0)})` },
      { benchmark: 'sign_in', figure: 'CPU ms per sign-in Baton vs upstream', value: `${perSignIn(spent.baton).toFixed(2)} vs ${perSignIn(spent.upstream).toFixed(2)}`, target: 'Baton: a few ms' },
    ]);
  } finally {
    await children.stopAll();
    releaseInterrupt();
  }
}

await main();
