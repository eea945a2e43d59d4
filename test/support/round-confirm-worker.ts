/**
 * A separate Node process that confirms a sampling round and stops just before the commit, for
 * the test that kills a process in the middle of a confirmation (test/sampling-round-kill.test.ts).
 * It runs the product's own confirmSamplingRound; the only addition is its `beforeCommit` hook,
 * where it prints "before commit" with how many audits it has written, then waits to be killed.
 *
 *   node round-confirm-worker.ts '{"postgresUrl":"…","roundId":"…","userId":"…","today":"2026-12-07"}'
 *   node round-confirm-worker.ts '{"pgliteDir":"…","roundId":"…","userId":"…","today":"2026-12-07"}'
 */
import { openPglite, openPostgres, type DatabaseHandle } from '../../src/db/index.ts';
import { confirmSamplingRound } from '../../src/modules/programme/rounds.ts';
import { loadPrincipal } from '../../src/platform/auth/queries.ts';

type Job = { postgresUrl?: string; pgliteDir?: string; roundId: string; userId: string; today: string };

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const handle: DatabaseHandle = job.postgresUrl ? await openPostgres(job.postgresUrl, { max: 1 }) : await openPglite(job.pgliteDir);
const principal = await loadPrincipal(handle.db, job.userId);
if (!principal) throw new Error(`no user ${job.userId}`);
await confirmSamplingRound(handle.db, { principal, ipAddress: null, at: new Date() }, job.roundId, {
  today: job.today,
  beforeCommit: async (trx) => {
    const written = await trx.selectFrom('programme_round_audits').select((eb) => eb.fn.countAll<number>().as('n')).where('round_id', '=', job.roundId).executeTakeFirstOrThrow();
    process.stdout.write(`before commit ${Number(written.n)}\n`);
    await new Promise(() => {});
  },
});
