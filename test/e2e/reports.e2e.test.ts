import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import type { Grade } from '../../src/db/types.ts';
import { fixedClock } from '../../src/platform/clock.ts';
import { createAudit, createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

/** Twelve audits moderated across the current and previous quarters, some regraded. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const grades: [Grade, Grade][] = [
    ['good', 'good'],
    ['good', 'requires_improvement'],
    ['outstanding', 'good'],
    ['requires_improvement', 'requires_improvement'],
    ['inadequate', 'inadequate'],
    ['good', 'good'],
  ];
  for (let i = 0; i < 12; i++) {
    const team = i % 2 ? council.teams.unit1 : council.teams.careTeam;
    const child = await createChild(db, org, { externalId: `REP-${i + 1}`, initials: 'AB', teamId: team.id });
    const [auditorGrade, finalGrade] = grades[i % grades.length]!;
    const moderatedAt = i < 6 ? `2026-10-${String(5 + i).padStart(2, '0')}T10:00:00Z` : `2026-08-${String(5 + i).padStart(2, '0')}T10:00:00Z`;
    await createAudit(db, {
      organisationId: org,
      childId: child.id,
      toolEditionId: tool.editionId,
      auditorId: i % 2 ? council.staff.manager1.id : council.staff.qaOfficer.id,
      moderatorId: council.staff.serviceManager.id,
      teamId: team.id,
      serviceId: team.service_id,
      status: 'moderated',
      allocatedOn: '2026-07-01',
      due: '2027-06-30',
      submittedAt: moderatedAt,
      moderatedAt,
      auditorGrade,
      finalGrade,
    });
  }
  return council;
}

describeInBrowser('reports in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed, { clock: fixedClock(new Date('2026-11-15T12:00:00Z')) });
    page = await t.newPage();
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  it('shows the QA lead the quarter, its charts with their descriptions, and passes axe at 1280 px and 375 px', async () => {
    await clickAndLoad(page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Reports' }));
    await verifyOnPage(page, 'Reports');
    expect(await page.locator('.govuk-caption-l').innerText()).toBe('Q3 2026–27 (October to December 2026)');
    const chart = page.locator('figure.app-chart img').first();
    expect(await chart.getAttribute('alt')).toMatch(/^Final grades\. This period \(Q3 2026–27 \(October to December 2026\)\): Outstanding 0, Good 3, Requires improvement 2, Inadequate 1 of 6 audits/);
    expect(await chart.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 375, height: 800 });
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.window + 1);
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('drills from a figure into the tracker, which lists that many audits and says what it counts', async () => {
    await page.goto('/reports');
    const cell = page.getByRole('link', { name: /^2 Requires improvement in This period$/ });
    await clickAndLoad(cell);
    await verifyOnPage(page, 'Audit tracker');
    expect(await page.getByTestId('audit-count').innerText()).toBe('Showing 1 to 2 of 2 audits');
    const tags = (await page.locator('.moj-filter__tag').allInnerTexts()).map((tag) => tag.replace(/\s+/g, ' '));
    expect(tags).toEqual(['Remove this filter Requires improvement', 'Remove this filter 2026-10-01 to 2026-12-31']);
    await expectNoAxeViolations(page);
  });

  it('chooses another period without JavaScript and shows a wrong range beside its field', async () => {
    const noScript = await t.browser.newContext({ baseURL: t.baseUrl, javaScriptEnabled: false, locale: 'en-GB' });
    noScript.setDefaultTimeout(10_000);
    const other = await noScript.newPage();
    await signIn(other, t.seeded.users.qa_lead.email, PASSWORD);
    await other.goto('/reports');
    await other.getByLabel('Period', { exact: true }).selectOption({ label: 'Q2 2026–27 (July to September 2026)' });
    await clickAndLoad(other.getByRole('button', { name: 'Show the report' }));
    expect(await other.locator('.govuk-caption-l').innerText()).toBe('Q2 2026–27 (July to September 2026)');
    await other.getByLabel('Period', { exact: true }).selectOption({ label: 'The dates below' });
    await other.getByLabel('Or from').fill('1/12/2026');
    await other.getByLabel('to', { exact: true }).fill('1/11/2026');
    await clickAndLoad(other.getByRole('button', { name: 'Show the report' }));
    expect(await other.locator('.govuk-error-summary').innerText()).toContain('To must be the same as or after from');
    expect(await other.locator('#to-error').innerText()).toContain('To must be the same as or after from');
    // axe needs scripts to run, so the same page is scanned with JavaScript on in the first test.
    await noScript.close();
  }, 90_000);
});
