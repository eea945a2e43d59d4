import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import type { AuditStatus } from '../../src/db/types.ts';
import { allocateAudit } from '../../src/modules/audits/allocation.ts';
import { DETAILS_PAGE, pageFields } from '../../src/modules/audits/form/answers.ts';
import { formPages, openForm, prefilledAnswers, saveSection, submitAudit, type FormActor } from '../../src/modules/audits/form/form.ts';
import { moderateAudit, moderationItems, openModeration } from '../../src/modules/audits/moderation/moderation.ts';
import { createStaff, createUser } from '../../src/modules/org/service.ts';
import { loadBuiltInTools } from '../../src/modules/tools/library.ts';
import { loadPrincipal } from '../../src/platform/auth/queries.ts';
import { addCalendarMonths, addDays } from '../../src/platform/working-days.ts';
import { builtInTool } from '../support/audit-flow.ts';
import { createAudit, createChild } from '../support/audits.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from '../support/fixtures.ts';
import { completeModeratorsPart, completePage } from '../support/form-fields.ts';
import { clickAndLoad, describeInBrowser, expectNoAxeViolations, signIn, startBrowserApp, verifyOnPage, type BrowserApp } from './support.ts';
import { ukDateAt } from '../../src/platform/clock.ts';

/**
 * The later stages in Chromium: "My work", Inadequate escalation (alert, case direction and its
 * review, re-audits), actions marked done and verified, and the council's timescales. Every
 * page and every error state is scanned with axe. The tests run in order, as the journey does:
 * the review follows the case direction, the verification follows the action marked done.
 */

const BRISTOL = 'bristol-child-case-audit';
const BOLTON = 'bolton-collaborative-case-audit';
const RHEA_EMAIL = 'rhea.review@testshire.example';

// What people type, over several lines and with markup characters: shown back exactly as typed.
const DIRECTION = 'Step up to a strategy discussion <b>today</b>.\nSee the child alone & record their wishes.';
const REVIEW_NOTES = 'Visits happen weekly.\nThe plan now names who does what.';
const EVIDENCE = 'Plan updated on 3 March.\nSee the case note & the <plan> on file.';
const VERIFICATION = 'Read the plan with Wes.\nIt names who does what.';

type AuditRef = { id: string; reference: number; externalId: string };

type Seeded = {
  council: SmallCouncil;
  audits: {
    /** Bristol, by Tina, submitted Inadequate: Sam is alerted. */
    alerted: AuditRef;
    /** Bristol, by Tina, moderated Inadequate: the case direction is Sam's to record; Rhea re-audits it. */
    directed: AuditRef;
    /** The re-audit of `directed`, allocated at once to Rhea. */
    reAudit: AuditRef;
    /** Bristol, by Rhea, of Tina's own case, moderated Inadequate: nobody qualified to re-audit it. */
    unallocated: AuditRef;
    /** Bolton, by Rhea, of Wes's case, submitted Inadequate: Bolton alerts the team manager, Tina, too. */
    bolton: AuditRef;
    /** Tina's items written straight in: an audit to do, one to moderate, feedback to give. */
    toDo: AuditRef;
    toModerate: AuditRef;
    feedback: AuditRef;
  };
  /** Tina's own open action, and Wes's done action on her audit for her to verify. */
  actions: { own: string; toVerify: string };
};

const today = ukDateAt(new Date());

