import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Db } from '../../db/index.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { readExtract, type ExtractRow, type RowError } from './extract.ts';
import * as queries from './queries.ts';

export { listImports, findImport, listImportErrors, listChildren, findChildInScope, failInterruptedImports } from './queries.ts';

/** Rows staged per batch: big enough for throughput, small enough to keep memory flat. */
const BATCH_SIZE = 1_000;
/** Errors kept for the report. Every error is counted; past this many the list says so. */
const MAX_STORED_ERRORS = 10_000;

export type ImportResult = {
  importId: string;
  status: 'succeeded' | 'failed';
  rowsRead: number;
  errorCount: number;
  errors: RowError[];
  createdCount: number;
  updatedCount: number;
  closedCount: number;
};

export type ImportInput = {
  organisationId: string;
  actor: Actor;
  fullExtract: boolean;
  source: 'page' | 'api' | 'command';
  onProgress?: (rowsRead: number) => void;
};

/** Records an upload before its import starts, so its progress page exists at once. */
export async function createQueuedImport(
  db: Db,
  input: { importId: string; organisationId: string; userId: string | null; filename: string; fullExtract: boolean; source: 'page' | 'api' | 'command' },
) {
  await queries.insertImport(db, {
    id: input.importId,
    organisation_id: input.organisationId,
    uploaded_by: input.userId,
    source: input.source,
    filename: input.filename.slice(0, 255),
    format: detectFormatFromName(input.filename),
    full_extract: input.fullExtract,
    status: 'queued',
  });
}

