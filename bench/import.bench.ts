/**
 * Child import: `importChildrenNow` (stage, preview, apply: the command line and the API) and the
 * page's two steps (stage and preview, then confirm) against a bare COPY of the same CSV file
 * into a scratch table of the same columns, with wall time and peak memory for two file sizes
 * (the import streams the file, so its peak memory should not grow with the file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PGlite } from '@electric-sql/pglite';
import { readExtract } from '../src/modules/children/extract.ts';
import { confirmChildrenImport, importChildrenNow, stageChildrenImport, type ImportOutcome } from '../src/modules/children/service.ts';
import { systemClock } from '../src/platform/clock.ts';
import type { BenchContext } from './context.ts';
import { loadCaseHolders, writeChildExtract } from './generate.ts';
import { measure, median, ratio, round, type MemoryPeak } from './measure.ts';

const RUNS = 3;

type Run = { ms: number; memory: MemoryPeak };

export type ImportSizeResult = {
  rows: number;
  fileBytes: number;
  /** Each first import starts from an empty register (children truncated before each run). */
  firstImport: { runs: Run[]; medianMs: number; rowsPerSecond: number; medianPeakIncreaseMb: number };
  /** The same file again over the register it created: nothing changes (update path). */
  reImport: { runs: Run[]; medianMs: number; medianPeakIncreaseMb: number };
  copy: { runs: Run[]; medianMs: number; rowsPerSecond: number; medianPeakIncreaseMb: number };
  /** The extract reader alone (readExtract over the file, no database): the floor of any import. */
  readOnly: { runs: Run[]; medianMs: number; ratioToCopy: number };
  /**
   * A first import as the page makes it: staged and previewed (its rows kept in the staging
   * table for the confirmation), then confirmed — two transactions, as two requests are.
   */
  pageFlow?: { runs: Run[]; medianMs: number; ratioToCopy: number };
  /**
   * The same CSV copied into a table shaped like the register (its key and defaults, the unique
   * case ID per council, the team and worker indexes): what writing the rows costs at all, by
   * PostgreSQL's fastest path, before any reading of codes, matching or history.
   */
  registerShapedCopy: { runs: Run[]; medianMs: number; ratioToCopy: number };
  ratioFirstImportToCopy: number;
  ratioFirstImportToRegisterShapedCopy: number;
  ratioReImportToCopy: number;
};

export type ImportBenchResult = { sizes: ImportSizeResult[]; peakGrowthMb: number; note: string };

const COPY_TABLE = `
  create table if not exists bench_copy_children (
    external_id text not null,
    initials text not null,
    date_of_birth date,
    gender text,
    ethnicity text,
    legal_status text not null,
    allocated_worker text,
    allocated_team text,
    open_date date
  )`;

/**
 * A table of the register's shape for the floor: its generated key and defaults, the unique case
 * ID per council and the two indexes on team and worker (held as the file's text here: the floor
 * reads no codes).
 */
const REGISTER_SHAPED_TABLE = `
  create table if not exists bench_register_shaped (
    id uuid primary key default gen_random_uuid(),
    organisation_id uuid not null default '00000000-0000-4000-8000-000000000001',
    external_id text not null,
    initials text,
    date_of_birth date,
    gender text,
    ethnicity text,
    legal_status text not null,
    allocated_worker text,
    allocated_team text,
    open_date date,
    close_date date,
    referral_factors jsonb not null default '[]',
    last_import_id uuid,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (organisation_id, external_id)
  );
  create index if not exists bench_register_shaped_team on bench_register_shaped (allocated_team);
  create index if not exists bench_register_shaped_worker on bench_register_shaped (allocated_worker)`;
const REGISTER_SHAPED_COLUMNS = 'external_id, initials, date_of_birth, gender, ethnicity, legal_status, allocated_worker, allocated_team, open_date';

