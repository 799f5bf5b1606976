// What the passthrough grants share: the request they answer, the upstream's token endpoint (timed
// into the metrics), and the one orchestration pipeline every flow goes through.
import { timedCall } from '../observability/metrics.ts';
import { authorizeUser, type PipelineUser } from '../orchestration/pipeline.ts';
import type { PassthroughDeps, PassthroughEntry } from './entries.ts';
import { invalidGrant, PassthroughError } from './errors.ts';
import type { ClientCredentials } from './request.ts';
import type { UpstreamEndpoints } from './upstream-token.ts';

export interface Step {
  readonly deps: PassthroughDeps;
  readonly entry: PassthroughEntry;
  readonly client: ClientCredentials;
  readonly form: URLSearchParams;
  readonly requestId: string;
}
/** An upstream token request, timed into baton_upstream_request_seconds and traced like the connectors' calls. */
export function measured<T>(deps: PassthroughDeps, entry: PassthroughEntry, operation: string, call: () => Promise<T>): Promise<T> {
  if (!deps.metrics) return call();
  return timedCall(deps.metrics.upstreams, { upstream: entry.settings.id, operation }, `upstream.${operation}`, { 'baton.upstream': entry.settings.id }, call,
    (err) => (err instanceof PassthroughError ? (err.status >= 500 ? 'unreachable' : 'grant_refused') : 'error'));
}

export async function endpoints(entry: PassthroughEntry): Promise<UpstreamEndpoints> {
  return { metadata: await entry.discovery.get(), timeoutMs: entry.settings.timeoutMs, realm: entry.issuer };
}

/** The same pipeline as every other flow; a refusal is invalid_grant with its reason. Resolves the user's attributes. */
export async function orchestrate(
  deps: PassthroughDeps, entry: PassthroughEntry, client: ClientCredentials, grantType: string, user: PipelineUser, signIn: boolean, requestId: string,
  upstream: { id: string; claims: Readonly<Record<string, unknown>>; tokens: { accessToken?: string; idToken?: string } },
): Promise<Readonly<Record<string, unknown>>> {
  const outcome = await authorizeUser(deps, {
    hookKey: entry.hookKey, client: { id: client.clientId }, rules: entry.config.rules, grantType,
    scopes: entry.resource?.scopes ?? [], requestId, user, signIn, emailDomains: entry.connector.emailDomains, parts: { upstream },
  });
  if (outcome.allowed) return outcome.attrs;
  deps.logger.info({ event: 'authorization.denied', reqId: requestId, sub: user.accountId, clientId: client.clientId, by: outcome.by, at: `passthrough ${entry.config.id}` }, 'passthrough denied');
  deps.events?.emit('authorization.denied', { reqId: requestId, sub: user.accountId, clientId: client.clientId, by: outcome.by, at: `passthrough ${entry.config.id}` });
  throw invalidGrant(outcome.reason);
}

