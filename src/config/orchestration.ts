// Orchestration in the configuration: authorizers (HTTP services owning a scope namespace),
// per-client declarative rules, and hook modules.
import { z } from 'zod';

import { duration } from './duration.ts';

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const authorizerSchema = z
  .strictObject({
    id: z.string().regex(ID, 'must be lowercase letters, digits and hyphens').describe('Identifier: the `aud` of the JWT Baton sends it, and the default namespace of the claims it adds.'),
    url: z.string().url('must be an absolute URL').describe('Where Baton POSTs decision requests (JSON).'),
    namespace: z.string().min(1).regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope prefix (printable, no spaces)').describe('Scope prefix this authorizer owns, e.g. `orders:`. It is asked about these scopes only and can grant nothing outside them.'),
    timeout: duration('Deadline for its answer.').prefault('1s'),
    onFailure: z.enum(['deny', 'ignore']).default('deny').describe('When it fails (error, timeout, invalid answer): `deny` fails the whole token request; `ignore` drops its scopes (never grants them) and lets the rest of the request through.'),
    cacheTTL: z
      .union([z.literal(0), duration('How long a decision is reused.')])
      .prefault('30s')
      .describe('How long a decision is reused for the same subject, client, resource and scopes (0: never); re-evaluated after that, and so on refresh.'),
    shadow: z.boolean().optional().describe('`true`: a shadow, asked in parallel with the enforced authorizer of the same `namespace`, never changes a token nor fails a request; where it would have decided otherwise, the disagreement is counted (`baton_authorizer_shadow_disagreements_total`) and written in the decision trace. For rolling out a new policy service safely (docs/authorizers.md).'),
    claimsNamespace: z.string().optional().describe('Claim under which its added claims go (an object); defaults to the id. Empty string: top-level claims; an answer setting a reserved claim is then a failure (docs/authorizers.md).'),
  })
  .describe('An HTTP service that decides the scopes of its namespace.');

const conditionSchema = z
  .strictObject({
    upstream: z.array(z.string().min(1)).optional().describe('The user signed in through one of these upstreams.'),
    emailDomain: z.array(z.string().min(1)).optional().describe('The email\'s domain is one of these.'),
    emailVerified: z.boolean().optional().describe('`email_verified` has this value.'),
    group: z.array(z.string().min(1)).optional().describe('The `groups` claim contains at least one of these.'),
    claim: z.strictObject({
      name: z.string().min(1).describe('Claim name.'),
      equals: z.union([z.string(), z.number(), z.boolean()]).optional().describe('The claim equals this value.'),
      in: z.array(z.union([z.string(), z.number(), z.boolean()])).optional().describe('The claim is one of these values.'),
    }).optional().describe('A claim equals a value or is one of several.'),
  })
  .describe('Conditions; all that are present must hold.');

export const ruleSchema = z
  .strictObject({
    allow: conditionSchema.optional().describe('Allow when these conditions hold.'),
    deny: conditionSchema.optional().describe('Deny when these conditions hold.'),
    reason: z.string().min(1).optional().describe('Shown to the user and sent to the client as error_description when this rule denies.'),
  })
  .describe('A rule: `allow` or `deny` with conditions. Rules are evaluated in order; the first that matches decides; when none matches, the sign-in is denied.');

export const hooksSchema = z
  .strictObject({
    module: z.string().min(1).describe('Path of a JavaScript or TypeScript module (relative to the configuration file) exporting hook functions by name.'),
    timeout: duration('Deadline for each hook call.').prefault('1s'),
    secrets: z.record(z.string(), z.string()).default({}).describe('Values the hooks read with `api.secrets.get(name)`, normally `${ENV_VAR}`; never logged.'),
  })
  .describe('Service-extension hooks (see docs/hooks.md).');

export type AuthorizerConfig = z.output<typeof authorizerSchema>;
export type RuleConfig = z.output<typeof ruleSchema>;
export type HooksConfig = z.output<typeof hooksSchema>;
