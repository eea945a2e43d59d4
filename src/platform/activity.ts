import type { Db } from '../db/index.ts';
import type { Principal } from './access.ts';

/**
 * The append-only activity log: every view, creation, change, export and import of a
 * child-related record. Write it in the same transaction as the change it records.
 * The database refuses updates and deletes of this table (see the platform migration).
 */
export type ActivityAction = 'view' | 'create' | 'update' | 'delete' | 'export' | 'import' | 'sign-in' | 'sign-out' | 'sign-in-failed' | 'lock';

export type ActivityEntry = {
  action: ActivityAction;
  recordType: string;
  recordId?: string | null;
  childId?: string | null;
  summary?: string;
};

/**
 * Who acted, from where and when: a signed-in person, or (command line, jobs) a label and the
 * organisation acted on. `at` is the moment by the app's one clock; the change and its log
 * entry carry it, so that a test or a replay that sets the time sets it everywhere.
 */
export type Actor = { principal: Principal | null; ipAddress: string | null; at: Date; label?: string; organisationId?: string };

export async function logActivity(db: Db, actor: Actor, entry: ActivityEntry): Promise<void> {
  await logActivities(db, actor, [entry]);
}

export async function logActivities(db: Db, actor: Actor, entries: ActivityEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('activity_log')
    .values(
      entries.map((entry) => ({
        organisation_id: actor.principal?.organisationId ?? actor.organisationId ?? null,
        user_id: actor.principal?.userId ?? null,
        actor: actor.label ?? actor.principal?.email ?? 'anonymous',
        action: entry.action,
        record_type: entry.recordType,
        record_id: entry.recordId ?? null,
        child_id: entry.childId ?? null,
        summary: entry.summary ?? '',
        ip_address: actor.ipAddress,
        at: actor.at,
      })),
    )
    .execute();
}
