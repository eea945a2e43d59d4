import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { can, reportScope, type DataScope, type Principal } from '../../platform/access.ts';
import type { FieldError } from '../../platform/errors.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import type { LegalStatus } from '../../db/types.ts';
import { reportFilterOptions, selectEditionDefinitions, trackerFilterOptions, type TrackerOption } from '../audits/queries.ts';
import { gradedSections } from '../audits/domain-judgements.ts';
import { feedbackRespondents } from '../audits/feedback-answers.ts';
import { blankToUndefined, GRADE_LABELS, GRADES, optionalId, stageClockFor } from '../audits/tracker.ts';
import { LEGAL_STATUSES, LEGAL_STATUS_LABELS } from '../children/extract.ts';
import { barChart, lineChart, type Chart } from './charts.ts';
import { SMALL_NUMBERS } from './kappa.ts';
import {
  actionsMeasure,
  activityMeasure,
  calibrationMeasure,
  gradesMeasure,
  gradesOverPeriods,
  domainMeasure,
  feedbackMeasure,
  inadequateMeasure,
  timelinessMeasure,
  type GradeDistribution,
  type MeasureContext,
  type ReportFilters,
} from './measures.ts';
import { complianceSection } from '../programme/compliance.ts';
import { themesMeasure } from './themes.ts';
import { parseReportPeriod, previousPeriod, quartersEnding, samePeriodLastYear, type ReportPeriod } from './period.ts';

/**
 * A report as a reader sees it: the period, its comparisons and each section's figures,
 * charts and names. Its scope is `reportScope` (access.ts): the organisation, or the reader's
 * services and teams alone; for the latter every figure's link carries the tracker's "your
 * services and teams only" filter, so it opens the tracker on exactly the audits counted.
 */

const filterSchema = z.object({
  service: optionalId('Choose a service from the list'),
  team: optionalId('Choose a team from the list'),
  tool: optionalId('Choose an audit tool from the list'),
  locality: optionalId('Choose a locality from the list'),
  legalStatus: z.preprocess(blankToUndefined, z.enum(LEGAL_STATUSES as unknown as [LegalStatus, ...LegalStatus[]], { error: 'Choose a legal status from the list' }).optional()),
  auditor: optionalId('Choose an auditor from the list'),
});

type Options = { services: TrackerOption[]; teams: TrackerOption[]; tools: TrackerOption[]; localities: TrackerOption[]; auditors: TrackerOption[]; legalStatuses: TrackerOption[] };

const ID_FILTERS = ['service', 'team', 'tool', 'locality', 'auditor'] as const;

/** The report's filters from a query string; a value not among the reader's choices is refused by name. */
export function parseReportFilters(query: Record<string, unknown>, options: Options): { filters: ReportFilters; errors: FieldError[] } {
  const parsed = filterSchema.safeParse({ service: query.service, team: query.team, tool: query.tool, locality: query.locality, legalStatus: query.legalStatus, auditor: query.auditor });
  const errors: FieldError[] = parsed.success ? [] : parsed.error.issues.map((issue) => ({ field: String(issue.path[0]), message: issue.message }));
  const filters: ReportFilters = {};
  if (parsed.success) {
    const known = { service: options.services, team: options.teams, tool: options.tools, locality: options.localities, auditor: options.auditors } as const;
    const labels = { service: 'a service', team: 'a team', tool: 'an audit tool', locality: 'a locality', auditor: 'an auditor' } as const;
    for (const key of ID_FILTERS) {
      const value = parsed.data[key];
      if (!value) continue;
      if (known[key].some((option) => option.value === value)) filters[key] = value;
      else errors.push({ field: key, message: `Choose ${labels[key]} from the list` });
    }
    if (parsed.data.legalStatus) filters.legalStatus = parsed.data.legalStatus;
  }
  return { filters, errors };
}

const percent = (share: number | null) => (share === null ? null : Math.round(share * 1000) / 10);

/** The choices of each report filter within the reader's reach. */
export async function reportOptions(db: Db, scope: DataScope): Promise<Options> {
  const [tracker, report] = await Promise.all([trackerFilterOptions(db, scope), reportFilterOptions(db, scope)]);
  return {
    ...tracker,
    ...report,
    legalStatuses: LEGAL_STATUSES.map((value) => ({ value, text: LEGAL_STATUS_LABELS[value] })),
  };
}

