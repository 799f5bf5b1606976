// The demo upstream IdP ("Contoso"): plays Entra ID / Google for `baton dev`. Serves the sign-in
// interaction and a small home page; everything else is oidc-provider. `onIdToken` is told the
// claims of every id_token it issues (to Baton), so the demo app can show them beside Baton's.
import { decodeJwt, type JWTPayload } from 'jose';

import type { Handler } from '../http.ts';
import { handleInteraction } from './interaction.ts';
import { contosoLoginPage } from './login-page.ts';
import { buildIdpProvider, type IdpClient } from './provider.ts';
import type { DemoUser } from './users.ts';

export function demoIdp(issuer: string, client: IdpClient, users: readonly DemoUser[], onIdToken?: (claims: JWTPayload) => void): Handler {
  const provider = buildIdpProvider(issuer, client, users);
  provider.on('grant.success', (ctx: { body?: unknown }) => {
    const idToken = (ctx.body as { id_token?: unknown } | undefined)?.id_token;
    if (onIdToken && typeof idToken === 'string') onIdToken(decodeJwt(idToken));
  });
  const callback = provider.callback();
  const interaction = {
    loginPage: (form: Parameters<typeof contosoLoginPage>[0]) => contosoLoginPage(form, form.clientId === client.client_id ? client.client_name : form.clientId, users),
    authenticate(username: string, password: string) {
      const user = users.find((u) => u.username === username.trim().toLowerCase());
      return user && user.password === password ? user.username : undefined;
    },
  };
  return async (req, res) => {
    const { pathname } = new URL(req.url ?? '/', issuer);
    if (pathname.startsWith('/interaction/')) return handleInteraction(provider, interaction, req, res, '', pathname);
    if (pathname === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(HOME);
      return;
    }
    await callback(req, res);
  };
}

const HOME = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Contoso identity (demo IdP)</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Contoso identity (demo IdP)</h1>
<p>A real OpenID Provider (oidc-provider) playing your company's identity provider. Baton signs users in here.</p>
<p><a href="/.well-known/openid-configuration">Discovery document</a></p></body></html>`;
