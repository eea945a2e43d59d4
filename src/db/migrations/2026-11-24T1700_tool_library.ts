import { sql, type Kysely } from 'kysely';

/**
 * The audit-tool library: each edition keeps the file it was loaded from, byte for byte (as
 * bytes, not text, so that no driver can trim a byte-order mark or re-encode it), so it
 * downloads back exactly as written. A published edition never changes: the database
 * refuses any change to what an edition says (only its status may move to archived), so an
 * audit started on an edition always reads the form it was started on.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audit_tool_editions add column source_file bytea;
    alter table audit_tool_editions add column file_name text;

    create function audit_tool_edition_is_fixed() returns trigger language plpgsql as $$
    begin
      if new.tool_id is distinct from old.tool_id
        or new.organisation_id is distinct from old.organisation_id
        or new.edition is distinct from old.edition
        or new.definition is distinct from old.definition
        or new.source is distinct from old.source
        or new.schema_version is distinct from old.schema_version
        or new.source_file is distinct from old.source_file
        or new.file_name is distinct from old.file_name then
        raise exception 'a published audit tool edition never changes: load a new edition instead';
      end if;
      return new;
    end;
    $$;
    create trigger audit_tool_edition_fixed
      before update on audit_tool_editions
      for each row execute function audit_tool_edition_is_fixed();
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop trigger if exists audit_tool_edition_fixed on audit_tool_editions;
    drop function if exists audit_tool_edition_is_fixed();
    alter table audit_tool_editions drop column file_name, drop column source_file;
  `.execute(db);
}
