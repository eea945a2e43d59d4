import { z } from 'zod';
import { inTransaction, type Db } from '../../db/index.ts';
import type { CalendarEntryKind } from '../../db/types.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import type { FieldError } from '../../platform/errors.ts';
import { fieldErrorsFrom } from '../../platform/views.ts';
import { addCalendarMonths, addDays, type IsoDate } from '../../platform/working-days.ts';
import { can, type Principal } from '../../platform/access.ts';
import { ukDateAt } from '../../platform/clock.ts';
import { parseDateText } from '../audits/tracker.ts';
import { financialQuarterOf, financialYear, financialYearLabel, ukDay } from '../reports/period.ts';
import { selectProgrammeReference, type ProgrammeReference, type RoundRef } from './compliance-queries.ts';
import { versionInForce, windowsOverlapping, type Window } from './compliance-rules.ts';
import { describeFrequency } from './schedule-edit.ts';

/**
 * The programme's year at a glance, month by month: the sampling rounds the schedule makes due
 * (one per random-selection row and window, due on the window's first day), the rounds done,
 * and the dated entries the QA lead adds (the moderation panel, practice weeks).
 */

export const ENTRY_KIND_LABELS: Record<CalendarEntryKind, string> = {
  moderation_panel: 'Moderation panel',
  practice_week: 'Practice week',
  other: 'Other',
};

/** Names in English order, by one collator: `localeCompare(…, 'en-GB')` sets one up at every comparison. */
const byName = new Intl.Collator('en-GB').compare;
/** ISO dates in order. */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export type DueRound = { dueOn: IsoDate; window: Window; rowLabel: string; serviceName: string; frequency: string; done: boolean };

/**
 * The periods of the organisation's confirmed sampling rounds that overlap from..to. A window
 * of the schedule counts as done when a confirmed round's period covers it (a round is for a
 * period, whichever of its random-selection rows it drew).
 */
function confirmedRoundPeriods(rounds: RoundRef[], from: IsoDate, to: IsoDate): Window[] {
  return rounds.filter((round) => round.status === 'confirmed' && round.periodFrom <= to && round.periodTo >= from).map((round) => ({ from: round.periodFrom, to: round.periodTo }));
}

/**
 * The rounds the schedule makes due with a window starting from..to: rows whose cases the QA
 * coordinator chooses at random. Measured against the programme reference (the schedule, the
 * services and the confirmed rounds), read once by the caller.
 */
export function roundsDue(reference: ProgrammeReference, from: IsoDate, to: IsoDate): DueRound[] {
  const { versions } = reference;
  if (!versions.length) return [];
  const done = confirmedRoundPeriods(reference.rounds, from, to);
  const services = new Map(reference.services.map((s) => [s.id, s.name]));
  const rounds: DueRound[] = [];
  const cadences = new Set(versions.flatMap((version) => version.rows.map((row) => row.periodMonths)));
  for (const months of cadences) {
    for (const window of windowsOverlapping(months, from, to)) {
      if (window.from < from || window.from > to) continue;
      const version = versionInForce(versions, window.to);
      for (const row of version?.rows ?? []) {
        if (row.activity !== 'case_audit' || row.selectedBy !== 'random' || row.periodMonths !== months) continue;
        rounds.push({
          dueOn: window.from,
          window,
          rowLabel: row.activityLabel,
          serviceName: row.serviceId ? (services.get(row.serviceId) ?? 'Unknown service') : 'All services',
          frequency: describeFrequency(row),
          done: done.some((round) => round.from <= window.from && round.to >= window.to),
        });
      }
    }
  }
  return rounds.sort((a, b) => compareText(a.dueOn, b.dueOn) || byName(a.serviceName, b.serviceName));
}

export type CalendarEntry = { id: string; kind: CalendarEntryKind; kindLabel: string; title: string; startsOn: IsoDate; endsOn: IsoDate; note: string };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The financial year the query asks for (`year=2026`), else the one today is in. */
export function calendarYear(query: Record<string, unknown>, today: IsoDate): number {
  const asked = typeof query.year === 'string' && /^\d{4}$/.test(query.year) ? Number(query.year) : null;
  return asked && asked >= 2000 && asked <= 2200 ? asked : financialQuarterOf(today).year;
}

