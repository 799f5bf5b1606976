// The demo IdP's sign-in page: a corporate sign-in ("Contoso") in the style of the big IdPs, plain
// HTML and inline CSS, no external assets. The demo accounts are listed under the form.
import { html, Html } from '../../http/html.ts';
import type { LoginForm } from './interaction.ts';
import type { DemoUser } from './users.ts';

const STYLE = `
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
         background: linear-gradient(135deg, #dbe7f5 0%, #eef2f7 45%, #e4ebe1 100%);
         font: 15px/1.45 "Segoe UI", system-ui, -apple-system, Roboto, sans-serif; color: #1b1b1b; }
  main { width: min(440px, calc(100vw - 2rem)); background: #fff; padding: 44px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
  .logo { display: flex; align-items: center; gap: 10px; font-weight: 600; font-size: 1.15rem; color: #404040; margin-bottom: 18px; }
  .mark { width: 28px; height: 28px; border-radius: 6px; background: linear-gradient(135deg, #0067b8, #00a4a6);
          color: #fff; display: grid; place-items: center; font-weight: 700; font-size: 17px; }
  h1 { font-size: 1.5rem; font-weight: 600; margin: 0 0 4px; }
  .for { margin: 0 0 18px; color: #555; }
  label { display: block; font-size: .85rem; color: #555; margin-top: 14px; }
  input { width: 100%; font: inherit; padding: 6px 0; border: 0; border-bottom: 1px solid #666; outline: none; background: transparent; }
  input:focus { border-bottom: 2px solid #0067b8; }
  .error { color: #e81123; margin: 12px 0 0; }
  .actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 28px; }
  button { font: inherit; min-width: 108px; padding: 6px 12px; border: 1px solid #0067b8; background: #0067b8; color: #fff; cursor: pointer; }
  button.secondary { background: #ccc; border-color: #ccc; color: #1b1b1b; }
  button:focus-visible { outline: 2px solid #1b1b1b; outline-offset: 2px; }
  .demo { margin-top: 32px; padding: 12px 14px; background: #f3f6fa; border-left: 3px solid #0067b8; font-size: .85rem; color: #404040; }
  .demo p { margin: 0 0 6px; }
  .demo code { font: .85rem ui-monospace, "Cascadia Mono", monospace; }
  .demo ul { margin: 0; padding-left: 18px; }
  footer { margin-top: 20px; font-size: .75rem; color: #767676; }
`;

/** `clientName` names the application signing in (Baton, at this IdP). */
export function contosoLoginPage(form: LoginForm, clientName: string, users: readonly DemoUser[]): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to your account · Contoso</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
  <div class="logo"><span class="mark" aria-hidden="true">C</span>Contoso</div>
  <h1>Sign in</h1>
  <p class="for">to continue to <strong>${clientName}</strong></p>
  ${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''}
  <form method="post" action="${form.action}/login" autocomplete="off">
    <label for="username">Username</label>
    <input id="username" name="username" type="text" value="${form.username}" required autofocus placeholder="alice">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" required placeholder="Password">
    <div class="actions">
      <button class="secondary" type="submit" formaction="${form.action}/abort" formnovalidate>Cancel</button>
      <button type="submit">Sign in</button>
    </div>
  </form>
  <div class="demo">
    <p><strong>Demo identity provider.</strong> It plays your company's IdP (Entra ID, Okta, Google...). Accounts:</p>
    <ul>${users.map((u) => html`<li><code>${u.username}</code> / <code>${u.password}</code></li>`)}</ul>
  </div>
  <footer>Contoso Ltd. · demo directory for Baton</footer>
</main>
</body>
</html>`.value;
}
