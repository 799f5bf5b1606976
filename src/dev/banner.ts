// What `baton dev` prints once everything listens: every URL and credential a visitor needs.
import type { DevPorts } from './ports.ts';
import type { OrdersPolicy } from './authorizer.ts';
import type { DemoParts } from './parts.ts';
import type { DemoUser } from './idp/users.ts';

export interface BannerInput {
  readonly ports: DevPorts;
  readonly parts: DemoParts;
  readonly users: readonly DemoUser[];
  readonly policy: OrdersPolicy;
  readonly configFile: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly auditFile?: string;
}

export function banner({ ports, parts, users, policy, configFile, dataDir, logFile, auditFile }: BannerInput): string {
  const url = (port: number, path = '') => `http://localhost:${port}${path}`;
  const row = (label: string, value: string, note = '') => `  ${label.padEnd(24)}${value.padEnd(42)}${note}`.trimEnd();
  const width = Math.max(...users.map((u) => `${u.username} / ${u.password}`.length)) + 3;
  const access = (user: DemoUser) => {
    const scopes = policy[`${parts.upstream.id}:${user.username}`]?.scopes ?? [];
    return scopes.length ? scopes.join(' ') : 'no orders access';
  };
  return [
    '',
    `Baton demo is running. Open ${url(ports.app)} and sign in.`,
    '',
    row('Demo app', url(ports.app), `client ${parts.app.client_id} / ${parts.app.client_secret}`),
    row('  device flow', url(ports.app, '/device'), `client ${parts.device.client_id} (public)`),
    row('  token exchange', url(ports.app, '/exchange')),
    row('  single-page app', url(ports.app, '/spa'), `through Baton's BFF, ${url(ports.baton, '/bff/spa/')}`),
    row('Baton (issuer)', url(ports.baton), `discovery: ${url(ports.baton, '/.well-known/openid-configuration')}`),
    row('  metrics', url(ports.baton, '/metrics'), '(Prometheus)'),
    row('Contoso (demo IdP)', url(ports.idp), `Baton's client there: ${parts.upstream.client_id} / ${parts.upstream.client_secret}`),
    row('Orders API', url(ports.api, '/orders'), `aud ${parts.orders.audience ?? parts.orders.id}`),
    row('Shipping API', url(ports.api, '/shipping'), `aud ${parts.shipping.audience ?? parts.shipping.id}`),
    row('Orders authorizer', url(ports.api, '/authorizer/decide'), `owns ${parts.authorizer.namespace}; its policy can be changed on the app's home page`),
    '',
    '  Sign in at Contoso as:',
    ...users.map((u) => `    ${`${u.username} / ${u.password}`.padEnd(width)}${access(u)}`),
    '',
    row('Configuration', configFile),
    row('Data', dataDir, '(SQLite; development master secret generated here once)'),
    row('Baton log', logFile, '(JSON lines, authorizer decisions included)'),
    ...(auditFile ? [row('Audit log', auditFile, '(JSON lines: sign-ins, tokens by hashed id, decisions, logouts)')] : []),
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}
