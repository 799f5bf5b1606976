// Composition root: config -> storage -> keys -> provider -> routes -> HTTP listener.
// The provider is rebuilt when the stored key set changes (e.g. `baton keys rotate` from another
// process), so a rotation is served without a restart; all state lives in the store, so the swap
// is invisible to clients.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import Router from '@koa/router';
import type Provider from 'oidc-provider';

import type { BatonConfig } from './config/schema.ts';
import { edge } from './http/edge.ts';
import { logApplicationErrors } from './http/errors.ts';
import { Listeners } from './http/listeners.ts';
import { attemptLimit } from './http/attempt-limit.ts';
import { postAsGet } from './http/post-as-get.ts';
import { providerRoutes } from './http/provider-route.ts';
import { addHealthRoutes, addMetricsRoute, metricsListener } from './http/health.ts';
import { pinOrigin } from './http/pin-origin.ts';
import { addInteractionRoutes } from './interactions/routes.ts';
import { UPSTREAM_LOGOUT_RETURN, UpstreamLogout } from './interactions/upstream-logout.ts';
import { KeyStore, type LoadedKeySet } from './keys/key-store.ts';
import { nextSwitch } from './keys/keyset.ts';
import { keyActivationDelay, keyRetention } from './keys/policy.ts';
import { resolveMasterSecret } from './keys/master-secret.ts';
import { migrateTokenIdsAtStart } from './provider/token-ids-migration.ts';
import { TOKEN_IDS_PURPOSE } from './provider/tokens-at-rest.ts';
import { deriveKey } from './keys/seal.ts';
import { createAccessLogger, createLogger, type Logger } from './observability/logger.ts';
import { createExplain, type TraceWrites } from './explain/index.ts';
import { measuredStore, Metrics } from './observability/metrics.ts';
import { reportReuse, subscribeToProviderEvents } from './observability/provider-events.ts';
import { openAuditLog } from './observability/audit-log.ts';
import { Events } from './observability/events.ts';
import { instrumentConnector } from './observability/upstream-calls.ts';
import { buildProvider } from './provider/index.ts';
import { revokeGrant } from './provider/adapter.ts';
import { revokeDerivedGrants } from './provider/grant-lineage.ts';
import { openStore } from './storage/index.ts';
import { rootPage } from './http/root-page.ts';
import { handedOverDecider } from './http/lean-handoff.ts';
import { type LeanGrant, leanTokenPath, type LeanTraces } from './http/lean-token.ts';
import { leanClientCredentials } from './grants/lean-client-credentials.ts';
import { leanProviderGrants } from './grants/lean-provider-grant.ts';
import { TOKEN_EXCHANGE } from './config/schema.ts';
import { ResourcePolicy } from './provider/resources.ts';
import { SecretVerifier } from './provider/client-secret.ts';
import { STATIC_SCOPES } from './provider/claims.ts';
import { lockSqliteStorage } from './storage/sqlite/instance-lock.ts';
import { createUpstreams } from './upstream/index.ts';
import { UpstreamVault } from './upstream/vault.ts';
import { UpstreamSessions } from './upstream/session.ts';
import { Authorizers } from './orchestration/authorizers/index.ts';
import { requestSigner } from './orchestration/request-signer.ts';
import { authorizerDecider } from './orchestration/token-decisions.ts';
import { HookPoints } from './orchestration/hook-points.ts';
import { userinfoHook } from './provider/hooked-claims.ts';
import { IntrospectionPolicy, jwtIntrospection } from './provider/introspection.ts';
import { devicePolling } from './provider/device-polling.ts';
import { type Clock, type Store, systemClock } from './storage/store.ts';
import { addPassthroughRoutes, createPassthroughs, PASSTHROUGH_PREFIX } from './passthrough/index.ts';
import { addBffRoutes, BFF_PREFIX, BffSessions, createBffs } from './bff/index.ts';

const COLLECT_EVERY_MS = 10 * 60 * 1000;

