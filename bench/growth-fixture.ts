// What bench/growth.ts varies in the client_credentials servers (baton-server.ts, bare-server.ts):
// read from BENCH_GROWTH (JSON) by the children, so the one client measured stays the same and the
// configuration around it grows. Extra clients and resources are listed before the measured ones.
import { CLIENT_SECRET, RESOURCE, SCOPES } from './fixture.ts';

export interface Growth {
  /** Configured clients in all (the measured one is the last); default 1. */
  readonly clients?: number;
  /** Resources the measured client may use (RESOURCE is the last); default 1. */
  readonly resources?: number;
  /** Authorizer URLs: authorizer i owns namespace `a{i}:`, RESOURCE has scope `a{i}:read`, cache off. */
  readonly authorizers?: readonly string[];
}

export function growth(): Growth {
  return JSON.parse(process.env.BENCH_GROWTH ?? '{}') as Growth;
}

export const namespace = (i: number) => `a${i}:`;

/** Clients configured besides the measured one (client_credentials, same secret). */
export function extraClients(g: Growth): Array<{ client_id: string; client_secret: string }> {
  return Array.from({ length: Math.max(0, (g.clients ?? 1) - 1) }, (_, i) => ({ client_id: `bench-other-${i}`, client_secret: CLIENT_SECRET }));
}

/** Resources besides RESOURCE. */
export function extraResources(g: Growth): string[] {
  return Array.from({ length: Math.max(0, (g.resources ?? 1) - 1) }, (_, i) => `https://api${i}.bench.example`);
}

/** RESOURCE's scopes: the fixture's plus one per authorizer. */
export function resourceScopes(g: Growth): string[] {
  return [...SCOPES, ...(g.authorizers ?? []).map((_, i) => `${namespace(i)}read`)];
}

export { RESOURCE };
