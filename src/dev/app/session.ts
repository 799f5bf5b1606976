// The demo app's server-side sessions: an opaque id in an HttpOnly, SameSite=Lax cookie, the
// tokens in memory on the server (they never reach the browser). Lost on restart, as a demo may.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Tokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** The `scope` of the token response. */
  readonly scope?: string;
  readonly obtainedAt: number;
  /** How many times these tokens were refreshed. */
  readonly refreshes: number;
  /** X-Request-Id of the token response: its decision trace explains these tokens. */
  readonly requestId?: string;
}

export interface ApiCall {
  readonly label: string;
  readonly status: number;
  readonly body: unknown;
}

export interface DeviceAttempt {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete?: string;
  readonly expiresAt: number;
  interval: number;
  nextPollAt: number;
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'failed';
  message: string;
  accessToken?: string;
  idToken?: string;
}

export interface ExchangeResult {
  readonly response: Record<string, unknown>;
  readonly accessToken?: string;
  readonly calls: readonly ApiCall[];
}

export interface AppSession {
  /** Synchronizer token of the forms that change shared state (the authorizer's policy). */
  readonly csrf: string;
  pending?: { readonly state: string; readonly nonce: string; readonly verifier: string };
  tokens?: Tokens;
  /** The last call to an API, shown on the home page. */
  apiCall?: ApiCall;
  notice?: string;
  device?: DeviceAttempt;
  exchange?: ExchangeResult;
}

const COOKIE = 'demo_app_session';
const MAX_SESSIONS = 1000;

export class Sessions {
  readonly #sessions = new Map<string, AppSession>();

  /** The browser's session, created (with its cookie) when it has none. */
  of(req: IncomingMessage, res: ServerResponse): AppSession {
    const id = cookie(req.headers.cookie, COOKIE);
    const existing = id && this.#sessions.get(id);
    if (existing) return existing;
    const created: AppSession = { csrf: randomBytes(24).toString('base64url') };
    const newId = randomBytes(24).toString('base64url');
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(newId, created);
    res.setHeader('set-cookie', `${COOKIE}=${newId}; Path=/; HttpOnly; SameSite=Lax`);
    return created;
  }
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}
