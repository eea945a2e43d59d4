import type { Db } from '../db/index.ts';
import type { CaseSelection, ProgrammeActivity, ProgrammePer, Role } from '../db/types.ts';
import type { IsoDate } from '../platform/working-days.ts';
import { financialQuarterOf } from '../modules/reports/period.ts';
import { DEFAULT_SAMPLING_RULES } from '../modules/programme/schedule.ts';
import * as queries from '../modules/org/queries.ts';

/**
 * The demo council's audit programme: Bristol's Schedule of Expectations (001 Appendix 1) as the
 * schedule, mapped to Avonford's services by name where they match; the moderation panel's three
 * dates of the year; and, since the schedule expects each manager to audit, a sign-in with the
 * auditor role for every team manager who has none (the demo password).
 */

type DemoRow = {
  /** Avonford's service, by name; null: every service. */
  service: string | null;
  activity: ProgrammeActivity;
  activityLabel: string;
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
};

const MANAGER = { auditorRoles: ['auditor'] as Role[], auditorLabel: 'Manager' };
const caseFile = (service: string, selection: 'QA SW' | 'Manager', formLabel = 'Case file audit', moderationLabel = 'Service Manager'): DemoRow => ({
  service,
  activity: 'case_audit',
  activityLabel: 'Case file',
  formLabel,
  quantity: 1,
  per: 'auditor',
  periodMonths: 2,
  ...MANAGER,
  moderatorRole: 'moderator',
  moderationLabel,
  selectedBy: selection === 'QA SW' ? 'random' : 'auditor',
  selectionLabel: selection,
});
const observation = (service: string, formLabel = 'Observation of practice'): DemoRow => ({
  service,
  activity: 'observation',
  activityLabel: 'Observation',
  formLabel,
  quantity: 1,
  per: 'auditor',
  periodMonths: 2,
  ...MANAGER,
  moderatorRole: null,
  moderationLabel: 'Not required',
  selectedBy: 'other',
  selectionLabel: 'Worker/ Manager',
});

/**
 * Bristol's Appendix 1, row by row, for the services Avonford has: Bristol's Area Unit is
 * Avonford's three Area Social Work services, DCSS its Disabled Children, FIF/SF its Families in
 * Focus. Bristol's PDT, Care Leavers, CP chairs and LADO have no Avonford service and are left out.
 */
export const BRISTOL_SCHEDULE: readonly DemoRow[] = [
  { service: null, activity: 'visit', activityLabel: 'SAV (CMT)', formLabel: 'Depends on methodology', quantity: 1, per: 'service', periodMonths: 4, auditorRoles: ['senior_leader', 'qa_lead'], auditorLabel: 'Director, Service manager, Principal Social Worker', moderatorRole: 'qa_lead', moderationLabel: 'QA Service Manager', selectedBy: 'other', selectionLabel: 'Appreciative Enquiry/ Performance data led' },
  { service: null, activity: 'visit', activityLabel: 'Deep Dive (CMT)', formLabel: 'Depends on methodology', quantity: 1, per: 'service', periodMonths: 4, auditorRoles: ['senior_leader', 'qa_lead'], auditorLabel: 'Director, Service manager, Principal Social Worker', moderatorRole: 'qa_lead', moderationLabel: 'QA Service Manager', selectedBy: 'other', selectionLabel: 'Appreciative Enquiry/ performance data led' },
  caseFile('First Response / MASH', 'Manager'),
  observation('First Response / MASH'),
  ...['Area Social Work North', 'Area Social Work South', 'Area Social Work East Central'].flatMap((service) => [caseFile(service, 'QA SW'), observation(service)]),
  caseFile('Through Care', 'QA SW'),
  observation('Through Care'),
  caseFile('Disabled Children', 'QA SW'),
  observation('Disabled Children'),
  caseFile('Fostering', 'Manager', 'Fostering form'),
  observation('Fostering'),
  { ...caseFile('IRO Service', 'Manager', 'CP chair and IRO audit form'), periodMonths: 1, activityLabel: 'Case file & Observation combined', selectionLabel: 'Worker/ Manager' },
  caseFile('Families in Focus', 'Manager', 'FIF Case File form', 'Area Early Help Manager'),
  { ...observation('Families in Focus', 'FIF Observation of Practice form'), selectionLabel: 'Manager' },
  { service: null, activity: 'supervision_audit', activityLabel: 'Supervision file', formLabel: 'Supervision file', quantity: 1, per: 'service', periodMonths: 6, auditorRoles: ['qa_lead'], auditorLabel: 'Panel', moderatorRole: null, moderationLabel: 'Not required', selectedBy: 'other', selectionLabel: 'Panel' },
  { service: null, activity: 'peer_audit', activityLabel: 'Peer audit/Observation of practice', formLabel: 'Case file and Observation of Practice', quantity: 1, per: 'auditor', periodMonths: 12, auditorRoles: ['auditor'], auditorLabel: 'BG12 and BG13', moderatorRole: 'moderator', moderationLabel: 'Tier 4 Manager', selectedBy: 'other', selectionLabel: 'Tier 4 Manager/worker' },
];

