import { sql, type Kysely } from 'kysely';

/**
 * Actions: every action agreed in an audit's action plan, tracked to completion. The owner
 * records their evidence when it is done; someone else verifies it. Whether an action is
 * overdue, or due for verification, is asked of the dates, never stored.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table actions (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      audit_id uuid not null references audits(id),
      child_id uuid not null references children(id),
      source text not null default 'action_plan' check (source in ('action_plan')),
      -- The repeating answer the action came from and its row: what makes creating them idempotent.
      answer_key text not null,
      row_index integer not null check (row_index >= 0),
      text text not null,
      owner_id uuid references staff(id),
      due_on date,
      status text not null default 'open' check (status in ('open', 'done', 'verified')),
      done_at timestamptz,
      evidence text,
      done_by uuid references users(id),
      verified_at timestamptz,
      verified_by uuid references users(id),
      verification_note text,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      unique (audit_id, source, answer_key, row_index),
      check (status = 'open' or (done_at is not null and evidence is not null)),
      check (status <> 'verified' or (verified_at is not null and verification_note is not null))
    );
    create index actions_owner on actions (organisation_id, owner_id, status, due_on);
    create index actions_status_due on actions (organisation_id, status, due_on);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists actions`.execute(db);
}
