/**
 * Alerts: the grades a tool names set them off (PROCESS.md §4.3; tools/escalation.ts). The
 * moment an audit is submitted, or moderated, with an overall grade the tool alerts on
 * (Bristol: Inadequate, to the service manager; Bolton: Requires improvement and Inadequate, to
 * the team manager and head of service), each person it names gets an alert and an e-mail, in
 * the transaction that grades it. An alert stays open on the person's home page and on the
 * audit's page until they acknowledge it. One alert of each kind per person and audit: a
 * resubmission never alerts anyone twice.
 */
import { z } from 'zod';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { AuditAlertKind } from '../../../db/types.ts';
import type { Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { forbidden, notFound } from '../../../platform/errors.ts';
import { appLink, enqueueEmail } from '../../../platform/outbox.ts';
import { alertsAtGrade, toolEscalation } from '../../tools/escalation.ts';
import type { AlertRecipient } from '../../tools/schema.ts';
import { findAudit } from '../audit.ts';
import { candidates, ruleFromSettings } from '../moderation/rule.ts';
import { insertAlerts, acknowledgeAlerts, selectAlertsOfAudit, selectEscalationAudit, selectOpenAlertsOf, selectOrganisationSettings, selectStaffContacts, type EscalationAudit } from './queries.ts';
import { ALERT_RECIPIENT_LABELS, alertRecipients, type AlertedPerson } from './rule.ts';
import { type IsoDate } from '../../../platform/working-days.ts';
import { ukDateAt } from '../../../platform/clock.ts';

export type EscalationActor = { principal: Principal; ipAddress: string | null; at: Date };

export const ALERT_KIND_LABELS: Record<AuditAlertKind, string> = {
  inadequate_submitted: 'Submitted Inadequate',
  inadequate_moderated: 'Moderated Inadequate',
  requires_improvement_submitted: 'Submitted Requires improvement',
  requires_improvement_moderated: 'Moderated Requires improvement',
};

type AlertStage = 'submitted' | 'moderated';

/** The kind of alert a grade raises at a stage, or null for a grade that never alerts. */
export function alertKind(grade: string | null, stage: AlertStage): AuditAlertKind | null {
  if (grade === 'inadequate') return `inadequate_${stage}`;
  if (grade === 'requires_improvement') return `requires_improvement_${stage}`;
  return null;
}

const gradeOfKind = (kind: AuditAlertKind) => (kind.startsWith('inadequate') ? 'inadequate' : 'requires_improvement');

/** Who a tool alerts at a grade (Inadequate unless another is given): the kinds of people its escalation names there. */
export function alertKindsOf(definition: unknown, grade: string = 'inadequate'): readonly AlertRecipient[] {
  return alertsAtGrade(toolEscalation(definition), grade).notify;
}

/** The people a grade of this kind on this audit alerts, by its tool and the organisation's staff today. */
export async function peopleToAlert(db: Db, audit: EscalationAudit, today: IsoDate, kind: AuditAlertKind = 'inadequate_submitted'): Promise<AlertedPerson[]> {
  const kinds = alertKindsOf(audit.definition, gradeOfKind(kind));
  if (!kinds.length) return [];
  const rule = ruleFromSettings(await selectOrganisationSettings(db, audit.organisationId));
  const staff = await candidates(db, audit.organisationId, today);
  return alertRecipients(rule, kinds, { serviceId: audit.serviceId, caseHolderId: audit.caseHolderId, auditorId: audit.auditorId }, staff);
}

/**
 * Alerts everyone the audit's tool names at the grade it was submitted with: call it in the
 * submission's transaction, after the auditor's grade is recorded. Does nothing for a grade the
 * tool does not alert on, or for people already alerted. Returns how many were newly alerted.
 */
export async function raiseSubmissionAlerts(db: Db, actor: EscalationActor, auditId: string): Promise<number> {
  const audit = await selectEscalationAudit(db, actor.principal.organisationId, auditId);
  const kind = alertKind(audit?.auditorGrade ?? null, 'submitted');
  if (!audit || !kind) return 0;
  return raiseAlerts(db, actor, audit, kind);
}

/** The same at moderation, for the final grade. */
export async function raiseModeratedAlerts(db: Db, actor: EscalationActor, audit: EscalationAudit, finalGrade: string | null): Promise<number> {
  const kind = alertKind(finalGrade, 'moderated');
  return kind ? raiseAlerts(db, actor, audit, kind) : 0;
}

const validAddress = z.email();

/** Writes the alerts of one kind, e-mails each person newly alerted, and logs it. */
export async function raiseAlerts(db: Db, actor: EscalationActor, audit: EscalationAudit, kind: AuditAlertKind): Promise<number> {
  const people = await peopleToAlert(db, audit, ukDateAt(actor.at), kind);
  if (!people.length) return 0;
  const fresh = new Set(await insertAlerts(db, audit.organisationId, audit.id, kind, people.map((person) => person.staffId), actor.at));
  if (!fresh.size) return 0;
  const alerted = people.filter((person) => fresh.has(person.staffId));
  const contacts = new Map((await selectStaffContacts(db, audit.organisationId, [...fresh])).map((contact) => [contact.id, contact]));
  for (const person of alerted) {
    const contact = contacts.get(person.staffId);
    // Without a valid address the alert still waits on their home page and the audit's page.
    if (!contact?.email || !validAddress.safeParse(contact.email).success) continue;
    await enqueueEmail(db, {
      organisationId: audit.organisationId,
      to: contact.email,
      subject: `${GRADE_WORDS[gradeOfKind(kind)]}: case file audit ${audit.reference} of ${audit.childInitials} (${audit.childExternalId}) needs your ${kind.startsWith('inadequate') ? 'action today' : 'urgent review'}`,
      text: alertEmailText(audit, kind, contact.fullName, person.as),
      dedupeKey: `audit-alert:${kind}:${audit.id}:${person.staffId}`,
      now: actor.at,
    });
  }
  await logActivity(db, actor, {
    action: 'create',
    recordType: 'audit_alert',
    recordId: audit.id,
    childId: audit.childId,
    summary: `audit ${audit.reference} ${ALERT_KIND_LABELS[kind].toLowerCase()}: alerted ${alerted.map((person) => `staff ${person.staffId} (${ALERT_RECIPIENT_LABELS[person.as]})`).join(', ')}`,
  });
  return alerted.length;
}

const GRADE_WORDS = { inadequate: 'Inadequate', requires_improvement: 'Requires improvement' } as const;

function alertEmailText(audit: EscalationAudit, kind: AuditAlertKind, name: string, as: AlertRecipient): string {
  const grade = GRADE_WORDS[gradeOfKind(kind)];
  const moderated = kind.endsWith('_moderated');
  const what = moderated
    ? `The case file audit of ${audit.childInitials} (${audit.childExternalId}) has been moderated with the final grade ${grade}.`
    : `${audit.auditorName} has submitted the case file audit of ${audit.childInitials} (${audit.childExternalId}) with the overall grade ${grade}.`;
  const escalation = toolEscalation(audit.definition);
  const instruction = alertsAtGrade(escalation, gradeOfKind(kind)).instruction;
  const next =
    kind === 'inadequate_moderated' && as === 'service_manager' && escalation.caseDirection
      ? ['As the service manager, record a case direction for the case and review its actions within a month:', appLink(`/audits/${audit.id}/case-direction`)]
      : [
          instruction ? `The audit tool says: "${instruction}"` : kind.startsWith('inadequate') ? 'The child may need an urgent, same-day response.' : 'The case needs an urgent review.',
          'Open the audit in Assure and acknowledge the alert there:',
          appLink(`/audits/${audit.id}`),
        ];
  return [`${name},`, '', what, `You are alerted as the ${ALERT_RECIPIENT_LABELS[as]} for this case.`, '', `Audit tool: ${audit.toolName}`, `Audit: ${audit.reference}`, '', ...next].join('\n');
}

export type OpenAlert = { id: string; kind: AuditAlertKind; kindLabel: string; createdAt: string; auditId: string; href: string; title: string };

/** A person's alerts not yet acknowledged, newest first: for their home page. */
export async function listOpenAlerts(db: Db, organisationId: string, staffId: string): Promise<OpenAlert[]> {
  const rows = await selectOpenAlertsOf(db, organisationId, staffId);
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    kindLabel: ALERT_KIND_LABELS[row.kind],
    createdAt: new Date(row.created_at).toISOString(),
    auditId: row.audit_id,
    href: `/audits/${row.audit_id}`,
    title: `Audit ${row.reference}: ${row.initials} (${row.external_id}), ${row.tool_name}`,
  }));
}

/**
 * The person acknowledges their alerts about an audit. Someone who cannot see the audit gets
 * "not found"; someone who was not alerted about it is refused. Acknowledging twice is harmless.
 */
export async function acknowledgeAlert(db: Db, actor: EscalationActor, auditId: string): Promise<void> {
  const { principal } = actor;
  const audit = await findAudit(db, principal, auditId);
  if (!audit) throw notFound('Audit');
  const staffId = principal.staffId;
  const mine = staffId ? (await selectAlertsOfAudit(db, principal.organisationId, audit.id)).filter((alert) => alert.staffId === staffId) : [];
  if (!staffId || !mine.length) throw forbidden();
  await inTransaction(db, async (trx) => {
    const acknowledged = await acknowledgeAlerts(trx, principal.organisationId, audit.id, staffId, actor.at);
    if (!acknowledged) return;
    await logActivity(trx, actor, { action: 'update', recordType: 'audit_alert', recordId: audit.id, childId: audit.child.id, summary: `acknowledged ${acknowledged} alert(s)` });
  });
}
