import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, DatabaseHandle } from '../src/db/index.ts';
import type { AuditStatus } from '../src/db/types.ts';

import { holidayCalendarFor } from '../src/modules/org/calendar.ts';
import { remindersDue, runDailyReminders, startReminderWorker, type ReminderOptions } from '../src/modules/reminders/service.ts';
import { isWorkingDay } from '../src/platform/working-days.ts';
import { deliverDueEmails, type EmailTransport, type OutgoingEmail } from '../src/platform/outbox.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { createSmallCouncil, type SmallCouncil } from './support/fixtures.ts';
import { ukDateAt, systemClock } from '../src/platform/clock.ts';

/** A Wednesday; the window of 2 working days runs to Friday 4 December. */
const WEDNESDAY = '2026-12-02';
const SATURDAY = '2026-12-05';
const CHRISTMAS = '2026-12-25';

const at = (date: string, time: string) => new Date(`${date}T${time}Z`);

describe('when the daily digest is due', () => {
  it('starts at the configured hour, UK time, through the clock changes', () => {
    expect(remindersDue(new Date('2026-12-02T06:59:00Z'), 7)).toBe(false);
    expect(remindersDue(new Date('2026-12-02T07:00:00Z'), 7)).toBe(true);
    // British Summer Time: 06:30 UTC is 07:30 in the UK.
    expect(remindersDue(new Date('2026-07-01T06:30:00Z'), 7)).toBe(true);
    expect(remindersDue(new Date('2026-07-01T05:59:00Z'), 7)).toBe(false);
  });
});

