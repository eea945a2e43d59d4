import { sql, type Kysely } from 'kysely';

/**
 * Indexes found by `npm run bench`:
 * - a full extract closes the children missing from it with NOT EXISTS over the import's
 *   staged rows; just loaded, those rows have no statistics, and without this index PostgreSQL
 *   compared every row with every other (100,000 rows: minutes instead of seconds);
 * - the tracker's tool filter, and its list of tools that have audits, look audits up by edition.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create index child_import_rows_external on child_import_rows (import_id, external_id);
    create index audits_tool_edition on audits (tool_edition_id);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index if exists audits_tool_edition;
    drop index if exists child_import_rows_external;
  `.execute(db);
}
