// What the user-grant benchmarks that drive one server child share (grant-instructions.ts,
// grant-profile.ts): waiting for the child to listen, and having it seed its own one-time codes or
// refresh tokens (endpoints-fixture.ts servePrepare), each usable once.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { PrepareReply, PrepareRequest } from './endpoints-fixture.ts';

/** Resolves once the child reports `ready`; rejects if it exits first. */
export function childReady(child: ChildProcess, name: string): Promise<void> {
  return new Promise<void>((ready, reject) => {
    child.on('message', (message: { type: string }) => { if (message.type === 'ready') ready(); });
    child.on('exit', (code) => reject(new Error(`${name} exited (code ${code}) before it was ready`)));
  });
}

/** `count` request bodies the child prepared (written to a file in `dir`: too large for one IPC message). */
export function preparePool(child: ChildProcess, dir: string, kind: 'code' | 'refresh', count: number): Promise<string[]> {
  const file = join(dir, `pool-${count}-${Math.random()}.json`);
  return new Promise((done, reject) => {
    const onMessage = (message: PrepareReply) => {
      if (message.type !== 'prepared') return;
      child.off('message', onMessage);
      if (message.error !== undefined) reject(new Error(message.error));
      else done(JSON.parse(readFileSync(file, 'utf8')) as string[]);
    };
    child.on('message', onMessage);
    child.send({ type: 'prepare', kind, count, file } satisfies PrepareRequest);
  });
}

/** Asks the child to stop and waits until it has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  child.send({ type: 'stop' });
  await new Promise((done) => child.once('exit', done));
}
