import { sql, type Kysely } from 'kysely';

/**
 * "Who looked at this child?": the activity log filtered by a child's case ID reads that child's
 * entries newest first. Without this index the filter reads the organisation's whole log.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index activity_log_child on activity_log (child_id, id desc) where child_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists activity_log_child`.execute(db);
}
