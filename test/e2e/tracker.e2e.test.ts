import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditStatus } from '../../src/db/types.ts';
import type { Db } from '../../src/db/index.ts';
import { createAudit, createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

const STATUSES: AuditStatus[] = ['allocated', 'in_progress', 'returned', 'in_moderation', 'moderated', 'distributed', 'awaiting_feedback', 'closed'];
const WITH_AUDITOR: AuditStatus[] = ['allocated', 'in_progress', 'returned'];

type Planned = { externalId: string; team: 'unit1' | 'unit2' | 'careTeam'; status: AuditStatus; dueOffset: number };

/**
 * Twenty-eight audits, more than one page of the tracker: across every status and all three
 * teams, every fourth one due in the past. North Unit 1's cases are held by Wes Worker.
 */
const PLAN: Planned[] = Array.from({ length: 28 }, (_, i) => ({
  externalId: `E2E-${String(i + 1).padStart(2, '0')}`,
  team: (['unit1', 'unit2', 'careTeam'] as const)[i % 3]!,
  status: STATUSES[i % 8]!,
  dueOffset: i % 4 === 0 ? -(i + 1) : i + 3,
}));

const isOverdue = (row: Planned) => row.dueOffset < 0 && WITH_AUDITOR.includes(row.status);
const ids = (rows: Planned[]) => rows.map((row) => row.externalId).sort();

async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const caseHolders = { unit1: council.staff.worker1, unit2: council.staff.worker2, careTeam: council.staff.careWorker };
  for (const [i, row] of PLAN.entries()) {
    const team = council.teams[row.team];
    const child = await createChild(db, org, { externalId: row.externalId, initials: `C${String.fromCharCode(65 + i)}`, teamId: team.id });
    await createAudit(db, {
      organisationId: org,
      childId: child.id,
      toolEditionId: tool.editionId,
      auditorId: row.team === 'unit1' ? council.staff.manager1.id : council.staff.qaOfficer.id,
      caseHolderId: caseHolders[row.team].id,
      teamId: team.id,
      serviceId: team.service_id,
      status: row.status,
      allocatedOn: new Date(Date.UTC(2025, 0, 1 + 3 * i)).toISOString().slice(0, 10),
      due: row.dueOffset,
    });
  }
  return council;
}

