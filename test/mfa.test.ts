import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { fixedClock, type FixedClock } from '../src/platform/clock.ts';
import { totpCodeAt } from '../src/platform/auth/totp.ts';

/**
 * MFA for local accounts, through HTTP as a browser would, with the app's clock standing still
 * so each authenticator code is computed for exactly the time the app checks it at.
 */
describe.each(testDrivers())('MFA on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let clock: FixedClock;
  /** The administrator's authenticator key, once set up. */
  let adminKey = '';
  let recoveryCodes: string[] = [];

  beforeAll(async () => {
    // Near the real time: the session's idle window is still read from the database's clock.
    clock = fixedClock(new Date());
    t = await createTestApp(driver, { MFA_REQUIRED_ROLES: 'administrator,qa_lead' }, clock);
    council = await createSmallCouncil(t.db);
  });
  afterAll(async () => t?.close());

  async function password(email: string, next = '/') {
    const client = new TestClient(t.app);
    await client.get('/sign-in');
    const response = await client.post('/sign-in', { email, password: PASSWORD, next });
    expect(response.statusCode).toBe(303);
    return { client, location: String(response.headers.location) };
  }

  it('asks an administrator to set up an authenticator after the password, and opens nothing until then', async () => {
    const { client, location } = await password(council.users.administrator.email, '/organisation');
    expect(location).toBe('/sign-in/mfa?next=%2Forganisation');
    const waitingToken = client.cookies.get('assure_mfa')!;
    expect(client.cookies.get('assure_session')).toBeUndefined();

    // The password alone opens no page, even with its token presented as a session.
    const intruder = new TestClient(t.app);
    intruder.cookies.set('assure_session', waitingToken);
    const home = await intruder.get('/');
    expect(home.statusCode).toBe(303);
    expect(home.headers.location).toMatch(/^\/sign-in/);

    const setUp = await client.get(location);
    expect(setUp.statusCode).toBe(200);
    expect(pageText(setUp.body)).toContain('Set up an authenticator app');
    expect(setUp.body).toContain('<svg'); // the QR code, drawn on the server
    adminKey = /data-testid="totp-key">([A-Z2-7 ]+)</.exec(setUp.body)![1]!.replace(/ /g, '');
    expect(adminKey).toHaveLength(32);
    // The secret is sealed at rest, never stored as the key the page shows.
    const stored = await t.db.selectFrom('users').select('totp_secret').where('id', '=', council.users.administrator.id).executeTakeFirstOrThrow();
    expect(stored.totp_secret).not.toContain(adminKey);
    // Reloading shows the same key, so a half-scanned code still works.
    expect((await client.get(location)).body).toContain(/data-testid="totp-key">([^<]+)</.exec(setUp.body)![1]);

    const wrong = await client.post('/sign-in/mfa/set-up', { code: '000000', next: '/organisation' });
    expect(wrong.statusCode).toBe(400);
    expect(pageText(wrong.body)).toContain('The code is not correct or has expired');

    const done = await client.post('/sign-in/mfa/set-up', { code: totpCodeAt(adminKey, clock.now()), next: '/organisation' });
    expect(done.statusCode).toBe(200);
    expect(pageText(done.body)).toContain('Save your recovery codes');
    recoveryCodes = [...done.body.matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g)].map((match) => match[1]!);
    expect(recoveryCodes).toHaveLength(10);
    const hashes = await t.db.selectFrom('mfa_recovery_codes').select('code_hash').where('user_id', '=', council.users.administrator.id).execute();
    expect(hashes).toHaveLength(10);
    expect(hashes.map((row) => row.code_hash)).not.toContain(recoveryCodes[0]);

    // Signed in now, under a new session token.
    expect(client.cookies.get('assure_session')).not.toBe(waitingToken);
    expect(client.cookies.get('assure_mfa')).toBeUndefined();
    const organisation = await client.get('/organisation');
    expect(organisation.statusCode).toBe(200);
    const session = await t.db.selectFrom('sessions').select(['mfa_passed_at', 'awaiting_mfa']).where('user_id', '=', council.users.administrator.id).executeTakeFirstOrThrow();
    expect(session.awaiting_mfa).toBe(false);
    expect(new Date(session.mfa_passed_at!).getTime()).toBe(clock.now().getTime());
  });

  it('asks for the code at the next sign-in, and never takes the same code twice', async () => {
    const usedCode = totpCodeAt(adminKey, clock.now());
    const { client, location } = await password(council.users.administrator.email);
    const codePage = await client.get(location);
    expect(pageText(codePage.body)).toContain('Enter your security code');
    // The code that finished the set-up is spent, even within its 30 seconds.
    const replay = await client.post('/sign-in/mfa', { code: usedCode, next: '/' });
    expect(replay.statusCode).toBe(401);
    expect(pageText(replay.body)).toContain('The code is not correct or has expired');

    clock.advance(30_000);
    const ok = await client.post('/sign-in/mfa', { code: totpCodeAt(adminKey, clock.now()), next: '/' });
    expect(ok.statusCode).toBe(303);
    expect((await client.get('/')).statusCode).toBe(200);

    // A code from ten minutes ago is no code at all.
    const again = await password(council.users.administrator.email);
    expect((await again.client.post('/sign-in/mfa', { code: totpCodeAt(adminKey, new Date(clock.now().getTime() - 600_000)) })).statusCode).toBe(401);
  });

  it('takes each recovery code once, instead of the app', async () => {
    const first = await password(council.users.administrator.email);
    await first.client.get(first.location);
    expect((await first.client.post('/sign-in/mfa', { code: recoveryCodes[0]!.toUpperCase() })).statusCode).toBe(303);
    expect((await first.client.get('/')).statusCode).toBe(200);

    const second = await password(council.users.administrator.email);
    await second.client.get(second.location);
    expect((await second.client.post('/sign-in/mfa', { code: recoveryCodes[0]! })).statusCode).toBe(401);
    expect(pageText((await first.client.get('/account')).body)).toContain('You have 9 unused recovery codes');
  });

  it('ends the sign-in after five wrong codes', async () => {
    const { client, location } = await password(council.users.administrator.email);
    await client.get(location);
    for (let attempt = 1; attempt < 5; attempt++) expect((await client.post('/sign-in/mfa', { code: '123456' })).statusCode).toBe(401);
    const last = await client.post('/sign-in/mfa', { code: '123456' });
    expect(last.statusCode).toBe(303);
    expect(last.headers.location).toBe('/sign-in');
    clock.advance(30_000);
    // Even the right code is too late: the password must be given again.
    expect((await client.post('/sign-in/mfa', { code: totpCodeAt(adminKey, clock.now()) })).headers.location).toBe('/sign-in');
    const failures = await t.db.selectFrom('activity_log').select('summary').where('record_id', '=', council.users.administrator.id).where('action', '=', 'sign-in-failed').execute();
    expect(failures.map((row) => row.summary)).toContain('wrong security codes: sign-in ended');
  });

  it('asks nothing more of a practitioner until an administrator requires it of everyone', async () => {
    const before = await password(council.users.practitioner.email);
    expect(before.location).toBe('/');

    // Only an administrator may change it.
    const lead = await password(council.users.qa_coordinator.email);
    expect((await lead.client.get('/organisation/sign-in-security')).statusCode).toBe(403);

    const admin = await password(council.users.administrator.email);
    await admin.client.get(admin.location);
    clock.advance(30_000);
    await admin.client.post('/sign-in/mfa', { code: totpCodeAt(adminKey, clock.now()) });
    const settings = await admin.client.get('/organisation/sign-in-security');
    expect(pageText(settings.body)).toContain('Require an authenticator app of everyone');
    const saved = await admin.client.post('/organisation/sign-in-security', { mfaForEveryone: 'yes' });
    expect(saved.headers.location).toBe('/organisation/sign-in-security?saved=1');
    expect((await admin.client.get('/organisation/sign-in-security?saved=1')).body).toMatch(/name="mfaForEveryone" type="checkbox" value="yes" checked/);

    const after = await password(council.users.practitioner.email);
    expect(after.location).toBe('/sign-in/mfa?next=%2F');
    expect(pageText((await after.client.get(after.location)).body)).toContain('Set up an authenticator app');

    await admin.client.get('/organisation/sign-in-security');
    await admin.client.post('/organisation/sign-in-security', {});
    expect((await password(council.users.practitioner.email)).location).toBe('/');
    const logged = await t.db.selectFrom('activity_log').select('summary').where('record_type', '=', 'organisation').where('action', '=', 'update').execute();
    expect(logged.map((row) => row.summary)).toContain('authenticator app required of everyone');
  });

  it('lets anyone set up an authenticator from their account', async () => {
    const { client } = await password(council.users.senior_leader.email);
    const account = await client.get('/account');
    expect(pageText(account.body)).toContain('Set up an authenticator app');
    const setUp = await client.get('/account/mfa');
    const key = /data-testid="totp-key">([A-Z2-7 ]+)</.exec(setUp.body)![1]!.replace(/ /g, '');
    const done = await client.post('/account/mfa', { code: totpCodeAt(key, clock.now()) });
    expect(pageText(done.body)).toContain('Save your recovery codes');
    clock.advance(30_000);
    const next = await password(council.users.senior_leader.email);
    expect(next.location).toBe('/sign-in/mfa?next=%2F');
    expect((await next.client.post('/sign-in/mfa', { code: totpCodeAt(key, clock.now()) })).statusCode).toBe(303);
    expect((await next.client.get('/')).statusCode).toBe(200);

    // Phone and codes lost: an administrator resets the app; the person is signed out, and their
    // role does not require it, so the next sign-in asks for no code.
    const admin = await password(council.users.administrator.email);
    clock.advance(30_000);
    await admin.client.post('/sign-in/mfa', { code: totpCodeAt(adminKey, clock.now()) });
    await admin.client.get(`/organisation/users/${council.users.senior_leader.id}`);
    const reset = await admin.client.post(`/organisation/users/${council.users.senior_leader.id}/reset-mfa`);
    expect(reset.headers.location).toBe(`/organisation/users/${council.users.senior_leader.id}?done=mfa-reset`);
    expect(pageText((await admin.client.get(reset.headers.location as string)).body)).toContain('Authenticator app reset');
    expect((await next.client.get('/')).statusCode).toBe(303);
    expect((await password(council.users.senior_leader.email)).location).toBe('/');
  });
});
