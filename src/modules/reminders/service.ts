/**
 * The daily reminder digest. Once each working day, for each organisation, everyone with
 * something overdue or due within the reminder window gets one e-mail listing all of it,
 * queued in the outbox (which delivers and retries). The schedule and its state live in the
 * database (reminder_runs, email_outbox), so any number of app servers may run the job and a
 * restart loses nothing: the day's row is the claim, and each digest's dedupe key makes it
 * one message however many times the day is run.
 */
import { inTransaction, type Db } from '../../db/index.ts';
import { logActivity } from '../../platform/activity.ts';
import { enqueueEmail, OutboxError } from '../../platform/outbox.ts';
import { isWorkingDay, type IsoDate } from '../../platform/working-days.ts';
import { ukDateAt, type Clock } from '../../platform/clock.ts';
import { coordinatorsOf, selectWork, workDates, type WorkItem } from '../home/my-work.ts';
import { holidayCalendarFor } from '../org/calendar.ts';
import { roundsForDigest } from '../programme/calendar.ts';
import { buildDigest, digestDedupeKey } from './digest.ts';
import { claimRun, finishRun, markNoticesDigested, runFinished, selectOrganisationIds, selectRecipients, selectWaitingNotices, type WaitingNotice } from './queries.ts';

/** Reminders look this many working days ahead unless configured otherwise. */
export const DEFAULT_REMINDER_WINDOW_WORKING_DAYS = 2;
/** A run unfinished this long after it started is taken to have died, and is run again. */
export const STALE_RUN_MINUTES = 15;

export type ReminderOptions = {
  /** The UK date the digests are for. */
  today: IsoDate;
  /** The time of this run: the claim's start, and what "stale" is measured from. */
  now: Date;
  windowWorkingDays?: number;
  serviceName?: string;
  staleAfterMinutes?: number;
  /** Called after each digest newly queued, e.g. to wake the outbox worker. */
  onQueued?: (staffId: string) => void;
};

export type OrganisationRun =
  /** digests: people sent the day's digest; queued: by this run; skipped: staff ids whose address was refused. */
  | { organisationId: string; outcome: 'sent'; digests: number; queued: number; skipped: string[] }
  | { organisationId: string; outcome: 'not_working_day' | 'already_run' | 'running' }
  | { organisationId: string; outcome: 'failed'; error: string };

export type ReminderReport = { date: IsoDate; runs: OrganisationRun[] };

