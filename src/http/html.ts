// Server-rendered pages: one layout, escaped interpolation, no script. Used by the interaction,
// logout and error pages.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Tagged template that escapes every interpolated value unless it is already `Html`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const rendered = Array.isArray(value) ? value.map(render).join('') : render(value);
    out += rendered + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

/** The pages' one stylesheet, inline: the Content-Security-Policy allows exactly it, by hash (page-security.ts). */
export const PAGE_STYLE = `
  :root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6475; --bg: #f4f6fa; --card: #fff; --accent: #2f5bea; --border: #dde2ec; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e8ebf2; --muted: #a3abbd; --bg: #11141b; --card: #1a1f29; --accent: #7d9bff; --border: #2b3241; } }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--fg);
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { width: min(28rem, calc(100vw - 2rem)); background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 2rem; }
  .brand { font-weight: 700; letter-spacing: .02em; color: var(--accent); margin: 0 0 1.5rem; }
  h1 { font-size: 1.35rem; margin: 0 0 .75rem; }
  p { margin: 0 0 1rem; color: var(--muted); }
  code { font-size: .9em; }
  button { font: inherit; padding: .6rem 1.2rem; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
  button.secondary { background: transparent; color: var(--accent); }
  button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .actions { display: flex; gap: .75rem; flex-wrap: wrap; margin-top: 1.5rem; }
  .choices { list-style: none; padding: 0; margin: 1.5rem 0 0; display: grid; gap: .75rem; }
  .choice { display: block; padding: .8rem 1rem; border: 1px solid var(--border); border-radius: 8px; color: var(--fg); text-decoration: none; font-weight: 600; }
  .choice:hover, .choice:focus-visible { border-color: var(--accent); outline: none; box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 25%, transparent); }
  .error-code { font-family: ui-monospace, monospace; color: var(--muted); font-size: .9rem; }
  .code-form label { display: block; font-weight: 600; margin-bottom: .35rem; }
  .code-form input { width: 100%; font: 600 1.5rem ui-monospace, monospace; letter-spacing: .12em; text-transform: uppercase; padding: .5rem .7rem;
                     border: 1px solid var(--border); border-radius: 8px; background: var(--bg); color: var(--fg); }
  .code-form input::placeholder { letter-spacing: .12em; opacity: .45; }
  .code-form input:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px; }
  .code-form .hint { font-size: .85rem; margin: .4rem 0 0; }
`;

export function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Baton</title>
<style>${new Html(PAGE_STYLE)}</style>
</head>
<body>
<main>
<p class="brand" aria-hidden="true">Baton</p>
${body}
</main>
</body>
</html>`.value;
}
