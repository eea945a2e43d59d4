import { z } from 'zod';
import type { FieldError } from '../../platform/errors.ts';
import { addDays, type IsoDate } from '../../platform/working-days.ts';
import { blankToUndefined, parseDateText } from '../audits/tracker.ts';

/**
 * The period a report is for. Councils report by the UK financial year (1 April to 31 March),
 * so "Q1" is April to June; a month, a financial year or any range of days is also allowed.
 */
export type ReportPeriod = { kind: 'quarter' | 'month' | 'year' | 'range'; from: IsoDate; to: IsoDate; label: string };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const MAX_YEARS = 10;

const iso = (year: number, month: number, day: number) => `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}` as IsoDate;
const lastDayOf = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** "2026–27": the financial year that starts in April of `startYear`. */
export const financialYearLabel = (startYear: number) => `${startYear}–${String((startYear + 1) % 100).padStart(2, '0')}`;

/** The financial year and quarter (1–4) a day falls in. */
export function financialQuarterOf(day: IsoDate): { year: number; quarter: number } {
  const [year, month] = day.split('-').map(Number) as [number, number];
  const startYear = month >= 4 ? year : year - 1;
  const quarter = Math.floor(((month + 8) % 12) / 3) + 1;
  return { year: startYear, quarter };
}

export function financialQuarter(startYear: number, quarter: number): ReportPeriod {
  const firstMonth = ((quarter - 1) * 3 + 3) % 12; // 0-based month index: Q1 → 3 (April)
  const year = quarter === 4 ? startYear + 1 : startYear;
  const lastMonth = firstMonth + 3; // 1-based month of the quarter's last month
  return {
    kind: 'quarter',
    from: iso(year, firstMonth + 1, 1),
    to: iso(year, lastMonth, lastDayOf(year, lastMonth)),
    label: `Q${quarter} ${financialYearLabel(startYear)} (${MONTHS[firstMonth]} to ${MONTHS[lastMonth - 1]} ${year})`,
  };
}

export function financialYear(startYear: number): ReportPeriod {
  return { kind: 'year', from: iso(startYear, 4, 1), to: iso(startYear + 1, 3, 31), label: `Financial year ${financialYearLabel(startYear)}` };
}

export function calendarMonth(year: number, month: number): ReportPeriod {
  return { kind: 'month', from: iso(year, month, 1), to: iso(year, month, lastDayOf(year, month)), label: `${MONTHS[month - 1]} ${year}` };
}

export function dateRange(from: IsoDate, to: IsoDate): ReportPeriod {
  return { kind: 'range', from, to, label: `${ukDay(from)} to ${ukDay(to)}` };
}

export function ukDay(day: IsoDate): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return `${date} ${MONTHS[month - 1]} ${year}`;
}

/** The period before, of the same kind and length: the previous quarter, month or year. */
export function previousPeriod(period: ReportPeriod): ReportPeriod {
  const [year, month] = period.from.split('-').map(Number) as [number, number];
  if (period.kind === 'quarter') {
    const { year: fy, quarter } = financialQuarterOf(period.from);
    return quarter === 1 ? financialQuarter(fy - 1, 4) : financialQuarter(fy, quarter - 1);
  }
  if (period.kind === 'month') return month === 1 ? calendarMonth(year - 1, 12) : calendarMonth(year, month - 1);
  if (period.kind === 'year') return financialYear(year - 1);
  const days = daysBetween(period.from, period.to);
  const to = addDays(period.from, -1);
  return dateRange(addDays(to, -days), to);
}

/** The same period a year earlier. */
export function samePeriodLastYear(period: ReportPeriod): ReportPeriod {
  const [year, month] = period.from.split('-').map(Number) as [number, number];
  if (period.kind === 'quarter') {
    const { year: fy, quarter } = financialQuarterOf(period.from);
    return financialQuarter(fy - 1, quarter);
  }
  if (period.kind === 'month') return calendarMonth(year - 1, month);
  if (period.kind === 'year') return financialYear(year - 1);
  const shift = (day: IsoDate) => {
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    return iso(y - 1, m, Math.min(d, lastDayOf(y - 1, m)));
  };
  return dateRange(shift(period.from), shift(period.to));
}

/** The `count` financial quarters ending with the one `day` is in, oldest first. */
export function quartersEnding(day: IsoDate, count: number): ReportPeriod[] {
  let { year, quarter } = financialQuarterOf(day);
  const quarters: ReportPeriod[] = [];
  for (let i = 0; i < count; i++) {
    quarters.unshift(financialQuarter(year, quarter));
    if (quarter === 1) {
      year -= 1;
      quarter = 4;
    } else quarter -= 1;
  }
  return quarters;
}

