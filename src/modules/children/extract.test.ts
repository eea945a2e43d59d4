import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import {
  EXTRACT_FIELDS,
  HEADER_ALIASES,
  detectFormat,
  matchHeaders,
  normaliseHeader,
  readExtract,
  rowErrorsToCsv,
  type ExtractEvent,
  type ExtractOptions,
  type ExtractRow,
  type HeaderMatch,
  type RowError,
} from './extract.ts';

const TODAY = '2026-11-24';
const FIXTURES = new URL('../../../test/fixtures/children/', import.meta.url);

type Collected = { rows: ExtractRow[]; errors: RowError[]; progress: number[]; columns: HeaderMatch | null };

async function collect(input: Readable, options: Partial<ExtractOptions> = {}): Promise<Collected> {
  const result: Collected = { rows: [], errors: [], progress: [], columns: null };
  for await (const event of readExtract(input, { format: 'csv', today: TODAY, ...options })) {
    if (event.kind === 'row') result.rows.push(event.row);
    else if (event.kind === 'error') result.errors.push(event.error);
    else if (event.kind === 'progress') result.progress.push(event.rowsRead);
    else if (event.kind === 'columns') result.columns = event.columns;
  }
  return result;
}

/** Streams text in small chunks, so parsing across chunk boundaries is exercised too. */
function csv(text: string): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
  return Readable.from(chunks);
}

function fixture(name: string): Readable {
  return createReadStream(new URL(name, FIXTURES), { highWaterMark: 64 });
}

const HEADER = 'Child ID,Initials,Legal status';

describe('matchHeaders', () => {
  it('maps Annex A list 6, 8 and 9 style headers and reports the columns it ignores', () => {
    const list8 = matchHeaders([
      'Child Unique ID',
      'Initials',
      'Gender',
      'Ethnicity',
      'Date of Birth',
      'Date started to be looked after',
      "Child's Legal Status",
      'Category of need',
      'Allocated Team',
      'Allocated Worker',
    ]);
    expect(list8.errors).toEqual([]);
    expect(list8.mapping).toEqual({
      externalId: { index: 0, header: 'Child Unique ID' },
      initials: { index: 1, header: 'Initials' },
      gender: { index: 2, header: 'Gender' },
      ethnicity: { index: 3, header: 'Ethnicity' },
      dateOfBirth: { index: 4, header: 'Date of Birth' },
      legalStatus: { index: 6, header: "Child's Legal Status" },
      allocatedTeam: { index: 8, header: 'Allocated Team' },
      allocatedWorker: { index: 9, header: 'Allocated Worker' },
    });
    expect(list8.ignoredColumns).toEqual(['Date started to be looked after', 'Category of need']);
  });

  it.each(['Child’s Legal Status', 'childs legal status', 'CHILD’S_LEGAL-STATUS', ' Legal Status / Category '])(
    'reads %j as the legal status',
    (header) => {
      const match = matchHeaders(['Case ID', 'Child initials', header]);
      expect(match.errors).toEqual([]);
      expect(match.mapping.legalStatus).toEqual({ index: 2, header: header.trim() });
    },
  );

  it('reports one error per missing required column, on the header row, naming the alternatives', () => {
    const match = matchHeaders(['Child ID', 'Initials', 'Worker']);
    expect(match.errors).toEqual([
      {
        sheet: null,
        rowNumber: 1,
        column: 'Legal status',
        value: '',
        reason: `missing column "Legal status" (also accepted: Category, Case Status, Child's Legal Status, Legal status / category, Eligibility category)`,
      },
    ]);
  });

  it('refuses two columns that mean the same field', () => {
    const match = matchHeaders(['Case ID', 'Child ID', 'Initials', 'Legal status']);
    expect(match.errors).toHaveLength(1);
    expect(match.errors[0]).toMatchObject({ rowNumber: 1, column: 'External case ID', value: 'Child ID' });
    expect(match.errors[0]!.reason).toContain('"Case ID" and "Child ID"');
  });

  it('gives every alias to exactly one field', () => {
    const owners = new Map<string, string[]>();
    for (const field of EXTRACT_FIELDS) {
      for (const alias of HEADER_ALIASES[field]) owners.set(normaliseHeader(alias), [...(owners.get(normaliseHeader(alias)) ?? []), field]);
    }
    expect([...owners].filter(([, fields]) => new Set(fields).size > 1)).toEqual([]);
  });
});

