import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite, type DatabaseHandle, type Db } from '../src/db/index.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { confirmSamplingRound, proposeSamplingRound } from '../src/modules/programme/rounds.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { systemClock, ukToday } from '../src/platform/clock.ts';
import { createAuditTool, createChild } from './support/audits.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { createSmallCouncil } from './support/fixtures.ts';

/**
 * Confirming a round is one transaction: a Node process killed with SIGKILL after it has
 * allocated every audit of the round, just before the commit, leaves no audit, no e-mail and
 * the round still proposed — on both drivers — and the round can then be confirmed whole.
 */
const WORKER = path.join(import.meta.dirname, 'support', 'round-confirm-worker.ts');
const today = ukToday(systemClock);

/** Runs the worker until it prints "before commit N", kills it, and returns N. */
function confirmAndKill(job: Record<string, unknown>): Promise<number> {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the worker never reached the commit; stderr: ${stderr}`)); }, 90_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const found = /before commit (\d+)/.exec(stdout);
      if (!found) return;
      clearTimeout(timer);
      child.once('exit', () => resolve(Number(found[1])));
      child.kill('SIGKILL');
    });
    child.on('exit', (code) => { if (!/before commit/.test(stdout)) { clearTimeout(timer); reject(new Error(`the worker ended (${code}); stderr: ${stderr}`)); } });
  });
}

/** A council with a schedule row (2 per team of Area Social Work) and four children in North Unit 1; a proposed round. */
async function seedRound(db: Db) {
  const council = await createSmallCouncil(db);
  const org = council.organisation.id;
  const tool = await createAuditTool(db, org);
  const version = await db.insertInto('programme_schedule_versions').values({ organisation_id: org, applies_from: '2000-01-01' }).returning('id').executeTakeFirstOrThrow();
  const row = await db.insertInto('programme_schedule_rows').values({
    organisation_id: org, schedule_version_id: version.id, position: 0, service_id: council.services.area.id, activity: 'case_audit', activity_label: 'Case file audit',
    tool_id: tool.toolId, quantity: 2, per: 'team', period_months: 1, auditor_roles: JSON.stringify([]), selected_by: 'random', sampling: JSON.stringify({}),
  }).returning('id').executeTakeFirstOrThrow();
  for (let n = 0; n < 4; n++) await createChild(db, org, { externalId: `KILL-${n}`, initials: `K${n}`, teamId: council.teams.unit1.id, workerId: council.staff.worker1.id });
  const userId = council.users.qa_coordinator.id;
  const principal = (await loadPrincipal(db, userId))!;
  const outcome = await proposeSamplingRound(db, { principal, ipAddress: null, at: new Date() }, { periodFrom: '2026-12-01', periodTo: '2026-12-31', rowIds: [row.id], seed: 3 }, { today });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
  return { roundId: outcome.roundId, userId, principal };
}

async function state(db: Db, roundId: string) {
  const count = async (table: 'audits' | 'email_outbox' | 'programme_round_audits') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const round = await db.selectFrom('programme_rounds').select(['status', 'confirmed_at']).where('id', '=', roundId).executeTakeFirstOrThrow();
  return { audits: await count('audits'), emails: await count('email_outbox'), roundAudits: await count('programme_round_audits'), status: round.status };
}

describe('a process killed while confirming a sampling round', () => {
  const handles: DatabaseHandle[] = [];
  afterAll(async () => { for (const handle of handles) await handle.close().catch(() => {}); });

  it.skipIf(!testDrivers().includes('postgres'))('on PostgreSQL leaves no audit of the round, and the round confirms whole afterwards', async () => {
    const handle = await openTestDatabase('postgres');
    handles.push(handle);
    const { roundId, userId, principal } = await seedRound(handle.db);
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(handle.db);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${rows[0]!.name}`;
    const written = await confirmAndKill({ postgresUrl: url.toString(), roundId, userId, today });
    expect(written).toBe(2);
    expect(await state(handle.db, roundId)).toEqual({ audits: 0, emails: 0, roundAudits: 0, status: 'proposed' });
    const outcome = await confirmSamplingRound(handle.db, { principal, ipAddress: null, at: new Date() }, roundId, { today });
    expect(outcome).toMatchObject({ ok: true, alreadyConfirmed: false });
    expect(await state(handle.db, roundId)).toEqual({ audits: 2, emails: 2, roundAudits: 2, status: 'confirmed' });
  }, 120_000);

  it('on the embedded database leaves no audit of the round, and the round confirms whole afterwards', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-round-kill-'));
    try {
      let handle = await openPglite(dir);
      await migrateToLatest(handle.db);
      const { roundId, userId, principal } = await seedRound(handle.db);
      await handle.close();
      const written = await confirmAndKill({ pgliteDir: dir, roundId, userId, today });
      expect(written).toBe(2);
      handle = await openPglite(dir);
      handles.push(handle);
      expect(await state(handle.db, roundId)).toEqual({ audits: 0, emails: 0, roundAudits: 0, status: 'proposed' });
      const outcome = await confirmSamplingRound(handle.db, { principal, ipAddress: null, at: new Date() }, roundId, { today });
      expect(outcome).toMatchObject({ ok: true, alreadyConfirmed: false });
      expect(await state(handle.db, roundId)).toEqual({ audits: 2, emails: 2, roundAudits: 2, status: 'confirmed' });
      await handle.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);
});
