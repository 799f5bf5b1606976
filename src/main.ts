// CLI entry: `baton start | dev | check-config | keys rotate | hash-secret | migrate | bff sessions | bff end | preview | replay`.
import { dirname, resolve } from 'node:path';

import { Command, Option } from 'commander';

import { loadConfigFile } from './config/load.ts';
import { ConfigError, formatIssue, formatPath, type ConfigIssue } from './config/issues.ts';
import { StartupError } from './config/startup-error.ts';
import type { BatonConfig } from './config/schema.ts';

const program = new Command()
  .name('baton')
  .description('Baton: an OpenID Connect orchestrator. Federates sign-in to your IdP and decides authorization after login.')
  .showHelpAfterError();

const configOption = () => new Option('-c, --config <file>', 'configuration file (YAML)').env('BATON_CONFIG').makeOptionMandatory();

/** A deprecated key, as check-config and the commands without a logger print it. */
const printWarning = (file: string) => (warning: ConfigIssue) => process.stderr.write(`${file}: warning: ${formatIssue(warning)}\n`);

function loadOrExit(file: string, onWarning: (warning: ConfigIssue) => void = printWarning(file)): BatonConfig {
  try {
    return loadConfigFile(file, { onWarning });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

program
  .command('start')
  .description('Start the Baton server.')
  .addOption(configOption())
  .action(async ({ config: file }: { config: string }) => {
    const deprecated: ConfigIssue[] = [];
    const config = loadOrExit(file, (warning) => deprecated.push(warning));
    const { createBaton } = await import('./server.ts');
    const baton = await createBaton(config, { configDir: dirname(resolve(file)) });
    for (const warning of deprecated) baton.logger.warn({ key: formatPath(warning.path), line: warning.line }, `configuration: ${formatIssue(warning)}`);
    const address = await baton.listen().catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        const metricsPort = config.metrics.port !== undefined && (err as { port?: number }).port === config.metrics.port;
        const [port, setting] = metricsPort ? [config.metrics.port, 'metrics.port'] : [config.server.port, 'server.port'];
        baton.logger.fatal(`port ${port} is already in use; set ${setting} to a free one`);
        process.exit(1);
      }
      throw err;
    });
    baton.logger.info({ issuer: config.issuer, address: `${address.address}:${address.port}` }, `Baton is listening; discovery at ${config.issuer}/.well-known/openid-configuration`);
    if (baton.metricsAddress) baton.logger.info({ address: `${baton.metricsAddress.address}:${baton.metricsAddress.port}` }, 'metrics listening at /metrics');
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      baton.logger.info({ signal }, 'shutting down: finishing in-flight requests');
      baton.close().then(() => {
        baton.logger.info('stopped');
        process.exit(0);
      }, (err) => {
        baton.logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('dev')
  .description('Run the demo on localhost: Baton, a demo IdP, a demo authorizer and APIs, and a demo web app (see docs/demo.md).')
  .addOption(new Option('--port-base <port>', 'first of four consecutive ports: Baton, IdP, API, app (default 4000)').env('BATON_DEV_PORT_BASE'))
  .option('--baton-port <port>', 'Baton (the issuer)')
  .option('--idp-port <port>', 'the demo IdP')
  .option('--api-port <port>', 'the demo APIs and authorizer')
  .option('--app-port <port>', 'the demo web app')
  .addOption(new Option('--data-dir <dir>', 'SQLite database, master secret and log (default ./data/dev)').env('BATON_DEV_DATA_DIR'))
  .option('-c, --config <file>', 'demo configuration (default examples/dev/baton.yaml)')
  .action(async (options) => {
    const { runDevCommand } = await import('./dev/command.ts');
    await runDevCommand(options);
  });

program
  .command('check-config')
  .description('Validate a configuration file and print every problem found.')
  .argument('[file]', 'configuration file (YAML)')
  .addOption(new Option('-c, --config <file>', 'configuration file (YAML), as for the other commands').env('BATON_CONFIG'))
  .action((positional: string | undefined, { config: option }: { config?: string }) => {
    const file = positional ?? option;
    if (file === undefined) return program.error('check-config: name the file: `baton check-config FILE` or `--config FILE`', { exitCode: 2 });
    const config = loadOrExit(file);
    process.stdout.write(`${file}: valid (${config.clients.length} client${config.clients.length === 1 ? '' : 's'}, ${config.resources.length} resource${config.resources.length === 1 ? '' : 's'})\n`);
  });

program
  .command('migrate')
  .description('Apply pending database migrations (PostgreSQL) and move tokens stored under their value to hashed ids; `baton start` also does both.')
  .addOption(configOption())
  .action(async ({ config: file }: { config: string }) => {
    const config = loadOrExit(file);
    const storage = config.storage.type === 'split' ? config.storage.durable : config.storage;
    if (storage.type === 'postgres') {
      const { migratePostgres } = await import('./storage/postgres/migrations.ts');
      const applied = await migratePostgres(storage.url, storage.schema, { timeout: storage.timeout });
      process.stdout.write(applied.length === 0 ? 'the database schema is up to date\n' : `applied migrations ${applied.join(', ')}\n`);
    }
    if (config.storage.type === 'memory') {
      process.stdout.write('nothing to migrate: memory storage starts empty\n');
      return;
    }
    const { migrateStoredTokens } = await import('./provider/token-ids-migration.ts');
    const moved = await migrateStoredTokens(config);
    const total = Object.values(moved).reduce((sum, n) => sum + n, 0);
    process.stdout.write(total === 0 ? 'stored tokens: none left under their own value\n' : `stored tokens moved to hashed ids: ${JSON.stringify(moved)}\n`);
  });

const keys = program.command('keys').description('Manage signing keys.');
keys
  .command('rotate')
  .description('Add a new signing key per algorithm; previous keys stay published until every token they signed has expired.')
  .addOption(configOption())
  .action(async ({ config: file }: { config: string }) => {
    const config = loadOrExit(file);
    const { rotateKeys } = await import('./keys/rotate-command.ts');
    const result = await rotateKeys(config, dirname(resolve(file)));
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  });

const bff = program.command('bff').description('Backend-for-frontend sessions (see docs/bff.md).');
bff
  .command('sessions')
  .description('List a user\'s live BFF sessions.')
  .addOption(configOption())
  .requiredOption('--sub <sub>', 'the user\'s subject at Baton (`sub`)')
  .option('--bff <id>', 'only this bff entry (default: all)')
  .action(async ({ config: file, sub, bff: id }: { config: string; sub: string; bff?: string }) => {
    const config = loadOrExit(file);
    const { listBffSessions } = await import('./bff/sessions-command.ts');
    process.stdout.write(`${JSON.stringify(await listBffSessions(config, sub, id), null, 2)}\n`);
  });
bff
  .command('end')
  .description('End a user\'s BFF sessions (and revoke their grants); the SPA is signed out at its next call.')
  .addOption(configOption())
  .requiredOption('--sub <sub>', 'the user\'s subject at Baton (`sub`)')
  .option('--bff <id>', 'only this bff entry (default: all)')
  .action(async ({ config: file, sub, bff: id }: { config: string; sub: string; bff?: string }) => {
    const config = loadOrExit(file);
    const { endBffSessions } = await import('./bff/sessions-command.ts');
    const ended = await endBffSessions(config, sub, id);
    process.stdout.write(`ended ${ended.length} session${ended.length === 1 ? '' : 's'}\n${JSON.stringify(ended, null, 2)}\n`);
  });

program
  .command('preview')
  .description('Print the tokens a client would get for a user (claims or an upstream id_token), decided by the real rules, hooks and authorizers, with their explanation; no server, nothing issued (see docs/explain.md).')
  .addOption(configOption())
  .requiredOption('--client <id>', 'the client asking')
  .option('--claims <file>', 'the user\'s mapped claims (JSON), or a trace identity { claims, upstream, upstreamSubject, attrs }')
  .option('--id-token <file>', 'an upstream id_token, mapped with the upstream\'s claim mapping (verified against its JWKS when reachable)')
  .option('--upstream <id>', 'the upstream the user signs in with')
  .option('--sub <sub>', 'Baton\'s sub for the user (default {upstream}:{upstream subject})')
  .option('--scope <scopes>', 'scopes asked, space-separated')
  .option('--resource <uri>', 'a resource (RFC 8707); repeat for several', (value: string, all: string[] = []) => [...all, value])
  .option('--grant <type>', 'authorization_code (default with a user), refresh_token or client_credentials (default without)')
  .option('--recorded <request-id-or-file>', 'take the authorizers\' answers from this trace instead of calling them')
  .option('--json', 'print JSON')
  .action(async ({ config: file, ...options }: { config: string } & import('./explain/preview.ts').PreviewOptions) => {
    const config = loadOrExit(file);
    const { preview, formatPreview, previewJson } = await import('./explain/preview.ts');
    const output = await preview(config, dirname(resolve(file)), options).catch(usageError);
    process.stdout.write(options.json ? previewJson(output) : formatPreview(output));
    process.exitCode = output.evaluation.trace.result.outcome === 'refused' ? 1 : 0;
  });

program
  .command('replay')
  .description('Decide the recorded traces\' requests again with a candidate configuration (its rules, hooks and authorizers, called for real) and print what changes; exit 1 when anything does (see docs/explain.md).')
  .addOption(new Option('-c, --config <file>', 'the candidate configuration (YAML)').env('BATON_CONFIG'))
  .option('--from-store <file>', 'read the traces from the store of this (live) configuration')
  .option('--traces <file>', 'read the traces from a JSON lines file (one trace per line, as --export writes)')
  .option('--since <time>', 'only traces at or after this ISO 8601 time (or epoch ms)')
  .option('--until <time>', 'only traces at or before this time')
  .option('--client <id>', 'only this client\'s requests')
  .option('--user <sub>', 'only this user\'s requests (Baton\'s sub)')
  .option('--json', 'print JSON')
  .option('--export <file>', 'write the selected traces as JSON lines to this file instead of replaying them')
  .action(async ({ config: file, ...options }: { config?: string } & import('./explain/replay-command.ts').ReplayOptions) => {
    const { exportTraces, loadTraces, replayAgainst } = await import('./explain/replay-command.ts');
    const live = options.fromStore === undefined ? undefined : loadOrExit(options.fromStore);
    const traces = await loadTraces(live, options).catch(usageError);
    if (options.export !== undefined) {
      exportTraces(traces, options.export);
      process.stdout.write(`exported ${traces.length} trace${traces.length === 1 ? '' : 's'} to ${options.export}\n`);
      return;
    }
    if (file === undefined) return program.error('replay: name the candidate configuration with --config FILE', { exitCode: 2 });
    const candidate = loadOrExit(file);
    const report = await replayAgainst(candidate, dirname(resolve(file)), traces).catch(usageError);
    const { formatReplay } = await import('./explain/replay.ts');
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReplay(report, candidate));
    process.exitCode = report.summary.changed > 0 ? 1 : 0;
  });

program
  .command('explain')
  .description('Print the decision trace of a request (by its X-Request-Id): its steps, who granted or denied each scope, who set each claim (see docs/explain.md).')
  .argument('<requestId>', 'the request id, as in X-Request-Id, logs and error pages')
  .addOption(configOption())
  .option('--json', 'print the trace as JSON')
  .action(async (requestId: string, { config: file, json }: { config: string; json?: boolean }) => {
    const config = loadOrExit(file);
    const { explainCommand } = await import('./explain/command.ts');
    const output = await explainCommand(config, requestId, json === true);
    if (output === undefined) {
      process.stderr.write(`baton explain: no trace of request ${requestId} (unknown, expired, not sampled, or explain is off${config.explain.enabled ? '' : ' in this configuration'})\n`);
      process.exit(1);
    }
    process.stdout.write(output);
  });

program
  .command('hash-secret')
  .description('Print the scrypt hash of a client secret read from standard input, for client_secret_hash.')
  .action(async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (secret.length < 16) {
      process.stderr.write('the secret must be at least 16 characters\n');
      process.exit(2);
    }
    const { hashSecret } = await import('./provider/client-secret.ts');
    process.stdout.write(`${await hashSecret(secret)}\n`);
  });

/** A request the configuration cannot run (unknown client, unreadable file, hook module missing): exit status 2. */
async function usageError(err: unknown): Promise<never> {
  const { EvaluationInputError } = await import('./explain/evaluate.ts');
  const { TraceSourceError } = await import('./explain/trace-source.ts');
  const { HookLoadError } = await import('./orchestration/hooks/index.ts');
  if (err instanceof EvaluationInputError || err instanceof TraceSourceError || err instanceof HookLoadError) {
    process.stderr.write(`baton: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

// A startup problem the operator must fix (wrong master secret, database held by another process):
// its message, no stack trace, and exit status 2 like a configuration error.
await program.parseAsync(process.argv).catch((err: unknown) => {
  if (!(err instanceof StartupError)) throw err;
  process.stderr.write(`baton: ${err.message}\n`);
  process.exit(2);
});
