import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { AuditStatus, Grade } from '../db/types.ts';
import { jsonValue } from '../db/values.ts';
import { createActionsFromAudit } from '../modules/actions/service.ts';
import { DETAILS_PAGE } from '../modules/audits/form/answers.ts';
import { formPages, type AuditForm } from '../modules/audits/form/form.ts';
import { quartersEnding } from '../modules/reports/period.ts';
import { themeBoxes } from '../modules/reports/themes.ts';
import { sectionApplies } from '../modules/tools/judgements.ts';
import type { AuditTool } from '../modules/tools/schema.ts';
import { addDays, type IsoDate } from '../platform/working-days.ts';
import { demoAnswerWriter, pageAnswers, type DemoGrading } from './answers.ts';

/**
 * Two years of the demo council's past audit work, so that the reports read as a real council's:
 * the eight financial quarters before this one (and this one up to four weeks ago), each with a
 * few dozen audits allocated, completed, moderated (some regraded, mostly down: auditors are
 * generous), distributed and closed, with actions done and verified, re-audits of those found
 * Inadequate, and strengths and areas for improvement whose themes rise and fall: the chronology
 * improves after a push, fathers are missed more and more, supervision dips and recovers, the
 * voice of the child grows, and in the last two quarters a new concern (the graded care profile
 * for neglect) appears for the report to propose as a theme.
 *
 * Closed long ago, this work is written as it stands today, in one pass (the answers by the
 * demo's own answer writer, the rest as the services would have left it), not replayed through
 * the services: that would send hundreds of e-mails and take minutes. Its dates come from the
 * clock, and its choices from a fixed seed, so the demo is the same each time relative to today.
 * The demo's own people are left out of it, so their pages show the work in hand.
 */

/** A fixed-seed pseudo-random generator (mulberry32): the same demo every time. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

type Theme = { strengths?: readonly string[]; areas?: readonly string[]; weight: (quarter: number) => number };

/** What is written, by theme, and how often the theme comes up in the n-th of the eight quarters (0 the oldest). */
const THEMES: readonly Theme[] = [
  {
    areas: ['The chronology is out of date: nothing recorded since the last review.', 'The chronology has not been updated since the child protection conference.', 'There is no chronology on the file.'],
    weight: (q) => 0.65 - q * 0.07,
  },
  {
    areas: ["The father's views are not recorded, although he has regular contact.", 'The father was not invited to the core group and has not been seen.', 'The father is not engaged in the plan and no attempt to involve him is recorded.'],
    weight: (q) => 0.1 + q * 0.05,
  },
  {
    areas: ['Supervision is not recorded for the last three months.', 'There is no management oversight of the decision to step down.'],
    weight: (q) => [0.15, 0.2, 0.35, 0.45, 0.4, 0.25, 0.15, 0.1, 0.1][q] ?? 0.2,
  },
  {
    areas: ["The child's plan is not SMART: actions have no owners or dates.", "The plan does not say who does what by when, and there is no contingency plan."],
    weight: () => 0.3,
  },
  {
    areas: ['There has been drift and delay: the plan has not been reviewed since the conference.', 'Statutory visits were late twice and the reasons are not recorded.'],
    weight: (q) => 0.4 - q * 0.035,
  },
  {
    areas: ['The graded care profile was not used, although neglect is the main concern.', 'Neglect is not assessed with the graded care profile, and home conditions are not described.'],
    weight: (q) => (q >= 8 ? 0.45 : q === 7 ? 0.08 : 0),
  },
  {
    strengths: ["The child is seen alone and their wishes and feelings are recorded in their own words.", 'Direct work with the child is creative, and the voice of the child runs through the assessment.'],
    weight: (q) => 0.25 + q * 0.06,
  },
  {
    strengths: ['Multi-agency working is strong: school and health contribute to every review.', 'Partner agencies share information promptly and attend the core group.'],
    weight: () => 0.45,
  },
  {
    strengths: ['Good use of the family network: the grandparents are part of the safety plan.', 'A family network meeting agreed a safety plan the family understand.'],
    weight: (q) => 0.2 + q * 0.04,
  },
  {
    strengths: ["The assessment considers the child's identity, culture and religion.", 'Diversity is well considered: the plan reflects the family’s culture.'],
    weight: () => 0.15,
  },
  {
    strengths: ['Management oversight is clear and decisions are recorded after each supervision.'],
    weight: (q) => [0.4, 0.35, 0.2, 0.15, 0.2, 0.3, 0.4, 0.45, 0.45][q] ?? 0.3,
  },
];
const PLAIN_STRENGTH = 'The social worker knows the family well and visits are purposeful.';
const PLAIN_AREA = 'The case summary could be clearer about what has changed for the child.';

