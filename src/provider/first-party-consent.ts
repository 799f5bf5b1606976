// prompt=none for a first-party client (OIDC Core section 3.1.2.6): a client without
// `requireConsent` never shows a consent page (the interaction grants what it asks, within its
// configuration), so with a Baton session a silent request must not fail with consent_required
// just because no interaction can happen. This prompt grants the same thing in place: what
// oidc-provider's own consent checks report missing, linked to the session's upstream sign-in as
// the interaction does (interactions/routes.ts finishConsent).
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import type { BatonConfig } from '../config/schema.ts';
import { addMissing, type PromptDetails } from '../interactions/consent.ts';
import { merged } from '../lang/merged.ts';
import type { UpstreamSessions } from '../upstream/session.ts';

type Check = InstanceType<typeof interactionPolicy.Check>;
type Prompt = InstanceType<typeof interactionPolicy.Prompt>;

/** The consent checks whose details say what is missing; any other consent check needs the user. */
const MISSING = new Set(['op_scopes_missing', 'op_claims_missing', 'rs_scopes_missing']);

export interface FirstPartyConsentDeps {
  readonly config: BatonConfig;
  readonly sessions: UpstreamSessions;
}

/**
 * A prompt that never asks for anything: placed after the client's decision on the reused session
 * (so a refused account gets no grant) and before `consent` (whose checks then find nothing missing).
 */
export function firstPartyConsentPrompt(consent: Prompt, deps: FirstPartyConsentDeps): Prompt {
  const { Check, Prompt } = interactionPolicy;
  const firstParty = new Set(deps.config.clients.filter((c) => !c.requireConsent).map((c) => c.client_id));
  const check = new Check('first_party_silent_consent', 'a first-party client is granted what it asks without a page', async (ctx) => {
    const { oidc } = ctx;
    const clientId = oidc.client?.clientId;
    if (!clientId || !firstParty.has(clientId) || !oidc.session?.accountId || !oidc.promptPending('none') || !oidc.grant) return Check.NO_NEED_TO_PROMPT;
    const missing = await missingConsent(ctx, consent.checks);
    if (!missing) return Check.NO_NEED_TO_PROMPT;
    const grantId = await addMissing(oidc.grant, missing).save();
    oidc.session.ensureClientContainer(clientId);
    oidc.session.grantIdFor(clientId, grantId);
    // Signed in through the existing Baton session: this grant relies on a sibling's upstream sign-in.
    const siblings = Object.values(oidc.session.authorizations ?? {}).map((a) => a.grantId).filter((id): id is string => typeof id === 'string');
    await deps.sessions.link(grantId, siblings);
    return Check.NO_NEED_TO_PROMPT;
  });
  return new Prompt({ name: 'first_party_consent', requestable: false }, check);
}

/**
 * What the consent prompt would ask the user for, by its own checks; undefined when nothing is
 * missing, or when another of its checks (a native client, authorization_details) needs the user.
 */
async function missingConsent(ctx: KoaContextWithOIDC, checks: readonly Check[]): Promise<PromptDetails | undefined> {
  let missing: PromptDetails | undefined;
  for (const check of checks) {
    const requested = await check.check(ctx);
    if (!requested) continue;
    if (!MISSING.has(check.reason)) return undefined;
    missing = merged(missing, (await check.details(ctx)) as PromptDetails);
  }
  return missing;
}
