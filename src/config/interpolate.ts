// `${ENV_VAR}` interpolation in string values, so secrets live in the environment, not in the file.
// `$${` writes a literal `${`. Runs once at load; nothing reads process.env after boot.
import type { ConfigIssue, ConfigPath } from './issues.ts';

const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolateEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
  path: ConfigPath = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, issues, path);
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, issues, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolateEnv(item, env, issues, [...path, key]);
    return out;
  }
  return value;
}

function interpolateString(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
  path: ConfigPath,
): string {
  return value.replace(REFERENCE, (_match, escaped: string, name: string) => {
    if (escaped) return `\${${name}}`;
    if (!NAME.test(name)) {
      issues.push({ path, message: `\${${name}} is not a valid environment variable reference` });
      return '';
    }
    const resolved = env[name];
    if (resolved === undefined || resolved === '') {
      issues.push({ path, message: `environment variable ${name} is not set` });
      return '';
    }
    return resolved;
  });
}
