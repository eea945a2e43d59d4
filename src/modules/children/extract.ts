/**
 * Reading a council's case-management extract (the child register) from CSV or XLSX: a
 * case system's export, or an Ofsted Annex A workbook with Lists 6–9 on their own sheets.
 *
 * Pure and database-free: it streams the file, says which sheets it reads and which it skips
 * (and why) before any row, matches each sheet's headers loosely, normalises each row and
 * yields either a valid row or every error of the row. The caller stores the rows and resolves
 * workers and teams. Memory stays flat: rows are never collected, only a map of the case IDs
 * already seen in a sheet (to report duplicates).
 */
import type { Readable } from 'node:stream';
import { CsvError } from 'csv-parse';
import { z } from 'zod';
import type { Gender, LegalStatus } from '../../db/types.ts';
import {
  LEGAL_STATUSES,
  LEGAL_STATUS_LABELS,
  LIST_LEGAL_STATUS,
  SOURCE_LIST_LABELS,
  codeKey,
  codes,
  identifyList,
  legalStatusOnList,
  listByName,
  normaliseHeader,
  type SourceList,
} from './annex-a.ts';
import { csvRows, hasZipDirectory, newWorkbookFacts, sniffInput, spoolWorkbook, worksheets, type Cell, type FileKind, type SourceRow, type WorkbookFacts } from './extract-source.ts';

export type { Gender, LegalStatus, SourceList };
export { LEGAL_STATUSES, LEGAL_STATUS_LABELS, SOURCE_LIST_LABELS, identifyList, normaliseHeader };

export type ExtractFormat = 'csv' | 'xlsx';

export type ExtractRow = {
  rowNumber: number;
  /** The sheet the row is on; a CSV is one sheet, named by `ExtractOptions.name`. */
  sheet: string;
  /** The Annex A list the sheet is; null for a case system's own extract. */
  sourceList: SourceList | null;
  externalId: string;
  /** Annex A carries no initials: a child without them is shown by case ID. */
  initials: string | null;
  dateOfBirth: string | null;
  gender: Gender | null;
  ethnicity: string | null;
  legalStatus: LegalStatus;
  allocatedWorker: string | null;
  allocatedTeam: string | null;
  openDate: string | null;
  closeDate: string | null;
  referralFactors: string[];
  /** The fields the row's sheet has no column for (see `absentFields`): applying the row keeps the child's own. */
  absentFields: number;
};

/**
 * `column` is the header as written in the file, or the field's label when the column is
 * missing. `sheet` names the workbook sheet; it is null for a CSV (one sheet) and for faults of
 * the whole file.
 */
export type RowError = { sheet: string | null; rowNumber: number; column: string; value: string; reason: string };

export type SheetPlan = {
  read: { name: string; list: ExtractRow['sourceList'] }[];
  skipped: { name: string; reason: string }[];
};

export type ExtractEvent =
  /** Once, first: every sheet of the file, read (with its list) or skipped (and why). */
  | ({ kind: 'sheets' } & SheetPlan)
  /** Once per sheet read, after its header row: the columns used and ignored. */
  | { kind: 'columns'; sheet: string; columns: HeaderMatch }
  | { kind: 'row'; row: ExtractRow }
  /** A row with errors, its failed fields at their fallbacks: for the caller's own checks (team, worker), never to store. */
  | { kind: 'rejected'; row: ExtractRow }
  | { kind: 'error'; error: RowError }
  | { kind: 'progress'; rowsRead: number };

export type ExtractOptions = {
  /** The format the file's name claims; what its bytes are decides how it is read. */
  format: ExtractFormat;
  /** ISO date that dates of birth may not be after; defaults to today in the UK. */
  today?: string;
  /** The file's name (`List 8 - children in care.csv`): names a CSV's sheet and may say its list. */
  name?: string;
};

// ---------------------------------------------------------------------------------------------
// Headers

export const EXTRACT_FIELDS = [
  'externalId',
  'initials',
  'dateOfBirth',
  'gender',
  'ethnicity',
  'legalStatus',
  'allocatedWorker',
  'allocatedTeam',
  'openDate',
  'closeDate',
  'referralFactors',
] as const;

export type ExtractField = (typeof EXTRACT_FIELDS)[number];

/**
 * The fields whose register value a row keeps when its sheet has no column for them: a file
 * without a date-of-birth column says nothing about dates of birth. (The legal status always
 * has a value, from its column or from the list; a child listed without a close date is open.)
 */
export const KEPT_WHEN_ABSENT = ['initials', 'dateOfBirth', 'gender', 'ethnicity', 'allocatedWorker', 'allocatedTeam', 'openDate', 'referralFactors'] as const satisfies readonly ExtractField[];

/** The fields of KEPT_WHEN_ABSENT a sheet has no column for, a bit each (bit i for the i-th). */
export function absentFields(mapping: Partial<Record<ExtractField, unknown>>): number {
  return KEPT_WHEN_ABSENT.reduce((mask, field, i) => (mapping[field] ? mask : mask | (1 << i)), 0);
}

