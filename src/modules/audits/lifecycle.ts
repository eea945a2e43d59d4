import type { AuditStatus, Role } from '../../db/types.ts';
import { addCalendarMonths, addWeeks, workingDaysAfter, type HolidayCalendar, type IsoDate } from '../../platform/working-days.ts';

/**
 * The life of a collaborative case file audit, as one explicit table: allocated → in progress
 * → in moderation (↔ returned to the auditor) → moderated → distributed → awaiting
 * practitioner feedback → closed. Nothing here touches the database: transitions.ts applies
 * a transition, this says whether it is allowed, who may make it and what clock it starts.
 */

/** The statuses in the order an audit passes through them (returned sits beside moderation). */
export const LIFECYCLE_STATUSES: readonly AuditStatus[] = [
  'allocated',
  'in_progress',
  'in_moderation',
  'returned',
  'moderated',
  'distributed',
  'awaiting_feedback',
  'closed',
];

export type TransitionName = 'allocate' | 'start' | 'submit' | 'return' | 'resubmit' | 'moderate' | 'distribute' | 'requestFeedback' | 'close';

/** Who someone is in this audit, as against the roles their organisation gave them. */
export type AuditParty = 'auditor' | 'moderator' | 'case_holder';

export type Transition = {
  name: TransitionName;
  from: AuditStatus | null;
  to: AuditStatus;
  /** What the timeline says happened. */
  label: string;
  /** What the person does, for "You cannot … this audit". */
  verb: string;
  /** The person's part in this audit that allows it. */
  parties: readonly AuditParty[];
  /** Organisation roles that allow it, for any audit the person can see. */
  roles: readonly Role[];
  /** Parts of this audit that rule the person out whatever their roles: nobody moderates their own audit. */
  excludes: readonly AuditParty[];
  /** The question a required reason answers, e.g. what the auditor needs to change. */
  reason: { required: true; label: string } | null;
};

const QA: readonly Role[] = ['qa_coordinator', 'qa_lead'];
const MODERATORS: readonly Role[] = ['moderator', 'qa_lead'];

const transition = (
  name: TransitionName,
  from: AuditStatus | null,
  to: AuditStatus,
  words: { label: string; verb: string },
  who: Partial<Pick<Transition, 'parties' | 'roles' | 'excludes' | 'reason'>>,
): Transition => ({
  name,
  from,
  to,
  ...words,
  parties: who.parties ?? [],
  roles: who.roles ?? [],
  excludes: who.excludes ?? [],
  reason: who.reason ?? null,
});

/** How every audit begins: a QA coordinator allocates it (from no status at all). */
export const ALLOCATION: Transition = transition('allocate', null, 'allocated', { label: 'Allocated', verb: 'allocate' }, { roles: QA });

/** Every allowed change of status. A pair not listed here is refused. */
export const TRANSITIONS: readonly Transition[] = [
  transition('start', 'allocated', 'in_progress', { label: 'Audit started', verb: 'start' }, { parties: ['auditor'] }),
  transition('submit', 'in_progress', 'in_moderation', { label: 'Submitted for moderation', verb: 'submit' }, { parties: ['auditor'] }),
  transition('return', 'in_moderation', 'returned', { label: 'Returned to the auditor', verb: 'return' }, {
    parties: ['moderator'],
    roles: MODERATORS,
    excludes: ['auditor'],
    reason: { required: true, label: 'What needs to change' },
  }),
  transition('resubmit', 'returned', 'in_moderation', { label: 'Resubmitted for moderation', verb: 'resubmit' }, { parties: ['auditor'] }),
  transition('moderate', 'in_moderation', 'moderated', { label: 'Moderated', verb: 'moderate' }, { parties: ['moderator'], roles: MODERATORS, excludes: ['auditor'] }),
  transition('distribute', 'moderated', 'distributed', { label: 'Distributed', verb: 'distribute' }, { roles: QA }),
  transition('requestFeedback', 'distributed', 'awaiting_feedback', { label: 'Practitioner feedback requested', verb: 'request practitioner feedback on' }, { roles: QA }),
  transition('close', 'awaiting_feedback', 'closed', { label: 'Closed', verb: 'close' }, { roles: QA }),
];

/**
 * Steps on an audit's timeline that leave its status as it is: the case holder's feedback is
 * given (then perhaps changed) while the audit awaits it, and the QA coordinator closes it
 * once read. The timeline and My work show "feedback given" from these.
 */
export type StepName = 'giveFeedback' | 'changeFeedback';

export const STEPS: readonly { name: StepName; label: string }[] = [
  { name: 'giveFeedback', label: 'Practitioner feedback given' },
  { name: 'changeFeedback', label: 'Practitioner feedback changed' },
];

