import { sql, type Kysely } from 'kysely';

/**
 * Audit tools as versioned files, allocation and the audit form: a default tool per service,
 * who allocated an audit, and the auditor's work in progress (which sections are done).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audit_tools add column description text not null default '';
    alter table audit_tool_editions add column schema_version integer not null default 1;
    alter table audit_tool_editions add column status text not null default 'published' check (status in ('published','archived'));

    create table service_default_tools (
      organisation_id uuid not null references organisations(id),
      service_id uuid not null references services(id) on delete cascade,
      tool_id uuid not null references audit_tools(id),
      primary key (service_id)
    );

    alter table audits add column allocated_by uuid references users(id);
    alter table audits add column desktop_only boolean not null default false;
    alter table audits add column re_audit_of uuid references audits(id);
    -- Keys of the sections the auditor has marked complete ("Have you completed this section?").
    alter table audits add column completed_sections jsonb not null default '[]';
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audits drop column completed_sections, drop column re_audit_of, drop column desktop_only, drop column allocated_by;
    drop table service_default_tools;
    alter table audit_tool_editions drop column status, drop column schema_version;
    alter table audit_tools drop column description;
  `.execute(db);
}
