// `baton explain REQUEST_ID`: reads one decision trace from the configured store and prints it as
// a tree (render.ts) or as JSON. Resolves undefined when there is no such trace.
import type { BatonConfig } from '../config/schema.ts';
import { openStore } from '../storage/index.ts';
import { renderTrace } from './render.ts';
import { TraceStore } from './store.ts';

export async function explainCommand(config: BatonConfig, requestId: string, json: boolean): Promise<string | undefined> {
  const store = openStore(config.storage);
  try {
    const trace = await new TraceStore(store, config.explain.ttl).get(requestId);
    if (!trace) return undefined;
    return json ? `${JSON.stringify(trace, null, 2)}\n` : renderTrace(trace);
  } finally {
    await store.close();
  }
}