/** The year by month: April to March. */
export async function programmeCalendar(db: Db, organisationId: string, startYear: number) {
  const year = financialYear(startYear);
  const rounds = roundsDue(await selectProgrammeReference(db, organisationId), year.from, year.to);
  const entries = (
    await db
      .selectFrom('programme_calendar_entries')
      .select(['id', 'kind', 'title', 'starts_on', 'ends_on', 'note'])
      .where('organisation_id', '=', organisationId)
      .where('starts_on', '<=', year.to)
      .where('ends_on', '>=', year.from)
      .orderBy('starts_on')
      .execute()
  ).map((row): CalendarEntry => ({ id: row.id, kind: row.kind, kindLabel: ENTRY_KIND_LABELS[row.kind], title: row.title, startsOn: row.starts_on as IsoDate, endsOn: row.ends_on as IsoDate, note: row.note }));
  const months = Array.from({ length: 12 }, (_, index) => {
    const month = ((index + 3) % 12) + 1;
    const calendarYearOfMonth = month >= 4 ? startYear : startYear + 1;
    const prefix = `${calendarYearOfMonth}-${String(month).padStart(2, '0')}`;
    return {
      key: prefix,
      label: `${MONTHS[month - 1]} ${calendarYearOfMonth}`,
      rounds: rounds.filter((round) => round.dueOn.startsWith(prefix)).map((round) => ({ ...round, windowLabel: `${ukDay(round.window.from)} to ${ukDay(round.window.to)}` })),
      entries: entries.filter((entry) => entry.startsOn.slice(0, 7) <= prefix && entry.endsOn.slice(0, 7) >= prefix),
    };
  });
  return { year: startYear, label: `Financial year ${financialYearLabel(startYear)}`, months, entries };
}

const entryForm = z.object({
  kind: z.enum(Object.keys(ENTRY_KIND_LABELS) as [CalendarEntryKind, ...CalendarEntryKind[]], { error: 'Choose what the entry is' }),
  title: z.preprocess((value) => (typeof value === 'string' ? value.trim() : ''), z.string().min(1, 'Enter a title, like Moderation panel').max(200, 'Title must be 200 characters or fewer')),
  startsOn: z.preprocess((value) => (typeof value === 'string' ? value.trim() : ''), z.string().min(1, 'Enter the first day').transform((text, context) => {
    const day = parseDateText(text);
    if (!day) context.addIssue({ code: 'custom', message: 'First day must be a real date, like 12/5/2027' });
    return (day ?? '') as IsoDate;
  })),
  endsOn: z.preprocess((value) => (typeof value === 'string' ? value.trim() : ''), z.string().transform((text, context) => {
    if (!text) return '' as IsoDate;
    const day = parseDateText(text);
    if (!day) context.addIssue({ code: 'custom', message: 'Last day must be a real date, like 16/5/2027' });
    return (day ?? '') as IsoDate;
  })),
  note: z.preprocess((value) => (typeof value === 'string' ? value.trim() : ''), z.string().max(2000, 'Note must be 2,000 characters or fewer')),
});

export async function addCalendarEntry(db: Db, actor: Actor, body: unknown): Promise<{ ok: true; startsOn: IsoDate } | { ok: false; errors: FieldError[] }> {
  const parsed = entryForm.safeParse(body);
  if (!parsed.success) return { ok: false, errors: fieldErrorsFrom(parsed.error) };
  const { kind, title, startsOn, note } = parsed.data;
  const endsOn = parsed.data.endsOn || startsOn;
  if (endsOn < startsOn) return { ok: false, errors: [{ field: 'endsOn', message: 'Last day must be the same as or after the first day' }] };
  const organisationId = actor.principal!.organisationId;
  return inTransaction(db, async (trx) => {
    const row = await trx
      .insertInto('programme_calendar_entries')
      .values({ organisation_id: organisationId, kind, title, starts_on: startsOn, ends_on: endsOn, note, created_by: actor.principal!.userId })
      .returning('id')
      .executeTakeFirstOrThrow();
    await logActivity(trx, actor, { action: 'create', recordType: 'programme_calendar_entry', recordId: row.id, summary: `${ENTRY_KIND_LABELS[kind]}: ${title}, ${startsOn} to ${endsOn}` });
    return { ok: true as const, startsOn };
  });
}

