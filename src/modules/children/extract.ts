/**
 * Reading a council's case-management extract (the child register) from CSV or XLSX.
 *
 * Pure and database-free: it streams the file, matches the headers loosely, normalises each
 * row and yields either a valid row or one error per bad cell. The caller stores the rows and
 * resolves workers and teams. Memory stays flat: rows are never collected, only a map of case
 * IDs already seen (to report duplicates).
 */
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { CsvError, parse as parseCsv } from 'csv-parse';
import ExcelJS from 'exceljs';
import type { CellValue } from 'exceljs';
import { z } from 'zod';
import type { Gender, LegalStatus } from '../../db/types.ts';

export type { Gender, LegalStatus };

export const LEGAL_STATUSES: readonly LegalStatus[] = ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'];

export const LEGAL_STATUS_LABELS: Readonly<Record<LegalStatus, string>> = {
  early_help: 'Early Help',
  cin: 'Child in Need',
  cp: 'Child Protection',
  plo: 'PLO',
  child_in_care: 'Child in Care',
  care_leaver: 'Care Leaver',
};

export type ExtractFormat = 'csv' | 'xlsx';

/** Ofsted's Annex A lists a row came from; null for a case-system extract that is no list. */
export type SourceList = 'list6' | 'list7' | 'list8' | 'list9';

export const SOURCE_LIST_LABELS: Readonly<Record<SourceList, string>> = {
  list6: 'List 6 (children in need)',
  list7: 'List 7 (child protection)',
  list8: 'List 8 (children in care)',
  list9: 'List 9 (care leavers)',
};

export type ExtractRow = {
  rowNumber: number;
  /** The sheet the row is on (a CSV is one sheet, named by `ExtractOptions.name`). */
  sheet: string;
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
};

/** `column` is the header as written in the file, or the field's label when the column is missing. */
export type RowError = { sheet: string | null; rowNumber: number; column: string; value: string; reason: string };

export type SheetPlan = {
  read: { name: string; list: ExtractRow['sourceList'] }[];
  skipped: { name: string; reason: string }[];
};

export type ExtractEvent =
  | { kind: 'row'; row: ExtractRow }
  | { kind: 'error'; error: RowError }
  | { kind: 'progress'; rowsRead: number }
  /** Once, after the header row, so the caller can say which columns it used and ignored. */
  | { kind: 'columns'; sheet: string; columns: HeaderMatch }
  /** Once, before any row: every sheet of the file, read (with its list) or skipped (and why). */
  | ({ kind: 'sheets' } & SheetPlan);

