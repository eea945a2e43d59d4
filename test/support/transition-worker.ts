/**
 * A separate Node process that moves one audit through the lifecycle, for the test that kills
 * a process in the middle of a transition (test/transition-kill.test.ts). It uses the product's
 * own code, unchanged: the same database opening as the server and transitionAudit.
 *
 * Usage (arguments as JSON in one argument, so ids and paths need no quoting):
 *   node transition-worker.ts '{"mode":"once","postgresUrl":"…","auditId":"…","userId":"…","to":"in_moderation","today":"2026-03-02"}'
 *   node transition-worker.ts '{"mode":"loop","pgliteDir":"…","auditId":"…","auditorUserId":"…","moderatorUserId":"…"}'
 *
 * "once" makes one transition and prints its outcome as JSON. "loop" submits and returns the
 * audit for ever, printing "moved N" after each committed transition, until it is killed.
 */
import { openPglite, openPostgres, type DatabaseHandle, type Db } from '../../src/db/index.ts';
import type { AuditStatus } from '../../src/db/types.ts';
import { transitionAudit, type TransitionActor } from '../../src/modules/audits/transitions.ts';
import { loadPrincipal } from '../../src/platform/auth/queries.ts';

type OnceJob = { mode: 'once'; postgresUrl?: string; pgliteDir?: string; auditId: string; userId: string; to: AuditStatus; today: string };
type LoopJob = { mode: 'loop'; postgresUrl?: string; pgliteDir?: string; auditId: string; auditorUserId: string; moderatorUserId: string };
type Job = OnceJob | LoopJob;

async function open(job: Job): Promise<DatabaseHandle> {
  if (job.postgresUrl) return openPostgres(job.postgresUrl, { max: 1 });
  if (job.pgliteDir) return openPglite(job.pgliteDir);
  throw new Error('the job names no database');
}

async function actorFor(db: Db, userId: string): Promise<TransitionActor> {
  const principal = await loadPrincipal(db, userId);
  if (!principal) throw new Error(`no user ${userId}`);
  return { principal, ipAddress: null, at: new Date() };
}

async function once(db: Db, job: OnceJob) {
  const outcome = await transitionAudit(db, await actorFor(db, job.userId), job.auditId, job.to, { today: job.today });
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

/** Submit, return with a reason, resubmit, return…: every move alternates between two people. */
async function loop(db: Db, job: LoopJob): Promise<never> {
  const auditor = await actorFor(db, job.auditorUserId);
  const moderator = await actorFor(db, job.moderatorUserId);
  process.stdout.write('ready\n');
  for (let moved = 1; ; moved += 1) {
    const audit = await db.selectFrom('audits').select('status').where('id', '=', job.auditId).executeTakeFirstOrThrow();
    if (audit.status === 'in_moderation') await transitionAudit(db, moderator, job.auditId, 'returned', { reason: `Change number ${moved}` });
    else await transitionAudit(db, auditor, job.auditId, 'in_moderation');
    process.stdout.write(`moved ${moved}\n`);
  }
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const handle = await open(job);
try {
  if (job.mode === 'loop') await loop(handle.db, job);
  else await once(handle.db, job);
} finally {
  await handle.close();
}