describe('readExtract: CSV', () => {
  it('reads the Annex A list 6 (CIN) fixture', async () => {
    const { rows, errors, columns } = await collect(fixture('annex-a-list-6-cin.csv'));
    expect(errors).toEqual([]);
    expect(columns?.ignoredColumns).toEqual(['Age of Child (Years)', 'Disability']);
    expect(rows).toEqual([
      {
        rowNumber: 2,
        sheet: 'CSV',
        sourceList: 'list6',
        externalId: 'CIN-001',
        initials: 'AB',
        dateOfBirth: '2015-03-14',
        gender: 'male',
        ethnicity: 'WBRI',
        legalStatus: 'cin',
        allocatedWorker: 'Sam Patel',
        allocatedTeam: 'Avonford North CIN',
        openDate: '2025-09-02',
        closeDate: null,
        referralFactors: ['1a', '2b', '3c'],
        absentFields: 0,
      },
      {
        rowNumber: 3,
        sheet: 'CSV',
        sourceList: 'list6',
        externalId: 'CIN-002',
        initials: 'CD',
        dateOfBirth: '2012-11-30',
        gender: 'female',
        ethnicity: 'MWBC',
        legalStatus: 'cin',
        allocatedWorker: 'Jo Evans',
        allocatedTeam: 'Avonford North CIN',
        openDate: '2025-10-15',
        closeDate: null,
        referralFactors: [],
        absentFields: 0,
      },
    ]);
  });

  it('reads the Annex A list 8 (children in care) fixture, legal status codes included', async () => {
    const { rows, errors } = await collect(fixture('annex-a-list-8-cla.csv'));
    expect(errors).toEqual([]);
    expect(rows.map((r) => [r.externalId, r.legalStatus, r.dateOfBirth, r.allocatedWorker])).toEqual([
      ['CLA-101', 'child_in_care', '2010-01-03', 'Alex Brown'],
      ['CLA-102', 'child_in_care', '2008-07-21', null],
    ]);
  });

  it('reads the Annex A list 9 (care leavers) fixture', async () => {
    const { rows, errors } = await collect(fixture('annex-a-list-9-care-leavers.csv'));
    expect(errors).toEqual([]);
    expect(rows.map((r) => [r.externalId, r.legalStatus, r.gender, r.dateOfBirth])).toEqual([
      ['CL-201', 'care_leaver', 'male', '2005-02-01'],
      ['CL-202', 'care_leaver', 'unknown', '2007-05-09'],
    ]);
  });

  it('handles a BOM, quoted fields, CRLF and blank lines, keeping spreadsheet row numbers', async () => {
    const text = `\uFEFF"Child ID","Initials","Legal status","Allocated team"\r\n\r\nA1,JS,CIN,"Team, North"\r\n,,,\r\n"A2","K L","Child ""in"" Need",x\r\n`;
    const { rows, errors } = await collect(csv(text));
    expect(errors).toEqual([]);
    expect(rows.map((r) => [r.rowNumber, r.externalId, r.initials, r.allocatedTeam])).toEqual([
      [3, 'A1', 'JS', 'Team, North'],
      [5, 'A2', 'KL', 'x'],
    ]);
    expect(rows[1]!.legalStatus).toBe('cin'); // quotes inside a value are punctuation to the matcher
  });

  it('reports a missing required column once and reads no rows', async () => {
    const { rows, errors } = await collect(csv('Child ID,Initials\r\nA1,AB\r\nA2,CD\r\n'));
    expect(rows).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ rowNumber: 1, column: 'Legal status', reason: expect.stringContaining('missing column "Legal status"') })]);
  });

  it('reports an empty file', async () => {
    const { errors } = await collect(csv('\r\n\r\n'));
    expect(errors).toEqual([expect.objectContaining({ rowNumber: 1, reason: expect.stringContaining('empty') })]);
  });

  it('reports an unreadable CSV as an error event, not a crash', async () => {
    const { errors } = await collect(csv(`${HEADER}\r\nA1,JS,CIN\r\n"A2,JS,CIN\r\n`));
    expect(errors).toEqual([expect.objectContaining({ rowNumber: 3, reason: expect.stringContaining('could not be read as CSV') })]);
  });

  it('throws when the input stream itself fails', async () => {
    const input = new Readable({ read() {} });
    input.push(`${HEADER}\r\nA1,JS,CIN\r\n`);
    setTimeout(() => input.destroy(new Error('upload aborted')), 10);
    await expect(collect(input)).rejects.toThrow('upload aborted');
  });
});

