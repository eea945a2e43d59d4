import ExcelJS from 'exceljs';
import { csvDocument, neutralise, type CsvValue } from '../audits/export.ts';
import { allLines, ragText, type Compliance, type ComplianceRow } from './compliance.ts';

/** Compliance as a spreadsheet: one line per service, team and auditor, with the tracker's CSV safety. */

const LEVEL = { service: 'Service', team: 'Team', auditor: 'Auditor' } as const;

const COLUMNS: { header: string; width: number; value: (row: ComplianceRow) => CsvValue }[] = [
  { header: 'Level', width: 10, value: (row) => LEVEL[row.kind] },
  { header: 'Name', width: 28, value: (row) => row.name },
  { header: 'Team', width: 24, value: (row) => row.teamName ?? (row.kind === 'team' ? row.name : null) },
  { header: 'Service', width: 24, value: (row) => (row.kind === 'service' ? row.name : row.serviceName) },
  { header: 'Counted from', width: 13, value: (row) => row.countFrom },
  { header: 'Counted to', width: 13, value: (row) => row.countTo },
  { header: 'Expected', width: 10, value: (row) => row.counts.expected },
  { header: 'Allocated', width: 10, value: (row) => row.counts.allocated },
  { header: 'Completed on time', width: 12, value: (row) => row.counts.completedOnTime },
  { header: 'Completed late', width: 12, value: (row) => row.counts.completedLate },
  { header: 'Overdue', width: 10, value: (row) => row.counts.overdue },
  { header: 'Not yet allocated', width: 12, value: (row) => row.counts.notYetAllocated },
  { header: 'Status', width: 16, value: (row) => ragText(row.rag) },
  { header: 'Why', width: 60, value: (row) => row.reason },
];

export function complianceCsv(compliance: Compliance): string {
  return csvDocument(
    COLUMNS.map((column) => column.header),
    allLines(compliance).map((row) => COLUMNS.map((column) => column.value(row))),
  );
}

export async function complianceXlsx(compliance: Compliance): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Compliance', { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = COLUMNS.map((column) => ({ header: column.header, width: column.width }));
  sheet.getRow(1).font = { bold: true };
  for (const row of allLines(compliance)) {
    sheet.addRow(COLUMNS.map((column) => {
      const value = column.value(row);
      return typeof value === 'string' ? neutralise(value) : value;
    }));
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
