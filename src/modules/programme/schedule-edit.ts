import { z } from 'zod';
import { inTransaction, type Db } from '../../db/index.ts';
import type { CaseSelection, LegalStatus, ProgrammeActivity, ProgrammePer, Role } from '../../db/types.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { ROLE_LABELS } from '../../platform/access.ts';
import type { FieldError } from '../../platform/errors.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { blankToUndefined, parseDateText } from '../audits/tracker.ts';
import { ukDay } from '../reports/period.ts';
import { DEFAULT_SAMPLING_RULES, samplingRulesSchema, scheduleRows, type SamplingRules, type ScheduleRow, type ScheduleVersion } from './schedule.ts';

/**
 * Editing the schedule of expectations. The QA lead edits the whole table at once and saves it
 * as a new version applying from a date; earlier versions stay as they were, so a report of an
 * earlier period still reads the schedule then in force.
 */

export const ACTIVITY_LABELS: Record<ProgrammeActivity, string> = {
  case_audit: 'Case file audit',
  observation: 'Observation of practice',
  thematic_audit: 'Thematic audit',
  supervision_audit: 'Supervision file audit',
  peer_audit: 'Peer audit',
  visit: 'Visit or deep dive',
  other: 'Other',
};
export const ACTIVITIES = Object.keys(ACTIVITY_LABELS) as ProgrammeActivity[];

export const PER_LABELS: Record<ProgrammePer, string> = {
  auditor: 'per auditor',
  team: 'per team',
  service: 'per service',
  open_cases_percent: 'per cent of open cases',
};
export const PERS = Object.keys(PER_LABELS) as ProgrammePer[];
export const PERIOD_MONTHS = [1, 2, 3, 4, 6, 12] as const;
export const PERIOD_LABELS: Record<number, string> = { 1: 'every month', 2: 'every 2 months', 3: 'every 3 months (quarter)', 4: 'every 4 months', 6: 'every 6 months', 12: 'every year' };

export const SELECTION_LABELS: Record<CaseSelection, string> = {
  random: 'At random by the QA coordinator (a sampling round)',
  auditor: 'By the auditor (the manager)',
  other: 'Another way (say how)',
};
export const SELECTIONS = Object.keys(SELECTION_LABELS) as CaseSelection[];

export const AUDITOR_FROM_LABELS: Record<SamplingRules['auditorFrom'], string> = {
  own_team: 'The child’s own team (Bristol)',
  outside_service: 'Outside the child’s service (Lambeth)',
  any: 'Anyone with the auditor role',
};

export const LEGAL_STATUS_LABELS: Record<LegalStatus, string> = {
  early_help: 'Early help',
  cin: 'Child in need',
  cp: 'Child protection',
  plo: 'PLO',
  child_in_care: 'Child in care',
  care_leaver: 'Care leaver',
};

/** Roles a schedule row may name as auditor or moderator. */
export const SCHEDULE_ROLES: Role[] = ['auditor', 'moderator', 'qa_coordinator', 'qa_lead', 'senior_leader'];

/** One row of the edit form as the page sends it; every value a string (or a list of them). */
export type RowForm = Record<string, unknown>;

const yes = (value: unknown) => value === 'yes' || value === 'true' || value === true;
const list = (value: unknown) => (value === undefined || value === null || value === '' ? [] : Array.isArray(value) ? value : [value]);

function wholeNumber(label: string, min: number, max: number) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? value.trim() : value),
    z
      .string({ error: `Enter ${label}` })
      .min(1, `Enter ${label}`)
      .regex(/^\d+$/, `${label[0]!.toUpperCase()}${label.slice(1)} must be a whole number, like ${min}`)
      .transform(Number)
      .pipe(z.number().min(min, `${label[0]!.toUpperCase()}${label.slice(1)} must be ${min} or more`).max(max, `${label[0]!.toUpperCase()}${label.slice(1)} must be ${max} or fewer`)),
  );
}

const text = (label: string, max: number) => z.preprocess((value) => (typeof value === 'string' ? value.trim() : (value ?? '')), z.string().max(max, `${label} must be ${max} characters or fewer`));

