import { sql, type Kysely } from 'kysely';

/**
 * The platform: organisation, people, sign-in, the child register, the audit tables the
 * tracker reads, and the append-only activity log. Every table carries organisation_id.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table organisations (
      id uuid primary key default gen_random_uuid(),
      slug text not null unique,
      name text not null,
      settings jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table localities (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      name text not null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (organisation_id, name)
    );

    create table services (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      name text not null,
      locality_id uuid references localities(id),
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (organisation_id, name)
    );

    create table teams (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      service_id uuid not null references services(id),
      locality_id uuid references localities(id),
      name text not null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (organisation_id, name)
    );
    create index teams_service on teams (service_id);

    create table staff (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      staff_number text,
      full_name text not null,
      email text,
      job_title text not null,
      team_id uuid references teams(id),
      line_manager_id uuid references staff(id),
      start_date date,
      leaving_date date,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index staff_number_unique on staff (organisation_id, staff_number) where staff_number is not null;
    create unique index staff_email_unique on staff (organisation_id, lower(email)) where email is not null;
    create index staff_team on staff (team_id);

    create table users (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      staff_id uuid references staff(id),
      email text not null,
      display_name text not null,
      password_hash text not null,
      failed_sign_ins integer not null default 0,
      locked_until timestamptz,
      password_changed_at timestamptz not null default now(),
      disabled_at timestamptz,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index users_email_unique on users (lower(email));

    create table role_grants (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      user_id uuid not null references users(id) on delete cascade,
      role text not null check (role in ('practitioner','auditor','moderator','qa_coordinator','qa_lead','senior_leader','administrator')),
      scope text not null check (scope in ('team','service','organisation')),
      team_id uuid references teams(id),
      service_id uuid references services(id),
      created_at timestamptz not null default now(),
      check ((scope = 'team') = (team_id is not null)),
      check ((scope = 'service') = (service_id is not null))
    );
    create index role_grants_user on role_grants (user_id);

    create table sessions (
      id text primary key,
      organisation_id uuid not null references organisations(id),
      user_id uuid not null references users(id) on delete cascade,
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      expires_at timestamptz not null,
      ip_address text,
      user_agent text
    );
    create index sessions_user on sessions (user_id);

    create table api_tokens (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      user_id uuid not null references users(id) on delete cascade,
      name text not null,
      token_hash text not null unique,
      token_prefix text not null,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    );

    create table children (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      external_id text not null,
      initials text not null,
      date_of_birth date,
      gender text check (gender in ('male','female','other','unknown')),
      ethnicity text,
      legal_status text not null check (legal_status in ('early_help','cin','cp','plo','child_in_care','care_leaver')),
      allocated_worker_id uuid references staff(id),
      allocated_team_id uuid references teams(id),
      open_date date,
      close_date date,
      referral_factors jsonb not null default '[]',
      last_import_id uuid,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (organisation_id, external_id)
    );
    create index children_team on children (allocated_team_id);
    create index children_worker on children (allocated_worker_id);
    create index children_initials on children (organisation_id, initials);

    create table child_imports (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      uploaded_by uuid references users(id),
      source text not null check (source in ('page','api','command')),
      filename text not null,
      format text not null check (format in ('csv','xlsx')),
      full_extract boolean not null default true,
      status text not null check (status in ('queued','running','succeeded','failed')),
      rows_read integer not null default 0,
      error_count integer not null default 0,
      created_count integer not null default 0,
      updated_count integer not null default 0,
      closed_count integer not null default 0,
      message text,
      created_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz
    );

    create table child_import_errors (
      import_id uuid not null references child_imports(id) on delete cascade,
      organisation_id uuid not null references organisations(id),
      row_number integer not null,
      column_name text not null,
      value text not null default '',
      reason text not null
    );
    create index child_import_errors_import on child_import_errors (import_id, row_number);

    -- Rows of an import in progress. They reach the register only when the whole file is valid.
    create table child_import_rows (
      import_id uuid not null references child_imports(id) on delete cascade,
      row_number integer not null,
      external_id text not null,
      initials text not null,
      date_of_birth date,
      gender text,
      ethnicity text,
      legal_status text not null,
      allocated_worker_id uuid,
      allocated_team_id uuid,
      open_date date,
      close_date date,
      referral_factors jsonb not null default '[]',
      primary key (import_id, row_number)
    );

    create table audit_tools (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      key text not null,
      name text not null,
      created_at timestamptz not null default now(),
      unique (organisation_id, key)
    );

    create table audit_tool_editions (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      tool_id uuid not null references audit_tools(id),
      edition text not null,
      definition jsonb not null,
      source text not null,
      published_at timestamptz not null default now(),
      created_by uuid references users(id),
      created_at timestamptz not null default now(),
      unique (tool_id, edition)
    );

    create table audits (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      reference serial not null,
      child_id uuid not null references children(id),
      tool_edition_id uuid not null references audit_tool_editions(id),
      auditor_id uuid not null references staff(id),
      case_holder_id uuid references staff(id),
      moderator_id uuid references staff(id),
      team_id uuid references teams(id),
      service_id uuid references services(id),
      status text not null check (status in ('allocated','in_progress','in_moderation','returned','moderated','distributed','awaiting_feedback','closed')),
      allocated_on date not null,
      due_on date not null,
      submitted_at timestamptz,
      moderated_at timestamptz,
      closed_at timestamptz,
      auditor_grade text check (auditor_grade in ('outstanding','good','requires_improvement','inadequate')),
      final_grade text check (final_grade in ('outstanding','good','requires_improvement','inadequate')),
      answers jsonb not null default '{}',
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index audits_org_status on audits (organisation_id, status, due_on);
    create index audits_org_allocated on audits (organisation_id, allocated_on desc, reference desc);
    create index audits_team on audits (team_id);
    create index audits_service on audits (service_id);
    create index audits_auditor on audits (auditor_id);
    create index audits_case_holder on audits (case_holder_id);
    create index audits_child on audits (child_id);

    create table audit_judgements (
      audit_id uuid not null references audits(id) on delete cascade,
      organisation_id uuid not null references organisations(id),
      section_key text not null,
      stage text not null check (stage in ('auditor','moderator','re_audit')),
      grade text not null,
      reason text,
      created_at timestamptz not null default now(),
      primary key (audit_id, section_key, stage)
    );

    create table activity_log (
      id bigserial primary key,
      organisation_id uuid references organisations(id),
      user_id uuid references users(id),
      actor text not null,
      action text not null,
      record_type text not null,
      record_id text,
      child_id uuid,
      summary text not null default '',
      ip_address text,
      at timestamptz not null default now()
    );
    create index activity_log_org_at on activity_log (organisation_id, at desc);
    create index activity_log_record on activity_log (record_type, record_id);
    create index activity_log_user on activity_log (user_id, at desc);

    -- Append-only: the database itself refuses to change or remove a log entry.
    create function activity_log_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'activity_log is append-only';
    end;
    $$;
    create trigger activity_log_append_only
      before update or delete on activity_log
      for each row execute function activity_log_is_append_only();
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table if exists activity_log, audit_judgements, audits, audit_tool_editions, audit_tools,
      child_import_rows, child_import_errors, child_imports, children, api_tokens, sessions,
      role_grants, users, staff, teams, services, localities, organisations cascade;
    drop function if exists activity_log_is_append_only();
  `.execute(db);
}
