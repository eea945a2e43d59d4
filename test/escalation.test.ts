import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { addCalendarMonths, addDays, addWeeks } from '../src/platform/working-days.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { alertKindsOf, listOpenAlerts } from '../src/modules/audits/escalation/alerts.ts';
import { caseDirectionInput, parseCaseDirection } from '../src/modules/audits/escalation/case-direction.ts';
import { alertRecipients, chooseHeadOfService, chooseReAuditor } from '../src/modules/audits/escalation/rule.ts';
import { DETAILS_PAGE } from '../src/modules/audits/form/answers.ts';
import { formPages } from '../src/modules/audits/form/form.ts';
import { DEFAULT_MODERATION_RULE, type ModeratorCandidate } from '../src/modules/audits/moderation/rule.ts';
import { createStaff, createUser } from '../src/modules/org/service.ts';
import { builtInToolFiles, loadBuiltInTools, loadToolFile } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { reAuditForm, toolEscalation } from '../src/modules/tools/escalation.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { pageText, signedInClients, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { completeModeratorsPart, completePage, dateFields } from './support/form-fields.ts';
import { ukDateAt } from '../src/platform/clock.ts';

const BRISTOL = 'bristol-child-case-audit';
const BOLTON = 'bolton-collaborative-case-audit';
const TELFORD = 'telford-strengthening-families-case-audit';
const LAMBETH = 'lambeth-service-based-case-audit';
const versionOf = (html: string) => /name="_version" value="(\d+)"/.exec(html)?.[1] ?? 'missing';

const person = (id: string, jobTitle: string, extra: Partial<ModeratorCandidate> = {}): ModeratorCandidate => ({ id, jobTitle, serviceId: 'area', lineManagerId: null, grants: [], ...extra });

describe('who an Inadequate audit alerts', () => {
  const staff = [
    person('hos-care', 'Head of Service', { serviceId: 'care' }),
    person('hos-area', 'Head of Service, Children in Need', { serviceId: null }),
    person('sm', 'Service Manager', { lineManagerId: 'hos-area' }),
    person('tm', 'Team Manager', { lineManagerId: 'sm' }),
    person('sw', 'Social Worker', { lineManagerId: 'tm' }),
    person('auditor', 'Practice Lead'),
  ];
  const bolton = ['service_manager', 'team_manager', 'head_of_service'] as const;

  it('alerts the service manager by default, and for Bolton also the team manager and head of service', () => {
    const audit = { serviceId: 'area', caseHolderId: 'sw', auditorId: 'auditor' };
    expect(alertRecipients(DEFAULT_MODERATION_RULE, ['service_manager'], audit, staff)).toEqual([{ staffId: 'sm', as: 'service_manager' }]);
    expect(alertRecipients(DEFAULT_MODERATION_RULE, bolton, audit, staff)).toEqual([
      { staffId: 'sm', as: 'service_manager' },
      { staffId: 'tm', as: 'team_manager' },
      // Nobody in the area service is a Head of Service: the first one up the case holder's line.
      { staffId: 'hos-area', as: 'head_of_service' },
    ]);
  });

  it('takes the Head of Service of the case\'s service first, never alerts the auditor, and alerts nobody twice', () => {
    expect(chooseHeadOfService('care', 'sw', staff)).toBe('hos-care');
    expect(chooseHeadOfService('elsewhere', null, staff)).toBeNull();
    // The team manager audited their own worker's case: they are not alerted about their own grading.
    const byManager = alertRecipients(DEFAULT_MODERATION_RULE, bolton, { serviceId: 'area', caseHolderId: 'sw', auditorId: 'tm' }, staff);
    expect(byManager.map((alerted) => alerted.staffId)).toEqual(['sm', 'hos-area']);
    // One person who is both service manager and (by title) head of service is alerted once.
    const both = [person('boss', 'Service Manager and Head of Service'), person('sw', 'Social Worker', { lineManagerId: 'boss' })];
    expect(alertRecipients(DEFAULT_MODERATION_RULE, bolton, { serviceId: 'area', caseHolderId: 'sw', auditorId: 'x' }, both)).toEqual([{ staffId: 'boss', as: 'service_manager' }]);
  });

  it('reads what each tool sets off from the tool: Bristol its own process, Bolton its form\'s people at RI and Inadequate, Telford and Lambeth nothing', () => {
    const newest = new Map<string, AuditTool>();
    const first = new Map<string, AuditTool>();
    for (const file of builtInToolFiles()) {
      const loaded = loadToolFile(file);
      if (!loaded.ok) throw new Error(file);
      (loaded.tool.schemaVersion === 1 ? first : newest).set(loaded.tool.key, loaded.tool);
    }
    for (const key of [BRISTOL, 'bristol-families-in-focus-child-case-audit']) {
      expect(alertKindsOf(newest.get(key)), key).toEqual(['service_manager']);
      expect(toolEscalation(newest.get(key)), key).toMatchObject({ reAudit: { afterWeeks: null }, caseDirection: true });
    }
    // Bolton: "requires urgent review from the Team Manager and Head of Service"; Inadequate: "contact the Team Manager and Head of Service immediately".
    expect(alertKindsOf(newest.get(BOLTON), 'requires_improvement')).toEqual(['team_manager', 'head_of_service']);
    expect(alertKindsOf(newest.get(BOLTON), 'inadequate')).toEqual(['team_manager', 'head_of_service']);
    expect(toolEscalation(newest.get(BOLTON))).toMatchObject({ reAudit: null, caseDirection: false });
    for (const key of [TELFORD, LAMBETH]) expect(toolEscalation(newest.get(key)), key).toEqual({ alerts: [], reAudit: null, caseDirection: false });
    // The first editions keep the process their audits were started under.
    expect(alertKindsOf(first.get(BOLTON))).toEqual(['service_manager', 'team_manager', 'head_of_service']);
    for (const key of [TELFORD, LAMBETH]) expect(toolEscalation(first.get(key)), key).toMatchObject({ reAudit: { afterWeeks: null }, caseDirection: true });
    expect(alertKindsOf({ escalation: { inadequateAlerts: ['nobody'] } })).toEqual(['service_manager']);
    // A version-2 tool that says nothing sets off nothing; one that says `default: bristol` takes Bristol's, changed where it says.
    expect(toolEscalation({ schemaVersion: 2 })).toEqual({ alerts: [], reAudit: null, caseDirection: false });
    expect(toolEscalation({ schemaVersion: 2, escalation: { default: 'bristol', reAudit: { afterWeeks: 6 } } })).toMatchObject({ reAudit: { afterWeeks: 6 }, caseDirection: true });
  });
});

