import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as platform from './migrations/2026-11-24T1400_platform.ts';
import * as outbox from './migrations/2026-11-24T1500_outbox.ts';
import * as auditWork from './migrations/2026-11-24T1600_audit_work.ts';
import * as toolLibrary from './migrations/2026-11-24T1700_tool_library.ts';
import * as indexes from './migrations/2026-11-24T1750_indexes.ts';
import * as bankHolidays from './migrations/2026-11-24T1910_bank_holidays.ts';
import * as lifecycle from './migrations/2026-11-24T1920_lifecycle.ts';
import * as moderation from './migrations/2026-11-24T1930_moderation.ts';
import * as actions from './migrations/2026-11-24T1940_actions.ts';
import * as distribution from './migrations/2026-11-24T1950_distribution.ts';
import * as escalation from './migrations/2026-11-24T1960_escalation.ts';
import * as reminders from './migrations/2026-11-24T2010_reminders.ts';
import * as caseDirectionReview from './migrations/2026-11-24T2020_case_direction_review.ts';
import * as openAuditsIndex from './migrations/2026-11-24T2030_open_audits_index.ts';
import * as importPreview from './migrations/2026-12-06T1100_import_preview.ts';
import * as signInHardening from './migrations/2026-12-06T1300_sign_in_hardening.ts';
import * as auditFormDrafts from './migrations/2026-12-07T1300_audit_form_drafts.ts';
import * as ssoMfaSessions from './migrations/2026-12-06T1400_sso_mfa_sessions.ts';
import * as activityByChild from './migrations/2026-12-07T1400_activity_by_child.ts';
import * as auditNotifications from './migrations/2026-12-07T1200_audit_notifications.ts';
import * as gradeAlerts from './migrations/2026-12-07T1500_grade_alerts.ts';
import * as importStagingSpeed from './migrations/2026-12-07T1000_import_staging_speed.ts';
import * as auditProgramme from './migrations/2026-12-08T0900_audit_programme.ts';
import * as samplingRounds from './migrations/2026-12-08T1100_sampling_rounds.ts';
import * as programmeCalendar from './migrations/2026-12-08T1200_programme_calendar.ts';
import * as issuedReports from './migrations/2026-12-08T1300_issued_reports.ts';
import * as themes from './migrations/2026-12-08T1400_themes.ts';
import * as secondLineActions from './migrations/2026-12-08T1500_second_line_actions.ts';
import * as samplingPoolSpeed from './migrations/2026-12-08T1600_sampling_pool_speed.ts';
import * as importChangeHistory from './migrations/2026-12-09T0900_import_change_history.ts';
import * as registerReferencesByStatement from './migrations/2026-12-09T1000_register_references_by_statement.ts';
import * as samplingDrawVersion from './migrations/2026-12-10T0900_sampling_draw_version.ts';
import * as stageEndsIndex from './migrations/2026-12-10T1000_stage_ends_index.ts';
import * as importAbsentColumns from './migrations/2026-12-11T0900_import_absent_columns.ts';

/**
 * Migrations are listed here, in order, rather than read from a folder at run time, so the
 * set the code knows is fixed at build time and a database ahead of the code is detected.
 */
export const MIGRATIONS: Record<string, Migration> = {
  '2026-11-24T1400_platform': platform,
  '2026-11-24T1500_outbox': outbox,
  '2026-11-24T1600_audit_work': auditWork,
  '2026-11-24T1700_tool_library': toolLibrary,
  '2026-11-24T1750_indexes': indexes,
  '2026-11-24T1910_bank_holidays': bankHolidays,
  '2026-11-24T1920_lifecycle': lifecycle,
  '2026-11-24T1930_moderation': moderation,
  '2026-11-24T1940_actions': actions,
  '2026-11-24T1950_distribution': distribution,
  '2026-11-24T1960_escalation': escalation,
  '2026-11-24T2010_reminders': reminders,
  '2026-11-24T2020_case_direction_review': caseDirectionReview,
  '2026-11-24T2030_open_audits_index': openAuditsIndex,
  '2026-12-06T1100_import_preview': importPreview,
  '2026-12-06T1300_sign_in_hardening': signInHardening,
  '2026-12-06T1400_sso_mfa_sessions': ssoMfaSessions,
  '2026-12-07T1000_import_staging_speed': importStagingSpeed,
  '2026-12-07T1200_audit_notifications': auditNotifications,
  '2026-12-07T1300_audit_form_drafts': auditFormDrafts,
  '2026-12-07T1400_activity_by_child': activityByChild,
  '2026-12-07T1500_grade_alerts': gradeAlerts,
  '2026-12-08T0900_audit_programme': auditProgramme,
  '2026-12-08T1100_sampling_rounds': samplingRounds,
  '2026-12-08T1200_programme_calendar': programmeCalendar,
  '2026-12-08T1300_issued_reports': issuedReports,
  '2026-12-08T1400_themes': themes,
  '2026-12-08T1500_second_line_actions': secondLineActions,
  '2026-12-08T1600_sampling_pool_speed': samplingPoolSpeed,
  '2026-12-09T0900_import_change_history': importChangeHistory,
  '2026-12-09T1000_register_references_by_statement': registerReferencesByStatement,
  '2026-12-10T0900_sampling_draw_version': samplingDrawVersion,
  '2026-12-10T1000_stage_ends_index': stageEndsIndex,
  '2026-12-11T0900_import_absent_columns': importAbsentColumns,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export class SchemaNewerThanCodeError extends Error {}

export async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  const exists = await sql<{ present: boolean }>`select to_regclass('kysely_migration') is not null as present`.execute(db);
  if (!exists.rows[0]?.present) return [];
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.rows.map((row) => row.name);
}

/** Applies pending migrations; refuses a database whose schema is newer than this code. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const unknown = (await appliedMigrations(db)).filter((name) => !(name in MIGRATIONS));
  if (unknown.length > 0) {
    throw new SchemaNewerThanCodeError(
      `the database schema is newer than this version of Assure (unknown migration ${unknown[0]}); upgrade Assure`,
    );
  }
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
