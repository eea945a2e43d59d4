import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { createAudit, createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

type Seeded = Awaited<ReturnType<typeof seed>>;

/** A moderated audit to distribute, one whose feedback is in (to close) and one still waiting for it. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const audit = async (externalId: string, initials: string, status: 'moderated' | 'awaiting_feedback') => {
    const child = await createChild(db, org, { externalId, initials, teamId: council.teams.unit1.id });
    return createAudit(db, {
      organisationId: org,
      childId: child.id,
      toolEditionId: tool.editionId,
      auditorId: council.staff.manager1.id,
      caseHolderId: council.staff.worker1.id,
      teamId: council.teams.unit1.id,
      serviceId: council.teams.unit1.service_id,
      status,
      finalGrade: 'good',
    });
  };
  const toDistribute = await audit('MW-1', 'DA', 'moderated');
  const toClose = await audit('MW-2', 'CA', 'awaiting_feedback');
  const waiting = await audit('MW-3', 'WA', 'awaiting_feedback');
  await db.updateTable('audits').set({ practitioner_feedback: JSON.stringify({ learning_points: 'See the child alone' }) }).where('id', '=', toClose.id).execute();
  return { council, toDistribute, toClose, waiting };
}

describeInBrowser('My work for the QA coordinator in Chromium', () => {
  let t: BrowserApp<Seeded>;
  let page: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed);
    page = await t.newPage();
    await signIn(page, t.seeded.council.users.qa_coordinator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  it('puts allocating first, lists what to distribute and what to close, folds the empty sections, and passes axe', async () => {
    await page.goto('/');
    await verifyOnPage(page, 'Hello, Quinn QA');
    const main = page.locator('main');
    // The coordinator's main action comes before any list.
    const allocate = main.getByRole('button', { name: 'Allocate an audit' });
    expect(await allocate.isVisible()).toBe(true);
    const distribute = page.locator('[data-section="distribute"]');
    const close = page.locator('[data-section="close"]');
    expect(await distribute.getByRole('link').allInnerTexts()).toEqual([expect.stringContaining('DA (MW-1)')]);
    expect(await close.getByRole('link').allInnerTexts()).toEqual([expect.stringContaining('CA (MW-2)')]);
    // The audit still waiting for its feedback is nobody's work item yet.
    expect(await main.innerText()).not.toContain('WA (MW-3)');
    // Empty sections: one folded line each, not a heading each.
    const folded = page.getByTestId('empty-sections');
    expect(await folded.locator('li').count()).toBeGreaterThan(3);
    expect(await folded.locator('li').first().isVisible()).toBe(false);
    await folded.locator('summary').click();
    expect(await folded.innerText()).toContain('To moderate: No audits waiting for you to moderate.');
    await expectNoAxeViolations(page);

    await page.setViewportSize({ width: 375, height: 800 });
    await page.reload();
    expect(await allocate.isVisible()).toBe(true);
    await expectNoAxeViolations(page);
    await page.setViewportSize({ width: 1280, height: 800 });

    await clickAndLoad(distribute.getByRole('link').first());
    expect(new URL(page.url()).pathname).toBe(`/audits/${t.seeded.toDistribute.id}/distribute`);
  });
});
