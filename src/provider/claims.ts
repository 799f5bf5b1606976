// Standard claims per scope (OIDC Core section 5.4) and the scopes Baton serves itself.
import { OIDC_SCOPES } from '../config/schema.ts';

export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
} as const;

export const STATIC_SCOPES: readonly string[] = OIDC_SCOPES;
