// Loads the YAML configuration once at startup: parse, interpolate ${ENV}, validate against the
// schema and the cross-field rules, then freeze. Every problem is reported together, by path.
import { readFileSync } from 'node:fs';

import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

import { merged } from '../lang/merged.ts';
import { crossCheck } from './cross-checks.ts';
import { nearestKey } from './did-you-mean.ts';
import { interpolateEnv } from './interpolate.ts';
import { ConfigError, type ConfigIssue } from './issues.ts';
import { asWritten, renameKeys } from './renamed-keys.ts';
import { configSchema, type BatonConfig } from './schema.ts';

export interface LoadOptions {
  /** Environment for `${VAR}` interpolation; defaults to process.env (read here, at boot, only). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Told once per deprecated key in the file (its path, and its line when parsed from YAML). */
  readonly onWarning?: (warning: ConfigIssue) => void;
}

export function loadConfigFile(file: string, options: LoadOptions = {}): BatonConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ path: [], message: code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? 'error'})` }]);
  }
  return parseConfig(text, file, options);
}

/** Validates configuration text; `source` only names it in messages. */
export function parseConfig(text: string, source = 'configuration', options: LoadOptions = {}): BatonConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    const lines = text.split(/\r?\n/);
    throw new ConfigError(source, document.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return { path: [], message: `invalid YAML: ${e.code.toLowerCase().replaceAll('_', ' ')} at line ${line}, column ${col}: ${quoteLine(lines[line - 1] ?? '')}` };
    }));
  }
  const onWarning = options.onWarning;
  const located = onWarning && ((warning: ConfigIssue) => locate([warning], document, lineCounter).forEach(onWarning));
  try {
    return validateConfig(document.toJS(), source, merged(options, { onWarning: located }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(source, locate(err.issues, document, lineCounter));
  }
}

/** The offending YAML line, trimmed; a value under a secret-looking key is not echoed. */
function quoteLine(line: string): string {
  const text = line.trimEnd().slice(0, 120);
  const entry = /^(\s*-?\s*["']?[\w.-]+["']?\s*:)\s*\S/.exec(text);
  if (entry && /secret|password|token|credential|key/i.test(entry[1]!)) return `\`${entry[1]} ...\``;
  return `\`${text}\``;
}

/** Adds the line of each problem (the deepest node of its path present in the file) and sorts by it. */
function locate(issues: readonly ConfigIssue[], document: Document, lineCounter: LineCounter): ConfigIssue[] {
  const lineOf = (path: ConfigIssue['path']): number | undefined => {
    for (let depth = path.length; depth > 0; depth -= 1) {
      const node = document.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return issues
    .map((issue, index) => ({ issue, index, line: lineOf(issue.path) }))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || a.index - b.index)
    .map(({ issue, line }) => (line === undefined ? issue : merged(issue, { line })));
}

export function validateConfig(raw: unknown, source = 'configuration', options: LoadOptions = {}): BatonConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: [], message: 'must be a YAML mapping (key: value pairs)' }]);
  }
  const issues: ConfigIssue[] = [];
  const interpolated = interpolateEnv(raw, options.env ?? process.env, issues);
  // An unset variable is one error: not also "required" or "too short" for the empty value it left.
  const unset = new Set(issues.map((issue) => JSON.stringify(issue.path)));
  const renamed = renameKeys(interpolated);
  renamed.warnings.forEach((warning) => options.onWarning?.(warning));
  const parsed = configSchema.safeParse(renamed.value);
  const more = [...renamed.issues, ...(parsed.success ? [] : parsed.error.issues.flatMap(toConfigIssues)), ...crossCheck(renamed.value)];
  issues.push(...more.map((issue) => asWritten(issue, renamed.writtenAs)).filter((issue) => !unset.has(JSON.stringify(issue.path))));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(source, dedupe(issues));
  return deepFreeze(parsed.data);
}

/** Zod's issues carry no input values; unknown keys become one issue each so the path names the typo. */
function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const near = nearestKey(configSchema, path, key);
      return { path: [...path, key], message: near === undefined ? 'unknown key' : `unknown key; did you mean \`${near}\`?` };
    });
  }
  return [{ path, message: describeIssue(issue) }];
}

/** Plain "must ..." wording for zod's built-in checks; messages of Baton's own refinements pass through. */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.message.endsWith('received undefined') ? 'required' : `must be ${article(issue.expected)}`;
    case 'too_small':
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      if ('note' in issue && issue.note === 'No matching discriminator') return 'must be one of "sqlite", "memory", "postgres", "redis", "split"';
      return 'has an invalid value';
    default:
      return issue.message;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${JSON.stringify(issue.path)}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
