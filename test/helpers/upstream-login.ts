// The test upstream's sign-in page, per profile; the interaction itself (form post, abort,
// automatic consent) is the demo IdP's (src/dev/idp/interaction.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';

import type Provider from 'oidc-provider';

import { handleInteraction as handleIdpInteraction, type LoginForm } from '../../src/dev/idp/interaction.ts';
import { escapeHtml as escape } from '../../src/http/html.ts';
import { accountIdFor } from './upstream-provider.ts';
import type { UpstreamProfile, UpstreamUser } from './upstream.ts';

const TITLES: Record<UpstreamProfile, { title: string; heading: string }> = {
  entra: { title: 'Contoso sign-in', heading: 'Sign in to your Contoso account' },
  google: { title: 'Sign in with Google', heading: 'Sign in with Google' },
  generic: { title: 'Sign in', heading: 'Sign in' },
};

export function loginPage(profile: UpstreamProfile, { action, clientId, error, username }: LoginForm): string {
  const { title, heading } = TITLES[profile];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;margin:.4rem 0}
.error{color:#a00}</style></head>
<body><main>
<h1>${escape(heading)}</h1>
<p>to continue to <strong>${escape(clientId)}</strong></p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="${escape(action)}/login" autocomplete="off">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" value="${escape(username)}" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
  <button type="submit" formaction="${escape(action)}/abort" formnovalidate>Cancel</button>
</form>
</main></body></html>`;
}

/** Serves `<prefix>/interaction/...` with this profile's page and users. */
export function handleInteraction(
  provider: Provider, profile: UpstreamProfile, users: readonly UpstreamUser[],
  req: IncomingMessage, res: ServerResponse, prefix: string, path: string, authentication?: { acr: string; amr: string[] },
): Promise<void> {
  return handleIdpInteraction(provider, {
    ...(authentication ? { authentication } : {}),
    loginPage: (form) => loginPage(profile, form),
    authenticate(username, password) {
      const user = users.find((u) => u.username === username);
      return user && user.password === password ? accountIdFor(profile, user) : undefined;
    },
  }, req, res, prefix, path);
}