export interface BatonOptions {
  readonly logger?: Logger;
  /**
   * Where the lines written for every request of a kind go (`request`, `token exchanged`, authorizers'
   * `info` decisions and shadow lines, `hook ran`: fixed fields, no redaction); defaults to `logger`
   * when one is given, else a buffered, unredacted stdout logger.
   */
  readonly accessLogger?: Logger;
  readonly clock?: Clock;
  /** How often to look for a key set changed by another process (ms); 0 disables. Default `keys.reloadInterval`. */
  readonly keyReloadInterval?: number;
  /** Use this store instead of opening the configured one (tests). Baton still closes it. */
  readonly store?: Store;
  /** Directory that relative paths in the configuration (hook modules) are resolved from. */
  readonly configDir?: string;
  /** The event bus (tests subscribe to it); one is created when absent. */
  readonly events?: Events;
  /** Answer token requests on the lean token path where it can (http/lean-token.ts); default true. False: always the full pipeline (tests compare the two). */
  readonly leanTokenPath?: boolean;
  /** Decision traces for the lean token path; default: the edge's (`explain`), so both paths trace alike. */
  readonly traces?: LeanTraces;
  /** How decision traces are batched into writes (tests: a longer flush delay writes a burst at once). */
  readonly traceWrites?: TraceWrites;
}

export interface Baton {
  readonly config: BatonConfig;
  readonly store: Store;
  readonly logger: Logger;
  readonly events: Events;
  /** The provider currently serving requests. */
  readonly provider: Provider;
  /** Node request listener; dispatches to the current provider. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** The separate metrics listener's address, when `metrics.port` is set (after `listen`). */
  readonly metricsAddress?: AddressInfo;
  /** Rebuilds the provider when the stored key set changed; resolves whether it did. */
  reloadKeys(): Promise<boolean>;
  /** Stops accepting connections, lets in-flight requests finish (up to the grace period), closes the store. */
  close(): Promise<void>;
}

