import ExcelJS from 'exceljs';
import { csvDocument, neutralise } from '../audits/export.ts';
import { COMPLIANCE_SECTION, complianceTables } from './compliance-tables.ts';
import { REPORT_FILTER_KEYS } from './measures.ts';
import { periodValue } from './period.ts';
import type { Report } from './report.ts';
import { sectionTables } from './section-tables.ts';
import { reportTables, type ReportTable } from './tables.ts';
import { themeTables } from './themes.ts';

/**
 * What every output of a report is made of: its tables and its charts, each under a section.
 * The downloads (CSV, XLSX), the issued report and its DOCX and PDF all take these lists, so a
 * section that adds a table here appears in every output with no other change.
 */
export function outputTables(report: Report): ReportTable[] {
  const tables = [...reportTables(report), ...sectionTables(report), ...complianceTables(report), ...themeTables(report)];
  // In the report's own order of sections (the sort is stable: a section's tables keep theirs).
  const rank = (table: ReportTable) => {
    const at = SECTION_ORDER.indexOf(table.section);
    return at === -1 ? SECTION_ORDER.length : at;
  };
  return tables.sort((a, b) => rank(a) - rank(b));
}

/** The sections of the report, in the order the page and the documents give them. */
const SECTION_ORDER = ['Activity', COMPLIANCE_SECTION, 'Grades', 'Moderation and calibration', 'Inadequate audits and re-audits', 'Family feedback', 'Actions', 'Themes'];

/** A chart as an issued report keeps it: the SVG itself, its title and its text description. */
export type ReportChart = { id: string; section: string; title: string; description: string; svg: string; width: number; height: number };

/** Which section each of the report's charts belongs to; a chart not named here goes under its own title. */
const CHART_SECTIONS: Record<string, string> = { grades: 'Grades', trend: 'Grades', timeliness: 'Activity', domains: 'Grades' };

export function outputCharts(report: Report): ReportChart[] {
  return Object.entries(report.charts as Record<string, { title: string; description: string; src: string; width: number; height: number }>).map(([id, chart]) => ({
    id,
    section: CHART_SECTIONS[id] ?? chart.title,
    title: chart.title,
    description: chart.description,
    svg: Buffer.from(chart.src.replace(/^data:image\/svg\+xml;base64,/, ''), 'base64').toString('utf8'),
    width: chart.width,
    height: chart.height,
  }));
}

/** The report's sections in the order their tables and charts first appear. */
export function outputSections(tables: readonly ReportTable[], charts: readonly ReportChart[]): string[] {
  return [...new Set([...tables.map((table) => table.section), ...charts.map((chart) => chart.section)])];
}

/** A whole number or a percentage, written as a number in a spreadsheet. */
const NUMBER = /^-?\d+(\.\d+)?$/;

export function tableCsv(table: ReportTable): string {
  return csvDocument(
    table.columns,
    table.rows.map((row) => row.map((cell) => cell.text)),
  );
}

/**
 * The table as a workbook of one sheet: a bold, frozen header row; counts as numbers,
 * percentages as numbers formatted as percentages, text neutralised as in the CSV.
 */
export async function tableXlsx(table: ReportTable): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Assure';
  // A sheet name is at most 31 characters and cannot hold some punctuation.
  const sheet = workbook.addWorksheet(table.title.replace(/[\\/?*[\]:]/g, ' ').slice(0, 31), { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = table.columns.map((header, index) => ({ header, width: index === 0 ? 40 : Math.max(12, header.length + 2) }));
  sheet.getRow(1).font = { bold: true };
  for (const row of table.rows) {
    const added = sheet.addRow(row.map((cell) => cellValue(cell.text)));
    row.forEach((cell, index) => {
      if (cell.text.endsWith('%') && NUMBER.test(cell.text.slice(0, -1))) added.getCell(index + 1).numFmt = '0.0%';
    });
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

function cellValue(text: string): string | number | null {
  if (text === '') return null;
  if (NUMBER.test(text)) return Number(text);
  // 33.3% is 0.333, not 0.33299999999999996.
  if (text.endsWith('%') && NUMBER.test(text.slice(0, -1))) return Number((Number(text.slice(0, -1)) / 100).toFixed(6));
  return neutralise(text);
}

/** A file name part from a table's id or a period: letters, digits and hyphens. */
export function fileName(...parts: string[]): string {
  return parts
    .map((part) => part.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''))
    .filter(Boolean)
    .join('-');
}

/** The query string that gives this report again: its period and filters. */
export function reportQuery(report: Pick<Report, 'period' | 'filters'>): URLSearchParams {
  const params = new URLSearchParams({ period: periodValue(report.period) });
  if (report.period.kind === 'range') {
    params.set('from', report.period.from);
    params.set('to', report.period.to);
  }
  for (const key of REPORT_FILTER_KEYS) if (report.filters[key]) params.set(key, report.filters[key]);
  return params;
}

/** "; service …, team …" for the activity log: which slice of the organisation was exported. */
export function describeReportFilters(report: Pick<Report, 'filters' | 'names'>): string {
  const parts: string[] = [];
  if (report.filters.service) parts.push(`service ${report.names.services[report.filters.service] ?? report.filters.service}`);
  if (report.filters.team) parts.push(`team ${report.names.teams[report.filters.team] ?? report.filters.team}`);
  if (report.filters.tool) parts.push(`tool ${report.filters.tool}`);
  if (report.filters.locality) parts.push(`locality ${report.filters.locality}`);
  if (report.filters.legalStatus) parts.push(`legal status ${report.filters.legalStatus}`);
  if (report.filters.auditor) parts.push(`auditor ${report.filters.auditor}`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

