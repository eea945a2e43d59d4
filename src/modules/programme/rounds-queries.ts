import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import type { Role } from '../../db/types.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { AUDITING_ROLES, type PoolAuditor, type PoolChild } from './sampling.ts';

/**
 * What a sampling round reads from the register, the staff and the audits, in one query each.
 * The register keeps each child's current team, case-holder and open and close dates (no team
 * history), so "open to the team in the window" is read as: with the team now, and open on
 * the day or closed on or after the window's first day.
 */

/**
 * The children open at some point from `windowStart` to `asOf`, with what the rules read of their
 * audits, in one statement. Each child's audits come from `audits_child_history` in child
 * order (no sort of the audits); the past auditors come as text, each child's list sorted and
 * without repeats here (a text list is read much faster than an array of uuids, and a
 * `distinct … order by` inside the aggregate sorts every child's audits on the server).
 */
export async function selectPoolChildren(db: Db, organisationId: string, asOf: IsoDate, windowStart: IsoDate): Promise<PoolChild[]> {
  // Named as the pool names them, so each row becomes the child itself (100,000 objects not made twice).
  const { rows } = await sql<Omit<PoolChild, 'pastAuditorIds'> & { pastAuditorIds: string | null | string[] }>`
    select c.id, c.external_id as "externalId", c.initials, c.legal_status as "legalStatus", c.allocated_team_id as "teamId", t.service_id as "serviceId",
           c.allocated_worker_id as "caseHolderId", c.open_date as "openDate", c.close_date as "closeDate", a.last_audited_on as "lastAuditedOn",
           coalesce(a.has_open_audit, false) as "hasOpenAudit", a.past_auditor_ids as "pastAuditorIds"
      from children c
      join teams t on t.id = c.allocated_team_id
      left join (
        select child_id, max(allocated_on) as last_audited_on, bool_or(status <> 'closed') as has_open_audit,
               string_agg(auditor_id::text, ',') as past_auditor_ids
          from audits where organisation_id = ${organisationId} group by child_id
      ) a on a.child_id = c.id
     where c.organisation_id = ${organisationId}
       and (c.close_date is null or c.close_date >= ${windowStart})
       and (c.open_date is null or c.open_date <= ${asOf})
     order by c.id`.execute(db);
  // Values that repeat from child to child (teams, services, case-holders, statuses, dates)
  // become one string each: the pool then holds a few hundred thousand fewer objects, which the
  // garbage collector would otherwise copy while the round is drawn and stored.
  const shared = new Map<string, string>();
  const once = <T extends string | null>(value: T): T => {
    if (value === null) return value;
    const kept = shared.get(value);
    if (kept !== undefined) return kept as T;
    shared.set(value, value);
    return value;
  };
  for (const row of rows) {
    row.legalStatus = once(row.legalStatus);
    row.teamId = once(row.teamId);
    row.serviceId = once(row.serviceId);
    row.caseHolderId = once(row.caseHolderId);
    row.openDate = once(row.openDate);
    row.closeDate = once(row.closeDate);
    row.lastAuditedOn = once(row.lastAuditedOn);
    row.pastAuditorIds = pastAuditors(row.pastAuditorIds as string | null, once);
  }
  return rows as PoolChild[];
}

/**
 * A child's past auditors from their comma-separated ids: each once, in id order (a uuid's text
 * sorts as the uuid does). They mostly come in that order already (the index holds each child's
 * audits by auditor), and are then only split.
 */
function pastAuditors(ids: string | null, once: (id: string) => string): string[] {
  if (ids === null) return [];
  if (!ids.includes(',')) return [once(ids)];
  const list = ids.split(',').map(once);
  for (let at = 1; at < list.length; at++) if (list[at - 1]! >= list[at]!) return [...new Set(list)].sort();
  return list;
}

/** Staff who may audit on `asOf`: an account not disabled, an auditing role, not yet left. */
export async function selectPoolAuditors(db: Db, organisationId: string, asOf: IsoDate): Promise<PoolAuditor[]> {
  const rows = await db
    .selectFrom('staff')
    .innerJoin('users', 'users.staff_id', 'staff.id')
    .innerJoin('role_grants', 'role_grants.user_id', 'users.id')
    .leftJoin('teams', 'teams.id', 'staff.team_id')
    .select(['staff.id', 'staff.full_name', 'staff.team_id', 'teams.service_id', sql<Role[]>`array_agg(distinct role_grants.role order by role_grants.role)`.as('roles')])
    .where('staff.organisation_id', '=', organisationId)
    .where('users.disabled_at', 'is', null)
    .where('role_grants.role', 'in', [...AUDITING_ROLES])
    .where((eb) => eb.or([eb('staff.leaving_date', 'is', null), eb('staff.leaving_date', '>', asOf)]))
    .groupBy(['staff.id', 'teams.service_id'])
    .orderBy('staff.id')
    .execute();
  return rows.map((row) => ({ id: row.id, name: row.full_name, teamId: row.team_id, serviceId: row.service_id ?? null, roles: row.roles }));
}

export async function selectTeamsAndServices(db: Db, organisationId: string) {
  const teams = await db.selectFrom('teams').select(['id', 'name', 'service_id as serviceId']).where('organisation_id', '=', organisationId).orderBy('id').execute();
  const services = await db.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', organisationId).orderBy('id').execute();
  return { teams, services };
}

/** Names of people who are not auditors but appear on the round's page (case-holders). */
export async function selectStaffNames(db: Db, organisationId: string, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const rows = await db.selectFrom('staff').select(['id', 'full_name']).where('organisation_id', '=', organisationId).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id, row.full_name]));
}

export async function selectUserNames(db: Db, organisationId: string, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'display_name']).where('organisation_id', '=', organisationId).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id, row.display_name]));
}

export async function selectRound(db: Db, organisationId: string, roundId: string, options: { lock?: boolean } = {}) {
  let query = db.selectFrom('programme_rounds').selectAll().where('organisation_id', '=', organisationId).where('id', '=', roundId);
  if (options.lock) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function selectRounds(db: Db, organisationId: string) {
  return db
    .selectFrom('programme_rounds')
    .leftJoin('users as proposer', 'proposer.id', 'programme_rounds.proposed_by')
    .select(['programme_rounds.id', 'period_from', 'period_to', 'status', 'proposed_at', 'confirmed_at', 'proposer.display_name as proposed_by_name', sql<number>`jsonb_array_length(draw_rows)`.as('row_count')])
    .where('programme_rounds.organisation_id', '=', organisationId)
    .orderBy('proposed_at', 'desc')
    .limit(100)
    .execute();
}

export async function selectReplacements(db: Db, roundId: string) {
  return db.selectFrom('programme_round_replacements').selectAll().where('round_id', '=', roundId).orderBy('sequence').execute();
}

export async function selectRoundAudits(db: Db, roundId: string) {
  return db
    .selectFrom('programme_round_audits')
    .innerJoin('audits', 'audits.id', 'programme_round_audits.audit_id')
    .select(['audits.id', 'audits.reference', 'audits.child_id', 'audits.auditor_id', 'audits.due_on', 'programme_round_audits.schedule_row_id'])
    .where('programme_round_audits.round_id', '=', roundId)
    .execute();
}
