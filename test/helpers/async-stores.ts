// How many AsyncLocalStorage stores the process has entered so far, as Node 20 and 22 show them: one
// property per store on every promise created afterwards (Node 24's AsyncContextFrame: none). Baton
// rides on oidc-provider's own store; a store of its own would tax every promise of the process.
import providerContext from 'oidc-provider/lib/helpers/als.js';

export function storesOnAPromise(): number {
  const promise = providerContext.run({}, () => Promise.resolve());
  return Object.getOwnPropertySymbols(promise).filter((s) => s.description === 'kResourceStore').length;
}
