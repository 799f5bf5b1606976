#!/usr/bin/env python3
"""Callgrind instructions of a Node server by source area (issue 16, bench/README.md).

A callgrind dump of `node` (bench/grant-instructions.ts with BENCH_CALLGRIND_OUT, the child started
with NODE_OPTIONS=--perf-basic-prof) names V8's generated code by address only; V8's perf map
(/tmp/perf-PID.map) says which JavaScript function (and source file) each address belongs to.

  self       instructions executed in the area's own generated code (JIT: Sparkplug, Maglev,
             TurboFan; interpreted bytecode runs in V8's handlers and counts as `V8 interpreter`)
  +callees   self plus what the area's code called outside JavaScript (V8 builtins and runtime, Node's
             C++, OpenSSL, libc), by the callgrind call edge from the area's code, less the share of
             that callee that ran JavaScript again (which is counted in that JavaScript's area)

Usage: callgrind-areas.py DUMP PERFMAP [REQUESTS] [--functions N]
"""
import bisect
import re
import sys
from collections import defaultdict

args = [a for a in sys.argv[1:] if not a.startswith('--')]
dump, perfmap = args[0], args[1]
requests = float(args[2]) if len(args) > 2 else 1.0
top_fns = int(sys.argv[sys.argv.index('--functions') + 1]) if '--functions' in sys.argv else 0

# --- V8's perf map: start, size, name
starts, ends, names = [], [], []
for line in open(perfmap):
    parts = line.rstrip('\n').split(' ', 2)
    if len(parts) < 3:
        continue
    start, size = int(parts[0], 16), int(parts[1], 16)
    starts.append(start); ends.append(start + size); names.append(parts[2])
order = sorted(range(len(starts)), key=lambda i: starts[i])
starts = [starts[i] for i in order]; ends = [ends[i] for i in order]; names = [names[i] for i in order]


def js_name(address):
    i = bisect.bisect_right(starts, address) - 1
    # the latest mapping wins when code was replaced at the same place (perf maps only append)
    if i >= 0 and starts[i] <= address < ends[i]:
        return names[i]
    return None


def area_of_js(name):
    m = re.match(r'JS:[~^+*]?(\S*) (.*)$', name)
    if not m:
        kind = name.split(':', 1)[0]
        return 'V8 ' + kind.lower() if kind in ('Builtin', 'BytecodeHandler', 'RegExp', 'Stub') else 'V8 ' + kind
    where = m.group(2)
    if 'node_modules/' in where:
        pkg = re.search(r'node_modules/((?:@[^/]+/)?[^/]+)', where).group(1)
        return pkg
    own = re.search(r'/(?:src|dist)/(.*?)\.(?:ts|js):\d+', where)
    if own:
        return 'baton ' + own.group(1)
    if '/bench/' in where:
        return 'bench fixture'
    if where.startswith('node:'):
        return 'node core (JS)'
    return where.split(':')[0] or '(anonymous JS)'


# --- callgrind dump
names_by_id = {'fn': {}, 'ob': {}, 'fl': {}}


def resolve(kind, text):
    m = re.match(r'\((\d+)\)(?: (.*))?$', text)
    if not m:
        return text
    if m.group(2) is not None:
        names_by_id[kind][m.group(1)] = m.group(2)
        return m.group(2)
    return names_by_id[kind].get(m.group(1), text)


self_cost = defaultdict(int)
edges = defaultdict(int)          # (caller, callee) -> inclusive cost of those calls
fn_object = {}
ob = fn = cfn = None
after_calls = False
total = 0
for raw in open(dump):
    line = raw.rstrip('\n')
    if not line:
        continue
    if line.startswith('ob='):
        ob = resolve('ob', line[3:]); continue
    if line.startswith('fn='):
        fn = resolve('fn', line[3:]); fn_object[fn] = ob; continue
    if line.startswith('cfn='):
        cfn = resolve('fn', line[4:]); continue
    if line.startswith('cob='):
        resolve('ob', line[4:]); continue
    if line.startswith(('fl=', 'fi=', 'fe=', 'cfi=', 'cfl=')):
        k = 'fl'; resolve(k, line.split('=', 1)[1]); continue
    if line.startswith('calls='):
        after_calls = True; continue
    if line.startswith('summary:') or line.startswith('totals:'):
        total = int(line.split()[1]); continue
    if line[0].isdigit() or line[0] in '+-*':
        fields = line.split()
        if len(fields) < 2:
            after_calls = False; continue
        cost = int(fields[1])
        if after_calls:
            edges[(fn, cfn)] += cost
            after_calls = False
        else:
            self_cost[fn] += cost

