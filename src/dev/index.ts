// `baton dev`: the one-command demo. Starts, in this process, a demo IdP (Contoso), the demo APIs
// with the orders authorizer, Baton on examples/dev/baton.yaml, and the demo web app; prints every
// URL and credential; stops everything on Ctrl-C or SIGTERM.
import type { Server } from 'node:http';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

import type { JWTPayload } from 'jose';
import { pino } from 'pino';

import { formatIssue } from '../config/issues.ts';
import { loadConfigFile } from '../config/load.ts';
import { merged } from '../lang/merged.ts';
import { createAccessLogger, createLogger } from '../observability/logger.ts';
import { createBaton, type Baton } from '../server.ts';
import { privateDirectory, privateFile } from '../storage/data-files.ts';
import { demoApis } from './api.ts';
import { BatonClient } from './app/baton-client.ts';
import { demoApp } from './app/server.ts';
import { demoAuthorizer, ORDERS_POLICY } from './authorizer.ts';
import { banner } from './banner.ts';
import { close, listen, PortInUseError, type Handler } from './http.ts';
import { demoIdp } from './idp/server.ts';
import { DEMO_USERS } from './idp/users.ts';
import { LivePolicy } from './live-policy.ts';
import { demoParts, IDS } from './parts.ts';
import { checkPortsFree, ROLES, type DevPorts } from './ports.ts';

export interface DevOptions {
  readonly configFile: string;
  readonly dataDir: string;
  readonly ports: DevPorts;
  /** Where the demo's human-readable lines go (stdout). */
  readonly say: (line: string) => void;
}

export interface RunningDemo {
  stop(): Promise<void>;
}

export { PortInUseError };

export async function startDemo({ configFile, dataDir, ports, say }: DevOptions): Promise<RunningDemo> {
  await checkPortsFree(ports);
  privateDirectory(dataDir);
  const env = merged(process.env, { BATON_PORT: String(ports.baton), IDP_PORT: String(ports.idp), API_PORT: String(ports.api), APP_PORT: String(ports.app), DATA_DIR: dataDir });
  const config = loadConfigFile(configFile, { env, onWarning: (warning) => say(`warning: ${formatIssue(warning)}`) });
  const parts = demoParts(config);
  const logFile = join(dataDir, 'baton.log');
  privateFile(logFile);
  const destination = pino.destination({ dest: logFile, mkdir: true, sync: true });
  const logger = createLogger(config.logging.level, destination);
  const onError = (err: unknown) => logger.error({ err }, 'demo component failed');
  const policy = new LivePolicy(ORDERS_POLICY);

  const servers: Server[] = [];
  let baton: Baton | undefined;
  const stop = async () => {
    await Promise.all(servers.splice(0).map(close));
    await baton?.close();
    destination.flushSync();
  };
  const serve = async (handler: Handler, name: keyof DevPorts) => servers.push(await listen(handler, ports[name], ROLES[name].role, ROLES[name].flag, onError));

  try {
    const idpUrl = `http://localhost:${ports.idp}`;
    // The claims of the last id_token Contoso issued (to Baton) per demo user, for the app's "From Contoso" card.
    const upstreamIdTokens = new Map<string, JWTPayload>();
    await serve(demoIdp(idpUrl, {
      client_id: parts.upstream.client_id, client_secret: parts.upstream.client_secret, client_name: 'Baton', redirect_uris: [`${config.issuer}/callback/${IDS.upstream}`],
    }, DEMO_USERS, (claims) => { if (DEMO_USERS.some((u) => u.username === claims.sub)) upstreamIdTokens.set(claims.sub!, claims); }), 'idp');

    const authorizer = demoAuthorizer({
      issuer: config.issuer, id: parts.authorizer.id, namespace: parts.authorizer.namespace, policy: () => policy.current,
      onDecision: (request, decision) => say(`[authorizer] ${request.subject} (${request.grant_type}) asked ${request.scopes.join(' ')}: `
        + (decision.decision === 'grant' ? `granted ${decision.scopes.join(' ') || 'nothing'}` : `denied (${decision.reason})`)),
      onRefused: (reason) => say(`[authorizer] refused a request: ${reason}`),
    });
    const apis = demoApis({
      issuer: config.issuer,
      apis: [
        { path: '/orders', name: parts.orders.name ?? 'Orders API', audience: parts.orders.audience ?? parts.orders.id, readScope: 'orders:read', writeScope: 'orders:write' },
        { path: '/shipping', name: parts.shipping.name ?? 'Shipping API', audience: parts.shipping.audience ?? parts.shipping.id, readScope: 'shipping:read' },
      ],
      onCall: (api, status, sub) => say(`[api] ${api.name}: ${status}${sub ? ` for ${sub}` : ''}`),
    });
    await serve(async (req, res) => ((req.url ?? '').startsWith('/authorizer/decide') ? authorizer(req, res) : apis(req, res)), 'api');

    baton = await createBaton(config, { logger, accessLogger: createAccessLogger(config.logging.level, destination), configDir: dirname(configFile) });
    await baton.listen(ports.baton, '127.0.0.1').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EADDRINUSE' ? new PortInUseError(ports.baton, ROLES.baton.role, ROLES.baton.flag) : err;
    });

    const appUrl = `http://localhost:${ports.app}`;
    const client = await BatonClient.discover({
      issuer: config.issuer, appUrl, clientId: parts.app.client_id, clientSecret: parts.app.client_secret, deviceClientId: parts.device.client_id,
      resource: parts.orders.id, scope: ['openid', 'profile', 'email', ...parts.orders.scopes].join(' '), deviceScope: ['openid', 'profile', ...parts.orders.scopes].join(' '),
    });
    await serve(demoApp({
      baton: client,
      ordersApiUrl: `http://localhost:${ports.api}/orders`,
      apiScopes: parts.orders.scopes,
      exchangeTarget: { name: parts.shipping.name ?? 'Shipping API', url: `http://localhost:${ports.api}/shipping`, resource: parts.shipping.id, scope: parts.shipping.scopes.join(' ') },
      idpName: parts.upstream.name ?? 'the IdP',
      upstreamIdToken: (upstreamSub) => upstreamIdTokens.get(upstreamSub),
      policy,
    }), 'app');
  } catch (err) {
    await stop();
    throw err;
  }

  const shown = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  };
  say(banner({ ports, parts, users: DEMO_USERS, policy: ORDERS_POLICY, configFile: shown(configFile), dataDir: shown(dataDir), logFile: shown(logFile),
    ...(config.audit.output === 'file' ? { auditFile: shown(resolve(dirname(configFile), config.audit.file!)) } : {}) }));
  return { stop };
}
