// The installable package (issue 18): `npm pack` (which builds dist/), the tarball installed into an empty
// directory with production dependencies only, then `npx baton` from there: --version, `baton start`
// answering discovery and a client_credentials token whose claims come from a TypeScript hook module (tsx
// registered for it) or a JavaScript one (tsx never registered: issue 16, memory), and the hook test kit imported from `baton/hooks/testing`, typechecked and run (issue 15).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/baton.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const MASTER_SECRET = 'package-test-master-secret-0123456789abcdef';
// Building better-sqlite3 from source in the install (no prebuilt binary reachable) takes ~2 minutes.
const INSTALL_TIMEOUT = 7 * 60_000;

let dir: string;
let app: string;
let baton: ChildProcess | undefined;
let log = '';

function run(command: string, args: string[], cwd: string, timeout: number): string {
  const result = spawnSync(command, args, { cwd, timeout, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `status ${result.status}`}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/**
 * What a hook module reports about the process it runs in, read when a token is issued (long after the
 * start): tsx's CommonJS loader adds `.tsx` to the extensions (Node never does, not even with its own
 * type stripping), both of tsx's loaders turn source maps on, and its ES module loader runs in a worker
 * thread (module.register), which the diagnostic report lists (Baton starts no worker of its own).
 */
const LOADERS = "tsxCommonJs: '.tsx' in Module._extensions, sourceMaps: process.sourceMapsEnabled, workerThreads: process.report.getReport().workers.length";

/** Starts the installed `baton` with one client whose hook module is `hooks`, asks it for a client_credentials token, stops it. */
async function startAndIssue(hooks: string): Promise<{ claims: Record<string, unknown>; issuer: string }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  writeFileSync(join(app, 'baton.yaml'), [
    `# yaml-language-server: $schema=node_modules/baton/schema/baton.schema.json`,
    `issuer: ${issuer}`,
    'server:', '  host: 127.0.0.1', `  port: ${port}`,
    'storage:', '  type: memory',
    'keys:', '  masterSecret: ${BATON_MASTER_SECRET}',
    'resources:', '  - id: https://orders.api.example', '    scopes: [orders:read]',
    'clients:',
    '  - client_id: orders-sync', '    client_secret: package-test-client-secret-0123456789',
    '    grant_types: [client_credentials]',
    '    resources:', '      - id: https://orders.api.example', '        scopes: [orders:read]',
    '    hooks:', `      module: ${hooks}`,
    '',
  ].join('\n'));

  log = '';
  baton = spawn('npx', ['--no-install', 'baton', 'start', '--config', 'baton.yaml'], {
    cwd: app, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BATON_MASTER_SECRET: MASTER_SECRET },
  });
  baton.stdout?.on('data', (chunk: Buffer) => { log += chunk.toString(); });
  baton.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString(); });

  let discovery: Record<string, unknown> | undefined;
  for (let attempt = 0; attempt < 120 && !discovery; attempt += 1) {
    if (baton.exitCode !== null) throw new Error(`baton exited with ${baton.exitCode}:\n${log}`);
    const res = await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined);
    if (res?.ok) discovery = (await res.json()) as Record<string, unknown>;
    else await new Promise((resolve) => setTimeout(resolve, 500));
  }
  expect(discovery, log).toBeDefined();
  expect(discovery?.issuer).toBe(issuer);
  expect(discovery?.grant_types_supported).toContain('client_credentials');

  const res = await fetch(String(discovery?.token_endpoint), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('orders-sync:package-test-client-secret-0123456789').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'https://orders.api.example', scope: 'orders:read' }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(200);

  // Stopped by its process group id (npx and the node process it runs); npx itself ends by the signal.
  const exited = new Promise<void>((resolve) => baton?.once('exit', () => resolve()));
  process.kill(-(baton.pid as number), 'SIGTERM');
  await exited;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await expect(fetch(`${issuer}/healthz`)).rejects.toThrow();
  expect(log).not.toContain('package-test-client-secret');
  return { claims: decodeJwt(String(body.access_token)), issuer };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-package-'));
  run('npm', ['pack', '--pack-destination', dir], ROOT, 3 * 60_000);
  app = join(dir, 'app');
  run('mkdir', ['-p', app], dir, 5_000);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'baton-package-test', private: true }));
  run('npm', ['install', join(dir, `baton-${version}.tgz`), '--omit=dev'], app, INSTALL_TIMEOUT);
}, INSTALL_TIMEOUT + 4 * 60_000);

