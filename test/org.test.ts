import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createStaff } from '../src/modules/org/service.ts';
import { importStaff } from '../src/modules/org/staff-import.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAuditTool } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

describe.each(testDrivers())('organisation admin on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let other: SmallCouncil;
  let admin: TestClient;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    other = await createSmallCouncil(t.db, 'otherton');
    admin = new TestClient(t.app);
    await admin.signIn('admin@testshire.example', PASSWORD);
  }, 60_000);
  afterAll(async () => t?.close());

  const staffNamed = (fullName: string) =>
    t.db.selectFrom('staff').selectAll().where('organisation_id', '=', council.organisation.id).where('full_name', '=', fullName).execute();

  it("sets a service's default audit tool, refusing another council's tool by the field", async () => {
    const tool = await createAuditTool(t.db, council.organisation.id, { key: 'default-tool', name: 'Default tool' });
    const foreign = await createAuditTool(t.db, other.organisation.id, { key: 'foreign-tool', name: 'Foreign tool' });
    const service = council.services.care;
    const form = await admin.get(`/organisation/services/${service.id}/edit`);
    const version = /name="version" value="(\d+)"/.exec(form.body)![1]!;
    expect(pageText(form.body)).toContain('Default tool');
    expect(pageText(form.body)).not.toContain('Foreign tool');

    const refused = await admin.post(`/organisation/services/${service.id}/edit`, { name: service.name, localityId: '', defaultToolId: foreign.toolId, version });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('href="#defaultToolId"');

    const saved = await admin.post(`/organisation/services/${service.id}/edit`, { name: service.name, localityId: '', defaultToolId: tool.toolId, version });
    expect(saved.statusCode).toBe(303);
    const row = await t.db.selectFrom('service_default_tools').selectAll().where('service_id', '=', service.id).executeTakeFirstOrThrow();
    expect(row.tool_id).toBe(tool.toolId);
    expect((await admin.get(`/organisation/services/${service.id}/edit`)).body).toMatch(new RegExp(`<option value="${tool.toolId}" selected`));
  });

  it('lets an administrator add a team and a staff member in it', async () => {
    await admin.get('/organisation/teams/new');
    const team = await admin.post('/organisation/teams/new', { name: 'South Unit 9', serviceId: council.services.area.id, localityId: '' });
    expect(team.statusCode).toBe(303);
    const saved = await t.db.selectFrom('teams').selectAll().where('name', '=', 'South Unit 9').executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ organisation_id: council.organisation.id, service_id: council.services.area.id, locality_id: null });

    await admin.get('/organisation/staff/new');
    const staff = await admin.post('/organisation/staff/new', {
      fullName: 'Nadia New',
      jobTitle: 'Advanced Practitioner',
      staffNumber: 'N100',
      email: 'nadia@testshire.example',
      teamId: saved.id,
      lineManagerId: council.staff.manager1.id,
      'startDate-day': '3',
      'startDate-month': '2',
      'startDate-year': '2025',
      'leavingDate-day': '',
      'leavingDate-month': '',
      'leavingDate-year': '',
    });
    expect(staff.statusCode).toBe(303);
    const [nadia] = await staffNamed('Nadia New');
    expect(nadia).toMatchObject({ team_id: saved.id, line_manager_id: council.staff.manager1.id, start_date: '2025-02-03', leaving_date: null });

    const list = pageText((await admin.get(`/organisation/staff?team=${saved.id}`)).body);
    expect(list).toContain('Nadia New');
    expect(list).not.toContain('Wes Worker');
    const overview = pageText((await admin.get('/organisation')).body);
    expect(overview).toContain('South Unit 9');
    const log = await t.db.selectFrom('activity_log').select(['action', 'record_type']).where('record_id', '=', nadia!.id).execute();
    expect(log).toEqual([{ action: 'create', record_type: 'staff' }]);
  });

  it('lets a QA lead read the organisation but not change it', async () => {
    const lead = new TestClient(t.app);
    await lead.signIn('qa.lead@testshire.example', PASSWORD);
    for (const url of ['/organisation', '/organisation/staff', '/organisation/users', '/organisation/localities', `/organisation/users/${council.users.auditor.id}`]) {
      expect((await lead.get(url)).statusCode, url).toBe(200);
    }
    const overview = pageText((await lead.get('/organisation')).body);
    expect(overview).toContain('North Unit 1');
    expect(overview).not.toContain('Add a team');
    expect((await lead.get('/organisation/teams/new')).statusCode).toBe(403);
    const refused = await lead.post('/organisation/teams/new', { name: 'Sneaky Team', serviceId: council.services.area.id });
    expect(refused.statusCode).toBe(403);
    expect(await t.db.selectFrom('teams').select('id').where('name', '=', 'Sneaky Team').execute()).toEqual([]);
    const grant = await lead.post(`/organisation/users/${council.users.qa_lead.id}/grants`, { role: 'administrator', scope: 'organisation' });
    expect(grant.statusCode).toBe(403);
  });

  it('never shows or changes another organisation’s records', async () => {
    const list = pageText((await admin.get('/organisation/staff?q=Wes')).body);
    expect(list).toContain('wes@testshire.example');
    expect(list).not.toContain('wes@otherton.example');
    expect((await admin.get(`/organisation/staff/${other.staff.worker1.id}/edit`)).statusCode).toBe(404);
    expect((await admin.get(`/organisation/users/${other.users.auditor.id}`)).statusCode).toBe(404);
    const team = await admin.post('/organisation/teams/new', { name: 'Borrowed Service Team', serviceId: other.services.area.id });
    expect(team.statusCode).toBe(400);
    expect(pageText(team.body)).toContain('Choose a service from the list');
  });

  it('keeps what was typed and names the field when a form is wrong', async () => {
    await admin.get('/organisation/staff/new');
    const response = await admin.post('/organisation/staff/new', {
      fullName: 'Typed Person',
      jobTitle: '',
      email: 'not-an-email',
      staffNumber: 'S001',
      'startDate-day': '31',
      'startDate-month': '2',
      'startDate-year': '2024',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('<title>Error: Add a staff member');
    expect(response.body).toContain('value="Typed Person"');
    expect(response.body).toContain('value="not-an-email"');
    expect(response.body).toContain('href="#jobTitle"');
    expect(response.body).toContain('href="#email"');
    expect(response.body).toContain('href="#startDate-day"');
    const text = pageText(response.body);
    expect(text).toContain('Enter the job title');
    expect(text).toContain('Enter an e-mail address in the correct format');
    expect(text).toContain('Start date must be a real date');
    expect(await staffNamed('Typed Person')).toEqual([]);

    const duplicate = await admin.post('/organisation/staff/new', { fullName: 'Typed Person', jobTitle: 'Social Worker', staffNumber: 'S001' });
    expect(duplicate.statusCode).toBe(400);
    expect(pageText(duplicate.body)).toContain('Staff number S001 belongs to Sam Service');
    expect(duplicate.body).toContain('href="#staffNumber"');

    const backwards = await admin.post('/organisation/staff/new', {
      fullName: 'Typed Person',
      jobTitle: 'Social Worker',
      'startDate-day': '1',
      'startDate-month': '6',
      'startDate-year': '2024',
      'leavingDate-day': '1',
      'leavingDate-month': '5',
      'leavingDate-year': '2024',
    });
    expect(backwards.statusCode).toBe(400);
    expect(pageText(backwards.body)).toContain('Leaving date must be the same as or after the start date');
    expect(await staffNamed('Typed Person')).toEqual([]);
  });

  it('refuses a stale staff edit with 409 and keeps the text typed', async () => {
    const first = new TestClient(t.app);
    await first.signIn('admin@testshire.example', PASSWORD);
    const form = await first.get(`/organisation/staff/${council.staff.worker2.id}/edit`);
    const version = /name="version" value="(\d+)"/.exec(form.body)?.[1];
    expect(version).toBeDefined();

    // Someone else saves the same record meanwhile.
    await admin.get(`/organisation/staff/${council.staff.worker2.id}/edit`);
    const theirs = await admin.post(`/organisation/staff/${council.staff.worker2.id}/edit`, {
      fullName: 'Una Other',
      jobTitle: 'Senior Social Worker',
      staffNumber: 'S004',
      email: 'una@testshire.example',
      teamId: council.teams.unit2.id,
      version: version!,
    });
    expect(theirs.statusCode).toBe(303);

    const mine = await first.post(`/organisation/staff/${council.staff.worker2.id}/edit`, {
      fullName: 'Una Renamed',
      jobTitle: 'Practice Educator',
      staffNumber: 'S004',
      email: 'una@testshire.example',
      teamId: council.teams.unit2.id,
      version: version!,
    });
    expect(mine.statusCode).toBe(409);
    const text = pageText(mine.body);
    expect(text).toContain('Someone else changed this record since you opened it');
    expect(text).toContain('Senior Social Worker'); // what is saved now
    expect(mine.body).toContain('value="Una Renamed"');
    expect(mine.body).toContain('value="Practice Educator"');
    const saved = await t.db.selectFrom('staff').selectAll().where('id', '=', council.staff.worker2.id).executeTakeFirstOrThrow();
    expect(saved.full_name).toBe('Una Other');
    expect(saved.job_title).toBe('Senior Social Worker');

    // Saving the re-shown form again is a deliberate overwrite, and succeeds.
    const newVersion = /name="version" value="(\d+)"/.exec(mine.body)?.[1];
    expect(Number(newVersion)).toBe(saved.version);
    const again = await first.post(`/organisation/staff/${council.staff.worker2.id}/edit`, {
      fullName: 'Una Renamed',
      jobTitle: 'Practice Educator',
      staffNumber: 'S004',
      email: 'una@testshire.example',
      teamId: council.teams.unit2.id,
      version: newVersion!,
    });
    expect(again.statusCode).toBe(303);
    expect((await t.db.selectFrom('staff').select('full_name').where('id', '=', council.staff.worker2.id).executeTakeFirstOrThrow()).full_name).toBe('Una Renamed');
  });

  it('refuses a line manager that would make a loop', async () => {
    const sam = council.staff.serviceManager;
    const form = await admin.get(`/organisation/staff/${sam.id}/edit`);
    const version = /name="version" value="(\d+)"/.exec(form.body)![1]!;
    const fields = { fullName: sam.full_name, jobTitle: sam.job_title, staffNumber: 'S001', email: sam.email!, teamId: council.teams.unit1.id, version };
    // Sam manages Tina, who manages Wes: Wes cannot become Sam's manager.
    const loop = await admin.post(`/organisation/staff/${sam.id}/edit`, { ...fields, lineManagerId: council.staff.worker1.id });
    expect(loop.statusCode).toBe(400);
    expect(pageText(loop.body)).toContain('This line manager reports to this person');
    expect(loop.body).toContain('href="#lineManagerId"');
    const self = await admin.post(`/organisation/staff/${sam.id}/edit`, { ...fields, lineManagerId: sam.id });
    expect(self.statusCode).toBe(400);
    expect(pageText(self.body)).toContain('A person cannot be their own line manager');
    const saved = await t.db.selectFrom('staff').select('line_manager_id').where('id', '=', sam.id).executeTakeFirstOrThrow();
    expect(saved.line_manager_id).toBeNull();
  });

  it('adds a role grant scoped to the linked staff member’s team, then removes it', async () => {
    const wes = council.users.practitioner;
    await admin.get(`/organisation/users/${wes.id}`);
    const added = await admin.post(`/organisation/users/${wes.id}/grants`, { role: 'auditor', scope: 'team', teamId: '' });
    expect(added.statusCode).toBe(303);
    const grant = await t.db.selectFrom('role_grants').selectAll().where('user_id', '=', wes.id).where('role', '=', 'auditor').executeTakeFirstOrThrow();
    expect(grant).toMatchObject({ scope: 'team', team_id: council.teams.unit1.id, service_id: null });
    const page = pageText((await admin.get(`/organisation/users/${wes.id}`)).body);
    expect(page).toContain('Auditor (manager)');
    expect(page).toContain('Own team: North Unit 1');

    const missing = await admin.post(`/organisation/users/${wes.id}/grants`, { scope: 'organisation' });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain('href="#role"');

    const removed = await admin.post(`/organisation/users/${wes.id}/grants/${grant.id}/remove`);
    expect(removed.statusCode).toBe(303);
    expect(await t.db.selectFrom('role_grants').select('id').where('id', '=', grant.id).execute()).toEqual([]);
    const log = await t.db.selectFrom('activity_log').select('action').where('record_type', '=', 'role_grant').where('record_id', '=', grant.id).orderBy('id').execute();
    expect(log.map((entry) => entry.action)).toEqual(['create', 'delete']);
  });

  it('will not let an administrator remove their own last administrator role', async () => {
    const me = council.users.administrator;
    const [grant] = await t.db.selectFrom('role_grants').selectAll().where('user_id', '=', me.id).execute();
    await admin.get(`/organisation/users/${me.id}`);
    const response = await admin.post(`/organisation/users/${me.id}/grants/${grant!.id}/remove`);
    expect(response.statusCode).toBe(409);
    expect(pageText(response.body)).toContain('You cannot remove your own last administrator role');
    expect(await t.db.selectFrom('role_grants').select('id').where('id', '=', grant!.id).execute()).toHaveLength(1);
    expect((await admin.get('/organisation')).statusCode).toBe(200);
  });

  it('unlocks a locked account', async () => {
    const moderator = council.users.moderator;
    await t.db.updateTable('users').set({ locked_until: new Date(t.clock.now().getTime() + 15 * 60_000), failed_sign_ins: 4 }).where('id', '=', moderator.id).execute();
    const locked = new TestClient(t.app);
    await locked.get('/sign-in');
    expect((await locked.post('/sign-in', { email: moderator.email, password: PASSWORD })).statusCode).toBe(401); // the same answer as any refused sign-in

    const page = await admin.get(`/organisation/users/${moderator.id}`);
    expect(pageText(page.body)).toContain('Locked until');
    const unlocked = await admin.post(`/organisation/users/${moderator.id}/unlock`);
    expect(unlocked.statusCode).toBe(303);
    const row = await t.db.selectFrom('users').select(['locked_until', 'failed_sign_ins']).where('id', '=', moderator.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ locked_until: null, failed_sign_ins: 0 });
    await locked.signIn(moderator.email, PASSWORD);
  });

  it('disables a user, signing them out, and enables them again', async () => {
    const senior = council.users.senior_leader;
    const client = new TestClient(t.app);
    await client.signIn(senior.email, PASSWORD);
    await admin.get(`/organisation/users/${senior.id}`);
    expect((await admin.post(`/organisation/users/${senior.id}/disable`)).statusCode).toBe(303);
    expect(await t.db.selectFrom('sessions').select('id').where('user_id', '=', senior.id).execute()).toEqual([]);
    expect((await client.get('/')).statusCode).toBe(303);
    const again = new TestClient(t.app);
    await again.get('/sign-in');
    expect((await again.post('/sign-in', { email: senior.email, password: PASSWORD })).statusCode).toBe(401);
    expect(pageText((await admin.get('/organisation/users')).body)).toContain('Disabled');

    const self = await admin.post(`/organisation/users/${council.users.administrator.id}/disable`);
    expect(self.statusCode).toBe(409);

    expect((await admin.post(`/organisation/users/${senior.id}/enable`)).statusCode).toBe(303);
    await again.signIn(senior.email, PASSWORD);
  });

  it('adds a user who can then sign in', async () => {
    await admin.get('/organisation/users/new');
    const short = await admin.post('/organisation/users/new', { email: 'new.user@testshire.example', displayName: 'Newt User', staffId: '', password: 'short' });
    expect(short.statusCode).toBe(400);
    expect(pageText(short.body)).toContain('Password must be at least 12 characters');
    expect(short.body).toContain('value="Newt User"');
    expect(short.body).not.toContain('value="short"');
    const taken = await admin.post('/organisation/users/new', { email: 'ADMIN@testshire.example', displayName: 'Copy', password: 'long enough password' });
    expect(pageText(taken.body)).toContain('A user with this e-mail address already exists');

    const created = await admin.post('/organisation/users/new', {
      email: 'new.user@testshire.example',
      displayName: 'Newt User',
      staffId: council.staff.careWorker.id,
      password: 'long enough password',
    });
    expect(created.statusCode).toBe(303);
    const user = await t.db.selectFrom('users').selectAll().where('email', '=', 'new.user@testshire.example').executeTakeFirstOrThrow();
    expect(user).toMatchObject({ organisation_id: council.organisation.id, staff_id: council.staff.careWorker.id });
    await new TestClient(t.app).signIn('new.user@testshire.example', 'long enough password');
  });

  it('imports staff from CSV: all rows or none, then updates on re-import without duplicating', async () => {
    const before = await t.db.selectFrom('staff').select(sql<number>`count(*)::int`.as('n')).where('organisation_id', '=', council.organisation.id).executeTakeFirstOrThrow();
    const header = 'Staff ID,Full name,Role,E-mail,Team,Line manager,Start date,Leaving date';
    const bad = [
      header,
      'C001,Carla Chief,Head of Service,carla@testshire.example,North Unit 1,,2020-01-06,',
      'C002,Dan Deputy,Team Manager,dan@testshire.example,Nowhere Team,Carla Chief,06/01/2021,',
      'C003,Eve Early,Social Worker,eve@testshire.example,North Unit 2,C002,31/02/2022,',
    ].join('\n');
    await admin.get('/organisation/staff/import');
    const refused = await admin.upload('/organisation/staff/import', { field: 'file', filename: 'staff.csv', content: bad, contentType: 'text/csv' });
    expect(refused.statusCode).toBe(400);
    const text = pageText(refused.body);
    expect(text).toContain('The file has 2 problems. Nothing was imported');
    expect(text).toMatch(/3 Team No team is called "Nowhere Team"/);
    expect(text).toMatch(/4 Start date Start date must be a real date/);
    const after = await t.db.selectFrom('staff').select(sql<number>`count(*)::int`.as('n')).where('organisation_id', '=', council.organisation.id).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);

    // Fixed: and a line manager named by a row further down the file.
    const good = [
      header,
      'C001,Carla Chief,Head of Service,carla@testshire.example,North Unit 1,,2020-01-06,',
      'C003,Eve Early,Social Worker,eve@testshire.example,North Unit 2,C002,28/02/2022,',
      'C002,Dan Deputy,Team Manager,dan@testshire.example,North Unit 2,carla@testshire.example,06/01/2021,',
      'S003,Wes Worker,Senior Social Worker,wes@testshire.example,North Unit 1,Tina Manager,,',
    ].join('\n');
    const imported = await admin.upload('/organisation/staff/import', { field: 'file', filename: 'staff.csv', content: good, contentType: 'text/csv' });
    expect(imported.statusCode).toBe(200);
    expect(pageText(imported.body)).toContain('3 created, 1 updated');
    const [eve] = await staffNamed('Eve Early');
    const [dan] = await staffNamed('Dan Deputy');
    const [carla] = await staffNamed('Carla Chief');
    expect(eve).toMatchObject({ staff_number: 'C003', start_date: '2022-02-28', team_id: council.teams.unit2.id, line_manager_id: dan!.id });
    expect(dan!.line_manager_id).toBe(carla!.id);
    const [wes] = await staffNamed('Wes Worker');
    expect(wes).toMatchObject({ id: council.staff.worker1.id, job_title: 'Senior Social Worker', line_manager_id: council.staff.manager1.id });

    // Re-import: the same people, one change, nobody duplicated.
    const reimport = good.replace('Eve Early,Social Worker', 'Eve Early,Senior Social Worker');
    const again = await admin.upload('/organisation/staff/import', { field: 'file', filename: 'staff.csv', content: reimport, contentType: 'text/csv' });
    expect(pageText(again.body)).toContain('0 created, 4 updated');
    const eves = await staffNamed('Eve Early');
    expect(eves).toHaveLength(1);
    expect(eves[0]!.job_title).toBe('Senior Social Worker');
    const total = await t.db.selectFrom('staff').select(sql<number>`count(*)::int`.as('n')).where('organisation_id', '=', council.organisation.id).executeTakeFirstOrThrow();
    expect(total.n).toBe(before.n + 3);
    const log = await t.db.selectFrom('activity_log').select('summary').where('action', '=', 'import').where('record_type', '=', 'staff').orderBy('id').execute();
    expect(log.map((entry) => entry.summary)).toEqual(['Staff import: 3 created, 1 updated', 'Staff import: 0 created, 4 updated']);
  });

  it('refuses an import whose line managers make a loop or cannot be found, through the function the CLI calls', async () => {
    const csv = [
      'Employee number,Name,Job title,Email,Line manager',
      'L001,Loop One,Social Worker,,L002',
      'L002,Loop Two,Social Worker,,L001',
      'L003,Lost Three,Social Worker,,Nobody Known',
      'L003,Twin Three,Social Worker,,',
    ].join('\r\n');
    const result = await importStaff(t.db, {
      organisationId: council.organisation.id,
      actor: { principal: null, ipAddress: null, at: new Date(), label: 'command line' },
      input: Readable.from([csv]),
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((error) => [error.row, error.column])).toEqual([
      [2, 'Line manager'],
      [3, 'Line manager'],
      [4, 'Line manager'],
      [5, 'Employee number'],
    ]);
    expect(result.errors[3]!.reason).toBe('Staff number L003 is also on row 4');
    expect(await staffNamed('Loop One')).toEqual([]);
  });

  it('pages the staff list 50 at a time, keeping the filter', async () => {
    for (let n = 1; n <= 55; n++) {
      await createStaff(t.db, { organisationId: council.organisation.id, fullName: `Paged Person ${String(n).padStart(2, '0')}`, jobTitle: 'Social Worker' });
    }
    const first = await admin.get('/organisation/staff?q=paged+person');
    expect(pageText(first.body)).toContain('Showing 1 to 50 of 55 staff');
    expect(pageText(first.body)).toContain('Paged Person 50');
    expect(pageText(first.body)).not.toContain('Paged Person 51');
    expect(first.body).toContain('href="/organisation/staff?q=paged+person&amp;page=2"');
    const second = await admin.get('/organisation/staff?q=paged+person&page=2');
    expect(pageText(second.body)).toContain('Showing 51 to 55 of 55 staff');
    expect(pageText(second.body)).toContain('Paged Person 55');
    const wildcard = await admin.get('/organisation/staff?q=%25');
    expect(pageText(wildcard.body)).toContain('No staff match these filters');
  });

  it('imports nothing from an upload cut off at the size limit', async () => {
    const input = Readable.from(['Staff number,Full name,Job title\nT001,Cut Off,Social Worker\n']);
    Object.assign(input, { truncated: true });
    const result = await importStaff(t.db, { organisationId: council.organisation.id, actor: { principal: null, ipAddress: null, at: new Date() }, input });
    expect(result).toEqual({ ok: false, errors: [expect.objectContaining({ reason: 'The file is too large' })] });
    expect(await staffNamed('Cut Off')).toEqual([]);
  });

  it('asks for a file when none is chosen', async () => {
    await admin.get('/organisation/staff/import');
    const response = await admin.upload('/organisation/staff/import', { field: 'file', filename: '', content: '' });
    expect(response.statusCode).toBe(400);
    expect(pageText(response.body)).toContain('Select a CSV file of staff');
  });
});
