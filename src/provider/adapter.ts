// oidc-provider's model adapter over Baton's Store. One-time artifacts are consumed atomically in
// the backend; the loser of a race gets invalid_grant and the whole grant is revoked, as RFC 6749
// section 4.1.2 (code reuse) and RFC 9700 section 4.14.2 (refresh token reuse) ask.
import { errors } from 'oidc-provider';

import type { ModelPayload, Store } from '../storage/store.ts';
import { deferConsumption } from '../grants/spend-on-success.ts';
import { revokeDerivedGrants } from './grant-lineage.ts';

/** Models that hang off a grant and die with it. */
const GRANT_BOUND_MODELS = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

const EXPIRED_DEVICE_CODE_RETENTION = 600;

const LABELS: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
};

export interface ReuseEvent {
  readonly model: string;
  readonly grantId: string | undefined;
  readonly clientId: string | undefined;
}

export function createAdapter(store: Store, onReuse: (event: ReuseEvent) => void) {
  return class BatonAdapter {
    readonly name: string;

    constructor(name: string) {
      this.name = name;
    }

    upsert(id: string, payload: ModelPayload, expiresIn?: number): Promise<void> {
      // RFC 8628 section 3.5: a device polling after expiry must learn `expired_token`, so the
      // record outlives its own `exp` (which the provider checks) by a little.
      const keep = this.name === 'DeviceCode' && expiresIn !== undefined ? expiresIn + EXPIRED_DEVICE_CODE_RETENTION : expiresIn;
      return store.upsert(this.name, id, payload, keep);
    }

    find(id: string): Promise<ModelPayload | undefined> {
      return store.find(this.name, id);
    }

    findByUid(uid: string): Promise<ModelPayload | undefined> {
      return store.findByUid(this.name, uid);
    }

    findByUserCode(userCode: string): Promise<ModelPayload | undefined> {
      return store.findByUserCode(this.name, userCode);
    }

    async consume(id: string): Promise<void> {
      // Spend on success (grants/spend-on-success.ts): in a token request this commits once the response is decided.
      if (deferConsumption(this.name, () => this.consume(id))) return;
      if (await store.consume(this.name, id)) return;
      // Lost a race against another redemption of the same artifact: treat it as reuse.
      const payload = await store.find(this.name, id);
      const grantId = typeof payload?.grantId === 'string' ? payload.grantId : undefined;
      if (grantId) await revokeGrant(store, grantId);
      onReuse({ model: this.name, grantId, clientId: typeof payload?.clientId === 'string' ? payload.clientId : undefined });
      throw new errors.InvalidGrant(`${LABELS[this.name] ?? 'grant'} already used`);
    }

    destroy(id: string): Promise<void> {
      return store.destroy(this.name, id);
    }

    revokeByGrantId(grantId: string): Promise<void> {
      return store.revokeByGrantId(this.name, grantId);
    }
  };
}

export async function revokeGrant(store: Store, grantId: string): Promise<void> {
  await Promise.all([...GRANT_BOUND_MODELS.map((model) => store.revokeByGrantId(model, grantId)), store.destroy('Grant', grantId)]);
  // Grants a token exchange derived from this one end with it.
  await revokeDerivedGrants(store, grantId, (derived) => revokeGrant(store, derived));
}