describe('readExtract: values', () => {
  async function oneRow(header: string, values: string, options: Partial<ExtractOptions> = {}) {
    return collect(csv(`${header}\r\n${values}\r\n`), options);
  }

  it.each([
    ['a) Male', 'male'],
    ['M', 'male'],
    ['male', 'male'],
    ['1', 'male'],
    ['b) Female', 'female'],
    ['F', 'female'],
    ['2', 'female'],
    ['c) Not stated', 'unknown'],
    ['U', 'unknown'],
    ['0', 'unknown'],
    ['9', 'unknown'],
    ['Not known', 'unknown'],
    ['d) Neither', 'other'],
    ['Indeterminate', 'other'],
    ['', null],
  ])('reads gender %j as %j', async (typed, gender) => {
    const { rows, errors } = await oneRow(`${HEADER},Sex`, `A1,JS,CIN,${typed}`);
    expect(errors).toEqual([]);
    expect(rows[0]!.gender).toBe(gender);
  });

  it('refuses an unknown gender, naming row and column', async () => {
    const { errors } = await oneRow(`${HEADER},Gender`, 'A1,JS,CIN,Boy?');
    expect(errors).toEqual([expect.objectContaining({ rowNumber: 2, column: 'Gender', value: 'Boy?' })]);
  });

  it.each([
    ['Early Help', 'early_help'],
    ['EH', 'early_help'],
    ['Child in Need', 'cin'],
    ['CPP', 'cp'],
    ['Child protection plan', 'cp'],
    ['Pre-proceedings', 'plo'],
    ['Public Law Outline', 'plo'],
    ['LAC', 'child_in_care'],
    ['Looked after child', 'child_in_care'],
    ['J2', 'child_in_care'],
    ['V4', 'child_in_care'],
    ['C2 - Full care order', 'child_in_care'],
    ['Leaving care', 'care_leaver'],
    ['Qualifying', 'care_leaver'],
    ['Former relevant', 'care_leaver'],
  ])('reads legal status %j as %j', async (typed, status) => {
    const { rows, errors } = await oneRow(HEADER, `A1,JS,${typed}`);
    expect(errors).toEqual([]);
    expect(rows[0]!.legalStatus).toBe(status);
  });

  it('refuses an unknown or blank legal status, listing the accepted values', async () => {
    const { rows, errors } = await collect(csv(`${HEADER}\r\nA1,JS,Adopted\r\nA2,JS,\r\n`));
    expect(rows).toEqual([]);
    expect(errors.map((e) => [e.rowNumber, e.column])).toEqual([
      [2, 'Legal status'],
      [3, 'Legal status'],
    ]);
    expect(errors[0]!.reason).toContain('Early Help, Child in Need, Child Protection, PLO, Child in Care, Care Leaver');
    expect(errors[1]!.reason).toContain('required');
  });

  it.each([
    ['2020-01-03', '2020-01-03'],
    ['03/01/2020', '2020-01-03'],
    ['3/1/2020', '2020-01-03'],
    ['03-01-2020', '2020-01-03'],
    ['03.01.2020', '2020-01-03'],
    ['03-Jan-2020', '2020-01-03'],
    ['3 January 2020', '2020-01-03'],
    ['29/02/2020', '2020-02-29'],
    ['03/01/2020 00:00:00', '2020-01-03'],
    ['', null],
  ])('reads date %j as %j', async (typed, iso) => {
    const { rows, errors } = await oneRow(`${HEADER},DOB`, `A1,JS,CIN,${typed}`);
    expect(errors).toEqual([]);
    expect(rows[0]!.dateOfBirth).toBe(iso);
  });

  it.each(['31/02/2020', '29/02/2021', '13/13/2020', '2020-1-32', '03-Jab-2020', 'next week', '03/01/20'])(
    'refuses the date %j, naming the row and the column',
    async (typed) => {
      const { rows, errors } = await collect(csv(`${HEADER},Date of referral\r\nA1,JS,CIN,01/01/2020\r\nA2,JS,CIN,${typed}\r\n`));
      expect(rows).toHaveLength(1);
      expect(errors).toEqual([{ sheet: null, rowNumber: 3, column: 'Date of referral', value: typed, reason: expect.stringMatching(/date/) }]);
    },
  );

  it('refuses a date of birth after today and a close date before the open date', async () => {
    const { errors } = await oneRow(`${HEADER},DOB,Open date,Close date`, 'A1,JS,CIN,25/11/2026,10/05/2024,09/05/2024', { today: TODAY });
    expect(errors).toEqual([
      expect.objectContaining({ column: 'DOB', reason: 'date of birth is in the future' }),
      expect.objectContaining({ column: 'Close date', value: '09/05/2024', reason: expect.stringContaining('before the open date') }),
    ]);
  });

  it('reports each bad column of a row separately', async () => {
    const { errors } = await oneRow(`${HEADER},DOB`, ',John Smith,Nope,99/99/2020');
    expect(errors.map((e) => e.column)).toEqual(['Child ID', 'Initials', 'Legal status', 'DOB']);
    expect(errors.every((e) => e.rowNumber === 2)).toBe(true);
  });

  it.each(['John Smith', 'Amy', 'JOHN SMITH', 'Jo Smith'])('refuses the full name %j as initials', async (typed) => {
    const { rows, errors } = await oneRow(HEADER, `A1,${typed},CIN`);
    expect(rows).toEqual([]);
    expect(errors).toEqual([{ sheet: null, rowNumber: 2, column: 'Initials', value: typed, reason: 'initials only, not a full name' }]);
  });

  it.each([
    ['J. S.', 'JS'],
    ['js', 'JS'],
    ['A-M K', 'AMK'],
    ['JPS', 'JPS'],
  ])('stores initials %j as %j', async (typed, initials) => {
    const { rows, errors } = await oneRow(HEADER, `A1,${typed},CIN`);
    expect(errors).toEqual([]);
    expect(rows[0]!.initials).toBe(initials);
  });

  it.each(['J5', 'ABCDE', '..'])('refuses the initials %j', async (typed) => {
    const { errors } = await oneRow(HEADER, `A1,${typed},CIN`);
    expect(errors).toEqual([expect.objectContaining({ column: 'Initials' })]);
  });

  it('reports a duplicate case ID on the later row, naming the first', async () => {
    const { rows, errors } = await collect(csv(`${HEADER}\r\nA1,JS,CIN\r\nA2,JS,CIN\r\n A1 ,KL,CP\r\n`));
    expect(rows.map((r) => r.rowNumber)).toEqual([2, 3]);
    expect(errors).toEqual([{ sheet: null, rowNumber: 4, column: 'Child ID', value: 'A1', reason: 'duplicate of row 2' }]);
  });

  it('refuses an over-long case ID', async () => {
    const { errors } = await oneRow(HEADER, `${'X'.repeat(65)},JS,CIN`);
    expect(errors).toEqual([expect.objectContaining({ column: 'Child ID', reason: 'too long: 65 characters (at most 64)' })]);
  });

  it('splits referral factors on commas, semicolons and bars', async () => {
    const { rows } = await oneRow(`${HEADER},Referral factors`, 'A1,JS,CIN,"2A; 3B|4C, ,21"');
    expect(rows[0]!.referralFactors).toEqual(['2A', '3B', '4C', '21']);
  });

  it('keeps text that looks like a formula or HTML as typed', async () => {
    const { rows, errors } = await oneRow(`${HEADER},Ethnicity,Worker`, 'A1,JS,CIN,=1+2,<b>Sam</b>');
    expect(errors).toEqual([]);
    expect(rows[0]).toMatchObject({ ethnicity: '=1+2', allocatedWorker: '<b>Sam</b>' });
  });
});