ADDRESS = re.compile(r'^0x([0-9a-f]+)$')
area_cache = {}


def classify(f):
    """(area, is_js, label) of a callgrind function name."""
    if f in area_cache:
        return area_cache[f]
    m = ADDRESS.match(f or '')
    result = None
    if m:
        name = js_name(int(m.group(1), 16))
        if name is None:
            result = ('unmapped generated code', False, f)
        else:
            a = area_of_js(name)
            result = (a, a not in ('V8 builtin', 'V8 bytecodehandler', 'V8 regexp', 'V8 stub') and not a.startswith('V8 '), name)
    elif f and f.startswith('Builtins_'):
        h = f[len('Builtins_'):]
        result = ('V8 interpreter' if h.endswith('Handler') or 'Interpreter' in h else 'V8 builtins', False, f)
    else:
        result = ('native: ' + native_area(f), False, f)
    area_cache[f] = result
    return result


def native_area(f):
    f = f or '???'
    if re.search(r'v8::internal::(Heap|.*GC|.*Marking|.*Sweep|.*Scaveng|.*Evacuat|.*Compactor|.*Mark)', f) or 'cppgc' in f:
        return 'V8 GC'
    if re.search(r'v8::internal::(compiler|maglev|baseline|Compiler|Parser|Scanner|Bytecode|interpreter|Optimiz|Turbofan)', f):
        return 'V8 compiler'
    if 'v8::' in f:
        return 'V8 runtime'
    if 'node::' in f or 'uv_' in f or f.startswith('uv__'):
        return 'node/libuv C++'
    if re.search(r'(EVP_|SHA|sha256|ecp_|ec_|bn_|BN_|AES|aes|gcm|HMAC|OPENSSL|ossl|CRYPTO)', f):
        return 'OpenSSL'
    return 'libc/other'


# inclusive cost of every function (self + outgoing edges) and the share of it that is JavaScript
incl = defaultdict(int)
for f, c in self_cost.items():
    incl[f] += c
out_edges = defaultdict(list)
for (a, b), c in edges.items():
    incl[a] += c
    out_edges[a].append((b, c))

# For a non-JS callee: how much of its inclusive cost re-entered JavaScript (directly below it, or below
# non-JS functions it called, one more level): that part is charged to that JavaScript's own area.
def js_reentry(f, depth=0):
    total_js = 0
    for b, c in out_edges.get(f, []):
        if classify(b)[1]:
            total_js += c
        elif depth < 2 and b != f:
            share = js_reentry(b, depth + 1)
            total_js += c * share
    return min(1.0, total_js / incl[f]) if incl[f] else 0.0

reentry = {}
by_area_self = defaultdict(int)
by_area_plus = defaultdict(int)
by_fn = defaultdict(int)
for f, c in self_cost.items():
    a, is_js, label = classify(f)
    by_area_self[a] += c
    by_fn[label if is_js else f] += c
    if is_js:
        by_area_plus[a] += c
for (a_fn, b_fn), c in edges.items():
    a, a_js, _ = classify(a_fn)
    b, b_js, _ = classify(b_fn)
    if a_js and not b_js:
        if b_fn not in reentry:
            reentry[b_fn] = js_reentry(b_fn)
        by_area_plus[a] += c * (1 - reentry[b_fn])

