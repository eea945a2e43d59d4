import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { feedbackQuestions } from '../src/modules/audits/distribution/feedback.ts';
import { createUser } from '../src/modules/org/service.ts';
import { builtInToolFiles, loadBuiltInTools, loadToolFile } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { formatDate } from '../src/platform/views.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { pageText, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { dateFields } from './support/form-fields.ts';
import { builtInTool, completeAndSubmit, moderateOverHttp, versionOf } from './support/audit-flow.ts';
import { ukDateAt } from '../src/platform/clock.ts';

const BRISTOL = 'bristol-child-case-audit';

describe('the practitioner feedback questions', () => {
  const builtIn = (key: string) => {
    for (const file of builtInToolFiles()) {
      const loaded = loadToolFile(file);
      if (loaded.ok && loaded.tool.key === key) return loaded.tool;
    }
    throw new Error(`no built-in tool ${key}`);
  };

  it("asks the tool's own questions for the practitioner, and its improvement plan only when the final grade calls for it", () => {
    const bristol = builtIn(BRISTOL);
    const good = feedbackQuestions(bristol, 'good');
    expect(good.fromTool).toBe(true);
    expect(good.title).toBe('Post moderation staff and supervisor feedback about this audit');
    expect(good.questions.map((question) => question.key)).toEqual([
      'discussed_in_supervision',
      'date_discussed_in_supervision',
      'learning_points',
      'changes_to_practice',
      'recommended_actions_completed',
      'service_user_feedback_considerations',
    ]);
    const inadequate = feedbackQuestions(bristol, 'inadequate');
    expect(inadequate.planKey).toBe('improvement_plan');
    // In the form's order: the plan, then the thoughts on the family's feedback.
    expect(inadequate.questions.slice(-2)).toMatchObject([
      { key: 'improvement_plan', required: true },
      { key: 'service_user_feedback_considerations', required: false },
    ]);
    // Lambeth's reason for no feedback is the auditor's to give, not the practitioner's.
    expect(feedbackQuestions(builtIn('lambeth-service-based-case-audit'), 'good').questions.map((question) => question.key)).not.toContain('reflection_not_provided');
  });

  it('asks the built-in questions, with a required improvement plan, of a tool without a feedback section', () => {
    const telford = builtIn('telford-strengthening-families-case-audit');
    expect(telford.sections.some((section) => section.kind === 'practitionerFeedback')).toBe(false);
    const asked = feedbackQuestions(telford, 'requires_improvement');
    expect(asked.fromTool).toBe(false);
    expect(asked.questions.map((question) => question.key)).toEqual([
      'date_discussed_in_supervision',
      'learning_points',
      'changes_to_practice',
      'recommended_actions_completed',
      'service_user_feedback_considerations',
      'improvement_plan',
    ]);
    expect(asked.questions.at(-1)!.required).toBe(true);
    expect(feedbackQuestions(telford, 'outstanding').questions.map((question) => question.key)).not.toContain('improvement_plan');
    expect(feedbackQuestions(telford, null).planKey).toBeNull();
  });
});

