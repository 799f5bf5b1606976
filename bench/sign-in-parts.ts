// The world of bench/sign-in.ts, shared by its children: the upstream's client and users, Baton's
// app client, and the messages of the sign-in driver.
import type { LoadResult } from './load.ts';

export const UPSTREAM_ID = 'corp';
export const UPSTREAM_CLIENT = 'baton';
export const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
export const APP = 'web';
export const APP_SECRET = 'web-app-secret-0123456789';
export const APP_REDIRECT = 'https://app.bench.example/callback';
export const API = 'https://api.bench.example';
export const SCOPE = 'openid email offline_access read';
export const USERS = Array.from({ length: 20 }, (_, i) => ({ username: `user${i}`, password: `pw-${i}`, claims: { email: `user${i}@example.org`, email_verified: true, name: `User ${i}` } }));

export interface SignInRun { type: 'run'; issuer: string; duration: number; concurrency: number }
export interface SignInResult extends LoadResult {
  /** A few failures: where a sign-in stopped. */
  samples: string[];
}
