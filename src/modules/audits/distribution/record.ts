/**
 * What distribution keeps on an audit, read for its pages and its panel: the audit's version
 * and final grade, the practitioner's feedback and the closing comments, and the people it was
 * sent to. Also who may do what here, taken from the lifecycle's own table.
 */
import { sql } from 'kysely';
import { inTransaction, type Db } from '../../../db/index.ts';
import { logActivity } from '../../../platform/activity.ts';
import type { Grade, RecipientRole } from '../../../db/types.ts';
import { roles, type Principal } from '../../../platform/access.ts';
import { forbidden, notFound } from '../../../platform/errors.ts';
import { loadAuditDocument } from '../document/load.ts';
import type { DocumentInput } from '../document/model.ts';
import type { AuditRecord } from '../audit.ts';
import { mayMake, transitionFor } from '../lifecycle.ts';
import { isoTimestamp, jsonValue } from '../../../db/values.ts';

export const RECIPIENT_ROLE_LABELS: Record<RecipientRole, string> = {
  team_manager: 'Team manager',
  case_holder: 'Case holder',
  cp_chair: 'Child protection chair',
  iro: 'Independent reviewing officer (IRO)',
  other: 'Other professional',
};

export type DistributionState = {
  version: number;
  finalGrade: Grade | null;
  stageDueOn: string | null;
  feedback: Record<string, unknown> | null;
  feedbackBy: string | null;
  feedbackAt: string | null;
  closingComments: string | null;
};

/** The distribution state of an audit found with findAudit, which read it with the audit: no second look. */
export function distributionStateOf(audit: AuditRecord): DistributionState {
  return { version: audit.version, finalGrade: audit.grades.final, ...audit.distribution };
}

const isoDate = (value: Date | string | null) => (value === null ? null : typeof value === 'string' ? value.slice(0, 10) : value.toISOString().slice(0, 10));

export async function distributionState(db: Db, organisationId: string, auditId: string): Promise<DistributionState> {
  const row = await db
    .selectFrom('audits')
    .leftJoin('users', 'users.id', 'audits.feedback_by')
    .select([
      'audits.version',
      'audits.final_grade',
      'audits.stage_due_on',
      'audits.practitioner_feedback',
      'audits.feedback_at',
      'audits.closing_comments',
      'users.display_name as feedback_by_name',
    ])
    .where('audits.id', '=', auditId)
    .where('audits.organisation_id', '=', organisationId)
    .executeTakeFirstOrThrow();
  const feedback = jsonValue<Record<string, unknown> | null>(row.practitioner_feedback);
  return {
    version: row.version,
    finalGrade: row.final_grade,
    stageDueOn: isoDate(row.stage_due_on as Date | string | null),
    feedback: feedback ?? null,
    feedbackBy: row.feedback_by_name,
    feedbackAt: isoTimestamp(row.feedback_at),
    closingComments: row.closing_comments,
  };
}

export type Recipient = {
  id: string;
  name: string;
  role: RecipientRole;
  roleLabel: string;
  staffId: string | null;
  email: string | null;
  sentBy: string;
  sentAt: string;
  /** Cannot open Assure: the QA coordinator sends a copy securely and records it. */
  needsSecureCopy: boolean;
  secureCopy: { at: string; by: string } | null;
};

/** The people the audit was sent to, in the order they were listed. */
export async function listRecipients(db: Db, organisationId: string, auditId: string): Promise<Recipient[]> {
  const rows = await db
    .selectFrom('audit_recipients as r')
    .leftJoin('users', 'users.id', 'r.sent_by')
    .leftJoin('users as copiers', 'copiers.id', 'r.secure_copy_sent_by')
    .select(['r.id', 'r.name', 'r.role', 'r.staff_id', 'r.email', 'r.sent_at', 'users.display_name', 'r.needs_secure_copy', 'r.secure_copy_sent_at', 'copiers.display_name as copier_name'])
    .where('r.organisation_id', '=', organisationId)
    .where('r.audit_id', '=', auditId)
    .orderBy('r.sent_at')
    .orderBy(sql`case r.role when 'team_manager' then 0 when 'case_holder' then 1 else 2 end`)
    .orderBy('r.name')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    role: row.role,
    roleLabel: RECIPIENT_ROLE_LABELS[row.role],
    staffId: row.staff_id,
    email: row.email,
    sentBy: row.display_name ?? 'Unknown',
    sentAt: new Date(row.sent_at).toISOString(),
    needsSecureCopy: row.needs_secure_copy,
    secureCopy: row.secure_copy_sent_at ? { at: new Date(row.secure_copy_sent_at).toISOString(), by: row.copier_name ?? 'Unknown' } : null,
  }));
}