describe.each(testDrivers())('daily reminder digests on %s', (driver) => {
  let handle: DatabaseHandle;
  let db: Db;
  let testshire: SmallCouncil;
  let otherton: SmallCouncil;

  async function audit(council: SmallCouncil, editionId: string, name: string, status: AuditStatus, stageDueOn: string, parties: { caseHolderId?: string; moderatorId?: string } = {}) {
    const child = await createChild(db, council.organisation.id, { externalId: `C-${name}`, initials: name });
    const created = await createAudit(db, {
      organisationId: council.organisation.id,
      childId: child.id,
      toolEditionId: editionId,
      auditorId: council.staff.manager1.id,
      caseHolderId: parties.caseHolderId ?? null,
      moderatorId: parties.moderatorId ?? null,
      status,
      due: stageDueOn,
    });
    await db.updateTable('audits').set({ stage_due_on: stageDueOn }).where('id', '=', created.id).execute();
    return { ...created, childId: child.id };
  }

  async function action(council: SmallCouncil, on: { id: string; childId: string }, row: number, input: { owner: string; dueOn: string; text: string; doneBy?: string }) {
    await db
      .insertInto('actions')
      .values({
        organisation_id: council.organisation.id,
        audit_id: on.id,
        child_id: on.childId,
        answer_key: 'actions',
        row_index: row,
        text: input.text,
        owner_id: input.owner,
        due_on: input.dueOn,
        ...(input.doneBy ? { status: 'done' as const, done_at: new Date(), evidence: 'Done', done_by: input.doneBy } : {}),
      })
      .execute();
  }

  const options = (today: string, now: Date, extra: Partial<ReminderOptions> = {}): ReminderOptions => ({ today, now, ...extra });

  const digests = (date: string) =>
    db
      .selectFrom('email_outbox')
      .select(['to_address', 'subject', 'text_body', 'dedupe_key'])
      .where('dedupe_key', 'like', `digest:%:${date}`)
      .orderBy('to_address')
      .execute();

  const outcomes = (report: Awaited<ReturnType<typeof runDailyReminders>>) =>
    Object.fromEntries(report.runs.map((run) => [run.organisationId === testshire.organisation.id ? 'testshire' : 'otherton', run.outcome]));

  const audits: Record<string, { id: string; reference: number; childId: string }> = {};

  beforeAll(async () => {
    handle = await openTestDatabase(driver);
    db = handle.db;
    testshire = await createSmallCouncil(db, 'testshire');
    otherton = await createSmallCouncil(db, 'otherton');
    const tool = await createAuditTool(db, testshire.organisation.id);
    const { worker1, worker2, careWorker, serviceManager } = testshire.staff;
    audits.AA = await audit(testshire, tool.editionId, 'AA', 'allocated', '2026-11-30');
    audits.AB = await audit(testshire, tool.editionId, 'AB', 'in_progress', '2026-12-04');
    audits.AC = await audit(testshire, tool.editionId, 'AC', 'returned', '2026-12-20');
    audits.AD = await audit(testshire, tool.editionId, 'AD', 'in_moderation', '2026-12-20', { moderatorId: serviceManager.id });
    audits.AE = await audit(testshire, tool.editionId, 'AE', 'awaiting_feedback', '2026-12-03', { caseHolderId: worker1.id });
    await action(testshire, audits.AA, 0, { owner: worker1.id, dueOn: '2026-12-01', text: 'Book the core group' });
    await action(testshire, audits.AA, 1, { owner: worker1.id, dueOn: '2026-12-10', text: 'Review the plan next week' });
    // Done by Wes and due in August: Tina, the auditor, should have verified it by 1 November.
    await action(testshire, audits.AB, 2, { owner: worker1.id, dueOn: '2026-08-01', text: 'Update the child plan', doneBy: testshire.users.practitioner.id });
    await action(testshire, audits.AC, 3, { owner: worker2.id, dueOn: '2026-12-20', text: 'Una visits later' });
    // Cara has left: her overdue action stays on the tracker, but she is sent nothing.
    await action(testshire, audits.AC, 4, { owner: careWorker.id, dueOn: '2026-11-02', text: 'Cara left this' });
    await db.updateTable('staff').set({ leaving_date: '2026-11-30' }).where('id', '=', careWorker.id).execute();
    // Quinn's address was mistyped: his digest cannot be sent, and everyone else's still is.
    await action(testshire, audits.AC, 5, { owner: testshire.staff.qaOfficer.id, dueOn: '2026-11-20', text: 'Quinn checks the plan' });
    await db.updateTable('staff').set({ email: 'quinn at testshire' }).where('id', '=', testshire.staff.qaOfficer.id).execute();
    await db
      .insertInto('audit_alerts')
      .values({ organisation_id: testshire.organisation.id, audit_id: audits.AD.id, staff_id: serviceManager.id, kind: 'inadequate_submitted', created_at: '2026-12-01T10:00:00Z' })
      .execute();

    const otherTool = await createAuditTool(db, otherton.organisation.id);
    await audit(otherton, otherTool.editionId, 'OA', 'allocated', '2026-11-27');
  }, 120_000);
  afterAll(async () => handle?.close());

  it('sends one e-mail per person listing all their items, and none to people with nothing due', async () => {
    const report = await runDailyReminders(db, options(WEDNESDAY, at(WEDNESDAY, '07:05:00')));
    expect(outcomes(report)).toEqual({ testshire: 'sent', otherton: 'sent' });
    expect(report.runs.find((run) => run.organisationId === testshire.organisation.id)).toMatchObject({ digests: 3, queued: 3, skipped: [testshire.staff.qaOfficer.id] });
    const sent = await digests(WEDNESDAY);
    expect(sent.map((row) => row.to_address)).toEqual(['sam@testshire.example', 'tina@otherton.example', 'tina@testshire.example', 'wes@testshire.example']);

    const tina = sent.find((row) => row.to_address === 'tina@testshire.example')!;
    expect(tina.subject).toBe('Assure reminder: 2 overdue, 1 due soon');
    expect(tina.dedupe_key).toBe(`digest:${testshire.staff.manager1.id}:${WEDNESDAY}`);
    expect(tina.text_body).toContain(`Audit ${audits.AA!.reference}: AA (C-AA), Case file audit\n  OVERDUE: due 30 November 2026\n  {assure}/audits/${audits.AA!.id}`);
    expect(tina.text_body).toContain(`Audit ${audits.AB!.reference}: AB (C-AB), Case file audit\n  Due 4 December 2026`);
    expect(tina.text_body).toContain('To verify (1)');
    expect(tina.text_body).toContain('Update the child plan');
    expect(tina.text_body).not.toContain('AC (C-AC)');
    expect(tina.text_body).not.toContain('Book the core group');

    const wes = sent.find((row) => row.to_address === 'wes@testshire.example')!;
    expect(wes.subject).toBe('Assure reminder: 1 overdue, 1 due soon');
    expect(wes.text_body).toContain('Feedback to give (1)');
    expect(wes.text_body).toContain('My actions (1)\n- Action from audit');
    expect(wes.text_body).toContain('Book the core group');
    expect(wes.text_body).not.toContain('Review the plan next week');
    expect(wes.text_body).not.toContain('Update the child plan');

    const sam = sent.find((row) => row.to_address === 'sam@testshire.example')!;
    expect(sam.text_body).toContain(`Alerts (1)\n- Audit ${audits.AD!.reference}: AD (C-AD)`);
    expect(sam.text_body).not.toContain('To moderate');

    const other = sent.find((row) => row.to_address === 'tina@otherton.example')!;
    expect(other.text_body).toContain('OA (C-OA)');
    expect(other.text_body).not.toContain('AA (C-AA)');

    const run = await db.selectFrom('reminder_runs').selectAll().where('organisation_id', '=', testshire.organisation.id).where('run_date', '=', WEDNESDAY).executeTakeFirstOrThrow();
    expect(run.finished_at).not.toBeNull();
    expect(run.digests).toBe(3);
  });

  it('sends nothing on a second run the same day', async () => {
    const report = await runDailyReminders(db, options(WEDNESDAY, at(WEDNESDAY, '09:00:00')));
    expect(outcomes(report)).toEqual({ testshire: 'already_run', otherton: 'already_run' });
    expect(await digests(WEDNESDAY)).toHaveLength(4);
  });

  it('delivers each digest once through the outbox', async () => {
    const received: OutgoingEmail[] = [];
    const transport: EmailTransport = { send: async (message) => void received.push(message) };
    await deliverDueEmails(db, transport, { now: at(WEDNESDAY, '12:00:00') });
    await deliverDueEmails(db, transport, { now: at(WEDNESDAY, '13:00:00') });
    expect(received.map((message) => message.to).sort()).toEqual(['sam@testshire.example', 'tina@otherton.example', 'tina@testshire.example', 'wes@testshire.example']);
  });

  it('sends no digest at a weekend or on a bank holiday', async () => {
    for (const day of [SATURDAY, CHRISTMAS]) {
      const report = await runDailyReminders(db, options(day, at(day, '08:00:00')));
      expect(outcomes(report), day).toEqual({ testshire: 'not_working_day', otherton: 'not_working_day' });
      expect(await digests(day)).toEqual([]);
      expect(await db.selectFrom('reminder_runs').select('run_date').where('run_date', '=', day).execute()).toEqual([]);
    }
  });

  it("after a crash mid-run, leaves the run to its worker for a while, then sends each person's digest exactly once", async () => {
    const thursday = '2026-12-03';
    let crashed = false;
    const crashAfterFirst = () => {
      if (crashed) return;
      crashed = true;
      throw new Error('the process died');
    };
    const first = await runDailyReminders(db, options(thursday, at(thursday, '07:00:00'), { onQueued: crashAfterFirst }));
    expect(outcomes(first)).toEqual({ testshire: 'failed', otherton: 'sent' });
    expect((await digests(thursday)).map((row) => row.to_address)).toEqual(['sam@testshire.example', 'tina@otherton.example']);

    // Five minutes on, the run might still be going: nobody else takes it.
    const early = await runDailyReminders(db, options(thursday, at(thursday, '07:05:00')));
    expect(outcomes(early)).toEqual({ testshire: 'running', otherton: 'already_run' });
    expect(await digests(thursday)).toHaveLength(2);

    // Stale: taken over, and only the digests not yet queued are added.
    const later = await runDailyReminders(db, options(thursday, at(thursday, '07:30:00')));
    expect(later.runs.find((run) => run.organisationId === testshire.organisation.id)).toMatchObject({ outcome: 'sent', digests: 3, queued: 2 });
    const sent = await digests(thursday);
    expect(sent.map((row) => row.to_address)).toEqual(['sam@testshire.example', 'tina@otherton.example', 'tina@testshire.example', 'wes@testshire.example']);
  });

  it('runs a day once when two workers start it at the same moment', async () => {
    const friday = '2026-12-04';
    const [a, b] = await Promise.all([
      runDailyReminders(db, options(friday, at(friday, '07:00:00'))),
      runDailyReminders(db, options(friday, at(friday, '07:00:00'))),
    ]);
    const runs = [...a.runs, ...b.runs].filter((run) => run.organisationId === testshire.organisation.id).map((run) => run.outcome);
    expect(runs.filter((outcome) => outcome === 'sent')).toHaveLength(1);
    const sent = await digests(friday);
    expect(sent.map((row) => row.to_address)).toEqual(['sam@testshire.example', 'tina@otherton.example', 'tina@testshire.example', 'wes@testshire.example']);
  });

  it('is started by the poller, which keeps its state in the database', async () => {
    const logged: string[] = [];
    const logger = { info: (_details: object, message: string) => logged.push(message), error: (_details: object, message: string) => logged.push(message) };
    const worker = startReminderWorker({ db, clock: systemClock, intervalMs: 60_000, hour: 0, windowWorkingDays: 2, serviceName: 'Assure', logger });
    await worker.stop();
    const today = ukDateAt(new Date());
    const runs = await db.selectFrom('reminder_runs').select(['organisation_id', 'finished_at']).where('run_date', '=', today).execute();
    // On a working day both organisations' runs are recorded as finished; on other days, none is.
    const workingDay = isWorkingDay(today, await holidayCalendarFor(db, testshire.organisation.id));
    expect(runs.filter((run) => run.finished_at !== null)).toHaveLength(workingDay ? 2 : 0);
    expect(logged.filter((message) => message.includes('failed') || message.includes('stopped'))).toEqual([]);
  });
});
