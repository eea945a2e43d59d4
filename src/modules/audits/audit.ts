import type { Db } from '../../db/index.ts';
import type { AuditStatus, Grade } from '../../db/types.ts';
import { dataScope, type Principal } from '../../platform/access.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { STAGE_OF, type Stage } from './lifecycle.ts';
import { selectAuditInScope, selectAuditOverdue, selectAuditsByReferenceOrCaseId, selectAuditsOfAuditor, selectChildAudits } from './queries.ts';
import { auditStatusLabel, toTrackerAudit, type TrackerAudit } from './tracker.ts';
import { auditTimeline, type TimelineEntry } from './transitions.ts';
import { isoDay, isoTimestamp, jsonValue } from '../../db/values.ts';

/**
 * One audit as its page and the API show it, and the audits a person carries out. Reach is
 * the tracker's: whoever the tracker shows an audit to may open it.
 */

type Named = { id: string; name: string };

export type AuditRecord = {
  id: string;
  reference: number;
  status: AuditStatus;
  /** The stage of the lifecycle it is in, whose deadline stageDueOn is. */
  stage: Stage;
  /**
   * "Due": the deadline of the stage it is in (see CURRENT_DUE in queries.ts), null once closed;
   * whether that has passed is asked with auditOverdue.
   */
  stageDueOn: string | null;
  child: { id: string; externalId: string; initials: string };
  tool: { id: string; key: string; name: string; editionId: string; edition: string };
  auditor: Named;
  caseHolder: Named | null;
  moderator: Named | null;
  team: Named | null;
  service: Named | null;
  allocatedBy: Named | null;
  allocatedOn: string;
  /** The deadline allocation gave the auditor: history once the audit has moved on. */
  dueOn: string;
  submittedAt: string | null;
  moderatedAt: string | null;
  closedAt: string | null;
  answers: Record<string, unknown>;
  /** The moderator's development comments to the auditor. */
  moderatorComments: string | null;
  grades: {
    auditor: Grade | null;
    final: Grade | null;
    sections: { sectionKey: string; stage: 'auditor' | 'moderator' | 're_audit'; grade: string; reason: string | null }[];
  };
  /** Whether it is overdue, when it was found for a given day (findAudit's `today`). */
  overdue?: boolean;
  /** The audit this one re-audits (the re-audit of an Inadequate audit), else null. */
  reAuditOf: string | null;
  /** A re-audit done as a desktop review, not with the worker. */
  desktopOnly: boolean;
  /** Its version: a change made from a page carries it, and a stale one is refused. */
  version: number;
  /** When the stage it is in started. */
  stageStartedOn: string | null;
  /** The child's facts a tool's rules read (its legal status, date of birth, referral factors). */
  childFacts: { legalStatus: string; dateOfBirth: string | Date | null; referralFactors: unknown };
  /** What distribution keeps on it: the stage's own deadline, the case holder's feedback, who gave it and when, the closing comments. */
  distribution: { stageDueOn: string | null; feedback: Record<string, unknown> | null; feedbackBy: string | null; feedbackAt: string | null; closingComments: string | null };
};

const named = (id: string | null, name: string | null): Named | null => (id && name !== null ? { id, name } : null);

/** The audit if the person may see it, else null (so the caller answers "not found"). */
/** Whether an audit found with findAudit is overdue on `today` (the UK date by the app's clock). */
export function auditOverdue(db: Db, audit: AuditRecord, today: IsoDate): Promise<boolean> {
  return selectAuditOverdue(db, audit.id, today);
}

