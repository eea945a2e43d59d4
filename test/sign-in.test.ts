import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { fixedClock } from '../src/platform/clock.ts';
import { passwordProblem } from '../src/platform/auth/passwords.ts';
import { createUser } from '../src/modules/org/service.ts';
import { createTestApp, testConfig, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

const WRONG = 'not the password at all';
const MINUTE = 60_000;

/** Sign-in posts through the page, from an address of our choosing (as a proxy would forward it). */
async function attempt(client: TestClient, email: string, password: string, headers: Record<string, string> = {}, remoteAddress?: string) {
  const response = await client.app.inject({
    method: 'POST',
    url: '/sign-in',
    payload: new URLSearchParams({ _csrf: client.csrfToken, email, password }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; '), ...headers },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
  return response;
}

async function signInPage(t: TestApp) {
  const client = new TestClient(t.app);
  await client.get('/sign-in');
  return client;
}

describe.each(testDrivers())('sign-in hardened on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const clock = fixedClock(new Date());

  beforeAll(async () => {
    t = await createTestApp(driver, { SIGN_IN_RATE_LIMIT: '1000' }, clock);
    council = await createSmallCouncil(t.db);
  });
  afterAll(async () => t?.close());

  const newUser = async (name: string) =>
    createUser(t.db, { organisationId: council.organisation.id, email: `${name}@testshire.example`, displayName: name, password: PASSWORD, grants: [{ role: 'practitioner', scope: 'organisation' }] });

  const summaries = async (userId: string) =>
    (await t.db.selectFrom('activity_log').select(['action', 'summary', 'organisation_id']).where('record_id', '=', userId).where('action', 'in', ['sign-in-failed', 'lock']).execute());

  it('checks at most 5 of 15 simultaneous guesses, and refuses even the right password after the 5th failure', async () => {
    const user = await newUser('burst');
    const client = await signInPage(t);
    const answers = await Promise.all(Array.from({ length: 15 }, () => attempt(client, user.email, WRONG)));
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(15).fill(401));
    const logged = await summaries(user.id);
    expect(logged.filter((entry) => entry.summary === 'wrong password')).toHaveLength(5);
    expect(logged.filter((entry) => entry.action === 'lock')).toHaveLength(1);
    expect(logged.filter((entry) => entry.summary === 'refused: the account is locked')).toHaveLength(10);
    const right = await attempt(client, user.email, PASSWORD);
    expect(right.statusCode).toBe(401);
  });

  it('answers a locked account and an unknown e-mail alike, in status, words and time', async () => {
    const user = await newUser('lockedout');
    const client = await signInPage(t);
    for (let i = 0; i < 5; i++) await attempt(client, user.email, WRONG);
    const timed = async (email: string) => {
      const started = performance.now();
      const response = await attempt(client, email, WRONG);
      return { response, ms: performance.now() - started };
    };
    const locked = [];
    const unknown = [];
    for (let i = 0; i < 5; i++) {
      locked.push(await timed(user.email));
      unknown.push(await timed('nobody.here@elsewhere.example'));
    }
    const page = (body: string, email: string) => pageText(body).replace(email, 'EMAIL');
    for (let i = 0; i < 5; i++) {
      expect(locked[i]!.response.statusCode).toBe(unknown[i]!.response.statusCode);
      expect(page(locked[i]!.response.body, user.email)).toBe(page(unknown[i]!.response.body, 'nobody.here@elsewhere.example'));
    }
    // Both pay one argon2 check: a locked account is not answered faster than an unknown e-mail.
    const median = (runs: { ms: number }[]) => runs.map((run) => run.ms).sort((a, b) => a - b)[2]!;
    expect(median(locked) / median(unknown)).toBeGreaterThan(0.4);
    expect(median(unknown) / median(locked)).toBeGreaterThan(0.4);
  });

  it('lets the lock run out by the clock', async () => {
    const user = await newUser('waiter');
    const client = await signInPage(t);
    for (let i = 0; i < 5; i++) await attempt(client, user.email, WRONG);
    expect((await attempt(client, user.email, PASSWORD)).statusCode).toBe(401);
    clock.advance(16 * MINUTE);
    expect((await attempt(client, user.email, PASSWORD)).statusCode).toBe(303);
  });

  it("records failed sign-ins and lock-outs for the account's organisation, shows them to its administrators, who unlock", async () => {
    const user = await newUser('forgetful');
    const client = await signInPage(t);
    for (let i = 0; i < 5; i++) await attempt(client, user.email, WRONG);
    const logged = await summaries(user.id);
    expect(logged.length).toBe(6);
    expect(new Set(logged.map((entry) => entry.organisation_id))).toEqual(new Set([council.organisation.id]));

    const admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
    const users = await admin.get('/organisation/users');
    expect(pageText(users.body)).toMatch(/forgetful.*Locked/);
    const page = await admin.get(`/organisation/users/${user.id}`);
    const text = pageText(page.body);
    expect(text).toContain('Failed sign-ins and lock-outs');
    expect(text).toContain('locked for 15 minutes after 5 failed sign-ins');
    expect(text).toContain('wrong password');
    const activity = await admin.get('/activity?action=lock');
    expect(pageText(activity.body)).toContain(user.email);

    // Another council's administrator, in the same deployment, learns nothing: the user is not theirs.
    const elsewhere = await createSmallCouncil(t.db, 'otherton');
    const otherAdmin = new TestClient(t.app);
    await otherAdmin.signIn(elsewhere.users.administrator.email, PASSWORD);
    expect((await otherAdmin.get(`/organisation/users/${user.id}`)).statusCode).toBe(404);
    expect(pageText((await otherAdmin.get('/activity')).body)).not.toContain(user.email);

    await admin.post(`/organisation/users/${user.id}/unlock`);
    expect((await attempt(client, user.email, PASSWORD)).statusCode).toBe(303);
  });

  it('refuses common, repetitive and personal passwords with the reason, and no composition rules', async () => {
    const person = { email: 'jo.bloggs@testshire.example', displayName: 'Jo Bloggs' };
    expect(await passwordProblem('123456789012', person)).toMatch(/too easy to guess/);
    expect(await passwordProblem('aaaaaaaaaaaa', person)).toMatch(/too easy to guess/);
    expect(await passwordProblem('passwordpassword', person)).toMatch(/too easy to guess/);
    expect(await passwordProblem('jo.bloggs@testshire.example', person)).toBe('Password must not contain your e-mail address or name');
    expect(await passwordProblem('my name is jo bloggs ok', person)).toBe('Password must not contain your e-mail address or name');
    expect(await passwordProblem('short', person)).toBe('Password must be at least 12 characters');
    // Lower-case words, no digits or symbols: long and uncommon is what counts.
    expect(await passwordProblem('orange kettle marching slowly', person)).toBeNull();

    const user = await newUser('changer');
    const client = new TestClient(t.app);
    await client.signIn(user.email, PASSWORD);
    await client.get('/account/password');
    for (const weak of ['123456789012', 'aaaaaaaaaaaa', user.email]) {
      const refused = await client.post('/account/password', { currentPassword: PASSWORD, newPassword: weak, confirmPassword: weak });
      expect(refused.statusCode, weak).toBe(400);
      expect(pageText(refused.body)).toMatch(/too easy to guess|must not contain your e-mail address/);
    }
    const hash = await t.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(await createUser(t.db, { organisationId: council.organisation.id, email: 'weak@testshire.example', displayName: 'Weak', password: 'aaaaaaaaaaaa', grants: [] }).catch((error: Error) => error.message)).toMatch(/too easy to guess/);
    expect((await t.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash).toBe(hash.password_hash);
  });

  it('ends API tokens at their expiry, at a password change and when the account is disabled', async () => {
    const api = (token: string) => t.app.inject({ url: '/api/v1/tools', headers: { authorization: `Bearer ${token}` } });
    const makeToken = async (client: TestClient, name: string, lifetimeDays = '90') => {
      await client.get('/account');
      const created = await client.post('/account/tokens', { name, lifetimeDays });
      return /data-testid="api-token">([^<]+)</.exec(created.body)![1]!;
    };
    const user = await createUser(t.db, {
      organisationId: council.organisation.id,
      email: 'scripter@testshire.example',
      displayName: 'Scripter',
      password: PASSWORD,
      grants: [{ role: 'qa_lead', scope: 'organisation' }],
    });
    const client = new TestClient(t.app);
    await client.signIn(user.email, PASSWORD);

    const tooLong = await client.post('/account/tokens', { name: 'forever', lifetimeDays: '3650' });
    expect(tooLong.statusCode).toBe(400);
    expect(pageText(tooLong.body)).toContain('Choose how long the token works');

    const short = await makeToken(client, 'month', '30');
    expect((await api(short)).statusCode).toBe(200);
    clock.advance(31 * 24 * 60 * MINUTE);
    expect((await api(short)).statusCode).toBe(401);

    await client.signIn(user.email, PASSWORD);
    const beforeChange = await makeToken(client, 'before change');
    expect((await api(beforeChange)).statusCode).toBe(200);
    await client.get('/account/password');
    await client.post('/account/password', { currentPassword: PASSWORD, newPassword: 'orange kettle marching slowly', confirmPassword: 'orange kettle marching slowly' });
    expect((await api(beforeChange)).statusCode).toBe(401);

    const beforeDisable = await makeToken(client, 'before disable');
    expect((await api(beforeDisable)).statusCode).toBe(200);
    const admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
    await admin.get(`/organisation/users/${user.id}`);
    await admin.post(`/organisation/users/${user.id}/disable`);
    expect((await api(beforeDisable)).statusCode).toBe(401);
    await admin.post(`/organisation/users/${user.id}/enable`);
    expect((await api(beforeDisable)).statusCode).toBe(401);
  });

  it('purges sessions past their lifetime, by the clock, when someone signs in', async () => {
    const user = await newUser('sleeper');
    const client = new TestClient(t.app);
    await client.signIn(user.email, PASSWORD);
    const count = async () => (await t.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).length;
    expect(await count()).toBe(1);
    clock.advance(13 * 60 * MINUTE);
    await new TestClient(t.app).signIn(council.users.qa_lead.email, PASSWORD);
    expect(await count()).toBe(0);
  });

  it('never takes the session cookie at an encoded or dotted API path', async () => {
    const client = new TestClient(t.app);
    await client.signIn(council.users.qa_lead.email, PASSWORD);
    const cookie = [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    for (const url of ['/%61pi/v1/tools', '/%2561pi/v1/tools', '/assets/../api/v1/tools', '/api/v1/../v1/tools']) {
      const response = await t.app.inject({ url, headers: { cookie } });
      expect(response.statusCode, url).not.toBe(200);
      expect(response.body, url).not.toContain('"tools"');
    }
    const direct = await t.app.inject({ url: '/%61pi/v1/tools', headers: { cookie } });
    expect(direct.statusCode).toBe(401);
    expect(direct.json()).toMatchObject({ error: 'UNAUTHENTICATED' });
  });
});

describe.each(testDrivers())('sign-in rate limit and proxies on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const clock = fixedClock(new Date());

  beforeAll(async () => {
    t = await createTestApp(driver, { SIGN_IN_RATE_LIMIT: '3', SIGN_IN_RATE_WINDOW_MINUTES: '10', TRUST_PROXY: '127.0.0.1' }, clock);
    council = await createSmallCouncil(t.db);
  });
  afterAll(async () => t?.close());

  it('refuses TRUST_PROXY=true and takes hop counts, addresses and CIDRs', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.5' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.5']);
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  it('believes X-Forwarded-For only from a configured proxy', async () => {
    const client = await signInPage(t);
    await attempt(client, 'fromproxy@testshire.example', WRONG, { 'x-forwarded-for': '203.0.113.9' }, '127.0.0.1');
    await attempt(client, 'notproxy@testshire.example', WRONG, { 'x-forwarded-for': '203.0.113.10' }, '198.51.100.7');
    const addresses = await t.db.selectFrom('activity_log').select(['actor', 'ip_address']).where('actor', 'in', ['fromproxy@testshire.example', 'notproxy@testshire.example']).orderBy('actor').execute();
    expect(addresses).toEqual([
      { actor: 'fromproxy@testshire.example', ip_address: '203.0.113.9' },
      { actor: 'notproxy@testshire.example', ip_address: '198.51.100.7' },
    ]);
  });

  it('limits sign-in per e-mail and address, across app servers, without shutting out the office', async () => {
    const office = { 'x-forwarded-for': '192.0.2.50' };
    const client = await signInPage(t);
    const email = council.users.practitioner.email;
    for (let i = 0; i < 3; i++) expect((await attempt(client, 'typo@testshire.example', WRONG, office)).statusCode).toBe(401);
    const limited = await attempt(client, 'typo@testshire.example', WRONG, office);
    expect(limited.statusCode).toBe(429);
    expect(pageText(limited.body)).toContain('Too many attempts to sign in with this e-mail address from here');

    // A second app server on the same database holds the same count.
    const second = await buildApp({ db: t.db, config: testConfig({ SIGN_IN_RATE_LIMIT: '3', SIGN_IN_RATE_WINDOW_MINUTES: '10', TRUST_PROXY: '127.0.0.1' }), clock });
    try {
      const other = new TestClient(second);
      await other.get('/sign-in');
      expect((await attempt(other, 'typo@testshire.example', WRONG, office)).statusCode).toBe(429);
      // Colleagues behind the same office address still sign in.
      expect((await attempt(other, email, PASSWORD, office)).statusCode).toBe(303);
      expect((await attempt(other, council.users.auditor.email, PASSWORD, office)).statusCode).toBe(303);
    } finally {
      await second.close();
    }
    // The same e-mail from another address is not limited.
    expect((await attempt(client, 'typo@testshire.example', WRONG, { 'x-forwarded-for': '192.0.2.51' })).statusCode).toBe(401);
    // The window closes by the clock.
    clock.advance(11 * MINUTE);
    expect((await attempt(client, 'typo@testshire.example', WRONG, office)).statusCode).toBe(401);
  });
});

describe.each(testDrivers())('cookies and the request log on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;

  beforeAll(async () => {
    t = await createTestApp(driver, { PUBLIC_URL: 'https://assure.example' });
    council = await createSmallCouncil(t.db);
  });
  afterAll(async () => t?.close());

  it('names both cookies __Host- and makes them Secure when Assure is served over HTTPS', async () => {
    const client = new TestClient(t.app);
    const page = await client.get('/sign-in');
    expect(page.cookies.find((cookie) => cookie.name === '__Host-assure_csrf')).toMatchObject({ secure: true, path: '/', httpOnly: true });
    const signedIn = await client.post('/sign-in', { email: council.users.qa_lead.email, password: PASSWORD });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.cookies.find((cookie) => cookie.name === '__Host-assure_session')).toMatchObject({ secure: true, path: '/', httpOnly: true });
    expect((await client.get('/')).statusCode).toBe(200);
  });

  it('keeps CSRF tokens and search terms out of the request log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logged = await buildApp({ db: t.db, config: testConfig({ LOG_LEVEL: 'info' }), clock: t.clock }, { logStream: stream });
    try {
      const client = new TestClient(logged);
      await client.signIn(council.users.qa_lead.email, PASSWORD);
      await client.get('/children?q=ZZSECRETNAME&team=');
      await client.upload('/children/imports', { field: 'file', filename: 'x.csv', content: 'a\n' });
      const log = lines.join('');
      expect(log).toContain('/children?q=');
      expect(log).not.toContain('ZZSECRETNAME');
      expect(client.csrfToken.length).toBeGreaterThan(10);
      expect(log).not.toContain(encodeURIComponent(client.csrfToken));
      expect(log).not.toContain(client.csrfToken);
    } finally {
      await logged.close();
    }
  });
});
