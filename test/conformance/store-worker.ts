// Child process for process-race.ts (run as `node --import tsx`): opens its own connections with
// openStore() and the parent's frozen clock, then runs the raced operation once per connection.
import { openStore } from '../../src/storage/index.ts';
import type { Store } from '../../src/storage/store.ts';
import type { Attempt, ChildMessage, ParentMessage, RaceOp } from './process-race.ts';

const stores: Store[] = [];

/** Resolves once the message is handed to the IPC channel, so disconnecting after it loses nothing. */
function reply(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send?.(message, undefined, undefined, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

async function attempt(store: Store, op: RaceOp, tag: string): Promise<Attempt> {
  switch (op.op) {
    case 'consume':
      return { tag, won: await store.consume(op.model, op.id) };
    case 'putRecord':
      return { tag, won: await store.putRecord(op.kind, op.id, { writer: tag }, { expectedVersion: op.expectedVersion }) };
    case 'ping':
      await store.ping();
      return { tag, won: true };
  }
}

/** Sleeps until just before `at`, then spins, so all children start within about a millisecond. */
async function startAt(at: number): Promise<void> {
  const sleep = at - Date.now() - 5;
  if (sleep > 0) await new Promise((resolve) => setTimeout(resolve, sleep));
  while (Date.now() < at) {
    // spin
  }
}

async function handle(message: ParentMessage): Promise<void> {
  await startAt(message.at);
  if (message.type === 'open') {
    for (let i = 0; i < message.connections; i += 1) stores.push(openStore(message.config, { clock: () => message.now }));
    await reply({ type: 'ready' });
    return;
  }
  const attempts = await Promise.all(stores.map((store, i) => attempt(store, message.op, `${process.pid}/${i}`)));
  await Promise.all(stores.map((store) => store.close()));
  await reply({ type: 'done', attempts });
  process.disconnect();
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch(async (error: unknown) => {
    await reply({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.disconnect();
  });
});
await reply({ type: 'started' });
