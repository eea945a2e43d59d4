import { pipeline, type Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { isoDate, isUniqueViolation } from './service.ts';

/**
 * Staff import from a CSV file: all rows or none. The file is parsed first (outside any
 * transaction); then, in one transaction, every row is checked against the organisation and
 * against the rest of the file, and only a file without a single problem is written.
 * A person is recognised on re-import by staff number, else by e-mail, so nobody is duplicated.
 */

export type StaffImportError = { row: number; column: string; value: string; reason: string };
export type StaffImportResult = { ok: true; created: number; updated: number } | { ok: false; errors: StaffImportError[] };

type Field = 'staffNumber' | 'fullName' | 'jobTitle' | 'email' | 'team' | 'lineManager' | 'startDate' | 'leavingDate';

/** Header names as people write them, compared without case, spaces or punctuation. */
const HEADERS: Record<Field, { label: string; names: string[] }> = {
  staffNumber: { label: 'Staff number', names: ['staffnumber', 'staffno', 'staffid', 'employeenumber', 'employeeno', 'employeeid', 'payrollnumber'] },
  fullName: { label: 'Full name', names: ['fullname', 'name', 'staffname', 'employeename'] },
  jobTitle: { label: 'Job title', names: ['jobtitle', 'role', 'position'] },
  email: { label: 'Email', names: ['email', 'emailaddress'] },
  team: { label: 'Team', names: ['team', 'teamname'] },
  lineManager: { label: 'Line manager', names: ['linemanager', 'manager'] },
  startDate: { label: 'Start date', names: ['startdate', 'datestarted'] },
  leavingDate: { label: 'Leaving date', names: ['leavingdate', 'leavedate', 'enddate', 'dateleft'] },
};

export const STAFF_IMPORT_COLUMNS = Object.values(HEADERS).map((header) => header.label);

const MAX_ROWS = 50_000;
/**
 * Bounds memory whatever the file: a staff record is a few hundred characters, so a longer row
 * (a 150 MB cell, an unclosed quote swallowing the rest of the file) is refused as soon as it
 * passes this, never held whole. The same bound as the child register's import.
 */
export const MAX_ROW_CHARS = 1_000_000;
const MAX_ERRORS = 5_000;

export function normaliseHeader(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** A cell as the file gives it: undefined when the column is absent, null when the cell is empty. */
type Cell = string | null | undefined;
type FileRow = { row: number; cells: Record<Field, Cell> };

export async function importStaff(
  db: Db,
  options: { organisationId: string; actor: Actor; input: Readable },
): Promise<StaffImportResult> {
  const file = await readFile(options.input);
  if (!file.ok) return file;
  return db
    .transaction()
    .execute(async (trx) => {
      const plan = await planImport(trx, options.organisationId, file);
      if (!plan.ok) throw new Refused(plan.errors);
      const counts = await writePlan(trx, options.organisationId, plan.people);
      await logActivity(trx, options.actor, {
        action: 'import',
        recordType: 'staff',
        summary: `Staff import: ${counts.created} created, ${counts.updated} updated`,
      });
      return { ok: true as const, ...counts };
    })
    .catch((error: unknown) => {
      if (error instanceof Refused) return { ok: false as const, errors: error.errors };
      throw error;
    });
}

class Refused extends Error {
  readonly errors: StaffImportError[];
  constructor(errors: StaffImportError[]) {
    super('staff import refused');
    this.errors = errors;
  }
}

// ——— Reading the file ———

type ParsedFile = { ok: true; headers: Partial<Record<Field, string>>; rows: FileRow[] };

async function readFile(input: Readable): Promise<ParsedFile | { ok: false; errors: StaffImportError[] }> {
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: true, info: true, max_record_size: MAX_ROW_CHARS });
  // pipeline, not pipe: an upload that failed before we got here (cut off, its stream already
  // destroyed with the error) reaches the parser as that error instead of leaving it waiting.
  let uploadFailed = false;
  pipeline(input, parser, (error) => {
    if (error && !(error instanceof CsvError)) uploadFailed = true;
  });
  let columns: (Field | null)[] | null = null;
  const headers: Partial<Record<Field, string>> = {};
  const rows: FileRow[] = [];
  const errors: StaffImportError[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!columns) {
        columns = record.map((text, index) => {
          const field = fieldNamed(text);
          if (!field) return null;
          if (headers[field] !== undefined) {
            errors.push({ row: info.lines, column: text, value: text, reason: `Two columns give the ${HEADERS[field].label.toLowerCase()}: keep one` });
            return null;
          }
          headers[field] = record[index] ?? '';
          return field;
        });
        continue;
      }
      if (record.every((text) => text === '')) continue;
      if (rows.length >= MAX_ROWS) {
        errors.push({ row: info.lines, column: '', value: '', reason: `The file has more than ${MAX_ROWS.toLocaleString('en-GB')} rows: split it` });
        break;
      }
      const cells = {} as Record<Field, Cell>;
      for (const field of Object.keys(HEADERS) as Field[]) cells[field] = undefined;
      columns.forEach((field, index) => {
        if (field) cells[field] = record[index] ? record[index] : null;
      });
      rows.push({ row: info.lines, cells });
    }
  } catch (error) {
    if (error instanceof CsvError) return { ok: false, errors: [csvProblem(error)] };
    if (uploadFailed || input.destroyed) {
      return { ok: false, errors: [{ row: 0, column: '', value: '', reason: 'The upload was cut off before the end of the file: nothing was imported. Upload the file again.' }] };
    }
    throw error;
  } finally {
    // Whatever is left of an upload is read and dropped, so the request can finish.
    if (!input.destroyed) input.resume();
  }
  // An upload cut off at the size limit ends quietly: half a file must not be imported.
  if ((input as Readable & { truncated?: boolean }).truncated) {
    return { ok: false, errors: [{ row: 0, column: '', value: '', reason: 'The file is too large' }] };
  }
  if (!columns) return { ok: false, errors: [{ row: 1, column: '', value: '', reason: 'The file is empty' }] };
  for (const field of ['fullName', 'jobTitle'] as const) {
    if (headers[field] === undefined) errors.push({ row: 1, column: HEADERS[field].label, value: '', reason: `The file has no ${HEADERS[field].label} column` });
  }
  if (headers.staffNumber === undefined && headers.email === undefined) {
    errors.push({ row: 1, column: HEADERS.staffNumber.label, value: '', reason: 'The file needs a Staff number or an Email column, so people are recognised on the next import' });
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, headers, rows };
}

