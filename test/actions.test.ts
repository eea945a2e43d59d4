import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { inTransaction } from '../src/db/index.ts';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { createActionsFromAudit } from '../src/modules/actions/service.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { DETAILS_PAGE } from '../src/modules/audits/form/answers.ts';
import { formPages } from '../src/modules/audits/form/form.ts';
import { createUser } from '../src/modules/org/service.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { addDays } from '../src/platform/working-days.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { completePage as completeFormPage, dateFields, type Fields } from './support/form-fields.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { ukDateAt } from '../src/platform/clock.ts';

const BRISTOL = 'bristol-child-case-audit';
const TELFORD = 'telford-strengthening-families-case-audit';

const versionOf = (html: string) => /name="_version" value="(\d+)"/.exec(html)?.[1] ?? 'missing';

describe.each(testDrivers())('actions on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Principal;
  const tools: Record<string, { toolId: string; tool: AuditTool }> = {};
  let auditor: TestClient;
  let owner: TestClient;
  let outsider: TestClient;
  let coordinatorClient: TestClient;
  let childNumber = 0;

  const pageUrl = (id: string, page: string) => (page === DETAILS_PAGE ? `/audits/${id}/form/details` : `/audits/${id}/form/sections/${page}`);

  /** Allocates an audit of a new child in North Unit 1 (case holder Wes Worker) to Tina Manager, fills every page and submits it. */
  async function submittedAudit(toolKey: string, extra: (page: string) => Fields = () => ({})) {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, { externalId: `AC-${childNumber}`, initials: 'XY', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId: tools[toolKey]!.toolId, auditorId: council.staff.manager1.id });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    const id = outcome.audit.id;
    const tool = tools[toolKey]!.tool;
    for (const page of formPages(tool)) {
      const opened = await auditor.get(pageUrl(id, page));
      const prefilled = Object.fromEntries([...opened.body.matchAll(/name="([a-z][a-z0-9_]*)"[^>]*value="([^"]+)"/g)].map((match) => [match[1]!, match[2]!]));
      const fields = { ...completeFormPage(tool, page, { staffId: council.staff.worker1.id, today: ukDateAt(new Date()) }), ...(page === DETAILS_PAGE ? prefilled : {}), ...extra(page) };
      const response = await auditor.post(pageUrl(id, page), { _version: versionOf(opened.body), ...fields });
      expect(response.statusCode, `${toolKey} ${page}: ${pageText(response.body).slice(0, 600)}`).toBe(303);
    }
    const check = await auditor.get(`/audits/${id}/form/check`);
    const submitted = await auditor.post(`/audits/${id}/form/submit`, { _version: versionOf(check.body) });
    expect(submitted.statusCode, pageText(submitted.body).slice(0, 800)).toBe(303);
    return { id, childId: child.id };
  }

  const actionsOf = (auditId: string) => t.db.selectFrom('actions').selectAll().where('audit_id', '=', auditId).orderBy('answer_key').orderBy('row_index').execute();

  let bristol: { id: string; childId: string };
  let telfordAction: string;

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
    // An auditor of North Unit 2: no reach into North Unit 1's audits.
    await inTransaction(t.db, (trx) =>
      createUser(trx, {
        organisationId: council.organisation.id,
        email: 'una@actions.example',
        displayName: 'Una Other',
        password: PASSWORD,
        staffId: council.staff.worker2.id,
        grants: [{ role: 'auditor', scope: 'team' }],
      }),
    );
    auditor = new TestClient(t.app);
    await auditor.signIn(council.users.auditor.email, PASSWORD);
    owner = new TestClient(t.app);
    await owner.signIn(council.users.practitioner.email, PASSWORD);
    outsider = new TestClient(t.app);
    await outsider.signIn('una@actions.example', PASSWORD);
    coordinatorClient = new TestClient(t.app);
    await coordinatorClient.signIn(council.users.qa_coordinator.email, PASSWORD);

    // Bristol 2019: two agreed actions for Wes Worker, the first typed like a formula.
    bristol = await submittedAudit(BRISTOL, (page) =>
      page === 'action_plan'
        ? {
            'actions-0-action_required': '=1+2 update the child plan',
            'actions-1-action_required': 'Hold a core group meeting',
            'actions-1-to_be_completed_by': council.staff.worker1.id,
            ...dateFields('actions-1-by_when', addDays(ukDateAt(new Date()), 14)),
          }
        : {},
    );
  }, 180_000);
  afterAll(async () => t?.close());

  it('makes one action per action-plan row on submission, never twice', async () => {
    const audit = await t.db.selectFrom('audits').select(['answers', 'status']).where('id', '=', bristol.id).executeTakeFirstOrThrow();
    expect(audit.status).toBe('in_moderation');
    const rows = (audit.answers as { actions: unknown[] }).actions;
    expect(rows).toHaveLength(2);
    const actions = await actionsOf(bristol.id);
    expect(actions.map((action) => [action.row_index, action.text, action.owner_id, action.status, action.child_id])).toEqual([
      [0, '=1+2 update the child plan', council.staff.worker1.id, 'open', bristol.childId],
      [1, 'Hold a core group meeting', council.staff.worker1.id, 'open', bristol.childId],
    ]);
    expect(String(actions[1]!.due_on).slice(0, 10)).toBe(addDays(ukDateAt(new Date()), 14));
    // A second call (a resubmission) makes none.
    const made = await inTransaction(t.db, (trx) => createActionsFromAudit(trx, bristol.id));
    expect(made).toBe(0);
    expect(await actionsOf(bristol.id)).toHaveLength(2);
  });

  it('gives an action without an owner column (Telford) to the case holder; a resubmission updates it while open', async () => {
    const telford = await submittedAudit(TELFORD);
    const actions = await actionsOf(telford.id);
    expect(actions).toHaveLength(1);
    expect(actions[0]!.owner_id).toBe(council.staff.worker1.id);
    expect(String(actions[0]!.due_on).slice(0, 10)).toBe(addDays(ukDateAt(new Date()), 30));
    telfordAction = actions[0]!.id;
    // The line manager's columns are not the audit's: the action's own record takes their place.
    expect(pageText((await auditor.get(`/audits/${telford.id}/read`)).body)).not.toContain('to be completed by Line Manager only');

    // The audit comes back with the action reworded: the open action follows, still one.
    const audit = await t.db.selectFrom('audits').select('answers').where('id', '=', telford.id).executeTakeFirstOrThrow();
    const answers = audit.answers as { remedial_actions: Record<string, unknown>[] };
    answers.remedial_actions[0]!.action = 'Reworded remedial action';
    await t.db.updateTable('audits').set({ answers: JSON.stringify(answers) }).where('id', '=', telford.id).execute();
    expect(await inTransaction(t.db, (trx) => createActionsFromAudit(trx, telford.id))).toBe(1);
    const reworded = await actionsOf(telford.id);
    expect(reworded.map((action) => [action.id, action.text, action.version])).toEqual([[telfordAction, 'Reworded remedial action', 2]]);
  }, 60_000);

  it('shows the owner their actions, and a link to My actions', async () => {
    const page = await owner.get('/my-actions');
    expect(page.statusCode).toBe(200);
    const text = pageText(page.body);
    expect(text).toContain('=1+2 update the child plan');
    expect(text).toContain('Hold a core group meeting');
    expect(page.body).toContain('href="/my-actions"');
    const [first] = await actionsOf(bristol.id);
    expect(page.body).toContain(`href="/actions/${first!.id}"`);
    // Someone without a staff record has no link.
    const lead = new TestClient(t.app);
    await lead.signIn(council.users.qa_lead.email, PASSWORD);
    expect((await lead.get('/audits')).body).not.toContain('href="/my-actions"');
  });

  it('lets the owner mark an action done with evidence; the owner cannot verify it; someone else can', async () => {
    const [action] = await actionsOf(bristol.id);
    const url = `/actions/${action!.id}`;
    const opened = await owner.get(url);
    expect(opened.statusCode).toBe(200);
    expect(pageText(opened.body)).toContain('Mark this action as done');

    // Evidence is required.
    const empty = await owner.post(`${url}/done`, { _version: versionOf(opened.body), evidence: '  ' });
    expect(empty.statusCode).toBe(400);
    expect(pageText(empty.body)).toContain('Enter the evidence that the action is done');
    // A form without its version is refused, the problem linked to the form's field.
    const versionless = await owner.post(`${url}/done`, { evidence: 'Plan updated' });
    expect(versionless.statusCode).toBe(400);
    expect(versionless.body).toMatch(/<a href="#evidence">[^<]+<\/a>/);

    // Someone who is not the owner may not mark it done.
    expect((await auditor.post(`${url}/done`, { _version: versionOf(opened.body), evidence: 'Not mine' })).statusCode).toBe(403);

    const done = await owner.post(`${url}/done`, { _version: versionOf(opened.body), evidence: 'Plan updated on 3 March, see case note' });
    expect(done.statusCode).toBe(303);
    const row = await t.db.selectFrom('actions').selectAll().where('id', '=', action!.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('done');
    expect(row.evidence).toBe('Plan updated on 3 March, see case note');
    expect(row.done_by).toBe(council.users.practitioner.id);

    // A second tab at the old version: refused, and what was typed is kept.
    const stale = await owner.post(`${url}/done`, { _version: versionOf(opened.body), evidence: 'Typed in another tab' });
    expect(stale.statusCode).toBe(409);
    expect(pageText(stale.body)).toContain('Typed in another tab');
    expect(pageText(stale.body)).toContain('Someone else changed this action');

    const ownerView = await owner.get(url);
    expect(pageText(ownerView.body)).not.toContain('Verify this action');
    expect((await owner.post(`${url}/verify`, { _version: String(row.version), note: 'I checked it myself' })).statusCode).toBe(403);

    const auditorView = await auditor.get(url);
    expect(pageText(auditorView.body)).toContain('Verify this action');
    const noNote = await auditor.post(`${url}/verify`, { _version: versionOf(auditorView.body), note: '' });
    expect(noNote.statusCode).toBe(400);
    expect(pageText(noNote.body)).toContain('Enter a note about the verification');
    const verified = await auditor.post(`${url}/verify`, { _version: versionOf(auditorView.body), note: 'Checked the plan with the team manager' });
    expect(verified.statusCode).toBe(303);
    const after = await t.db.selectFrom('actions').selectAll().where('id', '=', action!.id).executeTakeFirstOrThrow();
    expect(after.status).toBe('verified');
    expect(after.verified_by).toBe(council.users.auditor.id);
    expect(pageText((await auditor.get(url)).body)).toContain('Checked the plan with the team manager');

    // The audit's page lists its agreed actions and how far each has got.
    const auditPage = await auditor.get(`/audits/${bristol.id}`);
    const listed = /<table[^>]*data-testid="audit-actions"[\s\S]*?<\/table>/.exec(auditPage.body)?.[0] ?? '';
    expect(pageText(listed)).toContain('=1+2 update the child plan Wes Worker');
    expect(pageText(listed)).toContain('Verified');
    expect(pageText(listed)).toContain('Hold a core group meeting');
    expect(listed).toContain(`href="/actions/${action!.id}"`);

    const logged = await t.db.selectFrom('activity_log').select(['action', 'child_id', 'summary']).where('record_type', '=', 'action').where('record_id', '=', action!.id).execute();
    expect(logged.every((entry) => entry.child_id === bristol.childId)).toBe(true);
    expect(logged.map((entry) => entry.summary)).toEqual(expect.arrayContaining(['action marked done with evidence', 'action verified']));
  });

  it('finds overdue actions by their due date, asked of the data', async () => {
    const [, second] = await actionsOf(bristol.id);
    expect((await auditor.get('/actions?status=overdue')).body).not.toContain(`/actions/${second!.id}"`);
    await t.db.updateTable('actions').set({ due_on: addDays(ukDateAt(new Date()), -10) }).where('id', '=', second!.id).execute();
    const overdue = await auditor.get('/actions?status=overdue');
    expect(overdue.statusCode).toBe(200);
    expect(overdue.body).toContain(`href="/actions/${second!.id}"`);
    expect(pageText(overdue.body)).toContain('Showing 1 to 1 of 1 action');
    expect(pageText((await owner.get('/my-actions')).body)).toContain('1 overdue');
    const bad = await auditor.get('/actions?dueFrom=31/2/2026');
    expect(bad.statusCode).toBe(400);
    expect(pageText(bad.body)).toContain('Due from must be a real date');
  });

  it('exports the filtered actions as CSV with formulas neutralised, and XLSX', async () => {
    const all = await auditor.get('/actions/export.csv');
    expect(all.statusCode).toBe(200);
    const rows = parseCsv(all.body.replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.Action)).toEqual(expect.arrayContaining(["'=1+2 update the child plan", 'Hold a core group meeting']));
    const onlyOpen = parseCsv((await auditor.get('/actions/export.csv?status=open&owner=' + council.staff.worker1.id)).body.replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
    expect(onlyOpen.map((row) => row.Action)).not.toContain("'=1+2 update the child plan");
    expect(onlyOpen.every((row) => row.Status === 'Open')).toBe(true);
    expect(onlyOpen.length).toBeGreaterThan(0);
    const overdue = parseCsv((await auditor.get('/actions/export.csv?status=overdue')).body.replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
    expect(overdue.map((row) => row.Action)).toEqual(['Hold a core group meeting']);
    expect((await auditor.get('/actions/export.csv?status=sideways')).statusCode).toBe(422);
    const xlsx = await auditor.get('/actions/export.xlsx?status=verified');
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe('PK');
    const exported = await t.db.selectFrom('activity_log').select('summary').where('record_type', '=', 'actions').where('action', '=', 'export').execute();
    expect(exported.map((entry) => entry.summary)).toContain('CSV: 1 actions; filters status=overdue');
  });

  it("is verified only by the owner's line manager or the QA team: never the audited practitioner", async () => {
    // An action for the service manager, in an audit of Wes Worker's case.
    const audit = await submittedAudit(BRISTOL, (page): Fields =>
      page === 'action_plan' ? { 'actions-0-action_required': 'Review the service\'s supervision policy', 'actions-0-to_be_completed_by': council.staff.serviceManager.id } : {},
    );
    const [action] = await actionsOf(audit.id);
    expect(action!.owner_id).toBe(council.staff.serviceManager.id);
    const url = `/actions/${action!.id}`;
    const serviceManager = new TestClient(t.app);
    await serviceManager.signIn(council.users.moderator.email, PASSWORD);
    const opened = await serviceManager.get(url);
    expect((await serviceManager.post(`${url}/done`, { _version: versionOf(opened.body), evidence: 'Policy reviewed' })).statusCode).toBe(303);

    // The practitioner whose case was audited sees the action but may not verify it.
    const practitionerView = await owner.get(url);
    expect(practitionerView.statusCode).toBe(200);
    expect(pageText(practitionerView.body)).not.toContain('Verify this action');
    expect(pageText(practitionerView.body)).toContain("The owner's line manager or the QA team verifies this action");
    expect((await owner.post(`${url}/verify`, { _version: versionOf(practitionerView.body), note: 'Looks fine to me' })).statusCode).toBe(403);
    // Nor may a team manager who is not the owner's line manager.
    const managerView = await auditor.get(url);
    expect(pageText(managerView.body)).not.toContain('Verify this action');
    expect((await auditor.post(`${url}/verify`, { _version: versionOf(managerView.body), note: 'Fine' })).statusCode).toBe(403);
    expect((await t.db.selectFrom('actions').select('status').where('id', '=', action!.id).executeTakeFirstOrThrow()).status).toBe('done');

    // The QA coordinator may.
    const coordinatorView = await coordinatorClient.get(url);
    expect(pageText(coordinatorView.body)).toContain('Verify this action');
    const verified = await coordinatorClient.post(`${url}/verify`, { _version: versionOf(coordinatorView.body), note: 'Checked the new policy' });
    expect(verified.statusCode).toBe(303);
    const after = await t.db.selectFrom('actions').select(['status', 'verified_by']).where('id', '=', action!.id).executeTakeFirstOrThrow();
    expect(after).toEqual({ status: 'verified', verified_by: council.users.qa_coordinator.id });
  });

  it('is due for verification the council\'s months after its due date (3 unless the council says otherwise)', async () => {
    const url = `/actions/${telfordAction}`;
    const opened = await owner.get(url);
    expect((await owner.post(`${url}/done`, { _version: versionOf(opened.body), evidence: 'Done' })).statusCode).toBe(303);
    const dueVerification = async () => (await auditor.get('/actions?status=verification_due')).body.includes(`href="${url}"`);
    expect(await dueVerification()).toBe(false);
    const due = addDays(ukDateAt(new Date()), -100);
    await t.db.updateTable('actions').set({ due_on: due }).where('id', '=', telfordAction).execute();
    expect(await dueVerification()).toBe(true);
    // A council that verifies after 6 months: not yet.
    await t.db.insertInto('organisation_timescales').values({ organisation_id: council.organisation.id, action_verification_months: 6 }).execute();
    expect(await dueVerification()).toBe(false);
    await t.db.deleteFrom('organisation_timescales').where('organisation_id', '=', council.organisation.id).execute();
    // The owner never sees a way to verify their own action.
    expect(pageText((await owner.get(url)).body)).toContain('Someone other than you will verify this action');
  });

  it('hides actions from someone out of reach', async () => {
    const [action] = await actionsOf(bristol.id);
    expect((await outsider.get(`/actions/${action!.id}`)).statusCode).toBe(404);
    expect((await outsider.post(`/actions/${action!.id}/verify`, { _version: '1', note: 'No' })).statusCode).toBe(404);
    expect((await outsider.get('/actions/not-a-uuid')).statusCode).toBe(404);
    const list = await outsider.get('/actions');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(`/actions/${action!.id}`);
    const csv = await outsider.get('/actions/export.csv');
    expect(csv.body).not.toContain('core group');
    // The coordinator reaches the whole organisation.
    expect((await coordinatorClient.get(`/actions/${action!.id}`)).statusCode).toBe(200);
  });
});
