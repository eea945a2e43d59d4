/**
 * Where the embedded database's memory goes during a child import: a fresh process opens PGlite
 * (a data directory, as the command line does, or in memory with --in-memory), imports a
 * generated extract twice (first import, then the same file again), and prints the process's
 * memory at each step — RSS, the JavaScript heap, and `external`/`arrayBuffers`, where
 * PGlite's WebAssembly memory and, in memory, its files live — with PGlite's own settings.
 *
 *   node bench/pglite-memory.ts [--rows=100000] [--in-memory]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openPglite } from '../src/db/index.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { seedOrganisation } from './context.ts';
import { loadCaseHolders, writeChildExtract } from './generate.ts';
import { importFullExtract } from './import.bench.ts';
import { collectGarbage, measure } from './measure.ts';

const args = process.argv.slice(2);
const rows = Number(args.find((arg) => arg.startsWith('--rows='))?.slice('--rows='.length) ?? 100_000);
const inMemory = args.includes('--in-memory');
const MB = 1024 * 1024;

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-pglite-memory-'));
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
function snapshot(label: string, peakRss?: number) {
  collectGarbage();
  const m = process.memoryUsage();
  const peak = peakRss === undefined ? '' : `, peak RSS during it ${mb(peakRss)}`;
  process.stdout.write(`${label.padEnd(34)} RSS ${mb(m.rss).padStart(7)}, JS heap ${mb(m.heapUsed).padStart(6)}, external ${mb(m.external).padStart(7)} (array buffers ${mb(m.arrayBuffers)})${peak}\n`);
}

try {
  snapshot('before opening');
  const handle = await openPglite(inMemory ? undefined : path.join(folder, 'pglite'));
  snapshot(`opened (${inMemory ? 'in memory' : 'data directory'})`);
  await migrateToLatest(handle.db);
  const organisationId = await seedOrganisation(handle.db);
  const file = path.join(folder, 'children.csv');
  await writeChildExtract(file, { rows, seed: 20261124, caseHolders: await loadCaseHolders(handle.db, organisationId) });
  snapshot('migrated, seeded, file written');
  const settings = await sql<{ name: string; setting: string; unit: string | null }>`
    select name, setting, unit from pg_settings
    where name in ('shared_buffers', 'work_mem', 'maintenance_work_mem', 'temp_buffers', 'wal_buffers', 'max_wal_size', 'min_wal_size', 'checkpoint_timeout')
    order by name
  `.execute(handle.db);
  process.stdout.write(`PGlite settings: ${settings.rows.map((row) => `${row.name}=${row.setting}${row.unit ?? ''}`).join(', ')}\n`);
  for (const run of ['first import', 're-import (nothing changed)']) {
    const { result: outcome, ms, memory } = await measure(() => importFullExtract(handle.db, organisationId, file));
    snapshot(`${run}: ${(ms / 1000).toFixed(1)} s, ${outcome.createdCount} created`, memory.peakRssMb * MB);
    process.stdout.write(`  peak increase over the RSS before it: +${memory.peakIncreaseMb} MB\n`);
  }
  const sizes = await sql<{ name: string; bytes: string }>`
    select relname as name, pg_total_relation_size(c.oid)::text as bytes from pg_class c
    where relname in ('children', 'child_import_rows', 'child_import_changes', 'activity_log') order by 1
  `.execute(handle.db);
  process.stdout.write(`tables: ${sizes.rows.map((row) => `${row.name} ${mb(Number(row.bytes))}`).join(', ')}\n`);
  await handle.close();
  snapshot('closed');
} finally {
  fs.rmSync(folder, { recursive: true, force: true });
}
