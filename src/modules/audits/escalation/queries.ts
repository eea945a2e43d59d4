/**
 * The SQL of Inadequate escalation: alerts, re-audits and case directions. Every query is
 * limited to one organisation and takes the handle (`db` or `trx`) it runs on.
 */
import { sql } from 'kysely';
import type { Db } from '../../../db/index.ts';
import type { ActionSource, ActionStatus, AuditAlertKind, AuditStatus, Grade } from '../../../db/types.ts';
import { isoDay, isoTimestamp } from '../../../db/values.ts';
import { auditsInScope } from '../queries.ts';
import type { AuditRecord } from '../audit.ts';
import { editionDefinition } from '../../tools/editions.ts';

export type EscalationAudit = {
  id: string;
  reference: number;
  organisationId: string;
  childId: string;
  childInitials: string;
  childExternalId: string;
  toolId: string;
  toolName: string;
  toolEditionId: string;
  definition: unknown;
  status: AuditStatus;
  auditorId: string;
  auditorName: string;
  caseHolderId: string | null;
  moderatorId: string | null;
  teamId: string | null;
  serviceId: string | null;
  auditorGrade: Grade | null;
  finalGrade: Grade | null;
  reAuditOf: string | null;
  desktopOnly: boolean;
  dueOn: string;
};

/** The same facts of an audit already found with findAudit (which read them with it): no second look at the audit. */
export async function escalationAuditOf(db: Db, organisationId: string, audit: AuditRecord): Promise<EscalationAudit> {
  return {
    id: audit.id,
    reference: audit.reference,
    organisationId,
    childId: audit.child.id,
    childInitials: audit.child.initials,
    childExternalId: audit.child.externalId,
    toolId: audit.tool.id,
    toolName: audit.tool.name,
    toolEditionId: audit.tool.editionId,
    definition: await editionDefinition(db, organisationId, audit.tool.editionId),
    status: audit.status,
    auditorId: audit.auditor.id,
    auditorName: audit.auditor.name,
    caseHolderId: audit.caseHolder?.id ?? null,
    moderatorId: audit.moderator?.id ?? null,
    teamId: audit.team?.id ?? null,
    serviceId: audit.service?.id ?? null,
    auditorGrade: audit.grades.auditor,
    finalGrade: audit.grades.final,
    reAuditOf: audit.reAuditOf,
    desktopOnly: audit.desktopOnly,
    dueOn: audit.dueOn,
  };
}

/** One audit with what escalation needs of it, or undefined. Not a check of who may see it. */
export async function selectEscalationAudit(db: Db, organisationId: string, auditId: string): Promise<EscalationAudit | undefined> {
  // The tracker's joins (child, tool, auditor) over the whole organisation: who may see it is the caller's question.
  const row = await auditsInScope(db, { kind: 'organisation', organisationId })
    .select([
      'audits.id',
      'audits.reference',
      'audits.organisation_id',
      'audits.child_id',
      'children.initials',
      'children.external_id',
      'tools.id as tool_id',
      'tools.name as tool_name',
      'audits.tool_edition_id',
      'audits.status',
      'audits.auditor_id',
      'auditors.full_name as auditor_name',
      'audits.case_holder_id',
      'audits.moderator_id',
      'audits.team_id',
      'audits.service_id',
      'audits.auditor_grade',
      'audits.final_grade',
      'audits.re_audit_of',
      'audits.desktop_only',
      'audits.due_on',
    ])
    .where('audits.id', '=', auditId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    reference: row.reference,
    organisationId: row.organisation_id,
    childId: row.child_id,
    childInitials: row.initials,
    childExternalId: row.external_id,
    toolId: row.tool_id,
    toolName: row.tool_name,
    toolEditionId: row.tool_edition_id,
    definition: await editionDefinition(db, row.organisation_id, row.tool_edition_id),
    status: row.status,
    auditorId: row.auditor_id,
    auditorName: row.auditor_name,
    caseHolderId: row.case_holder_id,
    moderatorId: row.moderator_id,
    teamId: row.team_id,
    serviceId: row.service_id,
    auditorGrade: row.auditor_grade,
    finalGrade: row.final_grade,
    reAuditOf: row.re_audit_of,
    desktopOnly: Boolean(row.desktop_only),
    dueOn: isoDay(row.due_on)!,
  };
}

