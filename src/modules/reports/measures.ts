import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../../db/index.ts';
import type { Grade, LegalStatus } from '../../db/types.ts';
import type { DataScope } from '../../platform/access.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { NOT_MAPPED, domainLabel, type DomainOrNotMapped } from '../tools/domains.ts';
import { PRACTICE_DOMAINS } from '../tools/schema.ts';
import type { GradedSection } from '../audits/domain-judgements.ts';
import { feedbackFactText, NO_REASON, OTHER_REASON, partShows, type FeedbackFact, type FeedbackRespondent, type RespondentPart } from '../audits/feedback-answers.ts';
import { AUDIT_GROUPS, countTrackerAuditsBy, RE_AUDIT_OUTCOMES, selectFeedbackAnswers, selectFinalJudgements, STAGE_SPANS, TIMED_STAGES, type AuditGroup, type StageClock, type TimedStage } from '../audits/queries.ts';
import { workingDaysBetween } from '../../platform/working-days.ts';
import { DEFAULT_FILTERS, GRADES, trackerSearchParams, type TrackerFilters } from '../audits/tracker.ts';
import { selectActions, type ActionCriteria } from '../actions/queries.ts';
import { actionSearchParams, DEFAULT_ACTION_FILTERS, type ActionFilters } from '../actions/service.ts';
import { actionsQuery, countWhere, narrowing, selectOver, trackerQuery, withoutJit } from './counting.ts';
import { weightedKappa, type Kappa } from './kappa.ts';
import type { ReportPeriod } from './period.ts';

/**
 * The report's measures, each defined once as tracker criteria and a breakdown. A figure is a
 * count of the tracker's own rows for those criteria, so the link behind every figure opens
 * the tracker filtered to exactly the audits counted (the drill-down), and the page, its
 * exports and the API read the same functions. A section asks for all its figures in one statement
 * (counting.ts): each figure counted by the tracker's own filter for its criteria.
 *
 * Which service and team an audit counts for: the ones recorded when it was allocated
 * (`audits.service_id`, `audits.team_id`), even if the child has moved since.
 */

/** The report's own filters: the same ids and codes the tracker filters by. */
/** Every filter of the Reports page, so that a download or a link counts what the page counted. */
export const REPORT_FILTER_KEYS = ['service', 'team', 'tool', 'locality', 'legalStatus', 'auditor'] as const;

export type ReportFilters = {
  service?: string | undefined;
  team?: string | undefined;
  tool?: string | undefined;
  locality?: string | undefined;
  legalStatus?: LegalStatus | undefined;
  auditor?: string | undefined;
  /** Set by the report for a service or team reader: its links open the tracker on their services and teams alone, as counted. */
  ownUnits?: 'yes' | undefined;
};

/**
 * A number on the report and the tracker link that lists the audits behind it. No link only
 * for audits with no team or service recorded, which the tracker cannot filter to.
 */
export type Figure = { n: number; href: string | null; audits?: number };

type Criteria = Partial<TrackerFilters>;

/** `stageClock`: the organisation's timescales and bank holidays, for "on time". */
export type MeasureContext = { db: Db; scope: DataScope; filters: ReportFilters; today: IsoDate; stageClock: StageClock };

function criteriaOf(context: MeasureContext, criteria: Criteria): TrackerFilters {
  return { ...DEFAULT_FILTERS, ...context.filters, ...criteria };
}

export function trackerHref(criteria: TrackerFilters): string {
  const query = trackerSearchParams(criteria, { withSort: false }).toString();
  return query ? `/audits?${query}` : '/audits';
}

async function countBy<G extends AuditGroup>(context: MeasureContext, criteria: Criteria, groups: readonly G[]) {
  const full = criteriaOf(context, criteria);
  const rows = await countTrackerAuditsBy(context.db, context.scope, { ...full, stageClock: context.stageClock }, context.today, groups);
  return { full, rows };
}

