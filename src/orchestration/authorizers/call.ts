// One bounded call to one authorizer: sign the JWT, POST the request, read and check the answer
// within the authorizer's deadline. Every failure becomes an AuthorizerFailure with a loggable reason.
import type { AuthorizerConfig } from '../../config/orchestration.ts';
import { parseAnswer, readBounded, requestBody } from './protocol.ts';
import { AuthorizerFailure, type Decision, type DecisionRequest } from './types.ts';

/** What a call needs from the outside: Baton's signer and a fetch. */
export interface CallDeps {
  sign: (audience: string, payload: Record<string, unknown>) => Promise<string>;
  fetch: typeof fetch;
}

/** Asks one authorizer about `scopes` (all in its namespace); resolves its Decision or throws AuthorizerFailure. */
export async function callAuthorizer(config: AuthorizerConfig, request: DecisionRequest, scopes: readonly string[], deps: CallDeps): Promise<Decision> {
  const signal = AbortSignal.timeout(config.timeout * 1000);
  let jwt: string;
  try {
    jwt = await deps.sign(config.id, { sub: request.subject, client_id: request.clientId });
  } catch (err) {
    throw new AuthorizerFailure('could not sign the request JWT', { cause: err });
  }
  try {
    const response = await deps.fetch(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${jwt}` },
      body: JSON.stringify(requestBody(request, scopes)),
      signal,
      redirect: 'manual', // a redirect is a non-200 answer, never followed with the JWT
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new AuthorizerFailure(`answered HTTP ${response.status}`);
    }
    return parseAnswer(await readBounded(response), scopes);
  } catch (err) {
    throw classify(err, config);
  }
}

function classify(err: unknown, config: AuthorizerConfig): AuthorizerFailure {
  if (err instanceof AuthorizerFailure) return err;
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new AuthorizerFailure(`no answer within ${config.timeout}s`, { cause: err });
  }
  const code = ((err as { cause?: { code?: unknown } } | null)?.cause)?.code;
  const detail = typeof code === 'string' ? ` (${code})` : '';
  return new AuthorizerFailure(`unreachable${detail}`, { cause: err });
}
