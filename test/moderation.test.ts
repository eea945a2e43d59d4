import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { chooseModerator, DEFAULT_MODERATION_RULE, ruleFromSettings, type ModeratorCandidate } from '../src/modules/audits/moderation/rule.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { builtInTool, completeAndSubmit, openedGrades, versionOf } from './support/audit-flow.ts';
import { completeModeratorsPart, dateFields } from './support/form-fields.ts';
import { formatDateTimeAnswer, missingMessage, parseTimeOfDay } from '../src/modules/audits/form/answers.ts';
import { docxText, pdfPages } from './support/documents.ts';
import { addDays } from '../src/platform/working-days.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { ukDateAt } from '../src/platform/clock.ts';

const BRISTOL = 'bristol-child-case-audit';

describe('the moderator rule', () => {
  const person = (id: string, jobTitle: string, extra: Partial<ModeratorCandidate> = {}): ModeratorCandidate => ({ id, jobTitle, serviceId: 'area', lineManagerId: null, grants: [], ...extra });
  const staff = [
    person('qasm', 'QA Service Manager', { serviceId: null }),
    person('sm-care', 'Service Manager', { serviceId: 'care' }),
    person('sm-area', 'Service Manager'),
    person('tm', 'Team Manager', { lineManagerId: 'sm-area' }),
    person('csw', 'Consultant Social Worker', { serviceId: 'care', lineManagerId: 'sm-care' }),
    person('pl', 'Practice Lead', { serviceId: null, lineManagerId: 'tm' }),
    person('sw', 'Social Worker', { serviceId: 'care' }),
    person('mod', 'Senior Practitioner', { serviceId: 'care', grants: [{ role: 'moderator', serviceId: 'care' }] }),
  ];

  it("sends a team manager's, practice lead's or consultant's audit to the service's service manager", () => {
    expect(chooseModerator(DEFAULT_MODERATION_RULE, 'tm', 'area', staff)).toBe('sm-area');
    expect(chooseModerator(DEFAULT_MODERATION_RULE, 'csw', 'care', staff)).toBe('sm-care');
    // No service manager in the audit's service: the first one up the line management.
    expect(chooseModerator(DEFAULT_MODERATION_RULE, 'pl', 'elsewhere', staff)).toBe('sm-area');
  });

  it("sends a service manager's audit to the QA service manager, else a QA lead", () => {
    expect(chooseModerator(DEFAULT_MODERATION_RULE, 'sm-area', 'area', staff)).toBe('qasm');
    const noQasm = staff.filter((member) => member.id !== 'qasm').concat(person('lead', 'Head of Quality', { grants: [{ role: 'qa_lead', serviceId: null }] }));
    expect(chooseModerator(DEFAULT_MODERATION_RULE, 'sm-area', 'area', noQasm)).toBe('lead');
  });

  it('falls back to a moderator of the service, never the auditor, and reads an organisation rule', () => {
    expect(chooseModerator(DEFAULT_MODERATION_RULE, 'sw', 'care', staff)).toBe('mod');
    expect(chooseModerator(DEFAULT_MODERATION_RULE, 'mod', 'care', [staff[7]!])).toBeNull();
    const own = ruleFromSettings({ moderationRule: { byAuditorJobTitle: [{ jobTitleContains: ['Social Worker'], moderator: 'qa_service_manager' }], serviceManagerTitle: 'Service Manager', qaServiceManagerTitle: 'QA Service Manager' } });
    expect(chooseModerator(own, 'sw', 'care', staff)).toBe('qasm');
    expect(ruleFromSettings({ moderationRule: { nonsense: true } })).toBe(DEFAULT_MODERATION_RULE);
  });
});

