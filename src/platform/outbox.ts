import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { fixedClock, type Clock } from './clock.ts';

/**
 * The e-mail outbox. Code that announces a change by e-mail enqueues the message in the same
 * transaction as the change, so a message exists only if its change committed. A worker then
 * delivers due messages by SMTP or GOV.UK Notify, retrying with backoff; a message the
 * transport refuses for good (OutboxError with `permanent`) fails at once.
 *
 * Never twice, with any number of app servers and however slow the mail server: each message is
 * claimed on its own, just before its send, with a lease (locked_until) longer than the longest
 * a send may take, because the transport gives up (and closes its connection) well inside the
 * lease. So nobody takes a message over while its send can still be going on. Sent is recorded
 * only by the claim that holds the lease, and a message recorded sent is never claimed again.
 * The one window left is a crash between the mail server accepting a message and the row being
 * marked sent; the Message-ID or Notify reference (the row's id) lets mail systems spot that.
 */

export type OutgoingEmail = { id: string; to: string; subject: string; text: string; html: string | null };

/**
 * Anything that can send one message; it throws when the message was not accepted. `timeoutMs`
 * is the longest one send may take before the transport abandons it (the outbox's lease must be
 * longer); a transport that does not say is held to DEFAULT_SEND_TIMEOUT_MS by the outbox.
 */
export type EmailTransport = { send(message: OutgoingEmail): Promise<void>; readonly timeoutMs?: number };

/** After attempt n fails the next is RETRY_DELAYS_MINUTES[n - 1] minutes later; after the last, the message has failed. */
export const RETRY_DELAYS_MINUTES = [1, 5, 30, 120, 720] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_MINUTES.length + 1;
/** How long a claimed message is left to its worker before another may take it over. */
const DEFAULT_LOCK_SECONDS = 5 * 60;
/** The longest a send may take, unless the transport says otherwise: well inside the lease. */
export const DEFAULT_SEND_TIMEOUT_MS = 60_000;
const MAX_ERROR_LENGTH = 1000;

/**
 * A problem with the outbox or a delivery. A transport throws it with `permanent` when
 * trying again cannot help (the message or the address was refused), and the message then
 * fails at once instead of after every retry.
 */
