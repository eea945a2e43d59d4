import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../db/index.ts';
import type { ChildImportStatus } from '../../db/types.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { ukDateAt, type Clock } from '../../platform/clock.ts';
import { withCsvCopy, type CopiedRows, type CopyStageInput } from './csv-copy.ts';
import { readExtract, type ExtractRow, type RowError, type SheetPlan } from './extract.ts';
import { ifNoLiveImport, withImportLock } from './import-lock.ts';
import * as queries from './queries.ts';

export { listImports, findImport, listImportErrors, listChildren, findChildInScope, findChildrenByCaseId } from './queries.ts';
export { ImportBusyError } from './import-lock.ts';

/** Rows staged per batch: big enough for throughput, small enough to keep memory flat. */
const BATCH_SIZE = 5_000;
/** Errors kept for the report. Every error is counted; past this many the list says so. */
const MAX_STORED_ERRORS = 10_000;
/** Children the preview names among those an import would close. */
const CLOSURES_LISTED = 20;
/** A full extract closing more than this share of the open children asks to be confirmed twice. */
const MANY_CLOSURES_SHARE = 0.25;
/** How long the children an import closed can be reopened from its page. */
export const REOPEN_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Named moments of an import, where a test can stop the process (see `pause`): reading the
 * file, the final write (the register changed, inside the transaction) and just before commit.
 */
export type PausePoint = 'reading' | 'final-write' | 'commit';

export type ImportOptions = {
  organisationId: string;
  actor: Actor;
  /** Close the open children missing from the file (a full extract). Never the default. */
  closeMissing: boolean;
  source: 'page' | 'api' | 'command';
  clock: Clock;
  onProgress?: (rowsRead: number) => void;
  pause?: (point: PausePoint) => Promise<void>;
};

export type ImportFile = { path: string; filename: string };

export type ImportPreview = {
  adds: number;
  updates: number;
  unchanged: number;
  closes: number;
  openCount: number;
  firstClosures: { externalId: string; initials: string | null }[];
  /** More than a quarter of the open children would close: a second confirmation is needed. */
  closesMany: boolean;
};

export type ImportOutcome = {
  importId: string;
  status: ChildImportStatus;
  rowsRead: number;
  errorCount: number;
  errors: RowError[];
  preview: ImportPreview | null;
  createdCount: number;
  updatedCount: number;
  closedCount: number;
  message: string | null;
};

export function detectFormatFromName(filename: string): 'csv' | 'xlsx' {
  return path.extname(filename).toLowerCase() === '.xlsx' ? 'xlsx' : 'csv';
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
  const team = (value: string): Resolved => {
    const id = teams.get(nameKey(value));
    return id ? { id } : { error: `no team called "${value}" in Assure: add the team first, or correct the name` };
  };
  const worker = (value: string): Resolved => {
    const ids = staff.get(nameKey(value)) ?? [];
    if (ids.length === 1) return { id: ids[0]! };
    if (ids.length > 1) return { error: `${ids.length} staff members match "${value}": use their staff number or e-mail address` };
    return { error: `no staff member called "${value}" in Assure: add them first, or use their staff number or e-mail address` };
  };
  return { team: remembered(team), worker: remembered(worker) };
}

/**
 * A file names the same few hundred workers and teams on every row: each spelling is resolved
 * once. Bounded, so a file of all-different names cannot grow the memory without limit.
 */
function remembered(resolve: (value: string) => Resolved): (value: string | null) => Resolved {
  const known = new Map<string, Resolved>();
  return (value) => {
    if (!value) return null;
    let found = known.get(value);
    if (found === undefined) {
      found = resolve(value);
      if (known.size < 10_000) known.set(value, found);
    }
    return found;
  };
}

/**
 * Reads, checks and stages a file, then previews what applying it would do. Nothing in the
 * register changes: the import waits, 'staged', for someone to confirm exactly that preview.
 * Any problem in any row means 'failed', with every problem listed.
 */
