import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';

/**
 * One import of an organisation's register at a time, and a way to tell a live import from one
 * whose process died — without guessing from the clock.
 *
 * On PostgreSQL the running process holds a session-level advisory lock on the organisation for
 * the whole import, on a connection of its own. The server releases it the moment that session
 * ends, however the process ended (SIGKILL included). So a second import, a second server or a
 * server starting up asks for the same lock: granted means no live process is importing for
 * that organisation, and anything left 'running' is an orphan that may be cleaned up.
 *
 * PGlite is one process by construction (the data directory's lock file refuses a second one),
 * and its single session would grant an advisory lock to itself twice, so there the lock is
 * held in this process's memory: a server cannot start while an import runs elsewhere, and a
 * running import found at start-up is always an orphan.
 */
const LOCK_CLASS = 0x4153_4331; // "ASC1": child register imports

const heldInProcess = new Set<string>();

export class ImportBusyError extends Error {
  constructor() {
    super('Another import of the child register is running for this organisation. Try again when it has finished.');
  }
}

export async function isEmbedded(db: Db): Promise<boolean> {
  const { rows } = await sql<{ version: string }>`select version() as version`.execute(db);
  return rows[0]?.version.includes('PGlite') ?? false;
}

/** Runs `work` holding the organisation's import lock; refuses at once when it is taken. */
export async function withImportLock<T>(db: Db, organisationId: string, work: () => Promise<T>): Promise<T> {
  if (heldInProcess.has(organisationId)) throw new ImportBusyError();
  heldInProcess.add(organisationId);
  try {
    if (await isEmbedded(db)) return await work();
    return await db.connection().execute(async (session) => {
      const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${organisationId})) as got`.execute(session);
      if (!rows[0]?.got) throw new ImportBusyError();
      try {
        return await work();
      } finally {
        await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${organisationId}))`.execute(session);
      }
    });
  } finally {
    heldInProcess.delete(organisationId);
  }
}

/**
 * Runs `work` only if no live process holds the organisation's import lock; returns false
 * without running it otherwise. Used to clean up after an import whose process has gone.
 */
export async function ifNoLiveImport(db: Db, organisationId: string, work: () => Promise<void>): Promise<boolean> {
  if (heldInProcess.has(organisationId)) return false;
  if (await isEmbedded(db)) {
    await work();
    return true;
  }
  return db.connection().execute(async (session) => {
    const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${organisationId})) as got`.execute(session);
    if (!rows[0]?.got) return false;
    try {
      await work();
      return true;
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${organisationId}))`.execute(session);
    }
  });
}
