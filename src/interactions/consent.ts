// The grant a consent creates: exactly what the provider's consent prompt reports missing. The
// resource scopes offered are already bounded by the client's configuration (see
// provider/resources.ts), so nothing beyond it can be granted here.
import type Provider from 'oidc-provider';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
type Grant = InstanceType<Provider['Grant']>;

/** What oidc-provider's consent prompt reports missing (its op_scopes_missing, op_claims_missing, rs_scopes_missing details). */
export interface PromptDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

export interface ConsentSummary {
  readonly scopes: readonly string[];
  readonly resources: ReadonlyArray<{ resource: string; scopes: readonly string[] }>;
}

/** What the consent page lists. */
export function consentSummary(details: Details): ConsentSummary {
  const prompt = details.prompt.details as PromptDetails;
  return {
    scopes: prompt.missingOIDCScope ?? [],
    resources: Object.entries(prompt.missingResourceScopes ?? {}).map(([resource, scopes]) => ({ resource, scopes })),
  };
}

/** Adds what is missing to the existing grant of this session and client, or to a new one. */
export async function grantMissing(provider: Provider, details: Details): Promise<Grant> {
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
  return addMissing(grant, details.prompt.details as PromptDetails);
}

/** Adds to `grant` exactly what the consent prompt reported missing. */
export function addMissing<G extends Grant>(grant: G, missing: PromptDetails): G {
  if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
  return grant;
}
