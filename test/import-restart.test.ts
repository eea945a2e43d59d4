import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type DatabaseHandle, type Db } from '../src/db/index.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { failInterruptedImports } from '../src/modules/children/service.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createChild } from './support/audits.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { createSmallCouncil, type SmallCouncil } from './support/fixtures.ts';

/**
 * An import of the child register commits whole or leaves nothing, and nothing but the process
 * running it can change it. These tests run the real command line (`node src/cli.ts
 * import-children`), stop it at a named point (ASSURE_TEST_IMPORT_PAUSE_AT: while reading the
 * file, after the final write inside the transaction, just before commit), then start what a
 * server starts (failInterruptedImports), run a second import, or kill -9 the first.
 */

const CLI = path.join(import.meta.dirname, '..', 'src', 'cli.ts');
const ROWS = 6_000;
const APP_NAME = 'assure-import-under-test';

type Run = { stderr: () => string; stdout: () => string; waitFor: (text: string) => Promise<void>; exited: Promise<number | null>; kill: () => void };

function runImport(env: Record<string, string>, ...args: string[]): Run {
  const child = spawn(process.execPath, [CLI, 'import-children', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    kill: () => child.kill('SIGKILL'),
    waitFor: async (text) => {
      const deadline = Date.now() + 240_000;
      while (!stderr.includes(text)) {
        if (child.exitCode !== null) throw new Error(`the import ended (${child.exitCode}) before "${text}": ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no "${text}" from the import: ${stderr}`);
        await sleep(50);
      }
    },
  };
}

function writeExtract(folder: string): string {
  const file = path.join(folder, 'extract.csv');
  const lines = ['Case ID,Initials,Legal status'];
  for (let i = 1; i <= ROWS; i++) lines.push(`K-${i},AB,${i % 3 === 0 ? 'CP' : 'CIN'}`);
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

async function registerState(db: Db) {
  const children = await db.selectFrom('children').select(['external_id', 'close_date']).orderBy('external_id').execute();
  const imports = await db.selectFrom('child_imports').select(['status', 'created_count', 'closed_count']).orderBy('created_at').execute();
  const staged = await db.selectFrom('child_import_rows').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return { children: children.length, open: children.filter((child) => child.close_date === null).length, imports, staged: staged.n };
}

const onPostgres = testDrivers().includes('postgres');

describe.skipIf(!onPostgres)('imports and restarts on PostgreSQL, with real processes', () => {
  let handle: DatabaseHandle;
  let council: SmallCouncil;
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-import-'));
  let env: Record<string, string>;
  let extract: string;

  beforeAll(async () => {
    handle = await openTestDatabase('postgres');
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(handle.db);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${rows[0]!.name}`;
    url.searchParams.set('application_name', APP_NAME);
    env = { DATABASE_URL: url.toString(), DATA_DIR: folder, LOG_LEVEL: 'silent' };
    council = await createSmallCouncil(handle.db);
    await createChild(handle.db, council.organisation.id, { externalId: 'OLD-1', initials: 'OL' });
    extract = writeExtract(folder);
  }, 120_000);
  afterAll(async () => {
    await handle?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const importerSessions = async () =>
    (await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database() and application_name = ${APP_NAME}`.execute(handle.db)).rows;
  /** The server ends a killed client's session (and its transaction and locks) once it notices. */
  async function untilSessionsEnd() {
    for (let i = 0; i < 600 && (await importerSessions()).length > 0; i++) await sleep(50);
    expect(await importerSessions()).toEqual([]);
  }

  it('leaves a live import alone at server start, refuses a second import, and cleans up once its process is killed while reading', async () => {
    const first = runImport({ ...env, ASSURE_TEST_IMPORT_PAUSE_AT: 'reading' }, extract, '--close-missing');
    await first.waitFor('paused at reading');
    const during = await registerState(handle.db);
    expect(during.imports).toEqual([{ status: 'running', created_count: 0, closed_count: 0 }]);
    // The file is staged by one COPY: none of its rows is visible (or left behind) until all are read.
    expect(during.staged).toBe(0);

    // What a starting server (or a second one) does: the live import is not touched.
    expect(await failInterruptedImports(handle.db, systemClock)).toBe(0);
    expect(await registerState(handle.db)).toEqual(during);

    const second = runImport(env, extract, '--close-missing');
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain('Another import of the child register is running for this organisation');
    expect(await registerState(handle.db)).toEqual(during);

    first.kill();
    await first.exited;
    await untilSessionsEnd();
    expect(await failInterruptedImports(handle.db, systemClock)).toBe(1);
    expect(await registerState(handle.db)).toEqual({ children: 1, open: 1, imports: [{ status: 'failed', created_count: 0, closed_count: 0 }], staged: 0 });
  }, 300_000);

  it.each(['final-write', 'commit'] as const)('changes nothing when the process is killed at the %s, and says so', async (point) => {
    const before = await registerState(handle.db);
    const run = runImport({ ...env, ASSURE_TEST_IMPORT_PAUSE_AT: point }, extract, '--close-missing', '--close-many');
    await run.waitFor(`paused at ${point}`);
    // Inside the transaction the register has changed; outside nothing shows yet.
    const during = await registerState(handle.db);
    expect({ children: during.children, open: during.open }).toEqual({ children: 1, open: 1 });
    expect(during.imports.at(-1)!.status).toBe('running');
    expect(await failInterruptedImports(handle.db, systemClock)).toBe(0);
    expect((await registerState(handle.db)).imports.at(-1)!.status).toBe('running');

    run.kill();
    await run.exited;
    await untilSessionsEnd();
    const killed = await registerState(handle.db);
    expect({ children: killed.children, open: killed.open }).toEqual({ children: before.children, open: before.open });
    expect(killed.imports.at(-1)!.status).toBe('running');
    expect(await failInterruptedImports(handle.db, systemClock)).toBe(1);
    const after = await registerState(handle.db);
    expect(after.imports.at(-1)!.status).toBe('failed');
    expect(after.staged).toBe(0);
  }, 300_000);

  it('commits the whole import when the process is left to finish', async () => {
    const run = runImport(env, extract, '--close-missing', '--close-many');
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout()).toContain(`Imported children: ${ROWS} created, 0 updated, 1 closed`);
    const after = await registerState(handle.db);
    expect({ children: after.children, open: after.open, staged: after.staged }).toEqual({ children: ROWS + 1, open: ROWS, staged: 0 });
    expect(after.imports.at(-1)).toEqual({ status: 'succeeded', created_count: ROWS, closed_count: 1 });
    // One activity entry for the import; every child it created or closed is recorded beside it.
    const logged = await handle.db.selectFrom('activity_log').select(sql<number>`count(*)::int`.as('n')).where('record_type', '=', 'child_import').where('action', '=', 'import').executeTakeFirstOrThrow();
    expect(logged.n).toBe(1);
    const changes = await handle.db.selectFrom('child_import_changes').select(['change', sql<number>`count(*)::int`.as('n')]).groupBy('change').orderBy('change').execute();
    expect(changes).toEqual([{ change: 'closed', n: 1 }, { change: 'created', n: ROWS }]);
  }, 300_000);
});

/**
 * PGlite is one process: the data directory's lock file lets no second process open it. So a
 * server cannot start, and a second import cannot run, while a command-line import holds it —
 * both are refused with the holder's process id. What a kill -9 leaves is found by the next
 * process to open the directory: the transaction never committed, and the import it finds
 * 'running' can only be an orphan (the lock file says its process is gone).
 */
describe('imports and restarts on the embedded database, with real processes', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-import-pglite-'));
  const env = { DATA_DIR: folder, LOG_LEVEL: 'silent' };
  let extract: string;

  beforeAll(async () => {
    const handle = await openPglite(path.join(folder, 'pglite'));
    try {
      await migrateToLatest(handle.db);
      const council = await createSmallCouncil(handle.db);
      await createChild(handle.db, council.organisation.id, { externalId: 'OLD-1', initials: 'OL' });
    } finally {
      await handle.close();
    }
    extract = writeExtract(folder);
  }, 120_000);
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  async function afterKill(run: Run) {
    run.kill();
    await run.exited;
    const handle = await openPglite(path.join(folder, 'pglite'));
    try {
      const found = await registerState(handle.db);
      const cleaned = await failInterruptedImports(handle.db, systemClock);
      return { found, cleaned, after: await registerState(handle.db) };
    } finally {
      await handle.close();
    }
  }

  it('refuses a server and a second import while one runs; a kill while reading leaves an orphan that start-up fails', async () => {
    const first = runImport({ ...env, ASSURE_TEST_IMPORT_PAUSE_AT: 'reading' }, extract, '--close-missing');
    await first.waitFor('paused at reading');
    await expect(openPglite(path.join(folder, 'pglite'))).rejects.toThrow(/is in use by process \d+/);
    const second = runImport(env, extract);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toMatch(/is in use by process \d+/);

    const { found, cleaned, after } = await afterKill(first);
    expect(found).toMatchObject({ children: 1, open: 1, imports: [{ status: 'running' }] });
    expect(cleaned).toBe(1);
    expect(after).toEqual({ children: 1, open: 1, imports: [{ status: 'failed', created_count: 0, closed_count: 0 }], staged: 0 });
  }, 300_000);

  it.each(['final-write', 'commit'] as const)('changes nothing when killed at the %s', async (point) => {
    const run = runImport({ ...env, ASSURE_TEST_IMPORT_PAUSE_AT: point }, extract, '--close-missing', '--close-many');
    await run.waitFor(`paused at ${point}`);
    const { found, cleaned, after } = await afterKill(run);
    expect(found.imports.at(-1)!.status).toBe('running');
    expect(cleaned).toBe(1);
    expect({ children: after.children, open: after.open, staged: after.staged }).toEqual({ children: 1, open: 1, staged: 0 });
    expect(after.imports.at(-1)!.status).toBe('failed');
  }, 300_000);

  it('commits the whole import when left to finish', async () => {
    const run = runImport(env, extract, '--close-missing', '--close-many');
    expect(await run.exited, run.stderr()).toBe(0);
    const handle = await openPglite(path.join(folder, 'pglite'));
    try {
      const after = await registerState(handle.db);
      expect({ children: after.children, open: after.open, staged: after.staged }).toEqual({ children: ROWS + 1, open: ROWS, staged: 0 });
      expect(after.imports.at(-1)).toEqual({ status: 'succeeded', created_count: ROWS, closed_count: 1 });
    } finally {
      await handle.close();
    }
  }, 300_000);
});
