/**
 * The file under an extract: what it really is (by its bytes, not its name) and its sheets as
 * streams of rows. A CSV is one sheet; a workbook is spooled to a temporary file so that its
 * sheets can be surveyed (which are lists, which are not) before any row is given out, and
 * then read, each pass streaming: the workbook is never held in memory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseCsv } from 'csv-parse';
import ExcelJS from 'exceljs';
import type { CellValue } from 'exceljs';
import { Open as openZip, type CentralDirectoryFile } from 'unzipper';

/** A cell as the normaliser sees it: CSV gives strings, XLSX also numbers and dates. */
export type Cell = string | number | Date | null;
export type SourceRow = { rowNumber: number; cells: Cell[] };

// ---------------------------------------------------------------------------------------------
// What the file is

/**
 * `zip` is an XLSX (a ZIP archive); `ole` an OLE compound file, which is how Excel saves a
 * password-protected workbook (and the old .xls format); `utf16` a "Unicode text" export.
 */
export type FileKind = 'empty' | 'zip' | 'ole' | 'utf16' | 'markup' | 'binary' | 'text';

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const SNIFF_BYTES = 4096;

export function fileKind(head: Uint8Array): FileKind {
  const startsWith = (magic: readonly number[]) => magic.every((byte, i) => head[i] === byte);
  if (head.length === 0) return 'empty';
  if (startsWith(ZIP_MAGIC)) return 'zip';
  if (startsWith(OLE_MAGIC)) return 'ole';
  if (startsWith([0xff, 0xfe]) || startsWith([0xfe, 0xff])) return 'utf16';
  if (head.includes(0)) return 'binary';
  const text = Buffer.from(head.subarray(0, 512)).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  // Some case systems "export to Excel" as a web page or XML with a spreadsheet's name.
  if (/^<(?:!doctype|html|\?xml|table)/.test(text)) return 'markup';
  return 'text';
}

/**
 * Reads the first bytes of the upload to see what it is, and gives back a stream of the whole
 * file. Failures of the upload itself surface from `body`; stopping `body` early stops the upload.
 */
export async function sniffInput(input: Readable): Promise<{ kind: FileKind; body: Readable }> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = toBuffer(next.value);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* whole(): AsyncGenerator<Buffer> {
    let finished = ended;
    try {
      if (head.length > 0) yield head;
      while (!finished) {
        const next = await iterator.next();
        if (next.done) finished = true;
        else yield toBuffer(next.value);
      }
    } finally {
      if (!finished) await iterator.return?.();
    }
  }
  return { kind: fileKind(head), body: Readable.from(whole(), { objectMode: false }) };
}

function toBuffer(chunk: unknown): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array);
}

// ---------------------------------------------------------------------------------------------
// CSV: one sheet

/** Bounds memory on a malformed file, e.g. an unclosed quote swallowing the rest of it. */
const MAX_CSV_RECORD_CHARS = 1_000_000;

export async function* csvRows(body: Readable): AsyncGenerator<SourceRow> {
  const parser = parseCsv({ bom: true, delimiter: ',', relax_column_count: true, max_record_size: MAX_CSV_RECORD_CHARS });
  // Errors reach us through the parser's iterator: the pipeline destroys it with the input's error.
  pipeline(body, parser).catch(() => {});
  // Counting every record, blank ones included, keeps row numbers as a spreadsheet shows them.
  let rowNumber = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      rowNumber += 1;
      yield { rowNumber, cells: record };
    }
  } finally {
    body.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// XLSX: a spooled workbook, read sheet by sheet

export type SpooledWorkbook = { path: string; remove: () => Promise<void> };

/** Writes the upload to a private temporary file; an upload that fails rejects with its error. */
export async function spoolWorkbook(body: Readable): Promise<SpooledWorkbook> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'assure-extract-'));
  const remove = () => fs.promises.rm(dir, { recursive: true, force: true });
  const file = path.join(dir, 'upload.xlsx');
  try {
    await pipeline(body, fs.createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    await remove();
    throw error;
  }
  return { path: file, remove };
}

/**
 * A ZIP archive ends with its directory; a workbook cut short (an interrupted download) has
 * none, and the streaming reader would wait for entries that never come. Checking the last
 * bytes first turns that into a plain "damaged" message.
 */
export async function hasZipDirectory(file: string): Promise<boolean> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 65_557); // the end record (22 bytes) and a comment of up to 64 KB
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    return tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) >= 0;
  } finally {
    await handle.close();
  }
}

/** `file` is the sheet's part number in the archive (`xl/worksheets/sheet3.xml` is 3). */
export type WorksheetStream = { file: number; rows: AsyncGenerator<SourceRow> };
/**
 * What the workbook says of itself once read through: every sheet's name in the workbook's
 * order, the name of each worksheet part, and its date system.
 */
export type WorkbookFacts = { sheetNames: string[]; nameByFile: Map<number, string>; date1904: boolean };

export function newWorkbookFacts(): WorkbookFacts {
  return { sheetNames: [], nameByFile: new Map(), date1904: false };
}