/** What the measures read for this reader: the report's scope, the filters (with "own units" for a limited scope) and the clock. */
export async function measureContextFor(db: Db, principal: Principal, filters: ReportFilters, today: IsoDate): Promise<MeasureContext> {
  const scope = reportScope(principal);
  return { db, scope, filters: withOwnUnits(scope, filters), today, stageClock: await stageClockFor(db, principal.organisationId) };
}

/** A service or team scope counts its own units alone, through the tracker filter its links carry. */
const withOwnUnits = (scope: DataScope, filters: ReportFilters): ReportFilters => (scope.kind === 'limited' ? { ...filters, ownUnits: 'yes' } : filters);

export async function buildReport(db: Db, principal: Principal, query: Record<string, unknown>, today: IsoDate) {
  const scope = reportScope(principal);
  const organisationId = principal.organisationId;
  const { period, errors: periodErrors } = parseReportPeriod(query, today);
  // What the sections need first, asked together: the filters' choices, the timescales, the tool files and the names.
  const [options, stageClock, editions, names] = await Promise.all([reportOptions(db, scope), stageClockFor(db, organisationId), selectEditionDefinitions(db, organisationId), namesOf(db, organisationId)]);
  const { filters, errors: filterErrors } = parseReportFilters(query, options);
  const context: MeasureContext = { db, scope, filters: withOwnUnits(scope, filters), today, stageClock };
  const previous = previousPeriod(period);
  const lastYear = samePeriodLastYear(period);
  const sections = editions.flatMap((edition) => gradedSections(edition.id, edition.definition));
  const respondents = editions.flatMap((edition) => feedbackRespondents(edition.id, edition.definition));

  // Each section asks for its figures in one statement (the actions two), and the sections ask together.
  const [activity, timeliness, grades, compared, calibration, inadequate, domains, feedback, actions, themes, compliance] = await Promise.all([
    activityMeasure(context, period),
    timelinessMeasure(context, period),
    gradesMeasure(context, period),
    // This period's distribution is the grades section's own; only the comparisons and the trend are counted here.
    gradesOverPeriods(context, [previous, lastYear, ...quartersEnding(period.to, 8)]),
    calibrationMeasure(context, period),
    inadequateMeasure(context, period),
    domainMeasure(context, period, sections),
    feedbackMeasure(context, period, respondents),
    actionsMeasure(context, period),
    themesMeasure(context, period, previous, can(principal, 'themes.manage'), editions),
    // Compliance with the schedule, for those who may read it (programme.view), as the compliance page counts it.
    can(principal, 'programme.view') ? complianceSection(db, principal, period, filters, today) : null,
  ]);
  const [previousGrades, lastYearGrades, ...trend] = compared;

  return {
    period,
    previous,
    lastYear,
    /** The services and teams a limited report counts, by name; null for the organisation. */
    reach: scope.kind === 'limited' ? [...scope.serviceIds.map((id) => names.services[id]), ...scope.teamIds.map((id) => names.teams[id])].filter((name): name is string => Boolean(name)) : null,
    filters,
    options,
    errors: [...periodErrors, ...filterErrors],
    names,
    activity,
    timeliness: timeliness.map((stage) => ({ ...stage, percent: percent(stage.onTimeShare), small: stage.ended.n > 0 && stage.ended.n < SMALL_NUMBERS })),
    grades,
    comparison: [
      { label: 'This period', period, ...grades.overall, percent: percent(grades.overall.goodOrBetter) },
      { label: 'Previous period', ...previousGrades!, percent: percent(previousGrades!.goodOrBetter) },
      { label: 'Same period last year', ...lastYearGrades!, percent: percent(lastYearGrades!.goodOrBetter) },
    ],
    trend: trend.map((quarter) => ({ ...quarter, percent: percent(quarter.goodOrBetter), small: quarter.total.n < SMALL_NUMBERS })),
    calibration,
    inadequate,
    domains,
    feedback,
    /** Actions are narrowed by service, team and tool only: the actions list has no locality, legal status or auditor filter. */
    actionsNotNarrowedBy: [filters.locality && 'locality', filters.legalStatus && 'legal status', filters.auditor && 'auditor'].filter(Boolean) as string[],
    actions: { ...actions, doneOnTimePercent: percent(actions.doneOnTimeShare) },
    compliance,
    /** Compliance is narrowed by service and team only: its lines are services, teams and auditors. */
    complianceNotNarrowedBy: [filters.tool && 'audit tool', filters.locality && 'locality', filters.legalStatus && 'legal status', filters.auditor && 'auditor'].filter(Boolean) as string[],
    themes,
    charts: { ...charts(grades.overall, previousGrades!, lastYearGrades!, trend, period), timeliness: timelinessChart(timeliness), domains: domainChart(domains.ofsted) },
    smallNumbers: SMALL_NUMBERS,
  };
}

