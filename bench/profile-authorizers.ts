// Paired A/B of the authorizer fan-out's CPU per decide() for issue 16, in ONE process, measured in
// alternating slices against the same authorizer child, so a noisy shared machine hits every variant alike.
// Prints CPU µs per decide() per variant and ratios. Two sets of variants:
//  - by default, the signer and logger as they were (jose, pino path redaction) and as they are;
//  - with BENCH_BASELINE=<another checkout's src directory> (e.g. `git archive <commit> src package.json tsconfig.json
//    | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/`; without tsconfig.json, tsx transpiles that tree
//    otherwise and it ran ~1.6x slower here), that tree's fan-out, signer and
//    logger against this one's, plus this one without request signing (a constant JWT: what the three
//    ES256 signatures cost) and without logs, and the floor under the fan-out: the same three signed
//    POSTs through transport.ts and their answers parsed, with no fan-out, no trace, no log line.
//   node --import tsx bench/profile-authorizers.ts   (env: BENCH_SLICES 8, BENCH_SLICE 1.5 s, BENCH_BASELINE)
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

import { importJWK, SignJWT, type JWK } from 'jose';

import { pino } from 'pino';

import { REDACT_PATHS, createAccessLogger, createLogger } from '../src/observability/logger.ts';
import { Authorizers, type DecisionRequest, type FanoutResult } from '../src/orchestration/authorizers/index.ts';
import { MAX_ANSWER_BYTES, parseAnswer, readBounded, requestBodies } from '../src/orchestration/authorizers/protocol.ts';
import { undiciPost } from '../src/orchestration/authorizers/transport.ts';
import { ensureAlgorithms } from '../src/keys/keyset.ts';
import { requestSigner, type RequestSigner } from '../src/orchestration/request-signer.ts';
import type { AuthorizerConfig } from '../src/config/orchestration.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { Children } from './processes.ts';
import { envNumber } from './support.ts';

const SLICES = envNumber('BENCH_SLICES', 8);
const SLICE = envNumber('BENCH_SLICE', 1.5);
const IN_FLIGHT = 50;

const children = new Children();
try {
  const { ready } = await children.start('authorizers', './authorizers-server.ts', { env: { BENCH_DELAYS: '2,3,5' } });
  const urls = (ready as { urls?: string[] }).urls ?? [];
  const configs = urls.map((url, i) => ({ id: `authz-${i}`, url, namespace: `ns${i}:`, timeout: 5, onFailure: 'deny' as const, cacheTTL: 0 }));
  const keys = await ensureAlgorithms({ keys: [] }, ['ES256'], Math.floor(Date.now() / 1000) - 1);
  const key = keys.keys[0]!;
  const joseKey = await importJWK(key.jwk as JWK, 'ES256');
  // The signer as it was before issue 16 (jose SignJWT on WebCrypto).
  const joseSign = (audience: string, payload: Record<string, unknown>) => new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' }).setIssuer('http://127.0.0.1').setAudience(audience)
    .setIssuedAt().setExpirationTime('60s').setJti(randomUUID()).sign(joseKey);
  const nodeSign = requestSigner('http://127.0.0.1', 'ES256', () => keys);
  const sink = { write: () => undefined };
  const variants = process.env.BENCH_BASELINE ? await againstBaseline(process.env.BENCH_BASELINE, configs, nodeSign, sink) : Object.entries({
    'jose signer, path redaction': { sign: joseSign, level: 'info', paths: true },
    'node signer, path redaction': { sign: nodeSign, level: 'info', paths: true },
    'jose signer, one-pass redaction': { sign: joseSign, level: 'info' },
    'node signer, one-pass redaction': { sign: nodeSign, level: 'info' },
    'node signer, unredacted': { sign: nodeSign, level: 'info', plain: true },
    'node signer, no logs': { sign: nodeSign, level: 'silent' },
  } as const).map(([name, v]) => ({
    name, cpu: 0, calls: 0,
    authorizers: new Authorizers(configs, { sign: v.sign, store: new MemoryStore(), logger: 'plain' in v ? createAccessLogger(v.level, sink)
      // The logger as it was before issue 16: pino's path redaction with the same paths.
      : 'paths' in v ? pino({ level: v.level, base: { service: 'baton' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, formatters: { level: (label) => ({ level: label }) } }, sink)
        : createLogger(v.level, sink) }),
  }));
  const request: DecisionRequest = {
    subject: 'alice', clientId: 'web', grantType: 'authorization_code', resource: 'https://api.bench.example',
    scopes: ['openid', 'ns0:read', 'ns1:read', 'ns1:write', 'ns2:read'], upstream: { idp: 'entra', acr: 'mfa', amr: ['pwd', 'otp'] },
    claims: { email: 'alice@example.com', groups: ['staff'] },
  };
  const run = async (authorizers: Pick<Authorizers, 'decide'>, seconds: number) => {
    let calls = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        const result = await authorizers.decide(request);
        if (result.failed || result.scopes.length !== request.scopes.length) throw new Error(`not granted: ${JSON.stringify(result.failed)}`);
        calls += 1;
      }
    }));
    return calls;
  };
  for (const v of variants) await run(v.authorizers, 0.5);
  for (let slice = 0; slice < SLICES; slice += 1) {
    const order = [...variants.slice(slice % variants.length), ...variants.slice(0, slice % variants.length)]; // rotated: no variant always first
    for (const v of order) {
      const before = process.cpuUsage();
      v.calls += await run(v.authorizers, SLICE);
      const used = process.cpuUsage(before);
      v.cpu += used.user + used.system;
    }
  }
  const base = variants[0]!.cpu / variants[0]!.calls;
  console.log(`3 authorizers, ${IN_FLIGHT} decide() in flight, ${SLICES} rotating slices of ${SLICE} s per variant; CPU of this process only (the authorizers are another process)`);
  for (const v of variants) {
    const per = v.cpu / v.calls;
    console.log(`${v.name.padEnd(34)} ${String(v.calls).padStart(6)} decide()  CPU ${per.toFixed(0).padStart(5)} µs/decide()  (${(per / base).toFixed(2)} of the first)`);
  }
} finally {
  await children.stopAll();
}
process.exit(0);

