import { addCalendarMonths, addDays, dayOfWeek, isWeekend, type Division, type IsoDate } from '../../src/platform/working-days.ts';

/**
 * The UK bank holidays worked out from the rules, as the oracle the bundled gov.uk file is
 * checked against. The app never uses this: it reads the file, which an administrator can
 * replace with a newer one from gov.uk.
 */

export type ExpectedHoliday = { date: IsoDate; title: string; substitute: boolean };

/** Easter Sunday by the anonymous Gregorian computus (Meeus/Jones/Butcher). */
export function easterSunday(year: number): IsoDate {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return `${year}-${pad(month)}-${pad(day)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The first Monday of a month, or with `last` the last one. */
function monday(year: number, month: number, last = false): IsoDate {
  const first = `${year}-${pad(month)}-01`;
  let date = last ? addDays(addCalendarMonths(first, 1), -1) : first;
  while (dayOfWeek(date) !== 1) date = addDays(date, last ? -1 : 1);
  return date;
}

/** Days fixed to the calendar: on a weekend they move to a substitute weekday. */
function fixedDays(year: number, division: Division): { date: IsoDate; title: string }[] {
  const days = [{ date: `${year}-01-01`, title: 'New Year’s Day' }];
  if (division === 'scotland') days.push({ date: `${year}-01-02`, title: '2nd January' });
  if (division === 'northern-ireland') {
    days.push({ date: `${year}-03-17`, title: 'St Patrick’s Day' });
    days.push({ date: `${year}-07-12`, title: 'Battle of the Boyne (Orangemen’s Day)' });
  }
  if (division === 'scotland') days.push({ date: `${year}-11-30`, title: 'St Andrew’s Day' });
  days.push({ date: `${year}-12-25`, title: 'Christmas Day' });
  days.push({ date: `${year}-12-26`, title: 'Boxing Day' });
  return days;
}

/** Days fixed to a weekday, with the one-off moves and extra days proclaimed since 2018. */
function movingDays(year: number, division: Division): { date: IsoDate; title: string }[] {
  const easter = easterSunday(year);
  const days = [{ date: addDays(easter, -2), title: 'Good Friday' }];
  if (division !== 'scotland') days.push({ date: addDays(easter, 1), title: 'Easter Monday' });
  // 2020: moved to Friday 8 May for the 75th anniversary of VE day.
  days.push(year === 2020 ? { date: '2020-05-08', title: 'Early May bank holiday (VE day)' } : { date: monday(year, 5), title: 'Early May bank holiday' });
  // 2022: moved to Thursday 2 June, beside the Platinum Jubilee bank holiday.
  days.push({ date: year === 2022 ? '2022-06-02' : monday(year, 5, true), title: 'Spring bank holiday' });
  days.push({ date: division === 'scotland' ? monday(year, 8) : monday(year, 8, true), title: 'Summer bank holiday' });
  const oneOffs: Record<number, { date: IsoDate; title: string }[]> = {
    2022: [
      { date: '2022-06-03', title: 'Platinum Jubilee bank holiday' },
      { date: '2022-09-19', title: 'Bank Holiday for the State Funeral of Queen Elizabeth II' },
    ],
    2023: [{ date: '2023-05-08', title: 'Bank holiday for the coronation of King Charles III' }],
  };
  return [...days, ...(oneOffs[year] ?? [])];
}

/**
 * The bank holidays of a year in date order. A fixed day on a weekday is kept; one on a
 * weekend is replaced by the next weekday that is not already a holiday, in date order. So
 * Christmas on a Sunday gives Boxing Day on Monday 26th and Christmas on Tuesday 27th, and on
 * a Saturday Christmas on Monday 27th and Boxing Day on Tuesday 28th.
 */
export function expectedBankHolidays(year: number, division: Division): ExpectedHoliday[] {
  const holidays: ExpectedHoliday[] = movingDays(year, division).map((day) => ({ ...day, substitute: false }));
  const taken = new Set(holidays.map((day) => day.date));
  const fixed = fixedDays(year, division);
  const onWeekdays = fixed.filter((day) => !isWeekend(day.date) && !taken.has(day.date));
  for (const day of onWeekdays) {
    taken.add(day.date);
    holidays.push({ ...day, substitute: false });
  }
  for (const day of fixed.filter((candidate) => !onWeekdays.includes(candidate))) {
    let date = day.date;
    while (isWeekend(date) || taken.has(date)) date = addDays(date, 1);
    taken.add(date);
    holidays.push({ date, title: day.title, substitute: true });
  }
  return holidays.sort((a, b) => a.date.localeCompare(b.date));
}
