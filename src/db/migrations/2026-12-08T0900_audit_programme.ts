import { sql, type Kysely } from 'kysely';

/**
 * The audit programme's schedule of expectations (Bristol 001 Appendix 1, PROCESS.md §3): for
 * each service, which activity is done, how many and how often, by whom, with which form,
 * moderated by whom, and how the case is chosen.
 *
 * The schedule is versioned: a change is a new version that applies from a date, holding the
 * whole table, so a report of an earlier period reads the schedule then in force. Versions are
 * never edited once a later one exists; rows belong to exactly one version.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table programme_schedule_versions (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      applies_from date not null,
      note text not null default '',
      created_by uuid references users(id),
      version integer not null default 1,
      created_at timestamptz not null default now(),
      unique (organisation_id, applies_from)
    );

    create table programme_schedule_rows (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      schedule_version_id uuid not null references programme_schedule_versions(id) on delete cascade,
      position integer not null check (position >= 0),
      -- Null: every service.
      service_id uuid references services(id),
      activity text not null check (activity in ('case_audit', 'observation', 'thematic_audit', 'supervision_audit', 'peer_audit', 'visit', 'other')),
      -- The activity as the council writes it ("Case file", "Deep Dive").
      activity_label text not null,
      -- The audit tool for a case audit; the form's name as written for other activities.
      tool_id uuid references audit_tools(id),
      form_label text not null default '',
      -- How many and how often: a count per auditor, per team or per service in each period, or
      -- a whole percentage of the open cases (quantity is then the percentage).
      quantity integer not null check (quantity > 0),
      per text not null check (per in ('auditor', 'team', 'service', 'open_cases_percent')),
      period_months integer not null check (period_months in (1, 2, 3, 4, 6, 12)),
      -- Roles (db Role values) that may audit, as a JSON array; the council's own words beside.
      auditor_roles jsonb not null default '[]',
      auditor_label text not null default '',
      -- Null: moderation not required.
      moderator_role text,
      moderation_label text not null default '',
      -- Who selects the case: the QA coordinator at random (a sampling round), the auditor, or other.
      selected_by text not null check (selected_by in ('random', 'auditor', 'other')),
      selection_label text not null default '',
      -- The sampling rules a round applies to this row (see modules/programme), as JSON.
      sampling jsonb not null default '{}',
      created_at timestamptz not null default now(),
      check (per <> 'open_cases_percent' or quantity <= 100),
      unique (schedule_version_id, position)
    );
    create index programme_schedule_rows_version on programme_schedule_rows (schedule_version_id, position);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table if exists programme_schedule_rows;
    drop table if exists programme_schedule_versions;
  `.execute(db);
}
