/**
 * A CSV extract on PostgreSQL, staged at the speed PostgreSQL loads any file: the header is read
 * here (the council's column names matched to ours as for any extract), then the file's bytes go
 * untouched into `COPY … (FORMAT csv)` so that the server parses the CSV into a temporary table of
 * text columns. The rules for a cell still live once, in the extract reader's `fieldParsers`:
 * they run here on each column's distinct values (a few thousand dates, a few hundred workers
 * and teams, not 100,000 rows), and their verdicts join back to the rows in SQL — one statement
 * for every problem of every row, one for the staged rows.
 *
 * Only a file both parsers read alike takes this path: anything else (title rows above the
 * header, a missing column, blank lines, a quote inside an unquoted field, rows of different
 * lengths, a file that is not UTF-8, no rows at all) returns null before anything is kept, and
 * the caller reads the file with the extract reader, which says what is wrong in its own words.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { from as copyFrom } from 'pg-copy-streams';
import { postgresPoolOf, type Db } from '../../db/index.ts';
import type { SourceList } from './annex-a.ts';
import { csvRows, fileKind } from './extract-source.ts';
import {
  EXTRACT_FIELDS,
  fallbackLegalStatus,
  fieldParsers,
  identifyList,
  isHeaderRow,
  matchHeaders,
  sheetNameOfFile,
  shownValue,
  type ColumnRef,
  type ExtractField,
  type SheetPlan,
} from './extract.ts';

/** A connection of its own from the PostgreSQL pool (the copy and its checks share its temporary tables). */
type Client = Awaited<ReturnType<typeof connect>>;
const connect = (pool: NonNullable<ReturnType<typeof postgresPoolOf>>) => pool.connect();

type Resolved = { id: string } | { error: string } | null;
export type Resolvers = { team: (value: string | null) => Resolved; worker: (value: string | null) => Resolved };

export type CopyStageInput = {
  importId: string;
  organisationId: string;
  path: string;
  filename: string;
  today: string;
  resolve: Resolvers;
  maxStoredErrors: number;
  recordSheets: (plan: SheetPlan) => Promise<void>;
  /** Called once the file is in the database, before it is checked: the import's 'reading' moment. */
  afterRead: (rowsRead: number) => Promise<void>;
};

/**
 * What JavaScript's `trim` removes (its white space and line terminators): `btrim` with these
 * decides, as the reader would, whether a row is blank and whether a case ID needs trimming.
 */
const JS_WHITESPACE = '\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';

/**
 * Stages the file, or records every problem of it; null when the file is not one for this path
 * (nothing kept then). The work is one transaction on a connection of its own: a process that
 * dies part-way leaves nothing staged.
 */
export async function stageCsvByCopy(db: Db, input: CopyStageInput): Promise<{ rowsRead: number; errorCount: number } | null> {
  const pool = postgresPoolOf(db);
  if (!pool) return null;
  const header = await readHeader(input.path, input.filename);
  if (!header) return null;
  const client = await connect(pool);
  let broken = false;
  try {
    await client.query('begin');
    const loaded = await loadRaw(client, input.path, header.width);
    const rowsRead = loaded ? await dropBlankRows(client, header.width) : 0;
    if (!loaded || rowsRead === 0) {
      await client.query('rollback');
      return null;
    }
    await input.recordSheets({ read: [{ name: header.sheet, list: header.list }], skipped: [] });
    await input.afterRead(rowsRead);
    await loadVerdicts(client, header, input);
    const problems = await recordProblems(client, header, input);
    if (problems.errors === 0) await stageRows(client, header, input.importId);
    await client.query('commit');
    // As the reader counts them: a row refused for its own cells is not read; one whose worker or team is unknown is.
    return { rowsRead: rowsRead - problems.refusedRows, errorCount: problems.errors };
  } catch (error) {
    broken = true;
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release(broken);
  }
}

type Header = { sheet: string; list: SourceList | null; width: number; mapping: Partial<Record<ExtractField, ColumnRef>> };

