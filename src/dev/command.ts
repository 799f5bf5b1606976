// The `baton dev` command: turns its options into ports and paths, starts the demo, and turns
// the failures a newcomer can meet (a taken port, an edited config) into a message and an exit
// code, never a stack trace. Ctrl-C and SIGTERM stop every component.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError } from '../config/issues.ts';
import { PortInUseError, startDemo } from './index.ts';
import { DEFAULT_PORT_BASE, portInUseMessage, resolvePorts } from './ports.ts';

export const DEFAULT_CONFIG = fileURLToPath(new URL('../../examples/dev/baton.yaml', import.meta.url));
export const DEFAULT_DATA_DIR = './data/dev';

export interface DevCommandOptions {
  readonly portBase?: string;
  readonly batonPort?: string;
  readonly idpPort?: string;
  readonly apiPort?: string;
  readonly appPort?: string;
  readonly dataDir?: string;
  readonly config?: string;
}

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value)) throw new Error(`${flag}: "${value}" is not a port number`);
  return Number(value);
}

function fail(message: string, code: number): never {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(code);
}

export async function runDevCommand(options: DevCommandOptions): Promise<void> {
  let demo;
  try {
    const ports = resolvePorts(port(options.portBase, '--port-base') ?? DEFAULT_PORT_BASE, {
      baton: port(options.batonPort, '--baton-port'),
      idp: port(options.idpPort, '--idp-port'),
      api: port(options.apiPort, '--api-port'),
      app: port(options.appPort, '--app-port'),
    });
    demo = await startDemo({
      configFile: resolve(options.config ?? DEFAULT_CONFIG),
      dataDir: resolve(options.dataDir ?? DEFAULT_DATA_DIR),
      ports,
      say: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (err) {
    if (err instanceof PortInUseError) fail(portInUseMessage(err), 1);
    if (err instanceof ConfigError) fail(err.message, 2);
    fail(`baton dev: ${(err as Error).message}`, 1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the demo...\n`);
    demo.stop().then(() => {
      process.stdout.write('stopped\n');
      process.exit(0);
    }, (err: Error) => fail(`unclean shutdown: ${err.message}`, 1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // `npm run dev` stopped by a SIGTERM to npm may end npm and its shell but not this process, which
  // would keep the ports: once re-parented (the parent is gone), stop as on SIGTERM.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) stop('parent process exited'); }, 1000).unref();
}