describe('readExtract: XLSX', () => {
  async function workbookStream(build: (workbook: ExcelJS.Workbook) => void): Promise<Readable> {
    const workbook = new ExcelJS.Workbook();
    build(workbook);
    const buffer = Buffer.from(await workbook.xlsx.writeBuffer());
    const chunks = Array.from({ length: Math.ceil(buffer.length / 1024) }, (_, i) => buffer.subarray(i * 1024, i * 1024 + 1024));
    return Readable.from(chunks);
  }

  it('reads a sheet: Date cells, serial numbers, rich text and numbers', async () => {
    const input = await workbookStream((workbook) => {
      const sheet = workbook.addWorksheet('Extract');
      sheet.addRow(['Person ID', 'Child initials', 'Category', 'Date of birth', 'Referral date', 'Gender', 'Notes']);
      sheet.addRow([1001, { richText: [{ text: 'J', font: { bold: true } }, { text: 'S' }] }, 'CP', new Date(Date.UTC(2015, 2, 14)), 43833, 1, 'x']);
      sheet.addRow([]);
      sheet.addRow(['1002', 'KL', 'Looked after', '31/12/2019', new Date(Date.UTC(2024, 0, 5, 15, 30)), 'F', null]);
      sheet.addRow(['1003', 'MN', 'CIN', 'tomorrow', null, null, null]);
      workbook.addWorksheet('Lookups').addRow(['Code', 'Description']);
    });
    const { rows, errors, columns } = await collect(input, { format: 'xlsx' });
    expect(columns?.ignoredColumns).toEqual(['Notes']);
    expect(rows).toEqual([
      expect.objectContaining({ rowNumber: 2, externalId: '1001', initials: 'JS', legalStatus: 'cp', dateOfBirth: '2015-03-14', openDate: '2020-01-03', gender: 'male' }),
      expect.objectContaining({ rowNumber: 4, externalId: '1002', initials: 'KL', legalStatus: 'child_in_care', dateOfBirth: '2019-12-31', openDate: '2024-01-05', gender: 'female' }),
    ]);
    expect(errors).toEqual([{ sheet: 'Extract', rowNumber: 5, column: 'Date of birth', value: 'tomorrow', reason: expect.stringContaining('not a date') }]);
  });

  it('throws, rather than waiting for ever, when the input fails part-way through a workbook', async () => {
    const whole = await workbookStream((workbook) => {
      const sheet = workbook.addWorksheet('Extract');
      sheet.addRow(['Case ID', 'Initials', 'Legal status']);
      for (let i = 1; i <= 2000; i++) sheet.addRow([`C${i}`, 'AB', 'CIN']);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of whole) chunks.push(chunk as Buffer);
    const input = new Readable({ read() {} });
    input.push(Buffer.concat(chunks).subarray(0, 2048));
    setTimeout(() => input.destroy(new Error('upload aborted')), 20);
    await expect(collect(input, { format: 'xlsx' })).rejects.toThrow('upload aborted');
  }, 5_000);

  it('reports a damaged workbook as an error event', async () => {
    const { rows, errors } = await collect(Readable.from([Buffer.from([0x01, 0x02, 0x00, 0xff, 0x10, 0x00, 0x7f, 0x80])]), { format: 'xlsx' });
    expect(rows).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ reason: expect.stringContaining('could not be read as an Excel workbook') })]);
  });
});

