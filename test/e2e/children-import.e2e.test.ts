import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

/** Row 2 is fine; row 3 has a full name and an impossible date; row 4 an unknown legal status. */
const BAD = [
  "Child Unique ID,Initials,Date of birth,Gender,Child's Legal Status,Allocated Team",
  'LCS-1,AB,01/02/2015,a) Male,CIN,North Unit 1',
  'LCS-9,John Smith,31/02/2015,a) Male,CIN,North Unit 1',
  'LCS-10,GH,2015-01-01,b) Female,Fostered maybe,North Unit 2',
].join('\r\n');

/** Annex A style headers and codes, with teams that exist in the fixture council. */
const GOOD = [
  "Child Unique ID,Initials,Date of birth,Gender,Child's Legal Status,Allocated Team",
  'LCS-1,AB,01/02/2015,a) Male,CIN,North Unit 1',
  'LCS-2,CD,2016-03-04,b) Female,CP,North Unit 2',
  'LCS-3,EF,2010-05-06,b) Female,Child in Care,Through Care Team',
].join('\r\n');

describeInBrowser('importing a case-management extract in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp((db) => createSmallCouncil(db));
    page = await t.newPage();
    await signIn(page, t.seeded.users.qa_coordinator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  const countChildren = async () => (await t.db.selectFrom('children').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;

  /** Uploads through the real form and waits for the import to finish (the progress page reloads itself). */
  async function upload(filename: string, content: string) {
    await page.goto('/children/imports/new');
    await verifyOnPage(page, 'Import a case-management extract');
    await page.getByLabel('Upload a file').setInputFiles({ name: filename, mimeType: 'text/csv', buffer: Buffer.from(content) });
    await clickAndLoad(page.getByRole('button', { name: 'Check the file' }));
    await page.waitForURL(/\/children\/imports\/[0-9a-f-]{36}$/);
    for (let reloads = 0; reloads < 10 && (await page.getByTestId('import-status').innerText()) === 'Checking the file'; reloads++) {
      await page.waitForEvent('load', { timeout: 5_000 });
    }
  }

  async function tableRows(table: Locator) {
    return table.locator('tbody tr').evaluateAll((rows) => rows.map((row) => Array.from(row.querySelectorAll('th, td'), (cell) => cell.textContent!.trim())));
  }

  it('shows the import page', async () => {
    await clickAndLoad(page.getByRole('link', { name: 'Import children' }));
    await verifyOnPage(page, 'Import a case-management extract');
    await expectNoAxeViolations(page);
  });

  it('asks for a file when none is chosen', async () => {
    await clickAndLoad(page.getByRole('button', { name: 'Check the file' }));
    await verifyOnPage(page, 'Import a case-management extract');
    expect(await page.locator('.govuk-error-summary').getByRole('link', { name: 'Select a CSV or XLSX file' }).getAttribute('href')).toBe('#file');
    await expectNoAxeViolations(page);
  });

  it('imports nothing from a file with bad rows and lists every problem by row and column', async () => {
    await upload('bad.csv', BAD);
    await verifyOnPage(page, 'Nothing was imported');
    const problems = await tableRows(page.locator('table'));
    expect(problems.map(([row, column, value]) => [row, column, value])).toEqual(
      expect.arrayContaining([
        ['3', 'Initials', 'John Smith'],
        ['3', 'Date of birth', '31/02/2015'],
        ['4', "Child's Legal Status", 'Fostered maybe'],
      ]),
    );
    expect(problems).toHaveLength(3);
    expect(problems.find(([, column]) => column === 'Initials')?.[3]).toContain('not a full name');
    expect(await page.locator('table caption').innerText()).toContain('3 problems');
    expect(await countChildren()).toBe(0);
    await expectNoAxeViolations(page);
  });

  it('downloads the list of problems as a CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the list of problems (CSV)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^import-errors-[0-9a-f]{8}\.csv$/);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    const records = parse(csv, { bom: true }) as string[][];
    expect(records[0]).toEqual(['Row', 'Column', 'Value', 'Reason']);
    expect(records.slice(1).map(([row, column, value]) => [row, column, value])).toEqual(
      expect.arrayContaining([
        ['3', 'Initials', 'John Smith'],
        ['3', 'Date of birth', '31/02/2015'],
        ['4', "Child's Legal Status", 'Fostered maybe'],
      ]),
    );
    expect(records).toHaveLength(4);
  });

  it('imports a good Annex A extract after showing what it will do, and shows the counts', async () => {
    await upload('annex-a.csv', GOOD);
    await verifyOnPage(page, 'Check what this import will do');
    expect(await page.getByTestId('import-preview').innerText()).toBe('This import adds 3, updates 0.');
    expect(await countChildren()).toBe(0);
    await expectNoAxeViolations(page);
    await clickAndLoad(page.getByRole('button', { name: 'Import', exact: true }));
    await verifyOnPage(page, 'Import complete');
    const counts = await page.locator('.govuk-summary-list').innerText();
    expect(counts).toMatch(/Rows read\s+3/);
    expect(counts).toMatch(/Children added\s+3/);
    expect(counts).toMatch(/Children updated\s+0/);
    expect(await countChildren()).toBe(3);
    await expectNoAxeViolations(page);
  });

  it('lists the imported children', async () => {
    await clickAndLoad(page.getByRole('link', { name: 'View the children' }));
    await verifyOnPage(page, 'Children');
    expect(await page.getByTestId('children-count').innerText()).toBe('3 children');
    const rows = await tableRows(page.locator('table'));
    expect(rows.map(([id, initials, status, team]) => [id, initials, status, team])).toEqual(
      expect.arrayContaining([
        ['LCS-1', 'AB', 'Child in Need', 'North Unit 1'],
        ['LCS-2', 'CD', 'Child Protection', 'North Unit 2'],
        ['LCS-3', 'EF', 'Child in Care', 'Through Care Team'],
      ]),
    );
    await expectNoAxeViolations(page);
  });

  it("shows a child's page", async () => {
    await clickAndLoad(page.getByRole('link', { name: 'LCS-2' }));
    await verifyOnPage(page, 'CD – LCS-2');
    const details = await page.locator('.govuk-summary-list').innerText();
    expect(details).toMatch(/Date of birth\s+4 March 2016/);
    expect(details).toMatch(/Gender\s+Female/);
    expect(details).toMatch(/Allocated team\s+North Unit 2/);
    await expectNoAxeViolations(page);
  });
});
