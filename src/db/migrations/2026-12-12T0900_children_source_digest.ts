import { sql, type Kysely } from 'kysely';

/**
 * What last set a child from a CSV file, so that a re-import need not read a row again that has
 * not changed since (see `stageRows` in children/csv-copy.ts):
 * - `source_digest`: a 64-bit hash of the row's cells as the file gave them, seeded by how they
 *   were read (the file's columns, its Annex A list, the organisation's workers and teams, and the
 *   reading rules' own code), so the same cells read another way never match;
 * - `source_version`: the child's `version` when it was written. Every change of a child bumps
 *   its version, so a child changed since by anything else (a closure, a reopening, another
 *   import's file) no longer matches, whatever its digest.
 * Both are null for a child written any other way: its row is then read and compared in full.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table children add column source_digest bigint, add column source_version integer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table children drop column if exists source_digest, drop column if exists source_version`.execute(db);
}
