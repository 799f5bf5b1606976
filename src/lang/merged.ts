// `{ ...base, ...members }` for the objects Baton builds on every request, in the form Node 20 builds
// fast. V8 11.3 (Node 20) clones a literal that starts with a spread, and when anything follows the
// spread, every object built there gets a hidden class of its own: about a microsecond per object, a
// class left behind in the old generation each time, and every property read on such objects goes
// megamorphic. Node 22's V8 shares the classes. A literal that starts with the spread of an empty
// literal is built the ordinary way, with the same result: the same own properties in the same order,
// later members overriding earlier ones in place (bench/README.md, 2026-12-07).
// test/lang/merged.test.ts keeps src/ free of the slow form.

/** What `{ ...base, ...members }` holds: base's properties that members does not name, and members'. */
export type Merged<A, B> = { [K in keyof A as K extends keyof B ? never : K]: A[K] } & B;

/** `{ ...base, ...members }`: base's own enumerable properties, then members', a later one overriding in place. */
export function merged<A extends object, B extends object>(base: A, members: B): Merged<A, B>;
/** A missing base adds nothing, as spreading `undefined` does. */
export function merged<A extends object, B extends object>(base: A | undefined | null, members: B): Partial<Merged<A, B>> & B;
export function merged(base: object | undefined | null, members: object): object {
  return { ...{}, ...base, ...members };
}
