// The BFF suite's world: a real upstream OP, Baton with a `bff` entry, an API that verifies Baton's
// JWT access tokens (src/dev/api.ts's verifier) and records what reached it, the SPA's page on its own
// origin, and another origin on the same site (same host, another port) playing the attacker.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

import { createRemoteJWKSet, type JWTPayload } from 'jose';
import { pino } from 'pino';

import { InvalidToken, verifyAccessToken } from '../../src/dev/api.ts';
import { freePort, startBaton, type RunningBaton } from '../helpers/baton.ts';
import type { CookieAgent } from '../helpers/browser-less.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

export const ORDERS = 'https://orders.api.example';
export const REPORTS = 'https://reports.api.example';
export const INVOICES = 'https://invoices.api.example';
const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';

export interface ApiCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly token?: string;
  readonly claims?: JWTPayload;
  readonly body: string;
}

export interface BffWorld {
  readonly baton: RunningBaton;
  readonly idp: Upstream;
  readonly spaOrigin: string;
  readonly evilOrigin: string;
  readonly apiUrl: string;
  /** Every request that reached the API, in order. */
  readonly calls: ApiCall[];
  /** Every line Baton logged (debug level and up). */
  readonly logs: string[];
  /** Makes the API answer 401 to the next n calls whatever the token (an API that rejects a token Baton thinks good). */
  rejectNext(n: number): void;
  stop(): Promise<void>;
}

