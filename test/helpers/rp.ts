// Independent relying party: openid-client 6 configured by discovery against a running Baton.
import * as client from 'openid-client';

export async function discover(issuer: string, clientId: string, secret?: string, method: 'basic' | 'post' | 'none' = 'basic'): Promise<client.Configuration> {
  const auth = method === 'none' ? client.None() : method === 'post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
  return client.discovery(new URL(issuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });
}

/** A raw form POST, for requests an RP library refuses to send (malformed input). */
export async function postForm(url: string, body: string | URLSearchParams, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown>; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: typeof body === 'string' ? body : body.toString(),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON; callers assert on text
  }
  return { status: response.status, headers: response.headers, json, text };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** The OAuth error of an openid-client rejection, whether it came as a body or a WWW-Authenticate challenge. */
export function oauthError(err: unknown): { error?: string; status?: number } {
  const e = err as { error?: string; status?: number; cause?: Array<{ parameters?: { error?: string } }> };
  return { error: e.error ?? e.cause?.[0]?.parameters?.error, status: e.status };
}

export async function rejection(promise: Promise<unknown>): Promise<{ error?: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    return oauthError(err);
  }
  throw new Error('expected the request to be refused');
}
