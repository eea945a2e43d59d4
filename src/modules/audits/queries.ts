import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { sql, type Expression, type QueryCreator, type RawBuilder, type SqlBool } from 'kysely';
import type { Db } from '../../db/index.ts';
import { onUkDays } from '../../db/values.ts';
import type { AuditStatus, Database, Grade, LegalStatus } from '../../db/types.ts';
import { unitsAlone, type DataScope } from '../../platform/access.ts';
import { type IsoDate } from '../../platform/working-days.ts';
import type { AppliesTo } from '../tools/schema.ts';
import type { FeedbackFact } from './feedback-answers.ts';

/**
 * "Due" is one date everywhere (tracker, My audits, the audit page, exports, the API): the
 * deadline of the stage the audit is in. With its auditor (allocated, in progress, returned)
 * that is the stage's due date, which allocation sets to the audit's due date and a return
 * restarts; in moderation, distribution and feedback, the deadline each stage was given when it
 * started; closed, none. The auditor's first deadline (`due_on`) is history once the audit has
 * moved on, and showing it as "due" read as a missed date that nobody was chasing.
 */
export const CURRENT_DUE = sql<string | null>`(case
  when audits.status in ('allocated', 'in_progress', 'returned') then coalesce(audits.stage_due_on, audits.due_on)
  when audits.status = 'closed' then null
  else audits.stage_due_on
end)`;

/**
 * Overdue is asked of the data, never stored: an audit is overdue when its due date (above) has
 * passed. `today` is the UK date by the app's clock, passed in: SQL's current_date is never asked.
 */
export function overdueOn(today: IsoDate) {
  return sql<boolean>`coalesce(${CURRENT_DUE} < ${today}::date, false)`;
}

/** The grade an audit stands at: the moderated (final) grade, else the auditor's. */
const EFFECTIVE_GRADE = sql<string | null>`coalesce(audits.final_grade, audits.auditor_grade)`;

/** Workflow order and grade order, so sorting follows meaning rather than the alphabet. */
const STATUS_RANK = sql<number>`case audits.status when 'allocated' then 1 when 'in_progress' then 2 when 'returned' then 3
  when 'in_moderation' then 4 when 'moderated' then 5 when 'distributed' then 6 when 'awaiting_feedback' then 7 when 'closed' then 8 end`;
const gradeRank = (column: Expression<unknown>) =>
  sql<number>`case ${column} when 'outstanding' then 1 when 'good' then 2 when 'requires_improvement' then 3 when 'inadequate' then 4 end`;

