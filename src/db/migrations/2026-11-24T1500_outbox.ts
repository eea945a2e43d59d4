import { sql, type Kysely } from 'kysely';

/**
 * The e-mail outbox. A message is written in the same transaction as the change it announces,
 * so it exists only if that change committed; a worker delivers it by SMTP afterwards, with
 * retries. The state lives here, so a restart loses nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table email_outbox (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      to_address text not null,
      subject text not null,
      text_body text not null,
      html_body text,
      dedupe_key text unique,
      status text not null default 'queued' check (status in ('queued','sending','sent','failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_error text,
      created_at timestamptz not null default now(),
      sent_at timestamptz,
      locked_until timestamptz,
      check ((status = 'sent') = (sent_at is not null)),
      check ((status = 'sending') = (locked_until is not null))
    );
    -- What the worker looks for: messages due, and deliveries interrupted by a crash.
    create index email_outbox_due on email_outbox (next_attempt_at) where status = 'queued';
    create index email_outbox_interrupted on email_outbox (locked_until) where status = 'sending';
    create index email_outbox_organisation on email_outbox (organisation_id, created_at);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists email_outbox`.execute(db);
}
