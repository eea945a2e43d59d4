import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_DIVISION, type Division, type HolidayCalendar } from '../working-days.ts';
import { divisionCalendar, parseBankHolidaysFile, type BankHolidaysFile } from './schema.ts';

/**
 * The UK bank holidays shipped with Assure, in gov.uk's bank-holidays.json format, 2018–2028
 * for all three divisions. It is data, not code: an administrator can load a newer file
 * downloaded from https://www.gov.uk/bank-holidays.json, checked by the same schema.
 */
export const BUNDLED_BANK_HOLIDAYS_PATH = fileURLToPath(new URL('./bank-holidays.json', import.meta.url));

export function readBundledBankHolidays(): unknown {
  return JSON.parse(readFileSync(BUNDLED_BANK_HOLIDAYS_PATH, 'utf8'));
}

let bundled: BankHolidaysFile | undefined;
const calendars = new Map<Division, HolidayCalendar>();

/** The bundled file, read and checked once. */
export function bundledBankHolidays(): BankHolidaysFile {
  bundled ??= parseBankHolidaysFile(readBundledBankHolidays());
  return bundled;
}

/** The bundled calendar of a division. */
export function bundledHolidayCalendar(division: Division = DEFAULT_DIVISION): HolidayCalendar {
  let calendar = calendars.get(division);
  if (!calendar) {
    calendar = divisionCalendar(bundledBankHolidays(), division);
    calendars.set(division, calendar);
  }
  return calendar;
}
