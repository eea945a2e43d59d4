import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db } from '../../db/index.ts';
import { isoDay } from '../../db/values.ts';
import type { Role } from '../../db/types.ts';
import type { DataScope } from '../../platform/access.ts';
import type { IsoDate } from '../../platform/working-days.ts';
import { auditInScope, overdueOn } from '../audits/queries.ts';
import type { AuditorRef, CountedAudit, ServiceRef, TeamRef } from './compliance-rules.ts';
import { scheduleRowFrom, type ScheduleVersion } from './schedule.ts';

/** A sampling round proposed or confirmed: what the rounds due (calendar, digest, My work) and My work's rounds to confirm read of it. */
export type RoundRef = { id: string; periodFrom: IsoDate; periodTo: IsoDate; status: 'proposed' | 'confirmed'; proposedAt: string; proposedByName: string | null };

/**
 * What compliance and the rounds due are measured against: the schedule, the services and
 * teams, the staff who hold a role, and the sampling rounds proposed or confirmed.
 */
export type ProgrammeReference = { versions: ScheduleVersion[]; services: ServiceRef[]; teams: TeamRef[]; auditors: AuditorRef[]; rounds: RoundRef[] };

/**
 * The schedule's versions with their rows, the services, the teams, the staff who hold a role
 * through a user account (with their team, service and working dates) and the rounds proposed
 * or confirmed, in one statement: each a JSON array of its own, in its own order.
 */