describe.each(testDrivers())('distributing an audit, practitioner feedback and closing on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Principal;
  let tool: AuditTool;
  let toolId: string;
  const clients: Record<'auditor' | 'practitioner' | 'moderator' | 'qa_coordinator' | 'qa_lead' | 'recipient', TestClient> = {} as never;
  let childNumber = 0;
  /** Moderated Good, and moderated Inadequate: both held by Wes Worker, audited by his manager Tina. */
  let good: string;
  let inadequate: string;

  /** A Bristol audit taken over HTTP to moderated with the given overall grade (as in the moderation tests). */
  async function moderatedAudit(overall: 'good' | 'inadequate') {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, { externalId: `DIST-${childNumber}`, initials: 'DB', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId, auditorId: council.staff.manager1.id });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    const id = outcome.audit.id;
    await completeAndSubmit(clients.auditor, tool, id, { staffId: council.staff.worker1.id, today: ukDateAt(new Date()) });
    await moderateOverHttp(clients.moderator, id, { 'grade-overall': overall, ...(overall === 'good' ? {} : { 'reason-overall': 'The child was left at risk' }) }, { tool, staffId: council.staff.worker1.id, today: ukDateAt(new Date()) });
    expect((await audit(id)).final_grade).toBe(overall);
    return id;
  }

  const audit = (id: string) => t.db.selectFrom('audits').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const recipients = (id: string) => t.db.selectFrom('audit_recipients').selectAll().where('audit_id', '=', id).orderBy('name').execute();
  const emails = (id: string) => t.db.selectFrom('email_outbox').selectAll().where('dedupe_key', 'like', `audit-distributed:${id}:%`).orderBy('to_address').execute();
  const transitions = (id: string) => t.db.selectFrom('audit_transitions').select(['transition', 'to_status']).where('audit_id', '=', id).orderBy('id').execute();

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    await loadBuiltInTools(t.db, council.organisation.id);
    ({ toolId, tool } = await builtInTool(t.db, council.organisation.id, BRISTOL));
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    // Cara works in another service: she cannot see these audits unless one is sent to her.
    await createUser(t.db, { organisationId: council.organisation.id, email: 'cara.user@testshire.example', displayName: 'Cara Care', password: PASSWORD, staffId: council.staff.careWorker.id, grants: [{ role: 'practitioner', scope: 'team' }] });
    for (const role of ['auditor', 'practitioner', 'moderator', 'qa_coordinator', 'qa_lead'] as const) {
      clients[role] = new TestClient(t.app);
      await clients[role].signIn(council.users[role].email, PASSWORD);
    }
    clients.recipient = new TestClient(t.app);
    await clients.recipient.signIn('cara.user@testshire.example', PASSWORD);
    good = await moderatedAudit('good');
    inadequate = await moderatedAudit('inadequate');
  }, 240_000);
  afterAll(async () => t?.close());

  const iro = { 'other-0-role': 'iro', 'other-0-staff': '', 'other-0-name': 'Ida Reviewer', 'other-0-email': 'ida.iro@partner.example' };

  it('refuses anyone without a QA role, and hides the form from those who cannot see the audit', async () => {
    for (const client of [clients.auditor, clients.practitioner, clients.moderator]) {
      expect((await client.get(`/audits/${good}/distribute`)).statusCode).toBe(403);
      const post = await client.post(`/audits/${good}/distribute`, { _version: '1', send: ['team_manager', 'case_holder'], ...iro });
      expect(post.statusCode).toBe(403);
    }
    expect((await clients.recipient.get(`/audits/${good}/distribute`)).statusCode).toBe(404);
    expect((await audit(good)).status).toBe('moderated');
    expect(await recipients(good)).toEqual([]);
    const summary = await clients.auditor.get(`/audits/${good}`);
    expect(pageText(summary.body)).not.toContain('Distribute this audit');
    const coordinatorSummary = await clients.qa_coordinator.get(`/audits/${good}`);
    expect(coordinatorSummary.body).toContain(`href="/audits/${good}/distribute"`);
  });

  it('refuses invalid recipient rows, naming the row and the field, with nothing written', async () => {
    const page = await clients.qa_coordinator.get(`/audits/${good}/distribute`);
    expect(page.statusCode).toBe(200);
    // The team manager (the case holder's line manager) and the case holder, both ticked.
    expect(page.body).toMatch(/value="team_manager"[^>]*checked/);
    expect(page.body).toMatch(/value="case_holder"[^>]*checked/);
    expect(pageText(page.body)).toContain('Tina Manager, team manager');
    expect(pageText(page.body)).toContain('Wes Worker, case holder');

    const refused = await clients.qa_coordinator.post(`/audits/${good}/distribute`, {
      _version: versionOf(page.body),
      send: ['team_manager', 'case_holder'],
      ...iro,
      'other-1-role': '',
      'other-1-staff': '',
      'other-1-name': 'Carl Chair',
      'other-1-email': 'carl at partner',
    });
    expect(refused.statusCode).toBe(400);
    const text = pageText(refused.body);
    expect(text).toContain('Professional 2: choose their role');
    expect(text).toContain('Professional 2: enter an e-mail address in the correct format');
    expect(refused.body).toContain('href="#other-1-role"');
    expect(refused.body).toContain('href="#other-1-email"');
    expect(text).not.toContain('Professional 1:');
    // What was typed is kept.
    expect(refused.body).toContain('value="Carl Chair"');
    expect(refused.body).toContain('value="ida.iro@partner.example"');

    const nobody = await clients.qa_coordinator.post(`/audits/${good}/distribute`, { _version: versionOf(page.body) });
    expect(nobody.statusCode).toBe(400);
    expect(pageText(nobody.body)).toContain('Choose at least one person to send the audit to');

    const twice = await clients.qa_coordinator.post(`/audits/${good}/distribute`, {
      _version: versionOf(page.body),
      send: ['case_holder'],
      'other-0-role': 'other',
      'other-0-staff': council.staff.worker1.id,
    });
    expect(twice.statusCode).toBe(400);
    expect(pageText(twice.body)).toContain('Professional 1: Wes Worker is already listed to receive the audit');

    expect((await audit(good)).status).toBe('moderated');
    expect(await recipients(good)).toEqual([]);
    expect(await emails(good)).toEqual([]);
  });

  it('refuses a stale form, keeping what was typed', async () => {
    const page = await clients.qa_coordinator.get(`/audits/${good}/distribute`);
    const stale = await clients.qa_coordinator.post(`/audits/${good}/distribute`, { _version: String(Number(versionOf(page.body)) - 1), send: ['team_manager', 'case_holder'], ...iro });
    expect(stale.statusCode).toBe(409);
    expect(pageText(stale.body)).toContain('Someone else has changed this audit since you opened it');
    expect(stale.body).toContain('value="Ida Reviewer"');
    expect((await audit(good)).status).toBe('moderated');
    expect(await recipients(good)).toEqual([]);
  });

  it('adds a row for another professional without sending anything', async () => {
    const page = await clients.qa_coordinator.get(`/audits/${good}/distribute`);
    expect(page.body).not.toContain('name="other-1-name"');
    const more = await clients.qa_coordinator.post(`/audits/${good}/distribute`, { _version: versionOf(page.body), _action: 'add-row', send: ['case_holder'], ...iro });
    expect(more.statusCode).toBe(200);
    expect(more.body).toContain('name="other-1-name"');
    expect(more.body).toContain('value="Ida Reviewer"');
    expect(more.body).not.toMatch(/value="team_manager"[^>]*checked/);
    expect((await audit(good)).status).toBe('moderated');
  });

  it('sends to the team manager, the case holder and an IRO: recorded, e-mailed and awaiting feedback', async () => {
    const page = await clients.qa_coordinator.get(`/audits/${good}/distribute`);
    const sent = await clients.qa_coordinator.post(`/audits/${good}/distribute`, { _version: versionOf(page.body), send: ['team_manager', 'case_holder'], ...iro });
    expect(sent.statusCode, pageText(sent.body).slice(0, 600)).toBe(303);

    const after = await audit(good);
    expect(after.status).toBe('awaiting_feedback');
    expect(after.stage_due_on).not.toBeNull();
    expect(String(after.stage_due_on).slice(0, 10) > ukDateAt(new Date())).toBe(true);
    expect((await transitions(good)).slice(-2)).toEqual([
      { transition: 'distribute', to_status: 'distributed' },
      { transition: 'requestFeedback', to_status: 'awaiting_feedback' },
    ]);

    const rows = await recipients(good);
    expect(rows.map((row) => [row.name, row.role, row.staff_id, row.email])).toEqual([
      ['Ida Reviewer', 'iro', null, 'ida.iro@partner.example'],
      ['Tina Manager', 'team_manager', council.staff.manager1.id, 'tina@testshire.example'],
      ['Wes Worker', 'case_holder', council.staff.worker1.id, 'wes@testshire.example'],
    ]);
    expect(rows.every((row) => row.sent_by === council.users.qa_coordinator.id)).toBe(true);

    const mail = await emails(good);
    expect(mail.map((row) => row.to_address)).toEqual(['ida.iro@partner.example', 'tina@testshire.example', 'wes@testshire.example']);
    // Those with an account get a link; the IRO, who has none, is told how the audit will come instead.
    expect(mail.map((row) => row.text_body.includes(`/audits/${good}`))).toEqual([false, true, true]);
    expect(mail[0]!.text_body).toContain('will send you a copy of the audit separately by secure e-mail');
    const toCaseHolder = mail.find((row) => row.to_address === 'wes@testshire.example')!;
    expect(toCaseHolder.text_body).toContain(`/audits/${good}/feedback`);
    expect(toCaseHolder.text_body).toContain(`by ${formatDate(String(after.stage_due_on).slice(0, 10))}`);
    expect(mail.find((row) => row.to_address === 'tina@testshire.example')!.text_body).not.toContain('/feedback');

    const summary = pageText((await clients.qa_coordinator.get(`/audits/${good}`)).body);
    expect(summary).toContain('Distributed');
    expect(summary).toContain('Practitioner feedback requested');
    expect(summary).toMatch(/Ida Reviewer Independent reviewing officer \(IRO\) Quinn QA/);
    expect(summary).toContain('Close this audit');
    expect(summary).not.toContain('Distribute this audit');
    const holder = await clients.practitioner.get(`/audits/${good}`);
    expect(holder.body).toContain(`href="/audits/${good}/feedback"`);
    expect(pageText(holder.body)).toContain('Give your feedback');

    // The form has moved on: a second send is refused, nothing sent twice.
    const again = await clients.qa_coordinator.post(`/audits/${good}/distribute`, { _version: versionOf(page.body), send: ['team_manager'] });
    expect(again.statusCode).toBe(409);
    expect(await emails(good)).toHaveLength(3);
    expect((await clients.qa_coordinator.get(`/audits/${good}/distribute`)).statusCode).toBe(303);
  });

  it('closes only with comments when no feedback was given', async () => {
    expect((await clients.auditor.get(`/audits/${good}/close`)).statusCode).toBe(403);
    const page = await clients.qa_coordinator.get(`/audits/${good}/close`);
    expect(page.statusCode).toBe(200);
    expect(pageText(page.body)).toContain('Wes Worker has not given their feedback');
    const refused = await clients.qa_coordinator.post(`/audits/${good}/close`, { _version: versionOf(page.body), comments: '   ' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('href="#comments"');
    expect(pageText(refused.body)).toContain("Enter why you are closing the audit without the practitioner's feedback");
    expect((await audit(good)).status).toBe('awaiting_feedback');

    const closed = await clients.qa_coordinator.post(`/audits/${good}/close`, { _version: versionOf(page.body), comments: 'Wes is on long-term leave <not back>' });
    expect(closed.statusCode).toBe(303);
    const after = await audit(good);
    expect(after.status).toBe('closed');
    expect(after.closing_comments).toBe('Wes is on long-term leave <not back>');
    expect(after.closed_at).not.toBeNull();
    expect((await transitions(good)).at(-1)).toEqual({ transition: 'close', to_status: 'closed' });
    const summary = await clients.practitioner.get(`/audits/${good}`);
    expect(summary.body).toContain('Wes is on long-term leave &lt;not back&gt;');
    expect(pageText(summary.body)).toContain('closed without practitioner feedback');
    expect(pageText(summary.body)).not.toContain('Give your feedback');
    expect((await clients.practitioner.get(`/audits/${good}/feedback`)).statusCode).toBe(303);
  });

  it('lets a member of staff it was sent to read the audit, and not before', async () => {
    expect((await clients.recipient.get(`/audits/${inadequate}`)).statusCode).toBe(404);
    expect((await clients.recipient.get(`/audits/${inadequate}/read`)).statusCode).toBe(404);

    // A QA lead may distribute too; Cara is chosen from the staff.
    const page = await clients.qa_lead.get(`/audits/${inadequate}/distribute`);
    expect(page.statusCode).toBe(200);
    const sent = await clients.qa_lead.post(`/audits/${inadequate}/distribute`, {
      _version: versionOf(page.body),
      send: ['team_manager', 'case_holder'],
      'other-0-role': 'cp_chair',
      'other-0-staff': council.staff.careWorker.id,
      'other-0-name': '',
      'other-0-email': '',
    });
    expect(sent.statusCode, pageText(sent.body).slice(0, 600)).toBe(303);
    expect((await recipients(inadequate)).find((row) => row.staff_id === council.staff.careWorker.id)?.role).toBe('cp_chair');
    expect((await emails(inadequate)).map((row) => row.to_address)).toContain('cara@testshire.example');

    const opened = await clients.recipient.get(`/audits/${inadequate}`);
    expect(opened.statusCode).toBe(200);
    expect(pageText(opened.body)).toContain('Cara Care Child protection chair');
    expect((await clients.recipient.get(`/audits/${inadequate}/read`)).statusCode).toBe(200);
    // Reading is all: the feedback is the case holder's, closing the QA coordinator's.
    expect((await clients.recipient.get(`/audits/${inadequate}/feedback`)).statusCode).toBe(403);
    expect((await clients.recipient.get(`/audits/${inadequate}/close`)).statusCode).toBe(403);
  });

  it("refuses the case holder's feedback without an improvement plan when the final grade is Inadequate", async () => {
    expect((await clients.auditor.get(`/audits/${inadequate}/feedback`)).statusCode).toBe(403);
    const page = await clients.practitioner.get(`/audits/${inadequate}/feedback`);
    expect(page.statusCode).toBe(200);
    const text = pageText(page.body);
    expect(text).toContain('Have you discussed it in supervision with your manager');
    expect(text).toContain('please add you improvement plan');
    expect(text).toContain('Final grade: Inadequate');

    const refused = await clients.practitioner.post(`/audits/${inadequate}/feedback`, {
      _version: versionOf(page.body),
      discussed_in_supervision: 'yes',
      learning_points: 'Visit more often',
      improvement_plan: '  ',
    });
    expect(refused.statusCode).toBe(400);
    expect(pageText(refused.body)).toContain("Enter your improvement plan: the audit's final grade is Inadequate");
    expect(refused.body).toContain('href="#improvement_plan"');
    expect(refused.body).toContain('Visit more often');
    expect((await audit(inadequate)).practitioner_feedback).toBeNull();

    const badDate = await clients.practitioner.post(`/audits/${inadequate}/feedback`, {
      _version: versionOf(page.body),
      discussed_in_supervision: 'yes',
      ...dateFields('date_discussed_in_supervision', '2026-02-31'),
      improvement_plan: 'Weekly visits',
    });
    expect(badDate.statusCode).toBe(400);
    expect(badDate.body).toContain('href="#date_discussed_in_supervision-day"');
    expect(pageText(badDate.body)).toContain('Date discussed in supervision with your manager must be a real date');
    expect((await audit(inadequate)).practitioner_feedback).toBeNull();
  });

  it('saves and sends the feedback, refuses a stale save keeping the text, and the QA coordinator closes', async () => {
    const page = await clients.practitioner.get(`/audits/${inadequate}/feedback`);
    const before = await audit(inadequate);
    const saved = await clients.practitioner.post(`/audits/${inadequate}/feedback`, {
      _version: versionOf(page.body),
      discussed_in_supervision: 'no',
      // Not asked once "no" is chosen: not kept.
      ...dateFields('date_discussed_in_supervision', ukDateAt(new Date())),
      learning_points: 'Visit more often\nand see the child alone',
      recommended_actions_completed: 'yes',
      improvement_plan: 'Weekly visits <with the child>',
    });
    expect(saved.statusCode, pageText(saved.body).slice(0, 600)).toBe(303);
    const after = await audit(inadequate);
    expect(after.practitioner_feedback).toEqual({
      discussed_in_supervision: 'no',
      learning_points: 'Visit more often\nand see the child alone',
      recommended_actions_completed: 'yes',
      improvement_plan: 'Weekly visits <with the child>',
    });
    expect(after.feedback_by).toBe(council.users.practitioner.id);
    expect(after.feedback_at).not.toBeNull();
    expect(after.version).toBe(before.version + 1);
    expect(after.status).toBe('awaiting_feedback');

    const stale = await clients.practitioner.post(`/audits/${inadequate}/feedback`, { _version: versionOf(page.body), improvement_plan: 'A newer plan from another tab' });
    expect(stale.statusCode).toBe(409);
    expect(stale.body).toContain('A newer plan from another tab');
    expect((await audit(inadequate)).practitioner_feedback).toMatchObject({ improvement_plan: 'Weekly visits <with the child>' });

    const summary = await clients.qa_coordinator.get(`/audits/${inadequate}`);
    expect(summary.body).toContain('Weekly visits &lt;with the child&gt;');
    expect(pageText(summary.body)).toContain('Given by Wes Worker');

    const logged = await t.db.selectFrom('activity_log').select(['record_type', 'action']).where('record_id', '=', inadequate).where('child_id', 'is not', null).execute();
    expect(logged).toContainEqual({ record_type: 'audit_feedback', action: 'view' });
    expect(logged).toContainEqual({ record_type: 'audit_feedback', action: 'update' });

    const closing = await clients.qa_coordinator.get(`/audits/${inadequate}/close`);
    expect(pageText(closing.body)).toContain('Weekly visits <with the child>');
    expect(pageText(closing.body)).toContain('Comments (optional)');
    const closed = await clients.qa_coordinator.post(`/audits/${inadequate}/close`, { _version: versionOf(closing.body), comments: '' });
    expect(closed.statusCode).toBe(303);
    expect((await audit(inadequate)).status).toBe('closed');
    expect((await clients.qa_coordinator.get(`/audits/${inadequate}/close`)).statusCode).toBe(303);
    expect(pageText((await clients.qa_coordinator.get(closed.headers.location as string)).body)).toContain('Audit closed');

    // The read view (and so the DOCX and PDF, built from the same document) carries it all.
    const read = pageText((await clients.qa_coordinator.get(`/audits/${inadequate}/read`)).body);
    expect(read).toContain('Distribution and practitioner feedback');
    expect(read).toMatch(/Wes Worker Case holder/);
    expect(read).toContain('Weekly visits <with the child>');
    expect(read).toContain('Feedback given');
    // Once: the tool's own feedback questions are not repeated, unanswered, among the auditor's sections.
    expect(read.match(/What are your learning points from that audit\?/g)).toHaveLength(1);
    // The tool's moderation block is the moderator's, asked at moderation: once, as answered, never among the auditor's sections.
    expect(read.match(/Moderators' Findings/g)).toHaveLength(1);
    expect(read).toMatch(/Final grade Inadequate Development comments for the auditor [\s\S]*Moderators' Findings Notes for moderators_findings/);
  });
});
