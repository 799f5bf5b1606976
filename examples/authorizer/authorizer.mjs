// Example Baton authorizer owning the `orders:` scopes: verifies Baton's request JWT against
// Baton's JWKS and grants per a JSON policy file. Run: BATON_ISSUER=http://localhost:4000 node authorizer.mjs
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import { createRemoteJWKSet, jwtVerify } from 'jose';

const ISSUER = process.env.BATON_ISSUER ?? 'http://localhost:4000';
const JWKS_URL = process.env.BATON_JWKS_URL ?? `${ISSUER}/jwks`;
const AUTHORIZER_ID = process.env.AUTHORIZER_ID ?? 'orders';
const NAMESPACE = 'orders:';
const POLICY_FILE = process.env.POLICY_FILE ?? new URL('./policy.json', import.meta.url);
const HOST = process.env.HOST ?? '127.0.0.1';
const PORT = Number(process.env.PORT ?? 4100);
const MAX_BODY = 64 * 1024;

/** { subjects: { [sub]: { scopes: string[], claims?: object } } }, read once at startup. */
const policy = JSON.parse(readFileSync(POLICY_FILE, 'utf8'));
const jwks = createRemoteJWKSet(new URL(JWKS_URL));

const log = (record) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

async function readBody(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** The decision: the requested `orders:` scopes the policy allows this subject; deny when none. */
function decide(request) {
  const entry = Object.hasOwn(policy.subjects ?? {}, request.subject) ? policy.subjects[request.subject] : undefined;
  if (!entry) return { decision: 'deny', reason: 'no orders access for this subject' };
  const allowed = new Set(entry.scopes ?? []);
  const scopes = request.scopes.filter((scope) => scope.startsWith(NAMESPACE) && allowed.has(scope));
  if (scopes.length === 0) return { decision: 'deny', reason: 'none of the requested orders scopes is allowed' };
  return { decision: 'grant', scopes, ...(entry.claims ? { claims: entry.claims } : {}) };
}

const server = createServer(async (req, res) => {
  if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed' });
  const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(req.headers.authorization ?? '')?.[1];
  let jwt;
  try {
    if (!token) throw new Error('no bearer token');
    ({ payload: jwt } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: AUTHORIZER_ID, maxTokenAge: '90s', requiredClaims: ['exp', 'iat', 'sub'] }));
  } catch (err) {
    log({ event: 'refused', reason: err.code ?? err.message });
    return send(res, 401, { error: 'invalid_token' });
  }
  let request;
  try {
    request = await readBody(req);
    if (typeof request.subject !== 'string' || !Array.isArray(request.scopes)) throw new Error('missing subject or scopes');
  } catch (err) {
    return send(res, 400, { error: 'invalid_request', error_description: err.message });
  }
  // The JWT vouches for the subject and client: the body must be about the same ones.
  if (request.subject !== jwt.sub || request.client_id !== jwt.client_id) {
    log({ event: 'refused', reason: 'body does not match the JWT' });
    return send(res, 401, { error: 'invalid_token' });
  }
  const answer = decide(request);
  log({ event: 'decision', subject: request.subject, client_id: request.client_id, requested: request.scopes, ...answer });
  send(res, 200, answer);
});

server.listen(PORT, HOST, () => {
  const { address, port } = server.address();
  log({ event: 'listening', url: `http://${address}:${port}`, issuer: ISSUER, jwks: JWKS_URL, audience: AUTHORIZER_ID });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
