import type { Db } from '../../../db/index.ts';
import type { AuditStatus } from '../../../db/types.ts';
import type { Principal } from '../../../platform/access.ts';
import type { AuditRecord } from '../audit.ts';
import { loadDocumentOf } from '../document/load.ts';
import { feedbackQuestions, feedbackRows, feedbackStaffNames, type FeedbackRow } from './feedback.ts';
import { distributionStateOf, listRecipients, mayMoveByRole, type Recipient } from './record.ts';

/** The statuses from which distribution has something to say. */
const AFTER_MODERATION: readonly AuditStatus[] = ['moderated', 'distributed', 'awaiting_feedback', 'closed'];

export type DistributionPanel = {
  recipients: Recipient[];
  actions: { text: string; href: string }[];
  awaitingFeedback: boolean;
  feedbackDueOn: string | null;
  hasCaseHolder: boolean;
  feedback: { by: string | null; at: string | null; rows: FeedbackRow[] } | null;
  closingComments: string | null;
  closed: boolean;
  /** Whether this person records secure copies sent to recipients without an account. */
  recordsSecureCopies: boolean;
};

/** The buttons that apply to this person now. */
function actionsFor(principal: Principal, audit: AuditRecord, hasFeedback: boolean): { text: string; href: string }[] {
  const base = `/audits/${audit.id}`;
  if (audit.status === 'moderated' && mayMoveByRole(principal, 'moderated', 'distributed')) return [{ text: 'Distribute this audit', href: `${base}/distribute` }];
  if (audit.status !== 'awaiting_feedback') return [];
  const actions: { text: string; href: string }[] = [];
  if (principal.staffId && audit.caseHolder?.id === principal.staffId) actions.push({ text: hasFeedback ? 'Change your feedback' : 'Give your feedback', href: `${base}/feedback` });
  if (mayMoveByRole(principal, 'awaiting_feedback', 'closed')) actions.push({ text: 'Close this audit', href: `${base}/close` });
  return actions;
}

/** What the audit's page shows of distribution and feedback, or null for nothing. */
export async function distributionPanel(db: Db, principal: Principal, audit: AuditRecord): Promise<DistributionPanel | null> {
  if (!AFTER_MODERATION.includes(audit.status)) return null;
  const organisationId = principal.organisationId;
  const state = distributionStateOf(audit);
  const recipients = await listRecipients(db, organisationId, audit.id);
  const actions = actionsFor(principal, audit, state.feedback !== null);
  // A moderated audit not yet sent has nothing to show but the QA coordinator's button.
  if (audit.status === 'moderated' && !actions.length) return null;
  let feedback: DistributionPanel['feedback'] = null;
  if (state.feedback) {
    // The audit is the one found for this person: its document is read without finding it again.
    const input = await loadDocumentOf(db, principal, audit);
    const asked = feedbackQuestions(input.tool, state.finalGrade);
    const staff = await feedbackStaffNames(db, organisationId, asked, state.feedback);
    feedback = { by: state.feedbackBy, at: state.feedbackAt, rows: feedbackRows(input, asked, state.feedback, staff) };
  }
  return {
    recipients,
    actions,
    awaitingFeedback: audit.status === 'awaiting_feedback',
    feedbackDueOn: audit.status === 'awaiting_feedback' ? state.stageDueOn : null,
    hasCaseHolder: audit.caseHolder !== null,
    feedback,
    closingComments: state.closingComments,
    closed: audit.status === 'closed',
    recordsSecureCopies: mayMoveByRole(principal, 'moderated', 'distributed'),
  };
}
