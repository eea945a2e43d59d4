import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import { dataScope, type Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { councilName } from '../audits/document/load.ts';
import { ACTIVITY_EVENTS, actionsMeasure, activityMeasure, calibrationMeasure, type MeasureContext } from './measures.ts';
import { describeReportFilters, outputCharts, outputSections, outputTables, reportQuery, type ReportChart } from './outputs.ts';
import { measureContextFor, type Report } from './report.ts';
import type { ReportTable } from './tables.ts';

/**
 * The quarterly QA report: the QA lead's commentary on each section of a report, saved as a
 * draft, then issued. An issued report is frozen: its tables, the data and pictures of its
 * charts, its commentary, who issued it and when are stored as they were, so later changes to
 * audits never change it; issuing the same report again makes a new edition beside it.
 *
 * Who may read an issued report: it holds the figures of its filters within the issuer's
 * reach. A reader with organisation scope reads every issue of their organisation; a reader
 * with a narrower scope reads only issues filtered to a team or service they reach (their
 * team, or a team or service of their service). An organisation-wide issue is for
 * organisation-scope readers only.
 */
export const REPORT_TITLE = 'Quarterly quality assurance report';

export type IssuedSection = { title: string; commentary: string; charts: ReportChart[]; comparison: ReportTable | null; tables: ReportTable[] };
export type IssuedContent = {
  council: string;
  periodLabel: string;
  previousLabel: string;
  lastYearLabel: string;
  filters: string;
  sections: IssuedSection[];
};

/** The key of a report's commentary and editions: its period and filters, as the page's query gives them. */
export function reportKey(report: Pick<Report, 'period' | 'filters'>): string {
  const params = reportQuery(report);
  params.sort();
  return params.toString();
}

/** A section's form field name: "commentary-" and its title in lower case letters and hyphens. */
export function commentaryField(section: string): string {
  return `commentary-${section.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
}

export const MAX_COMMENTARY = 20_000;

export async function findCommentary(db: Db, organisationId: string, key: string): Promise<{ commentary: Record<string, string>; version: number }> {
  const row = await db.selectFrom('report_commentaries').select(['commentary', 'version']).where('organisation_id', '=', organisationId).where('report_key', '=', key).executeTakeFirst();
  return row ? { commentary: row.commentary, version: row.version } : { commentary: {}, version: 0 };
}

export type SaveOutcome = { ok: true; version: number } | { ok: false; current: { commentary: Record<string, string>; version: number } };

/**
 * Saves the commentary if the reader's page was loaded at the version stored now; otherwise
 * refuses it (someone saved meanwhile) and answers with what is stored, writing nothing.
 */
export async function saveCommentary(db: Db, principal: Principal, at: Date, key: string, commentary: Record<string, string>, expectedVersion: number): Promise<SaveOutcome> {
  const organisationId = principal.organisationId;
  if (expectedVersion === 0) {
    const inserted = await db
      .insertInto('report_commentaries')
      .values({ organisation_id: organisationId, report_key: key, commentary: JSON.stringify(commentary), version: 1, updated_by: principal.userId, updated_at: at })
      .onConflict((conflict) => conflict.columns(['organisation_id', 'report_key']).doNothing())
      .returning('version')
      .executeTakeFirst();
    if (inserted) return { ok: true, version: inserted.version };
  } else {
    const updated = await db
      .updateTable('report_commentaries')
      .set({ commentary: JSON.stringify(commentary), version: sql<number>`version + 1`, updated_by: principal.userId, updated_at: at })
      .where('organisation_id', '=', organisationId)
      .where('report_key', '=', key)
      .where('version', '=', expectedVersion)
      .returning('version')
      .executeTakeFirst();
    if (updated) return { ok: true, version: updated.version };
  }
  return { ok: false, current: await findCommentary(db, organisationId, key) };
}

/** The figures a section compares across periods, counted by the report's own measures. */
type PeriodFigures = {
  period: Report['period'];
  activity: Awaited<ReturnType<typeof activityMeasure>>;
  calibration: Awaited<ReturnType<typeof calibrationMeasure>>['overall'];
  actions: Awaited<ReturnType<typeof actionsMeasure>> & { doneOnTimePercent: number | null };
};

async function figuresOf(context: MeasureContext, period: Report['period']): Promise<PeriodFigures> {
  const [actions, activity, calibration] = await Promise.all([actionsMeasure(context, period), activityMeasure(context, period), calibrationMeasure(context, period)]);
  return {
    period,
    activity,
    calibration: calibration.overall,
    actions: { ...actions, doneOnTimePercent: actions.doneOnTimeShare === null ? null : Math.round(actions.doneOnTimeShare * 1000) / 10 },
  };
}

/** Each section's figures beside the previous period's and last year's, where the section has a headline row to compare. */
function comparisons(periods: { label: string; figures: PeriodFigures }[]): Record<string, ReportTable> {
  const cell = (value: string | number | null) => ({ text: value === null ? '' : String(value) });
  const label = (row: (typeof periods)[number]) => [cell(row.label), cell(row.figures.period.label)];
  return {
    Activity: {
      id: 'comparison-activity',
      section: 'Activity',
      title: 'Audits allocated, submitted, moderated and closed, compared',
      columns: ['Period', 'Dates', 'Allocated', 'Submitted', 'Moderated', 'Closed'],
      rows: periods.map((row) => [...label(row), ...ACTIVITY_EVENTS.map((event) => cell(row.figures.activity.totals[event]?.n ?? 0))]),
    },
    'Moderation and calibration': {
      id: 'comparison-calibration',
      section: 'Moderation and calibration',
      title: 'Moderation compared',
      columns: ['Period', 'Dates', 'Moderated', 'Grade kept', 'Raised', 'Lowered', 'Weighted kappa'],
      rows: periods.map((row) => {
        const found = row.figures.calibration;
        return [...label(row), cell(found.total.n), cell(found.kept), cell(found.raised), cell(found.lowered), cell(found.kappa ? found.kappa.kappa.toFixed(2) : null)];
      }),
    },
    Actions: {
      id: 'comparison-actions',
      section: 'Actions',
      title: 'Actions compared',
      columns: ['Period', 'Dates', 'Agreed', 'Done', 'Verified', 'Due', 'Done by their due date'],
      rows: periods.map((row) => {
        const act = row.figures.actions;
        return [...label(row), cell(act.agreed.n), cell(act.done.n), cell(act.verified.n), cell(act.due.n), cell(act.doneOnTimePercent === null ? null : `${act.doneOnTimePercent}%`)];
      }),
    },
  };
}

/** Tables as frozen: the text alone, since a link to the tracker would show today's audits, not the issued figures. */
const frozen = (table: ReportTable): ReportTable => ({ ...table, rows: table.rows.map((row) => row.map((cell) => ({ text: cell.text }))) });

/** The report's content as it will be issued: each section's charts, comparison, tables and commentary. */
export async function issuedContent(db: Db, principal: Principal, report: Report, commentary: Record<string, string>, today: IsoDate): Promise<IssuedContent> {
  // The comparisons are counted in the same scope and with the same filters as the report itself.
  const context = await measureContextFor(db, principal, report.filters, today);
  const thisPeriod: PeriodFigures = { period: report.period, activity: report.activity, calibration: report.calibration.overall, actions: report.actions };
  const [previous, lastYear] = await Promise.all([figuresOf(context, report.previous), figuresOf(context, report.lastYear)]);
  const compared = comparisons([
    { label: 'This period', figures: thisPeriod },
    { label: 'Previous period', figures: previous },
    { label: 'Same period last year', figures: lastYear },
  ]);
  const tables = outputTables(report);
  const charts = outputCharts(report);
  return {
    council: await councilName(db, principal.organisationId),
    periodLabel: report.period.label,
    previousLabel: report.previous.label,
    lastYearLabel: report.lastYear.label,
    filters: describeReportFilters(report).replace(/^; /, ''),
    sections: outputSections(tables, charts).map((title) => ({
      title,
      commentary: commentary[commentaryField(title)] ?? '',
      charts: charts.filter((chart) => chart.section === title),
      comparison: compared[title] ? frozen(compared[title]) : null,
      tables: tables.filter((table) => table.section === title).map(frozen),
    })),
  };
}

/**
 * Issues the report: the commentary is saved (refused if stale, as a save is) and the report
 * frozen as the next edition for its period and filters, in one transaction.
 */
export type IssueOutcome = Extract<SaveOutcome, { ok: false }> | { ok: true; version: number; id: string; edition: number };

export async function issueReport(db: Db, { principal, ipAddress, at }: { principal: Principal; ipAddress: string; at: Date }, today: IsoDate, report: Report, commentary: Record<string, string>, expectedVersion: number): Promise<IssueOutcome> {
  return db.transaction().execute(async (trx): Promise<IssueOutcome> => {
    const key = reportKey(report);
    const saved = await saveCommentary(trx, principal, at, key, commentary, expectedVersion);
    if (!saved.ok) return saved;
    const content = await issuedContent(trx, principal, report, commentary, today);
    const last = await trx
      .selectFrom('issued_reports')
      .select((eb) => eb.fn.max('edition').as('edition'))
      .where('organisation_id', '=', principal.organisationId)
      .where('report_key', '=', key)
      .executeTakeFirst();
    const issued = await trx
      .insertInto('issued_reports')
      .values({
        organisation_id: principal.organisationId,
        report_key: key,
        edition: Number(last?.edition ?? 0) + 1,
        period_label: report.period.label,
        period_from: report.period.from,
        period_to: report.period.to,
        service_id: report.filters.service ?? null,
        team_id: report.filters.team ?? null,
        tool_id: report.filters.tool ?? null,
        content: JSON.stringify(content),
        issued_by: principal.userId,
        issued_by_name: principal.displayName,
        issued_at: at,
      })
      .returning(['id', 'edition'])
      .executeTakeFirstOrThrow();
    await logActivity(trx, { principal, ipAddress, at }, { action: 'create', recordType: 'issued_report', recordId: issued.id, summary: `Issued edition ${issued.edition}: ${report.period.label}` });
    return { ok: true as const, version: saved.version, id: issued.id, edition: issued.edition };
  });
}

/** Issued reports the reader may read (see the top of this file), newest first; `key` narrows to one report's editions. */
export function issuedInReach(db: Db, principal: Principal, key?: string) {
  const scope = dataScope(principal, 'audits.view');
  let query = db
    .selectFrom('issued_reports')
    .select(['id', 'report_key', 'edition', 'period_label', 'period_from', 'period_to', 'service_id', 'team_id', 'tool_id', 'issued_by_name', 'issued_at'])
    .where('organisation_id', '=', principal.organisationId);
  if (key) query = query.where('report_key', '=', key);
  if (scope.kind === 'limited') {
    const { teamIds, serviceIds } = scope;
    query = query.where((eb) =>
      eb.or([
        ...(teamIds.length ? [eb('team_id', 'in', teamIds)] : []),
        ...(serviceIds.length
          ? [eb('service_id', 'in', serviceIds), eb('team_id', 'in', eb.selectFrom('teams').select('id').where('service_id', 'in', serviceIds))]
          : []),
        sql<boolean>`false`,
      ]),
    );
  }
  return query.orderBy('issued_at', 'desc').orderBy('edition', 'desc');
}

export async function findIssued(db: Db, principal: Principal, id: string) {
  const found = await issuedInReach(db, principal).where('id', '=', id).executeTakeFirst();
  if (!found) return null;
  const { content } = await db.selectFrom('issued_reports').select('content').where('id', '=', id).executeTakeFirstOrThrow();
  return { ...found, content: content as IssuedContent };
}
