import { PassThrough, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { GRADE_LABELS, STAGE_LABELS, type TrackerAudit } from './tracker.ts';

/**
 * The tracker as a spreadsheet. Anything a person typed (names, IDs) could start like a
 * formula; such text gets a leading apostrophe so a spreadsheet shows it rather than runs it.
 */

/** Includes the full-width forms, which some spreadsheets also treat as formula starts. */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/;

export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

export type CsvValue = string | number | null | undefined;

function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? String(value) : neutralise(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** UTF-8 with a byte-order mark, so Excel reads accented names correctly. */
export const CSV_BOM = '\uFEFF';

export function csvDocument(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return CSV_BOM + csvLine(header) + rows.map(csvLine).join('');
}

/** 'YYYY-MM-DD' of a timestamp as the day it was in the UK. */
export function ukDay(timestamp: string | null): string | null {
  if (!timestamp) return null;
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(timestamp));
}

type Column = { header: string; width: number; value: (audit: TrackerAudit) => string | number | null; date?: boolean };

const label = <K extends string>(labels: Record<K, string>, key: K | null) => (key ? labels[key] : null);

const COLUMNS: Column[] = [
  { header: 'Audit reference', width: 10, value: (a) => a.reference },
  { header: 'Child ID', width: 14, value: (a) => a.childExternalId },
  { header: 'Child initials', width: 10, value: (a) => a.childInitials },
  { header: 'Audit tool', width: 28, value: (a) => a.toolName },
  { header: 'Tool edition', width: 12, value: (a) => a.toolEdition },
  { header: 'Auditor', width: 22, value: (a) => a.auditorName },
  { header: 'Case holder', width: 22, value: (a) => a.caseHolderName },
  { header: 'Team', width: 22, value: (a) => a.teamName },
  { header: 'Service', width: 22, value: (a) => a.serviceName },
  { header: 'Status', width: 18, value: (a) => a.statusLabel },
  { header: 'Allocated', width: 12, value: (a) => a.allocatedOn, date: true },
  // One "due" everywhere: the deadline of the stage the audit is in, the stage named beside it.
  { header: 'Stage', width: 20, value: (a) => STAGE_LABELS[a.stage] },
  { header: 'Due', width: 12, value: (a) => a.dueOn, date: true },
  { header: 'Submitted', width: 12, value: (a) => ukDay(a.submittedAt), date: true },
  { header: 'Moderated', width: 12, value: (a) => ukDay(a.moderatedAt), date: true },
  { header: "Auditor's grade", width: 20, value: (a) => label(GRADE_LABELS, a.auditorGrade) },
  { header: 'Final grade', width: 20, value: (a) => label(GRADE_LABELS, a.finalGrade) },
  { header: 'Overdue', width: 9, value: (a) => (a.overdue ? 'Yes' : 'No') },
];

export function trackerCsv(audits: readonly TrackerAudit[]): string {
  return csvDocument(
    COLUMNS.map((column) => column.header),
    audits.map((audit) => COLUMNS.map((column) => column.value(audit))),
  );
}

/** 'YYYY-MM-DD' as a date cell: Excel dates are days without a zone, so UTC midnight. */
function excelDate(text: string): Date {
  return new Date(`${text}T00:00:00Z`);
}

/**
 * Streams the tracker as an XLSX workbook: a frozen header row, real date cells and text
 * cells neutralised as in the CSV. Rows are committed one by one, never held as a sheet.
 */
export function trackerXlsx(audits: readonly TrackerAudit[]): Readable {
  const stream = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useStyles: true, useSharedStrings: false });
  const write = async () => {
    const sheet = workbook.addWorksheet('Audit tracker', { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = COLUMNS.map((column) => ({
      header: column.header,
      width: column.width,
      ...(column.date ? { style: { numFmt: 'dd/mm/yyyy' } } : {}),
    }));
    sheet.getRow(1).font = { bold: true };
    sheet.getRow(1).commit();
    for (const audit of audits) {
      const values = COLUMNS.map((column) => {
        const value = column.value(audit);
        if (value === null || typeof value === 'number') return value;
        return column.date ? excelDate(value) : neutralise(value);
      });
      sheet.addRow(values).commit();
    }
    sheet.commit();
    await workbook.commit();
  };
  write().catch((error: unknown) => stream.destroy(error as Error));
  return stream;
}
