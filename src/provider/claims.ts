// Standard claims per scope (OIDC Core section 5.4) and the scopes Baton serves itself.
import { OIDC_SCOPES } from '../config/schema.ts';

export const SCOPE_CLAIMS = {
  // acr and amr are the upstream's (mapped at sign-in), released whenever the upstream gave them:
  // OIDC Core section 2 makes both optional, and acr_values asks for acr as a voluntary claim.
  openid: ['sub', 'acr', 'amr'],
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
} as const;

export const STATIC_SCOPES: readonly string[] = OIDC_SCOPES;