/**
 * Header texts accepted for each field, the first being the label shown to users. They cover
 * the column names councils use in Ofsted Annex A lists 6 (CIN), 7 (CP), 8 (children in care)
 * and 9 (care leavers) and in the common case-management systems' exports.
 */
export const HEADER_ALIASES: Readonly<Record<ExtractField, readonly string[]>> = {
  externalId: ['External case ID', 'Case ID', 'Child ID', 'Child Unique ID', 'Unique child ID', 'ID', 'Person ID', 'LCS ID', 'Mosaic ID'],
  initials: ['Initials', 'Child initials'],
  dateOfBirth: ['Date of birth', 'DOB'],
  gender: ['Gender', 'Sex'],
  ethnicity: ['Ethnicity'],
  legalStatus: ['Legal status', 'Category', 'Case Status', "Child's Legal Status", 'Legal status / category', 'Eligibility category'],
  allocatedWorker: ['Allocated worker', 'Worker', 'Case holder', 'Caseholder'],
  allocatedTeam: ['Allocated team', 'Team'],
  openDate: ['Open date', 'Referral date', 'Date of referral', 'Start date', 'Case open date', 'Date case opened'],
  closeDate: ['Close date', 'Closure date', 'Case closure date', 'Date case closed', 'End date'],
  referralFactors: ['Main referral factors', 'Referral factors', 'Factors identified at the end of assessment', 'Assessment factors'],
};

/** A case ID always; a legal status unless the sheet is an Annex A list, which implies it. */
export function requiredFields(list: SourceList | null = null): readonly ExtractField[] {
  return list ? ['externalId'] : ['externalId', 'legalStatus'];
}

/** The fields a case system's extract must have; an Annex A list needs only its case IDs. */
export const REQUIRED_FIELDS: readonly ExtractField[] = requiredFields(null);

export function fieldLabel(field: ExtractField): string {
  return HEADER_ALIASES[field][0]!;
}

const FIELD_BY_HEADER: ReadonlyMap<string, ExtractField> = new Map(
  EXTRACT_FIELDS.flatMap((field) => HEADER_ALIASES[field].map((alias) => [normaliseHeader(alias), field] as const)),
);

export type ColumnRef = { index: number; header: string };

export type HeaderMatch = {
  /** Where each recognised field is, by 0-based column index. */
  mapping: Partial<Record<ExtractField, ColumnRef>>;
  /** Headers that match no field; their columns are not read. */
  ignoredColumns: string[];
  errors: RowError[];
};

export type HeaderContext = { sheet?: string | null; list?: SourceList | null };

export function matchHeaders(headers: readonly string[], headerRowNumber = 1, context: HeaderContext = {}): HeaderMatch {
  const sheet = context.sheet ?? null;
  const match: HeaderMatch = { mapping: {}, ignoredColumns: [], errors: [] };
  headers.forEach((raw, index) => {
    const header = raw.trim();
    if (header === '') return; // spreadsheets often carry empty trailing columns
    const field = FIELD_BY_HEADER.get(normaliseHeader(header));
    if (!field) match.ignoredColumns.push(header);
    else if (match.mapping[field]) match.errors.push(duplicateColumnError(field, match.mapping[field], header, headerRowNumber, sheet));
    else match.mapping[field] = { index, header };
  });
  for (const field of requiredFields(context.list ?? null)) {
    if (!match.mapping[field]) match.errors.push(missingColumnError(field, headerRowNumber, sheet));
  }
  return match;
}

function missingColumnError(field: ExtractField, rowNumber: number, sheet: string | null): RowError {
  const [label, ...others] = HEADER_ALIASES[field];
  const alternatives = others.length > 0 ? ` (also accepted: ${others.join(', ')})` : '';
  // A workbook's sheet can instead say which Annex A list it is, which implies the status.
  const byList = field === 'legalStatus' && sheet !== null ? `, or name the sheet after its Annex A list (e.g. "List 6")` : '';
  return { sheet, rowNumber, column: label!, value: '', reason: `missing column "${label}"${alternatives}${byList}` };
}

function duplicateColumnError(field: ExtractField, first: ColumnRef, header: string, rowNumber: number, sheet: string | null): RowError {
  return {
    sheet,
    rowNumber,
    column: fieldLabel(field),
    value: header,
    reason: `columns "${first.header}" and "${header}" are both read as ${fieldLabel(field)}; remove or rename one`,
  };
}

/** Title and note rows may sit above an Annex A list's header: it is looked for this far down. */
const HEADER_SEARCH_ROWS = 10;

export function isHeaderRow(cells: readonly Cell[]): boolean {
  return cells.some((cell) => FIELD_BY_HEADER.get(normaliseHeader(cellText(cell))) === 'externalId');
}

function isBlankRow(cells: readonly Cell[]): boolean {
  return cells.every((cell) => cellText(cell) === '');
}

function headerTexts(row: SourceRow): string[] {
  return row.cells.map(cellText);
}

// ---------------------------------------------------------------------------------------------
// Format detection

