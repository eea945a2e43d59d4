/**
 * A CSV extract on PostgreSQL, staged at the speed PostgreSQL loads any file: the header is read
 * here (the council's column names matched to ours as for any extract), then the file's bytes go
 * untouched into `COPY … (FORMAT csv)` so that the server parses the CSV into a temporary table of
 * text columns. The same bytes are read here at the same time (csv-tally.ts), on the other
 * processor, for each column's distinct values. The rules for a cell still live once, in the
 * extract reader's `fieldParsers`: they run here on those distinct values (a few thousand dates,
 * a few hundred workers and teams, not 100,000 rows), and their verdicts join back to the rows
 * in SQL — one statement for every problem of every row, one for the checked rows.
 *
 * The checked rows go where the caller says: into the import's staging table, kept for a
 * confirmation that comes later (the page), or into a temporary table that the caller previews
 * and applies in this same transaction (the command line and the API without a dry run), so
 * that a file's 100,000 rows are never written to a table only to be read back and deleted.
 *
 * Only a file both parsers read alike takes this path: anything else (title rows above the
 * header, a missing column, blank lines, a quote inside an unquoted field, rows of different
 * lengths, a file that is not UTF-8, no rows at all, a line that ends PostgreSQL's reading
 * early) returns null before anything is kept, and
 * the caller reads the file with the extract reader, which says what is wrong in its own words.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import { from as copyFrom } from 'pg-copy-streams';
import { postgresPoolOf, type Db } from '../../db/index.ts';
import type { Database } from '../../db/types.ts';
import type { SourceList } from './annex-a.ts';
import { matchColumnsSql, STAGED_COUNTS_SQL, type StagedCounts } from './queries.ts';
import { CsvTally } from './csv-tally.ts';
import { csvRows, fileKind } from './extract-source.ts';
import {
  absentFields,
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
  /**
   * Where the checked rows go: 'table', the import's rows in `child_import_rows` (kept when the
   * transaction commits); 'transaction', the rows that add or change a child in the temporary
   * table `child_import_typed` (its columns those of `child_import_rows` and their match to the
   * register), every case ID in the view `child_import_listed`, both gone when it ends.
   */
  stageInto: 'table' | 'transaction';
};

/** The rows of a file with no problem, in the transaction that checked them. */
export type CopiedRows = {
  rowsRead: number;
  /** What the rows do to the register, counted as they were matched to it (staged 'transaction' only). */
  counts: StagedCounts | null;
  /** The Annex A list the file is, if it says (by its name or headers). */
  sourceList: SourceList | null;
  /** The copying connection's open transaction: what runs on it commits or rolls back with the copy. */
  trx: Db;
};

export type CopyOutcome<T> = { rowsRead: number; errorCount: number; result: T | null };

/**
 * What JavaScript's `trim` removes (its white space and line terminators): `btrim` with these
 * decides, as the reader would, whether a row is blank and whether a case ID needs trimming.
 */
const JS_WHITESPACE = '\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';

/**
 * Stages the file, or records every problem of it; null when the file is not one for this path
 * (nothing kept then). When the file has no problem, `then` runs in the same transaction with
 * the checked rows staged; its result is returned once the transaction has committed. The work
 * is one transaction on a connection of its own: a process that dies part-way leaves nothing.
 */
