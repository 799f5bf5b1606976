// Loads a hook module named in the configuration (JavaScript, or TypeScript through tsx, which Baton
// registers before the first TypeScript module: typescript-loader.ts) and checks its exports: hook
// names only, functions only, every problem reported at once.
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';

import { HOOK_NAMES, type HookName, type Hooks } from './types.ts';
import { importModule } from './typescript-loader.ts';

const EXTENSIONS = ['.js', '.mjs', '.ts', '.mts'];

/** A loaded, checked hook module. */
export interface LoadedHooks {
  /** The module as configured (relative to the configuration file): its id in logs, events and the cache. */
  readonly module: string;
  /** Absolute path of the file. */
  readonly path: string;
  /** The hook functions it defines (frozen). */
  readonly hooks: Readonly<Hooks>;
}

/** A hook module that cannot be used; the message names the file and every problem. */
export class HookLoadError extends Error {
  override readonly name = 'HookLoadError';
  constructor(readonly path: string, readonly problems: readonly string[]) {
    super(`hook module ${path}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
  }
}

/** Whether `name` is a hook this module defines. */
export function hasHook(loaded: LoadedHooks | undefined, name: HookName): boolean {
  return typeof loaded?.hooks[name] === 'function';
}

/**
 * Imports the module at `modulePath` (resolved against `baseDir`, the configuration file's folder)
 * and returns its hooks: named exports and/or the properties of a default export object.
 * Refuses a misspelt hook name, a non-function hook, a hook defined twice and a module with no hook.
 */
export async function loadHooks(modulePath: string, baseDir: string): Promise<LoadedHooks> {
  const path = resolve(baseDir, modulePath);
  if (!EXTENSIONS.includes(extname(path))) {
    throw new HookLoadError(path, [`unsupported file type "${extname(path)}": use ${EXTENSIONS.join(', ')}`]);
  }
  const file = await stat(path).catch(() => undefined);
  if (!file?.isFile()) throw new HookLoadError(path, ['file not found']);

  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(path);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new HookLoadError(path, [`failed to load: ${message}${unknownExtensionHint(path, message)}`]);
  }

  return checkHooks(namespace, modulePath, path);
}

/**
 * Checks the exports of an already imported module (`import * as mod`) exactly as `loadHooks` does
 * and returns its hooks; `module` is its id in logs, events and the cache, `path` names it in errors.
 * @example
 * import * as web from './web.ts';
 * const loaded = checkHooks(web, 'web.ts'); // throws a HookLoadError for `buildAccesTokenClaims`
 */
export function checkHooks(namespace: Readonly<Record<string, unknown>>, module: string, path: string = module): LoadedHooks {
  const problems: string[] = [];
  const hooks: Partial<Record<HookName, unknown>> = {};
  const take = (name: string, value: unknown, where: string) => {
    if (isHookName(name)) {
      if (typeof value !== 'function') problems.push(`${where} "${name}" must be a function, got ${value === null ? 'null' : typeof value}`);
      else if (hooks[name]) problems.push(`"${name}" is defined twice (named export and default export)`);
      else hooks[name] = value;
      return;
    }
    if (looksLikeHook(name)) {
      const guess = closest(name);
      problems.push(`${where} "${name}" is not a hook${guess ? ` (did you mean "${guess}"?)` : ''}; valid names: ${HOOK_NAMES.join(', ')}`);
    }
  };

  for (const [name, value] of Object.entries(namespace)) {
    if (name !== 'default') take(name, value, 'export');
  }
  const fallback = namespace.default;
  if (fallback !== undefined) {
    if (fallback === null || typeof fallback !== 'object' || Array.isArray(fallback)) {
      problems.push(`the default export must be an object of hooks, got ${fallback === null ? 'null' : Array.isArray(fallback) ? 'an array' : typeof fallback}`);
    } else {
      for (const [name, value] of Object.entries(fallback)) {
        take(name, typeof value === 'function' ? value.bind(fallback) : value, 'default export key');
      }
    }
  }
  if (problems.length === 0 && Object.keys(hooks).length === 0) {
    problems.push(`exports no hook; export one or more of: ${HOOK_NAMES.join(', ')}`);
  }
  if (problems.length > 0) throw new HookLoadError(path, problems);
  return Object.freeze({ module, path, hooks: Object.freeze(hooks as Hooks) });
}

/** Why a TypeScript file could not be imported, when that is what failed. */
function unknownExtensionHint(path: string, message: string): string {
  if (!/Unknown file extension "\.[cm]?ts"/.test(message)) return '';
  return /\.m?ts$/.test(path)
    ? ' (TypeScript hooks need Baton\'s runtime, bin/baton.js, which registers tsx)'
    : ' (Baton loads a JavaScript hook module without tsx: rename it to .mts or .ts so that tsx is registered before it loads)';
}

function isHookName(name: string): name is HookName {
  return (HOOK_NAMES as readonly string[]).includes(name);
}

/**
 * Names a module could have meant as a hook: a near miss or case slip (also with the original `...SE`
 * suffix), or a hook-like family name. Helpers such as `isAdmin` or `fetchRoles` stay allowed.
 */
function looksLikeHook(name: string): boolean {
  return closest(name) !== undefined || /^(build\w*Claims|loadAttr\w*|isAuth\w*|authenticate\w*)$/i.test(name);
}

function closest(name: string): HookName | undefined {
  const bare = name.replace(/(SE|Hook)$/, '').toLowerCase();
  let best: { name: HookName; distance: number } | undefined;
  for (const hook of HOOK_NAMES) {
    const distance = levenshtein(bare, hook.toLowerCase());
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: hook, distance };
  }
  return best?.name;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