describe('choosing the re-auditor', () => {
  const auditor = (id: string, extra: Partial<ModeratorCandidate> = {}) => person(id, 'Team Manager', { grants: [{ role: 'auditor', serviceId: 'area' }], ...extra });
  const first = { serviceId: 'area', auditorId: 'first', caseHolderId: 'holder', moderatorIds: ['moderator'] };

  it('never chooses the first auditor, the case holder or the moderator', () => {
    const staff = [auditor('first'), auditor('holder'), auditor('moderator')];
    expect(chooseReAuditor(first, staff)).toBeNull();
    expect(chooseReAuditor(first, [...staff, auditor('second')])).toBe('second');
  });

  it('needs the auditor role reaching the service, prefers the same service, then the fewest audits in hand', () => {
    const staff = [
      person('moderator-only', 'Senior Practitioner', { grants: [{ role: 'moderator', serviceId: null }] }),
      auditor('other-service', { serviceId: 'care', grants: [{ role: 'auditor', serviceId: 'care' }] }),
      auditor('organisation-wide', { serviceId: 'qa', grants: [{ role: 'auditor', serviceId: null }] }),
    ];
    expect(chooseReAuditor(first, staff)).toBe('organisation-wide');
    const withLocal = [...staff, auditor('busy'), auditor('free')];
    expect(chooseReAuditor(first, withLocal)).toBe('busy');
    expect(chooseReAuditor(first, withLocal, new Map([['busy', 3], ['free', 1]]))).toBe('free');
  });
});

