// What `baton replay` reports between a recorded and a replayed trace: per-token claims and
// redacted values are never compared, an absent claim shows as (absent), scopes come from each
// access token's `scope` claim, and a sign-in (authorization endpoint) compares its outcome only.
import { describe, expect, it } from 'vitest';

import { describeChange, diffTraces } from '../../src/explain/diff.ts';
import type { ClaimOrigin, DecisionTrace, TraceResult } from '../../src/explain/trace.ts';

const R = 'https://orders.api.example';

function trace(result: Partial<TraceResult>, claims: ClaimOrigin[] = []): DecisionTrace {
  return {
    v: 1, requestId: 'r1', at: 1, request: { endpoint: 'token', clientId: 'web', grantType: 'authorization_code', resources: [R], scopes: [] },
    identity: { sub: 'corp:ann', claims: {} }, steps: [],
    result: { outcome: 'issued', scopes: [], claims, ...result },
  };
}

const at = (claim: string, value: unknown, by: ClaimOrigin['by'] = 'baton'): ClaimOrigin => ({ token: 'access_token', resource: R, claim, by, value });

describe('diffTraces', () => {
  it('identical decisions: no change, whatever the per-token claims', () => {
    const a = trace({}, [at('scope', 'orders:read'), at('tier', 'gold'), { token: 'access_token', resource: R, claim: 'jti', by: 'baton' }]);
    const b = trace({}, [at('scope', 'orders:read'), at('tier', 'gold'), at('iat', 123)]);
    expect(diffTraces(a, b)).toEqual([]);
  });

  it('scopes gained and lost per resource, from the scope claim; a token without scope has none', () => {
    const changes = diffTraces(trace({}, [at('scope', 'orders:read orders:write'), at('tier', 'gold')]), trace({}, [at('tier', 'gold')]));
    expect(changes).toEqual([{ kind: 'scopes', resource: R, gained: [], lost: ['orders:read', 'orders:write'] }]);
    expect(describeChange(changes[0]!)).toBe(`scopes lost at ${R}: orders:read orders:write`);
  });

  it('claims changed, added and removed; a redacted recorded value is not compared', () => {
    const was = trace({}, [at('tier', 'gold'), at('old', 1), at('email', { redacted: true, digest: 'x' })]);
    const now = trace({}, [at('tier', 'silver', 'hook:buildAccessTokenClaims'), at('new', [1]), at('email', 'ann@example.org')]);
    const lines = diffTraces(was, now).map(describeChange);
    expect(lines).toEqual([
      `claim tier (access_token ${R}): "gold" -> "silver" (by hook:buildAccessTokenClaims)`,
      `claim old (access_token ${R}): 1 -> (absent)`,
      `claim new (access_token ${R}): (absent) -> [1] (by baton)`,
    ]);
  });

  it('refusals: appearing, disappearing, changing error; the same refusal is no change', () => {
    const refused = (error: string) => trace({ outcome: 'refused', error, description: 'no', refusedBy: 'rules' });
    expect(diffTraces(trace({}), refused('access_denied')).map(describeChange)).toEqual(['refusal appears: access_denied: no (by rules)']);
    expect(diffTraces(refused('access_denied'), trace({})).map(describeChange)).toEqual(['refusal disappears: was access_denied, now issued']);
    expect(diffTraces(refused('access_denied'), refused('invalid_grant')).map(describeChange)).toEqual(['refusal changes: access_denied -> invalid_grant']);
    expect(diffTraces(refused('access_denied'), refused('access_denied'))).toEqual([]);
  });

  it('outcome only: a replayed sign-in\'s tokens are not compared with a sign-in that issued none', () => {
    expect(diffTraces(trace({}), trace({}, [at('scope', 'orders:read')]), { tokens: false })).toEqual([]);
  });
});
