import { sql, type Kysely } from 'kysely';

/**
 * Child register imports that never close a child by accident and survive restarts:
 * - an import is first staged and previewed ('staged'), and reaches the register only when
 *   someone confirms it; a preview that is never confirmed is 'discarded';
 * - the preview's counts, the first children it would close and a fingerprint of the register
 *   it was computed against are kept, so the confirmation applies exactly what was shown;
 * - the children an import closed are recorded, so they can be reopened for a day;
 * - staged rows carry their sheet and Annex A list, so a child on several lists is one record.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table child_imports drop constraint if exists child_imports_status_check;
    alter table child_imports add constraint child_imports_status_check
      check (status in ('queued','running','staged','succeeded','failed','discarded'));
    alter table child_imports alter column full_extract set default false;
    alter table child_imports
      add column if not exists open_count integer not null default 0,
      add column if not exists unchanged_count integer not null default 0,
      add column if not exists first_closures jsonb not null default '[]',
      add column if not exists register_fingerprint text,
      add column if not exists close_date date,
      add column if not exists sheets jsonb not null default '{"read":[],"skipped":[]}',
      add column if not exists list_counts jsonb not null default '{}',
      add column if not exists confirmed_by uuid references users(id),
      add column if not exists reopened_at timestamptz,
      add column if not exists reopened_by uuid references users(id),
      add column if not exists reopened_count integer not null default 0;

    alter table child_import_errors add column if not exists sheet text;

    alter table child_import_rows drop constraint if exists child_import_rows_pkey;
    alter table child_import_rows
      add column if not exists sheet text not null default '',
      add column if not exists source_list text;
    alter table child_import_rows add primary key (import_id, sheet, row_number);
    alter table child_import_rows alter column initials drop not null;
    alter table children alter column initials drop not null;

    create table if not exists child_import_closures (
      import_id uuid not null references child_imports(id) on delete cascade,
      child_id uuid not null references children(id),
      organisation_id uuid not null references organisations(id),
      primary key (import_id, child_id)
    );
    create index if not exists child_imports_by_status on child_imports (organisation_id, status);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index if exists child_imports_by_status;
    drop table if exists child_import_closures;
    alter table child_import_rows drop constraint if exists child_import_rows_pkey;
    alter table child_import_rows drop column if exists sheet, drop column if exists source_list;
    alter table child_import_rows add primary key (import_id, row_number);
    alter table child_import_errors drop column if exists sheet;
    alter table child_imports
      drop column if exists open_count, drop column if exists unchanged_count, drop column if exists first_closures,
      drop column if exists register_fingerprint, drop column if exists close_date, drop column if exists sheets,
      drop column if exists list_counts, drop column if exists confirmed_by, drop column if exists reopened_at,
      drop column if exists reopened_by, drop column if exists reopened_count;
    update child_imports set status = 'failed' where status in ('staged', 'discarded');
    alter table child_imports drop constraint if exists child_imports_status_check;
    alter table child_imports add constraint child_imports_status_check check (status in ('queued','running','succeeded','failed'));
    alter table child_imports alter column full_extract set default true;
  `.execute(db);
}