export class OutboxError extends Error {
  readonly permanent: boolean;
  constructor(message: string, options: { permanent?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutboxError';
    this.permanent = options.permanent ?? false;
  }
}

const newEmailSchema = z.object({
  organisationId: z.uuid(),
  to: z.email(),
  subject: z.string().trim().min(1).max(500),
  text: z.string().min(1),
  html: z.string().min(1).optional(),
  dedupeKey: z.string().min(1).max(500).optional(),
  /** When the message is queued, by the app's clock: it is due for delivery from then. */
  now: z.date(),
});

export type NewEmail = z.input<typeof newEmailSchema>;

/**
 * Queues an e-mail. Call it with the transaction that makes the change the e-mail announces.
 * With a dedupeKey a second enqueue of the same key does nothing and returns null.
 */
export async function enqueueEmail(db: Db, email: NewEmail): Promise<{ id: string } | null> {
  const parsed = newEmailSchema.safeParse(email);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new OutboxError(`cannot queue the e-mail: ${issue.path.join('.')}: ${issue.message}`);
  }
  const value = parsed.data;
  const row = await db
    .insertInto('email_outbox')
    .values({
      organisation_id: value.organisationId,
      to_address: value.to,
      subject: value.subject,
      text_body: value.text,
      html_body: value.html ?? null,
      dedupe_key: value.dedupeKey ?? null,
      next_attempt_at: value.now,
    })
    .onConflict((conflict) => conflict.column('dedupe_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row ?? null;
}

/**
 * Links to Assure in an e-mail are written with appLink, as a path behind a marker; delivery
 * puts the address people reach Assure at (PUBLIC_URL) in its place, so every e-mail's links
 * are whole without each service that writes one knowing the address.
 */
const APP_LINK_MARKER = '{assure}';

export function appLink(path: string): string {
  return `${APP_LINK_MARKER}${path}`;
}

/** The text as sent: each appLink made absolute with the public address (or left a path without one). */
export function withAppLinks(text: string, publicUrl: string | undefined): string {
  return text.replaceAll(APP_LINK_MARKER, (publicUrl ?? '').replace(/\/+$/, ''));
}

export type DeliveryOptions = {
  batchSize?: number;
  /** Where people reach Assure, for the links in messages (see appLink). */
  publicUrl?: string | undefined;
  /** The claim's lease: it must be longer than the transport's timeout. */
  lockSeconds?: number;
} & (
  | { /** Business time, the app's clock: each claim and each outcome reads it. */ clock: Clock }
  | { /** One time for the whole run; tests pass a later one to let backoff pass. */ now: Date }
);

/** `leaseLost`: sent, but the lease had passed meanwhile (recorded sent all the same). */
export type DeliveryReport = { claimed: number; sent: number; retrying: number; failed: number; leaseLost: number };

/**
 * Delivers the messages that are due, up to a batch: claims one, sends it, records the outcome,
 * and so on. Several workers (app servers) may run this at once: each claims different rows.
 * A claim covers one send only, so a slow mail server cannot let a claim run out while the
 * message waits behind others of its batch.
 */
export async function deliverDueEmails(db: Db, transport: EmailTransport, options: DeliveryOptions): Promise<DeliveryReport> {
  const clock = 'now' in options ? fixedClock(options.now) : options.clock;
  const leaseMs = (options.lockSeconds ?? DEFAULT_LOCK_SECONDS) * 1000;
  const timeoutMs = transport.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  if (timeoutMs >= leaseMs) {
    throw new OutboxError(`the claim's lease (${leaseMs} ms) must be longer than the transport's timeout (${timeoutMs} ms), or a slow send could be taken over and sent twice`);
  }
  const report: DeliveryReport = { claimed: 0, sent: 0, retrying: 0, failed: 0, leaseLost: 0 };
  report.failed += await failInterrupted(db, clock.now());
  const batchSize = options.batchSize ?? 20;
  while (report.claimed < batchSize) {
    const row = await claimNext(db, clock.now(), leaseMs);
    if (!row) break;
    report.claimed += 1;
    const message = {
      id: row.id,
      to: row.to_address,
      subject: row.subject,
      text: withAppLinks(row.text_body, options.publicUrl),
      html: row.html_body === null ? null : withAppLinks(row.html_body, options.publicUrl),
    };
    try {
      await sendWithin(transport, message, timeoutMs);
    } catch (error) {
      const outcome = await recordFailure(db, row, error, clock.now());
      report[outcome] += 1;
      continue;
    }
    const held = await markSent(db, row, clock.now());
    report.sent += 1;
    if (!held) report.leaseLost += 1;
  }
  return report;
}

/**
 * The transport's own timeout ends a send (closing its connection); this deadline is the
 * backstop for a transport that does not keep to it. A send abandoned here may still be under
 * way, so its retry waits until its lease has passed (see recordFailure).
 */
async function sendWithin(transport: EmailTransport, message: OutgoingEmail, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new SendAbandoned(`the send took longer than ${timeoutMs} ms`)), timeoutMs + 1_000);
  });
  try {
    await Promise.race([transport.send(message), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A send the outbox stopped waiting for: it may still be going on. */
class SendAbandoned extends OutboxError {}

type ClaimedRow = NonNullable<Awaited<ReturnType<typeof claimNext>>>;

/**
 * Marks the next due row 'sending' in one statement, with a lease from now. `for update skip
 * locked` makes concurrent workers pass over a row another is claiming, and a row whose worker
 * died while sending (its lease passed) is due again. The attempt is counted here, so a message
 * that kills its worker every time still runs out of attempts.
 */
function claimNext(db: Db, now: Date, leaseMs: number) {
  const due = db
    .selectFrom('email_outbox')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('next_attempt_at', '<=', now)]),
        eb.and([eb('status', '=', 'sending'), eb('locked_until', '<=', now)]),
      ]),
    )
    .where('attempts', '<', MAX_ATTEMPTS)
    .orderBy('next_attempt_at')
    .orderBy('created_at')
    .limit(1)
    .forUpdate()
    .skipLocked();
  return db
    .updateTable('email_outbox')
    .set((eb) => ({
      status: 'sending',
      locked_until: new Date(now.getTime() + leaseMs),
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', 'in', due)
    .returning(['id', 'to_address', 'subject', 'text_body', 'html_body', 'attempts', 'locked_until'])
    .executeTakeFirst();
}

/**
 * Records the delivery, checking the lease: answers whether this claim still held the row.
 * Sent is final and recorded once: a row already sent is left as it is; a row whose lease
 * passed (a worker stalled beyond its timeout) is still recorded sent, since it was, so that
 * nobody sends it again.
 */
async function markSent(db: Db, row: ClaimedRow, now: Date): Promise<boolean> {
  const sent = { status: 'sent' as const, sent_at: now, locked_until: null, last_error: null };
  const held = await db
    .updateTable('email_outbox')
    .set(sent)
    .where('id', '=', row.id)
    .where('status', '=', 'sending')
    .where('locked_until', '=', row.locked_until!)
    .where('locked_until', '>', now)
    .executeTakeFirst();
  if (Number(held.numUpdatedRows) === 1) return true;
  await db.updateTable('email_outbox').set(sent).where('id', '=', row.id).where('status', '<>', 'sent').execute();
  return false;
}

/** Schedules the next attempt, or gives up after the last; only while this worker still holds the row. */
async function recordFailure(db: Db, row: ClaimedRow, error: unknown, now: Date): Promise<'retrying' | 'failed'> {
  const delayMinutes = RETRY_DELAYS_MINUTES[row.attempts - 1];
  const giveUp = delayMinutes === undefined || (error instanceof OutboxError && error.permanent);
  await db
    .updateTable('email_outbox')
    .set({
      status: giveUp ? 'failed' : 'queued',
      locked_until: null,
      last_error: describeError(error),
      ...(giveUp ? {} : { next_attempt_at: nextAttemptAt(row, error, now, delayMinutes!) }),
    })
    .where('id', '=', row.id)
    .where('status', '=', 'sending')
    .where('locked_until', '=', row.locked_until!)
    .execute();
  return giveUp ? 'failed' : 'retrying';
}

/** After the retry delay; but a send abandoned on its deadline may still be going on, so never before its lease ends. */
function nextAttemptAt(row: ClaimedRow, error: unknown, now: Date, delayMinutes: number): Date {
  const afterDelay = now.getTime() + delayMinutes * 60_000;
  return new Date(error instanceof SendAbandoned ? Math.max(afterDelay, row.locked_until!.getTime()) : afterDelay);
}

/** A row whose worker died on its last attempt would otherwise stay 'sending' for ever. */
async function failInterrupted(db: Db, now: Date): Promise<number> {
  const result = await db
    .updateTable('email_outbox')
    .set({ status: 'failed', locked_until: null, last_error: 'delivery was interrupted on the last attempt' })
    .where('status', '=', 'sending')
    .where('locked_until', '<=', now)
    .where('attempts', '>=', MAX_ATTEMPTS)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text.slice(0, MAX_ERROR_LENGTH);
}

/* Delivery by SMTP. */

export type SmtpSettings = {
  /** smtp://host:port, smtps://user:password@host:465, … */
  url: string;
  /** The From header, e.g. 'Assure <assure@council.gov.uk>'. */
  from: string;
  /** The longest one send may take, connecting included; then its connection is closed. */
  timeoutMs?: number;
};

/** A transport that sends through an SMTP server with nodemailer. close() ends its connections. */
export function smtpTransport(settings: SmtpSettings): EmailTransport & { close(): void } {
  const timeoutMs = settings.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const mailer = nodemailer.createTransport({
    url: settings.url,
    connectionTimeout: Math.min(15_000, timeoutMs),
    greetingTimeout: Math.min(15_000, timeoutMs),
    socketTimeout: timeoutMs,
  });
  const domain = /@([^>\s]+)>?\s*$/.exec(settings.from)?.[1] ?? 'assure.invalid';
  return {
    timeoutMs,
    async send(message) {
      await mailer.sendMail({
        // The whole send, however slow the server: aborting closes the connection, so a send
        // given up here cannot complete later, after the claim's lease has passed.
        signal: AbortSignal.timeout(timeoutMs),
        from: settings.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        messageId: `<${message.id}@${domain}>`,
        // RFC 3834: tells mail servers not to send out-of-office replies back.
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    },
    close() {
      mailer.close();
    },
  };
}

/* Delivery by GOV.UK Notify. */

export const NOTIFY_DEFAULT_BASE_URL = 'https://api.notifications.service.gov.uk';

export type NotifySettings = {
  /** A Notify API key: `{key name}-{service id}-{secret}`, the ids 36 characters each. */
  apiKey: string;
  /** An e-mail template whose subject is ((subject)) and whose message is ((body)). */
  templateId: string;
  /** https://api.notifications.service.gov.uk unless Notify says otherwise. */
  baseUrl: string;
  /** Well inside the claim lock, so a slow answer cannot make two workers send one message. */
  timeoutMs?: number;
};

const UUID_LENGTH = 36;
const NOTIFY_KEY = /^.+-[0-9a-f-]{36}-[0-9a-f-]{36}$/i;

/** The service id and the signing secret in a Notify API key. */
export function parseNotifyApiKey(apiKey: string): { serviceId: string; secret: string } {
  if (!NOTIFY_KEY.test(apiKey)) throw new OutboxError('a GOV.UK Notify API key is {key name}-{service id}-{secret key}', { permanent: true });
  return {
    serviceId: apiKey.slice(-(2 * UUID_LENGTH + 1), -(UUID_LENGTH + 1)),
    secret: apiKey.slice(-UUID_LENGTH),
  };
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * The bearer token Notify asks for: a JSON Web Token signed with HS256 by the key's secret,
 * issued by the service, at the current time (Notify refuses tokens more than 30 seconds old).
 */
export function notifyToken(apiKey: string, now = new Date()): string {
  const { serviceId, secret } = parseNotifyApiKey(apiKey);
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
  const claims = base64url(JSON.stringify({ iss: serviceId, iat: Math.floor(now.getTime() / 1000) }));
  const signature = createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url');
  return `${header}.${claims}.${signature}`;
}

/** What Notify said was wrong, from its error body: `{ errors: [{ error, message }] }`. */
async function notifyProblem(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { errors?: { error?: string; message?: string }[] };
    const problems = (body.errors ?? []).map((problem) => [problem.error, problem.message].filter(Boolean).join(': '));
    if (problems.length) return problems.join('; ');
  } catch {
    // Not JSON (a proxy's error page): the start of the text says enough.
  }
  return text.slice(0, 200) || response.statusText;
}

/**
 * A transport that sends through GOV.UK Notify's API with one template for every message.
 * Notify refusing the message (4xx) fails it for good; a refused API key (401, 403), too many
 * requests (429), a server error (5xx) or no answer at all is retried by the outbox like any
 * other failure. The
 * outbox id goes as the reference, so a message can be found in Notify.
 */
export function notifyTransport(settings: NotifySettings): EmailTransport {
  parseNotifyApiKey(settings.apiKey);
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/v2/notifications/email`;
  const timeoutMs = settings.timeoutMs ?? 30_000;
  return {
    timeoutMs,
    async send(message) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${notifyToken(settings.apiKey)}`,
          'content-type': 'application/json',
          'user-agent': 'assure-outbox',
        },
        body: JSON.stringify({
          email_address: message.to,
          template_id: settings.templateId,
          personalisation: { subject: message.subject, body: message.text },
          reference: message.id,
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.ok) {
        await response.body?.cancel();
        return;
      }
      // A refused token (401, 403) is Assure's configuration, not the message: keep retrying it
      // while an administrator fixes the key, rather than losing every e-mail meanwhile.
      const permanent = response.status >= 400 && response.status < 500 && ![401, 403, 429].includes(response.status);
      throw new OutboxError(`GOV.UK Notify answered ${response.status}: ${await notifyProblem(response)}`, { permanent });
    },
  };
}

/* The delivery loop. */

export type OutboxLogger = {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
};

export type OutboxWorker = {
  /** Deliver now rather than at the next interval (e.g. just after enqueueing). */
  wake(): void;
  /** Stops polling and waits for a delivery in progress to finish. */
  stop(): Promise<void>;
};

/**
 * Polls the outbox every intervalMs and delivers what is due, batch after batch until none is
 * left. The state is all in the table: the loop only wakes up, so a restart loses nothing.
 */
export function startOutboxWorker(deps: {
  db: Db;
  clock: Clock;
  transport: EmailTransport;
  intervalMs: number;
  logger: OutboxLogger;
  batchSize?: number;
  publicUrl?: string | undefined;
}): OutboxWorker {
  const batchSize = deps.batchSize ?? 20;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const deliverAll = async () => {
    try {
      for (;;) {
        const report = await deliverDueEmails(deps.db, deps.transport, { batchSize, publicUrl: deps.publicUrl, clock: deps.clock });
        if (report.claimed > 0 || report.failed > 0) deps.logger.info({ outbox: report }, 'outbox delivery');
        if (report.leaseLost > 0) deps.logger.error({ outbox: report }, 'outbox: a send outlasted its lease; raise the lease or lower the transport timeout');
        // A full batch suggests more are waiting.
        if (report.claimed < batchSize || stopped) return;
      }
    } catch (error) {
      deps.logger.error({ err: error }, 'outbox delivery stopped by an error; trying again at the next interval');
    }
  };

  const run = () => {
    clearTimeout(timer);
    again = false;
    running = deliverAll().finally(() => {
      running = undefined;
      if (stopped) return;
      if (again) return run();
      timer = setTimeout(run, deps.intervalMs);
      // The process may exit without stopping the worker: nothing is lost, the table holds the state.
      timer.unref();
    });
  };

  run();
  return {
    wake() {
      if (stopped) return;
      if (running) again = true;
      else run();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
