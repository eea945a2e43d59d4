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
import { completeModeratorsPart } from './support/form-fields.ts';
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
