import { sql, type Kysely } from 'kysely';

/**
 * What an auditor wrote on a page of the audit form that could not be saved (a date that is
 * not a date in one action row): kept as typed, apart from the audit's answers, so leaving the
 * page by its back link loses nothing. The page shows it again with its problems until a save
 * of that page succeeds, which deletes it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table audit_form_drafts (
      audit_id uuid not null references audits(id) on delete cascade,
      organisation_id uuid not null references organisations(id),
      page text not null,
      fields jsonb not null,
      saved_by uuid references users(id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (audit_id, page)
    )
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists audit_form_drafts`.execute(db);
}
