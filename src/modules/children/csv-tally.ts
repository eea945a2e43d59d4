/**
 * A CSV file's records read as PostgreSQL's `COPY … (FORMAT csv, HEADER true)` reads them, in
 * this process, from the same chunks as they go to the server: the copy and this reading run at
 * once, on two processors. It keeps only what the import's checks need of each record — the
 * distinct values of the columns asked for, whether the record is blank — and refuses (`faulty`)
 * a file the extract reader would read differently: a quote inside an unquoted field, or
 * anything but a comma or a line's end after a closing quote.
 *
 * It does not check what PostgreSQL checks (the number of fields, the encoding, line endings
 * used alike): a file that breaks those fails the copy itself. Its count of records is compared
 * with the copy's; a file the two count differently is not read this way at all.
 */
const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const [NEXT_COMMA, NEXT_LF, NEXT_CR, NEXT_QUOTE] = [0, 1, 2, 3];

/** What a column's values are kept for: every distinct value, or only case IDs that need reading (see `needsReading`). */
export type Keep = 'distinct' | 'case-id';

/**
 * The file is read as Latin-1 text, one character per byte, so that positions are bytes and a
 * cell is a slice of the chunk's string; only the distinct values kept are decoded as UTF-8.
 */
export class CsvTally {
  faulty = false;
  /** Records after the header. */
  records = 0;
  /** Records with nothing in any cell (by JavaScript's `trim`): the reader skips them, and so does the import. */
  blankRows = 0;
  private rest = '';
  private started = false;
  private headerRead = false;
  private skipLf = false;
  private readonly keep: (Keep | undefined)[] = [];
  /** The kept columns, and each one's distinct values so far (as Latin-1) and value in the record being read. */
  private readonly columns: number[];
  private readonly kept: Set<string>[];
  private readonly record: (string | undefined)[];

  constructor(columns: ReadonlyMap<number, Keep>) {
    for (const [index, kind] of columns) this.keep[index] = kind;
    this.columns = [...columns.keys()];
    this.kept = this.columns.map(() => new Set<string>());
    this.record = new Array(this.keep.length).fill(undefined);
  }

  /** A kept column's distinct values, blank records left out. */
  values(column: number): string[] {
    const at = this.columns.indexOf(column);
    return at < 0 ? [] : [...this.kept[at]!].map(utf8);
  }

  push(chunk: Buffer) {
    if (this.faulty) return;
    let data = this.rest + chunk.toString('latin1');
    if (!this.started) {
      // A byte-order mark is looked for once three bytes have come, however the file is cut.
      if (data.length < 3) {
        this.rest = data;
        return;
      }
      this.started = true;
      if (data.startsWith('\xef\xbb\xbf')) data = data.slice(3);
    }
    this.rest = data.slice(this.readRecords(data, false));
  }

  /** The file has ended: its last record may have no line end. */
  end() {
    if (this.faulty || this.rest === '') return;
    const data = this.rest;
    this.rest = '';
    this.readRecords(data, true);
  }

  /**
   * Where the next comma, line feed, carriage return or quote is in the text being read (its
   * length when there is none), each found by a native search and kept until passed.
   */
  private readonly found = [-1, -1, -1, -1];
  private text = '';

  private next(which: number, char: string, from: number): number {
    let at = this.found[which]!;
    if (at < from) {
      at = this.text.indexOf(char, from);
      this.found[which] = at = at < 0 ? this.text.length : at;
    }
    return at;
  }

  /** Reads whole records from `data`; where the unread part starts (a record not yet ended). */
  private readRecords(data: string, atEnd: boolean): number {
    this.text = data;
    this.found.fill(-1);
    let at = 0;
    if (this.skipLf && data.length > 0) {
      if (data.charCodeAt(0) === LF) at = 1;
      this.skipLf = false;
    }
    while (at < data.length && !this.faulty) {
      const next = this.readRecord(data, at, atEnd);
      if (next < 0) return at;
      at = next;
    }
    return at;
  }

