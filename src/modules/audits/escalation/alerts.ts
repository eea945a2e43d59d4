/**
 * Alerts: "Inadequate at any point → immediate escalation" (PROCESS.md §4.3). The moment an
 * audit is submitted, or moderated, with the overall grade Inadequate, each person the tool
 * names (the service manager; Bolton: also the team manager and head of service) gets an alert
 * and an e-mail, in the transaction that grades it. An alert stays open on the person's home
 * page and on the audit's page until they acknowledge it. One alert of each kind per person
 * and audit: a resubmission never alerts anyone twice.
 */
import { z } from 'zod';
import { inTransaction, type Db } from '../../../db/index.ts';
import type { AuditAlertKind } from '../../../db/types.ts';
import type { Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { forbidden, notFound } from '../../../platform/errors.ts';
import { appLink, enqueueEmail } from '../../../platform/outbox.ts';
import { escalationSchema, type AlertRecipient } from '../../tools/schema.ts';
import { findAudit } from '../audit.ts';
import { candidates, ruleFromSettings } from '../moderation/rule.ts';
import { insertAlerts, acknowledgeAlerts, selectAlertsOfAudit, selectEscalationAudit, selectOpenAlertsOf, selectOrganisationSettings, selectStaffContacts, type EscalationAudit } from './queries.ts';
import { ALERT_RECIPIENT_LABELS, alertRecipients, DEFAULT_ALERT_RECIPIENTS, type AlertedPerson } from './rule.ts';
import { type IsoDate } from '../../../platform/working-days.ts';
import { ukDateAt } from '../../../platform/clock.ts';

export type EscalationActor = { principal: Principal; ipAddress: string | null; at: Date };

export const ALERT_KIND_LABELS: Record<AuditAlertKind, string> = {
  inadequate_submitted: 'Submitted Inadequate',
  inadequate_moderated: 'Moderated Inadequate',
};

/** Who a tool alerts: its own `escalation.inadequateAlerts`, else the service manager. */
export function alertKindsOf(definition: unknown): readonly AlertRecipient[] {
  const own = definition && typeof definition === 'object' ? (definition as Record<string, unknown>).escalation : undefined;
  const parsed = escalationSchema.safeParse(own);
  return parsed.success ? parsed.data.inadequateAlerts : DEFAULT_ALERT_RECIPIENTS;
}

/** The people an Inadequate grade on this audit alerts, by its tool and the organisation's staff today. */
export async function peopleToAlert(db: Db, audit: EscalationAudit, today: IsoDate): Promise<AlertedPerson[]> {
  const rule = ruleFromSettings(await selectOrganisationSettings(db, audit.organisationId));
  const staff = await candidates(db, audit.organisationId, today);
  return alertRecipients(rule, alertKindsOf(audit.definition), { serviceId: audit.serviceId, caseHolderId: audit.caseHolderId, auditorId: audit.auditorId }, staff);
}

/**
 * Alerts everyone the audit's tool names that the audit was submitted Inadequate: call it in
 * the submission's transaction, after the auditor's grade is recorded. Does nothing for any
 * other grade, or for people already alerted. Returns how many were newly alerted.
 */
export async function raiseInadequateAlerts(db: Db, actor: EscalationActor, auditId: string): Promise<number> {
  const audit = await selectEscalationAudit(db, actor.principal.organisationId, auditId);
  if (!audit || audit.auditorGrade !== 'inadequate') return 0;
  return alertInadequate(db, actor, audit, 'inadequate_submitted');
}

const validAddress = z.email();

/** Writes the alerts of one kind, e-mails each person newly alerted, and logs it. */
export async function alertInadequate(db: Db, actor: EscalationActor, audit: EscalationAudit, kind: AuditAlertKind): Promise<number> {
  const people = await peopleToAlert(db, audit, ukDateAt(actor.at));
  const fresh = new Set(await insertAlerts(db, audit.organisationId, audit.id, kind, people.map((person) => person.staffId)));
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
      subject: `Inadequate: case file audit ${audit.reference} of ${audit.childInitials} (${audit.childExternalId}) needs your action today`,
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

function alertEmailText(audit: EscalationAudit, kind: AuditAlertKind, name: string, as: AlertRecipient): string {
  const what =
    kind === 'inadequate_submitted'
      ? `${audit.auditorName} has submitted the case file audit of ${audit.childInitials} (${audit.childExternalId}) with the overall grade Inadequate.`
      : `The case file audit of ${audit.childInitials} (${audit.childExternalId}) has been moderated with the final grade Inadequate.`;
  const next =
    kind === 'inadequate_moderated' && as === 'service_manager'
      ? ['As the service manager, record a case direction for the case and review its actions within a month:', appLink(`/audits/${audit.id}/case-direction`)]
      : ['The child may need an urgent, same-day response. Open the audit in Assure and acknowledge the alert there:', appLink(`/audits/${audit.id}`)];
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
