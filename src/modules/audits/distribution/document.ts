/**
 * Distribution's part of the audit as a document (read view, DOCX, PDF): who it was sent to,
 * the case holder's feedback and the QA coordinator's closing comments, once there are any.
 */
import type { Db } from '../../../db/index.ts';
import { formatDate } from '../../../platform/views.ts';
import type { AnswerRow, DocumentInput, DocumentSection, TableRow } from '../document/model.ts';
import { feedbackQuestions, feedbackRows, feedbackStaffNames } from './feedback.ts';
import { distributionStateOf, listRecipients } from './record.ts';

export async function distributionDocumentSection(db: Db, organisationId: string, input: DocumentInput, typed: (text: string) => string): Promise<DocumentSection | null> {
  // The audit was found with its distribution state (findAudit): only its recipients are asked for.
  const state = distributionStateOf(input.audit);
  const recipients = await listRecipients(db, organisationId, input.audit.id);
  if (!recipients.length && !state.feedback && !state.closingComments) return null;
  const sent: TableRow[] = recipients.map((recipient) => ({ cells: [typed(recipient.name), recipient.roleLabel, typed(recipient.sentBy), formatDate(recipient.sentAt)] }));
  const asked = feedbackQuestions(input.tool, state.finalGrade);
  const staff = await feedbackStaffNames(db, organisationId, asked, state.feedback);
  const given: AnswerRow[] = state.feedback ? feedbackRows(input, asked, state.feedback, staff).map((row) => ({ label: row.label, value: typed(row.text) })) : [];
  return {
    key: 'distribution-outcome',
    title: 'Distribution and practitioner feedback',
    blocks: [
      { type: 'table', caption: 'Sent to', head: ['Name', 'Role', 'Sent by', 'Sent on'], rows: sent, empty: 'Not sent yet' },
      { type: 'subheading', text: 'The case holder’s feedback' },
      {
        type: 'answers',
        rows: given.length ? given : [{ label: 'Feedback', value: null }],
      },
      {
        type: 'answers',
        rows: [
          ...(state.feedbackAt ? [{ label: 'Feedback given', value: `${formatDate(state.feedbackAt)}${state.feedbackBy ? ` by ${typed(state.feedbackBy)}` : ''}` }] : []),
          { label: 'Closing comments', value: state.closingComments ? typed(state.closingComments) : null },
        ],
      },
    ],
  };
}
