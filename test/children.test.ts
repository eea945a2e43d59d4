import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { createApiToken } from '../src/modules/account/service.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

const GOOD = [
  'Child Unique ID,Initials,Date of birth,Gender,Ethnicity,Child\u2019s Legal Status,Allocated Worker,Allocated Team,Case open date',
  'LCS-1,AB,01/02/2015,a) Male,WBRI,CIN,Wes Worker,North Unit 1,2024-01-10',
  'LCS-2,CD,2016-03-04,F,BAFR,CP,S004,North Unit 2,2024-02-11',
  'LCS-3,EF,2010-05-06,b) Female,MWBC,Child in Care,cara@testshire.example,Through Care Team,2023-09-01',
].join('\r\n');

const BAD = [
  'Child Unique ID,Initials,Date of birth,Gender,Child\'s Legal Status,Allocated Team',
  'LCS-1,AB,01/02/2015,M,CIN,North Unit 1',
  'LCS-9,John Smith,31/02/2015,M,CIN,North Unit 1',
  'LCS-10,GH,2015-01-01,M,Fostered maybe,North Unit 1',
  'LCS-11,IJ,2015-01-01,M,CP,Nowhere Team',
].join('\n');

describe.each(testDrivers())('child register on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: TestClient;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  const countChildren = async () => (await t.db.selectFrom('children').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;

  async function upload(client: TestClient, filename: string, content: string | Buffer, fullExtract = 'yes') {
    await client.get('/children/imports/new');
    const response = await client.upload('/children/imports', { field: 'file', filename, content, contentType: 'text/csv' }, { fullExtract });
    expect(response.statusCode).toBe(303);
    return client.get(response.headers.location as string);
  }

  it('imports nothing from a file with bad rows, and reports every bad row', async () => {
    const page = await upload(coordinator, 'bad.csv', BAD);
    const text = pageText(page.body);
    expect(text).toContain('Nothing was imported');
    expect(text).toMatch(/3 Initials John Smith .*full name/);
    expect(text).toMatch(/5 Allocated team Nowhere Team no team called "Nowhere Team"/);
    expect(text).toMatch(/3 Date of birth 31\/02\/2015/);
    expect(text).toMatch(/4 Child's Legal Status Fostered maybe not a recognised legal status/);
    expect(await countChildren()).toBe(0);
    const importId = /\/children\/imports\/([0-9a-f-]{36})\/errors\.csv/.exec(page.body)?.[1];
    const csv = await coordinator.get(`/children/imports/${importId}/errors.csv`);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body.split('\n')[0]).toMatch(/^\ufeff?Row,Column,Value,Reason/);
    expect(csv.body).toContain('Nowhere Team');
  });

  it('imports a good Annex A extract, resolving workers by name, staff number and e-mail', async () => {
    const page = await upload(coordinator, 'annex-a.csv', GOOD);
    expect(pageText(page.body)).toMatch(/Import complete .*Rows read 3 Children added 3/);
    const rows = await t.db.selectFrom('children').selectAll().orderBy('external_id').execute();
    expect(rows.map((row) => [row.external_id, row.initials, row.gender, row.legal_status, row.allocated_worker_id, row.date_of_birth])).toEqual([
      ['LCS-1', 'AB', 'male', 'cin', council.staff.worker1.id, '2015-02-01'],
      ['LCS-2', 'CD', 'female', 'cp', council.staff.worker2.id, '2016-03-04'],
      ['LCS-3', 'EF', 'female', 'child_in_care', council.staff.careWorker.id, '2010-05-06'],
    ]);
    const logged = await t.db.selectFrom('activity_log').select('child_id').where('action', '=', 'import').where('record_type', '=', 'child').execute();
    expect(logged).toHaveLength(3);
  });

  it('updates by case ID on re-import, never duplicates, and closes children missing from a full extract', async () => {
    const next = [GOOD.split('\r\n')[0], 'LCS-1,AB,01/02/2015,M,WBRI,CP,Wes Worker,North Unit 1,2024-01-10', 'LCS-2,CD,2016-03-04,F,BAFR,CP,S004,North Unit 2,2024-02-11'].join('\n');
    const page = await upload(coordinator, 'next.csv', next);
    expect(pageText(page.body)).toMatch(/Children added 0 Children updated 1 Children marked closed 1 Unchanged 1/);
    expect(await countChildren()).toBe(3);
    const lcs3 = await t.db.selectFrom('children').select(['close_date']).where('external_id', '=', 'LCS-3').executeTakeFirstOrThrow();
    expect(lcs3.close_date).not.toBeNull();
  });

  it('reads an XLSX extract with real dates', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('List 8');
    sheet.addRow(['Child Unique ID', 'Initials', 'Date of Birth', 'Child\'s Legal Status', 'Allocated Team']);
    sheet.addRow(['LCS-20', 'XY', new Date(Date.UTC(2012, 6, 15)), 'C2', 'Through Care Team']);
    const buffer = Buffer.from(await workbook.xlsx.writeBuffer());
    await coordinator.get('/children/imports/new');
    const response = await coordinator.upload('/children/imports', { field: 'file', filename: 'list8.xlsx', content: buffer }, { fullExtract: 'no' });
    const page = await coordinator.get(response.headers.location as string);
    expect(pageText(page.body)).toContain('Import complete');
    const child = await t.db.selectFrom('children').selectAll().where('external_id', '=', 'LCS-20').executeTakeFirstOrThrow();
    expect([child.legal_status, child.date_of_birth]).toEqual(['child_in_care', '2012-07-15']);
  });

  it('refuses an upload that is not a CSV or XLSX file, naming the field', async () => {
    await coordinator.get('/children/imports/new');
    const response = await coordinator.upload('/children/imports', { field: 'file', filename: 'notes.txt', content: 'hello' }, { fullExtract: 'yes' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('href="#file"');
    expect(pageText(response.body)).toContain('The selected file must be a CSV or XLSX file');
  });

  it('shows each person only the children in their reach, and logs every view of a child', async () => {
    const auditor = new TestClient(t.app);
    await auditor.signIn(council.users.auditor.email, PASSWORD);
    const list = pageText((await auditor.get('/children?status=all')).body);
    expect(list).toContain('LCS-1');
    expect(list).not.toContain('LCS-2');
    const lcs2 = await t.db.selectFrom('children').select('id').where('external_id', '=', 'LCS-2').executeTakeFirstOrThrow();
    expect((await auditor.get(`/children/${lcs2.id}`)).statusCode).toBe(404);
    const lcs1 = await t.db.selectFrom('children').select('id').where('external_id', '=', 'LCS-1').executeTakeFirstOrThrow();
    expect((await auditor.get(`/children/${lcs1.id}`)).statusCode).toBe(200);
    const views = await t.db.selectFrom('activity_log').selectAll().where('child_id', '=', lcs1.id).where('action', '=', 'view').execute();
    expect(views).toHaveLength(1);
    expect(views[0]!.user_id).toBe(council.users.auditor.id);
  });

  it('imports and lists through the API with the same rules', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'test' });
    const auth = { authorization: `Bearer ${token}` };
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/children/imports?fullExtract=false', headers: { ...auth, 'content-type': 'text/csv' }, payload: BAD });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors).toContainEqual(expect.objectContaining({ row: 3, column: 'Initials', value: 'John Smith' }));
    expect(await countChildren()).toBe(4);
    const good = await t.app.inject({
      method: 'POST',
      url: '/api/v1/children/imports?fullExtract=false',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: 'Case ID,Initials,Legal status\nAPI-1,QQ,Early Help\n',
    });
    expect(good.statusCode).toBe(201);
    expect(good.json()).toMatchObject({ status: 'succeeded', created: 1 });
    const list = await t.app.inject({ url: '/api/v1/children?search=API-', headers: auth });
    expect(list.json()).toMatchObject({ total: 1, children: [{ externalId: 'API-1', legalStatus: 'early_help' }] });
    const practitionerToken = await createApiToken(t.db, { userId: council.users.practitioner.id, organisationId: council.organisation.id, name: 'test' });
    const refused = await t.app.inject({ url: '/api/v1/children', headers: { authorization: `Bearer ${practitionerToken}` } });
    expect(refused.statusCode).toBe(403);
    const anonymous = await t.app.inject({ url: '/api/v1/children' });
    expect(anonymous.statusCode).toBe(401);
  });
});
