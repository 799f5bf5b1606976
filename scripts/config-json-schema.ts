// The configuration's JSON Schema (draft 2020-12) for editors, generated from the zod schema in
// src/config/schema.ts; scripts/generate-config-docs.ts writes it to schema/baton.schema.json.
import { z } from 'zod';

import { RENAMED_KEYS } from '../src/config/renamed-keys.ts';
import { configSchema } from '../src/config/schema.ts';

/** Where the generated file lives, relative to the package root. */
export const SCHEMA_FILE = 'schema/baton.schema.json';

/**
 * The schema of what a person writes (zod's input side: defaults optional, durations as number or
 * string). Checks zod cannot express (absolute URLs, cross-references between sections) stay with
 * `baton check-config`; a file the schema accepts may still be refused there, never the reverse.
 */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  addRenamedKeys(schema);
  const { $schema, ...rest } = schema;
  const document = {
    $schema,
    title: 'Baton configuration',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

type JsonObject = Record<string, unknown> & { properties?: Record<string, JsonObject>; required?: string[]; items?: JsonObject; allOf?: unknown[] };

/**
 * The old spellings of renamed keys (src/config/renamed-keys.ts) still load, so the schema accepts
 * them too, marked `deprecated` (editors strike them through); a required key may be given in
 * either spelling, never both.
 */
function addRenamedKeys(schema: object): void {
  for (const { section, from, to } of RENAMED_KEYS) {
    const entry = (schema as JsonObject).properties?.[section]?.items;
    const current = entry?.properties?.[to];
    if (!entry?.properties || !current) throw new Error(`renamed key ${section}[].${from}: ${section}[].${to} is not in the schema`);
    entry.properties[from] = { ...current, description: `Deprecated spelling of \`${to}\`: still accepted, with a warning.`, deprecated: true };
    const rules: unknown[] = [{ not: { required: [from, to] } }];
    if (entry.required?.includes(to)) {
      entry.required = entry.required.filter((key) => key !== to);
      rules.push({ anyOf: [{ required: [to] }, { required: [from] }] });
    }
    entry.allOf = [...(entry.allOf ?? []), ...rules];
  }
}