// Once in several runs on a heavily loaded machine, the first workbook of this block has been
// read with every sheet empty (the streaming XLSX reader's rows never came; the import then
// refuses the file, so nothing is changed). Until its cause is found, a failure is retried once.
describe('readExtract: Annex A workbooks', () => {
  type Sheet = { name: string; rows: unknown[][] };

  async function workbookBytes(sheets: Sheet[]): Promise<Buffer> {
    const workbook = new ExcelJS.Workbook();
    for (const sheet of sheets) {
      const worksheet = workbook.addWorksheet(sheet.name);
      for (const row of sheet.rows) worksheet.addRow(row);
    }
    return Buffer.from(await workbook.xlsx.writeBuffer());
  }

  function chunked(bytes: Buffer): Readable {
    return Readable.from(Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) => bytes.subarray(i * 4096, i * 4096 + 4096)));
  }

  /** Every event in order, so tests can see that the sheets come before any row. */
  async function events(input: Readable, options: Partial<ExtractOptions> = {}) {
    const all: ExtractEvent[] = [];
    for await (const event of readExtract(input, { format: 'xlsx', today: TODAY, ...options })) all.push(event);
    const rows = all.flatMap((e) => (e.kind === 'row' ? [e.row] : []));
    const errors = all.flatMap((e) => (e.kind === 'error' ? [e.error] : []));
    const sheets = all.filter((e) => e.kind === 'sheets');
    return { all, rows, errors, sheets };
  }

  const LIST_6 = ['Child Unique ID', 'Gender', 'Date of Birth', 'Case Status', 'Allocated Team', 'Allocated Worker', 'Date of referral'];
  const LIST_7 = ['Child Unique ID', 'Gender', 'Date of Birth', 'Category of abuse', 'Child protection plan start date', 'Allocated Worker'];
  const LIST_8 = ['Child Unique ID', 'Gender', 'Date of Birth', 'Date started to be looked after', "Child's Legal Status", 'Allocated Worker'];
  const LIST_9 = ['Child Unique ID', 'Gender', 'Date of Birth', 'Eligibility Category', 'Allocated Worker'];

  const councilWorkbook = (): Sheet[] => [
    { name: 'Children in care (List 8)', rows: [LIST_8, ['C-8', 'b) Female', '03/01/2010', '01/06/2022', 'a) Interim care orders', 'Alex Brown'], ['C-9', 'a) Male', '04/02/2011', '01/07/2023', 'C1', null]] },
    { name: 'Lookups', rows: [['Code', 'Description'], ['a)', 'Male']] },
    // Annex A's own template carries a title above the header.
    { name: 'L7 CP', rows: [['List 7: Child protection'], [], LIST_7, ['C-7', 'a) Male', '05/05/2016', 'Neglect', '01/09/2025', 'Sam Patel']] },
    { name: 'List 6 - Children in need', rows: [LIST_6, ['C-6', 'a) Male', '14/03/2015', 'c) Child in need plan', 'North CIN', 'Sam Patel', '02/09/2025'], ['C-8', 'b) Female', '03/01/2010', 'd) Open assessment', 'North CIN', null, '10/10/2025']] },
    { name: 'List 9', rows: [LIST_9, ['L-1', 'a) Male', '01/02/2005', 'Relevant', 'Chris Green'], ['L-2', 'b) Female', '09/05/2006', 'Former relevant', null], ['L-3', 'a) Male', '10/10/2004', 'Qualifying', null]] },
  ];

  it('reads every list of a council workbook, in any order, saying first which sheets it reads and skips', async () => {
    const { all, rows, errors, sheets } = await events(chunked(await workbookBytes(councilWorkbook())));
    expect(errors).toEqual([]);
    expect(sheets).toEqual([
      {
        kind: 'sheets',
        read: [
          { name: 'Children in care (List 8)', list: 'list8' },
          { name: 'L7 CP', list: 'list7' },
          { name: 'List 6 - Children in need', list: 'list6' },
          { name: 'List 9', list: 'list9' },
        ],
        skipped: [{ name: 'Lookups', reason: 'no case ID column' }],
      },
    ]);
    expect(all[0]!.kind).toBe('sheets');
    expect(rows.map((r) => [r.sheet, r.rowNumber, r.externalId, r.sourceList, r.legalStatus, r.initials])).toEqual([
      ['Children in care (List 8)', 2, 'C-8', 'list8', 'child_in_care', null],
      ['Children in care (List 8)', 3, 'C-9', 'list8', 'child_in_care', null],
      ['L7 CP', 4, 'C-7', 'list7', 'cp', null],
      ['List 6 - Children in need', 2, 'C-6', 'list6', 'cin', null],
      // The same child on two lists is two rows, each tagged with its list, for the caller to merge.
      ['List 6 - Children in need', 3, 'C-8', 'list6', 'cin', null],
      ['List 9', 2, 'L-1', 'list9', 'care_leaver', null],
      ['List 9', 3, 'L-2', 'list9', 'care_leaver', null],
      ['List 9', 4, 'L-3', 'list9', 'care_leaver', null],
    ]);
    expect(rows[0]).toMatchObject({ gender: 'female', dateOfBirth: '2010-01-03', allocatedWorker: 'Alex Brown' });
    expect(all.at(-1)).toEqual({ kind: 'progress', rowsRead: 8 });
  });

  // exceljs's single streaming pass lost the entries after the first worksheet now and then
  // (exceljs issue #3064): a sheet came out with blank case IDs, or the read failed. Many
  // reads at once make that likely; every one must see every sheet, its strings and its dates.
  it('reads every sheet of the same workbook alike on every read, many at once', async () => {
    const bytes = await workbookBytes(councilWorkbook());
    const reads = await Promise.all(Array.from({ length: 40 }, () => events(chunked(bytes))));
    for (const { rows, errors } of reads) {
      expect(errors).toEqual([]);
      expect(rows.map((r) => `${r.externalId} ${r.dateOfBirth}`)).toEqual(reads[0]!.rows.map((r) => `${r.externalId} ${r.dateOfBirth}`));
    }
    expect(reads[0]!.rows).toHaveLength(8);
  });

  it('reads a workbook whose file name says .csv as a workbook', async () => {
    const { rows, errors } = await events(chunked(await workbookBytes(councilWorkbook())), { format: 'csv', name: 'annex-a.csv' });
    expect(errors).toEqual([]);
    expect(rows).toHaveLength(8);
  });

  it('reports every problem of every row of every sheet in one pass', async () => {
    const { rows, errors } = await events(
      chunked(
        await workbookBytes([
          { name: 'List 8', rows: [[...LIST_8, 'Initials'], ['C-1', 'Boy?', '31/02/2010', '01/06/2022', 'CP', null, 'John Smith'], ['C-1', 'a) Male', '01/01/2010', null, 'C2', null, null]] },
          { name: 'List 9', rows: [LIST_9, ['L-1', 'a) Male', '01/02/2005', 'Adopted', null]] },
        ]),
      ),
    );
    expect(rows).toEqual([]);
    expect(errors.map((e) => [e.sheet, e.rowNumber, e.column, e.reason.slice(0, 30)])).toEqual([
      ['List 8', 2, 'Gender', 'not a recognised gender: use M'],
      ['List 8', 2, 'Date of Birth', 'not a real date'],
      ['List 8', 2, "Child's Legal Status", 'not a List 8 legal status: use'],
      ['List 8', 2, 'Initials', 'initials only, not a full name'],
      ['List 8', 3, 'Child Unique ID', 'duplicate of row 2'],
      ['List 9', 2, 'Eligibility Category', 'not an eligibility category: u'],
    ]);
  });

  async function refused(input: Readable, options: Partial<ExtractOptions> = {}) {
    const { rows, errors, sheets } = await events(input, options);
    expect(rows).toEqual([]);
    expect(sheets).toHaveLength(1);
    expect(errors).toHaveLength(1);
    return { reason: errors[0]!.reason, error: errors[0]!, sheets: sheets[0]! };
  }

  it('refuses a workbook with no recognisable list, naming the sheets it skipped', async () => {
    const { reason, sheets } = await refused(chunked(await workbookBytes([{ name: 'Notes', rows: [['Written by', 'QA team']] }, { name: 'Lookups', rows: [['Code']] }])));
    expect(reason).toBe(
      'No sheet of the workbook is a list of children: a list needs a case ID column (External case ID, Case ID, Child ID, Child Unique ID…). ' +
        'Sheets skipped: "Notes" (no case ID column), "Lookups" (no case ID column).',
    );
    expect(sheets).toMatchObject({ read: [] });
  });

  it('refuses a list sheet with a header but no rows, reading none of the others', async () => {
    const sheets = councilWorkbook();
    sheets.push({ name: 'List 7 (2)', rows: [LIST_7, []] });
    const { error } = await refused(chunked(await workbookBytes(sheets)));
    expect(error).toEqual({ sheet: 'List 7 (2)', rowNumber: 1, column: '', value: '', reason: 'The sheet "List 7 (2)" has a header row but no children below it: export it again with its rows, or delete the sheet.' });
  });

  it('refuses a sheet named as a list that has no case ID column, rather than skipping its children', async () => {
    const { error } = await refused(chunked(await workbookBytes([{ name: 'List 8', rows: [['Reference', 'Legal status'], ['X1', 'C2']] }])));
    expect(error.sheet).toBe('List 8');
    expect(error.reason).toContain('looks like List 8 (children in care) but has no case ID column');
  });

  it('refuses an empty file in one sentence', async () => {
    const { reason } = await refused(Readable.from([]));
    expect(reason).toBe('The file is empty: export the extract again, with its header row and its children.');
  });

  it('refuses a password-protected workbook (an OLE compound file) in plain words', async () => {
    const ole = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(2048, 0)]);
    const { reason } = await refused(Readable.from([ole]));
    expect(reason).toMatch(/^The file is a password-protected workbook or an old Excel 97-2003 \(\.xls\) file/);
  });

  it('refuses a workbook cut short, without waiting for ever', async () => {
    const whole = await workbookBytes(councilWorkbook());
    const { reason } = await refused(chunked(whole.subarray(0, Math.floor(whole.length / 2))));
    expect(reason).toContain('could not be read as an Excel workbook (.xlsx)');
  }, 10_000);

  it('reads a CSV whose file name says .xlsx as CSV', async () => {
    const { rows, errors } = await events(csv('Child Unique ID,Legal status\r\nA1,CIN\r\n'), { format: 'xlsx', name: 'register.xlsx' });
    expect(errors).toEqual([]);
    expect(rows).toEqual([expect.objectContaining({ sheet: 'register', externalId: 'A1', legalStatus: 'cin', initials: null })]);
  });

  it('takes a CSV list from its file name: List 7 needs no status column', async () => {
    const { rows, errors, sheets } = await events(csv('Child Unique ID,Category of abuse\r\nP1,Neglect\r\n'), { format: 'csv', name: 'List 7 - CP.csv' });
    expect(errors).toEqual([]);
    expect(sheets).toEqual([{ kind: 'sheets', read: [{ name: 'List 7 - CP', list: 'list7' }], skipped: [] }]);
    expect(rows).toEqual([expect.objectContaining({ sheet: 'List 7 - CP', sourceList: 'list7', legalStatus: 'cp' })]);
  });

  it('refuses a CSV with a header but no rows', async () => {
    const { error } = await refused(csv('Child ID,Legal status\r\n\r\n'), { format: 'csv' });
    expect(error).toEqual({ sheet: null, rowNumber: 1, column: '', value: '', reason: 'The file has a header row but no children below it: export it again with its rows.' });
  });

  it.each([
    ['a web page saved as .xlsx', '<html><body><table><tr><td>Child ID</td></tr></table></body></html>', 'web page or XML document'],
    ['a UTF-16 "Unicode text" export', '\uFEFFChild ID\tLegal status', 'Unicode text'],
  ])('refuses %s in plain words', async (_, text, words) => {
    const bytes = words === 'Unicode text' ? Buffer.from(text, 'utf16le') : Buffer.from(text);
    const { reason } = await refused(Readable.from([bytes]), { format: 'xlsx' });
    expect(reason).toContain(words);
  });
});

