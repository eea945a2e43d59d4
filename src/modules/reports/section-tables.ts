import { GRADE_LABELS, GRADES } from '../audits/tracker.ts';
import { fig as figure, share as percent, text, type ReportTable } from './tables.ts';
import { SCORES, type Figure, type GradeDistribution } from './measures.ts';
import { STAGE_NAMES, type Report } from './report.ts';

/**
 * The data tables of the report's sections on stage timeliness, grades by legal status, by tool
 * and by practice domain (with moderation by domain), Inadequate audits and re-audits, and family
 * feedback, in one generic shape that the exports (DOCX, PDF,
 * CSV, XLSX) lay out. A cell keeps the figure's drill-down link, so an export can link each
 * number to the tracker as the page does (a count of judgements or of family respondents links to
 * the audits that have one).
 */

type Cell = ReportTable['rows'][number][number];

export function sectionTables(report: Report): ReportTable[] {
  return [
    timelinessTable(report),
    gradesTable(report, 'legal-status'),
    gradesTable(report, 'tool'),
    domainOfstedTable(report),
    ...report.domains.ownScales.map(ownScaleTable),
    domainCalibrationTable(report),
    inadequateTable(report),
    reAuditTable(report),
    ...feedbackTables(report),
  ];
}

function feedbackTables(report: Report): ReportTable[] {
  const { rows, reasons } = report.feedback;
  return [
    {
      id: 'feedback-respondents',
      section: 'Family feedback',
      title: 'Family feedback by respondent',
      columns: ['Respondent', 'Asked', 'Obtained', 'Not obtained', '% obtained', 'Median score (0 to 10)'],
      rows: rows.map((row) => [text(row.label), figure(row.asked), figure(row.obtained), figure(row.notObtained), percent(row.obtainedShare), text(row.medianScore === null ? '—' : String(row.medianScore))]),
    },
    {
      id: 'feedback-not-obtained',
      section: 'Family feedback',
      title: 'Why feedback was not obtained',
      columns: ['Reason', ...rows.map((row) => row.label)],
      rows: reasons.map((reason) => [text(reason.label), ...rows.map((row) => figure(row.reasons[reason.value]!))]),
    },
    {
      id: 'feedback-scaling',
      section: 'Family feedback',
      title: 'Scaling answers, 0 to 10, by respondent',
      columns: ['Respondent', ...SCORES.map(String)],
      rows: rows.map((row) => [text(row.label), ...row.scores.map(figure)]),
    },
  ];
}

/** A judgement count: its link lists the audits that have such a judgement. */
const judgements = (value: Figure): Cell => figure(value);

function domainOfstedTable(report: Report): ReportTable {
  return {
    id: 'domains-ofsted',
    section: 'Grades',
    title: 'Section judgements by practice domain, on the Ofsted scale',
    columns: ['Practice domain', ...GRADES.map((grade) => GRADE_LABELS[grade]), 'All judgements', 'Good or better'],
    rows: report.domains.ofsted.map((row) => [text(row.label), ...GRADES.map((grade) => judgements(row.cells[grade]!)), text(String(row.total)), percent(row.goodOrBetter)]),
  };
}

function ownScaleTable(scale: Report['domains']['ownScales'][number]): ReportTable {
  return {
    id: `domains-scale-${scale.scaleId}`,
    section: 'Grades',
    title: `Section judgements on the ${scale.label} scale, by practice domain`,
    columns: ['Practice domain', ...scale.options.map((option) => option.label), 'All judgements'],
    rows: scale.rows.map((row) => [text(row.label), ...scale.options.map((option) => judgements(row.cells[option.key]!)), text(String(row.total))]),
  };
}

function domainCalibrationTable(report: Report): ReportTable {
  const round = (value: number) => (Math.round(value * 100) / 100).toString();
  return {
    id: 'domains-moderation',
    section: 'Moderation and calibration',
    title: 'Moderation of section judgements, by practice domain',
    columns: ['Practice domain', 'Judgements moderated', 'Kept', 'Raised', 'Lowered', 'Weighted kappa', '95% confidence interval'],
    rows: report.domains.calibration.map((row) => [
      text(row.label),
      text(String(row.total)),
      text(String(row.kept)),
      text(String(row.raised)),
      text(String(row.lowered)),
      text(row.kappa ? round(row.kappa.kappa) : '—'),
      text(row.kappa ? `${round(row.kappa.low)} to ${round(row.kappa.high)}` : '—'),
    ]),
  };
}

function timelinessTable(report: Report): ReportTable {
  return {
    id: 'stage-timeliness',
    section: 'Activity',
    title: 'Stages ended in the period, within their timescale or late',
    columns: ['Stage', 'Timescale', 'Ended', 'On time', 'Late', '% on time', 'Median working days'],
    rows: report.timeliness.map((row) => [
      text(STAGE_NAMES[row.stage]),
      text(row.days === null ? 'By the due date set at allocation' : `${row.days} working days`),
      figure(row.ended),
      figure(row.onTime),
      figure(row.late),
      percent(row.onTimeShare),
      text(row.medianWorkingDays === null ? '—' : String(row.medianWorkingDays)),
    ]),
  };
}

function gradesTable(report: Report, by: 'legal-status' | 'tool'): ReportTable {
  const rows = by === 'tool' ? report.grades.byTool : report.grades.byLegalStatus;
  const names: Record<string, string> = by === 'tool' ? report.names.tools : report.names.legalStatuses;
  const heading = by === 'tool' ? 'Audit tool' : 'Legal status';
  return {
    id: `grades-by-${by}`,
    section: 'Grades',
    title: `Final grades by ${heading.toLowerCase()}`,
    columns: [heading, ...GRADES.map((grade) => GRADE_LABELS[grade]), 'All graded', 'Good or better'],
    rows: rows.map((row: GradeDistribution & { id: string | null }) => [
      text((row.id && names[row.id]) || 'Not recorded'),
      ...GRADES.map((grade) => figure(row.grades[grade])),
      figure(row.total),
      percent(row.goodOrBetter),
    ]),
  };
}

function inadequateTable(report: Report): ReportTable {
  const inadequate = report.inadequate;
  return {
    id: 'inadequate',
    section: 'Inadequate audits and re-audits',
    title: 'Inadequate audits and case directions',
    columns: ['What', 'Audits'],
    rows: [
      [text('Graded Inadequate by the auditor (submitted in the period)'), figure(inadequate.auditorInadequate)],
      [text('Inadequate after moderation (moderated in the period)'), figure(inadequate.finalInadequate)],
      [text('Case direction given in the period'), figure(inadequate.directed)],
      [text('Case direction reviewed in the period'), figure(inadequate.directionReviewed)],
      [text('Case direction review overdue today'), figure(inadequate.directionReviewOverdue)],
    ],
  };
}

function reAuditTable(report: Report): ReportTable {
  const { reAuditOutcomes, reAudits } = report.inadequate;
  return {
    id: 're-audits',
    section: 'Inadequate audits and re-audits',
    title: 'Re-audits moderated in the period, against the first audit’s final grade',
    columns: ['Outcome', 'Re-audits'],
    rows: [
      [text('Improved'), figure(reAuditOutcomes.improved)],
      [text('Same grade'), figure(reAuditOutcomes.same)],
      [text('Worse'), figure(reAuditOutcomes.worse)],
      [text('All re-audits moderated'), figure(reAudits)],
    ],
  };
}
