// Reading a passthrough request: the form body (RFC 6749 section 3.2: urlencoded, no repeated
// parameter) and the client's authentication (section 2.3.1: Basic or the body, never both),
// kept exactly as received so it can be forwarded to the upstream that registered the client.
import { createHash } from 'node:crypto';

import type { Context } from 'koa';
import type * as oauth from 'oauth4webapi';

import { BodyTooLarge, readBounded } from '../http/body.ts';
import { invalidClient, invalidRequest, PassthroughError } from './errors.ts';

const MAX_BODY_BYTES = 64 * 1024;

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw invalidRequest('the request body must be application/x-www-form-urlencoded');
  let body: Buffer;
  try {
    body = await readBounded(ctx.req, MAX_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    ctx.set('Connection', 'close');
    throw new PassthroughError(413, 'invalid_request', `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const names = [...form.keys()];
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw invalidRequest(`${repeated} must not be repeated`);
  return form;
}

/** One optional string parameter; empty counts as absent. */
export function param(form: URLSearchParams, name: string): string | undefined {
  const value = form.get(name);
  return value === null || value === '' ? undefined : value;
}

export function required(form: URLSearchParams, name: string): string {
  const value = param(form, name);
  if (value === undefined) throw invalidRequest(`${name} is required`);
  return value;
}

export interface ClientCredentials {
  readonly clientId: string;
  /** How the client authenticated at Baton: the upstream sees the same. */
  readonly method: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** Applies that same authentication to the upstream request (oauth4webapi's ClientAuth). */
  readonly forward: oauth.ClientAuth;
  /** SHA-256 of the authentication as received: the same credentials again, never the secret itself. */
  readonly fingerprint: string;
}

/**
 * The client's authentication, for an allowed client id. The secret is not checked here: the
 * upstream that registered the client checks it when the request is forwarded.
 */
export function clientCredentials(ctx: Context, form: URLSearchParams, realm: string, allowed: ReadonlySet<string>): ClientCredentials {
  const header = ctx.get('authorization');
  const usedBasic = /^basic /i.test(header);
  if (param(form, 'client_assertion') !== undefined || param(form, 'client_assertion_type') !== undefined) {
    throw invalidClient('client assertions are bound to the upstream token endpoint and cannot be forwarded; use client_secret_basic or client_secret_post', realm, false);
  }
  let credentials: ClientCredentials;
  if (usedBasic) {
    if (param(form, 'client_secret') !== undefined) throw invalidRequest('the client must use only one authentication method');
    const clientId = basicClientId(header.slice(6).trim(), realm);
    const inBody = param(form, 'client_id');
    if (inBody !== undefined && inBody !== clientId) throw invalidRequest('client_id does not match the authenticated client');
    credentials = { clientId, method: 'client_secret_basic', forward: (_as, _client, _body, headers) => headers.set('authorization', header), fingerprint: fingerprint('basic', header) };
  } else {
    const clientId = param(form, 'client_id');
    const secret = param(form, 'client_secret');
    if (clientId === undefined) throw invalidClient('client authentication is required', realm, false);
    credentials = secret === undefined
      ? { clientId, method: 'none', forward: (_as, _client, body) => body.set('client_id', clientId), fingerprint: fingerprint('none', clientId) }
      : { clientId, method: 'client_secret_post', forward: (_as, _client, body) => { body.set('client_id', clientId); body.set('client_secret', secret); }, fingerprint: fingerprint('post', clientId, secret) };
  }
  if (!allowed.has(credentials.clientId)) throw invalidClient('this client may not use this passthrough issuer', realm, usedBasic);
  return credentials;
}

function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('base64url');
}

/** RFC 6749 section 2.3.1: `client_id:client_secret`, each form-urlencoded, in base64. */
function basicClientId(encoded: string, realm: string): string {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw invalidClient('malformed Basic credentials', realm, true);
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    throw invalidClient('malformed Basic credentials', realm, true);
  }
}