export type StaffContact = { id: string; fullName: string; jobTitle: string; email: string | null };

/** Staff by id with the address to write to: their staff record's, else their user account's. */
export async function selectStaffContacts(db: Db, organisationId: string, staffIds: readonly string[]): Promise<StaffContact[]> {
  if (!staffIds.length) return [];
  const rows = await db
    .selectFrom('staff')
    .leftJoin('users', (join) => join.onRef('users.staff_id', '=', 'staff.id').on('users.disabled_at', 'is', null))
    .select(['staff.id', 'staff.full_name', 'staff.job_title', sql<string | null>`coalesce(staff.email, min(users.email))`.as('email')])
    .where('staff.organisation_id', '=', organisationId)
    .where('staff.id', 'in', [...staffIds])
    .groupBy('staff.id')
    .execute();
  return rows.map((row) => ({ id: row.id, fullName: row.full_name, jobTitle: row.job_title, email: row.email }));
}

/** Current staff of the organisation, by name: whom an action may be given to. */
export async function selectCurrentStaff(db: Db, organisationId: string, today: string) {
  return db
    .selectFrom('staff')
    .select(['id', 'full_name', 'job_title'])
    .where('organisation_id', '=', organisationId)
    .where((eb) => eb.or([eb('leaving_date', 'is', null), eb('leaving_date', '>=', sql<string>`${today}::date`)]))
    .orderBy('full_name')
    .orderBy('id')
    .execute();
}

/**
 * Adds alerts; one of a kind per person and audit. Returns the people newly alerted. The time
 * raised is the application's clock, not the database's: the day it was raised is when it is due.
 */
export async function insertAlerts(db: Db, organisationId: string, auditId: string, kind: AuditAlertKind, staffIds: readonly string[], at: Date): Promise<string[]> {
  if (!staffIds.length) return [];
  const rows = await db
    .insertInto('audit_alerts')
    .values(staffIds.map((staffId) => ({ organisation_id: organisationId, audit_id: auditId, staff_id: staffId, kind, created_at: at })))
    .onConflict((conflict) => conflict.columns(['audit_id', 'staff_id', 'kind']).doNothing())
    .returning('staff_id')
    .execute();
  return rows.map((row) => row.staff_id);
}

export type AlertRow = { id: string; staffId: string; staffName: string; kind: AuditAlertKind; createdAt: string; acknowledgedAt: string | null };

/** The alerts raised about one audit, oldest first. */
export async function selectAlertsOfAudit(db: Db, organisationId: string, auditId: string): Promise<AlertRow[]> {
  const rows = await db
    .selectFrom('audit_alerts as alerts')
    .innerJoin('staff', 'staff.id', 'alerts.staff_id')
    .select(['alerts.id', 'alerts.staff_id', 'staff.full_name', 'alerts.kind', 'alerts.created_at', 'alerts.acknowledged_at'])
    .where('alerts.organisation_id', '=', organisationId)
    .where('alerts.audit_id', '=', auditId)
    .orderBy('alerts.created_at')
    .orderBy('staff.full_name')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    staffId: row.staff_id,
    staffName: row.full_name,
    kind: row.kind,
    createdAt: isoTimestamp(row.created_at)!,
    acknowledgedAt: isoTimestamp(row.acknowledged_at),
  }));
}

