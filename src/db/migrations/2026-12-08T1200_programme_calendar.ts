import { sql, type Kysely } from 'kysely';

/**
 * The programme's calendar: dated entries the QA lead adds beside the rounds the schedule makes
 * due — the moderation panel's meetings (three a year in Bristol) and practice weeks (twice a
 * year in Lambeth), or anything else the year should show.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table programme_calendar_entries (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      kind text not null check (kind in ('moderation_panel', 'practice_week', 'other')),
      title text not null,
      starts_on date not null,
      ends_on date not null,
      note text not null default '',
      created_by uuid references users(id),
      created_at timestamptz not null default now(),
      check (ends_on >= starts_on)
    );
    create index programme_calendar_entries_by_day on programme_calendar_entries (organisation_id, starts_on);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists programme_calendar_entries;`.execute(db);
}
