import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { Db, DatabaseHandle } from '../src/db/index.ts';
import { deliverDueEmails, enqueueEmail, notifyToken, notifyTransport } from '../src/platform/outbox.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { systemClock } from '../src/platform/clock.ts';

const SERVICE_ID = randomUUID();
const SECRET = randomUUID();
const API_KEY = `assure_test-${SERVICE_ID}-${SECRET}`;
const TEMPLATE_ID = randomUUID();

type Received = { authorization: string; path: string; body: Record<string, unknown> };

/** What a JWT says, after checking its HS256 signature with the secret; null when the signature is wrong. */
function verifiedClaims(token: string, secret: string): Record<string, unknown> | null {
  const [header, claims, signature] = token.split('.');
  if (!header || !claims || !signature) return null;
  const expected = createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url');
  if (expected !== signature) return null;
  if (JSON.parse(Buffer.from(header, 'base64url').toString()).alg !== 'HS256') return null;
  return JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>;
}

/**
 * A stand-in for GOV.UK Notify's e-mail endpoint: checks the bearer token as Notify does
 * (signature, issuer, issued within 30 seconds), records each request and answers with the
 * next status in `answers` (201 once they run out).
 */
async function startFakeNotify() {
  const received: Received[] = [];
  const answers: number[] = [];
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      const claims = verifiedClaims(token, SECRET);
      const fresh = claims && typeof claims.iat === 'number' && Math.abs(Date.now() / 1000 - claims.iat) <= 30;
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (!claims || claims.iss !== SERVICE_ID || !fresh) return reply(403, { status_code: 403, errors: [{ error: 'AuthError', message: 'Invalid token: signature, api token not found' }] });
      received.push({ authorization: token, path: request.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
      const status = answers.shift() ?? 201;
      if (status === 201) return reply(201, { id: randomUUID(), reference: (received.at(-1)!.body.reference as string) ?? null, content: {} });
      if (status === 400) return reply(400, { status_code: 400, errors: [{ error: 'BadRequestError', message: 'Can’t send to this recipient using a team-only API key' }] });
      if (status === 429) return reply(429, { status_code: 429, errors: [{ error: 'RateLimitError', message: 'Exceeded rate limit for key type TEAM of 3000 requests per 60 seconds' }] });
      return reply(status, { status_code: status, errors: [{ error: 'Exception', message: 'Internal server error' }] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    received,
    answers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the Notify token', () => {
  it('is an HS256 JSON Web Token from the service, signed with the secret half of the key', () => {
    const now = new Date('2026-12-02T09:00:00Z');
    const token = notifyToken(API_KEY, now);
    expect(verifiedClaims(token, SECRET)).toEqual({ iss: SERVICE_ID, iat: now.getTime() / 1000 });
    expect(verifiedClaims(token, randomUUID())).toBeNull();
  });

  it('refuses a key that is not a Notify key', () => {
    expect(() => notifyTransport({ apiKey: 'not-a-key', templateId: TEMPLATE_ID, baseUrl: 'http://127.0.0.1:1' })).toThrow(/Notify API key/);
  });
});

describe('the Notify settings', () => {
  const base = { NODE_ENV: 'test', EMAIL_TRANSPORT: 'notify' };

  it('need a key and a template when Notify is chosen, said in one line', () => {
    expect(() => loadConfig(base)).toThrow(ConfigError);
    expect(() => loadConfig(base)).toThrow('EMAIL_TRANSPORT=notify needs NOTIFY_API_KEY and NOTIFY_TEMPLATE_ID');
    expect(() => loadConfig({ ...base, NOTIFY_API_KEY: API_KEY })).toThrow('NOTIFY_API_KEY and NOTIFY_TEMPLATE_ID');
    expect(() => loadConfig({ ...base, NOTIFY_API_KEY: 'secret', NOTIFY_TEMPLATE_ID: TEMPLATE_ID })).toThrow(/NOTIFY_API_KEY: must be a GOV.UK Notify API key/);
    expect(() => loadConfig({ ...base, NOTIFY_API_KEY: API_KEY, NOTIFY_TEMPLATE_ID: 'welcome' })).toThrow(/NOTIFY_TEMPLATE_ID/);
    expect(() => loadConfig({ NODE_ENV: 'test', EMAIL_TRANSPORT: 'carrier-pigeon' })).toThrow(/EMAIL_TRANSPORT/);
  });

  it('default to SMTP, and to Notify’s own address', () => {
    expect(loadConfig({ NODE_ENV: 'test' })).toMatchObject({ emailTransport: 'smtp', notify: undefined, reminderHour: 7, reminderWindowWorkingDays: 2, remindersEnabled: true });
    expect(loadConfig({ ...base, NOTIFY_API_KEY: API_KEY, NOTIFY_TEMPLATE_ID: TEMPLATE_ID }).notify).toEqual({
      apiKey: API_KEY,
      templateId: TEMPLATE_ID,
      baseUrl: 'https://api.notifications.service.gov.uk',
    });
  });

  it("make e-mail links absolute: PUBLIC_URL, else this machine's address outside production", () => {
    expect(loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'https://assure.testshire.gov.uk/' }).publicUrl).toBe('https://assure.testshire.gov.uk');
    expect(loadConfig({ NODE_ENV: 'development', PORT: '3125' }).publicUrl).toBe('http://localhost:3125');
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) }).publicUrl).toBeUndefined();
    expect(() => loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'assure.testshire.gov.uk' })).toThrow(/PUBLIC_URL/);
  });

  it('stop Assure from starting, with one line saying what is missing', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const failed = await promisify(execFile)(process.execPath, [path.join(root, 'src/main.ts')], {
      env: { PATH: process.env.PATH ?? '', EMAIL_TRANSPORT: 'notify', PORT: '0' },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toEqual([
      'Assure cannot start: EMAIL_TRANSPORT=notify needs NOTIFY_API_KEY and NOTIFY_TEMPLATE_ID (a template with ((subject)) and ((body)))',
    ]);
  });
});

