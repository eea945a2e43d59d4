/** The scratch database a bench run works in: created, migrated and seeded, then dropped. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { systemClock } from '../src/platform/clock.ts';
import { loadConfig } from '../src/config.ts';
import { openPglite, openPostgres, type Db } from '../src/db/index.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { seedDemoCouncil } from '../src/demo/seed.ts';

export type BenchContext = {
  driver: 'postgres' | 'pglite';
  db: Db;
  /** The scratch database's URL (PostgreSQL only). */
  databaseUrl: string | null;
  organisationId: string;
  /** Where generated files go; removed at the end. */
  tmpDir: string;
  /** Smaller sizes (the embedded driver). */
  small: boolean;
  log: (line: string) => void;
};

export type ScratchDatabase = { db: Db; databaseUrl: string | null; name: string; close: () => Promise<void> };

export async function openScratchDatabase(options: { driver: 'postgres' | 'pglite'; serverUrl: string }): Promise<ScratchDatabase> {
  if (options.driver === 'pglite') {
    // A data directory, as the product runs it: in memory, the database's files and its
    // write-ahead log would themselves be the process's memory, which no server of ours has.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-bench-pglite-'));
    const handle = await openPglite(dataDir);
    await migrateToLatest(handle.db);
    const close = async () => {
      await handle.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    return { db: handle.db, databaseUrl: null, name: `pglite (data directory ${dataDir})`, close };
  }
  const name = `assure_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(options.serverUrl, `create database ${name}`);
  const url = new URL(options.serverUrl);
  url.pathname = `/${name}`;
  try {
    const handle = await openPostgres(url.toString(), { max: 5 });
    await migrateToLatest(handle.db);
    return {
      db: handle.db,
      databaseUrl: url.toString(),
      name,
      close: async () => {
        await handle.close();
        await adminQuery(options.serverUrl, `drop database if exists ${name} with (force)`);
      },
    };
  } catch (error) {
    await adminQuery(options.serverUrl, `drop database if exists ${name} with (force)`);
    throw error;
  }
}

/** Seeds the demo council's structure and people (no children); returns its organisation id. */
export async function seedOrganisation(db: Db): Promise<string> {
  const seeded = await seedDemoCouncil(db, { children: 0, now: new Date('2026-11-24T12:00:00Z') });
  return seeded.organisation.id;
}

export async function adminQuery(serverUrl: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

export type BenchApps = { app: FastifyInstance; floor: FastifyInstance; close: () => Promise<void> };

/**
 * The real app as production builds it, on the scratch database, and a bare Fastify route
 * answering GET /ping: the floor of any request, measured beside the pages.
 */
export async function startBenchApps(ctx: BenchContext): Promise<BenchApps> {
  const app = await buildApp({ db: ctx.db, config: loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', SESSION_SECRET: randomBytes(32).toString('hex'), DATA_DIR: ctx.tmpDir }), clock: systemClock });
  await app.ready();
  const floor = Fastify({ logger: false });
  floor.get('/ping', async () => 'ok');
  await floor.ready();
  return {
    app,
    floor,
    close: async () => {
      await floor.close();
      await app.close();
    },
  };
}
