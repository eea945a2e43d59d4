import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { AuditStatus } from '../src/db/types.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { LIFECYCLE_STATUSES } from '../src/modules/audits/lifecycle.ts';
import { holidayCalendarFor } from '../src/modules/org/calendar.ts';
import { seedDemoCouncil } from '../src/demo/seed.ts';
import { DEMO_SIGN_INS } from '../src/demo/data.ts';
import { fillInForm, submit } from '../src/demo/lifecycle.ts';
import { HISTORY_ACTOR } from '../src/demo/history.ts';
import { quartersEnding } from '../src/modules/reports/period.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { workingDaysAfter } from '../src/platform/working-days.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { pageText, TestClient } from './support/client.ts';
import { ukDateAt } from '../src/platform/clock.ts';

const DEMO_PASSWORD = 'Assure-demo-2026!';
// The demo is loaded as of today, as `npm run demo` loads it: the pages judge what is due by today.
const TODAY = ukDateAt(new Date());

/** The rows of one section of My work, as the text a person reads. */
function workRows(html: string, section: string): string[] {
  const part = new RegExp(`<section data-section="${section}"[\\s\\S]*?</section>`).exec(html)?.[0] ?? '';
  return [...part.matchAll(/<tr class="govuk-table__row" data-urgency="([a-z_]+)">([\s\S]*?)<\/tr>/g)].map((match) => `${match[1]}: ${pageText(match[2]!)}`);
}

