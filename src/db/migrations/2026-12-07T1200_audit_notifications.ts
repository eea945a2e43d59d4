import { sql, type Kysely } from 'kysely';

/**
 * Notifications along an audit's way. Each person chooses to be e-mailed at each event or to
 * read them in their daily digest only; events for digest-only people wait in
 * notification_digest_items until a digest takes them. A distribution recipient who cannot
 * open Assure is marked, and the QA coordinator records when a copy was sent to them securely.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table users add column notification_choice text not null default 'each_event'
      check (notification_choice in ('each_event', 'daily_digest'));
    create table notification_digest_items (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations (id),
      user_id uuid not null references users (id),
      audit_id uuid references audits (id),
      subject text not null,
      text_body text not null,
      dedupe_key text not null unique,
      created_at timestamptz not null,
      digested_on date
    );
    create index notification_digest_items_waiting on notification_digest_items (organisation_id, user_id) where digested_on is null;
    alter table audit_recipients add column needs_secure_copy boolean not null default false;
    alter table audit_recipients add column secure_copy_sent_at timestamptz;
    alter table audit_recipients add column secure_copy_sent_by uuid references users (id);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audit_recipients drop column if exists secure_copy_sent_by;
    alter table audit_recipients drop column if exists secure_copy_sent_at;
    alter table audit_recipients drop column if exists needs_secure_copy;
    drop table if exists notification_digest_items;
    alter table users drop column if exists notification_choice;
  `.execute(db);
}
