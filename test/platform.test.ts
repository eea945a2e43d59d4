import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

describe.each(testDrivers())('platform on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;

  beforeAll(async () => {
    t = await createTestApp(driver, { LOGIN_MAX_FAILURES: '3' });
    council = await createSmallCouncil(t.db);
  });
  afterAll(async () => t?.close());

  it('answers /health with the database state', async () => {
    const response = await t.app.inject('/health');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', database: 'up' });
  });

  it('sends a signed-out visitor to sign in, then back where they were going', async () => {
    const client = new TestClient(t.app);
    const first = await client.get('/audits?status=closed');
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe('/sign-in?next=%2Faudits%3Fstatus%3Dclosed');
    await client.get(first.headers.location as string);
    const signedIn = await client.post('/sign-in', { email: 'QA.Coordinator@testshire.example', password: PASSWORD, next: '/audits?status=closed' });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/audits?status=closed');
    const cookie = signedIn.cookies.find((c) => c.name === 'assure_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    const home = await client.get('/');
    expect(pageText(home.body)).toContain('Signed in as Quinn QA (QA coordinator)');
  });

  it('never follows a sign-in "next" to another site', async () => {
    const client = new TestClient(t.app);
    await client.get('/sign-in');
    const response = await client.post('/sign-in', { email: 'admin@testshire.example', password: PASSWORD, next: '//evil.example/' });
    expect(response.headers.location).toBe('/');
  });

  it('shows a linked error summary for an empty sign-in form', async () => {
    const client = new TestClient(t.app);
    await client.get('/sign-in');
    const response = await client.post('/sign-in', { email: '', password: '' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('<title>Error: Sign in');
    expect(response.body).toContain('href="#email"');
    expect(pageText(response.body)).toContain('Enter your e-mail address');
    expect(pageText(response.body)).toContain('Enter your password');
  });

  it('locks an account after repeated failures, in words that say so without telling whether the account exists', async () => {
    const client = new TestClient(t.app);
    await client.get('/sign-in');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const wrong = await client.post('/sign-in', { email: 'senior.leader@testshire.example', password: 'not the password' });
      expect(wrong.statusCode).toBe(401);
      expect(pageText(wrong.body)).toContain('Enter a correct e-mail address and password. After 3 wrong attempts an account is locked for 15 minutes');
    }
    const evenRight = await client.post('/sign-in', { email: 'senior.leader@testshire.example', password: PASSWORD });
    expect(evenRight.statusCode).toBe(401);
    const log = await t.db.selectFrom('activity_log').select(['action', 'organisation_id']).where('action', '=', 'lock').execute();
    expect(log).toEqual([{ action: 'lock', organisation_id: council.organisation.id }]);
  });

  it('refuses a form without its CSRF token and changes nothing', async () => {
    const client = new TestClient(t.app);
    await client.signIn('admin@testshire.example', PASSWORD);
    const response = await client.post('/account/tokens', { name: 'sneaky', _csrf: 'forged' });
    expect(response.statusCode).toBe(403);
    const tokens = await t.db.selectFrom('api_tokens').selectAll().where('name', '=', 'sneaky').execute();
    expect(tokens).toEqual([]);
  });

  it('sends security headers and never caches personal pages', async () => {
    const client = new TestClient(t.app);
    await client.signIn('admin@testshire.example', PASSWORD);
    const response = await client.get('/');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('same-origin');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['strict-transport-security']).toBeUndefined();
    const https = await t.app.inject({ url: '/health', headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers['strict-transport-security']).toBeUndefined(); // proxy headers are not trusted unless TRUST_PROXY
  });

  it('shows GOV.UK error pages, without internals, for 404 and 403', async () => {
    const client = new TestClient(t.app);
    await client.signIn('practitioner@testshire.example', PASSWORD);
    const missing = await client.get('/no-such-page');
    expect(missing.statusCode).toBe(404);
    expect(pageText(missing.body)).toContain('Page not found');
    const forbidden = await client.get('/activity');
    expect(forbidden.statusCode).toBe(403);
    expect(pageText(forbidden.body)).toContain('You do not have permission to see this page');
  });

  it('shows a GOV.UK 500 page, with neither SQL nor a stack trace, when the database fails a query', async () => {
    const broken = await createTestApp(driver);
    try {
      const brokenCouncil = await createSmallCouncil(broken.db, 'brokenshire');
      const client = new TestClient(broken.app);
      await client.signIn(brokenCouncil.users.qa_coordinator.email, PASSWORD);
      await sql`drop table children cascade`.execute(broken.db);
      const response = await client.get('/children');
      expect(response.statusCode).toBe(500);
      expect(response.headers['content-type']).toContain('text/html');
      expect(pageText(response.body)).toContain('Sorry, there is a problem with the service');
      expect(response.body).not.toMatch(/relation|does not exist|\bselect\b.*\bfrom\b|\.ts:\d+/i);
    } finally {
      await broken.close();
    }
  });

  it('changes a password, refusing a wrong current password with the error by the field', async () => {
    const client = new TestClient(t.app);
    await client.signIn('qa.lead@testshire.example', PASSWORD);
    await client.get('/account/password');
    const wrong = await client.post('/account/password', { currentPassword: 'nope', newPassword: 'a brand new passphrase', confirmPassword: 'a brand new passphrase' });
    expect(wrong.statusCode).toBe(400);
    expect(pageText(wrong.body)).toContain('Your current password is not correct');
    const right = await client.post('/account/password', { currentPassword: PASSWORD, newPassword: 'a brand new passphrase', confirmPassword: 'a brand new passphrase' });
    expect(pageText(right.body)).toContain('Your password has been changed');
    const fresh = new TestClient(t.app);
    await fresh.signIn('qa.lead@testshire.example', 'a brand new passphrase');
  });

  it('signs out and ends the session on the server', async () => {
    const client = new TestClient(t.app);
    await client.signIn('auditor@testshire.example', PASSWORD);
    const before = await t.db.selectFrom('sessions').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    await client.post('/sign-out');
    const after = await t.db.selectFrom('sessions').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n - 1);
    expect((await client.get('/')).statusCode).toBe(303);
  });

  it('ends a session that has been idle too long', async () => {
    const client = new TestClient(t.app);
    await client.signIn('moderator@testshire.example', PASSWORD);
    await t.db.updateTable('sessions').set({ last_seen_at: sql`now() - interval '31 minutes'` }).where('user_id', '=', council.users.moderator.id).execute();
    expect((await client.get('/')).statusCode).toBe(303);
  });

  it('creates an API token shown once and stored hashed, and revokes it', async () => {
    const client = new TestClient(t.app);
    await client.signIn('admin@testshire.example', PASSWORD);
    await client.get('/account');
    const created = await client.post('/account/tokens', { name: 'Mosaic import' });
    const token = /data-testid="api-token">([^<]+)</.exec(created.body)?.[1];
    expect(token).toMatch(/^assure_/);
    const stored = await t.db.selectFrom('api_tokens').selectAll().where('name', '=', 'Mosaic import').executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(token!.slice(7));
    const account = await client.get('/account');
    expect(account.body).not.toContain(token!);
    await client.post(`/account/tokens/${stored.id}/revoke`);
    const revoked = await t.db.selectFrom('api_tokens').select('revoked_at').where('id', '=', stored.id).executeTakeFirstOrThrow();
    expect(revoked.revoked_at).not.toBeNull();
  });

  it('keeps the activity log append-only in the database itself', async () => {
    await expect(sql`update activity_log set action = 'tampered'`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from activity_log`.execute(t.db)).rejects.toThrow(/append-only/);
  });
});
