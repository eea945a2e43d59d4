import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/index.ts';
import { createStaff, createTeam } from '../src/modules/org/service.ts';
import { createChild } from './support/audits.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';
import { createSmallCouncil, type SmallCouncil } from './support/fixtures.ts';

/**
 * A child names an organisation, an allocated worker and an allocated team that exist, and
 * none of them can be removed while a child names it: the foreign keys' guarantee, kept by
 * statement-level checks (migration 2026-12-09T1000) so that an import checks each worker
 * once, not once per child.
 */
describe.each(testDrivers())('the register names only what exists, on %s', (driver) => {
  let handle: DatabaseHandle;
  let council: SmallCouncil;

  beforeAll(async () => {
    handle = await openTestDatabase(driver);
    council = await createSmallCouncil(handle.db);
  });
  afterAll(async () => handle?.close());

  const missing = '00000000-0000-4000-8000-000000000000';
  const code = async (work: Promise<unknown>) => ((await work.then(() => null, (error: unknown) => error)) as { code?: string } | null)?.code ?? 'none';

  it('refuses a child whose worker, team or organisation is not in Assure, however many children the statement writes', async () => {
    const org = council.organisation.id;
    expect(await code(createChild(handle.db, org, { externalId: 'REF-1', initials: 'AB', workerId: missing }))).toBe('23503');
    expect(await code(createChild(handle.db, org, { externalId: 'REF-1', initials: 'AB', teamId: missing }))).toBe('23503');
    expect(await code(createChild(handle.db, missing, { externalId: 'REF-1', initials: 'AB' }))).toBe('23503');
    // One bad row among many good ones refuses the whole statement.
    const many = sql`
      insert into children (organisation_id, external_id, initials, legal_status, allocated_worker_id)
      select ${org}::uuid, 'REF-' || n, 'AB', 'cin', case when n = 500 then ${missing}::uuid else ${council.staff.worker1.id}::uuid end
      from generate_series(1, 1000) n
    `.execute(handle.db);
    expect(await code(many)).toBe('23503');
    expect(await handle.db.selectFrom('children').select('id').where('external_id', 'like', 'REF-%').execute()).toEqual([]);

    const child = await createChild(handle.db, org, { externalId: 'REF-1', initials: 'AB', workerId: council.staff.worker1.id, teamId: council.teams.unit1.id });
    expect(await code(handle.db.updateTable('children').set({ allocated_team_id: missing }).where('id', '=', child.id).execute())).toBe('23503');
    expect(await code(handle.db.updateTable('children').set({ allocated_worker_id: council.staff.worker2.id }).where('id', '=', child.id).execute())).toBe('none');
  });

  it('refuses to remove a worker, team or organisation that a child names, and removes one that none names', async () => {
    const org = council.organisation.id;
    const { service_id: serviceId } = await handle.db.selectFrom('teams').select('service_id').where('id', '=', council.teams.unit1.id).executeTakeFirstOrThrow();
    // A team and a worker that only this child names (no user, audit or action names them).
    const team = await createTeam(handle.db, { organisationId: org, serviceId, name: 'Short-lived team' });
    const worker = await createStaff(handle.db, { organisationId: org, fullName: 'Pat Passing', jobTitle: 'Social Worker', teamId: null, staffNumber: 'S900' });
    await createChild(handle.db, org, { externalId: 'REF-2', initials: 'CD', teamId: team.id, workerId: worker.id });
    expect(await code(handle.db.deleteFrom('teams').where('id', '=', team.id).execute())).toBe('23503');
    expect(await code(handle.db.deleteFrom('staff').where('id', '=', worker.id).execute())).toBe('23503');
    expect(await code(handle.db.deleteFrom('organisations').where('id', '=', org).execute())).toBe('23503');
    await handle.db.updateTable('children').set({ allocated_team_id: null, allocated_worker_id: null }).where('external_id', '=', 'REF-2').execute();
    expect(await code(handle.db.deleteFrom('teams').where('id', '=', team.id).execute())).toBe('none');
    expect(await code(handle.db.deleteFrom('staff').where('id', '=', worker.id).execute())).toBe('none');
  });
});
