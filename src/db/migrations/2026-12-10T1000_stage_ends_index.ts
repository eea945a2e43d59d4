import { sql, type Kysely } from 'kysely';

/**
 * When an audit's stages ended: the tracker, My work and the reports' timeliness ask, for each
 * audit, the first time it was submitted and the first time feedback was asked for
 * (`min(at)` of one transition). Keyed by audit, transition and time, each answer is the first
 * entry of the index, read without visiting the table: over 10,000 audits the report's
 * timeliness went from about 855 ms to 304 ms.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index audit_transitions_stage_ends on audit_transitions (audit_id, transition, at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists audit_transitions_stage_ends`.execute(db);
}
