import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import type { Selectable } from 'kysely';
import type { ProgrammeActivity, ProgrammePer, CaseSelection, ProgrammeScheduleRowsTable, Role } from '../../db/types.ts';
import type { IsoDate } from '../../platform/working-days.ts';

/**
 * The schedule of expectations (PROCESS.md §3; Bristol 001 Appendix 1): per service, what is
 * expected, how many, how often, by whom, moderated by whom, and how the case is chosen. A
 * change is a new version applying from a date, so a period is always measured against the
 * schedule in force then.
 */

/**
 * The sampling rules a schedule row applies when its cases are chosen at random. Each rule is
 * a named option with the framework's default; see the README's "Sampling rules".
 */
export const samplingRulesSchema = z.object({
  /** The child was open to the team at some point in the last N weeks (Bristol: 4). */
  openWithinWeeks: z.number().int().min(1).max(104).default(4),
  /** Legal statuses that may be chosen; empty means all. */
  legalStatuses: z.array(z.enum(['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'])).default([]),
  /** Leave out children with an audit in the last N months (0: none left out for that). */
  excludeAuditedWithinMonths: z.number().int().min(0).max(60).default(12),
  /** Leave out children with an audit not yet closed. */
  excludeOpenAudit: z.boolean().default(true),
  /** No case-holder twice in a round while another is eligible. */
  varyCaseHolders: z.boolean().default(true),
  /** Spread the choices over the legal statuses present (stratified). */
  stratifyLegalStatus: z.boolean().default(true),
  /** Where the auditor comes from: the child's team (Bristol), outside the child's service (Lambeth), or anyone. */
  auditorFrom: z.enum(['own_team', 'outside_service', 'any']).default('own_team'),
});

export type SamplingRules = z.infer<typeof samplingRulesSchema>;

export const DEFAULT_SAMPLING_RULES: SamplingRules = samplingRulesSchema.parse({});

export type ScheduleRow = {
  id: string;
  position: number;
  serviceId: string | null;
  activity: ProgrammeActivity;
  activityLabel: string;
  toolId: string | null;
  formLabel: string;
  quantity: number;
  per: ProgrammePer;
  periodMonths: number;
  auditorRoles: Role[];
  auditorLabel: string;
  moderatorRole: Role | null;
  moderationLabel: string;
  selectedBy: CaseSelection;
  selectionLabel: string;
  sampling: SamplingRules;
};

export type ScheduleVersion = { id: string; appliesFrom: IsoDate; note: string; version: number; rows: ScheduleRow[] };

/** Activities Assure carries out today; the others can be kept in the schedule but are not yet in Assure. */
export const ACTIVITIES_IN_ASSURE: readonly ProgrammeActivity[] = ['case_audit'];

/** The version of the organisation's schedule in force on a day, with its rows; null before the first. */
export async function scheduleInForce(db: Db, organisationId: string, on: IsoDate): Promise<ScheduleVersion | null> {
  const version = await db
    .selectFrom('programme_schedule_versions')
    .select(['id', 'applies_from', 'note', 'version'])
    .where('organisation_id', '=', organisationId)
    .where('applies_from', '<=', on)
    .orderBy('applies_from', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!version) return null;
  return { id: version.id, appliesFrom: version.applies_from, note: version.note, version: version.version, rows: await scheduleRows(db, version.id) };
}

export async function scheduleRows(db: Db, versionId: string): Promise<ScheduleRow[]> {
  const rows = await db.selectFrom('programme_schedule_rows').selectAll().where('schedule_version_id', '=', versionId).orderBy('position').execute();
  return rows.map(scheduleRowFrom);
}

export function scheduleRowFrom(row: Omit<Selectable<ProgrammeScheduleRowsTable>, 'created_at'>): ScheduleRow {
  return {
    id: row.id,
    position: row.position,
    serviceId: row.service_id,
    activity: row.activity,
    activityLabel: row.activity_label,
    toolId: row.tool_id,
    formLabel: row.form_label,
    quantity: row.quantity,
    per: row.per,
    periodMonths: row.period_months,
    auditorRoles: row.auditor_roles,
    auditorLabel: row.auditor_label,
    moderatorRole: row.moderator_role,
    moderationLabel: row.moderation_label,
    selectedBy: row.selected_by,
    selectionLabel: row.selection_label,
    sampling: samplingRulesSchema.parse(row.sampling ?? {}),
  };
}

