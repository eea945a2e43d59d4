import { sql, type Kysely } from 'kysely';

/**
 * Escalating an Inadequate audit. An alert tells each person who must act that an audit was
 * submitted Inadequate, or moderated Inadequate, until they acknowledge it (one alert of each
 * kind per person and audit, so a resubmission never alerts twice). A case direction is the service manager's
 * direction on the case once the moderated grade is Inadequate; its actions are tracked with
 * every other action, as source 'case_direction'.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table audit_alerts (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      audit_id uuid not null references audits(id),
      staff_id uuid not null references staff(id),
      kind text not null check (kind in ('inadequate_submitted', 'inadequate_moderated')),
      created_at timestamptz not null default now(),
      acknowledged_at timestamptz,
      unique (audit_id, staff_id, kind)
    );
    create index audit_alerts_staff on audit_alerts (organisation_id, staff_id, acknowledged_at);

    create table case_directions (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      audit_id uuid not null unique references audits(id),
      child_id uuid not null references children(id),
      direction text not null,
      directed_by uuid references users(id),
      directed_by_label text not null,
      directed_on date not null,
      review_due_on date not null,
      created_at timestamptz not null default now()
    );

    alter table actions drop constraint actions_source_check;
    alter table actions add constraint actions_source_check check (source in ('action_plan', 'case_direction'));

    -- An Inadequate audit is re-audited once: two requests allocating its re-audit cannot both win.
    create unique index audits_one_re_audit on audits (re_audit_of) where re_audit_of is not null;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index if exists audits_one_re_audit;
    delete from actions where source = 'case_direction';
    alter table actions drop constraint actions_source_check;
    alter table actions add constraint actions_source_check check (source in ('action_plan'));
    drop table if exists case_directions;
    drop table if exists audit_alerts;
  `.execute(db);
}