function pipelineTotal(html: string, status: AuditStatus): number {
  const row = new RegExp(`<tr class="govuk-table__row" data-status="${status}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
  const cells = [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((match) => pageText(match[1]!));
  return Number(cells.at(-1) ?? NaN);
}

describe.each(testDrivers())('demo council on %s', (driver) => {
  let t: TestApp;
  let loaded: Awaited<ReturnType<typeof seedDemoCouncil>>;
  const clients = new Map<string, TestClient>();
  const homes = new Map<string, string>();

  const org = () => loaded.organisation.id;
  const userId = async (email: string) => (await t.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
  const staffOf = async (email: string) => (await t.db.selectFrom('users').select('staff_id').where('email', '=', email).executeTakeFirstOrThrow()).staff_id!;
  const auditsIn = (status: AuditStatus) =>
    t.db
      .selectFrom('audits')
      .selectAll()
      .where('organisation_id', '=', org())
      .where('status', '=', status)
      .orderBy('reference')
      .execute();

  beforeAll(async () => {
    t = await createTestApp(driver);
    loaded = await seedDemoCouncil(t.db, { now: new Date(), today: TODAY });
    for (const signIn of DEMO_SIGN_INS) {
      const client = new TestClient(t.app);
      await client.signIn(signIn.email, DEMO_PASSWORD);
      clients.set(signIn.email, client);
      const home = await client.get('/');
      expect(home.statusCode).toBe(200);
      homes.set(signIn.email, home.body);
    }
  }, 240_000);
  afterAll(async () => t?.close());

  it('gives every service a default audit tool', async () => {
    const defaults = await t.db
      .selectFrom('services')
      .leftJoin('service_default_tools as d', 'd.service_id', 'services.id')
      .leftJoin('audit_tools as tools', 'tools.id', 'd.tool_id')
      .select(['services.name', 'tools.key'])
      .where('services.organisation_id', '=', org())
      .execute();
    expect(defaults.filter((row) => !row.key)).toEqual([]);
    expect(defaults.find((row) => row.name === 'Families in Focus')?.key).toBe('bristol-families-in-focus-child-case-audit');
  });

  it('allocates audits through the allocation rules: due in 10 working days, one e-mail each, some overdue', async () => {
    expect(loaded.audits).toBeGreaterThanOrEqual(20);
    const audits = await t.db.selectFrom('audits').select(['allocated_on', 'due_on', 'status']).where('organisation_id', '=', org()).execute();
    // The work in hand, and two years of closed work behind it (src/demo/history.ts).
    expect(audits).toHaveLength(loaded.audits + loaded.pastAudits);
    // Allocated on the day itself: due 10 working days later.
    const dueOn = workingDaysAfter(TODAY, 10, await holidayCalendarFor(t.db, org()));
    expect(audits.filter((audit) => audit.allocated_on === TODAY && audit.status === 'allocated').map((audit) => audit.due_on)).toContain(dueOn);
    expect(audits.some((audit) => audit.status === 'allocated' && audit.due_on < TODAY)).toBe(true);
    const emails = await t.db.selectFrom('email_outbox').select(sql<number>`count(*)::int`.as('n')).where('dedupe_key', 'like', 'audit-allocated:%').executeTakeFirstOrThrow();
    expect(emails.n).toBe(loaded.audits);
  });

  it('has audits at every stage of their life', async () => {
    const statuses = await t.db.selectFrom('audits').select('status').where('organisation_id', '=', org()).execute();
    expect(new Set(statuses.map((row) => row.status))).toEqual(new Set(LIFECYCLE_STATUSES.filter((status) => status !== 'distributed')));

    const [inProgress] = await auditsIn('in_progress');
    expect(inProgress!.completed_sections.length).toBeGreaterThan(0);
    expect(inProgress!.auditor_grade).toBeNull();
    const inModeration = await auditsIn('in_moderation');
    expect(inModeration.length).toBeGreaterThan(0);
    expect(inModeration.every((audit) => audit.auditor_grade !== null && audit.moderator_id === inModeration[0]!.moderator_id)).toBe(true);
    expect(inModeration[0]!.moderator_id).toBe(await staffOf('moderator@avonford.example'));

    const awaiting = await auditsIn('awaiting_feedback');
    expect(awaiting.some((audit) => audit.practitioner_feedback === null)).toBe(true);
    expect(awaiting.some((audit) => audit.practitioner_feedback !== null)).toBe(true);
    const [closed] = await auditsIn('closed');
    expect(closed!.practitioner_feedback).not.toBeNull();
    expect(closed!.closing_comments).toBeTruthy();
    const recipients = await t.db.selectFrom('audit_recipients').select('role').where('audit_id', '=', closed!.id).execute();
    expect(recipients.map((row) => row.role).sort()).toEqual(['case_holder', 'iro', 'team_manager']);
    // A moderator who changed a grade said why.
    const regraded = await t.db.selectFrom('audit_judgements').select(['reason']).where('organisation_id', '=', org()).where('stage', '=', 'moderator').where('reason', 'is not', null).execute();
    expect(regraded.length).toBeGreaterThan(0);
  });

  it('records every transition: each audit\'s timeline runs from its allocation to its status', async () => {
    const audits = await t.db.selectFrom('audits').select(['id', 'status']).where('organisation_id', '=', org()).execute();
    const transitions = await t.db.selectFrom('audit_transitions').select(['audit_id', 'from_status', 'to_status', 'transition']).where('organisation_id', '=', org()).orderBy('id').execute();
    for (const audit of audits) {
      const steps = transitions.filter((row) => row.audit_id === audit.id);
      expect(steps[0]).toMatchObject({ from_status: null, to_status: 'allocated', transition: 'allocate' });
      steps.slice(1).forEach((step, index) => expect(step.from_status).toBe(steps[index]!.to_status));
      expect(steps.at(-1)!.to_status).toBe(audit.status);
    }
    const closed = (await auditsIn('closed'))[0]!;
    expect(transitions.filter((row) => row.audit_id === closed.id).map((row) => row.transition)).toEqual(['allocate', 'start', 'submit', 'moderate', 'distribute', 'requestFeedback', 'giveFeedback', 'close']);
  });

  it('has two years of closed work behind it: eight quarters of moderated audits, regrades, re-audits and verified actions', async () => {
    const past = await t.db
      .selectFrom('audits')
      .select(['id', 'moderated_at', 'auditor_grade', 'final_grade', 're_audit_of', 'status'])
      .where('organisation_id', '=', org())
      .where('id', 'in', t.db.selectFrom('audit_transitions').select('audit_id').where('actor_label', '=', HISTORY_ACTOR))
      .execute();
    expect(past.length).toBe(loaded.pastAudits);
    expect(past.length).toBeGreaterThan(150);
    expect(past.length).toBeLessThan(400);
    expect(past.every((audit) => audit.status === 'closed')).toBe(true);
    const quarters = quartersEnding(TODAY, 9).slice(0, 8);
    for (const quarter of quarters) {
      const inQuarter = past.filter((audit) => ukDateAt(new Date(audit.moderated_at!)) >= quarter.from && ukDateAt(new Date(audit.moderated_at!)) <= quarter.to);
      expect(inQuarter.length, quarter.label).toBeGreaterThan(15);
    }
    expect(past.filter((audit) => audit.auditor_grade !== audit.final_grade).length).toBeGreaterThan(10);
    expect(past.filter((audit) => audit.re_audit_of).length).toBeGreaterThan(0);
    const verified = await t.db.selectFrom('actions').select('id').where('status', '=', 'verified').where('audit_id', 'in', past.map((audit) => audit.id)).execute();
    expect(verified.length).toBeGreaterThan(100);
  });

  it('shows the returned audit to its auditor with what needs to change', async () => {
    const [returned] = await auditsIn('returned');
    const reason = await t.db.selectFrom('audit_transitions').select('reason').where('audit_id', '=', returned!.id).where('to_status', '=', 'returned').executeTakeFirstOrThrow();
    expect(reason.reason).toContain('chronology');
    const page = pageText((await clients.get('auditor@avonford.example')!.get(`/audits/${returned!.id}`)).body);
    expect(page).toContain(reason.reason!.slice(0, 60));
  });

  it('has an audit moderated Inadequate with its alerts, its re-audit by a second auditor and a case direction with actions', async () => {
    const inadequate = (await auditsIn('moderated')).find((audit) => audit.final_grade === 'inadequate')!;
    expect(inadequate).toBeDefined();
    const moderatorStaff = await staffOf('moderator@avonford.example');
    const alerts = await t.db.selectFrom('audit_alerts').select(['kind', 'staff_id', 'acknowledged_at']).where('audit_id', '=', inadequate.id).orderBy('kind').execute();
    expect(alerts).toEqual([
      { kind: 'inadequate_moderated', staff_id: moderatorStaff, acknowledged_at: null },
      { kind: 'inadequate_submitted', staff_id: moderatorStaff, acknowledged_at: null },
    ]);
    const reAudit = await t.db.selectFrom('audits').selectAll().where('re_audit_of', '=', inadequate.id).executeTakeFirstOrThrow();
    expect(reAudit.status).toBe('allocated');
    expect([inadequate.auditor_id, inadequate.case_holder_id, inadequate.moderator_id]).not.toContain(reAudit.auditor_id);
    const direction = await t.db.selectFrom('case_directions').selectAll().where('audit_id', '=', inadequate.id).executeTakeFirstOrThrow();
    expect(direction.direction).toContain('strategy discussion');
    const actions = await t.db.selectFrom('actions').select(['owner_id']).where('audit_id', '=', inadequate.id).where('source', '=', 'case_direction').execute();
    expect(actions.length).toBeGreaterThanOrEqual(2);
    const page = pageText((await clients.get('moderator@avonford.example')!.get(`/audits/${inadequate.id}`)).body);
    expect(page).toContain('Inadequate: escalation');
  });

  it('tracks actions: some open, one done waiting for verification, one verified by someone else', async () => {
    // Of the work in hand: the past audits' actions are done and verified long ago.
    const past = t.db.selectFrom('audit_transitions').select('audit_id').where('actor_label', '=', HISTORY_ACTOR);
    const actions = await t.db.selectFrom('actions').select(['status', 'owner_id', 'verified_by', 'done_by']).where('organisation_id', '=', org()).where('audit_id', 'not in', past).execute();
    expect(actions.filter((action) => action.status === 'open').length).toBeGreaterThan(1);
    expect(actions.filter((action) => action.status === 'done')).toHaveLength(1);
    const verified = actions.filter((action) => action.status === 'verified');
    expect(verified).toHaveLength(1);
    expect(verified[0]!.verified_by).not.toBe(verified[0]!.done_by);
  });

  it("lists something on each demo user's home page; the administrator has no staff record and is told so", async () => {
    for (const signIn of DEMO_SIGN_INS) {
      const html = homes.get(signIn.email)!;
      const items = ['alerts', 'audits', 'moderation', 'feedback', 'case_directions', 'actions', 'verification'].flatMap((section) => workRows(html, section));
      if (signIn.role === 'administrator') expect(pageText(html)).toContain('not linked to a staff record');
      else expect(items.length, signIn.email).toBeGreaterThan(0);
    }
  });

  it("puts each stage's work in front of the right demo user, overdue, due soon and on time", async () => {
    const auditor = homes.get('auditor@avonford.example')!;
    const audits = workRows(auditor, 'audits');
    expect(audits.some((row) => row.includes('Returned to you for changes'))).toBe(true);
    expect(audits.filter((row) => row.includes('Re-audit after an Inadequate grade'))).toHaveLength(1);
    for (const urgency of ['overdue', 'due_soon', 'on_time']) expect(audits.some((row) => row.startsWith(`${urgency}:`)), urgency).toBe(true);
    expect(workRows(auditor, 'verification')).toHaveLength(1);

    const moderator = homes.get('moderator@avonford.example')!;
    expect(workRows(moderator, 'moderation').length).toBeGreaterThanOrEqual(2);
    const alerts = workRows(moderator, 'alerts');
    expect(alerts.filter((row) => row.includes('Submitted with an Inadequate grade'))).toHaveLength(1);
    expect(alerts.filter((row) => row.includes('Moderated Inadequate'))).toHaveLength(1);
    expect(workRows(moderator, 'case_directions')).toHaveLength(1);

    const practitioner = homes.get('practitioner@avonford.example')!;
    expect(workRows(practitioner, 'feedback').length).toBeGreaterThan(0);
    expect(workRows(practitioner, 'actions').length).toBeGreaterThan(0);

    const coordinator = homes.get('qa.coordinator@avonford.example')!;
    expect(pipelineTotal(coordinator, 'moderated')).toBeGreaterThanOrEqual(2);
    expect(pipelineTotal(coordinator, 'awaiting_feedback')).toBeGreaterThanOrEqual(2);

    expect(workRows(homes.get('senior.leader@avonford.example')!, 'actions').length).toBeGreaterThan(0);
  });

  it('opens each waiting page for the person it waits on', async () => {
    const [toModerate] = await auditsIn('in_moderation');
    expect((await clients.get('moderator@avonford.example')!.get(`/audits/${toModerate!.id}/moderate`)).statusCode).toBe(200);
    const [toDistribute] = await auditsIn('moderated');
    expect((await clients.get('qa.coordinator@avonford.example')!.get(`/audits/${toDistribute!.id}/distribute`)).statusCode).toBe(200);
    const awaiting = await auditsIn('awaiting_feedback');
    const noFeedback = awaiting.find((audit) => audit.practitioner_feedback === null)!;
    expect((await clients.get('practitioner@avonford.example')!.get(`/audits/${noFeedback.id}/feedback`)).statusCode).toBe(200);
    const withFeedback = awaiting.find((audit) => audit.practitioner_feedback !== null)!;
    expect((await clients.get('qa.coordinator@avonford.example')!.get(`/audits/${withFeedback.id}/close`)).statusCode).toBe(200);
    const [inProgress] = await auditsIn('in_progress');
    expect((await clients.get('auditor@avonford.example')!.get(`/audits/${inProgress!.id}/form`)).statusCode).toBe(200);
  });

  it('sends a sensible number of e-mails: one per allocation, and a few for the later stages', async () => {
    const emails = await t.db.selectFrom('email_outbox').select(['dedupe_key']).where('organisation_id', '=', org()).execute();
    const later = emails.filter((email) => !email.dedupe_key?.startsWith('audit-allocated:'));
    expect(later.map((email) => email.dedupe_key!.split(':')[0]).sort()).toEqual([
      ...Array(2).fill('audit-alert'),
      ...Array(7).fill('audit-distributed'),
      // Each audit's next person told once: the QA coordinator of feedback, the auditor of moderation
      // or a return, the moderator of each submission.
      ...Array(2).fill('audit-feedback_given'),
      ...Array(5).fill('audit-moderated'),
      'audit-returned',
      ...Array(8).fill('audit-submitted'),
    ]);
  });

  it('shows the demo auditor their audits under My audits', async () => {
    const page = pageText((await clients.get('auditor@avonford.example')!.get('/my-audits')).body);
    const mine = await t.db
      .selectFrom('audits')
      .innerJoin('users', 'users.staff_id', 'audits.auditor_id')
      .innerJoin('children', 'children.id', 'audits.child_id')
      .select('children.external_id')
      .where('users.email', '=', 'auditor@avonford.example')
      .execute();
    expect(mine.length).toBeGreaterThan(0);
    for (const audit of mine) expect(page).toContain(audit.external_id);
  });

  // Last: it adds audits to the demo council.
  it("writes answers the form accepts for every built-in tool, graded Good and graded Inadequate", async () => {
    const coordinator = { principal: (await loadPrincipal(t.db, await userId('qa.coordinator@avonford.example')))!, ipAddress: null, at: new Date() };
    const lead = { principal: (await loadPrincipal(t.db, await userId('qa.lead@avonford.example')))!, ipAddress: null, at: new Date() };
    const audited = (await t.db.selectFrom('audits').select('child_id').execute()).map((row) => row.child_id);
    // Two children: a child has one open audit with a tool at a time.
    const children = await t.db
      .selectFrom('children')
      .select(['id', 'allocated_worker_id'])
      .where('organisation_id', '=', org())
      .where('close_date', 'is', null)
      .where('legal_status', '=', 'child_in_care')
      .where('id', 'not in', audited)
      .orderBy('external_id')
      .limit(2)
      .execute();
    expect(children).toHaveLength(2);
    const tools = await t.db.selectFrom('audit_tools').select(['id', 'key']).where('organisation_id', '=', org()).orderBy('key').execute();
    const grades: Record<string, string | null> = {};
    for (const tool of tools) {
      for (const [index, grading] of (['good', 'inadequate'] as const).entries()) {
        const child = children[index]!;
        const allocated = await allocateAudit(t.db, coordinator, { childId: child.id, toolId: tool.id, auditorId: lead.principal.staffId });
        if (!allocated.ok) throw new Error(JSON.stringify(allocated.errors));
        await fillInForm(t.db, lead, allocated.audit.id, { grading, ownerId: child.allocated_worker_id!, actionsDueInDays: [7, 14] });
        await submit(t.db, lead, allocated.audit.id);
        grades[`${tool.key} ${grading}`] = (await t.db.selectFrom('audits').select('auditor_grade').where('id', '=', allocated.audit.id).executeTakeFirstOrThrow()).auditor_grade;
      }
    }
    expect(Object.keys(grades)).toHaveLength(tools.length * 2);
    for (const [which, grade] of Object.entries(grades)) expect(grade, which).toBe(which.split(' ')[1]);
  }, 120_000);
});