describe.each(testDrivers())('delivery through GOV.UK Notify on %s', (driver) => {
  let handle: DatabaseHandle;
  let db: Db;
  let notify: Awaited<ReturnType<typeof startFakeNotify>>;
  let organisationId: string;

  beforeAll(async () => {
    handle = await openTestDatabase(driver);
    db = handle.db;
    notify = await startFakeNotify();
    const organisation = await db
      .insertInto('organisations')
      .values({ slug: 'testshire', name: 'Testshire Council', settings: JSON.stringify({}) })
      .returning('id')
      .executeTakeFirstOrThrow();
    organisationId = organisation.id;
  });
  afterAll(async () => {
    await notify?.close();
    await handle?.close();
  });
  beforeEach(async () => {
    await db.deleteFrom('email_outbox').execute();
    notify.received.length = 0;
    notify.answers.length = 0;
  });

  const transport = () => notifyTransport({ apiKey: API_KEY, templateId: TEMPLATE_ID, baseUrl: `${notify.baseUrl}/` });
  const queue = (subject: string) => enqueueEmail(db, { organisationId, to: 'tina@testshire.example', subject, text: `Body of ${subject}\nsecond line`, now: new Date() });
  const row = (id: string) => db.selectFrom('email_outbox').select(['status', 'attempts', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow();

  it('sends the message with the template, its subject and body, and the outbox id as the reference', async () => {
    const queued = await queue('Assure reminder: 1 overdue');
    const report = await deliverDueEmails(db, transport(), { clock: systemClock });
    expect(report).toMatchObject({ claimed: 1, sent: 1, retrying: 0, failed: 0 });
    expect(notify.received).toHaveLength(1);
    expect(notify.received[0]!.path).toBe('/v2/notifications/email');
    expect(notify.received[0]!.body).toEqual({
      email_address: 'tina@testshire.example',
      template_id: TEMPLATE_ID,
      personalisation: { subject: 'Assure reminder: 1 overdue', body: 'Body of Assure reminder: 1 overdue\nsecond line' },
      reference: queued!.id,
    });
    expect(await row(queued!.id)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('retries after a server error and sends once Notify answers', async () => {
    const queued = await queue('Retried');
    notify.answers.push(500);
    const now = new Date();
    expect(await deliverDueEmails(db, transport(), { now })).toMatchObject({ sent: 0, retrying: 1 });
    expect(await row(queued!.id)).toMatchObject({ status: 'queued', attempts: 1, last_error: 'GOV.UK Notify answered 500: Exception: Internal server error' });
    // Not before its backoff…
    expect(await deliverDueEmails(db, transport(), { now })).toMatchObject({ claimed: 0 });
    // …then sent, once.
    expect(await deliverDueEmails(db, transport(), { now: new Date(now.getTime() + 2 * 60_000) })).toMatchObject({ sent: 1 });
    expect(await deliverDueEmails(db, transport(), { now: new Date(now.getTime() + 60 * 60_000) })).toMatchObject({ claimed: 0 });
    expect(notify.received.map((request) => request.body.reference)).toEqual([queued!.id, queued!.id]);
    expect(await row(queued!.id)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('retries when Notify asks it to slow down, or cannot be reached', async () => {
    const queued = await queue('Slow down');
    notify.answers.push(429);
    expect(await deliverDueEmails(db, transport(), { clock: systemClock })).toMatchObject({ retrying: 1 });
    expect((await row(queued!.id)).last_error).toContain('429: RateLimitError');

    const unreachable = notifyTransport({ apiKey: API_KEY, templateId: TEMPLATE_ID, baseUrl: `http://127.0.0.1:${await closedPort()}` });
    expect(await deliverDueEmails(db, unreachable, { now: new Date(Date.now() + 2 * 60_000) })).toMatchObject({ retrying: 1 });
    expect(await row(queued!.id)).toMatchObject({ status: 'queued', attempts: 2 });
  });

  it('fails a message Notify refuses at once, without retrying it', async () => {
    const queued = await queue('Refused');
    notify.answers.push(400);
    expect(await deliverDueEmails(db, transport(), { clock: systemClock })).toMatchObject({ failed: 1, retrying: 0 });
    expect(await row(queued!.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'GOV.UK Notify answered 400: BadRequestError: Can’t send to this recipient using a team-only API key',
    });
    expect(await deliverDueEmails(db, transport(), { now: new Date(Date.now() + 24 * 60 * 60_000) })).toMatchObject({ claimed: 0 });
    expect(notify.received).toHaveLength(1);
  });

  it('keeps a message refused for a wrong API key, and sends it once the key is right', async () => {
    const queued = await queue('Wrong key');
    const wrongKey = notifyTransport({ apiKey: `assure_test-${SERVICE_ID}-${randomUUID()}`, templateId: TEMPLATE_ID, baseUrl: notify.baseUrl });
    expect(await deliverDueEmails(db, wrongKey, { clock: systemClock })).toMatchObject({ failed: 0, retrying: 1 });
    expect(await row(queued!.id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect((await row(queued!.id)).last_error).toContain('403: AuthError');
    expect(notify.received).toHaveLength(0);
    // The administrator corrects the key; the retry goes through.
    expect(await deliverDueEmails(db, transport(), { now: new Date(Date.now() + 2 * 60_000) })).toMatchObject({ sent: 1 });
    expect(notify.received).toHaveLength(1);
  });
});

/** A port nothing listens on: bind one, note it, let it go. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