/** The file's first record, when it is a header this path can take: every column found, none twice. */
async function readHeader(file: string, filename: string): Promise<Header | null> {
  const head = Buffer.alloc(4096);
  const handle = await fs.promises.open(file, 'r');
  try {
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (fileKind(head.subarray(0, bytesRead)) !== 'text') return null;
  } finally {
    await handle.close();
  }
  const rows = csvRows(fs.createReadStream(file));
  let first: string[];
  try {
    const next = await rows.next();
    if (next.done) return null;
    first = next.value.cells.map((cell) => String(cell ?? ''));
  } catch {
    return null;
  } finally {
    await rows.return(undefined);
  }
  if (!isHeaderRow(first)) return null;
  const sheet = sheetNameOfFile(filename);
  const headers = first.map((text) => text.trim());
  const list = identifyList(sheet, headers);
  const columns = matchHeaders(headers, 1, { list });
  if (columns.errors.length > 0) return null;
  return { sheet, list, width: first.length, mapping: columns.mapping };
}

const col = (ref: ColumnRef) => `c${ref.index + 1}`;
const cell = (ref: ColumnRef) => `coalesce(r.${col(ref)}, '')`;

/**
 * The file into a temporary table of text columns, numbered as a spreadsheet numbers its rows
 * (the header is row 1). False when PostgreSQL cannot read it as it stands, or when it holds
 * what PostgreSQL and the extract reader would read differently.
 */
async function loadRaw(client: Client, file: string, width: number): Promise<boolean> {
  const columns = Array.from({ length: width }, (_, i) => `c${i + 1}`);
  await client.query(
    `create temp table child_import_raw (n integer generated always as identity (start with 2), ${columns.map((c) => `${c} text`).join(', ')}) on commit drop`,
  );
  await client.query('savepoint raw');
  const copy = client.query(copyFrom(`copy pg_temp.child_import_raw (${columns.join(', ')}) from stdin with (format csv, header true)`));
  const ended = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  ended.catch(() => {});
  const quotes = new QuoteCheck();
  try {
    for await (const chunk of fs.createReadStream(file)) {
      quotes.push(chunk as Buffer);
      if (!copy.write(chunk)) await Promise.race([once(copy, 'drain'), ended]);
    }
    copy.end();
    await ended;
  } catch {
    await client.query('rollback to savepoint raw');
    return false;
  }
  return !quotes.faulty;
}

/** Blank rows are skipped, as the reader skips them (their numbers stay: rows keep the file's numbering). */
async function dropBlankRows(client: Client, width: number): Promise<number> {
  const blank = Array.from({ length: width }, (_, i) => `coalesce(btrim(c${i + 1}, $1), '') = ''`).join(' and ');
  await client.query(`delete from pg_temp.child_import_raw where ${blank}`, [JS_WHITESPACE]);
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_temp.child_import_raw');
  return rows[0]!.n;
}

/**
 * Each mapped column's distinct values, read by the extract reader's own rules (and workers and
 * teams resolved as for any import): the normalised value, or the reason and how the problem is
 * reported. Plain case IDs need no reading and are left out.
 */