export const SORT_KEYS = [
  'reference',
  'child',
  'tool',
  'auditor',
  'caseHolder',
  'team',
  'service',
  'status',
  'allocated',
  'due',
  'submitted',
  'moderated',
  'auditorGrade',
  'finalGrade',
  'grade',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const SORT_EXPRESSIONS: Record<SortKey, Expression<unknown>> = {
  reference: sql`audits.reference`,
  child: sql`children.external_id`,
  tool: sql`tools.name || ' ' || editions.edition`,
  auditor: sql`auditors.full_name`,
  caseHolder: sql`case_holders.full_name`,
  team: sql`teams.name`,
  service: sql`services.name`,
  status: STATUS_RANK,
  allocated: sql`audits.allocated_on`,
  due: CURRENT_DUE,
  submitted: sql`audits.submitted_at`,
  moderated: sql`audits.moderated_at`,
  auditorGrade: gradeRank(sql`audits.auditor_grade`),
  finalGrade: gradeRank(sql`audits.final_grade`),
  grade: gradeRank(EFFECTIVE_GRADE),
};

/** What the tracker asks for: the parsed filters and the sort order. */
export type TrackerCriteria = {
  status: AuditStatus[];
  team?: string | undefined;
  service?: string | undefined;
  tool?: string | undefined;
  grade?: Grade | undefined;
  overdue: boolean;
  allocatedFrom?: string | undefined;
  allocatedTo?: string | undefined;
  /** The moderator's grade (final) or the auditor's alone, as opposed to `grade`, the one that stands. */
  finalGrade?: Grade | undefined;
  auditorGrade?: Grade | undefined;
  auditor?: string | undefined;
  moderator?: string | undefined;
  /** UK days on which the audit was submitted, moderated or closed: how reports drill down. */
  submittedFrom?: string | undefined;
  submittedTo?: string | undefined;
  moderatedFrom?: string | undefined;
  moderatedTo?: string | undefined;
  closedFrom?: string | undefined;
  closedTo?: string | undefined;
  /** Where the audit's team (else its service) is; the child's legal status (as the register has it now). */
  locality?: string | undefined;
  legalStatus?: LegalStatus | undefined;
  /** A stage of the lifecycle that ended on these UK days, and whether it ended within its timescale. */
  stage?: TimedStage | undefined;
  stageEndedFrom?: string | undefined;
  stageEndedTo?: string | undefined;
  stageOnTime?: 'yes' | 'no' | undefined;
  /** The timescales and bank holidays `stageOnTime` is judged by: the organisation's, loaded by the caller. */
  stageClock?: StageClock | undefined;
  /** Re-audits only ('yes'), and how the re-audit's final grade compares with the first audit's. */
  reAudit?: 'yes' | undefined;
  reAuditOutcome?: ReAuditOutcome | undefined;
  /** Audits with a case direction given on these days, reviewed on these days, or whose review is overdue. */
  directedFrom?: string | undefined;
  directedTo?: string | undefined;
  directionReviewedFrom?: string | undefined;
  directionReviewedTo?: string | undefined;
  directionReviewOverdue?: 'yes' | undefined;
  /** Audits with a final (moderated) judgement in this practice domain, at this grade if given. */
  domain?: string | undefined;
  domainGrade?: string | undefined;
  /** What `domain` and `domainGrade` mean in judgement rows, resolved from the tool editions by the caller. */
  domainJudgements?: { editionId: string; sectionKey: string; grades: string[] }[] | undefined;
  /** Audits with a family respondent's feedback showing this (feedback-answers.ts FeedbackFact), and where to look. */
  feedback?: string | undefined;
  feedbackFact?: FeedbackFact | undefined;
  feedbackPlaces?: { editionId: string; sectionKey: string; respondentKey: string; scalingKeys: string[] }[] | undefined;
  /** Only the audits of the person's own teams and services, not those they reach elsewhere (a report's scope: access.ts `unitsAlone`). */
  ownUnits?: 'yes' | undefined;
  sort: SortKey;
  order: 'asc' | 'desc';
};

/**
 * Audits within the person's reach. Organisation scope: every audit of the organisation.
 * Otherwise: their teams' and services' audits, those they hold the case for, audit or moderate,
 * those sent to them on distribution, those they were alerted to as Inadequate, and the first
 * audit of a re-audit they carry out.
 */
export function auditsInScope(db: QueryCreator<Database>, scope: DataScope) {
  return db
    .selectFrom('audits')
    .innerJoin('children', 'children.id', 'audits.child_id')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .innerJoin('staff as auditors', 'auditors.id', 'audits.auditor_id')
    .leftJoin('staff as case_holders', 'case_holders.id', 'audits.case_holder_id')
    .leftJoin('teams', 'teams.id', 'audits.team_id')
    .leftJoin('services', 'services.id', 'audits.service_id')
    .where(auditInScope(scope));
}

/**
 * The condition that an audit (the table `audits` in the query) is one the scope reaches: the
 * organisation's, and for a limited scope those of its teams or services, or the person's own
 * work. Raw SQL so it fits any query that has `audits` in it, the tracker's or a subquery's.
 */
export function auditInScope(scope: DataScope): Expression<SqlBool> {
  const inOrganisation = sql<SqlBool>`audits.organisation_id = ${scope.organisationId}`;
  if (scope.kind !== 'limited') return inOrganisation;
  const { teamIds, serviceIds, staffId } = scope;
  const reaches = [
    ...(teamIds.length ? [sql`audits.team_id in (${sql.join(teamIds)})`] : []),
    ...(serviceIds.length ? [sql`audits.service_id in (${sql.join(serviceIds)})`] : []),
    ...(staffId ? [sql`${staffId} in (audits.case_holder_id, audits.auditor_id, audits.moderator_id)`] : []),
    // Whoever a moderated audit was sent to may read it (see distribution/).
    ...(staffId ? [sql`exists (select 1 from audit_recipients where audit_recipients.audit_id = audits.id and audit_recipients.staff_id = ${staffId})`] : []),
    // Whoever was alerted to an Inadequate audit, and the auditor of its re-audit, may read it (see escalation/).
    ...(staffId ? [sql`exists (select 1 from audit_alerts where audit_alerts.audit_id = audits.id and audit_alerts.staff_id = ${staffId})`] : []),
    ...(staffId ? [sql`exists (select 1 from audits as re_audits where re_audits.re_audit_of = audits.id and re_audits.auditor_id = ${staffId})`] : []),
    sql`false`,
  ];
  return sql<SqlBool>`(${inOrganisation} and (${sql.join(reaches, sql` or `)}))`;
}

type ScopedAudits = ReturnType<typeof auditsInScope>;

/**
 * The same tables as auditsInScope, each joined as a left join: every join is on a non-null
 * foreign key, so each audit still finds exactly its one row, and PostgreSQL can leave out a
 * table that no filter or sort reads (it removes an unread left join on a unique key, never an
 * inner one). For finding and counting a page's audits, whose names are joined afterwards: the
 * columns' types are auditsInScope's, which holds because every one of these rows exists.
 */
function auditsToFilter(db: Db, scope: DataScope): ScopedAudits {
  return db
    .selectFrom('audits')
    .leftJoin('children', 'children.id', 'audits.child_id')
    .leftJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .leftJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .leftJoin('staff as auditors', 'auditors.id', 'audits.auditor_id')
    .leftJoin('staff as case_holders', 'case_holders.id', 'audits.case_holder_id')
    .leftJoin('teams', 'teams.id', 'audits.team_id')
    .leftJoin('services', 'services.id', 'audits.service_id')
    .where(auditInScope(scope)) as unknown as ScopedAudits;
}

function filteredAudits(db: Db, scope: DataScope, criteria: TrackerCriteria, today: IsoDate, from: (db: Db, scope: DataScope) => ScopedAudits = auditsInScope) {
  let query = from(db, scope);
  if (criteria.status.length) query = query.where('audits.status', 'in', criteria.status);
  if (criteria.team) query = query.where('audits.team_id', '=', criteria.team);
  if (criteria.service) query = query.where('audits.service_id', '=', criteria.service);
  if (criteria.tool) query = query.where('editions.tool_id', '=', criteria.tool);
  if (criteria.grade) query = query.where(sql<SqlBool>`${EFFECTIVE_GRADE} = ${criteria.grade}`);
  if (criteria.overdue) query = query.where(sql<SqlBool>`${overdueOn(today)}`);
  if (criteria.allocatedFrom) query = query.where('audits.allocated_on', '>=', criteria.allocatedFrom);
  if (criteria.allocatedTo) query = query.where('audits.allocated_on', '<=', criteria.allocatedTo);
  if (criteria.finalGrade) query = query.where('audits.final_grade', '=', criteria.finalGrade);
  if (criteria.auditorGrade) query = query.where('audits.auditor_grade', '=', criteria.auditorGrade);
  if (criteria.auditor) query = query.where('audits.auditor_id', '=', criteria.auditor);
  if (criteria.moderator) query = query.where('audits.moderator_id', '=', criteria.moderator);
  if (criteria.ownUnits) query = query.where(auditInScope(unitsAlone(scope)));
  for (const condition of reportConditions(criteria, today)) query = query.where(condition);
  for (const condition of [
    ...onUkDays(sql.ref('audits.submitted_at'), criteria.submittedFrom, criteria.submittedTo),
    ...onUkDays(sql.ref('audits.moderated_at'), criteria.moderatedFrom, criteria.moderatedTo),
    ...onUkDays(sql.ref('audits.closed_at'), criteria.closedFrom, criteria.closedTo),
  ]) {
    query = query.where(condition);
  }
  return query;
}

// ——— Filters a report's figures drill down by (additive to the tracker's own) ———

/** The stages of the lifecycle that have a timescale (lifecycle.ts STAGE_OF). */
export const TIMED_STAGES = ['auditor', 'moderation', 'distribution', 'feedback'] as const;
export type TimedStage = (typeof TIMED_STAGES)[number];
export type StageClock = { days: Record<Exclude<TimedStage, 'auditor'>, number>; holidays: readonly IsoDate[] };
export const RE_AUDIT_OUTCOMES = ['improved', 'same', 'worse'] as const;
export type ReAuditOutcome = (typeof RE_AUDIT_OUTCOMES)[number];

const ukDay = (timestamp: RawBuilder<unknown>) => sql<string | null>`(${timestamp} at time zone 'Europe/London')::date`;
const FIRST_SUBMITTED = sql`(select min(t.at) from audit_transitions t where t.audit_id = audits.id and t.transition = 'submit')`;
const FEEDBACK_REQUESTED = sql`(select min(t.at) from audit_transitions t where t.audit_id = audits.id and t.transition = 'requestFeedback')`;

/**
 * When each stage started and ended, as UK days. The auditor's stage runs from allocation to
 * the first submission (a return's extra time is not the first deadline's), against the due date
 * allocation gave; moderation from the last submission to moderation; distribution from
 * moderation to the request for feedback (distributing and requesting share the stage); feedback
 * from that request to closing. Transitions say when; an audit without them (loaded before they
 * were recorded) uses its own submitted date.
 */
export const STAGE_SPANS: Record<TimedStage, { start: RawBuilder<string | null>; end: RawBuilder<string | null> }> = {
  auditor: { start: sql`audits.allocated_on`, end: ukDay(sql`coalesce(${FIRST_SUBMITTED}, audits.submitted_at)`) },
  moderation: { start: ukDay(sql`audits.submitted_at`), end: ukDay(sql`audits.moderated_at`) },
  distribution: { start: ukDay(sql`audits.moderated_at`), end: ukDay(FEEDBACK_REQUESTED) },
  feedback: { start: ukDay(FEEDBACK_REQUESTED), end: ukDay(sql`audits.closed_at`) },
};

/**
 * Whether the stage ended within its timescale: the auditor's by the due date; the others no
 * later than the n-th working day after they started, i.e. fewer than n working days passed
 * before the day they ended (weekends and the organisation's bank holidays are not counted).
 */
function stageOnTime(stage: TimedStage, clock: StageClock | undefined): RawBuilder<boolean> {
  const { start, end } = STAGE_SPANS[stage];
  if (stage === 'auditor') return sql<boolean>`(${end} <= audits.due_on)`;
  if (!clock) throw new Error('stageOnTime needs the organisation’s stage clock (timescales and bank holidays)');
  const holidays = `{${clock.holidays.join(',')}}`;
  return sql<boolean>`((select count(*) from generate_series((${start} + 1)::timestamp, (${end} - 1)::timestamp, interval '1 day') as d(day)
    where extract(isodow from d.day) < 6 and not (d.day::date = any(${holidays}::date[]))) < ${clock.days[stage]})`;
}

function reportConditions(criteria: TrackerCriteria, today: IsoDate): Expression<SqlBool>[] {
  const conditions: Expression<SqlBool>[] = [];
  if (criteria.locality) conditions.push(sql<SqlBool>`coalesce(teams.locality_id, services.locality_id) = ${criteria.locality}`);
  if (criteria.legalStatus) conditions.push(sql<SqlBool>`children.legal_status = ${criteria.legalStatus}`);
  if (criteria.stage) {
    const { end } = STAGE_SPANS[criteria.stage];
    conditions.push(sql<SqlBool>`${end} is not null`);
    if (criteria.stageEndedFrom) conditions.push(sql<SqlBool>`${end} >= ${criteria.stageEndedFrom}::date`);
    if (criteria.stageEndedTo) conditions.push(sql<SqlBool>`${end} <= ${criteria.stageEndedTo}::date`);
    if (criteria.stageOnTime) conditions.push(sql<SqlBool>`${stageOnTime(criteria.stage, criteria.stageClock)} = ${criteria.stageOnTime === 'yes'}`);
  }
  if (criteria.reAudit || criteria.reAuditOutcome) conditions.push(sql<SqlBool>`audits.re_audit_of is not null`);
  if (criteria.reAuditOutcome) {
    const compare = { improved: sql`<`, same: sql`=`, worse: sql`>` }[criteria.reAuditOutcome];
    conditions.push(
      sql<SqlBool>`exists (select 1 from audits as first_audits where first_audits.id = audits.re_audit_of
        and ${gradeRank(sql`audits.final_grade`)} ${compare} ${gradeRank(sql`first_audits.final_grade`)})`,
    );
  }
  const direction = (condition: Expression<SqlBool>) => sql<SqlBool>`exists (select 1 from case_directions where case_directions.audit_id = audits.id and ${condition})`;
  const directed = [
    ...(criteria.directedFrom ? [sql`case_directions.directed_on >= ${criteria.directedFrom}::date`] : []),
    ...(criteria.directedTo ? [sql`case_directions.directed_on <= ${criteria.directedTo}::date`] : []),
  ];
  if (directed.length) conditions.push(direction(sql.join(directed, sql` and `)));
  const reviewed = onUkDays(sql.ref('case_directions.reviewed_at'), criteria.directionReviewedFrom, criteria.directionReviewedTo);
  if (reviewed.length) conditions.push(direction(sql.join(reviewed, sql` and `)));
  if (criteria.domain) {
    const sets = criteria.domainJudgements;
    if (!sets) throw new Error('a domain filter needs its judgement rows resolved from the tool editions');
    const matches = sets.map((set) => sql`(audits.tool_edition_id = ${set.editionId} and j.section_key = ${set.sectionKey} and j.grade in (${sql.join(set.grades)}))`);
    conditions.push(
      sets.length
        ? sql<SqlBool>`exists (select 1 from audit_judgements j where j.audit_id = audits.id and j.stage = 'moderator' and (${sql.join(matches, sql` or `)}))`
        : sql<SqlBool>`false`,
    );
  }
  if (criteria.feedback) {
    const { feedbackFact: fact, feedbackPlaces: places } = criteria;
    if (!fact || !places) throw new Error('a feedback filter needs its respondents resolved from the tool editions');
    const matches = places.map((place) => {
      const part = sql`(audits.answers -> ${place.sectionKey} -> 'respondents' -> ${place.respondentKey})`;
      const obtained = sql`(${part} ->> 'obtained')`;
      const shows =
        fact.what === 'asked'
          ? sql`${obtained} in ('yes', 'no')`
          : fact.what === 'obtained'
            ? sql`${obtained} = 'yes'`
            : fact.what === 'not_obtained'
              ? sql`${obtained} = 'no'`
              : fact.what === 'reason'
                ? sql`${obtained} = 'no' and coalesce(${part} ->> 'notObtainedReason', case when (${part} -> 'notObtainedOther') is not null then 'other' else 'not_given' end) = ${fact.reason}`
                : fact.what === 'scaling' && place.scalingKeys.length
                  ? sql`${obtained} = 'yes' and (${sql.join(place.scalingKeys.map((key) => sql`(${part} -> 'answers' ->> ${key}) = ${String(fact.score)}`), sql` or `)})`
                  : sql`false`;
      return sql`(audits.tool_edition_id = ${place.editionId} and ${shows})`;
    });
    conditions.push(matches.length ? sql<SqlBool>`(${sql.join(matches, sql` or `)})` : sql<SqlBool>`false`);
  }
  if (criteria.directionReviewOverdue) conditions.push(direction(sql`case_directions.reviewed_at is null and case_directions.review_due_on < ${today}::date`));
  return conditions;
}

/** The UK days each matching audit's stage started and ended: for the median working days a report shows. */
export async function selectStageSpans(db: Db, scope: DataScope, criteria: TrackerCriteria & { stage: TimedStage }, today: IsoDate) {
  const { start, end } = STAGE_SPANS[criteria.stage];
  const rows = await filteredAudits(db, scope, criteria, today)
    .select([sql<string>`${start}::text`.as('started_on'), sql<string>`${end}::text`.as('ended_on')])
    .execute();
  return rows.filter((row) => row.started_on !== null && row.ended_on !== null);
}

/** The feedback sections (by key) of the matching audits' answers, for the family feedback a report counts. */
export async function selectFeedbackAnswers(db: Db, scope: DataScope, criteria: TrackerCriteria, today: IsoDate, sectionKeys: readonly string[]) {
  if (!sectionKeys.length) return [];
  return filteredAudits(db, scope, criteria, today)
    .select([
      'audits.id as audit_id',
      'audits.tool_edition_id as edition_id',
      sql<Record<string, unknown> | null>`(select jsonb_object_agg(e.key, e.value) from jsonb_each(audits.answers) as e(key, value) where e.key in (${sql.join([...sectionKeys])}))`.as('sections'),
    ])
    .execute();
}

/** Each tool edition's definition, for the practice domains of its judgements. */
export async function selectEditionDefinitions(db: Db, organisationId: string) {
  return db.selectFrom('audit_tool_editions').select(['id', 'tool_id', 'definition']).where('organisation_id', '=', organisationId).execute();
}

/**
 * The section judgements of the matching audits as moderation left them, each beside the
 * auditor's grade for the same section: one row per audit and section (the overall grade is the
 * audit's own final grade, counted elsewhere).
 */
export async function selectFinalJudgements(db: Db, scope: DataScope, criteria: TrackerCriteria, today: IsoDate) {
  return filteredAudits(db, scope, criteria, today)
    .innerJoin('audit_judgements as final', (join) => join.onRef('final.audit_id', '=', 'audits.id').on('final.stage', '=', 'moderator').on('final.section_key', '<>', 'overall'))
    .leftJoin('audit_judgements as first', (join) => join.onRef('first.audit_id', '=', 'audits.id').on('first.stage', '=', 'auditor').onRef('first.section_key', '=', 'final.section_key'))
    .select(['audits.id as audit_id', 'audits.tool_edition_id as edition_id', 'final.section_key', 'first.grade as auditor_grade', 'final.grade as final_grade'])
    .execute();
}

export async function countTrackerAudits(db: Db, scope: DataScope, criteria: TrackerCriteria, today: IsoDate): Promise<number> {
  const row = await filteredAudits(db, scope, criteria, today).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return row.n;
}

/** What a count of tracker audits can be broken down by: each a column of the audit itself. */
export const AUDIT_GROUPS = {
  service: 'audits.service_id',
  team: 'audits.team_id',
  finalGrade: 'audits.final_grade',
  auditorGrade: 'audits.auditor_grade',
  auditor: 'audits.auditor_id',
  moderator: 'audits.moderator_id',
  tool: 'editions.tool_id',
  legalStatus: 'children.legal_status',
} as const;
export type AuditGroup = keyof typeof AUDIT_GROUPS;

/**
 * How many audits match the tracker's criteria, broken down by the given columns. The same
 * filter as the tracker's list: a figure counted here is exactly the rows the tracker shows
 * for the same criteria plus the group's values.
 */
export async function countTrackerAuditsBy<G extends AuditGroup>(
  db: Db,
  scope: DataScope,
  criteria: TrackerCriteria,
  today: IsoDate,
  groups: readonly G[],
): Promise<(Record<G, string | null> & { n: number })[]> {
  const columns = groups.map((group) => sql.ref(AUDIT_GROUPS[group]).as(group));
  let query = filteredAudits(db, scope, criteria, today).select(columns).select(sql<number>`count(*)::int`.as('n'));
  for (const group of groups) query = query.groupBy(AUDIT_GROUPS[group]);
  return (await query.execute()) as unknown as (Record<G, string | null> & { n: number })[];
}

/** The columns of an audit as the tracker, "My audits" and the audit page show it. */
function selectAuditColumns(query: ScopedAudits) {
  return query.select([
    'audits.id',
    'audits.reference',
    'audits.status',
    'audits.allocated_on',
    'audits.due_on',
    'audits.submitted_at',
    'audits.moderated_at',
    'audits.auditor_grade',
    'audits.final_grade',
    'audits.team_id',
    'audits.service_id',
    'audits.auditor_id',
    'audits.case_holder_id',
    'children.id as child_id',
    'children.initials as child_initials',
    'children.external_id as child_external_id',
    'tools.id as tool_id',
    'tools.name as tool_name',
    'editions.edition as tool_edition',
    'auditors.full_name as auditor_name',
    'case_holders.full_name as case_holder_name',
    'teams.name as team_name',
    'services.name as service_name',
    'audits.stage_due_on',
    'audits.feedback_at',
    CURRENT_DUE.as('current_due_on'),
  ]);
}

export type AuditRow = Awaited<ReturnType<ReturnType<typeof selectAuditColumns>['execute']>>[number] & { overdue: boolean };

/** Whether one audit is overdue on `today`, by the one definition above. */
export async function selectAuditOverdue(db: Db, auditId: string, today: IsoDate): Promise<boolean> {
  const row = await db.selectFrom('audits').select(overdueOn(today).as('overdue')).where('audits.id', '=', auditId).executeTakeFirst();
  return Boolean(row?.overdue);
}

/**
 * One page of the tracker (or, with no page, every matching audit, for an export), each with
 * `matching`, the number of audits that match (null-free only on a non-empty page).
 *
 * A page is found in two steps of one statement: the matching audits are counted (a window, so
 * counted before the page is cut), sorted and cut to the page reading only the audit's own row
 * and the tables a filter or the sort needs; only the page's audits are then joined to their
 * child, tool, people and units. Joining every matching audit first made the demo council's
 * first page (25 of 281 audits) cost 3–4 ms of the database's time instead of about 1 ms.
 */
export async function selectTrackerAudits(db: Db, scope: DataScope, criteria: TrackerCriteria, page: { offset: number; limit: number } | null, today: IsoDate) {
  const direction = criteria.order === 'asc' ? sql`asc` : sql`desc`;
  // Empty values sort last either way; the reference breaks ties so pages never overlap.
  const sortKey = sql`${SORT_EXPRESSIONS[criteria.sort]} ${direction} nulls last`;
  const tieBreak = sql`audits.reference ${direction}`;
  const matching = sql<number>`count(*) over ()`;
  if (!page) {
    return selectAuditColumns(filteredAudits(db, scope, criteria, today)).select(overdueOn(today).as('overdue')).select(matching.as('matching')).orderBy(sortKey).orderBy(tieBreak).execute();
  }
  if (![page.offset, page.limit].every((n) => Number.isSafeInteger(n) && n >= 0)) throw new Error(`not a page of audits: ${JSON.stringify(page)}`);
  const onPage = filteredAudits(db, scope, criteria, today, auditsToFilter)
    .select(['audits.id', matching.as('matching')])
    .orderBy(sortKey)
    .orderBy(tieBreak)
    // The page's size and place written into the statement: as parameters, a kept (generic)
    // plan cannot know the page is 25 audits.
    .offset(sql.lit(page.offset))
    .limit(sql.lit(page.limit));
  // The page's audits are looked up by id (an array the page fills, so the plan starts from
  // them whatever order it joins the tables in), and the count is read from the page.
  // (The page is read only by the raw SQL below, so the query creator keeps the plain tables' type.)
  const withPage = db.with('page', () => onPage) as unknown as QueryCreator<Database>;
  return selectAuditColumns(auditsInScope(withPage, scope))
    .where(sql<SqlBool>`audits.id = any(array(select page.id from page))`)
    .select(overdueOn(today).as('overdue'))
    .select(sql<number>`(select page.matching from page limit 1)`.as('matching'))
    .orderBy(sortKey)
    .orderBy(tieBreak)
    .execute();
}

/** The audits a staff member carries out as auditor, latest due date first. */
export async function selectAuditsOfAuditor(db: Db, organisationId: string, staffId: string, today: IsoDate) {
  return selectAuditColumns(auditsInScope(db, { kind: 'organisation', organisationId }))
    .select(overdueOn(today).as('overdue'))
    .where('audits.auditor_id', '=', staffId)
    .orderBy(sql`${CURRENT_DUE} desc nulls last`)
    .orderBy('audits.reference', 'desc')
    .execute();
}

/** One audit within the person's reach, with everything its page and the API show. */
export async function selectAuditInScope(db: Db, scope: DataScope, auditId: string, today?: IsoDate) {
  return selectAuditColumns(auditsInScope(db, scope).where('audits.id', '=', auditId))
    .leftJoin('staff as moderators', 'moderators.id', 'audits.moderator_id')
    .leftJoin('users as allocators', 'allocators.id', 'audits.allocated_by')
    .leftJoin('users as feedback_givers', 'feedback_givers.id', 'audits.feedback_by')
    // What the page's panels (lifecycle, distribution, escalation, the document) read of the
    // audit and its child: read here once, so that none of them asks for the audit again.
    .select([
      'audits.re_audit_of',
      'audits.desktop_only',
      'audits.version',
      'audits.stage_started_on',
      'audits.practitioner_feedback',
      'audits.closing_comments',
      'feedback_givers.display_name as feedback_by_name',
      'children.legal_status',
      'children.date_of_birth',
      'children.referral_factors',
    ])
    .select([
      'audits.tool_edition_id',
      'audits.moderator_id',
      'audits.allocated_by',
      'audits.closed_at',
      'audits.answers',
      'audits.moderator_comments',
      'tools.key as tool_key',
      'moderators.full_name as moderator_name',
      'allocators.display_name as allocated_by_name',
    ])
    // Its judgements in the same statement (as a JSON array, in selectJudgements' order): every audit page reads both.
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('audit_judgements')
          .select(['audit_judgements.section_key', 'audit_judgements.stage', 'audit_judgements.grade', 'audit_judgements.reason'])
          .whereRef('audit_judgements.audit_id', '=', 'audits.id')
          .orderBy('audit_judgements.stage')
          .orderBy('audit_judgements.section_key'),
      ).as('judgements'),
    )
    // Whether it is overdue on the given day, by the one rule, when its page asks.
    .$if(today !== undefined, (query) => query.select(overdueOn(today!).as('overdue')))
    .executeTakeFirst();
}