/** XLSX files are ZIP archives, so the magic bytes catch a workbook saved with the wrong name. */
export function detectFormat(filename: string, firstBytes?: Uint8Array): ExtractFormat {
  if (firstBytes && firstBytes.length >= 4) return [0x50, 0x4b, 0x03, 0x04].every((byte, i) => firstBytes[i] === byte) ? 'xlsx' : 'csv';
  return /\.xlsx$/i.test(filename.trim()) ? 'xlsx' : 'csv';
}

// ---------------------------------------------------------------------------------------------
// Reading

const optionsSchema = z.object({
  format: z.enum(['csv', 'xlsx']),
  today: z.iso.date().optional(),
  name: z.string().trim().min(1).max(255).optional(),
});

const PROGRESS_EVERY = 1_000;

type ReadContext = { format: ExtractFormat; today: string; name: string };
type Progress = { rowsRead: number; lastRowNumber: number };

/**
 * Streams the extract. Yields first a `sheets` event (what will be read, what is skipped and
 * why); then for each sheet read a `columns` event and for each data row either a `row` or all
 * its errors; a `progress` every 1,000 data rows and a last `progress` with the total. What
 * the file is comes from its bytes: a workbook named .csv is read as a workbook, a CSV named
 * .xlsx as CSV. Faults of the file's shape (no list, a header without rows, a missing column,
 * a damaged or password-protected workbook) are error events and no row follows them; a
 * failure of the input stream itself (an aborted upload) is thrown.
 */
export async function* readExtract(input: Readable, options: ExtractOptions): AsyncGenerator<ExtractEvent> {
  const parsed = optionsSchema.parse({ format: options.format, today: options.today, name: options.name });
  const context: ReadContext = { format: parsed.format, today: parsed.today ?? todayInLondon(), name: sheetNameOfFile(parsed.name) };
  const { kind, body } = await sniffInput(input);
  const progress: Progress = { rowsRead: 0, lastRowNumber: 0 };
  try {
    if (kind === 'zip') yield* readWorkbook(body, context, progress);
    else if (kind === 'text') yield* readCsv(body, context, progress);
    else yield* refuseFile(kind, context);
  } finally {
    // A read stopped early (the caller broke off) leaves the upload paused: release it.
    body.destroy();
  }
  if (progress.rowsRead % PROGRESS_EVERY !== 0) yield { kind: 'progress', rowsRead: progress.rowsRead };
}

/** `List 8 - CLA.csv` is the sheet `List 8 - CLA`; a CSV with no name given is `CSV`. */
export function sheetNameOfFile(name: string | undefined): string {
  return name?.replace(/\.(csv|xlsx|txt)$/i, '').trim() || 'CSV';
}

/** One clear sentence for a file that is no extract at all; the sheets event says it too. */
async function* refuseFile(kind: FileKind, context: ReadContext): AsyncGenerator<ExtractEvent> {
  const reasons: Record<Exclude<FileKind, 'zip' | 'text'>, string> = {
    empty: 'The file is empty: export the extract again, with its header row and its children.',
    ole:
      'The file is a password-protected workbook or an old Excel 97-2003 (.xls) file, which Assure cannot open: ' +
      'remove the password (File > Info > Protect Workbook) or save it as an Excel Workbook (.xlsx), then upload it again.',
    utf16: 'The file is saved as "Unicode text" (UTF-16): save it as "CSV UTF-8 (Comma delimited)" or as an Excel Workbook (.xlsx), then upload it again.',
    markup:
      'The file is a web page or XML document, not a CSV file or an Excel workbook, although its name may say so: ' +
      'open it in Excel and save it as an Excel Workbook (.xlsx).',
    binary:
      context.format === 'xlsx'
        ? 'The file could not be read as an Excel workbook (.xlsx): it is damaged or in another format. Open it in Excel and save it as an Excel Workbook (.xlsx).'
        : 'The file is neither a CSV text file nor an Excel workbook (.xlsx): it is damaged or in another format. Save it from its program as CSV or as an Excel Workbook (.xlsx).',
  };
  const reason = reasons[kind as keyof typeof reasons];
  yield { kind: 'sheets', read: [], skipped: [{ name: context.name, reason: kind === 'empty' ? 'the file is empty' : 'the file could not be read' }] };
  yield { kind: 'error', error: fileError(reason) };
}

function fileError(reason: string, rowNumber = 1): RowError {
  return { sheet: null, rowNumber, column: '', value: '', reason };
}

// ---------------------------------------------------------------------------------------------
// A CSV: one sheet, read in one pass

