// Child processes of the benchmark: started with `node --import tsx` (plain node for a .mjs), pinned to one CPU with
// taskset when the machine allows it, spoken to over IPC, and always stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Pinning { server?: number; load?: number; note?: string }

/** Server on CPU 0, load generator on CPU 1; no pinning (with a note) when that is not possible. */
export function choosePinning(): Pinning {
  console.log(keepCpusAwake());
  const cpus = availableParallelism();
  if (cpus < 2) return { note: `only ${cpus} CPU available: server and load generator share it, figures are indicative only` };
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status !== 0) return { note: 'taskset not found: processes are not pinned to CPUs, expect noisier figures' };
  return { server: 0, load: 1 };
}

let idle: string | undefined;

/**
 * Idle CPUs poll instead of halting while this process runs (PM QoS: 0 µs written to
 * /dev/cpu_dma_latency, the request held until the descriptor closes at exit). On a VM whose idle
 * CPU halts, the server's write of each response wakes the load generator's halted CPU, and the
 * hypervisor's wake-up is charged to that write (`sock_def_readable` under `writev`: on a
 * Firecracker guest, 2026-12-08, system CPU per refresh fell from 60-70 to 22-30 µs for Baton and
 * from 28-48 to 22-36 µs for bare with polling), more to a server whose responses leave one at a
 * time than to one whose responses leave in bursts (bare oidc-provider signs on libuv's pool).
 * A polling CPU is woken without an interrupt. Without a cpuidle driver the request changes
 * nothing (the message says so). BENCH_IDLE=halt measures with halting.
 */
function keepCpusAwake(): string {
  if (idle) return idle;
  if (process.env.BENCH_IDLE === 'halt') return (idle = 'idle CPUs may halt (BENCH_IDLE=halt): on a VM a halted CPU\'s wake-up is charged to the write that wakes it');
  let driver = 'unknown';
  try {
    driver = readFileSync('/sys/devices/system/cpu/cpuidle/current_driver', 'utf8').trim();
  } catch {
    // No cpuidle in sysfs: the request may still be honoured by the idle loop.
  }
  try {
    writeSync(openSync('/dev/cpu_dma_latency', 'r+'), Buffer.alloc(4));
  } catch (error) {
    return (idle = `idle CPUs may halt: /dev/cpu_dma_latency could not be held (${(error as NodeJS.ErrnoException).code ?? String(error)}); on a VM a halted CPU's wake-up is charged to the write that wakes it`);
  }
  idle = driver === 'none'
    ? 'idle CPUs may still halt: /dev/cpu_dma_latency held at 0 µs, but there is no cpuidle driver to honour it'
    : `idle CPUs poll instead of halting while this runs (/dev/cpu_dma_latency held at 0 µs, cpuidle driver ${driver}; BENCH_IDLE=halt to measure without)`;
  return idle;
}

export class Child {
  readonly exited: Promise<void>;
  constructor(readonly name: string, readonly process: ChildProcess) {
    this.exited = new Promise((resolve) => {
      process.once('exit', () => resolve());
      process.once('error', () => resolve());
    });
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Next message of the given type; rejects if the child exits first. */
  next<T extends { type: string }>(type: T['type']): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: T) => {
        if (message?.type !== type) return;
        cleanup();
        resolve(message);
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new Error(`${this.name} exited (${signal ?? `code ${code}`}) while waiting for '${type}'`));
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new Error(`${this.name}: ${err.message}`));
      };
      const cleanup = () => {
        this.process.off('message', onMessage);
        this.process.off('exit', onExit);
        this.process.off('error', onError);
      };
      this.process.on('message', onMessage);
      this.process.once('exit', onExit);
      this.process.once('error', onError);
    });
  }

  request<T extends { type: string }>(message: { type: string } & Record<string, unknown>, reply: T['type']): Promise<T> {
    const answer = this.next<T>(reply);
    this.process.send(message);
    return answer;
  }

  /** Asks the child to exit, then SIGTERM and SIGKILL by PID if it does not. */
  async stop(): Promise<void> {
    const pid = this.process.pid;
    if (!this.running || pid === undefined) return;
    const within = (ms: number) => Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (this.process.connected) this.process.send({ type: 'stop' });
    if (await within(5000)) return;
    process.kill(pid, 'SIGTERM');
    if (await within(2000)) return;
    process.kill(pid, 'SIGKILL');
    await this.exited;
  }
}

/** Every child started, so that all of them are stopped whatever happens. */
/**
 * On SIGINT or SIGTERM: runs `cleanup` (stop the children, remove scratch data) and exits 130.
 * Returns the function that removes the handlers again (call it when the run ends normally).
 */
export function onInterrupt(cleanup: () => Promise<unknown>): () => void {
  const interrupt = () => { void cleanup().finally(() => process.exit(130)); };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  return () => {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  };
}

export class Children {
  readonly #all: Child[] = [];

  async start(name: string, file: string, options: { cpu?: number; env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<{ child: Child; ready: { type: 'ready'; url?: string } }> {
    // A JavaScript child (baton-dist-server.mjs) runs without tsx: its memory is the installed package's.
    const loader = /\.m?js$/.test(file) ? [] : ['--import', 'tsx'];
    const node = [process.execPath, ...(options.nodeArgs ?? []), ...loader, fileURLToPath(new URL(file, import.meta.url))];
    const [command, ...args] = options.cpu === undefined ? node : ['taskset', '-c', String(options.cpu), ...node];
    const proc = spawn(command!, args, {
      cwd: ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...options.env },
      // stdout is discarded (Baton's request log would flood the terminal); stderr shows failures.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    forwardStderr(name, proc);
    const child = new Child(name, proc);
    this.#all.push(child);
    const ready = await child.next<{ type: 'ready'; url?: string }>('ready');
    return { child, ready };
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.#all.map((child) => child.stop().catch(() => undefined)));
  }
}

/** oidc-provider's start-up warnings that are expected here (Node 20, default memory adapter). */
const EXPECTED_WARNING = /^oidc-provider WARNING: (Unsupported runtime|a quick start development-only in-memory adapter)/;

function forwardStderr(name: string, proc: ChildProcess): void {
  let pending = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (!EXPECTED_WARNING.test(line)) process.stderr.write(`[${name}] ${line}\n`);
  });
  proc.stderr!.on('end', () => {
    if (pending && !EXPECTED_WARNING.test(pending)) process.stderr.write(`[${name}] ${pending}\n`);
  });
}
