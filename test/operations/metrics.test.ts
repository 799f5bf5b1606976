// Prometheus metrics at /metrics: token requests by grant, client and result; storage latency;
// process metrics. Values are read back from the exposition text after real requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ORDERS_API, standardConfig } from '../fixtures/standard.ts';
import { startBaton, TEST_ENV, type RunningBaton } from '../helpers/baton.ts';
import { basic, postForm } from '../helpers/rp.ts';

let baton: RunningBaton;
beforeAll(async () => {
  baton = await startBaton(standardConfig);
});
afterAll(() => baton.stop());

async function scrape(): Promise<string> {
  const res = await fetch(`${baton.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line ? Number(line.slice(series.length).trim()) : 0;
}

describe('/metrics', () => {
  it('counts issued and refused token requests by grant, client and error', async () => {
    const issued = 'baton_token_requests_total{grant_type="client_credentials",client_id="service",result="issued"}';
    const refused = 'baton_token_requests_total{grant_type="client_credentials",client_id="service",result="invalid_scope"}';
    const before = await scrape();
    await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS_API)}&scope=orders:read`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    await postForm(`${baton.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS_API)}&scope=orders:write`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    const after = await scrape();
    expect(value(after, issued) - value(before, issued)).toBe(1);
    expect(value(after, refused) - value(before, refused)).toBe(1);
  });

  it('labels a refusal with the error the client received: unauthorized_client, not the provider\'s invalid_request', async () => {
    const unauthorized = 'baton_token_requests_total{grant_type="refresh_token",client_id="service",result="unauthorized_client"}';
    const before = await scrape();
    // The service client is registered for client_credentials only.
    const res = await postForm(`${baton.url}/token`, 'grant_type=refresh_token&refresh_token=abc', { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    expect(res.json.error).toBe('unauthorized_client');
    const after = await scrape();
    expect(value(after, unauthorized) - value(before, unauthorized)).toBe(1);
    expect(after).not.toContain('grant_type="refresh_token",client_id="service",result="invalid_request"');
  });

  it('bounds label values: a made-up grant type or client id is one series, not one per value', async () => {
    for (const grant of ['made-up-1', 'made-up-2']) {
      await postForm(`${baton.url}/token`, `grant_type=${grant}`, { authorization: basic(`nobody-${grant}`, 'wrong-secret-0123456789') });
    }
    const text = await scrape();
    expect(text).not.toContain('made-up');
    expect(text).not.toContain('nobody-');
    expect(value(text, 'baton_token_requests_total{grant_type="other",client_id="unknown",result="unsupported_grant_type"}')
      + value(text, 'baton_token_requests_total{grant_type="other",client_id="unknown",result="invalid_client"}')).toBe(2);
  });

  it('times storage operations and exposes process metrics, never secrets', async () => {
    const text = await scrape();
    expect(text).toMatch(/baton_storage_seconds_count\{backend="memory",operation="[a-zA-Z]+",result="ok"\} [1-9]/);
    expect(text).toContain('baton_process_cpu_seconds_total');
    expect(text).toContain('baton_nodejs_heap_size_used_bytes');
    expect(text).not.toContain(TEST_ENV.SERVICE_SECRET);
  });
});

describe('/metrics on a separate port (metrics.port)', () => {
  let separate: RunningBaton;
  let metricsUrl: string;
  beforeAll(async () => {
    separate = await startBaton({ ...standardConfig, metrics: { port: 0 } });
    metricsUrl = `http://127.0.0.1:${separate.baton.metricsAddress!.port}`;
  });
  afterAll(() => separate.stop());

  it('serves the exposition there, and nothing else', async () => {
    await postForm(`${separate.url}/token`, `grant_type=client_credentials&resource=${encodeURIComponent(ORDERS_API)}&scope=orders:read`, { authorization: basic('service', TEST_ENV.SERVICE_SECRET) });
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('baton_token_requests_total{grant_type="client_credentials",client_id="service",result="issued"} 1');
    expect((await fetch(`${metricsUrl}/jwks`)).status).toBe(404);
  });

  it('is no longer on the main listener', async () => {
    expect((await fetch(`${separate.url}/metrics`)).status).toBe(404);
  });
});
