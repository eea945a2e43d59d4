/**
 * Working days: every deadline in the QA framework (audit 10, moderation 10, distribution 5,
 * feedback 10) counts weekdays that are not bank holidays. Dates are ISO 'YYYY-MM-DD'
 * strings, the same as date columns come back from the database, and all arithmetic is
 * done in UTC so the server's timezone and British Summer Time never shift a day.
 */

export type IsoDate = string;
/** The bank holidays of one division, as ISO dates. */
export type HolidayCalendar = ReadonlySet<IsoDate>;

export const DIVISIONS = ['england-and-wales', 'scotland', 'northern-ireland'] as const;
export type Division = (typeof DIVISIONS)[number];
export const DEFAULT_DIVISION: Division = 'england-and-wales';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A real calendar date written as YYYY-MM-DD (2026-02-30 is not). */
export function isIsoDate(value: unknown): value is IsoDate {
  if (typeof value !== 'string') return false;
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function toUtc(date: IsoDate): Date {
  if (!isIsoDate(date)) throw new RangeError(`not a date in the form YYYY-MM-DD: ${JSON.stringify(date)}`);
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const utc = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  utc.setUTCFullYear(year, month - 1, day);
  return utc;
}

function fromUtc(utc: Date): IsoDate {
  const year = String(utc.getUTCFullYear()).padStart(4, '0');
  const month = String(utc.getUTCMonth() + 1).padStart(2, '0');
  const day = String(utc.getUTCDate()).padStart(2, '0');
  return `${year}-${month}-${day}`;
}

function daysInMonth(year: number, month: number): number {
  const utc = new Date(0);
  utc.setUTCFullYear(year, month, 0);
  return utc.getUTCDate();
}

function wholeNumber(n: number, name: string): number {
  if (!Number.isInteger(n)) throw new RangeError(`${name} must be a whole number, not ${n}`);
  return n;
}

/** 0 = Sunday … 6 = Saturday. */
export function dayOfWeek(date: IsoDate): number {
  return toUtc(date).getUTCDay();
}

export function isWeekend(date: IsoDate): boolean {
  const day = dayOfWeek(date);
  return day === 0 || day === 6;
}

export function addDays(date: IsoDate, n: number): IsoDate {
  return fromUtc(new Date(toUtc(date).getTime() + wholeNumber(n, 'days') * DAY_MS));
}

export function addWeeks(date: IsoDate, n: number): IsoDate {
  return addDays(date, wholeNumber(n, 'weeks') * 7);
}

/** The same day n months on; a day the month lacks becomes its last day (31 Jan + 1 = 28/29 Feb). */
export function addCalendarMonths(date: IsoDate, n: number): IsoDate {
  toUtc(date);
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const monthIndex = year * 12 + (month - 1) + wholeNumber(n, 'months');
  const targetYear = Math.floor(monthIndex / 12);
  const targetMonth = (monthIndex % 12) + 1;
  const utc = new Date(0);
  utc.setUTCFullYear(targetYear, targetMonth - 1, Math.min(day, daysInMonth(targetYear, targetMonth)));
  return fromUtc(utc);
}

/** Whole calendar days from a to b (negative when b is earlier). */
export function calendarDaysBetween(a: IsoDate, b: IsoDate): number {
  return Math.round((toUtc(b).getTime() - toUtc(a).getTime()) / DAY_MS);
}

export function isWorkingDay(date: IsoDate, calendar: HolidayCalendar): boolean {
  return !isWeekend(date) && !calendar.has(date);
}

/**
 * The date n working days after start: day 1 is the next working day after start, which may
 * itself be a weekend or holiday. n = 0 gives start unchanged; a negative n counts back (day
 * -1 is the working day before start).
 */
export function workingDaysAfter(start: IsoDate, n: number, calendar: HolidayCalendar): IsoDate {
  const step = wholeNumber(n, 'working days') < 0 ? -1 : 1;
  let date = addDays(start, 0);
  for (let counted = 0; counted < Math.abs(n); ) {
    date = addDays(date, step);
    if (isWorkingDay(date, calendar)) counted += 1;
  }
  return date;
}

/**
 * The working days after a up to and including b, so that
 * workingDaysBetween(a, workingDaysAfter(a, n)) === n. Negative when b is before a (a deadline
 * already passed by that many working days).
 */
export function workingDaysBetween(a: IsoDate, b: IsoDate, calendar: HolidayCalendar): number {
  const span = calendarDaysBetween(a, b);
  if (span < 0) return -workingDaysBetween(b, a, calendar);
  let count = 0;
  for (let offset = 1; offset <= span; offset += 1) {
    if (isWorkingDay(addDays(a, offset), calendar)) count += 1;
  }
  return count;
}
