import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { DETAILS_PAGE } from '../src/modules/audits/form/answers.ts';
import { formPages } from '../src/modules/audits/form/form.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { completePage as completeFormPage, dateFields, type Fields } from './support/form-fields.ts';
import { addDays } from '../src/platform/working-days.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { ukDateAt } from '../src/platform/clock.ts';


const BRISTOL = 'bristol-child-case-audit';
const BOLTON = 'bolton-collaborative-case-audit';



const versionOf = (html: string) => /name="_version" value="(\d+)"/.exec(html)?.[1] ?? 'missing';

describe.each(testDrivers())('completing an audit on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Principal;
  const tools: Record<string, { toolId: string; tool: AuditTool }> = {};
  const clients: Record<'auditor' | 'practitioner' | 'moderator' | 'qa_lead', TestClient> = {} as never;
  let childNumber = 0;

  /** A new audit of a new child, allocated to the auditor (Tina Manager) with the given tool. */
  async function allocate(toolKey: string) {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, {
      externalId: `AF-${childNumber}`,
      initials: 'ZY',
      teamId: council.teams.unit1.id,
      workerId: council.staff.worker1.id,
    });
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId: tools[toolKey]!.toolId, auditorId: council.staff.manager1.id });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    return { id: outcome.audit.id, childId: child.id };
  }

  const pageUrl = (id: string, page: string) => (page === DETAILS_PAGE ? `/audits/${id}/form/details` : `/audits/${id}/form/sections/${page}`);

  /** Opens a page as the auditor and posts it with the given fields, at the version it was loaded at. */
  async function savePage(id: string, page: string, fields: Fields, client = clients.auditor) {
    const form = await client.get(pageUrl(id, page));
    expect(form.statusCode).toBe(200);
    return client.post(pageUrl(id, page), { _version: versionOf(form.body), ...fields });
  }

  const audit = (id: string) => t.db.selectFrom('audits').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  const completePage = (tool: AuditTool, page: string) => completeFormPage(tool, page, { staffId: council.staff.worker1.id, today: ukDateAt(new Date()) });

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    await loadBuiltInTools(t.db, council.organisation.id);
    const editions = await t.db
      .selectFrom('audit_tool_editions')
      .innerJoin('audit_tools', 'audit_tools.id', 'audit_tool_editions.tool_id')
      .select(['audit_tools.id', 'audit_tools.key', 'audit_tool_editions.definition'])
      .where('audit_tools.organisation_id', '=', council.organisation.id)
      // Each tool's newest edition comes last: the one new audits are allocated on.
      .orderBy('audit_tool_editions.edition')
      .execute();
    for (const edition of editions) {
      tools[edition.key] = { toolId: edition.id, tool: (typeof edition.definition === 'string' ? JSON.parse(edition.definition) : edition.definition) as AuditTool };
    }
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    for (const role of ['auditor', 'practitioner', 'moderator', 'qa_lead'] as const) {
      clients[role] = new TestClient(t.app);
      await clients[role].signIn(council.users[role].email, PASSWORD);
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it.each([
    'bristol-child-case-audit',
    'bristol-families-in-focus-child-case-audit',
    'bolton-collaborative-case-audit',
    'telford-strengthening-families-case-audit',
    'lambeth-service-based-case-audit',
  ])('completes a %s audit end to end, and it reads back in the read view, the DOCX and the PDF', async (key) => {
    const { id } = await allocate(key);
    const tool = tools[key]!.tool;
    for (const page of formPages(tool)) {
      const opened = await clients.auditor.get(pageUrl(id, page));
      // Keep what the register filled in; answer everything else.
      const prefilled = Object.fromEntries([...opened.body.matchAll(/name="([a-z][a-z0-9_]*)"[^>]*value="([^"]+)"/g)].map((match) => [match[1]!, match[2]!]));
      const response = await clients.auditor.post(pageUrl(id, page), { _version: versionOf(opened.body), ...completePage(tool, page), ...(page === DETAILS_PAGE ? prefilled : {}) });
      expect(response.statusCode, `${key} ${page}: ${pageText(response.body).slice(0, 600)}`).toBe(303);
    }
    const check = await clients.auditor.get(`/audits/${id}/form/check`);
    const submitted = await clients.auditor.post(`/audits/${id}/form/submit`, { _version: versionOf(check.body) });
    expect(submitted.statusCode, `${key}: ${pageText(submitted.body).slice(0, 800)}`).toBe(303);
    expect((await audit(id)).status).toBe('in_moderation');

    const read = await clients.auditor.get(`/audits/${id}/read`);
    expect(read.statusCode).toBe(200);
    const text = pageText(read.body);
    for (const section of tool.sections.filter((candidate) => candidate.kind === 'standard').slice(0, 3)) expect(text).toContain(section.title);
    expect(text).toContain('Notes for');
    const docx = await clients.auditor.get(`/audits/${id}/export.docx`);
    expect(docx.statusCode).toBe(200);
    expect(docx.rawPayload.subarray(0, 2).toString()).toBe('PK');
    const pdf = await clients.auditor.get(`/audits/${id}/export.pdf`);
    expect(pdf.statusCode).toBe(200);
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
  }, 60_000);

  it('completes a whole Bristol 2019 audit section by section and submits it for moderation', async () => {
    const { id, childId } = await allocate(BRISTOL);
    const tool = tools[BRISTOL]!.tool;

    const summary = await clients.auditor.get(`/audits/${id}`);
    expect(summary.body).toContain(`href="/audits/${id}/form"`);
    expect(pageText(summary.body)).toContain('Start the audit');

    const taskList = await clients.auditor.get(`/audits/${id}/form`);
    expect(taskList.statusCode).toBe(200);
    const taskText = pageText(taskList.body);
    expect(taskText).toContain('Audit details');
    expect(taskText).toContain('Service user feedback');
    // Moderation and staff feedback are not the auditor's to fill in.
    expect(taskText).not.toContain('Post moderation staff and supervisor feedback');

    // The header is filled in from the register before the audit starts.
    const details = await clients.auditor.get(pageUrl(id, DETAILS_PAGE));
    expect(details.body).toMatch(new RegExp(`name="child_id"[^>]*>AF-${childNumber}</textarea>|value="AF-${childNumber}"`));

    const assessment = await clients.auditor.get(pageUrl(id, 'assessment'));
    expect(pageText(assessment.body)).toContain('Grade descriptors: Assessment/Mapping');
    expect(pageText(assessment.body)).toContain('Assessments completed to a good standard with a good risk analysis');

    for (const page of formPages(tool)) {
      // The details page posts back what it was prefilled with.
      const fields = page === DETAILS_PAGE ? { ...completePage(tool, page), child_id: `AF-${childNumber}` } : completePage(tool, page);
      const response = await savePage(id, page, fields);
      expect(response.statusCode, `${page}: ${pageText(response.body).slice(0, 600)}`).toBe(303);
    }
    const started = await audit(id);
    expect(started.status).toBe('in_progress');
    expect(started.answers.assessment_judgement).toBe('good');
    expect(started.answers.child_id).toBe(`AF-${childNumber}`);
    expect(started.answers.actions).toEqual([{ action_required: 'Notes for actions-0-action_required', to_be_completed_by: council.staff.worker1.id, by_when: addDays(ukDateAt(new Date()), 30) }]);
    const feedback = started.answers.service_user_feedback as { respondents: Record<string, { obtained: string; answers: Record<string, unknown>; notObtainedOther?: string }> };
    expect(feedback.respondents.parent_carer_1!.obtained).toBe('yes');
    expect(feedback.respondents.parent_carer_1!.answers.scaling).toBe(7);
    expect(feedback.respondents.young_person_child!.notObtainedOther).toBe('Did not want to take part');
    expect(started.completed_sections).toContain('assessment');

    const check = await clients.auditor.get(`/audits/${id}/form/check`);
    expect(check.statusCode).toBe(200);
    expect(pageText(check.body)).toContain('Check your answers before submitting the audit');
    expect(pageText(check.body)).toContain('Notes for assessment_strengths');

    const submitted = await clients.auditor.post(`/audits/${id}/form/submit`, { _version: versionOf(check.body) });
    expect(submitted.statusCode, pageText(submitted.body).slice(0, 800)).toBe(303);
    expect(submitted.headers.location).toBe(`/audits/${id}?submitted=1`);
    const done = await audit(id);
    expect(done.status).toBe('in_moderation');
    expect(done.submitted_at).not.toBeNull();
    expect(done.auditor_grade).toBe('good');
    const judgements = await t.db.selectFrom('audit_judgements').selectAll().where('audit_id', '=', id).execute();
    expect(judgements.map((judgement) => judgement.section_key)).toContain('assessment');

    const logged = await t.db.selectFrom('activity_log').select(['action', 'record_type', 'summary', 'child_id']).where('record_id', '=', id).execute();
    expect(logged.filter((entry) => entry.action === 'update').every((entry) => entry.child_id === childId)).toBe(true);
    expect(logged.some((entry) => entry.summary.includes('submitted for moderation'))).toBe(true);
    expect(logged.some((entry) => entry.record_type === 'audit_form' && entry.action === 'view' && entry.child_id === childId)).toBe(true);

    // Submitted: the form is no longer open to change.
    const after = await clients.auditor.get(`/audits/${id}/form`);
    expect(after.statusCode).toBe(303);
    const late = await clients.auditor.post(pageUrl(id, 'assessment'), { _version: String(done.version), assessment_judgement: 'inadequate' });
    expect(late.statusCode).toBe(409);
  }, 120_000);

  it('holds Bolton Management grip to Does not yet meet good when no supervision is recorded, saying why', async () => {
    const { id } = await allocate(BOLTON);
    const refused = await savePage(id, 'management_grip', {
      supervision_in_last_3_months: 'no',
      management_grip_grade: 'good',
      management_grip_comments: 'Supervision has lapsed',
    });
    expect(refused.statusCode).toBe(400);
    const text = pageText(refused.body);
    expect(text).toContain('Management Grip cannot be better than Does not yet meet good');
    expect(text).toContain('Limiting judgement for this section - if there is not supervision recorded within timescale');
    expect(refused.body).toContain('href="#management_grip_grade"');
    expect((await audit(id)).answers).toEqual({});

    const saved = await savePage(id, 'management_grip', {
      supervision_in_last_3_months: 'no',
      management_grip_grade: 'requires_improvement',
      management_grip_comments: 'Supervision has lapsed',
    });
    expect(saved.statusCode).toBe(303);
    const page = await clients.auditor.get(pageUrl(id, 'management_grip'));
    expect(pageText(page.body)).toContain('Management Grip cannot be better than Does not yet meet good: Limiting judgement for this section');
  }, 60_000);

  it('refuses submission while a required judgement or its evidence is missing, in plain words, one line per section not started, and shows each beside its field', async () => {
    const { id } = await allocate(BOLTON);
    await savePage(id, 'child_centred_practice', { child_centred_practice_grade: 'good' });
    const check = await clients.auditor.get(`/audits/${id}/form/check`);
    const refused = await clients.auditor.post(`/audits/${id}/form/submit`, { _version: versionOf(check.body) });
    // Refused, then redirected: a reload of the page shows the list again and never submits again.
    expect(refused.statusCode).toBe(303);
    expect(refused.headers.location).toBe(`/audits/${id}/form/check?refused=1`);
    const summary = await clients.auditor.get(String(refused.headers.location));
    expect(summary.statusCode).toBe(200);
    const text = pageText(summary.body);
    expect(text).toContain('You cannot submit this audit yet');
    expect(text).not.toMatch(/is missing|\(\w[^)]*\) is/);
    // The section begun names what it lacks; a section not started is one line.
    expect(summary.body).toContain(`href="/audits/${id}/form/sections/child_centred_practice?check=1#child_centred_practice_comments"`);
    expect(text).toMatch(/Answer ‘Auditors comments and rationale for grading – include what is working well and what needs to be improved’ for Child centred practice and voice of the child/);
    expect(text).toContain('Select case type');
    expect(text).toContain('Complete the section: 5. Child and Family Assessment');
    expect(summary.body).toContain(`href="/audits/${id}/form/sections/child_and_family_assessment?check=1#`);
    const sectionsNotStarted = tools[BOLTON]!.tool.sections.length;
    const lines = [...summary.body.matchAll(/<li>\s*<a href="\/audits\//g)].length;
    expect(lines).toBeLessThan(sectionsNotStarted + 3);
    // The link opens the page with the error beside its field.
    const opened = await clients.auditor.get(`/audits/${id}/form/sections/child_and_family_assessment?check=1`);
    expect(opened.body).toContain('<title>Error:');
    expect(opened.body).toMatch(/id="child_and_family_assessment_grade-error"[\s\S]*?Select a judgement for/);
    expect((await audit(id)).status).toBe('in_progress');
  }, 60_000);

  it('shows each feedback respondent only what applies, and refuses a reason "not obtained" beside "obtained"', async () => {
    const { id, childId } = await allocate(BRISTOL);
    await t.db.updateTable('children').set({ date_of_birth: addDays(ukDateAt(new Date()), -2 * 366) }).where('id', '=', childId).execute();
    const blank = await clients.auditor.get(pageUrl(id, 'service_user_feedback'));
    const blankText = pageText(blank.body);
    // The 2-year-old is not asked for their own feedback: one line, no questions.
    expect(blankText).toMatch(/Not asked for this child, who is 2 \(feedback is sought from age 14\)/);
    expect(blank.body).not.toContain('name="young_person_child-obtained"');
    expect(blank.body).not.toContain('name="young_person_child-going_well"');
    expect(blank.body).toContain('class="app-feedback-branch" data-branch-of="parent_carer_1-obtained" data-branch="yes"');

    const contradictory = await savePage(id, 'service_user_feedback', { 'parent_carer_1-obtained': 'yes', 'parent_carer_1-going_well': 'Good', 'parent_carer_1-reason-other': 'Not reached' });
    expect(contradictory.statusCode).toBe(400);
    expect(pageText(contradictory.body)).toContain('You said feedback was obtained from Parent/carer 1: delete why it was not obtained, or select No');
    const noWithAnswers = await savePage(id, 'service_user_feedback', { 'parent_carer_1-obtained': 'no', 'parent_carer_1-going_well': 'Good', 'parent_carer_1-reason-other': 'Not reached' });
    expect(pageText(noWithAnswers.body)).toContain('You said feedback was not obtained from Parent/carer 1: delete the answers to its questions, or select Yes');
    const unchosen = await savePage(id, 'service_user_feedback', { 'parent_carer_1-going_well': 'Good' });
    expect(pageText(unchosen.body)).toContain('Select whether feedback was obtained from Parent/carer 1');
    expect((await audit(id)).answers).toEqual({});

    // Without JavaScript: "Yes" and Continue comes back to the page, now showing only that branch.
    const chosen = await savePage(id, 'service_user_feedback', { 'parent_carer_1-obtained': 'yes', 'parent_carer_2-obtained': 'no', 'parent_carer_2-reason-other': 'Moved away', _action: 'continue' });
    expect(chosen.statusCode).toBe(303);
    expect(chosen.headers.location).toBe(`${pageUrl(id, 'service_user_feedback')}#respondent-parent_carer_1`);
    const narrowed = await clients.auditor.get(pageUrl(id, 'service_user_feedback'));
    const branch = (respondent: string, value: string) => `class="app-feedback-branch app-not-chosen" data-branch-of="${respondent}-obtained" data-branch="${value}"`;
    expect(narrowed.body).toContain(branch('parent_carer_1', 'no'));
    expect(narrowed.body).not.toContain(branch('parent_carer_1', 'yes'));
    expect(narrowed.body).toContain(branch('parent_carer_2', 'yes'));
    const answered = await savePage(id, 'service_user_feedback', { 'parent_carer_1-obtained': 'yes', 'parent_carer_1-going_well': 'Listened to', 'parent_carer_2-obtained': 'no', 'parent_carer_2-reason-other': 'Moved away', _action: 'continue' });
    expect(answered.headers.location).not.toContain('service_user_feedback');
    const stored = (await audit(id)).answers.service_user_feedback as { respondents: Record<string, unknown> };
    expect(Object.keys(stored.respondents).sort()).toEqual(['parent_carer_1', 'parent_carer_2']);
  }, 60_000);

  it('refuses a stale save, keeping the typed text and showing the newer version beside it', async () => {
    const { id } = await allocate(BRISTOL);
    const firstTab = await clients.auditor.get(pageUrl(id, 'assessment'));
    const secondTab = await clients.auditor.get(pageUrl(id, 'assessment'));
    const saved = await clients.auditor.post(pageUrl(id, 'assessment'), { _version: versionOf(secondTab.body), assessment_strengths: 'Saved in the second tab' });
    expect(saved.statusCode).toBe(303);
    const stale = await clients.auditor.post(pageUrl(id, 'assessment'), { _version: versionOf(firstTab.body), assessment_strengths: 'Typed in the first tab' });
    expect(stale.statusCode).toBe(409);
    expect(stale.body).toMatch(/<textarea[^>]*name="assessment_strengths"[^>]*>Typed in the first tab<\/textarea>/);
    expect(pageText(stale.body)).toContain('Your answers have not been saved');
    expect(pageText(stale.body)).toContain('The newer saved version');
    expect(pageText(stale.body)).toContain('Saved in the second tab');
    expect(stale.body).toMatch(/data-testid="newer-version">[\s\S]*?<dl class="app-newer-version">/);
    expect((await audit(id)).answers.assessment_strengths).toBe('Saved in the second tab');

    // With JavaScript, the autosave of a stale page is refused the same way.
    const autosave = await clients.auditor.post(pageUrl(id, 'assessment'), { _version: versionOf(firstTab.body), _autosave: '1', assessment_strengths: 'Typed in the first tab' });
    expect(autosave.statusCode).toBe(409);
    expect(JSON.parse(autosave.body)).toMatchObject({ status: 'stale' });
    const current = await clients.auditor.get(pageUrl(id, 'assessment'));
    const autosaved = await clients.auditor.post(pageUrl(id, 'assessment'), { _version: versionOf(current.body), _autosave: '1', assessment_strengths: 'Autosaved' });
    expect(autosaved.statusCode).toBe(200);
    expect(JSON.parse(autosaved.body)).toMatchObject({ status: 'saved' });
    expect((await audit(id)).answers.assessment_strengths).toBe('Autosaved');
  }, 60_000);

  it('refuses an action due "ASAP", an owner who is not staff and a score outside its scale, naming the field', async () => {
    const { id } = await allocate(BRISTOL);
    const asap = await savePage(id, 'action_plan', {
      'actions-0-action_required': 'Update the chronology',
      'actions-0-to_be_completed_by': council.staff.worker1.id,
      'actions-0-by_when-day': 'ASAP',
      'actions-0-by_when-month': '',
      'actions-0-by_when-year': '',
    });
    expect(asap.statusCode).toBe(400);
    expect(pageText(asap.body)).toContain('Enter by when for action 1 as a date, like 27 3 2027');
    expect(asap.body).toContain('href="#actions-0-by_when-day"');
    // What was typed stays in the form.
    expect(asap.body).toMatch(/name="actions-0-by_when-day"[^>]*value="ASAP"|value="ASAP"[^>]*name="actions-0-by_when-day"/);

    const owner = await savePage(id, 'action_plan', {
      'actions-0-action_required': 'Update the chronology',
      'actions-0-to_be_completed_by': '00000000-0000-4000-8000-000000000000',
      ...dateFields('actions-0-by_when', addDays(ukDateAt(new Date()), 10)),
    });
    expect(owner.statusCode).toBe(400);
    expect(pageText(owner.body)).toContain('Select a member of staff for ‘To be completed by’ for action 1');

    const score = await savePage(id, 'service_user_feedback', { 'parent_carer_1-obtained': 'yes', 'parent_carer_1-scaling': '11' });
    expect(score.statusCode).toBe(400);
    expect(pageText(score.body)).toMatch(/Answer ‘Scaling - if 0 was a service [^’]*’ for Parent\/carer 1/);
    const grade = await savePage(id, 'assessment', { assessment_judgement: 'brilliant' });
    expect(grade.statusCode).toBe(400);
    expect(pageText(grade.body)).toContain('Select a judgement for Assessment');
    expect((await audit(id)).answers).toEqual({});
  }, 60_000);

  it('says what is wrong with a date, a long text and a number in GOV.UK words, beside each field and in the summary', async () => {
    const { id } = await allocate(BRISTOL);
    const before = (await audit(id)).answers;
    const refused = await savePage(id, DETAILS_PAGE, {
      'date_referral_received_by_first_response-day': '31',
      'date_referral_received_by_first_response-month': '2',
      'date_referral_received_by_first_response-year': '2026',
      caseholder_role_team: 'x'.repeat(20_001),
      child_age: '30',
    });
    expect(refused.statusCode).toBe(400);
    const expected = [
      { field: 'date_referral_received_by_first_response', link: 'date_referral_received_by_first_response-day', message: 'Date referral received by First Response must be a real date' },
      { field: 'caseholder_role_team', link: 'caseholder_role_team', message: 'Role/Team must be 20,000 characters or less' },
      { field: 'child_age', link: 'child_age', message: "Child's age must be a whole number between 0 and 25" },
    ];
    const summary = /<div class="govuk-error-summary"[\s\S]*?<\/ul>/.exec(refused.body)?.[0] ?? '';
    for (const { field, link, message } of expected) {
      // Beside its field, under the error id the field points to with aria-describedby ...
      const beside = new RegExp(`<p id="${field}-error" class="govuk-error-message">([\\s\\S]*?)</p>`).exec(refused.body)?.[1] ?? '';
      expect(pageText(beside)).toBe(`Error: ${message}`);
      // ... and in the summary, linking to the field.
      const item = new RegExp(`<a href="#${link}">([^<]*)</a>`).exec(summary)?.[1] ?? '';
      expect(pageText(item)).toBe(message);
    }
    expect(pageText(refused.body)).not.toMatch(/characters or fewer|enter a real date|choose one of the options/);
    expect((await audit(id)).answers).toEqual(before);
  }, 60_000);

  it('keeps every action typed when one date is wrong, even if the auditor leaves by the back link, and refuses a row with only a date', async () => {
    const { id } = await allocate(BRISTOL);
    const later = addDays(ukDateAt(new Date()), 20);
    const refused = await savePage(id, 'action_plan', {
      'actions-0-action_required': 'Update the chronology',
      'actions-0-to_be_completed_by': council.staff.worker1.id,
      ...dateFields('actions-0-by_when', later),
      'actions-1-action_required': 'Hold a core group',
      'actions-1-to_be_completed_by': council.staff.worker1.id,
      'actions-1-by_when-day': '31',
      'actions-1-by_when-month': '2',
      'actions-1-by_when-year': '2027',
    });
    expect(refused.statusCode).toBe(400);
    expect((await audit(id)).answers).toEqual({});
    // The auditor leaves by the back link and comes back: everything typed is there, with the problem.
    await clients.auditor.get(`/audits/${id}/form`);
    const back = await clients.auditor.get(pageUrl(id, 'action_plan'));
    expect(back.body).toMatch(/<textarea[^>]*name="actions-0-action_required"[^>]*>Update the chronology<\/textarea>/);
    expect(back.body).toMatch(/<textarea[^>]*name="actions-1-action_required"[^>]*>Hold a core group<\/textarea>/);
    expect(back.body).toMatch(/name="actions-1-by_when-day"[^>]*value="31"|value="31"[^>]*name="actions-1-by_when-day"/);
    expect(pageText(back.body)).toContain('By when for action 2 must be a real date');
    // Put right, it saves, and what was kept is gone.
    const fixed = await clients.auditor.post(pageUrl(id, 'action_plan'), {
      _version: versionOf(back.body),
      'actions-0-action_required': 'Update the chronology',
      'actions-0-to_be_completed_by': council.staff.worker1.id,
      ...dateFields('actions-0-by_when', later),
      'actions-1-action_required': 'Hold a core group',
      'actions-1-to_be_completed_by': council.staff.worker1.id,
      ...dateFields('actions-1-by_when', later),
    });
    expect(fixed.statusCode, pageText(fixed.body).slice(0, 400)).toBe(303);
    expect(((await audit(id)).answers.actions as unknown[]).length).toBe(2);
    expect(pageText((await clients.auditor.get(pageUrl(id, 'action_plan'))).body)).not.toContain('must be a real date');

    // A row with only a date would be saved and then never become an action: refused, saying why.
    const dateOnly = await clients.auditor.post(pageUrl(id, 'action_plan'), { _version: String((await audit(id)).version), ...dateFields('actions-0-by_when', later) });
    expect(dateOnly.statusCode).toBe(400);
    expect(pageText(dateOnly.body)).toContain('Enter action required for action 1, or clear the action');
    expect(dateOnly.body).toContain('href="#actions-0-action_required"');
    expect(((await audit(id)).answers.actions as unknown[]).length).toBe(2);
    expect(pageText(dateOnly.body)).toContain('To remove an action, clear all its answers.');
  }, 60_000);

  it('asks only the questions that apply: one turned on by an answer on its page is shown or hidden as it changes; one for a child in care, or for the line manager, is left off', async () => {
    const { id } = await allocate(BRISTOL);
    const details = await clients.auditor.get(pageUrl(id, DETAILS_PAGE));
    // Without JavaScript it stays in view; audit-form.js hides it while the re-referral is not "Yes".
    expect(details.body).toMatch(/<div data-asked-for="re_referral_issue" data-asked="no">[\s\S]*?If yes, was the child re-referred/);
    const saved = await clients.auditor.post(pageUrl(id, DETAILS_PAGE), { _version: versionOf(details.body), _autosave: '1', re_referral_within_12_months: 'yes' });
    expect(JSON.parse(saved.body)).toMatchObject({ status: 'saved', asked: { re_referral_issue: true } });
    expect((await clients.auditor.get(pageUrl(id, DETAILS_PAGE))).body).toContain('data-asked-for="re_referral_issue" data-asked="yes"');
    const changed = await clients.auditor.post(pageUrl(id, DETAILS_PAGE), { _version: String(JSON.parse(saved.body).version), _autosave: '1', re_referral_within_12_months: 'no' });
    expect(JSON.parse(changed.body).asked).toEqual({ other_referral_factors: false, re_referral_issue: false });

    // Lambeth asks about the foster carers' views only for a child in care: this child is not.
    const lambeth = await allocate('lambeth-service-based-case-audit');
    const planning = await clients.auditor.get(pageUrl(lambeth.id, 'planning_intervention'));
    expect(planning.statusCode).toBe(200);
    expect(planning.body).not.toContain('name="foster_carers_views_visible"');
    expect(planning.body).toContain('name="plan_clear_partnership"');
    // An answer given when it applied is kept by a save of the page that leaves it off.
    await t.db.updateTable('audits').set({ answers: JSON.stringify({ foster_carers_views_visible_evidence: 'Kept from before' }) }).where('id', '=', lambeth.id).execute();
    const before = await clients.auditor.get(pageUrl(lambeth.id, 'planning_intervention'));
    const posted = await clients.auditor.post(pageUrl(lambeth.id, 'planning_intervention'), { _version: versionOf(before.body), _action: 'later', plan_clear_partnership_evidence: 'Seen in the plan' });
    expect(posted.statusCode, pageText(posted.body).slice(0, 400)).toBe(303);
    expect((await audit(lambeth.id)).answers).toMatchObject({ foster_carers_views_visible_evidence: 'Kept from before', plan_clear_partnership_evidence: 'Seen in the plan' });

    // Telford's line manager says later how each remedial action was addressed: not the auditor's columns.
    const telford = await allocate('telford-strengthening-families-case-audit');
    const remedial = await clients.auditor.get(pageUrl(telford.id, 'remedial_actions'));
    expect(remedial.body).toContain('name="remedial_actions-0-action"');
    expect(remedial.body).not.toContain('remedial_actions-0-how_addressed');
    expect(pageText(remedial.body)).not.toContain('Initials of Line Manager');
  });

  it('highlights My audits, not the Audit tracker, inside one\'s own audit form', async () => {
    const { id } = await allocate(BRISTOL);
    const active = (html: string) => /<li class="govuk-service-navigation__item govuk-service-navigation__item--active">[\s\S]*?<\/li>/.exec(html)?.[0] ?? '';
    expect(active((await clients.auditor.get(pageUrl(id, 'assessment'))).body)).toContain('My audits');
    expect(active((await clients.auditor.get(`/audits/${id}/form`)).body)).toContain('My audits');
    expect(active((await clients.auditor.get('/audits')).body)).toContain('Audit tracker');
  });

  it('lets only the audit\'s auditor complete it', async () => {
    const { id } = await allocate(BRISTOL);
    const version = String((await audit(id)).version);
    for (const role of ['practitioner', 'moderator', 'qa_lead'] as const) {
      const client = clients[role];
      for (const url of [`/audits/${id}/form`, pageUrl(id, 'assessment'), `/audits/${id}/form/check`]) {
        expect([403, 404], `${role} GET ${url}`).toContain((await client.get(url)).statusCode);
      }
      const post = await client.post(pageUrl(id, 'assessment'), { _version: version, assessment_judgement: 'inadequate' });
      expect([403, 404], `${role} POST`).toContain(post.statusCode);
      const submit = await client.post(`/audits/${id}/form/submit`, { _version: version });
      expect([403, 404], `${role} submit`).toContain(submit.statusCode);
      const summary = await client.get(`/audits/${id}`);
      if (summary.statusCode === 200) expect(summary.body).not.toContain(`href="/audits/${id}/form"`);
    }
    expect((await audit(id)).answers).toEqual({});
    expect((await audit(id)).status).toBe('allocated');
  }, 60_000);

  it('stores text that looks like HTML or a formula as typed and shows it as text', async () => {
    const { id } = await allocate(BRISTOL);
    const html = '<script>alert("x")</script><b>bold</b>';
    const formula = '=HYPERLINK("http://example.com","click")';
    const saved = await savePage(id, 'assessment', { assessment_strengths: html, assessment_areas_for_improvement: formula });
    expect(saved.statusCode).toBe(303);
    const stored = await audit(id);
    expect(stored.answers.assessment_strengths).toBe(html);
    expect(stored.answers.assessment_areas_for_improvement).toBe(formula);
    const page = await clients.auditor.get(pageUrl(id, 'assessment'));
    expect(page.body).not.toContain('<script>alert("x")');
    expect(page.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;');
    const check = await clients.auditor.get(`/audits/${id}/form/check`);
    expect(check.body).not.toContain('<b>bold</b>');
    expect(pageText(check.body)).toContain(formula);
  }, 60_000);
});
