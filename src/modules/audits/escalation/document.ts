/**
 * Escalation's part of the audit as a document (read view, DOCX, PDF). For an audit moderated
 * Inadequate: its re-audit, and the service manager's case direction with its actions and its
 * review. For a re-audit: the audit it re-audits and that audit's grade. Null for any other audit.
 */
import type { Db } from '../../../db/index.ts';
import { formatDate } from '../../../platform/views.ts';
import { ACTION_STATUS_LABELS } from '../../actions/service.ts';
import type { AnswerRow, DocumentBlock, DocumentInput, DocumentSection } from '../document/model.ts';
import { auditStatusLabel } from '../tracker.ts';
import { gradeLabel, reAuditGrade } from './panel.ts';
import { escalationAuditOf, selectActionsOfAudit, selectCaseDirection, selectEscalationAudit, selectReAuditOf, type CaseDirectionRow, type ReAuditRow } from './queries.ts';

type Typed = (text: string) => string;

export async function escalationDocumentSection(db: Db, organisationId: string, input: DocumentInput, typed: Typed): Promise<DocumentSection | null> {
  // The audit was found with these facts (findAudit): the first audit of a re-audit is still looked up.
  const audit = await escalationAuditOf(db, organisationId, input.audit);
  if (audit.reAuditOf) {
    const first = await selectEscalationAudit(db, organisationId, audit.reAuditOf);
    if (!first) return null;
    return {
      key: 'escalation-outcome',
      title: 'Re-audit',
      blocks: [
        {
          type: 'answers',
          rows: [
            { label: 'Re-audit of', value: `Audit ${first.reference}, graded ${gradeLabel(first.finalGrade) ?? 'not moderated'}` },
            { label: 'How', value: audit.desktopOnly ? 'Desktop review, not completed with the worker' : 'With the worker' },
            { label: 'Grade of this re-audit', value: reAuditGrade(audit)?.label ?? 'Not graded yet' },
          ],
        },
      ],
    };
  }
  if (audit.finalGrade !== 'inadequate') return null;
  const [reAudit, direction, actions] = await Promise.all([
    selectReAuditOf(db, organisationId, audit.id),
    selectCaseDirection(db, organisationId, audit.id),
    selectActionsOfAudit(db, organisationId, audit.id),
  ]);
  const directed = actions.filter((action) => action.source === 'case_direction');
  return {
    key: 'escalation-outcome',
    title: 'Inadequate: re-audit and case direction',
    blocks: [
      { type: 'subheading', text: 'Re-audit' },
      { type: 'answers', rows: reAuditRows(reAudit, typed) },
      { type: 'subheading', text: 'Case direction' },
      { type: 'answers', rows: directionRows(direction, typed) },
      ...(direction ? [directedActionsTable(directed, typed)] : []),
    ],
  };
}

function reAuditRows(reAudit: ReAuditRow | undefined, typed: Typed): AnswerRow[] {
  if (!reAudit) return [{ label: 'Re-audit', value: 'Not allocated yet' }];
  return [
    { label: 'Re-audit', value: `Audit ${reAudit.reference}, desktop only` },
    { label: 'Second auditor', value: typed(reAudit.auditorName) },
    { label: 'Due', value: formatDate(reAudit.dueOn) },
    { label: 'Status', value: auditStatusLabel(reAudit.status, reAudit.feedbackGivenAt !== null) },
    { label: 'Re-audit grade', value: reAuditGrade(reAudit)?.label ?? 'Not graded yet' },
  ];
}

function directionRows(direction: CaseDirectionRow | undefined, typed: Typed): AnswerRow[] {
  if (!direction) return [{ label: 'Direction', value: 'Not recorded yet' }];
  const review = direction.review;
  return [
    { label: 'Direction', value: typed(direction.direction) },
    { label: 'Directed by', value: `${typed(direction.directedBy)} on ${formatDate(direction.directedOn)}` },
    { label: 'Review due', value: formatDate(direction.reviewDueOn) },
    { label: 'Review', value: review ? `${typed(review.notes)} (${typed(review.reviewedBy)}, ${formatDate(review.reviewedAt)})` : 'Not reviewed yet' },
  ];
}

function directedActionsTable(actions: Awaited<ReturnType<typeof selectActionsOfAudit>>, typed: Typed): DocumentBlock {
  return {
    type: 'table',
    caption: 'Actions of the case direction',
    head: ['Action', 'Owner', 'Due', 'Status'],
    rows: actions.map((action) => ({
      cells: [typed(action.text), action.ownerName ? typed(action.ownerName) : 'No owner', action.dueOn ? formatDate(action.dueOn) : 'No due date', ACTION_STATUS_LABELS[action.status]],
    })),
    empty: 'No actions',
  };
}
