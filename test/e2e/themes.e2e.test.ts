import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { fixedClock } from '../../src/platform/clock.ts';
import { createAudit, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

const TOOL = {
  key: 'themes-tool',
  name: 'Themes tool',
  sections: [{ key: 'practice', title: 'Practice', answers: [{ key: 'j', kind: 'judgement', label: 'Judgement', scale: 'ofsted', evidence: [{ key: 's', label: 'Strengths' }, { key: 'a', label: 'Areas for improvement' }] }] }],
};

/** Four audits moderated this quarter (October–December 2026), two of them with an out-of-date chronology. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await db.insertInto('audit_tools').values({ organisation_id: org, key: TOOL.key, name: TOOL.name }).returning('id').executeTakeFirstOrThrow();
  const edition = await db.insertInto('audit_tool_editions').values({ organisation_id: org, tool_id: tool.id, edition: '2026.1', definition: JSON.stringify(TOOL), source: 'test' }).returning('id').executeTakeFirstOrThrow();
  const texts = [
    ['The child is seen alone.', 'The chronologies were out of date.'],
    ['Strong multi-agency working.', 'The chronology has not been updated since the review.'],
    ['Good use of the family network.', 'No contingency plan is recorded.'],
    ['Visits are regular.', 'No contingency plan, and the father is not engaged.'],
  ];
  for (const [i, [strengths, areas]] of texts.entries()) {
    const child = await createChild(db, org, { externalId: `THM-${i + 1}`, initials: 'AB', teamId: council.teams.unit1.id });
    const moderatedAt = `2026-10-${String(5 + i).padStart(2, '0')}T10:00:00Z`;
    const audit = await createAudit(db, {
      organisationId: org,
      childId: child.id,
      toolEditionId: edition.id,
      auditorId: council.staff.manager1.id,
      moderatorId: council.staff.serviceManager.id,
      teamId: council.teams.unit1.id,
      serviceId: council.teams.unit1.service_id,
      status: 'moderated',
      allocatedOn: '2026-09-01',
      due: '2027-06-30',
      submittedAt: moderatedAt,
      moderatedAt,
      auditorGrade: 'good',
      finalGrade: 'good',
    });
    await db.updateTable('audits').set({ answers: JSON.stringify({ j: 'good', s: strengths, a: areas }) }).where('id', '=', audit.id).execute();
  }
  return council;
}

describeInBrowser('themes in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed, { clock: fixedClock(new Date('2026-11-15T12:00:00Z')) });
    page = await t.newPage();
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  it("shows the report's themes with proposals, drills into the quoted evidence, and passes axe at 1280 px and 375 px", async () => {
    await page.goto('/reports');
    await verifyOnPage(page, 'Reports');
    const areas = page.locator('#themes-areas');
    expect(await areas.locator('tr', { hasText: 'Chronology out of date' }).locator('td').first().innerText()).toMatch(/^2\b/);
    // "contingency plan" is in two audits and in no theme: proposed.
    expect(await page.locator('#themes-proposed + p + .app-table-scroll').innerText()).toContain('contingency plan');
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 375, height: 800 });
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.window + 1);
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 1280, height: 800 });

    await clickAndLoad(areas.getByRole('link', { name: /^2 audits: Chronology out of date in areas for improvement/ }));
    await verifyOnPage(page, 'Chronology out of date: areas for improvement');
    expect(await page.locator('blockquote').allInnerTexts()).toEqual(['“The chronologies were out of date.”', '“The chronology has not been updated since the review.”']);
    await expectNoAxeViolations(page);
  });

  it('lets the QA lead add a proposed theme, refusing a catastrophic phrase beside the field', async () => {
    await page.goto('/reports');
    await clickAndLoad(page.locator('a[href^="/reports/themes/new?"]').filter({ hasText: 'contingency plan' }));
    await verifyOnPage(page, 'Add a theme');
    expect(await page.getByLabel('Words and phrases that mark the theme').inputValue()).toBe('contingency plan');
    await page.getByLabel('Words and phrases that mark the theme').fill('contingency plan\nplan');
    await clickAndLoad(page.getByRole('button', { name: 'Save theme' }));
    expect(await page.locator('.govuk-error-summary').innerText()).toContain('Line 2, “plan”: “plan” alone is in almost every audit');
    expect(await page.locator('#phrases-error').innerText()).toContain('“plan” alone is in almost every audit');
    await expectNoAxeViolations(page);
    await page.getByLabel('Words and phrases that mark the theme').fill('contingency plan');
    await clickAndLoad(page.getByRole('button', { name: 'Save theme' }));
    await verifyOnPage(page, 'Themes');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Theme added');
    expect(await page.locator('table').innerText()).toContain('Contingency plan');
    await expectNoAxeViolations(page);
  });
});
