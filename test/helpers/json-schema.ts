// A small JSON Schema (draft 2020-12) validator for the keywords Baton's generated schema uses. No JSON
// Schema library is installed and none may be added, so the tests check examples against the schema with
// this one, written from the specification and independent of zod. An unknown keyword is an error,
// so a schema using something this validator does not understand can never pass silently.
type Schema = boolean | { [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'format']);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const isType = (value: unknown, type: string) => typeOf(value) === type || (type === 'number' && typeOf(value) === 'integer');

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every violation of `schema` by `value`, as "path: message" strings (empty when valid). */
export function validate(schema: Schema, value: unknown, root: Schema = schema, path = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: not allowed`];
  const errors: string[] = [];
  const fail = (message: string) => errors.push(`${path}: ${message}`);
  const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

  for (const [keyword, arg] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    switch (keyword) {
      case 'type': {
        const types = Array.isArray(arg) ? (arg as string[]) : [arg as string];
        if (!types.some((t) => isType(value, t))) fail(`expected ${types.join(' or ')}, got ${typeOf(value)}`);
        break;
      }
      case 'const': if (!deepEqual(value, arg)) fail(`must be ${JSON.stringify(arg)}`); break;
      case 'enum': if (!(arg as unknown[]).some((v) => deepEqual(v, value))) fail(`must be one of ${JSON.stringify(arg)}`); break;
      case 'minLength': if (typeof value === 'string' && [...value].length < (arg as number)) fail(`shorter than ${arg}`); break;
      case 'maxLength': if (typeof value === 'string' && [...value].length > (arg as number)) fail(`longer than ${arg}`); break;
      case 'pattern': if (typeof value === 'string' && !new RegExp(arg as string, 'u').test(value)) fail(`does not match ${arg}`); break;
      case 'minimum': if (typeof value === 'number' && value < (arg as number)) fail(`less than ${arg}`); break;
      case 'maximum': if (typeof value === 'number' && value > (arg as number)) fail(`greater than ${arg}`); break;
      case 'exclusiveMinimum': if (typeof value === 'number' && value <= (arg as number)) fail(`not greater than ${arg}`); break;
      case 'exclusiveMaximum': if (typeof value === 'number' && value >= (arg as number)) fail(`not less than ${arg}`); break;
      case 'minItems': if (Array.isArray(value) && value.length < (arg as number)) fail(`fewer than ${arg} items`); break;
      case 'maxItems': if (Array.isArray(value) && value.length > (arg as number)) fail(`more than ${arg} items`); break;
      case 'uniqueItems':
        if (arg === true && Array.isArray(value) && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) fail('items not unique');
        break;
      case 'items':
        if (Array.isArray(value)) value.forEach((item, i) => errors.push(...validate(arg as Schema, item, root, `${path}[${i}]`)));
        break;
      case 'required':
        if (object) for (const key of arg as string[]) if (!(key in object)) fail(`missing required "${key}"`);
        break;
      case 'properties':
        if (object) {
          for (const [key, sub] of Object.entries(arg as Record<string, Schema>)) {
            if (key in object) errors.push(...validate(sub, object[key], root, `${path}.${key}`));
          }
        }
        break;
      case 'additionalProperties':
        if (object) {
          const known = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
          for (const key of Object.keys(object).filter((k) => !known.includes(k))) {
            if (arg === false) fail(`unknown key "${key}"`);
            else errors.push(...validate(arg as Schema, object[key], root, `${path}.${key}`));
          }
        }
        break;
      case 'propertyNames':
        if (object) for (const key of Object.keys(object)) errors.push(...validate(arg as Schema, key, root, `${path}{${key}}`));
        break;
      case 'allOf':
        for (const sub of arg as Schema[]) errors.push(...validate(sub, value, root, path));
        break;
      case 'anyOf':
        if (!(arg as Schema[]).some((sub) => validate(sub, value, root, path).length === 0)) fail('matches none of anyOf');
        break;
      case 'oneOf': {
        const matches = (arg as Schema[]).filter((sub) => validate(sub, value, root, path).length === 0).length;
        if (matches !== 1) fail(`matches ${matches} of oneOf, not exactly one`);
        break;
      }
      case 'not':
        if (validate(arg as Schema, value, root, path).length === 0) fail('matches a "not" schema');
        break;
      case '$ref': {
        const ref = arg as string;
        if (!ref.startsWith('#')) throw new Error(`${path}: only local $ref supported, got ${ref}`);
        const target = ref.slice(1).split('/').filter(Boolean)
          .map((part) => decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~'))
          .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], root);
        if (target === undefined) throw new Error(`${path}: $ref ${ref} does not resolve`);
        errors.push(...validate(target as Schema, value, root, path));
        break;
      }
      case '$defs': case 'definitions': break;
      default:
        throw new Error(`${path}: JSON Schema keyword "${keyword}" is not supported by this validator`);
    }
  }
  return errors;
}