function csvProblem(error: CsvError): StaffImportError {
  const line = (error as CsvError & { lines?: number }).lines ?? 0;
  if (error.code === 'CSV_MAX_RECORD_SIZE') {
    return { row: line, column: '', value: '', reason: `Row ${line} is longer than ${MAX_ROW_CHARS.toLocaleString('en-GB')} characters: no staff record is this long (is a quote left open?)` };
  }
  return { row: line, column: '', value: '', reason: `The file is not a readable CSV file (${error.message})` };
}

function fieldNamed(text: string): Field | null {
  const name = normaliseHeader(text);
  for (const [field, header] of Object.entries(HEADERS) as [Field, (typeof HEADERS)[Field]][]) {
    if (header.names.includes(name)) return field;
  }
  return null;
}

/** YYYY-MM-DD or DD/MM/YYYY (UK order); anything else is not a date. */
export function parseImportDate(text: string): string | null {
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
  if (iso) return isoDate(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const uk = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  if (uk) return isoDate(Number(uk[3]), Number(uk[2]), Number(uk[1]));
  return null;
}

// ——— Checking every row ———

type ExistingStaff = {
  id: string;
  staff_number: string | null;
  email: string | null;
  full_name: string;
  line_manager_id: string | null;
  start_date: string | null;
  leaving_date: string | null;
};

/** One person after the import: `key` is their id, or `row:N` for someone new. */
type PlannedPerson = {
  key: string;
  existingId: string | null;
  row: number;
  fields: {
    staffNumber?: string | null;
    fullName: string;
    jobTitle: string;
    email?: string | null;
    teamId?: string | null;
    startDate?: string | null;
    leavingDate?: string | null;
  };
  /** undefined: the file has no line manager column, so the current one stays. */
  lineManagerKey?: string | null;
};

const emailSchema = z.email();

async function planImport(
  trx: Db,
  organisationId: string,
  file: ParsedFile,
): Promise<{ ok: true; people: PlannedPerson[] } | { ok: false; errors: StaffImportError[] }> {
  const { headers } = file;
  const errors: StaffImportError[] = [];
  const problem = (row: number, field: Field, value: Cell, reason: string) => {
    if (errors.length < MAX_ERRORS) errors.push({ row, column: headers[field] ?? HEADERS[field].label, value: value ?? '', reason });
  };

  const existing: ExistingStaff[] = await trx
    .selectFrom('staff')
    .select(['id', 'staff_number', 'email', 'full_name', 'line_manager_id', 'start_date', 'leaving_date'])
    .where('organisation_id', '=', organisationId)
    .execute();
  const existingByNumber = new Map(existing.filter((s) => s.staff_number).map((s) => [s.staff_number!, s]));
  const existingByEmail = new Map(existing.filter((s) => s.email).map((s) => [s.email!.toLowerCase(), s]));
  const teams = await trx
    .selectFrom('teams')
    .select(['id', sql<string>`lower(name)`.as('name')])
    .where('organisation_id', '=', organisationId)
    .execute();
  const teamsByName = groupBy(teams, (team) => team.name);

  const people: PlannedPerson[] = [];
  const rowOfNumber = new Map<string, number>();
  const rowOfEmail = new Map<string, number>();
  const rowOfExisting = new Map<string, number>();
  const managerRefs = new Map<PlannedPerson, string | null>();

  for (const { row, cells } of file.rows) {
    const staffNumber = cells.staffNumber;
    const email = cells.email;
    const emailKey = email?.toLowerCase() ?? null;

    if (!cells.fullName) problem(row, 'fullName', cells.fullName, 'Enter the full name');
    else if (cells.fullName.length > 200) problem(row, 'fullName', cells.fullName, 'Full name must be 200 characters or fewer');
    if (!cells.jobTitle) problem(row, 'jobTitle', cells.jobTitle, 'Enter the job title');
    else if (cells.jobTitle.length > 200) problem(row, 'jobTitle', cells.jobTitle, 'Job title must be 200 characters or fewer');
    if (staffNumber && staffNumber.length > 50) problem(row, 'staffNumber', staffNumber, 'Staff number must be 50 characters or fewer');
    if (email && (email.length > 254 || !emailSchema.safeParse(email).success)) problem(row, 'email', email, 'Enter an e-mail address in the correct format, like name@example.org');
    if (!staffNumber && !email) problem(row, headers.staffNumber ? 'staffNumber' : 'email', null, 'Give a staff number or an e-mail address, so this person is recognised on the next import');

    if (staffNumber) {
      const earlier = rowOfNumber.get(staffNumber);
      if (earlier) problem(row, 'staffNumber', staffNumber, `Staff number ${staffNumber} is also on row ${earlier}`);
      else rowOfNumber.set(staffNumber, row);
    }
    if (emailKey) {
      const earlier = rowOfEmail.get(emailKey);
      if (earlier) problem(row, 'email', email, `This e-mail address is also on row ${earlier}`);
      else rowOfEmail.set(emailKey, row);
    }

    // Who this row is: by staff number, else by e-mail.
    let match = staffNumber ? existingByNumber.get(staffNumber) : undefined;
    if (!match && emailKey) {
      const byEmail = existingByEmail.get(emailKey);
      if (byEmail && staffNumber && byEmail.staff_number && byEmail.staff_number !== staffNumber) {
        problem(row, 'email', email, `This e-mail address belongs to staff number ${byEmail.staff_number}, not ${staffNumber}`);
      } else {
        match = byEmail;
      }
    } else if (match && emailKey) {
      const owner = existingByEmail.get(emailKey);
      if (owner && owner.id !== match.id) problem(row, 'email', email, `This e-mail address belongs to another staff member (${owner.staff_number ?? owner.full_name})`);
    }
    if (match) {
      const earlier = rowOfExisting.get(match.id);
      if (earlier) problem(row, headers.staffNumber ? 'staffNumber' : 'email', staffNumber ?? email, `Row ${earlier} is the same person`);
      else rowOfExisting.set(match.id, row);
    }

    let teamId: string | null | undefined;
    if (cells.team) {
      const found = teamsByName.get(cells.team.toLowerCase()) ?? [];
      if (found.length === 1) teamId = found[0]!.id;
      else problem(row, 'team', cells.team, found.length ? 'More than one team has this name' : `No team is called "${cells.team}"`);
    } else if (cells.team === null) teamId = null;

    const startDate = dateCell(row, 'startDate', cells.startDate, problem);
    const leavingDate = dateCell(row, 'leavingDate', cells.leavingDate, problem);
    const effectiveStart = startDate === undefined ? (match?.start_date ?? null) : startDate;
    const effectiveLeaving = leavingDate === undefined ? (match?.leaving_date ?? null) : leavingDate;
    if (effectiveStart && effectiveLeaving && effectiveLeaving < effectiveStart) {
      problem(row, 'leavingDate', cells.leavingDate ?? effectiveLeaving, 'Leaving date must be the same as or after the start date');
    }

    // Rows with problems are kept too, so other rows may still name them as line manager;
    // any problem at all means nothing is written.
    const person: PlannedPerson = {
      key: match?.id ?? `row:${row}`,
      existingId: match?.id ?? null,
      row,
      fields: {
        fullName: cells.fullName ?? '',
        jobTitle: cells.jobTitle ?? '',
        ...(staffNumber !== undefined ? { staffNumber } : {}),
        ...(email !== undefined ? { email } : {}),
        ...(teamId !== undefined ? { teamId } : {}),
        ...(startDate !== undefined ? { startDate } : {}),
        ...(leavingDate !== undefined ? { leavingDate } : {}),
      },
    };
    people.push(person);
    if (cells.lineManager !== undefined) managerRefs.set(person, cells.lineManager);
  }

  resolveManagers(existing, people, managerRefs, problem);
  findManagementLoops(existing, people, problem);
  if (errors.length) return { ok: false, errors: errors.sort((a, b) => a.row - b.row) };
  return { ok: true, people };
}

function dateCell(row: number, field: Field, value: Cell, problem: (row: number, field: Field, value: Cell, reason: string) => void): string | null | undefined {
  if (value === undefined || value === null) return value;
  const date = parseImportDate(value);
  if (!date) problem(row, field, value, `${HEADERS[field].label} must be a real date, as YYYY-MM-DD or DD/MM/YYYY`);
  return date ?? undefined;
}

/**
 * A line manager is named by staff number, e-mail or exact full name, and may be anyone in
 * the organisation after the import: someone already there, or a row earlier or later in the file.
 */
function resolveManagers(
  existing: ExistingStaff[],
  people: PlannedPerson[],
  refs: Map<PlannedPerson, string | null>,
  problem: (row: number, field: Field, value: Cell, reason: string) => void,
) {
  // Everyone as they will be: the file's details win over the stored ones.
  const after = new Map<string, { number: string | null; email: string | null; name: string }>();
  for (const s of existing) after.set(s.id, { number: s.staff_number, email: s.email?.toLowerCase() ?? null, name: s.full_name });
  for (const person of people) {
    const current = after.get(person.key);
    after.set(person.key, {
      number: person.fields.staffNumber !== undefined ? person.fields.staffNumber : (current?.number ?? null),
      email: person.fields.email !== undefined ? (person.fields.email?.toLowerCase() ?? null) : (current?.email ?? null),
      name: person.fields.fullName,
    });
  }
  const byNumber = new Map<string, string[]>();
  const byEmail = new Map<string, string[]>();
  const byName = new Map<string, string[]>();
  for (const [key, who] of after) {
    if (who.number) push(byNumber, who.number, key);
    if (who.email) push(byEmail, who.email, key);
    push(byName, who.name, key);
  }
  for (const [person, ref] of refs) {
    if (!ref) {
      person.lineManagerKey = null;
      continue;
    }
    const candidates = byNumber.get(ref) ?? byEmail.get(ref.toLowerCase()) ?? byName.get(ref) ?? [];
    if (candidates.length === 0) problem(person.row, 'lineManager', ref, 'No staff member has this staff number, e-mail address or full name');
    else if (candidates.length > 1) problem(person.row, 'lineManager', ref, 'More than one staff member matches: give their staff number instead');
    else if (candidates[0] === person.key) problem(person.row, 'lineManager', ref, 'A person cannot be their own line manager');
    else person.lineManagerKey = candidates[0]!;
  }
}

/** A chain of line managers must end: nobody may end up managing themselves, however indirectly. */
function findManagementLoops(existing: ExistingStaff[], people: PlannedPerson[], problem: (row: number, field: Field, value: Cell, reason: string) => void) {
  const managerOf = new Map<string, string | null>();
  for (const s of existing) managerOf.set(s.id, s.line_manager_id);
  for (const person of people) {
    if (person.lineManagerKey !== undefined) managerOf.set(person.key, person.lineManagerKey);
    else if (!person.existingId) managerOf.set(person.key, null);
  }
  for (const person of people) {
    if (!person.lineManagerKey) continue;
    const seen = new Set<string>([person.key]);
    let next: string | null | undefined = person.lineManagerKey;
    while (next) {
      if (next === person.key) {
        problem(person.row, 'lineManager', null, 'This would make a loop of line managers: someone would end up managing themselves');
        break;
      }
      if (seen.has(next)) break; // a loop elsewhere: reported on its own rows
      seen.add(next);
      next = managerOf.get(next);
    }
  }
}

// ——— Writing ———

async function writePlan(trx: Db, organisationId: string, people: PlannedPerson[]) {
  const ids = new Map<string, string>();
  let created = 0;
  let updated = 0;
  let current: PlannedPerson | null = null;
  try {
    for (const person of people) {
      current = person;
      const f = person.fields;
      if (person.existingId) {
        await trx
          .updateTable('staff')
          .set({
            full_name: f.fullName,
            job_title: f.jobTitle,
            ...(f.staffNumber !== undefined ? { staff_number: f.staffNumber } : {}),
            ...(f.email !== undefined ? { email: f.email } : {}),
            ...(f.teamId !== undefined ? { team_id: f.teamId } : {}),
            ...(f.startDate !== undefined ? { start_date: f.startDate } : {}),
            ...(f.leavingDate !== undefined ? { leaving_date: f.leavingDate } : {}),
            version: sql`version + 1`,
            updated_at: sql`now()`,
          })
          .where('organisation_id', '=', organisationId)
          .where('id', '=', person.existingId)
          .execute();
        ids.set(person.key, person.existingId);
        updated++;
      } else {
        const row = await trx
          .insertInto('staff')
          .values({
            organisation_id: organisationId,
            full_name: f.fullName,
            job_title: f.jobTitle,
            staff_number: f.staffNumber ?? null,
            email: f.email ?? null,
            team_id: f.teamId ?? null,
            start_date: f.startDate ?? null,
            leaving_date: f.leavingDate ?? null,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        ids.set(person.key, row.id);
        created++;
      }
    }
    // Managers last: a row may name someone further down the file.
    for (const person of people) {
      if (person.lineManagerKey === undefined) continue;
      current = person;
      const managerId = person.lineManagerKey === null ? null : (ids.get(person.lineManagerKey) ?? person.lineManagerKey);
      await trx.updateTable('staff').set({ line_manager_id: managerId }).where('id', '=', ids.get(person.key)!).execute();
    }
  } catch (error) {
    if (isUniqueViolation(error) && current) {
      throw new Refused([
        { row: current.row, column: '', value: '', reason: 'Saving this row would give two people the same staff number or e-mail address' },
      ]);
    }
    throw error;
  }
  return { created, updated };
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) push(groups, keyOf(item), item);
  return groups;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
