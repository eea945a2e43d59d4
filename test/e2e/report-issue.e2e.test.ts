import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { fixedClock } from '../../src/platform/clock.ts';
import { createAudit, createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

/** Two audits moderated in the quarter, so the report has figures to issue. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  for (const [i, [auditorGrade, finalGrade]] of ([['good', 'good'], ['good', 'requires_improvement']] as const).entries()) {
    const child = await createChild(db, org, { externalId: `ISS-${i + 1}`, initials: 'AB', teamId: council.teams.unit1.id });
    await createAudit(db, {
      organisationId: org,
      childId: child.id,
      toolEditionId: tool.editionId,
      auditorId: council.staff.manager1.id,
      moderatorId: council.staff.serviceManager.id,
      teamId: council.teams.unit1.id,
      serviceId: council.teams.unit1.service_id,
      status: 'moderated',
      allocatedOn: '2026-10-01',
      due: '2027-06-30',
      submittedAt: '2026-10-10T10:00:00Z',
      moderatedAt: `2026-10-1${i + 2}T10:00:00Z`,
      auditorGrade,
      finalGrade,
    });
  }
  return council;
}

describeInBrowser('the quarterly QA report in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed, { clock: fixedClock(new Date('2026-11-15T12:00:00Z')) });
    page = await t.newPage();
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  it('lets the QA lead write the commentary, save it, issue the report and download it, with no axe violations', async () => {
    await page.goto('/reports');
    expect(await page.getByRole('link', { name: 'CSV file of Final grades by team' }).first().getAttribute('href')).toContain('/reports/export.csv?period=q%3A2026-3');
    await clickAndLoad(page.getByRole('link', { name: 'Write and issue the quarterly QA report for this period' }));
    await verifyOnPage(page, 'Quarterly quality assurance report');
    await expectNoAxeViolations(page);
    await page.getByLabel('2. Grades').fill('Both audits were Good before moderation; one was lowered.');
    await clickAndLoad(page.getByRole('button', { name: 'Save draft' }));
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Draft commentary saved');
    expect(await page.getByLabel('2. Grades').inputValue()).toBe('Both audits were Good before moderation; one was lowered.');
    await clickAndLoad(page.getByRole('button', { name: 'Issue the report' }));
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Edition 1 of the report for Q3 2026–27 (October to December 2026) is issued');
    await expectNoAxeViolations(page);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'as a PDF' }).click();
    expect((await download).suggestedFilename()).toBe('quarterly-qa-report-q3-2026-27-edition-1.pdf');
    await clickAndLoad(page.getByRole('link', { name: 'All issued reports' }));
    await verifyOnPage(page, 'Issued quarterly reports');
    await expectNoAxeViolations(page);
    await page.goto('/reports/feed');
    await verifyOnPage(page, 'Data feed for BI tools');
    await expectNoAxeViolations(page);
  }, 120_000);
});
