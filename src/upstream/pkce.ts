// The PKCE S256 code challenge of a sign-in at an upstream (RFC 7636 section 4.2):
// BASE64URL(SHA256(ASCII(code_verifier))). The same string as oauth4webapi's
// calculatePKCECodeChallenge (tested), on node:crypto's one-shot digest instead of a WebCrypto
// round trip through the thread pool on every sign-in.
import { hash } from 'node:crypto';

export function pkceChallenge(codeVerifier: string): string {
  return hash('sha256', codeVerifier, 'base64url');
}