function daysBetween(from: IsoDate, to: IsoDate): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The period as the page's form sends it: `period` = `q:2026-1`, `m:2026-05`, `fy:2026` or `range` with `from` and `to`. */
const periodQuerySchema = z.object({
  period: z.preprocess(blankToUndefined, z.string().max(20).optional()),
  from: z.preprocess(blankToUndefined, z.string().max(20).optional()),
  to: z.preprocess(blankToUndefined, z.string().max(20).optional()),
});

/**
 * Reads the report period from a query string. Nothing given: the quarter `today` is in. A
 * range that runs backwards, a date that is not one, or more than ten years is refused with a
 * message naming the field; the page then shows the current quarter beside the error.
 */
export function parseReportPeriod(query: Record<string, unknown>, today: IsoDate): { period: ReportPeriod; errors: FieldError[] } {
  const current = (() => {
    const { year, quarter } = financialQuarterOf(today);
    return financialQuarter(year, quarter);
  })();
  const parsed = periodQuerySchema.safeParse(query);
  if (!parsed.success) return { period: current, errors: [{ field: 'period', message: 'Choose a period from the list' }] };
  const { period, from, to } = parsed.data;
  if (period === 'range' || (!period && (from || to))) return parseRange(from, to, current);
  if (!period) return { period: current, errors: [] };
  const quarter = /^q:(\d{4})-([1-4])$/.exec(period);
  if (quarter) return { period: financialQuarter(Number(quarter[1]), Number(quarter[2])), errors: [] };
  const month = /^m:(\d{4})-(\d{2})$/.exec(period);
  if (month && Number(month[2]) >= 1 && Number(month[2]) <= 12) return { period: calendarMonth(Number(month[1]), Number(month[2])), errors: [] };
  const year = /^fy:(\d{4})$/.exec(period);
  if (year) return { period: financialYear(Number(year[1])), errors: [] };
  return { period: current, errors: [{ field: 'period', message: 'Choose a period from the list' }] };
}

function parseRange(fromText: string | undefined, toText: string | undefined, current: ReportPeriod) {
  const errors: FieldError[] = [];
  const from = fromText ? parseDateText(fromText) : null;
  const to = toText ? parseDateText(toText) : null;
  if (!from) errors.push({ field: 'from', message: fromText ? 'From must be a real date, like 1/4/2026' : 'Enter the first day of the range' });
  if (!to) errors.push({ field: 'to', message: toText ? 'To must be a real date, like 30/6/2026' : 'Enter the last day of the range' });
  if (from && to && to < from) errors.push({ field: 'to', message: 'To must be the same as or after from' });
  if (from && to && daysBetween(from as IsoDate, to as IsoDate) > MAX_YEARS * 366) errors.push({ field: 'to', message: `A report can cover at most ${MAX_YEARS} years` });
  if (errors.length) return { period: current, errors };
  return { period: dateRange(from as IsoDate, to as IsoDate), errors };
}

/** The choices of the period list: the last twelve quarters, the last three financial years and the last twelve months. */
export function periodChoices(today: IsoDate) {
  const quarters = quartersEnding(today, 12)
    .reverse()
    .map((quarter) => {
      const { year, quarter: q } = financialQuarterOf(quarter.from);
      return { value: `q:${year}-${q}`, text: quarter.label };
    });
  const { year } = financialQuarterOf(today);
  const years = [0, 1, 2].map((back) => ({ value: `fy:${year - back}`, text: financialYear(year - back).label }));
  const [thisYear, thisMonth] = today.split('-').map(Number) as [number, number];
  const months = Array.from({ length: 12 }, (_, back) => {
    const index = thisYear * 12 + (thisMonth - 1) - back;
    const y = Math.floor(index / 12);
    const m = (index % 12) + 1;
    return { value: `m:${y}-${String(m).padStart(2, '0')}`, text: calendarMonth(y, m).label };
  });
  return { quarters, years, months };
}

/** The value of the period list that chooses this period ('range' for a range). */
export function periodValue(period: ReportPeriod): string {
  if (period.kind === 'range') return 'range';
  if (period.kind === 'year') return `fy:${financialQuarterOf(period.from).year}`;
  if (period.kind === 'month') return `m:${period.from.slice(0, 7)}`;
  const { year, quarter } = financialQuarterOf(period.from);
  return `q:${year}-${quarter}`;
}
