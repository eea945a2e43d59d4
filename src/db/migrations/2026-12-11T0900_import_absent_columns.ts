import { sql, type Kysely } from 'kysely';

/**
 * Which of the register's fields a staged row's sheet had no column for (a bit per field, see
 * `KEPT_WHEN_ABSENT` in children/extract.ts): applying the row keeps the child's own value for
 * those, so a file without, say, a date-of-birth column no longer clears every child's date of birth.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table child_import_rows add column absent_fields integer not null default 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table child_import_rows drop column if exists absent_fields`.execute(db);
}