async function seed(db: Db): Promise<Seeded> {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const { manager1, worker1, serviceManager } = council.staff;
  await loadBuiltInTools(db, org);
  const bristol = await builtInTool(db, org, BRISTOL);
  const bolton = await builtInTool(db, org, BOLTON);
  const bristolEdition = await db.selectFrom('audit_tool_editions').select('id').where('tool_id', '=', bristol.toolId).orderBy('edition', 'desc').executeTakeFirstOrThrow();
  // A second team manager who audits: the re-auditor the rule chooses.
  const rhea = await createStaff(db, { organisationId: org, fullName: 'Rhea Review', jobTitle: 'Team Manager', teamId: council.teams.unit2.id, staffNumber: 'S102', email: 'rhea@testshire.example' });
  const rheaUser = await createUser(db, { organisationId: org, email: RHEA_EMAIL, displayName: 'Rhea Review', password: PASSWORD, staffId: rhea.id, grants: [{ role: 'auditor', scope: 'team' }] });
  const actorOf = async (userId: string): Promise<FormActor> => ({ principal: (await loadPrincipal(db, userId))!, ipAddress: null, at: new Date() });
  const coordinator = await actorOf(council.users.qa_coordinator.id);
  const sam = await actorOf(council.users.moderator.id);
  const actors = { [manager1.id]: await actorOf(council.users.auditor.id), [rhea.id]: await actorOf(rheaUser.id) };

  const refOf = async (id: string): Promise<AuditRef> => {
    const row = await db.selectFrom('audits').innerJoin('children', 'children.id', 'audits.child_id').select(['audits.reference', 'children.external_id']).where('audits.id', '=', id).executeTakeFirstOrThrow();
    return { id, reference: row.reference, externalId: row.external_id };
  };

  /** Allocated through the allocation service, filled in through the form's services and submitted with the overall grade given. */
  const submitted = async (externalId: string, key: 'bristol' | 'bolton', auditorId: string, workerId: string, overall: string) => {
    const { toolId, tool } = key === 'bristol' ? bristol : bolton;
    const child = await createChild(db, org, { externalId, initials: 'EI', teamId: council.teams.unit1.id, workerId });
    const allocated = await allocateAudit(db, coordinator, { childId: child.id, toolId, auditorId });
    if (!allocated.ok) throw new Error(JSON.stringify(allocated.errors));
    const id = allocated.audit.id;
    const actor = actors[auditorId]!;
    for (const page of formPages(tool)) {
      const form = await openForm(db, actor.principal, id, ukDateAt(actor.at));
      const prefilled = page === DETAILS_PAGE ? pageFields(tool, page, await prefilledAnswers(db, form)) : {};
      const fields = { ...completePage(tool, page, { staffId: worker1.id, today }), ...prefilled };
      if (tool.overall && tool.overall.answer in fields) fields[tool.overall.answer] = overall;
      const saved = await saveSection(db, actor, id, page, fields, form.version);
      if (!saved.ok) throw new Error(`${page}: ${JSON.stringify(saved)}`);
    }
    const done = await submitAudit(db, actor, id, (await openForm(db, actor.principal, id, ukDateAt(actor.at))).version);
    if (!done.ok) throw new Error(JSON.stringify(done));
    return id;
  };

  /** Sam moderates, keeping every grade the auditor gave. */
  const moderated = async (id: string) => {
    const moderation = await openModeration(db, sam.principal, id, ukDateAt(sam.at));
    const grades = Object.fromEntries(moderationItems(moderation).map((item) => [`grade-${item.key}`, item.auditorGrade ?? '']));
    const theirs = completeModeratorsPart(moderation.moderatorsPart.tool, { staffId: worker1.id, today: ukDateAt(sam.at), overall: grades['grade-overall'] });
    const outcome = await moderateAudit(db, sam, id, { ...grades, ...theirs }, moderation.version);
    if (!outcome.ok) throw new Error(JSON.stringify(outcome));
    return id;
  };

  const alerted = await submitted('ESC-1', 'bristol', manager1.id, worker1.id, 'inadequate');
  const directed = await moderated(await submitted('ESC-2', 'bristol', manager1.id, worker1.id, 'inadequate'));
  const reAudit = await db.selectFrom('audits').select('id').where('re_audit_of', '=', directed).executeTakeFirstOrThrow();
  // Rhea audits Tina's own case: Tina holds it, Sam moderates it, so no second auditor qualifies.
  const unallocated = await moderated(await submitted('ESC-3', 'bristol', rhea.id, manager1.id, 'inadequate'));
  const boltonAudit = await submitted('ESC-4', 'bolton', rhea.id, worker1.id, 'inadequate');

  // What waits on Tina in the other parts of her job, written straight in.
  const written = async (externalId: string, status: AuditStatus, stageDueOn: string, parties: { auditorId: string; moderatorId?: string; caseHolderId?: string }) => {
    const child = await createChild(db, org, { externalId, initials: 'MW', teamId: council.teams.unit1.id, workerId: worker1.id });
    const audit = await createAudit(db, {
      organisationId: org,
      childId: child.id,
      toolEditionId: bristolEdition.id,
      teamId: council.teams.unit1.id,
      serviceId: council.services.area.id,
      status,
      ...parties,
    });
    await db.updateTable('audits').set({ stage_due_on: stageDueOn, stage_started_on: addDays(today, -10) }).where('id', '=', audit.id).execute();
    return { id: audit.id, childId: child.id };
  };
  const toDo = await written('MW-1', 'allocated', addDays(today, -3), { auditorId: manager1.id, caseHolderId: worker1.id });
  const toModerate = await written('MW-2', 'in_moderation', addDays(today, -1), { auditorId: rhea.id, moderatorId: manager1.id });
  const feedback = await written('MW-3', 'awaiting_feedback', addDays(today, 20), { auditorId: rhea.id, caseHolderId: manager1.id, moderatorId: serviceManager.id });
  await db
    .insertInto('case_directions')
    .values({
      organisation_id: org,
      audit_id: feedback.id,
      child_id: feedback.childId,
      direction: 'Hold a strategy discussion',
      directed_by: council.users.auditor.id,
      directed_by_label: 'Tina Manager',
      directed_on: addDays(today, -20),
      review_due_on: addDays(today, 10),
    })
    .execute();
  const [ownAction, toVerify] = await db
    .insertInto('actions')
    .values([
      { organisation_id: org, audit_id: toDo.id, child_id: toDo.childId, answer_key: 'actions', row_index: 0, text: 'Supervise the <plan> fortnightly', owner_id: manager1.id, due_on: addDays(today, 1) },
      {
        organisation_id: org,
        audit_id: toDo.id,
        child_id: toDo.childId,
        answer_key: 'actions',
        row_index: 1,
        text: 'Update the chronology',
        owner_id: worker1.id,
        due_on: addDays(today, -100),
        status: 'done',
        done_at: new Date(),
        done_by: council.users.practitioner.id,
        evidence: 'Chronology updated',
      },
    ])
    .returning('id')
    .execute();

  return {
    council,
    audits: {
      alerted: await refOf(alerted),
      directed: await refOf(directed),
      reAudit: await refOf(reAudit.id),
      unallocated: await refOf(unallocated),
      bolton: await refOf(boltonAudit),
      toDo: await refOf(toDo.id),
      toModerate: await refOf(toModerate.id),
      feedback: await refOf(feedback.id),
    },
    actions: { own: ownAction!.id, toVerify: toVerify!.id },
  };
}