export type ExtractOptions = {
  format: ExtractFormat;
  /** ISO date that dates of birth may not be after; defaults to today in the UK. */
  today?: string;
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
 * Header texts accepted for each field, the first being the label shown to users. They cover
 * the column names councils use in Ofsted Annex A lists 6 (CIN), 7 (CP), 8 (children in care)
 * and 9 (care leavers) and in the common case-management systems' exports.
 */
export const HEADER_ALIASES: Readonly<Record<ExtractField, readonly string[]>> = {
  externalId: ['External case ID', 'Case ID', 'Child ID', 'Child Unique ID', 'ID', 'Person ID', 'LCS ID', 'Mosaic ID'],
  initials: ['Initials', 'Child initials'],
  dateOfBirth: ['Date of birth', 'DOB'],
  gender: ['Gender', 'Sex'],
  ethnicity: ['Ethnicity'],
  legalStatus: ['Legal status', 'Category', 'Case Status', "Child's Legal Status", 'Legal status / category'],
  allocatedWorker: ['Allocated worker', 'Worker', 'Case holder', 'Caseholder'],
  allocatedTeam: ['Allocated team', 'Team'],
  openDate: ['Open date', 'Referral date', 'Date of referral', 'Start date', 'Case open date', 'Date case opened'],
  closeDate: ['Close date', 'Closure date', 'Case closure date', 'Date case closed', 'End date'],
  referralFactors: ['Main referral factors', 'Referral factors', 'Factors identified at the end of assessment', 'Assessment factors'],
};

export const REQUIRED_FIELDS: readonly ExtractField[] = ['externalId', 'initials', 'legalStatus'];

export function fieldLabel(field: ExtractField): string {
  return HEADER_ALIASES[field][0]!;
}

/**
 * Loose header key: `Child's Legal Status`, `childs legal status` and `CHILD’S_LEGAL-STATUS`
 * all become `childslegalstatus`. Removing every non-letter, non-digit also removes curly and
 * straight quotes alike.
 */
export function normaliseHeader(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
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

export function matchHeaders(headers: readonly string[], headerRowNumber = 1, sheet: string | null = null): HeaderMatch {
  const match: HeaderMatch = { mapping: {}, ignoredColumns: [], errors: [] };
  headers.forEach((raw, index) => {
    const header = raw.trim();
    if (header === '') return; // spreadsheets often carry empty trailing columns
    const field = FIELD_BY_HEADER.get(normaliseHeader(header));
    if (!field) match.ignoredColumns.push(header);
    else if (match.mapping[field]) match.errors.push(duplicateColumnError(field, match.mapping[field], header, headerRowNumber));
    else match.mapping[field] = { index, header };
  });
  for (const field of REQUIRED_FIELDS) {
    if (!match.mapping[field]) match.errors.push(missingColumnError(field, headerRowNumber));
  }
  match.errors = match.errors.map((error) => ({ ...error, sheet }));
  return match;
}

function missingColumnError(field: ExtractField, rowNumber: number): RowError {
  const [label, ...others] = HEADER_ALIASES[field];
  const alternatives = others.length > 0 ? ` (also accepted: ${others.join(', ')})` : '';
  return { sheet: null, rowNumber, column: label!, value: '', reason: `missing column "${label}"${alternatives}` };
}

function duplicateColumnError(field: ExtractField, first: ColumnRef, header: string, rowNumber: number): RowError {
  return {
    sheet: null,
    rowNumber,
    column: fieldLabel(field),
    value: header,
    reason: `columns "${first.header}" and "${header}" are both read as ${fieldLabel(field)}; remove or rename one`,
  };
}

// ---------------------------------------------------------------------------------------------
// Format detection and sources

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** XLSX files are ZIP archives, so the magic bytes catch a workbook saved with the wrong name. */
export function detectFormat(filename: string, firstBytes?: Uint8Array): ExtractFormat {
  if (/\.xlsx$/i.test(filename.trim())) return 'xlsx';
  if (firstBytes && ZIP_MAGIC.every((byte, i) => firstBytes[i] === byte)) return 'xlsx';
  return 'csv';
}

/** A cell as the normaliser sees it: CSV gives strings, XLSX also numbers and dates. */
type Cell = string | number | Date | null;
type SourceRow = { sheet: string; rowNumber: number; cells: Cell[] };
/** Facts about the file that change how cells read; filled in by the source as it learns them. */
type SourceFacts = { date1904: boolean };

/** Bounds memory on a malformed file, e.g. an unclosed quote swallowing the rest of it. */
const MAX_CSV_RECORD_CHARS = 1_000_000;

async function* csvRows(input: Readable): AsyncGenerator<SourceRow> {
  const parser = parseCsv({ bom: true, delimiter: ',', relax_column_count: true, max_record_size: MAX_CSV_RECORD_CHARS });
  // Errors reach us through the parser's iterator: pipeline destroys it with the input's error.
  pipeline(input, parser, () => {});
  // Counting every record, blank ones included, keeps row numbers as a spreadsheet shows them.
  let rowNumber = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    rowNumber += 1;
    yield { sheet: 'CSV', rowNumber, cells: record };
  }
}

async function* xlsxRows(input: Readable, facts: SourceFacts, inputFailure: Promise<never>): AsyncGenerator<SourceRow> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache', // needed to recognise date-formatted cells
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  yield* raceAgainst(firstSheetRows(workbook, facts), inputFailure);
}