export async function runImportBench(ctx: BenchContext): Promise<ImportBenchResult> {
  // The same sizes on both drivers: the goals are set for 100,000 rows on each.
  const sizes = [20_000, 100_000];
  const caseHolders = await loadCaseHolders(ctx.db, ctx.organisationId);
  const copier = await openCopier(ctx);
  const results: ImportSizeResult[] = [];
  try {
    for (const rows of sizes) {
      const file = path.join(ctx.tmpDir, `children-${rows}.csv`);
      const fileBytes = await writeChildExtract(file, { rows, seed: 20261124, caseHolders });
      ctx.log(`import: ${rows.toLocaleString('en-GB')} rows, ${(fileBytes / 1024 / 1024).toFixed(1)} MB CSV`);
      results.push(await benchSize(ctx, copier, file, rows, fileBytes));
      fs.rmSync(file, { force: true });
    }
  } finally {
    await copier.close();
  }
  await emptyRegister(ctx);
  const [small, large] = results;
  const peakGrowthMb = round(large!.firstImport.medianPeakIncreaseMb - small!.firstImport.medianPeakIncreaseMb, 1);
  return {
    sizes: results,
    peakGrowthMb,
    note:
      'First import: children truncated before each run (every row is an insert). Re-import: the same file over the register it created (every row unchanged). ' +
      'Page: stageChildrenImport then confirmChildrenImport, update only, into an empty register. Each round runs a COPY, the first import and the re-import, ' +
      'another COPY, the page and the reader alone; ratios are medians over the rounds against the median COPY. ' +
      "Memory: RSS sampled every 50 ms and the kernel's own peak (VmHWM, reset before each run), whichever is higher; peak increase is over the RSS after a full GC just before the run. " +
      'processMaxRss is process.resourceUsage().maxRSS, a lifetime high-water mark (smaller file first).',
  };
}