export async function selectJudgements(db: Db, auditId: string) {
  return db
    .selectFrom('audit_judgements')
    .select(['section_key', 'stage', 'grade', 'reason'])
    .where('audit_id', '=', auditId)
    .orderBy('stage')
    .orderBy('section_key')
    .execute();
}

export type TrackerOption = { value: string; text: string };

/** The teams, services and tools of the audits the person can see: the filter's choices. */
/**
 * The teams, services and tools that have at least one audit in scope, for the filter lists.
 * Asked with EXISTS per team, service and tool rather than DISTINCT over every audit: over
 * 200,000 audits this is about 1 ms instead of about half a second (see bench/).
 */
const ONE = sql<number>`1`.as('one');

export async function trackerFilterOptions(db: Db, scope: DataScope) {
  const teams = db
    .selectFrom('teams')
    .select(['teams.id as value', 'teams.name as text'])
    .where('teams.organisation_id', '=', scope.organisationId)
    .where((eb) => eb.exists(eb.selectFrom('audits').select(ONE).whereRef('audits.team_id', '=', 'teams.id').where(auditInScope(scope))))
    .orderBy('teams.name');
  const services = db
    .selectFrom('services')
    .select(['services.id as value', 'services.name as text'])
    .where('services.organisation_id', '=', scope.organisationId)
    .where((eb) => eb.exists(eb.selectFrom('audits').select(ONE).whereRef('audits.service_id', '=', 'services.id').where(auditInScope(scope))))
    .orderBy('services.name');
  // Edition by edition, so each probe is one index lookup on audits (tool_edition_id).
  const tools = db
    .selectFrom('audit_tools as tools')
    .select(['tools.id as value', 'tools.name as text'])
    .where('tools.organisation_id', '=', scope.organisationId)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('audit_tool_editions as editions')
          .select(ONE)
          .whereRef('editions.tool_id', '=', 'tools.id')
          .where((inner) => inner.exists(inner.selectFrom('audits').select(ONE).whereRef('audits.tool_edition_id', '=', 'editions.id').where(auditInScope(scope)))),
      ),
    )
    .orderBy('tools.name');
  // The three lists in one statement, each a JSON array in its own order: one round trip, not three.
  const row = await db.selectNoFrom([jsonArrayFrom(teams).as('teams'), jsonArrayFrom(services).as('services'), jsonArrayFrom(tools).as('tools')]).executeTakeFirstOrThrow();
  return { teams: row.teams as TrackerOption[], services: row.services as TrackerOption[], tools: row.tools as TrackerOption[] };
}

