/**
 * Who an audit's grade escalates to (the kinds of people come from its tool: tools/escalation.ts),
 * and who re-audits it. Pure: the callers give every
 * current member of staff as a candidate (moderation/rule.ts `candidates`), so these rules are
 * tested without a database.
 */
import type { AlertRecipient } from '../../tools/schema.ts';
import { chooseServiceManager, type ModerationRule, type ModeratorCandidate } from '../moderation/rule.ts';

/** The job-title words that make someone a Head of Service (Bolton's escalation). */
export const HEAD_OF_SERVICE_TITLE = 'Head of Service';

export const ALERT_RECIPIENT_LABELS: Record<AlertRecipient, string> = {
  service_manager: 'service manager',
  team_manager: 'team manager',
  head_of_service: 'head of service',
};

/** The case as the rules see it. */
export type EscalatedCase = { serviceId: string | null; caseHolderId: string | null; auditorId: string };

export type AlertedPerson = { staffId: string; as: AlertRecipient };

const titled = (jobTitle: string, words: string) => jobTitle.toLowerCase().includes(words.toLowerCase());

/** The people up a person's line management, nearest first, stopping at a loop. */
function lineManagersOf(personId: string | null, byId: ReadonlyMap<string, ModeratorCandidate>): ModeratorCandidate[] {
  const managers: ModeratorCandidate[] = [];
  const seen = new Set<string>(personId ? [personId] : []);
  let next = personId ? byId.get(personId)?.lineManagerId : undefined;
  while (next && !seen.has(next)) {
    seen.add(next);
    const manager = byId.get(next);
    if (!manager) break;
    managers.push(manager);
    next = manager.lineManagerId;
  }
  return managers;
}

/** A Head of Service of the case's service, else the first one up the case holder's line management. */
export function chooseHeadOfService(serviceId: string | null, caseHolderId: string | null, staff: readonly ModeratorCandidate[]): string | null {
  const isHead = (member: ModeratorCandidate) => titled(member.jobTitle, HEAD_OF_SERVICE_TITLE);
  const inService = serviceId ? staff.find((member) => member.serviceId === serviceId && isHead(member)) : undefined;
  if (inService) return inService.id;
  const byId = new Map(staff.map((member) => [member.id, member]));
  return lineManagersOf(caseHolderId, byId).find(isHead)?.id ?? null;
}

/**
 * Who is alerted when an audit is given a grade its tool alerts on: each kind of person the tool
 * lists for that grade, once each, in the tool's order. The auditor is never
 * alerted about their own grading; someone who fills two parts is alerted once, as the first.
 */
export function alertRecipients(rule: ModerationRule, kinds: readonly AlertRecipient[], audit: EscalatedCase, staff: readonly ModeratorCandidate[]): AlertedPerson[] {
  const byId = new Map(staff.map((member) => [member.id, member]));
  const find = (kind: AlertRecipient): string | null => {
    switch (kind) {
      case 'service_manager':
        return chooseServiceManager(rule, audit.serviceId, audit.caseHolderId, staff);
      case 'team_manager': {
        const managerId = audit.caseHolderId ? byId.get(audit.caseHolderId)?.lineManagerId : null;
        return managerId && byId.has(managerId) ? managerId : null;
      }
      case 'head_of_service':
        return chooseHeadOfService(audit.serviceId, audit.caseHolderId, staff);
    }
  };
  const people: AlertedPerson[] = [];
  for (const kind of kinds) {
    const staffId = find(kind);
    if (!staffId || staffId === audit.auditorId || people.some((person) => person.staffId === staffId)) continue;
    people.push({ staffId, as: kind });
  }
  return people;
}

/** The audit being re-audited, as the re-auditor rule sees it. */
export type ReAuditedCase = { serviceId: string | null; auditorId: string; caseHolderId: string | null; moderatorIds: readonly (string | null)[] };

/** Whether a member of staff holds the auditor role for the case's service (or the whole organisation). */
export function auditsService(member: ModeratorCandidate, serviceId: string | null): boolean {
  return member.grants.some((grant) => grant.role === 'auditor' && (grant.serviceId === null || serviceId === null || grant.serviceId === serviceId));
}

/**
 * The second auditor of an Inadequate audit (PROCESS.md §4.7): someone holding the auditor role
 * who reaches the case's service, and who is neither the first auditor, the case holder nor the
 * moderator. Someone of the same service first; then whoever has the fewest audits in hand;
 * then the order given (by name). Null when nobody qualifies: the QA coordinator then chooses.
 */
export function chooseReAuditor(audit: ReAuditedCase, staff: readonly ModeratorCandidate[], auditsInHand: ReadonlyMap<string, number> = new Map()): string | null {
  const excluded = new Set([audit.auditorId, audit.caseHolderId, ...audit.moderatorIds].filter((id): id is string => Boolean(id)));
  const eligible = staff
    .map((member, order) => ({ member, order }))
    .filter(({ member }) => !excluded.has(member.id) && auditsService(member, audit.serviceId));
  const sameService = (member: ModeratorCandidate) => (audit.serviceId !== null && member.serviceId === audit.serviceId ? 0 : 1);
  eligible.sort(
    (a, b) =>
      sameService(a.member) - sameService(b.member) || (auditsInHand.get(a.member.id) ?? 0) - (auditsInHand.get(b.member.id) ?? 0) || a.order - b.order,
  );
  return eligible[0]?.member.id ?? null;
}
