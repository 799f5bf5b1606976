// What the upstream is asked for from the client's authorization request (OIDC Core section
// 3.1.2.1 prompt, max_age and acr_values; section 5.5.1.1 essential acr), and the checks of its
// answer against it: Baton owns these toward its clients.

/**
 * Below this many seconds a client's max_age is not forwarded: a real IdP's login (several pages)
 * cannot finish inside it, so the user would loop there (the OIDF plan's max_age=1). Baton asks the
 * upstream for a fresh authentication with prompt=login instead, and checks its auth_time itself.
 */
const MIN_FORWARDED_MAX_AGE = 300;
/** Clock difference tolerated between Baton and the upstream when comparing auth_time. */
const AUTH_TIME_SKEW = 30;

/**
 * What the upstream is asked for so that Baton can honour the client's prompt=login and max_age
 * (OIDC Core section 3.1.2.1): prompt=login for prompt=login or a short max_age, max_age itself
 * when it is long enough for a login to finish.
 */
export function upstreamFreshness(params: Readonly<Record<string, unknown>>): { prompt?: 'login'; maxAge?: number } {
  const prompts = typeof params.prompt === 'string' ? params.prompt.split(' ') : [];
  const maxAge = typeof params.max_age === 'string' && /^\d+$/.test(params.max_age) ? Number(params.max_age) : undefined;
  if (prompts.includes('login') || (maxAge !== undefined && maxAge < MIN_FORWARDED_MAX_AGE)) return { prompt: 'login' };
  return maxAge === undefined ? {} : { maxAge };
}

/** With prompt=login sent upstream at `freshSince`: whether the upstream's auth_time shows a reused session. */
export function staleAuthentication(freshSince: number | undefined, authTime: number | undefined): boolean {
  return freshSince !== undefined && authTime !== undefined && authTime < freshSince - AUTH_TIME_SKEW;
}

/** The acr values the client asked for: `acr_values`, or those of the `claims` parameter's id_token acr. */
export function requestedAcrs(params: Readonly<Record<string, unknown>>): string[] | undefined {
  const fromClaims = acrRequest(params);
  const values = fromClaims?.values ?? (typeof fromClaims?.value === 'string' ? [fromClaims.value] : undefined);
  if (values) return values;
  return typeof params.acr_values === 'string' ? params.acr_values.split(' ').filter(Boolean) : undefined;
}

/** The acr values the `claims` parameter requires (essential), when it does. */
export function essentialAcrs(params: Readonly<Record<string, unknown>>): string[] | undefined {
  const request = acrRequest(params);
  if (request?.essential !== true) return undefined;
  return request.values ?? (typeof request.value === 'string' ? [request.value] : undefined);
}

/** `claims.id_token.acr` of the authorization request (oidc-provider has already validated the JSON). */
function acrRequest(params: Readonly<Record<string, unknown>>): { essential?: unknown; value?: unknown; values?: string[] } | undefined {
  if (typeof params.claims !== 'string') return undefined;
  try {
    const acr = (JSON.parse(params.claims) as { id_token?: { acr?: { essential?: unknown; value?: unknown; values?: unknown } | null } }).id_token?.acr;
    if (!acr || typeof acr !== 'object') return undefined;
    const values = Array.isArray(acr.values) && acr.values.every((v) => typeof v === 'string') ? acr.values as string[] : undefined;
    return { essential: acr.essential, value: acr.value, ...(values ? { values } : {}) };
  } catch {
    return undefined;
  }
}
