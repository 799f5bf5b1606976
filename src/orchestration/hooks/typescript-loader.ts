// Imports a hook module, registering the TypeScript loader first when the module needs it. Baton's
// executable hands its loader (tsx) over here instead of registering it at start: a deployment whose
// hook modules are JavaScript, or that has none, never pays for tsx (~34 MiB of RSS on Node 20, whose
// ESM loader hooks run in a worker thread of their own).
import { pathToFileURL } from 'node:url';

const TYPESCRIPT = /\.[cm]?ts$/;

let register: (() => Promise<void>) | undefined;
let registered: Promise<void> | undefined;

/**
 * Makes TypeScript modules importable on demand: `load` runs once, right before the first TypeScript
 * module is imported. Called by bin/baton.js when it runs the compiled build; without it (a git
 * checkout, which runs under tsx from the start; a test runner; an application using the hook test kit)
 * modules are imported with whatever loader the process already has.
 */
export function setTypeScriptLoader(load: () => Promise<void>): void {
  register = load;
  registered = undefined;
}

/**
 * Imports the module at the absolute path `path`, as `import()` does, after registering the loader set
 * with `setTypeScriptLoader` (once) if the module is TypeScript. A JavaScript module is imported without
 * it, so one that imports TypeScript files fails (Node remembers the failure: there is no second try).
 */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  if (register && TYPESCRIPT.test(path)) {
    registered ??= register();
    await registered;
  }
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}