describe.each(testDrivers())('moderating an audit on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Principal;
  let tool: AuditTool;
  let toolId: string;
  const clients: Record<'auditor' | 'practitioner' | 'moderator' | 'qa_lead', TestClient> = {} as never;
  let childNumber = 0;

  /** A Bristol audit by Tina Manager (team manager) of a child held by the given worker, filled in and submitted. */
  async function submittedAudit(workerId = council.staff.worker1.id) {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, { externalId: `MOD-${childNumber}`, initials: 'MD', teamId: council.teams.unit1.id, workerId });
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId, auditorId: council.staff.manager1.id });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    const id = outcome.audit.id;
    await fillAndSubmit(id);
    return id;
  }

  const fillAndSubmit = (id: string) => completeAndSubmit(clients.auditor, tool, id, { staffId: council.staff.worker1.id, today: ukDateAt(new Date()) });

  const audit = (id: string) => t.db.selectFrom('audits').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const judgements = (id: string) => t.db.selectFrom('audit_judgements').selectAll().where('audit_id', '=', id).orderBy('stage').orderBy('section_key').execute();

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    await loadBuiltInTools(t.db, council.organisation.id);
    ({ toolId, tool } = await builtInTool(t.db, council.organisation.id, BRISTOL));
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    for (const role of ['auditor', 'practitioner', 'moderator', 'qa_lead'] as const) {
      clients[role] = new TestClient(t.app);
      await clients[role].signIn(council.users[role].email, PASSWORD);
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it('sets the moderator by the rule on submission, and the moderator regrades with a reason, both grades kept', async () => {
    const id = await submittedAudit();
    expect((await audit(id)).moderator_id).toBe(council.staff.serviceManager.id);

    const summary = await clients.moderator.get(`/audits/${id}`);
    expect(summary.body).toContain(`href="/audits/${id}/moderate"`);
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    expect(page.statusCode).toBe(200);
    expect(pageText(page.body)).toContain('Look hard at management oversight');
    const grades = openedGrades(page.body);
    expect(grades['grade-overall']).toBe('good');
    const section = Object.keys(grades).find((name) => name !== 'grade-overall')!;
    const key = section.slice('grade-'.length);

    // A changed grade without its reason is refused on its field, nothing saved.
    const refused = await clients.moderator.post(`/audits/${id}/moderate`, { _version: versionOf(page.body), ...grades, [section]: 'requires_improvement', comments: 'Keep going' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain(`href="#reason-${key}"`);
    expect(refused.body).toContain('Keep going');
    expect((await audit(id)).status).toBe('in_moderation');

    const done = await clients.moderator.post(`/audits/${id}/moderate`, {
      _version: versionOf(page.body),
      ...grades,
      ...completeModeratorsPart(tool, { staffId: council.staff.serviceManager.id, today: ukDateAt(new Date()) }),
      [section]: 'requires_improvement',
      [`reason-${key}`]: 'Plans are not specific enough',
      'grade-overall': 'requires_improvement',
      'reason-overall': 'The plan drags the case down',
      comments: 'Look closer at the plan',
    });
    expect(done.statusCode, pageText(done.body).slice(0, 600)).toBe(303);
    const after = await audit(id);
    expect(after.status).toBe('moderated');
    expect(after.auditor_grade).toBe('good');
    expect(after.final_grade).toBe('requires_improvement');
    expect(after.moderator_comments).toBe('Look closer at the plan');
    const rows = await judgements(id);
    expect(rows.find((row) => row.stage === 'auditor' && row.section_key === key)?.grade).toBe('good');
    expect(rows.find((row) => row.stage === 'moderator' && row.section_key === key)).toMatchObject({ grade: 'requires_improvement', reason: 'Plans are not specific enough' });
    expect(rows.filter((row) => row.stage === 'moderator' && row.reason === null).length).toBeGreaterThan(0);
    const logged = await t.db.selectFrom('activity_log').select('summary').where('record_id', '=', id).where('child_id', 'is not', null).execute();
    expect(logged.some((row) => row.summary.startsWith('audit moderated'))).toBe(true);

    // The read view shows both grades side by side, the reason, the final grade and the comments.
    const read = pageText((await clients.moderator.get(`/audits/${id}/read`)).body);
    expect(read).toContain('Moderation');
    expect(read).toMatch(/Good Requires improvement Plans are not specific enough/);
    expect(read).toMatch(/Overall grade Good Requires improvement The plan drags the case down/);
    expect(read).toContain('Final grade Requires improvement');
    expect(read).toContain('Development comments for the auditor Look closer at the plan');
    // In the form's order, the overall grade last.
    const table = /The auditor’s grades and the moderator’s([\s\S]*?)Final grade/.exec(read)![1]!;
    expect(table.indexOf('File recording')).toBeLessThan(table.indexOf('Risk management'));
    expect(table.indexOf('Risk management')).toBeLessThan(table.indexOf('Impact'));
    expect(table.trimEnd()).toMatch(/Overall grade Good Requires improvement The plan drags the case down$/);
  }, 60_000);

  it('returns the audit with what needs to change, and the auditor can resubmit it', async () => {
    const id = await submittedAudit();
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    const missing = await clients.moderator.post(`/audits/${id}/moderate/return`, { _version: versionOf(page.body), changes: '  ' });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain('href="#changes"');

    const stale = await clients.moderator.post(`/audits/${id}/moderate/return`, { _version: String(Number(versionOf(page.body)) - 1), changes: 'Add the chronology' });
    expect(stale.statusCode).toBe(409);
    expect(stale.body).toContain('Add the chronology');

    const returned = await clients.moderator.post(`/audits/${id}/moderate/return`, { _version: versionOf(page.body), changes: 'Add the chronology' });
    expect(returned.statusCode).toBe(303);
    expect((await audit(id)).status).toBe('returned');
    const summary = await clients.auditor.get(`/audits/${id}`);
    expect(pageText(summary.body)).toContain('Add the chronology');

    await fillAndSubmit(id);
    const again = await audit(id);
    expect(again.status).toBe('in_moderation');
    expect(again.moderator_id).toBe(council.staff.serviceManager.id);
  }, 60_000);

  it('lets nobody else moderate, and warns about management oversight only when the auditor manages the case holder', async () => {
    const id = await submittedAudit(council.staff.worker2.id);
    for (const client of [clients.auditor, clients.practitioner]) {
      const page = await client.get(`/audits/${id}/moderate`);
      expect([403, 404]).toContain(page.statusCode);
      const post = await client.post(`/audits/${id}/moderate/return`, { _version: '1', changes: 'No' });
      expect([403, 404]).toContain(post.statusCode);
    }
    expect((await audit(id)).status).toBe('in_moderation');
    const summary = await clients.auditor.get(`/audits/${id}`);
    expect(summary.body).not.toContain(`/audits/${id}/moderate`);

    // A QA lead may moderate any audit; the case holder here is not the auditor's report.
    const page = await clients.qa_lead.get(`/audits/${id}/moderate`);
    expect(page.statusCode).toBe(200);
    expect(pageText(page.body)).not.toContain('Look hard at management oversight');
  }, 60_000);
});

describe('a date and a time of day (Bolton\'s feedback meeting)', () => {
  it('reads the times people type, refuses what is not a time, and says it back as GOV.UK writes times', () => {
    expect(['14:30', '2:30pm', '2.30 PM', '2pm', '9:05am', '12pm', '12am', '00:00', '23:59'].map(parseTimeOfDay)).toEqual(['14:30', '14:30', '14:30', '14:00', '09:05', '12:00', '00:00', '00:00', '23:59']);
    for (const wrong of ['25:00', '14', '13pm', '0am', '14:60', 'noonish', '']) expect(parseTimeOfDay(wrong), wrong).toBeUndefined();
    expect(formatDateTimeAnswer('2027-03-14T14:30')).toBe('14 March 2027 at 2:30pm');
    expect(formatDateTimeAnswer('2027-03-14T09:00')).toBe('14 March 2027 at 9am');
    expect(formatDateTimeAnswer('2027-03-14T12:00')).toBe('14 March 2027 at midday');
    expect(formatDateTimeAnswer('2027-03-14T00:00')).toBe('14 March 2027 at midnight');
  });
});

describe("the moderator's questions in words", () => {
  it('quotes a question the form writes without its question mark, rather than bending it into a sentence', () => {
    expect(missingMessage({ kind: 'yesno', key: 'agrees_with_grading', label: 'Do you agree with the grading', required: true }, 'Do you agree with the grading')).toBe('Answer ‘Do you agree with the grading’');
    expect(missingMessage({ kind: 'yesno', key: 'grading_changed', label: 'Did you change the audit grading', required: true }, 'Did you change the audit grading')).toBe('Answer ‘Did you change the audit grading’');
    expect(missingMessage({ kind: 'text', key: 'moderators_report', label: 'Moderators report', required: true }, 'Moderators report')).toBe('Enter moderators report');
  });
});

const LAMBETH = 'lambeth-service-based-case-audit';
const BOLTON = 'bolton-collaborative-case-audit';

describe.each(testDrivers())("the tool's own questions for the moderator on %s", (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Principal;
  const clients: Record<'auditor' | 'moderator' | 'qa_lead', TestClient> = {} as never;
  let childNumber = 0;
  const today = () => ukDateAt(new Date());

  /** An audit of the given tool edition by Tina Manager, filled in and submitted; on an older edition when one is named. */
  async function submittedAudit(key: string, edition?: string): Promise<{ id: string; tool: AuditTool }> {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, { externalId: `SL-${childNumber}`, initials: 'SL', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const { toolId } = await builtInTool(t.db, council.organisation.id, key);
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId, auditorId: council.staff.manager1.id });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    const id = outcome.audit.id;
    const pinned = await t.db
      .selectFrom('audit_tool_editions')
      .select(['id', 'definition'])
      .where('tool_id', '=', toolId)
      .$if(edition !== undefined, (query) => query.where('edition', '=', edition!))
      .orderBy('published_at', 'desc')
      .orderBy('edition', 'desc')
      .executeTakeFirstOrThrow();
    // An audit started before the newest edition was published stays on its own edition.
    if (edition) await t.db.updateTable('audits').set({ tool_edition_id: pinned.id }).where('id', '=', id).execute();
    const tool = (typeof pinned.definition === 'string' ? JSON.parse(pinned.definition) : pinned.definition) as AuditTool;
    await completeAndSubmit(clients.auditor, tool, id, { staffId: council.staff.worker1.id, today: today() });
    return { id, tool };
  }

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    await loadBuiltInTools(t.db, council.organisation.id);
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    for (const role of ['auditor', 'moderator', 'qa_lead'] as const) {
      clients[role] = new TestClient(t.app);
      await clients[role].signIn(council.users[role].email, PASSWORD);
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it("asks Lambeth's second line on the moderation page, keeps what was typed, and tracks the second line's actions", async () => {
    const { id, tool } = await submittedAudit(LAMBETH);
    const { worker1, serviceManager } = council.staff;
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    expect(page.statusCode).toBe(200);
    const text = pageText(page.body);
    for (const words of ['Second line Quality Assurance of Audit by Senior Manager', 'Please comment on the quality of the audit', 'Do you agree with the grading', 'Additional Actions recommended by Second Line', 'Avoid words like ASAP, soon, ongoing']) {
      expect(text).toContain(words);
    }
    // The second line auditor is the moderator, and the date checked today, until they say otherwise.
    expect(page.body).toMatch(new RegExp(`<option value="${serviceManager.id}" selected`));
    expect(page.body).toContain('name="date_checked-year"');
    const grades = openedGrades(page.body);
    const theirs = { ...completeModeratorsPart(tool, { staffId: worker1.id, today: today() }), second_line_auditor: serviceManager.id };

    // Missing and wrong answers are refused, each beside its field in the form's words, and nothing is saved.
    const refused = await clients.moderator.post(`/audits/${id}/moderate`, {
      _version: versionOf(page.body),
      ...grades,
      ...theirs,
      audit_quality_comment: '',
      agrees_with_grading: 'no',
      second_line_grade: '',
      'second_line_actions-0-action': 'Update the chronology with the strategy meeting',
      'second_line_actions-0-by_when-day': 'ASAP',
      'second_line_actions-0-by_when-month': '',
      'second_line_actions-0-by_when-year': '',
    });
    expect(refused.statusCode).toBe(400);
    const problems = pageText(refused.body);
    expect(problems).toContain('Answer ‘Please comment on the quality of the audit');
    expect(refused.body).toContain('href="#audit_quality_comment"');
    expect(problems).toContain('Select a judgement for If not please state your grading');
    expect(refused.body).toContain('href="#second_line_grade"');
    expect(problems).toContain('Enter by when (insert a date) for action 1 as a date, like 27 3 2027');
    expect(refused.body).toContain('href="#second_line_actions-0-by_when-day"');
    expect(refused.body).toMatch(/id="audit_quality_comment-error"/);
    expect((await t.db.selectFrom('audits').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('in_moderation');

    // What was typed is kept: the page opens with it again, with its problem beside it.
    const reopened = await clients.moderator.get(`/audits/${id}/moderate`);
    expect(reopened.body).toContain('Update the chronology with the strategy meeting');
    expect(reopened.body).toContain('value="ASAP"');
    expect(pageText(reopened.body)).toContain('Enter by when (insert a date) for action 1 as a date, like 27 3 2027');

    // A grading of their own must be the overall grade they give.
    const due = addDays(today(), 20);
    const answered = {
      _version: versionOf(reopened.body),
      ...grades,
      ...theirs,
      audit_quality_comment: 'Detailed, and it gave a good sense of the case',
      agrees_with_grading: 'no',
      second_line_grade: 'inadequate',
      'grade-overall': 'requires_improvement',
      'reason-overall': 'The plan has no dates',
      'second_line_actions-0-action': 'Update the chronology with the strategy meeting',
      'second_line_actions-0-by_whom': worker1.id,
      ...dateFields('second_line_actions-0-by_when', due),
    };
    const disagreeing = await clients.moderator.post(`/audits/${id}/moderate`, answered);
    expect(disagreeing.statusCode).toBe(400);
    expect(pageText(disagreeing.body)).toContain('If not please state your grading is Inadequate, but your grade for the overall grade is Requires improvement: give the same grade in both');

    const done = await clients.moderator.post(`/audits/${id}/moderate`, { ...answered, second_line_grade: 'requires_improvement' });
    expect(done.statusCode, pageText(done.body).slice(0, 800)).toBe(303);
    const saved = await t.db.selectFrom('audits').select(['answers', 'status', 'final_grade']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ status: 'moderated', final_grade: 'requires_improvement' });
    expect(saved.answers).toMatchObject({
      second_line_auditor: serviceManager.id,
      audit_quality_comment: 'Detailed, and it gave a good sense of the case',
      agrees_with_grading: 'no',
      second_line_grade: 'requires_improvement',
      second_line_actions: [{ action: 'Update the chronology with the strategy meeting', by_whom: worker1.id, by_when: due }],
    });
    // The auditor's own answers are as they were.
    expect((saved.answers as Record<string, unknown>).overall_grade).toBe('good');
    expect(await t.db.selectFrom('audit_form_drafts').select('page').where('audit_id', '=', id).execute()).toEqual([]);

    // The second line's action is tracked, marked as the moderator's, and followed up like any other.
    const actions = await t.db.selectFrom('actions').select(['source', 'text', 'owner_id', 'due_on', 'status']).where('audit_id', '=', id).orderBy('source').execute();
    expect(actions.filter((action) => action.source === 'moderation')).toEqual([
      { source: 'moderation', text: 'Update the chronology with the strategy meeting', owner_id: worker1.id, due_on: expect.anything(), status: 'open' },
    ]);
    expect(actions.filter((action) => action.source === 'action_plan').length).toBeGreaterThan(0);
    const summary = pageText((await clients.qa_lead.get(`/audits/${id}`)).body);
    expect(summary).toMatch(/Update the chronology with the strategy meeting Recommended by the moderator \(second line\)/);
    const list = pageText((await clients.qa_lead.get('/actions')).body);
    expect(list).toMatch(/Update the chronology with the strategy meeting Recommended by the moderator \(second line\)/);

    // The read view, the DOCX and the PDF give the second line's answers and actions.
    const read = pageText((await clients.qa_lead.get(`/audits/${id}/read`)).body);
    expect(read).toContain('Second line Quality Assurance of Audit by Senior Manager');
    expect(read).toContain('Detailed, and it gave a good sense of the case');
    expect(read).toMatch(/If not please state your grading\s+Requires improvement/);
    expect(read).toMatch(/Additional Actions recommended by Second Line[\s\S]*Update the chronology with the strategy meeting/);
    const docx = await docxText((await clients.qa_lead.get(`/audits/${id}/export.docx`)).rawPayload);
    expect(docx).toContain('Detailed, and it gave a good sense of the case');
    expect(docx).toContain('Update the chronology with the strategy meeting');
    const pdf = (await pdfPages((await clients.qa_lead.get(`/audits/${id}/export.pdf`)).rawPayload)).join('\n').replace(/\s+/g, ' ');
    expect(pdf).toContain('Additional Actions recommended by Second Line');
    expect(pdf).toContain('Update the chronology with the strategy meeting');
  }, 120_000);

  it("asks Bolton's moderator's form with the feedback meeting's date and time; an audit on the edition before reads as it was", async () => {
    const { id, tool } = await submittedAudit(BOLTON);
    expect(tool.edition).toBe('undated.2');
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    expect(pageText(page.body)).toContain('14. Moderators form');
    expect(page.body).toContain('name="feedback_meeting_date-time"');
    const grades = openedGrades(page.body);
    const fields = { _version: versionOf(page.body), ...grades, ...completeModeratorsPart(tool, { staffId: council.staff.worker1.id, today: today(), overall: grades['grade-overall'] }) };
    const wrongTime = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, 'feedback_meeting_date-time': '25:00' });
    expect(wrongTime.statusCode).toBe(400);
    expect(pageText(wrongTime.body)).toContain('Enter the time for date / time of feedback meeting between moderator and auditor as a real time, like 14:30 or 2:30pm');
    expect(wrongTime.body).toContain('href="#feedback_meeting_date-day"');
    const noTime = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, 'feedback_meeting_date-time': '' });
    expect(pageText(noTime.body)).toContain('Date / time of feedback meeting between moderator and auditor must include a time');

    const done = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, 'feedback_meeting_date-time': '2:30pm' });
    expect(done.statusCode, pageText(done.body).slice(0, 800)).toBe(303);
    const met = today();
    const { answers } = await t.db.selectFrom('audits').select('answers').where('id', '=', id).executeTakeFirstOrThrow();
    expect((answers as Record<string, unknown>).feedback_meeting_date).toBe(`${met}T14:30`);
    const read = pageText((await clients.qa_lead.get(`/audits/${id}/read`)).body);
    expect(read).toMatch(/Date \/ time of feedback meeting between moderator and auditor \d{1,2} \w+ \d{4} at 2:30pm/);

    // An audit started on "undated.1" keeps its date and its time typed as text, and reads so.
    const older = await submittedAudit(BOLTON, 'undated.1');
    expect(older.tool.edition).toBe('undated.1');
    const olderPage = await clients.moderator.get(`/audits/${older.id}/moderate`);
    expect(olderPage.body).toContain('name="feedback_meeting_time"');
    expect(olderPage.body).not.toContain('name="feedback_meeting_date-time"');
    const olderGrades = openedGrades(olderPage.body);
    const moderated = await clients.moderator.post(`/audits/${older.id}/moderate`, {
      _version: versionOf(olderPage.body),
      ...olderGrades,
      ...completeModeratorsPart(older.tool, { staffId: council.staff.worker1.id, today: today(), overall: olderGrades['grade-overall'] }),
      feedback_meeting_time: '10:15',
    });
    expect(moderated.statusCode, pageText(moderated.body).slice(0, 800)).toBe(303);
    const olderRead = pageText((await clients.qa_lead.get(`/audits/${older.id}/read`)).body);
    expect(olderRead).toContain('Bolton collaborative case audit (edition undated.1)');
    expect(olderRead).toMatch(/Time of feedback meeting between moderator and auditor 10:15/);
    expect(olderRead).toMatch(/Date \/ time of feedback meeting between moderator and auditor \d{1,2} \w+ \d{4}(?! at)/);
  }, 120_000);

  it("shows the question another of the moderator's answers decides with its condition in words, and autosave says when it is asked", async () => {
    const { id } = await submittedAudit(LAMBETH);
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    // Without JavaScript the grading question is on the page, saying when to answer it; the script hides it until then.
    expect(page.body).toMatch(/<div data-asked-for="second_line_grade" data-asked="no">/);
    expect(page.body).toContain('name="second_line_grade"');
    expect(pageText(page.body)).toContain('If not please state your grading Answer only if you answered No to ‘Do you agree with the grading’.');
    expect(page.body).toContain('data-module="app-autosave"');
    expect(page.body).toContain('src="/assets/js/audit-form.js"');
    // Questions nothing on the page decides are not wrapped.
    expect(page.body).not.toContain('data-asked-for="audit_quality_comment"');

    // As the moderator answers, autosave keeps what was typed and says whether the grading is asked.
    const autosave = (fields: Record<string, string>) => clients.moderator.post(`/audits/${id}/moderate`, { _version: versionOf(page.body), _autosave: '1', ...fields });
    const disagree = await autosave({ agrees_with_grading: 'no', audit_quality_comment: 'Typed, not yet sent' });
    expect(disagree.statusCode).toBe(200);
    expect(JSON.parse(disagree.body)).toEqual({ status: 'saved', version: Number(versionOf(page.body)), asked: { second_line_grade: true } });
    const reopened = await clients.moderator.get(`/audits/${id}/moderate`);
    expect(reopened.body).toMatch(/<div data-asked-for="second_line_grade" data-asked="yes">/);
    expect(reopened.body).toContain('Typed, not yet sent');
    expect(JSON.parse((await autosave({ agrees_with_grading: 'yes' })).body).asked).toEqual({ second_line_grade: false });
    // Nothing is sent by autosave: the audit is still in moderation, and a save from a page that is out of date is refused.
    expect((await t.db.selectFrom('audits').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('in_moderation');
    const stale = await clients.moderator.post(`/audits/${id}/moderate`, { _version: String(Number(versionOf(page.body)) - 1), _autosave: '1', agrees_with_grading: 'no' });
    expect(stale.statusCode).toBe(409);
    expect(JSON.parse((await autosave({ agrees_with_grading: 'no' })).body).asked).toEqual({ second_line_grade: true });
    const logged = await t.db.selectFrom('activity_log').select('summary').where('record_id', '=', id).where('summary', '=', 'moderation kept as typed, not yet sent').execute();
    expect(logged.length).toBe(3);
  }, 120_000);

  it("refuses \"Do you agree with the grading\" when the overall grade says otherwise, keeping what was typed (Lambeth)", async () => {
    const { id, tool } = await submittedAudit(LAMBETH);
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    const grades = openedGrades(page.body);
    expect(grades['grade-overall']).toBe('good');
    const fields = {
      _version: versionOf(page.body),
      ...grades,
      ...completeModeratorsPart(tool, { staffId: council.staff.worker1.id, today: today() }),
      audit_quality_comment: 'Detailed enough, but the plan is vague',
    };
    const status = async () => (await t.db.selectFrom('audits').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

    // Agreeing, and giving another overall grade.
    const agreeing = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, agrees_with_grading: 'yes', 'grade-overall': 'requires_improvement', 'reason-overall': 'The plan has no dates' });
    expect(agreeing.statusCode).toBe(400);
    const agreeingMessage = 'You answered Yes to ‘Do you agree with the grading’, but you changed the overall grade from Good to Requires improvement: answer No, or keep the auditor’s grade';
    expect(pageText(agreeing.body)).toContain(agreeingMessage);
    expect(agreeing.body).toContain('href="#agrees_with_grading"');
    expect(agreeing.body).toMatch(/id="agrees_with_grading-error"[^>]*>\s*<span class="govuk-visually-hidden">Error:<\/span> You answered Yes/);
    // Everything typed is kept.
    expect(agreeing.body).toContain('The plan has no dates');
    expect(agreeing.body).toContain('Detailed enough, but the plan is vague');
    expect(await status()).toBe('in_moderation');

    // Not agreeing, and keeping the auditor's overall grade (their own grading the same).
    const notAgreeing = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, agrees_with_grading: 'no', second_line_grade: 'good' });
    expect(notAgreeing.statusCode).toBe(400);
    expect(pageText(notAgreeing.body)).toContain('You answered No to ‘Do you agree with the grading’, but your overall grade is the auditor’s, Good: answer Yes, or change the overall grade');
    expect(notAgreeing.body).toContain('href="#agrees_with_grading"');
    // The grading question stays in view: the answer asks for it.
    expect(notAgreeing.body).toMatch(/<div data-asked-for="second_line_grade" data-asked="yes">/);
    expect(await status()).toBe('in_moderation');

    // Agreeing and keeping the grade is accepted.
    const done = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, agrees_with_grading: 'yes' });
    expect(done.statusCode, pageText(done.body).slice(0, 800)).toBe(303);
    const saved = await t.db.selectFrom('audits').select(['status', 'final_grade', 'answers']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ status: 'moderated', final_grade: 'good', answers: { agrees_with_grading: 'yes' } });
    expect((saved.answers as Record<string, unknown>).second_line_grade).toBeUndefined();
  }, 120_000);

  it("refuses \"Did you change the audit grading\" when the overall grade says otherwise, and accepts it when they agree (Bolton)", async () => {
    const { id, tool } = await submittedAudit(BOLTON);
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    // Bolton's §14 questions after "Has this case been moderated?" are on the page, each saying when it is asked.
    for (const key of ['moderated_grade', 'grading_changed', 'moderators_report', 'feedback_meeting_date']) expect(page.body).toMatch(new RegExp(`<div data-asked-for="${key}" data-asked="no">`));
    expect(pageText(page.body)).toContain('Did you change the audit grading (optional) Answer only if you answered Yes to ‘Has this case been moderated?’.');
    const grades = openedGrades(page.body);
    expect(grades['grade-overall']).toBe('good');
    const label = (value: string) => tool.scales.find((scale) => scale.id === 'bolton_grade')!.options.find((option) => option.value === value)!.label;
    const regraded = { 'grade-overall': 'requires_improvement', 'reason-overall': 'Outcomes are not improving', moderated_grade: 'requires_improvement' };
    const fields = { _version: versionOf(page.body), ...grades, ...completeModeratorsPart(tool, { staffId: council.staff.worker1.id, today: today(), overall: 'good' }), case_moderated: 'yes' };

    const notChanged = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, ...regraded, grading_changed: 'no' });
    expect(notChanged.statusCode).toBe(400);
    expect(pageText(notChanged.body)).toContain(
      `You answered No to ‘Did you change the audit grading’, but you changed the overall grade from ${label('good')} to ${label('requires_improvement')}: answer Yes, or keep the auditor’s grade`,
    );
    expect(notChanged.body).toContain('href="#grading_changed"');
    expect(notChanged.body).toContain('Outcomes are not improving');

    const changed = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, grading_changed: 'yes' });
    expect(changed.statusCode).toBe(400);
    expect(pageText(changed.body)).toContain(`You answered Yes to ‘Did you change the audit grading’, but your overall grade is the auditor’s, ${label('good')}: answer No, or change the overall grade`);
    expect((await t.db.selectFrom('audits').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('in_moderation');

    const done = await clients.moderator.post(`/audits/${id}/moderate`, { ...fields, ...regraded, grading_changed: 'yes' });
    expect(done.statusCode, pageText(done.body).slice(0, 800)).toBe(303);
    const saved = await t.db.selectFrom('audits').select(['status', 'final_grade', 'answers']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ status: 'moderated', final_grade: 'requires_improvement', answers: { grading_changed: 'yes', moderated_grade: 'requires_improvement' } });
  }, 120_000);

  it('keeps the answers of a moderator who adds a row or leaves to come back later', async () => {
    const { id } = await submittedAudit(LAMBETH);
    const page = await clients.moderator.get(`/audits/${id}/moderate`);
    const later = await clients.moderator.post(`/audits/${id}/moderate`, { _version: versionOf(page.body), _action: 'later', audit_quality_comment: 'Half written' });
    expect(later.statusCode).toBe(303);
    expect(later.headers.location).toBe(`/audits/${id}/moderate?kept=1`);
    const back = await clients.moderator.get(`/audits/${id}/moderate?kept=1`);
    expect(pageText(back.body)).toContain('Your answers are kept');
    expect(back.body).toContain('Half written');
    const added = await clients.moderator.post(`/audits/${id}/moderate`, { _version: versionOf(page.body), _action: 'add-row', audit_quality_comment: 'Half written', 'second_line_actions-0-action': 'First' });
    expect(added.headers.location).toBe(`/audits/${id}/moderate?add=1#rows`);
    const rows = await clients.moderator.get(`/audits/${id}/moderate?add=1`);
    expect(rows.body).toContain('name="second_line_actions-1-action"');
    expect((await t.db.selectFrom('audits').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('in_moderation');
  }, 120_000);
});