js_total = sum(v for k, v in by_area_plus.items())
print(f'{dump}: {total:,} instructions, {total / requests / 1e6:.2f} M per request over {requests:.0f}')
print(f'{"area":44} {"self M/req":>11} {"+callees M/req":>15}')
for a in sorted(set(by_area_self) | set(by_area_plus), key=lambda k: -max(by_area_self.get(k, 0), by_area_plus.get(k, 0))):
    s, p = by_area_self.get(a, 0), by_area_plus.get(a, 0)
    if max(s, p) / requests < 2000:
        continue
    print(f'{a:44} {s / requests / 1e6:11.3f} {p / requests / 1e6 if p else float("nan"):15.3f}')
print(f'JavaScript areas with their native callees: {js_total / requests / 1e6:.2f} M per request')
if top_fns:
    print('\ntop functions, self')
    for f, c in sorted(by_fn.items(), key=lambda kv: -kv[1])[:top_fns]:
        print(f'{c / requests / 1e3:10.1f} k/req  {f[:150]}')

# --callers NAME: who calls a function (by callgrind edge, callers named through the perf map)
if '--callers' in sys.argv:
    target = sys.argv[sys.argv.index('--callers') + 1]
    rows = defaultdict(int)
    in_edges = defaultdict(list)
    for (a_fn, b_fn), c in edges.items():
        in_edges[b_fn].append((a_fn, c))

    def up(f, cost, depth, seen):
        # charge `cost` of f to the JavaScript that called it, through non-JS callers (split by their edge costs)
        callers = [(a, c) for a, c in in_edges.get(f, []) if a not in seen]
        total_in = sum(c for _, c in callers)
        if not callers or total_in == 0 or depth > 6:
            rows['(root/thread) ' + f] += cost
            return
        for a, c in callers:
            share = cost * c / total_in
            if classify(a)[1]:
                rows[classify(a)[2]] += share
            else:
                up(a, share, depth + 1, seen | {a})

    up(target, incl[target], 0, {target})
    print(f'\n{target}: {incl[target] / requests / 1e3:.1f} k/req inclusive, charged to the JavaScript that called it (through non-JS callers, split by edge costs)')
    for k, c in sorted(rows.items(), key=lambda kv: -kv[1])[:25]:
        print(f'{c / requests / 1e3:10.1f} k/req  {k[:150]}')

# --nearest: every instruction charged to exactly one place, the nearest JavaScript function on the
# call path (native self costs split over their callers by callgrind's edge costs, up to the first
# JavaScript caller; Node's promise hooks count as native, so a promise's hook work lands on the
# code that created or settled it); costs with no JavaScript caller (compiler and GC threads, the
# microtask loop itself) stay with their own native area. Then summed by area.
PASS_THROUGH = re.compile(r'JS:\S* node:internal/async_hooks|JS:\S*(promiseInitHook|promiseBeforeHook|promiseAfterHook|promiseResolveHook|emitInit|executionAsyncResource)')
# --app: Node's own JavaScript (node:crypto, buffers, streams, events, the HTTP server) is passed
# through as well, so its work lands on the application code (Baton, a package) that called it;
# what Node does on its own (parsing a request, the microtask loop) stays `(no app caller)`.
APP = '--app' in sys.argv
if '--nearest' in sys.argv or APP:
    sys.setrecursionlimit(100000)
    in_edges2 = defaultdict(list)
    for (a_fn, b_fn), c in edges.items():
        in_edges2[b_fn].append((a_fn, c))

    def is_js(f):
        a, js, label = classify(f)
        return js and not PASS_THROUGH.match(label) and not (APP and a == 'node core (JS)')

    memo = {}
    active = set()

    def dist(f):
        """{js function or native root: fraction} for the cost of f."""
        if f in memo:
            return memo[f]
        if f in active:
            return {('root', f): 1.0}
        active.add(f)
        callers = [(a, c) for a, c in in_edges2.get(f, []) if a != f]
        total_in = sum(c for _, c in callers)
        out = defaultdict(float)
        if total_in == 0:
            out[('root', f)] = 1.0
        else:
            for a, c in callers:
                w = c / total_in
                if is_js(a):
                    out[('js', a)] += w
                else:
                    for k, v in dist(a).items():
                        out[k] += w * v
        active.discard(f)
        memo[f] = dict(out)
        return memo[f]

    charged = defaultdict(float)
    for f, c in self_cost.items():
        if is_js(f):
            charged[('js', f)] += c
        else:
            for k, v in dist(f).items():
                charged[k] += c * v
    by_area = defaultdict(float)
    by_function = defaultdict(float)
    for (kind, f), c in charged.items():
        if kind == 'js':
            a, _, label = classify(f)
            by_area[a] += c
            by_function[label] += c
        else:
            a = classify(f)[0]
            tag = '(no app caller) ' if APP else '(no JS caller) '
            by_area[tag + a] += c
            by_function[tag + classify(f)[2]] += c
    print(f'\nnearest {"application" if APP else "JavaScript"} caller, by area (M instructions per request; total {sum(charged.values()) / requests / 1e6:.2f})')
    for a, c in sorted(by_area.items(), key=lambda kv: -kv[1]):
        if c / requests >= 2000:
            print(f'{c / requests / 1e6:8.3f}  {a}')
    if top_fns:
        print('\nnearest JavaScript caller, top functions (k instructions per request)')
        for f, c in sorted(by_function.items(), key=lambda kv: -kv[1])[:top_fns]:
            print(f'{c / requests / 1e3:8.1f}  {f[:160]}')

