import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/index.ts';
import { startMailSink, type MailSink } from '../src/platform/mail-sink.ts';
import { enqueueEmail } from '../src/platform/outbox.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';

/**
 * "Never sends the same e-mail twice" with two app servers and a mail server slower than a
 * claim's lease would allow for a whole batch: two real Node processes deliver one outbox
 * through one deliberately slow SMTP server, and every message arrives exactly once.
 */

const WORKER = path.join(import.meta.dirname, 'support', 'outbox-worker.ts');
const MESSAGES = 20;
/** Each message is answered this late: a batch of 20 takes 8 s, twice the lease. */
const ANSWER_DELAY_MS = 400;
const LEASE_SECONDS = 4;
const SEND_TIMEOUT_MS = 3_000;

type Totals = { claimed: number; sent: number; retrying: number; failed: number; leaseLost: number };

function runWorker(job: Record<string, unknown>): Promise<Totals> {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(stdout.trim()) as Totals);
      else reject(new Error(`the outbox worker ended with ${code}: ${stderr}`));
    });
  });
}

const onPostgres = testDrivers().includes('postgres');
if (!onPostgres) console.log('Outbox test with two servers skipped: set TEST_DATABASE_URL (two processes need PostgreSQL)');

describe.skipIf(!onPostgres)('the outbox delivered by two app servers through a slow mail server', () => {
  let handle: DatabaseHandle;
  let sink: MailSink;
  let databaseUrl: string;

  beforeAll(async () => {
    handle = await openTestDatabase('postgres');
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(handle.db);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${rows[0]!.name}`;
    databaseUrl = url.toString();
    sink = await startMailSink({ answerDelayMs: ANSWER_DELAY_MS });
  });

  afterAll(async () => {
    await sink?.close();
    await handle?.close();
  });

  it('delivers every message exactly once', async () => {
    const organisation = await handle.db
      .insertInto('organisations')
      .values({ slug: 'testshire', name: 'Testshire Council', settings: JSON.stringify({}) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const subjects = Array.from({ length: MESSAGES }, (_, index) => `Audit ${index + 1} allocated`);
    for (const subject of subjects) {
      await enqueueEmail(handle.db, { organisationId: organisation.id, to: 'auditor@testshire.example', subject, text: `Body of ${subject}`, now: new Date() });
    }

    const job = { postgresUrl: databaseUrl, smtpUrl: sink.url, lockSeconds: LEASE_SECONDS, timeoutMs: SEND_TIMEOUT_MS };
    const [first, second] = await Promise.all([runWorker(job), runWorker(job)]);

    const received = sink.messages().map((message) => message.subject);
    expect(received).toHaveLength(MESSAGES);
    expect([...received].sort()).toEqual([...subjects].sort());
    // Both servers took part, and neither sent a message the other held.
    expect(first.sent).toBeGreaterThan(0);
    expect(second.sent).toBeGreaterThan(0);
    expect(first.sent + second.sent).toBe(MESSAGES);
    expect(first.leaseLost + second.leaseLost).toBe(0);
    const rows = await handle.db.selectFrom('email_outbox').select(['status', 'attempts']).execute();
    expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
  }, 180_000);
});