/**
 * The workbook's worksheets in archive order, each to be read through (or left: the next
 * sheet drains it) before the next. Chart sheets are not worksheets and do not come out;
 * `facts`, filled before the first sheet, names every sheet, so the caller can account for
 * them.
 *
 * The archive is read through its directory, not as one stream. exceljs's own single pass
 * (`WorkbookReader.parse`) sometimes loses every entry after the first worksheet on current
 * Node.js (exceljs issue #3064), and then reads sheets without their shared strings or fails;
 * and workbook.xml, the shared strings and the styles, which a workbook may store after its
 * worksheets, are needed before any row. exceljs still parses every part; each worksheet
 * streams, so the workbook is never held in memory.
 */
export async function* worksheets(workbookPath: string, facts: WorkbookFacts): AsyncGenerator<WorksheetStream> {
  const { files } = await openZip.file(workbookPath);
  const part = (name: string) => files.find((file) => file.path === name);
  const reader = partReader(workbookPath);
  const relationships = part('xl/_rels/workbook.xml.rels');
  if (relationships) await reader._parseRels(relationships.stream());
  const workbookPart = part('xl/workbook.xml');
  if (workbookPart) await reader._parseWorkbook(workbookPart.stream());
  const sharedStrings = part('xl/sharedStrings.xml');
  if (sharedStrings) for await (const event of reader._parseSharedStrings(sharedStrings.stream())) void event;
  const styles = part('xl/styles.xml');
  if (styles) await reader._parseStyles(styles.stream());
  Object.assign(facts, await sheetsOf(part), { date1904: usesDate1904(reader) });
  for (const file of files) {
    const sheetNumber = /^xl\/worksheets\/sheet(\d+)\.xml$/.exec(file.path)?.[1];
    if (sheetNumber === undefined) continue;
    const content = file.stream();
    try {
      for (const { value: worksheet } of reader._parseWorksheet(content, sheetNumber)) {
        const rows = worksheetRows(worksheet);
        yield { file: Number(sheetNumber), rows };
        // exceljs reads a sheet only as its rows are asked for; the caller may stop early.
        for await (const row of rows) void row;
      }
    } finally {
      content.destroy(); // a read stopped early would otherwise hold the member open
    }
  }
}

/**
 * The methods of exceljs's stream reader that parse one archive member each. They are its
 * internals (unchanged through 4.x; the lock file pins the version): the extract tests read
 * workbooks through every one of them, so a change shows there first.
 */
type WorkbookPartReader = {
  _parseRels(part: Readable): Promise<void>;
  _parseWorkbook(part: Readable): Promise<void>;
  _parseSharedStrings(part: Readable): AsyncGenerator<unknown>;
  _parseStyles(part: Readable): Promise<void>;
  _parseWorksheet(part: Readable, sheetNumber: string): Generator<{ value: AsyncIterable<ExcelJS.Row> }>;
};

function partReader(workbookPath: string): WorkbookPartReader {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(workbookPath, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache', // needed to recognise date-formatted cells
    hyperlinks: 'ignore',
  });
  // A workbook without workbook.xml still has its sheets read, under their part names.
  Object.assign(reader, { model: { sheets: [] }, properties: { model: { date1904: false } } });
  return reader as unknown as WorkbookPartReader;
}

/** The sheets workbook.xml lists, in order, and which worksheet part each is. */
async function sheetsOf(part: (name: string) => CentralDirectoryFile | undefined): Promise<Pick<WorkbookFacts, 'sheetNames' | 'nameByFile'>> {
  const text = async (name: string) => (await part(name)?.buffer())?.toString('utf8') ?? '';
  const targets = new Map(xmlElements(await text('xl/_rels/workbook.xml.rels'), 'Relationship').map((rel) => [rel.Id, rel.Target ?? ''] as const));
  const sheets = xmlElements(await text('xl/workbook.xml'), 'sheet').filter((sheet) => sheet.name);
  const nameByFile = new Map<number, string>();
  for (const sheet of sheets) {
    const target = /worksheets\/sheet(\d+)\.xml$/.exec(targets.get(sheet['r:id']) ?? '');
    if (target) nameByFile.set(Number(target[1]), sheet.name!);
  }
  return { sheetNames: sheets.map((sheet) => sheet.name!), nameByFile };
}

async function* worksheetRows(worksheet: AsyncIterable<ExcelJS.Row>): AsyncGenerator<SourceRow> {
  for await (const row of worksheet) yield { rowNumber: row.number, cells: excelRowCells(row.values) };
}

/** The attributes of each `<tag …/>` in a small XML part (workbook.xml and its relationships). */
function xmlElements(xml: string, tag: string): Record<string, string | undefined>[] {
  const elements = xml.matchAll(new RegExp(`<(?:\\w+:)?${tag}\\s([^>]*?)/?>`, 'g'));
  return [...elements].map((element) =>
    Object.fromEntries([...element[1]!.matchAll(/([\w:]+)\s*=\s*"([^"]*)"/g)].map((a) => [a[1]!, xmlText(a[2]!)])),
  );
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return XML_ENTITIES[name] ?? whole;
  });
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
