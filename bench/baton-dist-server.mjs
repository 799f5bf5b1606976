// Benchmark child (a), compiled: the same Baton as baton-server.ts, but from dist/ (`npm run build`), run
// by plain node without tsx, as the installed package runs it (issue 16, memory). JavaScript, since
// node alone cannot import the TypeScript of the other children: the configuration comes as JSON
// (BENCH_BATON_CONFIG, from baton-config.ts), and the IPC of server-ipc.ts is repeated here.
import { validateConfig } from '../dist/config/load.js';
import { createBaton } from '../dist/server.js';

const config = validateConfig(JSON.parse(process.env.BENCH_BATON_CONFIG ?? '{}'), 'bench config');
const baton = await createBaton(config, { keyReloadInterval: 0, leanTokenPath: process.env.BENCH_BATON_LEAN !== '0' });
await baton.listen(config.server.port, '127.0.0.1');

if (!process.send) throw new Error('run this file through bench/client-credentials.ts (it needs an IPC channel)');
const exit = () => {
  setTimeout(() => process.exit(0), 3000).unref();
  baton.close().finally(() => process.exit(0));
};
process.on('message', (message) => {
  if (message.type === 'stats') {
    const { user, system } = process.cpuUsage();
    const { rss, heapUsed, heapTotal } = process.memoryUsage();
    process.send({ type: 'stats', cpuMicros: user + system, rss, heapUsed, heapTotal });
  } else if (message.type === 'stop') {
    exit();
  }
});
process.on('disconnect', exit);
process.send({ type: 'ready', url: config.issuer });
