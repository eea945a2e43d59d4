import fs from 'node:fs';
import path from 'node:path';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.ts';
import { preparingPool } from './prepared-statements.ts';
import type { Database } from './types.ts';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;

export type DatabaseHandle = {
  db: Db;
  driver: 'pglite' | 'postgres';
  /** Checkpoints (embedded) and closes the connection, releasing the data-directory lock. */
  close: () => Promise<void>;
};

const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;

/**
 * The same type parsing on both drivers: counts and sums come back as numbers (node-postgres
 * would give strings, PGlite numbers), and dates as 'YYYY-MM-DD' strings (no timezone drift).
 */
const parsers = {
  [INT8]: (value: string) => Number(value),
  [NUMERIC]: (value: string) => Number(value),
  [DATE]: (value: string) => value,
};

export class DatabaseUnavailableError extends Error {}

const postgresPools = new WeakMap<Db, pg.Pool>();

/**
 * The node-postgres pool behind a PostgreSQL handle, for what Kysely cannot do (a `COPY FROM
 * STDIN` stream); null on PGlite. Only for work outside a transaction: a client taken from the
 * pool is a connection of its own.
 */
export function postgresPoolOf(db: Db): pg.Pool | null {
  return postgresPools.get(db) ?? null;
}

export async function openPostgres(connectionString: string, options: { max?: number; preparedStatements?: boolean } = {}): Promise<DatabaseHandle> {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        const parser = parsers[oid as keyof typeof parsers];
        return parser ?? pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', () => {
    // An idle client lost its server; the pool replaces it. Queries report their own errors.
  });
  // The pool listens for errors only on idle clients. A client in use whose server goes away
  // (a restart, a failover, pg_terminate_backend, idle_session_timeout) emits 'error' too, and
  // with no listener that kills the process. The query in flight fails on its own and the
  // pool drops the broken client when it is released, so the event needs no further handling.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new DatabaseUnavailableError(`cannot reach PostgreSQL: ${(error as Error).message}`);
  }
  // Statements are prepared on each connection (see prepared-statements.ts): planning cost more than running.
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool, { enabled: options.preparedStatements ?? true }) }) });
  postgresPools.set(db, pool);
  return { db, driver: 'postgres', close: () => db.destroy() };
}

/**
 * Embedded PGlite. `dataDir` undefined means in memory (tests). A lock file stops a second
 * process opening the same directory, which would corrupt it.
 */
export async function openPglite(dataDir: string | undefined, options: { loadDataDir?: Blob } = {}): Promise<DatabaseHandle> {
  let releaseLock = () => {};
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    releaseLock = takeDirectoryLock(dataDir);
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({
      ...(dataDir ? { dataDir } : {}),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
      parsers: {
        [pgliteTypes.INT8]: parsers[INT8],
        [pgliteTypes.NUMERIC]: parsers[NUMERIC],
        [pgliteTypes.DATE]: parsers[DATE],
      },
    });
  } catch (error) {
    releaseLock();
    throw new DatabaseUnavailableError(`cannot open the embedded database in ${dataDir}: ${(error as Error).message}`);
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  let closed = false;
  return {
    db,
    driver: 'pglite',
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
      if (dataDir) await pglite.query('checkpoint').catch(() => {});
      await pglite.close();
      releaseLock();
    },
  };
}

export async function openDatabase(config: { databaseUrl: string | undefined; dataDir: string; databasePreparedStatements?: boolean }): Promise<DatabaseHandle> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, { preparedStatements: config.databasePreparedStatements ?? true });
  return openPglite(path.resolve(config.dataDir, 'pglite'));
}

function takeDirectoryLock(dataDir: string): () => void {
  const lockPath = path.join(dataDir, 'assure.lock');
  try {
    fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(fs.readFileSync(lockPath, 'utf8'));
    if (holder && holder !== process.pid && isRunning(holder)) {
      throw new DatabaseUnavailableError(`the embedded database in ${dataDir} is in use by process ${holder}`);
    }
    // The process that held it has gone: the lock is stale.
    fs.writeFileSync(lockPath, String(process.pid));
  }
  return () => fs.rmSync(lockPath, { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` in one transaction; called with a transaction, it joins it, so a service can be
 * part of a larger change (the demo council is loaded all or nothing). Keep it short: no
 * network or file work inside.
 */
export function inTransaction<T>(db: Db, work: (trx: Trx) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db as Trx) : db.transaction().execute(work);
}

/**
 * SQLSTATE classes and codes, and the drivers' own errors, that mean the connection to the
 * database failed rather than the statement: the request can only be answered "try again later".
 * 08: connection exception; 57P01–57P03: the server shut down or is starting; 53300: too many
 * connections.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_SYSTEM_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /cannot use a pool after calling end/i,
  /connection (?:was )?(?:closed|ended)/i,
];

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false;
  if (error instanceof DatabaseUnavailableError) return true;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string' && (/^08[0-9A-Z]{3}$/.test(code) || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SYSTEM_CODES.has(code))) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
  if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable(cause, depth + 1);
}

export async function databaseIsReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
