import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type DatabaseHandle, type Db } from '../src/db/index.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { createSmallCouncil, type SmallCouncil } from './support/fixtures.ts';

/**
 * A transition is one transaction (transitions.ts): a Node process killed with SIGKILL in the
 * middle of one leaves the audit wholly as it was or wholly moved — status, version, stage
 * dates, the transition row and the activity row together. The killed process runs the
 * product's own code, unchanged, in test/support/transition-worker.ts.
 */

const WORKER = path.join(import.meta.dirname, 'support', 'transition-worker.ts');
/** A Monday with no bank holiday in the next fortnight: moderation is due 10 working days later. */
const TODAY = '2026-03-02';
const MODERATION_DUE = '2026-03-16';
const WORKER_NAME = 'assure-transition-worker';

type Worker = {
  /** Resolves with the first line of output that `test` accepts. */
  line: (test: (line: string) => boolean, timeoutMs?: number) => Promise<string>;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill: () => void;
};

function startWorker(job: Record<string, unknown>): Worker {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    lines.push(...complete);
    for (const check of waiting) check();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const check of waiting) check();
      resolve({ code, signal, stderr });
    });
  });
  const line = (test: (line: string) => boolean, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no such line from the worker in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      const finish = (outcome: string | Error) => {
        clearTimeout(timer);
        waiting.delete(check);
        if (typeof outcome === 'string') resolve(outcome);
        else reject(outcome);
      };
      const check = () => {
        const found = lines.find(test);
        if (found !== undefined) finish(found);
        else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`the worker ended (${child.exitCode ?? child.signalCode}) without that line; stderr: ${stderr}`));
      };
      waiting.add(check);
      check();
    });
  return { line, lines, exited, kill: () => child.kill('SIGKILL') };
}

