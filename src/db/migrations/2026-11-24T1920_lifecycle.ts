import { sql, type Kysely } from 'kysely';

/**
 * The audit's lifecycle: every change of status as an append-only row (who, when, from, to,
 * why), each council's timescales (Bristol's by default), and the current stage's start and
 * deadline on the audit, worked out in working days when the stage starts. Audits allocated
 * before this keep their history from allocation: one 'allocate' row each.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table audit_transitions (
      id bigserial primary key,
      organisation_id uuid not null references organisations(id),
      audit_id uuid not null references audits(id),
      from_status text check (from_status in ('allocated','in_progress','in_moderation','returned','moderated','distributed','awaiting_feedback','closed')),
      to_status text not null check (to_status in ('allocated','in_progress','in_moderation','returned','moderated','distributed','awaiting_feedback','closed')),
      transition text not null,
      actor_user_id uuid references users(id),
      actor_label text not null,
      reason text,
      at timestamptz not null default now()
    );
    create index audit_transitions_audit on audit_transitions (audit_id, id);

    -- Append-only, as the activity log: the database itself refuses to change or remove a row.
    create function audit_transitions_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_transitions is append-only';
    end;
    $$;
    create trigger audit_transitions_append_only
      before update or delete on audit_transitions
      for each row execute function audit_transitions_is_append_only();

    create table organisation_timescales (
      organisation_id uuid primary key references organisations(id),
      auditor_days integer not null default 10 check (auditor_days between 1 and 250),
      moderation_days integer not null default 10 check (moderation_days between 1 and 250),
      distribution_days integer not null default 5 check (distribution_days between 1 and 250),
      feedback_days integer not null default 10 check (feedback_days between 1 and 250),
      re_audit_weeks integer not null default 8 check (re_audit_weeks between 1 and 104),
      case_direction_review_months integer not null default 1 check (case_direction_review_months between 1 and 24),
      action_verification_months integer not null default 3 check (action_verification_months between 1 and 24),
      version integer not null default 1,
      updated_at timestamptz not null default now()
    );

    alter table audits add column stage_started_on date;
    alter table audits add column stage_due_on date;
    -- Audits still with their auditor are in the auditor's stage, started when allocated.
    update audits set stage_started_on = allocated_on, stage_due_on = due_on
      where status in ('allocated', 'in_progress', 'returned');

    insert into audit_transitions (organisation_id, audit_id, from_status, to_status, transition, actor_user_id, actor_label, at)
      select audits.organisation_id, audits.id, null, 'allocated', 'allocate', audits.allocated_by, coalesce(users.display_name, 'unknown'), audits.created_at
      from audits left join users on users.id = audits.allocated_by
      order by audits.created_at, audits.reference;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audits drop column if exists stage_due_on, drop column if exists stage_started_on;
    drop table if exists organisation_timescales;
    drop table if exists audit_transitions;
    drop function if exists audit_transitions_is_append_only();
  `.execute(db);
}
