// The demo app's page frame: a top bar with navigation and the signed-in user, small inline CSS,
// and helpers to show decoded JWTs and API answers. Every value is escaped by `html`.
import { decodeJwt, decodeProtectedHeader } from 'jose';

import { html, Html } from '../../http/html.ts';

const STYLE = `
  :root { --fg: #1f2430; --muted: #5d6677; --bg: #f5f7fb; --card: #fff; --accent: #3056d3; --ok: #137a3a; --no: #b42318; --border: #e1e6ef; }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { background: #1f2a44; color: #fff; }
  .bar { max-width: 1200px; margin: 0 auto; padding: .8rem 1.5rem; display: flex; align-items: center; gap: 1.5rem; flex-wrap: wrap; }
  .brand { font-weight: 700; font-size: 1.1rem; }
  .brand small { font-weight: 400; opacity: .7; margin-left: .4rem; }
  nav { display: flex; gap: 1rem; flex: 1; }
  nav a { color: #cfd8ee; text-decoration: none; }
  nav a[aria-current] { color: #fff; border-bottom: 2px solid #8ea8ff; }
  .who { font-size: .9rem; opacity: .9; }
  main { max-width: 1200px; margin: 0 auto; padding: 1.5rem; }
  h1 { font-size: 1.5rem; margin: .2rem 0 .4rem; }
  h2 { font-size: 1.05rem; margin: 0 0 .6rem; }
  p.lead { color: var(--muted); margin: 0 0 1.2rem; max-width: 60rem; }
  .card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 1rem 1.2rem; margin-bottom: 1rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 1rem; align-items: start; margin-bottom: 1rem; }
  .grid .card { margin: 0; }
  .hint { color: var(--muted); font-size: .88rem; margin: 0 0 .6rem; }
  pre { margin: 0; padding: .7rem; background: #f3f5f9; border-radius: 6px; overflow-x: auto; font: 12.5px/1.45 ui-monospace, "Cascadia Mono", Menlo, monospace; white-space: pre-wrap; word-break: break-all; }
  table { border-collapse: collapse; width: 100%; font-size: .92rem; }
  td { padding: .25rem .4rem; border-bottom: 1px solid var(--border); vertical-align: top; }
  td { overflow-wrap: anywhere; }
  td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
  pre.jose-header { background: #eef1f8; color: var(--muted); margin-bottom: .5rem; }
  .actions { display: flex; gap: .6rem; flex-wrap: wrap; margin: .4rem 0 0; }
  form.inline { display: inline; margin: 0; }
  button, .button { font: inherit; padding: .5rem 1rem; border-radius: 7px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
  button.secondary { background: #fff; color: var(--accent); }
  header button { padding: .3rem .8rem; background: transparent; border-color: #8ea8ff; color: #fff; }
  .scopes { display: flex; gap: .5rem; flex-wrap: wrap; list-style: none; padding: 0; margin: .4rem 0 0; }
  .scope { font: 13px ui-monospace, monospace; padding: .25rem .6rem; border-radius: 999px; border: 1px solid; }
  .scope.granted { color: var(--ok); background: #e9f7ef; }
  .scope.refused { color: var(--no); background: #fdeceb; text-decoration: line-through; }
  .status { font-weight: 700; }
  .status.ok { color: var(--ok); } .status.err { color: var(--no); }
  .notice { background: #eef3ff; border: 1px solid #cdd9ff; border-radius: 8px; padding: .6rem 1rem; margin-bottom: 1rem; }
  .user-code { font: 700 2.4rem ui-monospace, monospace; letter-spacing: .15em; margin: .4rem 0; }
  table.times { margin-top: .5rem; font-size: .85rem; }
  table.times td:nth-child(2) { font-family: ui-monospace, monospace; color: var(--muted); white-space: nowrap; width: 1%; }
  .chip { font: 13px ui-monospace, monospace; padding: .2rem .6rem; border-radius: 999px; border: 1px solid; margin: 0 .3rem .3rem 0; }
  .chip.granted { color: var(--ok); background: #e9f7ef; border-color: var(--ok); }
  .chip.refused { color: var(--no); background: #fdeceb; border-color: var(--no); }
  table.compare td.differs { background: #fff7e0; }
  table.compare th { text-align: left; font-weight: 600; font-size: .85rem; color: var(--muted); padding: .25rem .4rem; }
`;

