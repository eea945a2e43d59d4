import { sql, type Kysely } from 'kysely';

/**
 * The quarterly QA report. Its commentary is a draft per organisation and report (the period
 * and filters it is for), saved with a version so that a stale save is refused. Issuing it
 * freezes the report: its tables, charts and commentary are kept as issued, with who issued
 * it and when, as an edition; issuing the same report again makes the next edition, and the
 * earlier ones stay as they were.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table report_commentaries (
      organisation_id uuid not null references organisations(id),
      report_key text not null,
      commentary jsonb not null,
      version integer not null default 0,
      updated_by uuid references users(id),
      updated_at timestamptz not null,
      primary key (organisation_id, report_key)
    );
    create table issued_reports (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      report_key text not null,
      edition integer not null check (edition >= 1),
      period_label text not null,
      period_from date not null,
      period_to date not null,
      service_id uuid references services(id),
      team_id uuid references teams(id),
      tool_id uuid references audit_tools(id),
      content jsonb not null,
      issued_by uuid not null references users(id),
      issued_by_name text not null,
      issued_at timestamptz not null,
      unique (organisation_id, report_key, edition)
    );
    create index issued_reports_by_date on issued_reports (organisation_id, issued_at desc);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table if exists issued_reports;
    drop table if exists report_commentaries;
  `.execute(db);
}
