import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { listTrackerAudits, trackerFilterSchema } from '../src/modules/audits/tracker.ts';
import { holidayCalendarFor } from '../src/modules/org/calendar.ts';
import { runDailyReminders } from '../src/modules/reminders/service.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { ukDateAt } from '../src/platform/clock.ts';
import { formatDate } from '../src/platform/views.ts';
import { addDays, isWorkingDay, type IsoDate } from '../src/platform/working-days.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { builtInTool, completeAndSubmit, moderateOverHttp, versionOf } from './support/audit-flow.ts';
import { pageText, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';

const BRISTOL = 'bristol-child-case-audit';

/** The table row that links to an audit's page (the tracker, My audits), as its text. */
function rowOf(html: string, auditId: string): string {
  const row = [...html.matchAll(/<tr class="govuk-table__row">[\s\S]*?<\/tr>/g)].find((match) => match[0].includes(`href="/audits/${auditId}"`));
  if (!row) throw new Error(`no row links to audit ${auditId}`);
  return pageText(row[0]);
}

/** The status an audit's row carries in the tracker, My audits, the CSV export and the API's list. */
async function statusesShown(client: TestClient, auditor: TestClient, db: TestApp['db'], principal: Principal, auditId: string) {
  const { reference } = await db.selectFrom('audits').select('reference').where('id', '=', auditId).executeTakeFirstOrThrow();
  const csvLine = (await client.get('/audits/export.csv?status=awaiting_feedback')).body.split(/\r?\n/).find((line) => line.startsWith(`${reference},`));
  const listed = await listTrackerAudits(db, principal, trackerFilterSchema.parse({ status: 'awaiting_feedback' }), null, ukDateAt(new Date()));
  const api = listed.rows.find((row) => row.id === auditId);
  return {
    tracker: rowOf((await client.get('/audits?status=awaiting_feedback')).body, auditId),
    myAudits: rowOf((await auditor.get('/my-audits')).body, auditId),
    csv: csvLine ?? '',
    api: { statusLabel: api?.statusLabel, feedbackGiven: api?.feedbackGivenAt !== null },
  };
}

/** The section of My work that lists an item, or null: `data-section` wraps each non-empty one. */
function sectionOf(html: string, href: string): string | null {
  for (const match of html.matchAll(/<section data-section="([a-z_]+)"[\s\S]*?<\/section>/g)) {
    if (match[0].includes(`href="${href}"`)) return match[1]!;
  }
  return null;
}

describe.each(testDrivers())('an audit announced and listed along its way on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Principal;
  let tool: AuditTool;
  let toolId: string;
  let childNumber = 0;
  const clients: Record<'auditor' | 'practitioner' | 'moderator' | 'qa_coordinator', TestClient> = {} as never;

  const audit = (id: string) => t.db.selectFrom('audits').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const notices = (event: string, id: string) => t.db.selectFrom('email_outbox').selectAll().where('dedupe_key', 'like', `audit-${event}:${id}:%`).execute();
  const today = () => ukDateAt(new Date());

  async function submittedAudit(): Promise<string> {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, { externalId: `NOTE-${childNumber}`, initials: 'NA', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId, auditorId: council.staff.manager1.id });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    await completeAndSubmit(clients.auditor, tool, outcome.audit.id, { staffId: council.staff.worker1.id, today: today() });
    return outcome.audit.id;
  }

  async function returnAudit(id: string, changes: string) {
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    const returned = await clients.moderator.post(`/audits/${id}/moderate/return`, { _version: versionOf(page.body), changes });
    expect(returned.statusCode).toBe(303);
  }

  async function resubmit(id: string) {
    const check = await clients.auditor.get(`/audits/${id}/form/check`);
    const submitted = await clients.auditor.post(`/audits/${id}/form/submit`, { _version: versionOf(check.body) });
    expect(submitted.statusCode, pageText(submitted.body).slice(0, 400)).toBe(303);
  }

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    await loadBuiltInTools(t.db, council.organisation.id);
    ({ toolId, tool } = await builtInTool(t.db, council.organisation.id, BRISTOL));
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    for (const role of ['auditor', 'practitioner', 'moderator', 'qa_coordinator'] as const) {
      clients[role] = new TestClient(t.app);
      await clients[role].signIn(council.users[role].email, PASSWORD);
    }
  }, 240_000);
  afterAll(async () => t?.close());

  it("shows a returned audit's request and its new deadline on the task list and the pages it names, overdue once past", async () => {
    const id = await submittedAudit();
    await returnAudit(id, 'Add the chronology\nand the visit dates');
    const stageDue = (await audit(id)).stage_due_on as unknown as string | Date;
    const taskList = await clients.auditor.get(`/audits/${id}/form`);
    expect(taskList.statusCode).toBe(200);
    const text = pageText(taskList.body);
    expect(text).toContain('Returned to you');
    expect(text).toContain('Add the chronology');
    expect(text).toContain(`Resubmit by ${formatDate(stageDue)}`);
    expect(/data-testid="stage-deadline">[^<]*<strong class="govuk-tag govuk-tag--red">Overdue/.test(taskList.body)).toBe(false);
    const details = await clients.auditor.get(`/audits/${id}/form/details`);
    expect(details.body).toContain('data-testid="return-request"');
    expect(pageText(details.body)).toContain('Add the chronology');
    expect(pageText((await clients.auditor.get(`/audits/${id}/form/check`)).body)).toContain('Add the chronology');

    // The stage's deadline passes: the task list says so.
    const yesterday = addDays(today(), -1);
    await t.db.updateTable('audits').set({ stage_due_on: yesterday }).where('id', '=', id).execute();
    const late = await clients.auditor.get(`/audits/${id}/form`);
    expect(pageText(late.body)).toContain(`Resubmit by ${formatDate(yesterday)} Overdue`);
    const latePage = await clients.auditor.get(`/audits/${id}/form/details`);
    expect(pageText(latePage.body)).toContain(`resubmit by ${formatDate(yesterday)} Overdue`);

    // Resubmitted, the request is gone from the pages; it stays in the audit's history.
    await resubmit(id);
    expect((await clients.auditor.get(`/audits/${id}`)).body).not.toContain('data-testid="return-request"');
  });

  it('tells the next person once at each event, and lists the work where each acts until it is done', async () => {
    const id = await submittedAudit();
    const [submitted] = await notices('submitted', id);
    expect((await notices('submitted', id)).length).toBe(1);
    expect(submitted!.to_address).toBe('sam@testshire.example');
    expect(submitted!.text_body).toContain(`{assure}/audits/${id}/moderate`);

    await returnAudit(id, 'Add the chronology');
    const returned = await notices('returned', id);
    expect(returned.map((row) => row.to_address)).toEqual(['tina@testshire.example']);
    expect(returned[0]!.text_body).toContain('Add the chronology');

    await resubmit(id);
    expect((await notices('resubmitted', id)).map((row) => row.to_address)).toEqual(['sam@testshire.example']);
    // The first submission's notice is not sent again.
    expect((await notices('submitted', id)).length).toBe(1);

    await moderateOverHttp(clients.moderator, id, {}, { tool, staffId: council.staff.worker1.id, today: today() });
    expect((await notices('moderated', id)).map((row) => row.to_address)).toEqual(['tina@testshire.example']);

    // Moderated: a work item for the QA coordinator, at the top with the allocate button; none for the auditor.
    const qaHome = await clients.qa_coordinator.get('/');
    expect(sectionOf(qaHome.body, `/audits/${id}/distribute`)).toBe('distribute');
    expect(qaHome.body.indexOf('data-testid="main-actions"')).toBeLessThan(qaHome.body.indexOf('data-section='));
    expect(qaHome.body).toMatch(/data-testid="main-actions"[\s\S]*?href="\/audits\/allocate"/);
    const auditorHome = await clients.auditor.get('/');
    expect(auditorHome.body).not.toContain('data-section="distribute"');
    expect(auditorHome.body).not.toContain('data-testid="main-actions"');
    // Empty sections are folded into one line, not a heading each.
    expect(auditorHome.body).toContain('data-empty-section="verification"');
    expect(auditorHome.body).not.toContain('id="verification"');

    const form = await clients.qa_coordinator.get(`/audits/${id}/distribute`);
    const sent = await clients.qa_coordinator.post(`/audits/${id}/distribute`, {
      _version: versionOf(form.body),
      send: ['team_manager', 'case_holder'],
      'other-0-role': 'iro',
      'other-0-staff': '',
      'other-0-name': 'Ida Reviewer',
      'other-0-email': 'ida.iro@partner.example',
    });
    expect(sent.statusCode, pageText(sent.body).slice(0, 400)).toBe(303);
    expect(sectionOf((await clients.qa_coordinator.get('/')).body, `/audits/${id}/distribute`)).toBeNull();
    expect(sectionOf((await clients.practitioner.get('/')).body, `/audits/${id}/feedback`)).toBe('feedback');
    const before = await statusesShown(clients.qa_coordinator, clients.auditor, t.db, coordinator, id);
    expect(before.tracker).toContain('Awaiting feedback');
    expect(before.myAudits).toContain('Awaiting feedback');
    expect(before.csv).toContain(',Awaiting feedback,');
    expect(before.api).toEqual({ statusLabel: 'Awaiting feedback', feedbackGiven: false });

    // Feedback given: the QA coordinator is told once and has it to close; the case holder no longer has it to give.
    const feedbackPage = await clients.practitioner.get(`/audits/${id}/feedback`);
    const given = await clients.practitioner.post(`/audits/${id}/feedback`, { _version: versionOf(feedbackPage.body), discussed_in_supervision: 'no', learning_points: 'See the child alone' });
    expect(given.statusCode, pageText(given.body).slice(0, 400)).toBe(303);
    expect((await notices('feedback_given', id)).map((row) => row.to_address)).toEqual(['qa.coordinator@testshire.example']);
    expect(sectionOf((await clients.practitioner.get('/')).body, `/audits/${id}/feedback`)).toBeNull();
    expect(sectionOf((await clients.qa_coordinator.get('/')).body, `/audits/${id}/close`)).toBe('close');
    const page = pageText((await clients.qa_coordinator.get(`/audits/${id}`)).body);
    expect(page).toContain('Status Feedback given');
    expect(page).toContain('Practitioner feedback given');
    // Wherever the audit's status is shown, not only on its page; the filter that finds it says so.
    const after = await statusesShown(clients.qa_coordinator, clients.auditor, t.db, coordinator, id);
    expect(after.tracker).toContain('Feedback given');
    expect(after.tracker).not.toContain('Awaiting feedback');
    expect(after.myAudits).toContain('Feedback given');
    expect(after.csv).toContain(',Feedback given,');
    expect(after.api).toEqual({ statusLabel: 'Feedback given', feedbackGiven: true });
    expect(pageText((await clients.qa_coordinator.get('/audits')).body)).toContain('Awaiting feedback Includes those marked Feedback given, waiting to be closed');
    // Changing the feedback is a step on the timeline, not a second notice.
    const again = await clients.practitioner.get(`/audits/${id}/feedback`);
    expect((await clients.practitioner.post(`/audits/${id}/feedback`, { _version: versionOf(again.body), discussed_in_supervision: 'no', learning_points: 'See the child alone, every visit' })).statusCode).toBe(303);
    expect((await notices('feedback_given', id)).length).toBe(1);
    expect(pageText((await clients.qa_coordinator.get(`/audits/${id}`)).body)).toContain('Practitioner feedback changed');

    const closing = await clients.qa_coordinator.get(`/audits/${id}/close`);
    expect((await clients.qa_coordinator.post(`/audits/${id}/close`, { _version: versionOf(closing.body), comments: '' })).statusCode).toBe(303);
    expect(sectionOf((await clients.qa_coordinator.get('/')).body, `/audits/${id}/close`)).toBeNull();
  });

  it('sends no link to a recipient without an account, says how the audit will come, and records the secure copy', async () => {
    const id = await submittedAudit();
    await moderateOverHttp(clients.moderator, id, {}, { tool, staffId: council.staff.worker1.id, today: today() });
    const form = await clients.qa_coordinator.get(`/audits/${id}/distribute`);
    const sent = await clients.qa_coordinator.post(`/audits/${id}/distribute`, {
      _version: versionOf(form.body),
      send: ['team_manager'],
      'other-0-role': 'iro',
      'other-0-staff': '',
      'other-0-name': 'Ida Reviewer',
      'other-0-email': 'ida.iro@partner.example',
    });
    expect(sent.statusCode).toBe(303);
    const emails = await t.db.selectFrom('email_outbox').selectAll().where('dedupe_key', 'like', `audit-distributed:${id}:%`).orderBy('to_address').execute();
    const [iro, manager] = emails;
    expect(iro!.to_address).toBe('ida.iro@partner.example');
    expect(iro!.text_body).not.toContain('{assure}');
    expect(iro!.text_body).not.toMatch(/https?:|\/audits\//);
    expect(iro!.text_body).toContain('How you will receive the audit: you do not have an account in Assure, so this e-mail has no link to it and nothing is attached.');
    expect(iro!.text_body).toContain('Quinn QA will send you a copy of the audit separately by secure e-mail.');
    expect(manager!.to_address).toBe('tina@testshire.example');
    expect(manager!.text_body).toContain(`{assure}/audits/${id}`);

    const panel = await clients.qa_coordinator.get(`/audits/${id}`);
    expect(pageText(panel.body)).toContain('No account: copy to send securely');
    const action = new RegExp(`action="(/audits/${id}/recipients/[0-9a-f-]+/secure-copy)"`).exec(panel.body)?.[1];
    expect(action).toBeDefined();
    // Only the QA coordinator records it.
    expect(pageText((await clients.auditor.get(`/audits/${id}`)).body)).not.toContain('Record copy sent securely');
    await clients.auditor.get(`/audits/${id}`);
    expect((await clients.auditor.post(action!)).statusCode).toBe(403);

    const recorded = await clients.qa_coordinator.post(action!);
    expect(recorded.statusCode).toBe(303);
    const after = pageText((await clients.qa_coordinator.get(`/audits/${id}`)).body);
    expect(after).toContain('Copy sent securely by Quinn QA');
    expect(after).not.toContain('No account: copy to send securely');
    const logged = await t.db.selectFrom('activity_log').select('summary').where('record_id', '=', id).where('summary', 'like', 'copy of the audit sent securely%').execute();
    expect(logged.map((row) => row.summary)).toEqual(['copy of the audit sent securely to the independent reviewing officer (iro)']);
    expect((await clients.qa_coordinator.post(action!)).statusCode).toBe(409);
  });

  it('e-mails nobody at the event who chose the daily digest, and lists the event in their next digest once', async () => {
    const account = await clients.auditor.get('/account');
    expect(account.body).toMatch(/value="each_event"[^>]*checked/);
    const chosen = await clients.auditor.post('/account/notifications', { notificationChoice: 'daily_digest' });
    expect(chosen.statusCode).toBe(303);
    expect((await clients.auditor.get('/account')).body).toMatch(/value="daily_digest"[^>]*checked/);
    expect((await clients.auditor.post('/account/notifications', { notificationChoice: 'hourly' })).statusCode).toBe(400);

    const id = await submittedAudit();
    await returnAudit(id, 'Name the visits');
    expect(await notices('returned', id)).toEqual([]);
    const reference = (await audit(id)).reference;

    let day: IsoDate = today();
    const calendar = await holidayCalendarFor(t.db, council.organisation.id);
    while (!isWorkingDay(day, calendar)) day = addDays(day, 1);
    await runDailyReminders(t.db, { today: day, now: new Date() });
    const digest = await t.db.selectFrom('email_outbox').selectAll().where('dedupe_key', '=', `digest:${council.staff.manager1.id}:${day}`).executeTakeFirstOrThrow();
    expect(digest.to_address).toBe('tina@testshire.example');
    expect(digest.text_body).toContain(`Audit ${reference} returned to you: NA`);
    expect(digest.text_body).toContain(`{assure}/audits/${id}/form`);

    // Taken by that digest: the next day's does not repeat it.
    let next = addDays(day, 1);
    while (!isWorkingDay(next, calendar)) next = addDays(next, 1);
    await runDailyReminders(t.db, { today: next, now: new Date() });
    const later = await t.db.selectFrom('email_outbox').select('text_body').where('dedupe_key', '=', `digest:${council.staff.manager1.id}:${next}`).executeTakeFirst();
    expect(later?.text_body ?? '').not.toContain(`Audit ${reference} returned to you`);
    // Each-event people still get theirs at once.
    expect((await notices('submitted', id)).map((row) => row.to_address)).toEqual(['sam@testshire.example']);
  });
});
