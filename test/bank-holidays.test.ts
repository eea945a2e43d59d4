import { describe, expect, it } from 'vitest';
import { bundledBankHolidays, readBundledBankHolidays } from '../src/platform/bank-holidays/index.ts';
import { checkBankHolidaysFile, datesSpanned, parseBankHolidaysFile, yearsListed } from '../src/platform/bank-holidays/schema.ts';
import { DIVISIONS, isWeekend } from '../src/platform/working-days.ts';
import { easterSunday, expectedBankHolidays } from './support/bank-holiday-rules.ts';

const file = parseBankHolidaysFile(readBundledBankHolidays());
const FIRST_YEAR = 2018;
const LAST_YEAR = 2028;

describe('the computus', () => {
  it('gives the published dates of Easter Sunday', () => {
    const published: Record<number, string> = {
      1818: '1818-03-22', // earliest possible
      1943: '1943-04-25', // latest possible
      1954: '1954-04-18',
      1981: '1981-04-19', // an exception in Gauss's method
      2000: '2000-04-23',
      2018: '2018-04-01',
      2019: '2019-04-21',
      2020: '2020-04-12',
      2021: '2021-04-04',
      2022: '2022-04-17',
      2023: '2023-04-09',
      2024: '2024-03-31',
      2025: '2025-04-20',
      2026: '2026-04-05',
      2027: '2027-03-28',
      2028: '2028-04-16',
      2038: '2038-04-25',
      2049: '2049-04-18',
      2285: '2285-03-22',
    };
    for (const [year, date] of Object.entries(published)) expect(easterSunday(Number(year))).toBe(date);
  });
});

