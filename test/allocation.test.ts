import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { formatDate } from '../src/platform/views.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { allocateAudit, auditDueOn } from '../src/modules/audits/allocation.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild, createToolEdition, setServiceDefaultTool } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { ukDateAt } from '../src/platform/clock.ts';

type Children = Record<'unit1' | 'care' | 'closed' | 'managersCase' | 'christmas' | 'late' | 'api' | 'apiCare', { id: string }>;

describe.each(testDrivers())('allocating audits on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let org: string;
  let caseFile: { toolId: string; editionId: string };
  let newestPublished: { id: string };
  let earlyHelp: { toolId: string; editionId: string };
  let child: Children;
  let coordinator: Principal;
  const clients: Record<'coordinator' | 'auditor' | 'practitioner', TestClient> = {} as never;
  const tokens: Record<'coordinator' | 'auditor' | 'practitioner', Record<string, string>> = {} as never;

  /** What allocation writes: audits, e-mails, and audit creations in the activity log. */
  const written = async () => {
    const count = async (table: 'audits' | 'email_outbox') => Number((await t.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const logged = await t.db
      .selectFrom('activity_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('record_type', '=', 'audit')
      .where('action', '=', 'create')
      .executeTakeFirstOrThrow();
    return { audits: await count('audits'), emails: await count('email_outbox'), logged: Number(logged.n) };
  };

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    org = council.organisation.id;
    // Case file audit: 2026.1, then 2026.2 (the newest published), then 2027.1 (archived).
    caseFile = await createAuditTool(t.db, org, { key: 'case-file', name: 'Case file audit', edition: '2026.1' });
    const later = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    newestPublished = await createToolEdition(t.db, org, caseFile.toolId, { edition: '2026.2', publishedAt: later(1) });
    await createToolEdition(t.db, org, caseFile.toolId, { edition: '2027.1', status: 'archived', publishedAt: later(2) });
    earlyHelp = await createAuditTool(t.db, org, { key: 'early-help', name: 'Early help audit', edition: '1' });
    // Area Social Work audits with the case file audit by default; Through Care has no default.
    await setServiceDefaultTool(t.db, org, council.services.area.id, caseFile.toolId);

    const { unit1, careTeam } = council.teams;
    const { worker1, careWorker, manager1 } = council.staff;
    const make = (externalId: string, initials: string, teamId: string, workerId: string, closeDate: string | null = null) =>
      createChild(t.db, org, { externalId, initials, teamId, workerId, closeDate });
    child = {
      unit1: await make('ALC-01', 'AB', unit1.id, worker1.id),
      care: await make('ALC-02', 'CD', careTeam.id, careWorker.id),
      closed: await make('ALC-03', 'EF', unit1.id, worker1.id, '2025-06-30'),
      managersCase: await make('ALC-04', 'GH', unit1.id, manager1.id),
      christmas: await make('ALC-05', 'JK', careTeam.id, careWorker.id),
      late: await make('ALC-06', 'LM', unit1.id, worker1.id),
      api: await make('ALC-07', 'NP', unit1.id, worker1.id),
      apiCare: await make('ALC-08', 'QR', careTeam.id, careWorker.id),
    };
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;

    const users = { coordinator: council.users.qa_coordinator, auditor: council.users.auditor, practitioner: council.users.practitioner };
    for (const [name, user] of Object.entries(users) as [keyof typeof users, (typeof users)[keyof typeof users]][]) {
      clients[name] = new TestClient(t.app);
      await clients[name].signIn(user.email, PASSWORD);
      tokens[name] = { authorization: `Bearer ${await createApiToken(t.db, { userId: user.id, organisationId: org, name: 'allocation test' })}` };
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it('lets a QA coordinator find a child, allocate an audit through the pages and see it confirmed', async () => {
    const tracker = await clients.coordinator.get('/audits');
    expect(tracker.body).toContain('href="/audits/allocate"');
    expect(pageText(tracker.body)).toContain('Allocate an audit');

    // Search the register by case ID, by worker and by team: the closed case is never offered.
    const search = await clients.coordinator.get('/audits/allocate?search=ALC-01');
    expect(search.statusCode).toBe(200);
    expect(pageText(search.body)).toContain('AB (ALC-01) North Unit 1 Wes Worker');
    expect(search.body).toContain(`href="/audits/allocate?childId=${child.unit1.id}"`);
    const byWorker = pageText((await clients.coordinator.get('/audits/allocate?search=wes+worker')).body);
    expect(byWorker).toContain('ALC-01');
    expect(byWorker).not.toContain('ALC-03');
    expect(pageText((await clients.coordinator.get('/audits/allocate?search=through+care')).body)).toContain('CD (ALC-02)');

    const form = await clients.coordinator.get(`/audits/allocate?childId=${child.unit1.id}`);
    expect(form.statusCode).toBe(200);
    const formText = pageText(form.body);
    expect(formText).toContain('Case holder Wes Worker');
    expect(formText).toContain('Team North Unit 1');
    expect(formText).toContain('Service Area Social Work');
    expect(formText).toContain(`The audit will be due on ${formatDate(auditDueOn(ukDateAt(new Date())))}`);
    // The service's default tool is chosen, at its newest published edition; the case holder is not offered as auditor.
    expect(form.body).toMatch(new RegExp(`<option value="${caseFile.toolId}" selected>Case file audit \\(edition 2026\\.2\\)</option>`));
    expect(form.body).toContain(`<option value="${council.staff.manager1.id}">Tina Manager`);
    expect(form.body).not.toContain(`<option value="${council.staff.worker1.id}"`);

    const before = await written();
    const posted = await clients.coordinator.post('/audits/allocate', { childId: child.unit1.id, toolId: caseFile.toolId, auditorId: council.staff.manager1.id });
    expect(posted.statusCode).toBe(303);
    const location = String(posted.headers.location);
    // Allocation lands on the new audit.
    expect(location).toMatch(/^\/audits\/[0-9a-f-]{36}\?allocated=1$/);
    const auditId = location.split('/')[2]!.split('?')[0]!;
    expect(await written()).toEqual({ audits: before.audits + 1, emails: before.emails + 1, logged: before.logged + 1 });

    const confirmed = await clients.coordinator.get(location);
    expect(confirmed.body).toContain('govuk-notification-banner--success');
    expect(pageText(confirmed.body)).toContain(`Audit allocated to Tina Manager, due ${formatDate(auditDueOn(ukDateAt(new Date())))}`);

    const audit = await t.db.selectFrom('audits').selectAll().where('id', '=', auditId).executeTakeFirstOrThrow();
    expect(audit).toMatchObject({
      child_id: child.unit1.id,
      tool_edition_id: newestPublished.id,
      auditor_id: council.staff.manager1.id,
      case_holder_id: council.staff.worker1.id,
      team_id: council.teams.unit1.id,
      service_id: council.services.area.id,
      status: 'allocated',
      allocated_on: ukDateAt(new Date()),
      due_on: auditDueOn(ukDateAt(new Date())),
      allocated_by: council.users.qa_coordinator.id,
    });
    const entry = await t.db.selectFrom('activity_log').selectAll().where('record_id', '=', auditId).where('action', '=', 'create').executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ record_type: 'audit', child_id: child.unit1.id, user_id: council.users.qa_coordinator.id });
  });

  it('e-mails the auditor once, through the outbox, with a link to the audit', async () => {
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.christmas.id, toolId: earlyHelp.toolId, auditorId: council.staff.qaOfficer.id }, { today: '2026-12-21' });
    expect(outcome.ok).toBe(true);
    const id = outcome.ok ? outcome.audit.id : '';
    const emails = await t.db.selectFrom('email_outbox').selectAll().where('dedupe_key', '=', `audit-allocated:${id}`).execute();
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      to_address: council.staff.qaOfficer.email,
      subject: 'Case file audit allocated: JK (ALC-05), due 7 January 2027',
      status: 'queued',
    });
    expect(emails[0]!.text_body).toContain(`/audits/${id}`);
    expect(emails[0]!.text_body).toContain('Early help audit (edition 1)');
    expect(emails[0]!.text_body).toContain('Case holder: Cara Care');
  });

  it('makes the audit due 10 working days later, over Christmas and New Year 2026', async () => {
    // Monday 21 December 2026: 22, 23, 24 Dec; 25 Dec (Christmas) and 28 Dec (Boxing Day, substitute) are bank
    // holidays; 29, 30, 31 Dec; 1 Jan 2027 is a bank holiday; 4, 5, 6, 7 Jan: the tenth working day is Thursday 7 January.
    const audit = await t.db
      .selectFrom('audits')
      .select(['allocated_on', 'due_on'])
      .where('child_id', '=', child.christmas.id)
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({ allocated_on: '2026-12-21', due_on: '2027-01-07' });
    expect(auditDueOn('2026-12-21')).toBe('2027-01-07');
  });

  it('shows the auditor their audits under "My audits", latest due date first, with the overdue marked', async () => {
    const late = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId: child.late.id, auditorId: council.staff.manager1.id }, { today: '2025-01-06' });
    expect(late.ok && late.audit.dueOn).toBe('2025-01-20');

    const page = await clients.auditor.get('/my-audits');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('href="/my-audits"');
    const text = pageText(page.body);
    expect(text).toContain('You are the auditor of 2 audits, 1 overdue');
    expect(text.indexOf('AB (ALC-01)')).toBeLessThan(text.indexOf('LM (ALC-06)'));
    expect(text).toMatch(/\d+ LM \(ALC-06\) Allocated 20 January 2025 \(auditor\) Overdue Case file audit \(edition 2026\.2\) Wes Worker North Unit 1 6 January 2025/);
    expect(text).not.toContain('ALC-05');

    // The audit's own page, for whoever the tracker shows it to; each view is logged against the child.
    const audit = await t.db.selectFrom('audits').select('id').where('child_id', '=', child.late.id).executeTakeFirstOrThrow();
    const summary = await clients.auditor.get(`/audits/${audit.id}`);
    expect(summary.statusCode).toBe(200);
    expect(pageText(summary.body)).toMatch(
      /Child LM \(ALC-06\) Audit tool Case file audit \(edition 2026\.2\) Auditor Tina Manager Case holder Wes Worker Team North Unit 1 Service Area Social Work Status Allocated Allocated 6 January 2025 by Quinn QA Due 20 January 2025/,
    );
    expect((await clients.practitioner.get(`/audits/${audit.id}`)).statusCode).toBe(200);
    const views = await t.db.selectFrom('activity_log').select(['child_id', 'user_id']).where('record_type', '=', 'audit').where('action', '=', 'view').where('record_id', '=', audit.id).execute();
    expect(views).toContainEqual({ child_id: child.late.id, user_id: council.users.auditor.id });
    // Outside the tracker's reach: Tina (North Unit 1) never sees the Through Care audit.
    const care = await t.db.selectFrom('audits').select('id').where('child_id', '=', child.christmas.id).executeTakeFirstOrThrow();
    expect((await clients.auditor.get(`/audits/${care.id}`)).statusCode).toBe(404);
  });

  it('does not let a practitioner or an auditor allocate', async () => {
    const before = await written();
    for (const name of ['practitioner', 'auditor'] as const) {
      const client = clients[name];
      expect((await client.get('/audits')).body).not.toContain('href="/audits/allocate"');
      expect((await client.get('/audits/allocate')).statusCode).toBe(403);
      const posted = await client.post('/audits/allocate', { childId: child.unit1.id, auditorId: council.staff.qaOfficer.id });
      expect(posted.statusCode).toBe(403);
      const api = await t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: tokens[name], payload: { childId: child.unit1.id, auditorId: council.staff.qaOfficer.id } });
      expect(api.statusCode).toBe(403);
    }
    const auditor = (await loadPrincipal(t.db, council.users.auditor.id))!;
    await expect(allocateAudit(t.db, { principal: auditor, ipAddress: null, at: new Date() }, { childId: child.unit1.id, auditorId: council.staff.qaOfficer.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await written()).toEqual(before);
  });

  it('refuses invalid choices on the page, names the field and keeps the choices, writing nothing', async () => {
    const before = await written();
    await clients.coordinator.get(`/audits/allocate?childId=${child.unit1.id}`);
    const noAuditor = await clients.coordinator.post('/audits/allocate', { childId: child.unit1.id, toolId: earlyHelp.toolId, auditorId: '' });
    expect(noAuditor.statusCode).toBe(400);
    expect(noAuditor.body).toContain('govuk-error-summary');
    expect(noAuditor.body).toMatch(/<a href="#auditorId">Choose an auditor<\/a>/);
    expect(noAuditor.body).toContain('<title>Error:');
    expect(noAuditor.body).toMatch(new RegExp(`<option value="${earlyHelp.toolId}" selected>`));

    const caseHolder = await clients.coordinator.post('/audits/allocate', { childId: child.managersCase.id, toolId: caseFile.toolId, auditorId: council.staff.manager1.id });
    expect(caseHolder.statusCode).toBe(400);
    expect(caseHolder.body).toMatch(/<a href="#auditorId">Tina Manager holds this case and cannot audit it: choose another auditor<\/a>/);
    expect(caseHolder.body).toMatch(new RegExp(`<option value="${caseFile.toolId}" selected>`));

    const unknown = await clients.coordinator.post('/audits/allocate', { childId: '00000000-0000-4000-8000-000000000000', auditorId: council.staff.manager1.id });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toMatch(/<a href="#search">Choose a child from the register<\/a>/);

    const closed = await clients.coordinator.post('/audits/allocate', { childId: child.closed.id, auditorId: council.staff.manager1.id });
    expect(closed.statusCode).toBe(400);
    expect(pageText(closed.body)).toContain('The case of EF (ALC-03) is closed: choose a child whose case is open');
    expect(await written()).toEqual(before);
  });

  it('names every field in error when allocating directly, and writes nothing', async () => {
    const before = await written();
    const allocate = (input: unknown) => allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, input, { today: '2026-03-02' });
    expect(await allocate({})).toEqual({
      ok: false,
      errors: [
        { field: 'childId', message: 'Choose a child from the register' },
        { field: 'auditorId', message: 'Choose an auditor' },
      ],
    });
    expect(await allocate({ childId: child.unit1.id, toolId: 'not-a-tool', auditorId: council.staff.worker1.id })).toEqual({
      ok: false,
      errors: [
        { field: 'toolId', message: 'Choose an audit tool from the list' },
        { field: 'auditorId', message: 'Choose an auditor from the list: they need an auditing role in Assure' },
      ],
    });
    // Through Care has no default tool, so one must be chosen.
    expect(await allocate({ childId: child.care.id, auditorId: council.staff.manager1.id })).toEqual({
      ok: false,
      errors: [{ field: 'toolId', message: "Choose an audit tool: the child's service has no default tool" }],
    });
    expect(await allocate({ childId: child.closed.id, auditorId: council.staff.manager1.id })).toMatchObject({ ok: false, errors: [{ field: 'childId' }] });
    expect(await written()).toEqual(before);
  });

  it('allocates and reads audits through the API', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/audits',
      headers: tokens.coordinator,
      payload: { childId: child.api.id, auditorId: council.staff.serviceManager.id },
    });
    expect(created.statusCode).toBe(201);
    const audit = created.json();
    expect(created.headers.location).toBe(`/api/v1/audits/${audit.id}`);
    expect(audit).toMatchObject({
      status: 'allocated',
      overdue: false,
      child: { id: child.api.id, externalId: 'ALC-07', initials: 'NP' },
      tool: { id: caseFile.toolId, name: 'Case file audit', edition: '2026.2', editionId: newestPublished.id },
      auditor: { id: council.staff.serviceManager.id, name: 'Sam Service' },
      caseHolder: { id: council.staff.worker1.id, name: 'Wes Worker' },
      team: { id: council.teams.unit1.id, name: 'North Unit 1' },
      service: { id: council.services.area.id, name: 'Area Social Work' },
      allocatedBy: { id: council.users.qa_coordinator.id, name: 'Quinn QA' },
      allocatedOn: ukDateAt(new Date()),
      dueOn: auditDueOn(ukDateAt(new Date())),
      answers: {},
      grades: { auditor: null, final: null, sections: [] },
    });

    const read = await t.app.inject({ url: `/api/v1/audits/${audit.id}`, headers: tokens.auditor });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(audit);

    const before = await written();
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/audits',
      headers: tokens.coordinator,
      payload: { childId: child.closed.id, toolId: caseFile.toolId, auditorId: council.staff.worker1.id },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      error: 'INVALID',
      errors: [
        { field: 'childId', message: 'The case of EF (ALC-03) is closed: choose a child whose case is open' },
        { field: 'auditorId', message: 'Choose an auditor from the list: they need an auditing role in Assure' },
      ],
    });
    const unknownChild = await t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: tokens.coordinator, payload: { childId: '00000000-0000-4000-8000-000000000000', auditorId: council.staff.manager1.id } });
    expect(unknownChild.json().errors).toEqual([{ field: 'childId', message: 'Choose a child from the register' }]);
    expect(await written()).toEqual(before);

    // Outside the caller's reach the audit does not exist for them.
    const care = await t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: tokens.coordinator, payload: { childId: child.apiCare.id, toolId: earlyHelp.toolId, auditorId: council.staff.qaOfficer.id } });
    expect(care.statusCode).toBe(201);
    const hidden = await t.app.inject({ url: `/api/v1/audits/${care.json().id}`, headers: tokens.auditor });
    expect(hidden.statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/v1/audits/not-an-id', headers: tokens.coordinator })).statusCode).toBe(404);
  });

  it('refuses a second open audit of a child with the same tool, even when asked at once, on the API and the page', async () => {
    const dup = await createChild(t.db, org, { externalId: 'ALC-09', initials: 'ST', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const before = await written();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        t.app.inject({ method: 'POST', url: '/api/v1/audits', headers: tokens.coordinator, payload: { childId: dup.id, toolId: caseFile.toolId, auditorId: council.staff.manager1.id } }),
      ),
    );
    expect(answers.filter((answer) => answer.statusCode === 201)).toHaveLength(1);
    const refused = answers.filter((answer) => answer.statusCode !== 201);
    expect(refused.map((answer) => answer.statusCode)).toEqual(Array(11).fill(422));
    const reference = (await t.db.selectFrom('audits').select('reference').where('child_id', '=', dup.id).executeTakeFirstOrThrow()).reference;
    const message = `ST (ALC-09) already has an open audit with Case file audit (reference ${reference}): choose another tool, or finish that audit first`;
    expect(refused[0]!.json()).toMatchObject({ error: 'INVALID', errors: [{ field: 'toolId', message }] });
    expect(await written()).toEqual({ audits: before.audits + 1, emails: before.emails + 1, logged: before.logged + 1 });

    await clients.coordinator.get(`/audits/allocate?childId=${dup.id}`);
    const page = await clients.coordinator.post('/audits/allocate', { childId: dup.id, toolId: caseFile.toolId, auditorId: council.staff.manager1.id });
    expect(page.statusCode).toBe(400);
    expect(pageText(page.body)).toContain(message);
    expect(page.body).toContain('href="#toolId"');

    // Another tool is another audit.
    const other = await clients.coordinator.post('/audits/allocate', { childId: dup.id, toolId: earlyHelp.toolId, auditorId: council.staff.manager1.id });
    expect(other.statusCode).toBe(303);
  });

  it("shows the child's legal status, age and audits so far, and each auditor's audits in hand", async () => {
    const today = ukDateAt(new Date());
    const tenthBirthday = `${Number(today.slice(0, 4)) - 10}${today.slice(4)}`;
    const context = await createChild(t.db, org, { externalId: 'ALC-10', initials: 'UV', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    await t.db.updateTable('children').set({ legal_status: 'child_in_care', date_of_birth: tenthBirthday }).where('id', '=', context.id).execute();
    const past = await createAudit(t.db, {
      organisationId: org,
      childId: context.id,
      toolEditionId: earlyHelp.editionId,
      auditorId: council.staff.qaOfficer.id,
      status: 'closed',
      allocatedOn: '2025-02-03',
      auditorGrade: 'good',
      finalGrade: 'requires_improvement',
    });
    const form = await clients.coordinator.get(`/audits/allocate?childId=${context.id}`);
    expect(form.statusCode).toBe(200);
    const text = pageText(form.body);
    expect(text).toContain('Legal status Child in Care');
    expect(text).toContain(`Age 10 years old (born ${formatDate(tenthBirthday)})`);
    expect(text).toContain('No open audits.');
    expect(text).toMatch(new RegExp(`Past audits .*${past.reference} Early help audit .*Closed Nothing due \\(closed\\) Quinn QA Requires improvement 3 February 2025`));
    const inHand = await t.db
      .selectFrom('audits')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('auditor_id', '=', council.staff.manager1.id)
      .where('status', 'in', ['allocated', 'in_progress', 'returned', 'in_moderation'])
      .executeTakeFirstOrThrow();
    const count = Number(inHand.n);
    expect(form.body).toMatch(new RegExp(`<option value="${council.staff.manager1.id}">Tina Manager, Team Manager \\(North Unit 1\\): ${count} ${count === 1 ? 'audit' : 'audits'} in hand</option>`));
  });
});
