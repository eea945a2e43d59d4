import { sql, type Kysely } from 'kysely';

/**
 * The service manager reviews the actions of their case direction within a month (PROCESS.md
 * §4.5). The review is written once, on the direction itself: who, when and what they found.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table case_directions
      add column reviewed_at timestamptz,
      add column reviewed_by uuid references users(id),
      add column review_notes text;
    -- My work and the daily digest look for the directions still to review, by who directed them.
    create index case_directions_to_review on case_directions (organisation_id, directed_by) where reviewed_at is null;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index if exists case_directions_to_review;
    alter table case_directions drop column if exists review_notes, drop column if exists reviewed_by, drop column if exists reviewed_at;
  `.execute(db);
}