/** One row of the form, validated; `remove` rows are dropped before this. */
const rowSchema = z
  .object({
    service: z.preprocess(blankToUndefined, z.string().uuid('Choose a service from the list').optional()),
    activity: z.enum(ACTIVITIES as [ProgrammeActivity, ...ProgrammeActivity[]], { error: 'Choose an activity from the list' }),
    activityLabel: text('The activity’s name', 200).pipe(z.string().min(1, 'Enter the activity as your framework names it, like Case file')),
    tool: z.preprocess(blankToUndefined, z.string().uuid('Choose an audit tool from the list').optional()),
    formLabel: text('The form', 200),
    quantity: wholeNumber('how many', 1, 1000),
    per: z.enum(PERS as [ProgrammePer, ...ProgrammePer[]], { error: 'Choose per auditor, per team, per service or per cent of open cases' }),
    periodMonths: z.preprocess((value) => Number(value), z.union(PERIOD_MONTHS.map((n) => z.literal(n)) as unknown as [z.ZodLiteral<1>, z.ZodLiteral<2>], { error: 'Choose how often from the list' })),
    auditorRoles: z.preprocess(list, z.array(z.enum(SCHEDULE_ROLES as [Role, ...Role[]], { error: 'Choose auditor roles from the list' })).min(1, 'Choose at least one role that audits')),
    auditorLabel: text('Who audits', 200),
    moderatorRole: z.preprocess(blankToUndefined, z.enum(SCHEDULE_ROLES as [Role, ...Role[]], { error: 'Choose a moderator role from the list' }).optional()),
    moderationLabel: text('Who moderates', 200),
    selectedBy: z.enum(SELECTIONS as [CaseSelection, ...CaseSelection[]], { error: 'Choose who selects the case' }),
    selectionLabel: text('Who selects the case', 200),
    openWithinWeeks: wholeNumber('open in the last weeks', 1, 104),
    excludeAuditedWithinMonths: wholeNumber('months since a last audit', 0, 60),
    excludeOpenAudit: z.preprocess(yes, z.boolean()),
    varyCaseHolders: z.preprocess(yes, z.boolean()),
    stratifyLegalStatus: z.preprocess(yes, z.boolean()),
    legalStatuses: z.preprocess(list, z.array(z.enum(Object.keys(LEGAL_STATUS_LABELS) as [LegalStatus, ...LegalStatus[]], { error: 'Choose legal statuses from the list' }))),
    auditorFrom: z.enum(Object.keys(AUDITOR_FROM_LABELS) as [SamplingRules['auditorFrom'], ...SamplingRules['auditorFrom'][]], { error: 'Choose where the auditor comes from' }),
  })
  .superRefine((row, context) => {
    if (row.per === 'open_cases_percent' && row.quantity > 100) context.addIssue({ code: 'custom', path: ['quantity'], message: 'A percentage of open cases must be 100 or less' });
    if (row.activity === 'case_audit' && row.selectedBy === 'other' && !row.selectionLabel) context.addIssue({ code: 'custom', path: ['selectionLabel'], message: 'Say who selects the case' });
  });

type ParsedRow = z.infer<typeof rowSchema>;

/** A schedule row as the edit form shows it (all text). */
export function rowToForm(row: ScheduleRow): RowForm {
  return {
    service: row.serviceId ?? '',
    activity: row.activity,
    activityLabel: row.activityLabel,
    tool: row.toolId ?? '',
    formLabel: row.formLabel,
    quantity: String(row.quantity),
    per: row.per,
    periodMonths: String(row.periodMonths),
    auditorRoles: row.auditorRoles,
    auditorLabel: row.auditorLabel,
    moderatorRole: row.moderatorRole ?? '',
    moderationLabel: row.moderationLabel,
    selectedBy: row.selectedBy,
    selectionLabel: row.selectionLabel,
    openWithinWeeks: String(row.sampling.openWithinWeeks),
    excludeAuditedWithinMonths: String(row.sampling.excludeAuditedWithinMonths),
    excludeOpenAudit: row.sampling.excludeOpenAudit ? 'yes' : '',
    varyCaseHolders: row.sampling.varyCaseHolders ? 'yes' : '',
    stratifyLegalStatus: row.sampling.stratifyLegalStatus ? 'yes' : '',
    legalStatuses: row.sampling.legalStatuses,
    auditorFrom: row.sampling.auditorFrom,
  };
}