describe('readExtract: large files', () => {
  it('streams a 20,000-row CSV with a progress event every 1,000 rows', async () => {
    const ROWS = 20_000;
    function* lines() {
      yield `${HEADER},Date of birth,Gender,Allocated worker,Referral factors\r\n`;
      for (let i = 1; i <= ROWS; i++) yield `C${i},AB,${i % 2 ? 'CIN' : 'CP'},01/0${(i % 9) + 1}/2015,a) Male,Worker ${i % 50},"1a,2b"\r\n`;
    }
    const { rows, errors, progress } = await collect(Readable.from(lines()));
    expect(errors).toEqual([]);
    expect(rows).toHaveLength(ROWS);
    expect(rows.at(-1)).toMatchObject({ rowNumber: ROWS + 1, externalId: `C${ROWS}`, legalStatus: 'cp' });
    expect(progress).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 1000));
  });

  it('streams a 100,000-row workbook sheet without holding it in memory', async () => {
    const ROWS = 100_000;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'extract-test-'));
    const file = path.join(dir, 'annex-a.xlsx');
    try {
      // Written by exceljs's streaming writer, with shared strings, as Excel stores text.
      const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true });
      const sheet = writer.addWorksheet('List 6 - Children in need');
      sheet.addRow(['Child Unique ID', 'Gender', 'Date of Birth', 'Case Status', 'Allocated Worker']).commit();
      for (let i = 1; i <= ROWS; i++) sheet.addRow([`C${i}`, 'a) Male', new Date(Date.UTC(2015, i % 12, 1)), 'c) Child in need plan', `Worker ${i % 50}`]).commit();
      await sheet.commit();
      await writer.commit();
      globalThis.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      let rows = 0;
      for await (const event of readExtract(createReadStream(file), { format: 'xlsx', today: TODAY })) {
        if (event.kind === 'row') rows += 1;
        else if (event.kind === 'error') throw new Error(event.error.reason);
        else if (event.kind === 'progress') peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(rows).toBe(ROWS);
      // Kept per row: the case IDs seen (for duplicates) and exceljs's shared strings, some 20 MB;
      // the rest is garbage of the XML parsing not yet collected (measured 130-180 MB on 2 cores).
      expect((peak - before) / 2 ** 20).toBeLessThan(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('ends with a progress event carrying the total', async () => {
    const { progress } = await collect(csv(`${HEADER}\r\nA1,JS,CIN\r\nA2,JS,CIN\r\n`));
    expect(progress).toEqual([2]);
  });
});

