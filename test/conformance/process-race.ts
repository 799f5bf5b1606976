// Races one Store operation across several OS processes (each running store-worker.ts with its own
// connections to the same backend), so the conformance suite can prove atomicity between processes,
// not only between calls of one process.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { BatonConfig } from '../../src/config/schema.ts';

/** What a child passes to openStore() to reach the same data as the parent. */
export type StorageConfig = BatonConfig['storage'];

export type RaceOp =
  | { readonly op: 'consume'; readonly model: string; readonly id: string }
  /** Each attempt writes `{ writer: tag }`, so the stored value names the winner. */
  | { readonly op: 'putRecord'; readonly kind: string; readonly id: string; readonly expectedVersion: number }
  | { readonly op: 'ping' };

export interface Attempt {
  /** `process.pid/connection index`, unique per attempt. */
  readonly tag: string;
  readonly won: boolean;
}

export type ParentMessage =
  /** `at`: wall-clock epoch ms at which every child opens (and, for `run`, starts), so they really collide. */
  | { readonly type: 'open'; readonly config: StorageConfig; readonly now: number; readonly connections: number; readonly at: number }
  | { readonly type: 'run'; readonly op: RaceOp; readonly at: number };

export type ChildMessage =
  | { readonly type: 'started' }
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly attempts: Attempt[] }
  | { readonly type: 'failed'; readonly message: string };

export interface RaceOptions {
  readonly config: StorageConfig;
  /** Epoch ms every child's clock is frozen at (the parent's injected clock). */
  readonly now: number;
  readonly processes: number;
  readonly connectionsPerProcess: number;
  readonly op: RaceOp;
}

const WORKER = fileURLToPath(new URL('./store-worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Head start for the messages to reach every child before the agreed instant. */
const START_DELAY_MS = 250;

/**
 * Starts the children, waits until all have booted, has all open their stores at one agreed instant,
 * waits until all are connected, then runs the operation in every child at another agreed instant
 * and collects the outcomes.
 */
export async function raceAcrossProcesses(options: RaceOptions): Promise<Attempt[]> {
  const children = Array.from({ length: options.processes }, () => new Child());
  try {
    await Promise.all(children.map((child) => child.expect('started')));
    const openAt = Date.now() + START_DELAY_MS;
    for (const child of children) child.send({ type: 'open', config: options.config, now: options.now, connections: options.connectionsPerProcess, at: openAt });
    await Promise.all(children.map((child) => child.expect('ready')));
    const runAt = Date.now() + START_DELAY_MS;
    for (const child of children) child.send({ type: 'run', op: options.op, at: runAt });
    const done = await Promise.all(children.map((child) => child.expect('done')));
    return done.flatMap((message) => message.attempts);
  } finally {
    for (const child of children) child.kill();
  }
}

/** One worker process with a message queue, failing fast when it crashes. */
class Child {
  readonly #process: ChildProcess;
  readonly #queue: ChildMessage[] = [];
  #waiter: { resolve: (m: ChildMessage) => void; reject: (e: Error) => void } | undefined;
  #stderr = '';
  #exited: Error | undefined;

  constructor() {
    this.#process = fork(WORKER, [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.#process.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#process.on('message', (message: ChildMessage) => {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter.resolve(message);
      else this.#queue.push(message);
    });
    this.#process.on('exit', (code, signal) => {
      this.#exited = new Error(`store worker exited (code ${code}, signal ${signal}) before answering\n${this.#stderr}`);
      this.#waiter?.reject(this.#exited);
      this.#waiter = undefined;
    });
  }

  send(message: ParentMessage): void {
    this.#process.send(message);
  }

  async expect<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    const message = await this.#next();
    if (message.type === 'failed') throw new Error(`store worker failed: ${message.message}`);
    if (message.type !== type) throw new Error(`store worker sent ${message.type}, expected ${type}`);
    return message as Extract<ChildMessage, { type: T }>;
  }

  kill(): void {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill();
  }

  #next(): Promise<ChildMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}
