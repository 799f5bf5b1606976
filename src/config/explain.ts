// Configuration of decision traces (docs/explain.md): whether requests that decide are traced,
// how long traces are kept, which share of them, whose claim values are hidden, who reads any.
import { z } from 'zod';

import { duration } from './duration.ts';

export const explainSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Record a decision trace for every request that decides (token endpoint, sign-in, passthrough, BFF). Off by default: traces hold who signed in and their claims, so keeping them is the operator\'s choice; off costs nothing.'),
    ttl: duration('How long a trace is kept (by request id) before it expires: long enough to answer a support ticket.').prefault('3d'),
    sample: z.number().min(0).max(1).default(1).describe('Share of granted requests whose trace is kept (0 to 1); refusals are always kept. Lower it on busy deployments to bound storage.'),
    redactClaims: z.array(z.string().min(1)).default([]).describe('Claims whose values traces never hold (e.g. `email`, `phone_number`): the name stays, the value becomes a keyed digest, so replay still sees a change.'),
    readers: z.array(z.string().min(1)).default([]).describe('Confidential clients (by `client_id`) that may read any trace at `GET {issuer}/explain/{requestId}`; every other client reads only the traces of its own requests.'),
  })
  .describe('Decision traces: why each token got its scopes and claims, and why a request was refused (see docs/explain.md).');

export type ExplainConfig = z.output<typeof explainSchema>;
