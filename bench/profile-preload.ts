// Preloaded into a benchmark server child (`--import bench/profile-preload.ts`): V8's sampling
// profiler started and stopped by the parent over IPC, so a profile covers only the measured
// requests (not the start-up, the seeding or the warm-up). Messages: { type: 'profile-start',
// interval } and { type: 'profile-stop', file } (answered { type: 'profile-written' }).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();
process.on('message', (message: { type: string; interval?: number; file?: string }) => {
  if (message.type === 'profile-start') {
    void (async () => {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: message.interval ?? 100 });
      await session.post('Profiler.start');
      process.send!({ type: 'profile-started' });
    })();
  } else if (message.type === 'profile-stop') {
    void (async () => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(message.file!, JSON.stringify(profile));
      process.send!({ type: 'profile-written' });
    })();
  }
});
