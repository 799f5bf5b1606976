import { SqliteStore } from '/work/main/src/storage/sqlite/sqlite-store.ts';
import { mkdtempSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
const dir = mkdtempSync('/tmp/mb-');
const store = new SqliteStore({ path: `${dir}/b.db` });
const trace = { v: 1, requestId: 'x', at: Date.now(), request: { endpoint: 'token', clientId: 'bench-client', grantType: 'client_credentials', resources: ['https://api.example.com'], scopes: ['read'] },
  result: { outcome: 'issued', scopes: [{ scope: 'read', granted: true, by: 'client', resource: 'https://api.example.com' }],
    claims: Array.from({ length: 8 }, (_, i) => ({ token: 'access_token', resource: 'https://api.example.com', claim: `claim${i}`, by: 'baton', value: 'some value' })) } };
const mode = process.argv[2] ?? 'uuid';
let n = 0;
const id = () => mode === 'uuid' ? randomUUID() : `${Date.now().toString(36)}-${(n++).toString(36).padStart(6, '0')}`;
for (let round = 0; round < 4; round++) {
  const batch = 40; const count = 40000;
  const t = process.cpuUsage(); const s = performance.now();
  for (let r = 0; r < count / batch; r++) {
    await store.insertRecords('decision-trace', Array.from({ length: batch }, () => { const i = id(); return { id: i, value: { ...trace, requestId: i } }; }), 3600);
  }
  const c = process.cpuUsage(t);
  console.log(`${mode} round ${round}: ${((c.user + c.system) / count).toFixed(1)} µs CPU/record, ${((performance.now() - s) * 1000 / count).toFixed(1)} µs wall`);
}
