import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../src/modules/account/service.ts';
import { buildApp } from '../src/app.ts';
import { createTestApp, testConfig, type TestApp } from './support/app.ts';
import { TestClient, pageText } from './support/client.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { testDrivers } from './support/database.ts';

/** Assure keeps answering whatever its clients send: NUL bytes, slow bodies, stray uploads. */

describe.each(testDrivers())('bad input on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: TestClient;
  let admin: TestClient;
  let bearer: string;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
    admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
    bearer = `Bearer ${await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'limits test' })}`;
  });
  afterAll(async () => t?.close());

  it.each([
    ['the staff search', 'q', '/organisation/staff?q=Sam%00'],
    ['the audit tracker search', 'q', '/audits?q=%00'],
    ['the children search', 'q', '/children?q=ab%00cd'],
    ['the activity log filter', 'email', '/activity?email=a%00b'],
  ])('refuses a NUL byte in %s with a 400 naming the field', async (_what, field, url) => {
    const response = await (url.startsWith('/activity') ? admin : coordinator).get(url);
    expect(response.statusCode).toBe(400);
    expect(pageText(response.body)).toContain(`The field "${field}" contains a character that cannot be stored (a NUL byte)`);
  });

  it('refuses a NUL byte in a form field with a 400 naming it, and saves nothing', async () => {
    await admin.get('/organisation/staff/new');
    const response = await admin.post('/organisation/staff/new', { fullName: 'Nul\u0000Person', jobTitle: 'Social Worker' });
    expect(response.statusCode).toBe(400);
    expect(pageText(response.body)).toContain('The field "fullName" contains a character that cannot be stored');
    const saved = await t.db.selectFrom('staff').select('id').where('full_name', 'like', 'Nul%').execute();
    expect(saved).toEqual([]);
  });

  it('refuses a NUL byte on the sign-in form', async () => {
    const visitor = new TestClient(t.app);
    await visitor.get('/sign-in');
    const response = await visitor.post('/sign-in', { email: 'someone\u0000@testshire.example', password: 'whatever' });
    expect(response.statusCode).toBe(400);
    expect(pageText(response.body)).toContain('The field "email"');
  });

  it('refuses a NUL byte in the API, in JSON and in the path, with the field named in JSON', async () => {
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: { authorization: bearer }, payload: { childId: 'x', notes: ['fine', 'not\u0000fine'] } });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ error: 'BAD_REQUEST', errors: [{ field: 'notes.1' }] });
    const query = await t.app.inject({ method: 'GET', url: '/api/v1/children?q=%00', headers: { authorization: bearer } });
    expect(query.statusCode).toBe(400);
    expect(query.json()).toMatchObject({ errors: [{ field: 'q' }] });
    const path = await t.app.inject({ method: 'GET', url: '/api/v1/audits/%00', headers: { authorization: bearer } });
    expect(path.statusCode).toBe(400);
  });
});

/** Raw HTTP over a socket: what the server sends back, and how long until it closed the connection. */
function rawRequest(port: number, head: string, body: { chunks: string[]; everyMs: number }) {
  return new Promise<{ response: string; closedAfterMs: number }>((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    const chunks = [...body.chunks];
    const next = () => {
      const chunk = chunks.shift();
      if (chunk !== undefined && !socket.destroyed) socket.write(chunk);
    };
    const timer = setInterval(next, body.everyMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ response, closedAfterMs: Date.now() - started });
    });
    socket.write(head);
    next();
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server still held the connection after 20 s; it sent: ${response}`));
    }, 20_000).unref();
  });
}

const formHead = (length: number) =>
  `POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\n\r\n`;

describe.each(testDrivers())('timeouts on a real server on %s', (driver) => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp(driver, { IDLE_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '2', KEEP_ALIVE_TIMEOUT_SECONDS: '5', UNAUTHENTICATED_UPLOADS_MAX: '2' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => t?.close());

  it('cuts off a body that declares 1,000 bytes and sends 10', async () => {
    const { closedAfterMs } = await rawRequest(port, formHead(1000), { chunks: ['email=abcd'], everyMs: 60_000 });
    expect(closedAfterMs).toBeLessThan(4_000);
  });

  it('cuts off a body trickled byte by byte, never idle but never finished, and says so', async () => {
    const trickle = Array.from({ length: 200 }, () => 'a');
    const { response, closedAfterMs } = await rawRequest(port, formHead(1000), { chunks: trickle, everyMs: 200 });
    expect(closedAfterMs).toBeLessThan(6_000);
    expect(response).toMatch(/^HTTP\/1\.1 408/);
  });

  it('keeps idle kept-alive connections only as long as configured', () => {
    expect(t.app.server.keepAliveTimeout).toBe(5_000);
    expect(t.app.server.requestTimeout).toBe(2_000);
  });

  it('answers an upload from someone not signed in at once and closes its connection, without waiting for the body', async () => {
    // Default timeouts here: only the answer itself may end the connection.
    const patient = await buildApp({ db: t.db, config: testConfig(), clock: t.clock });
    try {
      await patient.listen({ port: 0, host: '127.0.0.1' });
      const head = `POST /organisation/staff/import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000000\r\n\r\n`;
      const { response, closedAfterMs } = await rawRequest((patient.server.address() as net.AddressInfo).port, head, { chunks: ['--x\r\n'], everyMs: 60_000 });
      expect(response).toMatch(/^HTTP\/1\.1 303/);
      expect(response).toMatch(/connection: close/i);
      expect(closedAfterMs).toBeLessThan(5_000);
    } finally {
      await patient.close();
    }
  });

  it('refuses more uploads at once from people not signed in than allowed', async () => {
    const capped = { app: await buildApp({ db: t.db, config: testConfig({ UNAUTHENTICATED_UPLOADS_MAX: '0' }), clock: t.clock }) };
    try {
      const response = await capped.app.inject({ method: 'POST', url: '/organisation/staff/import', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--\r\n' });
      expect(response.statusCode).toBe(429);
      expect(response.headers.connection).toBe('close');
    } finally {
      await capped.app.close();
    }
  });
});