function charts(current: GradeDistribution, previous: GradeDistribution & { period: ReportPeriod }, lastYear: GradeDistribution & { period: ReportPeriod }, trend: (GradeDistribution & { period: ReportPeriod })[], period: ReportPeriod) {
  const share = (found: GradeDistribution) => GRADES.map((grade) => (found.total.n ? Math.round((found.grades[grade].n / found.total.n) * 1000) / 10 : null));
  const described = (found: GradeDistribution, label: string) =>
    found.total.n
      ? `${label}: ${GRADES.map((grade) => `${GRADE_LABELS[grade]} ${found.grades[grade].n}`).join(', ')} of ${found.total.n} audits`
      : `${label}: no audits graded`;
  const grades: Chart = barChart({
    title: 'Final grades',
    description: [described(current, `This period (${period.label})`), described(previous, `previous period (${previous.period.label})`), described(lastYear, `same period last year (${lastYear.period.label})`)].join('; '),
    categories: GRADES.map((grade) => GRADE_LABELS[grade]),
    series: [
      { name: 'This period', values: share(current) },
      { name: 'Previous period', values: share(previous) },
      { name: 'Same period last year', values: share(lastYear) },
    ],
    unit: '%',
  });
  const shortLabel = (quarter: ReportPeriod) => quarter.label.replace(/ \(.*\)$/, '');
  const trendChart: Chart = lineChart({
    title: 'Audits graded Good or better, by quarter',
    description: trend.map((quarter) => `${shortLabel(quarter.period)}: ${quarter.total.n ? `${percent(quarter.goodOrBetter)}% of ${quarter.total.n}` : 'no audits'}`).join('; '),
    categories: trend.map((quarter) => shortLabel(quarter.period).replace(/^(Q\d) /, '$1\n')),
    values: trend.map((quarter) => percent(quarter.goodOrBetter)),
    unit: '%',
    max: 100,
  });
  return { grades, trend: trendChart };
}

export const STAGE_NAMES = { auditor: 'Auditor’s stage', moderation: 'Moderation', distribution: 'Distribution', feedback: 'Practitioner feedback' } as const;

function timelinessChart(stages: Awaited<ReturnType<typeof timelinessMeasure>>): Chart {
  return barChart({
    title: 'Stages completed within their timescale',
    description: stages
      .map((stage) => `${STAGE_NAMES[stage.stage]}: ${stage.ended.n ? `${percent(stage.onTimeShare)}% of ${stage.ended.n} on time` : 'none ended in the period'}`)
      .join('; '),
    categories: stages.map((stage) => STAGE_NAMES[stage.stage]),
    series: [{ name: 'On time', values: stages.map((stage) => percent(stage.onTimeShare)) }],
    unit: '%',
  });
}

function domainChart(rows: Awaited<ReturnType<typeof domainMeasure>>['ofsted']): Chart {
  return barChart({
    title: 'Section judgements Good or better, by practice domain',
    description: rows.length ? rows.map((row) => `${row.label}: ${percent(row.goodOrBetter)}% of ${row.total}`).join('; ') : 'No section judgements on the Ofsted scale in the period',
    categories: rows.map((row) => row.label),
    series: [{ name: 'Good or better', values: rows.map((row) => percent(row.goodOrBetter)) }],
    unit: '%',
  });
}

/** Names of the services, teams, staff, tools and legal statuses a report mentions, by id: one statement. */
async function namesOf(db: Db, organisationId: string) {
  const of = (table: 'services' | 'teams' | 'audit_tools') => db.selectFrom(table).select(['id', 'name']).where('organisation_id', '=', organisationId);
  const row = await db
    .selectNoFrom([
      jsonArrayFrom(of('services')).as('services'),
      jsonArrayFrom(of('teams')).as('teams'),
      jsonArrayFrom(db.selectFrom('staff').select(['id', 'full_name as name']).where('organisation_id', '=', organisationId)).as('staff'),
      jsonArrayFrom(of('audit_tools')).as('tools'),
    ])
    .executeTakeFirstOrThrow();
  const byId = (rows: { id: string; name: string }[]) => Object.fromEntries(rows.map((entry) => [entry.id, entry.name]));
  return { services: byId(row.services), teams: byId(row.teams), staff: byId(row.staff), tools: byId(row.tools), legalStatuses: { ...LEGAL_STATUS_LABELS } as Record<string, string> };
}

export type Report = Awaited<ReturnType<typeof buildReport>>;
