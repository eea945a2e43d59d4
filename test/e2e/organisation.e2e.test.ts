import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

const NEW_PASSWORD = 'a new starter password';

describeInBrowser('administering the organisation in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp((db) => createSmallCouncil(db));
    page = await t.newPage();
    await signIn(page, t.seeded.users.administrator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  const banner = () => page.locator('.govuk-notification-banner');
  const errorLinks = () => page.locator('.govuk-error-summary a').evaluateAll((links) => links.map((link) => [link.textContent!.trim(), link.getAttribute('href')]));
  const firstColumn = (table: Locator) => table.locator('tbody tr > :first-child').allInnerTexts();

  it('shows the organisation overview', async () => {
    await clickAndLoad(page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Organisation' }));
    await verifyOnPage(page, /testshire Council$/);
    expect(await firstColumn(page.getByRole('table', { name: 'Teams' }))).toEqual(['North Unit 1', 'North Unit 2', 'Through Care Team']);
    await expectNoAxeViolations(page);
  });

  it('adds a team', async () => {
    await clickAndLoad(page.getByRole('link', { name: 'Add a team' }));
    await verifyOnPage(page, 'Add a team');
    await expectNoAxeViolations(page);

    await page.getByLabel('Name', { exact: true }).fill('South Unit 3');
    await page.getByLabel('Service', { exact: true }).selectOption({ label: 'Area Social Work' });
    await page.getByLabel('Locality (optional)').selectOption({ label: 'North' });
    await clickAndLoad(page.getByRole('button', { name: 'Save team' }));

    expect(new URL(page.url()).pathname).toBe('/organisation');
    expect(await banner().innerText()).toContain('Team added');
    expect(await firstColumn(page.getByRole('table', { name: 'Teams' }))).toContain('South Unit 3');
    await expectNoAxeViolations(page);
  });

  it('adds a staff member, after correcting the mistakes the form points out', async () => {
    await page.goto('/organisation/staff');
    await verifyOnPage(page, 'Staff');
    await expectNoAxeViolations(page);
    await clickAndLoad(page.getByRole('button', { name: 'Add a staff member' }));
    await verifyOnPage(page, 'Add a staff member');
    await expectNoAxeViolations(page);

    await page.getByLabel('Job title').fill('Social Worker');
    await page.getByLabel('E-mail address (optional)').fill('not an e-mail address');
    const start = page.getByRole('group', { name: 'Start date (optional)' });
    await start.getByLabel('Day').fill('31');
    await start.getByLabel('Month').fill('2');
    await start.getByLabel('Year').fill('2024');
    await clickAndLoad(page.getByRole('button', { name: 'Save staff member' }));

    await verifyOnPage(page, 'Add a staff member');
    expect(await page.title()).toMatch(/^Error: /);
    expect(await errorLinks()).toEqual([
      ['Enter the full name', '#fullName'],
      ['Enter an e-mail address in the correct format, like name@example.org', '#email'],
      ['Start date must be a real date', '#startDate-day'],
    ]);
    expect(await page.getByLabel('Job title').inputValue()).toBe('Social Worker');
    expect(await page.locator('#fullName-error').innerText()).toContain('Enter the full name');
    await expectNoAxeViolations(page);

    await page.getByLabel('Full name').fill('Nia New');
    await page.getByLabel('Staff number (optional)').fill('S100');
    await page.getByLabel('E-mail address (optional)').fill('nia@testshire.example');
    await start.getByLabel('Day').fill('1');
    await page.getByLabel('Team (optional)').selectOption({ label: 'South Unit 3' });
    await page.getByLabel('Line manager (optional)').selectOption({ label: 'Tina Manager (S002), Team Manager' });
    await clickAndLoad(page.getByRole('button', { name: 'Save staff member' }));

    expect(new URL(page.url()).pathname).toBe('/organisation/staff');
    expect(await banner().innerText()).toContain('Staff member added');
    const row = page.getByRole('row').filter({ hasText: 'Nia New' });
    expect(await row.innerText()).toMatch(/Nia New\s+S100\s+Social Worker\s+South Unit 3\s+Tina Manager/);
    const saved = await t.db.selectFrom('staff').select(['start_date', 'email']).where('full_name', '=', 'Nia New').executeTakeFirstOrThrow();
    expect(saved).toEqual({ start_date: '2024-02-01', email: 'nia@testshire.example' });
    await expectNoAxeViolations(page);
  });

  it('adds a user linked to the staff member and gives them a role', async () => {
    await page.goto('/organisation/users');
    await verifyOnPage(page, 'Users and roles');
    await expectNoAxeViolations(page);
    await clickAndLoad(page.getByRole('button', { name: 'Add a user' }));
    await verifyOnPage(page, 'Add a user');
    await expectNoAxeViolations(page);

    await page.getByLabel('E-mail address').fill('nia@testshire.example');
    await page.getByLabel('Name', { exact: true }).fill('Nia New');
    await page.getByLabel('Staff member (optional)').selectOption({ label: 'Nia New (S100), Social Worker' });
    await page.getByLabel('Initial password').fill(NEW_PASSWORD);
    await clickAndLoad(page.getByRole('button', { name: 'Add user' }));

    await verifyOnPage(page, /Nia New$/);
    expect(await banner().innerText()).toContain('User added. Give them a role below.');
    expect(await page.getByRole('main').innerText()).toContain('Nia New has no roles yet');
    await expectNoAxeViolations(page);

    await page.getByRole('group', { name: 'Role' }).getByLabel('Auditor (manager)').check();
    await page.getByRole('group', { name: 'What the role reaches' }).getByLabel('Own team').check();
    await clickAndLoad(page.getByRole('button', { name: 'Add role' }));

    await verifyOnPage(page, /Nia New$/);
    expect(await banner().innerText()).toContain('Role added');
    const roles = page.getByRole('table', { name: 'Roles of Nia New' });
    expect(await roles.locator('tbody tr').first().innerText()).toMatch(/Auditor \(manager\)\s+Own team: South Unit 3/);
    await expectNoAxeViolations(page);
  });

  it('lets the new user sign in with their role', async () => {
    const newcomer = await t.newPage();
    await signIn(newcomer, 'nia@testshire.example', NEW_PASSWORD);
    await verifyOnPage(newcomer, 'Hello, Nia New');
    expect(await newcomer.getByTestId('signed-in-as').innerText()).toBe('Signed in as Nia New (Auditor (manager))');
  });
});