/** A person's alerts not yet acknowledged, newest first, with the audit they are about. */
export async function selectOpenAlertsOf(db: Db, organisationId: string, staffId: string) {
  return db
    .selectFrom('audit_alerts as alerts')
    .innerJoin('audits', 'audits.id', 'alerts.audit_id')
    .innerJoin('children', 'children.id', 'audits.child_id')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .select([
      'alerts.id',
      'alerts.kind',
      'alerts.created_at',
      'audits.id as audit_id',
      'audits.reference',
      'children.initials',
      'children.external_id',
      'tools.name as tool_name',
    ])
    .where('alerts.organisation_id', '=', organisationId)
    .where('alerts.staff_id', '=', staffId)
    .where('alerts.acknowledged_at', 'is', null)
    .orderBy('alerts.created_at', 'desc')
    .orderBy('audits.reference', 'desc')
    .execute();
}

/** Marks a person's open alerts about an audit acknowledged; returns how many were open. */
export async function acknowledgeAlerts(db: Db, organisationId: string, auditId: string, staffId: string, at: Date): Promise<number> {
  const rows = await db
    .updateTable('audit_alerts')
    .set({ acknowledged_at: at })
    .where('organisation_id', '=', organisationId)
    .where('audit_id', '=', auditId)
    .where('staff_id', '=', staffId)
    .where('acknowledged_at', 'is', null)
    .returning('id')
    .execute();
  return rows.length;
}

/** How many audits each auditor has in hand (with them, not yet submitted). */
export async function selectAuditsInHand(db: Db, organisationId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('audits')
    .select(['auditor_id', sql<number>`count(*)::int`.as('n')])
    .where('organisation_id', '=', organisationId)
    .where('status', 'in', ['allocated', 'in_progress', 'returned'])
    .groupBy('auditor_id')
    .execute();
  return new Map(rows.map((row) => [row.auditor_id, Number(row.n)]));
}

export type ReAuditRow = {
  id: string;
  reference: number;
  status: AuditStatus;
  /** When the case holder's feedback on the re-audit was given; null before. */
  feedbackGivenAt: string | null;
  auditorName: string;
  allocatedOn: string;
  dueOn: string;
  auditorGrade: Grade | null;
  finalGrade: Grade | null;
};

/** The re-audit of an audit, if one was allocated. */
export async function selectReAuditOf(db: Db, organisationId: string, firstAuditId: string): Promise<ReAuditRow | undefined> {
  const row = await db
    .selectFrom('audits')
    .innerJoin('staff as auditors', 'auditors.id', 'audits.auditor_id')
    .select(['audits.id', 'audits.reference', 'audits.status', 'auditors.full_name', 'audits.allocated_on', 'audits.due_on', 'audits.auditor_grade', 'audits.final_grade', 'audits.feedback_at'])
    .where('audits.organisation_id', '=', organisationId)
    .where('audits.re_audit_of', '=', firstAuditId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    reference: row.reference,
    status: row.status,
    feedbackGivenAt: isoTimestamp(row.feedback_at),
    auditorName: row.full_name,
    allocatedOn: isoDay(row.allocated_on)!,
    dueOn: isoDay(row.due_on)!,
    auditorGrade: row.auditor_grade,
    finalGrade: row.final_grade,
  };
}

/** Marks a newly allocated audit as the desktop-only re-audit of another. */
export async function markReAudit(db: Db, reAuditId: string, firstAuditId: string): Promise<void> {
  await db.updateTable('audits').set({ re_audit_of: firstAuditId, desktop_only: true }).where('id', '=', reAuditId).execute();
}

export type ActionToReview = { id: string; source: ActionSource; text: string; ownerName: string | null; dueOn: string | null; status: ActionStatus };

/** An audit's actions, action plan first then case direction, in their order. */
export async function selectActionsOfAudit(db: Db, organisationId: string, auditId: string): Promise<ActionToReview[]> {
  const rows = await db
    .selectFrom('actions')
    .leftJoin('staff as owners', 'owners.id', 'actions.owner_id')
    .select(['actions.id', 'actions.source', 'actions.text', 'owners.full_name', 'actions.due_on', 'actions.status'])
    .where('actions.organisation_id', '=', organisationId)
    .where('actions.audit_id', '=', auditId)
    .orderBy('actions.source')
    .orderBy('actions.answer_key')
    .orderBy('actions.row_index')
    .execute();
  return rows.map((row) => ({ id: row.id, source: row.source, text: row.text, ownerName: row.full_name, dueOn: isoDay(row.due_on), status: row.status }));
}