/** With `today`, the record also says whether it is overdue that day (its page shows it). */
export async function findAudit(db: Db, principal: Principal, auditId: string, today?: IsoDate): Promise<AuditRecord | null> {
  const row = await selectAuditInScope(db, dataScope(principal, 'audits.view'), auditId, today);
  if (!row) return null;
  const judgements = row.judgements;
  return {
    id: row.id,
    reference: row.reference,
    status: row.status,
    stage: STAGE_OF[row.status],
    stageDueOn: row.current_due_on,
    child: { id: row.child_id, externalId: row.child_external_id, initials: row.child_initials },
    tool: { id: row.tool_id, key: row.tool_key, name: row.tool_name, editionId: row.tool_edition_id, edition: row.tool_edition },
    auditor: { id: row.auditor_id, name: row.auditor_name },
    caseHolder: named(row.case_holder_id, row.case_holder_name),
    moderator: named(row.moderator_id, row.moderator_name),
    team: named(row.team_id, row.team_name),
    service: named(row.service_id, row.service_name),
    allocatedBy: named(row.allocated_by, row.allocated_by_name),
    allocatedOn: row.allocated_on,
    dueOn: row.due_on,
    submittedAt: isoTimestamp(row.submitted_at),
    moderatedAt: isoTimestamp(row.moderated_at),
    closedAt: isoTimestamp(row.closed_at),
    answers: row.answers,
    moderatorComments: row.moderator_comments,
    grades: {
      auditor: row.auditor_grade,
      final: row.final_grade,
      sections: judgements.map((judgement) => ({ sectionKey: judgement.section_key, stage: judgement.stage, grade: judgement.grade, reason: judgement.reason })),
    },
    ...(row.overdue === undefined ? {} : { overdue: Boolean(row.overdue) }),
    reAuditOf: row.re_audit_of,
    desktopOnly: Boolean(row.desktop_only),
    version: row.version,
    stageStartedOn: isoDay(row.stage_started_on),
    childFacts: { legalStatus: row.legal_status, dateOfBirth: row.date_of_birth, referralFactors: row.referral_factors },
    distribution: {
      stageDueOn: isoDay(row.stage_due_on),
      feedback: jsonValue<Record<string, unknown> | null>(row.practitioner_feedback) ?? null,
      feedbackBy: row.feedback_by_name,
      feedbackAt: isoTimestamp(row.feedback_at),
      closingComments: row.closing_comments,
    },
  };
}

/** "My audits": the audits the signed-in person carries out as auditor, latest due date first. */
export async function listMyAudits(db: Db, principal: Principal, today: IsoDate): Promise<TrackerAudit[]> {
  if (!principal.staffId) return [];
  const rows = await selectAuditsOfAuditor(db, principal.organisationId, principal.staffId, today);
  return rows.map(toTrackerAudit);
}

export type AuditLifecycle = {
  stage: Stage;
  stageStartedOn: string | null;
  /** Whether the audit's due date (the stage's deadline) has passed, by the one rule (overdueOn). */
  overdue: boolean;
  /** Every change of status, newest first. */
  timeline: TimelineEntry[];
  /** The status in words (auditStatusLabel); "Feedback given" once the case holder's feedback is in. */
  statusLabel: string;
};

/** Where an audit the person can see (found with findAudit) stands in its lifecycle, and how it got there. */
export async function auditLifecycle(db: Db, principal: Principal, audit: AuditRecord, today: IsoDate): Promise<AuditLifecycle> {
  // The record has the rest: only its timeline is asked for (and whether it is overdue, when not found for today).
  const [overdue, timeline] = await Promise.all([audit.overdue ?? selectAuditOverdue(db, audit.id, today), auditTimeline(db, principal.organisationId, audit.id)]);
  return {
    stage: audit.stage,
    stageStartedOn: audit.stageStartedOn,
    overdue,
    timeline,
    // The audit still awaits closing, but nothing more awaits the case holder.
    statusLabel: auditStatusLabel(audit.status, audit.distribution.feedbackAt !== null),
  };
}

/** A child's audits the person may see, open ones first then past (closed) ones, each newest first. */
export async function listChildAudits(db: Db, principal: Principal, childId: string, today: IsoDate): Promise<{ open: TrackerAudit[]; past: TrackerAudit[] }> {
  const rows = (await selectChildAudits(db, dataScope(principal, 'audits.view'), childId, today)).map(toTrackerAudit);
  return { open: rows.filter((audit) => audit.status !== 'closed'), past: rows.filter((audit) => audit.status === 'closed') };
}

/** How many results of each kind the header search shows; a longer list asks for the tracker. */
export const SEARCH_LIMIT = 20;

/**
 * The audits the header search finds for what was typed: by audit reference (a number, with or
 * without a leading "Audit") or by the child's case ID, within the person's reach as the tracker's.
 */
export async function searchAudits(db: Db, principal: Principal, text: string, today: IsoDate): Promise<TrackerAudit[]> {
  const term = text.trim();
  const number = /^(?:audit\s*)?#?(\d{1,9})$/i.exec(term)?.[1];
  const rows = await selectAuditsByReferenceOrCaseId(db, dataScope(principal, 'audits.view'), { reference: number ? Number(number) : null, caseId: term }, today, SEARCH_LIMIT);
  return rows.map(toTrackerAudit);
}