type Sink = { write: (line: string) => void };

/** The baseline tree's fan-out (with its own signer and logger) beside this tree's, whole and in parts. */
type Decider = Pick<Authorizers, 'decide'>;

/** The work under the fan-out alone: per authorizer one JWT, one POST of its body, the answer read and checked; nothing else. */
function floor(configs: AuthorizerConfig[], sign: RequestSigner): Decider {
  return {
    decide: async (request: DecisionRequest): Promise<FanoutResult> => {
      const body = requestBodies(request);
      await Promise.all(configs.map(async (config) => {
        const scopes = request.scopes.filter((scope) => scope.startsWith(config.namespace));
        const jwt = await sign(config.id, { sub: request.subject, client_id: request.clientId });
        const answer = await undiciPost(config.url, { headers: ['content-type', 'application/json', 'accept', 'application/json', 'authorization', `Bearer ${jwt}`], body: body(scopes), timeout: config.timeout * 1000, maxBytes: MAX_ANSWER_BYTES });
        return parseAnswer(await readBounded(answer), scopes);
      }));
      return { scopes: [...request.scopes], claims: {}, traces: [] };
    },
  };
}

async function againstBaseline(dir: string, configs: AuthorizerConfig[], sign: RequestSigner, sink: Sink): Promise<{ name: string; cpu: number; calls: number; authorizers: Decider }[]> {
  const root = resolve(dir);
  const from = async <T>(path: string): Promise<T> => await import(pathToFileURL(`${root}/${path}`).href) as T;
  const baseline = {
    ...(await from<{ Authorizers: typeof Authorizers }>('orchestration/authorizers/index.ts')),
    ...(await from<{ createLogger: typeof createLogger }>('observability/logger.ts')),
    ...(await from<{ requestSigner: typeof requestSigner }>('orchestration/request-signer.ts')),
  };
  const keys = await ensureAlgorithms({ keys: [] }, ['ES256'], Math.floor(Date.now() / 1000) - 1);
  // A real JWT once, then the same string for every call: the wire stays the same, the signatures go.
  const constant = await sign('authz-0', { sub: 'alice', client_id: 'web' });
  const unsigned: RequestSigner = async () => constant;
  const variant = (name: string, authorizers: Decider) => ({ name, cpu: 0, calls: 0, authorizers });
  return [
    variant(`baseline (${dir})`, new baseline.Authorizers(configs, { sign: baseline.requestSigner('http://127.0.0.1', 'ES256', () => keys), store: new MemoryStore(), logger: baseline.createLogger('info', sink) })),
    // As a server makes them (server.ts): decisions at info to the access log's logger.
    variant('this tree', new Authorizers(configs, { sign, store: new MemoryStore(), logger: createLogger('info', sink), requestLogger: createAccessLogger('info', sink) })),
    variant('this tree, request JWT not signed', new Authorizers(configs, { sign: unsigned, store: new MemoryStore(), logger: createLogger('info', sink), requestLogger: createAccessLogger('info', sink) })),
    variant('this tree, logs off', new Authorizers(configs, { sign, store: new MemoryStore(), logger: createLogger('silent', sink) })),
    variant('floor: 3 signed POSTs, no fan-out', floor(configs, sign)),
    variant('floor, request JWT not signed', floor(configs, unsigned)),
  ];
}
