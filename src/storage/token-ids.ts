// The id under which a bearer secret (refresh token, authorization code, opaque access token, device
// code, session or interaction cookie value) is stored: a one-way hash, so a read database or backup
// holds no usable value. Unkeyed SHA-256 suffices because every such value carries at least 256 bits of
// randomness (oidc-provider's nanoid ids): there is nothing to guess, so no dictionary to precompute.
// RFC 6819 section 5.1.4.1.3: no cleartext storage of credentials.
import { hash } from 'node:crypto';

/** SHA-256 of the value (UTF-8), base64url: the store key of a token presented as `value`. */
export function storedTokenId(value: string): string {
  // The one-shot digest: several per token request, each a third of createHash's cost.
  return hash('sha256', value, 'base64url');
}
