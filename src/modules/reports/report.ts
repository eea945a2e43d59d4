import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { can, reportScope, type DataScope, type Principal } from '../../platform/access.ts';
import type { FieldError } from '../../platform/errors.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import type { LegalStatus } from '../../db/types.ts';
import { reportFilterOptions, trackerFilterOptions, type TrackerOption } from '../audits/queries.ts';
import { blankToUndefined, feedbackRespondentsFor, GRADE_LABELS, GRADES, gradedSectionsFor, optionalId, stageClockFor } from '../audits/tracker.ts';
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
  return {
    ...(await trackerFilterOptions(db, scope)),
    ...(await reportFilterOptions(db, scope)),
    legalStatuses: LEGAL_STATUSES.map((value) => ({ value, text: LEGAL_STATUS_LABELS[value] })),
  };
}

/** What the measures read for this reader: the report's scope, the filters (with "own units" for a limited scope) and the clock. */
export async function measureContextFor(db: Db, principal: Principal, filters: ReportFilters, today: IsoDate): Promise<MeasureContext> {
  const scope = reportScope(principal);
  return { db, scope, filters: scope.kind === 'limited' ? { ...filters, ownUnits: 'yes' } : filters, today, stageClock: await stageClockFor(db, principal.organisationId) };
}

export async function buildReport(db: Db, principal: Principal, query: Record<string, unknown>, today: IsoDate) {
  const scope = reportScope(principal);
  const options = await reportOptions(db, scope);
  const { period, errors: periodErrors } = parseReportPeriod(query, today);
  const { filters, errors: filterErrors } = parseReportFilters(query, options);
  const context = await measureContextFor(db, principal, filters, today);
  const previous = previousPeriod(period);
  const lastYear = samePeriodLastYear(period);

  const activity = await activityMeasure(context, period);
  const timeliness = await timelinessMeasure(context, period);
  const grades = await gradesMeasure(context, period);
  // This period's distribution is the grades section's own; only the comparisons are counted here.
  const [previousGrades, lastYearGrades] = await gradesOverPeriods(context, [previous, lastYear]);
  const trend = await gradesOverPeriods(context, quartersEnding(period.to, 8));
  const calibration = await calibrationMeasure(context, period);
  const inadequate = await inadequateMeasure(context, period);
  const domains = await domainMeasure(context, period, await gradedSectionsFor(db, principal.organisationId));
  const feedback = await feedbackMeasure(context, period, await feedbackRespondentsFor(db, principal.organisationId));
  const actions = await actionsMeasure(context, period);
  const names = await namesOf(db, principal.organisationId);
  // Compliance with the schedule, for those who may read it (programme.view), as the compliance page counts it.
  const compliance = can(principal, 'programme.view') ? await complianceSection(db, principal, period, filters, today) : null;

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
    themes: await themesMeasure(context, period, previous, can(principal, 'themes.manage')),
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

/** Names of the services, teams, staff, tools and legal statuses a report mentions, by id. */
async function namesOf(db: Db, organisationId: string) {
  const [services, teams, staff, tools] = await Promise.all([
    db.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', organisationId).execute(),
    db.selectFrom('teams').select(['id', 'name']).where('organisation_id', '=', organisationId).execute(),
    db.selectFrom('staff').select(['id', 'full_name as name']).where('organisation_id', '=', organisationId).execute(),
    db.selectFrom('audit_tools').select(['id', 'name']).where('organisation_id', '=', organisationId).execute(),
  ]);
  const byId = (rows: { id: string; name: string }[]) => Object.fromEntries(rows.map((row) => [row.id, row.name]));
  return { services: byId(services), teams: byId(teams), staff: byId(staff), tools: byId(tools), legalStatuses: { ...LEGAL_STATUS_LABELS } as Record<string, string> };
}

export type Report = Awaited<ReturnType<typeof buildReport>>;
