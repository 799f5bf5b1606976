// Server-child side of the benchmark's IPC: announces the listening URL, reports its own CPU time
// and memory (RSS, V8 heap) when asked, and exits on `stop` or when the parent goes away.
export type ParentMessage = { type: 'stats' } | { type: 'stop' };
export type ServerMessage = { type: 'ready'; url: string } | { type: 'stats'; cpuMicros: number; systemMicros: number; rss: number; heapUsed: number; heapTotal: number };

/** The port the parent picked for this child (BENCH_PORT). */
export function benchPort(): number {
  const port = Number(process.env.BENCH_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('BENCH_PORT must be set by the benchmark runner');
  return port;
}

export function serveBenchIpc(url: string, close: () => Promise<void>): void {
  if (!process.send) throw new Error('run this file through bench/client-credentials.ts (it needs an IPC channel)');
  const send = (message: ServerMessage) => process.send!(message);
  const exit = () => {
    setTimeout(() => process.exit(0), 3000).unref();
    // process.exit (not a signal) so that `--cpu-prof` writes its profile.
    close().finally(() => process.exit(0));
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') {
      const { user, system } = process.cpuUsage();
      const { rss, heapUsed, heapTotal } = process.memoryUsage();
      send({ type: 'stats', cpuMicros: user + system, systemMicros: system, rss, heapUsed, heapTotal });
    } else if (message.type === 'stop') {
      exit();
    }
  });
  process.on('disconnect', exit);
  send({ type: 'ready', url });
}
