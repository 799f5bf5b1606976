// Benchmark child (b): bare oidc-provider configured as close to Baton as possible for this grant
// (same client, JWT ES256 resource server, default memory adapter; more clients: growth-fixture.ts). Listens on 127.0.0.1:BENCH_PORT.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type Configuration } from 'oidc-provider';

import { CLIENT_ID, CLIENT_SECRET, RESOURCE, SCOPES, TOKEN_TTL } from './fixture.ts';
import { extraClients, growth } from './growth-fixture.ts';
import { benchPort, serveBenchIpc } from './server-ipc.ts';

const port = benchPort();
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [...extraClients(growth()).map((c) => ({
    ...c,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic' as const,
  })), {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] } as Configuration['jwks'],
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget('resource is unknown');
        return { scope: SCOPES.join(' '), audience: RESOURCE, accessTokenTTL: TOKEN_TTL, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
});

const server = createServer(provider.callback());
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
serveBenchIpc(issuer, () => new Promise((resolve) => {
  server.close(() => resolve());
  server.closeAllConnections();
}));
