import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { can, dataScope, type Principal } from '../../platform/access.ts';
import type { FieldError } from '../../platform/errors.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { trackerFilterOptions, type TrackerOption } from '../audits/queries.ts';
import { GRADE_LABELS, GRADES, optionalId } from '../audits/tracker.ts';
import { barChart, lineChart, type Chart } from './charts.ts';
import { SMALL_NUMBERS } from './kappa.ts';
import { actionsMeasure, activityMeasure, calibrationMeasure, gradesMeasure, gradesOverPeriods, type GradeDistribution, type MeasureContext, type ReportFilters } from './measures.ts';
import { themesMeasure } from './themes.ts';
import { parseReportPeriod, previousPeriod, quartersEnding, samePeriodLastYear, type ReportPeriod } from './period.ts';

/**
 * A report as a reader sees it: the period, its comparisons and each section's figures,
 * charts and names. Scope is the tracker's (`audits.view`), so every figure's link opens the
 * tracker on exactly the audits counted.
 */

const filterSchema = z.object({
  service: optionalId('Choose a service from the list'),
  team: optionalId('Choose a team from the list'),
  tool: optionalId('Choose an audit tool from the list'),
});

type Options = { services: TrackerOption[]; teams: TrackerOption[]; tools: TrackerOption[] };

/** The report's filters from a query string; a value not among the reader's choices is refused by name. */
export function parseReportFilters(query: Record<string, unknown>, options: Options): { filters: ReportFilters; errors: FieldError[] } {
  const parsed = filterSchema.safeParse({ service: query.service, team: query.team, tool: query.tool });
  const errors: FieldError[] = parsed.success ? [] : parsed.error.issues.map((issue) => ({ field: String(issue.path[0]), message: issue.message }));
  const filters: ReportFilters = {};
  if (parsed.success) {
    const known = { service: options.services, team: options.teams, tool: options.tools } as const;
    const labels = { service: 'a service', team: 'a team', tool: 'an audit tool' } as const;
    for (const key of ['service', 'team', 'tool'] as const) {
      const value = parsed.data[key];
      if (!value) continue;
      if (known[key].some((option) => option.value === value)) filters[key] = value;
      else errors.push({ field: key, message: `Choose ${labels[key]} from the list` });
    }
  }
  return { filters, errors };
}

const percent = (share: number | null) => (share === null ? null : Math.round(share * 1000) / 10);

export async function buildReport(db: Db, principal: Principal, query: Record<string, unknown>, today: IsoDate) {
  const scope = dataScope(principal, 'audits.view');
  const options = await trackerFilterOptions(db, scope);
  const { period, errors: periodErrors } = parseReportPeriod(query, today);
  const { filters, errors: filterErrors } = parseReportFilters(query, options);
  const context: MeasureContext = { db, scope, filters, today };
  const previous = previousPeriod(period);
  const lastYear = samePeriodLastYear(period);

  const activity = await activityMeasure(context, period);
  const grades = await gradesMeasure(context, period);
  // This period's distribution is the grades section's own; only the comparisons are counted here.
  const [previousGrades, lastYearGrades] = await gradesOverPeriods(context, [previous, lastYear]);
  const trend = await gradesOverPeriods(context, quartersEnding(period.to, 8));
  const calibration = await calibrationMeasure(context, period);
  const actions = await actionsMeasure(context, period);
  const names = await namesOf(db, principal.organisationId);

  return {
    period,
    previous,
    lastYear,
    filters,
    options,
    errors: [...periodErrors, ...filterErrors],
    names,
    activity,
    grades,
    comparison: [
      { label: 'This period', period, ...grades.overall, percent: percent(grades.overall.goodOrBetter) },
      { label: 'Previous period', ...previousGrades!, percent: percent(previousGrades!.goodOrBetter) },
      { label: 'Same period last year', ...lastYearGrades!, percent: percent(lastYearGrades!.goodOrBetter) },
    ],
    trend: trend.map((quarter) => ({ ...quarter, percent: percent(quarter.goodOrBetter), small: quarter.total.n < SMALL_NUMBERS })),
    calibration,
    actions: { ...actions, doneOnTimePercent: percent(actions.doneOnTimeShare) },
    themes: await themesMeasure(context, period, previous, can(principal, 'themes.manage')),
    charts: charts(grades.overall, previousGrades!, lastYearGrades!, trend, period),
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

/** Names of the services, teams and staff a report mentions, by id. */
async function namesOf(db: Db, organisationId: string) {
  const [services, teams, staff] = await Promise.all([
    db.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', organisationId).execute(),
    db.selectFrom('teams').select(['id', 'name']).where('organisation_id', '=', organisationId).execute(),
    db.selectFrom('staff').select(['id', 'full_name as name']).where('organisation_id', '=', organisationId).execute(),
  ]);
  const byId = (rows: { id: string; name: string }[]) => Object.fromEntries(rows.map((row) => [row.id, row.name]));
  return { services: byId(services), teams: byId(teams), staff: byId(staff) };
}

export type Report = Awaited<ReturnType<typeof buildReport>>;
