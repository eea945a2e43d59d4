import { sql, type Kysely } from 'kysely';

/**
 * Which import changed which child, kept narrow. An import logs itself once in the activity log
 * (who, when, from where, what it did), and each child it created, updated or closed is one row
 * here: two identifiers and a word, with one index to find a child's imports. Writing a full
 * activity entry per child (five indexes, a foreign key each) cost an import of 100,000 new
 * children more time than the rest of the import together. The activity log's view of a child
 * reads these rows, so "who changed this child and when" is answered as before. Append-only,
 * like the log it belongs to; no foreign keys (as the log's own child_id has none), so a large
 * import is not 100,000 look-ups of the same import.
 *
 * The register's index on (organisation_id, initials) goes: nothing reads the register by
 * initials (the search matches any part of them, which a b-tree cannot serve), and every child
 * an import adds paid to enter it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table child_import_changes (
      organisation_id uuid not null,
      import_id uuid not null,
      child_id uuid not null,
      change text not null check (change in ('created', 'updated', 'closed'))
    );
    create index child_import_changes_child on child_import_changes (child_id);

    create function child_import_changes_are_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'child_import_changes is append-only';
    end;
    $$;
    create trigger child_import_changes_append_only
      before update or delete on child_import_changes
      for each statement execute function child_import_changes_are_append_only();

    drop index if exists children_initials;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create index if not exists children_initials on children (organisation_id, initials);
    drop table if exists child_import_changes;
    drop function if exists child_import_changes_are_append_only();
  `.execute(db);
}
