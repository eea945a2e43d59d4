import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../../db/index.ts';
import { onUkDays } from '../../db/values.ts';
import { unitsAlone, type DataScope } from '../../platform/access.ts';
import { auditInScope } from '../audits/queries.ts';
import { DEFAULT_TIMESCALES } from '../audits/lifecycle.ts';

/**
 * Telford verifies each action 3 months after its due date. A council's own timescale
 * (organisation_timescales.action_verification_months) wins; this is the default when it has
 * none, and the same default the audit lifecycle uses.
 */
export const DEFAULT_VERIFICATION_MONTHS = DEFAULT_TIMESCALES.actionVerificationMonths;

/** The months after the due date at which a done action is checked, per council. */
const VERIFICATION_MONTHS = sql<number>`coalesce(timescales.action_verification_months, ${sql.lit(DEFAULT_VERIFICATION_MONTHS)})`;

/** The date a done action should be verified by: its due date plus the council's months. */
export const VERIFY_BY = sql<string | null>`(actions.due_on + make_interval(months => ${VERIFICATION_MONTHS}))::date`;

/**
 * Asked of the dates, never stored: an open action is overdue once its due date has passed;
 * a done action is due for verification once its verify-by date has come.
 */
export const overdueOn = (today: string) => sql<boolean>`(actions.status = 'open' and actions.due_on < ${today}::date)`;
export const verificationDueOn = (today: string) => sql<boolean>`(actions.status = 'done' and ${VERIFY_BY} <= ${today}::date)`;

export const ACTION_FILTER_STATUSES = ['open', 'overdue', 'done', 'verification_due', 'verified'] as const;
export type ActionFilterStatus = (typeof ACTION_FILTER_STATUSES)[number];

export type ActionCriteria = {
  status?: ActionFilterStatus | undefined;
  team?: string | undefined;
  owner?: string | undefined;
  dueFrom?: string | undefined;
  dueTo?: string | undefined;
  /** From a report's figure: the audit's service and tool, and UK days the action was agreed, done or verified. */
  service?: string | undefined;
  tool?: string | undefined;
  createdFrom?: string | undefined;
  createdTo?: string | undefined;
  doneFrom?: string | undefined;
  doneTo?: string | undefined;
  verifiedFrom?: string | undefined;
  verifiedTo?: string | undefined;
  /** Done (or verified) on or before its due date: yes, or no (not done, or done late). */
  doneOnTime?: 'yes' | 'no' | undefined;
  /** From a report's figure: only the actions of the person's own teams' and services' audits (access.ts `unitsAlone`). */
  ownUnits?: 'yes' | undefined;
};

/** Done on or before the due date, by the UK day it was marked done. */
export const DONE_ON_TIME = sql<boolean>`(actions.done_at is not null and (actions.done_at at time zone 'Europe/London')::date <= actions.due_on)`;


/**
 * The condition that an action is within reach: its audit is one the scope reaches (as in the
 * tracker), or the person owns the action.
 */
function actionInScope(scope: DataScope): Expression<SqlBool> {
  const inOrganisation = sql<SqlBool>`actions.organisation_id = ${scope.organisationId}`;
  const owned = scope.kind === 'limited' && scope.staffId ? sql<SqlBool>`actions.owner_id = ${scope.staffId}` : sql<SqlBool>`false`;
  return sql<SqlBool>`(${inOrganisation} and (${auditInScope(scope)} or ${owned}))`;
}

function actionsWithDetails(db: Db) {
  return db
    .selectFrom('actions')
    .innerJoin('audits', 'audits.id', 'actions.audit_id')
    .innerJoin('children', 'children.id', 'actions.child_id')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .leftJoin('staff as owners', 'owners.id', 'actions.owner_id')
    .leftJoin('teams', 'teams.id', 'audits.team_id')
    .leftJoin('users as done_users', 'done_users.id', 'actions.done_by')
    .leftJoin('users as verified_users', 'verified_users.id', 'actions.verified_by')
    .leftJoin('organisation_timescales as timescales', 'timescales.organisation_id', 'actions.organisation_id');
}

function selectActionColumns(query: ReturnType<typeof actionsWithDetails>, today: string) {
  return query.select([
    'actions.id',
    'actions.audit_id',
    'actions.child_id',
    'actions.text',
    'actions.owner_id',
    'actions.due_on',
    'actions.status',
    'actions.done_at',
    'actions.evidence',
    'actions.done_by',
    'actions.verified_at',
    'actions.verified_by',
    'actions.verification_note',
    'actions.version',
    'actions.row_index',
    'actions.source',
    'audits.reference as audit_reference',
    'audits.team_id',
    'audits.case_holder_id',
    'owners.line_manager_id as owner_line_manager_id',
    'children.initials as child_initials',
    'children.external_id as child_external_id',
    'tools.name as tool_name',
    'owners.full_name as owner_name',
    'teams.name as team_name',
    'done_users.display_name as done_by_name',
    'verified_users.display_name as verified_by_name',
    VERIFY_BY.as('verify_by'),
    overdueOn(today).as('overdue'),
    verificationDueOn(today).as('verification_due'),
  ]);
}

