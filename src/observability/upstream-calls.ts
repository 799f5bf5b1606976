// Every call a connector makes to its upstream IdP, timed into `baton_upstream_request_seconds`
// and traced as an `upstream.<operation>` span; the connector's behaviour is unchanged.
import { UpstreamError, type Connector } from '../upstream/connector.ts';
import { timedCall, type Metrics } from './metrics.ts';

/** Connector methods that reach the upstream, and the operation each is reported as. */
// Every method of a connector must be listed: a method reached through the prototype would run with
// the wrapper as `this`, without the connector's private fields.
const OPERATIONS = { begin: 'begin', complete: 'sign_in', refresh: 'refresh', revoke: 'revoke', verifyIdToken: 'verify_id_token', endSessionEndpoint: 'end_session' } as const;

/** The connector with its upstream calls measured; optional capabilities stay optional. */
export function instrumentConnector<C extends Connector>(connector: C, metrics: Metrics): C {
  const measured = Object.create(connector) as C;
  for (const [method, operation] of Object.entries(OPERATIONS)) {
    const original = (connector as unknown as Record<string, unknown>)[method];
    if (typeof original !== 'function') continue;
    const call = (original as (...args: unknown[]) => Promise<unknown>).bind(connector);
    Object.defineProperty(measured, method, {
      value: (...args: unknown[]) => timedCall(metrics.upstreams, { upstream: connector.id, operation }, `upstream.${operation}`, { 'baton.upstream': connector.id },
        () => call(...args), (err) => (err instanceof UpstreamError ? err.kind : 'error')),
    });
  }
  return measured;
}
