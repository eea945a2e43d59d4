import { sql, type Kysely } from 'kysely';

/**
 * Moderation: the moderator's development comments to the auditor, kept on the audit. The
 * moderator's grades are rows of audit_judgements at stage 'moderator', beside the auditor's.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audits add column moderator_comments text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table audits drop column if exists moderator_comments`.execute(db);
}