async function benchSize(ctx: BenchContext, copier: Copier, file: string, rows: number, fileBytes: number): Promise<ImportSizeResult> {
  const first: Run[] = [];
  const again: Run[] = [];
  const copies: Run[] = [];
  const reads: Run[] = [];
  const pages: Run[] = [];
  const floors: Run[] = [];
  const copy = async (roundNumber: number) => {
    await copier.reset();
    const run = await measure(() => copier.copy(file));
    if (run.result !== rows) throw new Error(`COPY loaded ${run.result} rows, expected ${rows}`);
    copies.push({ ms: round(run.ms, 1), memory: run.memory });
    ctx.log(`  COPY (round ${roundNumber}): ${(run.ms / 1000).toFixed(2)} s, peak +${run.memory.peakIncreaseMb} MB`);
  };
  const registerShapedCopy = async (roundNumber: number) => {
    await copier.reset();
    const run = await measure(() => copier.copyRegisterShaped(file));
    if (run.result !== rows) throw new Error(`COPY into the register's shape loaded ${run.result} rows, expected ${rows}`);
    floors.push({ ms: round(run.ms, 1), memory: run.memory });
    ctx.log(`  COPY into the register's shape (round ${roundNumber}): ${(run.ms / 1000).toFixed(2)} s`);
  };
  // Round by round, each import beside a COPY: on a shared machine the load drifts over minutes,
  // and a ratio is only as good as the pairing of what it compares.
  for (let i = 1; i <= RUNS; i++) {
    await copy(i);
    await registerShapedCopy(i);
    await emptyRegister(ctx);
    const firstRun = await measure(() => importOnce(ctx, file));
    checkImport(firstRun.result, rows, 'created');
    first.push({ ms: round(firstRun.ms, 1), memory: firstRun.memory });
    ctx.log(`  first import (round ${i}): ${(firstRun.ms / 1000).toFixed(2)} s, peak +${firstRun.memory.peakIncreaseMb} MB`);
    const againRun = await measure(() => importOnce(ctx, file));
    checkImport(againRun.result, 0, 'created');
    again.push({ ms: round(againRun.ms, 1), memory: againRun.memory });
    ctx.log(`  re-import (round ${i}): ${(againRun.ms / 1000).toFixed(2)} s, peak +${againRun.memory.peakIncreaseMb} MB`);
    await copy(i);
    await emptyRegister(ctx);
    const pageRun = await measure(() => importByPage(ctx, file));
    checkImport(pageRun.result, rows, 'created');
    pages.push({ ms: round(pageRun.ms, 1), memory: pageRun.memory });
    ctx.log(`  page: stage, then confirm (round ${i}): ${(pageRun.ms / 1000).toFixed(2)} s, peak +${pageRun.memory.peakIncreaseMb} MB`);
    const readRun = await measure(() => readOnly(file));
    if (readRun.result !== rows) throw new Error(`the reader gave ${readRun.result} rows, expected ${rows}`);
    reads.push({ ms: round(readRun.ms, 1), memory: readRun.memory });
    ctx.log(`  reader alone (round ${i}): ${(readRun.ms / 1000).toFixed(2)} s`);
  }
  const pageMs = median(pages.map((r) => r.ms));
  const readMs = median(reads.map((r) => r.ms));
  const firstMs = median(first.map((r) => r.ms));
  const againMs = median(again.map((r) => r.ms));
  const copyMs = median(copies.map((r) => r.ms));
  const floorMs = median(floors.map((r) => r.ms));
  return {
    rows,
    fileBytes,
    firstImport: { runs: first, medianMs: firstMs, rowsPerSecond: Math.round(rows / (firstMs / 1000)), medianPeakIncreaseMb: median(first.map((r) => r.memory.peakIncreaseMb)) },
    reImport: { runs: again, medianMs: againMs, medianPeakIncreaseMb: median(again.map((r) => r.memory.peakIncreaseMb)) },
    copy: { runs: copies, medianMs: copyMs, rowsPerSecond: Math.round(rows / (copyMs / 1000)), medianPeakIncreaseMb: median(copies.map((r) => r.memory.peakIncreaseMb)) },
    readOnly: { runs: reads, medianMs: readMs, ratioToCopy: round(ratio(readMs, copyMs), 1) },
    registerShapedCopy: { runs: floors, medianMs: floorMs, ratioToCopy: round(ratio(floorMs, copyMs), 1) },
    ratioFirstImportToRegisterShapedCopy: round(ratio(firstMs, floorMs), 1),
    pageFlow: { runs: pages, medianMs: pageMs, ratioToCopy: round(ratio(pageMs, copyMs), 1) },
    ratioFirstImportToCopy: round(ratio(firstMs, copyMs), 1),
    ratioReImportToCopy: round(ratio(againMs, copyMs), 1),
  };
}

/** Reads and checks every row as an import does, and nothing else. */
async function readOnly(file: string): Promise<number> {
  let rows = 0;
  for await (const event of readExtract(fs.createReadStream(file), { format: 'csv', today: '2026-12-07', name: path.basename(file) })) {
    if (event.kind === 'row') rows++;
  }
  return rows;
}

function importOnce(ctx: BenchContext, file: string): Promise<ImportOutcome> {
  return importFullExtract(ctx.db, ctx.organisationId, file);
}

/** A full extract imported from the command line, closing the children it leaves out: what every import benchmark times. */
export function importFullExtract(db: BenchContext['db'], organisationId: string, file: string): Promise<ImportOutcome> {
  return importChildrenNow(db, {
    organisationId,
    path: file,
    filename: path.basename(file),
    source: 'command',
    closeMissing: true,
    dryRun: false,
    confirmManyClosures: true,
    clock: systemClock,
    actor: { principal: null, ipAddress: null, at: new Date(), label: 'bench' },
  });
}

