import type { Db } from '../../../db/index.ts';
import type { Grade } from '../../../db/types.ts';
import { can, type Principal } from '../../../platform/access.ts';
import { ACTION_STATUS_LABELS } from '../../actions/service.ts';
import type { AuditRecord } from '../audit.ts';
import { findAudit } from '../audit.ts';
import { auditStatusLabel, GRADE_LABELS } from '../tracker.ts';
import { ALERT_KIND_LABELS } from './alerts.ts';
import { mayDirect, needsCaseDirection, serviceManagerOf } from './case-direction.ts';
import { escalationAuditOf, selectActionsOfAudit, selectAlertsOfAudit, selectCaseDirection, selectEscalationAudit, selectReAuditOf, type ActionToReview, type EscalationAudit, type ReAuditRow } from './queries.ts';
import { needsReAudit } from './re-audit.ts';
import { REVIEW_NOTES_MAX } from './review.ts';
import { alertsAtGrade, toolEscalation } from '../../tools/escalation.ts';
import { type IsoDate } from '../../../platform/working-days.ts';

export const gradeLabel = (grade: Grade | null) => (grade ? GRADE_LABELS[grade] : null);

const SOURCE_LABELS: Record<ActionToReview['source'], string> = { action_plan: 'Action plan', moderation: 'Recommended by the moderator (second line)', case_direction: 'Case direction' };

function actionViews(actions: ActionToReview[]) {
  return actions.map((action) => ({ ...action, sourceLabel: SOURCE_LABELS[action.source], statusLabel: ACTION_STATUS_LABELS[action.status] }));
}

/** The grade a re-audit stands at: the moderated one, else the auditor's until it is moderated. */
export function reAuditGrade(row: Pick<ReAuditRow, 'finalGrade' | 'auditorGrade'>) {
  const grade = row.finalGrade ?? row.auditorGrade;
  return grade ? { label: GRADE_LABELS[grade], moderated: row.finalGrade !== null } : null;
}

export type ReAuditContext = {
  first: { id: string; reference: number; gradeLabel: string | null; visible: boolean };
  desktopOnly: boolean;
  actions: ReturnType<typeof actionViews>;
};

/**
 * What a re-audit's page and form show of the audit it re-audits: which audit and its grade,
 * that it is desktop only, and the first audit's actions (with their status) to review. Null
 * for an audit that is not a re-audit. The first audit's actions are the re-auditor's brief,
 * so they are shown even to a re-auditor whose own reach does not include the first audit.
 */
export async function reAuditContext(db: Db, principal: Principal, auditId: string, known?: EscalationAudit): Promise<ReAuditContext | null> {
  // `known`: the audit's escalation facts when the caller has just read them (the audit's page).
  const audit = known ?? (await selectEscalationAudit(db, principal.organisationId, auditId));
  if (!audit?.reAuditOf) return null;
  const first = await selectEscalationAudit(db, principal.organisationId, audit.reAuditOf);
  if (!first) return null;
  return {
    first: { id: first.id, reference: first.reference, gradeLabel: gradeLabel(first.finalGrade), visible: (await findAudit(db, principal, first.id)) !== null },
    desktopOnly: audit.desktopOnly,
    actions: actionViews(await selectActionsOfAudit(db, principal.organisationId, first.id)),
  };
}

/** What the audit's page shows of an Inadequate escalation, or null for nothing. */
export async function escalationPanel(db: Db, principal: Principal, audit: AuditRecord, today: IsoDate): Promise<Record<string, unknown> | null> {
  const organisationId = principal.organisationId;
  const [facts, alerts] = await Promise.all([escalationAuditOf(db, organisationId, audit), selectAlertsOfAudit(db, organisationId, audit.id)]);
  if (!facts) return null;
  const reAuditOf = await reAuditContext(db, principal, audit.id, facts);
  const finalInadequate = facts.finalGrade === 'inadequate';
  // A final Inadequate shows the panel only where the tool sets a re-audit or a case direction off.
  const escalation = toolEscalation(facts.definition);
  const setsOff = finalInadequate && (escalation.reAudit !== null || escalation.caseDirection);
  if (!alerts.length && !reAuditOf && !setsOff) return null;

  const mine = principal.staffId ? alerts.filter((alert) => alert.staffId === principal.staffId) : [];
  // The grade the escalation is about: Inadequate whenever it is one, else Requires improvement (Bolton).
  const grade = finalInadequate || alerts.some((alert) => alert.kind.startsWith('inadequate')) ? 'inadequate' : 'requires_improvement';
  const reAudit = finalInadequate && !facts.reAuditOf ? await selectReAuditOf(db, organisationId, audit.id) : undefined;
  const recordedDirection = finalInadequate ? await selectCaseDirection(db, organisationId, audit.id) : undefined;
  return {
    auditId: audit.id,
    reference: audit.reference,
    heading: `${gradeLabel(grade)}: escalation`,
    // What the tool's form asks of the people alerted, in its words.
    instruction: alerts.length ? alertsAtGrade(escalation, grade).instruction : null,
    alerts: alerts.map((alert) => ({ ...alert, kindLabel: ALERT_KIND_LABELS[alert.kind], mine: alert.staffId === principal.staffId })),
    canAcknowledge: mine.some((alert) => alert.acknowledgedAt === null),
    reAuditOf,
    // This audit is itself a re-audit: its grade against the first's.
    ownGrade: reAuditOf ? reAuditGrade(facts) : null,
    reAudit: reAudit ? { ...reAudit, statusLabel: auditStatusLabel(reAudit.status, reAudit.feedbackGivenAt !== null), grade: reAuditGrade(reAudit), firstGradeLabel: gradeLabel(facts.finalGrade) } : null,
    reAuditMissing: needsReAudit(facts) && !reAudit,
    canAllocateReAudit: can(principal, 'audits.allocate'),
    reAuditOfReAudit: needsReAudit({ ...facts, reAuditOf: null }) && facts.reAuditOf !== null,
    // A direction already recorded is shown whatever the tool says now; none is asked for where the tool sets none off.
    caseDirection: needsCaseDirection(facts) || recordedDirection ? await caseDirectionPanel(db, principal, facts, today) : null,
  };
}

async function caseDirectionPanel(db: Db, principal: Principal, facts: NonNullable<Awaited<ReturnType<typeof selectEscalationAudit>>>, today: IsoDate) {
  const recorded = await selectCaseDirection(db, principal.organisationId, facts.id);
  const serviceManager = await serviceManagerOf(db, facts, today);
  const mayAct = mayDirect(principal, serviceManager?.id ?? null);
  const actions = recorded ? actionViews((await selectActionsOfAudit(db, principal.organisationId, facts.id)).filter((action) => action.source === 'case_direction')) : [];
  const toReview = recorded !== undefined && recorded.review === null;
  return {
    recorded: recorded ?? null,
    actions,
    serviceManagerName: serviceManager?.name ?? null,
    canRecord: !recorded && mayAct,
    reviewOverdue: toReview && recorded.reviewDueOn < today,
    // The review form, for who may direct the case, until the direction is reviewed.
    reviewForm: toReview && mayAct ? { auditId: facts.id, notes: '', maxLength: REVIEW_NOTES_MAX } : null,
  };
}
