import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { transitionAudit, TransitionRefused, type TransitionRefusal } from '../src/modules/audits/transitions.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { completeAndSubmit } from './support/audit-flow.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { ukDateAt } from '../src/platform/clock.ts';

const BRISTOL = 'bristol-child-case-audit';

describe.each(testDrivers())('the audit lifecycle on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let tool: { toolId: string; definition: AuditTool };
  const people = {} as Record<'coordinator' | 'auditor' | 'moderator' | 'practitioner', Principal>;
  let auditorClient: TestClient;
  let childNumber = 0;

  const as = (who: keyof typeof people) => ({ principal: people[who], ipAddress: null, at: new Date() });
  const audit = (id: string) => t.db.selectFrom('audits').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const transitions = (id: string) => t.db.selectFrom('audit_transitions').selectAll().where('audit_id', '=', id).orderBy('id').execute();

  /** A new audit of a new child in North Unit 1, allocated to Tina Manager. */
  async function allocate(today?: string) {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, { externalId: `LC-${childNumber}`, initials: 'LC', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const outcome = await allocateAudit(t.db, as('coordinator'), { childId: child.id, toolId: tool.toolId, auditorId: council.staff.manager1.id }, today ? { today } : {});
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    return outcome.audit.id;
  }

  /** An audit the auditor has started and submitted, straight through the lifecycle. */
  async function inModeration() {
    const id = await allocate();
    await transitionAudit(t.db, as('auditor'), id, 'in_progress');
    await transitionAudit(t.db, as('auditor'), id, 'in_moderation');
    return id;
  }

  async function refusal(promise: Promise<unknown>): Promise<TransitionRefusal | 'resolved'> {
    try {
      await promise;
      return 'resolved';
    } catch (error) {
      if (error instanceof TransitionRefused) return error.refusal;
      throw error;
    }
  }

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    await loadBuiltInTools(t.db, council.organisation.id);
    const edition = await t.db
      .selectFrom('audit_tool_editions')
      .innerJoin('audit_tools', 'audit_tools.id', 'audit_tool_editions.tool_id')
      .select(['audit_tools.id', 'audit_tool_editions.definition'])
      .where('audit_tools.organisation_id', '=', council.organisation.id)
      .where('audit_tools.key', '=', BRISTOL)
      // The newest edition: the one new audits are allocated on.
      .orderBy('audit_tool_editions.edition', 'desc')
      .executeTakeFirstOrThrow();
    tool = { toolId: edition.id, definition: (typeof edition.definition === 'string' ? JSON.parse(edition.definition) : edition.definition) as AuditTool };
    const users = { coordinator: 'qa_coordinator', auditor: 'auditor', moderator: 'moderator', practitioner: 'practitioner' } as const;
    for (const [who, role] of Object.entries(users) as [keyof typeof users, (typeof users)[keyof typeof users]][]) {
      people[who] = (await loadPrincipal(t.db, council.users[role].id))!;
    }
    auditorClient = new TestClient(t.app);
    await auditorClient.signIn(council.users.auditor.email, PASSWORD);
  }, 120_000);
  afterAll(async () => t?.close());

  it('records allocation, the first save and the submission as three transitions, shown on the audit as its history', async () => {
    const id = await allocate();
    expect(await audit(id)).toMatchObject({ status: 'allocated', stage_started_on: ukDateAt(new Date()) });
    await completeAndSubmit(auditorClient, tool.definition, id, { staffId: council.staff.worker1.id, today: ukDateAt(new Date()) });

    const rows = await transitions(id);
    expect(rows.map((row) => [row.from_status, row.to_status, row.transition])).toEqual([
      [null, 'allocated', 'allocate'],
      ['allocated', 'in_progress', 'start'],
      ['in_progress', 'in_moderation', 'submit'],
    ]);
    expect(rows.map((row) => row.actor_user_id)).toEqual([council.users.qa_coordinator.id, council.users.auditor.id, council.users.auditor.id]);
    expect(rows.map((row) => row.actor_label)).toEqual(['Quinn QA', 'Tina Manager', 'Tina Manager']);
    for (const row of rows) expect(Math.abs(new Date(row.at).getTime() - Date.now())).toBeLessThan(5 * 60_000);
    const submittedAudit = await audit(id);
    expect(submittedAudit.status).toBe('in_moderation');
    expect(submittedAudit.submitted_at).not.toBeNull();
    expect(submittedAudit.stage_started_on).toBe(ukDateAt(new Date()));

    const page = await auditorClient.get(`/audits/${id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('moj-timeline');
    const text = pageText(page.body);
    expect(text).toContain('Submitted for moderation by Tina Manager');
    expect(text).toContain('In progress to In moderation');
    expect(text).toContain('Allocated by Quinn QA');
    // One "due": the moderation stage's deadline, the stage named.
    expect(text).toMatch(/Due \d{1,2} \w+ \d{4} \(moderation\)/);
  }, 120_000);

  it('refuses an illegal transition and changes nothing', async () => {
    const id = await allocate();
    const before = await audit(id);
    expect(await refusal(transitionAudit(t.db, as('auditor'), id, 'closed'))).toBe('illegal');
    expect(await refusal(transitionAudit(t.db, as('coordinator'), id, 'moderated'))).toBe('illegal');
    expect(await audit(id)).toEqual(before);
    expect(await transitions(id)).toHaveLength(1);
  });

  it('refuses a transition by someone it is not for, a return without its reason, and a stale one (409)', async () => {
    const id = await allocate();
    expect(await refusal(transitionAudit(t.db, as('practitioner'), id, 'in_progress'))).toBe('not-allowed');
    expect(await refusal(transitionAudit(t.db, as('coordinator'), id, 'in_progress'))).toBe('not-allowed');
    const { version } = await audit(id);
    const started = await transitionAudit(t.db, as('auditor'), id, 'in_progress', { expectedVersion: version });
    expect(started).toMatchObject({ transition: 'start', from: 'allocated', to: 'in_progress', version: version + 1 });
    const submittedAt = (await audit(id)).version;
    const stale = transitionAudit(t.db, as('auditor'), id, 'in_moderation', { expectedVersion: version });
    await expect(stale).rejects.toMatchObject({ refusal: 'stale', code: 'CONFLICT' });
    await transitionAudit(t.db, as('auditor'), id, 'in_moderation', { expectedVersion: submittedAt });
    // The auditor may not moderate their own audit, whatever roles they have.
    expect(await refusal(transitionAudit(t.db, as('auditor'), id, 'moderated'))).toBe('not-allowed');

    expect(await refusal(transitionAudit(t.db, as('moderator'), id, 'returned', { reason: '  ' }))).toBe('reason-required');
    expect((await audit(id)).status).toBe('in_moderation');
    const returned = await transitionAudit(t.db, as('moderator'), id, 'returned', { reason: 'Evidence the management oversight', today: '2026-11-02' });
    expect(returned).toMatchObject({ to: 'returned', stageStartedOn: '2026-11-02', stageDueOn: '2026-11-16' });
    const last = (await transitions(id)).at(-1)!;
    expect(last).toMatchObject({ from_status: 'in_moderation', to_status: 'returned', transition: 'return', reason: 'Evidence the management oversight', actor_label: 'Sam Service' });
    const resubmitted = await transitionAudit(t.db, as('auditor'), id, 'in_moderation');
    expect(resubmitted.transition).toBe('resubmit');
  });

  it('lets exactly one of two concurrent transitions from the same state win', async () => {
    const id = await inModeration();
    const before = await transitions(id);
    const results = await Promise.allSettled([
      transitionAudit(t.db, as('moderator'), id, 'moderated'),
      transitionAudit(t.db, as('moderator'), id, 'returned', { reason: 'Add the family’s views' }),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(TransitionRefused);
    expect((lost.reason as TransitionRefused).refusal).toBe('illegal');
    const after = await transitions(id);
    expect(after).toHaveLength(before.length + 1);
    expect((await audit(id)).status).toBe(after.at(-1)!.to_status);
  });

  it('lets exactly one of two concurrent identical transitions win', async () => {
    const id = await inModeration();
    const results = await Promise.allSettled([transitionAudit(t.db, as('moderator'), id, 'moderated'), transitionAudit(t.db, as('moderator'), id, 'moderated')]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await transitions(id)).filter((row) => row.transition === 'moderate')).toHaveLength(1);
  });

  it('leaves the audit wholly in its old state when the transition fails midway', async () => {
    const id = await inModeration();
    const before = await audit(id);
    const rowsBefore = await transitions(id);
    // The activity-log entry is the last write of a transition: make the database refuse it.
    await sql`create function refuse_moderation_log() returns trigger language plpgsql as $$
      begin raise exception 'activity log unavailable'; end; $$`.execute(t.db);
    await sql`create trigger refuse_moderation_log before insert on activity_log for each row
      when (new.summary like '%(moderate)%') execute function refuse_moderation_log()`.execute(t.db);
    try {
      await expect(transitionAudit(t.db, as('moderator'), id, 'moderated')).rejects.toThrow(/activity log unavailable/);
    } finally {
      await sql`drop trigger refuse_moderation_log on activity_log`.execute(t.db);
      await sql`drop function refuse_moderation_log()`.execute(t.db);
    }
    expect(await audit(id)).toEqual(before);
    expect(await transitions(id)).toEqual(rowsBefore);
    // Once the log works again the same transition goes through.
    await transitionAudit(t.db, as('moderator'), id, 'moderated');
    expect((await audit(id)).status).toBe('moderated');
  });

  it('sets the stage deadline 10 working days on, across bank holidays', async () => {
    // Allocated Monday 21 December 2026: Christmas Day, the Boxing Day substitute and New Year's Day are not working days.
    const id = await allocate('2026-12-21');
    expect(await audit(id)).toMatchObject({ stage_started_on: '2026-12-21', stage_due_on: '2027-01-07', due_on: '2027-01-07' });
    // Starting keeps the auditor's clock; submitting starts the moderator's.
    await transitionAudit(t.db, as('auditor'), id, 'in_progress', { today: '2026-12-22' });
    expect(await audit(id)).toMatchObject({ stage_started_on: '2026-12-21', stage_due_on: '2027-01-07' });
    await transitionAudit(t.db, as('auditor'), id, 'in_moderation', { today: '2026-12-18' });
    expect(await audit(id)).toMatchObject({ status: 'in_moderation', stage_started_on: '2026-12-18', stage_due_on: '2027-01-06' });
  });

  it('refuses to change or remove a recorded transition', async () => {
    const id = await allocate();
    await expect(sql`update audit_transitions set reason = 'changed' where audit_id = ${id}`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_transitions where audit_id = ${id}`.execute(t.db)).rejects.toThrow(/append-only/);
  });
  it("marks an audit overdue by the deadline of the stage it is in, on the tracker and its page", async () => {
    const coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
    const overdueIds = async () => [...(await coordinator.get('/audits?overdue=yes')).body.matchAll(/href="\/audits\/([0-9a-f-]{36})"/g)].map((match) => match[1]);
    // Submitted long ago: the moderator's 10 working days ran out, though the auditor's due date does not matter any more.
    const late = await allocate();
    await transitionAudit(t.db, as('auditor'), late, 'in_progress');
    await transitionAudit(t.db, as('auditor'), late, 'in_moderation', { today: '2026-01-05' });
    // Submitted today: in moderation and on time.
    const onTime = await inModeration();
    expect(await overdueIds()).toContain(late);
    expect(await overdueIds()).not.toContain(onTime);
    const page = pageText((await coordinator.get(`/audits/${late}`)).body);
    expect(page).toContain('Due 19 January 2026 (moderation) Overdue');
  });
});
