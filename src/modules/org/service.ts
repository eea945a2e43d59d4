import type { Db } from '../../db/index.ts';
import type { Role, Scope } from '../../db/types.ts';
import { hashPassword, passwordProblem } from '../../platform/auth/passwords.ts';
import { revokeApiTokensOf } from '../../platform/auth/queries.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { AppError, invalid, notFound, type FieldError } from '../../platform/errors.ts';
import * as queries from './queries.ts';

export { insertOrganisation as createOrganisation, insertLocality as createLocality, insertService as createService, insertTeam as createTeam, insertStaff as createStaff } from './queries.ts';
export { findOrganisationBySlug, listOrganisations } from './queries.ts';

export type GrantInput = { role: Role; scope: Scope; teamId?: string | null; serviceId?: string | null };

/**
 * A grant's scope names a place: "own team" is the team of the person's staff record and
 * "service" that team's service, unless the caller names another.
 */
export async function resolveGrant(db: Db, organisationId: string, staffId: string | null, grant: GrantInput): Promise<GrantInput> {
  if (grant.scope === 'organisation') return { role: grant.role, scope: 'organisation' };
  let teamId = grant.teamId ?? null;
  let serviceId = grant.serviceId ?? null;
  if ((grant.scope === 'team' && !teamId) || (grant.scope === 'service' && !serviceId)) {
    const staff = staffId ? await queries.findStaff(db, organisationId, staffId) : undefined;
    const team = staff?.team_id ? await queries.findTeam(db, organisationId, staff.team_id) : undefined;
    teamId ??= team?.id ?? null;
    serviceId ??= team?.service_id ?? null;
  }
  if (grant.scope === 'team' && !teamId) {
    throw invalid('A team-scoped role needs a team', [{ field: 'scope', message: 'Choose a team, or link the user to a staff member in a team' }]);
  }
  if (grant.scope === 'service' && !serviceId) {
    throw invalid('A service-scoped role needs a service', [{ field: 'scope', message: 'Choose a service, or link the user to a staff member in a team' }]);
  }
  return { role: grant.role, scope: grant.scope, teamId, serviceId };
}

/** Creates a user with a password and role grants. Run inside a transaction. */
export async function createUser(
  db: Db,
  input: { organisationId: string; email: string; displayName: string; password: string; staffId?: string | null; grants: GrantInput[] },
) {
  const problem = await passwordProblem(input.password, { email: input.email, displayName: input.displayName });
  if (problem) throw invalid(problem, [{ field: 'password', message: problem }]);
  const user = await queries.insertUser(db, {
    organisationId: input.organisationId,
    email: input.email,
    displayName: input.displayName,
    passwordHash: await hashPassword(input.password),
    staffId: input.staffId ?? null,
  });
  for (const grant of input.grants) {
    const resolved = await resolveGrant(db, input.organisationId, user.staff_id, grant);
    await queries.insertRoleGrant(db, { organisationId: input.organisationId, userId: user.id, ...resolved });
  }
  return user;
}

// ——— Rules for the administrator's pages ———

/** What a change came to: done, refused for the user's input (400), or refused because the record moved on (409). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: 400 | 409; errors: FieldError[] };

export const STALE_MESSAGE =
  'Someone else changed this record since you opened it. Your changes have not been saved: check the current details, then save again to keep yours.';

const refused = (errors: FieldError[], status: 400 | 409 = 400) => ({ ok: false as const, status, errors });

/** 'YYYY-MM-DD' for a real calendar date, else null (31 February is not a date). */
export function isoDate(year: number, month: number, day: number): string | null {
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day)) return null;
  if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1) return null;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** A unique index said no: someone saved the same name or number between our check and our write. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

async function inTransactionOrRefused<T>(db: Db, errorsOnDuplicate: FieldError[], work: (trx: Db) => Promise<Outcome<T>>): Promise<Outcome<T>> {
  try {
    return await db.transaction().execute(async (trx) => {
      const outcome = await work(trx);
      // Refusals found inside the transaction must leave nothing behind.
      if (!outcome.ok) throw new Refusal(outcome);
      return outcome;
    });
  } catch (error) {
    if (error instanceof Refusal) return error.outcome as Outcome<T>;
    if (isUniqueViolation(error)) return refused(errorsOnDuplicate);
    throw error;
  }
}

class Refusal extends Error {
  readonly outcome: Outcome<never>;
  constructor(outcome: Outcome<unknown>) {
    super('refused');
    this.outcome = outcome as Outcome<never>;
  }
}

const principalOf = (actor: Actor) => {
  if (!actor.principal) throw new Error('an administrator action needs a signed-in principal');
  return actor.principal;
};