export type Section = 'home' | 'device' | 'exchange' | 'spa';

export interface Frame {
  readonly title: string;
  readonly section: Section;
  /** The signed-in user's name, when there is one. */
  readonly user?: string;
  readonly notice?: string;
}

export function layout(frame: Frame, body: Html, script?: string): string {
  const link = (section: Section, href: string, label: string) => html`<a href="${href}" ${new Html(frame.section === section ? 'aria-current="page"' : '')}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${frame.title} · Contoso Orders (Baton demo)</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<header><div class="bar">
  <span class="brand">Contoso Orders<small>demo app · signs in through Baton</small></span>
  <nav>${link('home', '/', 'Home')}${link('device', '/device', 'Device flow')}${link('exchange', '/exchange', 'Token exchange')}${link('spa', '/spa', 'Single-page app')}</nav>
  ${frame.user ? html`<span class="who">${frame.user}</span>
    <form class="inline" method="post" action="/logout"><button type="submit">Sign out</button></form>` : ''}
</div></header>
<main>
${frame.notice ? html`<p class="notice" role="status">${frame.notice}</p>` : ''}
${body}
</main>
${script ? html`<script>${new Html(script)}</script>` : ''}
</body>
</html>`.value;
}

export function json(value: unknown): Html {
  return html`<pre>${JSON.stringify(value, null, 2)}</pre>`;
}

/** The decoded header and payload of a JWT (not verified: the app only shows it). */
export function decoded(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  return { header: decodeProtectedHeader(token) as Record<string, unknown>, payload: decodeJwt(token) as Record<string, unknown> };
}

/** Claims that are times in epoch seconds (RFC 7519 section 4.1, OIDC Core section 2). */
const TIME_CLAIMS = ['iat', 'nbf', 'auth_time', 'exp'];

/** An epoch-seconds time as people read it: `2026-12-06 12:00:00 UTC (in 10 min)`. */
export function readableTime(seconds: number, now = Date.now()): string {
  const at = new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const minutes = Math.round((seconds * 1000 - now) / 60_000);
  const relative = minutes === 0 ? 'now' : minutes > 0 ? `in ${minutes} min` : `${-minutes} min ago`;
  return `${at} (${relative})`;
}

/** The payload's time claims beside their epoch seconds. */
function times(payload: Record<string, unknown>, id: string): Html {
  const rows = TIME_CLAIMS.filter((claim) => typeof payload[claim] === 'number');
  if (rows.length === 0) return html``;
  return html`<table class="times" id="${id}-times">${rows.map((claim) => html`<tr><td>${claim}</td><td>${payload[claim] as number}</td><td>${readableTime(payload[claim] as number)}</td></tr>`)}</table>`;
}

export function jwtCard(title: string, hint: string, token: string, id: string): Html {
  const { header, payload } = decoded(token);
  return html`<section class="card" id="${id}"><h2>${title}</h2><p class="hint">${hint}</p>
    <pre class="jose-header" title="JOSE header">${JSON.stringify(header)}</pre>${json(payload)}${times(payload, id)}</section>`;
}

export function apiResult(call: { label: string; status: number; body: unknown } | undefined, id: string): Html {
  if (!call) return html``;
  const ok = call.status >= 200 && call.status < 300;
  return html`<section class="card" id="${id}"><h2>${call.label} → <span class="status ${ok ? 'ok' : 'err'}">${call.status}</span></h2>${json(call.body)}</section>`;
}

/** Scope chips: granted ones green, the requested but refused ones struck through. */
export function scopeChips(requested: readonly string[], granted: readonly string[]): Html {
  return html`<ul class="scopes">${requested.map((scope) => {
    const ok = granted.includes(scope);
    return html`<li class="scope ${ok ? 'granted' : 'refused'}" title="${ok ? 'granted' : 'not granted'}">${ok ? '✓' : '✗'} ${scope}</li>`;
  })}</ul>`;
}