afterAll(async () => {
  if (baton?.pid !== undefined && baton.exitCode === null) {
    const exited = new Promise((resolve) => baton?.once('exit', resolve));
    process.kill(-baton.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('installs compiled JavaScript and production dependencies only', () => {
    const installed = join(app, 'node_modules', 'baton');
    expect(existsSync(join(installed, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(installed, 'LICENSE'))).toBe(true);
    expect(existsSync(join(installed, 'schema', 'baton.schema.json'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'playwright-core']) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
  });

  it('npx baton --version prints the package version', () => {
    expect(run('npx', ['--no-install', 'baton', '--version'], app, 60_000).trim()).toBe(version);
  });

  it('exposes baton/hooks and baton/hooks/testing: typed (shipped declarations) and runnable with production dependencies', () => {
    // ES module files (.mts): app/package.json has no "type": "module". The hook module imports defineHooks
    // from the package too, as an author's module would.
    writeFileSync(join(app, 'kit-hooks.mts'), [
      "import { defineHooks } from 'baton/hooks';",
      'export default defineHooks({',
      '  buildAccessTokenClaims: (ctx, api) => {',
      "    api.logger.info({ key: api.secrets.get('key') }, 'stamping');",
      "    return { tenant: ctx.client.id, sub: 'forged' };",
      '  },',
      "  isAuthorized: (ctx) => ctx.user?.attrs.active === true || { allow: false, reason: 'inactive' },",
      '});',
      '',
    ].join('\n'));
    writeFileSync(join(app, 'kit-check.mts'), [
      "import { HookError, runHookForTest, type HookTestResult } from 'baton/hooks/testing';",
      "const run: HookTestResult<'buildAccessTokenClaims'> = await runHookForTest('./kit-hooks.mts', 'buildAccessTokenClaims', { client: { id: 'acme' } }, { secrets: { key: 'kit-secret-value' } });",
      "const denied = await runHookForTest('./kit-hooks.mts', 'isAuthorized', { user: { attrs: { active: false } } });",
      "// @ts-expect-error: not a hook (the declarations type the hook name)",
      "const typo = () => runHookForTest('./kit-hooks.mts', 'buildAccesTokenClaims', {});",
      "const failed = await runHookForTest('./kit-hooks.mts', 'buildAccessTokenClaims', { client: { id: 'acme' } }, { timeoutMs: -1 }).catch((e: unknown) => e);",
      "const frozen = await runHookForTest({ loadAttrs: (ctx: { scopes: string[] }) => { ctx.scopes.push('admin'); return {}; } }, 'loadAttrs', {}).catch((e: unknown) => e);",
      "console.log(JSON.stringify({ output: run.output, dropped: run.droppedClaims, logs: run.logs, denied: denied.output, failed: String(failed), frozen: frozen instanceof HookError ? frozen.kind : String(frozen), typo: typeof typo }));",
      '',
    ].join('\n'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
      files: ['kit-check.mts', 'kit-hooks.mts'],
    }));
    const installed = join(app, 'node_modules', 'baton', 'dist', 'orchestration', 'hooks');
    for (const file of ['types.js', 'types.d.ts', 'testing.js', 'testing.d.ts']) expect(existsSync(join(installed, file)), file).toBe(true);
    // TypeScript is a dev dependency of Baton, not installed in app/: the checkout's compiler reads app/'s files.
    run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app, 120_000);

    // tsx comes with Baton's production dependencies.
    const out = JSON.parse(run(process.execPath, ['--import', 'tsx', 'kit-check.mts'], app, 60_000)) as Record<string, unknown>;
    expect(out.output).toEqual({ tenant: 'acme' });
    expect(out.dropped).toEqual(['sub']);
    expect(out.logs).toEqual([
      { level: 'info', fields: { key: '[redacted]', hookModule: './kit-hooks.mts' }, msg: 'stamping' },
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ event: 'hook.reserved_claims', claims: ['sub'] }) }),
    ]);
    expect(out.denied).toEqual({ allow: false, reason: 'inactive' });
    expect(out.failed).toContain('timeoutMs must be positive');
    expect(out.frozen).toBe('threw');
  }, 240_000);

  it('npx baton start serves discovery and a client_credentials token, with claims from a TypeScript hook', async () => {
    // TypeScript-only syntax (an interface, annotations): this loads only if tsx is registered, and, since
    // app/package.json has no "type": "module", only with tsx's CommonJS loader too (what broke first).
    writeFileSync(join(app, 'claims.ts'), [
      "import Module from 'node:module';",
      'interface Stamp { readonly packaged: true; readonly grant: string }',
      `export const buildAccessTokenClaims = (ctx: { grantType: string }): Stamp => ({ packaged: true, grant: ctx.grantType, ${LOADERS} } as Stamp);`,
      '',
    ].join('\n'));
    const { claims, issuer } = await startAndIssue('./claims.ts');
    expect(claims).toMatchObject({ iss: issuer, aud: 'https://orders.api.example', client_id: 'orders-sync', scope: 'orders:read', packaged: true, grant: 'client_credentials' });
    // tsx was registered for it (issue 16: only then).
    expect(claims).toMatchObject({ tsxCommonJs: true, sourceMaps: true });
    expect(claims.workerThreads).toBeGreaterThan(0);
  }, 90_000);

  it('npx baton start with JavaScript hooks only never registers tsx (issue 16, memory)', async () => {
    writeFileSync(join(app, 'claims.mjs'), [
      "import Module from 'node:module';",
      `export const buildAccessTokenClaims = (ctx) => ({ javascript: true, grant: ctx.grantType, ${LOADERS} });`,
      '',
    ].join('\n'));
    const { claims } = await startAndIssue('./claims.mjs');
    expect(claims).toMatchObject({ javascript: true, grant: 'client_credentials', tsxCommonJs: false, sourceMaps: false, workerThreads: 0 });
  }, 90_000);
});
