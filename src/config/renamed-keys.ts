// Keys renamed for the naming rule (docs/configuration.md, "Naming"): a client's OAuth registration
// keys keep their RFC 6749 / RFC 7591 names everywhere. The old spelling still loads, with one
// deprecation warning per key path; both spellings in one entry are an error naming the path.
import { merged } from '../lang/merged.ts';
import type { ConfigIssue, ConfigPath } from './issues.ts';

export interface RenamedKey {
  /** The section holding the key: a top-level list, each entry of which may carry it. */
  readonly section: string;
  readonly from: string;
  readonly to: string;
}

/** Every renamed key; the JSON Schema and the reference list them as deprecated too. */
export const RENAMED_KEYS: readonly RenamedKey[] = [
  { section: 'upstreams', from: 'clientId', to: 'client_id' },
  { section: 'upstreams', from: 'clientSecret', to: 'client_secret' },
  { section: 'upstreams', from: 'tokenEndpointAuthMethod', to: 'token_endpoint_auth_method' },
  { section: 'bff', from: 'clientId', to: 'client_id' },
];

export interface Renamed {
  /** The configuration with every old spelling moved to its new key (the input is not changed). */
  readonly value: unknown;
  /** One per old key found: its path in the file and the key to use instead. */
  readonly warnings: ConfigIssue[];
  /** Both spellings set in one entry. */
  readonly issues: ConfigIssue[];
  /** New path -> the path as written in the file, so later problems name what the file says. */
  readonly writtenAs: ReadonlyMap<string, ConfigPath>;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

export function renameKeys(config: unknown): Renamed {
  const warnings: ConfigIssue[] = [];
  const issues: ConfigIssue[] = [];
  const writtenAs = new Map<string, ConfigPath>();
  if (!isObject(config)) return { value: config, warnings, issues, writtenAs };
  const out: Record<string, unknown> = { ...config };
  for (const section of new Set(RENAMED_KEYS.map((r) => r.section))) {
    const list = config[section];
    if (!Array.isArray(list)) continue;
    out[section] = list.map((entry: unknown, i) => {
      if (!isObject(entry)) return entry;
      const renamed: Record<string, unknown> = { ...entry };
      for (const { from, to } of RENAMED_KEYS.filter((r) => r.section === section)) {
        if (!(from in entry)) continue;
        const path = [section, i, from];
        if (to in entry) {
          issues.push({ path, message: `set either ${to} or its deprecated spelling ${from}, not both: remove ${from}` });
        } else {
          warnings.push({ path, message: `deprecated spelling: rename it to ${to}` });
          renamed[to] = entry[from];
          writtenAs.set(JSON.stringify([section, i, to]), path);
        }
        delete renamed[from];
      }
      return renamed;
    });
  }
  return { value: out, warnings, issues, writtenAs };
}

/** A problem found under a renamed key, moved back to the key the file actually has. */
export function asWritten(issue: ConfigIssue, writtenAs: ReadonlyMap<string, ConfigPath>): ConfigIssue {
  for (let depth = issue.path.length; depth > 0; depth -= 1) {
    const written = writtenAs.get(JSON.stringify(issue.path.slice(0, depth)));
    if (written) return merged(issue, { path: [...written, ...issue.path.slice(depth)] });
  }
  return issue;
}