/** Audits a quarter: a busier council as the framework beds in. */
const PER_QUARTER = [22, 24, 26, 25, 28, 30, 29, 31, 30];

/** The share of audits the auditor grades Good (else Requires improvement, a few Inadequate), rising over the two years. */
const goodShare = (q: number) => 0.5 + q * 0.035;

const TEXT = {
  moderated: 'Moderated: the grades are supported by the evidence on the record.',
  regradedDown: 'The evidence does not support the grade: the plan has actions without owners and the chronology is out of date.',
  regradedUp: 'The impact for the child is well evidenced and the practice is consistently strong: outstanding.',
  closed: 'Closed: learning shared with the team and the actions checked in supervision.',
  done: "Done by the date agreed: recorded on the child's file.",
  verified: "Checked on the child's record: done as agreed.",
};

const GRADE_STEPS: readonly Grade[] = ['outstanding', 'good', 'requires_improvement', 'inadequate'];
const step = (grade: Grade, by: number) => GRADE_STEPS[Math.min(3, Math.max(0, GRADE_STEPS.indexOf(grade) + by))]!;

/** Who the timeline says moved past audits on: the QA team's records, not a person signed in. */
export const HISTORY_ACTOR = 'Avonford QA team records';

type Edition = { id: string; tool: AuditTool };
type Staff = { id: string; teamId: string | null; serviceId: string };

export async function seedDemoHistory(trx: Db, organisationId: string, today: IsoDate, excludedStaff: readonly string[]): Promise<number> {
  const random = seeded(20_26);
  const editions = await serviceEditions(trx, organisationId);
  const children = await trx
    .selectFrom('children')
    .innerJoin('teams', 'teams.id', 'children.allocated_team_id')
    .select(['children.id', 'children.allocated_worker_id', 'children.allocated_team_id', 'teams.service_id', 'children.legal_status', 'children.referral_factors'])
    .where('children.organisation_id', '=', organisationId)
    .orderBy('children.external_id', 'desc')
    .execute();
  const staff = await trx
    .selectFrom('staff')
    .innerJoin('teams', 'teams.id', 'staff.team_id')
    .select(['staff.id', 'staff.team_id as teamId', 'teams.service_id as serviceId', 'staff.job_title'])
    .where('staff.organisation_id', '=', organisationId)
    .where('staff.leaving_date', 'is', null)
    .execute();
  const available = (titles: string[]) => staff.filter((member) => titles.includes(member.job_title) && !excludedStaff.includes(member.id));
  const auditors = available(['Team Manager', 'QA Officer', 'Practice Lead', 'Senior Practitioner']);
  const moderators = available(['Service Manager', 'QA Service Manager', 'Head of Service']);
  const coordinator = await trx.selectFrom('users').select('id').where('organisation_id', '=', organisationId).where('email', '=', 'qa.coordinator@avonford.example').executeTakeFirst();
  if (!auditors.length || !moderators.length || !children.length) return 0;

  const quarters = quartersEnding(today, 9);
  // Closed by today: moderated at least 26 days ago (closing takes up to 25).
  const lastDay = addDays(today, -26);
  let made = 0;
  let childTurn = 0;
  for (const [q, quarter] of quarters.entries()) {
    const index = q;
    const count = PER_QUARTER[q]!;
    for (let n = 0; n < count; n += 1) {
      const moderatedOn = addDays(quarter.from, Math.floor(random() * 88));
      if (moderatedOn > lastDay || moderatedOn > quarter.to) continue;
      const child = children[childTurn++ % children.length]!;
      const edition = editions.get(child.service_id) ?? editions.get(null);
      if (!edition || !child.allocated_worker_id) continue;
      const auditor = pick(random, auditors.filter((member) => member.serviceId === child.service_id)) ?? pick(random, auditors)!;
      const moderator = pick(random, moderators.filter((member) => member.serviceId === child.service_id && member.id !== auditor.id)) ?? pick(random, moderators.filter((member) => member.id !== auditor.id))!;
      const roll = random();
      const grading: DemoGrading = roll < goodShare(index) ? 'good' : roll < 0.93 ? 'requires_improvement' : 'inadequate';
      const audit = { child, edition, auditor, moderator, grading, moderatedOn, quarter: index, coordinatorId: coordinator?.id ?? null };
      const first = await writePastAudit(trx, organisationId, audit, random, null);
      made += 1;
      // An Inadequate audit is audited again some weeks later: mostly better, sometimes not.
      if (first.finalGrade === 'inadequate') {
        const reModeratedOn = addDays(moderatedOn, 42);
        if (reModeratedOn <= lastDay) {
          const again: DemoGrading = random() < 0.7 ? 'requires_improvement' : 'inadequate';
          await writePastAudit(trx, organisationId, { ...audit, grading: again, moderatedOn: reModeratedOn, auditor: pick(random, auditors.filter((member) => member.id !== auditor.id)) ?? auditor }, random, first.id);
          made += 1;
        }
      }
    }
  }
  return made;
}