export type CaseDirectionReview = { reviewedBy: string; reviewedAt: string; notes: string };

export type CaseDirectionRow = {
  id: string;
  direction: string;
  directedBy: string;
  directedOn: string;
  reviewDueOn: string;
  /** Null until the service manager has reviewed the direction's actions. */
  review: CaseDirectionReview | null;
};

export async function selectCaseDirection(db: Db, organisationId: string, auditId: string): Promise<CaseDirectionRow | undefined> {
  const row = await db
    .selectFrom('case_directions')
    .leftJoin('users', 'users.id', 'case_directions.directed_by')
    .leftJoin('users as reviewers', 'reviewers.id', 'case_directions.reviewed_by')
    .select([
      'case_directions.id',
      'case_directions.direction',
      'case_directions.directed_by_label',
      'users.display_name',
      'case_directions.directed_on',
      'case_directions.review_due_on',
      'case_directions.reviewed_at',
      'case_directions.review_notes',
      'reviewers.display_name as reviewer_name',
    ])
    .where('case_directions.organisation_id', '=', organisationId)
    .where('case_directions.audit_id', '=', auditId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    direction: row.direction,
    directedBy: row.display_name ?? row.directed_by_label,
    directedOn: isoDay(row.directed_on)!,
    reviewDueOn: isoDay(row.review_due_on)!,
    review: row.reviewed_at === null ? null : { reviewedBy: row.reviewer_name ?? 'Unknown', reviewedAt: isoTimestamp(row.reviewed_at)!, notes: row.review_notes ?? '' },
  };
}

/** Records the review of a case direction; false when it was already reviewed (it is written once). */
export async function updateCaseDirectionReview(db: Db, directionId: string, review: { reviewedBy: string; notes: string; at: Date }): Promise<boolean> {
  const row = await db
    .updateTable('case_directions')
    .set({ reviewed_at: review.at, reviewed_by: review.reviewedBy, review_notes: review.notes })
    .where('id', '=', directionId)
    .where('reviewed_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Records a case direction; null when the audit already has one (it is written once). */
export async function insertCaseDirection(
  db: Db,
  values: { organisationId: string; auditId: string; childId: string; direction: string; directedBy: string; directedByLabel: string; directedOn: string; reviewDueOn: string },
): Promise<string | null> {
  const row = await db
    .insertInto('case_directions')
    .values({
      organisation_id: values.organisationId,
      audit_id: values.auditId,
      child_id: values.childId,
      direction: values.direction,
      directed_by: values.directedBy,
      directed_by_label: values.directedByLabel,
      directed_on: values.directedOn,
      review_due_on: values.reviewDueOn,
    })
    .onConflict((conflict) => conflict.column('audit_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The row key of case-direction actions in `actions` (answer_key): they come from no tool answer. */
export const CASE_DIRECTION_KEY = 'case_direction';

export async function insertCaseDirectionActions(
  db: Db,
  audit: { organisationId: string; auditId: string; childId: string },
  actions: readonly { text: string; ownerId: string; dueOn: string }[],
): Promise<number> {
  if (!actions.length) return 0;
  const rows = await db
    .insertInto('actions')
    .values(
      actions.map((action, index) => ({
        organisation_id: audit.organisationId,
        audit_id: audit.auditId,
        child_id: audit.childId,
        source: 'case_direction' as const,
        answer_key: CASE_DIRECTION_KEY,
        row_index: index,
        text: action.text,
        owner_id: action.ownerId,
        due_on: action.dueOn,
      })),
    )
    .returning('id')
    .execute();
  return rows.length;
}

/** The organisation's settings (its moderation rule names its service managers). */
export async function selectOrganisationSettings(db: Db, organisationId: string): Promise<unknown> {
  const row = await db.selectFrom('organisations').select('settings').where('id', '=', organisationId).executeTakeFirstOrThrow();
  return row.settings;
}