  /** One record from `at`: where the next starts, or -1 when the data ends inside it (and more is to come). */
  private readRecord(data: string, start: number, atEnd: boolean): number {
    let at = start;
    let column = 0;
    let blank = true;
    for (;;) {
      let end: number;
      let value: string;
      if (data.charCodeAt(at) === QUOTE) {
        // A quoted cell: "" inside is one quote; it ends at a quote followed by anything else.
        let close = at + 1;
        let doubled = false;
        for (;;) {
          close = data.indexOf('"', close);
          if (close < 0) {
            if (atEnd) this.faulty = true; // unterminated: the copy fails too
            return -1;
          }
          if (close + 1 >= data.length && !atEnd) return -1;
          if (data.charCodeAt(close + 1) !== QUOTE) break;
          doubled = true;
          close += 2;
        }
        value = data.slice(at + 1, close);
        if (doubled) value = value.replaceAll('""', '"');
        end = close + 1;
        const after = data.charCodeAt(end);
        if (end < data.length && after !== COMMA && after !== LF && after !== CR) {
          this.faulty = true;
          return -1;
        }
      } else {
        end = Math.min(this.next(NEXT_COMMA, ',', at), this.next(NEXT_LF, '\n', at), this.next(NEXT_CR, '\r', at));
        if (this.next(NEXT_QUOTE, '"', at) < end) {
          this.faulty = true;
          return -1;
        }
        if (end >= data.length && !atEnd) return -1;
        value = data.slice(at, end);
      }
      if (blank && !blankCell(value)) blank = false;
      const kind = this.keep[column];
      if (kind === 'distinct') this.record[column] = value;
      else if (kind === 'case-id') this.record[column] = needsReading(value);
      column++;
      if (end >= data.length) {
        this.endRecord(blank);
        return end;
      }
      const separator = data.charCodeAt(end);
      if (separator === COMMA) {
        at = end + 1;
        continue;
      }
      this.endRecord(blank);
      if (separator === LF) return end + 1;
      // A carriage return, perhaps with its line feed in the next chunk.
      if (end + 1 < data.length) return data.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      this.skipLf = true;
      return end + 1;
    }
  }

  private endRecord(blank: boolean) {
    if (!this.headerRead) {
      this.headerRead = true;
      this.record.fill(undefined);
      return;
    }
    this.records++;
    if (blank) this.blankRows++;
    for (let i = 0; i < this.columns.length; i++) {
      const column = this.columns[i]!;
      const value = this.record[column];
      // A record shorter than the header fails the copy: cells it lacks are not counted.
      if (!blank && value !== undefined) this.kept[i]!.add(value);
      this.record[column] = undefined;
    }
  }
}

/** Latin-1 text (the file's bytes) as the UTF-8 it is. */
const utf8 = (bytes: string) => Buffer.from(bytes, 'latin1').toString('utf8');

/** JavaScript's white space and line terminators that are one byte in UTF-8. */
const isAsciiSpace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);

/** Whether a cell trims to nothing; a cell with any byte beyond ASCII is decoded to decide. */
function blankCell(bytes: string): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const code = bytes.charCodeAt(i);
    if (code >= 0x80) return utf8(bytes).trim() === '';
    if (!isAsciiSpace(code)) return false;
  }
  return true;
}

/** Longest case ID kept as it stands. */
const CASE_ID_CHARS = 64;

/**
 * A case ID that is not plain — empty, longer than the register keeps, or with white space at
 * either end — is kept for the reader's rules; a plain one (undefined) needs none.
 */
function needsReading(bytes: string): string | undefined {
  const first = bytes.charCodeAt(0);
  const last = bytes.charCodeAt(bytes.length - 1);
  const plainEnds = bytes.length > 0 && first < 0x80 && !isAsciiSpace(first) && last < 0x80 && !isAsciiSpace(last);
  if (plainEnds && bytes.length <= CASE_ID_CHARS) return undefined;
  const text = utf8(bytes);
  return text !== '' && text === text.trim() && [...text].length <= CASE_ID_CHARS ? undefined : bytes;
}