export type ActionRow = Awaited<ReturnType<ReturnType<typeof selectActionColumns>['execute']>>[number];

function filtered(db: Db, scope: DataScope, criteria: ActionCriteria, today: string) {
  let query = actionsWithDetails(db).where(actionInScope(scope));
  switch (criteria.status) {
    case 'open':
    case 'done':
    case 'verified':
      query = query.where('actions.status', '=', criteria.status);
      break;
    case 'overdue':
      query = query.where(sql<SqlBool>`${overdueOn(today)}`);
      break;
    case 'verification_due':
      query = query.where(sql<SqlBool>`${verificationDueOn(today)}`);
      break;
  }
  if (criteria.team) query = query.where('audits.team_id', '=', criteria.team);
  if (criteria.owner) query = query.where('actions.owner_id', '=', criteria.owner);
  if (criteria.dueFrom) query = query.where('actions.due_on', '>=', criteria.dueFrom);
  if (criteria.dueTo) query = query.where('actions.due_on', '<=', criteria.dueTo);
  if (criteria.service) query = query.where('audits.service_id', '=', criteria.service);
  if (criteria.tool) query = query.where('editions.tool_id', '=', criteria.tool);
  for (const condition of [
    ...onUkDays(sql.ref('actions.created_at'), criteria.createdFrom, criteria.createdTo),
    ...onUkDays(sql.ref('actions.done_at'), criteria.doneFrom, criteria.doneTo),
    ...onUkDays(sql.ref('actions.verified_at'), criteria.verifiedFrom, criteria.verifiedTo),
  ]) {
    query = query.where(condition);
  }
  if (criteria.doneOnTime) query = query.where(criteria.doneOnTime === 'yes' ? DONE_ON_TIME : sql<SqlBool>`not ${DONE_ON_TIME}`);
  if (criteria.ownUnits) query = query.where(auditInScope(unitsAlone(scope)));
  return query;
}

/** Open actions first, then done, then verified; earliest due first; a fixed order so pages never overlap. */
const STATUS_RANK = sql`case actions.status when 'open' then 1 when 'done' then 2 else 3 end`;

export async function selectActions(db: Db, scope: DataScope, criteria: ActionCriteria, today: string, page: { offset: number; limit: number } | null) {
  let query = selectActionColumns(filtered(db, scope, criteria, today), today)
    .orderBy(STATUS_RANK)
    .orderBy(sql`actions.due_on asc nulls last`)
    .orderBy('audits.reference')
    .orderBy('actions.row_index')
    .orderBy('actions.id');
  if (page) query = query.offset(page.offset).limit(page.limit);
  return query.execute();
}

export async function countActions(db: Db, scope: DataScope, criteria: ActionCriteria, today: string): Promise<number> {
  const row = await filtered(db, scope, criteria, today).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return row.n;
}

/** The actions a staff member owns, open ones first. */
export async function selectOwnedActions(db: Db, organisationId: string, staffId: string, today: string) {
  return selectActionColumns(actionsWithDetails(db), today)
    .where('actions.organisation_id', '=', organisationId)
    .where('actions.owner_id', '=', staffId)
    .orderBy(STATUS_RANK)
    .orderBy(sql`actions.due_on asc nulls last`)
    .orderBy('audits.reference')
    .orderBy('actions.row_index')
    .execute();
}

export async function selectActionInScope(db: Db, scope: DataScope, actionId: string, today: string) {
  return selectActionColumns(actionsWithDetails(db), today).where(actionInScope(scope)).where('actions.id', '=', actionId).executeTakeFirst();
}

/**
 * The actions agreed in one audit's action plan, in the plan's order, then those the moderator
 * recommended at moderation (the case direction's are on its own panel).
 */
export async function selectPlanActionsOfAudit(db: Db, scope: DataScope, auditId: string, today: string) {
  return selectActionColumns(actionsWithDetails(db), today)
    .where(actionInScope(scope))
    .where('actions.audit_id', '=', auditId)
    .where('actions.source', 'in', ['action_plan', 'moderation'])
    .orderBy(sql`actions.source = 'moderation'`)
    .orderBy('actions.row_index')
    .orderBy('actions.id')
    .execute();
}

export type FilterOption = { value: string; text: string };

/** The teams and owners of the actions in reach: the filter's choices. */
export async function actionFilterOptions(db: Db, scope: DataScope) {
  const teams = await db
    .selectFrom('actions')
    .innerJoin('audits', 'audits.id', 'actions.audit_id')
    .innerJoin('teams', 'teams.id', 'audits.team_id')
    .select(['teams.id as value', 'teams.name as text'])
    .where(actionInScope(scope))
    .distinct()
    .orderBy('text')
    .execute();
  const owners = await db
    .selectFrom('actions')
    .innerJoin('audits', 'audits.id', 'actions.audit_id')
    .innerJoin('staff', 'staff.id', 'actions.owner_id')
    .select(['staff.id as value', 'staff.full_name as text'])
    .where(actionInScope(scope))
    .distinct()
    .orderBy('text')
    .execute();
  return { teams: teams as FilterOption[], owners: owners as FilterOption[] };
}
