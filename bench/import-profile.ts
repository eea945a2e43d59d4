/**
 * Where a child import's time goes, statement by statement, on PostgreSQL: a scratch database
 * where every statement of the import is timed by the server and every slow one explained with
 * its actual rows and times (auto_explain), for a first import and a no-change re-import.
 *
 *   node bench/import-profile.ts [--rows=100000] [--slow-ms=100] [--plans] [--reimports=1] [--set=name=value …]
 *
 * `--set` tries a server setting (for instance `--set=temp_buffers=64MB`) for the import's sessions.
 *
 * The server's messages come back to this process (client_min_messages = log), so nothing needs
 * the server's log file. Run it with `node --cpu-prof` to see the JavaScript side as well.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openPostgres, postgresPoolOf } from '../src/db/index.ts';
import { adminQuery, openScratchDatabase, seedOrganisation } from './context.ts';
import { loadCaseHolders, writeChildExtract } from './generate.ts';
import { importFullExtract } from './import.bench.ts';

const args = process.argv.slice(2);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const rows = Number(option('rows') ?? 100_000);
const slowMs = Number(option('slow-ms') ?? 100);
const showPlans = args.includes('--plans');
const reimports = Number(option('reimports') ?? 1);
const settings = args.filter((arg) => arg.startsWith('--set=')).map((arg) => arg.slice('--set='.length).replace('=', " = '") + "'");
/** Leave the scratch database (and say its name) for experiments by hand. */
const keep = args.includes('--keep');
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const scratch = await openScratchDatabase({ driver: 'postgres', serverUrl });
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-import-profile-'));
try {
  const organisationId = await seedOrganisation(scratch.db);
  const file = path.join(tmpDir, `children-${rows}.csv`);
  await writeChildExtract(file, { rows, seed: 20261124, caseHolders: await loadCaseHolders(scratch.db, organisationId) });
  // Settings of the database apply to sessions opened after them: a second handle gets them.
  // Explaining with actual times slows every row of every statement: timings alone unless --plans.
  const explain = [
    `session_preload_libraries = 'auto_explain'`,
    `auto_explain.log_min_duration = '${slowMs}ms'`,
    'auto_explain.log_analyze = on',
    'auto_explain.log_triggers = on',
    'auto_explain.log_nested_statements = on',
  ];
  for (const setting of [...(showPlans ? explain : []), ...settings, 'log_min_duration_statement = 0', 'client_min_messages = log']) {
    await adminQuery(serverUrl, `alter database ${scratch.name} set ${setting}`);
  }
  const traced = await openPostgres(scratch.databaseUrl!, { max: 5 });
  const statements: { ms: number; text: string }[] = [];
  postgresPoolOf(traced.db)!.on('connect', (client) => {
    client.on('notice', (message) => {
      const text = message.message ?? '';
      const duration = /^duration: ([\d.]+) ms\s+(?:statement|execute [^:]*|parse [^:]*|bind [^:]*): ([\s\S]*)$/.exec(text);
      if (duration) {
        if (/^duration: [\d.]+ ms\s+(parse|bind)/.test(text)) return;
        statements.push({ ms: Number(duration[1]), text: duration[2]!.replace(/\s+/g, ' ').trim() });
      } else if (showPlans && text.startsWith('duration:')) {
        process.stdout.write(`\n--- plan ---\n${text}\n`);
      }
    });
  });
  for (const run of ['first import', ...Array.from({ length: reimports }, () => 're-import (nothing changed)')]) {
    statements.length = 0;
    const started = performance.now();
    const outcome = await importFullExtract(traced.db, organisationId, file);
    const wall = performance.now() - started;
    const total = statements.reduce((sum, s) => sum + s.ms, 0);
    process.stdout.write(`\n## ${run}: ${(wall / 1000).toFixed(2)} s wall, ${(total / 1000).toFixed(2)} s in ${statements.length} statements (${outcome.status}, ${outcome.createdCount} created, ${outcome.updatedCount} updated)\n`);
    for (const s of [...statements].sort((a, b) => b.ms - a.ms).slice(0, 25)) {
      process.stdout.write(`${s.ms.toFixed(0).padStart(7)} ms  ${s.text.slice(0, 220)}\n`);
    }
  }
  await sql`select 1`.execute(traced.db);
  await traced.close();
} finally {
  fs.rmSync(tmpDir, { recursive: true, force: true });
  if (keep) process.stdout.write(`\nkept: ${scratch.databaseUrl}\n`);
  else await scratch.close();
}
