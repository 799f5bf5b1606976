// Every call a connector makes to its upstream IdP, timed into `baton_upstream_request_seconds`
// and traced as an `upstream.<operation>` span; the connector's behaviour is unchanged.
import { UpstreamError, type Connector } from '../upstream/connector.ts';
import { timedCall, type Metrics } from './metrics.ts';

/** Connector methods that reach the upstream, and the operation each is reported as. */
const OPERATIONS: Readonly<Record<string, string>> = { begin: 'begin', complete: 'sign_in', refresh: 'refresh', revoke: 'revoke', verifyIdToken: 'verify_id_token', endSessionEndpoint: 'end_session' };

/**
 * The connector with its upstream calls measured. Every other method still runs on the connector
 * itself (its private fields), and optional capabilities stay exactly as present or absent.
 */
export function instrumentConnector<C extends Connector>(connector: C, metrics: Metrics): C {
  const measure = (operation: string, call: (...args: unknown[]) => Promise<unknown>) => (...args: unknown[]) =>
    timedCall(metrics.upstreams, { upstream: connector.id, operation }, `upstream.${operation}`, { 'baton.upstream': connector.id },
      () => call.apply(connector, args), (err) => (err instanceof UpstreamError ? err.kind : 'error'));
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(connector, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!wrapped.has(property)) {
        const operation = typeof property === 'string' && Object.hasOwn(OPERATIONS, property) ? OPERATIONS[property] : undefined;
        const fn = value as (...args: unknown[]) => Promise<unknown>;
        wrapped.set(property, operation ? measure(operation, fn) : fn.bind(target));
      }
      return wrapped.get(property);
    },
  });
}
