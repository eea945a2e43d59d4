import { once } from 'node:events';
import { sql } from 'kysely';
import { from as copyFrom } from 'pg-copy-streams';
import { postgresPoolOf, type Db } from '../../db/index.ts';
import type { ChildImportsTable, ChildrenTable } from '../../db/types.ts';
import type { Insertable, Updateable } from 'kysely';
import type { DataScope } from '../../platform/access.ts';
import { KEPT_WHEN_ABSENT, type RowError } from './extract.ts';

export async function insertImport(db: Db, values: Insertable<ChildImportsTable>) {
  return db.insertInto('child_imports').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function updateImport(db: Db, importId: string, values: Updateable<ChildImportsTable>) {
  await db.updateTable('child_imports').set(values).where('id', '=', importId).execute();
}

export async function findImport(db: Db, organisationId: string, importId: string) {
  return db.selectFrom('child_imports').selectAll().where('organisation_id', '=', organisationId).where('id', '=', importId).executeTakeFirst();
}

export async function listImports(db: Db, organisationId: string, limit = 20) {
  return db
    .selectFrom('child_imports')
    .leftJoin('users', 'users.id', 'child_imports.uploaded_by')
    .select([
      'child_imports.id',
      'child_imports.filename',
      'child_imports.status',
      'child_imports.rows_read',
      'child_imports.error_count',
      'child_imports.created_count',
      'child_imports.updated_count',
      'child_imports.closed_count',
      'child_imports.created_at',
      'child_imports.source',
      'users.display_name as uploaded_by_name',
    ])
    .where('child_imports.organisation_id', '=', organisationId)
    .orderBy('child_imports.created_at', 'desc')
    .limit(limit)
    .execute();
}

/** Imports left 'queued' or 'running', by organisation: candidates for clean-up at start. */
export async function listUnfinishedImports(db: Db) {
  return db.selectFrom('child_imports').select(['id', 'organisation_id']).where('status', 'in', ['queued', 'running']).execute();
}

/** An import whose process has gone can never finish: say so, and drop what it staged. */
export async function failOrphanedImports(db: Db, organisationId: string, finishedAt: Date) {
  const failed = await db
    .updateTable('child_imports')
    .set({ status: 'failed', message: 'The import stopped before it finished (Assure was stopped or restarted). Nothing was imported; upload the file again.', finished_at: finishedAt })
    .where('organisation_id', '=', organisationId)
    .where('status', 'in', ['queued', 'running'])
    .returning('id')
    .execute();
  if (failed.length) await db.deleteFrom('child_import_rows').where('import_id', 'in', failed.map((row) => row.id)).execute();
  return failed.length;
}

/** Locks the import's row for the rest of the transaction and reads it. */
export async function lockImport(trx: Db, organisationId: string, importId: string) {
  return trx.selectFrom('child_imports').selectAll().where('organisation_id', '=', organisationId).where('id', '=', importId).forUpdate().executeTakeFirst();
}

/** Other previews of the organisation's register, made stale when one import is applied. */
export async function discardOtherStagedImports(trx: Db, organisationId: string, importId: string, finishedAt: Date) {
  const stale = await trx
    .updateTable('child_imports')
    .set({ status: 'discarded', message: 'Another import changed the register after this preview. Nothing was imported from this file; upload it again.', finished_at: finishedAt })
    .where('organisation_id', '=', organisationId)
    .where('status', '=', 'staged')
    .where('id', '<>', importId)
    .returning('id')
    .execute();
  if (stale.length) await trx.deleteFrom('child_import_rows').where('import_id', 'in', stale.map((row) => row.id)).execute();
}

const STAGING_COLUMNS = [
  'import_id', 'sheet', 'source_list', 'row_number', 'external_id', 'initials', 'date_of_birth', 'gender', 'ethnicity',
  'legal_status', 'allocated_worker_id', 'allocated_team_id', 'open_date', 'close_date', 'referral_factors', 'absent_fields',
] as const satisfies readonly (keyof StagingRow)[];

/** Where an import's rows go while the file is read: written batch by batch, kept only if finished. */
export type StagingWriter = {
  write: (rows: StagingRow[]) => Promise<void>;
  /** Every row written is staged. */
  finish: () => Promise<void>;
  /** Nothing written is staged. */
  abort: () => Promise<void>;
};

/**
 * On PostgreSQL the whole file is one `COPY … FROM STDIN` on a connection of its own, fed as it
 * is read: the server stages rows at the speed it loads any file, and the rows become visible
 * (all of them) only when the copy ends. On PGlite, which has no COPY stream, each batch is one
 * INSERT with one parameter per column (arrays unnested on the server).
 */
export async function openStagingWriter(db: Db): Promise<StagingWriter> {
  const pool = postgresPoolOf(db);
  if (!pool) {
    return { write: (rows) => insertStagingRows(db, rows), finish: async () => {}, abort: async () => {} };
  }
  const client = await pool.connect();
  const copy = client.query(copyFrom(`copy child_import_rows (${STAGING_COLUMNS.join(', ')}) from stdin`));
  const ended = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  ended.catch(() => {}); // observed by finish or abort
  let released = false;
  const release = (broken: boolean) => {
    if (released) return;
    released = true;
    client.release(broken);
  };
  return {
    async write(rows) {
      if (!rows.length) return;
      if (!copy.write(rows.map(copyLine).join(''))) await Promise.race([once(copy, 'drain'), ended]);
    },
    async finish() {
      copy.end();
      try {
        await ended;
        release(false);
      } catch (error) {
        release(true);
        throw error;
      }
    },
    async abort() {
      // Ending the stream with an error makes the server abandon the copy: nothing is staged.
      copy.destroy(new Error('import abandoned'));
      await ended.catch(() => {});
      release(true);
    },
  };
}

/** A row in COPY's text format: tab-separated, `\N` for null, backslash escapes. */
function copyLine(row: StagingRow): string {
  return `${STAGING_COLUMNS.map((column) => copyField(row[column])).join('\t')}\n`;
}

function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : value;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * Stages a batch in one statement with one parameter per column (arrays unnested on the
 * server) rather than one per cell: a 5,000-row batch is 15 parameters, not 75,000.
 */
export async function insertStagingRows(db: Db, rows: StagingRow[]) {
  if (!rows.length) return;
  const column = <K extends keyof StagingRow>(key: K) => rows.map((row) => row[key]);
  await sql`
    insert into child_import_rows (import_id, sheet, source_list, row_number, external_id, initials, date_of_birth, gender, ethnicity,
      legal_status, allocated_worker_id, allocated_team_id, open_date, close_date, referral_factors, absent_fields)
    select ${rows[0]!.import_id}::uuid, * from unnest(
      ${column('sheet')}::text[], ${column('source_list')}::text[], ${column('row_number')}::int[], ${column('external_id')}::text[],
      ${column('initials')}::text[], ${column('date_of_birth')}::date[], ${column('gender')}::text[], ${column('ethnicity')}::text[],
      ${column('legal_status')}::text[], ${column('allocated_worker_id')}::uuid[], ${column('allocated_team_id')}::uuid[],
      ${column('open_date')}::date[], ${column('close_date')}::date[], ${column('referral_factors')}::jsonb[], ${column('absent_fields')}::int[])
  `.execute(db);
}

export type StagingRow = {
  import_id: string;
  sheet: string;
  source_list: string | null;
  row_number: number;
  external_id: string;
  initials: string | null;
  date_of_birth: string | null;
  gender: string | null;
  ethnicity: string | null;
  legal_status: string;
  allocated_worker_id: string | null;
  allocated_team_id: string | null;
  open_date: string | null;
  close_date: string | null;
  referral_factors: string;
  absent_fields: number;
};

export async function insertImportErrors(db: Db, importId: string, organisationId: string, errors: (RowError & { sheet?: string | null })[]) {
  if (!errors.length) return;
  await db
    .insertInto('child_import_errors')
    .values(
      errors.map((error) => ({
        import_id: importId,
        organisation_id: organisationId,
        sheet: error.sheet ?? null,
        row_number: error.rowNumber,
        column_name: error.column,
        value: error.value.slice(0, 500),
        reason: error.reason,
      })),
    )
    .execute();
}

export async function listImportErrors(db: Db, importId: string, limit?: number) {
  let query = db
    .selectFrom('child_import_errors')
    .select(['sheet', 'row_number', 'column_name', 'value', 'reason'])
    .where('import_id', '=', importId)
    .orderBy('sheet')
    .orderBy('row_number')
    .orderBy('column_name');
  if (limit) query = query.limit(limit);
  return query.execute();
}

export async function deleteStagingRows(db: Db, importId: string) {
  await db.deleteFrom('child_import_rows').where('import_id', '=', importId).execute();
}

/**
 * Where an import's checked rows are when it is previewed and applied: a CSV copied on this
 * transaction's connection (csv-copy.ts), counted as it was matched to the register, with the
 * rows that add or change a child in a temporary table that already says which child each is
 * (`classified`) and every case ID the file names in a temporary view; or the rows staged in
 * `child_import_rows` for a confirmation that comes later, matched to the register as they are read.
 */
export type StagedRows = { in: 'transaction'; rows: number; sourceList: string | null; counts: StagedCounts } | { in: 'table'; importId: string; onePerChild: boolean };

/** What staged rows do to the register: children added, changed and left as they are; open children they name; open children now. */
export type StagedCounts = { adds: number; updates: number; unchanged: number; listed_open: number; open_count: number };

/**
 * The register's columns an import writes, each with the field of KEPT_WHEN_ABSENT it comes from
 * (null: always written).
 */
const IMPORTED_COLUMNS = [
  ['initials', 'initials'],
  ['date_of_birth', 'dateOfBirth'],
  ['gender', 'gender'],
  ['ethnicity', 'ethnicity'],
  ['legal_status', null],
  ['allocated_worker_id', 'allocatedWorker'],
  ['allocated_team_id', 'allocatedTeam'],
  ['open_date', 'openDate'],
  ['close_date', null],
  ['referral_factors', 'referralFactors'],
] as const satisfies readonly (readonly [keyof ChildrenTable, (typeof KEPT_WHEN_ABSENT)[number] | null])[];

/**
 * The value a staged row `s` gives column `column` of child `c`: its own, or the child's when the
 * row's sheet had no such column. When every row has the same sheet (`absent` known: a CSV copied
 * in one transaction), that is decided here rather than row by row.
 */
function givenSql(column: string, field: (typeof KEPT_WHEN_ABSENT)[number] | null, absent?: number): string {
  if (!field) return `s.${column}`;
  const bit = 1 << KEPT_WHEN_ABSENT.indexOf(field);
  if (absent !== undefined) return absent & bit ? `c.${column}` : `s.${column}`;
  return `(case when s.absent_fields & ${bit} = 0 then s.${column} else c.${column} end)`;
}

/** `column = value` for each column an import writes into the child `c` from the staged row `s`. */
const ASSIGNMENTS_SQL = IMPORTED_COLUMNS.map(([column, field]) => `${column} = ${givenSql(column, field)}`).join(', ');

/**
 * Whether the values a staged row `s` gives a child `c` differ from the child's: a child is
 * updated only then (so an unchanged child is never written). Plain text, for the copy's own SQL too.
 */
function changedSql(absent?: number): string {
  const given = IMPORTED_COLUMNS.filter(([, field]) => absent === undefined || !field || !(absent & (1 << KEPT_WHEN_ABSENT.indexOf(field))));
  return `(${given.map(([column]) => `c.${column}`).join(', ')}) is distinct from (${given.map(([column, field]) => givenSql(column, field, absent)).join(', ')})`;
}
const CHANGED_SQL = changedSql();

/**
 * How a staged row `s` meets the register `c` (joined on the organisation and case ID): the
 * child it is (null for a new one), whether that child is open, whether the row changes it.
 * `absent`: the fields every row's sheet lacks, when they are the same for all (see givenSql).
 */
export const matchColumnsSql = (absent?: number) =>
  `c.id as child_id, (c.id is not null and c.close_date is null) as child_open, (c.id is not null and ${changedSql(absent)}) as changed`;

/**
 * One row per child. A sheet never holds a child twice (a case ID on two rows of a sheet is an
 * error), so an import of one sheet — any CSV — has its rows as they are (`onePerChild`), with
 * no sort. A child on several Annex A lists (several sheets) becomes one record with
 * the status that governs. Being in care governs over a child protection plan, which governs
 * over a child in need plan. A care leaver who is back on List 8 is in care again, and one on a
 * child protection plan is first of all protected; otherwise leaving-care support is the more
 * specific duty, so it governs over child in need and early help. The governing row gives
 * every other field too (its worker and team are the ones responsible for that plan).
 */
const governingRows = (importId: string, onePerChild: boolean) =>
  onePerChild
    ? sql`select * from child_import_rows where import_id = ${importId}`
    : sql`
  select distinct on (external_id) *
  from child_import_rows
  where import_id = ${importId}
  order by external_id,
    case legal_status when 'child_in_care' then 6 when 'cp' then 5 when 'plo' then 4 when 'care_leaver' then 3 when 'cin' then 2 else 1 end desc,
    sheet, row_number
`;

/** The staged rows, one per child, each with its match in the register (see matchColumnsSql). */
const classified = (staged: StagedRows, organisationId: string) =>
  staged.in === 'transaction'
    ? sql`select * from pg_temp.child_import_typed`
    : sql`
      select s.*, ${sql.raw(matchColumnsSql())}
      from (${governingRows(staged.importId, staged.onePerChild)}) s
      left join children c on c.organisation_id = ${organisationId} and c.external_id = s.external_id`;

/**
 * Open children whose case ID is not among the staged rows: those a full extract closes. The
 * staged rows are looked up by an index, so however the planner guesses the register's size
 * (a register just imported has no statistics yet) this stays one look-up per child.
 */
const notStaged = (staged: StagedRows) =>
  staged.in === 'transaction'
    ? sql`not exists (select 1 from pg_temp.child_import_listed x where x.external_id = c.external_id)`
    : sql`not exists (select 1 from child_import_rows x where x.import_id = ${staged.importId} and x.external_id = c.external_id)`;

/** The register's state, cheaply: any new child or any change (every change bumps `version`). */
export async function registerFingerprint(db: Db, organisationId: string): Promise<string> {
  const { rows } = await sql<{ fingerprint: string }>`
    select count(*)::text || ':' || coalesce(sum(version), 0)::text as fingerprint from children where organisation_id = ${organisationId}
  `.execute(db);
  return rows[0]!.fingerprint;
}

/**
 * StagedCounts of the rows `k`, each matched to the register (see matchColumnsSql), but the
 * open children now: the one definition the preview's figures have, on either path. Plain text,
 * for the copy's own SQL too.
 */
export const STAGED_COUNTS_SQL = `count(*) filter (where k.child_id is null)::int as adds,
  count(*) filter (where k.changed)::int as updates,
  count(*) filter (where k.child_id is not null and not k.changed)::int as unchanged,
  count(*) filter (where k.child_open)::int as listed_open`;

/** What the rows staged for a confirmation would do to the register (see StagedCounts). */
async function countStagedRows(db: Db, staged: StagedRows, organisationId: string): Promise<StagedCounts> {
  const { rows } = await sql<StagedCounts>`
    select ${sql.raw(STAGED_COUNTS_SQL)},
      (select count(*)::int from children where organisation_id = ${organisationId} and close_date is null) as open_count
    from (${classified(staged, organisationId)}) k
  `.execute(db);
  return rows[0]!;
}

/**
 * What applying the staged rows would do, without doing it. The closures are counted, not
 * looked for: the open children less those the file names. Only when there are some are the
 * first of them found, by case ID.
 */
export async function previewStagedImport(db: Db, input: { staged: StagedRows; organisationId: string; closeMissing: boolean; listed: number }) {
  const { listed_open: listedOpen, ...counts } = input.staged.in === 'transaction' ? input.staged.counts : await countStagedRows(db, input.staged, input.organisationId);
  const closes = input.closeMissing ? counts.open_count - listedOpen : 0;
  const firstClosures =
    closes > 0
      ? (
          await sql<{ externalId: string; initials: string | null }>`
            select c.external_id as "externalId", c.initials from children c
            where c.organisation_id = ${input.organisationId} and c.close_date is null and ${notStaged(input.staged)}
            order by c.external_id limit ${input.listed}
          `.execute(db)
        ).rows
      : [];
  return { ...counts, closes, firstClosures };
}

/** Children by Annex A list, and how many were on more than one list. */
export async function countChildrenByList(db: Db, staged: StagedRows): Promise<Record<string, number>> {
  // One sheet: one list (or none), each child on it once, none on several.
  if (staged.in === 'transaction') return { [staged.sourceList ?? 'none']: staged.rows, several: 0 };
  if (staged.onePerChild) {
    const { rows } = await sql<{ list: string; children: number }>`
      select coalesce(min(source_list), 'none') as list, count(*)::int as children from child_import_rows where import_id = ${staged.importId}
    `.execute(db);
    return { [rows[0]!.list]: rows[0]!.children, several: 0 };
  }
  const { rows } = await sql<{ list: string; children: number }>`
    select coalesce(source_list, 'none') as list, count(distinct external_id)::int as children
    from child_import_rows where import_id = ${staged.importId} group by 1
    union all
    select 'several', count(*)::int from (
      select external_id from child_import_rows where import_id = ${staged.importId} and source_list is not null
      group by external_id having count(distinct source_list) > 1
    ) several
  `.execute(db);
  return Object.fromEntries(rows.map((row) => [row.list, row.children]));
}

/**
 * Moves a whole validated import from staging into the register in one statement: the
 * children it changes are updated by their id, the new ones inserted, as the rows' match to
 * the register says (the caller has checked that the register is as it was when they were
 * matched) — no upsert, whose speculative insertion costs as much for an unchanged child as for
 * a new one, and nothing written for an unchanged child. When the import closes missing
 * children (`closes`: the preview found some), the open children missing from the file are
 * closed on `closeDate` (never deleted) and recorded so that they can be reopened. All parts see
 * the register as it was before the statement, so no child is both added and closed, or
 * changed twice. Each child created, updated or closed is one row of `child_import_changes`:
 * with the import's own activity entry, that is who changed the child and when.
 */
export async function applyStagedImport(trx: Db, input: { staged: StagedRows; importId: string; organisationId: string; closes: boolean; closeDate: string; at: Date }) {
  const closed = input.closes
    ? sql`
      update children c set close_date = ${input.closeDate}, last_import_id = ${input.importId}, version = c.version + 1, updated_at = ${input.at}
      where c.organisation_id = ${input.organisationId} and c.close_date is null and ${notStaged(input.staged)}
      returning c.id`
    : sql`select null::uuid as id where false`;
  const { rows } = await sql<{ created: number; updated: number; closed: number }>`
    with k as ${input.staged.in === 'transaction' ? sql`not materialized` : sql`materialized`} (${classified(input.staged, input.organisationId)}),
    updated as (
      update children c set ${sql.raw(ASSIGNMENTS_SQL)},
        last_import_id = ${input.importId}, version = c.version + 1, updated_at = ${input.at}
      from k s
      where s.changed and c.id = s.child_id and ${sql.raw(CHANGED_SQL)}
      returning c.id
    ),
    created as (
      insert into children (organisation_id, external_id, initials, date_of_birth, gender, ethnicity, legal_status,
        allocated_worker_id, allocated_team_id, open_date, close_date, referral_factors, last_import_id, created_at, updated_at)
      select ${input.organisationId}, external_id, initials, date_of_birth, gender, ethnicity, legal_status,
        allocated_worker_id, allocated_team_id, open_date, close_date, referral_factors, ${input.importId}, ${input.at}, ${input.at}
      from k where k.child_id is null
      returning id
    ),
    closed as (${closed}),
    closures as (
      insert into child_import_closures (import_id, child_id, organisation_id)
      select ${input.importId}, id, ${input.organisationId} from closed
    ),
    changes as (
      insert into child_import_changes (organisation_id, import_id, child_id, change)
      select ${input.organisationId}::uuid, ${input.importId}::uuid, id, 'created' from created
      union all select ${input.organisationId}::uuid, ${input.importId}::uuid, id, 'updated' from updated
      union all select ${input.organisationId}::uuid, ${input.importId}::uuid, id, 'closed' from closed
    )
    select (select count(*) from created)::int as created, (select count(*) from updated)::int as updated, (select count(*) from closed)::int as closed
  `.execute(trx);
  return rows[0]!;
}

/**
 * Reopens the children an import closed, those still closed on that date by that import (a
 * later import or a person may have changed them since: those are left alone).
 */
export async function reopenClosedChildren(trx: Db, input: { importId: string; organisationId: string; closeDate: string; at: Date }) {
  const { rows } = await sql<{ id: string }>`
    update children set close_date = null, version = version + 1, updated_at = ${input.at}
    where organisation_id = ${input.organisationId} and close_date = ${input.closeDate} and last_import_id = ${input.importId}
      and id in (select child_id from child_import_closures where import_id = ${input.importId})
    returning id
  `.execute(trx);
  return rows.map((row) => row.id);
}

/** The activity entries for the children an import's closure was undone for. */
export async function logReopenedChildren(trx: Db, input: { importId: string; organisationId: string; userId: string | null; actor: string; ipAddress: string | null; childIds: string[] }) {
  if (!input.childIds.length) return;
  await sql`
    insert into activity_log (organisation_id, user_id, actor, action, record_type, record_id, child_id, summary, ip_address)
    select ${input.organisationId}, ${input.userId}, ${input.actor}, 'update', 'child', id::text, id, ${`reopened: closed by import ${input.importId} in error`}, ${input.ipAddress}
    from children where id = any(${input.childIds}::uuid[])
  `.execute(trx);
}

export type ChildFilters = { search?: string; teamId?: string; legalStatus?: string; status?: 'open' | 'closed' | 'all' };

/** Children within the person's reach: their teams', their services', or the organisation's. */
export function childrenInScope(db: Db, scope: DataScope) {
  let query = db
    .selectFrom('children')
    .leftJoin('teams', 'teams.id', 'children.allocated_team_id')
    .leftJoin('staff', 'staff.id', 'children.allocated_worker_id')
    .where('children.organisation_id', '=', scope.organisationId);
  if (scope.kind === 'limited') {
    const { teamIds, serviceIds, staffId } = scope;
    query = query.where((eb) =>
      eb.or([
        ...(teamIds.length ? [eb('children.allocated_team_id', 'in', teamIds)] : []),
        ...(serviceIds.length ? [eb('teams.service_id', 'in', serviceIds)] : []),
        ...(staffId ? [eb('children.allocated_worker_id', '=', staffId)] : []),
        eb.val(false),
      ]),
    );
  }
  return query;
}

/** What a list or a page shows of a child, with the names of their worker and team. */
const CHILD_COLUMNS = [
  'children.id',
  'children.external_id',
  'children.initials',
  'children.date_of_birth',
  'children.gender',
  'children.ethnicity',
  'children.legal_status',
  'children.open_date',
  'children.close_date',
  'children.referral_factors',
  'children.allocated_worker_id',
  'children.allocated_team_id',
  'staff.full_name as worker_name',
  'teams.name as team_name',
] as const;

export async function listChildren(db: Db, scope: DataScope, filters: ChildFilters, page: { offset: number; limit: number }) {
  let query = childrenInScope(db, scope);
  if (filters.search) {
    const term = `%${filters.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([eb('children.external_id', 'ilike', term), eb('children.initials', 'ilike', term), eb('staff.full_name', 'ilike', term), eb('teams.name', 'ilike', term)]),
    );
  }
  if (filters.teamId) query = query.where('children.allocated_team_id', '=', filters.teamId);
  if (filters.legalStatus) query = query.where('children.legal_status', '=', filters.legalStatus as never);
  if (filters.status === 'open' || !filters.status) query = query.where('children.close_date', 'is', null);
  if (filters.status === 'closed') query = query.where('children.close_date', 'is not', null);
  const total = await query.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  const rows = await query
    .select([...CHILD_COLUMNS])
    .orderBy('children.external_id')
    .offset(page.offset)
    .limit(page.limit)
    .execute();
  return { rows, total: total.n };
}

/** The child (of those within reach) whose case ID is exactly this one, for the header search. */
export async function findChildrenByCaseId(db: Db, scope: DataScope, caseId: string) {
  return childrenInScope(db, scope).select([...CHILD_COLUMNS]).where('children.external_id', '=', caseId).orderBy('children.external_id').execute();
}

/** A child's record, with the import that last changed it: "who changed this child and when". */
export async function findChildInScope(db: Db, scope: DataScope, childId: string) {
  return childrenInScope(db, scope)
    .leftJoin('child_imports as last_import', 'last_import.id', 'children.last_import_id')
    .leftJoin('users as importer', 'importer.id', 'last_import.uploaded_by')
    .select([
      ...CHILD_COLUMNS,
      'children.updated_at',
      'teams.service_id',
      'last_import.filename as last_import_filename',
      'last_import.finished_at as last_import_finished_at',
      'last_import.source as last_import_source',
      'importer.display_name as last_import_by',
    ])
    .where('children.id', '=', childId)
    .executeTakeFirst();
}

/** Lookups for resolving an extract's worker and team names to Assure's records. */
export async function loadResolvers(db: Db, organisationId: string) {
  const teams = await db.selectFrom('teams').select(['id', 'name']).where('organisation_id', '=', organisationId).execute();
  const staff = await db.selectFrom('staff').select(['id', 'full_name', 'email', 'staff_number']).where('organisation_id', '=', organisationId).execute();
  return { teams, staff };
}
