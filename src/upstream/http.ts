// Bounded, well-classified calls to an upstream: every request carries a timeout, and failures
// become UpstreamError kinds the interaction and refresh code can act on.
import * as oauth from 'oauth4webapi';

import { isLoopbackHost } from '../config/schema.ts';
import { UpstreamError } from './connector.ts';

/** http:// is only accepted for upstreams on this machine (tests, local IdPs). */
export function allowsInsecure(urls: ReadonlyArray<string | undefined>): boolean {
  return urls.filter((u): u is string => typeof u === 'string').every((u) => {
    const url = new URL(u);
    return url.protocol === 'https:' || isLoopbackHost(url.hostname);
  }) && urls.some((u) => u !== undefined && new URL(u).protocol === 'http:');
}

export function requestOptions(timeoutMs: number, insecure: boolean) {
  return { signal: AbortSignal.timeout(timeoutMs), [oauth.allowInsecureRequests]: insecure };
}

/** Runs an upstream call; network failures and timeouts become `unreachable`, protocol failures keep their code. */
export async function translateError<T>(call: () => Promise<T>, what: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof UpstreamError) throw err;
    if (err instanceof oauth.ResponseBodyError) {
      const kind = err.status >= 500 ? 'unreachable' : 'grant_refused';
      throw new UpstreamError(kind, `the upstream ${what} endpoint answered ${err.error}`, err.error, { cause: err });
    }
    if (err instanceof oauth.OperationProcessingError) {
      const status = (err.cause as { status?: unknown } | undefined)?.status;
      if (typeof status === 'number' && status >= 500) throw new UpstreamError('unreachable', `the upstream ${what} endpoint failed (HTTP ${status})`, undefined, { cause: err });
      throw new UpstreamError('invalid_response', `the upstream ${what} response failed validation: ${err.message}`, undefined, { cause: err });
    }
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      throw new UpstreamError('grant_refused', `the upstream ${what} endpoint refused the client`, 'invalid_client', { cause: err });
    }
    const name = (err as { name?: string } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError' || err instanceof TypeError) {
      throw new UpstreamError('unreachable', `the upstream ${what} endpoint did not answer in time or could not be reached`, undefined, { cause: err });
    }
    throw new UpstreamError('invalid_response', `the upstream ${what} call failed`, undefined, { cause: err });
  }
}
