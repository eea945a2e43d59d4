import { describe, expect, it } from 'vitest';
import type { AuditStatus } from '../src/db/types.ts';
import {
  actionVerificationDueOn,
  ALLOCATION,
  canTransition,
  caseDirectionReviewDueOn,
  DEFAULT_TIMESCALES,
  isOverdue,
  LIFECYCLE_STATUSES,
  mayMake,
  nextStatuses,
  reAuditDueOn,
  reasonProblem,
  stageDatesAfter,
  transitionFor,
  TRANSITIONS,
  type TransitionName,
} from '../src/modules/audits/lifecycle.ts';
import { bundledHolidayCalendar } from '../src/platform/bank-holidays/index.ts';

/** The lifecycle as the framework describes it: every allowed move and its name. Everything else is refused. */
const ALLOWED: Record<string, TransitionName> = {
  'allocated → in_progress': 'start',
  'in_progress → in_moderation': 'submit',
  'in_moderation → returned': 'return',
  'returned → in_moderation': 'resubmit',
  'in_moderation → moderated': 'moderate',
  'moderated → distributed': 'distribute',
  'distributed → awaiting_feedback': 'requestFeedback',
  'awaiting_feedback → closed': 'close',
};

const PAIRS = LIFECYCLE_STATUSES.flatMap((from) => LIFECYCLE_STATUSES.map((to) => [from, to] as [AuditStatus, AuditStatus]));

describe('the audit lifecycle', () => {
  it('knows all eight statuses, each once', () => {
    expect(new Set(LIFECYCLE_STATUSES).size).toBe(8);
    expect(PAIRS).toHaveLength(64);
  });

  it.each(PAIRS)('%s → %s is allowed only if the lifecycle lists it', (from, to) => {
    const expected = ALLOWED[`${from} → ${to}`];
    expect(canTransition(from, to)).toBe(expected !== undefined);
    expect(transitionFor(from, to)?.name).toBe(expected);
  });

  it('lists exactly the allowed transitions, each pair once', () => {
    expect(TRANSITIONS.map((move) => `${move.from} → ${move.to}`).sort()).toEqual(Object.keys(ALLOWED).sort());
    expect(new Set(TRANSITIONS.map((move) => move.name)).size).toBe(TRANSITIONS.length);
  });

  it('never goes back from closed, nor stays where it is', () => {
    expect(nextStatuses('closed')).toEqual([]);
    for (const status of LIFECYCLE_STATUSES) expect(canTransition(status, status)).toBe(false);
    expect(nextStatuses('in_moderation').sort()).toEqual(['moderated', 'returned']);
  });

  it('begins with an allocation by a QA coordinator, from no status', () => {
    expect(ALLOCATION).toMatchObject({ name: 'allocate', from: null, to: 'allocated' });
    expect(mayMake(ALLOCATION, { parties: [], roles: ['qa_coordinator'] })).toBe(true);
    expect(mayMake(ALLOCATION, { parties: ['auditor'], roles: ['auditor'] })).toBe(false);
  });
});

describe('who may make each transition', () => {
  const move = (name: TransitionName) => TRANSITIONS.find((candidate) => candidate.name === name)!;

  it("the audit's own auditor starts, submits and resubmits it; an auditor of other audits does not", () => {
    for (const name of ['start', 'submit', 'resubmit'] as const) {
      expect(mayMake(move(name), { parties: ['auditor'], roles: [] })).toBe(true);
      expect(mayMake(move(name), { parties: [], roles: ['auditor', 'qa_coordinator', 'moderator'] })).toBe(false);
    }
  });

  it("moderates and returns: the audit's moderator or a moderator by role, but never the audit's own auditor", () => {
    for (const name of ['moderate', 'return'] as const) {
      expect(mayMake(move(name), { parties: ['moderator'], roles: [] })).toBe(true);
      expect(mayMake(move(name), { parties: [], roles: ['moderator'] })).toBe(true);
      expect(mayMake(move(name), { parties: ['auditor'], roles: ['moderator', 'qa_lead'] })).toBe(false);
      expect(mayMake(move(name), { parties: ['case_holder'], roles: ['practitioner'] })).toBe(false);
    }
  });

  it('distributes, requests feedback and closes: the QA coordinator', () => {
    for (const name of ['distribute', 'requestFeedback', 'close'] as const) {
      expect(mayMake(move(name), { parties: [], roles: ['qa_coordinator'] })).toBe(true);
      expect(mayMake(move(name), { parties: ['auditor', 'moderator'], roles: ['auditor', 'moderator'] })).toBe(false);
    }
  });

  it('a return needs what has to change; nothing else needs a reason', () => {
    expect(reasonProblem(move('return'), undefined)).toBe('Enter what needs to change');
    expect(reasonProblem(move('return'), '   ')).toBe('Enter what needs to change');
    expect(reasonProblem(move('return'), 'Evidence the management oversight')).toBeNull();
    for (const other of TRANSITIONS.filter((candidate) => candidate.name !== 'return')) expect(reasonProblem(other, undefined)).toBeNull();
  });
});