/** Asks `probe` every 50 ms until it returns something, failing after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One in-progress audit by Tina Manager, moderated by Sam Service. */
async function seedAudit(db: Db, council: SmallCouncil) {
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const child = await createChild(db, org, { externalId: 'KILL-1', initials: 'KL', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
  const audit = await createAudit(db, {
    organisationId: org,
    childId: child.id,
    toolEditionId: tool.editionId,
    auditorId: council.staff.manager1.id,
    moderatorId: council.staff.serviceManager.id,
    caseHolderId: council.staff.worker1.id,
    status: 'in_progress',
  });
  return audit.id;
}

const auditRow = (db: Db, id: string) =>
  db.selectFrom('audits').select(['status', 'version', 'stage_started_on', 'stage_due_on', 'submitted_at']).where('id', '=', id).executeTakeFirstOrThrow();
const transitionRows = (db: Db, id: string) =>
  db.selectFrom('audit_transitions').select(['from_status', 'to_status', 'transition', 'actor_user_id', 'reason']).where('audit_id', '=', id).orderBy('id').execute();
/** The activity rows transitionAudit writes ("audit in progress → in moderation (submit)"). */
const transitionActivity = (db: Db, id: string) =>
  db.selectFrom('activity_log').select(['summary', 'user_id']).where('record_id', '=', id).where('summary', 'like', 'audit % → %').orderBy('id').execute();

const onPostgres = testDrivers().includes('postgres');
if (!onPostgres) console.log('PostgreSQL kill tests skipped: set TEST_DATABASE_URL to a server this test may create databases on');

describe.skipIf(!onPostgres)('a process killed mid-transition on PostgreSQL', () => {
  let handle: DatabaseHandle;
  let council: SmallCouncil;
  let auditId: string;
  let workerUrl: string;

  beforeAll(async () => {
    handle = await openTestDatabase('postgres');
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(handle.db);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${rows[0]!.name}`;
    workerUrl = url.toString();
    council = await createSmallCouncil(handle.db);
    auditId = await seedAudit(handle.db, council);
  });
  afterAll(async () => handle?.close());

  /** The worker's server process, as the server sees it. */
  const workerBackends = async () =>
    (
      await sql<{ pid: number; wait_event_type: string | null; query: string; state: string | null }>`
        select pid, wait_event_type, query, state from pg_stat_activity
        where datname = current_database() and application_name = ${WORKER_NAME}`.execute(handle.db)
    ).rows;

  const connectionUrl = () => {
    const url = new URL(workerUrl);
    url.searchParams.set('application_name', WORKER_NAME);
    return url.toString();
  };

  it('rolls the whole transition back when the process dies after updating the audit', async () => {
    const before = await auditRow(handle.db, auditId);
    expect(before.status).toBe('in_progress');

    // Inserting the transition row needs a lock this holds; updating the audit does not.
    const blocker = new pg.Client({ connectionString: workerUrl });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table audit_transitions in share row exclusive mode');

      const worker = startWorker({ mode: 'once', postgresUrl: connectionUrl(), auditId, userId: council.users.auditor.id, to: 'in_moderation', today: TODAY });
      const stuck = await waitFor('the worker to wait for the lock', async () =>
        (await workerBackends()).find((row) => row.wait_event_type === 'Lock' && row.query.startsWith('insert into "audit_transitions"')),
      );
      // It has already updated the audit: its transaction holds the lock an UPDATE takes.
      const updating = await sql<{ mode: string }>`
        select mode from pg_locks where pid = ${stuck.pid} and relation = 'audits'::regclass and granted`.execute(handle.db);
      expect(updating.rows.map((row) => row.mode)).toContain('RowExclusiveLock');

      worker.kill();
      const ended = await worker.exited;
      expect(ended.signal).toBe('SIGKILL');
      await blocker.query('rollback');

      // The server notices its client has gone and ends the transaction without committing it.
      await waitFor('the killed worker’s server process to end', async () => ((await workerBackends()).some((row) => row.pid === stuck.pid) ? undefined : true));
    } finally {
      await blocker.end();
    }

    expect(await auditRow(handle.db, auditId)).toEqual(before);
    expect(await transitionRows(handle.db, auditId)).toEqual([]);
    expect(await transitionActivity(handle.db, auditId)).toEqual([]);
    // Nothing is left holding the audit: another transaction can lock it at once.
    await handle.db.transaction().execute(async (trx) => {
      await sql`set local lock_timeout = '1s'`.execute(trx);
      await trx.selectFrom('audits').select('id').where('id', '=', auditId).forUpdate().executeTakeFirstOrThrow();
    });
  }, 120_000);

  it('makes the whole transition when the process is left to finish', async () => {
    const before = await auditRow(handle.db, auditId);
    const worker = startWorker({ mode: 'once', postgresUrl: connectionUrl(), auditId, userId: council.users.auditor.id, to: 'in_moderation', today: TODAY });
    const ended = await worker.exited;
    expect(ended.code, ended.stderr).toBe(0);
    expect(JSON.parse(worker.lines[0]!)).toMatchObject({ transition: 'submit', from: 'in_progress', to: 'in_moderation', version: before.version + 1 });

    const after = await auditRow(handle.db, auditId);
    expect(after).toMatchObject({ status: 'in_moderation', version: before.version + 1, stage_started_on: TODAY, stage_due_on: MODERATION_DUE });
    expect(after.submitted_at).not.toBeNull();
    expect(await transitionRows(handle.db, auditId)).toEqual([
      { from_status: 'in_progress', to_status: 'in_moderation', transition: 'submit', actor_user_id: council.users.auditor.id, reason: null },
    ]);
    expect(await transitionActivity(handle.db, auditId)).toEqual([{ summary: 'audit in progress → in moderation (submit)', user_id: council.users.auditor.id }]);
    expect(await workerBackends()).toEqual([]);
  }, 120_000);
});

describe('a process killed mid-transition on the embedded database', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-kill-'));
  const dataDir = path.join(folder, 'pglite');
  let council: SmallCouncil;
  let auditId: string;
  let firstVersion: number;

  beforeAll(async () => {
    const handle = await openPglite(dataDir);
    try {
      await migrateToLatest(handle.db);
      council = await createSmallCouncil(handle.db);
      auditId = await seedAudit(handle.db, council);
      firstVersion = (await auditRow(handle.db, auditId)).version;
    } finally {
      await handle.close();
    }
  }, 120_000);
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('reopens after each kill with the audit agreeing with its last transition', async () => {
    let reported = 0;
    for (let round = 1; round <= 3; round += 1) {
      const worker = startWorker({ mode: 'loop', pgliteDir: dataDir, auditId, auditorUserId: council.users.auditor.id, moderatorUserId: council.users.moderator.id });
      await worker.line((line) => line === 'moved 1');
      // A random moment while it moves the audit, nearly always inside a transaction.
      await sleep(50 + Math.floor(Math.random() * 400));
      worker.kill();
      expect((await worker.exited).signal).toBe('SIGKILL');
      const movedThisRound = Math.max(...worker.lines.map((line) => Number(/^moved (\d+)$/.exec(line)?.[1] ?? 0)));
      reported += movedThisRound;

      const handle = await openPglite(dataDir);
      try {
        const audit = await auditRow(handle.db, auditId);
        const transitions = await transitionRows(handle.db, auditId);
        const activity = await transitionActivity(handle.db, auditId);
        // Every committed transition is there, and at most the one being committed when killed besides.
        expect(transitions.length - reported, `round ${round}`).toBeGreaterThanOrEqual(0);
        expect(transitions.length - reported, `round ${round}`).toBeLessThanOrEqual(1);
        reported = transitions.length;
        expect(audit.status).toBe(transitions.at(-1)!.to_status);
        expect(audit.version).toBe(firstVersion + transitions.length);
        expect(activity).toHaveLength(transitions.length);
        expect(activity.at(-1)!.summary).toContain(`(${transitions.at(-1)!.transition})`);
        // Each move starts where the one before it ended: no half-made move in between.
        transitions.forEach((row, index) => expect(row.from_status).toBe(index === 0 ? 'in_progress' : transitions[index - 1]!.to_status));
      } finally {
        await handle.close();
      }
    }
  }, 300_000);
});
