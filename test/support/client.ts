import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * A browser-like client over app.inject: keeps cookies, and sends the CSRF token of the
 * last page it read with every form, as a browser submitting that page's form would.
 */
export class TestClient {
  readonly app: FastifyInstance;
  readonly cookies = new Map<string, string>();
  csrfToken = '';
  lastResponse: LightMyRequestResponse | undefined;
  /** Sent with every request, like a browser's User-Agent. */
  headers: Record<string, string> = {};

  constructor(app: FastifyInstance) {
    this.app = app;
  }

  async get(url: string, headers: Record<string, string> = {}) {
    return this.#record(await this.app.inject({ method: 'GET', url, headers: { ...this.headers, ...headers, cookie: this.#cookieHeader() } }));
  }

  /** Posts a form. Without an explicit _csrf, the token of the last page read is sent. */
  async post(url: string, form: Record<string, string | string[]> = {}) {
    const params = new URLSearchParams();
    const withToken = { _csrf: this.csrfToken, ...form };
    for (const [key, value] of Object.entries(withToken)) {
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    return this.#record(
      await this.app.inject({
        method: 'POST',
        url,
        payload: params.toString(),
        headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded', cookie: this.#cookieHeader() },
      }),
    );
  }

  /** Posts a multipart form with one file, as a browser posts the page's form: the CSRF token is its first field, before the file. */
  async upload(url: string, file: { field: string; filename: string; content: Buffer | string; contentType?: string }, fields: Record<string, string> = {}) {
    const boundary = `----assure${Date.now()}`;
    const parts: Buffer[] = [];
    for (const [name, value] of Object.entries({ _csrf: this.csrfToken, ...fields })) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    }
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    );
    return this.#record(
      await this.app.inject({
        method: 'POST',
        url,
        payload: Buffer.concat(parts),
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, cookie: this.#cookieHeader() },
      }),
    );
  }

  async signIn(email: string, password: string) {
    await this.get('/sign-in');
    const response = await this.post('/sign-in', { email, password });
    if (response.statusCode !== 303) throw new Error(`sign-in as ${email} failed with ${response.statusCode}`);
    await this.get('/');
    return response;
  }

  #cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #record(response: LightMyRequestResponse) {
    for (const cookie of response.cookies as { name: string; value: string; expires?: Date; maxAge?: number }[]) {
      const expired = (cookie.expires && cookie.expires.getTime() < Date.now()) || cookie.maxAge === 0 || cookie.value === '';
      if (expired) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (token) this.csrfToken = token;
    this.lastResponse = response;
    return response;
  }
}

/** One client per person, each signed in with its e-mail address. */
export async function signedInClients<Who extends string>(app: FastifyInstance, emails: Record<Who, string>, password: string): Promise<Record<Who, TestClient>> {
  const clients = {} as Record<Who, TestClient>;
  for (const [who, email] of Object.entries(emails) as [Who, string][]) {
    const client = new TestClient(app);
    await client.signIn(email, password);
    clients[who] = client;
  }
  return clients;
}

/** The text of a page without tags, for asserting what a user reads. */
export function pageText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/\s+/g, ' ')
    .trim();
}