export async function stageChildrenImport(db: Db, input: ImportOptions & ImportFile & { importId?: string }): Promise<ImportOutcome> {
  return withImportLock(db, input.organisationId, () => stageHoldingLock(db, { ...input, awaitConfirmation: true }));
}

/**
 * The command line and the API without a dry run: stage, preview and — when the caller asked
 * for exactly this (`closeMissing`, and `confirmManyClosures` past a quarter) — apply, all
 * while holding the organisation's import lock, so nothing can change the register between.
 * A CSV on PostgreSQL is checked, previewed and applied in one transaction on the connection
 * that copied it (see csv-copy.ts): its rows are never written to the staging table.
 */
export async function importChildrenNow(
  db: Db,
  input: ImportOptions & ImportFile & { dryRun: boolean; confirmManyClosures: boolean; importId?: string },
): Promise<ImportOutcome> {
  return withImportLock(db, input.organisationId, async () => {
    // The import stays 'running' throughout: if this process dies, start-up knows it is an orphan.
    const importId = await startImport(db, input);
    // Before the copied rows are matched to the register (see recordPreview).
    const fingerprint = await queries.registerFingerprint(db, input.organisationId);
    const copied = await failOnError(db, importId, input.clock, async () =>
      withCsvCopy(db, await copyInput(db, { ...input, importId }, 'transaction'), (rows) => previewAndApply(rows, { ...input, importId, fingerprint })),
    );
    if (copied?.result) {
      const { result } = copied;
      if ('discard' in result) return discardHoldingLock(db, await findOutcome(db, input.organisationId, importId), input.clock, result.discard);
      return { ...(await findOutcome(db, input.organisationId, importId)), createdCount: result.created, updatedCount: result.updated, closedCount: result.closed };
    }
    if (copied) return failImport(db, importId, copied, input.clock);
    const staged = await stageStarted(db, { ...input, importId, awaitConfirmation: false });
    if (staged.status !== 'running') return staged;
    if (input.dryRun) return discardHoldingLock(db, staged, input.clock, 'A dry run: nothing was imported.');
    if (staged.preview!.closesMany && !input.confirmManyClosures) {
      return discardHoldingLock(db, staged, input.clock, manyClosuresRefusal(staged.preview!));
    }
    return applyHoldingLock(db, { ...input, importId, confirmManyClosures: input.confirmManyClosures }, 'running');
  });
}

/**
 * In the copying transaction: the preview (kept on the import), then what the caller asked for —
 * nothing on a dry run or on too many closures not confirmed, else the register changes.
 */
async function previewAndApply(
  rows: CopiedRows,
  input: ImportOptions & { importId: string; dryRun: boolean; confirmManyClosures: boolean; fingerprint: string },
): Promise<{ discard: string } | AppliedCounts> {
  const staged: queries.StagedRows = { in: 'transaction', rows: rows.rowsRead, sourceList: rows.sourceList, counts: rows.counts! };
  const preview = await recordPreview(rows.trx, { ...input, staged, rowsRead: rows.rowsRead, status: 'running' });
  if (input.dryRun) return { discard: 'A dry run: nothing was imported.' };
  if (preview.closesMany && !input.confirmManyClosures) return { discard: manyClosuresRefusal(preview) };
  return applyInTransaction(rows.trx, { ...input, staged }, 'running');
}

export function manyClosuresRefusal(preview: ImportPreview): string {
  return `This file would close ${preview.closes} of the ${preview.openCount} open children, more than a quarter. Nothing was imported. If that is really what you mean, confirm that you want to close that many children.`;
}

export type ConfirmInput = { importId: string; organisationId: string; actor: Actor; clock: Clock; confirmManyClosures: boolean; pause?: (point: PausePoint) => Promise<void> };