async function* readCsv(body: Readable, context: ReadContext, progress: Progress): AsyncGenerator<ExtractEvent> {
  const rows = csvRows(body);
  let planned = false;
  try {
    const start = await findCsvHeader(rows, progress);
    const first = start.header ?? start.before[0];
    if (!first) {
      planned = true;
      yield { kind: 'sheets', read: [], skipped: [{ name: context.name, reason: 'the file is empty' }] };
      return yield* errorEvents([fileError('The file is empty: no header row found. Export the extract again, with its header row and its children.')]);
    }
    const list = identifyList(context.name, headerTexts(first));
    const columns = matchHeaders(headerTexts(first), first.rowNumber, { list });
    planned = true;
    if (!start.header) {
      yield { kind: 'sheets', read: [], skipped: [{ name: context.name, reason: 'no case ID column' }] };
      return yield* errorEvents(columns.errors);
    }
    yield { kind: 'sheets', read: [{ name: context.name, list }], skipped: [] };
    yield { kind: 'columns', sheet: context.name, columns };
    if (columns.errors.length > 0) return yield* errorEvents(columns.errors);
    const facts = { date1904: false };
    const sheet: SheetContext = { name: context.name, errorSheet: null, list, mapping: columns.mapping, today: context.today, facts, parsers: fieldParsers(list, context.today, facts), absentFields: absentFields(columns.mapping) };
    const count = yield* sheetRowEvents(iterable(rows), sheet, progress);
    if (count === 0) yield* errorEvents([fileError(noRowsReason('The file'), first.rowNumber)]);
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    if (!planned) yield { kind: 'sheets', read: [], skipped: [{ name: context.name, reason: 'the file could not be read' }] };
    const rowNumber = (typeof error.records === 'number' ? error.records : progress.lastRowNumber) + 1;
    yield { kind: 'error', error: fileError(`the file could not be read as CSV: ${error.message}`, rowNumber) };
  } finally {
    await rows.return(undefined);
  }
}

/** The header is the first row with a case ID column among the first few non-blank rows. */
async function findCsvHeader(rows: AsyncGenerator<SourceRow>, progress: Progress): Promise<{ header: SourceRow | null; before: SourceRow[] }> {
  const before: SourceRow[] = [];
  while (before.length < HEADER_SEARCH_ROWS) {
    const next = await rows.next();
    if (next.done) break;
    progress.lastRowNumber = next.value.rowNumber;
    if (isBlankRow(next.value.cells)) continue;
    if (isHeaderRow(next.value.cells)) return { header: next.value, before };
    before.push(next.value);
  }
  return { header: null, before };
}

/** Lets a generator part-read by hand be read on with for-await, without closing it. */
function iterable<T>(generator: AsyncGenerator<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => ({ next: () => generator.next() }) };
}

function noRowsReason(what: string): string {
  return `${what} has a header row but no children below it: export it again with its rows${what === 'The file' ? '' : ', or delete the sheet'}.`;
}

// ---------------------------------------------------------------------------------------------
// A workbook: surveyed, then read sheet by sheet

type SheetSurvey = { file: number; name: string; firstRow: SourceRow | null; header: SourceRow | null; dataRows: number };
type PlannedSheet = { file: number; name: string; list: SourceList | null; headerRowNumber: number; columns: HeaderMatch };

async function* readWorkbook(body: Readable, context: ReadContext, progress: Progress): AsyncGenerator<ExtractEvent> {
  const spooled = await spoolWorkbook(body);
  try {
    let surveyed: { sheets: SheetSurvey[]; facts: WorkbookFacts };
    try {
      if (!(await hasZipDirectory(spooled.path))) throw new Error('the file ends before the workbook does (it was cut short)');
      surveyed = await surveyWorkbook(spooled.path);
    } catch (error) {
      yield { kind: 'sheets', read: [], skipped: [{ name: context.name, reason: 'the file could not be read' }] };
      return yield* errorEvents([unreadableWorkbookError(error)]);
    }
    const { plan, sheets, errors } = planSheets(surveyed.sheets, surveyed.facts.sheetNames);
    yield { kind: 'sheets', ...plan };
    if (errors.length > 0) return yield* errorEvents(errors);
    try {
      yield* readPlannedSheets(spooled.path, sheets, context, progress);
    } catch (error) {
      yield* errorEvents([unreadableWorkbookError(error, progress.lastRowNumber + 1)]);
    }
  } finally {
    await spooled.remove();
  }
}

function unreadableWorkbookError(error: unknown, rowNumber = 1): RowError {
  const detail = error instanceof Error ? error.message : String(error);
  return fileError(
    `the file could not be read as an Excel workbook (.xlsx); it may be damaged, password-protected or in another format: ${detail}`,
    rowNumber,
  );
}

/** Reads every sheet through once, noting where its header is and whether rows follow it. */
async function surveyWorkbook(file: string): Promise<{ sheets: SheetSurvey[]; facts: WorkbookFacts }> {
  const facts = newWorkbookFacts();
  const sheets: SheetSurvey[] = [];
  for await (const worksheet of worksheets(file, facts)) {
    const survey: SheetSurvey = { file: worksheet.file, name: '', firstRow: null, header: null, dataRows: 0 };
    let rowsBeforeHeader = 0;
    for await (const row of worksheet.rows) {
      if (isBlankRow(row.cells)) continue;
      if (survey.header) survey.dataRows += 1;
      else if (rowsBeforeHeader < HEADER_SEARCH_ROWS) {
        survey.firstRow ??= row;
        rowsBeforeHeader += 1;
        if (isHeaderRow(row.cells)) survey.header = row;
      }
    }
    sheets.push(survey);
  }
  for (const sheet of sheets) sheet.name = facts.nameByFile.get(sheet.file) ?? `Sheet${sheet.file}`;
  return { sheets, facts };
}

