import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStatus } from '../src/db/types.ts';

import { selectWork, workDates } from '../src/modules/home/my-work.ts';
import { holidayCalendarFor } from '../src/modules/org/calendar.ts';
import { buildDigest } from '../src/modules/reminders/digest.ts';
import { addDays } from '../src/platform/working-days.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { ukDateAt } from '../src/platform/clock.ts';

/**
 * The HTML of one section of My work, by its key: its table, or its line among the folded empty
 * sections ('' when the page has neither).
 */
function section(html: string, key: string): string {
  return (
    new RegExp(`<section data-section="${key}"[\\s\\S]*?</section>`).exec(html)?.[0] ??
    new RegExp(`<li data-empty-section="${key}">[\\s\\S]*?</li>`).exec(html)?.[0] ??
    ''
  );
}

/** Each row of a section as the text a person reads, in page order. */
function rows(sectionHtml: string): string[] {
  return [...sectionHtml.matchAll(/<tr class="govuk-table__row" data-urgency="[a-z_]+">([\s\S]*?)<\/tr>/g)].map((match) => pageText(match[1]!));
}

function pipelineRow(html: string, status: string) {
  const row = new RegExp(`<tr class="govuk-table__row" data-status="${status}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
  if (!row) return null;
  const cell = (rag: string) => pageText(new RegExp(`data-rag="${rag}">([\\s\\S]*?)</td>`).exec(row)![1]!).replace(/\D.*$/, '');
  return { red: Number(cell('red')), amber: Number(cell('amber')), green: Number(cell('green')) };
}

describe.each(testDrivers())('My work on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const today = ukDateAt(new Date());
  const audits: Record<string, { id: string; reference: number }> = {};
  const actions: Record<string, string> = {};
  const pages: Record<string, string> = {};

  async function audit(name: string, status: AuditStatus, stageDueOn: string | null, parties: { caseHolderId?: string; moderatorId?: string } = {}) {
    const child = await createChild(t.db, council.organisation.id, { externalId: `C-${name}`, initials: name });
    const created = await createAudit(t.db, {
      organisationId: council.organisation.id,
      childId: child.id,
      toolEditionId: tool.editionId,
      auditorId: council.staff.manager1.id,
      caseHolderId: parties.caseHolderId ?? null,
      moderatorId: parties.moderatorId ?? null,
      teamId: council.teams.unit1.id,
      serviceId: council.services.area.id,
      status,
      due: addDays(today, 5),
    });
    await t.db.updateTable('audits').set({ stage_due_on: stageDueOn, stage_started_on: addDays(today, -10) }).where('id', '=', created.id).execute();
    audits[name] = created;
    return { ...created, childId: child.id };
  }

  async function action(name: string, on: string, input: { owner: string; dueOn: string | null; text: string; doneBy?: string }) {
    const target = audits[on]!;
    const row = await t.db.selectFrom('audits').select('child_id').where('id', '=', target.id).executeTakeFirstOrThrow();
    const inserted = await t.db
      .insertInto('actions')
      .values({
        organisation_id: council.organisation.id,
        audit_id: target.id,
        child_id: row.child_id,
        answer_key: 'actions',
        row_index: Object.keys(actions).length,
        text: input.text,
        owner_id: input.owner,
        due_on: input.dueOn,
        ...(input.doneBy ? { status: 'done' as const, done_at: new Date(), evidence: 'Done', done_by: input.doneBy } : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    actions[name] = inserted.id;
  }

  let tool: Awaited<ReturnType<typeof createAuditTool>>;

  async function homeOf(role: keyof SmallCouncil['users']) {
    const client = new TestClient(t.app);
    await client.signIn(council.users[role].email, PASSWORD);
    const response = await client.get('/');
    expect(response.statusCode).toBe(200);
    return response.body;
  }

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    tool = await createAuditTool(t.db, council.organisation.id);
    const { manager1, worker1, worker2, serviceManager } = council.staff;
    // Tina Manager audits all of these; what waits on whom depends on the status.
    await audit('AA', 'allocated', addDays(today, -5));
    await audit('AB', 'in_progress', today);
    await audit('AC', 'returned', addDays(today, 30));
    await audit('AD', 'in_moderation', addDays(today, -1), { moderatorId: serviceManager.id });
    await audit('AE', 'awaiting_feedback', addDays(today, 30), { caseHolderId: worker1.id });
    await audit('AF', 'closed', null, { caseHolderId: worker1.id, moderatorId: serviceManager.id });

    await action('overdue', 'AA', { owner: worker1.id, dueOn: addDays(today, -2), text: 'Book the <core> group' });
    await action('undated', 'AA', { owner: worker1.id, dueOn: null, text: 'Talk to the school' });
    // Done by Wes, due four months ago: Tina (the auditor) verifies it, and it is past the three months.
    await action('toVerify', 'AB', { owner: worker1.id, dueOn: addDays(today, -125), text: 'Update the child plan', doneBy: council.users.practitioner.id });
    // Tina's own action: she never verifies it, and nobody else is asked to here.
    await action('ownAction', 'AB', { owner: manager1.id, dueOn: addDays(today, -125), text: 'Supervise weekly', doneBy: council.users.auditor.id });
    await action('unasOwn', 'AC', { owner: worker2.id, dueOn: addDays(today, 10), text: 'Una visits the family' });

    await t.db
      .insertInto('audit_alerts')
      .values([
        { organisation_id: council.organisation.id, audit_id: audits.AD!.id, staff_id: serviceManager.id, kind: 'inadequate_submitted', created_at: new Date() },
        { organisation_id: council.organisation.id, audit_id: audits.AA!.id, staff_id: serviceManager.id, kind: 'inadequate_submitted', acknowledged_at: new Date() },
      ])
      .execute();

    for (const role of ['auditor', 'moderator', 'practitioner', 'qa_coordinator', 'qa_lead', 'senior_leader'] as const) pages[role] = await homeOf(role);
  }, 120_000);
  afterAll(async () => t?.close());

  const title = (name: string) => `Audit ${audits[name]!.reference}: ${name} (C-${name}), Case file audit`;

  it("shows the auditor the audits with them, tagged by their stage's deadline, and the actions they verify", () => {
    const page = pages.auditor!;
    expect(pageText(page)).toContain('Hello, Tina Manager');
    expect(rows(section(page, 'audits'))).toEqual([
      `${title('AA')} ${formatted(addDays(today, -5))} Overdue`,
      `${title('AB')} ${formatted(today)} Due soon`,
      `${title('AC')} Returned to you for changes ${formatted(addDays(today, 30))} On time`,
    ]);
    expect(section(page, 'audits')).toContain(`href="/audits/${audits.AA!.id}"`);
    const verify = rows(section(page, 'verification'));
    expect(verify).toHaveLength(1);
    expect(verify[0]).toContain('Update the child plan');
    expect(verify[0]).toContain('Overdue');
    expect(section(page, 'verification')).toContain(`href="/actions/${actions.toVerify}"`);
    expect(pageText(section(page, 'moderation'))).toContain('No audits waiting for you to moderate.');
    expect(pageText(section(page, 'actions'))).toContain('No open actions of yours.');
    expect(pageText(section(page, 'alerts'))).toContain('No alerts to acknowledge.');
    expect(pageText(page)).toContain('2 overdue and 1 due soon, of 4 items waiting for you.');
  });

  it('never shows a person what waits on someone else', () => {
    const tina = pageText(pages.auditor!);
    for (const other of ['AD', 'AE', 'AF']) expect(tina).not.toContain(title(other));
    expect(tina).not.toContain('Book the');
    expect(tina).not.toContain('Una visits the family');
    expect(tina).not.toContain('Supervise weekly');

    const wes = pageText(pages.practitioner!);
    for (const other of ['AA', 'AB', 'AC', 'AD']) expect(wes).not.toContain(title(other));
    expect(wes).not.toContain('Update the child plan');

    const sam = pageText(pages.moderator!);
    for (const other of ['AA', 'AB', 'AC', 'AE']) expect(sam).not.toContain(title(other));
  });

  it('shows the moderator what to moderate, linked to the moderation page, and their unacknowledged alerts', () => {
    const page = pages.moderator!;
    expect(rows(section(page, 'moderation'))).toEqual([`${title('AD')} ${formatted(addDays(today, -1))} Overdue`]);
    expect(section(page, 'moderation')).toContain(`href="/audits/${audits.AD!.id}/moderate"`);
    const alerts = rows(section(page, 'alerts'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain(`Audit ${audits.AD!.reference}: AD (C-AD)`);
    expect(alerts[0]).toContain('Inadequate');
    expect(alerts[0]).toContain('Due soon');
    expect(section(page, 'alerts')).toContain(`href="/audits/${audits.AD!.id}"`);
    expect(pageText(section(page, 'audits'))).toContain('No audits for you to carry out.');
  });

  it('shows the case holder the feedback to give and their open actions, escaped as typed', () => {
    const page = pages.practitioner!;
    expect(rows(section(page, 'feedback'))).toEqual([`${title('AE')} ${formatted(addDays(today, 30))} On time`]);
    const own = rows(section(page, 'actions'));
    expect(own).toHaveLength(2);
    expect(own[0]).toContain('Book the <core> group');
    expect(own[0]).toContain('Overdue');
    expect(own[1]).toContain('Talk to the school');
    expect(own[1]).toContain('No date No deadline');
    expect(section(page, 'actions')).toContain('Book the &lt;core&gt; group');
    expect(section(page, 'actions')).toContain(`href="/actions/${actions.overdue}"`);
    // The done action Wes owns is for someone else to verify.
    expect(pageText(section(page, 'verification'))).toContain('No done actions waiting for you to verify.');
  });

  it('shows QA coordinators and leads the pipeline by stage deadline, and nobody else', () => {
    for (const role of ['qa_coordinator', 'qa_lead'] as const) {
      const page = pages[role]!;
      expect(page).toContain('data-pipeline');
      expect(pipelineRow(page, 'allocated')).toEqual({ red: 1, amber: 0, green: 0 });
      expect(pipelineRow(page, 'in_progress')).toEqual({ red: 0, amber: 1, green: 0 });
      expect(pipelineRow(page, 'returned')).toEqual({ red: 0, amber: 0, green: 1 });
      expect(pipelineRow(page, 'in_moderation')).toEqual({ red: 1, amber: 0, green: 0 });
      expect(pipelineRow(page, 'awaiting_feedback')).toEqual({ red: 0, amber: 0, green: 1 });
      expect(pipelineRow(page, 'moderated')).toEqual({ red: 0, amber: 0, green: 0 });
      expect(pipelineRow(page, 'closed')).toBeNull();
      expect(page).toContain('href="/audits?status=allocated&amp;overdue=yes"');
      expect(page).toContain('href="/audits?status=returned"');
      expect(page).toMatch(/<caption[^>]*>Open audits by status/);
    }
    for (const role of ['auditor', 'moderator', 'practitioner', 'senior_leader'] as const) expect(pages[role]!, role).not.toContain('data-pipeline');
  });

  it('says when nothing waits, and shows people without a staff record the links they can use', () => {
    const quinn = pageText(pages.qa_coordinator!);
    expect(quinn).toContain('Nothing is waiting for you.');
    expect(quinn).toContain('No audits for you to carry out.');
    const lead = pages.qa_lead!;
    expect(pageText(lead)).toContain('Your account is not linked to a staff record');
    expect(lead).not.toContain('data-section=');
    expect(lead).toContain('href="/audits/allocate"');
    const leader = pages.senior_leader!;
    expect(leader).toContain('href="/audits"');
    expect(leader).not.toContain('href="/audits/allocate"');
    expect(leader).not.toContain('href="/children/imports/new"');
  });

  it('asks whoever recorded a case direction to review it, by its review date, until it is reviewed, and reminds them', async () => {
    const { childId } = await audit('AG', 'awaiting_feedback', addDays(today, 30));
    const dueOn = addDays(today, -3);
    await t.db
      .insertInto('case_directions')
      .values({
        organisation_id: council.organisation.id,
        audit_id: audits.AG!.id,
        child_id: childId,
        direction: 'Step up',
        directed_by: council.users.moderator.id,
        directed_by_label: 'Sam Service',
        directed_on: addDays(today, -33),
        review_due_on: dueOn,
      })
      .execute();
    const item = `Audit ${audits.AG!.reference}: AG (C-AG) Review the actions of your case direction ${formatted(dueOn)} Overdue`;
    const sams = await homeOf('moderator');
    expect(rows(section(sams, 'case_directions'))).toEqual([item]);
    expect(section(sams, 'case_directions')).toContain(`href="/audits/${audits.AG!.id}#escalation"`);
    expect(pageText(section(sams, 'case_directions'))).toContain('Case directions to review');
    for (const role of ['auditor', 'practitioner', 'qa_coordinator'] as const) {
      const other = await homeOf(role);
      expect(pageText(section(other, 'case_directions')), role).toContain('No case directions waiting for your review.');
    }

    // The daily digest asks the same questions: the review is in Sam's reminder.
    const dates = workDates(today, await holidayCalendarFor(t.db, council.organisation.id));
    const reminded = await selectWork(t.db, { organisationId: council.organisation.id, dueBy: dates.dueSoonBy }, dates);
    const digest = buildDigest({ staffId: council.staff.serviceManager.id, name: 'Sam Service', email: 'sam@example.test' }, reminded.filter((work) => work.staffId === council.staff.serviceManager.id), { dueBy: dates.dueSoonBy, serviceName: 'Assure' });
    expect(digest.text).toContain('Case directions to review (1)');
    expect(digest.text).toContain(`/audits/${audits.AG!.id}#escalation`);

    await t.db.updateTable('case_directions').set({ reviewed_at: new Date(), reviewed_by: council.users.moderator.id, review_notes: 'Reviewed' }).where('audit_id', '=', audits.AG!.id).execute();
    expect(pageText(section(await homeOf('moderator'), 'case_directions'))).toContain('No case directions waiting for your review.');
    const after = await selectWork(t.db, { organisationId: council.organisation.id, dueBy: dates.dueSoonBy }, dates);
    expect(after.some((work) => work.section === 'case_directions')).toBe(false);
  });

  it('logs each look at My work', async () => {
    const logged = () =>
      t.db.selectFrom('activity_log').select(['summary']).where('record_type', '=', 'my_work').where('user_id', '=', council.users.auditor.id).orderBy('id').execute();
    const before = await logged();
    const client = new TestClient(t.app);
    await client.signIn(council.users.auditor.email, PASSWORD);
    await client.get('/');
    const after = await logged();
    expect(after.length).toBeGreaterThan(before.length);
    expect(after.at(-1)!.summary).toBe('4 items waiting');
  });
});

/** '2026-11-24' as a person reads it on the page: '24 November 2026'. */
function formatted(date: string): string {
  return new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
}