export async function withCsvCopy<T>(db: Db, input: CopyStageInput, then: (copied: CopiedRows) => Promise<T>): Promise<CopyOutcome<T> | null> {
  const pool = postgresPoolOf(db);
  if (!pool) return null;
  const header = await readHeader(input.path, input.filename);
  if (!header) return null;
  const client = await connect(pool);
  let broken = false;
  try {
    // Hashing 100,000 case IDs (the register's matches) stays in memory, not on disk; a plain
    // DD/MM/YYYY date is read day first, as the extract reader reads it (see readingOf).
    await client.query(`begin; set local work_mem = '64MB'; set local datestyle = 'ISO, DMY'`);
    const loaded = await loadRaw(client, input.path, header);
    const blankRows = loaded?.tally.blankRows ?? 0;
    // The blank rows PostgreSQL finds must be the ones counted alongside the copy, or the two read the file differently.
    if (loaded && blankRows > 0 && (await dropBlankRows(client, header.width)) !== blankRows) {
      await client.query('rollback');
      return null;
    }
    const rowsRead = loaded === null ? 0 : loaded.rows - blankRows;
    if (!loaded || rowsRead === 0) {
      await client.query('rollback');
      return null;
    }
    const values = distinctValues(header, loaded.tally);
    await input.recordSheets({ read: [{ name: header.sheet, list: header.list }], skipped: [] });
    await input.afterRead(rowsRead);
    const checked = await loadVerdicts(client, header, input, values);
    // A file whose every value is valid, with no case ID twice and no close date to compare, has no problem to look for row by row.
    const mayHaveProblems = checked.anyRefused || checked.duplicatesPossible || Boolean(header.mapping.openDate && header.mapping.closeDate);
    const problems = mayHaveProblems ? await recordProblems(client, header, input, checked.duplicatesPossible) : { errors: 0, refusedRows: 0 };
    let result: T | null = null;
    if (problems.errors === 0) {
      const counts = await stageRows(client, header, checked, input.importId, input.organisationId, input.stageInto);
      result = await then({ rowsRead, counts, sourceList: header.list, trx: kyselyOn(client) });
    }
    await client.query('commit');
    // As the reader counts them: a row refused for its own cells is not read; one whose worker or team is unknown is.
    return { rowsRead: rowsRead - problems.refusedRows, errorCount: problems.errors, result };
  } catch (error) {
    broken = true;
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Kysely over the copying connection, for the service's own queries in its transaction. The
 * transaction is this module's: a query that would begin or end one is refused, so nothing can
 * commit half of the work by mistake.
 */
function kyselyOn(client: Client): Db {
  const connection = {
    query: (text: string, values?: unknown[]) => {
      if (/^\s*(begin|start|commit|rollback|end)\b/i.test(text)) throw new Error('the copy owns this transaction');
      return client.query(text, values);
    },
    release: () => {},
  };
  const pool = { connect: async () => connection, end: async () => {} } as unknown as PostgresPool;
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
 * (the header is row 1), read alongside by a tally of what the checks need (see csv-tally.ts);
 * how many records it held. Null when PostgreSQL cannot read it as it stands, or when it holds
 * what PostgreSQL and the extract reader would read differently.
 */
async function loadRaw(client: Client, file: string, header: Header): Promise<{ rows: number; tally: CsvTally } | null> {
  const columns = Array.from({ length: header.width }, (_, i) => `c${i + 1}`);
  await client.query(
    `create temp table child_import_raw (n integer generated always as identity (start with 2), ${columns.map((c) => `${c} text`).join(', ')}) on commit drop; savepoint raw`,
  );
  const copy = client.query(copyFrom(`copy pg_temp.child_import_raw (${columns.join(', ')}) from stdin with (format csv, header true)`));
  const ended = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  ended.catch(() => {});
  const tally = new CsvTally(new Map(mappedFields(header).map(({ field, ref }) => [ref.index, field === 'externalId' ? 'case-id' : 'distinct'])));
  try {
    for await (const chunk of fs.createReadStream(file)) {
      // The server parses this chunk while this process tallies it.
      const full = !copy.write(chunk);
      tally.push(chunk as Buffer);
      if (full) await Promise.race([once(copy, 'drain'), ended]);
    }
    copy.end();
    tally.end();
    await ended;
  } catch {
    await client.query('rollback to savepoint raw');
    return null;
  }
  return tally.faulty || tally.records !== copy.rowCount ? null : { rows: copy.rowCount, tally };
}

/** A row with nothing in any cell (by JavaScript's `trim`): the reader skips it, and so does this path. */
const blankRow = (width: number) => Array.from({ length: width }, (_, i) => `coalesce(btrim(c${i + 1}, $1), '') = ''`).join(' and ');

/** Blank rows are skipped, as the reader skips them (their numbers stay: rows keep the file's numbering); how many there were. */
async function dropBlankRows(client: Client, width: number): Promise<number> {
  const { rowCount } = await client.query(`delete from pg_temp.child_import_raw where ${blankRow(width)}`, [JS_WHITESPACE]);
  return rowCount ?? 0;
}

type DistinctValues = { k: number; v: string }[];

/**
 * Each mapped column's distinct values (`k` the column's place among the mapped fields), as
 * tallied alongside the copy, blank rows left out. Plain case IDs need no reading and are not
 * among them.
 */
function distinctValues(header: Header, tally: CsvTally): DistinctValues {
  return mappedFields(header).flatMap(({ ref }, k) => tally.values(ref.index).map((v) => ({ k, v })));
}

const mappedFields = (header: Header) => EXTRACT_FIELDS.flatMap((field) => (header.mapping[field] ? [{ field, ref: header.mapping[field] }] : []));

/**
 * Each mapped column's distinct values, read by the extract reader's own rules (and workers and
 * teams resolved as for any import): the normalised value, or the reason and how the problem is
 * reported.
 */
async function loadVerdicts(client: Client, header: Header, input: CopyStageInput, rows: DistinctValues): Promise<Checked> {
  const mapped = mappedFields(header);
  const parse = fieldParsers(header.list, input.today, { date1904: false });
  const fields: string[] = [];
  const raws: string[] = [];
  const norms: (string | null)[] = [];
  const reasons: (string | null)[] = [];
  const errColumns: (string | null)[] = [];
  const errValues: (string | null)[] = [];
  const seen = new Map<ExtractField, [raw: string, norm: string | null][]>();
  for (const { k, v } of rows) {
    const field = mapped[k]!.field;
    const verdict = judge(field, v, parse, input.resolve);
    fields.push(field);
    raws.push(v);
    norms.push(verdict.norm);
    reasons.push(verdict.reason);
    errColumns.push(verdict.errColumn);
    errValues.push(verdict.errValue ?? shownValue(v));
    const values = seen.get(field) ?? [];
    values.push([v, verdict.norm]);
    seen.set(field, values);
  }
  // No index and no statistics: every statement that reads it hashes it whole (a few thousand rows).
  await client.query(
    `create temp table child_import_verdicts on commit drop as
     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as v (field, raw, norm, reason, err_column, err_value)`,
    [fields, raws, norms, reasons, errColumns, errValues],
  );
  // Two rows name the same child only if a case ID is written twice, or two are the same once read (trimmed).
  const duplicatesPossible = seen.has('externalId') || !(await caseIdsWrittenOnce(client, header));
  return {
    readings: new Map(mapped.filter(({ field }) => field !== 'externalId').map(({ field }) => [field, readingOf(field, seen.get(field) ?? [])])),
    anyRefused: reasons.some((reason) => reason !== null),
    duplicatesPossible,
    caseIdsPlain: !seen.has('externalId'),
  };
}

/**
 * Whether no case ID is written on two rows: a unique index on the column says so as it is
 * built (a sort, cheaper than hashing 100,000 IDs), and is dropped with the table.
 */
async function caseIdsWrittenOnce(client: Client, header: Header): Promise<boolean> {
  await client.query('savepoint ids');
  try {
    await client.query(`create unique index on pg_temp.child_import_raw (${col(header.mapping.externalId!)})`);
    await client.query('release savepoint ids');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await client.query('rollback to savepoint ids');
    return false;
  }
}

/** What the verdicts say of the file as a whole: how to read each column, and which problems it may have. */
type Checked = {
  readings: Readings;
  anyRefused: boolean;
  duplicatesPossible: boolean;
  /** No case ID needs the reader's rules: each is taken as written, with no join to the verdicts. */
  caseIdsPlain: boolean;
};

/**
 * How the checked rows take a column's value from its cell, decided from the column's distinct
 * values once they are all valid: as written (`as-is`: every value reads as itself), a date
 * PostgreSQL reads as the extract reader does (`date`: DD/MM/YYYY or YYYY-MM-DD, read day
 * first), a short list of values mapped inline (`case`), or else a join to the verdicts. Each
 * join costs a hash probe per row; most columns of an extract need none.
 */
type Reading = { kind: 'as-is' } | { kind: 'date' } | { kind: 'case'; pairs: [raw: string, norm: string | null][] } | { kind: 'join' };
type Readings = Map<ExtractField, Reading>;

const PLAIN_DATE = /^(\d{1,2}\/\d{1,2}\/\d{4}|\d{4}-\d{2}-\d{2})$/;
const DATE_FIELDS: ReadonlySet<ExtractField> = new Set(['dateOfBirth', 'openDate', 'closeDate']);
/** Up to this many values, a CASE in the statement is cheaper than a hash join. */
const CASE_VALUES = 32;

function readingOf(field: ExtractField, values: [raw: string, norm: string | null][]): Reading {
  if (values.every(([raw, norm]) => norm === (raw === '' ? null : raw))) return { kind: 'as-is' };
  if (DATE_FIELDS.has(field) && values.every(([raw]) => raw === '' || PLAIN_DATE.test(raw))) return { kind: 'date' };
  return values.length <= CASE_VALUES ? { kind: 'case', pairs: values } : { kind: 'join' };
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

/**
 * A row's case ID as the rows are staged and as the file's case IDs are listed: the cell itself
 * when every case ID of the file is plain, else as caseIdSql reads it, with its join.
 */
function stagedCaseId(ref: ColumnRef, caseIdsPlain: boolean): { value: string; join: string } {
  return caseIdsPlain ? { value: `r.${col(ref)}`, join: '' } : { value: caseIdSql(ref), join: verdictJoin('externalId', ref) };
}

/** Problems ordered from here on are workers and teams not found: the row itself was read. */
const UNRESOLVED = 100_000;

/**
 * Every problem of every row in one statement, as the reader words them: a cell's own fault, a
 * case ID already on an earlier row, a close date before the open date, a worker or team not in
 * Assure. All are counted; the first `maxStoredErrors` (in the file's order) are kept.
 */
async function recordProblems(client: Client, header: Header, input: CopyStageInput, duplicatesPossible: boolean): Promise<{ errors: number; refusedRows: number }> {
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
  // Case IDs on more than one row, found by hashing them (no sort of the whole file), then their later rows.
  if (duplicatesPossible) parts.push(`
    select r.n, -1, ${param(id.header)}, coalesce(v_externalId.err_value, r.${col(id)}), 'duplicate of row ' || d.first
    from pg_temp.child_import_raw r${verdictJoin('externalId', id)}
    join (
      select ${caseIdSql(id)} as case_id, min(r.n) as first
      from pg_temp.child_import_raw r${verdictJoin('externalId', id)}
      where ${caseIdSql(id)} <> ''
      group by 1 having count(*) > 1
    ) d on d.case_id = ${caseIdSql(id)} and r.n > d.first`);
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

/** The rows, read and resolved, into the import's staging table or this transaction's own: what the preview and the apply read. */
async function stageRows(client: Client, header: Header, { readings, caseIdsPlain }: Checked, importId: string, organisationId: string, into: CopyStageInput['stageInto']): Promise<StagedCounts | null> {
  const { mapping } = header;
  const caseId = stagedCaseId(mapping.externalId!, caseIdsPlain);
  const params: unknown[] = [importId, header.sheet, header.list, fallbackLegalStatus(header.list)];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}::text`;
  };
  const joins: string[] = [];
  const value = (field: ExtractField, fallback: string) => {
    const ref = mapping[field];
    const reading = readings.get(field);
    if (!ref || !reading) return fallback;
    if (reading.kind === 'as-is') return `nullif(r.${col(ref)}, '')`;
    if (reading.kind === 'date') return `nullif(r.${col(ref)}, '')::date`;
    if (reading.kind === 'case') return `(case ${cell(ref)} ${reading.pairs.map(([raw, norm]) => `when ${param(raw)} then ${param(norm)}`).join(' ')} end)`;
    joins.push(verdictJoin(field, ref));
    return `v_${field}.norm`;
  };
  const rows = `
     select $1::uuid as import_id, $2::text as sheet, $3::text as source_list, r.n as row_number, ${caseId.value} as external_id,
       ${value('initials', 'null')} as initials, ${value('dateOfBirth', 'null')}::date as date_of_birth, ${value('gender', 'null')} as gender,
       ${value('ethnicity', 'null')} as ethnicity, coalesce(${value('legalStatus', 'null')}, $4::text) as legal_status,
       ${value('allocatedWorker', 'null')}::uuid as allocated_worker_id, ${value('allocatedTeam', 'null')}::uuid as allocated_team_id,
       ${value('openDate', 'null')}::date as open_date, ${value('closeDate', 'null')}::date as close_date,
       coalesce(${value('referralFactors', 'null')}, '[]')::jsonb as referral_factors, ${absentFields(mapping)}::int as absent_fields
     from pg_temp.child_import_raw r${caseId.join}${joins.join('')}`;
  if (into === 'transaction') {
    // Each row matched to the register as it is typed, and counted: only the rows the apply
    // writes (new children and changed ones) are kept; a file that changes nothing keeps none.
    const matched = `select s.*, ${matchColumnsSql(absentFields(mapping))} from (${rows} offset 0) s left join children c on c.organisation_id = ${param(organisationId)}::uuid and c.external_id = s.external_id`;
    await client.query(`create temp table child_import_typed on commit drop as ${matched} with no data`, params);
    const { rows: counted } = await client.query<StagedCounts>(
      `with k as materialized (${matched}),
       kept as (insert into pg_temp.child_import_typed select * from k where k.child_id is null or k.changed)
       select ${STAGED_COUNTS_SQL},
         (select count(*)::int from children where organisation_id = ${param(organisationId)}::uuid and close_date is null) as open_count
       from k`,
      params,
    );
    // Every case ID the file names, for the children a full extract closes (dropped with the rows).
    await client.query(
      `create temp view child_import_listed as select ${caseId.value} as external_id from pg_temp.child_import_raw r${caseId.join}`,
    );
    return counted[0]!;
  }
  await client.query(
    `insert into child_import_rows (import_id, sheet, source_list, row_number, external_id, initials, date_of_birth, gender, ethnicity,
       legal_status, allocated_worker_id, allocated_team_id, open_date, close_date, referral_factors, absent_fields) ${rows}`,
    params,
  );
  return null;
}