/** Runs the day's digests for every organisation whose day has not been run. */
export async function runDailyReminders(db: Db, options: ReminderOptions): Promise<ReminderReport> {
  const runs: OrganisationRun[] = [];
  for (const organisationId of await selectOrganisationIds(db)) {
    try {
      runs.push(await runForOrganisation(db, organisationId, options));
    } catch (error) {
      // The claim stays unfinished and is taken over once stale; the other organisations go on.
      runs.push({ organisationId, outcome: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { date: options.today, runs };
}

async function runForOrganisation(db: Db, organisationId: string, options: ReminderOptions): Promise<OrganisationRun> {
  if (await runFinished(db, organisationId, options.today)) return { organisationId, outcome: 'already_run' };
  const calendar = await holidayCalendarFor(db, organisationId);
  if (!isWorkingDay(options.today, calendar)) return { organisationId, outcome: 'not_working_day' };
  const staleBefore = new Date(options.now.getTime() - (options.staleAfterMinutes ?? STALE_RUN_MINUTES) * 60_000);
  const claim = await claimRun(db, organisationId, options.today, options.now, staleBefore);
  if (claim === 'finished') return { organisationId, outcome: 'already_run' };
  if (claim === 'running') return { organisationId, outcome: 'running' };

  const dates = workDates(options.today, calendar, options.windowWorkingDays ?? DEFAULT_REMINDER_WINDOW_WORKING_DAYS);
  const items = await selectWork(db, { organisationId, dueBy: dates.dueSoonBy, coordinators: await coordinatorsOf(db, organisationId) }, dates);
  const byPerson = groupByPerson(items);
  const notices = await selectWaitingNotices(db, organisationId, options.now);
  const noticesByStaff = new Map<string, WaitingNotice[]>();
  const noticesByUser = new Map<string, WaitingNotice[]>();
  for (const notice of notices) {
    const [map, key] = notice.staffId ? [noticesByStaff, notice.staffId] : [noticesByUser, notice.userId];
    map.set(key, [...(map.get(key) ?? []), notice]);
  }
  // The QA coordinators hear of the sampling rounds the schedule makes due.
  const sampling = await roundsForDigest(db, organisationId, options.today, dates.dueSoonBy);
  const recipients = await selectRecipients(db, organisationId, [...new Set([...byPerson.keys(), ...noticesByStaff.keys(), ...sampling.staffIds])], options.today);
  // Someone without a staff record has no work items, only the notices they chose to read here.
  for (const [userId, waiting] of noticesByUser) recipients.push({ staffId: `user:${userId}`, name: waiting[0]!.name, email: waiting[0]!.email });
  let queued = 0;
  let digests = 0;
  const skipped: string[] = [];
  for (const recipient of recipients) {
    const waiting = noticesByStaff.get(recipient.staffId) ?? noticesByUser.get(recipient.staffId.replace(/^user:/, '')) ?? [];
    const digest = buildDigest(
      recipient,
      byPerson.get(recipient.staffId) ?? [],
      { dueBy: dates.dueSoonBy, serviceName: options.serviceName ?? 'Assure' },
      waiting.map((notice) => ({ subject: notice.subject, text: notice.text })),
      sampling.staffIds.includes(recipient.staffId) ? sampling.rounds : [],
    );
    let row: { id: string } | null;
    try {
      // Each digest is its own transaction: a crash part way leaves those queued, and the dedupe
      // key stops the run that takes over from queueing them again. The notices it carries are
      // marked taken in the same transaction, so each is in exactly one digest.
      row = await inTransaction(db, async (trx) => {
        const queuedRow = await enqueueEmail(trx, {
          organisationId,
          to: recipient.email,
          subject: digest.subject,
          text: digest.text,
          dedupeKey: digestDedupeKey(recipient.staffId, options.today),
          // Due from the run's own business time, not the machine's.
          now: options.now,
        });
        await markNoticesDigested(trx, waiting.map((notice) => notice.id), options.today);
        return queuedRow;
      });
    } catch (error) {
      // An address the outbox refuses (a mistyped staff e-mail) must not hold up everyone else's.
      if (!(error instanceof OutboxError)) throw error;
      skipped.push(recipient.staffId);
      continue;
    }
    digests += 1;
    if (row) {
      queued += 1;
      options.onQueued?.(recipient.staffId);
    }
  }
  await finishRun(db, organisationId, options.today, options.now, digests);
  const unsent = skipped.length ? `; none for staff ${skipped.join(', ')}, whose e-mail address is not valid` : '';
  await logActivity(
    db,
    { principal: null, ipAddress: null, at: options.now, label: 'daily reminders', organisationId },
    { action: 'create', recordType: 'reminder_digests', summary: `${digests} reminder digests for ${options.today} (${queued} queued by this run)${unsent}` },
  );
  return { organisationId, outcome: 'sent', digests, queued, skipped };
}

function groupByPerson(items: WorkItem[]): Map<string, WorkItem[]> {
  const byPerson = new Map<string, WorkItem[]>();
  for (const item of items) {
    const list = byPerson.get(item.staffId);
    if (list) list.push(item);
    else byPerson.set(item.staffId, [item]);
  }
  return byPerson;
}

/* The poller that starts the day's run. */

/** The hour of the day in the UK (0–23). */
export function ukHour(now: Date): number {
  return Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', hourCycle: 'h23' }).format(now));
}

/** Whether the day's digests are due: from the configured hour, UK time. */
export function remindersDue(now: Date, hour: number): boolean {
  return ukHour(now) >= hour;
}

export type ReminderLogger = {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
};

export type ReminderWorker = { stop(): Promise<void> };

/**
 * Every intervalMs, asks whether today's digests are due and not yet run, and runs them. The
 * timer only wakes the job: what has run is in reminder_runs, so a restart, a second server or
 * a missed tick changes nothing.
 */
export function startReminderWorker(deps: {
  db: Db;
  clock: Clock;
  intervalMs: number;
  hour: number;
  windowWorkingDays: number;
  serviceName: string;
  logger: ReminderLogger;
  onQueued?: (staffId: string) => void;
}): ReminderWorker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const tick = async () => {
    const now = deps.clock.now();
    if (!remindersDue(now, deps.hour)) return;
    try {
      const report = await runDailyReminders(deps.db, {
        today: ukDateAt(now),
        now,
        windowWorkingDays: deps.windowWorkingDays,
        serviceName: deps.serviceName,
        ...(deps.onQueued ? { onQueued: deps.onQueued } : {}),
      });
      const worked = report.runs.filter((run) => run.outcome === 'sent' || run.outcome === 'failed');
      for (const run of worked) {
        if (run.outcome === 'failed') deps.logger.error({ reminders: run, date: report.date }, 'daily reminders failed; trying again once the run is stale');
        else if (run.skipped.length) deps.logger.error({ reminders: run, date: report.date }, 'daily reminders queued, except to staff whose e-mail address is not valid');
        else deps.logger.info({ reminders: run, date: report.date }, 'daily reminders queued');
      }
    } catch (error) {
      deps.logger.error({ err: error }, 'daily reminders stopped by an error; trying again at the next interval');
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
        schedule();
      });
    }, deps.intervalMs);
    // The process may exit without stopping the worker: the table holds the state.
    timer.unref();
  };

  running = tick().finally(() => {
    running = undefined;
    schedule();
  });
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
