// Token exchange (RFC 8693) in the configuration: trusted external issuers, and per-client policy.
import { z } from 'zod';

import { duration } from './duration.ts';

export const SUBJECT_TOKEN_TYPES = ['id_token', 'access_token', 'jwt'] as const;

export const trustedIssuerSchema = z
  .strictObject({
    issuer: z.string().url('must be an absolute URL').describe('The `iss` of the JWTs it issues.'),
    jwksUri: z.string().url('must be an absolute URL').describe('Where its public keys are published.'),
    audiences: z.array(z.string().min(1)).min(1).describe('`aud` values Baton accepts in its JWTs (usually Baton\'s issuer).'),
  })
  .describe('An issuer whose JWTs clients may exchange (subject_token_type `urn:ietf:params:oauth:token-type:jwt`).');

export const tokenExchangeSchema = z
  .strictObject({
    trustedIssuers: z.array(trustedIssuerSchema).default([]).describe('Issuers whose JWTs may be exchanged.'),
  })
  .describe('Token exchange (RFC 8693).');

export const tokenExchangePolicySchema = z
  .strictObject({
    subjectTokenTypes: z.array(z.enum(SUBJECT_TOKEN_TYPES)).min(1).describe('Subject token types this client may exchange.'),
    upstreams: z.array(z.string().min(1)).default([]).describe('Upstreams whose id_tokens this client may exchange.'),
    upstreamAudiences: z.array(z.string().min(1)).default([]).describe('Extra `aud` values accepted in upstream id_tokens besides Baton\'s own client id at that upstream.'),
    issuers: z.array(z.string().min(1)).default([]).describe('Trusted issuers (tokenExchange.trustedIssuers[].issuer) whose JWTs this client may exchange.'),
    maxAge: duration('Oldest subject token accepted (by its `iat`).').prefault('5m'),
    actors: z.boolean().default(false).describe('Accept an actor_token (delegation): the result carries a nested `act` claim.'),
    refreshToken: z.boolean().default(false).describe('Also issue a refresh token for the exchanged grant.'),
    beyondSubjectScopes: z.boolean().default(false).describe('Let a Baton access token be exchanged for scopes it does not carry itself (e.g. for another API), up to this client\'s `resources`. Off (downscoping): the result\'s scopes are a subset of the subject token\'s.'),
  })
  .describe('What a client may exchange.');

export type TokenExchangeConfig = z.output<typeof tokenExchangeSchema>;
export type TokenExchangePolicy = z.output<typeof tokenExchangePolicySchema>;
