// Every claim of a token an evaluation computed, into its trace as the token endpoint records a
// real one (trace.ts): who set it, and its value unless it differs for every token (PER_TOKEN_CLAIMS).
import type { TraceRecorder } from './recorder.ts';
import { PER_TOKEN_CLAIMS, type ClaimOrigin } from './trace.ts';
import type { BuiltToken } from './offline-claims.ts';

export function recordToken(recorder: TraceRecorder, token: ClaimOrigin['token'], built: BuiltToken, resource?: string): void {
  for (const [claim, value] of Object.entries(built.claims)) {
    if (value === undefined) continue;
    recorder.claim({
      token, claim, by: built.origins[claim] ?? 'baton',
      ...(resource === undefined ? {} : { resource }),
      ...(PER_TOKEN_CLAIMS.has(claim) ? {} : { value }),
    });
  }
}
