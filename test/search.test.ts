import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild, type AuditInput } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/**
 * Finding a child, an audit or an action from the header search, and the child's own page with
 * its audits: each within the person's reach, and each child shown logged as a view of it.
 */
describe.each(testDrivers())('search and the child page on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const children: Record<'north' | 'care', { id: string }> = {} as never;
  const audits: Record<'open' | 'past' | 'care', { id: string; reference: number }> = {} as never;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const tool = await createAuditTool(t.db, org);
    children.north = await createChild(t.db, org, { externalId: 'SRC-100', initials: 'AB', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    children.care = await createChild(t.db, org, { externalId: 'SRC-200', initials: 'CD', teamId: council.teams.careTeam.id, workerId: council.staff.careWorker.id });
    const audit = (childId: string, team: { id: string; service_id: string | null }, extra: Partial<AuditInput>) =>
      createAudit(t.db, { organisationId: org, childId, toolEditionId: tool.editionId, auditorId: council.staff.manager1.id, teamId: team.id, serviceId: team.service_id, ...extra });
    audits.past = await audit(children.north.id, council.teams.unit1, { status: 'closed', caseHolderId: council.staff.worker1.id, allocatedOn: '2025-03-03', auditorGrade: 'requires_improvement', finalGrade: 'good' });
    audits.open = await audit(children.north.id, council.teams.unit1, { status: 'in_progress', caseHolderId: council.staff.worker1.id, allocatedOn: '2026-01-05', due: 5, stageDue: 5 });
    audits.care = await audit(children.care.id, council.teams.careTeam, { status: 'allocated', auditorId: council.staff.qaOfficer.id, due: 5, stageDue: 5 });
    await t.db
      .insertInto('actions')
      .values({ organisation_id: org, audit_id: audits.past.id, child_id: children.north.id, answer_key: 'plan', row_index: 0, text: 'Update the chronology', owner_id: council.staff.worker1.id, due_on: '2025-05-01' })
      .execute();
  }, 60_000);
  afterAll(async () => t?.close());

  const signedIn = async (email: string) => {
    const client = new TestClient(t.app);
    await client.signIn(email, PASSWORD);
    return client;
  };

  it("lists the child's open and past audits, with grades, and offers to allocate another", async () => {
    const coordinator = await signedIn(council.users.qa_coordinator.email);
    const page = await coordinator.get(`/children/${children.north.id}`);
    expect(page.statusCode).toBe(200);
    const open = pageText(/data-testid="open-audits"[\s\S]*?<\/table>/.exec(page.body)![0]);
    expect(open).toContain(`${audits.open.reference} Case file audit`);
    expect(open).toContain('In progress');
    expect(open).toContain('(auditor)');
    const past = pageText(/data-testid="past-audits"[\s\S]*?<\/table>/.exec(page.body)![0]);
    expect(past).toMatch(new RegExp(`${audits.past.reference} Case file audit .*Closed Nothing due \\(closed\\) Tina Manager Good 3 March 2025`));
    expect(page.body).toContain(`href="/audits/${audits.past.id}"`);
    expect(page.body).toContain(`href="/audits/allocate?childId=${children.north.id}"`);
    expect(pageText(page.body)).toContain('Allocate an audit');
    // An auditor reads the page but cannot allocate.
    const auditor = await signedIn(council.users.auditor.email);
    const theirs = await auditor.get(`/children/${children.north.id}`);
    expect(pageText(theirs.body)).toContain(`${audits.open.reference} Case file audit`);
    expect(theirs.body).not.toContain('href="/audits/allocate');
  });

  it('finds a child, their audits and the actions from the header search by case ID, and logs the child as viewed', async () => {
    const coordinator = await signedIn(council.users.qa_coordinator.email);
    expect((await coordinator.get('/')).body).toMatch(/<form method="get" action="\/search" role="search"/);
    const page = await coordinator.get('/search?q=SRC-100');
    expect(page.statusCode).toBe(200);
    const text = pageText(page.body);
    expect(text).toContain('Found 1 child, 2 audits and 1 action.');
    expect(page.body).toContain(`href="/children/${children.north.id}"`);
    expect(page.body).toContain(`href="/audits/${audits.open.id}"`);
    expect(page.body).toContain(`href="/audits/${audits.past.id}"`);
    expect(text).toContain(`Action from audit ${audits.past.reference}: AB (SRC-100)`);
    expect(text).not.toContain('SRC-200');
    const logged = await t.db
      .selectFrom('activity_log')
      .select(['record_type', 'action'])
      .where('user_id', '=', council.users.qa_coordinator.id)
      .where('child_id', '=', children.north.id)
      .where('summary', '=', 'found by search')
      .execute();
    expect(logged).toContainEqual({ record_type: 'child', action: 'view' });
  });

  it('finds an audit by its reference', async () => {
    const coordinator = await signedIn(council.users.qa_coordinator.email);
    for (const q of [String(audits.care.reference), `Audit ${audits.care.reference}`]) {
      const page = await coordinator.get(`/search?q=${encodeURIComponent(q)}`);
      expect(pageText(page.body)).toContain('Found 0 children, 1 audit and 0 actions.');
      expect(page.body).toContain(`href="/audits/${audits.care.id}"`);
    }
  });

  it('never finds what the person may not see', async () => {
    // The auditor's reach is North Unit 1: the Through Care child and its audit are not found.
    const auditor = await signedIn(council.users.auditor.email);
    for (const q of ['SRC-200', String(audits.care.reference)]) {
      const page = await auditor.get(`/search?q=${encodeURIComponent(q)}`);
      expect(page.statusCode).toBe(200);
      expect(pageText(page.body)).toContain(`Nothing you can see matches “${q}”`);
      expect(page.body).not.toContain(children.care.id);
      expect(page.body).not.toContain(audits.care.id);
    }
    // A practitioner cannot read the register: their own case's audits, never a child record.
    const practitioner = await signedIn(council.users.practitioner.email);
    const theirs = await practitioner.get('/search?q=SRC-100');
    expect(theirs.body).not.toContain(`href="/children/${children.north.id}"`);
    expect(theirs.body).toContain(`href="/audits/${audits.open.id}"`);
    // Another council's coordinator finds nothing of this one.
    const other = await createSmallCouncil(t.db, 'elsewhere');
    const outsider = await signedIn(other.users.qa_coordinator.email);
    expect(pageText((await outsider.get('/search?q=SRC-100')).body)).toContain('Nothing you can see matches');
  });

  it('asks for a shorter search rather than failing', async () => {
    const coordinator = await signedIn(council.users.qa_coordinator.email);
    const page = await coordinator.get(`/search?q=${'x'.repeat(101)}`);
    expect(page.statusCode).toBe(400);
    expect(pageText(page.body)).toContain('Search must be 100 characters or fewer');
    expect(page.body).toContain('href="#q"');
  });
});