describe('detectFormat', () => {
  it('picks xlsx by extension or ZIP magic, otherwise csv', () => {
    expect(detectFormat('Annex A.XLSX')).toBe('xlsx');
    expect(detectFormat('extract.csv', Buffer.from('PK\x03\x04rest', 'latin1'))).toBe('xlsx');
    expect(detectFormat('extract.csv', Buffer.from('Child ID,Initials'))).toBe('csv');
    expect(detectFormat('extract')).toBe('csv');
  });
});

describe('rowErrorsToCsv', () => {
  it('writes Row, Column, Value, Reason and neutralises formula starts', () => {
    const out = rowErrorsToCsv([
      { rowNumber: 2, column: 'Initials', value: '=HYPERLINK("x")', reason: 'initials only, not a full name' },
      { rowNumber: 3, column: 'Gender', value: '+1', reason: 'a, b' },
      { rowNumber: 4, column: '@col', value: '-2', reason: '\tx' },
    ]);
    expect(out).toBe(
      '\uFEFFRow,Column,Value,Reason\r\n' +
        `2,Initials,"'=HYPERLINK(""x"")","initials only, not a full name"\r\n` +
        `3,Gender,'+1,"a, b"\r\n` +
        `4,'@col,'-2,'\tx\r\n`,
    );
  });
});
