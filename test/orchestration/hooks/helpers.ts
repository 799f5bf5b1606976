// Shared pieces of the hooks tests: a recording logger, a context, an api over a MemoryStore.
import { fileURLToPath } from 'node:url';

import { HookSession, createHookApi, type HookApiOptions, type HookLogger } from '../../../src/orchestration/hooks/api.ts';
import type { HookEvent } from '../../../src/orchestration/hooks/runner.ts';
import type { HookContext } from '../../../src/orchestration/hooks/types.ts';
import { MemoryStore } from '../../../src/storage/memory/memory-store.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg?: string;
}

export function recorder(): HookLogger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), text: () => JSON.stringify(lines) };
}

export function context(overrides: Partial<Omit<HookContext, 'hook'>> = {}): Omit<HookContext, 'hook'> {
  return {
    client: { id: 'web', name: 'Web app' },
    flow: 'authorization',
    scopes: ['openid', 'email'],
    params: {},
    user: { sub: 'contoso:ann', upstream: 'contoso', upstreamSubject: 'ann', claims: { email: 'ann@contoso.com' }, attrs: {} },
    requestId: 'req-1',
    ...overrides,
  };
}

export function setup(options: Partial<HookApiOptions> = {}) {
  const store = new MemoryStore();
  const logger = recorder();
  const session = new HookSession();
  const events: HookEvent[] = [];
  const api = createHookApi({ store, logger, session, moduleId: 'hooks/claims.ts', timeoutMs: 500, secrets: { apiKey: 'sk_live_very_secret' }, ...options });
  return { store, logger, session, events, api, run: { timeoutMs: 500, logger, onEvent: (e: HookEvent) => void events.push(e) } };
}
