// RFC 8628 section 3.3 verification pages, rendered by oidc-provider's device flow: enter the code
// (tolerant to case and hyphens; clean on a phone), confirm the device, what it asks for and which
// account approves it, done.
import type { FindAccount, KoaContextWithOIDC } from 'oidc-provider';

import { html, Html, page } from '../http/html.ts';

interface CodeError {
  readonly userCode?: string;
  readonly name?: string;
}

/** The user code's shape (features.deviceFlow mask `****-****`, letters): what the field asks for. */
export const USER_CODE_FORMAT = 'XXXX-XXXX';
const USER_CODE_PATTERN = '[A-Za-z]{4}[\\- ]?[A-Za-z]{4}';

/**
 * The code field, in place of oidc-provider's bare input: labelled, uppercase, no autocomplete or
 * spell check, the expected format. Its action and CSRF token are taken from the provider's form.
 */
function codeForm(form: string, typed: string | undefined): Html {
  const action = /\baction="([^"]+)"/.exec(form)?.[1];
  const xsrf = /name="xsrf" value="([^"]*)"/.exec(form)?.[1];
  if (action === undefined || xsrf === undefined) return new Html(form);
  const raw = (value: string) => new Html(value);
  return html`<form id="op.deviceInputForm" method="post" action="${raw(action)}">
      <input type="hidden" name="xsrf" value="${raw(xsrf)}">
      <label for="user_code">Code</label>
      <input id="user_code" name="user_code" type="text" value="${typed ?? ''}" required autofocus
        autocomplete="off" autocapitalize="characters" autocorrect="off" spellcheck="false" inputmode="text"
        pattern="${USER_CODE_PATTERN}" maxlength="9" placeholder="${USER_CODE_FORMAT}"
        title="8 letters, as your device shows them: ${USER_CODE_FORMAT}" aria-describedby="user_code_format">
      <p class="hint" id="user_code_format">8 letters, as ${USER_CODE_FORMAT}; the hyphen and the case do not matter.</p>
    </form>`;
}

/** features.deviceFlow.userCodeInputSource */
async function userCodeInputSource(ctx: KoaContextWithOIDC, form: string, _out: unknown, err?: CodeError): Promise<void> {
  const message = !err
    ? 'Enter the code shown on your device.'
    : err.userCode || err.name === 'NoCodeError'
      ? 'That code is not valid or has expired. Check your device and try again.'
      : err.name === 'AbortedError'
        ? 'The sign-in was cancelled.'
        : 'Something went wrong. Check the code on your device and try again.';
  ctx.type = 'html';
  ctx.body = page('Connect a device', html`
    <h1>Connect a device</h1>
    <p role="${err ? 'alert' : 'status'}">${message}</p>
    <div class="code-form">${codeForm(form, err?.userCode)}</div>
    <div class="actions"><button type="submit" form="op.deviceInputForm">Continue</button></div>`);
}

/** Who is signed in at Baton in this browser (the account a confirmed device acts as), if anyone. */
async function signedInAccount(ctx: KoaContextWithOIDC, findAccount: FindAccount): Promise<{ sub: string; name?: string } | undefined> {
  const sub = ctx.oidc.session?.accountId;
  if (!sub) return undefined;
  const account = await findAccount(ctx, sub);
  const claims: Record<string, unknown> = account ? await account.claims('userinfo', 'openid profile email', {}, []) : {};
  const name = [claims.name, claims.email, claims.preferred_username].find((value): value is string => typeof value === 'string');
  return { sub, ...(name ? { name } : {}) };
}

function accountLine(account: { sub: string; name?: string }): Html {
  return html`<strong>${account.name ?? account.sub}</strong>${account.name ? html` (<code>${account.sub}</code>)` : ''}`;
}

/** The device flow's page sources; `findAccount` names the account that approves. */
export function devicePages(findAccount: FindAccount) {
  return {
    userCodeInputSource,
    userCodeConfirmSource: (ctx: KoaContextWithOIDC, form: string, client: { clientId: string; clientName?: string }, _info: unknown, userCode: string) => userCodeConfirmSource(ctx, form, client, userCode, findAccount),
    successSource: (ctx: KoaContextWithOIDC) => successSource(ctx, findAccount),
  };
}

/** features.deviceFlow.userCodeConfirmSource: names the client, the scopes it asks for and the approving account. */
async function userCodeConfirmSource(ctx: KoaContextWithOIDC, form: string, client: { clientId: string; clientName?: string }, userCode: string, findAccount: FindAccount): Promise<void> {
  const params = (ctx.oidc.entities.DeviceCode as { params?: { scope?: string } } | undefined)?.params;
  const scopes = typeof params?.scope === 'string' ? params.scope.split(' ').filter(Boolean) : [];
  const account = await signedInAccount(ctx, findAccount);
  ctx.type = 'html';
  ctx.body = page('Confirm the device', html`
    ${new Html(form)}
    <h1>Connect ${client.clientName ?? client.clientId}?</h1>
    <p>Your device should show the code <code>${userCode}</code>. If it does not, or you did not start this, cancel.</p>
    ${scopes.length ? html`<p>It asks for: ${scopes.map((s, i) => html`${i ? ', ' : ''}<code>${s}</code>`)}</p>` : ''}
    <p id="approving-account">${account
      ? html`You approve it as ${accountLine(account)}, signed in here: the device will act as this account.`
      : 'Next you sign in; the device will act as the account you sign in with.'}</p>
    <div class="actions">
      <button autofocus type="submit" form="op.deviceConfirmForm">Continue</button>
      <button class="secondary" type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Cancel</button>
    </div>`);
}

/** features.deviceFlow.successSource: names the account the device now acts as. */
async function successSource(ctx: KoaContextWithOIDC, findAccount: FindAccount): Promise<void> {
  const client = ctx.oidc.client;
  const account = await signedInAccount(ctx, findAccount);
  ctx.type = 'html';
  ctx.body = page('Device connected', html`<h1>Device connected</h1>
    <p>${client ? html`${client.clientName ?? client.clientId} is` : 'Your device is'} signed in${account ? html` as ${accountLine(account)}` : ''}. You can close this page and return to your device.</p>`);
}
