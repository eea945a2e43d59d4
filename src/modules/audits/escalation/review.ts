/**
 * The review of a case direction (PROCESS.md §4.5): within a month of directing the case, the
 * service manager looks at how its actions stand and records what they found. Whoever may
 * record the direction may review it; the review is written once, with an activity-log entry.
 */
import { z } from 'zod';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { AppError, forbidden, notFound, type FieldError } from '../../../platform/errors.ts';
import { fieldErrorsFrom } from '../../../platform/views.ts';
import { findAudit, type AuditRecord } from '../audit.ts';
import type { EscalationActor } from './alerts.ts';
import { mayDirect, serviceManagerOf } from './case-direction.ts';
import { selectActionsOfAudit, selectCaseDirection, selectEscalationAudit, updateCaseDirectionReview, type ActionToReview, type CaseDirectionRow } from './queries.ts';
import { ukDateAt } from '../../../platform/clock.ts';

export const REVIEW_NOTES_MAX = 5_000;

const ALREADY_REVIEWED = 'This case direction has already been reviewed';

const reviewSchema = z.object({
  reviewNotes: z.preprocess(
    (value) => (typeof value === 'string' ? value : ''),
    z
      .string()
      .trim()
      .min(1, 'Enter your review notes: how the actions stand and what happens next')
      .max(REVIEW_NOTES_MAX, `Review notes must be ${REVIEW_NOTES_MAX.toLocaleString('en-GB')} characters or fewer`),
  ),
});

export type CaseDirectionReviewPage = { audit: AuditRecord; direction: CaseDirectionRow; actions: ActionToReview[] };

/**
 * The direction to review with its actions as they stand. Not found for someone who cannot see
 * the audit; refused for anyone but who may direct the case; a conflict when there is no
 * direction yet or it was already reviewed.
 */
export async function openCaseDirectionReview(db: Db, principal: Principal, auditId: string, today: string): Promise<CaseDirectionReviewPage> {
  const audit = await findAudit(db, principal, auditId);
  if (!audit) throw notFound('Audit');
  const facts = (await selectEscalationAudit(db, principal.organisationId, audit.id))!;
  const serviceManager = await serviceManagerOf(db, facts, today);
  if (!mayDirect(principal, serviceManager?.id ?? null)) throw forbidden();
  const direction = await selectCaseDirection(db, principal.organisationId, audit.id);
  if (!direction) throw new AppError('CONFLICT', 'No case direction has been recorded for this audit yet');
  if (direction.review) throw new AppError('CONFLICT', ALREADY_REVIEWED);
  return { audit, direction, actions: await caseDirectionActions(db, principal.organisationId, audit.id) };
}

/** The actions a case direction set, with their status now. */
export async function caseDirectionActions(db: Db, organisationId: string, auditId: string): Promise<ActionToReview[]> {
  return (await selectActionsOfAudit(db, organisationId, auditId)).filter((action) => action.source === 'case_direction');
}

/** The notes as typed, for showing the form again. */
export function reviewNotesInput(fields: Record<string, unknown>): string {
  return typeof fields.reviewNotes === 'string' ? fields.reviewNotes : '';
}

export type CaseDirectionReviewOutcome = { ok: true } | { ok: false; errors: FieldError[]; page: CaseDirectionReviewPage };

/** Records the review and logs it in one transaction; a second review is refused, whoever wins the race. */
export async function recordCaseDirectionReview(db: Db, actor: EscalationActor, auditId: string, fields: Record<string, unknown>): Promise<CaseDirectionReviewOutcome> {
  const page = await openCaseDirectionReview(db, actor.principal, auditId, ukDateAt(actor.at));
  const parsed = reviewSchema.safeParse(fields);
  if (!parsed.success) return { ok: false, errors: fieldErrorsFrom(parsed.error), page };
  const { audit, direction, actions } = page;
  await inTransaction(db, async (trx) => {
    if (!(await updateCaseDirectionReview(trx, direction.id, { reviewedBy: actor.principal.userId, notes: parsed.data.reviewNotes, at: actor.at }))) {
      throw new AppError('CONFLICT', ALREADY_REVIEWED);
    }
    const open = actions.filter((action) => action.status === 'open').length;
    await logActivity(trx, actor, {
      action: 'update',
      recordType: 'case_direction',
      recordId: audit.id,
      childId: audit.child.id,
      summary: `case direction reviewed: ${actions.length} action(s), ${open} still open`,
    });
  });
  return { ok: true };
}