async function loadVerdicts(client: Client, header: Header, input: CopyStageInput) {
  await client.query(`
    create temp table child_import_verdicts (field text, raw text, norm text, reason text, err_column text, err_value text, primary key (field, raw)) on commit drop
  `);
  const parse = fieldParsers(header.list, input.today, { date1904: false });
  const fields: string[] = [];
  const raws: string[] = [];
  const norms: (string | null)[] = [];
  const reasons: (string | null)[] = [];
  const errColumns: (string | null)[] = [];
  const errValues: (string | null)[] = [];
  for (const field of EXTRACT_FIELDS) {
    const ref = header.mapping[field];
    if (!ref) continue;
    // A case ID that is not blank, not too long and has nothing to trim is valid as it stands.
    const plainOnly = field === 'externalId' ? ` where not (${cell(ref)} <> '' and length(${cell(ref)}) <= 64 and ${cell(ref)} = btrim(${cell(ref)}, $1))` : '';
    const { rows } = await client.query<{ v: string }>(`select distinct ${cell(ref)} as v from pg_temp.child_import_raw r${plainOnly}`, plainOnly ? [JS_WHITESPACE] : []);
    for (const { v } of rows) {
      const verdict = judge(field, v, parse, input.resolve);
      fields.push(field);
      raws.push(v);
      norms.push(verdict.norm);
      reasons.push(verdict.reason);
      errColumns.push(verdict.errColumn);
      errValues.push(verdict.errValue ?? shownValue(v));
    }
  }
  await client.query(
    `insert into pg_temp.child_import_verdicts select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
    [fields, raws, norms, reasons, errColumns, errValues],
  );
  await client.query('analyze pg_temp.child_import_verdicts');
}

type Verdict = { norm: string | null; reason: string | null; errColumn: string | null; errValue: string | null };

function judge(field: ExtractField, value: string, parse: ReturnType<typeof fieldParsers>, resolve: Resolvers): Verdict {
  const result = parse[field](value);
  if (!result.ok) return { norm: null, reason: result.reason, errColumn: null, errValue: null };
  const parsed = result.value;
  if (field === 'allocatedTeam' || field === 'allocatedWorker') {
    const text = parsed as string | null;
    const found = field === 'allocatedTeam' ? resolve.team(text) : resolve.worker(text);
    if (found && 'error' in found) {
      // As the reader reports a team or worker it cannot find: the field's label and the name as read.
      return { norm: null, reason: found.error, errColumn: field === 'allocatedTeam' ? 'Allocated team' : 'Allocated worker', errValue: text };
    }
    return { norm: found ? found.id : null, reason: null, errColumn: null, errValue: null };
  }
  const norm = Array.isArray(parsed) ? JSON.stringify(parsed) : (parsed as string | null);
  return { norm, reason: null, errColumn: null, errValue: null };
}

/** The join of a row to its verdict for a field; a field the file lacks has none. */
function verdictJoin(field: ExtractField, ref: ColumnRef | undefined): string {
  if (!ref) return '';
  return ` left join pg_temp.child_import_verdicts v_${field} on v_${field}.field = '${field}' and v_${field}.raw = ${cell(ref)}`;
}

/** A case ID as read: a plain one as it stands, any other as the reader read it (null when refused). */
function caseIdSql(ref: ColumnRef): string {
  return `case when v_externalId.raw is null then r.${col(ref)} else v_externalId.norm end`;
}

/** Problems ordered from here on are workers and teams not found: the row itself was read. */
const UNRESOLVED = 100_000;

/**
 * Every problem of every row in one statement, as the reader words them: a cell's own fault, a
 * case ID already on an earlier row, a close date before the open date, a worker or team not in
 * Assure. All are counted; the first `maxStoredErrors` (in the file's order) are kept.
 */
async function recordProblems(client: Client, header: Header, input: CopyStageInput): Promise<{ errors: number; refusedRows: number }> {
  const { mapping } = header;
  const parts: string[] = [];
  const params: unknown[] = [input.importId, input.organisationId, input.maxStoredErrors];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}::text`;
  };
  for (const field of EXTRACT_FIELDS) {
    const ref = mapping[field];
    if (!ref) continue;
    // Workers and teams not found come after the row's other problems, as the import reports them.
    const order = field === 'allocatedTeam' || field === 'allocatedWorker' ? `case when v.err_column is null then ${ref.index} else ${UNRESOLVED} + ${ref.index} end` : `${ref.index}`;
    parts.push(`
      select r.n, ${order} as ord, coalesce(v.err_column, ${param(ref.header)}) as column_name, v.err_value as value, v.reason
      from pg_temp.child_import_raw r join pg_temp.child_import_verdicts v on v.field = '${field}' and v.raw = ${cell(ref)}
      where v.reason is not null`);
  }
  const id = mapping.externalId!;
  parts.push(`
    select n, -1, ${param(id.header)}, shown, 'duplicate of row ' || first from (
      select r.n, coalesce(v_externalId.err_value, r.${col(id)}) as shown, min(r.n) over (partition by ${caseIdSql(id)}) as first
      from pg_temp.child_import_raw r${verdictJoin('externalId', id)}
      where ${caseIdSql(id)} <> ''
    ) d where n > first`);
  if (mapping.openDate && mapping.closeDate) {
    parts.push(`
      select r.n, ${mapping.closeDate.index}, ${param(mapping.closeDate.header)}, v_closeDate.err_value,
        'close date is before the open date (' || to_char(v_openDate.norm::date, 'DD/MM/YYYY') || ')'
      from pg_temp.child_import_raw r${verdictJoin('openDate', mapping.openDate)}${verdictJoin('closeDate', mapping.closeDate)}
      where v_closeDate.norm < v_openDate.norm`);
  }
  const { rows } = await client.query<{ errors: number; refused_rows: number }>(
    `with e as materialized (${parts.join(' union all ')}),
     kept as (
       insert into child_import_errors (import_id, organisation_id, sheet, row_number, column_name, value, reason)
       select $1::uuid, $2::uuid, null::text, n, column_name, left(value, 500), reason from e order by n, ord limit $3
       returning 1
     )
     select (select count(*) from e)::int as errors, (select count(distinct n) from e where ord < ${UNRESOLVED})::int as refused_rows,
       (select count(*) from kept)::int as kept`,
    params,
  );
  return { errors: rows[0]!.errors, refusedRows: rows[0]!.refused_rows };
}