function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items.length ? items[Math.floor(random() * items.length)] : undefined;
}

/** The latest edition of each service's default tool (null: Bristol's 2019 form, for a service without one). */
async function serviceEditions(trx: Db, organisationId: string): Promise<Map<string | null, Edition>> {
  const rows = await trx
    .selectFrom('audit_tool_editions as editions')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .leftJoin('service_default_tools as defaults', 'defaults.tool_id', 'tools.id')
    .select(['editions.id', 'editions.definition', 'editions.edition', 'tools.key', 'defaults.service_id'])
    .where('editions.organisation_id', '=', organisationId)
    .orderBy('editions.edition')
    .execute();
  const editions = new Map<string | null, Edition>();
  for (const row of rows) {
    const tool = jsonValue<AuditTool>(row.definition);
    if (row.service_id) editions.set(row.service_id, { id: row.id, tool });
    if (row.key === 'bristol-child-case-audit') editions.set(null, { id: row.id, tool });
  }
  return editions;
}

type PastAudit = {
  child: { id: string; allocated_worker_id: string | null; allocated_team_id: string | null; service_id: string; legal_status: string | null; referral_factors: unknown };
  edition: Edition;
  auditor: Staff;
  moderator: Staff;
  grading: DemoGrading;
  moderatedOn: IsoDate;
  quarter: number;
  coordinatorId: string | null;
};

