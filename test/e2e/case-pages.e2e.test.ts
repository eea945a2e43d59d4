import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { createAudit, createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

/** A child with a past and an open audit, for the pages around a case: the activity log, the child, allocation, search. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const child = await createChild(db, org, { externalId: 'CASE-1', initials: 'AB', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
  const base = { organisationId: org, childId: child.id, toolEditionId: tool.editionId, auditorId: council.staff.manager1.id, teamId: council.teams.unit1.id, serviceId: council.services.area.id };
  await createAudit(db, { ...base, status: 'closed', allocatedOn: '2025-03-03', auditorGrade: 'good', finalGrade: 'good' });
  // The open audit is with another tool, so a case file audit can be allocated beside it.
  const earlyHelp = await createAuditTool(db, org, { key: 'early-help', name: 'Early help audit' });
  await createAudit(db, { ...base, toolEditionId: earlyHelp.editionId, status: 'in_moderation', due: -20, stageDue: 6, auditorGrade: 'requires_improvement' });
  return { council, child };
}

type Seeded = Awaited<ReturnType<typeof seed>>;

/** Whether the page scrolls sideways: it never should, at any width. */
const pageOverflows = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

describeInBrowser('pages around a case in Chromium', () => {
  let t: BrowserApp<Seeded>;
  let coordinator: Page;
  let admin: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed);
    coordinator = await t.newPage();
    await signIn(coordinator, t.seeded.council.users.qa_coordinator.email, PASSWORD);
    admin = await t.newPage();
    await signIn(admin, t.seeded.council.users.administrator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  it("shows the child's audits on their page and allocates another from there, landing on the new audit", async () => {
    await coordinator.setViewportSize({ width: 1280, height: 800 });
    await coordinator.goto(`/children/${t.seeded.child.id}`);
    await verifyOnPage(coordinator, 'AB – CASE-1');
    expect(await coordinator.getByTestId('open-audits').innerText()).toMatch(/In moderation[\s\S]*\(moderation\)[\s\S]*Requires improvement/);
    expect(await coordinator.getByTestId('past-audits').innerText()).toMatch(/Closed[\s\S]*Good/);
    await expectNoAxeViolations(coordinator);

    await clickAndLoad(coordinator.getByRole('button', { name: 'Allocate an audit' }));
    await verifyOnPage(coordinator, 'AB (CASE-1)');
    expect(await coordinator.locator('main').innerText()).toContain('Child in Need');
    await expectNoAxeViolations(coordinator);
    await coordinator.getByLabel('Auditor').selectOption(t.seeded.council.staff.qaOfficer.id);
    await coordinator.getByLabel('Audit tool').selectOption({ label: 'Case file audit (edition 2026.1)' });
    await clickAndLoad(coordinator.getByRole('button', { name: 'Allocate audit' }));
    expect(new URL(coordinator.url()).pathname).toMatch(/^\/audits\/[0-9a-f-]{36}$/);
    expect(await coordinator.locator('.govuk-notification-banner').innerText()).toContain('Audit allocated to Quinn QA');
  });

  it('answers "who looked at this child?" in the activity log, every column in view at 1280 px', async () => {
    await admin.setViewportSize({ width: 1280, height: 800 });
    await admin.goto('/activity');
    await admin.getByLabel("Child's case ID").fill('CASE-1');
    await clickAndLoad(admin.getByRole('button', { name: 'Apply filters' }));
    await verifyOnPage(admin, 'Activity log');
    const rows = await admin.getByTestId('activity').locator('tbody tr').allInnerTexts();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toContain('AB (CASE-1)');
    expect(rows.join('\n')).toContain('Quinn QA');
    const columns = await admin.evaluate(() => {
      const region = document.querySelector('[data-testid="activity"]')!.closest('.app-table-scroll')!;
      const limit = region.getBoundingClientRect().right;
      return Array.from(document.querySelectorAll('[data-testid="activity"] thead th')).map((th) => th.getBoundingClientRect().right <= limit + 1);
    });
    expect(columns).toEqual([true, true, true, true, true, true, true]);
    expect(await pageOverflows(admin)).toBe(false);
    await expectNoAxeViolations(admin);
  });

  it('reads at 375 px: activity log, child page and search, none scrolling sideways', async () => {
    for (const [page, url, heading] of [
      [admin, '/activity?caseId=CASE-1', 'Activity log'],
      [coordinator, `/children/${t.seeded.child.id}`, 'AB – CASE-1'],
      [coordinator, '/search?q=CASE-1', /Search results/],
      [coordinator, '/actions', 'Actions'],
    ] as const) {
      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(url);
      await verifyOnPage(page, heading);
      expect(await pageOverflows(page), url).toBe(false);
      await expectNoAxeViolations(page);
    }
  });
});
