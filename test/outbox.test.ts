import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db, DatabaseHandle } from '../src/db/index.ts';
import { startMailSink, type MailSink } from '../src/platform/mail-sink.ts';
import {
  appLink,
  deliverDueEmails,
  enqueueEmail,
  MAX_ATTEMPTS,
  OutboxError,
  RETRY_DELAYS_MINUTES,
  smtpTransport,
  startOutboxWorker,
  type EmailTransport,
} from '../src/platform/outbox.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { systemClock } from '../src/platform/clock.ts';

const FROM = 'Assure <assure@testshire.example>';

/** A port nothing listens on: bind one, note it, let it go. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function minutesAfter(date: Date, minutes: number): Date {
  return new Date(date.getTime() + minutes * 60_000);
}

describe.each(testDrivers())('e-mail outbox on %s', (driver) => {
  let handle: DatabaseHandle;
  let db: Db;
  let sink: MailSink;
  let toSink: ReturnType<typeof smtpTransport>;
  let toNowhere: ReturnType<typeof smtpTransport>;
  let organisationId: string;

  beforeAll(async () => {
    handle = await openTestDatabase(driver);
    db = handle.db;
    sink = await startMailSink();
    toSink = smtpTransport({ url: sink.url, from: FROM });
    toNowhere = smtpTransport({ url: `smtp://127.0.0.1:${await closedPort()}`, from: FROM });
    const organisation = await db
      .insertInto('organisations')
      .values({ slug: 'testshire', name: 'Testshire Council', settings: JSON.stringify({}) })
      .returning('id')
      .executeTakeFirstOrThrow();
    organisationId = organisation.id;
  });

  afterAll(async () => {
    toSink?.close();
    toNowhere?.close();
    await sink?.close();
    await handle?.close();
  });

  beforeEach(async () => {
    await db.deleteFrom('email_outbox').execute();
    sink.clear();
  });

  const email = (subject: string, extra: { dedupeKey?: string; html?: string; to?: string } = {}) => ({
    organisationId,
    to: extra.to ?? 'auditor@testshire.example',
    subject,
    text: `Body of ${subject}`,
    now: new Date(),
    ...extra,
  });

  const row = (id: string) => db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const subjectsReceived = () => sink.messages().map((message) => message.subject);

  it('sends nothing when the transaction that enqueued it rolls back', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await enqueueEmail(trx, email('Audit allocated'));
        throw new Error('the allocation failed');
      }),
    ).rejects.toThrow('the allocation failed');

    const report = await deliverDueEmails(db, toSink, { clock: systemClock });
    expect(report.claimed).toBe(0);
    expect(await db.selectFrom('email_outbox').selectAll().execute()).toEqual([]);
    expect(sink.messages()).toEqual([]);
  });

  it('delivers a committed e-mail through SMTP with its recipient, subject and bodies', async () => {
    const queued = await db.transaction().execute((trx) =>
      enqueueEmail(trx, email('Audit 1042 allocated to you', { html: '<p>Audit <strong>1042</strong> is yours — due 8 June</p>' })),
    );

    const report = await deliverDueEmails(db, toSink, { clock: systemClock });

    expect(report).toEqual({ claimed: 1, sent: 1, retrying: 0, failed: 0, leaseLost: 0 });
    const [message] = sink.messages();
    expect(sink.messages()).toHaveLength(1);
    expect(message).toMatchObject({
      envelopeTo: ['auditor@testshire.example'],
      envelopeFrom: 'assure@testshire.example',
      subject: 'Audit 1042 allocated to you',
      text: 'Body of Audit 1042 allocated to you',
      html: '<p>Audit <strong>1042</strong> is yours — due 8 June</p>',
    });
    expect(message!.headers.to).toBe('auditor@testshire.example');
    expect(message!.headers['message-id']).toBe(`<${queued!.id}@testshire.example>`);
    expect(message!.headers['auto-submitted']).toBe('auto-generated');
    expect(await row(queued!.id)).toMatchObject({ status: 'sent', attempts: 1, locked_until: null, last_error: null });
    expect((await row(queued!.id)).sent_at).toBeInstanceOf(Date);
  });

  it('makes the links to Assure whole with the public address when it sends, and leaves paths without one', async () => {
    await enqueueEmail(db, { ...email('Audit allocated'), text: `Open the audit in Assure: ${appLink('/audits/42')}` });
    await deliverDueEmails(db, toSink, { clock: systemClock, publicUrl: 'https://assure.testshire.gov.uk/' });
    await enqueueEmail(db, { ...email('Audit due'), text: `Open the audit in Assure: ${appLink('/audits/43')}` });
    await deliverDueEmails(db, toSink, { clock: systemClock });
    expect(sink.messages().map((message) => message.text)).toEqual(['Open the audit in Assure: https://assure.testshire.gov.uk/audits/42', 'Open the audit in Assure: /audits/43']);
  });

  it('sends an e-mail only once however often its dedupe key is enqueued', async () => {
    const first = await enqueueEmail(db, email('Audit 7 allocated', { dedupeKey: 'audit-allocated:7' }));
    const second = await enqueueEmail(db, email('Audit 7 allocated again', { dedupeKey: 'audit-allocated:7' }));
    await deliverDueEmails(db, toSink, { clock: systemClock });
    const third = await enqueueEmail(db, email('Audit 7 allocated once more', { dedupeKey: 'audit-allocated:7' }));
    await deliverDueEmails(db, toSink, { clock: systemClock });

    expect(first).not.toBeNull();
    expect(second).toBeNull();
    expect(third).toBeNull();
    expect(subjectsReceived()).toEqual(['Audit 7 allocated']);
    expect(sink.messages()[0]).toMatchObject({ text: 'Body of Audit 7 allocated', html: null });
  });

  it('keeps e-mails without a dedupe key apart', async () => {
    await enqueueEmail(db, email('Reminder'));
    await enqueueEmail(db, email('Reminder'));
    await deliverDueEmails(db, toSink, { clock: systemClock });
    expect(subjectsReceived()).toEqual(['Reminder', 'Reminder']);
  });

  it('refuses an e-mail it could never send', async () => {
    await expect(enqueueEmail(db, email('Hello', { to: 'not an address' }))).rejects.toThrow(OutboxError);
    await expect(enqueueEmail(db, email(''))).rejects.toThrow(/subject/);
  });

  it('keeps an e-mail queued for a retry when the SMTP server cannot be reached, then sends it once', async () => {
    const queued = await enqueueEmail(db, email('Moderation due'));
    const now = new Date();

    const failed = await deliverDueEmails(db, toNowhere, { now });

    expect(failed).toEqual({ claimed: 1, sent: 0, retrying: 1, failed: 0, leaseLost: 0 });
    const waiting = await row(queued!.id);
    expect(waiting).toMatchObject({ status: 'queued', attempts: 1, locked_until: null, sent_at: null });
    expect(waiting.next_attempt_at.getTime()).toBe(minutesAfter(now, 1).getTime());
    expect(waiting.last_error).toMatch(/ECONNREFUSED/);

    // Not due yet: the sink is up, but the backoff has not passed.
    expect((await deliverDueEmails(db, toSink, { now: minutesAfter(now, 0.5) })).claimed).toBe(0);
    expect(sink.messages()).toEqual([]);

    const later = minutesAfter(now, 1);
    expect(await deliverDueEmails(db, toSink, { now: later })).toMatchObject({ claimed: 1, sent: 1 });
    expect(await deliverDueEmails(db, toSink, { now: minutesAfter(now, 24 * 60) })).toMatchObject({ claimed: 0 });
    expect(subjectsReceived()).toEqual(['Moderation due']);
    expect(await row(queued!.id)).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
  });

  it('backs off 1, 5, 30 minutes, 2 hours and 12 hours, then gives up', async () => {
    const queued = await enqueueEmail(db, email('Feedback due'));
    let now = new Date();
    const waits: number[] = [];
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt += 1) {
      expect(await deliverDueEmails(db, toNowhere, { now })).toMatchObject({ retrying: 1 });
      const next = (await row(queued!.id)).next_attempt_at;
      waits.push((next.getTime() - now.getTime()) / 60_000);
      now = next;
    }
    expect(waits).toEqual([...RETRY_DELAYS_MINUTES]);
    expect(waits).toEqual([1, 5, 30, 120, 720]);

    expect(await deliverDueEmails(db, toNowhere, { now })).toMatchObject({ failed: 1, retrying: 0 });
    expect(await row(queued!.id)).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
    // Failed is final: the sink being up a day later changes nothing.
    expect((await deliverDueEmails(db, toSink, { now: minutesAfter(now, 24 * 60) })).claimed).toBe(0);
    expect(sink.messages()).toEqual([]);
  });

  it('picks up an e-mail whose sending crashed, once its lock has passed', async () => {
    const now = new Date();
    const queued = await enqueueEmail(db, email('Distribution due'));
    // A worker claimed it and died before recording anything.
    await db
      .updateTable('email_outbox')
      .set({ status: 'sending', attempts: 1, locked_until: minutesAfter(now, 5) })
      .where('id', '=', queued!.id)
      .execute();

    expect((await deliverDueEmails(db, toSink, { now })).claimed).toBe(0);
    expect(sink.messages()).toEqual([]);

    expect(await deliverDueEmails(db, toSink, { now: minutesAfter(now, 5) })).toMatchObject({ claimed: 1, sent: 1 });
    expect(await deliverDueEmails(db, toSink, { now: minutesAfter(now, 60) })).toMatchObject({ claimed: 0 });
    expect(subjectsReceived()).toEqual(['Distribution due']);
    expect(await row(queued!.id)).toMatchObject({ status: 'sent', attempts: 2, locked_until: null });
  });

  it('fails an e-mail whose last attempt crashed rather than leaving it sending for ever', async () => {
    const now = new Date();
    const queued = await enqueueEmail(db, email('Crashes every time'));
    await db
      .updateTable('email_outbox')
      .set({ status: 'sending', attempts: MAX_ATTEMPTS, locked_until: now })
      .where('id', '=', queued!.id)
      .execute();

    expect(await deliverDueEmails(db, toSink, { now })).toMatchObject({ claimed: 0, failed: 1 });
    expect(await row(queued!.id)).toMatchObject({ status: 'failed', locked_until: null, last_error: 'delivery was interrupted on the last attempt' });
    expect(sink.messages()).toEqual([]);
  });

  it('queues an e-mail at the business time it is given, due from then', async () => {
    const tomorrow = new Date(Date.now() + 24 * 60 * 60_000);
    const queued = await enqueueEmail(db, { ...email('Queued by tomorrow\'s clock'), now: tomorrow });
    expect((await row(queued!.id)).next_attempt_at.getTime()).toBe(tomorrow.getTime());

    expect(await deliverDueEmails(db, toSink, { clock: systemClock })).toMatchObject({ claimed: 0 });
    expect(await deliverDueEmails(db, toSink, { now: tomorrow })).toMatchObject({ claimed: 1, sent: 1 });
    expect(subjectsReceived()).toEqual(["Queued by tomorrow's clock"]);
  });

  it('refuses to deliver with a lease no longer than the transport may take to send', async () => {
    await enqueueEmail(db, email('Not sent with a short lease'));
    const slow: EmailTransport = { timeoutMs: 10_000, send: (message) => toSink.send(message) };
    await expect(deliverDueEmails(db, slow, { clock: systemClock, lockSeconds: 10 })).rejects.toThrow(/lease .* must be longer than the transport's timeout/);
    expect(subjectsReceived()).toEqual([]);
  });

  it("gives up a send that outlasts the transport's timeout and queues it for a retry", async () => {
    const slowSink = await startMailSink({ answerDelayMs: 1_500 });
    const slow = smtpTransport({ url: slowSink.url, from: FROM, timeoutMs: 300 });
    try {
      const queued = await enqueueEmail(db, email('Slower than the timeout'));
      const started = Date.now();
      const report = await deliverDueEmails(db, slow, { clock: systemClock, lockSeconds: 600 });
      expect(Date.now() - started).toBeLessThan(1_400);
      expect(report).toMatchObject({ claimed: 1, sent: 0, retrying: 1 });
      expect(await row(queued!.id)).toMatchObject({ status: 'queued', attempts: 1 });
    } finally {
      slow.close();
      await slowSink.close();
    }
  });

  it('never sends one e-mail twice when several deliveries run at once', async () => {
    const subjects = Array.from({ length: 24 }, (_, index) => `Audit ${index + 1} allocated`);
    for (const subject of subjects) await enqueueEmail(db, email(subject));
    // Slow each send a little so the deliveries overlap.
    const slowed: EmailTransport = {
      send: async (message) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        await toSink.send(message);
      },
    };
    const worker = async () => {
      let sent = 0;
      for (let report = await deliverDueEmails(db, slowed, { clock: systemClock, batchSize: 3 }); report.claimed > 0; report = await deliverDueEmails(db, slowed, { clock: systemClock, batchSize: 3 })) {
        sent += report.sent;
      }
      return sent;
    };

    const sentByEach = await Promise.all([worker(), worker(), worker(), worker()]);

    expect(sentByEach.reduce((a, b) => a + b, 0)).toBe(subjects.length);
    expect([...subjectsReceived()].sort()).toEqual([...subjects].sort());
    const rows = await db.selectFrom('email_outbox').select(['status', 'attempts']).execute();
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  });

  it.runIf(driver === 'postgres')('passes over an e-mail another delivery has locked, and sends it after', async () => {
    const locked = await enqueueEmail(db, email('Held by another server'));
    await enqueueEmail(db, email('Free to send'));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let lockTaken!: () => void;
    const taken = new Promise<void>((resolve) => (lockTaken = resolve));
    const other = db.transaction().execute(async (trx) => {
      await sql`select id from email_outbox where id = ${locked!.id} for update`.execute(trx);
      lockTaken();
      await held;
    });
    await taken;

    const report = await deliverDueEmails(db, toSink, { clock: systemClock });
    release();
    await other;

    expect(report).toMatchObject({ claimed: 1, sent: 1 });
    expect(subjectsReceived()).toEqual(['Free to send']);
    expect(await deliverDueEmails(db, toSink, { clock: systemClock })).toMatchObject({ claimed: 1, sent: 1 });
    expect(subjectsReceived()).toEqual(['Free to send', 'Held by another server']);
  });

  describe('the delivery loop', () => {
    const logged: { level: string; details: object; message: string }[] = [];
    const logger = {
      info: (details: object, message: string) => logged.push({ level: 'info', details, message }),
      error: (details: object, message: string) => logged.push({ level: 'error', details, message }),
    };
    afterEach(() => {
      logged.length = 0;
    });

    async function eventually(check: () => boolean, what: string) {
      for (let waited = 0; waited < 5_000; waited += 20) {
        if (check()) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`timed out waiting until ${what}`);
    }

    it('delivers what is waiting when it starts and what is queued later, and stops', async () => {
      await enqueueEmail(db, email('Waiting at start'));
      const worker = startOutboxWorker({ db, clock: systemClock, transport: toSink, intervalMs: 50, logger });
      await eventually(() => sink.messages().length === 1, 'the waiting e-mail arrives');

      await enqueueEmail(db, email('Queued later'));
      await eventually(() => sink.messages().length === 2, 'the later e-mail arrives');
      await worker.stop();

      await enqueueEmail(db, email('After the stop'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(subjectsReceived()).toEqual(['Waiting at start', 'Queued later']);
      expect(logged.filter((entry) => entry.level === 'info')).not.toHaveLength(0);
    });

    it('delivers at once when woken, rather than at the next interval', async () => {
      const worker = startOutboxWorker({ db, clock: systemClock, transport: toSink, intervalMs: 60_000, logger });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await enqueueEmail(db, email('Wake up'));
      worker.wake();
      await eventually(() => sink.messages().length === 1, 'the e-mail arrives');
      await worker.stop();
    });

    it('logs a delivery that breaks and carries on', async () => {
      let broken = true;
      const transport: EmailTransport = {
        send: async (message) => {
          if (broken) throw new Error('SMTP server said no');
          await toSink.send(message);
        },
      };
      const queued = await enqueueEmail(db, email('Eventually delivered'));
      const worker = startOutboxWorker({ db, clock: systemClock, transport, intervalMs: 20, logger });
      await eventually(() => logged.length > 0, 'the failure is logged');
      expect(await row(queued!.id)).toMatchObject({ status: 'queued', attempts: 1, last_error: 'SMTP server said no' });
      broken = false;
      // Let the backoff pass without waiting a minute.
      await db.updateTable('email_outbox').set({ next_attempt_at: new Date(Date.now() - 1000) }).execute();
      await eventually(() => sink.messages().length === 1, 'the retry arrives');
      await worker.stop();
      expect(subjectsReceived()).toEqual(['Eventually delivered']);
    });
  });
});

describe('the mail sink', () => {
  let folder: string;
  let sink: MailSink;

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'assure-mail-'));
    sink = await startMailSink({ folder });
  });

  afterAll(async () => {
    await sink?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('decodes non-ASCII subjects and bodies and writes .eml files', async () => {
    const transport = smtpTransport({ url: sink.url, from: 'Assure <assure@localhost>' });
    const subject = 'Audit for Siân Ó Dónaill’s team — due 8 June';
    const text = `Héllo — ${'a long line that quoted-printable will wrap '.repeat(4)}£10`;
    await transport.send({ id: '0b0a0c0d-0000-4000-8000-000000000001', to: 'zoë@testshire.example', subject, text, html: '<p>Ça va</p>' });
    transport.close();

    const [message] = sink.messages();
    expect(message).toMatchObject({ subject, text, html: '<p>Ça va</p>' });
    const files = await readdir(folder);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.eml$/);
    expect(await readFile(path.join(folder, files[0]!), 'utf8')).toContain('Message-ID: <0b0a0c0d-0000-4000-8000-000000000001@localhost>');
  });
});