/**
 * The localities and auditors of the audits in scope: choices a report adds to the tracker's
 * (an audit's locality is its team's, else its service's).
 */
export async function reportFilterOptions(db: Db, scope: DataScope) {
  const localities = await db
    .selectFrom('localities')
    .select(['localities.id as value', 'localities.name as text'])
    .where('localities.organisation_id', '=', scope.organisationId)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('audits')
          .leftJoin('teams', 'teams.id', 'audits.team_id')
          .leftJoin('services', 'services.id', 'audits.service_id')
          .select(ONE)
          .where(sql<SqlBool>`coalesce(teams.locality_id, services.locality_id) = localities.id`)
          .where(auditInScope(scope)),
      ),
    )
    .orderBy('localities.name')
    .execute();
  const auditors = await db
    .selectFrom('staff')
    .select(['staff.id as value', 'staff.full_name as text'])
    .where('staff.organisation_id', '=', scope.organisationId)
    .where((eb) => eb.exists(eb.selectFrom('audits').select(ONE).whereRef('audits.auditor_id', '=', 'staff.id').where(auditInScope(scope))))
    .orderBy('staff.full_name')
    .execute();
  return { localities: localities as TrackerOption[], auditors: auditors as TrackerOption[] };
}

/* Allocation: what a QA coordinator chooses from. */

