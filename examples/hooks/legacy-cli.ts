// examples/hooks/legacy-cli.ts: the password grant for one legacy client, checked against an LDAP
// bridge. Tested by test/orchestration/hook-examples.test.ts.
import type { Hooks } from '../../src/orchestration/hooks/types.ts';

export const authenticateBackchannel: Hooks['authenticateBackchannel'] = async (ctx, api) => {
  const res = await api.fetch('https://ldap-bridge.internal/bind', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': api.secrets.get('ldapKey') ?? '' },
    body: JSON.stringify({ username: ctx.username, password: ctx.password }),
  });
  if (res.status === 401) return { deny: 'Invalid username or password' };
  if (!res.ok) throw new Error(`LDAP bridge answered ${res.status}`);
  const person = (await res.json()) as { uid: string; mail: string; cn: string };
  return { sub: `ldap:${person.uid}`, claims: { email: person.mail, name: person.cn } };
};
