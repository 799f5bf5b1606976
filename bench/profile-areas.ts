// Sums V8 .cpuprofile files (bench/grant-profile.ts) by source area, per sample: `self` charges the
// frame on top of the stack, `inclusive` every area with a frame anywhere on the sampled stack
// (each once per sample), `under` the innermost Baton file on the stack (the Baton code whose call
// the sample was doing, libraries and runtime included; samples with no Baton frame are charged to
// their top frame's area). Stacks are synchronous: after an `await` the continuation is charged to
// its own function, not to whoever awaited it. Native functions (JSON, crypto bindings) are named.
//   node --import tsx bench/profile-areas.ts FILE [PER_REQUEST_DIVISOR]   (env TOP: rows per table, 30)
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const TOP = Number(process.env.TOP ?? 30);
const [file, divisorArg] = process.argv.slice(2);
if (!file) throw new Error('usage: bench/profile-areas.ts FILE [requests]');
const requests = Number(divisorArg ?? 0);

/** The area of a frame: a Baton source file, a package, Node's core, or a named native/VM entry. */
function area(node: Node): string {
  const { url, functionName } = node.callFrame;
  const own = /\/(?:src|dist)\/(.*?)\.(?:ts|js)$/.exec(url);
  if (own && !url.includes('node_modules')) return `baton ${own[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (/\/bench\//.test(url)) return 'bench fixture';
  if (url.startsWith('node:')) return 'node core';
  if (url === '') return functionName.startsWith('(') ? functionName : `native ${functionName || '(anonymous)'}`;
  return url;
}

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const under = new Map<string, number>();
const fnSelf = new Map<string, number>();
let busy = 0;
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
  const top = byId.get(id)!;
  if (top.callFrame.functionName === '(idle)') return;
  busy += us;
  const topArea = area(top);
  add(self, topArea, us);
  const { functionName, url, lineNumber } = top.callFrame;
  add(fnSelf, `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|dist)\//, '$1/')}:${lineNumber + 1}`, us);
  const seen = new Set<string>();
  let innermostBaton: string | undefined;
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const a = area(byId.get(n)!);
    if (innermostBaton === undefined && a.startsWith('baton ')) innermostBaton = a;
    seen.add(a);
  }
  for (const a of seen) add(inclusive, a, us);
  add(under, innermostBaton ?? `(no Baton frame) ${topArea}`, us);
});

const fmt = (us: number) => requests > 0 ? `${(us / requests).toFixed(1).padStart(7)} µs/req` : `${(us / 1000).toFixed(0).padStart(7)} ms`;
function show(title: string, map: Map<string, number>): void {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${fmt(us)}  ${key}`);
}
console.log(`== ${file}: ${(busy / 1e6).toFixed(2)} s busy${requests > 0 ? `, ${(busy / requests).toFixed(0)} µs per request over ${requests}` : ''}`);
show('self, by area', self);
show('inclusive (any frame on the stack), by area', inclusive);
show('under the innermost Baton file (else the top frame\'s area)', under);
show('top functions, self', fnSelf);
