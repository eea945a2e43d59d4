import { sql, type Kysely } from 'kysely';

/**
 * Sampling rounds (issue 14): the QA coordinator's draw of children for the schedule rows
 * chosen at random, and everything the draw read, so the round can be replayed and explained.
 *
 * - `programme_rounds`: one round — its period, the seed, the rows and rules as they stood, the
 *   pool snapshot (the children, auditors, teams and services with the attributes the rules
 *   used), the proposal as it now stands, and who proposed and confirmed it.
 * - `programme_round_replacements`: each replacement of a child or an auditor, in order, with
 *   its reason (append-only: a replay applies them in order).
 * - `programme_round_audits`: the audits a confirmed round allocated.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table programme_rounds (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      period_from date not null,
      period_to date not null,
      status text not null check (status in ('proposed', 'confirmed')),
      -- The day the draw was made: the rules' windows end on it.
      as_of date not null,
      seed integer not null,
      schedule_version_id uuid references programme_schedule_versions(id),
      -- The rows drawn, with their rules as they stood (a later schedule change never alters a round).
      draw_rows jsonb not null,
      snapshot jsonb not null,
      proposal jsonb not null,
      proposed_by uuid not null references users(id),
      proposed_at timestamptz not null,
      confirmed_at timestamptz,
      confirmed_by uuid references users(id),
      version integer not null default 1,
      created_at timestamptz not null default now(),
      check (period_from <= period_to),
      check ((status = 'confirmed') = (confirmed_at is not null))
    );
    create index programme_rounds_period on programme_rounds (organisation_id, period_from);

    create table programme_round_replacements (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      round_id uuid not null references programme_rounds(id) on delete cascade,
      sequence integer not null,
      kind text not null check (kind in ('child', 'auditor')),
      unit_key text not null,
      child_id uuid not null references children(id),
      new_child_id uuid references children(id),
      auditor_id uuid references staff(id),
      new_auditor_id uuid references staff(id),
      hand_picked boolean not null default false,
      draw_seed integer,
      reason text not null check (length(trim(reason)) > 0),
      made_by uuid not null references users(id),
      made_at timestamptz not null,
      unique (round_id, sequence)
    );

    create table programme_round_audits (
      round_id uuid not null references programme_rounds(id),
      audit_id uuid not null references audits(id),
      organisation_id uuid not null references organisations(id),
      schedule_row_id uuid,
      primary key (round_id, audit_id)
    );
    create unique index programme_round_audits_audit on programme_round_audits (audit_id);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table if exists programme_round_audits;
    drop table if exists programme_round_replacements;
    drop table if exists programme_rounds;
  `.execute(db);
}
