import type { IsoDate } from './working-days.ts';

/**
 * Business time comes from one clock. Every rule that reads the time — today, due, overdue,
 * a lock-out's end, an e-mail's next attempt, a claim's lease — asks this clock in the
 * application and passes the answer into SQL as a parameter, so that a test (or a replay) that
 * sets the time sets it everywhere. `now()` in SQL is kept for bookkeeping columns no rule
 * reads (created_at, updated_at).
 */
export type Clock = { now(): Date };

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved: for tests and for replaying a day. */
export type FixedClock = Clock & { set(at: Date | string): void; advance(milliseconds: number): void };

export function fixedClock(at: Date | string): FixedClock {
  let current = new Date(at);
  return {
    now: () => new Date(current),
    set: (next) => {
      current = new Date(next);
    },
    advance: (milliseconds) => {
      current = new Date(current.getTime() + milliseconds);
    },
  };
}

const londonDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The date in the UK at an instant (councils work on UK dates, whatever the server's zone). */
export function ukDateAt(at: Date): IsoDate {
  return londonDate.format(at);
}

/** Today's UK date by a clock. */
export function ukToday(clock: Clock): IsoDate {
  return ukDateAt(clock.now());
}