// Localities, services, teams

export async function saveLocality(db: Db, actor: Actor, input: { id?: string; version?: number; name: string }): Promise<Outcome<{ id: string }>> {
  const { organisationId } = principalOf(actor);
  const taken = [{ field: 'name', message: 'A locality with this name already exists' }];
  return inTransactionOrRefused(db, taken, async (trx) => {
    if (await queries.findNamed(trx, 'localities', organisationId, input.name, input.id ?? null)) return refused(taken);
    if (!input.id) {
      const row = await queries.insertLocality(trx, { organisationId, name: input.name });
      await logActivity(trx, actor, { action: 'create', recordType: 'locality', recordId: row.id, summary: 'Locality added' });
      return { ok: true, value: { id: row.id } };
    }
    const row = await queries.updateLocality(trx, organisationId, input.id, input.version ?? 0, { name: input.name });
    if (!row) return staleOrMissing(trx, 'localities', organisationId, input.id);
    await logActivity(trx, actor, { action: 'update', recordType: 'locality', recordId: row.id, summary: 'Locality renamed' });
    return { ok: true, value: { id: row.id } };
  });
}

export async function saveService(
  db: Db,
  actor: Actor,
  input: { id?: string; version?: number; name: string; localityId: string | null; defaultToolId?: string | null },
): Promise<Outcome<{ id: string }>> {
  const { organisationId } = principalOf(actor);
  const taken = [{ field: 'name', message: 'A service with this name already exists' }];
  const defaultToolId = input.defaultToolId ?? null;
  return inTransactionOrRefused(db, taken, async (trx) => {
    const errors: FieldError[] = [];
    if (await queries.findNamed(trx, 'services', organisationId, input.name, input.id ?? null)) errors.push(taken[0]!);
    if (input.localityId && !(await queries.findLocality(trx, organisationId, input.localityId))) {
      errors.push({ field: 'localityId', message: 'Choose a locality from the list' });
    }
    if (defaultToolId && !(await queries.listToolChoices(trx, organisationId)).some((tool) => tool.id === defaultToolId)) {
      errors.push({ field: 'defaultToolId', message: 'Choose an audit tool from the list' });
    }
    if (errors.length) return refused(errors);
    const fields = { name: input.name, localityId: input.localityId };
    if (!input.id) {
      const row = await queries.insertService(trx, { organisationId, ...fields });
      await queries.setServiceDefaultTool(trx, organisationId, row.id, defaultToolId);
      await logActivity(trx, actor, { action: 'create', recordType: 'service', recordId: row.id, summary: 'Service added' });
      return { ok: true, value: { id: row.id } };
    }
    const row = await queries.updateService(trx, organisationId, input.id, input.version ?? 0, fields);
    if (!row) return staleOrMissing(trx, 'services', organisationId, input.id);
    await queries.setServiceDefaultTool(trx, organisationId, row.id, defaultToolId);
    await logActivity(trx, actor, { action: 'update', recordType: 'service', recordId: row.id, summary: 'Service changed' });
    return { ok: true, value: { id: row.id } };
  });
}

export async function saveTeam(
  db: Db,
  actor: Actor,
  input: { id?: string; version?: number; name: string; serviceId: string; localityId: string | null },
): Promise<Outcome<{ id: string }>> {
  const { organisationId } = principalOf(actor);
  const taken = [{ field: 'name', message: 'A team with this name already exists' }];
  return inTransactionOrRefused(db, taken, async (trx) => {
    const errors: FieldError[] = [];
    if (await queries.findNamed(trx, 'teams', organisationId, input.name, input.id ?? null)) errors.push(taken[0]!);
    if (!(await queries.findService(trx, organisationId, input.serviceId))) errors.push({ field: 'serviceId', message: 'Choose a service from the list' });
    if (input.localityId && !(await queries.findLocality(trx, organisationId, input.localityId))) {
      errors.push({ field: 'localityId', message: 'Choose a locality from the list' });
    }
    if (errors.length) return refused(errors);
    const fields = { name: input.name, serviceId: input.serviceId, localityId: input.localityId };
    if (!input.id) {
      const row = await queries.insertTeam(trx, { organisationId, ...fields });
      await logActivity(trx, actor, { action: 'create', recordType: 'team', recordId: row.id, summary: 'Team added' });
      return { ok: true, value: { id: row.id } };
    }
    const row = await queries.updateTeam(trx, organisationId, input.id, input.version ?? 0, fields);
    if (!row) return staleOrMissing(trx, 'teams', organisationId, input.id);
    await logActivity(trx, actor, { action: 'update', recordType: 'team', recordId: row.id, summary: 'Team changed' });
    return { ok: true, value: { id: row.id } };
  });
}

