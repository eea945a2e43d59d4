/**
 * A separate Node process that delivers the e-mail outbox, as one app server does, for the test
 * that runs two of them against one slow mail server (test/outbox-servers.test.ts). It uses the
 * product's own code, unchanged: the same database opening as the server and deliverDueEmails.
 *
 * Usage (arguments as JSON in one argument):
 *   node outbox-worker.ts '{"postgresUrl":"…","smtpUrl":"smtp://127.0.0.1:2525","lockSeconds":2,"timeoutMs":1500}'
 *
 * It delivers until no message is left queued or sending, then prints its totals as JSON.
 */
import { openPostgres } from '../../src/db/index.ts';
import { deliverDueEmails, smtpTransport } from '../../src/platform/outbox.ts';
import { systemClock } from '../../src/platform/clock.ts';

type Job = { postgresUrl: string; smtpUrl: string; lockSeconds: number; timeoutMs: number; batchSize?: number };

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const handle = await openPostgres(job.postgresUrl, { max: 2 });
const transport = smtpTransport({ url: job.smtpUrl, from: 'Assure <assure@testshire.example>', timeoutMs: job.timeoutMs });
const totals = { claimed: 0, sent: 0, retrying: 0, failed: 0, leaseLost: 0 };
try {
  for (;;) {
    const report = await deliverDueEmails(handle.db, transport, { clock: systemClock, lockSeconds: job.lockSeconds, batchSize: job.batchSize ?? 20 });
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += report[key];
    const open = await handle.db.selectFrom('email_outbox').select('id').where('status', 'in', ['queued', 'sending']).executeTakeFirst();
    if (!open) break;
    // Another server holds what is left: look again shortly.
    if (report.claimed === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stdout.write(`${JSON.stringify(totals)}\n`);
} finally {
  transport.close();
  await handle.close();
}