describe('the case direction form', () => {
  const today = '2026-03-02';
  const staffIds = new Set(['s1', 's2']);
  const parse = (fields: Record<string, string>) => parseCaseDirection(caseDirectionInput(fields), staffIds, today);

  it('refuses "ASAP", a missing owner and a missing direction, naming the row', () => {
    const result = parse({
      direction: '  ',
      'action-0-text': 'Visit weekly',
      'action-0-owner': 's1',
      'action-0-due-day': 'ASAP',
      'action-0-due-month': '',
      'action-0-due-year': '',
      'action-1-text': '',
      'action-1-owner': '',
      'action-1-due-day': '',
      'action-1-due-month': '',
      'action-1-due-year': '',
      'action-2-text': 'Strategy meeting',
      'action-2-owner': 'someone else',
      ...dateFields('action-2-due', '2026-02-01'),
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((error) => error.field)).toEqual(['direction', 'action-0-due-day', 'action-2-owner', 'action-2-due-day']);
    // In the audit form's action plan's words, each naming its row.
    expect(result.errors[1]!.message).toBe('Enter by when for action 1 as a date, like 27 3 2027');
    // The blank second row is no row, but rows keep the numbers the person sees.
    expect(result.errors[2]!.message).toBe('Select a member of staff for ‘Who will do it’ for action 3');
    expect(result.errors[3]!.message).toBe('By when for action 3 must be today or in the future');
  });

  it('needs at least one action, and reads good rows', () => {
    const none = parse({ direction: 'Step up to child protection' });
    expect(none.ok ? [] : none.errors.map((error) => error.field)).toEqual(['action-0-text']);
    const good = parse({ direction: 'Step up', 'action-0-text': ' Visit weekly ', 'action-0-owner': 's2', ...dateFields('action-0-due', '2026-03-02') });
    expect(good).toEqual({ ok: true, direction: 'Step up', actions: [{ text: 'Visit weekly', ownerId: 's2', dueOn: '2026-03-02' }] });
  });
});

describe.each(testDrivers())('Inadequate escalation on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Principal;
  const tools: Record<string, { toolId: string; tool: AuditTool }> = {};
  /** The first (format version 1) edition of each built-in tool, which audits started before the corrected ones keep. */
  const firstEditions: Record<string, { editionId: string; tool: AuditTool }> = {};
  const staff = {} as Record<'head' | 'rhea', { id: string }>;
  const clients = {} as Record<'auditor' | 'moderator' | 'practitioner' | 'coordinator' | 'rhea', TestClient>;
  let childNumber = 0;
  const today = ukDateAt(new Date());

  const audit = (id: string) => t.db.selectFrom('audits').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const alerts = (id: string) => t.db.selectFrom('audit_alerts').selectAll().where('audit_id', '=', id).orderBy('kind').orderBy('staff_id').execute();
  // The alert e-mails alone: the moderator is also told, separately, that an audit waits on them.
  const emailsTo = (address: string) =>
    t.db.selectFrom('email_outbox').selectAll().where('to_address', '=', address).where('dedupe_key', 'not like', 'audit-submitted:%').where('dedupe_key', 'not like', 'audit-resubmitted:%').orderBy('created_at').execute();
  const reAuditOf = (id: string) => t.db.selectFrom('audits').selectAll().where('re_audit_of', '=', id).execute();

  /** An audit of a new child in North Unit 1, allocated to the given auditor. */
  async function allocated(key: string, auditorId: string, workerId: string = council.staff.worker1.id) {
    childNumber += 1;
    const child = await createChild(t.db, council.organisation.id, { externalId: `ESC-${childNumber}`, initials: 'EI', teamId: council.teams.unit1.id, workerId });
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.id, toolId: tools[key]!.toolId, auditorId });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    return outcome.audit.id;
  }

  /** The auditor fills in every page of the form (by default the newest edition's), with the overall grade given, and submits. */
  async function fillAndSubmit(client: TestClient, id: string, key: string, overall: string, tool: AuditTool = tools[key]!.tool) {
    for (const page of formPages(tool)) {
      const url = page === DETAILS_PAGE ? `/audits/${id}/form/details` : `/audits/${id}/form/sections/${page}`;
      const opened = await client.get(url);
      const prefilled = Object.fromEntries([...opened.body.matchAll(/name="([a-z][a-z0-9_]*)"[^>]*value="([^"]+)"/g)].map((match) => [match[1]!, match[2]!]));
      const fields = completePage(tool, page, { staffId: council.staff.worker1.id, today });
      if (tool.overall && tool.overall.answer in fields) fields[tool.overall.answer] = overall;
      const saved = await client.post(url, { _version: versionOf(opened.body), ...fields, ...(page === DETAILS_PAGE ? prefilled : {}) });
      expect(saved.statusCode, pageText(saved.body).slice(0, 400)).toBe(303);
    }
    const check = await client.get(`/audits/${id}/form/check`);
    const submitted = await client.post(`/audits/${id}/form/submit`, { _version: versionOf(check.body) });
    expect(submitted.statusCode, pageText(submitted.body).slice(0, 600)).toBe(303);
  }

  /** The moderator moderates, keeping every grade as the auditor gave it, and answers the tool's own questions for the moderator. */
  async function moderate(client: TestClient, id: string) {
    const page = await client.get(`/audits/${id}/moderate`);
    expect(page.statusCode).toBe(200);
    const grades = Object.fromEntries([...page.body.matchAll(/name="(grade-[a-z0-9_]+)"[^>]*value="([^"]+)"[^>]*checked/g)].map((match) => [match[1]!, match[2]!]));
    const edition = await t.db
      .selectFrom('audits')
      .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
      .select('editions.definition')
      .where('audits.id', '=', id)
      .executeTakeFirstOrThrow();
    const tool = (typeof edition.definition === 'string' ? JSON.parse(edition.definition) : edition.definition) as AuditTool;
    const theirs = completeModeratorsPart(tool, { staffId: council.staff.worker1.id, today: ukDateAt(new Date()), overall: grades['grade-overall'] });
    const done = await client.post(`/audits/${id}/moderate`, { _version: versionOf(page.body), ...grades, ...theirs });
    expect(done.statusCode, pageText(done.body).slice(0, 600)).toBe(303);
  }

  /** A Bristol audit by Tina Manager of Wes Worker's case, submitted Inadequate and moderated Inadequate by Sam Service. */
  async function moderatedInadequate() {
    const id = await allocated(BRISTOL, council.staff.manager1.id);
    await fillAndSubmit(clients.auditor, id, BRISTOL, 'inadequate');
    await moderate(clients.moderator, id);
    return id;
  }

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    await loadBuiltInTools(t.db, org);
    const editions = await t.db
      .selectFrom('audit_tool_editions')
      .innerJoin('audit_tools', 'audit_tools.id', 'audit_tool_editions.tool_id')
      .select(['audit_tools.id', 'audit_tools.key', 'audit_tool_editions.id as edition_id', 'audit_tool_editions.definition'])
      .where('audit_tools.organisation_id', '=', org)
      // The newest edition of each tool comes last, and is the one new audits are allocated on.
      .orderBy('audit_tool_editions.edition')
      .execute();
    for (const edition of editions) {
      const tool = (typeof edition.definition === 'string' ? JSON.parse(edition.definition) : edition.definition) as AuditTool;
      if (tool.schemaVersion === 1) firstEditions[edition.key] = { editionId: edition.edition_id, tool };
      tools[edition.key] = { toolId: edition.id, tool };
    }
    // A Head of Service of the area service, and a second auditor there.
    staff.head = await createStaff(t.db, { organisationId: org, fullName: 'Harriet Head', jobTitle: 'Head of Service', teamId: council.teams.unit2.id, staffNumber: 'S101', email: 'harriet@testshire.example' });
    staff.rhea = await createStaff(t.db, { organisationId: org, fullName: 'Rhea Review', jobTitle: 'Team Manager', teamId: council.teams.unit2.id, staffNumber: 'S102', email: 'rhea@testshire.example' });
    await createUser(t.db, { organisationId: org, email: 'rhea.user@testshire.example', displayName: 'Rhea Review', password: PASSWORD, staffId: staff.rhea.id, grants: [{ role: 'auditor', scope: 'team' }] });
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    const emails = { auditor: council.users.auditor.email, moderator: council.users.moderator.email, practitioner: council.users.practitioner.email, coordinator: council.users.qa_coordinator.email, rhea: 'rhea.user@testshire.example' };
    Object.assign(clients, await signedInClients(t.app, emails, PASSWORD));
  }, 120_000);
  afterAll(async () => t?.close());

  it('alerts and e-mails the service manager the moment an audit is submitted Inadequate, once however often it is resubmitted', async () => {
    const id = await allocated(BRISTOL, council.staff.manager1.id);
    await fillAndSubmit(clients.auditor, id, BRISTOL, 'inadequate');
    expect((await audit(id)).auditor_grade).toBe('inadequate');
    expect((await alerts(id)).map((alert) => [alert.staff_id, alert.kind, alert.acknowledged_at])).toEqual([[council.staff.serviceManager.id, 'inadequate_submitted', null]]);
    const mail = (await emailsTo('sam@testshire.example')).filter((email) => email.text_body.includes(`/audits/${id}`));
    expect(mail).toHaveLength(1);
    expect(mail[0]!.subject).toContain('Inadequate');

    const samsPage = await clients.moderator.get(`/audits/${id}`);
    expect(pageText(samsPage.body)).toContain('Inadequate: escalation');
    expect(samsPage.body).toContain(`action="/audits/${id}/alerts/acknowledge"`);
    const open = await listOpenAlerts(t.db, council.organisation.id, council.staff.serviceManager.id);
    expect(open.find((alert) => alert.auditId === id)).toMatchObject({ href: `/audits/${id}`, kindLabel: 'Submitted Inadequate' });
    // The auditor sees the alert went out, but has nothing to acknowledge.
    const tinasPage = await clients.auditor.get(`/audits/${id}`);
    expect(pageText(tinasPage.body)).toContain('Sam Service');
    expect(tinasPage.body).not.toContain('/alerts/acknowledge');

    // Returned and resubmitted, still Inadequate: nobody is alerted or e-mailed again.
    const moderation = await clients.moderator.get(`/audits/${id}/moderate`);
    const returned = await clients.moderator.post(`/audits/${id}/moderate/return`, { _version: versionOf(moderation.body), changes: 'Add the chronology' });
    expect(returned.statusCode).toBe(303);
    await fillAndSubmit(clients.auditor, id, BRISTOL, 'inadequate');
    expect(await alerts(id)).toHaveLength(1);
    expect((await emailsTo('sam@testshire.example')).filter((email) => email.text_body.includes(`/audits/${id}`))).toHaveLength(1);

    // Only the person alerted acknowledges: the case holder, who can see the audit, is refused.
    await clients.practitioner.get(`/audits/${id}`);
    const refused = await clients.practitioner.post(`/audits/${id}/alerts/acknowledge`);
    expect(refused.statusCode).toBe(403);
    expect((await alerts(id))[0]!.acknowledged_at).toBeNull();
    await clients.moderator.get(`/audits/${id}`);
    const acknowledged = await clients.moderator.post(`/audits/${id}/alerts/acknowledge`);
    expect(acknowledged.statusCode).toBe(303);
    expect((await alerts(id))[0]!.acknowledged_at).not.toBeNull();
    const after = await clients.moderator.get(`/audits/${id}`);
    expect(after.body).not.toContain('/alerts/acknowledge');
    expect((await listOpenAlerts(t.db, council.organisation.id, council.staff.serviceManager.id)).some((alert) => alert.auditId === id)).toBe(false);
  }, 120_000);

  it("alerts Bolton's team manager and head of service (not the service manager) at Inadequate and at Requires improvement, with the form's words, and nobody for a Good audit", async () => {
    const id = await allocated(BOLTON, staff.rhea.id);
    await fillAndSubmit(clients.rhea, id, BOLTON, 'inadequate');
    const alerted = await alerts(id);
    expect(alerted.map((alert) => alert.staff_id).sort()).toEqual([council.staff.manager1.id, staff.head.id].sort());
    expect(alerted.map((alert) => alert.kind)).toEqual(['inadequate_submitted', 'inadequate_submitted']);
    for (const address of ['tina@testshire.example', 'harriet@testshire.example']) {
      const mail = (await emailsTo(address)).filter((email) => email.text_body.includes(`/audits/${id}`));
      expect(mail, address).toHaveLength(1);
      expect(mail[0]!.text_body).toContain('contact the allocated Team Manager and Head of Service immediately');
    }
    expect((await emailsTo('sam@testshire.example')).filter((email) => email.text_body.includes(`/audits/${id}`))).toEqual([]);
    // Moderated Inadequate: alerted again at moderation, but Bolton's form sets no re-audit and no case direction.
    await moderate(clients.moderator, id);
    expect((await audit(id)).final_grade).toBe('inadequate');
    expect(await reAuditOf(id)).toEqual([]);
    const moderated = pageText((await clients.moderator.get(`/audits/${id}`)).body);
    expect(moderated).toContain('Inadequate: escalation');
    expect(moderated).not.toContain('Record the case direction');
    expect(moderated).not.toContain('re-audit');
    expect((await clients.moderator.get(`/audits/${id}/case-direction`)).statusCode).toBe(409);

    const improving = await allocated(BOLTON, staff.rhea.id);
    await fillAndSubmit(clients.rhea, improving, BOLTON, 'requires_improvement');
    expect((await alerts(improving)).map((alert) => [alert.staff_id, alert.kind]).sort()).toEqual(
      [[council.staff.manager1.id, 'requires_improvement_submitted'], [staff.head.id, 'requires_improvement_submitted']].sort(),
    );
    const review = (await emailsTo('harriet@testshire.example')).filter((email) => email.text_body.includes(`/audits/${improving}`));
    expect(review.map((email) => email.subject)).toEqual([expect.stringMatching(/^Requires improvement: .* needs your urgent review$/)]);
    expect(review[0]!.text_body).toContain('This requires urgent review from the Team Manager and Head of Service.');
    const page = pageText((await clients.auditor.get(`/audits/${improving}`)).body);
    expect(page).toContain('Requires improvement: escalation');
    expect(page).toContain('The audit tool says: This requires urgent review from the Team Manager and Head of Service.');

    const good = await allocated(BRISTOL, council.staff.manager1.id);
    await fillAndSubmit(clients.auditor, good, BRISTOL, 'good');
    expect(await alerts(good)).toEqual([]);
    const goodPage = await clients.auditor.get(`/audits/${good}`);
    expect(pageText(goodPage.body)).not.toContain('escalation');
  }, 180_000);

  it('sets off nothing for Telford and Lambeth, whose documents have no alert, re-audit or case direction', async () => {
    for (const key of [TELFORD, LAMBETH]) {
      const id = await allocated(key, council.staff.manager1.id);
      await fillAndSubmit(clients.auditor, id, key, key === TELFORD ? '4' : 'inadequate');
      await moderate(clients.moderator, id);
      expect((await audit(id)).final_grade, key).toBe('inadequate');
      expect(await alerts(id), key).toEqual([]);
      expect(await reAuditOf(id), key).toEqual([]);
      expect((await clients.moderator.get(`/audits/${id}/case-direction`)).statusCode, key).toBe(409);
      expect(pageText((await clients.moderator.get(`/audits/${id}`)).body), key).not.toContain('escalation');
    }
  }, 180_000);

  it('an audit started on a first edition still completes on its own form, and keeps the process it was started under', async () => {
    // Started on Telford's first edition before the corrected one was published.
    const id = await allocated(TELFORD, council.staff.manager1.id);
    await t.db.updateTable('audits').set({ tool_edition_id: firstEditions[TELFORD]!.editionId }).where('id', '=', id).execute();
    const form = pageText((await clients.auditor.get(`/audits/${id}/form/details`)).body);
    expect(form).toContain('Auditors');
    expect(form).not.toContain('Other auditors');
    await fillAndSubmit(clients.auditor, id, TELFORD, '4', firstEditions[TELFORD]!.tool);
    expect(await audit(id)).toMatchObject({ status: 'in_moderation', auditor_grade: 'inadequate' });
    // The first edition was read as Bristol's process: the service manager is alerted, as when it was started.
    expect((await alerts(id)).map((alert) => [alert.staff_id, alert.kind])).toEqual([[council.staff.serviceManager.id, 'inadequate_submitted']]);
  }, 120_000);

  it('allocates the re-audit at once to a different auditor, 8 weeks later, desktop only, and shows its grade against the first', async () => {
    const id = await moderatedInadequate();
    const first = await audit(id);
    expect(first.final_grade).toBe('inadequate');
    const [reAudit, ...more] = await reAuditOf(id);
    expect(more).toEqual([]);
    expect(reAudit).toMatchObject({ auditor_id: staff.rhea.id, status: 'allocated', desktop_only: true, child_id: first.child_id, due_on: addWeeks(today, 8), allocated_on: today });
    const transitions = await t.db.selectFrom('audit_transitions').select(['transition', 'to_status']).where('audit_id', '=', reAudit!.id).execute();
    expect(transitions).toEqual([{ transition: 'allocate', to_status: 'allocated' }]);
    const mail = (await emailsTo('rhea@testshire.example')).filter((email) => email.text_body.includes(`/audits/${reAudit!.id}`));
    expect(mail.map((email) => email.subject)).toEqual([expect.stringContaining('Re-audit allocated')]);
    // Moderated Inadequate alerts the service manager again: now to record the case direction.
    expect((await alerts(id)).map((alert) => alert.kind)).toEqual(['inadequate_moderated', 'inadequate_submitted']);

    const myAudits = await clients.rhea.get('/my-audits');
    expect(myAudits.body).toContain(`/audits/${reAudit!.id}`);
    const reAuditPage = pageText((await clients.rhea.get(`/audits/${reAudit!.id}`)).body);
    expect(reAuditPage).toContain(`Re-audit of audit ${first.reference} (graded Inadequate)`);
    expect(reAuditPage).toContain('Desktop only: not completed with the worker');
    const actions = await t.db.selectFrom('actions').select('text').where('audit_id', '=', id).execute();
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(reAuditPage).toContain(action.text);
    const firstPage = pageText((await clients.moderator.get(`/audits/${id}`)).body);
    expect(firstPage).toContain('Rhea Review');
    expect(firstPage).toContain('Not graded yet');

    // The re-audit asks the tool's re-audit section ("Actions reviewed and improvement achieved"); the first audit did not.
    const reAuditTool = reAuditForm(tools[BRISTOL]!.tool);
    expect(formPages(tools[BRISTOL]!.tool)).not.toContain('re_audit');
    expect(formPages(reAuditTool)).toContain('re_audit');
    const section = await clients.rhea.get(`/audits/${reAudit!.id}/form/sections/re_audit`);
    expect(section.statusCode).toBe(200);
    expect(pageText(section.body)).toContain('Actions reviewed and improvement achieved');

    // The second auditor re-audits and the re-audit is moderated Good: both pages say so against the first's Inadequate.
    await fillAndSubmit(clients.rhea, reAudit!.id, BRISTOL, 'good', reAuditTool);
    expect((await audit(reAudit!.id)).answers).toMatchObject({ actions_reviewed: expect.any(String), re_audit_grade: 'good' });
    // The re-audit's read view carries its re-audit section.
    expect(pageText((await clients.rhea.get(`/audits/${reAudit!.id}/read`)).body)).toContain('Actions reviewed and improvement achieved');
    await moderate(clients.moderator, reAudit!.id);
    expect((await audit(reAudit!.id)).final_grade).toBe('good');
    expect(await reAuditOf(reAudit!.id)).toEqual([]);
    const firstAfter = pageText((await clients.moderator.get(`/audits/${id}`)).body);
    expect(firstAfter).toMatch(/Re-audit grade\s*Good\s*, against Inadequate at this audit/);
    const reAuditAfter = pageText((await clients.rhea.get(`/audits/${reAudit!.id}`)).body);
    expect(reAuditAfter).toMatch(new RegExp(`Re-audit grade: Good\\s*, against Inadequate at audit ${first.reference}`));
  }, 180_000);

  it('when no auditor qualifies, moderation still succeeds and the QA coordinator allocates the re-audit', async () => {
    // Rhea audits Tina's own case: the only other auditor holds the case, so the rule finds nobody.
    const id = await allocated(BRISTOL, staff.rhea.id, council.staff.manager1.id);
    await fillAndSubmit(clients.rhea, id, BRISTOL, 'inadequate');
    await moderate(clients.moderator, id);
    expect((await audit(id)).status).toBe('moderated');
    expect(await reAuditOf(id)).toEqual([]);

    const samsPage = await clients.moderator.get(`/audits/${id}`);
    expect(pageText(samsPage.body)).toContain('The QA coordinator must allocate one');
    expect(samsPage.body).not.toContain(`href="/audits/${id}/re-audit"`);
    const coordinatorsPage = await clients.coordinator.get(`/audits/${id}`);
    expect(coordinatorsPage.body).toContain(`href="/audits/${id}/re-audit"`);

    const form = await clients.coordinator.get(`/audits/${id}/re-audit`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain(`value="${council.staff.qaOfficer.id}"`);
    for (const excluded of [staff.rhea.id, council.staff.manager1.id, council.staff.serviceManager.id]) expect(form.body).not.toContain(`value="${excluded}"`);
    const wrong = await clients.coordinator.post(`/audits/${id}/re-audit`, { auditorId: council.staff.manager1.id });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('href="#auditorId"');
    expect(await reAuditOf(id)).toEqual([]);
    const done = await clients.coordinator.post(`/audits/${id}/re-audit`, { auditorId: council.staff.qaOfficer.id });
    expect(done.statusCode).toBe(303);
    const [reAudit] = await reAuditOf(id);
    expect(reAudit).toMatchObject({ auditor_id: council.staff.qaOfficer.id, desktop_only: true, due_on: addWeeks(today, 8) });
    expect(done.headers.location).toBe(`/audits/${reAudit!.id}`);
  }, 120_000);

  it('takes the case direction from the service manager only, refuses bad rows naming them, and saves it with its actions', async () => {
    const id = await moderatedInadequate();
    const url = `/audits/${id}/case-direction`;
    expect(pageText((await clients.moderator.get(`/audits/${id}`)).body)).toContain('Record the case direction');
    // Neither the auditor nor the case holder directs the case.
    for (const client of [clients.auditor, clients.practitioner]) {
      await client.get(`/audits/${id}`);
      expect((await client.get(url)).statusCode).toBe(403);
      expect((await client.post(url, { direction: 'Close the case' })).statusCode).toBe(403);
    }
    expect(await t.db.selectFrom('case_directions').selectAll().where('audit_id', '=', id).execute()).toEqual([]);

    const page = await clients.moderator.get(url);
    expect(page.statusCode).toBe(200);
    const refused = await clients.moderator.post(url, {
      direction: '',
      'action-0-text': 'Visit the child weekly',
      'action-0-owner': council.staff.worker1.id,
      'action-0-due-day': 'ASAP',
      'action-0-due-month': '',
      'action-0-due-year': '',
      'action-1-text': '',
      'action-1-owner': council.staff.manager1.id,
      ...dateFields('action-1-due', addWeeks(today, 2)),
    });
    expect(refused.statusCode).toBe(400);
    const problems = pageText(refused.body);
    expect(problems).toContain('Enter the case direction');
    // Each row's problem in the audit form's action plan's words, in the summary and beside its field.
    expect(problems).toContain('Enter by when for action 1 as a date, like 27 3 2027');
    expect(problems).toContain('Enter what must be done for action 2');
    expect(problems).not.toMatch(/Action \d: /);
    expect(refused.body).toContain('href="#action-0-due-day"');
    expect(refused.body).toContain('href="#action-1-text"');
    const beside = (id: string) => pageText(new RegExp(`<p id="${id}-error"[^>]*>([\\s\\S]*?)</p>`).exec(refused.body)?.[1] ?? '');
    expect(beside('action-0-due')).toBe('Error: Enter by when for action 1 as a date, like 27 3 2027');
    expect(beside('action-1-text')).toBe('Error: Enter what must be done for action 2');
    // What was typed is kept; nothing is saved.
    expect(refused.body).toContain('Visit the child weekly');
    expect(refused.body).toContain('value="ASAP"');
    expect(await t.db.selectFrom('case_directions').selectAll().where('audit_id', '=', id).execute()).toEqual([]);
    expect(await t.db.selectFrom('actions').selectAll().where('audit_id', '=', id).where('source', '=', 'case_direction').execute()).toEqual([]);

    const saved = await clients.moderator.post(url, {
      direction: 'Step up to a strategy discussion <b>today</b>',
      'action-0-text': 'Visit the child weekly',
      'action-0-owner': council.staff.worker1.id,
      ...dateFields('action-0-due', addWeeks(today, 1)),
      'action-1-text': 'Review the plan in supervision',
      'action-1-owner': council.staff.manager1.id,
      ...dateFields('action-1-due', addWeeks(today, 2)),
      'action-2-text': '',
    });
    expect(saved.statusCode, pageText(saved.body).slice(0, 600)).toBe(303);
    const direction = await t.db.selectFrom('case_directions').selectAll().where('audit_id', '=', id).executeTakeFirstOrThrow();
    expect(direction).toMatchObject({ direction: 'Step up to a strategy discussion <b>today</b>', directed_on: today, review_due_on: addCalendarMonths(today, 1), directed_by_label: 'Sam Service' });
    const actions = await t.db.selectFrom('actions').select(['text', 'owner_id', 'due_on', 'status']).where('audit_id', '=', id).where('source', '=', 'case_direction').orderBy('row_index').execute();
    expect(actions).toEqual([
      { text: 'Visit the child weekly', owner_id: council.staff.worker1.id, due_on: addWeeks(today, 1), status: 'open' },
      { text: 'Review the plan in supervision', owner_id: council.staff.manager1.id, due_on: addWeeks(today, 2), status: 'open' },
    ]);

    const panel = await clients.auditor.get(`/audits/${id}`);
    expect(panel.body).toContain('Step up to a strategy discussion &lt;b&gt;today&lt;/b&gt;');
    expect(pageText(panel.body)).toContain('Review the plan in supervision');
    expect(panel.body).not.toContain('Record the case direction');
    // The audit as a document (read view, DOCX, PDF) carries the re-audit and the direction with its actions.
    const read = pageText((await clients.auditor.get(`/audits/${id}/read`)).body);
    expect(read).toContain('Inadequate: re-audit and case direction');
    expect(read).toMatch(/Re-audit Audit \d+, desktop only/);
    expect(read).toContain('Step up to a strategy discussion <b>today</b>');
    expect(read).toMatch(/Review the plan in supervision Tina Manager \d+ \w+ \d{4} Open/);
    expect(read).toContain('Not reviewed yet');
    const reAudit = await t.db.selectFrom('audits').select('id').where('re_audit_of', '=', id).executeTakeFirstOrThrow();
    const reAuditRead = await clients.coordinator.get(`/audits/${reAudit.id}/read`);
    expect(pageText(reAuditRead.body)).toMatch(/Re-audit of Audit \d+, graded Inadequate How Desktop review, not completed with the worker/);
    const myActions = await clients.practitioner.get('/my-actions');
    expect(pageText(myActions.body)).toContain('Visit the child weekly');
    // Written once: the form's address (the alert e-mail's link) now leads to the audit page, and a second post is refused.
    const again = await clients.moderator.get(url);
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe(`/audits/${id}#escalation`);
    expect((await clients.moderator.post(url, { direction: 'Again' })).statusCode).toBe(409);
  }, 120_000);
  it('takes the review of the case direction from the service manager once, with notes, and shows it on the panel', async () => {
    const id = await moderatedInadequate();
    await clients.moderator.get(`/audits/${id}`);
    const recorded = await clients.moderator.post(`/audits/${id}/case-direction`, {
      direction: 'Convene a strategy discussion',
      'action-0-text': 'Visit the child weekly',
      'action-0-owner': council.staff.worker1.id,
      ...dateFields('action-0-due', addWeeks(today, 1)),
      'action-1-text': 'Update the chronology',
      'action-1-owner': council.staff.manager1.id,
      ...dateFields('action-1-due', addWeeks(today, 2)),
    });
    expect(recorded.statusCode, pageText(recorded.body).slice(0, 600)).toBe(303);
    const direction = () => t.db.selectFrom('case_directions').selectAll().where('audit_id', '=', id).executeTakeFirstOrThrow();
    const reviewUrl = `/audits/${id}/case-direction/review`;

    // Before the review: when it is due, and the form for the service manager only.
    const samsPage = await clients.moderator.get(`/audits/${id}`);
    expect(pageText(samsPage.body)).toContain(`Review due ${formatted(addCalendarMonths(today, 1))}`);
    expect(pageText(samsPage.body)).not.toContain('Overdue');
    expect(pageText(samsPage.body)).toContain('Review the case direction');
    expect(samsPage.body).toContain(`action="${reviewUrl}"`);
    expect(samsPage.body).toContain('name="reviewNotes"');
    expect((await clients.auditor.get(`/audits/${id}`)).body).not.toContain(`action="${reviewUrl}"`);
    await t.db.updateTable('case_directions').set({ review_due_on: addDays(today, -1) }).where('audit_id', '=', id).execute();
    expect(pageText((await clients.moderator.get(`/audits/${id}`)).body)).toMatch(new RegExp(`Review due ${formatted(addDays(today, -1))}\\s*Overdue`));

    // Neither the auditor nor the case holder reviews it.
    for (const client of [clients.auditor, clients.practitioner]) {
      await client.get(`/audits/${id}`);
      expect((await client.post(reviewUrl, { reviewNotes: 'All done' })).statusCode).toBe(403);
    }

    // Without notes, or with too many, nothing is saved and what was typed comes back.
    await t.db.updateTable('actions').set({ status: 'done', done_at: new Date(), evidence: 'Visited' }).where('audit_id', '=', id).where('source', '=', 'case_direction').where('row_index', '=', 0).execute();
    const empty = await clients.moderator.post(reviewUrl, { reviewNotes: '   ' });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('href="#reviewNotes"');
    expect(pageText(empty.body)).toContain('Enter your review notes');
    expect(pageText(empty.body)).toMatch(/Visit the child weekly.*Done, awaiting verification/);
    expect(pageText(empty.body)).toMatch(/Update the chronology.*Open/);
    const long = `Kept ${'x'.repeat(5_000)}`;
    const tooLong = await clients.moderator.post(reviewUrl, { reviewNotes: long });
    expect(tooLong.statusCode).toBe(400);
    expect(pageText(tooLong.body)).toContain('Review notes must be 5,000 characters or fewer');
    expect(tooLong.body).toContain(long);
    expect((await direction()).reviewed_at).toBeNull();

    const saved = await clients.moderator.post(reviewUrl, { reviewNotes: 'Visits happen <b>weekly</b>; chronology still open' });
    expect(saved.statusCode).toBe(303);
    expect(saved.headers.location).toBe(`/audits/${id}#escalation`);
    const reviewed = await direction();
    expect(reviewed).toMatchObject({ reviewed_by: council.users.moderator.id, review_notes: 'Visits happen <b>weekly</b>; chronology still open' });
    expect(reviewed.reviewed_at).not.toBeNull();
    const logged = await t.db.selectFrom('activity_log').select(['action', 'child_id']).where('record_type', '=', 'case_direction').where('record_id', '=', id).where('action', '=', 'update').execute();
    expect(logged).toEqual([{ action: 'update', child_id: reviewed.child_id }]);

    // Shown to everyone who sees the audit; the form is gone and a second review is refused.
    const after = await clients.auditor.get(`/audits/${id}`);
    expect(pageText(after.body)).toContain('Reviewed by Sam Service');
    expect(after.body).toContain('Visits happen &lt;b&gt;weekly&lt;/b&gt;; chronology still open');
    expect(pageText(after.body)).not.toContain('Review due');
    expect((await clients.moderator.get(`/audits/${id}`)).body).not.toContain(`action="${reviewUrl}"`);
    expect((await clients.moderator.post(reviewUrl, { reviewNotes: 'Again' })).statusCode).toBe(409);
    expect((await direction()).review_notes).toBe('Visits happen <b>weekly</b>; chronology still open');
  }, 120_000);
});

/** '2026-11-24' as a person reads it on the page: '24 November 2026'. */
function formatted(date: string): string {
  return new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
}
