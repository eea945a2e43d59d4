import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolationsWithoutScripts, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

/** A schedule row (2 per team of Area Social Work each month, chosen at random) and six children in North Unit 1. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const version = await db.insertInto('programme_schedule_versions').values({ organisation_id: org, applies_from: '2000-01-01' }).returning('id').executeTakeFirstOrThrow();
  await db.insertInto('programme_schedule_rows').values({
    organisation_id: org, schedule_version_id: version.id, position: 0, service_id: council.services.area.id, activity: 'case_audit', activity_label: 'Case file audit',
    tool_id: tool.toolId, quantity: 2, per: 'team', period_months: 1, auditor_roles: JSON.stringify([]), selected_by: 'random', sampling: JSON.stringify({}),
  }).execute();
  for (let n = 0; n < 6; n++) await createChild(db, org, { externalId: `RND-${n}`, initials: `R${n}`, teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
  return council;
}

describeInBrowser('a sampling round in Chromium, without JavaScript', () => {
  let t: BrowserApp<SmallCouncil>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed);
    page = await t.newPage({ javaScript: false });
    await signIn(page, t.seeded.users.qa_coordinator.email, PASSWORD);
  }, 120_000);
  afterAll(async () => t?.close());

  it('proposes, replaces a child with a reason and confirms; the proposal and provenance pages pass axe at 1280 and 375 px', async () => {
    await page.goto('/programme/rounds');
    await verifyOnPage(page, 'Sampling rounds');
    await expectNoAxeViolationsWithoutScripts(page);
    await clickAndLoad(page.getByRole('button', { name: 'Propose the round' }));
    await verifyOnPage(page, /to/);
    await expect(page.getByTestId('provenance').innerText()).resolves.toMatch(/Seed\s+-?\d+/);
    await expect(page.getByTestId('provenance').innerText()).resolves.toMatch(/Draw\s+Version 2, the current rules/);
    expect(await page.getByTestId('pick').count()).toBe(2);
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 900 });
      await expectNoAxeViolationsWithoutScripts(page);
      // The chosen children's table scrolls within itself: the page never scrolls sideways.
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `page width at ${width} px`).toBeLessThanOrEqual(width);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await clickAndLoad(page.getByRole('link', { name: /^Replace/ }).first());
    await verifyOnPage(page, /Replace .* or the auditor/);
    await expectNoAxeViolationsWithoutScripts(page);
    await page.getByLabel('Draw another child by the rules').check();
    await page.getByLabel('Reason').fill('The family moved out of the area last week');
    await clickAndLoad(page.getByRole('button', { name: 'Replace' }));
    await expect(page.getByTestId('replacements').innerText()).resolves.toContain('The family moved out of the area last week');
    await clickAndLoad(page.getByRole('button', { name: 'Confirm and allocate the round' }));
    await expect(page.locator('.govuk-notification-banner').innerText()).resolves.toContain('Round confirmed');
    await expect(page.getByTestId('provenance').innerText()).resolves.toMatch(/Confirmed\s+.* by Quinn QA/);
    expect(await page.getByRole('link', { name: /^Audit \d+/ }).count()).toBe(2);
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 900 });
      await expectNoAxeViolationsWithoutScripts(page);
    }
  }, 240_000);
});
