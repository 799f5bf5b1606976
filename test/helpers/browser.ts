// A real browser for federation tests: Debian's Chromium (/usr/bin/chromium) driven by playwright-core,
// headless, with a fresh profile directory per launch. Playwright's browser downloads are never used.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get update && apt-get install -y --no-install-recommends chromium';

/** Exactly these Chromium switches; Playwright only adds the user-data-dir and its debugging pipe. */
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
] as const;

export interface LaunchedBrowser {
  /** The persistent context over the temp profile: cookies are shared by all its pages. */
  readonly context: BrowserContext;
  readonly userDataDir: string;
  newPage(): Promise<Page>;
  /** Closes Chromium and removes the profile directory. */
  close(): Promise<void>;
}

export async function launchBrowser(options: { timeoutMs?: number } = {}): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}; install Debian's package (as root): ${CHROMIUM_INSTALL}`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'baton-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      ignoreDefaultArgs: true,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, '--remote-debugging-pipe', 'about:blank'],
      timeout: options.timeoutMs ?? 20_000,
    });
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(options.timeoutMs ?? 10_000);
  let closed = false;
  return {
    context,
    userDataDir,
    newPage: () => context.newPage(),
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Fills the upstream login form (`#username`, `#password`) and clicks "Sign in". */
export async function signInAtUpstream(page: Page, username: string, password: string): Promise<void> {
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Clicks the upstream login form's "Cancel" (the interaction ends with access_denied). */
export async function cancelAtUpstream(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
}

export interface RedirectTarget {
  /** `http://127.0.0.1:PORT/callback`: register it as a redirect_uri. */
  readonly redirectUri: string;
  /** Every URL requested, in order. */
  readonly received: URL[];
  stop(): Promise<void>;
}

/** A relying party's redirect_uri: a local listener answering every request with a small page. */
export async function startRedirectTarget(): Promise<RedirectTarget> {
  const { createServer } = await import('node:http');
  const received: URL[] = [];
  const server = createServer((req, res) => {
    received.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Relying party</title><p>Back at the relying party.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    received,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