type WorkbookReader = InstanceType<typeof ExcelJS.stream.xlsx.WorkbookReader>;

async function* firstSheetRows(workbook: WorkbookReader, facts: SourceFacts): AsyncGenerator<SourceRow> {
  let sheetsSeen = 0;
  for await (const worksheet of workbook) {
    sheetsSeen += 1;
    if (sheetsSeen === 1) facts.date1904 = usesDate1904(workbook);
    for await (const row of worksheet) {
      // Later sheets are read through unused so the archive is drained and its temp files freed.
      if (sheetsSeen === 1) yield { sheet: sheetName(worksheet), rowNumber: row.number, cells: excelRowCells(row.values) };
    }
  }
}

/**
 * exceljs pipes its input without listening for errors, so a broken upload would leave it
 * waiting for ever: each step races against the input failing.
 */
async function* raceAgainst<T>(source: AsyncGenerator<T>, failure: Promise<never>): AsyncGenerator<T> {
  let stepping = false;
  try {
    for (;;) {
      stepping = true;
      const next = await Promise.race([source.next(), failure]);
      stepping = false;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // A source stuck mid-step cannot be closed (return() would wait for the step); leave it.
    if (!stepping) await source.return(undefined);
  }
}

/** exceljs's streaming reader names each sheet as workbook.xml does, but its types omit the name. */
function sheetName(worksheet: object): string {
  return (worksheet as { name?: string }).name ?? 'Sheet';
}

/** exceljs keeps the workbook's date system on an undocumented property of the stream reader. */
function usesDate1904(workbook: object): boolean {
  const properties = (workbook as { properties?: { model?: { date1904?: boolean } } }).properties;
  return properties?.model?.date1904 === true;
}

function excelRowCells(values: CellValue[] | Record<string, CellValue>): Cell[] {
  if (!Array.isArray(values)) return [];
  // exceljs row values are 1-based and sparse.
  return Array.from({ length: Math.max(values.length - 1, 0) }, (_, i) => excelCell(values[i + 1]));
}

function excelCell(value: CellValue): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || value instanceof Date) return value;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if ('richText' in value) return value.richText.map((run) => run.text ?? '').join('');
  if ('hyperlink' in value) return excelCell(value.text as CellValue);
  if ('error' in value) return value.error;
  if ('result' in value) return excelCell(value.result ?? null); // a formula: use its cached result
  return null;
}

function isBlankRow(cells: readonly Cell[]): boolean {
  return cells.every((cell) => cellText(cell) === '');
}

// ---------------------------------------------------------------------------------------------
// Reading

const optionsSchema = z.object({
  format: z.enum(['csv', 'xlsx']),
  today: z.iso.date().optional(),
});

const PROGRESS_EVERY = 1_000;

/**
 * Streams the extract. Yields a `columns` event after the header row, then for each data row
 * either a `row` or its errors, a `progress` every 1,000 data rows and a last `progress` with
 * the total. Header problems stop the read. A file that cannot be parsed gives one error event;
 * a failure of the input stream itself is thrown.
 */
export async function* readExtract(input: Readable, options: ExtractOptions): AsyncGenerator<ExtractEvent> {
  const { format, today = todayInLondon() } = optionsSchema.parse({ format: options.format, today: options.today });
  const watch = watchInput(input);
  const facts: SourceFacts = { date1904: false };
  const rows = format === 'csv' ? csvRows(input) : xlsxRows(input, facts, watch.failure);
  const progress = { lastRowNumber: 0 };
  try {
    yield* readRows(rows, { today, facts }, progress);
  } catch (error) {
    if (!isUnreadableFile(error, format, watch)) throw error;
    yield { kind: 'error', error: unreadableFileError(format, failedRowNumber(error, progress.lastRowNumber), error) };
  } finally {
    watch.stop();
    // An XLSX read stopped early (the caller broke off) leaves the upload paused: release it.
    if (format === 'xlsx' && !input.readableEnded) input.destroy();
  }
}

