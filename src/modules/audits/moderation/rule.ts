/**
 * Who moderates an audit. The rule is data, so a council can change it: by default a
 * consultant social worker's, practice lead's or team manager's audit goes to the service
 * manager of the audit's service, and a service manager's to the QA service manager. Where the
 * rule finds nobody, a moderator of that service moderates, else a QA lead. Nobody moderates
 * their own audit. An organisation's own rule is its `settings.moderationRule`.
 */
import { z } from 'zod';
import type { Db } from '../../../db/index.ts';
import type { Role } from '../../../db/types.ts';
import { type IsoDate } from '../../../platform/working-days.ts';

export const MODERATOR_KINDS = ['service_manager', 'qa_service_manager'] as const;
export type ModeratorKind = (typeof MODERATOR_KINDS)[number];

export const moderationRuleSchema = z.strictObject({
  /** Tried in order: the first whose words appear in the auditor's job title decides. */
  byAuditorJobTitle: z
    .array(z.strictObject({ jobTitleContains: z.array(z.string().trim().min(1)).min(1), moderator: z.enum(MODERATOR_KINDS) }))
    .min(1),
  /** Job-title words that make someone a service manager, and a QA service manager. */
  serviceManagerTitle: z.string().trim().min(1),
  qaServiceManagerTitle: z.string().trim().min(1),
});

export type ModerationRule = z.output<typeof moderationRuleSchema>;

export const DEFAULT_MODERATION_RULE: ModerationRule = {
  byAuditorJobTitle: [
    { jobTitleContains: ['Consultant Social Worker', 'Practice Lead', 'Team Manager'], moderator: 'service_manager' },
    { jobTitleContains: ['Service Manager'], moderator: 'qa_service_manager' },
  ],
  serviceManagerTitle: 'Service Manager',
  qaServiceManagerTitle: 'QA Service Manager',
};

/** A member of staff as the rule sees them: their service (through their team) and their users' roles. */
export type ModeratorCandidate = {
  id: string;
  jobTitle: string;
  serviceId: string | null;
  lineManagerId: string | null;
  /** Roles their user accounts hold, each with the service it is limited to (null: not limited to one). */
  grants: { role: Role; serviceId: string | null }[];
};

const titled = (jobTitle: string, words: string) => jobTitle.toLowerCase().includes(words.toLowerCase());

/**
 * The moderator for an audit by its auditor and service, or null when nobody fits. Pure: the
 * caller gives every current member of staff as a candidate.
 */
export function chooseModerator(rule: ModerationRule, auditorId: string, serviceId: string | null, staff: readonly ModeratorCandidate[]): string | null {
  const byId = new Map(staff.map((member) => [member.id, member]));
  const auditor = byId.get(auditorId);
  const others = staff.filter((member) => member.id !== auditorId);
  const step = auditor ? rule.byAuditorJobTitle.find((entry) => entry.jobTitleContains.some((words) => titled(auditor.jobTitle, words))) : undefined;
  const chosen =
    step?.moderator === 'service_manager'
      ? serviceManager(rule, auditor!, serviceId, others, byId)
      : step?.moderator === 'qa_service_manager'
        ? qaServiceManager(rule, others)
        : undefined;
  return (chosen ?? fallback(serviceId, others))?.id ?? null;
}

function isServiceManager(rule: ModerationRule, member: ModeratorCandidate): boolean {
  return titled(member.jobTitle, rule.serviceManagerTitle) && !titled(member.jobTitle, rule.qaServiceManagerTitle);
}

/** A service manager in the audit's service, else the first one up the auditor's line management. */
function serviceManager(rule: ModerationRule, auditor: ModeratorCandidate, serviceId: string | null, others: ModeratorCandidate[], byId: Map<string, ModeratorCandidate>) {
  const inService = serviceId ? others.find((member) => member.serviceId === serviceId && isServiceManager(rule, member)) : undefined;
  if (inService) return inService;
  const seen = new Set([auditor.id]);
  for (let manager = auditor.lineManagerId ? byId.get(auditor.lineManagerId) : undefined; manager && !seen.has(manager.id); manager = manager.lineManagerId ? byId.get(manager.lineManagerId) : undefined) {
    seen.add(manager.id);
    if (isServiceManager(rule, manager)) return manager;
  }
  return undefined;
}