/** The rows, read and resolved, into the import's staging: what the preview and the apply read. */
async function stageRows(client: Client, header: Header, importId: string) {
  const { mapping } = header;
  const value = (field: ExtractField, fallback: string) => (mapping[field] ? `v_${field}.norm` : fallback);
  const joins = EXTRACT_FIELDS.map((field) => verdictJoin(field, mapping[field])).join('');
  await client.query(
    `insert into child_import_rows (import_id, sheet, source_list, row_number, external_id, initials, date_of_birth, gender, ethnicity,
       legal_status, allocated_worker_id, allocated_team_id, open_date, close_date, referral_factors)
     select $1::uuid, $2::text, $3::text, r.n, ${caseIdSql(mapping.externalId!)}, ${value('initials', 'null')}, ${value('dateOfBirth', 'null')}::date,
       ${value('gender', 'null')}, ${value('ethnicity', 'null')}, coalesce(${value('legalStatus', 'null')}, $4::text), ${value('allocatedWorker', 'null')}::uuid,
       ${value('allocatedTeam', 'null')}::uuid, ${value('openDate', 'null')}::date, ${value('closeDate', 'null')}::date,
       coalesce(${value('referralFactors', 'null')}, '[]')::jsonb
     from pg_temp.child_import_raw r${joins}`,
    [importId, header.sheet, header.list, fallbackLegalStatus(header.list)],
  );
}

/**
 * What the extract reader (csv-parse) refuses and PostgreSQL would read: a quote inside an
 * unquoted field, or anything but a comma or a line's end after a closing quote. A byte scan
 * alongside the copy: such a file goes to the reader, which names the row.
 */
class QuoteCheck {
  faulty = false;
  private inQuotes = false;
  private fieldStart = true;
  private afterClose = false;
  private started = false;

  push(chunk: Buffer) {
    if (this.faulty) return;
    let i = 0;
    if (!this.started) {
      this.started = true;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
    }
    for (; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.inQuotes) {
        if (byte === 0x22) {
          this.inQuotes = false;
          this.afterClose = true;
        }
        continue;
      }
      if (this.afterClose) {
        this.afterClose = false;
        if (byte === 0x22) {
          this.inQuotes = true; // "" inside a quoted field is one quote
          continue;
        }
        if (byte !== 0x2c && byte !== 0x0a && byte !== 0x0d) {
          this.faulty = true;
          return;
        }
      }
      if (byte === 0x22) {
        if (!this.fieldStart) {
          this.faulty = true;
          return;
        }
        this.inQuotes = true;
        this.fieldStart = false;
        continue;
      }
      this.fieldStart = byte === 0x2c || byte === 0x0a || byte === 0x0d;
    }
  }
}
