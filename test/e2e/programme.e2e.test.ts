import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { fixedClock } from '../../src/platform/clock.ts';
import { createAudit, createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

/** Tina (North Unit 1) has one audit done on time in April and one overdue since June: today is 15 July 2026. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const plan = [
    { allocatedOn: '2026-04-10', due: '2026-04-24', status: 'in_moderation' as const, submittedAt: '2026-04-20T10:00:00Z' },
    { allocatedOn: '2026-06-05', due: '2026-06-19', status: 'in_progress' as const, submittedAt: null },
  ];
  for (const [i, row] of plan.entries()) {
    const child = await createChild(db, org, { externalId: `PRG-${i + 1}`, initials: 'AB', teamId: council.teams.unit1.id });
    await createAudit(db, { organisationId: org, childId: child.id, toolEditionId: tool.editionId, auditorId: council.staff.manager1.id, teamId: council.teams.unit1.id, serviceId: council.services.area.id, ...row });
  }
  return council;
}

async function expectFitsAndPassesAxe(page: Page) {
  await expectNoAxeViolations(page);
  await page.setViewportSize({ width: 375, height: 800 });
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth }));
  expect(widths.page).toBeLessThanOrEqual(widths.window + 1);
  await expectNoAxeViolations(page);
  await page.setViewportSize({ width: 1280, height: 800 });
}

describeInBrowser('the audit programme in Chromium', () => {
  let t: BrowserApp<SmallCouncil>;

  beforeAll(async () => {
    t = await startBrowserApp(seed, { clock: fixedClock(new Date('2026-07-15T12:00:00Z')) });
  }, 180_000);
  afterAll(async () => t?.close());

  it('lets the QA lead set up the schedule without JavaScript, adding a row with its button', async () => {
    const page = await t.newPage({ javaScript: false });
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
    await page.goto('/programme/schedule/edit');
    await verifyOnPage(page, 'Edit the schedule of expectations');
    await page.getByLabel('Applies from').fill('1/4/2026');
    await page.locator('[id="rows.0.service"]').selectOption({ label: 'Area Social Work' });
    await clickAndLoad(page.getByRole('button', { name: 'Add a row' }));
    expect(await page.getByRole('group', { name: 'Row 2' }).count()).toBe(1);
    expect(await page.getByLabel('Applies from').inputValue()).toBe('1/4/2026');
    await page.locator('[id="rows.1.service"]').selectOption({ label: 'Area Social Work' });
    await page.locator('[id="rows.1.activity"]').selectOption({ label: 'Observation of practice (not yet in Assure)' });
    await page.locator('[id="rows.1.activityLabel"]').fill('Observation');
    await page.locator('[id="rows.1.moderatorRole"]').selectOption({ label: 'Not required' });
    await clickAndLoad(page.getByRole('button', { name: 'Save as a new version' }));
    await verifyOnPage(page, 'Schedule of expectations');
    const rows = page.getByRole('table', { name: /2 rows/ });
    expect(await rows.getByRole('row').nth(1).innerText()).toMatch(/Area Social Work\s+Case file\s+—\s+1 per auditor every 2 months/);
    expect(await rows.getByRole('row').nth(2).innerText()).toContain('Not yet in Assure');
    await page.context().close();
  }, 90_000);

  it('shows the schedule and its edit form, passing axe at 1280 px and 375 px', async () => {
    const page = await t.newPage();
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
    await clickAndLoad(page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Programme' }));
    await clickAndLoad(page.getByRole('link', { name: 'Schedule of expectations' }));
    await verifyOnPage(page, 'Schedule of expectations');
    await expectFitsAndPassesAxe(page);
    await clickAndLoad(page.getByRole('button', { name: 'Edit as a new version' }));
    await verifyOnPage(page, 'Edit the schedule of expectations');
    await expectFitsAndPassesAxe(page);
    await page.context().close();
  }, 90_000);

  it('shows compliance for the quarter with the overdue manager in red, in words too, passing axe at 1280 px and 375 px', async () => {
    const page = await t.newPage();
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
    await page.goto('/programme/compliance');
    await verifyOnPage(page, 'Compliance with the schedule');
    await page.getByLabel('Period', { exact: true }).selectOption({ label: 'Q1 2026–27 (April to June 2026)' });
    await clickAndLoad(page.getByRole('button', { name: 'Show compliance' }));
    const tina = page.getByRole('table', { name: 'By auditor' }).getByRole('row', { name: /Tina Manager/ });
    expect(await tina.innerText()).toMatch(/Red: Behind[\s\S]*1 overdue/);
    expect(await tina.locator('[data-rag="red"]').count()).toBe(1);
    await expectFitsAndPassesAxe(page);
    // The overdue figure opens the tracker on that audit.
    await clickAndLoad(tina.getByRole('link', { name: /overdue, Tina Manager/ }));
    await verifyOnPage(page, 'Audit tracker');
    expect(await page.getByTestId('audit-count').innerText()).toBe('Showing 1 to 1 of 1 audit');
    await page.context().close();
  }, 90_000);

  it('shows compliance as a section of the reports, and the sampling rounds on the QA coordinator’s My work, passing axe at 1280 px and 375 px', async () => {
    const page = await t.newPage();
    await signIn(page, t.seeded.users.qa_lead.email, PASSWORD);
    await page.goto('/reports?period=q:2026-1');
    await verifyOnPage(page, 'Reports');
    const tina = page.getByRole('table', { name: 'Compliance by auditor' }).getByRole('row', { name: /Tina Manager/ });
    expect(await tina.innerText()).toMatch(/Red: Behind[\s\S]*1 overdue/);
    await expectFitsAndPassesAxe(page);
    await page.context().close();

    const coordinator = await t.newPage();
    await signIn(coordinator, t.seeded.users.qa_coordinator.email, PASSWORD);
    await coordinator.goto('/');
    await coordinator.getByRole('heading', { name: 'Sampling rounds' }).waitFor();
    await expectFitsAndPassesAxe(coordinator);
    await clickAndLoad(coordinator.getByRole('link', { name: /Sampling rounds: start a round/ }));
    await verifyOnPage(coordinator, 'Sampling rounds');
    await coordinator.context().close();
  }, 120_000);
});
