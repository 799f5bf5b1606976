// Which upstream a sign-in goes to: the client's allowed upstreams, narrowed by `idp_hint`, or by
// the domain of a `login_hint` email (home realm discovery); one left means a straight redirect.
import type { Connector } from '../upstream/connector.ts';

export type Route =
  | { readonly kind: 'redirect'; readonly upstream: Connector }
  | { readonly kind: 'choose'; readonly upstreams: readonly Connector[] }
  | { readonly kind: 'none' };

export interface RouteInput {
  /** Upstreams this client may use (already filtered by its configuration). */
  readonly allowed: readonly Connector[];
  readonly idpHint?: unknown;
  readonly loginHint?: unknown;
}

export function route({ allowed, idpHint, loginHint }: RouteInput): Route {
  if (allowed.length === 0) return { kind: 'none' };
  if (typeof idpHint === 'string') {
    const hinted = allowed.find((u) => u.id === idpHint);
    if (hinted) return { kind: 'redirect', upstream: hinted };
  }
  const domain = emailDomain(loginHint);
  if (domain) {
    const owners = allowed.filter((u) => u.emailDomains?.includes(domain));
    if (owners.length === 1) return { kind: 'redirect', upstream: owners[0]! };
  }
  if (allowed.length === 1) return { kind: 'redirect', upstream: allowed[0]! };
  return { kind: 'choose', upstreams: allowed };
}

export function emailDomain(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const at = value.lastIndexOf('@');
  if (at < 1 || at === value.length - 1) return undefined;
  return value.slice(at + 1).toLowerCase();
}

export function allowedUpstreams(all: readonly Connector[], clientUpstreams: readonly string[] | undefined): Connector[] {
  return clientUpstreams ? all.filter((u) => clientUpstreams.includes(u.id)) : [...all];
}
