import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStatus, Grade, LegalStatus } from '../src/db/types.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { fixedClock } from '../src/platform/clock.ts';
import { median } from '../src/modules/reports/measures.ts';
import { buildReport } from '../src/modules/reports/report.ts';
import { sectionTables } from '../src/modules/reports/section-tables.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { STANDARD_SCALES } from '../src/modules/tools/scales.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/**
 * The report's sections on timeliness, grades by legal status and tool, and Inadequate audits
 * and re-audits, against a hand count. Today is Sunday 15 November 2026, in Q3 2026–27
 * (October to December); no bank holiday falls between the dates below. Working days are
 * counted by hand in the comments: W(a, b] is the weekdays after a up to and including b.
 * Timescales are Bristol's: moderation 10 working days, distribution 5, feedback 10.
 */
type Planned = {
  team: 'unit1' | 'unit2' | 'careTeam';
  /** The child's team now, when it is not the audit's (the child moved after allocation). */
  childTeamNow?: 'careTeam';
  legalStatus: LegalStatus;
  tool: 'a' | 'b';
  auditor: 'manager1' | 'qaOfficer';
  status: AuditStatus;
  allocatedOn: string;
  dueOn: string;
  /** Transitions as [name, UK day]; none for an audit loaded before they were recorded. */
  transitions: [string, string][];
  submittedAt: string | null;
  moderatedAt: string | null;
  closedAt?: string;
  auditorGrade: Grade | null;
  finalGrade: Grade | null;
  reAuditOf?: number;
  direction?: { on: string; reviewDue: string; reviewedAt?: string };
};