/** A blank row: a case file audit by each manager every two months, with the framework's sampling defaults. */
export function blankRowForm(): RowForm {
  return {
    service: '',
    activity: 'case_audit',
    activityLabel: 'Case file',
    tool: '',
    formLabel: '',
    quantity: '1',
    per: 'auditor',
    periodMonths: '2',
    auditorRoles: ['auditor'],
    auditorLabel: 'Manager',
    moderatorRole: 'moderator',
    moderationLabel: 'Service Manager',
    selectedBy: 'random',
    selectionLabel: '',
    openWithinWeeks: String(DEFAULT_SAMPLING_RULES.openWithinWeeks),
    excludeAuditedWithinMonths: String(DEFAULT_SAMPLING_RULES.excludeAuditedWithinMonths),
    excludeOpenAudit: 'yes',
    varyCaseHolders: 'yes',
    stratifyLegalStatus: 'yes',
    legalStatuses: [],
    auditorFrom: DEFAULT_SAMPLING_RULES.auditorFrom,
  };
}

/** The rows the form sent, in order, without those ticked for removal. */
export function formRows(body: Record<string, unknown>): RowForm[] {
  // A page's form arrives flat ('rows[2][quantity]': '1'); JSON may nest it (rows: [{ quantity }]).
  const byIndex = new Map<number, RowForm>();
  for (const [key, value] of Object.entries(body)) {
    const match = /^rows\[(\d{1,3})\]\[([A-Za-z]+)\]$/.exec(key);
    if (!match) continue;
    const index = Number(match[1]);
    byIndex.set(index, { ...(byIndex.get(index) ?? {}), [match[2]!]: value });
  }
  const raw = body.rows;
  const nested = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.keys(raw).sort((a, b) => Number(a) - Number(b)).map((key) => (raw as Record<string, unknown>)[key]) : [];
  const rows = byIndex.size ? [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, row]) => row) : nested;
  return rows.filter((row): row is RowForm => !!row && typeof row === 'object' && !yes((row as RowForm).remove)).slice(0, 200);
}

export type ScheduleOptions = { services: { id: string; name: string }[]; tools: { id: string; name: string }[] };

export async function scheduleOptions(db: Db, organisationId: string): Promise<ScheduleOptions> {
  const services = await db.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', organisationId).orderBy('name').execute();
  const tools = await db.selectFrom('audit_tools').select(['id', 'name']).where('organisation_id', '=', organisationId).orderBy('name').execute();
  return { services, tools };
}

/** Every version of the organisation's schedule, newest first, with its rows. */
export async function scheduleVersions(db: Db, organisationId: string): Promise<(ScheduleVersion & { createdAt: Date; createdBy: string | null })[]> {
  const versions = await db
    .selectFrom('programme_schedule_versions')
    .leftJoin('users', 'users.id', 'programme_schedule_versions.created_by')
    .select(['programme_schedule_versions.id', 'applies_from', 'note', 'programme_schedule_versions.version', 'programme_schedule_versions.created_at', 'users.display_name as created_by'])
    .where('programme_schedule_versions.organisation_id', '=', organisationId)
    .orderBy('applies_from', 'desc')
    .execute();
  const result = [];
  for (const version of versions) {
    result.push({ id: version.id, appliesFrom: version.applies_from, note: version.note, version: version.version, createdAt: version.created_at, createdBy: version.created_by, rows: await scheduleRows(db, version.id) });
  }
  return result;
}

export const STALE_SCHEDULE = 'Someone saved a new version of the schedule after you opened this page. Your rows are kept below: check them against the version now in force, then save again.';

export type SaveOutcome = { ok: true; versionId: string; appliesFrom: IsoDate } | { ok: false; status: number; errors: FieldError[] };

/**
 * Saves the form's rows as a new version applying from its date. Refused, with every error
 * named by field and row, when a row is wrong, when the date is not after the latest version's,
 * or when someone saved a version since the form was opened (`basedOn`). All or nothing.
 */
