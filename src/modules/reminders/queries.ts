import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import type { DigestRecipient } from './digest.ts';

/**
 * reminder_runs: one row per organisation per day. Inserting it is the claim: the primary
 * key lets one worker in, and finished_at says the day is done. A row left unfinished by a
 * worker that died is taken over once it is stale; the digests' dedupe keys make the second
 * run send only what the first did not.
 */

export type Claim = 'claimed' | 'finished' | 'running';

export async function claimRun(db: Db, organisationId: string, runDate: IsoDate, now: Date, staleBefore: Date): Promise<Claim> {
  const inserted = await db
    .insertInto('reminder_runs')
    .values({ organisation_id: organisationId, run_date: runDate, started_at: now })
    .onConflict((conflict) => conflict.columns(['organisation_id', 'run_date']).doNothing())
    .returning('run_date')
    .executeTakeFirst();
  if (inserted) return 'claimed';
  // One statement: of two workers taking over the same stale run, the second finds it fresh.
  const takenOver = await db
    .updateTable('reminder_runs')
    .set({ started_at: now })
    .where('organisation_id', '=', organisationId)
    .where('run_date', '=', runDate)
    .where('finished_at', 'is', null)
    .where('started_at', '<', staleBefore)
    .returning('run_date')
    .executeTakeFirst();
  if (takenOver) return 'claimed';
  return (await runFinished(db, organisationId, runDate)) ? 'finished' : 'running';
}

export async function finishRun(db: Db, organisationId: string, runDate: IsoDate, now: Date, digests: number): Promise<void> {
  await db
    .updateTable('reminder_runs')
    .set({ finished_at: now, digests })
    .where('organisation_id', '=', organisationId)
    .where('run_date', '=', runDate)
    .where('finished_at', 'is', null)
    .execute();
}

/** Whether the day's run is already finished: the poller asks this before doing anything else. */
export async function runFinished(db: Db, organisationId: string, runDate: IsoDate): Promise<boolean> {
  const row = await db
    .selectFrom('reminder_runs')
    .select('finished_at')
    .where('organisation_id', '=', organisationId)
    .where('run_date', '=', runDate)
    .executeTakeFirst();
  return Boolean(row?.finished_at);
}

export async function selectOrganisationIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('organisations').select('id').orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => row.id);
}

/**
 * Where each person's reminder goes: their staff e-mail, else the e-mail of an enabled user
 * linked to them. People who have left, or have no address, get none.
 */
export async function selectRecipients(db: Db, organisationId: string, staffIds: string[], today: IsoDate): Promise<DigestRecipient[]> {
  if (!staffIds.length) return [];
  const rows = await db
    .selectFrom('staff')
    .leftJoin('users', (join) => join.onRef('users.staff_id', '=', 'staff.id').on('users.disabled_at', 'is', null))
    .select(['staff.id', 'staff.full_name', sql<string | null>`coalesce(staff.email, min(users.email))`.as('email')])
    .where('staff.organisation_id', '=', organisationId)
    .where('staff.id', 'in', staffIds)
    .where((eb) => eb.or([eb('staff.leaving_date', 'is', null), eb('staff.leaving_date', '>=', today)]))
    .groupBy(['staff.id', 'staff.full_name', 'staff.email'])
    .orderBy('staff.full_name')
    .orderBy('staff.id')
    .execute();
  return rows.flatMap((row) => (row.email ? [{ staffId: row.id, name: row.full_name, email: row.email }] : []));
}

export type WaitingNotice = { id: string; userId: string; staffId: string | null; name: string; email: string; subject: string; text: string };

/**
 * Notices of audit events waiting for the digest of people who chose it, oldest first; only
 * from enabled accounts (a disabled one is told nothing).
 */
export async function selectWaitingNotices(db: Db, organisationId: string, now: Date): Promise<WaitingNotice[]> {
  const rows = await db
    .selectFrom('notification_digest_items as items')
    .innerJoin('users', 'users.id', 'items.user_id')
    .select(['items.id', 'items.user_id', 'users.staff_id', 'users.display_name', 'users.email', 'items.subject', 'items.text_body'])
    .where('items.organisation_id', '=', organisationId)
    .where('items.digested_on', 'is', null)
    .where('items.created_at', '<=', now)
    .where('users.disabled_at', 'is', null)
    .orderBy('items.created_at')
    .orderBy('items.id')
    .execute();
  return rows.map((row) => ({ id: row.id, userId: row.user_id, staffId: row.staff_id, name: row.display_name, email: row.email, subject: row.subject, text: row.text_body }));
}

export async function markNoticesDigested(db: Db, ids: string[], today: IsoDate): Promise<void> {
  if (!ids.length) return;
  await db.updateTable('notification_digest_items').set({ digested_on: today }).where('id', 'in', ids).where('digested_on', 'is', null).execute();
}
