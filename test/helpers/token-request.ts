// A token request on a connection of its own (no keep-alive socket outliving a Baton the test
// restarts on the same port), with HTTP Basic client authentication.
import { request } from 'node:http';

export function tokenRequest(issuer: string, clientId: string, secret: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = new URLSearchParams(form).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` };
  return new Promise((resolve, reject) => {
    const req = request(`${issuer}/token`, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