describeInBrowser('the later stages in Chromium: my work, escalation, actions and timescales', () => {
  let t: BrowserApp<Seeded>;
  const pages: Partial<Record<'tina' | 'sam' | 'wes' | 'quinn' | 'rhea' | 'ada', Page>> = {};

  beforeAll(async () => {
    t = await startBrowserApp(seed);
  }, 120_000);
  afterAll(async () => t?.close());

  /** One signed-in page per person, opened the first time they are needed. */
  async function as(who: keyof typeof pages): Promise<Page> {
    const existing = pages[who];
    if (existing) return existing;
    const { users } = t.seeded.council;
    const email = { tina: users.auditor.email, sam: users.moderator.email, wes: users.practitioner.email, quinn: users.qa_coordinator.email, rhea: RHEA_EMAIL, ada: users.administrator.email }[who];
    const page = await t.newPage();
    await signIn(page, email, PASSWORD);
    pages[who] = page;
    return page;
  }

  /** Checks the page's heading and scans it: every page and error state is scanned. */
  async function onPage(page: Page, heading: string | RegExp) {
    await verifyOnPage(page, heading);
    await expectNoAxeViolations(page);
  }

  /** An error state: "Error:" in the title, and each message in the summary links to its field, which takes the focus. */
  async function expectErrors(page: Page, heading: string, problems: { message: string | RegExp; field: string }[]) {
    await onPage(page, heading);
    expect(await page.title()).toMatch(/^Error: /);
    const summary = page.locator('.govuk-error-summary');
    expect(await summary.count()).toBe(1);
    expect(await summary.getByRole('link').count()).toBe(problems.length);
    for (const { message, field } of problems) {
      const link = summary.getByRole('link', { name: message });
      expect(await link.getAttribute('href'), String(message)).toBe(`#${field}`);
      expect(await page.locator(`#${field}`).count(), `#${field}`).toBe(1);
      await link.click();
      expect(await page.evaluate(() => document.activeElement?.id ?? ''), String(message)).toBe(field);
    }
  }

  const escalation = (page: Page) => page.locator('#escalation');
  /** The value of the summary-list row with this key. */
  const summaryValue = (within: Locator, key: string) =>
    within.locator('.govuk-summary-list__row').filter({ has: within.page().locator('dt', { hasText: new RegExp(`^\\s*${key}\\s*$`) }) }).locator('dd.govuk-summary-list__value');
  /** The rows of a section of My work, as read. */
  const workRows = (page: Page, section: string) => page.locator(`[data-section="${section}"] tbody tr`).allInnerTexts();

  it('shows the auditor on My work every kind of item waiting on her, each tagged and linked', async () => {
    const page = await as('tina');
    await page.goto('/');
    await onPage(page, 'Hello, Tina Manager');
    const { audits } = t.seeded;
    const expected: Record<string, { text: string; href: string; tag: string }> = {
      alerts: { text: `Audit ${audits.bolton.reference}: EI (ESC-4)`, href: `/audits/${audits.bolton.id}`, tag: 'Due soon' },
      audits: { text: `Audit ${audits.toDo.reference}: MW (MW-1)`, href: `/audits/${audits.toDo.id}`, tag: 'Overdue' },
      moderation: { text: `Audit ${audits.toModerate.reference}: MW (MW-2)`, href: `/audits/${audits.toModerate.id}/moderate`, tag: 'Overdue' },
      feedback: { text: `Audit ${audits.feedback.reference}: MW (MW-3)`, href: `/audits/${audits.feedback.id}/feedback`, tag: 'On time' },
      case_directions: { text: 'Review the actions of your case direction', href: `/audits/${audits.feedback.id}#escalation`, tag: 'On time' },
      actions: { text: 'Supervise the <plan> fortnightly', href: `/actions/${t.seeded.actions.own}`, tag: 'Due soon' },
      verification: { text: 'Update the chronology', href: `/actions/${t.seeded.actions.toVerify}`, tag: 'Overdue' },
    };
    for (const [section, item] of Object.entries(expected)) {
      const rows = await workRows(page, section);
      const row = rows.find((text) => text.includes(item.text));
      expect(row, `${section}: ${rows.join(' | ')}`).toBeDefined();
      expect(row, section).toContain(item.tag);
      expect(await page.locator(`[data-section="${section}"] a[href="${item.href}"]`).count(), section).toBe(1);
    }
    // Her own audits already submitted wait on others, not on her.
    expect((await workRows(page, 'audits')).join(' ')).not.toContain('ESC-1');
    // Overdue: MW-1, MW-2 and the action to verify; due soon: the alert raised today and her action due tomorrow.
    expect(await page.getByTestId('work-summary').innerText()).toMatch(/^3 overdue and 2 due soon, of 7 items waiting for you\./);

    // The section links jump to their section; an item's link opens where she acts on it.
    await page.getByRole('navigation', { name: 'Sections of my work' }).getByRole('link', { name: /^To verify \(1\)$/ }).click();
    expect(new URL(page.url()).hash).toBe('#verification');
    await clickAndLoad(page.locator('[data-section="verification"]').getByRole('link', { name: /Action from audit/ }));
    await onPage(page, 'Action');
    expect(await page.getByTestId('action-text').innerText()).toBe('Update the chronology');
    expect(await page.getByLabel('Verify this action').count()).toBe(1);
  });

  it('shows the QA coordinator the audit pipeline, its overdue counts linked to the tracker', async () => {
    const page = await as('quinn');
    await page.goto('/');
    await onPage(page, 'Hello, Quinn QA');
    // What waits on her is the coordinator's own work (moderated audits to distribute), nothing else.
    expect(await page.getByTestId('work-summary').innerText()).toMatch(/items? waiting for you/);
    expect(await page.locator('[data-section]').count()).toBe(await page.locator('[data-section="distribute"], [data-section="close"]').count());
    expect(await page.locator('[data-section="distribute"] tbody tr').count()).toBeGreaterThan(0);
    const pipeline = page.getByRole('table', { name: /^Open audits by status/ });
    const row = (label: string) => pipeline.getByRole('row').filter({ has: page.getByRole('rowheader', { name: label, exact: true }) });
    const cells = async (label: string) => (await row(label).getByRole('cell').allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());
    // Allocated: Tina's MW-1 overdue, Rhea's re-audit on time. In moderation: MW-2 overdue, ESC-1 and ESC-4 on time.
    expect(await cells('Allocated')).toEqual(['1 allocated overdue', '0', '1', '2']);
    expect(await cells('In moderation')).toEqual(['1 in moderation overdue', '0', '2', '3']);
    expect(await cells('Moderated')).toEqual(['0', '0', '2', '2']);
    expect(await cells('Awaiting feedback')).toEqual(['0', '0', '1', '1']);

    // The red count looks like a link: the element drawing the digit is underlined.
    const overdue = row('Allocated').getByRole('link', { name: '1 allocated overdue' });
    const digit = overdue.locator('xpath=(.//text()[normalize-space()="1"])[1]/..');
    expect(await digit.evaluate((element) => getComputedStyle(element).textDecorationLine)).toContain('underline');
    await clickAndLoad(overdue);
    const url = new URL(page.url());
    expect(url.pathname).toBe('/audits');
    expect(url.searchParams.get('status')).toBe('allocated');
    expect(url.searchParams.get('overdue')).toBe('yes');
    await verifyOnPage(page, /audit/i);
    const listed = await page.locator('[data-testid="audits"] tbody tr').allInnerTexts();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toContain('MW-1');
  });

  it('the service manager acknowledges the Inadequate alert on the audit page, and it leaves her My work', async () => {
    const page = await as('sam');
    const { alerted } = t.seeded.audits;
    await page.goto('/');
    await onPage(page, 'Hello, Sam Service');
    expect((await workRows(page, 'alerts')).join(' ')).toContain(`Audit ${alerted.reference}: EI (ESC-1)`);
    await clickAndLoad(page.locator('[data-section="alerts"]').getByRole('link', { name: `Audit ${alerted.reference}: EI (ESC-1)` }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${alerted.id}`);
    await onPage(page, 'EI (ESC-1)');
    const panel = escalation(page);
    expect(await panel.getByRole('heading', { level: 2 }).innerText()).toBe('Inadequate: escalation');
    const alertRow = panel.getByRole('table', { name: 'Who was alerted' }).getByRole('row').filter({ hasText: 'Sam Service (you)' });
    expect(await alertRow.innerText()).toMatch(/Submitted Inadequate.*Not yet$/s);

    await clickAndLoad(panel.getByRole('button', { name: 'Acknowledge' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${alerted.id}`);
    await onPage(page, 'EI (ESC-1)');
    expect(await alertRow.innerText()).not.toContain('Not yet');
    expect(await alertRow.getByRole('cell').last().innerText()).toMatch(/\d{4} at \d{1,2}:\d{2}/);
    expect(await escalation(page).getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

    await page.goto('/');
    await onPage(page, 'Hello, Sam Service');
    expect((await workRows(page, 'alerts')).join(' ')).not.toContain('ESC-1');
  });

  it('the service manager records the case direction, after a try with "ASAP" as a due date is refused', async () => {
    const page = await as('sam');
    const { directed } = t.seeded.audits;
    await page.goto(`/audits/${directed.id}`);
    await onPage(page, 'EI (ESC-2)');
    expect(await escalation(page).innerText()).toContain('The final grade is Inadequate: the service manager, Sam Service, records a case direction');
    await clickAndLoad(escalation(page).getByRole('button', { name: 'Record the case direction' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${directed.id}/case-direction`);
    await onPage(page, 'Record the case direction');

    const action = (n: number) => page.getByRole('group', { name: `Action ${n}`, exact: true });
    await action(1).getByLabel('What must be done').fill('Visit the child weekly');
    await action(1).getByLabel('Who will do it').selectOption({ label: 'Wes Worker, Social Worker' });
    await action(1).getByLabel('Day').fill('ASAP');
    await action(2).getByLabel('Who will do it').selectOption({ label: 'Tina Manager, Team Manager' });
    await clickAndLoad(page.getByRole('button', { name: 'Save the case direction' }));

    expect(new URL(page.url()).pathname).toBe(`/audits/${directed.id}/case-direction`);
    await expectErrors(page, 'Record the case direction', [
      { message: 'Enter the case direction', field: 'direction' },
      { message: 'Enter by when for action 1 as a date, like 27 3 2027', field: 'action-0-due-day' },
      { message: 'Enter what must be done for action 2', field: 'action-1-text' },
      { message: 'Enter a date for by when for action 2', field: 'action-1-due-day' },
    ]);
    // Each field says its own problem, and what was typed is still there.
    expect(await page.locator('#direction-error').innerText()).toContain('Enter the case direction');
    expect(await page.locator('#action-0-due-error').innerText()).toContain('Enter by when for action 1 as a date, like 27 3 2027');
    expect(await action(1).getByLabel('What must be done').inputValue()).toBe('Visit the child weekly');
    expect(await action(1).getByLabel('Day').inputValue()).toBe('ASAP');
    expect(await action(2).getByLabel('Who will do it').inputValue()).toBe(t.seeded.council.staff.manager1.id);

    const due = new Date(`${addDays(today, 14)}T12:00:00Z`);
    await page.getByLabel('Case direction').fill(DIRECTION);
    await action(1).getByLabel('Day').fill(String(due.getUTCDate()));
    await action(1).getByLabel('Month').fill(String(due.getUTCMonth() + 1));
    await action(1).getByLabel('Year').fill(String(due.getUTCFullYear()));
    await action(2).getByLabel('Who will do it').selectOption('');
    await clickAndLoad(page.getByRole('button', { name: 'Save the case direction' }));

    expect(new URL(page.url()).pathname).toBe(`/audits/${directed.id}`);
    await onPage(page, 'EI (ESC-2)');
    const direction = escalation(page).locator('#case-direction');
    // Shown as typed: escaped, each line on its own line and nothing more.
    expect(await summaryValue(direction, 'Direction').innerText()).toBe(DIRECTION);
    expect(await summaryValue(direction, 'Directed by').innerText()).toMatch(/^Sam Service on \d/);
    expect(await summaryValue(direction, 'Review due').innerText()).toBe(formatted(addCalendarMonths(today, 1)));
    const actions = await escalation(page).getByRole('table', { name: 'Actions of the case direction' }).locator('tbody tr').allInnerTexts();
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatch(new RegExp(`Visit the child weekly\\s+Wes Worker\\s+${formatted(addDays(today, 14))}\\s+Open`));
    expect(await escalation(page).getByRole('button', { name: 'Record the case direction' }).count()).toBe(0);
  });

  it('the service manager reviews the case direction on the audit page, after a try without notes is refused', async () => {
    const page = await as('sam');
    const { directed } = t.seeded.audits;
    await page.goto(`/audits/${directed.id}`);
    await onPage(page, 'EI (ESC-2)');
    expect(await escalation(page).getByRole('heading', { name: 'Review the case direction' }).count()).toBe(1);
    await clickAndLoad(escalation(page).getByRole('button', { name: 'Save the review' }));

    expect(new URL(page.url()).pathname).toBe(`/audits/${directed.id}/case-direction/review`);
    await expectErrors(page, 'Review the case direction', [{ message: 'Enter your review notes: how the actions stand and what happens next', field: 'reviewNotes' }]);
    expect(await page.locator('#reviewNotes-error').innerText()).toContain('Enter your review notes');
    const actions = await page.getByRole('table', { name: "The direction's actions as they stand" }).locator('tbody tr').allInnerTexts();
    expect(actions).toEqual([expect.stringMatching(/^Visit the child weekly\s+Wes Worker\s+.+\s+Open$/)]);

    await page.getByLabel('Review notes').fill(REVIEW_NOTES);
    expect(await summaryValue(page.locator('main'), 'Direction').innerText()).toBe(DIRECTION);
    await clickAndLoad(page.getByRole('button', { name: 'Save the review' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${directed.id}`);
    await onPage(page, 'EI (ESC-2)');
    const direction = escalation(page).locator('#case-direction');
    expect(await summaryValue(direction, 'Reviewed by').innerText()).toMatch(/^Sam Service on \d/);
    expect(await summaryValue(direction, 'Review notes').innerText()).toBe(REVIEW_NOTES);
    expect(await summaryValue(direction, 'Direction').innerText()).toBe(DIRECTION);
    expect(await direction.innerText()).not.toContain('Review due');
    expect(await escalation(page).getByRole('button', { name: 'Save the review' }).count()).toBe(0);
  });

  it('the second auditor finds the re-audit on its audit page and task list, against the first audit and its actions', async () => {
    const page = await as('rhea');
    const { directed, reAudit } = t.seeded.audits;
    await page.goto(`/audits/${reAudit.id}`);
    await onPage(page, 'EI (ESC-2)');
    const panel = escalation(page);
    expect(await panel.getByRole('heading', { level: 2 }).innerText()).toBe('Re-audit');
    expect(await panel.locator('#re-audit-of').innerText()).toBe(`Re-audit of audit ${directed.reference} (graded Inadequate)`);
    expect(await panel.innerText()).toContain('Desktop only: not completed with the worker');
    const reviewed = await panel.getByRole('table', { name: `Actions of audit ${directed.reference}` }).locator('tbody tr').allInnerTexts();
    expect(reviewed.some((row) => /Visit the child weekly\s+Case direction/.test(row)), reviewed.join(' | ')).toBe(true);

    await clickAndLoad(page.getByRole('button', { name: 'Start the audit' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${reAudit.id}/form`);
    await onPage(page, 'Complete the audit of EI (ESC-2)');
    expect(await page.locator('#re-audit-of').innerText()).toBe(`Re-audit of audit ${directed.reference} (graded Inadequate)`);
    expect(await page.getByRole('heading', { level: 2, name: `Actions to review from audit ${directed.reference}` }).count()).toBe(1);
  });

  it('the QA coordinator allocates the re-audit no auditor qualified for, after a try without a choice is refused', async () => {
    const page = await as('quinn');
    const { unallocated } = t.seeded.audits;
    await page.goto(`/audits/${unallocated.id}`);
    await onPage(page, 'EI (ESC-3)');
    expect(await escalation(page).innerText()).toContain('No auditor could be found for the re-audit. The QA coordinator must allocate one.');
    await clickAndLoad(escalation(page).getByRole('link', { name: 'Allocate the re-audit' }));
    expect(new URL(page.url()).pathname).toBe(`/audits/${unallocated.id}/re-audit`);
    await onPage(page, 'Allocate the re-audit');
    const choices = await page.getByLabel('Second auditor').locator('option').allInnerTexts();
    expect(choices).toContain('Quinn QA, QA Social Worker');
    for (const excluded of ['Rhea Review', 'Tina Manager', 'Sam Service']) expect(choices.join(' | ')).not.toContain(excluded);

    await clickAndLoad(page.getByRole('button', { name: 'Allocate the re-audit' }));
    await expectErrors(page, 'Allocate the re-audit', [{ message: 'Choose the auditor who will re-audit the case from the list', field: 'auditorId' }]);
    expect(await page.locator('#auditorId-error').innerText()).toContain('Choose the auditor');

    await page.getByLabel('Second auditor').selectOption({ label: 'Quinn QA, QA Social Worker' });
    await clickAndLoad(page.getByRole('button', { name: 'Allocate the re-audit' }));
    const reAudit = await t.db.selectFrom('audits').select('id').where('re_audit_of', '=', unallocated.id).executeTakeFirstOrThrow();
    expect(new URL(page.url()).pathname).toBe(`/audits/${reAudit.id}`);
    await onPage(page, 'EI (ESC-3)');
    expect(await escalation(page).locator('#re-audit-of').innerText()).toBe(`Re-audit of audit ${unallocated.reference} (graded Inadequate)`);
    expect(await page.locator('main .govuk-summary-list').first().innerText()).toMatch(/Auditor\s+Quinn QA/);
  });

  it('the case holder marks an action done with evidence, after a try without evidence is refused', async () => {
    const page = await as('wes');
    await page.goto('/my-actions');
    await onPage(page, 'My actions');
    const rows = page.getByTestId('actions').locator('tbody tr');
    // The case direction's action is Wes's alongside those the audits agreed.
    expect((await rows.allInnerTexts()).some((row) => row.includes('Visit the child weekly'))).toBe(true);
    const first = await t.db
      .selectFrom('actions')
      .select(['id', 'text'])
      .where('audit_id', '=', t.seeded.audits.alerted.id)
      .where('source', '=', 'action_plan')
      .orderBy('row_index')
      .executeTakeFirstOrThrow();
    await clickAndLoad(page.getByTestId('actions').locator(`a[href="/actions/${first.id}"]`));
    await onPage(page, 'Action');
    expect(await page.getByTestId('action-text').innerText()).toBe(first.text);
    await clickAndLoad(page.getByRole('button', { name: 'Mark as done' }));

    await expectErrors(page, 'Action', [{ message: 'Enter the evidence that the action is done', field: 'evidence' }]);
    expect(await page.locator('#evidence-error').innerText()).toContain('Enter the evidence that the action is done');

    await page.getByLabel('Mark this action as done').fill(EVIDENCE);
    await clickAndLoad(page.getByRole('button', { name: 'Mark as done' }));
    expect(new URL(page.url()).pathname).toBe(`/actions/${first.id}`);
    await onPage(page, 'Action');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Action marked as done');
    expect(await page.locator('main .govuk-summary-list').first().innerText()).toMatch(/Status\s+Done, awaiting verification/);
    expect(await page.getByTestId('evidence').innerText()).toBe(EVIDENCE);
    expect(await page.getByTestId('verify-by-someone-else').innerText()).toBe('Someone other than you will verify this action.');
    expect(await page.getByRole('button', { name: 'Mark as done' }).count()).toBe(0);
  });

  it('the auditor finds the done action in the list of actions and verifies it', async () => {
    const page = await as('tina');
    await page.goto('/actions');
    await onPage(page, 'Actions');
    await page.getByLabel('Status').selectOption({ label: 'Done, awaiting verification' });
    await clickAndLoad(page.getByRole('button', { name: 'Apply filters' }));
    await onPage(page, 'Actions');
    expect(new URL(page.url()).searchParams.get('status')).toBe('done');
    const listed = page.getByTestId('actions').locator('tbody tr').filter({ hasText: 'ESC-1' });
    expect(await listed.count()).toBe(1);
    expect(await listed.innerText()).toContain('Done, awaiting verification');

    await clickAndLoad(listed.getByRole('link'));
    await onPage(page, 'Action');
    expect(await page.getByTestId('evidence').innerText()).toBe(EVIDENCE);
    await page.getByLabel('Verify this action').fill(VERIFICATION);
    await clickAndLoad(page.getByRole('button', { name: 'Verify action' }));
    await onPage(page, 'Action');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Action verified');
    expect(await page.locator('main .govuk-summary-list').first().innerText()).toMatch(/Status\s+Verified/);
    expect(await page.getByTestId('verification-note').innerText()).toBe(VERIFICATION);
    expect(await page.locator('main').innerText()).toMatch(/Verified\s+.+ by Tina Manager/);
    expect(await page.getByRole('button', { name: 'Verify action' }).count()).toBe(0);

    // The audit's page shows it verified among its agreed actions.
    await page.goto(`/audits/${t.seeded.audits.alerted.id}`);
    await onPage(page, /ESC-1/);
    const agreed = page.getByTestId('audit-actions').locator('tbody tr').filter({ hasText: 'Verified' });
    expect(await agreed.count()).toBe(1);
  });

  it("the administrator saves the council's timescales, after a try with a word and a blank is refused", async () => {
    const page = await as('ada');
    await page.goto('/organisation/timescales');
    await onPage(page, 'Timescales');
    expect(await page.locator('main').innerText()).toContain('These are Bristol’s timescales');
    expect(await page.getByLabel('Auditor', { exact: true }).inputValue()).toBe('10');

    await page.getByLabel('Auditor', { exact: true }).fill('ten');
    await page.getByLabel('Re-audit', { exact: true }).fill('');
    await clickAndLoad(page.getByRole('button', { name: 'Save timescales' }));
    await expectErrors(page, 'Timescales', [
      { message: 'The auditor timescale must be a whole number of working days, like 10', field: 'auditorDays' },
      { message: 'Enter the re-audit timescale in weeks', field: 'reAuditWeeks' },
    ]);
    expect(await page.locator('#auditorDays-error').innerText()).toContain('must be a whole number');
    expect(await page.getByLabel('Auditor', { exact: true }).inputValue()).toBe('ten');

    await page.getByLabel('Auditor', { exact: true }).fill('15');
    await page.getByLabel('Re-audit', { exact: true }).fill('6');
    await clickAndLoad(page.getByRole('button', { name: 'Save timescales' }));
    expect(new URL(page.url()).pathname).toBe('/organisation/timescales');
    await onPage(page, 'Timescales');
    expect(await page.locator('.govuk-notification-banner').innerText()).toContain('Timescales saved: stages that start from now on follow them');
    expect(await page.getByLabel('Auditor', { exact: true }).inputValue()).toBe('15');
    expect(await page.getByLabel('Re-audit', { exact: true }).inputValue()).toBe('6');
    expect(await page.locator('main').innerText()).not.toContain('These are Bristol’s timescales');
  });
});

/** '2026-11-24' as a person reads it on the page: '24 November 2026'. */
function formatted(date: string): string {
  return new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
}
