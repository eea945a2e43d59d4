import { sql } from 'kysely';
import { inTransaction, type Db } from '../../db/index.ts';
import type { AuditStatus } from '../../db/types.ts';
import { dataScope, roles, type Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { ukDateAt } from '../../platform/clock.ts';
import { isIsoDate, type IsoDate } from '../../platform/working-days.ts';
import { holidayCalendarFor } from '../org/calendar.ts';
import { ALLOCATION, DEFAULT_TIMESCALES, STEPS, TRANSITIONS, mayMake, reasonProblem, stageDatesAfter, transitionFor, type AuditParty, type StepName, type Timescales, type Transition, type TransitionName } from './lifecycle.ts';
import { selectAuditInScope } from './queries.ts';

/**
 * Applying the lifecycle (lifecycle.ts) to an audit. A transition is one transaction: the
 * audit's row is locked, the move and the person checked, then the status, version and stage
 * dates change, the transition is recorded and the activity logged — all of it or, if
 * anything fails or the process dies, none of it.
 */

export type TransitionActor = { principal: Principal; ipAddress: string | null; at: Date };

export type TransitionRefusal = 'illegal' | 'stale' | 'not-allowed' | 'reason-required';

/** A transition refused: illegal or stale (409), not this person's to make (403), or missing its reason (422). */
export class TransitionRefused extends AppError {
  readonly refusal: TransitionRefusal;

  constructor(refusal: TransitionRefusal, message: string) {
    const code = refusal === 'not-allowed' ? 'FORBIDDEN' : refusal === 'reason-required' ? 'INVALID' : 'CONFLICT';
    super(code, message, refusal === 'reason-required' ? [{ field: 'reason', message }] : []);
    this.refusal = refusal;
  }
}

export type TransitionOutcome = {
  transition: TransitionName;
  from: AuditStatus;
  to: AuditStatus;
  version: number;
  stageStartedOn: string | null;
  stageDueOn: string | null;
};

export type TransitionOptions = {
  reason?: string | undefined;
  /** The version the person's page was loaded at: a newer audit refuses the move as stale. */
  expectedVersion?: number | undefined;
  /** The UK date the stage starts on; the actor's today unless said otherwise (the demo's past). */
  today?: IsoDate | undefined;
};

/** The organisation's timescales: its own row if it has one, else Bristol's. */
export async function timescalesFor(db: Db, organisationId: string): Promise<Timescales> {
  const row = await db.selectFrom('organisation_timescales').selectAll().where('organisation_id', '=', organisationId).executeTakeFirst();
  if (!row) return DEFAULT_TIMESCALES;
  return {
    auditorDays: row.auditor_days,
    moderationDays: row.moderation_days,
    distributionDays: row.distribution_days,
    feedbackDays: row.feedback_days,
    reAuditWeeks: row.re_audit_weeks,
    caseDirectionReviewMonths: row.case_direction_review_months,
    actionVerificationMonths: row.action_verification_months,
  };
}


const STATUS_WORDS: Record<AuditStatus, string> = {
  allocated: 'allocated',
  in_progress: 'in progress',
  in_moderation: 'in moderation',
  returned: 'returned to the auditor',
  moderated: 'moderated',
  distributed: 'distributed',
  awaiting_feedback: 'awaiting practitioner feedback',
  closed: 'closed',
};

type LockedAudit = {
  id: string;
  organisation_id: string;
  child_id: string;
  status: AuditStatus;
  version: number;
  auditor_id: string;
  moderator_id: string | null;
  case_holder_id: string | null;
};

function partiesOf(audit: LockedAudit, staffId: string | null): AuditParty[] {
  if (!staffId) return [];
  const parties: AuditParty[] = [];
  if (audit.auditor_id === staffId) parties.push('auditor');
  if (audit.moderator_id === staffId) parties.push('moderator');
  if (audit.case_holder_id === staffId) parties.push('case_holder');
  return parties;
}

/** The person may make the move by their part in the audit, or by a role reaching the audit. */
async function checkActor(db: Db, principal: Principal, audit: LockedAudit, move: Transition): Promise<void> {
  const parties = partiesOf(audit, principal.staffId);
  const byParty = mayMake(move, { parties, roles: [] });
  const byRole = mayMake(move, { parties, roles: roles(principal) });
  if (byParty) return;
  if (byRole && (await selectAuditInScope(db, dataScope(principal, 'audits.view'), audit.id))) return;
  throw new TransitionRefused('not-allowed', `You cannot ${move.verb} this audit`);
}

/**
 * Moves an audit to `to`. Called with a transaction it joins it, so a page's save and the
 * move it makes commit together. Refuses, changing nothing, a move the lifecycle does not
 * allow, a move by someone it is not for, a return without its reason, and a move from a
 * version older than the audit's (someone else moved or saved it meanwhile).
 */
export async function transitionAudit(db: Db, actor: TransitionActor, auditId: string, to: AuditStatus, options: TransitionOptions = {}): Promise<TransitionOutcome> {
  const { principal } = actor;
  const today = options.today ?? ukDateAt(actor.at);
  if (!isIsoDate(today)) throw new RangeError(`today must be a date in the form YYYY-MM-DD, not ${JSON.stringify(today)}`);
  return inTransaction(db, async (trx) => {
    // The lock makes concurrent moves of one audit queue: the second sees the first's result.
    const audit = await trx
      .selectFrom('audits')
      .select(['id', 'organisation_id', 'child_id', 'status', 'version', 'auditor_id', 'moderator_id', 'case_holder_id'])
      .where('id', '=', auditId)
      .where('organisation_id', '=', principal.organisationId)
      .forUpdate()
      .executeTakeFirst();
    if (!audit) throw notFound('Audit');
    if (options.expectedVersion !== undefined && audit.version !== options.expectedVersion) {
      throw new TransitionRefused('stale', 'Someone else has changed this audit since you opened it. Check it as it is now, then try again.');
    }
    const move = transitionFor(audit.status, to);
    if (!move) throw new TransitionRefused('illegal', `An audit that is ${STATUS_WORDS[audit.status]} cannot become ${STATUS_WORDS[to]}`);
    await checkActor(trx, principal, audit, move);
    const problem = reasonProblem(move, options.reason);
    if (problem) throw new TransitionRefused('reason-required', problem);

    const dates = stageDatesAfter(audit.status, to, today, await timescalesFor(trx, audit.organisation_id), await holidayCalendarFor(trx, audit.organisation_id));
    const updated = await trx
      .updateTable('audits')
      .set({
        status: to,
        version: sql<number>`version + 1`,
        updated_at: sql<string>`now()`,
        ...(dates ? { stage_started_on: dates.stageStartedOn, stage_due_on: dates.stageDueOn } : {}),
        ...timestampsOf(move, actor.at),
      })
      .where('id', '=', audit.id)
      .where('version', '=', audit.version)
      .returning(['version', 'stage_started_on', 'stage_due_on'])
      .executeTakeFirstOrThrow();
    const reason = options.reason?.trim() || null;
    await recordTransition(trx, actor, { organisationId: audit.organisation_id, auditId: audit.id, from: audit.status, to, name: move.name, reason });
    await logActivity(trx, actor, {
      action: 'update',
      recordType: 'audit',
      recordId: audit.id,
      childId: audit.child_id,
      summary: `audit ${STATUS_WORDS[audit.status]} → ${STATUS_WORDS[to]} (${move.name})${reason ? `: ${reason}` : ''}`,
    });
    return { transition: move.name, from: audit.status, to, version: updated.version, stageStartedOn: updated.stage_started_on, stageDueOn: updated.stage_due_on };
  });
}

/** The audit's own dates that say when it reached a status. */
function timestampsOf(move: Transition, now: Date) {
  switch (move.name) {
    case 'submit':
    case 'resubmit':
      return { submitted_at: now };
    case 'moderate':
      return { moderated_at: now };
    case 'close':
      return { closed_at: now };
    default:
      return {};
  }
}

async function recordTransition(
  db: Db,
  actor: TransitionActor,
  row: { organisationId: string; auditId: string; from: AuditStatus | null; to: AuditStatus; name: TransitionName | StepName; reason: string | null },
): Promise<void> {
  await db
    .insertInto('audit_transitions')
    .values({
      organisation_id: row.organisationId,
      audit_id: row.auditId,
      from_status: row.from,
      to_status: row.to,
      transition: row.name,
      actor_user_id: actor.principal.userId,
      actor_label: actor.principal.displayName,
      reason: row.reason,
      at: actor.at,
    })
    .execute();
}

/** The first row of an audit's timeline: its allocation. Written in allocation's transaction. */
export async function recordAllocation(db: Db, actor: TransitionActor, audit: { id: string; organisationId: string }): Promise<void> {
  await recordTransition(db, actor, { organisationId: audit.organisationId, auditId: audit.id, from: ALLOCATION.from, to: ALLOCATION.to, name: ALLOCATION.name, reason: null });
}

/**
 * A step on the audit's timeline that keeps its status (lifecycle.ts STEPS), written in the
 * transaction of the change it records: from and to are both the status it stays in.
 */
export async function recordStep(db: Db, actor: TransitionActor, step: { organisationId: string; auditId: string; status: AuditStatus; name: StepName }): Promise<void> {
  await recordTransition(db, actor, { organisationId: step.organisationId, auditId: step.auditId, from: step.status, to: step.status, name: step.name, reason: null });
}

export type ReturnRequest = { reason: string; by: string; at: string };

/** What the moderator asked to change when they last returned the audit, or null. */
export async function latestReturn(db: Db, organisationId: string, auditId: string): Promise<ReturnRequest | null> {
  const row = await db
    .selectFrom('audit_transitions as t')
    .leftJoin('users as u', 'u.id', 't.actor_user_id')
    .select(['t.reason', 't.actor_label', 'u.display_name', 't.at'])
    .where('t.organisation_id', '=', organisationId)
    .where('t.audit_id', '=', auditId)
    .where('t.transition', '=', 'return')
    .orderBy('t.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row?.reason) return null;
  return { reason: row.reason, by: row.display_name ?? row.actor_label, at: new Date(row.at).toISOString() };
}

export type TimelineEntry = {
  id: number;
  transition: string;
  label: string;
  from: AuditStatus | null;
  to: AuditStatus;
  by: string;
  at: string;
  reason: string | null;
};

/** The audit's transitions, newest first, for its timeline. */
export async function auditTimeline(db: Db, organisationId: string, auditId: string): Promise<TimelineEntry[]> {
  const rows = await db
    .selectFrom('audit_transitions as t')
    .leftJoin('users as u', 'u.id', 't.actor_user_id')
    .select(['t.id', 't.transition', 't.from_status', 't.to_status', 't.actor_label', 'u.display_name', 't.at', 't.reason'])
    .where('t.organisation_id', '=', organisationId)
    .where('t.audit_id', '=', auditId)
    .orderBy('t.id', 'desc')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    transition: row.transition,
    label: labelOf(row.transition, row.to_status),
    from: row.from_status,
    to: row.to_status,
    by: row.display_name ?? row.actor_label,
    at: new Date(row.at).toISOString(),
    reason: row.reason,
  }));
}

const LABELS = new Map<string, string>([ALLOCATION, ...TRANSITIONS, ...STEPS].map((move) => [move.name, move.label]));

function labelOf(name: string, to: AuditStatus): string {
  return LABELS.get(name) ?? STATUS_WORDS[to];
}