export async function saveScheduleVersion(db: Db, actor: Actor, body: Record<string, unknown>, options: ScheduleOptions): Promise<SaveOutcome> {
  const organisationId = actor.principal!.organisationId;
  const errors: FieldError[] = [];
  const appliesText = typeof body.appliesFrom === 'string' ? body.appliesFrom.trim() : '';
  const appliesFrom = appliesText ? (parseDateText(appliesText) as IsoDate | null) : null;
  if (!appliesFrom) errors.push({ field: 'appliesFrom', message: appliesText ? 'Applies from must be a real date, like 1/4/2027' : 'Enter the date the new version applies from' });
  const note = typeof body.note === 'string' ? body.note.trim() : '';
  if (note.length > 2000) errors.push({ field: 'note', message: 'What changed must be 2,000 characters or fewer' });
  const rows = formRows(body);
  if (!rows.length) errors.push({ field: 'rows', message: 'Add at least one row to the schedule' });
  const parsed: ParsedRow[] = [];
  rows.forEach((row, index) => {
    const result = rowSchema.safeParse(row);
    if (!result.success) {
      const seen = new Set<string>();
      for (const issue of result.error.issues) {
        const key = String(issue.path[0] ?? 'activity');
        if (seen.has(key)) continue;
        seen.add(key);
        errors.push({ field: `rows.${index}.${key}`, message: `Row ${index + 1}: ${issue.message}`, row: index + 1 });
      }
      return;
    }
    if (result.data.service && !options.services.some((service) => service.id === result.data.service)) errors.push({ field: `rows.${index}.service`, message: `Row ${index + 1}: Choose a service from the list`, row: index + 1 });
    if (result.data.tool && !options.tools.some((tool) => tool.id === result.data.tool)) errors.push({ field: `rows.${index}.tool`, message: `Row ${index + 1}: Choose an audit tool from the list`, row: index + 1 });
    parsed.push(result.data);
  });
  if (errors.length) return { ok: false, status: 400, errors };

  return inTransaction(db, async (trx) => {
    // One save at a time per organisation: the organisation's row is the lock.
    await trx.selectFrom('organisations').select('id').where('id', '=', organisationId).forUpdate().executeTakeFirst();
    const latest = await trx
      .selectFrom('programme_schedule_versions')
      .select(['id', 'applies_from'])
      .where('organisation_id', '=', organisationId)
      .orderBy('applies_from', 'desc')
      .limit(1)
      .executeTakeFirst();
    const basedOn = typeof body.basedOn === 'string' ? body.basedOn : '';
    if ((latest?.id ?? '') !== basedOn) return { ok: false as const, status: 409, errors: [{ field: 'appliesFrom', message: STALE_SCHEDULE }] };
    if (latest && appliesFrom! <= latest.applies_from) {
      return { ok: false as const, status: 400, errors: [{ field: 'appliesFrom', message: `Applies from must be after ${ukDay(latest.applies_from as IsoDate)}, when the version in force began` }] };
    }
    const version = await trx
      .insertInto('programme_schedule_versions')
      .values({ organisation_id: organisationId, applies_from: appliesFrom!, note, created_by: actor.principal!.userId })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('programme_schedule_rows')
      .values(
        parsed.map((row, position) => ({
          organisation_id: organisationId,
          schedule_version_id: version.id,
          position,
          service_id: row.service ?? null,
          activity: row.activity,
          activity_label: row.activityLabel,
          tool_id: row.activity === 'case_audit' ? (row.tool ?? null) : null,
          form_label: row.formLabel,
          quantity: row.quantity,
          per: row.per,
          period_months: row.periodMonths,
          auditor_roles: JSON.stringify(row.auditorRoles),
          auditor_label: row.auditorLabel,
          moderator_role: row.moderatorRole ?? null,
          moderation_label: row.moderationLabel,
          selected_by: row.selectedBy,
          selection_label: row.selectionLabel,
          sampling: JSON.stringify(
            samplingRulesSchema.parse({
              openWithinWeeks: row.openWithinWeeks,
              excludeAuditedWithinMonths: row.excludeAuditedWithinMonths,
              excludeOpenAudit: row.excludeOpenAudit,
              varyCaseHolders: row.varyCaseHolders,
              stratifyLegalStatus: row.stratifyLegalStatus,
              legalStatuses: row.legalStatuses,
              auditorFrom: row.auditorFrom,
            }),
          ),
        })),
      )
      .execute();
    await logActivity(trx, actor, {
      action: 'create',
      recordType: 'programme_schedule',
      recordId: version.id,
      summary: `schedule of expectations: a new version of ${parsed.length} ${parsed.length === 1 ? 'row' : 'rows'} applying from ${appliesFrom}`,
    });
    return { ok: true as const, versionId: version.id, appliesFrom: appliesFrom! };
  });
}

/** A row in words: "1 per auditor every 2 months". */
export function describeFrequency(row: Pick<ScheduleRow, 'quantity' | 'per' | 'periodMonths'>): string {
  const how = PERIOD_LABELS[row.periodMonths] ?? `every ${row.periodMonths} months`;
  if (row.per === 'open_cases_percent') return `${row.quantity}% of open cases ${how}`;
  return `${row.quantity} ${PER_LABELS[row.per]} ${how}`;
}

export const roleLabel = (role: Role | null) => (role ? ROLE_LABELS[role] : 'Not required');
