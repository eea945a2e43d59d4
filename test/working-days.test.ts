import { afterEach, describe, expect, it } from 'vitest';
import { bundledHolidayCalendar, readBundledBankHolidays } from '../src/platform/bank-holidays/index.ts';
import { BankHolidaysFileError, loadHolidayCalendar } from '../src/platform/bank-holidays/schema.ts';
import { addCalendarMonths, addDays, addWeeks, isIsoDate, isWorkingDay, workingDaysAfter, workingDaysBetween } from '../src/platform/working-days.ts';

const england = bundledHolidayCalendar();
const scotland = bundledHolidayCalendar('scotland');
const northernIreland = bundledHolidayCalendar('northern-ireland');
const noHolidays = new Set<string>();

describe('working days', () => {
  it('are weekdays', () => {
    expect(isWorkingDay('2026-11-27', noHolidays)).toBe(true); // Friday
    expect(isWorkingDay('2026-11-28', noHolidays)).toBe(false); // Saturday
    expect(isWorkingDay('2026-11-29', noHolidays)).toBe(false); // Sunday
    expect(isWorkingDay('2026-11-30', noHolidays)).toBe(true); // Monday
    expect(workingDaysAfter('2026-11-27', 1, noHolidays)).toBe('2026-11-30');
    expect(workingDaysAfter('2026-11-27', 5, noHolidays)).toBe('2026-12-04');
  });

  it('skip Good Friday and Easter Monday 2026 in England and Wales', () => {
    expect(isWorkingDay('2026-04-03', england)).toBe(false);
    expect(isWorkingDay('2026-04-06', england)).toBe(false);
    expect(isWorkingDay('2026-04-07', england)).toBe(true);
    expect(workingDaysAfter('2026-04-02', 1, england)).toBe('2026-04-07');
    expect(workingDaysBetween('2026-04-02', '2026-04-07', england)).toBe(1);
  });

  it('skip Good Friday and Easter Monday 2027, a month end between them and the next working day', () => {
    // Easter Sunday 2027 is 28 March.
    expect(isWorkingDay('2027-03-26', england)).toBe(false);
    expect(isWorkingDay('2027-03-29', england)).toBe(false);
    expect(isWorkingDay('2027-03-29', scotland)).toBe(true);
    expect(workingDaysAfter('2027-03-25', 1, england)).toBe('2027-03-30');
    expect(workingDaysAfter('2027-03-25', 5, england)).toBe('2027-04-05');
    expect(workingDaysAfter('2027-03-25', 1, scotland)).toBe('2027-03-29');
  });

  it('skip Christmas and the substitute days of 2026 and 2027', () => {
    // 2026: Christmas Friday, Boxing Day Saturday, substitute Monday 28th.
    expect(isWorkingDay('2026-12-28', england)).toBe(false);
    expect(workingDaysAfter('2026-12-24', 1, england)).toBe('2026-12-29');
    // 2027: both on the weekend, substitutes Monday 27th and Tuesday 28th.
    expect(isWorkingDay('2027-12-27', england)).toBe(false);
    expect(isWorkingDay('2027-12-28', england)).toBe(false);
    expect(workingDaysAfter('2027-12-24', 1, england)).toBe('2027-12-29');
    // New Year's Day 2028 is a Saturday: substitute Monday 3 January.
    expect(workingDaysAfter('2027-12-31', 1, england)).toBe('2028-01-04');
  });

  it('count 10 working days after a Friday before a bank holiday Monday', () => {
    // Spring bank holiday 2026 is Monday 25 May.
    expect(workingDaysAfter('2026-05-22', 10, england)).toBe('2026-06-08');
    expect(workingDaysAfter('2026-05-22', 10, noHolidays)).toBe('2026-06-05');
    expect(workingDaysBetween('2026-05-22', '2026-06-08', england)).toBe(10);
  });

  it('start counting from a weekend or holiday: day 1 is the next working day', () => {
    expect(workingDaysAfter('2026-11-28', 1, england)).toBe('2026-11-30');
    expect(workingDaysAfter('2026-04-03', 1, england)).toBe('2026-04-07');
    expect(workingDaysAfter('2026-04-03', 0, england)).toBe('2026-04-03');
  });

  it('run across month and year ends', () => {
    expect(workingDaysAfter('2026-01-30', 1, england)).toBe('2026-02-02'); // Friday to Monday
    expect(workingDaysAfter('2026-02-27', 1, england)).toBe('2026-03-02');
    expect(workingDaysAfter('2028-02-28', 1, england)).toBe('2028-02-29'); // a leap day is a working day
    expect(workingDaysAfter('2026-04-30', 2, england)).toBe('2026-05-05'); // past the early May bank holiday
    expect(workingDaysAfter('2026-09-30', 1, england)).toBe('2026-10-01');
    expect(workingDaysAfter('2026-12-31', 1, england)).toBe('2027-01-04'); // New Year's Day 2027 is a Friday
    expect(workingDaysAfter('2026-05-29', 10, england)).toBe('2026-06-12');
    expect(workingDaysBetween('2026-01-30', '2026-02-02', england)).toBe(1);
    expect(workingDaysBetween('2026-12-24', '2027-01-04', england)).toBe(4);
    // St Andrew's Day 2026 is Monday 30 November, the last day of the month, in Scotland only.
    expect(workingDaysAfter('2026-11-27', 1, scotland)).toBe('2026-12-01');
    expect(workingDaysAfter('2026-11-27', 1, england)).toBe('2026-11-30');
  });

  it('count back with a negative number', () => {
    expect(workingDaysAfter('2026-04-07', -1, england)).toBe('2026-04-02');
    expect(workingDaysAfter('2026-06-08', -10, england)).toBe('2026-05-22');
  });

  it('between two dates: zero on the same day, negative when the second is earlier', () => {
    expect(workingDaysBetween('2026-05-22', '2026-05-22', england)).toBe(0);
    expect(workingDaysBetween('2026-06-08', '2026-05-22', england)).toBe(-10);
    // Saturday to Monday is one working day; Friday to Sunday none.
    expect(workingDaysBetween('2026-11-28', '2026-11-30', england)).toBe(1);
    expect(workingDaysBetween('2026-11-27', '2026-11-29', england)).toBe(0);
  });

  it('between undoes after, across a whole year of starts', () => {
    for (let start = '2026-01-01'; start < '2027-01-01'; start = addDays(start, 1)) {
      for (const n of [1, 5, 10]) {
        expect(workingDaysBetween(start, workingDaysAfter(start, n, england), england)).toBe(n);
      }
    }
  });

  it('in Scotland include 2 January and St Andrew’s Day but not Easter Monday', () => {
    expect(isWorkingDay('2026-01-02', england)).toBe(true);
    expect(isWorkingDay('2026-01-02', scotland)).toBe(false);
    // St Andrew's Day 2025 was a Sunday: the substitute was Monday 1 December.
    expect(isWorkingDay('2025-12-01', scotland)).toBe(false);
    expect(isWorkingDay('2025-12-01', england)).toBe(true);
    expect(isWorkingDay('2026-04-06', scotland)).toBe(true);
    // Summer bank holiday: first Monday of August in Scotland, last elsewhere.
    expect(isWorkingDay('2026-08-03', scotland)).toBe(false);
    expect(isWorkingDay('2026-08-31', scotland)).toBe(true);
    expect(isWorkingDay('2026-08-31', england)).toBe(false);
    expect(workingDaysAfter('2025-12-31', 1, scotland)).toBe('2026-01-05');
    expect(workingDaysAfter('2025-12-31', 1, england)).toBe('2026-01-02');
    // 2 January 2027 is a Saturday: the substitute is Monday 4 January.
    expect(isWorkingDay('2027-01-04', scotland)).toBe(false);
    expect(isWorkingDay('2027-01-04', england)).toBe(true);
    // St Andrew's Day 2024 was a Saturday: the substitute was Monday 2 December.
    expect(isWorkingDay('2024-12-02', scotland)).toBe(false);
    expect(isWorkingDay('2024-11-29', scotland)).toBe(true);
  });

  it('in Northern Ireland include St Patrick’s Day and the Twelfth', () => {
    expect(isWorkingDay('2026-03-17', northernIreland)).toBe(false);
    expect(isWorkingDay('2026-03-17', england)).toBe(true);
    // 12 July 2026 is a Sunday: the substitute is Monday 13 July.
    expect(isWorkingDay('2026-07-13', northernIreland)).toBe(false);
    expect(isWorkingDay('2026-07-13', england)).toBe(true);
    expect(isWorkingDay('2027-07-12', northernIreland)).toBe(false);
    expect(isWorkingDay('2027-03-17', northernIreland)).toBe(false);
    expect(isWorkingDay('2027-03-17', scotland)).toBe(true);
    // 12 July 2025 was a Saturday: the substitute was Monday 14 July.
    expect(isWorkingDay('2025-07-14', northernIreland)).toBe(false);
    expect(workingDaysAfter('2026-07-10', 1, northernIreland)).toBe('2026-07-14');
    expect(isWorkingDay('2026-04-06', northernIreland)).toBe(false);
  });
});

