import type { Db } from '../../src/db/index.ts';
import type { Role, Scope } from '../../src/db/types.ts';
import { createLocality, createOrganisation, createService, createStaff, createTeam, createUser } from '../../src/modules/org/service.ts';

export const PASSWORD = 'correct horse battery staple';

export type SmallCouncil = Awaited<ReturnType<typeof createSmallCouncil>>;

/**
 * A small council for integration tests: two services, three teams, a manager and a
 * worker in each team, and one user for each role with the scope that role usually has.
 */
export async function createSmallCouncil(db: Db, slug = 'testshire') {
  const organisation = await createOrganisation(db, { name: `${slug} Council`, slug });
  const org = organisation.id;
  const north = await createLocality(db, { organisationId: org, name: 'North' });
  const area = await createService(db, { organisationId: org, name: 'Area Social Work', localityId: north.id });
  const care = await createService(db, { organisationId: org, name: 'Through Care' });
  const unit1 = await createTeam(db, { organisationId: org, serviceId: area.id, name: 'North Unit 1', localityId: north.id });
  const unit2 = await createTeam(db, { organisationId: org, serviceId: area.id, name: 'North Unit 2', localityId: north.id });
  const careTeam = await createTeam(db, { organisationId: org, serviceId: care.id, name: 'Through Care Team' });

  const serviceManager = await createStaff(db, { organisationId: org, fullName: 'Sam Service', jobTitle: 'Service Manager', teamId: unit1.id, staffNumber: 'S001', email: `sam@${slug}.example` });
  const manager1 = await createStaff(db, { organisationId: org, fullName: 'Tina Manager', jobTitle: 'Team Manager', teamId: unit1.id, lineManagerId: serviceManager.id, staffNumber: 'S002', email: `tina@${slug}.example` });
  const worker1 = await createStaff(db, { organisationId: org, fullName: 'Wes Worker', jobTitle: 'Social Worker', teamId: unit1.id, lineManagerId: manager1.id, staffNumber: 'S003', email: `wes@${slug}.example` });
  const worker2 = await createStaff(db, { organisationId: org, fullName: 'Una Other', jobTitle: 'Social Worker', teamId: unit2.id, staffNumber: 'S004', email: `una@${slug}.example` });
  const careWorker = await createStaff(db, { organisationId: org, fullName: 'Cara Care', jobTitle: 'Social Worker', teamId: careTeam.id, staffNumber: 'S005', email: `cara@${slug}.example` });
  const qaOfficer = await createStaff(db, { organisationId: org, fullName: 'Quinn QA', jobTitle: 'QA Social Worker', staffNumber: 'S006', email: `quinn@${slug}.example` });

  const user = (email: string, displayName: string, staffId: string | null, role: Role, scope: Scope) =>
    createUser(db, { organisationId: org, email, displayName, password: PASSWORD, staffId, grants: [{ role, scope }] });

  const users = {
    practitioner: await user(`practitioner@${slug}.example`, 'Wes Worker', worker1.id, 'practitioner', 'team'),
    auditor: await user(`auditor@${slug}.example`, 'Tina Manager', manager1.id, 'auditor', 'team'),
    moderator: await user(`moderator@${slug}.example`, 'Sam Service', serviceManager.id, 'moderator', 'service'),
    qa_coordinator: await user(`qa.coordinator@${slug}.example`, 'Quinn QA', qaOfficer.id, 'qa_coordinator', 'organisation'),
    qa_lead: await user(`qa.lead@${slug}.example`, 'Lee Lead', null, 'qa_lead', 'organisation'),
    senior_leader: await user(`senior.leader@${slug}.example`, 'Hana Head', null, 'senior_leader', 'organisation'),
    administrator: await user(`admin@${slug}.example`, 'Ada Admin', null, 'administrator', 'organisation'),
  } satisfies Record<Role, unknown>;

  return {
    organisation,
    localities: { north },
    services: { area, care },
    teams: { unit1, unit2, careTeam },
    staff: { serviceManager, manager1, worker1, worker2, careWorker, qaOfficer },
    users,
  };
}
