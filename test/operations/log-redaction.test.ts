// Baton's logger censors in one pass (src/observability/redact.ts) what pino's path redactor did
// with REDACT_PATHS: every record below comes out of createLogger exactly as out of pino with those
// paths (or censored more, never less), and the caller's objects are left untouched.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

import { REDACT_PATHS, createLogger } from '../../src/observability/logger.ts';

const SECRET = /s3cr3t/;

function capture(make: (stream: { write: (line: string) => void }) => pino.Logger) {
  const lines: string[] = [];
  const logger = make({ write: (line) => { lines.push(line); } });
  return { logger, lines, last: () => JSON.parse(lines.at(-1)!) as Record<string, unknown> };
}

/** Both loggers, same level and base; `time`, `pid`, `hostname` dropped before comparing. */
function both() {
  const ours = capture((stream) => createLogger('debug', stream));
  const reference = capture((stream) => pino({
    level: 'debug', base: { service: 'baton' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  }, stream));
  const strip = (line: Record<string, unknown>) => { delete line.time; return line; };
  return { ours, reference, compare: () => expect(strip(ours.last())).toEqual(strip(reference.last())) };
}

class Credentials {
  constructor(readonly user: string, readonly password: string) {}
}

const RECORDS: Record<string, () => Record<string, unknown>> = {
  'top level': () => ({ client_secret: 's3cr3t', token: 's3cr3t-2', privateKey: 's3cr3t-3', user: 'alice' }),
  'one level down': () => ({ req: { headers: { authorization: 'Basic s3cr3t', accept: 'x' } }, body: { refresh_token: 's3cr3t' } }),
  'two levels down': () => ({ a: { b: { access_token: 's3cr3t', kept: 1 } }, x: { y: { id_token: 's3cr3t', cookie: 's3cr3t' } } }),
  'beyond three levels (left as pino left it)': () => ({ a: { b: { c: { password: 'deep' } } } }),
  'OAuth codes only where they are codes': () => ({ params: { code: 's3cr3t' }, query: { code: 's3cr3t' }, body: { code: 's3cr3t' }, error: { code: 'E_OK' }, code: 'ERR_X' }),
  'set-cookie in headers': () => ({ headers: { 'set-cookie': ['s3cr3t'] }, res: { headers: { 'set-cookie': 's3cr3t', vary: 'x' } } }),
  'arrays': () => ({ list: [{ password: 's3cr3t' }, { ok: 1 }], nested: [{ secret: 's3cr3t' }], deeper: { list: [{ secret: 'deep' }] } }),
  'class instances': () => ({ login: new Credentials('alice', 's3cr3t'), wrapped: { login: new Credentials('bob', 's3cr3t') } }),
  'undefined and null values': () => ({ password: undefined, secret: null, a: { token: undefined } }),
  'an authorizer decision': () => ({ event: 'authorizer.decision', sub: 'alice', client_id: 'web', trace: { authorizer: 'orders', requested: ['orders:read'], granted: [], outcome: 'granted', cached: false, latencyMs: 1.5 } }),
};

describe('log redaction', () => {
  for (const [name, make] of Object.entries(RECORDS)) {
    it(`${name}: the same line as pino's path redaction`, () => {
      const { ours, reference, compare } = both();
      const record = make();
      const before = JSON.stringify(record);
      ours.logger.info(record, 'message');
      reference.logger.info(make(), 'message');
      compare();
      expect(JSON.stringify(record)).toBe(before); // the caller's object is not modified
      expect(ours.lines.at(-1)).not.toMatch(SECRET);
    });
  }

  it('errors: secrets on an error (and one level inside it) are censored after serialization', () => {
    const { ours, reference } = both();
    const make = () => Object.assign(new Error('boom'), { code: 'E_BOOM', password: 's3cr3t', config: { authorization: 'Bearer s3cr3t', headers: { authorization: 'deep' } } });
    const err = make();
    ours.logger.error({ err, client_id: 'web' }, 'failed');
    reference.logger.error({ err: make(), client_id: 'web' }, 'failed');
    const [a, b] = [ours.last(), reference.last()];
    expect({ ...(a.err as object), stack: undefined }).toEqual({ ...(b.err as object), stack: undefined });
    expect(a.err).toMatchObject({ type: 'Error', message: 'boom', code: 'E_BOOM', password: '[redacted]' });
    expect(ours.lines.at(-1)).not.toMatch(SECRET);
    expect(err.password).toBe('s3cr3t');
    // An Error logged on its own becomes `err` too.
    ours.logger.error(make());
    expect(ours.last().err).toMatchObject({ type: 'Error', password: '[redacted]' });
    expect(ours.lines.at(-1)).not.toMatch(SECRET);
  });

  it('child bindings are censored as records are', () => {
    const { ours, reference, compare } = both();
    ours.logger.child({ secret: 's3cr3t', ctx: { token: 's3cr3t', id: 'r1' } }).info({ x: 1 }, 'child');
    reference.logger.child({ secret: 's3cr3t', ctx: { token: 's3cr3t', id: 'r1' } }).info({ x: 1 }, 'child');
    compare();
    expect(ours.lines.at(-1)).not.toMatch(SECRET);
    // A grandchild, and a child with options, too.
    ours.logger.child({ a: 1 }).child({ password: 's3cr3t' }).info('grandchild');
    reference.logger.child({ a: 1 }).child({ password: 's3cr3t' }).info('grandchild');
    compare();
    ours.logger.child({ cookie: 's3cr3t' }, { level: 'warn' }).warn('with options');
    reference.logger.child({ cookie: 's3cr3t' }, { level: 'warn' }).warn('with options');
    compare();
    expect(ours.lines.join('')).not.toMatch(SECRET);
  });
});