/** An update that touched nothing: the row is gone (404) or someone saved it first (409). */
async function staleOrMissing(db: Db, table: 'localities' | 'services' | 'teams' | 'staff', organisationId: string, id: string): Promise<Outcome<never>> {
  const row = await db.selectFrom(table).select('id').where('organisation_id', '=', organisationId).where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('Record');
  return refused([{ field: 'current-record', message: STALE_MESSAGE }], 409);
}

// Staff

export async function saveStaff(
  db: Db,
  actor: Actor,
  input: { id?: string; version?: number; fields: queries.StaffFields },
): Promise<Outcome<{ id: string }>> {
  const { organisationId } = principalOf(actor);
  const { fields } = input;
  const duplicate = [{ field: 'staffNumber', message: 'Another staff member has this staff number or e-mail address' }];
  return inTransactionOrRefused(db, duplicate, async (trx) => {
    const errors: FieldError[] = [];
    const except = input.id ?? null;
    if (fields.staffNumber) {
      const other = await queries.findStaffByNumber(trx, organisationId, fields.staffNumber, except);
      if (other) errors.push({ field: 'staffNumber', message: `Staff number ${fields.staffNumber} belongs to ${other.full_name}` });
    }
    if (fields.email) {
      const other = await queries.findStaffByEmail(trx, organisationId, fields.email, except);
      if (other) errors.push({ field: 'email', message: `This e-mail address belongs to ${other.full_name}` });
    }
    if (fields.teamId && !(await queries.findTeam(trx, organisationId, fields.teamId))) errors.push({ field: 'teamId', message: 'Choose a team from the list' });
    if (fields.lineManagerId) {
      if (fields.lineManagerId === input.id) {
        errors.push({ field: 'lineManagerId', message: 'A person cannot be their own line manager' });
      } else if (!(await queries.findStaff(trx, organisationId, fields.lineManagerId))) {
        errors.push({ field: 'lineManagerId', message: 'Choose a line manager from the list' });
      } else if (input.id && (await queries.isInManagementChain(trx, organisationId, fields.lineManagerId, input.id))) {
        errors.push({ field: 'lineManagerId', message: 'This line manager reports to this person, directly or through others: choose someone else' });
      }
    }
    if (fields.startDate && fields.leavingDate && fields.leavingDate < fields.startDate) {
      errors.push({ field: 'leavingDate-day', message: 'Leaving date must be the same as or after the start date' });
    }
    if (errors.length) return refused(errors);
    if (!input.id) {
      const row = await queries.insertStaff(trx, { organisationId, ...fields });
      await logActivity(trx, actor, { action: 'create', recordType: 'staff', recordId: row.id, summary: 'Staff member added' });
      return { ok: true, value: { id: row.id } };
    }
    const row = await queries.updateStaff(trx, organisationId, input.id, input.version ?? 0, fields);
    if (!row) return staleOrMissing(trx, 'staff', organisationId, input.id);
    await logActivity(trx, actor, { action: 'update', recordType: 'staff', recordId: row.id, summary: 'Staff member changed' });
    return { ok: true, value: { id: row.id } };
  });
}

// Users and role grants

export async function addUser(
  db: Db,
  actor: Actor,
  input: { email: string; displayName: string; staffId: string | null; password: string },
): Promise<Outcome<{ id: string }>> {
  const { organisationId } = principalOf(actor);
  const taken = [{ field: 'email', message: 'A user with this e-mail address already exists' }];
  const errors: FieldError[] = [];
  if (await queries.findUserIdByEmail(db, input.email)) errors.push(taken[0]!);
  if (input.staffId) {
    if (!(await queries.findStaff(db, organisationId, input.staffId))) errors.push({ field: 'staffId', message: 'Choose a staff member from the list' });
    else {
      const existing = await queries.findUserOfStaff(db, organisationId, input.staffId);
      if (existing) errors.push({ field: 'staffId', message: `This staff member already has a user account (${existing.display_name})` });
    }
  }
  const problem = await passwordProblem(input.password, { email: input.email, displayName: input.displayName });
  if (problem) errors.push({ field: 'password', message: problem });
  if (errors.length) return refused(errors);
  // Hashing is slow on purpose: done before the transaction, which stays short.
  const passwordHash = await hashPassword(input.password);
  return inTransactionOrRefused(db, taken, async (trx) => {
    const user = await queries.insertUser(trx, { organisationId, email: input.email, displayName: input.displayName, passwordHash, staffId: input.staffId });
    await logActivity(trx, actor, { action: 'create', recordType: 'user', recordId: user.id, summary: 'User added' });
    return { ok: true, value: { id: user.id } };
  });
}