/** Applies a staged import exactly as previewed, or refuses (register changed, not confirmed twice). */
export async function confirmChildrenImport(db: Db, input: ConfirmInput): Promise<ImportOutcome> {
  return withImportLock(db, input.organisationId, async () => {
    try {
      return await applyHoldingLock(db, input, 'staged');
    } catch (error) {
      // A preview of another register can never be applied: say so on the import itself.
      if (error instanceof ImportNotAppliedError && error.reason === 'register-changed') {
        const found = await queries.findImport(db, input.organisationId, input.importId);
        if (found) await discardHoldingLock(db, outcomeOf(found), input.clock, error.message);
      }
      throw error;
    }
  });
}

/** Drops a staged import that the user chose not to apply. */
export async function discardChildrenImport(db: Db, input: { importId: string; organisationId: string; clock: Clock }) {
  const found = await queries.findImport(db, input.organisationId, input.importId);
  if (!found || found.status !== 'staged') return;
  await withImportLock(db, input.organisationId, () => discardHoldingLock(db, outcomeOf(found), input.clock, 'Cancelled before anything was imported.'));
}

async function stageHoldingLock(db: Db, input: ImportOptions & ImportFile & { importId?: string; awaitConfirmation: boolean }): Promise<ImportOutcome> {
  const importId = await startImport(db, input);
  return stageStarted(db, { ...input, importId });
}

/** The import's record, 'running'. Inserted only once the lock is held: a 'running' import always has a live process behind it. */
async function startImport(db: Db, input: ImportOptions & ImportFile & { importId?: string }): Promise<string> {
  const importRun = await queries.insertImport(db, {
    ...(input.importId ? { id: input.importId } : {}),
    organisation_id: input.organisationId,
    uploaded_by: input.actor.principal?.userId ?? null,
    source: input.source,
    filename: input.filename.slice(0, 255),
    format: detectFormatFromName(input.filename),
    full_extract: input.closeMissing,
    status: 'running',
    started_at: input.clock.now(),
  });
  return importRun.id;
}

/** Reads, checks and stages the file into the staging table, and keeps its preview on the import. */
async function stageStarted(db: Db, input: ImportOptions & ImportFile & { importId: string; awaitConfirmation: boolean }): Promise<ImportOutcome> {
  const { importId } = input;
  return failOnError(db, importId, input.clock, async () => {
    const staged = await stageExtract(db, input);
    if (staged.errorCount > 0) return failImport(db, importId, staged, input.clock);
    await recordPreview(db, {
      ...input,
      staged: { in: 'table', importId, onePerChild: staged.sheetsRead <= 1 },
      rowsRead: staged.rowsRead,
      status: input.awaitConfirmation ? 'staged' : 'running',
    });
    return findOutcome(db, input.organisationId, importId);
  });
}

/** A failure while reading or checking: the import says so, keeps nothing staged, and the error goes on. */
async function failOnError<T>(db: Db, importId: string, clock: Clock, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    await queries.deleteStagingRows(db, importId);
    const message = error instanceof ImportNotAppliedError ? error.message : `The file could not be read: ${(error as Error).message}`;
    await queries.updateImport(db, importId, { status: 'failed', message, finished_at: clock.now() });
    throw error;
  }
}

/** What applying the staged rows would do, kept on the import so that a confirmation applies exactly that. */
async function recordPreview(
  q: Db,
  input: {
    importId: string;
    organisationId: string;
    closeMissing: boolean;
    staged: queries.StagedRows;
    rowsRead: number;
    status: 'staged' | 'running';
    /** The register's fingerprint from before the rows were matched to it, when they were matched earlier. */
    fingerprint?: string;
  },
): Promise<ImportPreview> {
  // Taken before the rows are matched to the register: a change made meanwhile is then seen at the confirmation.
  const fingerprint = input.fingerprint ?? (await queries.registerFingerprint(q, input.organisationId));
  const preview = await queries.previewStagedImport(q, { staged: input.staged, organisationId: input.organisationId, closeMissing: input.closeMissing, listed: CLOSURES_LISTED });
  await queries.updateImport(q, input.importId, {
    status: input.status,
    rows_read: input.rowsRead,
    created_count: preview.adds,
    updated_count: preview.updates,
    unchanged_count: preview.unchanged,
    closed_count: preview.closes,
    open_count: preview.open_count,
    first_closures: JSON.stringify(preview.firstClosures),
    list_counts: JSON.stringify(await queries.countChildrenByList(q, input.staged)),
    register_fingerprint: fingerprint,
  });
  return {
    adds: preview.adds,
    updates: preview.updates,
    unchanged: preview.unchanged,
    closes: preview.closes,
    openCount: preview.open_count,
    firstClosures: preview.firstClosures,
    closesMany: closesMany(preview.closes, preview.open_count),
  };
}

