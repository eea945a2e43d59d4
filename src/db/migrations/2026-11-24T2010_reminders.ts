import { sql, type Kysely } from 'kysely';

/**
 * Daily reminders: one row per organisation per day, inserted by the worker that sends that
 * day's digests. The primary key is the claim, so a second worker (or a restart) sends nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table reminder_runs (
      organisation_id uuid not null references organisations(id),
      run_date date not null,
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      digests integer,
      primary key (organisation_id, run_date)
    )
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists reminder_runs`.execute(db);
}
