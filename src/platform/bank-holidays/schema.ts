import { z } from 'zod';
import { DEFAULT_DIVISION, DIVISIONS, isIsoDate, type Division, type HolidayCalendar, type IsoDate } from '../working-days.ts';

/**
 * The gov.uk bank-holidays.json format (https://www.gov.uk/bank-holidays.json): for each of
 * the three divisions its name and its events. The same schema checks the file bundled with
 * Assure and a newer one an administrator loads, and says where a file is wrong by path, as
 * `scotland.events[2].date`, so the administrator can find the line in the file.
 */

export const DIVISION_NAMES: Record<Division, string> = {
  'england-and-wales': 'England and Wales',
  scotland: 'Scotland',
  'northern-ireland': 'Northern Ireland',
};

const missingOr = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'missing' : message);

const eventSchema = z.object(
  {
    title: z.string({ error: missingOr('expected text') }).min(1, 'expected the name of the bank holiday'),
    date: z.string({ error: missingOr('expected a date written as YYYY-MM-DD') }).refine(isIsoDate, {
      error: (issue) => `expected a real date written as YYYY-MM-DD, not ${JSON.stringify(issue.input)}`,
    }),
    notes: z.string({ error: missingOr('expected text (it may be empty)') }),
    bunting: z.boolean({ error: missingOr('expected true or false') }),
  },
  { error: missingOr('expected an event with a title, date, notes and bunting') },
);

const divisionSchema = (division: Division) =>
  z.object(
    {
      division: z.literal(division, { error: `expected "${division}"` }),
      events: z
        .array(eventSchema, { error: missingOr('expected a list of events') })
        .min(1, `the list of events is empty: the file must list the bank holidays of ${DIVISION_NAMES[division]}`),
    },
    {
      error: (issue) =>
        issue.input === undefined
          ? `missing: the file must have the bank holidays of ${DIVISION_NAMES[division]} as well as the other divisions`
          : `expected the division "${division}" with its events`,
    },
  );

export const bankHolidaysFileSchema = z.object(
  {
    'england-and-wales': divisionSchema('england-and-wales'),
    scotland: divisionSchema('scotland'),
    'northern-ireland': divisionSchema('northern-ireland'),
  },
  { error: 'expected the gov.uk bank holidays format: an object with "england-and-wales", "scotland" and "northern-ireland"' },
);

export type BankHolidaysFile = z.infer<typeof bankHolidaysFileSchema>;
export type BankHolidayEvent = z.infer<typeof eventSchema>;

/** One thing wrong with a file: where (a path such as `scotland.events[2].date`) and what. */
export type BankHolidaysFileProblem = { path: string; message: string };

export class BankHolidaysFileError extends Error {
  readonly problems: BankHolidaysFileProblem[];

  constructor(message: string, problems: BankHolidaysFileProblem[]) {
    super(message);
    this.problems = problems;
  }
}

/** Checks a gov.uk bank holidays file, text or parsed: the file, or every problem found. */
export function checkBankHolidaysFile(json: unknown): { ok: true; file: BankHolidaysFile } | { ok: false; problems: BankHolidaysFileProblem[] } {
  let value = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
    try {
      // A byte-order mark is not JSON, but editors add one.
      value = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      return { ok: false, problems: [{ path: 'the file', message: `not JSON: ${(error as Error).message}` }] };
    }
  }
  const parsed = bankHolidaysFileSchema.safeParse(value);
  if (parsed.success) return { ok: true, file: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message })) };
}

/** Checks a gov.uk bank holidays file (text or parsed) and says exactly where it is wrong. */
export function parseBankHolidaysFile(json: unknown): BankHolidaysFile {
  const checked = checkBankHolidaysFile(json);
  if (checked.ok) return checked.file;
  const { problems } = checked;
  if (problems[0]?.message.startsWith('not JSON')) throw new BankHolidaysFileError(`the bank holidays file is ${problems[0].message}`, problems);
  const described = problems.slice(0, 3).map(describeProblem);
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more problems)` : '';
  throw new BankHolidaysFileError(`the bank holidays file is not in the gov.uk format: ${described.join('; ')}${more}`, problems);
}

export function describeProblem(problem: BankHolidaysFileProblem): string {
  return `${problem.path}: ${problem.message}`;
}

function issuePath(path: PropertyKey[]): string {
  if (path.length === 0) return 'the file';
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

export function isDivision(value: unknown): value is Division {
  return typeof value === 'string' && (DIVISIONS as readonly string[]).includes(value);
}

/** The bank holidays of one division of a checked file, as a calendar. */
export function divisionCalendar(file: BankHolidaysFile, division: Division): HolidayCalendar {
  return new Set(file[division].events.map((event) => event.date));
}

/** The bank holidays of one division of a gov.uk file, as a calendar for the working-day functions. */
export function loadHolidayCalendar(json: unknown, division: Division = DEFAULT_DIVISION): HolidayCalendar {
  if (!isDivision(division)) {
    throw new BankHolidaysFileError(`unknown division "${division}": expected one of ${DIVISIONS.join(', ')}`, []);
  }
  return divisionCalendar(parseBankHolidaysFile(json), division);
}

/** The years a division lists bank holidays for, in order. */
export function yearsListed(file: BankHolidaysFile, division: Division): number[] {
  return [...new Set(file[division].events.map((event) => Number(event.date.slice(0, 4))))].sort((a, b) => a - b);
}

/** The first and last date the file lists, in any division. */
export function datesSpanned(file: BankHolidaysFile): { first: IsoDate; last: IsoDate } {
  const dates = DIVISIONS.flatMap((division) => file[division].events.map((event) => event.date)).sort();
  return { first: dates[0]!, last: dates.at(-1)! };
}