/**
 * Decides, before any row, which sheets are read and which skipped, in the workbook's order.
 * A sheet named as a list that cannot be read is an error, never a quiet skip: skipping it
 * would make a full extract close the children on it.
 */
function planSheets(surveys: readonly SheetSurvey[], sheetNames: readonly string[]): { plan: SheetPlan; sheets: PlannedSheet[]; errors: RowError[] } {
  const order = (name: string) => (sheetNames.includes(name) ? sheetNames.indexOf(name) : sheetNames.length);
  const entries: { name: string; read?: PlannedSheet; skip?: string }[] = [];
  const errors: RowError[] = [];
  const lists = new Map(surveys.map((s) => [s.name, s.header ? identifyList(s.name, headerTexts(s.header)) : listByName(s.name)]));
  const workbookHasLists = [...lists.values()].some((list) => list !== null);
  for (const survey of surveys) {
    const list = lists.get(survey.name) ?? null;
    if (!survey.firstRow) {
      entries.push({ name: survey.name, skip: 'the sheet is empty' });
      if (list) errors.push(sheetError(survey.name, 1, `the sheet "${survey.name}" looks like ${SOURCE_LIST_LABELS[list]} but is empty: add its children, or delete the sheet`));
      continue;
    }
    if (!survey.header) {
      entries.push({ name: survey.name, skip: 'no case ID column' });
      if (list) errors.push(sheetError(survey.name, survey.firstRow.rowNumber, noCaseIdReason(survey.name, list)));
      continue;
    }
    const columns = matchHeaders(headerTexts(survey.header), survey.header.rowNumber, { sheet: survey.name, list });
    // Beside Annex A lists, a sheet that is no list and lacks a column is a council's own note.
    if (columns.errors.length > 0 && !list && workbookHasLists) {
      entries.push({ name: survey.name, skip: `not an Annex A list, and ${columns.errors.map((e) => e.reason).join('; ')}` });
      continue;
    }
    entries.push({ name: survey.name, read: { file: survey.file, name: survey.name, list, headerRowNumber: survey.header.rowNumber, columns } });
    errors.push(...columns.errors);
    if (survey.dataRows === 0) errors.push(sheetError(survey.name, survey.header.rowNumber, noRowsReason(`The sheet "${survey.name}"`)));
  }
  // Chart and macro sheets are in the workbook but hold no rows.
  for (const name of sheetNames) if (!surveys.some((s) => s.name === name)) entries.push({ name, skip: 'not a worksheet (a chart or macro sheet)' });
  entries.sort((a, b) => order(a.name) - order(b.name));
  const sheets = entries.flatMap((e) => (e.read ? [e.read] : []));
  const plan: SheetPlan = {
    read: sheets.map((s) => ({ name: s.name, list: s.list })),
    skipped: entries.flatMap((e) => (e.skip ? [{ name: e.name, reason: e.skip }] : [])),
  };
  if (sheets.length === 0 && errors.length === 0) errors.push(fileError(noListReason(plan.skipped)));
  return { plan, sheets, errors };
}

function sheetError(sheet: string, rowNumber: number, reason: string): RowError {
  return { sheet, rowNumber, column: '', value: '', reason };
}

function noCaseIdReason(sheet: string, list: SourceList): string {
  const aliases = HEADER_ALIASES.externalId.join(', ');
  return `the sheet "${sheet}" looks like ${SOURCE_LIST_LABELS[list]} but has no case ID column (${aliases}) in its first ${HEADER_SEARCH_ROWS} rows`;
}

function noListReason(skipped: SheetPlan['skipped']): string {
  const sheets = skipped.map((s) => `"${s.name}" (${s.reason})`).join(', ');
  return (
    `No sheet of the workbook is a list of children: a list needs a case ID column (${HEADER_ALIASES.externalId.slice(0, 4).join(', ')}…). ` +
    `Sheets skipped: ${sheets}.`
  );
}

async function* readPlannedSheets(file: string, sheets: readonly PlannedSheet[], context: ReadContext, progress: Progress): AsyncGenerator<ExtractEvent> {
  const facts = newWorkbookFacts();
  for await (const worksheet of worksheets(file, facts)) {
    const planned = sheets.find((s) => s.file === worksheet.file);
    if (!planned) continue; // the reader drains it
    yield { kind: 'columns', sheet: planned.name, columns: planned.columns };
    const sheet: SheetContext = { name: planned.name, errorSheet: planned.name, list: planned.list, mapping: planned.columns.mapping, today: context.today, facts, parsers: fieldParsers(planned.list, context.today, facts), absentFields: absentFields(planned.columns.mapping) };
    yield* sheetRowEvents(rowsAfter(worksheet.rows, planned.headerRowNumber, progress), sheet, progress);
  }
}

async function* rowsAfter(rows: AsyncIterable<SourceRow>, headerRowNumber: number, progress: Progress): AsyncGenerator<SourceRow> {
  for await (const row of rows) {
    progress.lastRowNumber = row.rowNumber;
    if (row.rowNumber > headerRowNumber) yield row;
  }
}

