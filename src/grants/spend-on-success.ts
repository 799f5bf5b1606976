// Spend on success: inside a token request, oidc-provider's consumption of the code or refresh token
// (RFC 6749 sections 4.1.2 and 6) is deferred until the grant handler has decided the whole response
// (rules, upstream renewal, authorizers, hooks), then committed atomically; a failed request spends nothing.
//
// The request's spending rides on the context oidc-provider's own AsyncLocalStorage carries (the
// Koa pipeline and the lean token path both run grant handlers inside it), not on a store of
// Baton's: on Node 20 every AsyncLocalStorage ever entered is propagated to every promise the
// process creates afterwards, a cost every request of every kind would pay for this one.
import type { KoaContextWithOIDC } from 'oidc-provider';
import providerContext from 'oidc-provider/lib/helpers/als.js';

interface Spending {
  /** Models whose consumption waits for the response (AuthorizationCode, RefreshToken). */
  readonly models: ReadonlySet<string>;
  readonly pending: Array<() => Promise<void>>;
  committing: boolean;
}

/** Where a request's spending rides on the context in oidc-provider's store. */
const SPENDING = Symbol('baton.spending');

interface Carrier {
  [SPENDING]?: Spending;
}

function carrier(): Carrier | undefined {
  return providerContext.getStore() as Carrier | undefined;
}

/**
 * Called by the model adapter's `consume`: inside `spendOnSuccess` for this model, keeps `commit`
 * for later and answers true (the adapter returns without consuming); otherwise false.
 */
export function deferConsumption(model: string, commit: () => Promise<void>): boolean {
  const current = carrier()?.[SPENDING];
  if (!current || current.committing || !current.models.has(model)) return false;
  current.pending.push(commit);
  return true;
}

export interface Spent {
  /** Whether the handler reached the consumption (the artifact was valid and about to be spent). */
  readonly reached: boolean;
}

/**
 * Runs a grant handler with the consumption of `models` deferred. On success the consumption commits
 * (the adapter's atomic consume: of concurrent redemptions exactly one commits, the others fail as
 * reuse); on failure, before or at the commit, the tokens this request saved are destroyed and the
 * error is rethrown, so the code or refresh token stays as it was for the retry.
 */
export async function spendOnSuccess(ctx: KoaContextWithOIDC, models: readonly string[], handler: () => Promise<void>, onFailure?: (spent: Spent) => void): Promise<void> {
  const on = carrier();
  // Fail closed: outside this request's own context (no store, a trace's carrier, another request's
  // context inherited by a timer) deferring would not be this request's, and the artifact could be
  // spent at once. One spending per request: a second, overlapping one would end the first's early.
  if (on !== (ctx as unknown as Carrier)) throw new Error('spendOnSuccess needs this request\'s context in oidc-provider\'s store');
  if (on[SPENDING]) throw new Error('spendOnSuccess is already deferring this request\'s consumption');
  const state: Spending = { models: new Set(models), pending: [], committing: false };
  on[SPENDING] = state;
  try {
    await handler();
    state.committing = true;
    for (const commit of state.pending) await commit();
  } catch (err) {
    if (state.pending.length > 0) await discardIssued(ctx);
    onFailure?.({ reached: state.pending.length > 0 });
    throw err;
  } finally {
    delete on[SPENDING];
  }
}

interface Destroyable {
  destroy(): Promise<void>;
}

/** The tokens a handler saved before it failed: a rotated or new refresh token, an opaque access token. */
async function discardIssued(ctx: KoaContextWithOIDC): Promise<void> {
  const entities = ctx.oidc.entities as Record<string, Destroyable | undefined>;
  // In the refresh_token grant, RefreshToken is the presented token until the rotation replaced it.
  const rotating = ctx.oidc.params?.grant_type === 'refresh_token';
  const issuedRefresh = !rotating || (entities.RotatedRefreshToken && entities.RefreshToken !== entities.RotatedRefreshToken) ? entities.RefreshToken : undefined;
  await Promise.all([issuedRefresh, entities.AccessToken].map((token) => token?.destroy().catch(() => undefined)));
}
