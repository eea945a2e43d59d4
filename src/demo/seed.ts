import type { Db } from '../db/index.ts';
import type { IsoDate } from '../platform/working-days.ts';
import { hashPassword } from '../platform/auth/passwords.ts';
import { ukDateAt } from '../platform/clock.ts';
import { loadBuiltInTools } from '../modules/tools/library.ts';
import { seedDemoAudits, setDemoServiceTools } from './audits.ts';
import { generateDemoCouncil, type DemoCouncil } from './data.ts';
import { seedDemoProgramme } from './programme.ts';
import { seedDemoHistory } from './history.ts';
import * as queries from '../modules/org/queries.ts';

/** True when the database holds no organisation yet: the demo is loaded only then. */
export async function isEmpty(db: Db): Promise<boolean> {
  const row = await db.selectFrom('organisations').select('id').limit(1).executeTakeFirst();
  return !row;
}

/**
 * Loads the synthetic demo council (organisation, structure, staff, a user per role, about
 * 500 children and the built-in audit tools) in one transaction: all of it or none of it.
 */
export async function seedDemoCouncil(db: Db, options: { now: Date; today?: string; children?: number }) {
  const today = options.today ?? ukDateAt(options.now);
  const council = generateDemoCouncil({ today, ...(options.children === undefined ? {} : { children: options.children }) });
  const passwordHashes = new Map<string, string>();
  for (const user of council.users) {
    if (!passwordHashes.has(user.password)) passwordHashes.set(user.password, await hashPassword(user.password));
  }
  return db.transaction().execute(async (trx) => {
    const loaded = await insertCouncil(trx, council, passwordHashes);
    const tools = await loadBuiltInTools(trx, loaded.organisation.id, { principal: null, ipAddress: null, at: options.now, label: 'built-in tools', organisationId: loaded.organisation.id });
    await setDemoServiceTools(trx, loaded.organisation.id);
    const audits = await seedDemoAudits(trx, loaded.organisation.id, today, options.now);
    await seedDemoProgramme(trx, loaded.organisation.id, today as IsoDate, [...passwordHashes.values()][0]!);
    // Two years of closed work behind the work in hand, done by others than the demo's sign-ins.
    const signIns = await trx.selectFrom('users').select('staff_id').where('organisation_id', '=', loaded.organisation.id).where('staff_id', 'is not', null).execute();
    const pastAudits = await seedDemoHistory(trx, loaded.organisation.id, today, signIns.map((user) => user.staff_id!));
    return { ...loaded, tools: tools.length, audits, pastAudits };
  });
}

async function insertCouncil(trx: Db, council: DemoCouncil, passwordHashes: Map<string, string>) {
  const organisation = await queries.insertOrganisation(trx, council.organisation);
  const org = organisation.id;
  const localityIds = new Map<string, string>();
  for (const locality of council.localities) {
    localityIds.set(locality.key, (await queries.insertLocality(trx, { organisationId: org, name: locality.name })).id);
  }
  const serviceIds = new Map<string, string>();
  for (const service of council.services) {
    const row = await queries.insertService(trx, { organisationId: org, name: service.name, localityId: keyed(localityIds, service.localityKey) });
    serviceIds.set(service.key, row.id);
  }
  const teamIds = new Map<string, string>();
  for (const team of council.teams) {
    const row = await queries.insertTeam(trx, {
      organisationId: org,
      serviceId: serviceIds.get(team.serviceKey)!,
      name: team.name,
      localityId: keyed(localityIds, team.localityKey),
    });
    teamIds.set(team.key, row.id);
  }
  const staffIds = new Map<string, string>();
  for (const person of council.staff) {
    const row = await queries.insertStaff(trx, {
      organisationId: org,
      fullName: person.fullName,
      jobTitle: person.jobTitle,
      staffNumber: person.staffNumber,
      email: person.email,
      teamId: teamIds.get(person.teamKey)!,
      startDate: person.startDate,
      leavingDate: person.leavingDate,
    });
    staffIds.set(person.key, row.id);
  }
  // Line managers after everyone exists, since a manager may be listed after their reports.
  for (const person of council.staff) {
    if (!person.lineManagerKey) continue;
    await trx
      .updateTable('staff')
      .set({ line_manager_id: staffIds.get(person.lineManagerKey)! })
      .where('id', '=', staffIds.get(person.key)!)
      .execute();
  }
  for (const user of council.users) {
    const row = await queries.insertUser(trx, {
      organisationId: org,
      email: user.email,
      displayName: user.displayName,
      passwordHash: passwordHashes.get(user.password)!,
      staffId: keyed(staffIds, user.staffKey),
    });
    for (const grant of user.grants) {
      await queries.insertRoleGrant(trx, {
        organisationId: org,
        userId: row.id,
        role: grant.role,
        scope: grant.scope,
        teamId: keyed(teamIds, grant.teamKey),
        serviceId: keyed(serviceIds, grant.serviceKey),
      });
    }
  }
  const chunkSize = 250;
  for (let start = 0; start < council.children.length; start += chunkSize) {
    const chunk = council.children.slice(start, start + chunkSize);
    await trx
      .insertInto('children')
      .values(
        chunk.map((child) => ({
          organisation_id: org,
          external_id: child.externalId,
          initials: child.initials,
          date_of_birth: child.dateOfBirth,
          gender: child.gender,
          ethnicity: child.ethnicity,
          legal_status: child.legalStatus,
          allocated_worker_id: staffIds.get(child.workerKey)!,
          allocated_team_id: teamIds.get(child.teamKey)!,
          open_date: child.openDate,
          close_date: child.closeDate,
          referral_factors: JSON.stringify(child.referralFactors),
          last_import_id: null,
        })),
      )
      .execute();
  }
  return { organisation, staff: council.staff.length, users: council.users.length, children: council.children.length };
}

function keyed(ids: Map<string, string>, key: string | null): string | null {
  return key ? (ids.get(key) ?? null) : null;
}
