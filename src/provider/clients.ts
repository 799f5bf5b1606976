// Baton client configuration -> oidc-provider client metadata (RFC 7591 names).
import type { ClientMetadata } from 'oidc-provider';

import { defaultIdTokenAlgorithm } from '../config/algorithms.ts';
import type { BatonConfig, ClientConfig } from '../config/schema.ts';

export function clientMetadata(client: ClientConfig, config: BatonConfig): ClientMetadata {
  const grants = new Set(client.grant_types);
  const metadata: ClientMetadata = {
    client_id: client.client_id,
    client_name: client.client_name,
    grant_types: client.grant_types,
    response_types: grants.has('authorization_code') ? ['code'] : [],
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    id_token_signed_response_alg: client.id_token_signed_response_alg ?? defaultIdTokenAlgorithm(config.keys.signing),
    // No OpenID scopes (`scopes: []`, a client without a user): the provider refuses an empty
    // `scope`, so it is left out; its grants give such a client resource scopes only (the
    // authorization and device endpoints, which would read "absent" as "any", refuse it at config).
    ...(client.scopes.length > 0 ? { scope: client.scopes.join(' ') } : {}),
    backchannel_logout_uri: client.backchannel_logout_uri,
    backchannel_logout_session_required: client.backchannel_logout_session_required,
  };
  // A hash is handed to the provider as the "secret"; comparison is overridden for hashes (server.ts).
  const secret = client.client_secret ?? client.client_secret_hash;
  if (secret !== undefined) metadata.client_secret = secret;
  return metadata;
}