/** Normalises a name for matching: case, spacing and punctuation do not matter. */
export function nameKey(value: string): string {
  return value
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[\u2018\u2019']/g, '')
    .replace(/[^a-z0-9@.]+/g, ' ')
    .trim();
}

type Resolved = { id: string } | { error: string } | null;

/** Resolves an extract's allocated worker (staff number, e-mail or full name) and team (name). */
export function buildResolvers(lookups: Awaited<ReturnType<typeof queries.loadResolvers>>) {
  const teams = new Map<string, string>();
  for (const team of lookups.teams) teams.set(nameKey(team.name), team.id);
  const staff = new Map<string, string[]>();
  const add = (key: string | null, id: string) => {
    if (!key) return;
    const list = staff.get(key) ?? [];
    if (!list.includes(id)) list.push(id);
    staff.set(key, list);
  };
  for (const person of lookups.staff) {
    add(nameKey(person.full_name), person.id);
    add(person.email ? nameKey(person.email) : null, person.id);
    add(person.staff_number ? nameKey(person.staff_number) : null, person.id);
  }
  return {
    team(value: string | null): Resolved {
      if (!value) return null;
      const id = teams.get(nameKey(value));
      return id ? { id } : { error: `no team called "${value}" in Assure: add the team first, or correct the name` };
    },
    worker(value: string | null): Resolved {
      if (!value) return null;
      const ids = staff.get(nameKey(value)) ?? [];
      if (ids.length === 1) return { id: ids[0]! };
      if (ids.length > 1) return { error: `${ids.length} staff members match "${value}": use their staff number or e-mail address` };
      return { error: `no staff member called "${value}" in Assure: add them first, or use their staff number or e-mail address` };
    },
  };
}

export function detectFormatFromName(filename: string): 'csv' | 'xlsx' {
  return path.extname(filename).toLowerCase() === '.xlsx' ? 'xlsx' : 'csv';
}

/**
 * Imports a case-management extract. The file is streamed, validated row by row and staged;
 * only if every row is valid does the register change, in one short transaction. Otherwise
 * nothing is imported and every bad row is reported (row, column, reason).
 */
export async function importChildren(db: Db, input: ImportInput & { stream: Readable; filename: string; format: 'csv' | 'xlsx'; importId?: string }): Promise<ImportResult> {
  const importId =
    input.importId ??
    (
      await queries.insertImport(db, {
        organisation_id: input.organisationId,
        uploaded_by: input.actor.principal?.userId ?? null,
        source: input.source,
        filename: input.filename.slice(0, 255),
        format: input.format,
        full_extract: input.fullExtract,
        status: 'running',
        started_at: new Date(),
      })
    ).id;
  await queries.updateImport(db, importId, { status: 'running', started_at: new Date() });
  try {
    const staged = await stageExtract(db, { ...input, importId });
    if (staged.errorCount > 0) return await failImport(db, importId, staged);
    return await applyImport(db, { ...input, importId, rowsRead: staged.rowsRead });
  } catch (error) {
    await queries.deleteStagingRows(db, importId);
    await queries.updateImport(db, importId, {
      status: 'failed',
      message: `The file could not be read: ${(error as Error).message}`,
      finished_at: new Date(),
    });
    throw error;
  }
}

export async function importChildrenFromFile(db: Db, input: ImportInput & { path: string; filename?: string; importId?: string }) {
  const filename = input.filename ?? path.basename(input.path);
  return importChildren(db, { ...input, filename, format: detectFormatFromName(filename), stream: fs.createReadStream(input.path) });
}

async function stageExtract(db: Db, input: ImportInput & { stream: Readable; format: 'csv' | 'xlsx'; importId: string }) {
  const resolve = buildResolvers(await queries.loadResolvers(db, input.organisationId));
  let rows: ExtractRow[] = [];
  let errors: RowError[] = [];
  let errorCount = 0;
  let storedErrors = 0;
  let rowsRead = 0;
  const flush = async () => {
    if (errorCount === 0) await queries.insertStagingRows(db, rows.map((row) => stagingRow(input.importId, row, resolve)));
    const keep = errors.slice(0, Math.max(0, MAX_STORED_ERRORS - storedErrors));
    await queries.insertImportErrors(db, input.importId, input.organisationId, keep);
    storedErrors += keep.length;
    await queries.updateImport(db, input.importId, { rows_read: rowsRead, error_count: errorCount });
    input.onProgress?.(rowsRead);
    rows = [];
    errors = [];
  };
  for await (const event of readExtract(input.stream, { format: input.format })) {
    if (event.kind === 'progress' || event.kind === 'columns' || event.kind === 'sheets') continue;
    if (event.kind === 'error') {
      errors.push(event.error);
      errorCount++;
      continue;
    }
    rowsRead++;
    const rowErrors = resolutionErrors(event.row, resolve);
    errors.push(...rowErrors);
    errorCount += rowErrors.length;
    rows.push(event.row);
    if (rows.length >= BATCH_SIZE || errors.length >= BATCH_SIZE) await flush();
  }
  await flush();
  return { rowsRead, errorCount };
}

function resolutionErrors(row: ExtractRow, resolve: ReturnType<typeof buildResolvers>): RowError[] {
  const errors: RowError[] = [];
  const team = resolve.team(row.allocatedTeam);
  if (team && 'error' in team) errors.push({ sheet: row.sheet, rowNumber: row.rowNumber, column: 'Allocated team', value: row.allocatedTeam ?? '', reason: team.error });
  const worker = resolve.worker(row.allocatedWorker);
  if (worker && 'error' in worker) errors.push({ sheet: row.sheet, rowNumber: row.rowNumber, column: 'Allocated worker', value: row.allocatedWorker ?? '', reason: worker.error });
  return errors;
}

function stagingRow(importId: string, row: ExtractRow, resolve: ReturnType<typeof buildResolvers>) {
  const team = resolve.team(row.allocatedTeam);
  const worker = resolve.worker(row.allocatedWorker);
  return {
    import_id: importId,
    row_number: row.rowNumber,
    external_id: row.externalId,
    // The register keeps initials NOT NULL for now: a child without them is stored with none.
    initials: row.initials ?? '',
    date_of_birth: row.dateOfBirth,
    gender: row.gender,
    ethnicity: row.ethnicity,
    legal_status: row.legalStatus,
    allocated_worker_id: worker && 'id' in worker ? worker.id : null,
    allocated_team_id: team && 'id' in team ? team.id : null,
    open_date: row.openDate,
    close_date: row.closeDate,
    referral_factors: JSON.stringify(row.referralFactors),
  };
}

async function failImport(db: Db, importId: string, staged: { rowsRead: number; errorCount: number }): Promise<ImportResult> {
  await queries.deleteStagingRows(db, importId);
  await queries.updateImport(db, importId, {
    status: 'failed',
    rows_read: staged.rowsRead,
    error_count: staged.errorCount,
    message: `${staged.errorCount} problem(s) found. Nothing was imported.`,
    finished_at: new Date(),
  });
  const errors = (await queries.listImportErrors(db, importId, 1_000)).map((row) => ({ sheet: null, rowNumber: row.row_number, column: row.column_name, value: row.value, reason: row.reason }));
  return { importId, status: 'failed', rowsRead: staged.rowsRead, errorCount: staged.errorCount, errors, createdCount: 0, updatedCount: 0, closedCount: 0 };
}

async function applyImport(db: Db, input: ImportInput & { importId: string; rowsRead: number }): Promise<ImportResult> {
  const counts = await db.transaction().execute(async (trx) => {
    const applied = await queries.applyStagedImport(trx, input);
    await queries.logImportedChildren(trx, {
      importId: input.importId,
      organisationId: input.organisationId,
      userId: input.actor.principal?.userId ?? null,
      actor: input.actor.label ?? input.actor.principal?.email ?? 'anonymous',
      ipAddress: input.actor.ipAddress,
    });
    await logActivity(trx, input.actor, {
      action: 'import',
      recordType: 'child_import',
      recordId: input.importId,
      summary: `${input.rowsRead} rows: ${applied.created} created, ${applied.updated} updated, ${applied.closed} closed`,
    });
    await queries.deleteStagingRows(trx, input.importId);
    await queries.updateImport(trx, input.importId, {
      status: 'succeeded',
      rows_read: input.rowsRead,
      created_count: applied.created,
      updated_count: applied.updated,
      closed_count: applied.closed,
      finished_at: new Date(),
    });
    return applied;
  });
  return {
    importId: input.importId,
    status: 'succeeded',
    rowsRead: input.rowsRead,
    errorCount: 0,
    errors: [],
    createdCount: counts.created,
    updatedCount: counts.updated,
    closedCount: counts.closed,
  };
}
