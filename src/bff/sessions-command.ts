// `baton bff sessions` and `baton bff end`: an operator lists and ends a user's BFF sessions in the
// configured store (every instance sees it at the session's next use). Ending one also revokes its
// grant, so the refresh token it held dies with it.
import type { BatonConfig } from '../config/schema.ts';
import { resolveMasterSecret } from '../keys/master-secret.ts';
import { deriveKey } from '../keys/seal.ts';
import { revokeGrant } from '../provider/adapter.ts';
import { openStore } from '../storage/index.ts';
import { systemClock } from '../storage/store.ts';
import { BffSessions, type SessionSummary } from './sessions.ts';

export interface SessionLine {
  readonly bff: string;
  readonly sub: string;
  /** A short, non-secret reference to the session (a prefix of its store key). */
  readonly session: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
}

function line(session: SessionSummary): SessionLine {
  return { bff: session.bff, sub: session.sub, session: session.key.slice(0, 12), createdAt: new Date(session.createdAt * 1000).toISOString(), lastSeenAt: new Date(session.lastSeenAt * 1000).toISOString() };
}

async function withSessions<T>(config: BatonConfig, run: (sessions: BffSessions, store: ReturnType<typeof openStore>, ids: string[]) => Promise<T>, bff?: string): Promise<T> {
  const ids = bff === undefined ? config.bff.map((b) => b.id) : [bff];
  if (bff !== undefined && !config.bff.some((b) => b.id === bff)) throw new Error(`there is no bff entry ${bff} in the configuration`);
  const store = openStore(config.storage);
  try {
    return await run(new BffSessions(store, deriveKey(resolveMasterSecret(config).value, 'bff-sessions'), systemClock), store, ids);
  } finally {
    await store.close();
  }
}

export function listBffSessions(config: BatonConfig, sub: string, bff?: string): Promise<SessionLine[]> {
  return withSessions(config, async (sessions, _store, ids) => (await Promise.all(ids.map((id) => sessions.list(id, sub)))).flat().map(line), bff);
}

export function endBffSessions(config: BatonConfig, sub: string, bff?: string): Promise<SessionLine[]> {
  return withSessions(config, async (sessions, store, ids) => {
    const ended = (await Promise.all(ids.map((id) => sessions.endUser(id, sub)))).flat();
    for (const grantId of new Set(ended.map((s) => s.grantId))) await revokeGrant(store, grantId);
    return ended.map(line);
  }, bff);
}
