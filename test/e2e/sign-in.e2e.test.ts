import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

describeInBrowser('signing in and out in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp((db) => createSmallCouncil(db));
    page = await t.newPage();
  });
  afterAll(async () => t?.close());

  it('shows an error summary linked to the field after a wrong password', async () => {
    await page.goto('/');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await verifyOnPage(page, 'Sign in to Assure');
    await expectNoAxeViolations(page);

    await page.getByLabel('E-mail address').fill(t.seeded.users.qa_coordinator.email);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await clickAndLoad(page.getByRole('button', { name: 'Sign in' }));

    await verifyOnPage(page, 'Sign in to Assure');
    expect(await page.title()).toMatch(/^Error: Sign in/);
    const summary = page.locator('.govuk-error-summary');
    expect(await summary.getByRole('heading').innerText()).toBe('There is a problem');
    const link = summary.getByRole('link', { name: 'Enter a correct e-mail address and password' });
    expect(await link.getAttribute('href')).toBe('#email');
    expect(await page.locator('#email-error').innerText()).toContain('Enter a correct e-mail address and password');
    // The summary takes focus on load, and its link moves focus to the field.
    await link.click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    expect(await page.getByLabel('E-mail address').inputValue()).toBe(t.seeded.users.qa_coordinator.email);
    await expectNoAxeViolations(page);
  });

  it('signs in and shows the home page', async () => {
    await signIn(page, t.seeded.users.qa_coordinator.email, PASSWORD);
    expect(new URL(page.url()).pathname).toBe('/');
    await verifyOnPage(page, 'Hello, Quinn QA');
    expect(await page.getByTestId('signed-in-as').innerText()).toBe('Signed in as Quinn QA (QA coordinator)');
    const menu = page.getByRole('navigation', { name: 'Menu' });
    for (const item of ['Home', 'Audit tracker', 'Children', 'Your account']) {
      expect(await menu.getByRole('link', { name: item, exact: true }).count(), item).toBe(1);
    }
    expect(await page.getByRole('main').getByRole('link', { name: 'Import children' }).count()).toBe(1);
    await expectNoAxeViolations(page);
  });

  it('shows the account page', async () => {
    await clickAndLoad(page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Your account' }));
    await verifyOnPage(page, 'Your account');
    const details = page.locator('.govuk-summary-list');
    expect(await details.innerText()).toContain(t.seeded.users.qa_coordinator.email);
    await expectNoAxeViolations(page);
  });

  it('validates the change-password form and keeps the old password', async () => {
    const passwordHash = async () =>
      (await t.db.selectFrom('users').select('password_hash').where('id', '=', t.seeded.users.qa_coordinator.id).executeTakeFirstOrThrow()).password_hash;
    const before = await passwordHash();
    await clickAndLoad(page.getByRole('link', { name: 'Change password' }));
    await verifyOnPage(page, 'Change your password');
    await expectNoAxeViolations(page);

    await page.getByLabel('Current password').fill('wrong current password');
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('Confirm new password').fill('short');
    await clickAndLoad(page.getByRole('button', { name: 'Change password' }));

    await verifyOnPage(page, 'Change your password');
    const summary = page.locator('.govuk-error-summary');
    expect(await summary.getByRole('link', { name: 'Your current password is not correct' }).getAttribute('href')).toBe('#currentPassword');
    const newPasswordLink = summary.getByRole('link').nth(1);
    expect(await newPasswordLink.getAttribute('href')).toBe('#newPassword');
    expect(await page.locator('#newPassword-error').innerText()).toContain(await newPasswordLink.innerText());
    await expectNoAxeViolations(page);

    expect(await passwordHash()).toBe(before);
  });

  it('signs out and no longer shows signed-in pages', async () => {
    await clickAndLoad(page.getByRole('button', { name: 'Sign out' }));
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await verifyOnPage(page, 'Sign in to Assure');
    expect(await page.getByTestId('signed-in-as').count()).toBe(0);
    await page.goto('/account');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/account');
    await expectNoAxeViolations(page);
  });

  it('has an accessibility scan that does report violations', async () => {
    // Guards against a scan that passes because it never ran.
    const scratch = await t.newPage();
    await scratch.setContent('<!doctype html><html lang="en"><head><title>Scan check</title></head><body><main><img src="/missing.png"></main></body></html>');
    await expect(expectNoAxeViolations(scratch)).rejects.toThrow(/image-alt \(critical\): Images must have alternative text[\s\S]*at img/);
    await scratch.context().close();
  });
});
