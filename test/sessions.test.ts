import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { describeBrowser } from '../src/platform/auth/sessions.ts';

const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const EDGE_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

describe('describeBrowser', () => {
  it('names the browser and system a person would recognise', () => {
    expect(describeBrowser(FIREFOX_WINDOWS)).toBe('Firefox on Windows');
    expect(describeBrowser(EDGE_WINDOWS)).toBe('Edge on Windows');
    expect(describeBrowser(SAFARI_IPHONE)).toBe('Safari on iOS');
    expect(describeBrowser(null)).toBe('Unknown browser');
  });
});

describe.each(testDrivers())('sessions on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
  });
  afterAll(async () => t?.close());

  async function signedIn(userAgent: string, email = council.users.auditor.email) {
    const client = new TestClient(t.app);
    client.headers = { 'user-agent': userAgent };
    await client.signIn(email, PASSWORD);
    return client;
  }

  it('lists where a person is signed in, and ends one session on another device', async () => {
    const laptop = await signedIn(FIREFOX_WINDOWS);
    const phone = await signedIn(SAFARI_IPHONE);
    const someoneElse = await signedIn(EDGE_WINDOWS, council.users.moderator.email);

    const account = await laptop.get('/account');
    const text = pageText(account.body);
    expect(text).toContain('Where you are signed in');
    expect(text).toContain('Firefox on Windows This device');
    expect(text).toContain('Safari on iOS');
    expect(text).not.toContain('Edge on Windows');
    expect(text).toContain('127.0.0.1');

    // The phone's "End" button carries its public id; the page never shows a token or its hash.
    const phoneRow = /<tr[^>]*>(?:(?!<\/tr>)[\s\S])*Safari on iOS[\s\S]*?<\/tr>/.exec(account.body)![0];
    const endUrl = /action="(\/account\/sessions\/[0-9a-f-]{36}\/end)"/.exec(phoneRow)![1]!;
    const sessionIds = (await t.db.selectFrom('sessions').select('id').execute()).map((row) => row.id);
    for (const id of sessionIds) expect(account.body).not.toContain(id);

    // Another person cannot end it.
    await someoneElse.get('/account');
    expect((await someoneElse.post(endUrl)).statusCode).toBe(404);
    expect((await phone.get('/')).statusCode).toBe(200);

    const ended = await laptop.post(endUrl);
    expect(ended.statusCode).toBe(303);
    expect(ended.headers.location).toBe('/account?sessionEnded=1#sessions');
    expect(pageText((await laptop.get('/account?sessionEnded=1')).body)).not.toContain('Safari on iOS');

    const phoneAgain = await phone.get('/');
    expect(phoneAgain.statusCode).toBe(303);
    expect(phoneAgain.headers.location).toMatch(/^\/sign-in/);
    expect((await laptop.get('/')).statusCode).toBe(200);

    const logged = await t.db.selectFrom('activity_log').select(['summary']).where('user_id', '=', council.users.auditor.id).where('action', '=', 'sign-out').execute();
    expect(logged.map((row) => row.summary)).toContain('another session ended');
  });

  it('signs a person out everywhere at once, and leaves other people signed in', async () => {
    const laptop = await signedIn(FIREFOX_WINDOWS, council.users.practitioner.email);
    const phone = await signedIn(SAFARI_IPHONE, council.users.practitioner.email);
    const colleague = await signedIn(EDGE_WINDOWS, council.users.qa_coordinator.email);
    await phone.get('/account');
    const out = await phone.post('/account/sessions/end-all');
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/sign-in?signedOut=everywhere');
    expect(pageText((await phone.get(String(out.headers.location))).body)).toContain('You have been signed out on every device');
    for (const client of [laptop, phone]) {
      const response = await client.get('/my-audits');
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toMatch(/^\/sign-in/);
    }
    expect((await colleague.get('/')).statusCode).toBe(200);
    const remaining = await t.db.selectFrom('sessions').select('id').where('user_id', '=', council.users.practitioner.id).execute();
    expect(remaining).toEqual([]);
  });

  it('refuses to end a session without the form token', async () => {
    const laptop = await signedIn(FIREFOX_WINDOWS, council.users.senior_leader.email);
    await laptop.get('/account');
    expect((await laptop.post('/account/sessions/end-all', { _csrf: 'forged' })).statusCode).toBe(403);
    expect((await laptop.get('/')).statusCode).toBe(200);
  });
});
