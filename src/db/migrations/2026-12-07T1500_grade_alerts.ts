import { sql, type Kysely } from 'kysely';

/**
 * Alerts follow the audit tool: a tool may alert on Requires improvement as well as on
 * Inadequate (Bolton: "requires urgent review from the Team Manager and Head of Service").
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audit_alerts drop constraint audit_alerts_kind_check;
    alter table audit_alerts add constraint audit_alerts_kind_check
      check (kind in ('inadequate_submitted', 'inadequate_moderated', 'requires_improvement_submitted', 'requires_improvement_moderated'));
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    delete from audit_alerts where kind in ('requires_improvement_submitted', 'requires_improvement_moderated');
    alter table audit_alerts drop constraint audit_alerts_kind_check;
    alter table audit_alerts add constraint audit_alerts_kind_check check (kind in ('inadequate_submitted', 'inadequate_moderated'));
  `.execute(db);
}