/** The roles whose holders may carry out an audit. */
export const AUDITING_ROLES = ['auditor', 'moderator', 'qa_coordinator', 'qa_lead'] as const;

/** Names in English order, by one collator: `localeCompare(…, 'en-GB')` sets one up at every comparison. */
const byName = new Intl.Collator('en-GB').compare;

/** Each tool of the organisation that has a published edition, with its newest one. */
export async function selectAllocatableTools(db: Db, organisationId: string) {
  const rows = await db
    .selectFrom('audit_tools as tools')
    .innerJoin('audit_tool_editions as editions', 'editions.tool_id', 'tools.id')
    .select(['tools.id as tool_id', 'tools.name as tool_name', 'editions.id as edition_id', 'editions.edition'])
    // Which children the edition is for: allocation preselects and warns with it.
    .select(sql<AppliesTo | null>`editions.definition -> 'appliesTo'`.as('applies_to'))
    .where('tools.organisation_id', '=', organisationId)
    .where('editions.status', '=', 'published')
    .distinctOn('tools.id')
    .orderBy('tools.id')
    .orderBy('editions.published_at', 'desc')
    .orderBy('editions.created_at', 'desc')
    // Editions loaded in one transaction (the built-in library) share their times: the later edition wins.
    .orderBy('editions.edition', 'desc')
    .execute();
  return rows.sort((a, b) => byName(a.tool_name, b.tool_name));
}