export async function removeCalendarEntry(db: Db, actor: Actor, entryId: string): Promise<boolean> {
  if (!z.string().uuid().safeParse(entryId).success) return false;
  const organisationId = actor.principal!.organisationId;
  return inTransaction(db, async (trx) => {
    const removed = await trx.deleteFrom('programme_calendar_entries').where('id', '=', entryId).where('organisation_id', '=', organisationId).returning(['title', 'starts_on']).executeTakeFirst();
    if (!removed) return false;
    await logActivity(trx, actor, { action: 'delete', recordType: 'programme_calendar_entry', recordId: entryId, summary: `removed ${removed.title} (${removed.starts_on})` });
    return true;
  });
}

/** A round as the daily digest names it. */
export type DigestRound = { title: string; dueOn: IsoDate; overdue: boolean; href: string };

/**
 * What the daily digest tells the QA coordinators about sampling rounds: those due from today to
 * the end of the reminder window, and those started and not yet done.
 */
export async function roundsForDigest(db: Db, organisationId: string, today: IsoDate, dueBy: IsoDate): Promise<{ staffIds: string[]; rounds: DigestRound[] }> {
  // Windows that started up to a year back may still be running (a yearly row).
  const from = `${Number(today.slice(0, 4)) - 1}${today.slice(4)}` as IsoDate;
  const rounds = roundsDue(await selectProgrammeReference(db, organisationId), from, dueBy)
    .filter((round) => (round.dueOn >= today && round.dueOn <= dueBy) || (!round.done && round.dueOn < today && round.window.to >= today))
    .map((round) => ({
      title: `${round.serviceName}: ${round.rowLabel}, ${round.frequency}, for ${ukDay(round.window.from)} to ${ukDay(round.window.to)}`,
      dueOn: round.dueOn,
      overdue: round.dueOn < today,
      // The rounds page is where the coordinator starts the round (or finishes one started).
      href: '/programme/rounds',
    }));
  if (!rounds.length) return { staffIds: [], rounds };
  const coordinators = await db
    .selectFrom('users')
    .innerJoin('role_grants', 'role_grants.user_id', 'users.id')
    .select('users.staff_id')
    .distinct()
    .where('users.organisation_id', '=', organisationId)
    .where('users.disabled_at', 'is', null)
    .where('users.staff_id', 'is not', null)
    .where('role_grants.role', '=', 'qa_coordinator')
    .execute();
  return { staffIds: coordinators.map((row) => row.staff_id!), rounds };
}

/**
 * My work's sampling rounds, for those who run them (`audits.allocate`: the QA coordinator and
 * QA lead): the schedule's rounds due by the end of this month whose period is still running and
 * that no confirmed round covers, and the rounds proposed and not yet confirmed. Null for anyone else.
 */
export async function myWorkRounds(db: Db, principal: Principal, today: IsoDate, reference: () => Promise<ProgrammeReference>) {
  if (!can(principal, 'audits.allocate')) return null;
  const known = await reference();
  // Windows that started up to a year back may still be running (a yearly row), as in the digest.
  const yearBack = `${Number(today.slice(0, 4)) - 1}${today.slice(4)}` as IsoDate;
  const endOfMonth = addDays(addCalendarMonths(`${today.slice(0, 7)}-01` as IsoDate, 1), -1);
  const due = roundsDue(known, yearBack, endOfMonth)
    .filter((round) => !round.done && round.window.to >= today)
    .map((round) => ({ ...round, overdue: round.dueOn < today, windowLabel: `${ukDay(round.window.from)} to ${ukDay(round.window.to)}` }));
  // The reference lists them newest proposal first.
  const proposed = known.rounds.filter((round) => round.status === 'proposed');
  return {
    due,
    proposed: proposed.map((round) => ({
      id: round.id,
      periodLabel: `${ukDay(round.periodFrom)} to ${ukDay(round.periodTo)}`,
      proposedOn: ukDay(ukDateAt(new Date(round.proposedAt))),
      proposedByName: round.proposedByName,
    })),
  };
}
