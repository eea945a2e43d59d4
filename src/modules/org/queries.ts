import type { Db } from '../../db/index.ts';
import { sql } from 'kysely';
import type { Role, Scope } from '../../db/types.ts';

export async function insertOrganisation(db: Db, input: { name: string; slug: string }) {
  return db.insertInto('organisations').values(input).returningAll().executeTakeFirstOrThrow();
}

export async function findOrganisationBySlug(db: Db, slug: string) {
  return db.selectFrom('organisations').selectAll().where('slug', '=', slug).executeTakeFirst();
}

export async function listOrganisations(db: Db) {
  return db.selectFrom('organisations').selectAll().orderBy('name').execute();
}

export async function insertLocality(db: Db, input: { organisationId: string; name: string }) {
  return db
    .insertInto('localities')
    .values({ organisation_id: input.organisationId, name: input.name })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertService(db: Db, input: { organisationId: string; name: string; localityId?: string | null }) {
  return db
    .insertInto('services')
    .values({ organisation_id: input.organisationId, name: input.name, locality_id: input.localityId ?? null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertTeam(db: Db, input: { organisationId: string; serviceId: string; name: string; localityId?: string | null }) {
  return db
    .insertInto('teams')
    .values({ organisation_id: input.organisationId, service_id: input.serviceId, name: input.name, locality_id: input.localityId ?? null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export type StaffInput = {
  organisationId: string;
  fullName: string;
  jobTitle: string;
  staffNumber?: string | null;
  email?: string | null;
  teamId?: string | null;
  lineManagerId?: string | null;
  startDate?: string | null;
  leavingDate?: string | null;
};

export async function insertStaff(db: Db, input: StaffInput) {
  return db
    .insertInto('staff')
    .values({
      organisation_id: input.organisationId,
      full_name: input.fullName,
      job_title: input.jobTitle,
      staff_number: input.staffNumber ?? null,
      email: input.email ?? null,
      team_id: input.teamId ?? null,
      line_manager_id: input.lineManagerId ?? null,
      start_date: input.startDate ?? null,
      leaving_date: input.leavingDate ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertUser(
  db: Db,
  input: { organisationId: string; email: string; displayName: string; passwordHash: string; staffId?: string | null },
) {
  return db
    .insertInto('users')
    .values({
      organisation_id: input.organisationId,
      email: input.email.trim().toLowerCase(),
      display_name: input.displayName,
      password_hash: input.passwordHash,
      staff_id: input.staffId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertRoleGrant(
  db: Db,
  input: { organisationId: string; userId: string; role: Role; scope: Scope; teamId?: string | null; serviceId?: string | null },
) {
  return db
    .insertInto('role_grants')
    .values({
      organisation_id: input.organisationId,
      user_id: input.userId,
      role: input.role,
      scope: input.scope,
      team_id: input.scope === 'team' ? (input.teamId ?? null) : null,
      service_id: input.scope === 'service' ? (input.serviceId ?? null) : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTeam(db: Db, organisationId: string, teamId: string) {
  return db.selectFrom('teams').selectAll().where('organisation_id', '=', organisationId).where('id', '=', teamId).executeTakeFirst();
}

export async function findStaff(db: Db, organisationId: string, staffId: string) {
  return db.selectFrom('staff').selectAll().where('organisation_id', '=', organisationId).where('id', '=', staffId).executeTakeFirst();
}

// ——— Structure: localities, services, teams ———

export async function listLocalities(db: Db, organisationId: string) {
  return db
    .selectFrom('localities as l')
    .select((eb) => [
      'l.id',
      'l.name',
      'l.version',
      eb.selectFrom('services as s').select(sql<number>`count(*)::int`.as('n')).whereRef('s.locality_id', '=', 'l.id').as('service_count'),
      eb.selectFrom('teams as t').select(sql<number>`count(*)::int`.as('n')).whereRef('t.locality_id', '=', 'l.id').as('team_count'),
    ])
    .where('l.organisation_id', '=', organisationId)
    .orderBy('l.name')
    .execute();
}

export async function findLocality(db: Db, organisationId: string, id: string) {
  return db.selectFrom('localities').selectAll().where('organisation_id', '=', organisationId).where('id', '=', id).executeTakeFirst();
}

export async function listServices(db: Db, organisationId: string) {
  return db
    .selectFrom('services as s')
    .leftJoin('localities as l', 'l.id', 's.locality_id')
    .select((eb) => [
      's.id',
      's.name',
      's.locality_id',
      's.version',
      'l.name as locality_name',
      eb.selectFrom('teams as t').select(sql<number>`count(*)::int`.as('n')).whereRef('t.service_id', '=', 's.id').as('team_count'),
    ])
    .where('s.organisation_id', '=', organisationId)
    .orderBy('s.name')
    .execute();
}

export async function findService(db: Db, organisationId: string, id: string) {
  return db.selectFrom('services').selectAll().where('organisation_id', '=', organisationId).where('id', '=', id).executeTakeFirst();
}

export async function listTeams(db: Db, organisationId: string) {
  return db
    .selectFrom('teams as t')
    .innerJoin('services as s', 's.id', 't.service_id')
    .leftJoin('localities as l', 'l.id', 't.locality_id')
    .select((eb) => [
      't.id',
      't.name',
      't.service_id',
      't.locality_id',
      't.version',
      's.name as service_name',
      'l.name as locality_name',
      eb.selectFrom('staff as st').select(sql<number>`count(*)::int`.as('n')).whereRef('st.team_id', '=', 't.id').as('staff_count'),
    ])
    .where('t.organisation_id', '=', organisationId)
    .orderBy('t.name')
    .execute();
}

type StructureTable = 'localities' | 'services' | 'teams';

/** Another row of the same kind with this name (names are unique in an organisation, whatever the case). */
export async function findNamed(db: Db, table: StructureTable, organisationId: string, name: string, exceptId: string | null) {
  let query = db
    .selectFrom(table)
    .select(['id'])
    .where('organisation_id', '=', organisationId)
    .where(sql`lower(name)`, '=', name.toLowerCase());
  if (exceptId) query = query.where('id', '!=', exceptId);
  return query.executeTakeFirst();
}

/** Updates a row only if nobody changed it since `version` was read: undefined means stale or gone. */
export async function updateLocality(db: Db, organisationId: string, id: string, version: number, input: { name: string }) {
  return db
    .updateTable('localities')
    .set({ name: input.name, version: sql`version + 1`, updated_at: sql`now()` })
    .where('organisation_id', '=', organisationId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

export async function updateService(db: Db, organisationId: string, id: string, version: number, input: { name: string; localityId: string | null }) {
  return db
    .updateTable('services')
    .set({ name: input.name, locality_id: input.localityId, version: sql`version + 1`, updated_at: sql`now()` })
    .where('organisation_id', '=', organisationId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

export async function updateTeam(
  db: Db,
  organisationId: string,
  id: string,
  version: number,
  input: { name: string; serviceId: string; localityId: string | null },
) {
  return db
    .updateTable('teams')
    .set({ name: input.name, service_id: input.serviceId, locality_id: input.localityId, version: sql`version + 1`, updated_at: sql`now()` })
    .where('organisation_id', '=', organisationId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

// ——— Staff ———

export type StaffFilter = { teamId?: string | null; search?: string | null; limit: number; offset: number };

/** Escapes LIKE wildcards so a search for "50%" means the text "50%". */
function likePattern(text: string) {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

export async function listStaff(db: Db, organisationId: string, filter: StaffFilter) {
  let query = db
    .selectFrom('staff as st')
    .leftJoin('teams as t', 't.id', 'st.team_id')
    .leftJoin('staff as m', 'm.id', 'st.line_manager_id')
    .where('st.organisation_id', '=', organisationId);
  if (filter.teamId) query = query.where('st.team_id', '=', filter.teamId);
  if (filter.search) query = query.where('st.full_name', 'ilike', likePattern(filter.search));
  const rows = await query
    .select([
      'st.id',
      'st.full_name',
      'st.staff_number',
      'st.job_title',
      'st.email',
      'st.start_date',
      'st.leaving_date',
      't.name as team_name',
      'm.full_name as line_manager_name',
    ])
    .orderBy('st.full_name')
    .orderBy('st.id')
    .limit(filter.limit)
    .offset(filter.offset)
    .execute();
  const total = await query.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return { rows, total: total.n };
}

/** Everyone, for a "line manager" or "linked staff member" select. */
export async function listStaffOptions(db: Db, organisationId: string) {
  return db
    .selectFrom('staff')
    .select(['id', 'full_name', 'staff_number', 'job_title'])
    .where('organisation_id', '=', organisationId)
    .orderBy('full_name')
    .orderBy('id')
    .execute();
}

export async function findStaffByNumber(db: Db, organisationId: string, staffNumber: string, exceptId: string | null) {
  let query = db.selectFrom('staff').select(['id', 'full_name']).where('organisation_id', '=', organisationId).where('staff_number', '=', staffNumber);
  if (exceptId) query = query.where('id', '!=', exceptId);
  return query.executeTakeFirst();
}

export async function findStaffByEmail(db: Db, organisationId: string, email: string, exceptId: string | null) {
  let query = db
    .selectFrom('staff')
    .select(['id', 'full_name'])
    .where('organisation_id', '=', organisationId)
    .where(sql`lower(email)`, '=', email.toLowerCase());
  if (exceptId) query = query.where('id', '!=', exceptId);
  return query.executeTakeFirst();
}

export type StaffFields = {
  fullName: string;
  jobTitle: string;
  staffNumber: string | null;
  email: string | null;
  teamId: string | null;
  lineManagerId: string | null;
  startDate: string | null;
  leavingDate: string | null;
};

export async function updateStaff(db: Db, organisationId: string, id: string, version: number, input: StaffFields) {
  return db
    .updateTable('staff')
    .set({
      full_name: input.fullName,
      job_title: input.jobTitle,
      staff_number: input.staffNumber,
      email: input.email,
      team_id: input.teamId,
      line_manager_id: input.lineManagerId,
      start_date: input.startDate,
      leaving_date: input.leavingDate,
      version: sql`version + 1`,
      updated_at: sql`now()`,
    })
    .where('organisation_id', '=', organisationId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

/** True if `staffId` is `managerId` or one of the managers above them: making them the manager would close a loop. */
export async function isInManagementChain(db: Db, organisationId: string, managerId: string, staffId: string): Promise<boolean> {
  const result = await sql<{ found: boolean }>`
    with recursive chain (id, line_manager_id, depth) as (
      select id, line_manager_id, 0 from staff where id = ${managerId} and organisation_id = ${organisationId}
      union all
      select s.id, s.line_manager_id, c.depth + 1
      from staff s join chain c on s.id = c.line_manager_id
      where c.depth < 10000
    )
    select exists (select 1 from chain where id = ${staffId}) as found
  `.execute(db);
  return Boolean(result.rows[0]?.found);
}

// ——— Users and role grants ———

/** Users of an organisation; `locked` is asked of the lock-out's end at `now` (the clock). */
export async function listUsers(db: Db, organisationId: string, now: Date) {
  return db
    .selectFrom('users as u')
    .leftJoin('staff as st', 'st.id', 'u.staff_id')
    .select([
      'u.id',
      'u.email',
      'u.display_name',
      'u.staff_id',
      'u.locked_until',
      'u.disabled_at',
      'st.full_name as staff_name',
      sql<boolean>`coalesce(u.locked_until > ${now}, false)`.as('locked'),
    ])
    .where('u.organisation_id', '=', organisationId)
    .orderBy('u.display_name')
    .orderBy('u.id')
    .execute();
}

export async function findUser(db: Db, organisationId: string, userId: string) {
  return db
    .selectFrom('users as u')
    .leftJoin('staff as st', 'st.id', 'u.staff_id')
    .select([
      'u.id',
      'u.email',
      'u.display_name',
      'u.staff_id',
      'u.failed_sign_ins',
      'u.locked_until',
      'u.disabled_at',
      'u.created_at',
      'st.full_name as staff_name',
      'st.team_id as staff_team_id',
    ])
    .where('u.organisation_id', '=', organisationId)
    .where('u.id', '=', userId)
    .executeTakeFirst();
}

/** Users are unique by e-mail across every organisation (the sign-in page asks for nothing else). */
export async function findUserIdByEmail(db: Db, email: string) {
  return db.selectFrom('users').select('id').where(sql`lower(email)`, '=', email.trim().toLowerCase()).executeTakeFirst();
}

export async function findUserOfStaff(db: Db, organisationId: string, staffId: string) {
  return db.selectFrom('users').select(['id', 'display_name']).where('organisation_id', '=', organisationId).where('staff_id', '=', staffId).executeTakeFirst();
}

/** Role grants with the names of the places they reach, for one user or the whole organisation. */
export async function listGrants(db: Db, organisationId: string, userId?: string) {
  let query = db
    .selectFrom('role_grants as g')
    .leftJoin('teams as t', 't.id', 'g.team_id')
    .leftJoin('services as s', 's.id', 'g.service_id')
    .select(['g.id', 'g.user_id', 'g.role', 'g.scope', 'g.team_id', 'g.service_id', 'g.created_at', 't.name as team_name', 's.name as service_name'])
    .where('g.organisation_id', '=', organisationId);
  if (userId) query = query.where('g.user_id', '=', userId);
  return query.orderBy('g.created_at').orderBy('g.id').execute();
}

export async function deleteRoleGrant(db: Db, organisationId: string, userId: string, grantId: string) {
  return db
    .deleteFrom('role_grants')
    .where('organisation_id', '=', organisationId)
    .where('user_id', '=', userId)
    .where('id', '=', grantId)
    .returningAll()
    .executeTakeFirst();
}

/** The latest failed sign-ins and lock-outs of a user, from the activity log, newest first. */
export async function listSignInProblems(db: Db, organisationId: string, userId: string, limit = 20) {
  return db
    .selectFrom('activity_log')
    .select(['id', 'action', 'summary', 'ip_address', 'at'])
    .where('organisation_id', '=', organisationId)
    .where('record_type', '=', 'user')
    .where('record_id', '=', userId)
    .where('action', 'in', ['sign-in-failed', 'lock'])
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function unlockUser(db: Db, organisationId: string, userId: string) {
  return db
    .updateTable('users')
    .set({ locked_until: null, failed_sign_ins: 0, version: sql`version + 1`, updated_at: sql`now()` })
    .where('organisation_id', '=', organisationId)
    .where('id', '=', userId)
    .returning('id')
    .executeTakeFirst();
}

export async function setUserDisabled(db: Db, organisationId: string, userId: string, disabled: boolean) {
  return db
    .updateTable('users')
    .set({ disabled_at: disabled ? sql`now()` : null, version: sql`version + 1`, updated_at: sql`now()` })
    .where('organisation_id', '=', organisationId)
    .where('id', '=', userId)
    .returning('id')
    .executeTakeFirst();
}

export async function deleteSessionsOfUser(db: Db, userId: string) {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

/** The audit tools a service may audit with by default: those with a published edition. */
export async function listToolChoices(db: Db, organisationId: string) {
  return db
    .selectFrom('audit_tools as tools')
    .select(['tools.id', 'tools.name'])
    .where('tools.organisation_id', '=', organisationId)
    .where((eb) => eb.exists(eb.selectFrom('audit_tool_editions as editions').select('editions.id').whereRef('editions.tool_id', '=', 'tools.id').where('editions.status', '=', 'published')))
    .orderBy('tools.name')
    .execute();
}

export async function findServiceDefaultTool(db: Db, organisationId: string, serviceId: string): Promise<string | null> {
  const row = await db.selectFrom('service_default_tools').select('tool_id').where('organisation_id', '=', organisationId).where('service_id', '=', serviceId).executeTakeFirst();
  return row?.tool_id ?? null;
}

export async function setServiceDefaultTool(db: Db, organisationId: string, serviceId: string, toolId: string | null): Promise<void> {
  await db.deleteFrom('service_default_tools').where('organisation_id', '=', organisationId).where('service_id', '=', serviceId).execute();
  if (toolId) await db.insertInto('service_default_tools').values({ organisation_id: organisationId, service_id: serviceId, tool_id: toolId }).execute();
}