// ---------------------------------------------------------------------------------------------
// A sheet's rows

type SheetContext = {
  name: string;
  /** The sheet named in errors: null for a CSV, whose report has always had no sheet column. */
  errorSheet: string | null;
  list: SourceList | null;
  mapping: HeaderMatch['mapping'];
  today: string;
  facts: { date1904: boolean };
  parsers: FieldParsers;
  /** The fields the sheet has no column for (see `absentFields`), the same for each of its rows. */
  absentFields: number;
};

/** Yields the sheet's rows and errors; returns how many data rows it had. */
async function* sheetRowEvents(rows: AsyncIterable<SourceRow>, sheet: SheetContext, progress: Progress): AsyncGenerator<ExtractEvent, number> {
  // Case IDs are unique within a sheet; one child on several lists is for the caller to merge.
  const firstRowById = new Map<string, number>();
  let count = 0;
  for await (const source of rows) {
    progress.lastRowNumber = source.rowNumber;
    if (isBlankRow(source.cells)) continue;
    count += 1;
    progress.rowsRead += 1;
    // Plain loops rather than a generator per row: this runs for every row of the file.
    const { event, errors } = rowEvent(source, sheet, firstRowById);
    yield event;
    for (const error of errors) yield { kind: 'error', error };
    if (progress.rowsRead % PROGRESS_EVERY === 0) yield { kind: 'progress', rowsRead: progress.rowsRead };
  }
  return count;
}

/** The row when it is valid, else the rejected row (so every problem of it is found in one pass), and its errors. */
function rowEvent(source: SourceRow, sheet: SheetContext, firstRowById: Map<string, number>): { event: ExtractEvent; errors: RowError[] } {
  const { row, errors } = normaliseRow(source, sheet);
  if (row.externalId !== '') {
    const firstRow = firstRowById.get(row.externalId);
    if (firstRow === undefined) firstRowById.set(row.externalId, row.rowNumber);
    else errors.unshift(cellError(source, sheet, sheet.mapping.externalId!, `duplicate of row ${firstRow}`));
  }
  return { event: errors.length === 0 ? { kind: 'row', row } : { kind: 'rejected', row }, errors };
}

async function* errorEvents(errors: readonly RowError[]): AsyncGenerator<ExtractEvent> {
  for (const error of errors) yield { kind: 'error', error };
}

function todayInLondon(): string {
  // Only when the caller gives no `today`: the import service always passes the clock's.
  // en-CA formats dates as YYYY-MM-DD; the councils work on UK dates.
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
}

// ---------------------------------------------------------------------------------------------
// Rows

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (reason: string): Parsed<never> => ({ ok: false, reason });

/** How each field's cell is read: the one place the rules for a cell live (the CSV fast path uses them too). */
export type FieldParsers = {
  externalId: (cell: Cell) => Parsed<string>;
  initials: (cell: Cell) => Parsed<string | null>;
  dateOfBirth: (cell: Cell) => Parsed<string | null>;
  gender: (cell: Cell) => Parsed<Gender | null>;
  ethnicity: (cell: Cell) => Parsed<string | null>;
  legalStatus: (cell: Cell) => Parsed<LegalStatus>;
  allocatedWorker: (cell: Cell) => Parsed<string | null>;
  allocatedTeam: (cell: Cell) => Parsed<string | null>;
  openDate: (cell: Cell) => Parsed<string | null>;
  closeDate: (cell: Cell) => Parsed<string | null>;
  referralFactors: (cell: Cell) => Parsed<string[]>;
};

export function fieldParsers(list: SourceList | null, today: string, facts: { date1904: boolean }): FieldParsers {
  return {
    externalId: (cell) => parseExternalId(cellText(cell)),
    initials: (cell) => parseInitials(cellText(cell)),
    dateOfBirth: (cell) => parseDateOfBirth(cell, facts, today),
    gender: (cell) => parseGender(cellText(cell)),
    ethnicity: (cell) => optionalText(cellText(cell), 100),
    legalStatus: (cell) => legalStatusOnList(cellText(cell), list),
    allocatedWorker: (cell) => optionalText(cellText(cell), 120),
    allocatedTeam: (cell) => optionalText(cellText(cell), 120),
    openDate: (cell) => parseOptionalDate(cell, facts),
    closeDate: (cell) => parseOptionalDate(cell, facts),
    referralFactors: (cell) => parseReferralFactors(cellText(cell)),
  };
}

/** The legal status of a row whose file has no legal-status column (an Annex A list implies it). */
export function fallbackLegalStatus(list: SourceList | null): LegalStatus {
  return (list && LIST_LEGAL_STATUS[list]) ?? 'cin';
}