/** Rejects with the input's own failure (aborted upload, disk error), not the file's faults. */
type InputWatch = { failure: Promise<never>; isFailure: (error: unknown) => boolean; stop: () => void };

function watchInput(input: Readable): InputWatch {
  let reason: unknown;
  let reject: (reason: unknown) => void = () => {};
  const failure = new Promise<never>((_, rejectFailure) => {
    reject = rejectFailure;
  });
  failure.catch(() => {}); // only the XLSX reader awaits it
  const onError = (error: unknown) => {
    reason ??= error;
    reject(error);
  };
  const onClose = () => {
    if (!input.readableEnded) onError(new Error('the file stream closed before its end'));
  };
  input.on('error', onError).on('close', onClose);
  return {
    failure,
    isFailure: (error) => reason !== undefined && error === reason,
    stop: () => input.off('error', onError).off('close', onClose),
  };
}

type ReadContext = { today: string; facts: SourceFacts };

async function* readRows(
  rows: AsyncIterable<SourceRow>,
  context: ReadContext,
  progress: { lastRowNumber: number },
): AsyncGenerator<ExtractEvent> {
  let columns: HeaderMatch | null = null;
  const firstRowById = new Map<string, number>();
  let rowsRead = 0;
  for await (const source of rows) {
    progress.lastRowNumber = source.rowNumber;
    if (isBlankRow(source.cells)) continue;
    if (!columns) {
      columns = matchHeaders(source.cells.map(cellText), source.rowNumber, source.sheet);
      yield { kind: 'columns', sheet: source.sheet, columns };
      if (columns.errors.length > 0) return yield* errorEvents(columns.errors);
      yield { kind: 'sheets', read: [{ name: source.sheet, list: null }], skipped: [] };
      continue;
    }
    rowsRead += 1;
    yield* errorEvents(yield* rowEvents(source, columns.mapping, context, firstRowById));
    if (rowsRead % PROGRESS_EVERY === 0) yield { kind: 'progress', rowsRead };
  }
  if (!columns) return yield* errorEvents([{ sheet: null, rowNumber: 1, column: '', value: '', reason: 'the file is empty: no header row found' }]);
  if (rowsRead % PROGRESS_EVERY !== 0) yield { kind: 'progress', rowsRead };
}

/** Yields the row when it is valid; returns its errors otherwise. */
async function* rowEvents(
  source: SourceRow,
  mapping: HeaderMatch['mapping'],
  context: ReadContext,
  firstRowById: Map<string, number>,
): AsyncGenerator<ExtractEvent, RowError[]> {
  const { row, errors } = normaliseRow(source, mapping, context);
  if (row.externalId !== '') {
    const firstRow = firstRowById.get(row.externalId);
    if (firstRow === undefined) firstRowById.set(row.externalId, row.rowNumber);
    else errors.unshift(cellError(source, mapping.externalId!, `duplicate of row ${firstRow}`));
  }
  if (errors.length === 0) yield { kind: 'row', row };
  return errors;
}

async function* errorEvents(errors: readonly RowError[]): AsyncGenerator<ExtractEvent> {
  for (const error of errors) yield { kind: 'error', error };
}

function isUnreadableFile(error: unknown, format: ExtractFormat, watch: InputWatch): boolean {
  // exceljs and its unzipper throw plain Errors for damaged or non-XLSX files.
  return format === 'xlsx' ? error instanceof Error && !watch.isFailure(error) : error instanceof CsvError;
}

/**
 * A stream that fails drops the records it had buffered, so the last row we saw may be well
 * before the fault; csv-parse counts the records it parsed (blank ones included, as we do).
 */
function failedRowNumber(error: unknown, lastRowNumber: number): number {
  const parsed = error instanceof CsvError && typeof error.records === 'number' ? error.records : lastRowNumber;
  return parsed + 1;
}

