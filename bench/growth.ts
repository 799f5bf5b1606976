// Benchmark: how Baton's CPU per client_credentials request grows with its configuration (issue 16
// target 6): 10, 1,000 and 10,000 configured clients (bare oidc-provider beside it), 1, 5 and 20
// resources, 1, 3 and 10 authorizers configured (one asked per request) and the same authorizers
// all asked (cache off). The variants of one dimension run side by side, each in its own child on
// CPU 0, in alternating slices (autocannon on CPU 1), so host drift hits them alike. Prints CPU
// µs/req per variant and a verdict computed from the best-slice figures: flat, logarithmic or linear.
//   npm run bench:growth [-- clients resources authorizers_configured authorizers_asked]
//   env: BENCH_DURATION (3 s per variant), BENCH_WARMUP (1), BENCH_ROUNDS (3), BENCH_CONNECTIONS (10)
import { CLIENT_ID, CLIENT_SECRET, REQUESTED_SCOPE, RESOURCE } from './fixture.ts';
import { type Growth, namespace } from './growth-fixture.ts';
import { verdict } from './growth-verdict.ts';
import type { LoadResult } from './load.ts';
import { type Child, Children, choosePinning, onInterrupt } from './processes.ts';
import { Tally } from './report.ts';
import type { ServerMessage } from './server-ipc.ts';
import { envNumber, freePort, recordSummary } from './support.ts';

const WARMUP = envNumber('BENCH_WARMUP', 1);
const DURATION = envNumber('BENCH_DURATION', 3);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10);
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 3));
const LOG_LEVEL = process.env.BENCH_BATON_LOG_LEVEL ?? 'info';

type Stats = Extract<ServerMessage, { type: 'stats' }>;
interface Variant { server: 'Baton' | 'bare'; n: number; growth: (authorizers: readonly string[]) => Growth; body: string }
interface Dimension { name: string; label: string; variants: Variant[] }

const body = (scope: string) => new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE, scope }).toString();
const scopes = (count: number, all: boolean) => [REQUESTED_SCOPE, ...Array.from({ length: count }, (_, i) => `${namespace(i)}read`).slice(all ? 0 : count - 1)].join(' ');

