import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createStaff, createUser } from '../src/modules/org/service.ts';
import { loadBuiltInTools } from '../src/modules/tools/library.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { reAuditForm } from '../src/modules/tools/escalation.ts';
import { addCalendarMonths, addWeeks } from '../src/platform/working-days.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { pageText, signedInClients, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { dateFields } from './support/form-fields.ts';
import { builtInTool, completeAndSubmit, moderateOverHttp, versionOf } from './support/audit-flow.ts';
import { ukDateAt } from '../src/platform/clock.ts';

/**
 * The whole life of a Bristol audit that finds Inadequate practice, as PROCESS.md §4 tells
 * it, through the pages people use: allocation, the audit, the alert on submission,
 * moderation, the service manager's case direction, the re-audit by another auditor,
 * distribution, the case holder's feedback and closure; then the re-audit, graded against
 * the first.
 */
const BRISTOL = 'bristol-child-case-audit';

describe.each(testDrivers())('the Bristol path with an Inadequate on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let tool: AuditTool;
  let toolId: string;
  const clients = {} as Record<'coordinator' | 'auditor' | 'moderator' | 'practitioner' | 'reAuditor', TestClient>;
  const today = ukDateAt(new Date());

  const audit = (id: string) => t.db.selectFrom('audits').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const mailTo = (address: string) => t.db.selectFrom('email_outbox').select(['subject', 'text_body']).where('to_address', '=', address).execute();

  const complete = (client: TestClient, id: string, overall: string) => completeAndSubmit(client, tool, id, { staffId: council.staff.worker1.id, today, overall });
  const moderate = (id: string, overall: string) => moderateOverHttp(clients.moderator, id, { 'grade-overall': overall }, { tool, staffId: council.staff.worker1.id, today });

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    await loadBuiltInTools(t.db, org);
    ({ toolId, tool } = await builtInTool(t.db, org, BRISTOL));
    // A second auditor, in another team of the same service, for the re-audit.
    const rhea = await createStaff(t.db, { organisationId: org, fullName: 'Rhea Review', jobTitle: 'Team Manager', teamId: council.teams.unit2.id, staffNumber: 'S201', email: 'rhea@testshire.example' });
    await createUser(t.db, { organisationId: org, email: 'rhea.user@testshire.example', displayName: 'Rhea Review', password: PASSWORD, staffId: rhea.id, grants: [{ role: 'auditor', scope: 'team' }] });
    const emails = {
      coordinator: council.users.qa_coordinator.email,
      auditor: council.users.auditor.email,
      moderator: council.users.moderator.email,
      practitioner: council.users.practitioner.email,
      reAuditor: 'rhea.user@testshire.example',
    };
    Object.assign(clients, await signedInClients(t.app, emails, PASSWORD));
  }, 120_000);
  afterAll(async () => t?.close());

  it('carries an Inadequate audit from allocation to closure, with its case direction and a re-audit graded against it', async () => {
    // Allocation by the QA coordinator, through the allocation page.
    const child = await createChild(t.db, council.organisation.id, { externalId: 'PATH-1', initials: 'PA', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
    const form = await clients.coordinator.get(`/audits/allocate?childId=${child.id}`);
    expect(form.statusCode).toBe(200);
    const allocated = await clients.coordinator.post('/audits/allocate', { childId: child.id, toolId, auditorId: council.staff.manager1.id });
    expect(allocated.statusCode, pageText(allocated.body).slice(0, 400)).toBe(303);
    const first = await t.db.selectFrom('audits').selectAll().where('child_id', '=', child.id).executeTakeFirstOrThrow();
    expect((await mailTo('tina@testshire.example')).some((mail) => mail.text_body.includes(`/audits/${first.id}`))).toBe(true);

    // The auditor completes it and grades it Inadequate: the service manager is alerted at once.
    await complete(clients.auditor, first.id, 'inadequate');
    expect((await audit(first.id)).status).toBe('in_moderation');
    const alert = pageText((await clients.moderator.get(`/audits/${first.id}`)).body);
    expect(alert).toContain('Acknowledge');
    expect((await mailTo('sam@testshire.example')).some((mail) => /inadequate/i.test(mail.subject))).toBe(true);
    expect(pageText((await clients.moderator.get('/')).body)).toContain(`PA (PATH-1)`);

    // Moderated Inadequate: a re-audit is allocated at once to another auditor, 8 weeks on, desktop only.
    await moderate(first.id, 'inadequate');
    expect(await audit(first.id)).toMatchObject({ status: 'moderated', auditor_grade: 'inadequate', final_grade: 'inadequate' });
    const reAudit = await t.db.selectFrom('audits').selectAll().where('re_audit_of', '=', first.id).executeTakeFirstOrThrow();
    expect(reAudit).toMatchObject({ status: 'allocated', desktop_only: true, due_on: addWeeks(today, 8) });
    expect(reAudit.auditor_id).not.toBe(first.auditor_id);
    expect((await clients.reAuditor.get('/my-audits')).body).toContain(`/audits/${reAudit.id}`);

    // The service manager records the case direction; its actions are tracked, reviewed within a month.
    const direction = await clients.moderator.get(`/audits/${first.id}/case-direction`);
    expect(direction.statusCode).toBe(200);
    const directed = await clients.moderator.post(`/audits/${first.id}/case-direction`, {
      direction: 'Convene a strategy discussion today',
      'action-0-text': 'See the child alone this week',
      'action-0-owner': council.staff.worker1.id,
      ...dateFields('action-0-due', addWeeks(today, 1)),
    });
    expect(directed.statusCode, pageText(directed.body).slice(0, 400)).toBe(303);
    expect(await t.db.selectFrom('case_directions').select('review_due_on').where('audit_id', '=', first.id).executeTakeFirstOrThrow()).toEqual({ review_due_on: addCalendarMonths(today, 1) });
    expect(pageText((await clients.practitioner.get('/my-actions')).body)).toContain('See the child alone this week');

    // Distribution to the team manager and case holder; the case holder gives feedback; the QA coordinator closes.
    const distribute = await clients.coordinator.get(`/audits/${first.id}/distribute`);
    const sent = await clients.coordinator.post(`/audits/${first.id}/distribute`, { _version: versionOf(distribute.body), send: ['team_manager', 'case_holder'] });
    expect(sent.statusCode, pageText(sent.body).slice(0, 400)).toBe(303);
    expect((await audit(first.id)).status).toBe('awaiting_feedback');
    const feedback = await clients.practitioner.get(`/audits/${first.id}/feedback`);
    expect(feedback.statusCode).toBe(200);
    const given = await clients.practitioner.post(`/audits/${first.id}/feedback`, {
      _version: versionOf(feedback.body),
      discussed_in_supervision: 'yes',
      ...dateFields('date_discussed_in_supervision', today),
      learning_points: 'See the child alone every visit',
      recommended_actions_completed: 'yes',
      improvement_plan: 'Weekly visits, reviewed in supervision',
    });
    expect(given.statusCode, pageText(given.body).slice(0, 600)).toBe(303);
    const closing = await clients.coordinator.get(`/audits/${first.id}/close`);
    const closed = await clients.coordinator.post(`/audits/${first.id}/close`, { _version: versionOf(closing.body), comments: 'Escalated and re-audit booked' });
    expect(closed.statusCode).toBe(303);
    expect((await audit(first.id)).status).toBe('closed');

    // The re-audit, by the second auditor, asks the tool's re-audit section as well; moderated Good, both audits show it against the first.
    const reAuditSection = await clients.reAuditor.get(`/audits/${reAudit.id}/form/sections/re_audit`);
    expect(reAuditSection.statusCode).toBe(200);
    expect(pageText(reAuditSection.body)).toContain('Actions reviewed and improvement achieved');
    await completeAndSubmit(clients.reAuditor, reAuditForm(tool), reAudit.id, { staffId: council.staff.worker1.id, today, overall: 'good' });
    expect((await audit(reAudit.id)).answers).toMatchObject({ actions_reviewed: expect.any(String) });
    await moderate(reAudit.id, 'good');
    expect((await audit(reAudit.id)).final_grade).toBe('good');
    expect(pageText((await clients.coordinator.get(`/audits/${first.id}`)).body)).toMatch(/Re-audit grade\s*Good\s*, against Inadequate at this audit/);

    // Every step is on the first audit's timeline, in order.
    const steps = await t.db.selectFrom('audit_transitions').select('transition').where('audit_id', '=', first.id).orderBy('id').execute();
    expect(steps.map((step) => step.transition)).toEqual(['allocate', 'start', 'submit', 'moderate', 'distribute', 'requestFeedback', 'giveFeedback', 'close']);
    const history = pageText((await clients.coordinator.get(`/audits/${first.id}`)).body);
    for (const label of ['Allocated', 'Audit started', 'Submitted for moderation', 'Moderated', 'Distributed', 'Practitioner feedback requested', 'Practitioner feedback given', 'Closed']) expect(history).toContain(label);
  }, 240_000);
});
