// RFC 8628 section 3.5: a device that polls faster than its interval gets `slow_down` and must add
// 5 seconds to its interval from then on. oidc-provider answers `authorization_pending` to every
// early poll; Baton tracks each device code's last poll in the store and turns an early pending
// answer into slow_down (nothing is issued either way, so the rewrite cannot lose a token).
// Only a pending answer is recorded: it proves the client authenticated and the device code is its
// own, so unauthenticated or unknown-code polls cannot make the store grow.
import { createHash } from 'node:crypto';

import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { Store } from '../storage/store.ts';

const KIND = 'device-poll';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** The interval oidc-provider announces in device authorization responses (seconds). */
const INITIAL_INTERVAL = 5;
const SLOW_DOWN_STEP = 5;

interface PollRecord {
  readonly last: number;
  readonly interval: number;
}

export function devicePolling(store: Store, lifetime: number, now: () => number = Date.now) {
  return async (ctx: Context): Promise<void> => {
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    const deviceCode = oidc?.params?.device_code;
    if (oidc?.route !== 'token' || oidc.params?.grant_type !== DEVICE_CODE_GRANT || typeof deviceCode !== 'string') return;
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    if (body?.error !== 'authorization_pending') return;
    const key = createHash('sha256').update(deviceCode).digest('base64url');
    const previous = (await store.getRecord<PollRecord>(KIND, key))?.value;
    const at = now();
    let interval = previous?.interval ?? INITIAL_INTERVAL;
    if (previous && at - previous.last < previous.interval * 1000) {
      interval += SLOW_DOWN_STEP;
      ctx.body = { error: 'slow_down', error_description: `polling too fast: wait at least ${interval} seconds between requests` };
    }
    await store.putRecord<PollRecord>(KIND, key, { last: at, interval }, { expiresIn: lifetime + 60 });
  };
}