async function findOutcome(db: Db, organisationId: string, importId: string): Promise<ImportOutcome> {
  return outcomeOf((await queries.findImport(db, organisationId, importId))!);
}

/** Where the file goes through PostgreSQL's own CSV reader (csv-copy.ts). */
async function copyInput(db: Db, input: ImportOptions & ImportFile & { importId: string }, stageInto: CopyStageInput['stageInto']): Promise<CopyStageInput> {
  let sheets: SheetPlan | null = null;
  return {
    importId: input.importId,
    organisationId: input.organisationId,
    path: input.path,
    filename: input.filename,
    today: ukDateAt(input.clock.now()),
    resolve: buildResolvers(await queries.loadResolvers(db, input.organisationId)),
    maxStoredErrors: MAX_STORED_ERRORS,
    // The sheet read and the rows in it are known together: one write for both.
    recordSheets: async (plan) => void (sheets = plan),
    afterRead: async (rowsRead) => {
      await queries.updateImport(db, input.importId, { rows_read: rowsRead, ...(sheets ? { sheets: JSON.stringify({ read: sheets.read, skipped: sheets.skipped }) } : {}) });
      input.onProgress?.(rowsRead);
      await input.pause?.('reading');
    },
    stageInto,
  };
}

async function stageExtract(db: Db, input: ImportOptions & ImportFile & { importId: string }) {
  // A CSV on PostgreSQL is parsed by the server (see csv-copy.ts); any other file, or a CSV it
  // would read differently, is read here.
  const copied = await withCsvCopy(db, await copyInput(db, input, 'table'), async () => null);
  if (copied) return { ...copied, sheetsRead: 1 };
  const resolve = buildResolvers(await queries.loadResolvers(db, input.organisationId));
  let rows: ExtractRow[] = [];
  let errors: RowError[] = [];
  let errorCount = 0;
  let storedErrors = 0;
  let rowsRead = 0;
  let batches = 0;
  let sheetsRead = 0;
  // A batch is written while the next one is read: the file's parsing (in this process) and
  // the database's work overlap. At most one write is in flight, so memory stays at two batches.
  let writing: Promise<void> = Promise.resolve();
  const staging = await queries.openStagingWriter(db);
  const flush = async () => {
    await writing;
    const batch = errorCount === 0 ? rows.map((row) => stagingRow(input.importId, row, resolve)) : [];
    const keep = errors.slice(0, Math.max(0, MAX_STORED_ERRORS - storedErrors));
    storedErrors += keep.length;
    const progress = { rows_read: rowsRead, error_count: errorCount };
    rows = [];
    errors = [];
    writing = (async () => {
      await staging.write(batch);
      await queries.insertImportErrors(db, input.importId, input.organisationId, keep);
      await queries.updateImport(db, input.importId, progress);
      input.onProgress?.(progress.rows_read);
    })();
    // Never left unobserved: a failed write is rethrown by the next flush or the last await.
    writing.catch(() => {});
    if (++batches === 1) {
      await writing;
      await input.pause?.('reading');
    }
  };
  try {
    const stream = fs.createReadStream(input.path);
    const options = { format: detectFormatFromName(input.filename), today: ukDateAt(input.clock.now()), name: input.filename };
    for await (const event of readExtract(stream, options)) {
      if (event.kind === 'error') {
        errors.push(event.error);
        errorCount++;
        continue;
      }
      if (event.kind === 'sheets') {
        sheetsRead = event.read.length;
        await recordSheets(db, input.importId, event);
      }
      if (event.kind === 'rejected') {
        // Its format problems come as error events; its team and worker are checked too, so one upload names them all.
        const rowErrors = resolutionErrors(event.row, resolve, options.format === 'xlsx');
        errors.push(...rowErrors);
        errorCount += rowErrors.length;
        continue;
      }
      if (event.kind !== 'row') continue;
      rowsRead++;
      const rowErrors = resolutionErrors(event.row, resolve, options.format === 'xlsx');
      errors.push(...rowErrors);
      errorCount += rowErrors.length;
      rows.push(event.row);
      if (rows.length >= BATCH_SIZE || errors.length >= BATCH_SIZE) await flush();
    }
    await flush();
    await writing;
  } catch (error) {
    await writing.catch(() => {});
    await staging.abort();
    throw error;
  }
  // A file with any problem stages nothing: its rows are never applied, only its errors shown.
  if (errorCount > 0) await staging.abort();
  else await staging.finish();
  return { rowsRead, errorCount, sheetsRead };
}