const PLAN: Planned[] = [
  // A1: auditor's stage 28 Sep → 9 Oct (due 12 Oct: on time; W = 9); moderation 9 → 16 Oct (W = 5, on
  // time); distribution 16 → 30 Oct (W(16, 29] = 9 ≥ 5: late; W = 10); feedback 30 Oct → 6 Nov (W = 5, on time).
  /* A1 */ {
    team: 'unit1', legalStatus: 'cin', tool: 'a', auditor: 'manager1', status: 'closed', allocatedOn: '2026-09-28', dueOn: '2026-10-12',
    transitions: [['submit', '2026-10-09'], ['moderate', '2026-10-16'], ['distribute', '2026-10-20'], ['requestFeedback', '2026-10-30'], ['close', '2026-11-06']],
    submittedAt: '2026-10-09', moderatedAt: '2026-10-16', closedAt: '2026-11-06', auditorGrade: 'good', finalGrade: 'good',
  },
  // A2, regraded Good → Requires improvement: first submitted 20 Oct (due 15 Oct: late; W(1 Oct, 20 Oct] = 13),
  // returned, resubmitted 23 Oct; moderation 23 Oct → 4 Nov (W(23 Oct, 3 Nov] = 7 < 10: on time; W = 8).
  /* A2 */ {
    team: 'unit2', legalStatus: 'cin', tool: 'a', auditor: 'qaOfficer', status: 'moderated', allocatedOn: '2026-10-01', dueOn: '2026-10-15',
    transitions: [['submit', '2026-10-20'], ['return', '2026-10-22'], ['resubmit', '2026-10-23'], ['moderate', '2026-11-04']],
    submittedAt: '2026-10-23', moderatedAt: '2026-11-04', auditorGrade: 'good', finalGrade: 'requires_improvement',
  },
  // A3, Inadequate: submitted on its due date 19 Oct (on time; W = 10); moderation 19 Oct → 3 Nov
  // (deadline the 10th working day, 2 Nov: late; W = 11). A case direction on 5 November, review due 5 December.
  /* A3 */ {
    team: 'careTeam', legalStatus: 'cp', tool: 'a', auditor: 'qaOfficer', status: 'moderated', allocatedOn: '2026-10-05', dueOn: '2026-10-19',
    transitions: [['submit', '2026-10-19'], ['moderate', '2026-11-03']],
    submittedAt: '2026-10-19', moderatedAt: '2026-11-03', auditorGrade: 'inadequate', finalGrade: 'inadequate',
    direction: { on: '2026-11-05', reviewDue: '2026-12-05' },
  },
  // A4, Inadequate last quarter; its case direction reviewed on 20 October.
  /* A4 */ {
    team: 'unit1', legalStatus: 'cp', tool: 'a', auditor: 'qaOfficer', status: 'closed', allocatedOn: '2026-08-03', dueOn: '2026-08-17',
    transitions: [], submittedAt: '2026-09-01', moderatedAt: '2026-09-05', closedAt: '2026-09-30', auditorGrade: 'inadequate', finalGrade: 'inadequate',
    direction: { on: '2026-09-10', reviewDue: '2026-10-10', reviewedAt: '2026-10-20' },
  },
  // A5, the re-audit of A4: Requires improvement, improved. Auditor's stage 28 Oct → 9 Nov (due 11 Nov; W = 8);
  // moderation 9 → 10 Nov (W = 1).
  /* A5 */ {
    team: 'unit1', legalStatus: 'cp', tool: 'a', auditor: 'manager1', status: 'moderated', allocatedOn: '2026-10-28', dueOn: '2026-11-11',
    transitions: [['submit', '2026-11-09'], ['moderate', '2026-11-10']],
    submittedAt: '2026-11-09', moderatedAt: '2026-11-10', auditorGrade: 'requires_improvement', finalGrade: 'requires_improvement', reAuditOf: 3,
  },
  // A6, Inadequate last quarter; its case direction's review (due 25 September) never done: overdue.
  /* A6 */ {
    team: 'unit2', legalStatus: 'early_help', tool: 'a', auditor: 'qaOfficer', status: 'closed', allocatedOn: '2026-07-20', dueOn: '2026-08-03',
    transitions: [], submittedAt: '2026-08-15', moderatedAt: '2026-08-20', closedAt: '2026-09-15', auditorGrade: 'inadequate', finalGrade: 'inadequate',
    direction: { on: '2026-08-25', reviewDue: '2026-09-25' },
  },
  // A7, the re-audit of A6, still Inadequate: the same. No transitions recorded, so its submitted date
  // ends the auditor's stage: 8 → 21 Oct (due 22 Oct; W = 9); moderation 21 → 22 Oct (W = 1).
  /* A7 */ {
    team: 'unit2', legalStatus: 'early_help', tool: 'a', auditor: 'qaOfficer', status: 'moderated', allocatedOn: '2026-10-08', dueOn: '2026-10-22',
    transitions: [], submittedAt: '2026-10-21', moderatedAt: '2026-10-22', auditorGrade: 'inadequate', finalGrade: 'inadequate', reAuditOf: 5,
  },
  // A8, on the second tool, regraded Outstanding → Good; allocated to North Unit 1 (Area Social Work), the
  // child has since moved to the Through Care Team. Auditor's stage 12 → 23 Oct (W = 9); moderation 23 → 30 Oct (W = 5).
  /* A8 */ {
    team: 'unit1', childTeamNow: 'careTeam', legalStatus: 'child_in_care', tool: 'b', auditor: 'manager1', status: 'moderated', allocatedOn: '2026-10-12', dueOn: '2026-10-26',
    transitions: [['submit', '2026-10-23'], ['moderate', '2026-10-30']],
    submittedAt: '2026-10-23', moderatedAt: '2026-10-30', auditorGrade: 'outstanding', finalGrade: 'good',
  },
  // A9, in progress: no stage has ended.
  /* A9 */ {
    team: 'unit1', legalStatus: 'cin', tool: 'a', auditor: 'manager1', status: 'in_progress', allocatedOn: '2026-11-02', dueOn: '2026-11-16',
    transitions: [], submittedAt: null, moderatedAt: null, auditorGrade: null, finalGrade: null,
  },
];

