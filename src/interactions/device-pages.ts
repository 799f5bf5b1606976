// RFC 8628 section 3.3 verification pages, rendered by oidc-provider's device flow: enter the code
// (tolerant to case and hyphens; clean on a phone), confirm the device and what it asks for, done.
import type { KoaContextWithOIDC } from 'oidc-provider';

import { html, Html, page } from '../http/html.ts';

interface CodeError {
  readonly userCode?: string;
  readonly name?: string;
}

/** features.deviceFlow.userCodeInputSource */
export async function userCodeInputSource(ctx: KoaContextWithOIDC, form: string, _out: unknown, err?: CodeError): Promise<void> {
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
    <div class="code-form">${new Html(form)}</div>
    <div class="actions"><button type="submit" form="op.deviceInputForm">Continue</button></div>`);
}

/** features.deviceFlow.userCodeConfirmSource: names the client and the scopes it asks for. */
export async function userCodeConfirmSource(ctx: KoaContextWithOIDC, form: string, client: { clientId: string; clientName?: string }, _deviceInfo: unknown, userCode: string): Promise<void> {
  const params = (ctx.oidc.entities.DeviceCode as { params?: { scope?: string } } | undefined)?.params;
  const scopes = typeof params?.scope === 'string' ? params.scope.split(' ').filter(Boolean) : [];
  ctx.type = 'html';
  ctx.body = page('Confirm the device', html`
    ${new Html(form)}
    <h1>Connect ${client.clientName ?? client.clientId}?</h1>
    <p>Your device should show the code <code>${userCode}</code>. If it does not, or you did not start this, cancel.</p>
    ${scopes.length ? html`<p>It asks for: ${scopes.map((s, i) => html`${i ? ', ' : ''}<code>${s}</code>`)}</p>` : ''}
    <div class="actions">
      <button autofocus type="submit" form="op.deviceConfirmForm">Continue</button>
      <button class="secondary" type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Cancel</button>
    </div>`);
}

/** features.deviceFlow.successSource */
export async function successSource(ctx: KoaContextWithOIDC): Promise<void> {
  const client = ctx.oidc.client;
  ctx.type = 'html';
  ctx.body = page('Device connected', html`<h1>Device connected</h1>
    <p>${client ? html`${client.clientName ?? client.clientId} is` : 'Your device is'} signed in. You can close this page and return to your device.</p>`);
}
