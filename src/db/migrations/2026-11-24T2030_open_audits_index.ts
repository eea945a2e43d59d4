import { sql, type Kysely } from 'kysely';

/**
 * Found by `npm run bench` (My work): the QA coordinator's pipeline counts the open audits by
 * status and the deadline of their stage. Closed audits pile up year after year, so without
 * this index the count reads every audit ever made; with it, only the open ones, often from the
 * index alone (200,000 audits, 26,000 open: 32 ms down to 17 ms, 5.5 ms after a vacuum).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index audits_open_by_status on audits (organisation_id, status) include (due_on, stage_due_on) where status <> 'closed'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists audits_open_by_status`.execute(db);
}
