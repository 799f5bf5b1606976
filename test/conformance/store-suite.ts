// The storage conformance suite: what every Store backend (memory, SQLite, PostgreSQL, Redis, split)
// must do, per the contract in src/storage/store.ts. A backend joins by calling describeStoreConformance()
// from a test file; time is an injected clock. Each concern is a module under store-suite/.
import { describe } from 'vitest';

import { describeAdapter } from './store-suite/adapter.ts';
import { describeConsume } from './store-suite/consume.ts';
import { describeExpiry } from './store-suite/expiry.ts';
import { type OpenStore, storeUnderTest } from './store-suite/harness.ts';
import { describeInsertRecords } from './store-suite/insert-records.ts';
import { describeLifecycle } from './store-suite/lifecycle.ts';
import { describeModels, describeRevocation } from './store-suite/models.ts';
import { describeRecords } from './store-suite/records.ts';
import { describeRefreshRotation } from './store-suite/refresh-rotation.ts';
import { describeRekey } from './store-suite/rekey.ts';
import { describeTokensAtRest } from './store-suite/tokens-at-rest.ts';

export type { OpenStore, OpenedStore } from './store-suite/harness.ts';
export { PROCESS_RACE_TIMEOUT } from './store-suite/harness.ts';

export function describeStoreConformance(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, () => {
    const suite = storeUnderTest(name, open);
    describeModels(suite);
    describeExpiry(suite);
    describeConsume(suite);
    describeRevocation(suite);
    describeRecords(suite);
    describeInsertRecords(suite);
    describeLifecycle(suite);
    describeAdapter(suite);
    describeRefreshRotation(suite);
    describeRekey(suite);
    describeTokensAtRest(suite);
  });
}
