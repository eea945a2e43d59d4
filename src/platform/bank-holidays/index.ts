import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DIVISION, loadHolidayCalendar, type Division, type HolidayCalendar } from '../working-days.ts';

/**
 * The UK bank holidays shipped with Assure, in gov.uk's bank-holidays.json format, 2018–2028
 * for all three divisions. It is data, not code: a newer file downloaded from
 * https://www.gov.uk/bank-holidays.json can be loaded with loadHolidayCalendar.
 */
export const BUNDLED_BANK_HOLIDAYS_PATH = fileURLToPath(new URL('./bank-holidays.json', import.meta.url));

export function readBundledBankHolidays(): unknown {
  return JSON.parse(readFileSync(BUNDLED_BANK_HOLIDAYS_PATH, 'utf8'));
}

const calendars = new Map<Division, HolidayCalendar>();

/** The bundled calendar of a division, read and checked once. */
export function bundledHolidayCalendar(division: Division = DEFAULT_DIVISION): HolidayCalendar {
  let calendar = calendars.get(division);
  if (!calendar) {
    calendar = loadHolidayCalendar(readBundledBankHolidays(), division);
    calendars.set(division, calendar);
  }
  return calendar;
}