/** The workbook's sheets: those read and those skipped with why, kept for the report. */
async function recordSheets(db: Db, importId: string, plan: SheetPlan) {
  await queries.updateImport(db, importId, { sheets: JSON.stringify({ read: plan.read, skipped: plan.skipped }) });
}

type SourcedRow = ExtractRow;

function resolutionErrors(row: SourcedRow, resolve: ReturnType<typeof buildResolvers>, sheetNamed: boolean): RowError[] {
  const errors: RowError[] = [];
  // Errors name the sheet only in a workbook (a CSV is one sheet), as the reader's own do.
  const sheet = sheetNamed ? row.sheet : null;
  const team = resolve.team(row.allocatedTeam);
  if (team && 'error' in team) errors.push({ sheet, rowNumber: row.rowNumber, column: 'Allocated team', value: row.allocatedTeam ?? '', reason: team.error });
  const worker = resolve.worker(row.allocatedWorker);
  if (worker && 'error' in worker) errors.push({ sheet, rowNumber: row.rowNumber, column: 'Allocated worker', value: row.allocatedWorker ?? '', reason: worker.error });
  return errors;
}

function stagingRow(importId: string, row: SourcedRow, resolve: ReturnType<typeof buildResolvers>) {
  const team = resolve.team(row.allocatedTeam);
  const worker = resolve.worker(row.allocatedWorker);
  return {
    import_id: importId,
    sheet: row.sheet ?? '',
    source_list: row.sourceList ?? null,
    row_number: row.rowNumber,
    external_id: row.externalId,
    initials: row.initials || null,
    date_of_birth: row.dateOfBirth,
    gender: row.gender,
    ethnicity: row.ethnicity,
    legal_status: row.legalStatus,
    allocated_worker_id: worker && 'id' in worker ? worker.id : null,
    allocated_team_id: team && 'id' in team ? team.id : null,
    open_date: row.openDate,
    close_date: row.closeDate,
    referral_factors: JSON.stringify(row.referralFactors),
    absent_fields: row.absentFields,
  };
}

async function failImport(db: Db, importId: string, staged: { rowsRead: number; errorCount: number }, clock: Clock): Promise<ImportOutcome> {
  await queries.deleteStagingRows(db, importId);
  await queries.updateImport(db, importId, {
    status: 'failed',
    rows_read: staged.rowsRead,
    error_count: staged.errorCount,
    message: `${staged.errorCount} ${staged.errorCount === 1 ? 'problem' : 'problems'} found. Nothing was imported.`,
    finished_at: clock.now(),
  });
  const found = (await db.selectFrom('child_imports').selectAll().where('id', '=', importId).executeTakeFirstOrThrow());
  const errors = (await queries.listImportErrors(db, importId, 1_000)).map((row) => ({ sheet: row.sheet, rowNumber: row.row_number, column: row.column_name, value: row.value, reason: row.reason }));
  return { ...outcomeOf(found), errors };
}

