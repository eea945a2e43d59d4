import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { createAudit, createAuditTool, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, expectNoAxeViolationsWithoutScripts, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

type Seeded = Awaited<ReturnType<typeof seed>>;

/** A moderated audit to distribute, one whose feedback is in (to close) and one still waiting for it. */
async function seed(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  // A tool named as councils name theirs: the titles wrap on a phone as the demo's do.
  const tool = await createAuditTool(db, org, { name: 'Lambeth service based case audit' });
  const audit = async (externalId: string, initials: string, status: 'allocated' | 'moderated' | 'awaiting_feedback', due?: number) => {
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
      finalGrade: status === 'allocated' ? null : 'good',
      ...(due === undefined ? {} : { due, stageDue: due }),
    });
  };
  const toDistribute = await audit('MW-100041', 'DA', 'moderated');
  const toClose = await audit('MW-100042', 'CA', 'awaiting_feedback');
  const waiting = await audit('MW-100043', 'WA', 'awaiting_feedback');
  // Tina's own audits to do, one overdue: dated, with a status to read.
  await audit('MW-100044', 'OA', 'allocated', -3);
  await audit('MW-100045', 'TA', 'allocated', 12);
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
    expect(await distribute.getByRole('link').allInnerTexts()).toEqual([expect.stringContaining('DA (MW-100041)')]);
    expect(await close.getByRole('link').allInnerTexts()).toEqual([expect.stringContaining('CA (MW-100042)')]);
    // The audit still waiting for its feedback is nobody's work item yet.
    expect(await main.innerText()).not.toContain('WA (MW-100043)');
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

  it("keeps each item's status in view on a phone: a date wraps rather than push it out of sight", async () => {
    const phone = await t.newPage({ javaScript: false });
    await phone.setViewportSize({ width: 375, height: 800 });
    await signIn(phone, t.seeded.council.users.auditor.email, PASSWORD);
    await phone.goto('/');
    const audits = phone.locator('[data-section="audits"]');
    expect(await audits.getByRole('link').count()).toBe(2);
    // Each section's table fits its column: nothing to scroll sideways to, the status in view.
    const overflowing = await phone.evaluate(() =>
      Array.from(document.querySelectorAll('section[data-section] table'))
        .filter((table) => table.scrollWidth > table.parentElement!.clientWidth)
        .map((table) => table.closest('section')!.getAttribute('data-section')),
    );
    expect(overflowing).toEqual([]);
    expect(await audits.getByText('Overdue').isVisible()).toBe(true);
    await expectNoAxeViolationsWithoutScripts(phone);
  });
});
