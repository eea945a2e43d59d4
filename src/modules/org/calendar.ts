import { inTransaction, type Db } from '../../db/index.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { bundledBankHolidays } from '../../platform/bank-holidays/index.ts';
import {
  checkBankHolidaysFile,
  datesSpanned,
  describeProblem,
  DIVISION_NAMES,
  parseBankHolidaysFile,
  yearsListed,
  type BankHolidaysFile,
} from '../../platform/bank-holidays/schema.ts';
import type { FieldError } from '../../platform/errors.ts';
import type { Division, HolidayCalendar, IsoDate } from '../../platform/working-days.ts';
import type { Outcome } from './service.ts';

/**
 * An organisation's bank holidays: the division it chose (England and Wales unless it says
 * otherwise), from the newest bank-holidays.json an administrator loaded, else the file
 * bundled with Assure. A loaded file speaks for the years it lists; for years it does not
 * list the bundled file still counts, so loading a file that starts later or ends sooner
 * never leaves a year without its bank holidays.
 */

/** How many problems a refused upload lists: enough to fix a file, not a page of thousands. */
const PROBLEMS_SHOWN = 20;

type LoadedFileRow = {
  id: string;
  file_name: string;
  loaded_at: Date;
  first_date: string;
  last_date: string;
  loaded_by_name: string | null;
};

/** Checked files by id: a loaded file never changes, so it is checked once per process. */
const checkedFiles = new Map<string, BankHolidaysFile>();

async function organisationDivision(db: Db, organisationId: string): Promise<Division> {
  const row = await db.selectFrom('organisations').select('bank_holiday_division').where('id', '=', organisationId).executeTakeFirstOrThrow();
  return row.bank_holiday_division;
}

