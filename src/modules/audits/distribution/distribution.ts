/**
 * Distributing a moderated audit: the QA coordinator (or a QA lead) sends it to the case
 * holder's team manager, the case holder and other named professionals (CP chair, IRO). Who it
 * went to, who sent it and when is recorded; each gets an e-mail with a link to the audit; a
 * staff recipient may then read the audit. The case holder is asked for their feedback.
 */
import { inTransaction, type Db } from '../../../db/index.ts';
import type { Grade } from '../../../db/types.ts';
import type { Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import type { FieldError } from '../../../platform/errors.ts';
import { appLink, enqueueEmail } from '../../../platform/outbox.ts';
import { formatDate } from '../../../platform/views.ts';
import { ukDateAt } from '../../../platform/clock.ts';
import type { AuditRecord } from '../audit.ts';
import type { DocumentInput } from '../document/model.ts';
import { GRADE_LABELS } from '../tracker.ts';
import { TransitionRefused, transitionAudit, type TransitionActor } from '../transitions.ts';
import { parseRecipients, type RecipientChoices, type RecipientInput } from './recipients.ts';
import { auditForQa, currentStaff, distributionState, lineManagerOf, RECIPIENT_ROLE_LABELS, staffMember, type DistributionState, type StaffMember } from './record.ts';
import { type IsoDate } from '../../../platform/working-days.ts';

export type Distribution = DocumentInput & { state: DistributionState; choices: RecipientChoices; staffList: StaffMember[] };

export type DistributionOutcome = { ok: true; recipients: number } | { ok: false; reason: 'invalid'; errors: FieldError[] } | { ok: false; reason: 'stale' };

/**
 * The audit as the QA coordinator distributes it, with the people to choose from. Someone who
 * cannot see the audit gets "not found"; someone who can but has no QA role is refused.
 */
export async function openDistribution(db: Db, principal: Principal, auditId: string, today: IsoDate): Promise<Distribution> {
  const input = await auditForQa(db, principal, auditId, 'moderated', 'distributed');
  const organisationId = principal.organisationId;
  const caseHolderId = input.audit.caseHolder?.id ?? null;
  const staffList = await currentStaff(db, organisationId, today);
  return {
    ...input,
    state: await distributionState(db, organisationId, input.audit.id),
    choices: {
      teamManager: await lineManagerOf(db, organisationId, caseHolderId),
      caseHolder: await staffMember(db, organisationId, caseHolderId),
      staff: new Map(staffList.map((member) => [member.id, member])),
    },
    staffList,
  };
}

/** Logs the QA coordinator opening the distribution form (child-related). */
export async function logDistributionView(db: Db, actor: TransitionActor, audit: AuditRecord): Promise<void> {
  await logActivity(db, actor, { action: 'view', recordType: 'audit_distribution', recordId: audit.id, childId: audit.child.id, summary: 'distribution form' });
}

/**
 * Sends the moderated audit, in one transaction: the recipients are recorded, the audit moves
 * moderated → distributed → awaiting feedback (two rows on its timeline), one e-mail per
 * recipient is queued and the activity logged. Refused with every problem on its field and
 * nothing written, or as stale when the audit changed since `expectedVersion`.
 *
 * The audit always goes on to awaiting feedback, even without a case holder: the lifecycle
 * closes an audit only from there, so the QA coordinator then closes it saying why there is no
 * feedback, rather than a separate "request feedback" step that would have nobody to ask.
 */
export async function distributeAudit(db: Db, actor: TransitionActor, auditId: string, fields: Record<string, unknown>, expectedVersion: number): Promise<DistributionOutcome> {
  const distribution = await openDistribution(db, actor.principal, auditId, ukDateAt(actor.at));
  const { recipients, errors } = parseRecipients(fields, distribution.choices);
  if (errors.length) return { ok: false, reason: 'invalid', errors };
  const { audit } = distribution;
  try {
    await inTransaction(db, async (trx) => {
      await transitionAudit(trx, actor, audit.id, 'distributed', { expectedVersion });
      const withAccount = await staffWithAccount(trx, actor.principal.organisationId, recipients);
      await trx
        .insertInto('audit_recipients')
        .values(
          recipients.map((recipient) => ({
            organisation_id: actor.principal.organisationId,
            audit_id: audit.id,
            staff_id: recipient.staffId,
            email: recipient.email,
            name: recipient.name,
            role: recipient.role,
            sent_by: actor.principal.userId,
            needs_secure_copy: !hasAccount(recipient, withAccount),
          })),
        )
        .execute();
      const feedbackStage = await transitionAudit(trx, actor, audit.id, 'awaiting_feedback');
      for (const recipient of recipients) {
        if (!recipient.email) continue;
        await enqueueEmail(trx, {
          organisationId: actor.principal.organisationId,
          to: recipient.email,
          subject: `Moderated case file audit: ${audit.child.initials} (${audit.child.externalId})`,
          text: distributionEmail({ audit, recipient, hasAccount: hasAccount(recipient, withAccount), sender: actor.principal.displayName, finalGrade: distribution.state.finalGrade, feedbackDueOn: feedbackStage.stageDueOn }),
          // One message per person per audit, however often the send is retried.
          dedupeKey: `audit-distributed:${audit.id}:${recipient.staffId ?? recipient.email.toLowerCase()}`,
          now: actor.at,
        });
      }
      await logActivity(trx, actor, {
        action: 'create',
        recordType: 'audit_distribution',
        recordId: audit.id,
        childId: audit.child.id,
        summary: `audit distributed to ${recipients.length}: ${recipients.map((recipient) => RECIPIENT_ROLE_LABELS[recipient.role].toLowerCase()).join(', ')}`,
      });
    });
  } catch (error) {
    if (error instanceof TransitionRefused && error.refusal === 'stale') return { ok: false, reason: 'stale' };
    throw error;
  }
  return { ok: true, recipients: recipients.length };
}

/** The staff among the recipients who can sign in to Assure (an account that is not disabled). */
async function staffWithAccount(db: Db, organisationId: string, recipients: RecipientInput[]): Promise<Set<string>> {
  const staffIds = recipients.flatMap((recipient) => (recipient.staffId ? [recipient.staffId] : []));
  if (!staffIds.length) return new Set();
  const rows = await db.selectFrom('users').select('staff_id').where('organisation_id', '=', organisationId).where('staff_id', 'in', staffIds).where('disabled_at', 'is', null).execute();
  return new Set(rows.flatMap((row) => (row.staff_id ? [row.staff_id] : [])));
}

const hasAccount = (recipient: RecipientInput, withAccount: ReadonlySet<string>) => recipient.staffId !== null && withAccount.has(recipient.staffId);

/**
 * The e-mail to one recipient. Someone who cannot sign in to Assure gets no link they could not
 * open, and nothing attached (an e-mail is not a secure way to send a child's audit): it says
 * that the QA coordinator will send them a copy securely, which the coordinator then records.
 */
export function distributionEmail(input: { audit: AuditRecord; recipient: RecipientInput; hasAccount: boolean; sender: string; finalGrade: Grade | null; feedbackDueOn: string | null }): string {
  const { audit, recipient } = input;
  const lines = [
    `${recipient.name},`,
    '',
    `${input.sender} has sent you the moderated case file audit of ${audit.child.initials} (${audit.child.externalId}), audit ${audit.reference}.`,
    '',
    `Final grade: ${input.finalGrade ? GRADE_LABELS[input.finalGrade] : 'not graded'}`,
    `Auditor: ${audit.auditor.name}`,
    `Case holder: ${audit.caseHolder?.name ?? 'none recorded'}`,
    '',
  ];
  const by = input.feedbackDueOn ? ` by ${formatDate(input.feedbackDueOn)}` : '';
  if (input.hasAccount) {
    lines.push(`Read the audit in Assure: ${appLink(`/audits/${audit.id}`)}`);
    if (recipient.role === 'case_holder') lines.push('', `Please discuss the audit in supervision and give your feedback on it${by}: ${appLink(`/audits/${audit.id}/feedback`)}`);
  } else {
    lines.push(
      'How you will receive the audit: you do not have an account in Assure, so this e-mail has no link to it and nothing is attached.',
      `${input.sender} will send you a copy of the audit separately by secure e-mail. If it has not reached you within two working days, reply to ${input.sender}.`,
    );
    if (recipient.role === 'case_holder') lines.push('', `Please discuss the audit in supervision and send your feedback on it to ${input.sender}${by}.`);
  }
  return lines.join('\n');
}