export async function selectProgrammeReference(db: Db, organisationId: string): Promise<ProgrammeReference> {
  const row = await db
    .selectNoFrom([
      jsonArrayFrom(db.selectFrom('programme_schedule_versions').select(['id', 'applies_from', 'note', 'version']).where('organisation_id', '=', organisationId).orderBy('applies_from')).as('versions'),
      jsonArrayFrom(
        db
          .selectFrom('programme_schedule_rows')
          .innerJoin('programme_schedule_versions as versions', 'versions.id', 'programme_schedule_rows.schedule_version_id')
          .selectAll('programme_schedule_rows')
          .where('versions.organisation_id', '=', organisationId)
          .orderBy('programme_schedule_rows.position'),
      ).as('rows'),
      jsonArrayFrom(db.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', organisationId).orderBy('name')).as('services'),
      jsonArrayFrom(db.selectFrom('teams').select(['id', 'name', 'service_id as serviceId']).where('organisation_id', '=', organisationId).orderBy('name')).as('teams'),
      jsonArrayFrom(
        db
          .selectFrom('staff')
          .innerJoin('users', 'users.staff_id', 'staff.id')
          .innerJoin('role_grants', 'role_grants.user_id', 'users.id')
          .leftJoin('teams', 'teams.id', 'staff.team_id')
          .select(['staff.id', 'staff.full_name', 'staff.team_id', 'teams.service_id', 'staff.start_date', 'staff.leaving_date', 'role_grants.role'])
          .where('staff.organisation_id', '=', organisationId)
          .where('users.disabled_at', 'is', null),
      ).as('auditors'),
      jsonArrayFrom(
        db
          .selectFrom('programme_rounds')
          .leftJoin('users as proposer', 'proposer.id', 'programme_rounds.proposed_by')
          .select(['programme_rounds.id', 'programme_rounds.period_from', 'programme_rounds.period_to', 'programme_rounds.status', 'programme_rounds.proposed_at', 'proposer.display_name as proposed_by_name'])
          .where('programme_rounds.organisation_id', '=', organisationId)
          .where('programme_rounds.status', 'in', ['proposed', 'confirmed'])
          .orderBy('programme_rounds.proposed_at', 'desc'),
      ).as('rounds'),
    ])
    .executeTakeFirstOrThrow();
  const rowsByVersion = new Map<string, ScheduleVersion['rows']>();
  for (const scheduleRow of row.rows) {
    const list = rowsByVersion.get(scheduleRow.schedule_version_id) ?? [];
    list.push(scheduleRowFrom(scheduleRow));
    rowsByVersion.set(scheduleRow.schedule_version_id, list);
  }
  return {
    versions: row.versions.map((version) => ({ id: version.id, appliesFrom: isoDay(version.applies_from) as IsoDate, note: version.note, version: version.version, rows: rowsByVersion.get(version.id) ?? [] })),
    services: row.services,
    teams: row.teams,
    auditors: auditorsFrom(row.auditors),
    rounds: row.rounds.map((round) => ({
      id: round.id,
      periodFrom: isoDay(round.period_from) as IsoDate,
      periodTo: isoDay(round.period_to) as IsoDate,
      status: round.status as RoundRef['status'],
      proposedAt: String(round.proposed_at),
      proposedByName: round.proposed_by_name,
    })),
  };
}

/** One entry per member of staff, with every role they hold. */
function auditorsFrom(rows: { id: string; full_name: string; team_id: string | null; service_id: string | null; start_date: unknown; leaving_date: unknown; role: Role }[]): AuditorRef[] {
  const byStaff = new Map<string, AuditorRef>();
  for (const row of rows) {
    const found = byStaff.get(row.id) ?? {
      staffId: row.id,
      name: row.full_name,
      teamId: row.team_id,
      serviceId: row.service_id,
      roles: [] as Role[],
      startDate: isoDay(row.start_date) as IsoDate | null,
      leavingDate: isoDay(row.leaving_date) as IsoDate | null,
    };
    if (!found.roles.includes(row.role)) found.roles.push(row.role);
    byStaff.set(row.id, found);
  }
  return [...byStaff.values()];
}

/**
 * The audits in the reader's scope allocated from..to, with what compliance reads of them.
 * Overdue is the tracker's own definition, for an audit still with its auditor, so the figure's
 * link (status with the auditor, overdue) lists the same audits.
 */
export async function selectCountedAudits(db: Db, scope: DataScope, from: IsoDate, to: IsoDate, today: IsoDate): Promise<CountedAudit[]> {
  const rows = await db
    .selectFrom('audits')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .select([
      'audits.id',
      'audits.auditor_id',
      'audits.team_id',
      'audits.service_id',
      'editions.tool_id',
      'audits.allocated_on',
      'audits.due_on',
      // Submitted: moved on from its auditor. One moved on without a submission time (old work loaded) counts as done on its due date.
      sql<string | null>`case when audits.status in ('allocated', 'in_progress', 'returned') then null
        else coalesce(to_char((audits.submitted_at at time zone 'Europe/London')::date, 'YYYY-MM-DD'), to_char(audits.due_on, 'YYYY-MM-DD')) end`.as('submitted_on'),
      sql<boolean>`(audits.status in ('allocated', 'in_progress', 'returned') and ${overdueOn(today)})`.as('overdue'),
    ])
    .where(auditInScope(scope))
    .where('audits.allocated_on', '>=', from)
    .where('audits.allocated_on', '<=', to)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    auditorId: row.auditor_id,
    teamId: row.team_id,
    serviceId: row.service_id,
    toolId: row.tool_id,
    allocatedOn: isoDay(row.allocated_on) as IsoDate,
    dueOn: isoDay(row.due_on) as IsoDate,
    submittedOn: (row.submitted_on as IsoDate | null) ?? null,
    overdue: Boolean(row.overdue),
  }));
}

/** Open cases per service on a day, from the child register (by the team each child is allocated to). */
export async function selectOpenCasesByService(db: Db, organisationId: string, day: IsoDate): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('children')
    .innerJoin('teams', 'teams.id', 'children.allocated_team_id')
    .select(['teams.service_id', sql<number>`count(*)::int`.as('n')])
    .where('children.organisation_id', '=', organisationId)
    .where((eb) => eb.or([eb('children.open_date', 'is', null), eb('children.open_date', '<=', day)]))
    .where((eb) => eb.or([eb('children.close_date', 'is', null), eb('children.close_date', '>=', day)]))
    .groupBy('teams.service_id')
    .execute();
  return new Map(rows.map((row) => [row.service_id, Number(row.n)]));
}