describeInBrowser('the audit tracker in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed);
    page = await t.newPage();
    await signIn(page, t.seeded.users.qa_coordinator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  const auditCount = () => page.getByTestId('audit-count').innerText();
  /** The child IDs in the table, in the order shown: the "(ID)" after the initials. */
  const shownIds = (on: Page = page) =>
    on.locator('[data-testid="audits"] tbody th[scope="row"]').evaluateAll((cells) => cells.map((cell) => /\((.*)\)$/.exec(cell.textContent!.trim())?.[1] ?? '?'));
  const filter = () => page.locator('.moj-filter');
  const query = () => new URL(page.url()).searchParams;

  it('shows a QA coordinator every audit, 25 to a page', async () => {
    await clickAndLoad(page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Audit tracker' }));
    await verifyOnPage(page, 'Audit tracker');
    expect(await auditCount()).toBe('Showing 1 to 25 of 28 audits');
    const first = await shownIds();
    expect(first).toHaveLength(25);
    await expectNoAxeViolations(page);
    // On a narrow laptop window the table scrolls inside its own region; the page itself does not.
    await page.setViewportSize({ width: 1024, height: 768 });
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth, table: document.querySelector('[data-testid="audits"]')!.scrollWidth }));
    expect(widths.table).toBeGreaterThan(widths.window / 2);
    expect(widths.page).toBe(widths.window);
    await page.setViewportSize({ width: 1280, height: 800 });

    await clickAndLoad(page.getByRole('navigation', { name: 'Pagination' }).getByRole('link', { name: /Next/ }));
    expect(query().get('page')).toBe('2');
    expect(await auditCount()).toBe('Showing 26 to 28 of 28 audits');
    expect([...first, ...(await shownIds())].sort()).toEqual(ids(PLAN));
    await expectNoAxeViolations(page);
  });

  it('narrows the list by status and overdue, and the exports carry the filters', async () => {
    await page.goto('/audits');
    await filter().getByRole('group', { name: 'Status' }).getByLabel('Allocated').check();
    await filter().getByRole('group', { name: 'Status' }).getByLabel('Returned to auditor').check();
    await filter().getByLabel('Only overdue audits').check();
    await clickAndLoad(filter().getByRole('button', { name: 'Apply filters' }));

    await verifyOnPage(page, 'Audit tracker');
    expect(query().getAll('status')).toEqual(['allocated', 'returned']);
    expect(query().get('overdue')).toBe('yes');
    const expected = PLAN.filter((row) => ['allocated', 'returned'].includes(row.status) && isOverdue(row));
    expect(expected.length).toBeGreaterThan(1);
    expect((await shownIds()).sort()).toEqual(ids(expected));
    expect(await auditCount()).toBe(`Showing 1 to ${expected.length} of ${expected.length} audits`);
    const rows = page.getByTestId('audits').locator('tbody tr');
    for (const row of await rows.all()) expect(await row.innerText()).toMatch(/(Allocated|Returned)[\s\S]*Overdue/);
    // The chosen filters stay chosen, and are listed as tags that remove them.
    expect(await filter().getByLabel('Only overdue audits').isChecked()).toBe(true);
    const tags = await filter().locator('.moj-filter__tag').allInnerTexts();
    expect(tags.map((tag) => tag.replace(/\s+/g, ' '))).toEqual(['Remove this filter Allocated', 'Remove this filter Returned to auditor', 'Remove this filter Overdue only']);
    await expectNoAxeViolations(page);

    for (const name of ['Download these audits as a CSV file', 'Download these audits as an Excel spreadsheet (XLSX)']) {
      const href = new URL((await page.getByRole('link', { name }).getAttribute('href'))!, t.baseUrl);
      expect(href.searchParams.getAll('status'), name).toEqual(['allocated', 'returned']);
      expect(href.searchParams.get('overdue'), name).toBe('yes');
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download these audits as a CSV file' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^audit-tracker-\d{4}-\d{2}-\d{2}\.csv$/);
    const [header, ...records] = parse(fs.readFileSync(await download.path(), 'utf8'), { bom: true }) as string[][];
    expect(header![1]).toBe('Child ID');
    expect(records.map((record) => record[1]).sort()).toEqual(ids(expected));
  });

  it('widens the list again when a selected filter is removed', async () => {
    await page.goto('/audits?status=allocated&status=returned&overdue=yes');
    await clickAndLoad(filter().getByRole('link', { name: 'Remove this filter Overdue only' }));
    expect(query().has('overdue')).toBe(false);
    expect(query().getAll('status')).toEqual(['allocated', 'returned']);
    expect((await shownIds()).sort()).toEqual(ids(PLAN.filter((row) => ['allocated', 'returned'].includes(row.status))));
  });

  it('sorts by due date either way, keeping the filters, and marks the sorted column', async () => {
    const dueHeader = () => page.getByTestId('audits').locator('thead th').filter({ hasText: 'Due' });
    const byDue = PLAN.filter((row) => ['allocated', 'returned'].includes(row.status))
      .sort((a, b) => a.dueOffset - b.dueOffset)
      .map((row) => row.externalId);

    await page.goto('/audits?status=allocated&status=returned');
    await clickAndLoad(dueHeader().getByRole('link'));
    expect(query().get('sort')).toBe('due');
    expect(query().getAll('status')).toEqual(['allocated', 'returned']);
    expect(await dueHeader().getAttribute('aria-sort')).toBe('ascending');
    expect(await shownIds()).toEqual(byDue);
    await expectNoAxeViolations(page);

    await clickAndLoad(dueHeader().getByRole('link'));
    expect(await dueHeader().getAttribute('aria-sort')).toBe('descending');
    expect(await shownIds()).toEqual([...byDue].reverse());
    const exportHref = new URL((await page.getByRole('link', { name: 'Download these audits as a CSV file' }).getAttribute('href'))!, t.baseUrl);
    expect(exportHref.searchParams.getAll('status')).toEqual(['allocated', 'returned']);
  });

  it('shows an error by the date field for an impossible date, and still lists audits', async () => {
    await page.goto('/audits');
    await filter().getByLabel('Allocated from').fill('31/02/2025');
    await clickAndLoad(filter().getByRole('button', { name: 'Apply filters' }));

    await verifyOnPage(page, 'Audit tracker');
    expect(await page.title()).toMatch(/^Error: /);
    const link = page.locator('.govuk-error-summary').getByRole('link', { name: 'Allocated from must be a real date' });
    expect(await link.getAttribute('href')).toBe('#allocatedFrom');
    expect(await page.locator('#allocatedFrom-error').innerText()).toContain('Allocated from must be a real date');
    expect(await filter().getByLabel('Allocated from').inputValue()).toBe('31/02/2025');
    expect(await auditCount()).toBe('Showing 1 to 25 of 28 audits');
    await expectNoAxeViolations(page);
  });

  it('shows a practitioner only their own cases, and refuses them the child register', async () => {
    const practitioner = await t.newPage();
    await signIn(practitioner, t.seeded.users.practitioner.email, PASSWORD);
    await practitioner.goto('/audits');
    await verifyOnPage(practitioner, 'Audit tracker');
    expect((await shownIds(practitioner)).sort()).toEqual(ids(PLAN.filter((row) => row.team === 'unit1')));
    expect(await practitioner.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Children', exact: true }).count()).toBe(0);

    const response = await practitioner.goto('/children');
    expect(response?.status()).toBe(403);
    await verifyOnPage(practitioner, 'You do not have permission to see this page');
    await expectNoAxeViolations(practitioner);
    await practitioner.context().close();
  });

  it('uses the full width at 1280 px: status, due and grade in view, the reference first', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto('/audits');
    await verifyOnPage(page, 'Audit tracker');
    const headers = await page.getByTestId('audits').locator('thead th').allInnerTexts();
    expect(headers.map((text) => text.replace(/,\s*sort \w+/, '').replace(/\s+/g, ' ').trim()).slice(0, 6)).toEqual(['Ref', 'Child', 'Status', 'Due', 'Auditor', 'Grade']);
    const layout = await page.evaluate(() => {
      const region = document.querySelector('[data-testid="audits"]')!.closest('.app-table-scroll')!;
      const row = document.querySelector('[data-testid="audits"] tbody tr')!;
      const right = (cell: Element) => cell.getBoundingClientRect().right;
      return {
        regionWidth: region.clientWidth,
        regionRight: region.getBoundingClientRect().right,
        cells: Array.from(row.children).slice(0, 6).map(right),
        overflow: region.scrollWidth - region.clientWidth,
        page: document.documentElement.scrollWidth,
        window: document.documentElement.clientWidth,
      };
    });
    // Not the 960px reading measure: the list has the window's width beside the filter.
    expect(layout.regionWidth).toBeGreaterThan(800);
    for (const right of layout.cells) expect(right).toBeLessThanOrEqual(layout.regionRight);
    expect(layout.page).toBe(layout.window);
    await expectNoAxeViolations(page);
  });

  it('folds the filter panel away to give the list the whole width, and opens it again', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto('/audits');
    const panel = page.locator('details.app-filter-panel');
    expect(await panel.evaluate((element) => (element as HTMLDetailsElement).open)).toBe(true);
    const before = await page.locator('.app-filter-layout__content').evaluate((element) => element.clientWidth);
    await page.getByText('Filter audits', { exact: true }).click();
    expect(await panel.evaluate((element) => (element as HTMLDetailsElement).open)).toBe(false);
    expect(await filter().isVisible()).toBe(false);
    const after = await page.locator('.app-filter-layout__content').evaluate((element) => element.clientWidth);
    expect(after).toBeGreaterThan(before + 200);
    await page.getByText('Filter audits', { exact: true }).click();
    expect(await filter().isVisible()).toBe(true);
  });

  it('fits a 375 px phone: the filter starts folded away and the page never scrolls sideways', async () => {
    const phone = await t.newPage();
    await phone.setViewportSize({ width: 375, height: 740 });
    await signIn(phone, t.seeded.users.qa_coordinator.email, PASSWORD);
    await phone.goto('/audits');
    await verifyOnPage(phone, 'Audit tracker');
    const panel = phone.locator('details.app-filter-panel');
    expect(await panel.evaluate((element) => (element as HTMLDetailsElement).open)).toBe(false);
    expect(await phone.locator('.moj-filter').isVisible()).toBe(false);
    const widths = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth }));
    expect(widths.page).toBe(widths.window);
    await expectNoAxeViolations(phone);
    await phone.getByText('Filter audits', { exact: true }).click();
    expect(await phone.locator('.moj-filter').isVisible()).toBe(true);
    const opened = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth }));
    expect(opened.page).toBe(opened.window);
    await expectNoAxeViolations(phone);
    await phone.context().close();
  });

  it('folds and unfolds the filter panel without JavaScript, and the filters still apply', async () => {
    const context = await t.browser.newContext({ baseURL: t.baseUrl, javaScriptEnabled: false, locale: 'en-GB', timezoneId: 'Europe/London' });
    context.setDefaultTimeout(10_000);
    const plain = await context.newPage();
    await signIn(plain, t.seeded.users.qa_coordinator.email, PASSWORD);
    await plain.goto('/audits');
    const panel = plain.locator('details.app-filter-panel');
    expect(await panel.evaluate((element) => (element as HTMLDetailsElement).open)).toBe(true);
    await plain.getByText('Filter audits', { exact: true }).click();
    expect(await plain.locator('.moj-filter').isVisible()).toBe(false);
    await plain.getByText('Filter audits', { exact: true }).click();
    await plain.locator('.moj-filter').getByLabel('Only overdue audits').check();
    await clickAndLoad(plain.locator('.moj-filter').getByRole('button', { name: 'Apply filters' }));
    expect(new URL(plain.url()).searchParams.get('overdue')).toBe('yes');
    expect((await shownIds(plain)).sort()).toEqual(ids(PLAN.filter(isOverdue)));
    await context.close();
  });

  it('finds an audit from the header search by its child\'s case ID', async () => {
    await page.goto('/audits');
    await page.getByLabel('Case ID or audit reference').first().fill('E2E-05');
    await clickAndLoad(page.getByRole('search').first().getByRole('button', { name: 'Search' }));
    await verifyOnPage(page, /Search results/);
    expect(await page.getByTestId('search-count').innerText()).toContain('1 audit');
    await expectNoAxeViolations(page);
  });
});
