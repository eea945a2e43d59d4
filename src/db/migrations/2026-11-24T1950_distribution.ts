import { sql, type Kysely } from 'kysely';

/**
 * Distribution and practitioner feedback. Each person a moderated audit was sent to is a row
 * of audit_recipients: a member of staff, or someone named by e-mail (a CP chair, an IRO);
 * who sent it and when is recorded. A staff recipient may read the audit. The case holder's
 * answers to the tool's practitioner feedback questions, and the QA coordinator's closing
 * comments, are kept on the audit.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table audit_recipients (
      id uuid primary key default gen_random_uuid(),
      organisation_id uuid not null references organisations(id),
      audit_id uuid not null references audits(id),
      staff_id uuid references staff(id),
      email text,
      name text not null,
      role text not null check (role in ('team_manager', 'case_holder', 'cp_chair', 'iro', 'other')),
      sent_by uuid references users(id),
      sent_at timestamptz not null default now(),
      check (staff_id is not null or email is not null),
      unique (audit_id, staff_id)
    );
    create index audit_recipients_staff on audit_recipients (staff_id, audit_id) where staff_id is not null;
    create index audit_recipients_audit on audit_recipients (audit_id);
    alter table audits add column practitioner_feedback jsonb;
    alter table audits add column feedback_by uuid references users(id);
    alter table audits add column feedback_at timestamptz;
    alter table audits add column closing_comments text;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audits drop column if exists closing_comments;
    alter table audits drop column if exists feedback_at;
    alter table audits drop column if exists feedback_by;
    alter table audits drop column if exists practitioner_feedback;
    drop table if exists audit_recipients;
  `.execute(db);
}