/** Returns the row with fallbacks in failed fields; it is valid only when `errors` is empty. */
function normaliseRow(source: SourceRow, sheet: SheetContext): { row: ExtractRow; errors: RowError[] } {
  const { mapping, list } = sheet;
  const errors: { index: number; error: RowError }[] = [];
  const report = (column: ColumnRef, reason: string) => errors.push({ index: column.index, error: cellError(source, sheet, column, reason) });
  const read = <T>(field: ExtractField, parse: (cell: Cell) => Parsed<T>, fallback: T): T => {
    const column = mapping[field];
    if (!column) return fallback;
    const result = parse(source.cells[column.index] ?? null);
    if (result.ok) return result.value;
    report(column, result.reason);
    return fallback;
  };
  const parse = sheet.parsers;
  const row: ExtractRow = {
    rowNumber: source.rowNumber,
    sheet: sheet.name,
    sourceList: list,
    externalId: read('externalId', parse.externalId, ''),
    initials: read('initials', parse.initials, null),
    dateOfBirth: read('dateOfBirth', parse.dateOfBirth, null),
    gender: read('gender', parse.gender, null),
    ethnicity: read('ethnicity', parse.ethnicity, null),
    legalStatus: read('legalStatus', parse.legalStatus, fallbackLegalStatus(list)),
    allocatedWorker: read('allocatedWorker', parse.allocatedWorker, null),
    allocatedTeam: read('allocatedTeam', parse.allocatedTeam, null),
    openDate: read('openDate', parse.openDate, null),
    closeDate: read('closeDate', parse.closeDate, null),
    referralFactors: read('referralFactors', parse.referralFactors, []),
    absentFields: sheet.absentFields,
  };
  if (row.openDate && row.closeDate && row.closeDate < row.openDate) {
    report(mapping.closeDate!, `close date is before the open date (${formatUkDate(row.openDate)})`);
  }
  // In the file's column order, as the user reads the row.
  return { row, errors: errors.sort((a, b) => a.index - b.index).map((e) => e.error) };
}

const MAX_ERROR_VALUE_CHARS = 200;

function cellError(source: SourceRow, sheet: SheetContext, column: ColumnRef, reason: string): RowError {
  return { sheet: sheet.errorSheet, rowNumber: source.rowNumber, column: column.header, value: shownValue(source.cells[column.index] ?? null), reason };
}

/** A cell's text as an error quotes it: trimmed, and cut short when very long. */
export function shownValue(cell: Cell): string {
  const value = cellText(cell);
  return value.length > MAX_ERROR_VALUE_CHARS ? `${value.slice(0, MAX_ERROR_VALUE_CHARS)}…` : value;
}

export function cellText(cell: Cell): string {
  if (cell === null) return '';
  if (typeof cell === 'string') return cell.trim();
  if (typeof cell === 'number') return String(cell);
  return Number.isNaN(cell.getTime()) ? '' : cell.toISOString().slice(0, 10);
}

const BLANK_REQUIRED = 'blank, but this column is required';

function parseExternalId(text: string): Parsed<string> {
  if (text === '') return fail(BLANK_REQUIRED);
  return text.length > 64 ? fail(tooLong(text, 64)) : ok(text);
}

function tooLong(text: string, max: number): string {
  return `too long: ${text.length} characters (at most ${max})`;
}

function optionalText(text: string, max: number): Parsed<string | null> {
  if (text === '') return ok(null);
  return text.length > max ? fail(tooLong(text, max)) : ok(text);
}

/**
 * Initials are all the register holds about a child's name, so a full name is refused. A word
 * of 3+ letters with lower case (`John`, `Amy`) reads as a name; `JPS` reads as initials.
 */