/**
 * The tools' graded sections: the case file audit's "assessment" section declares its domain, its
 * "oversight" section none; the fostering audit declares no domains at all and grades on
 * Telford's 1–5 scale (which maps 1–4 to Ofsted's grades, 5 is N/A).
 */
const scale = (id: string) => STANDARD_SCALES.find((candidate) => candidate.id === id)!;
const DEFINITIONS = {
  a: {
    header: [],
    scales: [scale('ofsted')],
    sections: [
      { key: 'assessment', title: 'Assessment', domain: 'assessment', answers: [{ key: 'assessment_grade', kind: 'judgement', label: 'Grade', scale: 'ofsted' }] },
      { key: 'oversight', title: 'Oversight', answers: [{ key: 'oversight_grade', kind: 'judgement', label: 'Grade', scale: 'ofsted' }] },
      {
        key: 'family',
        title: 'Service user feedback',
        kind: 'serviceUserFeedback',
        answers: [],
        feedback: {
          respondents: [
            { key: 'parent_1', label: 'Parent/carer 1', type: 'parent_carer' },
            { key: 'young_person', label: 'Young person', type: 'child' },
          ],
          questions: [
            { key: 'going_well', kind: 'text', label: 'What is going well?' },
            { key: 'scaling', kind: 'scaling', label: 'Scaling', min: 0, max: 10 },
          ],
          notObtained: { label: 'Feedback was not provided due to:', options: [{ value: 'unable_to_reach', label: 'Attempt made but unable to reach' }] },
        },
      },
    ],
  },
  b: {
    header: [],
    scales: [scale('telford_quality')],
    sections: [{ key: 'quality', title: 'Quality', answers: [{ key: 'quality_grade', kind: 'judgement', label: 'Measure', scale: 'telford_quality' }] }],
  },
};
/** Section judgements as [audit (index in PLAN), section, auditor's grade, moderator's grade]. */
const JUDGEMENTS: [number, string, string, string][] = [
  [0, 'assessment', 'good', 'good'],
  [0, 'oversight', 'good', 'requires_improvement'],
  [0, 'overall', 'good', 'good'],
  [1, 'assessment', 'good', 'requires_improvement'],
  [2, 'assessment', 'inadequate', 'inadequate'],
  [7, 'quality', '1', '2'],
];

/** The family's feedback as the form stores it, on audits by index in PLAN (A4 was submitted last quarter). */
const FEEDBACK: [number, Record<string, unknown>][] = [
  [0, { parent_1: { obtained: 'yes', answers: { going_well: 'Listened to', scaling: 7 } }, young_person: { obtained: 'no', notObtainedReason: 'unable_to_reach', answers: {} } }],
  [1, { parent_1: { obtained: 'yes', answers: { scaling: 9 } }, young_person: { obtained: 'no', notObtainedOther: 'Did not want to talk', answers: {} } }],
  [2, { parent_1: { obtained: 'no', answers: {} } }],
  [3, { parent_1: { obtained: 'yes', answers: { scaling: 2 } } }],
];

const TODAY = new Date('2026-11-15T12:00:00Z');
const at = (day: string) => `${day}T10:00:00Z`;
const STATUS_AFTER: Record<string, [AuditStatus, AuditStatus]> = {
  submit: ['in_progress', 'in_moderation'],
  return: ['in_moderation', 'returned'],
  resubmit: ['returned', 'in_moderation'],
  moderate: ['in_moderation', 'moderated'],
  distribute: ['moderated', 'distributed'],
  requestFeedback: ['distributed', 'awaiting_feedback'],
  close: ['awaiting_feedback', 'closed'],
};

