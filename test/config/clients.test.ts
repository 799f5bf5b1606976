// clientConfig: a configured client by id through one index per loaded configuration.
import { describe, expect, it } from 'vitest';

import { clientConfig } from '../../src/config/clients.ts';
import { validateConfig } from '../../src/config/load.ts';

const base = {
  issuer: 'https://id.example.com',
  keys: { masterSecret: 'test-master-secret-0123456789abcdefghij' },
};

describe('clientConfig', () => {
  it('finds each of many clients by id, and nothing for an unknown or absent id', () => {
    const config = validateConfig({
      ...base,
      clients: Array.from({ length: 2_000 }, (_, i) => ({ client_id: `c${i}`, client_secret: `secret-${i}-0123456789abcdef`, redirect_uris: [`https://app${i}.example.com/cb`], client_name: `App ${i}` })),
    }, 'test');
    expect(clientConfig(config, 'c0')?.client_name).toBe('App 0');
    expect(clientConfig(config, 'c1999')?.client_name).toBe('App 1999');
    expect(clientConfig(config, 'c2000')).toBeUndefined();
    expect(clientConfig(config, undefined)).toBeUndefined();
    expect(clientConfig(config, '__proto__')).toBeUndefined();
  });

  it('answers from the configuration it is given (a reloaded configuration has its own clients)', () => {
    const first = validateConfig({ ...base, clients: [{ client_id: 'app', client_secret: 'first-secret-0123456789abcdef', redirect_uris: ['https://app.example.com/cb'], client_name: 'First' }] }, 'test');
    const second = validateConfig({ ...base, clients: [{ client_id: 'app', client_secret: 'second-secret-0123456789abcdef', redirect_uris: ['https://app.example.com/cb'], client_name: 'Second' }] }, 'test');
    expect(clientConfig(first, 'app')?.client_name).toBe('First');
    expect(clientConfig(second, 'app')?.client_name).toBe('Second');
  });
});
