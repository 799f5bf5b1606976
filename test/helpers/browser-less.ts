// A minimal cookie-keeping user agent over fetch, for following the authorization redirects step by
// step without a browser (the browser suites come with federation).
export class CookieAgent {
  readonly #cookies = new Map<string, string>();

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) headers.set('cookie', [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return response;
  }

  /** The value of one cookie held now. */
  cookie(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  /** The values of the cookies held now. */
  cookieValues(): string[] {
    return [...this.#cookies.values()];
  }

  async follow(url: string | URL, base: string): Promise<Response> {
    let response = await this.request(url);
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops += 1) {
      const location = new URL(response.headers.get('location')!, base);
      if (!location.href.startsWith(base)) return response;
      response = await this.request(location);
    }
    return response;
  }
}