function figure(context: MeasureContext, criteria: Criteria, n: number): Figure {
  return { n, href: trackerHref(criteriaOf(context, criteria)) };
}

/** The tracker's query for these criteria, in the report's scope and filters. */
const trackerOf = (context: MeasureContext, criteria: Criteria) => trackerQuery(context.scope, { ...criteriaOf(context, criteria), stageClock: context.stageClock }, context.today);

/**
 * Several figures in one statement: for each, how many of the tracker's audits match its
 * criteria (within the section's), by the given groups. One row per group (one in all without).
 * Only the audits some figure counts are read and grouped.
 */
async function countFigures<K extends string, G extends AuditGroup>(context: MeasureContext, section: Criteria, figures: Record<K, Criteria>, groups: readonly G[]) {
  const entries = Object.entries(figures) as [K, Criteria][];
  const [base, ...narrowed] = await Promise.all([trackerOf(context, section), ...entries.map(([, criteria]) => trackerOf(context, { ...section, ...criteria }))]);
  const conditions = narrowed.map((query) => narrowing(base!, query));
  const selections = [...groups.map((group) => sql.ref(AUDIT_GROUPS[group]).as(group)), ...entries.map(([name], i) => countWhere(conditions[i]!).as(name))];
  return selectOver<Record<G, string | null> & Record<K, number>>(context.db, base!, selections, groups.map((group) => AUDIT_GROUPS[group]), anyOf(conditions));
}

/** Rows that meet any of the conditions (the first that holds decides, so the others are not asked). */
const anyOf = (conditions: readonly Expression<SqlBool>[]) => sql<SqlBool>`(${sql.join(conditions, sql` or `)})`;

// ——— Activity ———

export const ACTIVITY_EVENTS = ['allocated', 'submitted', 'moderated', 'closed'] as const;
export type ActivityEvent = (typeof ACTIVITY_EVENTS)[number];

/** The tracker criteria of "this happened to the audit in the period". */
export function eventInPeriod(event: ActivityEvent, period: ReportPeriod): Criteria {
  return { [`${event}From`]: period.from, [`${event}To`]: period.to } as Criteria;
}

/**
 * Audits allocated, submitted, moderated and closed in the period: in all, by service and by
 * team; and the audits overdue today.
 */
export async function activityMeasure(context: MeasureContext, period: ReportPeriod) {
  const events = Object.fromEntries(ACTIVITY_EVENTS.map((event) => [event, eventInPeriod(event, period)])) as Record<ActivityEvent, Criteria>;
  const rows = await countFigures(context, {}, { ...events, overdue: { overdue: true } }, ['service', 'team'] as const);
  const totals: Record<string, Figure> = {};
  const services = new Map<string | null, Record<string, Figure>>();
  const teams = new Map<string | null, Record<string, Figure>>();
  for (const event of ACTIVITY_EVENTS) {
    const criteria = events[event];
    // A group shows a figure for the events that happened in it.
    const happened = rows.filter((row) => row[event] > 0).map((row) => ({ service: row.service, team: row.team, n: row[event] }));
    totals[event] = figure(context, criteria, sum(happened));
    for (const [key, map] of [['service', services], ['team', teams]] as const) {
      for (const [id, n] of sumBy(happened, key)) {
        const row = map.get(id) ?? {};
        row[event] = id ? figure(context, { ...criteria, [key]: id }, n) : { n, href: null };
        map.set(id, row);
      }
    }
  }
  const overdue = figure(context, { overdue: true }, rows.reduce((total, row) => total + row.overdue, 0));
  return { totals, overdue, byService: breakdown(services), byTeam: breakdown(teams) };
}

// ——— Timeliness ———

export type StageTimeliness = {
  stage: TimedStage;
  /** Working days the stage is given; null for the auditor's, whose deadline is the due date allocation set. */
  days: number | null;
  ended: Figure;
  onTime: Figure;
  late: Figure;
  onTimeShare: number | null;
  /** Working days from the stage's start to its end, the middle value; null when none ended. */
  medianWorkingDays: number | null;
};

