import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { loadBuiltInTools } from '../../src/modules/tools/library.ts';
import { createAudit, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';

const BRISTOL = 'bristol-child-case-audit';

type Seeded = { council: SmallCouncil; auditId: string };

/** A Bristol 2019 audit of a child held by Wes Worker, moderated Requires improvement and ready to distribute. */
async function seed(db: Db): Promise<Seeded> {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  await loadBuiltInTools(db, org);
  const edition = await db
    .selectFrom('audit_tool_editions')
    .innerJoin('audit_tools', 'audit_tools.id', 'audit_tool_editions.tool_id')
    .select('audit_tool_editions.id')
    .where('audit_tools.organisation_id', '=', org)
    .where('audit_tools.key', '=', BRISTOL)
    .orderBy('audit_tool_editions.edition', 'desc')
    .executeTakeFirstOrThrow();
  const child = await createChild(db, org, { externalId: 'FB-1', initials: 'KF', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
  const audit = await createAudit(db, {
    organisationId: org,
    childId: child.id,
    toolEditionId: edition.id,
    auditorId: council.staff.manager1.id,
    caseHolderId: council.staff.worker1.id,
    moderatorId: council.staff.serviceManager.id,
    teamId: council.teams.unit1.id,
    serviceId: council.services.area.id,
    status: 'moderated',
    submittedAt: new Date().toISOString(),
    moderatedAt: new Date().toISOString(),
    auditorGrade: 'good',
    finalGrade: 'requires_improvement',
  });
  return { council, auditId: audit.id };
}

describeInBrowser('distribution, practitioner feedback and closing in Chromium', () => {
  let t: BrowserApp<Seeded>;
  let coordinator: Page;
  let holder: Page;

  beforeAll(async () => {
    t = await startBrowserApp(seed);
    coordinator = await t.newPage();
    await signIn(coordinator, t.seeded.council.users.qa_coordinator.email, PASSWORD);
    holder = await t.newPage();
    await signIn(holder, t.seeded.council.users.practitioner.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  /** Checks the page's heading and scans it: every page of the journey is scanned. */
  async function onPage(page: Page, heading: string | RegExp) {
    await verifyOnPage(page, heading);
    await expectNoAxeViolations(page);
  }

  const panel = (page: Page) => page.locator('#distribution');

  it('the QA coordinator sends the moderated audit to the team manager, the case holder and an IRO', async () => {
    await coordinator.goto(`/audits/${t.seeded.auditId}`);
    await onPage(coordinator, 'KF (FB-1)');
    await clickAndLoad(coordinator.getByRole('button', { name: 'Distribute this audit' }));
    await onPage(coordinator, 'Distribute the audit');
    const sendTo = coordinator.getByRole('group', { name: 'Send to' });
    expect(await sendTo.getByLabel('Tina Manager, team manager').isChecked()).toBe(true);
    expect(await sendTo.getByLabel('Wes Worker, case holder').isChecked()).toBe(true);

    const professional = coordinator.getByRole('group', { name: 'Professional 1' });
    await professional.getByLabel('Role').selectOption({ label: 'Independent reviewing officer (IRO)' });
    await professional.getByLabel('Name').fill('Ida Reviewer');
    await professional.getByLabel('E-mail address').fill('ida at partner');
    await clickAndLoad(coordinator.getByRole('button', { name: 'Send the audit' }));
    await onPage(coordinator, 'Distribute the audit');
    expect(await coordinator.title()).toMatch(/^Error: /);
    await coordinator.locator('.govuk-error-summary').getByRole('link', { name: /Professional 1: enter an e-mail address in the correct format/ }).click();
    expect(await coordinator.evaluate(() => document.activeElement?.id)).toBe('other-0-email');
    expect(await professional.getByLabel('Name').inputValue()).toBe('Ida Reviewer');

    await professional.getByLabel('E-mail address').fill('ida.iro@partner.example');
    await clickAndLoad(coordinator.getByRole('button', { name: 'Send the audit' }));
    await onPage(coordinator, 'KF (FB-1)');
    const sent = await panel(coordinator).getByRole('table').innerText();
    for (const expected of ['Tina Manager', 'Team manager', 'Wes Worker', 'Case holder', 'Ida Reviewer', 'Independent reviewing officer (IRO)', 'Quinn QA']) expect(sent).toContain(expected);
    expect(await panel(coordinator).innerText()).toContain("Waiting for the case holder's feedback, due by");
    expect(await coordinator.locator('main').innerText()).toContain('Practitioner feedback requested');
  });

  it('the case holder gives their feedback, with the improvement plan the grade calls for', async () => {
    await holder.goto(`/audits/${t.seeded.auditId}`);
    await onPage(holder, 'KF (FB-1)');
    await clickAndLoad(holder.getByRole('button', { name: 'Give your feedback' }));
    await onPage(holder, 'Post moderation staff and supervisor feedback about this audit');
    expect(await holder.locator('main').innerText()).toContain('Final grade: Requires improvement');

    await holder.getByRole('group', { name: /^Have you discussed it in supervision/ }).getByLabel('Yes', { exact: true }).check();
    await holder.getByLabel('What are your learning points from that audit? (optional)').fill('See the child alone on every visit');
    await clickAndLoad(holder.getByRole('button', { name: 'Save and send' }));
    await onPage(holder, 'Post moderation staff and supervisor feedback about this audit');
    const problem = holder.locator('.govuk-error-summary').getByRole('link', { name: "Enter your improvement plan: the audit's final grade is Requires improvement" });
    expect(await problem.count()).toBe(1);
    expect(await holder.getByLabel('What are your learning points from that audit? (optional)').inputValue()).toBe('See the child alone on every visit');

    const today = new Date();
    const supervision = holder.getByRole('group', { name: /^Date discussed in supervision/ });
    await supervision.getByLabel('Day').fill(String(today.getDate()));
    await supervision.getByLabel('Month').fill(String(today.getMonth() + 1));
    await supervision.getByLabel('Year').fill(String(today.getFullYear()));
    await holder.getByLabel(/please add you improvement plan/).fill('Fortnightly visits and a new chronology by March');
    await clickAndLoad(holder.getByRole('button', { name: 'Save and send' }));
    await onPage(holder, 'KF (FB-1)');
    const given = await panel(holder).innerText();
    expect(given).toContain('Given by Wes Worker');
    expect(given).toContain('See the child alone on every visit');
    expect(given).toContain('Fortnightly visits and a new chronology by March');
    expect(await panel(holder).getByRole('button', { name: 'Change your feedback' }).count()).toBe(1);
    expect(await panel(holder).getByRole('button', { name: 'Close this audit' }).count()).toBe(0);
  });

  it('the QA coordinator reads the feedback, adds comments and closes the audit', async () => {
    await coordinator.goto(`/audits/${t.seeded.auditId}`);
    await onPage(coordinator, 'KF (FB-1)');
    // The IRO has no account, so got no link: the coordinator sends a copy securely and records it.
    await clickAndLoad(panel(coordinator).getByRole('button', { name: 'Record copy sent securely to Ida Reviewer' }));
    await onPage(coordinator, 'KF (FB-1)');
    expect(await panel(coordinator).innerText()).toContain('Copy sent securely by Quinn QA');
    await clickAndLoad(panel(coordinator).getByRole('button', { name: 'Close this audit' }));
    await onPage(coordinator, 'Close the audit');
    expect(await coordinator.locator('main').innerText()).toContain('Fortnightly visits and a new chronology by March');
    await coordinator.getByLabel('Comments (optional)').fill('A thoughtful plan: review it in supervision in March');
    await clickAndLoad(coordinator.getByRole('button', { name: 'Close the audit' }));
    await onPage(coordinator, 'KF (FB-1)');
    expect(await coordinator.locator('main .govuk-tag').first().innerText()).toBe('Closed');
    expect(await panel(coordinator).innerText()).toContain('A thoughtful plan: review it in supervision in March');
    expect(await panel(coordinator).getByRole('button').count()).toBe(0);
  });
});