/** The tool a service audits with unless the coordinator chooses another. */
export async function selectServiceDefaultTool(db: Db, organisationId: string, serviceId: string) {
  const row = await db
    .selectFrom('service_default_tools')
    .select('tool_id')
    .where('organisation_id', '=', organisationId)
    .where('service_id', '=', serviceId)
    .executeTakeFirst();
  return row?.tool_id ?? null;
}

export async function selectServiceName(db: Db, organisationId: string, serviceId: string) {
  const row = await db.selectFrom('services').select('name').where('organisation_id', '=', organisationId).where('id', '=', serviceId).executeTakeFirst();
  return row?.name ?? null;
}

/**
 * Staff who may be allocated an audit: still working here (no leaving date that has passed),
 * with a user account that is not disabled and holds an auditing role. Their e-mail is the
 * staff record's, else their user's.
 */
export async function selectAuditorCandidates(db: Db, organisationId: string, today: string, staffId?: string) {
  let query = db
    .selectFrom('staff')
    .innerJoin('users', 'users.staff_id', 'staff.id')
    .innerJoin('role_grants', 'role_grants.user_id', 'users.id')
    .leftJoin('teams', 'teams.id', 'staff.team_id')
    .select(['staff.id', 'staff.full_name', 'staff.job_title', 'teams.name as team_name', sql<string>`coalesce(staff.email, min(users.email))`.as('email')])
    .where('staff.organisation_id', '=', organisationId)
    .where('users.organisation_id', '=', organisationId)
    .where('users.disabled_at', 'is', null)
    .where('role_grants.role', 'in', AUDITING_ROLES)
    .where((eb) => eb.or([eb('staff.leaving_date', 'is', null), eb('staff.leaving_date', '>', today)]))
    .groupBy(['staff.id', 'teams.name'])
    .orderBy('staff.full_name');
  if (staffId) query = query.where('staff.id', '=', staffId);
  return query.execute();
}