describe('calendar arithmetic', () => {
  const originalTimezone = process.env.TZ;
  afterEach(() => {
    process.env.TZ = originalTimezone;
  });

  it('clamps month ends', () => {
    expect(addCalendarMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addCalendarMonths('2028-01-31', 1)).toBe('2028-02-29');
    expect(addCalendarMonths('2026-08-31', 1)).toBe('2026-09-30');
    expect(addCalendarMonths('2026-03-31', -1)).toBe('2026-02-28');
    expect(addCalendarMonths('2026-12-15', 1)).toBe('2027-01-15');
    expect(addCalendarMonths('2026-01-15', -13)).toBe('2024-12-15');
    expect(addCalendarMonths('2026-05-31', 0)).toBe('2026-05-31');
  });

  it('knows leap years', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2027-02-28', 1)).toBe('2027-03-01');
    expect(addDays('2000-02-28', 1)).toBe('2000-02-29');
    expect(addDays('2100-02-28', 1)).toBe('2100-03-01');
    expect(addCalendarMonths('2028-02-29', 12)).toBe('2029-02-28');
    expect(addCalendarMonths('2028-02-29', 48)).toBe('2032-02-29');
    expect(isIsoDate('2028-02-29')).toBe(true);
    expect(isIsoDate('2027-02-29')).toBe(false);
  });

  it('adds weeks', () => {
    expect(addWeeks('2026-12-28', 1)).toBe('2027-01-04');
    expect(addWeeks('2026-03-01', -2)).toBe('2026-02-15');
  });

  it('gives the same dates in any timezone, across the clock changes', () => {
    for (const timezone of ['UTC', 'Europe/London', 'America/Los_Angeles', 'Pacific/Kiritimati']) {
      process.env.TZ = timezone;
      expect(addDays('2026-03-28', 1)).toBe('2026-03-29');
      expect(addDays('2026-03-29', 1)).toBe('2026-03-30');
      expect(addDays('2026-10-25', 1)).toBe('2026-10-26');
      expect(workingDaysAfter('2026-03-27', 1, england)).toBe('2026-03-30');
      expect(addCalendarMonths('2026-10-31', 1)).toBe('2026-11-30');
    }
  });

  it('refuses what is not a date or not a whole number', () => {
    expect(() => addDays('2026-02-30', 1)).toThrow(RangeError);
    expect(() => workingDaysAfter('30/01/2026', 1, england)).toThrow(/YYYY-MM-DD/);
    expect(() => workingDaysAfter('2026-01-30', 1.5, england)).toThrow(/whole number/);
    expect(() => addCalendarMonths('2026-13-01', 1)).toThrow(RangeError);
    expect(isIsoDate('2026-1-05')).toBe(false);
    expect(isIsoDate(20260105)).toBe(false);
  });
});