function unreadableFileError(format: ExtractFormat, rowNumber: number, error: unknown): RowError {
  const detail = error instanceof Error ? error.message : String(error);
  const reason =
    format === 'csv'
      ? `the file could not be read as CSV: ${detail}`
      : `the file could not be read as an Excel workbook (.xlsx); it may be damaged, password-protected or in another format: ${detail}`;
  return { sheet: null, rowNumber, column: '', value: '', reason };
}

function todayInLondon(): string {
  // en-CA formats dates as YYYY-MM-DD; the councils work on UK dates.
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
}

// ---------------------------------------------------------------------------------------------
// Rows

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (reason: string): Parsed<never> => ({ ok: false, reason });

/** Returns the row with fallbacks in failed fields; it is valid only when `errors` is empty. */
function normaliseRow(source: SourceRow, mapping: HeaderMatch['mapping'], context: ReadContext): { row: ExtractRow; errors: RowError[] } {
  const errors: { index: number; error: RowError }[] = [];
  const report = (column: ColumnRef, reason: string) => errors.push({ index: column.index, error: cellError(source, column, reason) });
  const read = <T>(field: ExtractField, parse: (cell: Cell) => Parsed<T>, fallback: T): T => {
    const column = mapping[field];
    if (!column) return fallback;
    const result = parse(source.cells[column.index] ?? null);
    if (result.ok) return result.value;
    report(column, result.reason);
    return fallback;
  };
  const { today, facts } = context;
  const row: ExtractRow = {
    rowNumber: source.rowNumber,
    sheet: source.sheet,
    sourceList: null,
    externalId: read('externalId', (cell) => parseExternalId(cellText(cell)), ''),
    initials: read('initials', (cell) => parseInitials(cellText(cell)), ''),
    dateOfBirth: read('dateOfBirth', (cell) => parseDateOfBirth(cell, facts, today), null),
    gender: read('gender', (cell) => parseGender(cellText(cell)), null),
    ethnicity: read('ethnicity', (cell) => optionalText(cellText(cell), 100), null),
    legalStatus: read('legalStatus', (cell) => parseLegalStatus(cellText(cell)), 'cin'),
    allocatedWorker: read('allocatedWorker', (cell) => optionalText(cellText(cell), 120), null),
    allocatedTeam: read('allocatedTeam', (cell) => optionalText(cellText(cell), 120), null),
    openDate: read('openDate', (cell) => parseOptionalDate(cell, facts), null),
    closeDate: read('closeDate', (cell) => parseOptionalDate(cell, facts), null),
    referralFactors: read('referralFactors', (cell) => parseReferralFactors(cellText(cell)), []),
  };
  if (row.openDate && row.closeDate && row.closeDate < row.openDate) {
    report(mapping.closeDate!, `close date is before the open date (${formatUkDate(row.openDate)})`);
  }
  // In the file's column order, as the user reads the row.
  return { row, errors: errors.sort((a, b) => a.index - b.index).map((e) => e.error) };
}

const MAX_ERROR_VALUE_CHARS = 200;

function cellError(source: SourceRow, column: ColumnRef, reason: string): RowError {
  const value = cellText(source.cells[column.index] ?? null);
  const shown = value.length > MAX_ERROR_VALUE_CHARS ? `${value.slice(0, MAX_ERROR_VALUE_CHARS)}…` : value;
  return { sheet: source.sheet, rowNumber: source.rowNumber, column: column.header, value: shown, reason };
}