/**
 * Locks the child's row for the rest of the transaction, then finds an open (not closed) audit
 * of the child with any edition of the tool. Two allocations of the same child therefore take
 * turns, and the second sees the first: a double click, a retried API call or two coordinators
 * at once cannot open the same audit twice.
 */
export async function lockChildAndFindOpenAudit(db: Db, input: { organisationId: string; childId: string; toolId: string }) {
  await db.selectFrom('children').select('id').where('id', '=', input.childId).where('organisation_id', '=', input.organisationId).forUpdate().execute();
  return db
    .selectFrom('audits')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .select(['audits.id', 'audits.reference'])
    .where('audits.organisation_id', '=', input.organisationId)
    .where('audits.child_id', '=', input.childId)
    .where('editions.tool_id', '=', input.toolId)
    .where('audits.status', '<>', 'closed')
    .executeTakeFirst();
}

export async function insertAllocatedAudit(
  db: Db,
  values: {
    organisationId: string;
    childId: string;
    toolEditionId: string;
    auditorId: string;
    caseHolderId: string | null;
    teamId: string | null;
    serviceId: string | null;
    allocatedOn: string;
    dueOn: string;
    allocatedBy: string;
  },
) {
  return db
    .insertInto('audits')
    .values({
      organisation_id: values.organisationId,
      child_id: values.childId,
      tool_edition_id: values.toolEditionId,
      auditor_id: values.auditorId,
      case_holder_id: values.caseHolderId,
      team_id: values.teamId,
      service_id: values.serviceId,
      status: 'allocated',
      allocated_on: values.allocatedOn,
      due_on: values.dueOn,
      // The auditor's stage of the lifecycle starts at allocation (see lifecycle.ts).
      stage_started_on: values.allocatedOn,
      stage_due_on: values.dueOn,
      allocated_by: values.allocatedBy,
      answers: JSON.stringify({}),
      completed_sections: JSON.stringify([]),
    })
    .returning(['id', 'reference'])
    .executeTakeFirstOrThrow();
}