export async function seedDemoProgramme(trx: Db, organisationId: string, today: IsoDate, passwordHash: string) {
  // From the start of the financial year two years back, so every quarter the demo's audits span has a schedule.
  const appliesFrom = `${financialQuarterOf(today).year - 2}-04-01`;
  const services = new Map((await trx.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', organisationId).execute()).map((s) => [s.name, s.id]));
  const version = await trx
    .insertInto('programme_schedule_versions')
    .values({ organisation_id: organisationId, applies_from: appliesFrom, note: 'Bristol’s Schedule of Expectations (QA Framework v1.3, Appendix 1)', created_by: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('programme_schedule_rows')
    .values(
      BRISTOL_SCHEDULE.map((row, position) => ({
        organisation_id: organisationId,
        schedule_version_id: version.id,
        position,
        service_id: row.service ? (services.get(row.service) ?? null) : null,
        activity: row.activity,
        activity_label: row.activityLabel,
        tool_id: null,
        form_label: row.formLabel,
        quantity: row.quantity,
        per: row.per,
        period_months: row.periodMonths,
        auditor_roles: JSON.stringify(row.auditorRoles),
        auditor_label: row.auditorLabel,
        moderator_role: row.moderatorRole,
        moderation_label: row.moderationLabel,
        selected_by: row.selectedBy,
        selection_label: row.selectionLabel,
        sampling: JSON.stringify(DEFAULT_SAMPLING_RULES),
      })),
    )
    .execute();

  // The moderation panel: three a year (Bristol), in June, October and February of this financial year.
  const year = financialQuarterOf(today).year;
  await trx
    .insertInto('programme_calendar_entries')
    .values(
      [`${year}-06-17`, `${year}-10-14`, `${year + 1}-02-10`].map((day) => ({
        organisation_id: organisationId,
        kind: 'moderation_panel' as const,
        title: 'Moderation panel',
        starts_on: day,
        ends_on: day,
        note: 'Chaired by the QA Service Manager: samples completed audits for consistency',
        created_by: null,
      })),
    )
    .execute();

  // Every team manager audits (the schedule's "Manager"): those without a sign-in get one with the auditor role for their team.
  const managers = await trx
    .selectFrom('staff')
    .select(['staff.id', 'staff.full_name', 'staff.email', 'staff.team_id'])
    .where('staff.organisation_id', '=', organisationId)
    .where('staff.job_title', '=', 'Team Manager')
    .where('staff.leaving_date', 'is', null)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('users').select('users.id').whereRef('users.staff_id', '=', 'staff.id'))))
    .orderBy('staff.full_name')
    .execute();
  for (const manager of managers) {
    if (!manager.email) continue;
    const user = await queries.insertUser(trx, { organisationId, email: manager.email, displayName: manager.full_name, passwordHash, staffId: manager.id });
    await queries.insertRoleGrant(trx, { organisationId, userId: user.id, role: 'auditor', scope: 'team', teamId: manager.team_id });
  }
  return { scheduleRows: BRISTOL_SCHEDULE.length, managersWithSignIn: managers.length };
}