# --groups (with --app): the areas above summed into the subsystems of bench/README.md's table.
GROUPS = [
    ('Baton: storage layers (memory store, tokens at rest, token-id hashes)', r'baton storage/|baton provider/(tokens-at-rest|adapter)$'),
    ('Baton: logs, metrics, traces (request log, metrics wrapper, events, explain)', r'baton (observability|explain)/'),
    ('Baton: refresh rotation (lease, sealing, spend on success)', r'baton grants/(refresh-rotation|rotate-once|refresh-token|spend-on-success)$'),
    ('Baton: orchestration and claims (re-authorization, upstream session, lineage, accounts)', r'baton (orchestration/|upstream/|provider/(token-claims|grant-lineage|accounts|resources|hooked-claims|jwt-claims|claims))'),
    ('Baton: HTTP edge and lean token path', r'baton (http/|server$)'),
    ('Baton: other', r'baton '),
    ('pino, sonic-boom (logging)', r'^(pino|sonic-boom|pino-std-serializers|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|thread-stream|safe-stable-stringify)$'),
    ('prom-client', r'^prom-client$'),
    ('oidc-provider (for Baton: with its ES256 signing inlined)', r'^oidc-provider$'),
    ('jose (bare: its signing front end)', r'^jose$'),
    ('koa and its helpers', r'^(koa|koa-compose|delegates|type-is|mime-types|mime-db|media-typer|ee-first|on-finished|vary|statuses|http-errors|content-type|content-disposition|accepts|negotiator|cookies|keygrip|depd|destroy|encodeurl|escape-html|fresh|parseurl|only|cache-content-type|http-assert|@koa/router|raw-body|bytes|iconv-lite|koa-convert|path-to-regexp)$'),
]
if '--groups' in sys.argv and APP:
    totals = defaultdict(float)
    threads = 0.0
    for (kind, f), c in charged.items():
        if kind != 'js' and f == 'clone':
            threads += c
            continue
        a = classify(f)[0] if kind == 'js' else '(no app caller)'
        for title, pattern in GROUPS:
            if kind == 'js' and re.search(pattern, a):
                totals[title] += c
                break
        else:
            totals['main thread, no application caller (Node, V8, libuv; recursive paths)' if kind != 'js' else 'other JavaScript (bench fixture, loaders)'] += c
    print('\nsubsystems (M instructions per request)')
    print(f'{threads / requests / 1e6:8.3f}  other threads (TurboFan, GC helpers, libuv pool)')
    for title, _ in GROUPS + [('main thread, no application caller (Node, V8, libuv; recursive paths)', ''), ('other JavaScript (bench fixture, loaders)', '')]:
        print(f'{totals.get(title, 0) / requests / 1e6:8.3f}  {title}')
