import { GRADE_LABELS, GRADES } from '../audits/tracker.ts';
import type { Figure } from './measures.ts';
import { ACTIVITY_EVENTS } from './measures.ts';
import type { Report } from './report.ts';

/**
 * The report's data tables, as plain rows of text: what the CSV and XLSX downloads hold, what
 * an issued report freezes, and what its DOCX and PDF print. A cell keeps the link of the
 * figure it shows (the tracker filtered to the audits behind it) for the outputs that can
 * carry one. Each table names the report section it belongs to, so a document can put it
 * under that section's heading and commentary.
 */
export type ReportCell = { text: string; href?: string | null };
export type ReportTable = { id: string; section: string; title: string; columns: string[]; rows: ReportCell[][] };

const EVENT_LABELS = { allocated: 'Allocated', submitted: 'Submitted', moderated: 'Moderated', closed: 'Closed' } as const;

/** Cells of a table, shared by every section's tables (section-tables.ts, themes.ts). */
export const text = (value: string): ReportCell => ({ text: value });
const number = (n: number): ReportCell => ({ text: String(n) });
export const fig = (value: Figure | undefined): ReportCell => (value ? { text: String(value.n), href: value.href } : { text: '0' });
export const share = (value: number | null): ReportCell => ({ text: value === null ? '' : `${Math.round(value * 1000) / 10}%` });
const percent = (value: number | null): ReportCell => ({ text: value === null ? '' : `${value}%` });
const kappa = (value: { kappa: number } | null): ReportCell => ({ text: value ? (Math.round(value.kappa * 100) / 100).toFixed(2) : '' });
const nameOf = (names: Record<string, string>, id: string | null, fallback: string) => (id && names[id]) || fallback;

const GRADE_COLUMNS = [...GRADES.map((grade) => GRADE_LABELS[grade]), 'All graded', 'Good or better'];

function activityTable(report: Report): ReportTable {
  const events = (figures: Record<string, Figure>) => ACTIVITY_EVENTS.map((event) => fig(figures[event]));
  return {
    id: 'activity',
    section: 'Activity',
    title: 'Audits allocated, submitted, moderated and closed in the period',
    columns: ['Where', ...ACTIVITY_EVENTS.map((event) => EVENT_LABELS[event])],
    rows: [
      [text('All'), ...events(report.activity.totals)],
      ...report.activity.byService.map((row) => [text(`Service: ${nameOf(report.names.services, row.id, 'No service recorded')}`), ...events(row.figures)]),
      ...report.activity.byTeam.map((row) => [text(`Team: ${nameOf(report.names.teams, row.id, 'No team recorded')}`), ...events(row.figures)]),
      [text('Overdue today'), fig(report.activity.overdue), text(''), text(''), text('')],
    ],
  };
}

type Distribution = Report['grades']['overall'];
const gradeCells = (row: Distribution) => [...GRADES.map((grade) => fig(row.grades[grade])), fig(row.total), share(row.goodOrBetter)];

function gradeTables(report: Report): ReportTable[] {
  const breakdown = (id: string, title: string, heading: string, rows: (Distribution & { id: string | null })[], names: Record<string, string>, fallback: string): ReportTable => ({
    id,
    section: 'Grades',
    title,
    columns: [heading, ...GRADE_COLUMNS],
    rows: rows.map((row) => [text(nameOf(names, row.id, fallback)), ...gradeCells(row)]),
  });
  return [
    {
      id: 'grades-comparison',
      section: 'Grades',
      title: 'Final grades of audits graded in each period',
      columns: ['Period', 'Dates', ...GRADE_COLUMNS],
      rows: report.comparison.map((row) => [text(row.label), text(row.period.label), ...GRADES.map((grade) => fig(row.grades[grade])), fig(row.total), percent(row.percent)]),
    },
    breakdown('grades-by-service', 'Final grades by service', 'Service', report.grades.byService, report.names.services, 'No service recorded'),
    breakdown('grades-by-team', 'Final grades by team', 'Team', report.grades.byTeam, report.names.teams, 'No team recorded'),
    {
      id: 'grades-trend',
      section: 'Grades',
      title: 'Final grades by quarter',
      columns: ['Quarter', ...GRADE_COLUMNS],
      rows: report.trend.map((row) => [text(row.period.label), ...GRADES.map((grade) => fig(row.grades[grade])), fig(row.total), percent(row.percent)]),
    },
  ];
}

function calibrationTables(report: Report): ReportTable[] {
  const { overall, byAuditor, byModerator } = report.calibration;
  const per = (id: string, title: string, who: string, rows: typeof byAuditor): ReportTable => ({
    id,
    section: 'Moderation and calibration',
    title,
    columns: [who, 'Moderated', 'Grade kept', 'Raised', 'Lowered', 'Weighted kappa'],
    rows: rows.map((row) => [text(nameOf(report.names.staff, row.id, 'Not recorded')), fig(row.total), number(row.kept), number(row.raised), number(row.lowered), kappa(row.kappa)]),
  });
  return [
    {
      id: 'calibration-matrix',
      section: 'Moderation and calibration',
      title: 'Auditor’s grade (rows) against the final grade after moderation (columns)',
      columns: ['Auditor’s grade', ...GRADES.map((grade) => `Final: ${GRADE_LABELS[grade]}`)],
      rows: overall.matrix.map((row, i) => [text(GRADE_LABELS[GRADES[i]!]), ...row.map(fig)]),
    },
    {
      id: 'calibration-summary',
      section: 'Moderation and calibration',
      title: 'Agreement between auditors and moderators',
      columns: ['Moderated', 'Grade kept', 'Raised', 'Lowered', 'Weighted kappa', '95% confidence interval'],
      rows: [
        [
          fig(overall.total),
          number(overall.kept),
          number(overall.raised),
          number(overall.lowered),
          kappa(overall.kappa),
          text(overall.kappa ? `${overall.kappa.low.toFixed(2)} to ${overall.kappa.high.toFixed(2)}` : ''),
        ],
      ],
    },
    per('calibration-by-auditor', 'Moderation of each auditor’s grades', 'Auditor', byAuditor),
    per('calibration-by-moderator', 'Each moderator’s changes', 'Moderator', byModerator),
  ];
}

function actionsTable(report: Report): ReportTable {
  const act = report.actions;
  return {
    id: 'actions',
    section: 'Actions',
    title: 'Actions agreed, done, verified, open and overdue',
    columns: ['Measure', 'Actions'],
    rows: [
      [text('Agreed in the period'), fig(act.agreed)],
      [text('Marked done in the period'), fig(act.done)],
      [text('Verified in the period'), fig(act.verified)],
      [text('Due in the period'), fig(act.due)],
      [text('Due in the period and done by their due date'), fig(act.doneOnTime)],
      [text('Done by their due date (%)'), percent(act.doneOnTimePercent)],
      [text('Open today'), fig(act.open)],
      [text('Overdue today'), fig(act.overdue)],
      [text('Oldest overdue action due on'), text(act.oldestOverdue?.dueOn ?? '')],
    ],
  };
}

/** The tables of the report's sections, in the page's order. */
export function reportTables(report: Report): ReportTable[] {
  return [activityTable(report), ...gradeTables(report), ...calibrationTables(report), actionsTable(report)];
}
