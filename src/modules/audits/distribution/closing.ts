/**
 * Closing an audit: once the case holder has given their feedback (or it will not come), the
 * QA coordinator or a QA lead reads it, adds their comments and closes the audit. Closing
 * without feedback needs the reason in the comments.
 */
import { z } from 'zod';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import type { FieldError } from '../../../platform/errors.ts';
import { fieldErrorsFrom } from '../../../platform/views.ts';
import type { AuditRecord } from '../audit.ts';
import type { DocumentInput } from '../document/model.ts';
import { TransitionRefused, transitionAudit, type TransitionActor } from '../transitions.ts';
import { feedbackQuestions, feedbackRows, feedbackStaffNames, type FeedbackQuestions, type FeedbackRow } from './feedback.ts';
import { auditForQa, distributionState, type DistributionState } from './record.ts';

const COMMENTS_MAX = 20_000;

export type Closing = DocumentInput & { state: DistributionState; asked: FeedbackQuestions; feedback: FeedbackRow[] | null };

export type ClosingOutcome = { ok: true } | { ok: false; reason: 'invalid'; errors: FieldError[] } | { ok: false; reason: 'stale' };

/**
 * The audit as the QA coordinator closes it, with the practitioner's feedback in words (null
 * when none was given). Someone who cannot see the audit gets "not found"; someone who can but
 * has no QA role is refused.
 */
export async function openClosing(db: Db, principal: Principal, auditId: string): Promise<Closing> {
  const input = await auditForQa(db, principal, auditId, 'awaiting_feedback', 'closed');
  const state = await distributionState(db, principal.organisationId, input.audit.id);
  const asked = feedbackQuestions(input.tool, state.finalGrade);
  const staff = await feedbackStaffNames(db, principal.organisationId, asked, state.feedback);
  return { ...input, state, asked, feedback: state.feedback ? feedbackRows(input, asked, state.feedback, staff) : null };
}

function closingSchema(feedbackGiven: boolean) {
  const comments = z.preprocess((value) => (typeof value === 'string' ? value : ''), z.string().max(COMMENTS_MAX, `Comments must be ${COMMENTS_MAX.toLocaleString('en-GB')} characters or fewer`));
  return z.object({
    comments: feedbackGiven ? comments : comments.refine((value) => value.trim() !== '', "Enter why you are closing the audit without the practitioner's feedback"),
  });
}

/** Logs the QA coordinator opening the closing page (child-related). */
export async function logClosingView(db: Db, actor: TransitionActor, audit: AuditRecord): Promise<void> {
  await logActivity(db, actor, { action: 'view', recordType: 'audit_closing', recordId: audit.id, childId: audit.child.id, summary: 'closing page with practitioner feedback' });
}

/**
 * Closes the audit with the QA coordinator's comments, in one transaction. Refused with the
 * problem on its field (nothing saved), or as stale when the audit changed since
 * `expectedVersion` (feedback given or changed meanwhile: read it before closing).
 */
export async function closeAudit(db: Db, actor: TransitionActor, auditId: string, fields: Record<string, unknown>, expectedVersion: number): Promise<ClosingOutcome> {
  const closing = await openClosing(db, actor.principal, auditId);
  const parsed = closingSchema(closing.feedback !== null).safeParse(fields);
  if (!parsed.success) return { ok: false, reason: 'invalid', errors: fieldErrorsFrom(parsed.error) };
  const comments = parsed.data.comments.trim() === '' ? null : parsed.data.comments;
  const { audit } = closing;
  try {
    await inTransaction(db, async (trx) => {
      await transitionAudit(trx, actor, audit.id, 'closed', { expectedVersion });
      await trx.updateTable('audits').set({ closing_comments: comments }).where('id', '=', audit.id).execute();
      await logActivity(trx, actor, {
        action: 'update',
        recordType: 'audit',
        recordId: audit.id,
        childId: audit.child.id,
        summary: `audit closed ${closing.feedback ? 'with' : 'without'} practitioner feedback${comments ? ', with comments' : ''}`,
      });
    });
  } catch (error) {
    if (error instanceof TransitionRefused && error.refusal === 'stale') return { ok: false, reason: 'stale' };
    throw error;
  }
  return { ok: true };
}
