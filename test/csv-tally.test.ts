import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvTally, type Keep } from '../src/modules/children/csv-tally.ts';
import { testDrivers } from './support/database.ts';

/**
 * The tally read alongside a register import's COPY must read every file PostgreSQL reads as
 * PostgreSQL reads it: the same records, the same cells. Here PostgreSQL itself is the judge:
 * generated files, fed to the tally in chunks cut anywhere (inside a quoted cell, between a
 * carriage return and its line feed, inside a character of several bytes), are copied into a
 * table, and what the tally kept is worked out again from the table's rows.
 */
const onPostgres = testDrivers().includes('postgres');

/** Cells with what makes CSV hard: commas, quotes, line ends inside quotes, white space of every kind, several-byte characters. */
const cellChars = fc.constantFrom('a', 'B', '7', ' ', ',', '"', '\n', '\r', '\t', '\u00a0', '\u3000', 'é', '😀', '-', '/');
const cellText = fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 4, arbitrary: fc.array(cellChars, { maxLength: 8 }).map((chars) => chars.join('')) });
/** A cell as a file writes it: quoted when it must be, and sometimes when it need not be. */
const written = (text: string, quote: boolean) => (quote || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

const csvFile = fc
  .record({ width: fc.integer({ min: 1, max: 4 }), lineEnd: fc.constantFrom('\n', '\r\n', '\r'), bom: fc.boolean(), quotedHeader: fc.boolean(), finalLineEnd: fc.boolean() })
  .chain(({ width, ...shape }) =>
    fc.record({
      shape: fc.constant({ width, ...shape }),
      rows: fc.array(fc.array(fc.tuple(cellText, fc.boolean()), { minLength: width, maxLength: width }), { maxLength: 12 }),
      cuts: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
    }),
  )
  // A record of one empty cell is a blank line, which PostgreSQL refuses for a table of several columns and reads as null for one.
  .filter(({ shape, rows }) => rows.every((row) => shape.width > 1 || row[0]![0] !== '' || row[0]![1]));

function fileOf({ shape, rows }: { shape: { width: number; lineEnd: string; bom: boolean; quotedHeader: boolean; finalLineEnd: boolean }; rows: [string, boolean][][] }) {
  const header = Array.from({ length: shape.width }, (_, i) => written(`Column ${i + 1}`, shape.quotedHeader)).join(',');
  const lines = [header, ...rows.map((row) => row.map(([text, quote]) => written(text, quote)).join(','))];
  return Buffer.from(`${shape.bom ? '\ufeff' : ''}${lines.join(shape.lineEnd)}${shape.finalLineEnd ? shape.lineEnd : ''}`, 'utf8');
}

/** The file to the tally in pieces of the sizes given (in turn), as a stream's chunks would come. */
function tallied(bytes: Buffer, cuts: number[], keep: ReadonlyMap<number, Keep>): CsvTally {
  const tally = new CsvTally(keep);
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = cuts[i % cuts.length]!;
    tally.push(bytes.subarray(at, at + size));
    at += size;
  }
  tally.end();
  return tally;
}

/** What the import keeps of a case ID: one that is empty, too long or with white space at an end. */
const caseIdNeedsReading = (text: string) => text === '' || text !== text.trim() || [...text].length > 64;

describe.skipIf(!onPostgres)('the tally read alongside a COPY', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });

  /** The file as PostgreSQL reads it: its rows, each cell's text ('' for an empty one). */
  async function copied(bytes: Buffer, width: number): Promise<string[][]> {
    const columns = Array.from({ length: width }, (_, i) => `c${i + 1}`);
    await client.query(`create temp table tally_copy (n serial, ${columns.map((c) => `${c} text`).join(', ')})`);
    try {
      await pipeline(Readable.from([bytes]), client.query(copyFrom(`copy tally_copy (${columns.join(', ')}) from stdin with (format csv, header true)`)));
      const { rows } = await client.query<Record<string, string | null>>(`select ${columns.join(', ')} from tally_copy order by n`);
      return rows.map((row) => columns.map((c) => row[c] ?? ''));
    } finally {
      await client.query('drop table tally_copy');
    }
  }

  it('counts the records and blank rows, and keeps the distinct cells, exactly as PostgreSQL reads the file', async () => {
    await fc.assert(
      fc.asyncProperty(csvFile, async (file) => {
        const bytes = fileOf(file);
        const width = file.shape.width;
        const keep = new Map<number, Keep>(Array.from({ length: width }, (_, i) => [i, i === 0 ? 'case-id' : 'distinct']));
        const tally = tallied(bytes, file.cuts, keep);
        const rows = await copied(bytes, width);
        expect(tally.faulty).toBe(false);
        expect(tally.records).toBe(rows.length);
        const blank = (row: string[]) => row.every((text) => text.trim() === '');
        expect(tally.blankRows).toBe(rows.filter(blank).length);
        const counted = rows.filter((row) => !blank(row));
        expect(new Set(tally.values(0))).toEqual(new Set(counted.map((row) => row[0]!).filter(caseIdNeedsReading)));
        for (let i = 1; i < width; i++) expect(new Set(tally.values(i))).toEqual(new Set(counted.map((row) => row[i]!)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a file with a quote inside an unquoted cell, or text after a closing quote, which PostgreSQL would read', async () => {
    for (const line of ['AB1,Jo "Jo" Smith', 'AB1,"Jo" Smith', 'AB1,"Jo"x']) {
      const bytes = Buffer.from(`Case ID,Name\r\n${line}\r\n`);
      expect(await copied(bytes, 2)).toHaveLength(1);
      for (const cuts of [[1], [3], [64]]) expect(tallied(bytes, cuts, new Map([[1, 'distinct']])).faulty).toBe(true);
    }
  });

  it('counts differently from PostgreSQL where PostgreSQL stops at an end-of-data line, so the import reads such a file itself', async () => {
    const bytes = Buffer.from('Case ID\nAB1\n\\.\nAB2\n');
    const tally = tallied(bytes, [64], new Map([[0, 'case-id']]));
    expect((await copied(bytes, 1)).length).not.toBe(tally.records);
  });

  it('finds a byte-order mark cut over two chunks, before a quoted header', () => {
    const tally = tallied(Buffer.from('\ufeff"Case ID"\n"AB1 "\n'), [1], new Map([[0, 'case-id']]));
    expect(tally.faulty).toBe(false);
    expect(tally.values(0)).toEqual(['AB1 ']);
  });

  it('keeps a long case ID by its characters, not its bytes', () => {
    const sixtyFour = 'é'.repeat(64);
    const tally = tallied(Buffer.from(`Case ID\n${sixtyFour}\n${sixtyFour}é\n ab\n`), [5], new Map([[0, 'case-id']]));
    expect(tally.values(0).sort()).toEqual([' ab', `${sixtyFour}é`]);
  });
});
