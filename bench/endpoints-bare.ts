// Benchmark child of bench/endpoints.ts: bare oidc-provider configured as Baton is for every grant
// measured (same client, ES256, JWT and opaque APIs, claims, PKCE, refresh tokens rotated on each
// use, introspection, userinfo, an unbounded Map as store like Baton's memory store), plus the minimal reference token exchange
// of endpoints-exchange.ts. Listens on 127.0.0.1:BENCH_PORT and seeds codes and refresh tokens on request.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type Configuration } from 'oidc-provider';

import { registerReferenceExchange } from './endpoints-exchange.ts';
import { MapAdapter } from './map-adapter.ts';
import {
  ACCOUNT_CLAIMS, ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, OPAQUE_RESOURCE, REDIRECT_URI, RESOURCE, SCOPES, servePrepare, TOKEN_EXCHANGE, TOKEN_TTL,
} from './endpoints-fixture.ts';
import { benchPort, serveBenchIpc } from './server-ipc.ts';

const port = benchPort();
const issuer = `http://127.0.0.1:${port}`;
const jwksUri = process.env.BENCH_PARTNER_JWKS;
if (!jwksUri) throw new Error('BENCH_PARTNER_JWKS must be set by bench/endpoints.ts');
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
const APIS = new Map([[RESOURCE, 'jwt'], [OPAQUE_RESOURCE, 'opaque']] as const);

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    response_types: ['code'],
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] } as Configuration['jwks'],
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  findAccount: (_ctx, sub) => (sub === ACCOUNT_ID ? { accountId: sub, claims: () => ({ sub, ...ACCOUNT_CLAIMS }) } : undefined),
  scopes: ['openid', 'email', 'profile', 'offline_access'],
  claims: { email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: { AuthorizationCode: 900 },
  routes: { introspection: '/introspect', userinfo: '/userinfo' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials names its API; a code without one yields an opaque token for userinfo.
      defaultResource: () => undefined as unknown as string,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        const format = APIS.get(indicator as never);
        if (!format) throw new errors.InvalidTarget('resource is unknown');
        return { scope: SCOPES.join(' '), audience: indicator, accessTokenTTL: TOKEN_TTL, accessTokenFormat: format, ...(format === 'jwt' ? { jwt: { sign: { alg: 'ES256' } } } : {}) };
      },
    },
  },
});
registerReferenceExchange(provider, jwksUri);

const server = createServer(provider.callback());
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
servePrepare(provider, (file, bodies) => writeFile(file, JSON.stringify(bodies)));
serveBenchIpc(issuer, () => new Promise((resolve) => {
  server.close(() => resolve());
  server.closeAllConnections();
}));
