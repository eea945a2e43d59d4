/**
 * The re-audit of an Inadequate audit (PROCESS.md §4.7), for a tool that sets one off
 * (tools/escalation.ts; Bristol's does, Telford's, Lambeth's and Bolton's do not): when
 * moderation ends Inadequate, a second auditor is given the case at once, to re-audit it at
 * their desk (not with the worker) when the tool says, else after the council's re-audit
 * timescale (8 weeks unless changed), against the actions the first audit set.
 * The re-audit is an audit of its own — same child, same tool (its newest published edition),
 * its own lifecycle — linked to the first by `re_audit_of`. When nobody qualifies, moderation
 * still succeeds and the QA coordinator chooses the re-auditor.
 */
import { z } from 'zod';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { Grade } from '../../../db/types.ts';
import { can, type Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { forbidden, notFound, type FieldError } from '../../../platform/errors.ts';
import { appLink, enqueueEmail } from '../../../platform/outbox.ts';
import { formatDate } from '../../../platform/views.ts';
import { isIsoDate } from '../../../platform/working-days.ts';
import { ukDateAt } from '../../../platform/clock.ts';
import { findAudit, type AuditRecord } from '../audit.ts';
import { reAuditDueOn } from '../lifecycle.ts';
import { candidates } from '../moderation/rule.ts';
import { insertAllocatedAudit, selectAllocatableTools, selectAuditorCandidates } from '../queries.ts';
import { recordAllocation, timescalesFor } from '../transitions.ts';
import { raiseModeratedAlerts, type EscalationActor } from './alerts.ts';
import { toolEscalation } from '../../tools/escalation.ts';
import { addWeeks } from '../../../platform/working-days.ts';
import { markReAudit, selectAuditsInHand, selectEscalationAudit, selectReAuditOf, type EscalationAudit } from './queries.ts';
import { chooseReAuditor } from './rule.ts';

/** Whether an audit waits for a re-audit: moderated Inadequate, its tool re-audits, and not itself a re-audit. */
export function needsReAudit(audit: Pick<EscalationAudit, 'finalGrade' | 'reAuditOf' | 'definition'>): boolean {
  return audit.finalGrade === 'inadequate' && audit.reAuditOf === null && toolEscalation(audit.definition).reAudit !== null;
}

/** When a re-audit allocated today is due: after the weeks its tool names, else the council's timescale. */
async function reAuditDue(db: Db, first: Pick<EscalationAudit, 'definition' | 'organisationId'>, today: string): Promise<string> {
  const weeks = toolEscalation(first.definition).reAudit?.afterWeeks ?? null;
  return weeks !== null ? addWeeks(today, weeks) : reAuditDueOn(today, await timescalesFor(db, first.organisationId));
}

/** The UK date a re-audit is allocated on: the one given (the demo's past), else the actor's today. */
function todayFrom(today: string | undefined, at: Date): string {
  const day = today ?? ukDateAt(at);
  if (!isIsoDate(day)) throw new RangeError(`today must be a date in the form YYYY-MM-DD, not ${JSON.stringify(day)}`);
  return day;
}

/**
 * What follows a moderation, in its transaction, as the audit's tool says: everyone it names at
 * the final grade is alerted, and when it re-audits an audit moderated Inadequate, the re-audit
 * is allocated to a second auditor by the rule (rule.ts chooseReAuditor). A re-audit moderated
 * Inadequate is escalated but not re-audited again automatically — that would never end; the
 * QA coordinator decides.
 */
export async function escalateModeration(db: Db, actor: EscalationActor, auditId: string, finalGrade: Grade | null, options: { today?: string } = {}): Promise<{ reAuditId: string | null }> {
  if (finalGrade !== 'inadequate' && finalGrade !== 'requires_improvement') return { reAuditId: null };
  const organisationId = actor.principal.organisationId;
  const audit = await selectEscalationAudit(db, organisationId, auditId);
  if (!audit) throw notFound('Audit');
  await raiseModeratedAlerts(db, actor, audit, finalGrade);
  if (finalGrade !== 'inadequate' || audit.reAuditOf || !needsReAudit({ ...audit, finalGrade })) return { reAuditId: null };
  const existing = await selectReAuditOf(db, organisationId, audit.id);
  if (existing) return { reAuditId: existing.id };
  const today = todayFrom(options.today, actor.at);
  const auditorId = chooseReAuditor(
    { serviceId: audit.serviceId, auditorId: audit.auditorId, caseHolderId: audit.caseHolderId, moderatorIds: [audit.moderatorId, actor.principal.staffId] },
    await candidates(db, organisationId, today),
    await selectAuditsInHand(db, organisationId),
  );
  const auditor = auditorId ? (await selectAuditorCandidates(db, organisationId, today, auditorId))[0] : undefined;
  if (!auditor) {
    await logActivity(db, actor, { action: 'update', recordType: 'audit', recordId: audit.id, childId: audit.childId, summary: `re-audit needed: no auditor qualifies; the QA coordinator must allocate one` });
    return { reAuditId: null };
  }
  return { reAuditId: await createReAudit(db, actor, audit, auditor, today) };
}

type Auditor = { id: string; full_name: string; email: string };

/** The re-audit, its timeline's first row, the re-auditor's e-mail and the log entry: all or none. */
async function createReAudit(db: Db, actor: EscalationActor, first: EscalationAudit, auditor: Auditor, today: string): Promise<string> {
  const organisationId = first.organisationId;
  return inTransaction(db, async (trx) => {
    const newest = (await selectAllocatableTools(trx, organisationId)).find((tool) => tool.tool_id === first.toolId);
    const dueOn = await reAuditDue(trx, first, today);
    const inserted = await insertAllocatedAudit(trx, {
      organisationId,
      childId: first.childId,
      toolEditionId: newest?.edition_id ?? first.toolEditionId,
      auditorId: auditor.id,
      // The re-audit looks again at the same case: the case holder, team and service the first audit was of.
      caseHolderId: first.caseHolderId,
      teamId: first.teamId,
      serviceId: first.serviceId,
      allocatedOn: today,
      dueOn,
      allocatedBy: actor.principal.userId,
    });
    await markReAudit(trx, inserted.id, first.id);
    await recordAllocation(trx, actor, { id: inserted.id, organisationId });
    if (z.email().safeParse(auditor.email).success) {
      await enqueueEmail(trx, {
        organisationId,
        to: auditor.email,
        subject: `Re-audit allocated: ${first.childInitials} (${first.childExternalId}), due ${formatDate(dueOn)}`,
        text: reAuditEmailText(first, { id: inserted.id, reference: inserted.reference }, auditor.full_name, dueOn),
        dedupeKey: `audit-allocated:${inserted.id}`,
        now: actor.at,
      });
    }
    await logActivity(trx, actor, {
      action: 'create',
      recordType: 'audit',
      recordId: inserted.id,
      childId: first.childId,
      summary: `allocated re-audit ${inserted.reference} of audit ${first.reference} (Inadequate) to staff ${auditor.id}, desktop only, due ${dueOn}`,
    });
    return inserted.id;
  });
}

function reAuditEmailText(first: EscalationAudit, reAudit: { id: string; reference: number }, auditorName: string, dueOn: string): string {
  return [
    `${auditorName},`,
    '',
    `You have been allocated a re-audit. Case file audit ${first.reference} of ${first.childInitials} (${first.childExternalId}) was graded Inadequate; you are the second auditor.`,
    '',
    'The re-audit is a desktop audit: it is not completed with the worker. Start from the actions the first audit set, and check what has improved.',
    '',
    `Audit tool: ${first.toolName}`,
    `Due: ${formatDate(dueOn)}`,
    '',
    `Open the re-audit in Assure: ${appLink(`/audits/${reAudit.id}`)}`,
    'It is also listed under "My audits".',
  ].join('\n');
}

/* ——— The QA coordinator allocates the re-audit when the rule found nobody ——— */

export type ReAuditAllocationForm = {
  audit: AuditRecord;
  auditors: { value: string; text: string }[];
  dueOn: string;
};

/** The audit and its re-audit's choices, or null when it needs no re-audit (or has one). */
async function reAuditChoices(db: Db, principal: Principal, auditId: string, today: string) {
  if (!can(principal, 'audits.allocate')) throw forbidden();
  const audit = await findAudit(db, principal, auditId);
  if (!audit) throw notFound('Audit');
  const first = (await selectEscalationAudit(db, principal.organisationId, audit.id))!;
  if (!needsReAudit(first) || (await selectReAuditOf(db, principal.organisationId, first.id))) return null;
  // Never the first auditor, the case holder or the moderator: a second, independent look.
  const excluded = new Set([first.auditorId, first.caseHolderId, first.moderatorId]);
  const auditors = (await selectAuditorCandidates(db, principal.organisationId, today)).filter((auditor) => !excluded.has(auditor.id));
  return { audit, first, auditors, dueOn: await reAuditDue(db, first, today) };
}

/** The re-audit allocation page, or null when the audit needs no re-audit. */
export async function reAuditAllocationFor(db: Db, principal: Principal, auditId: string, today: string): Promise<ReAuditAllocationForm | null> {
  const choices = await reAuditChoices(db, principal, auditId, today);
  if (!choices) return null;
  return {
    audit: choices.audit,
    auditors: choices.auditors.map((auditor) => ({ value: auditor.id, text: `${auditor.full_name}, ${auditor.job_title}${auditor.team_name ? ` (${auditor.team_name})` : ''}` })),
    dueOn: choices.dueOn,
  };
}

export type ReAuditAllocationOutcome = { ok: true; reAuditId: string } | { ok: false; reason: 'invalid'; errors: FieldError[] } | { ok: false; reason: 'not-needed' };

/** Allocates the re-audit to the auditor the QA coordinator chose from the list. */
export async function allocateReAudit(db: Db, actor: EscalationActor, auditId: string, fields: Record<string, unknown>, options: { today?: string } = {}): Promise<ReAuditAllocationOutcome> {
  const today = todayFrom(options.today, actor.at);
  const choices = await reAuditChoices(db, actor.principal, auditId, today);
  if (!choices) return { ok: false, reason: 'not-needed' };
  const auditor = choices.auditors.find((candidate) => candidate.id === fields.auditorId);
  if (!auditor) return { ok: false, reason: 'invalid', errors: [{ field: 'auditorId', message: 'Choose the auditor who will re-audit the case from the list' }] };
  return { ok: true, reAuditId: await createReAudit(db, actor, choices.first, auditor, today) };
}