/** The cells of the row whose header starts with `rowHeader`, in the table with that caption, as the eye reads them. */
function row(html: string, caption: string, rowHeader: string): string[] {
  const table = new RegExp(`<caption[^>]*>\\s*${caption}[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  const body = [...table.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((match) => match[1]!).find((found) => pageText(/<th[^>]*>([\s\S]*?)<\/th>/.exec(found)?.[1] ?? '').startsWith(rowHeader));
  return [...(body ?? '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((match) => pageText(match[1]!.replace(/<span class="govuk-visually-hidden">[\s\S]*?<\/span>/g, '')).trim());
}

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones, and none of nothing', () => {
    expect(median([13, 8, 9, 10, 9, 9])).toBe(9);
    expect(median([1, 1, 5, 5, 8, 11])).toBe(5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([])).toBeNull();
  });
});

describe.each(testDrivers())('report sections on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let lead: TestClient;

  beforeAll(async () => {
    t = await createTestApp(driver, {}, fixedClock(TODAY));
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    // Each tool's edition carries its definition (a published edition never changes, so it is made with it).
    const withDefinition = async (tool: { toolId: string }, key: 'a' | 'b') => {
      const edition = await t.db
        .insertInto('audit_tool_editions')
        .values({ organisation_id: org, tool_id: tool.toolId, edition: '2026.2', definition: JSON.stringify(DEFINITIONS[key]), source: 'test' })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { editionId: edition.id };
    };
    const tools = {
      a: await withDefinition(await createAuditTool(t.db, org), 'a'),
      b: await withDefinition(await createAuditTool(t.db, org, { key: 'fostering', name: 'Fostering audit' }), 'b'),
    };
    const ids: string[] = [];
    for (const [i, plan] of PLAN.entries()) {
      const team = council.teams[plan.team];
      const reAuditOf = plan.reAuditOf === undefined ? null : ids[plan.reAuditOf]!;
      const child = reAuditOf
        ? (await t.db.selectFrom('audits').select('child_id as id').where('id', '=', reAuditOf).executeTakeFirstOrThrow())
        : await createChild(t.db, org, { externalId: `SEC-${i + 1}`, initials: 'CD', teamId: council.teams[plan.childTeamNow ?? plan.team].id });
      await t.db.updateTable('children').set({ legal_status: plan.legalStatus }).where('id', '=', child.id).execute();
      const audit = await createAudit(t.db, {
        organisationId: org,
        childId: child.id,
        toolEditionId: tools[plan.tool].editionId,
        auditorId: council.staff[plan.auditor].id,
        moderatorId: plan.moderatedAt ? council.staff.serviceManager.id : null,
        teamId: team.id,
        serviceId: team.service_id,
        status: plan.status,
        allocatedOn: plan.allocatedOn,
        due: plan.dueOn,
        submittedAt: plan.submittedAt && at(plan.submittedAt),
        moderatedAt: plan.moderatedAt && at(plan.moderatedAt),
        auditorGrade: plan.auditorGrade,
        finalGrade: plan.finalGrade,
      });
      ids.push(audit.id);
      await t.db.updateTable('audits').set({ closed_at: plan.closedAt ? at(plan.closedAt) : null, re_audit_of: reAuditOf }).where('id', '=', audit.id).execute();
      for (const [name, day] of plan.transitions) {
        const [from, to] = STATUS_AFTER[name]!;
        await t.db.insertInto('audit_transitions').values({ organisation_id: org, audit_id: audit.id, from_status: from, to_status: to, transition: name, actor_user_id: null, actor_label: 'Test', reason: null, at: at(day) }).execute();
      }
      if (plan.direction) {
        await t.db
          .insertInto('case_directions')
          .values({
            organisation_id: org,
            audit_id: audit.id,
            child_id: child.id,
            direction: 'Convene a strategy meeting',
            directed_by_label: 'Sam Service',
            directed_on: plan.direction.on,
            review_due_on: plan.direction.reviewDue,
            reviewed_at: plan.direction.reviewedAt ? at(plan.direction.reviewedAt) : null,
          })
          .execute();
      }
    }
    for (const [audit, section, auditorGrade, finalGrade] of JUDGEMENTS) {
      for (const [stage, grade] of [['auditor', auditorGrade], ['moderator', finalGrade]] as const) {
        await t.db.insertInto('audit_judgements').values({ audit_id: ids[audit]!, organisation_id: org, section_key: section, stage, grade, reason: null }).execute();
      }
    }
    for (const [audit, respondents] of FEEDBACK) {
      await t.db.updateTable('audits').set({ answers: JSON.stringify({ family: { respondents } }) }).where('id', '=', ids[audit]!).execute();
    }
    lead = new TestClient(t.app);
    await lead.signIn(council.users.qa_lead.email, PASSWORD);
  }, 240_000);
  afterAll(async () => t?.close());

  it('shows each stage’s completion within its timescale as counted by hand', async () => {
    const html = (await lead.get('/reports')).body;
    const caption = 'Stages ended in the period, within their timescale or late';
    // Columns: timescale, ended, on time, late, % on time, median working days.
    expect(row(html, caption, 'Auditor’s stage')).toEqual(['By the due date set at allocation', '6', '5', '1', '83.3% Small numbers', '9']);
    expect(row(html, caption, 'Moderation')).toEqual(['10 working days', '6', '5', '1', '83.3% Small numbers', '5']);
    expect(row(html, caption, 'Distribution')).toEqual(['5 working days', '1', '0', '1', '0% Small numbers', '10']);
    expect(row(html, caption, 'Practitioner feedback')).toEqual(['10 working days', '1', '1', '0', '100% Small numbers', '5']);
  });

  it('shows grades by legal status, by tool and by the service at allocation, as counted by hand', async () => {
    const html = (await lead.get('/reports')).body;
    // Columns: Outstanding, Good, Requires improvement, Inadequate, All graded, Good or better.
    const cells = (caption: string, header: string) => row(html, caption, header).map((text) => text.replace(/ Small numbers$/, ''));
    expect(cells('Final grades by legal status', 'Child in Need')).toEqual(['0', '1', '1', '0', '2', '50%']);
    expect(cells('Final grades by legal status', 'Child Protection')).toEqual(['0', '0', '1', '1', '2', '0%']);
    expect(cells('Final grades by legal status', 'Early Help')).toEqual(['0', '0', '0', '1', '1', '0%']);
    expect(cells('Final grades by audit tool', 'Case file audit')).toEqual(['0', '1', '2', '2', '5', '20%']);
    expect(cells('Final grades by audit tool', 'Fostering audit')).toEqual(['0', '1', '0', '0', '1', '100%']);
    // A8's child is in the Through Care Team now; the audit counts for North Unit 1, where it was allocated.
    expect(cells('Final grades by service', 'Area Social Work')[4]).toBe('5');
    expect(cells('Final grades by service', 'Through Care')[4]).toBe('1');
    expect(cells('Final grades by team', 'North Unit 1')[4]).toBe('3');
    // Both regraded audits (A2 and A8) were lowered.
    expect(pageText(html)).toContain('raised it on 0 and lowered it on 2');
  });

  it('shows Inadequate audits, case directions and re-audit outcomes as counted by hand', async () => {
    const html = (await lead.get('/reports')).body;
    const caption = 'Inadequate audits and case directions';
    expect(row(html, caption, 'Graded Inadequate by the auditor')).toEqual(['2']);
    expect(row(html, caption, 'Inadequate after moderation')).toEqual(['2']);
    expect(row(html, caption, 'Case direction given')).toEqual(['1']);
    expect(row(html, caption, 'Case direction reviewed')).toEqual(['1']);
    expect(row(html, caption, 'Case direction review overdue')).toEqual(['1']);
    const reAudits = 'Re-audits moderated in the period, against the first audit’s final grade';
    expect(['Improved', 'Same grade', 'Worse', 'All re-audits'].map((header) => row(html, reAudits, header)[0])).toEqual(['1', '1', '0', '2']);
  });

  it('narrows every section by locality, legal status and auditor', async () => {
    const graded = async (query: string) => row((await lead.get(`/reports?${query}`)).body, 'Final grades of audits graded in each period', 'This period')[4];
    // North: the teams of Area Social Work (A1, A2, A5, A7, A8); the Through Care Team has no locality.
    expect(await graded(`locality=${council.localities.north.id}`)).toBe('5');
    expect(await graded('legalStatus=cp')).toBe('2');
    expect(await graded(`auditor=${council.staff.manager1.id}`)).toBe('3');
    const narrowed = (await lead.get(`/reports?auditor=${council.staff.manager1.id}`)).body;
    // Tina Manager's stages: A1, A5 and A8 submitted on time.
    expect(row(narrowed, 'Stages ended in the period, within their timescale or late', 'Auditor’s stage').slice(1, 3)).toEqual(['3', '3']);
    const refused = await lead.get('/reports?legalStatus=orphan');
    expect(refused.statusCode).toBe(400);
    expect(pageText(refused.body)).toContain('Choose a legal status from the list');
  });

  it('shows section judgements by practice domain, on the Ofsted scale and on their own, with moderation by domain', async () => {
    const html = (await lead.get('/reports')).body;
    const ofsted = 'Section judgements by practice domain, on the Ofsted scale';
    // Columns: Outstanding, Good, Requires improvement, Inadequate, All judgements, Good or better.
    expect(row(html, ofsted, 'Assessment')).toEqual(['0', '1', '1', '1', '3', '33.3% Small numbers']);
    // Not mapped: the oversight section (A1, Requires improvement) and the fostering tool's Telford 2 (Good).
    expect(row(html, ofsted, 'Not mapped')).toEqual(['0', '1', '1', '0', '2', '50% Small numbers']);
    const own = 'Section judgements on the Quality of case file measure scale, by practice domain';
    // Columns: Exceeds good, Good, Requires improvement, Inadequate, N/A, All judgements.
    expect(row(html, own, 'Not mapped')).toEqual(['0', '1', '0', '0', '0', '1']);
    expect(html).not.toContain('Section judgements on the Ofsted judgement scale');
    const moderation = 'Moderation of section judgements, by practice domain';
    // Columns: judgements, kept, raised, lowered.
    expect(row(html, moderation, 'Assessment').slice(0, 4)).toEqual(['3', '2', '0', '1']);
    expect(row(html, moderation, 'Not mapped').slice(0, 4)).toEqual(['2', '0', '0', '2']);
  });

  it('shows family feedback by respondent, why it was not obtained and the scaling answers, as counted by hand', async () => {
    const html = (await lead.get('/reports')).body;
    const byRespondent = 'Family feedback by respondent';
    // Columns: asked, obtained, not obtained, % obtained, median score.
    expect(row(html, byRespondent, 'Parents and carers')).toEqual(['3', '2', '1', '66.7% Small numbers', '8']);
    expect(row(html, byRespondent, 'Children and young people')).toEqual(['2', '0', '2', '0% Small numbers', '—']);
    expect(row(html, byRespondent, 'All respondents')).toEqual(['5', '2', '3', '40% Small numbers', '8']);
    const reasons = 'Why feedback was not obtained';
    // Columns: parents and carers, children and young people, all.
    expect(row(html, reasons, 'Attempt made but unable to reach')).toEqual(['0', '1', '1']);
    expect(row(html, reasons, 'Another reason')).toEqual(['0', '1', '1']);
    expect(row(html, reasons, 'No reason given')).toEqual(['1', '0', '1']);
    const scores = row(html, 'Scaling answers, 0 to 10, by respondent', 'All respondents');
    expect(scores.map((n, score) => (n === '0' ? '' : `${score}:${n}`)).filter(Boolean)).toEqual(['7:1', '9:1']);
  });

  it('gives the family feedback in the BI data feed, row for row what the report counts, within the reader’s scope', async () => {
    // Allocated July to December: A1–A9. Their family feedback: A1, A2, A3 (submitted in Q3) and A4 (submitted in September).
    const feed = await lead.get('/reports/feed/family_feedback.csv?period=range&from=2026-07-01&to=2026-12-31');
    expect(feed.statusCode).toBe(200);
    const [header, ...lines] = feed.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    const columns = header!.split(',');
    expect(columns).toEqual(['audit_id', 'audit_reference', 'submitted_on', 'tool_key', 'section_key', 'respondent_key', 'respondent_type', 'feedback_obtained', 'not_obtained_reason', 'not_obtained_reason_label', 'scaling_question_key', 'scaling_score']);
    const rows = lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i]!, value])));
    expect(rows).toHaveLength(6);
    // What the report's Family feedback section counts for Q3: the rows of audits submitted in it.
    const q3 = rows.filter((found) => found.submitted_on! >= '2026-10-01' && found.submitted_on! <= '2026-12-31');
    const count = (type: string | null, test: (found: Record<string, string>) => boolean) => q3.filter((found) => (!type || found.respondent_type === type) && test(found)).length;
    expect([count('parent_carer', () => true), count('parent_carer', (f) => f.feedback_obtained === 'yes'), count('child', () => true), count('child', (f) => f.feedback_obtained === 'no')]).toEqual([3, 2, 2, 2]);
    expect(q3.filter((found) => found.feedback_obtained === 'no').map((found) => `${found.respondent_type}:${found.not_obtained_reason}:${found.not_obtained_reason_label}`).sort()).toEqual([
      'child:other:Another reason (written in)',
      'child:unable_to_reach:Attempt made but unable to reach',
      'parent_carer:not_given:No reason given',
    ]);
    expect(q3.filter((found) => found.scaling_score !== '').map((found) => `${found.scaling_question_key}:${found.scaling_score}`).sort()).toEqual(['scaling:7', 'scaling:9']);
    // The same figures as the page's table.
    const html = (await lead.get('/reports')).body;
    expect(row(html, 'Family feedback by respondent', 'All respondents').slice(0, 3)).toEqual([String(q3.length), String(count(null, (f) => f.feedback_obtained === 'yes')), String(count(null, (f) => f.feedback_obtained === 'no'))]);
    // A4, submitted last quarter, scored 2; the written-in reason's words are not in the feed.
    expect(rows.find((found) => found.scaling_score === '2')?.submitted_on).toBe('2026-09-01');
    expect(feed.body).not.toContain('Did not want to talk');

    // On the API with a token, in the reader's report scope: the service manager of Area Social Work
    // moderated A3 (Through Care) but their feed holds their service's audits alone.
    const token = await createApiToken(t.db, { userId: council.users.moderator.id, organisationId: council.organisation.id, name: 'BI' });
    const api = await t.app.inject({ url: '/api/v1/feed/family_feedback?period=range&from=2026-07-01&to=2026-12-31', headers: { authorization: `Bearer ${token}` } });
    expect(api.statusCode).toBe(200);
    const theirs = api.body.replace(/^\uFEFF/, '').trim().split('\r\n').slice(1);
    expect(theirs).toHaveLength(5);
    const a3 = (await t.db.selectFrom('audits').select('id').where('reference', '=', Number(rows.find((found) => found.respondent_type === 'parent_carer' && found.submitted_on === '2026-10-19')!.audit_reference)).executeTakeFirstOrThrow()).id;
    expect(theirs.some((line) => line.startsWith(a3))).toBe(false);
    const logged = await t.db.selectFrom('activity_log').select('summary').where('action', '=', 'export').where('record_type', '=', 'report_feed').execute();
    expect(logged.map((entry) => entry.summary.split(';')[0]).sort()).toEqual(['API: family_feedback', 'CSV: family_feedback']);
    const description = (await t.app.inject({ url: '/api/v1/openapi.json' })).json().paths['/feed/{dataset}'].get.description as string;
    for (const column of ['**family_feedback**', '`respondent_type`', '`not_obtained_reason`', '`scaling_score`']) expect(description).toContain(column);
  });

  it('drills down from a domain’s judgements and from family feedback to the audits that have them', async () => {
    const html = (await lead.get('/reports')).body;
    const links = [...html.matchAll(/<a class="govuk-link" href="(\/audits\?[^"]+)" data-audits="(\d+)">([\d,]+)</g)].map((match) => ({ href: match[1]!.replaceAll('&amp;', '&'), audits: Number(match[2]) }));
    // Six domain counts; family feedback's non-zero counts.
    expect(links.filter((link) => link.href.includes('domain=')).length).toBe(6);
    expect(links.filter((link) => link.href.includes('feedback=')).length).toBeGreaterThan(10);
    for (const link of links) {
      const shown = /Showing [\d,]+ to [\d,]+ of ([\d,]+)/.exec(pageText((await lead.get(link.href)).body))?.[1];
      expect({ href: link.href, audits: Number(shown) }).toEqual(link);
    }
    // Telford's 2 on its own scale and as Good on Ofsted's: the same audit (A8).
    const own = links.find((link) => link.href.includes('domainGrade=telford_quality%3A2'));
    expect(own?.audits).toBe(1);
  }, 120_000);

  it('drills down: every figure links to the tracker, which lists exactly that many audits', async () => {
    for (const query of ['', `?locality=${council.localities.north.id}`]) {
      const html = (await lead.get(`/reports${query}`)).body;
      const links = [...html.matchAll(/<a class="govuk-link" href="(\/audits\?[^"]+)">([\d,]+)</g)].map((match) => ({ href: match[1]!.replaceAll('&amp;', '&'), n: Number(match[2]!.replace(',', '')) }));
      // Unfiltered, every new kind of figure has a link (in North there is no case direction given).
      for (const key of query ? [] : ['stage=', 'stageOnTime=yes', 'stageOnTime=no', 'legalStatus=', 'reAuditOutcome=improved', 'reAuditOutcome=same', 'directedFrom=', 'directionReviewedFrom=', 'directionReviewOverdue=yes']) {
        expect(links.some((link) => link.href.includes(key)), key).toBe(true);
      }
      for (const link of links) {
        const tracker = await lead.get(link.href);
        expect(tracker.statusCode, link.href).toBe(200);
        const shown = /Showing [\d,]+ to [\d,]+ of ([\d,]+)/.exec(pageText(tracker.body))?.[1];
        expect({ href: link.href, n: Number(shown?.replace(',', '')) }).toEqual(link);
      }
    }
  }, 240_000);

  it('gives the exports each new section’s table, with the same figures and links as the page', async () => {
    const principal = (await loadPrincipal(t.db, council.users.qa_lead.id))!;
    const tables = sectionTables(await buildReport(t.db, principal, {}, '2026-11-15'));
    const table = (id: string) => tables.find((candidate) => candidate.id === id)!;
    expect(tables.map((candidate) => candidate.id)).toEqual([
      'stage-timeliness',
      'grades-by-legal-status',
      'grades-by-tool',
      'domains-ofsted',
      'domains-scale-telford_quality',
      'domains-moderation',
      'inadequate',
      're-audits',
      'feedback-respondents',
      'feedback-not-obtained',
      'feedback-scaling',
    ]);
    const moderation = table('stage-timeliness').rows.find((cells) => cells[0]!.text === 'Moderation')!;
    expect(moderation.map((cell) => cell.text)).toEqual(['Moderation', '10 working days', '6', '5', '1', '83.3%', '5']);
    expect(moderation[3]!.href).toContain('stage=moderation');
    expect(table('re-audits').rows.map((cells) => cells[1]!.text)).toEqual(['1', '1', '0', '2']);
    for (const found of tables) for (const cells of found.rows) expect(cells.length).toBe(found.columns.length);
  });

  it('shows an empty period as zeros and says so', async () => {
    const html = (await lead.get('/reports?period=q:2020-1')).body;
    expect(pageText(html)).toContain('No stage of any audit ended in this period');
    expect(pageText(html)).toContain('No audit was graded Inadequate, and no case direction or re-audit recorded, in this period');
    expect(row(html, 'Stages ended in the period, within their timescale or late', 'Moderation')).toEqual(['10 working days', '0', '0', '0', '—', '—']);
  });
});
