import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { openPglite, openPostgres, type DatabaseHandle } from '../../src/db/index.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

export type Driver = 'pglite' | 'postgres';

/**
 * The drivers every integration test runs on: PGlite always, PostgreSQL when
 * TEST_DATABASE_URL is set. On CI a missing PostgreSQL is a failure, never a skip.
 */
export function testDrivers(): Driver[] {
  // The run with the clock moved ahead (scripts/test-later.ts) asks for PGlite alone: a
  // PostgreSQL server keeps the real time.
  if (process.env.TEST_DRIVERS === 'pglite') return ['pglite'];
  if (process.env.TEST_DATABASE_URL) return ['pglite', 'postgres'];
  if (process.env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests cannot be skipped on CI');
  return ['pglite'];
}

/**
 * A fresh, migrated database: in-memory PGlite, or a new PostgreSQL database dropped on close.
 * Each starts as a copy of the one the test run migrated once (test/support/global-setup.ts).
 */
export async function openTestDatabase(driver: Driver, options: { connections?: number } = {}): Promise<DatabaseHandle> {
  if (driver === 'pglite') {
    const snapshot = inject('pgliteSnapshot');
    const handle = await openPglite(undefined, snapshot ? { loadDataDir: new Blob([fs.readFileSync(snapshot)]) } : {});
    await migrateToLatest(handle.db);
    return handle;
  }
  const serverUrl = process.env.TEST_DATABASE_URL!;
  const name = `assure_test_${randomBytes(6).toString('hex')}`;
  const template = inject('postgresTemplate');
  await adminQuery(serverUrl, template ? `create database ${name} template ${template}` : `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openPostgres(url.toString(), { max: options.connections ?? 5 });
  // Nothing to do on a copy of the migrated template; it checks the copy is current.
  await migrateToLatest(handle.db);
  return {
    ...handle,
    close: async () => {
      await handle.close();
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

export async function adminQuery(serverUrl: string, text: string) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
