// Rules that span several fields or entries (references, duplicates, combinations the schema cannot
// express). Each entry is parsed on its own, so these run even when another part of the file is
// broken: every problem is reported in one pass.
import { z } from 'zod';

import type { ConfigIssue } from './issues.ts';
import { clientSchema, keysSchema, resourceSchema, type SigningAlgorithm } from './schema.ts';
import { upstreamSchema } from './upstreams.ts';
import { authorizerSchema } from './orchestration.ts';
import { checkPassthrough } from './passthrough.ts';
import { checkBff, type BffClientFacts } from './bff.ts';
import { checkAuthorizerConfigs } from '../orchestration/authorizers/namespaces.ts';
import { resolveUpstream } from '../upstream/resolve.ts';

// Lenient twins of the entry schemas: unknown keys are the strict schema's to report, and must not
// hide the cross-field problems of an otherwise readable entry.
const lenientClient = z.object(clientSchema.shape);
const lenientResource = z.object(resourceSchema.shape);
const lenientKeys = z.object(keysSchema.shape);

type ParsedClient = z.output<typeof lenientClient>;
type ParsedResource = z.output<typeof lenientResource>;

function entries(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

export function crossCheck(raw: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const metricsPort = field(field(raw, 'metrics'), 'port');
  const serverPort = field(field(raw, 'server'), 'port') ?? 4000;
  if (typeof metricsPort === 'number' && metricsPort !== 0 && metricsPort === serverPort) {
    issues.push({ path: ['metrics', 'port'], message: `metrics.port must differ from server.port (${metricsPort}); omit it to serve /metrics on the main port` });
  }
  const keys = lenientKeys.safeParse(field(raw, 'keys') ?? {});
  const algorithms = keys.success ? new Set<SigningAlgorithm>(keys.data.signing) : undefined;

  if (keys.success && field(raw, 'development') !== true) {
    const { masterSecret, masterSecretFile } = keys.data;
    if (masterSecret === undefined && masterSecretFile === undefined) {
      issues.push({ path: ['keys'], message: 'a master secret is required: set keys.masterSecret (e.g. "${BATON_MASTER_SECRET}") or keys.masterSecretFile, or development: true for local use' });
    }
  }
  if (keys.success && keys.data.masterSecret !== undefined && keys.data.masterSecretFile !== undefined) {
    issues.push({ path: ['keys'], message: 'set either masterSecret or masterSecretFile, not both' });
  }
  if (keys.success && new Set(keys.data.signing).size !== keys.data.signing.length) {
    issues.push({ path: ['keys', 'signing'], message: 'must not list an algorithm twice' });
  }

  const resources = new Map<string, ParsedResource>();
  // Ids written in the file, parsed or not: a broken resource must not also make its clients fail.
  const declaredIds = new Set(entries(field(raw, 'resources')).map((r) => field(r, 'id')).filter((id) => typeof id === 'string'));
  entries(field(raw, 'resources')).forEach((rawResource, i) => {
    const parsed = lenientResource.safeParse(rawResource);
    if (!parsed.success) return;
    const resource = parsed.data;
    if (resources.has(resource.id)) {
      issues.push({ path: ['resources', i, 'id'], message: 'duplicate resource id' });
    }
    resources.set(resource.id, resource);
    if (new Set(resource.scopes).size !== resource.scopes.length) {
      issues.push({ path: ['resources', i, 'scopes'], message: 'must not list a scope twice' });
    }
    if (resource.signingAlg && algorithms && !algorithms.has(resource.signingAlg)) {
      issues.push({ path: ['resources', i, 'signingAlg'], message: 'must be one of keys.signing' });
    }
  });

  const authorizers = entries(field(raw, 'authorizers')).map((a) => z.object(authorizerSchema.shape).safeParse(a));
  if (authorizers.every((a) => a.success)) {
    for (const problem of checkAuthorizerConfigs(authorizers.map((a) => a.data!))) {
      const match = /^authorizers\[(\d+)\]\.?([\w]*): (.*)$/.exec(problem);
      issues.push(match ? { path: ['authorizers', Number(match[1]), ...(match[2] ? [match[2]] : [])], message: match[3]! } : { path: ['authorizers'], message: problem });
    }
  }

  const upstreamIds = new Set<string>();
  const upstreamTypes = new Map<unknown, 'oidc' | 'oauth2' | undefined>();
  entries(field(raw, 'upstreams')).forEach((rawUpstream, i) => {
    upstreamTypes.set(field(rawUpstream, 'id'), undefined);
    const parsed = z.object(upstreamSchema.shape).safeParse(rawUpstream);
    if (!parsed.success) return;
    if (upstreamIds.has(parsed.data.id)) issues.push({ path: ['upstreams', i, 'id'], message: 'duplicate upstream id' });
    upstreamIds.add(parsed.data.id);
    const resolved = resolveUpstream(parsed.data);
    upstreamTypes.set(parsed.data.id, resolved.upstream?.type);
    for (const issue of resolved.issues) {
      issues.push({ path: ['upstreams', i, ...(issue.key ? [issue.key] : [])], message: issue.message });
    }
  });
  const declaredUpstreams = new Set(entries(field(raw, 'upstreams')).map((u) => field(u, 'id')));
  const resourceScopes = new Map<unknown, readonly string[] | undefined>([...declaredIds].map((id) => [id, resources.get(id as string)?.scopes]));
  issues.push(...checkPassthrough(field(raw, 'passthrough'), { upstreams: upstreamTypes, resources: resourceScopes, algorithms }));

  const clientIds = new Set<string>();
  const publicClients = new Set<string>();
  const bffClients = new Map<string, BffClientFacts>();
  entries(field(raw, 'clients')).forEach((rawClient, i) => {
    const parsed = lenientClient.safeParse(rawClient);
    if (!parsed.success) return;
    bffClients.set(parsed.data.client_id, {
      confidential: parsed.data.token_endpoint_auth_method !== 'none' && parsed.data.client_secret !== undefined,
      grantTypes: parsed.data.grant_types, redirectUris: parsed.data.redirect_uris, resources: parsed.data.resources.map((r) => r.id),
    });
    if (parsed.data.token_endpoint_auth_method === 'none') publicClients.add(parsed.data.client_id);
    if (clientIds.has(parsed.data.client_id)) {
      issues.push({ path: ['clients', i, 'client_id'], message: 'duplicate client_id' });
    }
    clientIds.add(parsed.data.client_id);
    issues.push(...checkClient(parsed.data, i, resources, declaredIds, algorithms));
    parsed.data.rules?.forEach((rule, r) => {
      if ((rule.allow === undefined) === (rule.deny === undefined)) issues.push({ path: ['clients', i, 'rules', r], message: 'a rule has exactly one of allow or deny' });
    });
    parsed.data.upstreams?.forEach((id, u) => {
      if (!declaredUpstreams.has(id)) issues.push({ path: ['clients', i, 'upstreams', u], message: 'is not the id of a declared upstream' });
    });
  });

  issues.push(...checkBff(field(raw, 'bff'), field(raw, 'issuer'), bffClients, declaredIds));

  // RFC 7662 section 4: introspection rights go to authenticated resource servers only.
  const declaredClients = new Set(entries(field(raw, 'clients')).map((c) => field(c, 'client_id')));
  entries(field(raw, 'resources')).forEach((rawResource, i) => {
    entries(field(rawResource, 'introspectors')).forEach((clientId, c) => {
      if (typeof clientId !== 'string') return;
      if (!declaredClients.has(clientId)) issues.push({ path: ['resources', i, 'introspectors', c], message: 'is not the client_id of a declared client' });
      else if (publicClients.has(clientId)) issues.push({ path: ['resources', i, 'introspectors', c], message: 'a public client ("none") cannot introspect: it does not authenticate' });
    });
  });
  entries(field(field(raw, 'explain'), 'readers')).forEach((clientId, c) => {
    if (typeof clientId !== 'string') return;
    if (!declaredClients.has(clientId)) issues.push({ path: ['explain', 'readers', c], message: 'is not the client_id of a declared client' });
    else if (publicClients.has(clientId)) issues.push({ path: ['explain', 'readers', c], message: 'a public client ("none") cannot read traces: it does not authenticate' });
  });

  return issues;
}

function checkClient(
  client: ParsedClient,
  i: number,
  resources: ReadonlyMap<string, ParsedResource>,
  declaredIds: ReadonlySet<unknown>,
  algorithms: ReadonlySet<SigningAlgorithm> | undefined,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (...path: Array<string | number>) => ['clients', i, ...path];
  const grants = new Set(client.grant_types);
  const isPublic = client.token_endpoint_auth_method === 'none';
  const hasSecret = client.client_secret !== undefined;
  const hasHash = client.client_secret_hash !== undefined;

  if (isPublic && (hasSecret || hasHash)) {
    issues.push({ path: at('token_endpoint_auth_method'), message: 'a public client ("none") must not have a secret' });
  }
  if (!isPublic && !hasSecret && !hasHash) {
    issues.push({ path: at(), message: `client_secret or client_secret_hash is required for ${client.token_endpoint_auth_method}` });
  }
  if (hasSecret && hasHash) {
    issues.push({ path: at(), message: 'set either client_secret or client_secret_hash, not both' });
  }
  if (isPublic && grants.has('client_credentials')) {
    issues.push({ path: at('grant_types'), message: 'client_credentials requires an authenticated (confidential) client' });
  }
  if (isPublic && !client.requirePkce) {
    issues.push({ path: at('requirePkce'), message: 'public clients must use PKCE' });
  }
  const signsIn = ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'].filter((grant) => grants.has(grant as never));
  if (client.scopes.length === 0 && signsIn.length > 0) {
    issues.push({ path: at('scopes'), message: `must not be empty with ${signsIn.join(' or ')}: list the OpenID Connect scopes it may request (an empty list is for clients without a user sign-in, such as client_credentials)` });
  }
  if (grants.has('authorization_code') && client.redirect_uris.length === 0) {
    issues.push({ path: at('redirect_uris'), message: 'at least one redirect URI is required for authorization_code' });
  }
  if (grants.has('refresh_token') && !grants.has('authorization_code') && !grants.has('urn:ietf:params:oauth:grant-type:device_code') && !grants.has('urn:ietf:params:oauth:grant-type:token-exchange')) {
    issues.push({ path: at('grant_types'), message: 'refresh_token requires authorization_code, device_code or token exchange' });
  }
  if (new Set(client.grant_types).size !== client.grant_types.length) {
    issues.push({ path: at('grant_types'), message: 'must not list a grant type twice' });
  }
  if (client.id_token_signed_response_alg && algorithms && !algorithms.has(client.id_token_signed_response_alg)) {
    issues.push({ path: at('id_token_signed_response_alg'), message: 'must be one of keys.signing' });
  }
  client.resources.forEach((allowed, r) => {
    if (!declaredIds.has(allowed.id)) {
      issues.push({ path: at('resources', r, 'id'), message: 'is not the id of a declared resource' });
      return;
    }
    const resource = resources.get(allowed.id);
    if (!resource) return;
    allowed.scopes?.forEach((scope, s) => {
      if (!resource.scopes.includes(scope)) {
        issues.push({ path: at('resources', r, 'scopes', s), message: `is not a scope of resource ${resource.id}` });
      }
    });
  });
  return issues;
}
