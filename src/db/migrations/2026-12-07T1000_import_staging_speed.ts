import { sql, type Kysely } from 'kysely';

/**
 * Staging an import is one `COPY` of its rows. The staged rows' foreign key to their import
 * cost one lookup per row (a 100,000-row file: 100,000 lookups of the same import) and guarded
 * nothing the import service does not: staged rows are written only for an import it has just
 * recorded, and deleted by it whatever the import's end (applied, failed, discarded, orphaned);
 * imports themselves are never deleted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table child_import_rows drop constraint if exists child_import_rows_import_id_fkey`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table child_import_rows add constraint child_import_rows_import_id_fkey
      foreign key (import_id) references child_imports(id) on delete cascade
  `.execute(db);
}
