// A configuration problem, addressed by its path in the file: `clients[2].redirect_uris[0]: must be an absolute URL`.

export type ConfigPath = ReadonlyArray<string | number>;

export interface ConfigIssue {
  readonly path: ConfigPath;
  readonly message: string;
  /** Line in the YAML file, when the problem can be located there. */
  readonly line?: number;
}

export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.path.length === 0 ? '' : `${formatPath(issue.path)}: `;
  return `${where}${issue.message}${issue.line === undefined ? '' : ` (line ${issue.line})`}`;
}

/** Thrown by the loader with every problem found, never with a value from the file. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(`${source}: ${issues.length} configuration error${issues.length === 1 ? '' : 's'}\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
