/**
 * Migrates one database per driver before any test file runs, so each test file starts from a
 * copy instead of migrating its own: a PGlite data directory dumped to a file (loading it skips
 * PGlite's initdb and the migrations, seconds per file), and a PostgreSQL template database
 * (`create database … template`, a file copy on the server). Every test still gets a database of
 * its own; only the migrations are shared, and they are the code's own, run once per test run.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import type { TestProject } from 'vitest/node';
import { openPostgres } from '../../src/db/index.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { PGliteDialect } from '../../src/db/pglite-dialect.ts';
import type { Database } from '../../src/db/types.ts';
import { adminQuery, testDrivers } from './database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A migrated PGlite data directory (an uncompressed tar) to load, or '' to migrate each time. */
    pgliteSnapshot: string;
    /** A migrated PostgreSQL database to copy, or '' to migrate each time. */
    postgresTemplate: string;
  }
}

export default async function setup(project: TestProject) {
  const drivers = testDrivers();
  const snapshot = await migratedPgliteSnapshot();
  const template = drivers.includes('postgres') ? await migratedPostgresTemplate(process.env.TEST_DATABASE_URL!) : '';
  project.provide('pgliteSnapshot', snapshot);
  project.provide('postgresTemplate', template);
  return async () => {
    fs.rmSync(snapshot, { force: true });
    if (template) await adminQuery(process.env.TEST_DATABASE_URL!, `drop database if exists ${template} with (force)`);
  };
}

async function migratedPgliteSnapshot(): Promise<string> {
  const pglite = await PGlite.create();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  await db.destroy();
  const file = path.join(os.tmpdir(), `assure-test-pglite-${process.pid}-${randomBytes(4).toString('hex')}.tar`);
  fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  return file;
}

async function migratedPostgresTemplate(serverUrl: string): Promise<string> {
  const name = `assure_template_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openPostgres(url.toString(), { max: 1 });
  try {
    await migrateToLatest(handle.db);
  } finally {
    await handle.close();
  }
  return name;
}
