// Baton's typed events (STYLE pattern 8): the flows say what happened, once; subscribers (the audit
// log, metrics) decide what to record. Token identifiers only ever travel as TokenRefs, one-way
// hashes, so no subscriber can leak a token even when the identifier is the token itself (opaque).
import { createHash } from 'node:crypto';

/** A SHA-256 digest of a token's identifier (`jti`, or the opaque value): correlates, never replays. */
export type TokenRef = string & { readonly __tokenRef: unique symbol };

/** The first 128 bits of SHA-256 over the identifier, base64url: `sha256:<22 chars>`. */
export function tokenRef(identifier: string): TokenRef {
  return `sha256:${createHash('sha256').update(identifier).digest('base64url').slice(0, 22)}` as TokenRef;
}

export interface EventMap {
  /** Baton started on a configuration (fingerprinted, never its secrets). */
  'config.loaded': { issuer: string; fingerprint: string; clients: number; upstreams: number; resources: number; authorizers: number; storage: string };
  /** `baton keys rotate` added a signing key. */
  'keys.rotated': { kids: string[]; activatesAt: number };
  /** A running instance loaded a changed key set. */
  'keys.reloaded': { kids: string[] };
  /** A user signed in at an upstream and was let in. */
  'user.signed_in': { sub: string; clientId: string; upstream: string; reqId?: string };
  /** Sign-in or a token request refused by rules, hooks or authorizers. */
  'authorization.denied': { sub: string; clientId: string; by: string; at: string; reqId?: string };
  /** Tokens issued at the token endpoint (any grant but refresh_token). */
  'token.issued': TokenIssue;
  /** Tokens issued for a refresh token. */
  'token.refreshed': TokenIssue;
  /**
   * A rotated refresh token presented again by its client inside the reuse grace window (a retry,
   * a second tab): answered with the same successor, nothing revoked. Not theft.
   */
  'token.grace_replay': { clientId: string; sub?: string; reqId?: string };
  /** A one-time credential (code, rotated refresh token) was presented again; its grant was revoked. */
  'token.reuse_detected': { model: string; clientId?: string; reqId?: string };
  /** One authorizer's answer for one token request. */
  'authorizer.decision': {
    authorizer: string; sub: string; clientId: string; grantType: string; resource?: string;
    outcome: string; requested: string[]; granted: string[]; cached: boolean; latencyMs: number; reason?: string; reqId?: string;
  };
  /** A hook threw, timed out or answered a bad shape. */
  'hook.failed': { hook: string; clientId?: string; kind: string; latencyMs: number; reqId?: string };
  /**
   * A Baton refresh needed the upstream session renewed. `role`: `holder` (this instance held the
   * lease and called the upstream) or `waiter` (it took another holder's result); `outcome`:
   * `refreshed`, `grace` (the upstream could not confirm; the grace period decided) or `ended`;
   * `upstreamCall`: whether this instance's upstream call succeeded (`ok`), failed, or none was made.
   */
  'upstream.refresh': {
    upstream: string; sub: string; clientId: string; role: 'holder' | 'waiter'; outcome: 'refreshed' | 'grace' | 'ended';
    upstreamCall: 'ok' | 'failed' | 'none'; failure?: string;
  };
  /** The user's session at Baton ended (RP-initiated logout). */
  'user.logged_out': { sub?: string; clientId?: string; reqId?: string };
}

export interface TokenIssue {
  grantType: string;
  clientId: string;
  sub?: string;
  resource?: string;
  scope?: string;
  /**
   * Token exchange (RFC 8693 section 4.1): who acts for `sub`, as the issued token's `act` claim
   * says it (`iss` when the actor is not Baton's, `act` for the one before); also for an opaque token.
   */
  act?: Actor;
  /** Which tokens were issued, by reference. */
  tokens: { access?: TokenRef; refresh?: TokenRef; id?: TokenRef };
  reqId?: string;
}

/** A party in a delegation chain (RFC 8693 `act`). */
export interface Actor {
  readonly sub: string;
  readonly iss?: string;
  readonly act?: Actor;
}

/** References to the tokens of a token endpoint response: a JWT by its `jti`, anything else by its value. */
export function tokenRefs(body: Readonly<Record<string, unknown>>, accessClaims = typeof body.access_token === 'string' ? jwtPayload(body.access_token) : undefined): TokenIssue['tokens'] {
  const tokens: { access?: TokenRef; refresh?: TokenRef; id?: TokenRef } = {};
  const access = body.access_token;
  if (typeof access === 'string') {
    const jti = accessClaims?.jti;
    tokens.access = tokenRef(typeof jti === 'string' ? jti : access);
  }
  if (typeof body.refresh_token === 'string') tokens.refresh = tokenRef(body.refresh_token);
  if (typeof body.id_token === 'string') tokens.id = tokenRef(body.id_token);
  return tokens;
}

/** The payload of a JWT Baton minted (not verified: it never left Baton); undefined for an opaque token. */
export function jwtPayload(token: string): Readonly<Record<string, unknown>> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export type EventType = keyof EventMap;
export type BatonEvent = { [K in EventType]: { type: K } & EventMap[K] }[EventType];
export type Subscriber = (event: BatonEvent) => void;

/** A synchronous, in-process event bus. A failing subscriber never fails the flow that emitted. */
export class Events {
  readonly #subscribers: Subscriber[] = [];
  /** Subscribers to every type; the others listen to the types they named. */
  #everything = 0;
  readonly #wanted = new Map<EventType, number>();
  readonly #onError: (err: unknown, event: BatonEvent) => void;

  constructor(onError: (err: unknown, event: BatonEvent) => void = () => undefined) {
    this.#onError = onError;
  }

  /** Whether anyone listens: emitters skip building events nobody records. */
  get active(): boolean {
    return this.#subscribers.length > 0;
  }

  /**
   * Whether anyone listens to events of `type` (an emitter skips building one that nobody would
   * receive: decoding the token, hashing its references).
   */
  wants(type: EventType): boolean {
    return this.#everything > 0 || (this.#wanted.get(type) ?? 0) > 0;
  }

  /** Subscribes to every event, or with `types` only to those (the others never reach it). */
  subscribe(subscriber: Subscriber, types?: readonly EventType[]): () => void {
    const only = types ? new Set(types) : undefined;
    const registered: Subscriber = only ? (event) => { if (only.has(event.type)) subscriber(event); } : subscriber;
    this.#subscribers.push(registered);
    this.#count(only, 1);
    return () => {
      const at = this.#subscribers.indexOf(registered);
      if (at < 0) return;
      this.#subscribers.splice(at, 1);
      this.#count(only, -1);
    };
  }

  #count(only: ReadonlySet<EventType> | undefined, delta: number): void {
    if (!only) this.#everything += delta;
    else for (const type of only) this.#wanted.set(type, (this.#wanted.get(type) ?? 0) + delta);
  }

  emit<K extends EventType>(type: K, fields: EventMap[K]): void {
    const event = { type, ...fields } as BatonEvent;
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event);
      } catch (err) {
        this.#onError(err, event);
      }
    }
  }
}
