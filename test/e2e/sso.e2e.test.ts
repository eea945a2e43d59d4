import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Clock } from '../../src/platform/clock.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { freePort, ID_TOKEN_SECONDS, startIdentityProvider, type ProviderAccount, type TestIdentityProvider } from '../support/identity-provider.ts';
import { totpCodeAt } from '../../src/platform/auth/totp.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

/**
 * Single sign-on end to end: Chromium, Assure, and a real OpenID provider (oidc-provider) on
 * this machine, each on its own port. The provider's own sign-in and consent pages are used.
 */
/** Each test runs whole sign-ins through two servers and a browser on a shared machine. */
const FLOW_TIMEOUT = 90_000;

describeInBrowser('single sign-on with an OpenID Connect provider, in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let idp: TestIdentityProvider;
  /** Business time: the real time, moved on when a test needs the app to be later than the provider. */
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  /** The provider's people. Its subjects are opaque ids, as Entra ID's are. */
  const accounts: Record<string, ProviderAccount> = {
    'entra-oid-auditor': { email: 'Auditor@Testshire.example', email_verified: true, name: 'Tina Manager' },
    'entra-oid-stranger': { email: 'stranger@testshire.example', email_verified: true, name: 'Stella Stranger' },
    'entra-oid-unverified': { email: 'moderator@testshire.example', email_verified: false, name: 'Not Sam' },
    'entra-oid-new-lead': { email: 'new.lead@testshire.example', email_verified: true, name: 'Nia Newlead', groups: ['grp-qa-leads', 'grp-unrelated'] },
  };

  beforeAll(async () => {
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/sign-in/sso/callback`;
    idp = await startIdentityProvider({ redirectUri, accounts });
    t = await startBrowserApp((db) => createSmallCouncil(db), {
      port,
      clock,
      config: {
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: idp.clientId,
        OIDC_CLIENT_SECRET: idp.clientSecret,
        OIDC_REDIRECT_URL: redirectUri,
        OIDC_ORGANISATION: 'testshire',
        OIDC_LABEL: 'Testshire account',
        OIDC_GROUP_ROLES: 'grp-qa-leads=qa_lead',
        MFA_REQUIRED_ROLES: 'administrator,qa_lead',
      },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  /** From Assure's sign-in page, through the provider's sign-in and consent, back to Assure. */
  async function signInWithProvider(page: Page, login: string): Promise<string> {
    let callbackUrl = '';
    // The provider's own pages import a web font; this machine is offline, so fail it at once.
    await page.context().route(/fonts\.googleapis\.com/, (route) => route.abort());
    page.on('request', (request) => {
      if (request.url().includes('/sign-in/sso/callback')) callbackUrl = request.url();
    });
    await page.goto('/sign-in');
    await clickAndLoad(page.getByRole('button', { name: 'Sign in with Testshire account' }));
    expect(page.url().startsWith(idp.issuer)).toBe(true);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password: the provider checks it, not Assure');
    await clickAndLoad(page.getByRole('button', { name: 'Sign-in' }));
    if (page.url().startsWith(idp.issuer)) await clickAndLoad(page.getByRole('button', { name: 'Continue' }));
    expect(callbackUrl).not.toBe('');
    return callbackUrl;
  }

  async function lastFailure() {
    const row = await t.db.selectFrom('activity_log').select('summary').where('action', '=', 'sign-in-failed').orderBy('id', 'desc').executeTakeFirst();
    return row?.summary ?? '';
  }

  it('signs a known person in, matched by verified e-mail, and refuses a replayed callback', async () => {
    const page = await t.newPage();
    await page.goto('/sign-in');
    await verifyOnPage(page, 'Sign in to Assure');
    await expectNoAxeViolations(page);

    const callbackUrl = await signInWithProvider(page, 'entra-oid-auditor');
    expect(new URL(page.url()).pathname).toBe('/');
    await verifyOnPage(page, 'Hello, Tina Manager');
    expect(await page.getByTestId('signed-in-as').innerText()).toBe('Signed in as Tina Manager (Auditor (manager))');
    const user = await t.db.selectFrom('users').select(['oidc_subject', 'oidc_issuer']).where('id', '=', t.seeded.users.auditor.id).executeTakeFirstOrThrow();
    expect(user).toEqual({ oidc_subject: 'entra-oid-auditor', oidc_issuer: idp.issuer });

    // The account page lists this session, signed in with single sign-on.
    await page.goto('/account');
    await verifyOnPage(page, 'Your account');
    expect(await page.locator('#sessions + table, #sessions ~ table').first().innerText()).toContain('Single sign-on');
    await expectNoAxeViolations(page);

    // The same callback again (state, code and all) finds nothing to complete.
    await page.goto(callbackUrl);
    await verifyOnPage(page, 'This sign-in link has expired');
    await expectNoAxeViolations(page);
    expect(await lastFailure()).toBe('single sign-on: unknown or already used state');

    // A callback replayed in another browser does not sign that browser in either.
    const other = await t.newPage();
    await other.goto(callbackUrl);
    await verifyOnPage(other, 'This sign-in link has expired');
    await other.goto('/');
    expect(new URL(other.url()).pathname).toBe('/sign-in');
    await other.context().close();
    await page.context().close();
  }, FLOW_TIMEOUT);

  it('matches by the remembered subject, even after the council changes the e-mail address', async () => {
    accounts['entra-oid-auditor']!.email = 'tina.manager@testshire.example';
    try {
      const again = await t.newPage();
      await signInWithProvider(again, 'entra-oid-auditor');
      await verifyOnPage(again, 'Hello, Tina Manager');
      expect(await t.db.selectFrom('users').select('email').where('id', '=', t.seeded.users.auditor.id).executeTakeFirstOrThrow()).toEqual({ email: t.seeded.users.auditor.email });
      await again.context().close();
    } finally {
      accounts['entra-oid-auditor']!.email = 'Auditor@Testshire.example';
    }
  }, FLOW_TIMEOUT);

  it('refuses an ID token issued for another application (wrong audience)', async () => {
    idp.tamper.audience = 'some-other-application';
    try {
      const page = await t.newPage();
      await signInWithProvider(page, 'entra-oid-auditor');
      await verifyOnPage(page, 'Sign-in did not work');
      await expectNoAxeViolations(page);
      expect(await lastFailure()).toMatch(/single sign-on refused: .*aud/);
      await page.goto('/');
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      await page.context().close();
    } finally {
      idp.tamper.audience = null;
    }
  }, FLOW_TIMEOUT);

  it('refuses an expired ID token', async () => {
    // Assure's clock is past the token's lifetime (and the 30 seconds' tolerance) when it arrives.
    offsetMs = (ID_TOKEN_SECONDS + 60) * 1000;
    try {
      const page = await t.newPage();
      await signInWithProvider(page, 'entra-oid-auditor');
      await verifyOnPage(page, 'Sign-in did not work');
      expect(await lastFailure()).toMatch(/single sign-on refused: .*exp/);
      await page.goto('/');
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      await page.context().close();
    } finally {
      offsetMs = 0;
    }
  }, FLOW_TIMEOUT);

  it('tells a person the provider knows but Assure does not that they have no account, and makes none', async () => {
    const page = await t.newPage();
    await signInWithProvider(page, 'entra-oid-stranger');
    await verifyOnPage(page, 'You do not have an account');
    expect(await page.locator('main').innerText()).toContain('You signed in with Testshire account as stranger@testshire.example, but there is no Assure account for you.');
    await expectNoAxeViolations(page);
    expect(await t.db.selectFrom('users').select('id').where('email', '=', 'stranger@testshire.example').executeTakeFirst()).toBeUndefined();
    await page.context().close();
  }, FLOW_TIMEOUT);

  it('never matches an account by an e-mail address the provider has not verified', async () => {
    const page = await t.newPage();
    await signInWithProvider(page, 'entra-oid-unverified');
    await verifyOnPage(page, 'You do not have an account');
    const moderator = await t.db.selectFrom('users').select('oidc_subject').where('id', '=', t.seeded.users.moderator.id).executeTakeFirstOrThrow();
    expect(moderator.oidc_subject).toBeNull();
    await page.context().close();
  }, FLOW_TIMEOUT);

  it('makes an account with the roles the documented group mapping gives, and no others', async () => {
    const page = await t.newPage();
    await signInWithProvider(page, 'entra-oid-new-lead');
    await verifyOnPage(page, 'Hello, Nia Newlead');
    expect(await page.getByTestId('signed-in-as').innerText()).toBe('Signed in as Nia Newlead (QA lead)');
    const grants = await t.db
      .selectFrom('role_grants')
      .innerJoin('users', 'users.id', 'role_grants.user_id')
      .select(['role_grants.role', 'role_grants.scope', 'role_grants.granted_by_group'])
      .where('users.email', '=', 'new.lead@testshire.example')
      .execute();
    expect(grants).toEqual([{ role: 'qa_lead', scope: 'organisation', granted_by_group: 'grp-qa-leads' }]);
    await page.context().close();
  }, FLOW_TIMEOUT);

  it('asks an administrator signing in with a password for an authenticator app, with the QR code drawn on the server', async () => {
    const page = await t.newPage();
    await signIn(page, t.seeded.users.administrator.email, PASSWORD);
    await verifyOnPage(page, 'Set up an authenticator app');
    expect(await page.locator('.app-qr-code svg').count()).toBe(1);
    await expectNoAxeViolations(page);
    const key = (await page.getByTestId('totp-key').innerText()).replace(/\s+/g, '');
    await page.getByLabel('Code from the app').fill(totpCodeAt(key, clock.now()));
    await clickAndLoad(page.getByRole('button', { name: 'Continue' }));
    await verifyOnPage(page, 'Save your recovery codes');
    expect(await page.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    await expectNoAxeViolations(page);
    await clickAndLoad(page.getByRole('button', { name: 'Continue' }));
    await verifyOnPage(page, 'Hello, Ada Admin');

    // Sign out everywhere from the account page.
    await page.goto('/account');
    await clickAndLoad(page.getByRole('button', { name: 'Sign out everywhere' }));
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('You have been signed out on every device');
    await page.goto('/organisation');
    expect(new URL(page.url()).pathname).toBe('/sign-in');

    // The next sign-in asks for the code; the council's setting is one page away.
    await signIn(page, t.seeded.users.administrator.email, PASSWORD);
    await verifyOnPage(page, 'Enter your security code');
    await expectNoAxeViolations(page);
    await page.getByLabel('Security code').fill(totpCodeAt(key, new Date(clock.now().getTime() + 30_000)));
    await clickAndLoad(page.getByRole('button', { name: 'Continue' }));
    await verifyOnPage(page, 'Hello, Ada Admin');
    await page.goto('/organisation');
    await clickAndLoad(page.getByRole('link', { name: 'Sign-in security' }));
    await verifyOnPage(page, 'Sign-in security');
    await expectNoAxeViolations(page);
    await page.context().close();
  }, FLOW_TIMEOUT);
});