export async function addRoleGrant(
  db: Db,
  actor: Actor,
  input: { userId: string; role: Role; scope: Scope; teamId: string | null; serviceId: string | null },
): Promise<Outcome<{ id: string }>> {
  const { organisationId } = principalOf(actor);
  return inTransactionOrRefused(db, [], async (trx) => {
    const user = await queries.findUser(trx, organisationId, input.userId);
    if (!user) throw notFound('User');
    const errors: FieldError[] = [];
    if (input.scope === 'team' && input.teamId && !(await queries.findTeam(trx, organisationId, input.teamId))) {
      errors.push({ field: 'teamId', message: 'Choose a team from the list' });
    }
    if (input.scope === 'service' && input.serviceId && !(await queries.findService(trx, organisationId, input.serviceId))) {
      errors.push({ field: 'serviceId', message: 'Choose a service from the list' });
    }
    if (errors.length) return refused(errors);
    let grant: GrantInput;
    try {
      grant = await resolveGrant(trx, organisationId, user.staff_id, input);
    } catch (error) {
      if (error instanceof AppError) return refused(error.fieldErrors);
      throw error;
    }
    const existing = await queries.listGrants(trx, organisationId, user.id);
    const same = existing.some(
      (row) => row.role === grant.role && row.scope === grant.scope && row.team_id === (grant.teamId ?? null) && row.service_id === (grant.serviceId ?? null),
    );
    if (same) return refused([{ field: 'role', message: 'This user already has this role with this scope' }]);
    const row = await queries.insertRoleGrant(trx, { organisationId, userId: user.id, ...grant });
    await logActivity(trx, actor, { action: 'create', recordType: 'role_grant', recordId: row.id, summary: `Role ${grant.role} (${grant.scope}) granted to user ${user.id}` });
    return { ok: true, value: { id: row.id } };
  });
}

export const OWN_LAST_ADMIN_MESSAGE =
  'You cannot remove your own last administrator role: you would lose access to this page. Ask another administrator to do it.';

export async function removeRoleGrant(db: Db, actor: Actor, input: { userId: string; grantId: string }): Promise<Outcome<null>> {
  const principal = principalOf(actor);
  const { organisationId } = principal;
  return inTransactionOrRefused(db, [], async (trx) => {
    const grants = await queries.listGrants(trx, organisationId, input.userId);
    const grant = grants.find((row) => row.id === input.grantId);
    if (!grant) throw notFound('Role');
    const adminGrants = grants.filter((row) => row.role === 'administrator');
    if (grant.role === 'administrator' && input.userId === principal.userId && adminGrants.length === 1) {
      return refused([{ field: 'grants', message: OWN_LAST_ADMIN_MESSAGE }], 409);
    }
    await queries.deleteRoleGrant(trx, organisationId, input.userId, input.grantId);
    await logActivity(trx, actor, { action: 'delete', recordType: 'role_grant', recordId: grant.id, summary: `Role ${grant.role} (${grant.scope}) removed from user ${input.userId}` });
    return { ok: true, value: null };
  });
}

export async function unlockAccount(db: Db, actor: Actor, userId: string): Promise<void> {
  const { organisationId } = principalOf(actor);
  await db.transaction().execute(async (trx) => {
    if (!(await queries.unlockUser(trx, organisationId, userId))) throw notFound('User');
    await logActivity(trx, actor, { action: 'update', recordType: 'user', recordId: userId, summary: 'Account unlocked' });
  });
}

/** A disabled user cannot sign in, and is signed out everywhere at once. */
export async function setAccountDisabled(db: Db, actor: Actor, userId: string, disabled: boolean): Promise<Outcome<null>> {
  const principal = principalOf(actor);
  if (disabled && userId === principal.userId) {
    return refused([{ field: 'status', message: 'You cannot disable your own account. Ask another administrator to do it.' }], 409);
  }
  await db.transaction().execute(async (trx) => {
    if (!(await queries.setUserDisabled(trx, principal.organisationId, userId, disabled))) throw notFound('User');
    if (disabled) {
      await queries.deleteSessionsOfUser(trx, userId);
      // Its API tokens end with it: enabling the account again does not bring them back.
      await revokeApiTokensOf(trx, userId);
    }
    await logActivity(trx, actor, { action: 'update', recordType: 'user', recordId: userId, summary: disabled ? 'Account disabled' : 'Account enabled' });
  });
  return { ok: true, value: null };
}