/**
 * The service manager responsible for a case: one of its service, else the first one up the
 * given person's line management (the case holder's). Pure, like chooseModerator.
 */
export function chooseServiceManager(rule: ModerationRule, serviceId: string | null, personId: string | null, staff: readonly ModeratorCandidate[]): string | null {
  const byId = new Map(staff.map((member) => [member.id, member]));
  const person = (personId ? byId.get(personId) : undefined) ?? { id: '', jobTitle: '', serviceId, lineManagerId: null, grants: [] };
  return serviceManager(rule, person, serviceId, staff.filter((member) => member.id !== person.id), byId)?.id ?? null;
}

function qaServiceManager(rule: ModerationRule, others: ModeratorCandidate[]) {
  return others.find((member) => titled(member.jobTitle, rule.qaServiceManagerTitle)) ?? others.find((member) => member.grants.some((grant) => grant.role === 'qa_lead'));
}

/** A moderator of the audit's service (or of every service), else a QA lead. */
function fallback(serviceId: string | null, others: ModeratorCandidate[]) {
  const moderates = (member: ModeratorCandidate) => member.grants.some((grant) => grant.role === 'moderator' && (grant.serviceId === null || grant.serviceId === serviceId));
  return others.find(moderates) ?? others.find((member) => member.grants.some((grant) => grant.role === 'qa_lead'));
}

/** The organisation's own rule if its settings hold a valid one, else the default. */
export function ruleFromSettings(settings: unknown): ModerationRule {
  const own = settings && typeof settings === 'object' ? (settings as Record<string, unknown>).moderationRule : undefined;
  const parsed = moderationRuleSchema.safeParse(own);
  return parsed.success ? parsed.data : DEFAULT_MODERATION_RULE;
}

/** Staff of the organisation on `today` (not yet left) as candidates, in a stable order (by name). */
export async function candidates(db: Db, organisationId: string, today: IsoDate): Promise<ModeratorCandidate[]> {
  const staff = await db
    .selectFrom('staff')
    .leftJoin('teams', 'teams.id', 'staff.team_id')
    .select(['staff.id', 'staff.job_title', 'staff.line_manager_id', 'teams.service_id'])
    .where('staff.organisation_id', '=', organisationId)
    .where((eb) => eb.or([eb('staff.leaving_date', 'is', null), eb('staff.leaving_date', '>=', today)]))
    .orderBy('staff.full_name')
    .orderBy('staff.id')
    .execute();
  const grants = await db
    .selectFrom('role_grants')
    .innerJoin('users', 'users.id', 'role_grants.user_id')
    .select(['users.staff_id', 'role_grants.role', 'role_grants.scope', 'role_grants.service_id'])
    .where('role_grants.organisation_id', '=', organisationId)
    .where('users.staff_id', 'is not', null)
    .where('users.disabled_at', 'is', null)
    .execute();
  return staff.map((member) => ({
    id: member.id,
    jobTitle: member.job_title,
    serviceId: member.service_id,
    lineManagerId: member.line_manager_id,
    grants: grants
      .filter((grant) => grant.staff_id === member.id)
      .map((grant) => ({ role: grant.role, serviceId: grant.scope === 'service' ? (grant.service_id ?? member.service_id) : grant.scope === 'organisation' ? null : member.service_id })),
  }));
}

/**
 * Sets the audit's moderator by the organisation's rule, unless it has one already (a
 * returned audit goes back to the moderator who returned it). Called in submission's transaction.
 */
export async function assignModerator(db: Db, organisationId: string, auditId: string, today: IsoDate): Promise<string | null> {
  const audit = await db
    .selectFrom('audits')
    .select(['auditor_id', 'service_id', 'moderator_id'])
    .where('id', '=', auditId)
    .where('organisation_id', '=', organisationId)
    .executeTakeFirstOrThrow();
  if (audit.moderator_id) return audit.moderator_id;
  const organisation = await db.selectFrom('organisations').select('settings').where('id', '=', organisationId).executeTakeFirstOrThrow();
  const moderatorId = chooseModerator(ruleFromSettings(organisation.settings), audit.auditor_id, audit.service_id, await candidates(db, organisationId, today));
  if (moderatorId) await db.updateTable('audits').set({ moderator_id: moderatorId }).where('id', '=', auditId).execute();
  return moderatorId;
}
