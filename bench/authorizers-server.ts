// Child process of bench/authorizers.ts: three authorizers on 127.0.0.1 that grant after fixed
// delays (BENCH_DELAYS, e.g. "20,30,50"), so their CPU cost stays out of the measured process.
import { startSlowAuthorizer } from './authorizers-support.ts';

const delays = (process.env.BENCH_DELAYS ?? '20,30,50').split(',').map(Number);
const servers = await Promise.all(delays.map((delay) => startSlowAuthorizer(delay)));
if (!process.send) throw new Error('run through bench/authorizers.ts (it needs an IPC channel)');
const exit = () => {
  setTimeout(() => process.exit(0), 2000).unref();
  void Promise.all(servers.map((server) => server.close())).finally(() => process.exit(0));
};
process.on('message', (message: { type?: string }) => { if (message.type === 'stop') exit(); });
process.on('disconnect', exit);
process.send({ type: 'ready', url: servers[0]!.url, urls: servers.map((server) => server.url) });
