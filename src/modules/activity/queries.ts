import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import { onUkDays } from '../../db/values.ts';

/**
 * Reading the activity log of one organisation. Only reads: the log is append-only, and the
 * database refuses updates and deletes of it anyway. Newest first is the order of entry (id).
 */
export type ActivityFilters = {
  email?: string | undefined;
  action?: string | undefined;
  recordType?: string | undefined;
  recordId?: string | undefined;
  /** The child's case ID in the register: every entry about that child, whatever the record. */
  caseId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
};

const likeTerm = (text: string) => `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;

function filteredActivity(db: Db, organisationId: string, filters: ActivityFilters, upToId: number | null) {
  let query = db.selectFrom('activity_log').where('activity_log.organisation_id', '=', organisationId);
  if (upToId !== null) query = query.where('activity_log.id', '<=', upToId);
  if (filters.email) query = query.where('activity_log.actor', 'ilike', likeTerm(filters.email));
  if (filters.action) query = query.where('activity_log.action', '=', filters.action);
  if (filters.recordType) query = query.where('activity_log.record_type', '=', filters.recordType);
  if (filters.recordId) query = query.where('activity_log.record_id', '=', filters.recordId);
  // A case ID names one child of this organisation (external IDs are unique within it).
  if (filters.caseId) {
    const caseId = filters.caseId;
    query = query.where((eb) => {
      const child = () => eb.selectFrom('children').select('children.id').where('children.organisation_id', '=', organisationId).where('children.external_id', '=', caseId);
      return eb.or([
        eb('activity_log.child_id', 'in', child()),
        // A register import logs itself once; the children it created, updated or closed are listed beside it.
        eb.and([
          eb('activity_log.record_type', '=', 'child_import'),
          eb('activity_log.action', '=', 'import'),
          eb('activity_log.record_id', 'in', eb.selectFrom('child_import_changes').select(sql<string>`import_id::text`.as('import_id')).where('child_import_changes.child_id', 'in', child())),
        ]),
      ]);
    });
  }
  // Days are the UK's days: midnight in London, whatever the server's zone.
  for (const condition of onUkDays(sql.ref('activity_log.at'), filters.from, filters.to)) query = query.where(condition);
  return query;
}

const COLUMNS = [
  'activity_log.id',
  'activity_log.at',
  'activity_log.actor',
  'activity_log.action',
  'activity_log.record_type',
  'activity_log.record_id',
  'activity_log.summary',
  'activity_log.ip_address',
] as const;

export async function countActivity(db: Db, organisationId: string, filters: ActivityFilters, upToId: number | null = null): Promise<number> {
  const row = await filteredActivity(db, organisationId, filters, upToId).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return row.n;
}

/**
 * One page of the log as the page shows it: who by name as well as e-mail, and the child each
 * entry is about by case ID, so "who looked at this child?" is answered without internal IDs.
 */
export async function listActivity(db: Db, organisationId: string, filters: ActivityFilters, page: { offset: number; limit: number }) {
  return filteredActivity(db, organisationId, filters, null)
    .leftJoin('users', 'users.id', 'activity_log.user_id')
    .leftJoin('children', 'children.id', 'activity_log.child_id')
    .select(COLUMNS)
    .select(['activity_log.child_id', 'users.display_name as actor_name', 'children.external_id as child_external_id', 'children.initials as child_initials'])
    .orderBy('activity_log.id', 'desc')
    .offset(page.offset)
    .limit(page.limit)
    .execute();
}

/** The newest entry now: an export reads up to here, so entries written meanwhile do not shift it. */
export async function latestActivityId(db: Db, organisationId: string): Promise<number> {
  const row = await db
    .selectFrom('activity_log')
    .select(sql<number>`coalesce(max(id), 0)::bigint`.as('id'))
    .where('organisation_id', '=', organisationId)
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** A batch of entries older than `beforeId`, for exporting a long log without holding it all. */
export async function activityBatch(db: Db, organisationId: string, filters: ActivityFilters, range: { upToId: number; beforeId: number | null; limit: number }) {
  let query = filteredActivity(db, organisationId, filters, range.upToId)
    .leftJoin('users', 'users.id', 'activity_log.user_id')
    .leftJoin('children', 'children.id', 'activity_log.child_id')
    .select(COLUMNS)
    .select(['users.display_name as actor_name', 'children.external_id as child_external_id']);
  if (range.beforeId !== null) query = query.where('activity_log.id', '<', range.beforeId);
  return query.orderBy('activity_log.id', 'desc').limit(range.limit).execute();
}