/** One past audit, closed, with its answers, grades, timeline, judgements and actions. */
async function writePastAudit(trx: Db, organisationId: string, past: PastAudit, random: () => number, reAuditOf: string | null): Promise<{ id: string; finalGrade: Grade }> {
  const { child, edition, auditor, moderator, grading, moderatedOn } = past;
  const allocatedOn = addDays(moderatedOn, -(18 + Math.floor(random() * 10)));
  const submittedOn = addDays(moderatedOn, -(3 + Math.floor(random() * 4)));
  const closedOn = addDays(moderatedOn, 10 + Math.floor(random() * 15));
  const answers = writeAnswers(edition.tool, child, grading, submittedOn, Math.floor(random() * 1000));
  themedText(edition.tool, answers, past.quarter, random);
  // Moderators change about one grade in five, mostly down; a Good is sometimes raised to Outstanding.
  const change = random();
  const finalGrade: Grade = change < 0.14 ? step(grading, 1) : change < 0.19 && grading === 'good' ? 'outstanding' : grading;
  const regraded = finalGrade !== grading;
  const at = (day: IsoDate, hour: number) => `${day}T${String(hour).padStart(2, '0')}:00:00Z`;
  const row = await trx
    .insertInto('audits')
    .values({
      organisation_id: organisationId,
      child_id: child.id,
      tool_edition_id: edition.id,
      auditor_id: auditor.id,
      case_holder_id: child.allocated_worker_id,
      moderator_id: moderator.id,
      team_id: child.allocated_team_id,
      service_id: child.service_id,
      status: 'closed',
      allocated_on: allocatedOn,
      due_on: addDays(allocatedOn, 14),
      submitted_at: at(submittedOn, 11),
      moderated_at: at(moderatedOn, 14),
      closed_at: at(closedOn, 10),
      auditor_grade: grading,
      final_grade: finalGrade,
      moderator_comments: TEXT.moderated,
      answers: JSON.stringify(answers),
      allocated_by: past.coordinatorId,
      re_audit_of: reAuditOf,
      completed_sections: JSON.stringify(formPages(edition.tool)),
      closing_comments: TEXT.closed,
      stage_started_on: null,
      stage_due_on: null,
      created_at: at(allocatedOn, 9),
      updated_at: at(closedOn, 10),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const steps: [AuditStatus | null, AuditStatus, string, string, string | null][] = [
    [null, 'allocated', 'allocate', at(allocatedOn, 9), null],
    ['allocated', 'in_progress', 'start', at(addDays(allocatedOn, 2), 10), null],
    ['in_progress', 'in_moderation', 'submit', at(submittedOn, 11), null],
    ['in_moderation', 'moderated', 'moderate', at(moderatedOn, 14), regraded ? (finalGrade === 'outstanding' ? TEXT.regradedUp : TEXT.regradedDown) : null],
    ['moderated', 'distributed', 'distribute', at(addDays(moderatedOn, 2), 9), null],
    ['distributed', 'awaiting_feedback', 'requestFeedback', at(addDays(moderatedOn, 2), 9), null],
    ['awaiting_feedback', 'closed', 'close', at(closedOn, 10), TEXT.closed],
  ];
  await trx
    .insertInto('audit_transitions')
    .values(steps.map(([from, to, transition, when, reason]) => ({ organisation_id: organisationId, audit_id: row.id, from_status: from, to_status: to, transition, actor_user_id: null, actor_label: HISTORY_ACTOR, reason, at: when })))
    .execute();
  const overall = edition.tool.overall?.answer;
  if (overall) {
    await trx
      .insertInto('audit_judgements')
      .values([
        { audit_id: row.id, organisation_id: organisationId, section_key: overall, stage: 'auditor', grade: grading, reason: null, created_at: at(submittedOn, 11) },
        { audit_id: row.id, organisation_id: organisationId, section_key: overall, stage: 'moderator', grade: finalGrade, reason: regraded ? TEXT.regradedDown : null, created_at: at(moderatedOn, 14) },
      ])
      .execute();
  }
  // Its actions, done and (most) verified in the weeks after closing.
  await createActionsFromAudit(trx as Parameters<typeof createActionsFromAudit>[0], row.id);
  const doneOn = addDays(closedOn, 14 + Math.floor(random() * 20));
  // The second action of about a third of audits is done and still waits for its check.
  const waiting = random() < 0.3;
  await sql`
    update actions set created_at = ${at(submittedOn, 11)}::timestamptz, due_on = ${addDays(closedOn, 28)}::date,
      status = case when row_index = 1 and ${waiting} then 'done' else 'verified' end,
      done_at = ${at(doneOn, 15)}::timestamptz, done_by = null, evidence = ${TEXT.done},
      verified_at = case when row_index = 1 and ${waiting} then null else ${at(addDays(doneOn, 5), 12)}::timestamptz end,
      verification_note = ${TEXT.verified}
    where audit_id = ${row.id}
  `.execute(trx);
  return { id: row.id, finalGrade };
}

/** The answers an auditor would give, page by page, by the demo's own answer writer. */
function writeAnswers(tool: AuditTool, child: PastAudit['child'], grading: DemoGrading, today: IsoDate, reference: number): Record<string, unknown> {
  const owner = child.allocated_worker_id!;
  const childFacts = { legalStatus: child.legal_status, ageInYears: 10, referralFactors: (child.referral_factors as string[] | null) ?? [], dateOfBirth: null, openDate: null, allocatedWorkerId: owner, teamName: null };
  const context = { tool, staff: new Map([[owner, 'Case holder']]), today };
  const form = { tool, child: childFacts, context, audit: { reference } } as unknown as AuditForm;
  const writer = demoAnswerWriter(form, { grading, ownerId: owner, actionsDueInDays: [28, 56] });
  let answers: Record<string, unknown> = {};
  for (const page of formPages(tool)) {
    if (page !== DETAILS_PAGE && !sectionApplies(tool, page, answers, childFacts)) continue;
    answers = { ...answers, ...pageAnswers(form, page, writer.page(page, answers, {})) };
  }
  return answers;
}

/** Strengths and areas for improvement with this quarter's themes, in the tool's first boxes of each. */
function themedText(tool: AuditTool, answers: Record<string, unknown>, quarter: number, random: () => number): void {
  const boxes = themeBoxes(tool);
  for (const field of ['strengths', 'areas'] as const) {
    const sentences: string[] = [];
    for (const theme of THEMES) {
      const texts = theme[field];
      if (texts && random() < theme.weight(quarter)) sentences.push(texts[Math.floor(random() * texts.length)]!);
    }
    const text = (sentences.length ? sentences : [field === 'strengths' ? PLAIN_STRENGTH : PLAIN_AREA]).join(' ');
    const [first, ...others] = boxes[field];
    if (first) answers[first] = text;
    // The other sections' boxes say something plain, so that the themes are this quarter's.
    for (const key of others) answers[key] = field === 'strengths' ? PLAIN_STRENGTH : PLAIN_AREA;
  }
}
