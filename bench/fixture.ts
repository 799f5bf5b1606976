// The one client, API and token request of the client_credentials benchmark, shared by both servers
// and the load generator so Baton and bare oidc-provider are asked exactly the same thing.
export const RESOURCE = 'https://api.bench.example';
export const SCOPES = ['read', 'write'] as const;
export const REQUESTED_SCOPE = 'read';
export const CLIENT_ID = 'bench-service';
export const CLIENT_SECRET = 'bench-service-secret-0123456789';
export const TOKEN_TTL = 3600;

/** POST /token with client_secret_basic: the request every benchmark iteration sends. */
export const TOKEN_REQUEST = {
  path: '/token',
  method: 'POST',
  headers: {
    authorization: `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  },
  body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE, scope: REQUESTED_SCOPE }).toString(),
} as const;