/** A child's audits within the person's reach, newest allocation first: the child's page and allocation. */
export async function selectChildAudits(db: Db, scope: DataScope, childId: string, today: IsoDate) {
  return selectAuditColumns(auditsInScope(db, scope))
    .select(overdueOn(today).as('overdue'))
    .where('audits.child_id', '=', childId)
    .orderBy('audits.allocated_on', 'desc')
    .orderBy('audits.reference', 'desc')
    .execute();
}

/** Audits within reach found by their reference or by their child's case ID (exactly), for the header search. */
export async function selectAuditsByReferenceOrCaseId(db: Db, scope: DataScope, term: { reference: number | null; caseId: string }, today: IsoDate, limit: number) {
  return selectAuditColumns(auditsInScope(db, scope))
    .select(overdueOn(today).as('overdue'))
    .where((eb) => eb.or([eb('children.external_id', '=', term.caseId), ...(term.reference === null ? [] : [eb('audits.reference', '=', term.reference)])]))
    .orderBy('audits.allocated_on', 'desc')
    .orderBy('audits.reference', 'desc')
    .limit(limit)
    .execute();
}

/**
 * How many audits each auditor has in hand (not yet moderated: allocated, in progress, in
 * moderation or returned), for the allocation form's choice of auditor.
 */
export async function selectAuditsInHand(db: Db, organisationId: string, staffIds: string[]) {
  if (!staffIds.length) return new Map<string, number>();
  const rows = await db
    .selectFrom('audits')
    .select(['audits.auditor_id', sql<number>`count(*)::int`.as('n')])
    .where('audits.organisation_id', '=', organisationId)
    .where('audits.auditor_id', 'in', staffIds)
    .where('audits.status', 'in', ['allocated', 'in_progress', 'returned', 'in_moderation'])
    .groupBy('audits.auditor_id')
    .execute();
  return new Map(rows.map((row) => [row.auditor_id, Number(row.n)]));
}