/**
 * Each stage that ended in the period (its end on one of the period's UK days): how many, how
 * many within the stage's timescale and how many late, and the median working days it took.
 */
export async function timelinessMeasure(context: MeasureContext, period: ReportPeriod): Promise<StageTimeliness[]> {
  const holidays = new Set(context.stageClock.holidays);
  const endedIn = (stage: TimedStage): Criteria => ({ stage, stageEndedFrom: period.from, stageEndedTo: period.to });
  const [base, ...narrowed] = await Promise.all([
    trackerOf(context, {}),
    ...TIMED_STAGES.flatMap((stage) => [trackerOf(context, endedIn(stage)), trackerOf(context, { ...endedIn(stage), stageOnTime: 'yes' })]),
  ]);
  // Each stage's spans (for the median working days) and its count on time, in one statement
  // over the audits with some stage ended in the period.
  const endedConditions = TIMED_STAGES.map((_, i) => narrowing(base!, narrowed[2 * i]!));
  const selections = TIMED_STAGES.flatMap((stage, i) => {
    const { start, end } = STAGE_SPANS[stage];
    return [
      sql<[string | null, string | null][]>`coalesce(json_agg(json_build_array(${start}::text, ${end}::text)) filter (where ${endedConditions[i]!}), '[]')`.as(`${stage}Spans`),
      countWhere(narrowing(base!, narrowed[2 * i + 1]!)).as(`${stage}OnTime`),
    ];
  });
  // The stages' ends are a subquery each per audit: the statement runs without JIT (counting.ts).
  const [row] = await withoutJit(context.db, (db) => selectOver<Record<string, unknown>>(db, base!, selections, [], anyOf(endedConditions)));
  return TIMED_STAGES.map((stage) => {
    const ended = endedIn(stage);
    const spans = (row![`${stage}Spans`] as [string | null, string | null][]).filter((span): span is [string, string] => span[0] !== null && span[1] !== null);
    const onTime = row![`${stage}OnTime`] as number;
    const total = spans.length;
    return {
      stage,
      days: stage === 'auditor' ? null : context.stageClock.days[stage],
      ended: figure(context, ended, total),
      onTime: figure(context, { ...ended, stageOnTime: 'yes' }, onTime),
      late: figure(context, { ...ended, stageOnTime: 'no' }, total - onTime),
      onTimeShare: total ? onTime / total : null,
      medianWorkingDays: median(spans.map(([startedOn, endedOn]) => workingDaysBetween(startedOn as IsoDate, endedOn as IsoDate, holidays))),
    };
  });
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ——— Grades ———

/** The audits whose grade the period reports: those moderated in it, by their final grade. */
export const gradedInPeriod = (period: ReportPeriod): Criteria => eventInPeriod('moderated', period);

export type GradeDistribution = {
  total: Figure;
  grades: Record<Grade, Figure>;
  /** Outstanding or Good over all graded; null when nothing was graded. */
  goodOrBetter: number | null;
  goodOrBetterCount: number;
};

function distribution(context: MeasureContext, criteria: Criteria, rows: readonly { finalGrade: string | null; n: number }[]): GradeDistribution {
  const grades = Object.fromEntries(
    GRADES.map((grade) => [grade, figure(context, { ...criteria, finalGrade: grade }, rows.filter((row) => row.finalGrade === grade).reduce((a, row) => a + row.n, 0))]),
  ) as Record<Grade, Figure>;
  const total = figure(context, criteria, sum(rows));
  const goodOrBetterCount = grades.outstanding.n + grades.good.n;
  return { total, grades, goodOrBetter: total.n ? goodOrBetterCount / total.n : null, goodOrBetterCount };
}

/** The final-grade distribution of the period, in all, by service, team, legal status and tool. */
export async function gradesMeasure(context: MeasureContext, period: ReportPeriod) {
  const criteria = gradedInPeriod(period);
  const { rows } = await countBy(context, criteria, ['service', 'team', 'legalStatus', 'tool', 'finalGrade'] as const);
  const split = (key: 'service' | 'team' | 'legalStatus' | 'tool') =>
    [...new Set(rows.map((row) => row[key]))].map((id) => {
      const found = distribution(context, { ...criteria, ...(id ? { [key]: id } : {}) }, rows.filter((row) => row[key] === id));
      return { id, ...(id ? found : unlinked(found)) };
    });
  return { overall: distribution(context, criteria, rows), byService: split('service'), byTeam: split('team'), byLegalStatus: split('legalStatus'), byTool: split('tool') };
}

/** The final-grade distribution of each of several periods (the trend, the comparisons), in one statement. */
export async function gradesOverPeriods(context: MeasureContext, periods: readonly ReportPeriod[]) {
  const figures = Object.fromEntries(periods.map((period, i) => [`period${i}`, gradedInPeriod(period)]));
  const rows = await countFigures(context, {}, figures, ['finalGrade'] as const);
  return periods.map((period, i) => ({ period, ...distribution(context, gradedInPeriod(period), rows.map((row) => ({ finalGrade: row.finalGrade, n: row[`period${i}`]! }))) }));
}

// ——— Moderation and calibration ———

export type Calibration = {
  /** matrix[i][j]: audits the auditor graded GRADES[i] and the moderation left at GRADES[j]. */
  matrix: Figure[][];
  total: Figure;
  kept: number;
  raised: number;
  lowered: number;
  kappa: Kappa | null;
};

function calibration(context: MeasureContext, criteria: Criteria, rows: readonly { auditorGrade: string | null; finalGrade: string | null; n: number }[]): Calibration {
  const counts = GRADES.map((auditorGrade) => GRADES.map((finalGrade) => rows.filter((row) => row.auditorGrade === auditorGrade && row.finalGrade === finalGrade).reduce((a, row) => a + row.n, 0)));
  const matrix = counts.map((row, i) => row.map((n, j) => figure(context, { ...criteria, auditorGrade: GRADES[i]!, finalGrade: GRADES[j]! }, n)));
  // GRADES runs from Outstanding down, so a final grade further along the list is lower.
  let [kept, raised, lowered] = [0, 0, 0];
  counts.forEach((row, i) => row.forEach((n, j) => (j < i ? (raised += n) : j > i ? (lowered += n) : (kept += n))));
  return { matrix, total: figure(context, criteria, sum(rows)), kept, raised, lowered, kappa: weightedKappa(counts) };
}

/**
 * How moderation changed grades in the period: the auditor × final matrix with agreement and
 * weighted kappa, in all, by auditor and by moderator.
 */
export async function calibrationMeasure(context: MeasureContext, period: ReportPeriod) {
  const criteria = gradedInPeriod(period);
  const { rows } = await countBy(context, criteria, ['auditor', 'moderator', 'auditorGrade', 'finalGrade'] as const);
  const per = (key: 'auditor' | 'moderator') =>
    [...new Set(rows.map((row) => row[key]))].map((id) => {
      const found = calibration(context, { ...criteria, ...(id ? { [key]: id } : {}) }, rows.filter((row) => row[key] === id));
      const strip = (value: Figure): Figure => (id ? value : withoutLink(value));
      return { id, ...found, total: strip(found.total), matrix: found.matrix.map((row) => row.map(strip)) };
    });
  return { overall: calibration(context, criteria, rows), byAuditor: per('auditor'), byModerator: per('moderator') };
}

// ——— Practice domains ———

type Cell = { judgements: number; audits: Set<string> };
const DOMAIN_ORDER: DomainOrNotMapped[] = [...(Object.keys(PRACTICE_DOMAINS) as DomainOrNotMapped[]), NOT_MAPPED];

/** A count of judgements, linked to the tracker's audits that have such a judgement (`audits` of them). */
export type DomainFigure = Figure & { audits: number };

export type DomainRow = { domain: DomainOrNotMapped; label: string; cells: Record<string, DomainFigure>; total: number; goodOrBetter: number | null };
export type OwnScale = { scaleId: string; label: string; options: { key: string; label: string }[]; rows: DomainRow[] };
export type DomainCalibration = { domain: DomainOrNotMapped; label: string; total: number; kept: number; raised: number; lowered: number; kappa: Kappa | null };

/**
 * Section judgements of the audits moderated in the period, as moderation left them, by practice
 * domain across tools: on the Ofsted scale wherever the tool's scale maps to it, and on each
 * other scale's own terms (Telford's 1–5 with N/A appears in both); and, per domain, how the
 * moderator changed the auditor's judgements (on the Ofsted scale). A count is of judgements; its
 * link lists the audits that have such a judgement, and says how many.
 */
export async function domainMeasure(context: MeasureContext, period: ReportPeriod, sections: readonly GradedSection[]) {
  const criteria = gradedInPeriod(period);
  const rows = await selectFinalJudgements(context.db, context.scope, { ...criteriaOf(context, criteria), stageClock: context.stageClock }, context.today);
  const bySection = new Map(sections.map((section) => [`${section.editionId}|${section.sectionKey}`, section]));
  const ofsted = new Map<DomainOrNotMapped, Map<string, Cell>>();
  const own = new Map<string, { section: GradedSection; cells: Map<DomainOrNotMapped, Map<string, Cell>> }>();
  const pairs = new Map<DomainOrNotMapped, number[][]>();
  const add = (map: Map<DomainOrNotMapped, Map<string, Cell>>, domain: DomainOrNotMapped, key: string, auditId: string) => {
    const inDomain = map.get(domain) ?? new Map<string, Cell>();
    const cell = inDomain.get(key) ?? { judgements: 0, audits: new Set<string>() };
    cell.judgements += 1;
    cell.audits.add(auditId);
    inDomain.set(key, cell);
    map.set(domain, inDomain);
  };
  for (const row of rows) {
    const section = bySection.get(`${row.edition_id}|${row.section_key}`);
    if (!section) continue;
    const final = section.options.find((option) => option.value === row.final_grade);
    if (!final) continue;
    if (final.ofsted) add(ofsted, section.domain, final.ofsted, row.audit_id);
    if (section.scaleId !== 'ofsted') {
      const scale = own.get(section.scaleId) ?? { section, cells: new Map() };
      add(scale.cells, section.domain, final.value, row.audit_id);
      own.set(section.scaleId, scale);
    }
    const first = section.options.find((option) => option.value === row.auditor_grade)?.ofsted;
    if (first && final.ofsted) {
      const matrix = pairs.get(section.domain) ?? GRADES.map(() => GRADES.map(() => 0));
      matrix[GRADES.indexOf(first)]![GRADES.indexOf(final.ofsted)]! += 1;
      pairs.set(section.domain, matrix);
    }
  }
  const domainFigure = (domain: DomainOrNotMapped, grade: string, cell: Cell | undefined): DomainFigure => ({
    n: cell?.judgements ?? 0,
    audits: cell?.audits.size ?? 0,
    href: trackerHref(criteriaOf(context, { ...criteria, domain, domainGrade: grade })),
  });
  const domainRows = (map: Map<DomainOrNotMapped, Map<string, Cell>>, keys: string[]): DomainRow[] =>
    DOMAIN_ORDER.filter((domain) => map.has(domain)).map((domain) => {
      const cells = Object.fromEntries(keys.map((key) => [key, domainFigure(domain, key, map.get(domain)!.get(key))]));
      const total = Object.values(cells).reduce((a, cell) => a + cell.n, 0);
      const good = (cells.outstanding?.n ?? 0) + (cells.good?.n ?? 0);
      return { domain, label: domainLabel(domain), cells, total, goodOrBetter: total ? good / total : null };
    });
  const ownScales: OwnScale[] = [...own.entries()].map(([scaleId, { section, cells }]) => {
    const options = section.options.map((option) => ({ key: `${scaleId}:${option.value}`, label: option.label }));
    const keyed = new Map([...cells.entries()].map(([domain, values]) => [domain, new Map([...values.entries()].map(([value, cell]) => [`${scaleId}:${value}`, cell]))]));
    return { scaleId, label: section.scaleLabel, options, rows: domainRows(keyed, options.map((option) => option.key)) };
  });
  const calibration: DomainCalibration[] = DOMAIN_ORDER.filter((domain) => pairs.has(domain)).map((domain) => {
    const counts = pairs.get(domain)!;
    let [kept, raised, lowered] = [0, 0, 0];
    counts.forEach((row, i) => row.forEach((n, j) => (j < i ? (raised += n) : j > i ? (lowered += n) : (kept += n))));
    return { domain, label: domainLabel(domain), total: kept + raised + lowered, kept, raised, lowered, kappa: weightedKappa(counts) };
  });
  return { ofsted: domainRows(ofsted, [...GRADES]), ownScales, calibration };
}

// ——— Family feedback ———

export const RESPONDENT_TYPE_LABELS: Record<string, string> = { parent_carer: 'Parents and carers', child: 'Children and young people', foster_carer: 'Foster carers', other: 'Others', any: 'All respondents' };
export const SCORES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;

export type FeedbackRow = {
  type: string;
  label: string;
  asked: DomainFigure;
  obtained: DomainFigure;
  notObtained: DomainFigure;
  obtainedShare: number | null;
  reasons: Record<string, DomainFigure>;
  scores: DomainFigure[];
  scoreCount: number;
  medianScore: number | null;
};

/**
 * The family's feedback on the audits submitted in the period (the auditor gathers it before
 * submitting): for each type of respondent and in all, how many were asked (feedback obtained or
 * not), obtained and not, why not, and the 0–10 scaling answers (distribution and median). A
 * count is of respondents; its link lists the audits that have such a respondent, and says how many.
 */
export async function feedbackMeasure(context: MeasureContext, period: ReportPeriod, respondents: readonly FeedbackRespondent[]) {
  const criteria = eventInPeriod('submitted', period);
  const sectionKeys = [...new Set(respondents.map((respondent) => respondent.sectionKey))];
  const rows = await selectFeedbackAnswers(context.db, context.scope, { ...criteriaOf(context, criteria), stageClock: context.stageClock }, context.today, sectionKeys);
  const byEdition = new Map<string, FeedbackRespondent[]>();
  for (const respondent of respondents) byEdition.set(respondent.editionId, [...(byEdition.get(respondent.editionId) ?? []), respondent]);
  // Every respondent's part given, with its type and scaling questions.
  const parts: { auditId: string; respondent: FeedbackRespondent; part: RespondentPart }[] = [];
  for (const row of rows) {
    for (const respondent of byEdition.get(row.edition_id) ?? []) {
      const section = row.sections?.[respondent.sectionKey] as { respondents?: Record<string, RespondentPart> } | undefined;
      const part = section?.respondents?.[respondent.respondentKey];
      if (part) parts.push({ auditId: row.audit_id, respondent, part });
    }
  }
  const reasonValues = [...new Set(respondents.flatMap((respondent) => respondent.reasons.map((reason) => reason.value))), OTHER_REASON, NO_REASON];
  const reasonLabels: Record<string, string> = { [OTHER_REASON]: 'Another reason (written in)', [NO_REASON]: 'No reason given' };
  for (const respondent of respondents) for (const reason of respondent.reasons) reasonLabels[reason.value] ??= reason.label;
  const count = (fact: FeedbackFact): DomainFigure => {
    const found = parts.filter(({ respondent, part }) => (fact.type === 'any' || respondent.type === fact.type) && partShows(part, fact, respondent.scalingKeys));
    return { n: found.length, audits: new Set(found.map((entry) => entry.auditId)).size, href: trackerHref(criteriaOf(context, { ...criteria, feedback: feedbackFactText(fact) })) };
  };
  const types = [...new Set(respondents.map((respondent) => respondent.type))].filter((type) => parts.some((entry) => entry.respondent.type === type));
  const rowFor = (type: string): FeedbackRow => {
    const asked = count({ type, what: 'asked' });
    const obtained = count({ type, what: 'obtained' });
    const scoreValues = parts
      .filter(({ respondent, part }) => (type === 'any' || respondent.type === type) && part.obtained === 'yes')
      .flatMap(({ respondent, part }) => respondent.scalingKeys.map((key) => part.answers?.[key]))
      .filter((value): value is number => typeof value === 'number');
    return {
      type,
      label: RESPONDENT_TYPE_LABELS[type] ?? type,
      asked,
      obtained,
      notObtained: count({ type, what: 'not_obtained' }),
      obtainedShare: asked.n ? obtained.n / asked.n : null,
      reasons: Object.fromEntries(reasonValues.map((reason) => [reason, count({ type, what: 'reason', reason })])),
      scores: SCORES.map((score) => count({ type, what: 'scaling', score })),
      scoreCount: scoreValues.length,
      medianScore: median(scoreValues),
    };
  };
  return { rows: [...types.map(rowFor), rowFor('any')], reasons: reasonValues.map((value) => ({ value, label: reasonLabels[value]! })) };
}

// ——— Inadequate audits, case directions and re-audits ———

/**
 * Audits graded Inadequate in the period: by the auditor (submitted in the period) and finally
 * (moderated in it); case directions given and reviewed in the period and reviews overdue today;
 * re-audits moderated in the period, by how their final grade compares with the first audit's.
 */
export async function inadequateMeasure(context: MeasureContext, period: ReportPeriod) {
  const reAudits: Criteria = { ...gradedInPeriod(period), reAudit: 'yes' };
  const outcomes = Object.fromEntries(RE_AUDIT_OUTCOMES.map((outcome) => [outcome, { ...reAudits, reAuditOutcome: outcome }])) as Record<(typeof RE_AUDIT_OUTCOMES)[number], Criteria>;
  const criteria = {
    auditorInadequate: { ...eventInPeriod('submitted', period), auditorGrade: 'inadequate' },
    finalInadequate: { ...gradedInPeriod(period), finalGrade: 'inadequate' },
    directed: { directedFrom: period.from, directedTo: period.to },
    directionReviewed: { directionReviewedFrom: period.from, directionReviewedTo: period.to },
    directionReviewOverdue: { directionReviewOverdue: 'yes' },
    reAudits,
    ...outcomes,
  } satisfies Record<string, Criteria>;
  // Case directions and first audits are a subquery each per audit: the statement runs without JIT (counting.ts).
  const [row] = await withoutJit(context.db, (db) => countFigures({ ...context, db }, {}, criteria, [] as const));
  const count = (name: keyof typeof criteria) => figure(context, criteria[name], row![name]);
  return {
    auditorInadequate: count('auditorInadequate'),
    finalInadequate: count('finalInadequate'),
    directed: count('directed'),
    directionReviewed: count('directionReviewed'),
    directionReviewOverdue: count('directionReviewOverdue'),
    reAudits: count('reAudits'),
    reAuditOutcomes: Object.fromEntries(RE_AUDIT_OUTCOMES.map((outcome) => [outcome, count(outcome)])) as Record<(typeof RE_AUDIT_OUTCOMES)[number], Figure>,
  };
}

// ——— Actions ———

function actionHref(criteria: ActionFilters): string {
  const query = actionSearchParams(criteria).toString();
  return query ? `/actions?${query}` : '/actions';
}

/**
 * The actions of the audits in reach (and the reader's own): agreed, done and verified in the
 * period; open and overdue today; of those due in the period, how many were done by their due
 * date; and the oldest overdue. Each figure links to the list of actions filtered to it.
 */
export async function actionsMeasure(context: MeasureContext, period: ReportPeriod) {
  const base: ActionFilters = { ...DEFAULT_ACTION_FILTERS, service: context.filters.service, team: context.filters.team, tool: context.filters.tool, ownUnits: context.filters.ownUnits };
  const dueInPeriod = { dueFrom: period.from, dueTo: period.to };
  const criteria = {
    agreed: { createdFrom: period.from, createdTo: period.to },
    done: { doneFrom: period.from, doneTo: period.to },
    verified: { verifiedFrom: period.from, verifiedTo: period.to },
    open: { status: 'open' },
    overdue: { status: 'overdue' },
    due: dueInPeriod,
    doneOnTime: { ...dueInPeriod, doneOnTime: 'yes' },
  } satisfies Record<string, Partial<ActionCriteria>>;
  const names = Object.keys(criteria) as (keyof typeof criteria)[];
  const full = (name: keyof typeof criteria) => ({ ...base, ...criteria[name] }) as ActionFilters;
  // Every count in one statement over the actions list's rows, each by the list's own filter; the oldest overdue beside it.
  const counted = async () => {
    const [all, ...narrowed] = await Promise.all([actionsQuery(context.scope, base, context.today), ...names.map((name) => actionsQuery(context.scope, full(name), context.today))]);
    const [row] = await selectOver<Record<keyof typeof criteria, number>>(context.db, all!, names.map((name, i) => countWhere(narrowing(all!, narrowed[i]!)).as(name)));
    return row!;
  };
  const [row, [oldest]] = await Promise.all([counted(), selectActions(context.db, context.scope, { ...base, status: 'overdue' }, context.today, { offset: 0, limit: 1 })]);
  const count = (name: keyof typeof criteria): Figure => ({ n: row[name], href: actionHref(full(name)) });
  const due = count('due');
  const doneOnTime = count('doneOnTime');
  return {
    agreed: count('agreed'),
    done: count('done'),
    verified: count('verified'),
    open: count('open'),
    overdue: count('overdue'),
    due,
    doneOnTime,
    doneOnTimeShare: due.n ? doneOnTime.n / due.n : null,
    oldestOverdue: oldest ? { id: oldest.id, dueOn: oldest.due_on, childExternalId: oldest.child_external_id, auditReference: oldest.audit_reference } : null,
  };
}

// ——— helpers ———

/** The figures of a breakdown row the tracker cannot filter to (no team or service recorded). */
function unlinked(found: GradeDistribution): GradeDistribution {
  return { ...found, total: withoutLink(found.total), grades: Object.fromEntries(Object.entries(found.grades).map(([grade, value]) => [grade, withoutLink(value)])) as Record<Grade, Figure> };
}

/** The number alone: for a group the tracker cannot filter to. */
function withoutLink(value: Figure): Figure {
  return { n: value.n, href: null };
}

function sum(rows: readonly { n: number }[]): number {
  return rows.reduce((total, row) => total + row.n, 0);
}

function sumBy<K extends string>(rows: readonly (Record<K, string | null> & { n: number })[], key: K): Map<string | null, number> {
  const totals = new Map<string | null, number>();
  for (const row of rows) totals.set(row[key], (totals.get(row[key]) ?? 0) + row.n);
  return totals;
}

function breakdown(map: Map<string | null, Record<string, Figure>>): { id: string | null; figures: Record<string, Figure> }[] {
  return [...map.entries()].map(([id, figures]) => ({ id, figures }));
}