/** What the audit's status is called once its feedback is given (it still awaits closing). */
export const FEEDBACK_GIVEN_LABEL = 'Feedback given';

export function transitionFor(from: AuditStatus, to: AuditStatus): Transition | undefined {
  return TRANSITIONS.find((candidate) => candidate.from === from && candidate.to === to);
}

export function canTransition(from: AuditStatus, to: AuditStatus): boolean {
  return transitionFor(from, to) !== undefined;
}

/** The statuses an audit can move on to from where it is. */
export function nextStatuses(from: AuditStatus): AuditStatus[] {
  return TRANSITIONS.filter((candidate) => candidate.from === from).map((candidate) => candidate.to);
}

/** Someone acting on an audit: their parts in it and their organisation roles. */
export type TransitionActorFacts = { parties: readonly AuditParty[]; roles: readonly Role[] };

/** Whether this person may make this transition on this audit. */
export function mayMake(move: Transition, actor: TransitionActorFacts): boolean {
  if (move.excludes.some((party) => actor.parties.includes(party))) return false;
  return move.parties.some((party) => actor.parties.includes(party)) || move.roles.some((role) => actor.roles.includes(role));
}

/** Why a transition cannot be made as asked, in words a person can act on; null when it can. */
export function reasonProblem(move: Transition, reason: string | undefined): string | null {
  if (move.reason?.required && !reason?.trim()) return `Enter ${move.reason.label.toLowerCase()}`;
  return null;
}

// ---- timescales ---------------------------------------------------------------------------

/** A council's timescales. Working days unless the name says weeks or months. */
export type Timescales = {
  auditorDays: number;
  moderationDays: number;
  distributionDays: number;
  feedbackDays: number;
  reAuditWeeks: number;
  caseDirectionReviewMonths: number;
  actionVerificationMonths: number;
};

/** Bristol's process map; Telford's action verification (3 months after the due date). */
export const DEFAULT_TIMESCALES: Timescales = {
  auditorDays: 10,
  moderationDays: 10,
  distributionDays: 5,
  feedbackDays: 10,
  reAuditWeeks: 8,
  caseDirectionReviewMonths: 1,
  actionVerificationMonths: 3,
};

/**
 * The stage each status belongs to, and so whose clock runs. Starting the audit does not
 * restart the auditor's 10 days; distributing and requesting feedback share the QA
 * coordinator's 5; a closed audit has no deadline.
 */
export type Stage = 'auditor' | 'moderation' | 'distribution' | 'feedback' | 'closed';

export const STAGE_OF: Record<AuditStatus, Stage> = {
  allocated: 'auditor',
  in_progress: 'auditor',
  returned: 'auditor',
  in_moderation: 'moderation',
  moderated: 'distribution',
  distributed: 'distribution',
  awaiting_feedback: 'feedback',
  closed: 'closed',
};

function stageDays(stage: Stage, timescales: Timescales): number | null {
  switch (stage) {
    case 'auditor':
      return timescales.auditorDays;
    case 'moderation':
      return timescales.moderationDays;
    case 'distribution':
      return timescales.distributionDays;
    case 'feedback':
      return timescales.feedbackDays;
    case 'closed':
      return null;
  }
}

export type StageDates = { stageStartedOn: IsoDate; stageDueOn: IsoDate | null };

/**
 * The stage dates after moving from `from` to `to` on `today`: a new stage starts its clock
 * today; staying in the same stage keeps the dates it has (null: the transition leaves them).
 */
export function stageDatesAfter(from: AuditStatus | null, to: AuditStatus, today: IsoDate, timescales: Timescales, calendar: HolidayCalendar): StageDates | null {
  const stage = STAGE_OF[to];
  if (from !== null && STAGE_OF[from] === stage) return null;
  const days = stageDays(stage, timescales);
  return { stageStartedOn: today, stageDueOn: days === null ? null : workingDaysAfter(today, days, calendar) };
}

/** When an Inadequate audit is re-audited by a second auditor. */
export function reAuditDueOn(moderatedOn: IsoDate, timescales: Timescales): IsoDate {
  return addWeeks(moderatedOn, timescales.reAuditWeeks);
}

/** When the service manager reviews the actions of a case direction. */
export function caseDirectionReviewDueOn(directedOn: IsoDate, timescales: Timescales): IsoDate {
  return addCalendarMonths(directedOn, timescales.caseDirectionReviewMonths);
}

/** When the auditor checks an action was done: months after the action's own due date. */
export function actionVerificationDueOn(actionDueOn: IsoDate, timescales: Timescales): IsoDate {
  return addCalendarMonths(actionDueOn, timescales.actionVerificationMonths);
}

/** Whether a deadline has passed: asked when needed, never stored. */
export function isOverdue(dueOn: IsoDate | null, today: IsoDate): boolean {
  return dueOn !== null && dueOn < today;
}