describe('loadHolidayCalendar', () => {
  const file = () => structuredClone(readBundledBankHolidays()) as any;

  it('reads one division, England and Wales by default, from parsed JSON or text', () => {
    const calendar = loadHolidayCalendar(file());
    expect(calendar.has('2026-08-31')).toBe(true);
    expect(calendar.has('2026-01-02')).toBe(false);
    expect(loadHolidayCalendar(JSON.stringify(file()), 'scotland').has('2026-01-02')).toBe(true);
  });

  it('says exactly where a malformed file is wrong', () => {
    const badDate = file();
    badDate.scotland.events[2].date = '2026-13-01';
    expect(() => loadHolidayCalendar(badDate)).toThrow(BankHolidaysFileError);
    expect(() => loadHolidayCalendar(badDate)).toThrow('scotland.events[2].date: expected a real date written as YYYY-MM-DD');

    const badBunting = file();
    badBunting['northern-ireland'].events[0].bunting = 'yes';
    expect(() => loadHolidayCalendar(badBunting)).toThrow(/northern-ireland\.events\[0\]\.bunting/);

    const missing = file();
    delete missing['england-and-wales'];
    expect(() => loadHolidayCalendar(missing)).toThrow(/england-and-wales:/);

    const mislabelled = file();
    mislabelled.scotland.division = 'england-and-wales';
    expect(() => loadHolidayCalendar(mislabelled)).toThrow('scotland.division: expected "scotland"');

    expect(() => loadHolidayCalendar('{"england-and-wales": ')).toThrow(/not JSON/);
    expect(() => loadHolidayCalendar([])).toThrow(/the file:/);
    expect(() => loadHolidayCalendar(file(), 'wales' as any)).toThrow(/unknown division "wales"/);
  });
});