async function discardHoldingLock(db: Db, staged: ImportOutcome, clock: Clock, message: string): Promise<ImportOutcome> {
  await queries.deleteStagingRows(db, staged.importId);
  await queries.updateImport(db, staged.importId, { status: 'discarded', message, finished_at: clock.now() });
  return { ...staged, status: 'discarded', message };
}

type Found = NonNullable<Awaited<ReturnType<typeof queries.findImport>>>;

function outcomeOf(found: Found): ImportOutcome {
  const closes = found.closed_count;
  return {
    importId: found.id,
    status: found.status,
    rowsRead: found.rows_read,
    errorCount: found.error_count,
    errors: [],
    preview:
      found.status !== 'failed' && found.status !== 'queued'
        ? {
            adds: found.created_count,
            updates: found.updated_count,
            unchanged: found.unchanged_count,
            closes,
            openCount: found.open_count,
            firstClosures: found.first_closures,
            closesMany: closesMany(closes, found.open_count),
          }
        : null,
    createdCount: found.status === 'succeeded' ? found.created_count : 0,
    updatedCount: found.status === 'succeeded' ? found.updated_count : 0,
    closedCount: found.status === 'succeeded' ? found.closed_count : 0,
    message: found.message,
  };
}

export function closesMany(closes: number, openCount: number): boolean {
  return closes > 0 && closes > openCount * MANY_CLOSURES_SHARE;
}

