// The authorizer fan-out: HTTP services that each own a scope namespace and decide its scopes at
// every token issuance. See docs/authorizers.md.
export { Authorizers, type AuthorizersDeps } from './authorizers.ts';
export { DECISION_KIND, cacheKey } from './cache.ts';
export { checkAuthorizerConfigs } from './namespaces.ts';
export { AUTHORIZER_RESERVED_CLAIMS as RESERVED_CLAIMS } from '../reserved-claims.ts';
export { type AuthorizerTrace, type DecisionRequest, type FanoutResult } from './types.ts';
export type { AuthorizerConfig } from '../../config/orchestration.ts';
