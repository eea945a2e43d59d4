import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import type { ChildImportRowsTable, ChildImportsTable } from '../../db/types.ts';
import type { Insertable, Updateable } from 'kysely';
import type { DataScope } from '../../platform/access.ts';
import type { RowError } from './extract.ts';

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

/** Imports left running by a process that stopped: they can never finish, so say so. */
export async function failInterruptedImports(db: Db) {
  await db
    .updateTable('child_imports')
    .set({ status: 'failed', message: 'The import was interrupted when Assure stopped. Nothing was imported; upload the file again.', finished_at: sql`now()` })
    .where('status', 'in', ['queued', 'running'])
    .execute();
  await db.deleteFrom('child_import_rows').where('import_id', 'in', db.selectFrom('child_imports').select('id').where('status', '=', 'failed')).execute();
}

export async function insertStagingRows(db: Db, rows: Insertable<ChildImportRowsTable>[]) {
  if (rows.length) await db.insertInto('child_import_rows').values(rows).execute();
}

export async function insertImportErrors(db: Db, importId: string, organisationId: string, errors: RowError[]) {
  if (!errors.length) return;
  await db
    .insertInto('child_import_errors')
    .values(
      errors.map((error) => ({
        import_id: importId,
        organisation_id: organisationId,
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
    .select(['row_number', 'column_name', 'value', 'reason'])
    .where('import_id', '=', importId)
    .orderBy('row_number')
    .orderBy('column_name');
  if (limit) query = query.limit(limit);
  return query.execute();
}

export async function deleteStagingRows(db: Db, importId: string) {
  await db.deleteFrom('child_import_rows').where('import_id', '=', importId).execute();
}

/**
 * Moves a whole validated import from staging into the register in set-based SQL: new
 * children are inserted, known ones updated (only when something changed), and — for a
 * full extract — open children missing from the file are closed, never deleted.
 */
export async function applyStagedImport(trx: Db, input: { importId: string; organisationId: string; fullExtract: boolean }) {
  const upserted = await sql<{ id: string; inserted: boolean }>`
    insert into children (organisation_id, external_id, initials, date_of_birth, gender, ethnicity, legal_status,
      allocated_worker_id, allocated_team_id, open_date, close_date, referral_factors, last_import_id)
    select ${input.organisationId}, external_id, initials, date_of_birth, gender, ethnicity, legal_status,
      allocated_worker_id, allocated_team_id, open_date, close_date, referral_factors, import_id
    from child_import_rows where import_id = ${input.importId}
    on conflict (organisation_id, external_id) do update set
      initials = excluded.initials, date_of_birth = excluded.date_of_birth, gender = excluded.gender,
      ethnicity = excluded.ethnicity, legal_status = excluded.legal_status,
      allocated_worker_id = excluded.allocated_worker_id, allocated_team_id = excluded.allocated_team_id,
      open_date = excluded.open_date, close_date = excluded.close_date, referral_factors = excluded.referral_factors,
      last_import_id = excluded.last_import_id, version = children.version + 1, updated_at = now()
    where (children.initials, children.date_of_birth, children.gender, children.ethnicity, children.legal_status,
           children.allocated_worker_id, children.allocated_team_id, children.open_date, children.close_date, children.referral_factors)
      is distinct from
          (excluded.initials, excluded.date_of_birth, excluded.gender, excluded.ethnicity, excluded.legal_status,
           excluded.allocated_worker_id, excluded.allocated_team_id, excluded.open_date, excluded.close_date, excluded.referral_factors)
    returning id, (xmax = 0) as inserted
  `.execute(trx);
  let closed: { id: string }[] = [];
  if (input.fullExtract) {
    closed = (
      await sql<{ id: string }>`
        update children set close_date = current_date, last_import_id = ${input.importId}, version = version + 1, updated_at = now()
        where organisation_id = ${input.organisationId} and close_date is null
          and not exists (select 1 from child_import_rows r where r.import_id = ${input.importId} and r.external_id = children.external_id)
        returning id
      `.execute(trx)
    ).rows;
  }
  const created = upserted.rows.filter((row) => row.inserted).length;
  return { created, updated: upserted.rows.length - created, closed: closed.length, changedIds: [...upserted.rows.map((row) => row.id), ...closed.map((row) => row.id)] };
}

/** One activity entry per child the import created, changed or closed, written in SQL. */
export async function logImportedChildren(trx: Db, input: { importId: string; organisationId: string; userId: string | null; actor: string; ipAddress: string | null }) {
  await sql`
    insert into activity_log (organisation_id, user_id, actor, action, record_type, record_id, child_id, summary, ip_address)
    select ${input.organisationId}, ${input.userId}, ${input.actor}, 'import', 'child', id::text, id, ${`import ${input.importId}`}, ${input.ipAddress}
    from children where last_import_id = ${input.importId}
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

export async function findChildInScope(db: Db, scope: DataScope, childId: string) {
  return childrenInScope(db, scope)
    .select([...CHILD_COLUMNS, 'children.updated_at', 'teams.service_id'])
    .where('children.id', '=', childId)
    .executeTakeFirst();
}

/** Lookups for resolving an extract's worker and team names to Assure's records. */
export async function loadResolvers(db: Db, organisationId: string) {
  const teams = await db.selectFrom('teams').select(['id', 'name']).where('organisation_id', '=', organisationId).execute();
  const staff = await db.selectFrom('staff').select(['id', 'full_name', 'email', 'staff_number']).where('organisation_id', '=', organisationId).execute();
  return { teams, staff };
}