function cellText(cell: Cell): string {
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
function parseInitials(text: string): Parsed<string> {
  if (text === '') return fail(BLANK_REQUIRED);
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

/** Annex A templates prefix coded values with a list letter, as in `a) Male`. */
function withoutCodePrefix(text: string): string {
  const stripped = text.replace(/^[a-z0-9]\)\s*/i, '');
  return stripped === '' ? text : stripped;
}

/** Coded values compare like headers: case, spaces and punctuation do not matter. */
function codeKey(text: string): string {
  return normaliseHeader(withoutCodePrefix(text));
}

const GENDER_BY_CODE: ReadonlyMap<string, Gender> = new Map([
  ...codes<Gender>('male', ['Male', 'M', '1']),
  ...codes<Gender>('female', ['Female', 'F', '2']),
  // DfE census codes: 0 not known, 9 not specified; NHS uses X for not known.
  ...codes<Gender>('unknown', ['Not stated', 'Not stated/recorded', 'Not recorded', 'Not known', 'Not specified', 'Unknown', 'U', '0', '9', 'X', 'Prefer not to say']),
  ...codes<Gender>('other', ['Neither', 'Indeterminate', 'Other', 'Non-binary']),
]);

function codes<T>(value: T, texts: readonly string[]): [string, T][] {
  return texts.map((text) => [normaliseHeader(text), value]);
}

function parseGender(text: string): Parsed<Gender | null> {
  if (text === '') return ok(null);
  const gender = GENDER_BY_CODE.get(codeKey(text));
  return gender ? ok(gender) : fail('not a recognised gender: use Male, Female, Other or Unknown (or M, F, "a) Male", "b) Female")');
}

/** Annex A list 8 legal status codes: all mean the child is in care. */
const CARE_LEGAL_STATUS_CODES = ['C1', 'C2', 'D1', 'E1', 'J1', 'J2', 'J3', 'L1', 'L2', 'L3', 'V2', 'V3', 'V4'];

const LEGAL_STATUS_BY_CODE: ReadonlyMap<string, LegalStatus> = new Map([
  ...codes<LegalStatus>('early_help', ['Early Help', 'EH']),
  ...codes<LegalStatus>('cin', ['Child in Need', 'CIN', 'Children in Need']),
  ...codes<LegalStatus>('cp', ['Child Protection', 'CP', 'CPP', 'Child protection plan']),
  ...codes<LegalStatus>('plo', ['PLO', 'Pre-proceedings', 'Public Law Outline']),
  ...codes<LegalStatus>('child_in_care', [
    'Child in Care',
    'Children in Care',
    'CIC',
    'CLA',
    'LAC',
    'Looked after',
    'Looked after child',
    'Looked after children',
    ...CARE_LEGAL_STATUS_CODES,
  ]),
  // Annex A list 9 gives a care leaver's status as relevant, former relevant or qualifying.
  ...codes<LegalStatus>('care_leaver', ['Care Leaver', 'Care Leavers', 'CL', 'Leaving care', 'Relevant', 'Former relevant', 'Qualifying']),
]);

/** `C2 - Full care order`: a list 8 code followed by its description. */
const CARE_CODE_WITH_DESCRIPTION = new RegExp(`^(${CARE_LEGAL_STATUS_CODES.join('|')})(?![\\p{L}\\p{N}])`, 'iu');

function parseLegalStatus(text: string): Parsed<LegalStatus> {
  if (text === '') return fail(BLANK_REQUIRED);
  const status = LEGAL_STATUS_BY_CODE.get(codeKey(text));
  if (status) return ok(status);
  if (CARE_CODE_WITH_DESCRIPTION.test(withoutCodePrefix(text))) return ok('child_in_care');
  const labels = LEGAL_STATUSES.map((s) => LEGAL_STATUS_LABELS[s]).join(', ');
  return fail(`not a recognised legal status: use ${labels} (or CIN, CP, CLA, LAC, C2, Relevant…)`);
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

function parseDateOfBirth(cell: Cell, facts: SourceFacts, today: string): Parsed<string | null> {
  const result = parseOptionalDate(cell, facts);
  if (result.ok && result.value !== null && result.value > today) return fail('date of birth is in the future');
  return result;
}

function parseOptionalDate(cell: Cell, facts: SourceFacts): Parsed<string | null> {
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