function parseInitials(text: string): Parsed<string | null> {
  if (text === '') return ok(null); // Annex A has none; the child is shown by case ID
  const words = text.normalize('NFC').split(/[\s.'’-]+/).filter((word) => word !== '');
  if (words.some((word) => /[^\p{L}]/u.test(word))) return fail('letters only, e.g. "JS"');
  const letters = words.join('');
  const looksLikeName =
    words.some((word) => word.length >= 3 && /\p{Ll}/u.test(word)) ||
    (words.length > 1 && letters.length > 4 && words.some((word) => word.length >= 3));
  if (looksLikeName) return fail('initials only, not a full name');
  if (letters.length === 0) return fail('letters only, e.g. "JS"');
  if (letters.length > 4) return fail('at most 4 letters');
  return ok(letters.toUpperCase());
}

const GENDER_BY_CODE: ReadonlyMap<string, Gender> = new Map([
  ...codes<Gender>('male', ['Male', 'M', '1']),
  ...codes<Gender>('female', ['Female', 'F', '2']),
  // DfE census codes: 0 not known, 9 not specified; NHS uses X for not known.
  ...codes<Gender>('unknown', ['Not stated', 'Not stated/recorded', 'Not recorded', 'Not known', 'Not specified', 'Unknown', 'U', '0', '9', 'X', 'Prefer not to say']),
  ...codes<Gender>('other', ['Neither', 'Indeterminate', 'Other', 'Non-binary']),
]);

function parseGender(text: string): Parsed<Gender | null> {
  if (text === '') return ok(null);
  const gender = GENDER_BY_CODE.get(codeKey(text));
  return gender ? ok(gender) : fail('not a recognised gender: use Male, Female, Other or Unknown (or M, F, "a) Male", "b) Female")');
}

function parseReferralFactors(text: string): Parsed<string[]> {
  const factors = text
    .split(/[,;|]/)
    .map((factor) => factor.trim())
    .filter((factor) => factor !== '');
  const tooLongFactor = factors.find((factor) => factor.length > 100);
  return tooLongFactor ? fail(`factor "${tooLongFactor.slice(0, 40)}…" is too long (at most 100 characters)`) : ok(factors);
}

// ---------------------------------------------------------------------------------------------
// Dates

const DATE_FORMATS_HINT = 'use DD/MM/YYYY or YYYY-MM-DD';

function parseDateOfBirth(cell: Cell, facts: SheetContext['facts'], today: string): Parsed<string | null> {
  const result = parseOptionalDate(cell, facts);
  if (result.ok && result.value !== null && result.value > today) return fail('date of birth is in the future');
  return result;
}

function parseOptionalDate(cell: Cell, facts: SheetContext['facts']): Parsed<string | null> {
  if (cell instanceof Date) return dateFromJsDate(cell);
  if (typeof cell === 'number') return dateFromExcelSerial(cell, facts.date1904);
  const text = cellText(cell);
  return text === '' ? ok(null) : dateFromText(text);
}

/** exceljs gives dates at UTC midnight, so the UTC fields are the date as typed. */
function dateFromJsDate(date: Date): Parsed<string> {
  if (Number.isNaN(date.getTime())) return fail(`not a date: ${DATE_FORMATS_HINT}`);
  return isoDate(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate());
}

const DAY_MS = 86_400_000;
const EXCEL_EPOCH_1900 = Date.UTC(1899, 11, 30); // day 0, allowing for Excel's phantom 29 Feb 1900
const EXCEL_EPOCH_1904 = Date.UTC(1904, 0, 1);

/** A number in a date column of a workbook is a day count, with any time of day as the fraction. */
function dateFromExcelSerial(serial: number, date1904: boolean): Parsed<string> {
  if (!Number.isFinite(serial) || serial < 1) return fail(`not a date: ${DATE_FORMATS_HINT}`);
  const epoch = date1904 ? EXCEL_EPOCH_1904 : EXCEL_EPOCH_1900;
  return dateFromJsDate(new Date(epoch + Math.floor(serial) * DAY_MS));
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const ISO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const DAY_FIRST_DATE = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$/;
const MONTH_NAME_DATE = /^(\d{1,2})([- /])(\p{L}{3,9})\.?\2(\d{4})$/u;
/** Exports often add a midnight time (`03/01/2020 00:00:00`); the time is not needed. */
const TIME_OF_DAY = /[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

function dateFromText(typed: string): Parsed<string> {
  const text = typed.replace(TIME_OF_DAY, '').trim();
  let parts = ISO_DATE.exec(text);
  if (parts) return isoDate(Number(parts[1]), Number(parts[2]), Number(parts[3]));
  parts = DAY_FIRST_DATE.exec(text);
  if (parts) return isoDate(Number(parts[4]), Number(parts[3]), Number(parts[1]));
  parts = MONTH_NAME_DATE.exec(text);
  const month = parts ? monthNumber(parts[3]!) : 0;
  if (parts && month > 0) return isoDate(Number(parts[4]), month, Number(parts[1]));
  return fail(`not a date: ${DATE_FORMATS_HINT}`);
}

/** `Jan`, `Sept` and `January` all name a month; 0 when the word is no month. */
function monthNumber(word: string): number {
  const lower = word.toLowerCase();
  return MONTHS.findIndex((month) => month.startsWith(lower)) + 1;
}

/** Date.UTC rolls 31/02 over into March; comparing the fields back catches impossible dates. */
function isoDate(year: number, month: number, day: number): Parsed<string> {
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return fail('not a real date');
  }
  if (year < 1900 || year > 2099) return fail('the year must be between 1900 and 2099');
  return ok(`${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`);
}

function formatUkDate(iso: string): string {
  const [year, month, day] = iso.split('-');
  return `${day}/${month}/${year}`;
}

// ---------------------------------------------------------------------------------------------
// Error report

/** An error as stored and shown; errors recorded before sheets were named carry none. */
export type ReportedError = Omit<RowError, 'sheet'> & { sheet?: string | null };

/**
 * The errors as a CSV for download (UTF-8 with a BOM so Excel reads accents right). A cell that
 * starts like a formula gets a leading quote so the spreadsheet shows it instead of running it.
 */
export function rowErrorsToCsv(errors: readonly ReportedError[]): string {
  // A workbook's errors name their sheet; a CSV's report keeps the four columns it always had.
  const bySheet = errors.some((e) => e.sheet);
  const header = bySheet ? ['Sheet', 'Row', 'Column', 'Value', 'Reason'] : ['Row', 'Column', 'Value', 'Reason'];
  const line = (e: ReportedError) => [...(bySheet ? [e.sheet ?? ''] : []), String(e.rowNumber), e.column, e.value, e.reason];
  const lines = [header, ...errors.map(line)];
  return `\uFEFF${lines.map((fields) => fields.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/** Includes the full-width forms, which some spreadsheets also treat as formula starts. */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/;

function csvField(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