/**
 * Records that the QA coordinator sent a copy of the audit securely to a recipient who cannot
 * open Assure, once, with the activity logged. False when there is no such recipient waiting.
 */
export async function recordSecureCopy(
  db: Db,
  actor: { principal: Principal; ipAddress: string | null; at: Date },
  input: { auditId: string; childId: string; recipientId: string },
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const updated = await trx
      .updateTable('audit_recipients')
      .set({ secure_copy_sent_at: actor.at, secure_copy_sent_by: actor.principal.userId })
      .where('id', '=', input.recipientId)
      .where('audit_id', '=', input.auditId)
      .where('organisation_id', '=', actor.principal.organisationId)
      .where('needs_secure_copy', '=', true)
      .where('secure_copy_sent_at', 'is', null)
      .returning(['role'])
      .executeTakeFirst();
    if (!updated) return false;
    await logActivity(trx, actor, {
      action: 'update',
      recordType: 'audit_distribution',
      recordId: input.auditId,
      childId: input.childId,
      summary: `copy of the audit sent securely to the ${RECIPIENT_ROLE_LABELS[updated.role].toLowerCase()}`,
    });
    return true;
  });
}

/**
 * Whether the person's organisation roles let them make this move (distribute, close) on an
 * audit they can see: the lifecycle table says who, so the pages and transitionAudit agree.
 */
export function mayMoveByRole(principal: Principal, from: 'moderated' | 'awaiting_feedback', to: 'distributed' | 'closed'): boolean {
  const move = transitionFor(from, to);
  return move !== undefined && mayMake(move, { parties: [], roles: roles(principal) });
}

/** The audit's document input if the person can see it (else "not found"). */
export async function auditFor(db: Db, principal: Principal, auditId: string): Promise<DocumentInput> {
  const input = await loadAuditDocument(db, principal, auditId);
  if (!input) throw notFound('Audit');
  return input;
}

/** The audit for a QA coordinator or QA lead: anyone else who can see it is refused. */
export async function auditForQa(db: Db, principal: Principal, auditId: string, from: 'moderated' | 'awaiting_feedback', to: 'distributed' | 'closed'): Promise<DocumentInput> {
  const input = await auditFor(db, principal, auditId);
  if (!mayMoveByRole(principal, from, to)) throw forbidden();
  return input;
}

export type StaffMember = { id: string; name: string; jobTitle: string; email: string | null };

/**
 * A member of staff's e-mail address: their own on the register, else the one they sign in
 * with (an account that is not disabled).
 */
const emailOf = sql<string | null>`coalesce(staff.email, (select users.email from users where users.staff_id = staff.id and users.disabled_at is null order by users.created_at limit 1))`;

/** The organisation's staff who have not left, by name: those the QA coordinator may choose. */
export async function currentStaff(db: Db, organisationId: string, today: string): Promise<StaffMember[]> {
  const rows = await db
    .selectFrom('staff')
    .select(['staff.id', 'staff.full_name', 'staff.job_title', emailOf.as('email')])
    .where('staff.organisation_id', '=', organisationId)
    .where((eb) => eb.or([eb('staff.leaving_date', 'is', null), eb('staff.leaving_date', '>=', sql<string>`${today}::date`)]))
    .orderBy('staff.full_name')
    .execute();
  return rows.map((row) => ({ id: row.id, name: row.full_name, jobTitle: row.job_title, email: row.email }));
}

/** One member of staff, whether or not they have left (the case holder, their line manager). */
export async function staffMember(db: Db, organisationId: string, staffId: string | null): Promise<StaffMember | null> {
  if (!staffId) return null;
  const row = await db
    .selectFrom('staff')
    .select(['staff.id', 'staff.full_name', 'staff.job_title', emailOf.as('email')])
    .where('staff.organisation_id', '=', organisationId)
    .where('staff.id', '=', staffId)
    .executeTakeFirst();
  return row ? { id: row.id, name: row.full_name, jobTitle: row.job_title, email: row.email } : null;
}

/** The case holder's line manager: the team manager a moderated audit goes to. */
export async function lineManagerOf(db: Db, organisationId: string, staffId: string | null): Promise<StaffMember | null> {
  if (!staffId) return null;
  const row = await db.selectFrom('staff').select('line_manager_id').where('organisation_id', '=', organisationId).where('id', '=', staffId).executeTakeFirst();
  return staffMember(db, organisationId, row?.line_manager_id ?? null);
}
