// The configuration's JSON Schema (draft 2020-12) for editors, generated from the zod schema in
// src/config/schema.ts; scripts/generate-config-docs.ts writes it to schema/baton.schema.json.
import { z } from 'zod';

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
  const { $schema, ...rest } = schema;
  const document = {
    $schema,
    title: 'Baton configuration',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
