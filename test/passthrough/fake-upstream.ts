// A small, real HTTP server playing an upstream IdP whose answers the test writes: its discovery
// document (any fields), its JWKS (one real RSA key), and a token endpoint that returns whatever
// id_token the test signs or forges. For what a real OP never does on purpose.
import { createServer, type IncomingMessage, type Server } from 'node:http';

import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

import { freePort } from '../helpers/baton.ts';

export interface FakeUpstream {
  readonly issuer: string;
  /** Extra or overriding discovery fields; `undefined` removes one. */
  metadata: Record<string, unknown>;
  /** 200 answers the document; anything else fails discovery with that status. */
  discoveryStatus: number;
  /** The token endpoint's next answers. */
  tokenResponse: { status: number; body: unknown };
  /** Form bodies and Authorization headers received at the token endpoint. */
  readonly received: Array<{ form: URLSearchParams; authorization?: string }>;
  /** The published key's kid. */
  readonly kid: string;
  /** Signs with the published key (or `key: 'foreign'`, a key with the same kid that is not published). */
  sign(claims: Record<string, unknown>, options?: { key?: 'published' | 'foreign'; header?: Record<string, unknown> }): Promise<string>;
  /** A valid payload for `clientId`, overridden by `claims` (undefined removes). */
  claims(clientId: string, claims?: Record<string, unknown>): Record<string, unknown>;
  document(): Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const kid = 'fake-upstream-key';
  const published = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(published.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const received: FakeUpstream['received'] = [];

  const fake: FakeUpstream = {
    issuer,
    metadata: {},
    discoveryStatus: 200,
    tokenResponse: { status: 200, body: {} },
    received,
    kid,
    sign: (claims, { key = 'published', header = {} } = {}) => new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT', ...header })
      .sign(key === 'published' ? published.privateKey : foreign.privateKey),
    claims(clientId, claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = { iss: issuer, sub: 'user-1', aud: clientId, iat: now, exp: now + 600, nonce: 'n-0S6_WzA2Mj', email: 'user@example.org', ...claims };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      return payload;
    },
    document() {
      const doc: Record<string, unknown> = {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        userinfo_endpoint: `${issuer}/userinfo`,
        revocation_endpoint: `${issuer}/revoke`,
        end_session_endpoint: `${issuer}/logout`,
        device_authorization_endpoint: `${issuer}/devicecode`,
        response_types_supported: ['code'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        ...fake.metadata,
      };
      for (const [k, v] of Object.entries(doc)) if (v === undefined) delete doc[k];
      return doc;
    },
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', issuer).pathname;
      if (path === '/.well-known/openid-configuration') return fake.discoveryStatus === 200 ? send(200, fake.document()) : send(fake.discoveryStatus, { error: 'server_error' });
      if (path === '/jwks') return send(200, { keys: [jwk] });
      if (path === '/token' && req.method === 'POST') {
        received.push({ form: new URLSearchParams(await readBody(req)), authorization: req.headers.authorization });
        return send(fake.tokenResponse.status, fake.tokenResponse.body);
      }
      send(404, { error: 'not_found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return fake;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