const DIMENSIONS: Dimension[] = [
  {
    name: 'clients', label: 'configured clients',
    variants: (['Baton', 'bare'] as const).flatMap((server) => [10, 1000, 10_000].map((n) => ({ server, n, growth: () => ({ clients: n }), body: body(REQUESTED_SCOPE) }))),
  },
  { name: 'resources', label: 'resources of the client', variants: [1, 5, 20].map((n) => ({ server: 'Baton', n, growth: () => ({ resources: n }), body: body(REQUESTED_SCOPE) })) },
  {
    name: 'authorizers_configured', label: 'authorizers configured (the last one asked, cache off)',
    variants: [1, 3, 10].map((n) => ({ server: 'Baton', n, growth: (urls) => ({ authorizers: urls.slice(0, n) }), body: body(scopes(n, false)) })),
  },
  {
    name: 'authorizers_asked', label: 'authorizers asked per request (all of them, cache off)',
    variants: [1, 3, 10].map((n) => ({ server: 'Baton', n, growth: (urls) => ({ authorizers: urls.slice(0, n) }), body: body(scopes(n, true)) })),
  },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const chosen = DIMENSIONS.filter((d) => only.length === 0 || only.includes(d.name));
  const pinning = choosePinning();
  console.log(`growth: client_credentials CPU µs/request as the configuration grows; node ${process.version}`);
  console.log(`per variant: ${WARMUP} s warm-up, ${DURATION} s measured in ${ROUNDS} slices alternating between the variants of a dimension; ${CONNECTIONS} connections`);
  console.log(pinning.note ? `note: ${pinning.note}` : `servers on CPU ${pinning.server} (one loaded at a time), autocannon and the authorizers on CPU ${pinning.load}`);
  const children = new Children();
  const releaseInterrupt = onInterrupt(() => children.stopAll());
  const summary: Parameters<typeof recordSummary>[0][number][] = [];
  try {
    const { child: load } = await children.start('load', './load.ts', { cpu: pinning.load });
    // Ten authorizers answering at once (no delay), on the load generator's CPU: their CPU is not Baton's.
    const { ready: authorizers } = await children.start('authorizers', './authorizers-server.ts', { cpu: pinning.load, env: { BENCH_DELAYS: Array(10).fill('0').join(',') } });
    const urls = (authorizers as unknown as { urls: string[] }).urls;
    const run = (url: string, duration: number, form: string) => load.request<LoadResult>({ type: 'run', url, duration, connections: CONNECTIONS, body: form }, 'result');

    for (const dimension of chosen) {
      console.log(`\n${dimension.name}: starting ${dimension.variants.length} servers ...`);
      const started: Array<{ variant: Variant; child: Child; url: string; tally: Tally; startup: number }> = [];
      for (const variant of dimension.variants) {
        const env = { BENCH_PORT: String(await freePort()), BENCH_BATON_LOG_LEVEL: LOG_LEVEL, BENCH_GROWTH: JSON.stringify(variant.growth(urls)) };
        const t0 = Date.now();
        const { child, ready } = await children.start(`${variant.server} ${variant.n}`, variant.server === 'Baton' ? './baton-server.ts' : './bare-server.ts', { cpu: pinning.server, env });
        const startup = Date.now() - t0;
        const check = await fetch(`${ready.url!}/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: variant.body });
        const answer = (await check.json()) as { scope?: string; error?: string };
        if (check.status !== 200 || answer.scope?.split(' ').length !== new URLSearchParams(variant.body).get('scope')!.split(' ').length) {
          throw new Error(`${variant.server} ${variant.n}: the check request answered ${check.status} ${JSON.stringify(answer)}`);
        }
        started.push({ variant, child, url: ready.url!, tally: new Tally(`${variant.server} ${variant.n}`), startup });
      }
      for (const s of started) await run(s.url, WARMUP, s.variant.body);
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of round % 2 === 0 ? started : [...started].reverse()) {
          const cpu = async () => (await s.child.request<Stats>({ type: 'stats' }, 'stats')).cpuMicros;
          const before = await cpu();
          const result = await run(s.url, DURATION / ROUNDS, s.variant.body);
          s.tally.add(result, (await cpu()) - before);
        }
      }
      console.log(`${'variant'.padEnd(12)}  ${'req/s'.padStart(6)}  ${'p50 ms'.padStart(7)}  ${'CPU µs/req'.padStart(10)}  ${'best slice'.padStart(10)}  ${'RSS MiB'.padStart(7)}  ${'start s'.padStart(7)}  non-2xx`);
      for (const s of started) {
        const { rss } = await s.child.request<Stats>({ type: 'stats' }, 'stats');
        const t = s.tally;
        console.log(`${t.name.padEnd(12)}  ${t.requestsPerSecond.toFixed(0).padStart(6)}  ${t.percentile(50).toFixed(2).padStart(7)}  ${t.cpuMicrosPerRequest.toFixed(0).padStart(10)}  ${t.bestSliceCpu.toFixed(0).padStart(10)}  ${(rss / 2 ** 20).toFixed(0).padStart(7)}  ${(s.startup / 1000).toFixed(1).padStart(7)}  ${t.failures.non2xx + t.failures.errors}`);
      }
      for (const server of ['Baton', 'bare'] as const) {
        const points = started.filter((s) => s.variant.server === server).map((s) => ({ n: s.variant.n, cpu: s.tally.bestSliceCpu }));
        if (points.length === 0) continue;
        const v = verdict(points);
        console.log(`${server}: ${v.text}`);
        summary.push({ benchmark: 'growth', figure: `${server}, ${dimension.label}: CPU µs/req (best slice) at ${points.map((p) => p.n).join(' / ')}`, value: `${points.map((p) => p.cpu.toFixed(0)).join(' / ')}: ${v.kind}`, target: 'flat or logarithmic' });
      }
      await Promise.all(started.map((s) => s.child.stop()));
    }
    recordSummary(summary);
  } finally {
    await children.stopAll();
    releaseInterrupt();
  }
}

await main();