describe('the bundled bank holidays file', () => {
  it('is in the gov.uk format and covers 2018 to 2028 in every division', () => {
    for (const division of DIVISIONS) {
      expect(file[division].division).toBe(division);
      const years = new Set(file[division].events.map((event) => Number(event.date.slice(0, 4))));
      for (let year = FIRST_YEAR; year <= LAST_YEAR; year += 1) expect(years, `${division} ${year}`).toContain(year);
    }
  });

  it('lists only weekdays, in date order, each once', () => {
    for (const division of DIVISIONS) {
      const dates = file[division].events.map((event) => event.date);
      expect(dates.filter(isWeekend), division).toEqual([]);
      expect([...dates].sort(), division).toEqual(dates);
      expect(new Set(dates).size, division).toBe(dates.length);
    }
  });

  it('agrees with the rules: Easter by the computus, substitute days, and the one-off days', () => {
    for (const division of DIVISIONS) {
      for (let year = FIRST_YEAR; year <= LAST_YEAR; year += 1) {
        const listed = file[division].events
          .filter((event) => event.date.startsWith(`${year}-`))
          .map((event) => ({ date: event.date, title: event.title, substitute: event.notes === 'Substitute day' }));
        expect(listed, `${division} ${year}`).toEqual(expectedBankHolidays(year, division));
      }
    }
  });

  it('has the one-off days in every division', () => {
    const oneOffs = ['2020-05-08', '2022-06-02', '2022-06-03', '2022-09-19', '2023-05-08'];
    for (const division of DIVISIONS) {
      const dates = new Set(file[division].events.map((event) => event.date));
      for (const date of oneOffs) expect(dates.has(date), `${division} ${date}`).toBe(true);
      // The early May and spring bank holidays these replaced are not holidays.
      expect(dates.has('2020-05-04'), division).toBe(false);
      expect(dates.has('2022-05-30'), division).toBe(false);
    }
  });

  it('has the substitute days for Christmas and New Year', () => {
    const england = file['england-and-wales'].events;
    const substitutes = england.filter((event) => event.notes === 'Substitute day').map((event) => event.date);
    for (const date of ['2020-12-28', '2021-12-27', '2021-12-28', '2022-12-27', '2026-12-28', '2027-12-27', '2027-12-28', '2022-01-03', '2028-01-03']) {
      expect(substitutes).toContain(date);
    }
    expect(england.find((event) => event.date === '2022-12-26')).toMatchObject({ title: 'Boxing Day', notes: '' });
  });

  it('has Good Friday in every division and Easter Monday only outside Scotland', () => {
    for (let year = FIRST_YEAR; year <= LAST_YEAR; year += 1) {
      const easter = easterSunday(year);
      const goodFriday = new Date(Date.parse(`${easter}T00:00:00Z`) - 2 * 86_400_000).toISOString().slice(0, 10);
      const easterMonday = new Date(Date.parse(`${easter}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      for (const division of DIVISIONS) {
        const dates = new Set(file[division].events.map((event) => event.date));
        expect(dates.has(goodFriday), `${division} ${goodFriday}`).toBe(true);
        expect(dates.has(easterMonday), `${division} ${easterMonday}`).toBe(division !== 'scotland');
      }
    }
  });
});

describe('the gov.uk bank holidays schema', () => {
  const copy = () => structuredClone(readBundledBankHolidays()) as any;
  const problems = (value: unknown) => {
    const checked = checkBankHolidaysFile(value);
    return checked.ok ? [] : checked.problems;
  };

  it('accepts the bundled file, as text, bytes or parsed, and keeps only the format', () => {
    const text = JSON.stringify(readBundledBankHolidays());
    expect(checkBankHolidaysFile(text).ok).toBe(true);
    expect(checkBankHolidaysFile(new TextEncoder().encode(`\uFEFF${text}`)).ok).toBe(true);
    const extra = copy();
    extra.scotland.events[0].colour = 'blue';
    const checked = checkBankHolidaysFile(extra);
    expect(checked.ok && 'colour' in checked.file.scotland.events[0]!).toBe(false);
    expect(bundledBankHolidays()).toEqual(file);
    expect(yearsListed(file, 'scotland')).toEqual([2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026, 2027, 2028]);
    expect(datesSpanned(file)).toEqual({ first: '2018-01-01', last: '2028-12-26' });
  });

  it('names the path of a date that is not a date', () => {
    const bad = copy();
    bad['england-and-wales'].events[3].date = '2026-02-30';
    bad.scotland.events[0].date = '30/01/2026';
    bad['northern-ireland'].events[1].date = 20260101;
    expect(problems(bad)).toEqual([
      { path: 'england-and-wales.events[3].date', message: 'expected a real date written as YYYY-MM-DD, not "2026-02-30"' },
      { path: 'scotland.events[0].date', message: 'expected a real date written as YYYY-MM-DD, not "30/01/2026"' },
      { path: 'northern-ireland.events[1].date', message: 'expected a date written as YYYY-MM-DD' },
    ]);
  });

  it('names a missing division and an empty list of events', () => {
    const bad = copy();
    delete bad['northern-ireland'];
    bad.scotland.events = [];
    expect(problems(bad)).toEqual([
      { path: 'scotland.events', message: 'the list of events is empty: the file must list the bank holidays of Scotland' },
      { path: 'northern-ireland', message: 'missing: the file must have the bank holidays of Northern Ireland as well as the other divisions' },
    ]);
  });

  it('names missing and mistyped fields of an event, a mislabelled division, and a file that is not the format', () => {
    const bad = copy();
    delete bad.scotland.events[1].title;
    bad.scotland.events[2].bunting = 'yes';
    bad['england-and-wales'].division = 'england';
    expect(problems(bad)).toEqual([
      { path: 'england-and-wales.division', message: 'expected "england-and-wales"' },
      { path: 'scotland.events[1].title', message: 'missing' },
      { path: 'scotland.events[2].bunting', message: 'expected true or false' },
    ]);
    expect(problems([])).toEqual([{ path: 'the file', message: expect.stringContaining('expected the gov.uk bank holidays format') }]);
    expect(problems('{"scotland": ')[0]).toMatchObject({ path: 'the file', message: expect.stringMatching(/^not JSON/) });
    expect(() => parseBankHolidaysFile({})).toThrow(/^the bank holidays file is not in the gov.uk format: england-and-wales: missing: .*; scotland: missing: .*; northern-ireland: missing: /);
  });
});
