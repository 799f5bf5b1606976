// Declarative authorization rules per client, evaluated after the upstream sign-in (and again on
// refresh) before the isAuthorized hook. In order; the first rule that matches decides; with rules
// configured and none matching, the answer is no.
import type { RuleConfig } from '../config/schema.ts';

export interface RuleSubject {
  /** Upstream id the user signed in with. */
  readonly upstream?: string;
  /** Mapped claims (and loaded attributes). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** `rule`: the index (in clients[].rules) of the rule that decided; absent when none matched or none is configured. */
export type RuleDecision = { readonly allowed: true; readonly rule?: number } | { readonly allowed: false; readonly reason: string; readonly rule?: number };

const NOT_ALLOWED = 'your account is not allowed to use this application';

export function evaluateRules(rules: readonly RuleConfig[] | undefined, subject: RuleSubject): RuleDecision {
  if (!rules || rules.length === 0) return { allowed: true };
  for (const [index, rule] of rules.entries()) {
    if (rule.deny && matches(rule.deny, subject)) return { allowed: false, reason: rule.reason ?? NOT_ALLOWED, rule: index };
    if (rule.allow && matches(rule.allow, subject)) return { allowed: true, rule: index };
  }
  return { allowed: false, reason: NOT_ALLOWED };
}

type Conditions = NonNullable<RuleConfig['allow']>;

function matches(conditions: Conditions, { upstream, claims }: RuleSubject): boolean {
  if (conditions.upstream && !(upstream !== undefined && conditions.upstream.includes(upstream))) return false;
  if (conditions.emailDomain) {
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : '';
    const domain = email.includes('@') ? email.slice(email.lastIndexOf('@') + 1) : undefined;
    if (!domain || !conditions.emailDomain.map((d) => d.toLowerCase()).includes(domain)) return false;
  }
  if (conditions.emailVerified !== undefined && claims.email_verified !== conditions.emailVerified) return false;
  if (conditions.group) {
    const groups = Array.isArray(claims.groups) ? claims.groups : [];
    if (!conditions.group.some((g) => groups.includes(g))) return false;
  }
  if (conditions.claim) {
    const value = claims[conditions.claim.name];
    if (conditions.claim.equals !== undefined && value !== conditions.claim.equals) return false;
    if (conditions.claim.in !== undefined && !conditions.claim.in.some((v) => v === value)) return false;
  }
  return true;
}