export async function createBaton(config: BatonConfig, options: BatonOptions = {}): Promise<Baton> {
  const logger = options.logger ?? createLogger(config.logging.level);
  const accessLogger = options.accessLogger ?? options.logger ?? createAccessLogger(config.logging.level);
  const clock = options.clock ?? systemClock;
  const metrics = new Metrics();
  // One server process per SQLite file: a second one is refused before it touches the database.
  const unlock = options.store ? undefined : lockSqliteStorage(config.storage);
  let store: ReturnType<typeof measuredStore>;
  try {
    store = measuredStore(options.store ?? openStore(config.storage, { clock }), metrics);
  } catch (err) {
    unlock?.();
    throw err;
  }
  const events = options.events ?? new Events((err, event) => logger.error({ err, eventType: event.type }, 'an event subscriber failed'));
  let audit: ReturnType<typeof openAuditLog>;

  try {
    audit = openAuditLog(config.audit, options.configDir ?? process.cwd(), clock);
    if (audit) events.subscribe(audit.record);
    const masterSecret = resolveMasterSecret(config);
    if (masterSecret.development) {
      logger.warn({ source: masterSecret.source }, 'DEVELOPMENT MODE: using a generated master secret. Keys are protected only by a file next to the database. Never run this in production.');
    }
    const keyStore = new KeyStore({
      store,
      sealKey: deriveKey(masterSecret.value, 'keyset-at-rest'),
      algorithms: config.keys.signing,
      retention: keyRetention(config),
      activationDelay: keyActivationDelay(config),
      clock,
    });
    const cookieKeys = [deriveKey(masterSecret.value, 'cookie-signing').toString('base64url')];
    const tokenIdsKey = deriveKey(masterSecret.value, TOKEN_IDS_PURPOSE);
    const tokenIds = await migrateTokenIdsAtStart(store, tokenIdsKey);
    if (Object.keys(tokenIds.moved).length > 0) logger.info({ moved: tokenIds.moved }, 'stored tokens moved to hashed ids');
    const upstreams = createUpstreams(config, (connector) => instrumentConnector(connector, metrics));
    const vault = new UpstreamVault(store, deriveKey(masterSecret.value, 'upstream-vault'), config.ttl.grant);
    const sessions = new UpstreamSessions({ config, store, vault, upstreams, logger, events, now: clock });
    events.subscribe((event) => { if (event.type === 'upstream.refresh') metrics.countUpstreamRefresh(event); }, ['upstream.refresh']);
    const upstreamLogout = new UpstreamLogout({ config, store, vault, upstreams, logger });
    const authorizers = config.authorizers.length === 0 ? undefined : new Authorizers(config.authorizers, {
      sign: requestSigner(config.issuer, config.keys.signing[0]!, () => keys.keys, clock),
      store,
      logger,
      requestLogger: accessLogger,
      events,
      clock,
      onShadow: (authorizer, disagreements) => { if (disagreements > 0) metrics.shadowDisagreements.inc({ authorizer }, disagreements); },
    });
    // Replayed, not asked again, when the lean token path hands a request over (http/lean-handoff.ts).
    const decideScopes = authorizers && handedOverDecider(authorizerDecider(authorizers, store, metrics));
    const resources = new ResourcePolicy(config, decideScopes);
    const secrets = new SecretVerifier();
    const hooks = await HookPoints.load(config, options.configDir ?? process.cwd(), {
      store,
      logger,
      requestLogger: accessLogger,
      onEvent: (event, clientId, reqId) => {
        metrics.hooks.observe({ hook: event.hook, result: event.type === 'hook.ran' ? 'ran' : event.kind }, event.latencyMs / 1000);
        if (event.type === 'hook.failed') events.emit('hook.failed', { hook: event.hook, kind: event.kind, latencyMs: event.latencyMs, ...(clientId === undefined ? {} : { clientId }), ...(reqId === undefined ? {} : { reqId }) });
      },
    });
    let keys = await keyStore.load();
    logger.info({ kids: keys.keys.keys.map((k) => k.kid), storage: store.kind }, 'signing keys loaded');
    events.emit('config.loaded', {
      issuer: config.issuer, fingerprint: configFingerprint(config), storage: store.kind,
      clients: config.clients.length, upstreams: config.upstreams.length, resources: config.resources.length, authorizers: config.authorizers.length,
    });
    const passthroughs = createPassthroughs({ config, store, logger, events, upstreams, hooks, authorizers, metrics, keys: () => keys.keys, secret: deriveKey(masterSecret.value, 'passthrough-refresh'), clock });

    const bffSessions = new BffSessions(store, deriveKey(masterSecret.value, 'bff-sessions'), clock);
    const bffs = createBffs({ config, store, sessions: bffSessions, logger, clock });

    const clientIds = new Set(config.clients.map((c) => c.client_id));
    const explain = createExplain({
      config, store, logger, metrics, redactionKey: deriveKey(masterSecret.value, 'trace-redaction'),
      paths: { token: '/token', authorization: '/authorize', passthroughPrefix: PASSTHROUGH_PREFIX, bffPrefix: BFF_PREFIX },
      ...(options.traceWrites ? { writes: options.traceWrites } : {}),
    });
    const assemble = (loaded: LoadedKeySet) => {
      const provider = buildProvider({
        config,
        store,
        keys: loaded.keys,
        cookieKeys,
        tokenIdsKey,
        onReuse: (event) => {
          reportReuse(logger, events, { model: event.model, ...(event.clientId ? { clientId: event.clientId } : {}) });
          if (event.grantId) sessions.end(event.grantId).catch((err) => logger.error({ err }, 'ending the upstream session failed'));
        },
        sessions,
        logger,
        requestLogger: accessLogger,
        events,
        decideScopes,
        hooks,
        upstreams,
        now: Math.floor(clock() / 1000),
        metrics,
        clock,
        onLogoutPage: (ctx) => upstreamLogout.prepare(ctx),
        resources,
        secrets,
      });
      pinOrigin(provider, config.issuer);
      subscribeToProviderEvents(provider, { logger, metrics, events, clientIds });
      // Whenever a grant ends (logout, revocation, reuse), its upstream refresh token is revoked too.
      provider.on('grant.revoked', (_ctx, grantId: string) => {
        sessions.end(grantId).catch((err) => logger.error({ err }, 'ending the upstream session failed'));
        // ...and every grant a token exchange derived from it (provider/grant-lineage.ts).
        revokeDerivedGrants(store, grantId, (derived) => revokeGrant(store, derived)).catch((err) => logger.error({ err }, 'revoking the exchanged grants failed'));
        // ...and the BFF sessions signed in through it (bff/sessions.ts also checks the grant on every use).
        bffSessions.endGrant(grantId).catch((err) => logger.error({ err }, 'ending the BFF sessions failed'));
      });
      const storageDown = () => store.ping().then(() => false, () => true);
      const routes = new Router();
      addHealthRoutes(routes, [
        { name: 'storage', check: () => store.ping() },
        { name: 'keys', check: async () => { if (loaded.keys.keys.length === 0) throw new Error('no keys'); } },
      ]);
      if (config.metrics.enabled && config.metrics.port === undefined) addMetricsRoute(routes, metrics);
      addInteractionRoutes(routes, { provider, config, store, upstreams, vault, logger, events, hooks, sessions });
      addPassthroughRoutes(routes, passthroughs);
      addBffRoutes(routes, bffs);
      upstreamLogout.addRoute(routes);
      explain?.addRoute(routes);
      provider.use(edge({ accessLogger, logger, routes, ...(explain ? { explain: explain.edge } : {}), prefixes: ['/healthz', '/readyz', '/metrics', '/interaction/', '/callback/', PASSTHROUGH_PREFIX, BFF_PREFIX, UPSTREAM_LOGOUT_RETURN, ...(explain ? [explain.prefix] : [])], after: [jwtIntrospection(config, loaded.keys, new IntrospectionPolicy(config), store), userinfoHook(hooks, store), devicePolling(store, config.ttl.deviceCode), upstreamLogout.continue, rootPage(config.issuer)], storageDown }));
      // RFC 8628 section 5.1: at most 20 user-code submissions per address per 5 minutes.
      provider.use(attemptLimit({ route: 'code_verification', resolveRoute: providerRoutes(provider), formPath: provider.pathFor('code_verification'), max: 20, windowMs: 5 * 60_000, sessionCookie: 'baton_session', store, logger, now: clock }));
      // oidc-provider 9: the Provider is the Koa application itself (its `.app` getter is deprecated).
      logApplicationErrors(provider, logger);
      // OIDC Core 3.1.2.1 and RP-Initiated Logout section 2: GET and POST (http/post-as-get.ts).
      provider.use(postAsGet({ resolveRoute: providerRoutes(provider), routes: ['authorization', 'end_session'], logger }));
      const full = provider.callback();
      const leanTraces = options.traces ?? explain?.edge.lean;
      if (options.leanTokenPath === false) return { provider, handle: full };
      // Token requests without the Koa pipeline where the lean path answers them alike (http/lean-token.ts).
      const grants = new Map<string, LeanGrant>([
        ['client_credentials', leanClientCredentials({ provider, resources, secrets, staticScopes: new Set(STATIC_SCOPES) })],
        // The grants oidc-provider runs a handler for: the same handler, without the pipeline in front of it.
        ...leanProviderGrants(provider, secrets, [TOKEN_EXCHANGE, 'authorization_code', 'refresh_token']),
      ]);
      return { provider, handle: leanTokenPath(provider.pathFor('token'), full, { provider, accessLogger, grants, storageDown, ...(leanTraces ? { traces: leanTraces } : {}) }) };
    };

    let current = assemble(keys);
    const handle = (req: IncomingMessage, res: ServerResponse) => current.handle(req, res);

    /** Rebuilds the provider when the stored set changed, or when a key starts or stops signing. */
    let switchAt = nextSwitch(keys.keys, Math.floor(clock() / 1000));
    const reloadKeys = async (): Promise<boolean> => {
      const due = switchAt !== undefined && Math.floor(clock() / 1000) >= switchAt;
      if (!due && (await keyStore.version()) === keys.version) return false;
      keys = await keyStore.load();
      switchAt = nextSwitch(keys.keys, Math.floor(clock() / 1000));
      current = assemble(keys);
      logger.info({ kids: keys.keys.keys.map((k) => k.kid) }, 'signing keys reloaded');
      events.emit('keys.reloaded', { kids: keys.keys.keys.map((k) => k.kid) });
      return true;
    };

    const timers: NodeJS.Timeout[] = [];
    const every = (ms: number, task: () => Promise<unknown>, what: string) => {
      if (ms > 0) timers.push(setInterval(() => task().catch((err) => logger.error({ err }, `${what} failed`)), ms).unref());
    };
    every(options.keyReloadInterval ?? config.keys.reloadInterval * 1000, reloadKeys, 'key reload');
    every(COLLECT_EVERY_MS, () => store.collectExpired(), 'expired record collection');
    every(1000, async () => {
      accessLogger.flush();
      audit?.flush();
    }, 'log flush');

    const listeners = new Listeners();
    let closing: Promise<void> | undefined;

    return {
      config,
      store,
      logger,
      events,
      get metricsAddress() {
        return listeners.metricsAddress;
      },
      get provider() {
        return current.provider;
      },
      handle,
      reloadKeys,
      listen(port = config.server.port, host = config.server.host) {
        const separate = config.metrics.enabled && config.metrics.port !== undefined;
        return listeners.open(handle, port, host, config.server, separate ? { handle: metricsListener(metrics), port: config.metrics.port!, host: config.metrics.host ?? host } : undefined);
      },
      close() {
        closing ??= (async () => {
          timers.forEach(clearInterval);
          try {
            await listeners.close(config.server.shutdownGracePeriod * 1000);
            await explain?.close();
            await store.close();
            unlock?.();
          } finally {
            // Even when a step above failed (the process exits next): the buffered request lines are written.
            accessLogger.flush();
            audit?.close();
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    audit?.close();
    await store.close();
    unlock?.();
    throw err;
  }
}

/** A fingerprint that tells configurations apart in the audit log without revealing any of their values. */
function configFingerprint(config: BatonConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}