describe('stage deadlines', () => {
  const calendar = bundledHolidayCalendar('england-and-wales');

  it('starts a new stage with its own working days, across bank holidays', () => {
    // Friday 18 December 2026: 10 working days skip Christmas Day, the Boxing Day substitute (Monday 28th) and New Year's Day.
    expect(stageDatesAfter('in_progress', 'in_moderation', '2026-12-18', DEFAULT_TIMESCALES, calendar)).toEqual({ stageStartedOn: '2026-12-18', stageDueOn: '2027-01-06' });
    expect(stageDatesAfter('in_moderation', 'moderated', '2026-12-18', DEFAULT_TIMESCALES, calendar)?.stageDueOn).toBe('2026-12-29');
    expect(stageDatesAfter('distributed', 'awaiting_feedback', '2026-11-02', DEFAULT_TIMESCALES, calendar)?.stageDueOn).toBe('2026-11-16');
    expect(stageDatesAfter(null, 'allocated', '2026-12-21', DEFAULT_TIMESCALES, calendar)?.stageDueOn).toBe('2027-01-07');
  });

  it("keeps the clock running within a stage: starting does not restart the auditor's 10 days", () => {
    expect(stageDatesAfter('allocated', 'in_progress', '2026-11-10', DEFAULT_TIMESCALES, calendar)).toBeNull();
    expect(stageDatesAfter('moderated', 'distributed', '2026-11-10', DEFAULT_TIMESCALES, calendar)).toBeNull();
  });

  it('gives a returned audit back to the auditor with a fresh clock, and a closed one none', () => {
    expect(stageDatesAfter('in_moderation', 'returned', '2026-11-02', DEFAULT_TIMESCALES, calendar)).toEqual({ stageStartedOn: '2026-11-02', stageDueOn: '2026-11-16' });
    expect(stageDatesAfter('awaiting_feedback', 'closed', '2026-11-02', DEFAULT_TIMESCALES, calendar)).toEqual({ stageStartedOn: '2026-11-02', stageDueOn: null });
  });

  it("uses the council's own timescales", () => {
    const shorter = { ...DEFAULT_TIMESCALES, moderationDays: 3 };
    expect(stageDatesAfter('in_progress', 'in_moderation', '2026-11-02', shorter, calendar)?.stageDueOn).toBe('2026-11-05');
  });

  it('re-audit 8 weeks on, case direction review 1 month on, action verification 3 months after the due date', () => {
    expect(reAuditDueOn('2026-11-02', DEFAULT_TIMESCALES)).toBe('2026-12-28');
    expect(caseDirectionReviewDueOn('2026-01-31', DEFAULT_TIMESCALES)).toBe('2026-02-28');
    expect(actionVerificationDueOn('2026-11-30', DEFAULT_TIMESCALES)).toBe('2027-02-28');
  });

  it('overdue is a question of dates: due today is not overdue, due yesterday is', () => {
    expect(isOverdue('2026-11-02', '2026-11-02')).toBe(false);
    expect(isOverdue('2026-11-01', '2026-11-02')).toBe(true);
    expect(isOverdue(null, '2030-01-01')).toBe(false);
  });
});
