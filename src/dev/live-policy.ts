// The demo authorizer's policy, changeable while the demo runs, so a visitor sees authorization
// decided again at the next refresh. Changed only in this process, from the demo app's policy card
// (a CSRF-protected form): the authorizer serves no endpoint to change it.
import { merged } from '../lang/merged.ts';
import type { OrdersPolicy } from './authorizer.ts';

export class LivePolicy {
  readonly #initial: OrdersPolicy;
  #current: OrdersPolicy;

  constructor(initial: OrdersPolicy) {
    this.#initial = initial;
    this.#current = initial;
  }

  /** The policy the authorizer decides with now. */
  get current(): OrdersPolicy {
    return this.#current;
  }

  /** Subjects and the scopes each may be given: those of the policy the demo started with. */
  get choices(): ReadonlyArray<{ readonly subject: string; readonly scopes: readonly string[] }> {
    const scopes = [...new Set(Object.values(this.#initial).flatMap((entry) => entry.scopes))];
    return Object.keys(this.#initial).map((subject) => ({ subject, scopes }));
  }

  allows(subject: string, scope: string): boolean {
    return Object.hasOwn(this.#current, subject) && (this.#current[subject]?.scopes.includes(scope) ?? false);
  }

  /** Grants or withdraws one scope; false (nothing changed) for a subject or scope not among the choices. */
  set(subject: string, scope: string, allowed: boolean): boolean {
    if (!this.choices.some((choice) => choice.subject === subject && choice.scopes.includes(scope))) return false;
    const entry = this.#current[subject]!;
    const scopes = allowed ? [...new Set([...entry.scopes, scope])] : entry.scopes.filter((s) => s !== scope);
    this.#current = merged(this.#current, { [subject]: merged(entry, { scopes }) });
    return true;
  }

  /** Back to the policy the demo started with. */
  reset(): void {
    this.#current = this.#initial;
  }
}