/** The SPA's page: helpers the tests call through page.evaluate, as the app's own code would. */
function spaPage(batonUrl: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>SPA</title></head><body><h1>SPA</h1>
<script>
  const BFF = ${JSON.stringify(`${batonUrl}/bff/spa`)};
  window.bff = async (path, init = {}, csrf = true) => {
    const headers = { ...(init.headers || {}) };
    if (csrf) headers['X-CSRF'] = '1';
    try {
      const r = await fetch(BFF + '/' + path, { credentials: 'include', ...init, headers });
      return { status: r.status, body: await r.text() };
    } catch (e) {
      return { status: 0, body: String(e) };
    }
  };
  window.login = (returnTo) => { location.href = BFF + '/login?returnTo=' + encodeURIComponent(returnTo || location.origin + '/'); };
</script></body></html>`;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

export interface WorldOptions {
  readonly accessTokenTTL?: string;
  /** Baton's storage (default memory). */
  readonly storage?: Record<string, unknown>;
  readonly port?: number;
  /** Baton's clock (epoch ms), for session lifetimes. */
  readonly clock?: () => number;
}

export async function startBffWorld(options: WorldOptions = {}): Promise<BffWorld> {
  const port = options.port ?? (await freePort());
  const batonUrl = `http://127.0.0.1:${port}`;
  const calls: ApiCall[] = [];
  const logs: string[] = [];
  let rejecting = 0;
  const jwks = createRemoteJWKSet(new URL(`${batonUrl}/jwks`));

  const api = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://api');
      if (url.pathname.startsWith('/slow')) {
        setTimeout(() => res.writableEnded || res.end('late'), 3_000).unref();
        return;
      }
      if (url.pathname === '/status/hostile') {
        // An API that tries to speak for Baton's origin.
        res.writeHead(200, {
          'content-type': 'text/html', 'strict-transport-security': 'max-age=0', 'clear-site-data': '"cookies"', 'access-control-allow-origin': '*',
          'access-control-allow-credentials': 'false', vary: 'Accept', 'content-security-policy': 'frame-ancestors *', 'x-frame-options': 'ALLOWALL',
          'cache-control': 'public, max-age=60, s-maxage=600', etag: '"v1"', 'x-api-version': '7',
        });
        res.end('<p>hi</p>');
        return;
      }
      if (url.pathname === '/status/moved') {
        res.writeHead(302, { location: 'https://evil.example/steal' });
        res.end();
        return;
      }
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const audience = url.pathname.startsWith('/orders') ? ORDERS : url.pathname.startsWith('/reports') ? REPORTS : url.pathname.startsWith('/invoices') ? INVOICES : undefined;
      let claims: JWTPayload | undefined;
      if (token && audience) {
        try {
          claims = await verifyAccessToken(token, jwks, batonUrl, audience);
        } catch (err) {
          if (!(err instanceof InvalidToken)) throw err;
        }
      }
      calls.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, headers: req.headers, ...(token ? { token } : {}), ...(claims ? { claims } : {}), body: Buffer.concat(chunks).toString('utf8') });
      if (audience && (!claims || rejecting > 0)) {
        rejecting = Math.max(0, rejecting - 1);
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' });
        res.end(JSON.stringify({ error: 'invalid_token' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'api-session=from-the-api; Path=/', connection: 'close' });
      res.end(JSON.stringify({ path: url.pathname, method: req.method, sub: claims?.sub, scope: claims?.scope, aud: claims?.aud, client_id: claims?.client_id }));
    });
  });
  const spa = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(spaPage(batonUrl));
  });
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(spaPage(batonUrl).replace('<title>SPA</title>', '<title>Evil</title>'));
  });
  const [apiPort, spaPort, evilPort] = await Promise.all([listen(api), listen(spa), listen(evil)]);
  const spaOrigin = `http://127.0.0.1:${spaPort}`;
  const closedPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;

  const idp = await startUpstream({
    profile: 'generic',
    clients: [{ client_id: 'baton', client_secret: UPSTREAM_SECRET, redirect_uris: [`${batonUrl}/callback/corp`] }],
    users: [{ username: 'ann', password: 'ann-pw', claims: { email: 'ann@example.org', email_verified: true, name: 'Ann' } }],
  });
  const baton = await startBaton({
    ...(options.storage ? { storage: options.storage } : {}),
    upstreams: [{ id: 'corp', issuer: idp.issuer, clientId: 'baton', clientSecret: UPSTREAM_SECRET }],
    resources: [
      { id: ORDERS, scopes: ['orders:read', 'orders:write'], ...(options.accessTokenTTL ? { accessTokenTTL: options.accessTokenTTL } : {}) },
      { id: REPORTS, scopes: ['reports:read'] },
      { id: INVOICES, scopes: ['invoices:read'] },
    ],
    clients: [{
      client_id: 'spa-bff', client_name: 'Orders SPA', client_secret: '${WEB_SECRET}',
      redirect_uris: [`${batonUrl}/bff/spa/callback`], post_logout_redirect_uris: [`${spaOrigin}/`],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      resources: [{ id: ORDERS }, { id: REPORTS }, { id: INVOICES }],
      // Strict: any second presentation of a refresh token revokes the grant, so the BFF's own
      // concurrency must never present one twice.
      refreshTokenReuseGrace: 0,
    }, {
      client_id: 'spa-tokens', client_secret: '${WEB_SECRET}', redirect_uris: [`${batonUrl}/bff/tokens/callback`],
      resources: [{ id: ORDERS, scopes: ['orders:read'] }],
    }],
    bff: [{
      id: 'spa', clientId: 'spa-bff', origins: [spaOrigin],
      routes: [
        { name: 'orders', url: `${apiUrl}/orders`, methods: ['GET', 'POST'], resource: ORDERS },
        { name: 'reports', url: `${apiUrl}/reports`, token: 'client-credentials', resource: REPORTS },
        { name: 'status', url: `${apiUrl}/status`, token: 'none' },
        { name: 'my-reports', url: `${apiUrl}/reports`, resource: REPORTS },
        { name: 'invoices', url: `${apiUrl}/invoices`, resource: INVOICES },
        { name: 'slow', url: `${apiUrl}/slow`, token: 'none' },
        { name: 'gone', url: `http://127.0.0.1:${closedPort}/`, token: 'none' },
      ],
      proxy: { maxBodySize: 1024, timeout: '1s' },
    }, {
      // The token-mediating variant (RFC 10017 section 6.2), opted into.
      id: 'tokens', clientId: 'spa-tokens', origins: [spaOrigin], tokenEndpoint: true,
      routes: [{ name: 'orders', url: `${apiUrl}/orders`, resource: ORDERS }, { name: 'status', url: `${apiUrl}/status`, token: 'none' }],
    }],
  }, { port, logger: pino({ level: 'debug' }, { write: (line: string) => { logs.push(line); } }), ...(options.clock ? { clock: options.clock } : {}) });

  const close = (server: Server) => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return {
    baton, idp, spaOrigin, evilOrigin: `http://127.0.0.1:${evilPort}`, apiUrl, calls, logs,
    rejectNext: (n) => { rejecting = n; },
    stop: async () => {
      await baton.stop();
      await Promise.all([idp.stop(), close(api), close(spa), close(evil)]);
    },
  };
}

/**
 * Signs ann in through the BFF over plain HTTP (login, the upstream's form, the callbacks) and
 * returns the session cookie's value: for tests where no page is under test.
 */
export async function signInWithoutBrowser(world: BffWorld, agent: CookieAgent, bff = 'spa'): Promise<string> {
  let url = new URL(`${world.baton.url}/bff/${bff}/login?returnTo=${encodeURIComponent(`${world.spaOrigin}/`)}`);
  let response = await agent.request(url);
  for (let hops = 0; hops < 30; hops += 1) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url);
      if (url.origin === world.spaOrigin) {
        const cookie = agent.cookie(`baton-bff-${bff}`);
        if (!cookie) throw new Error('back at the SPA without a session cookie');
        return cookie;
      }
      response = await agent.request(url);
      continue;
    }
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)\/login"/.exec(page)?.[1];
    if (response.status !== 200 || !action) throw new Error(`BFF sign-in stopped at ${url.pathname} (${response.status}): ${page.slice(0, 200)}`);
    url = new URL(`${action.replaceAll('&amp;', '&')}/login`, url);
    response = await agent.request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: 'ann', password: 'ann-pw' }).toString() });
  }
  throw new Error('BFF sign-in: too many redirects');
}
