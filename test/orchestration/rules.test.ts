// Declarative rules: a table of identities x rules -> expected decision.
import { describe, expect, it } from 'vitest';

import type { RuleConfig } from '../../src/config/schema.ts';
import { evaluateRules, type RuleSubject } from '../../src/orchestration/rules.ts';

const alice: RuleSubject = { upstream: 'entra', claims: { email: 'alice@contoso.com', email_verified: true, groups: ['staff', 'orders-admins'], department: 'sales', level: 3 } };
const bob: RuleSubject = { upstream: 'google', claims: { email: 'bob@Example.org', email_verified: false, groups: ['contractors'], department: 'it' } };
const carol: RuleSubject = { upstream: 'github', claims: { preferred_username: 'carol' } };

const staffOnly: RuleConfig[] = [{ allow: { group: ['staff'] } }];
const verifiedContoso: RuleConfig[] = [{ allow: { emailDomain: ['contoso.com'], emailVerified: true } }];
const denyContractorsThenAllowAll: RuleConfig[] = [
  { deny: { group: ['contractors'] }, reason: 'contractors cannot use the orders back office' },
  { allow: {} },
];
const byUpstream: RuleConfig[] = [{ allow: { upstream: ['entra', 'github'] } }];
const byClaim: RuleConfig[] = [{ allow: { claim: { name: 'department', in: ['sales', 'finance'] } } }, { allow: { claim: { name: 'level', equals: 3 } } }];
const caseInsensitiveDomain: RuleConfig[] = [{ allow: { emailDomain: ['EXAMPLE.org'] } }];

describe('rules', () => {
  it.each([
    ['no rules', undefined, alice, true],
    ['empty rules', [], carol, true],
    ['group member', staffOnly, alice, true],
    ['not a group member', staffOnly, bob, false],
    ['no groups claim at all', staffOnly, carol, false],
    ['verified email in domain', verifiedContoso, alice, true],
    ['unverified email', verifiedContoso, { ...alice, claims: { ...alice.claims, email_verified: false } }, false],
    ['email in another domain', verifiedContoso, bob, false],
    ['email domain compared case-insensitively', caseInsensitiveDomain, bob, true],
    ['deny rule first', denyContractorsThenAllowAll, bob, false],
    ['falls through deny to allow', denyContractorsThenAllowAll, alice, true],
    ['upstream allowed', byUpstream, carol, true],
    ['upstream not allowed', byUpstream, bob, false],
    ['claim in list', byClaim, alice, true],
    ['claim not in list, no other match', byClaim, bob, false],
    ['claim equals (second rule)', byClaim, { upstream: 'x', claims: { department: 'hr', level: 3 } }, true],
    ['equals is strict (no type coercion)', byClaim, { upstream: 'x', claims: { department: 'hr', level: '3' } }, false],
  ] as const)('%s', (_name, rules, subject, allowed) => {
    expect(evaluateRules(rules as RuleConfig[] | undefined, subject).allowed).toBe(allowed);
  });

  it('a denial carries the rule\'s reason, or a generic one', () => {
    // `rule`: the index of the rule that decided (decision traces name it); absent when none matched.
    expect(evaluateRules(denyContractorsThenAllowAll, bob)).toEqual({ allowed: false, reason: 'contractors cannot use the orders back office', rule: 0 });
    expect(evaluateRules(staffOnly, bob)).toEqual({ allowed: false, reason: 'your account is not allowed to use this application' });
  });
});
