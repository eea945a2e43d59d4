import { PassThrough, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { csvDocument, neutralise, ukDay } from '../audits/export.ts';
import { ACTION_STATUS_LABELS, type ActionView } from './service.ts';

/**
 * Actions as a spreadsheet. The action, evidence and notes are typed by people and may start
 * like a formula: they are neutralised exactly as the audit tracker's export does.
 */

type Column = { header: string; width: number; value: (action: ActionView) => string | number | null; date?: boolean };

const COLUMNS: Column[] = [
  { header: 'Action', width: 50, value: (a) => a.text },
  { header: 'Owner', width: 22, value: (a) => a.ownerName },
  { header: 'Due', width: 12, value: (a) => a.dueOn, date: true },
  { header: 'Status', width: 26, value: (a) => ACTION_STATUS_LABELS[a.status] },
  { header: 'Where it comes from', width: 30, value: (a) => a.sourceLabel },
  { header: 'Overdue', width: 9, value: (a) => (a.overdue ? 'Yes' : 'No') },
  { header: 'Verify by', width: 12, value: (a) => a.verifyBy, date: true },
  { header: 'Due for verification', width: 12, value: (a) => (a.verificationDue ? 'Yes' : 'No') },
  { header: 'Audit reference', width: 10, value: (a) => a.auditReference },
  { header: 'Audit tool', width: 28, value: (a) => a.toolName },
  { header: 'Child ID', width: 14, value: (a) => a.childExternalId },
  { header: 'Child initials', width: 10, value: (a) => a.childInitials },
  { header: 'Team', width: 22, value: (a) => a.teamName },
  { header: 'Done on', width: 12, value: (a) => ukDay(a.doneAt), date: true },
  { header: 'Marked done by', width: 22, value: (a) => a.doneByName },
  { header: 'Evidence', width: 50, value: (a) => a.evidence },
  { header: 'Verified on', width: 12, value: (a) => ukDay(a.verifiedAt), date: true },
  { header: 'Verified by', width: 22, value: (a) => a.verifiedByName },
  { header: 'Verification note', width: 50, value: (a) => a.verificationNote },
];

export function actionsCsv(actions: readonly ActionView[]): string {
  return csvDocument(
    COLUMNS.map((column) => column.header),
    actions.map((action) => COLUMNS.map((column) => column.value(action))),
  );
}

/** Streams the actions as an XLSX workbook: frozen header, real date cells, neutralised text. */
export function actionsXlsx(actions: readonly ActionView[]): Readable {
  const stream = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useStyles: true, useSharedStrings: false });
  const write = async () => {
    const sheet = workbook.addWorksheet('Actions', { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = COLUMNS.map((column) => ({ header: column.header, width: column.width, ...(column.date ? { style: { numFmt: 'dd/mm/yyyy' } } : {}) }));
    sheet.getRow(1).font = { bold: true };
    sheet.getRow(1).commit();
    for (const action of actions) {
      const values = COLUMNS.map((column) => {
        const value = column.value(action);
        if (value === null || typeof value === 'number') return value;
        return column.date ? new Date(`${value}T00:00:00Z`) : neutralise(value);
      });
      sheet.addRow(values).commit();
    }
    sheet.commit();
    await workbook.commit();
  };
  write().catch((error: unknown) => stream.destroy(error as Error));
  return stream;
}