/** The page's two steps: stage and preview, then confirm (update only: the register is empty). */
async function importByPage(ctx: BenchContext, file: string): Promise<ImportOutcome> {
  const actor = { principal: null, ipAddress: null, at: new Date(), label: 'bench' };
  const staged = await stageChildrenImport(ctx.db, {
    organisationId: ctx.organisationId,
    path: file,
    filename: path.basename(file),
    source: 'page',
    closeMissing: false,
    clock: systemClock,
    actor,
  });
  if (staged.status !== 'staged') return staged;
  return confirmChildrenImport(ctx.db, { importId: staged.importId, organisationId: ctx.organisationId, actor, clock: systemClock, confirmManyClosures: false });
}

/** A benchmark of a failed import would measure the wrong thing: stop instead. */
function checkImport(result: ImportOutcome, expectedCreated: number, what: 'created') {
  if (result.status !== 'succeeded') {
    const first = result.errors[0];
    throw new Error(`import failed with ${result.errorCount} error(s); first: row ${first?.rowNumber} ${first?.column}: ${first?.reason}`);
  }
  if (result.createdCount !== expectedCreated) throw new Error(`import ${what} ${result.createdCount} children, expected ${expectedCreated}`);
}

async function emptyRegister(ctx: BenchContext) {
  // No audits exist yet; cascade covers them should the order of benchmarks change. The record of
  // which import changed which child goes too (it has no foreign key): each run starts as the first did.
  await sql`truncate children, child_import_changes cascade`.execute(ctx.db);
}

type Copier = {
  copy: (file: string) => Promise<number>;
  copyRegisterShaped: (file: string) => Promise<number>;
  reset: () => Promise<void>;
  close: () => Promise<void>;
};

/**
 * The baseline: COPY of the same CSV into a table of the same columns. On PostgreSQL it is
 * COPY FROM STDIN streaming the file (pg-copy-streams). PGlite has no COPY FROM STDIN stream;
 * there it is COPY FROM '/dev/blob' of the file read whole, on a separate in-memory instance.
 */
async function openCopier(ctx: BenchContext): Promise<Copier> {
  if (ctx.driver === 'postgres') {
    const client = new pg.Client({ connectionString: ctx.databaseUrl! });
    await client.connect();
    await client.query(`set datestyle = 'ISO, DMY'`);
    await client.query(COPY_TABLE);
    await client.query(REGISTER_SHAPED_TABLE);
    const copyInto = async (file: string, into: string) => {
      const stream = client.query(copyFrom(`copy ${into} from stdin with (format csv, header true)`));
      await pipeline(fs.createReadStream(file), stream);
      return stream.rowCount;
    };
    return {
      reset: async () => void (await client.query('truncate bench_copy_children, bench_register_shaped')),
      copy: (file) => copyInto(file, 'bench_copy_children'),
      copyRegisterShaped: (file) => copyInto(file, `bench_register_shaped (${REGISTER_SHAPED_COLUMNS})`),
      close: async () => {
        await client.query('drop table if exists bench_copy_children, bench_register_shaped');
        await client.end();
      },
    };
  }
  const pglite = await PGlite.create();
  await pglite.exec(`set datestyle = 'ISO, DMY'; ${COPY_TABLE}; ${REGISTER_SHAPED_TABLE}`);
  const copyInto = async (file: string, into: string, table: string) => {
    const blob = new Blob([await fs.promises.readFile(file)]);
    await pglite.query(`copy ${into} from '/dev/blob' with (format csv, header true)`, [], { blob });
    const count = await pglite.query<{ n: number }>(`select count(*)::int as n from ${table}`);
    return count.rows[0]!.n;
  };
  return {
    reset: async () => void (await pglite.exec('truncate bench_copy_children, bench_register_shaped')),
    copy: (file) => copyInto(file, 'bench_copy_children', 'bench_copy_children'),
    copyRegisterShaped: (file) => copyInto(file, `bench_register_shaped (${REGISTER_SHAPED_COLUMNS})`, 'bench_register_shaped'),
    close: () => pglite.close(),
  };
}