async function newestFile(db: Db, organisationId: string): Promise<LoadedFileRow | undefined> {
  return db
    .selectFrom('bank_holiday_files as f')
    .leftJoin('users as u', 'u.id', 'f.loaded_by')
    .select(['f.id', 'f.file_name', 'f.loaded_at', 'f.first_date', 'f.last_date', 'u.display_name as loaded_by_name'])
    .where('f.organisation_id', '=', organisationId)
    .orderBy('f.loaded_at', 'desc')
    .orderBy('f.id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

async function fileContent(db: Db, fileId: string): Promise<BankHolidaysFile> {
  let file = checkedFiles.get(fileId);
  if (!file) {
    const row = await db.selectFrom('bank_holiday_files').select('content').where('id', '=', fileId).executeTakeFirstOrThrow();
    file = parseBankHolidaysFile(row.content);
    if (checkedFiles.size >= 100) checkedFiles.clear();
    checkedFiles.set(fileId, file);
  }
  return file;
}

/** The loaded file's dates for the years it lists, the bundled file's for the others. */
function combinedCalendar(division: Division, loaded: BankHolidaysFile | null) {
  const bundled = bundledBankHolidays();
  const loadedYears = loaded ? yearsListed(loaded, division) : [];
  const fromBundled = bundled[division].events.filter((event) => !loadedYears.includes(Number(event.date.slice(0, 4))));
  const dates = [...(loaded ? loaded[division].events : []), ...fromBundled].map((event) => event.date);
  const bundledYears = yearsListed(bundled, division).filter((year) => !loadedYears.includes(year));
  return { calendar: new Set(dates) as HolidayCalendar, loadedYears, bundledYears };
}

/**
 * Calendars by division and loaded file: both fixed once chosen (a loaded file never changes),
 * so a calendar is combined once per process, not on every page that counts working days.
 * Keyed by the file's id, a newer file or another division makes a new entry.
 */
const combinedCalendars = new Map<string, HolidayCalendar>();

/**
 * The bank holidays that are not working days for this organisation: its division and newest
 * file asked in one statement (every page with a deadline asks).
 */
export async function holidayCalendarFor(db: Db, organisationId: string): Promise<HolidayCalendar> {
  const row = await db
    .selectFrom('organisations')
    .select((eb) => [
      'organisations.bank_holiday_division as division',
      eb
        .selectFrom('bank_holiday_files as f')
        .select('f.id')
        .whereRef('f.organisation_id', '=', 'organisations.id')
        .orderBy('f.loaded_at', 'desc')
        .orderBy('f.id', 'desc')
        .limit(1)
        .as('file_id'),
    ])
    .where('organisations.id', '=', organisationId)
    .executeTakeFirstOrThrow();
  const key = `${row.division} ${row.file_id ?? ''}`;
  let calendar = combinedCalendars.get(key);
  if (!calendar) {
    calendar = combinedCalendar(row.division, row.file_id ? await fileContent(db, row.file_id) : null).calendar;
    if (combinedCalendars.size >= 100) combinedCalendars.clear();
    combinedCalendars.set(key, calendar);
  }
  return calendar;
}

/** What the bank holidays page shows: the division, the years covered and where they come from. */
export async function bankHolidaySettings(db: Db, organisationId: string) {
  const division = await organisationDivision(db, organisationId);
  const file = await newestFile(db, organisationId);
  const { calendar, loadedYears, bundledYears } = combinedCalendar(division, file ? await fileContent(db, file.id) : null);
  const years = [...loadedYears, ...bundledYears].sort((a, b) => a - b);
  return {
    division,
    divisionName: DIVISION_NAMES[division],
    firstYear: years[0] ?? null,
    lastYear: years.at(-1) ?? null,
    loadedFile: file ? { ...file, years: loadedYears } : null,
    bundledYears,
    holidays: [...calendar].sort(),
  };
}

/**
 * Whether the bank holidays reach far enough. Past the last year any file lists, deadlines
 * count weekends only: work is never blocked, but a bank holiday there counts as a working
 * day. So the administrator is warned from six months before the end (`ending`) and after it
 * (`ended`), and asked to load the newer gov.uk file.
 */
export type BankHolidayCoverage = { lastYear: number | null; state: 'covered' | 'ending' | 'ended' };

export function bankHolidayCoverage(lastYear: number | null, today: IsoDate): BankHolidayCoverage {
  if (lastYear === null) return { lastYear, state: 'ended' };
  if (today > `${lastYear}-12-31`) return { lastYear, state: 'ended' };
  if (today >= `${lastYear}-07-01`) return { lastYear, state: 'ending' };
  return { lastYear, state: 'covered' };
}

/** The organisation's coverage on `today`, for its administrators' pages. */
export async function bankHolidayCoverageFor(db: Db, organisationId: string, today: IsoDate): Promise<BankHolidayCoverage> {
  return bankHolidayCoverage((await bankHolidaySettings(db, organisationId)).lastYear, today);
}

export const DIVISION_CHANGED_MESSAGE = 'Someone else changed the bank holidays used since you opened this page. Check the division now in use, then choose again.';

/**
 * Changes the division. `shown` is the division the form was opened with: if it is no longer
 * the one saved, someone else changed it meanwhile and nothing is written (409).
 */
export async function setBankHolidayDivision(db: Db, actor: Actor, input: { division: Division; shown: Division }): Promise<Outcome<{ changed: boolean }>> {
  const organisationId = actor.principal!.organisationId;
  return inTransaction(db, async (trx) => {
    const current = await organisationDivision(trx, organisationId);
    if (current !== input.shown) return { ok: false, status: 409, errors: [{ field: 'division', message: DIVISION_CHANGED_MESSAGE }] };
    if (current === input.division) return { ok: true, value: { changed: false } };
    const updated = await trx
      .updateTable('organisations')
      .set({ bank_holiday_division: input.division, updated_at: new Date() })
      .where('id', '=', organisationId)
      .where('bank_holiday_division', '=', input.shown)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) return { ok: false, status: 409, errors: [{ field: 'division', message: DIVISION_CHANGED_MESSAGE }] };
    await logActivity(trx, actor, {
      action: 'update',
      recordType: 'organisation',
      recordId: organisationId,
      summary: `bank holidays of ${DIVISION_NAMES[input.division]} in use, instead of ${DIVISION_NAMES[current]}`,
    });
    return { ok: true, value: { changed: true } };
  });
}

/** Problems with an uploaded file as errors of the file field, each naming where in the file. */
function problemErrors(problems: { path: string; message: string }[]): FieldError[] {
  const errors = problems.slice(0, PROBLEMS_SHOWN).map((problem) => ({ field: 'file', message: describeProblem(problem) }));
  if (problems.length > PROBLEMS_SHOWN) errors.push({ field: 'file', message: `and ${problems.length - PROBLEMS_SHOWN} more problems` });
  return errors;
}

/** Loads a gov.uk bank-holidays.json; a file with any problem is refused whole and nothing is saved. */
export async function loadBankHolidayFile(db: Db, actor: Actor, input: { fileName: string; content: Uint8Array }): Promise<Outcome<{ id: string }>> {
  const principal = actor.principal!;
  const checked = checkBankHolidaysFile(input.content);
  if (!checked.ok) return { ok: false, status: 400, errors: problemErrors(checked.problems) };
  const { first, last } = datesSpanned(checked.file);
  return inTransaction(db, async (trx) => {
    const row = await trx
      .insertInto('bank_holiday_files')
      .values({
        organisation_id: principal.organisationId,
        loaded_by: principal.userId,
        file_name: input.fileName,
        content: JSON.stringify(checked.file),
        first_date: first,
        last_date: last,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await logActivity(trx, actor, { action: 'import', recordType: 'bank_holiday_file', recordId: row.id, summary: `bank holidays file ${input.fileName} loaded, ${first} to ${last}` });
    return { ok: true, value: { id: row.id } };
  });
}
