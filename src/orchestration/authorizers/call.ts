// One bounded call to one authorizer: sign the JWT, POST the request, read and check the answer
// within the authorizer's deadline. Every failure becomes an AuthorizerFailure with a loggable reason.
import type { AuthorizerConfig } from '../../config/orchestration.ts';
import { MAX_ANSWER_BYTES, parseAnswer, readBounded, requestBodies } from './protocol.ts';
import type { AuthorizerPost } from './transport.ts';
import { AuthorizerFailure, type Decision, type DecisionRequest } from './types.ts';

/** What a call needs from the outside: Baton's signer and an HTTP POST. */
export interface CallDeps {
  sign: (audience: string, payload: Record<string, unknown>) => Promise<string>;
  post: AuthorizerPost;
}

/**
 * Asks one authorizer about `scopes` (all in its namespace); resolves its Decision or throws
 * AuthorizerFailure. `body` serializes the request for these scopes (protocol.ts requestBodies,
 * shared by the authorizers of one decision).
 */
export async function callAuthorizer(config: AuthorizerConfig, request: DecisionRequest, scopes: readonly string[], deps: CallDeps, body = requestBodies(request)): Promise<Decision> {
  let jwt: string;
  try {
    jwt = await deps.sign(config.id, { sub: request.subject, client_id: request.clientId });
  } catch (err) {
    throw new AuthorizerFailure('could not sign the request JWT', { cause: err });
  }
  try {
    // The deadline covers the whole exchange, body included (transport.ts: one timer, no abort signal).
    const answer = await deps.post(config.url, {
      headers: ['content-type', 'application/json', 'accept', 'application/json', 'authorization', `Bearer ${jwt}`],
      body: body(scopes),
      timeout: config.timeout * 1000,
      maxBytes: MAX_ANSWER_BYTES,
    });
    if (answer.status !== 200) {
      await answer.discard();
      throw new AuthorizerFailure(`answered HTTP ${answer.status}`);
    }
    return parseAnswer(await readBounded(answer), scopes, { topLevelClaims: (config.claimsNamespace ?? config.id) === '' });
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
  // ECONNREFUSED and friends, or undici's own codes (UND_ERR_SOCKET...), on the error or its cause.
  const failure = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = failure?.code ?? failure?.cause?.code;
  const detail = typeof code === 'string' ? ` (${code})` : '';
  return new AuthorizerFailure(`unreachable${detail}`, { cause: err });
}
