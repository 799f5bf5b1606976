// The demo's four listeners and their ports: consecutive from --port-base (4000-4003 by default),
// each overridable. Checked free before anything starts, so a taken port fails fast and clearly.
import { createServer } from 'node:net';

import { PortInUseError } from './http.ts';

export interface DevPorts {
  readonly baton: number;
  readonly idp: number;
  readonly api: number;
  readonly app: number;
}

export const ROLES: Readonly<Record<keyof DevPorts, { readonly role: string; readonly flag: string; readonly offset: number }>> = {
  baton: { role: 'Baton', flag: '--baton-port', offset: 0 },
  idp: { role: 'demo IdP', flag: '--idp-port', offset: 1 },
  api: { role: 'demo API and authorizer', flag: '--api-port', offset: 2 },
  app: { role: 'demo app', flag: '--app-port', offset: 3 },
};

export const DEFAULT_PORT_BASE = 4000;

export function resolvePorts(base: number, overrides: Partial<DevPorts> = {}): DevPorts {
  const port = (name: keyof DevPorts) => overrides[name] ?? base + ROLES[name].offset;
  const ports = { baton: port('baton'), idp: port('idp'), api: port('api'), app: port('app') };
  const taken = new Map<number, string>();
  for (const [name, value] of Object.entries(ports) as Array<[keyof DevPorts, number]>) {
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${ROLES[name].flag}: ${value} is not a TCP port (1-65535)`);
    const other = taken.get(value);
    if (other) throw new Error(`${ROLES[name].flag}: port ${value} is already used for ${other}`);
    taken.set(value, ROLES[name].role);
  }
  return ports;
}

/** Resolves when every port can be bound on 127.0.0.1; rejects with PortInUseError naming the first taken one. */
export async function checkPortsFree(ports: DevPorts): Promise<void> {
  for (const name of Object.keys(ROLES) as Array<keyof DevPorts>) {
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new PortInUseError(ports[name], ROLES[name].role, ROLES[name].flag) : err));
      probe.listen(ports[name], '127.0.0.1', () => probe.close(() => resolve()));
    });
  }
}

/** What to tell someone whose port is taken. */
export function portInUseMessage(err: PortInUseError): string {
  return `baton dev: port ${err.port} (${err.role}) is already in use.\n`
    + `Stop whatever uses it, or choose other ports: --port-base <port> (uses it and the next three) or ${err.flag} <port>.\n`;
}
