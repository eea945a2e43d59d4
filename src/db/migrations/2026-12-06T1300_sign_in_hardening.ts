import { sql, type Kysely } from 'kysely';

/**
 * Sign-in hardened. The rate limit moves from one process's memory into the database, so it
 * holds across several app servers, and counts per e-mail and address pair, so one council
 * office behind one address is not shut out when everyone signs in at nine. API tokens carry
 * an expiry; existing tokens are given a year from their creation.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table sign_in_throttle (
      email_key text not null,
      ip_address text not null,
      window_started_at timestamptz not null,
      attempts integer not null check (attempts >= 0),
      primary key (email_key, ip_address)
    );
    create index sign_in_throttle_window on sign_in_throttle (window_started_at);
    alter table api_tokens add column expires_at timestamptz;
    update api_tokens set expires_at = created_at + interval '1 year';
    alter table api_tokens alter column expires_at set not null;
    create index sessions_expires on sessions (expires_at);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index if exists sessions_expires;
    alter table api_tokens drop column if exists expires_at;
    drop table if exists sign_in_throttle;
  `.execute(db);
}