/** Refusals of a confirmation, in the words the user reads. */
export class ImportNotAppliedError extends Error {
  readonly reason: 'not-staged' | 'register-changed' | 'many-closures';
  constructor(reason: 'not-staged' | 'register-changed' | 'many-closures', message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * One transaction: the register changes, the import logs itself and the children it changed,
 * the import says 'succeeded' — all of it or, if anything fails or the process dies, none of it.
 */
async function applyHoldingLock(db: Db, input: ConfirmInput, expected: 'staged' | 'running'): Promise<ImportOutcome> {
  const applied = await db.transaction().execute((trx) => applyInTransaction(trx, input, expected));
  return { ...(await findOutcome(db, input.organisationId, input.importId)), createdCount: applied.created, updatedCount: applied.updated, closedCount: applied.closed };
}

type AppliedCounts = { created: number; updated: number; closed: number };

/**
 * The apply, inside the caller's transaction. The import's row is locked first and must still
 * be as expected ('staged' for a confirmation, 'running' for the command line) against the
 * same register it was previewed against, so a confirmation applies exactly what was shown.
 * The staged rows are the staging table's unless the caller has them in its transaction.
 */
async function applyInTransaction(trx: Db, input: ConfirmInput & { staged?: queries.StagedRows }, expected: 'staged' | 'running'): Promise<AppliedCounts> {
  const found = await queries.lockImport(trx, input.organisationId, input.importId);
  if (!found || found.status !== expected) throw new ImportNotAppliedError('not-staged', 'This import is no longer waiting to be confirmed.');
  if ((await queries.registerFingerprint(trx, input.organisationId)) !== found.register_fingerprint) {
    throw new ImportNotAppliedError('register-changed', 'The register has changed since this preview, so nothing was imported. Upload the file again to see what it would do now.');
  }
  if (closesMany(found.closed_count, found.open_count) && !input.confirmManyClosures) {
    throw new ImportNotAppliedError('many-closures', `Confirm that you want to close ${found.closed_count} of the ${found.open_count} open children.`);
  }
  const now = input.clock.now();
  const closeDate = ukDateAt(now);
  const staged = input.staged ?? { in: 'table', importId: input.importId, onePerChild: (found.sheets?.read.length ?? 2) <= 1 };
  const closes = found.full_extract && found.closed_count > 0;
  // The register is as it was previewed (its fingerprint says so): a preview of no change has nothing to write.
  const nothingToWrite = found.created_count === 0 && found.updated_count === 0 && !closes;
  const counts = nothingToWrite
    ? { created: 0, updated: 0, closed: 0 }
    : await queries.applyStagedImport(trx, { staged, importId: input.importId, organisationId: input.organisationId, closes, closeDate, at: now });
  await input.pause?.('final-write');
  // One entry for the import: each child it changed is in child_import_changes, which the log's view of a child reads.
  await logActivity(trx, input.actor, {
    action: 'import',
    recordType: 'child_import',
    recordId: input.importId,
    summary: `${found.rows_read} rows: ${counts.created} created, ${counts.updated} updated, ${counts.closed} closed`,
  });
  await queries.deleteStagingRows(trx, input.importId);
  await queries.discardOtherStagedImports(trx, input.organisationId, input.importId, now);
  await queries.updateImport(trx, input.importId, {
    status: 'succeeded',
    created_count: counts.created,
    updated_count: counts.updated,
    closed_count: counts.closed,
    close_date: counts.closed ? closeDate : null,
    confirmed_by: input.actor.principal?.userId ?? null,
    message: null,
    finished_at: now,
  });
  await input.pause?.('commit');
  return counts;
}

/** Whether the children this import closed may still be reopened from its page, by the clock. */
export function canReopen(found: Pick<Found, 'status' | 'closed_count' | 'finished_at' | 'reopened_at'>, clock: Clock): boolean {
  if (found.status !== 'succeeded' || found.closed_count === 0 || found.reopened_at || !found.finished_at) return false;
  return clock.now().getTime() - new Date(found.finished_at).getTime() < REOPEN_WINDOW_MS;
}

/** Reopens, within a day, the children an import closed (those nobody has changed since). */
export async function reopenChildrenClosedByImport(db: Db, input: { importId: string; organisationId: string; actor: Actor; clock: Clock }) {
  return withImportLock(db, input.organisationId, () =>
    db.transaction().execute(async (trx) => {
      const found = await queries.lockImport(trx, input.organisationId, input.importId);
      if (!found || !found.close_date || !canReopen(found, input.clock)) {
        throw new ImportNotAppliedError('not-staged', 'The children this import closed can no longer be reopened from here: it was more than a day ago, or it has been done already.');
      }
      const reopened = await queries.reopenClosedChildren(trx, { importId: input.importId, organisationId: input.organisationId, closeDate: found.close_date, at: input.clock.now() });
      const actor = { userId: input.actor.principal?.userId ?? null, actor: input.actor.label ?? input.actor.principal?.email ?? 'anonymous', ipAddress: input.actor.ipAddress };
      await queries.logReopenedChildren(trx, { importId: input.importId, organisationId: input.organisationId, ...actor, childIds: reopened });
      await logActivity(trx, input.actor, { action: 'update', recordType: 'child_import', recordId: input.importId, summary: `reopened ${reopened.length} children the import closed` });
      await queries.updateImport(trx, input.importId, { reopened_at: input.clock.now(), reopened_by: input.actor.principal?.userId ?? null, reopened_count: reopened.length });
      return reopened.length;
    }),
  );
}

/**
 * At start: imports left 'queued' or 'running' by a process that has gone are marked failed
 * and their staged rows dropped. One still being run by a live process (another server, the
 * command line) is left alone: its organisation's import lock is held (see import-lock.ts).
 */
export async function failInterruptedImports(db: Db, clock: Clock): Promise<number> {
  let failed = 0;
  const organisations = new Set((await queries.listUnfinishedImports(db)).map((row) => row.organisation_id));
  for (const organisationId of organisations) {
    await ifNoLiveImport(db, organisationId, async () => {
      failed += await queries.failOrphanedImports(db, organisationId, clock.now());
    });
  }
  return failed;
}

/** Imports a live process is still running: their spooled uploads must stay. */
export async function runningImportIds(db: Db): Promise<Set<string>> {
  return new Set((await queries.listUnfinishedImports(db)).map((row) => row.id));
}
