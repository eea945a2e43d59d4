import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { createApiToken } from '../src/modules/account/service.ts';
import { fixedClock, ukDateAt } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

const HEADER = 'Child Unique ID,Initials,Date of birth,Gender,Ethnicity,Child\u2019s Legal Status,Allocated Worker,Allocated Team,Case open date';
const GOOD = [
  HEADER,
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

/** A Wednesday morning, UK time: the close date and the reopen window are read from it. */
const NOW = '2026-03-04T10:00:00Z';

describe.each(testDrivers())('child register on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: TestClient;
  const clock = fixedClock(NOW);

  beforeAll(async () => {
    t = await createTestApp(driver, {}, clock);
    council = await createSmallCouncil(t.db);
    coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  const countChildren = async () => (await t.db.selectFrom('children').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  const openIds = async () => (await t.db.selectFrom('children').select('external_id').where('close_date', 'is', null).orderBy('external_id').execute()).map((row) => row.external_id);
  const uploadsLeft = () => fs.readdirSync(path.resolve(t.config.dataDir, 'uploads')).filter((name) => /\.(csv|xlsx)$/.test(name));

  /** Uploads a file and returns the page the upload leads to (the preview, or the problems). */
  async function upload(filename: string, content: string | Buffer, closeMissing?: 'yes' | 'no') {
    const form = await coordinator.get('/children/imports/new');
    expect(form.body).toMatch(/value="no" checked/); // "update only" is the default
    const response = await coordinator.upload('/children/imports', { field: 'file', filename, content, contentType: 'text/csv' }, closeMissing ? { closeMissing } : {});
    expect(response.statusCode, response.body).toBe(303);
    return coordinator.get(response.headers.location as string);
  }

  async function confirm(preview: { body: string }, form: Record<string, string> = {}) {
    const action = /action="(\/children\/imports\/[0-9a-f-]{36}\/confirm)"/.exec(preview.body)![1]!;
    const response = await coordinator.post(action, form);
    if (response.statusCode !== 303) return response;
    return coordinator.get(response.headers.location as string);
  }

  it('names every problem of a row in one upload: its format, its codes, its team and its worker', async () => {
    const content = [
      'Child Unique ID,Initials,Date of birth,Gender,Child\'s Legal Status,Allocated Team,Allocated Worker',
      'LCS-21,KL,31/02/2015,M,Fostered maybe,Nowhere Team,Nobody Known',
    ].join('\n');
    const text = pageText((await upload('one-pass.csv', content)).body);
    expect(text).toContain('Nothing was imported');
    expect(text).toMatch(/2 Date of birth 31\/02\/2015/);
    expect(text).toMatch(/2 Child's Legal Status Fostered maybe not a recognised legal status/);
    expect(text).toMatch(/2 Allocated team Nowhere Team no team called "Nowhere Team"/);
    expect(text).toMatch(/2 Allocated worker Nobody Known/);
    expect(await countChildren()).toBe(0);
  });

  it('imports nothing from a file with bad rows, and reports every bad row', async () => {
    const page = await upload('bad.csv', BAD);
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
    expect(uploadsLeft()).toEqual([]);
  });

  it('shows what a good extract will do and changes nothing until it is confirmed', async () => {
    const preview = await upload('annex-a.csv', GOOD);
    expect(pageText(preview.body)).toContain('This import adds 3, updates 0.');
    expect(pageText(preview.body)).toContain('No child is closed');
    expect(await countChildren()).toBe(0);
    const page = await confirm(preview);
    expect(pageText(page.body)).toMatch(/Import complete .*Rows read 3 Children added 3/);
    const rows = await t.db.selectFrom('children').selectAll().orderBy('external_id').execute();
    expect(rows.map((row) => [row.external_id, row.initials, row.gender, row.legal_status, row.allocated_worker_id, row.date_of_birth])).toEqual([
      ['LCS-1', 'AB', 'male', 'cin', council.staff.worker1.id, '2015-02-01'],
      ['LCS-2', 'CD', 'female', 'cp', council.staff.worker2.id, '2016-03-04'],
      ['LCS-3', 'EF', 'female', 'child_in_care', council.staff.careWorker.id, '2010-05-06'],
    ]);
    // Who changed each child and when: the import's entry in the activity log, found by the child's case ID.
    const admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
    for (const caseId of ['LCS-1', 'LCS-3']) {
      const log = pageText(/<tbody[\s\S]*?<\/tbody>/.exec((await admin.get(`/activity?caseId=${caseId}`)).body)?.[0] ?? '');
      expect(log).toMatch(/Quinn QA .* import .*child import .*3 rows: 3 created, 0 updated, 0 closed/);
    }
    expect(pageText((await admin.get('/activity?caseId=LCS-404')).body)).toContain('No entries match these filters');
    expect(uploadsLeft()).toEqual([]);
  });

  it('never closes a child on an "update only" import, whatever is missing from the file', async () => {
    const preview = await upload('one.csv', [HEADER, 'LCS-1,AB,01/02/2015,M,WBRI,CIN,Wes Worker,North Unit 1,2024-01-10'].join('\n'));
    expect(pageText(preview.body)).toContain('This import adds 0, updates 0.');
    await confirm(preview);
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2', 'LCS-3']);
  });

  it('previews the closures of a full extract, closes on the clock’s date, and reopens them for a day', async () => {
    const next = [HEADER, 'LCS-1,AB,01/02/2015,M,WBRI,CP,Wes Worker,North Unit 1,2024-01-10', 'LCS-2,CD,2016-03-04,F,BAFR,CP,S004,North Unit 2,2024-02-11'].join('\n');
    const preview = await upload('next.csv', next, 'yes');
    const text = pageText(preview.body);
    expect(text).toMatch(/This import adds 0, updates 1 and closes 1 of 3 open children ?\./);
    expect(text).toMatch(/The children it closes Case ID Initials LCS-3 EF/);
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2', 'LCS-3']);

    const done = await confirm(preview, { closeMany: 'yes' });
    expect(pageText(done.body)).toMatch(/Children added 0 Children updated 1 Children marked closed 1 Unchanged 1/);
    const lcs3 = await t.db.selectFrom('children').select(['close_date']).where('external_id', '=', 'LCS-3').executeTakeFirstOrThrow();
    expect(lcs3.close_date).toBe(ukDateAt(clock.now()));
    expect(pageText(done.body)).toContain('Reopen the children this import closed (1)');

    const reopen = /action="(\/children\/imports\/[0-9a-f-]{36}\/reopen)"/.exec(done.body)![1]!;
    const after = await coordinator.post(reopen);
    expect(after.statusCode).toBe(303);
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2', 'LCS-3']);
    const page = pageText((await coordinator.get(after.headers.location as string)).body);
    expect(page).toContain('Children reopened 1');
    expect(page).not.toContain('Reopen the');
  });

  it('offers the reopening for a day only, by the clock', async () => {
    const preview = await upload('two.csv', [HEADER, 'LCS-1,AB,01/02/2015,M,WBRI,CP,Wes Worker,North Unit 1,2024-01-10', 'LCS-2,CD,2016-03-04,F,BAFR,CP,S004,North Unit 2,2024-02-11'].join('\n'), 'yes');
    const done = await confirm(preview, { closeMany: 'yes' });
    const reopen = /action="(\/children\/imports\/[0-9a-f-]{36}\/reopen)"/.exec(done.body)![1]!;
    clock.advance(25 * 60 * 60 * 1000);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
    const page = await coordinator.get(reopen.replace(/\/reopen$/, ''));
    expect(pageText(page.body)).not.toContain('Reopen the');
    const refused = await coordinator.post(reopen);
    expect(refused.statusCode).toBe(409);
    expect(pageText(refused.body)).toContain('can no longer be reopened');
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2']);
    // Back to three open children for the tests that follow.
    await confirm(await upload('all.csv', GOOD));
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2', 'LCS-3']);
  });

  it('asks a second, plain question before closing more than a quarter of the open children', async () => {
    const preview = await upload('tiny.csv', [HEADER, 'LCS-1,AB,01/02/2015,a) Male,WBRI,CIN,Wes Worker,North Unit 1,2024-01-10'].join('\n'), 'yes');
    expect(pageText(preview.body)).toContain('closes 2 of 3 open children');
    expect(pageText(preview.body)).toContain('more than a quarter');
    const question = await confirm(preview);
    expect(question.statusCode).toBe(200);
    expect(pageText(question.body)).toContain('Are you sure you want to close 2 of the 3 open children?');
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2', 'LCS-3']);
    const action = /action="(\/children\/imports\/[0-9a-f-]{36}\/confirm)"/.exec(question.body)![1]!;
    const done = await coordinator.post(action, { closeMany: 'yes' });
    expect(done.statusCode).toBe(303);
    expect(await openIds()).toEqual(['LCS-1']);
    await confirm(await upload('all.csv', GOOD));
  });

  it('refuses a confirmation when the register changed after the preview, and cancels on request', async () => {
    const stale = await upload('stale.csv', [HEADER, 'LCS-1,AB,01/02/2015,M,WBRI,CIN,Wes Worker,North Unit 1,2024-01-10'].join('\n'), 'yes');
    const other = await upload('other.csv', [HEADER, 'LCS-4,GH,2015-01-01,M,WBRI,CIN,Wes Worker,North Unit 1,2024-01-10'].join('\n'));
    await confirm(other);
    const refused = await confirm(stale, { closeMany: 'yes' });
    expect(refused.statusCode).toBe(409);
    expect(pageText(refused.body)).toMatch(/Nothing was imported .*Another import changed the register/);
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2', 'LCS-3', 'LCS-4']);

    // A change made another way (not an import) between the preview and the confirmation.
    const changedUnder = await upload('changed.csv', [HEADER, 'LCS-1,AB,01/02/2015,M,WBRI,CP,Wes Worker,North Unit 1,2024-01-10'].join('\n'));
    await t.db.updateTable('children').set({ ethnicity: 'WIRI', version: sql`version + 1` }).where('external_id', '=', 'LCS-2').execute();
    const refusedAgain = await confirm(changedUnder);
    expect(refusedAgain.statusCode).toBe(409);
    expect(pageText(refusedAgain.body)).toContain('The register has changed since this preview, so nothing was imported');
    expect((await t.db.selectFrom('children').select('legal_status').where('external_id', '=', 'LCS-1').executeTakeFirstOrThrow()).legal_status).toBe('cin');

    const cancelled = await upload('cancel.csv', GOOD, 'yes');
    const discard = /action="(\/children\/imports\/[0-9a-f-]{36}\/discard)"/.exec(cancelled.body)![1]!;
    const after = await coordinator.post(discard);
    expect(pageText((await coordinator.get(after.headers.location as string)).body)).toContain('Cancelled before anything was imported');
    expect(await openIds()).toEqual(['LCS-1', 'LCS-2', 'LCS-3', 'LCS-4']);
    const list = pageText((await coordinator.get('/children/imports')).body);
    expect(list).toMatch(/cancel\.csv .* Nothing imported/);
    expect(list).toMatch(/other\.csv .* Imported/);
  });

  it('reads an XLSX extract with real dates', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('List 8');
    sheet.addRow(['Child Unique ID', 'Initials', 'Date of Birth', 'Child\'s Legal Status', 'Allocated Team']);
    sheet.addRow(['LCS-20', 'XY', new Date(Date.UTC(2012, 6, 15)), 'C2', 'Through Care Team']);
    const buffer = Buffer.from(await workbook.xlsx.writeBuffer());
    await coordinator.get('/children/imports/new');
    const response = await coordinator.upload('/children/imports', { field: 'file', filename: 'list8.xlsx', content: buffer }, { closeMissing: 'no' });
    const page = await confirm(await coordinator.get(response.headers.location as string));
    expect(pageText(page.body)).toContain('Import complete');
    const child = await t.db.selectFrom('children').selectAll().where('external_id', '=', 'LCS-20').executeTakeFirstOrThrow();
    expect([child.legal_status, child.date_of_birth]).toEqual(['child_in_care', '2012-07-15']);
  });

  it('makes one record of a child on several Annex A lists, with the status that governs, and counts the lists', async () => {
    const workbook = new ExcelJS.Workbook();
    const list6 = workbook.addWorksheet('List 6 - Children in need');
    list6.addRow(['Child Unique ID', 'Gender', 'Date of Birth', 'Case Status', 'Allocated Team']);
    list6.addRow(['AX-1', 'a) Male', new Date(Date.UTC(2015, 1, 1)), 'c) Child in need plan', 'North Unit 1']);
    list6.addRow(['AX-2', 'b) Female', new Date(Date.UTC(2016, 1, 1)), 'd) Open assessment', 'North Unit 1']);
    list6.addRow(['AX-3', 'b) Female', new Date(Date.UTC(2012, 1, 1)), 'c) Child in need plan', 'North Unit 1']);
    const list7 = workbook.addWorksheet('List 7 - Child protection');
    list7.addRow(['Child Unique ID', 'Gender', 'Date of Birth', 'Allocated Team']);
    list7.addRow(['AX-2', 'b) Female', new Date(Date.UTC(2016, 1, 1)), 'North Unit 2']);
    list7.addRow(['AX-3', 'b) Female', new Date(Date.UTC(2012, 1, 1)), 'North Unit 2']);
    const list8 = workbook.addWorksheet('List 8 - Children in care');
    list8.addRow(['Child Unique ID', 'Gender', 'Date of Birth', 'Legal Status', 'Allocated Team']);
    list8.addRow(['AX-3', 'b) Female', new Date(Date.UTC(2012, 1, 1)), 'C2', 'Through Care Team']);
    workbook.addWorksheet('Lookups').addRow(['Code', 'Description']);
    const buffer = Buffer.from(await workbook.xlsx.writeBuffer());
    await coordinator.get('/children/imports/new');
    const response = await coordinator.upload('/children/imports', { field: 'file', filename: 'annex-a.xlsx', content: buffer });
    const preview = await coordinator.get(response.headers.location as string);
    const text = pageText(preview.body);
    expect(text).toContain('This import adds 3, updates 0.');
    expect(text).toMatch(/List 6 - Children in need Read as List 6 .*List 7 - Child protection Read as List 7 .*Lookups Skipped: /);
    expect(text).toMatch(/Children by list List Children List 6: children in need 3 List 7: child protection 2 List 8: children in care 1 On more than one list 2/);
    await confirm(preview);
    const rows = await t.db.selectFrom('children').select(['external_id', 'legal_status']).where('external_id', 'like', 'AX-%').orderBy('external_id').execute();
    expect(rows).toEqual([
      { external_id: 'AX-1', legal_status: 'cin' },
      { external_id: 'AX-2', legal_status: 'cp' },
      { external_id: 'AX-3', legal_status: 'child_in_care' },
    ]);
    const team = await t.db.selectFrom('children').select('allocated_team_id').where('external_id', '=', 'AX-3').executeTakeFirstOrThrow();
    expect(team.allocated_team_id).toBe(council.teams.careTeam.id);
  });

  it('refuses an upload that is not a CSV or XLSX file, naming the field', async () => {
    await coordinator.get('/children/imports/new');
    const response = await coordinator.upload('/children/imports', { field: 'file', filename: 'notes.txt', content: 'hello' }, { closeMissing: 'yes' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('href="#file"');
    expect(pageText(response.body)).toContain('The selected file must be a CSV or XLSX file');
  });

  it('answers a cut-off upload with a clear 400 and keeps no part of it', async () => {
    await coordinator.get('/children/imports/new');
    const boundary = '----assurecut';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\nContent-Type: text/csv\r\n\r\n${GOOD}\r\nLCS-5,ZZ,`;
    const response = await t.app.inject({
      method: 'POST',
      url: '/children/imports',
      payload: head,
      headers: { 'x-csrf-token': coordinator.csrfToken, 'content-type': `multipart/form-data; boundary=${boundary}`, cookie: [...coordinator.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    expect(response.statusCode).toBe(400);
    expect(pageText(response.body)).toContain('The upload stopped before the whole file arrived');
    expect(uploadsLeft()).toEqual([]);
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
    const childPage = await auditor.get(`/children/${lcs1.id}`);
    expect(childPage.statusCode).toBe(200);
    expect(pageText(childPage.body)).toMatch(/Last changed By the import of [\w.-]+\.csv \(Quinn QA\) on /);
    const views = await t.db.selectFrom('activity_log').selectAll().where('child_id', '=', lcs1.id).where('action', '=', 'view').execute();
    expect(views).toHaveLength(1);
    expect(views[0]!.user_id).toBe(council.users.auditor.id);
  });

  it('imports through the API with the same rules: a dry run, an explicit flag to close, a confirmation', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'test' });
    const auth = { authorization: `Bearer ${token}` };
    const before = await countChildren();
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/children/imports', headers: { ...auth, 'content-type': 'text/csv' }, payload: BAD });
    expect(bad.statusCode, bad.body).toBe(422);
    expect(bad.json().errors).toContainEqual(expect.objectContaining({ row: 3, column: 'Initials', value: 'John Smith' }));
    expect(await countChildren()).toBe(before);

    const file = 'Case ID,Initials,Legal status\nAPI-1,QQ,Early Help\n';
    const dryRun = await t.app.inject({ method: 'POST', url: '/api/v1/children/imports?dryRun=true&closeMissing=true', headers: { ...auth, 'content-type': 'text/csv' }, payload: file });
    expect(dryRun.statusCode, dryRun.body).toBe(200);
    expect(dryRun.json()).toMatchObject({ status: 'staged', preview: { adds: 1, closes: before, closesMany: true } });
    expect(await countChildren()).toBe(before);

    const updateOnly = await t.app.inject({ method: 'POST', url: '/api/v1/children/imports', headers: { ...auth, 'content-type': 'text/csv' }, payload: file });
    expect(updateOnly.statusCode, updateOnly.body).toBe(201);
    expect(updateOnly.json()).toMatchObject({ status: 'succeeded', created: 1, closed: 0 });
    const list = await t.app.inject({ url: '/api/v1/children?search=API-', headers: auth });
    expect(list.json()).toMatchObject({ total: 1, children: [{ externalId: 'API-1', legalStatus: 'early_help' }] });
    const openBefore = (await openIds()).length;

    const refused = await t.app.inject({ method: 'POST', url: '/api/v1/children/imports?closeMissing=true', headers: { ...auth, 'content-type': 'text/csv' }, payload: file });
    expect(refused.json()).toMatchObject({ status: 'discarded', closed: 0 });
    expect(refused.json().message).toContain(`would close ${openBefore - 1} of the ${openBefore} open children`);
    expect((await openIds()).length).toBe(openBefore);

    const practitionerToken = await createApiToken(t.db, { userId: council.users.practitioner.id, organisationId: council.organisation.id, name: 'test' });
    expect((await t.app.inject({ url: '/api/v1/children', headers: { authorization: `Bearer ${practitionerToken}` } })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/api/v1/children' })).statusCode).toBe(401);
  });

  it('applies an API dry run exactly as previewed when it is confirmed', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'test' });
    const auth = { authorization: `Bearer ${token}` };
    const staged = await t.app.inject({
      method: 'POST',
      url: '/api/v1/children/imports?dryRun=true',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: 'Case ID,Initials,Legal status\nAPI-2,RR,CIN\n',
    });
    const { importId } = staged.json();
    expect(staged.json()).toMatchObject({ status: 'staged', preview: { adds: 1, updates: 0, closes: 0 } });
    expect(await t.db.selectFrom('children').select('id').where('external_id', '=', 'API-2').executeTakeFirst()).toBeUndefined();
    const confirmed = await t.app.inject({ method: 'POST', url: `/api/v1/children/imports/${importId}/confirm`, headers: auth });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    expect(confirmed.json()).toMatchObject({ status: 'succeeded', created: 1, closed: 0 });
    expect(await t.db.selectFrom('children').select('id').where('external_id', '=', 'API-2').executeTakeFirst()).toBeDefined();
    const twice = await t.app.inject({ method: 'POST', url: `/api/v1/children/imports/${importId}/confirm`, headers: auth });
    expect(twice.statusCode).toBe(409);
  });

  it.runIf(driver === 'pglite')('refuses an API file over 200 MB in one sentence, keeping none of it', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'test' });
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 1;
        this.push(sent <= 201 ? chunk : null);
      },
    });
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/children/imports', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/^The selected file is larger than 200 MB, the most Assure accepts/);
    expect(uploadsLeft()).toEqual([]);
  }, 60_000);

  it('keeps text with backslashes, tabs and quotes exactly as written, so the same file again changes nothing', async () => {
    const content = [
      'Case ID,Initials,Ethnicity,Legal status,Main referral factors',
      'ESC-1,AB,"Mixed \\ Other\tTab",CIN,"Domestic abuse; ""Neglect"" \\N"',
      'ESC-2,CD,\\N,CP,',
    ].join('\r\n');
    await confirm(await upload('escapes.csv', content));
    const rows = await t.db.selectFrom('children').select(['external_id', 'ethnicity', 'referral_factors']).where('external_id', 'like', 'ESC-%').orderBy('external_id').execute();
    expect(rows).toEqual([
      { external_id: 'ESC-1', ethnicity: 'Mixed \\ Other\tTab', referral_factors: ['Domestic abuse', '"Neglect" \\N'] },
      { external_id: 'ESC-2', ethnicity: '\\N', referral_factors: [] },
    ]);
    const again = await upload('escapes.csv', content);
    expect(pageText(again.body)).toContain('This import adds 0, updates 0.');
  });

  it('keeps what a file has no column for: a narrower extract changes what it carries and clears nothing else, by the page and by the API', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'test' });
    const post = (payload: string) => t.app.inject({ method: 'POST', url: '/api/v1/children/imports', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, payload });
    const full = ['Case ID,Initials,Date of birth,Gender,Ethnicity,Legal status,Allocated worker,Open date', 'NARROW-1,AB,03/04/2015,M,WBRI,CIN,Wes Worker,01/02/2024', 'NARROW-2,CD,05/06/2016,F,BAFR,CP,Wes Worker,01/03/2024'].join('\n');
    expect((await post(full)).json()).toMatchObject({ status: 'succeeded', created: 2 });
    const register = () =>
      t.db
        .selectFrom('children')
        .select(['external_id', 'initials', 'date_of_birth', 'gender', 'ethnicity', 'legal_status', 'allocated_worker_id', 'open_date'])
        .where('external_id', 'like', 'NARROW-%')
        .orderBy('external_id')
        .execute();
    const before = await register();

    // By the page: only case ID, initials and legal status. NARROW-1's initials change; nothing else is touched.
    const narrow = ['Case ID,Initials,Legal status', 'NARROW-1,AZ,CIN', 'NARROW-2,CD,CP'].join('\n');
    const preview = await upload('narrow.csv', narrow);
    expect(pageText(preview.body)).toContain('This import adds 0, updates 1.');
    await confirm(preview);
    expect(await register()).toEqual([{ ...before[0], initials: 'AZ' }, before[1]]);

    // By the API (on PostgreSQL, the copy's own transaction): only the legal status changes; the same file again changes nothing.
    const statusOnly = ['Case ID,Legal status', 'NARROW-1,CP', 'NARROW-2,CP'].join('\n');
    expect((await post(statusOnly)).json()).toMatchObject({ status: 'succeeded', created: 0, updated: 1 });
    expect(await register()).toEqual([{ ...before[0], initials: 'AZ', legal_status: 'cp' }, before[1]]);
    expect((await post(statusOnly)).json()).toMatchObject({ status: 'succeeded', created: 0, updated: 0 });

    // A column that is there but empty still says "none": the worker is cleared.
    expect((await post(['Case ID,Legal status,Allocated worker', 'NARROW-2,CP,'].join('\n'))).json()).toMatchObject({ status: 'succeeded', updated: 1 });
    expect((await register())[1]).toEqual({ ...before[1], allocated_worker_id: null });
  });

  it('a re-import sets back a child changed since, and follows a team name to the team that now has it', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'test' });
    const post = async (payload: string) =>
      (await t.app.inject({ method: 'POST', url: '/api/v1/children/imports', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, payload })).json();
    const file = ['Case ID,Initials,Legal status,Allocated worker,Allocated team', 'SAME-1,AB,CIN,Wes Worker,North Unit 2', 'SAME-2,CD,CP,Wes Worker,North Unit 2', 'SAME-3,EF,CIN,,North Unit 1'].join('\n');
    const register = () =>
      t.db.selectFrom('children').select(['external_id', 'initials', 'allocated_team_id', 'version']).where('external_id', 'like', 'SAME-%').orderBy('external_id').execute();
    expect(await post(file)).toMatchObject({ status: 'succeeded', created: 3, updated: 0 });
    const imported = await register();
    expect(imported.map((child) => child.allocated_team_id)).toEqual([council.teams.unit2.id, council.teams.unit2.id, council.teams.unit1.id]);
    // The file again: nothing changes, nothing is written.
    expect(await post(file)).toMatchObject({ status: 'succeeded', created: 0, updated: 0 });
    expect(await register()).toEqual(imported);

    // A child changed since by something else (its version moves on): its row is read again and sets it back.
    await t.db.updateTable('children').set({ initials: 'ZZ', version: sql`version + 1` }).where('external_id', '=', 'SAME-1').execute();
    expect(await post(file)).toMatchObject({ status: 'succeeded', created: 0, updated: 1 });
    expect((await register())[0]).toMatchObject({ initials: 'AB' });

    // "North Unit 2" now names another team: the same cells read differently, and the children follow the name.
    await t.db.updateTable('teams').set({ name: 'North Unit 2 (closed)' }).where('id', '=', council.teams.unit2.id).execute();
    const renamed = await t.db
      .insertInto('teams')
      .values({ organisation_id: council.organisation.id, service_id: council.teams.unit2.service_id, name: 'North Unit 2' })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(await post(file)).toMatchObject({ status: 'succeeded', created: 0, updated: 2 });
    expect((await register()).map((child) => child.allocated_team_id)).toEqual([renamed.id, renamed.id, council.teams.unit1.id]);
    expect(await post(file)).toMatchObject({ status: 'succeeded', created: 0, updated: 0 });
  });

  it('imports through the API in one go as it previews: every problem listed, a child written only when it changes, each change on its activity log', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'test' });
    const post = (payload: string) => t.app.inject({ method: 'POST', url: '/api/v1/children/imports', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, payload });
    const header = 'Case ID,Initials,Date of birth,Gender,Legal status,Allocated worker,Open date,Close date';
    const faulty = await post([header, 'ONE-1,AB,03/04/2015,a) Male,CIN,Wes Worker,01/02/2024,', 'ONE-2,CD,2016-05-06,F,CP,,01/03/2024,01/02/2024', 'ONE-1,EF,03/04/2015,M,CIN,,,'].join('\n'));
    expect(faulty.statusCode, faulty.body).toBe(422);
    expect(faulty.json().errors).toEqual([
      expect.objectContaining({ row: 3, column: 'Close date', reason: 'close date is before the open date (01/03/2024)' }),
      expect.objectContaining({ row: 4, column: 'Case ID', reason: 'duplicate of row 2' }),
    ]);
    expect(await t.db.selectFrom('children').select('id').where('external_id', 'like', 'ONE-%').execute()).toEqual([]);

    const first = [header, 'ONE-1,AB,03/04/2015,a) Male,CIN,Wes Worker,01/02/2024,', 'ONE-2,CD,2016-05-06,F,CP,,01/03/2024,'].join('\n');
    expect((await post(first)).json()).toMatchObject({ status: 'succeeded', created: 2, updated: 0 });
    const register = () =>
      t.db.selectFrom('children').select(['external_id', 'initials', 'date_of_birth', 'gender', 'allocated_worker_id', 'open_date', 'version']).where('external_id', 'like', 'ONE-%').orderBy('external_id').execute();
    expect(await register()).toEqual([
      { external_id: 'ONE-1', initials: 'AB', date_of_birth: '2015-04-03', gender: 'male', allocated_worker_id: council.staff.worker1.id, open_date: '2024-02-01', version: 1 },
      { external_id: 'ONE-2', initials: 'CD', date_of_birth: '2016-05-06', gender: 'female', allocated_worker_id: null, open_date: '2024-03-01', version: 1 },
    ]);

    // ONE-1 changes its initials, ONE-2 is as it was, ONE-3 is new: only ONE-1 is written again.
    const second = [header, 'ONE-1,AZ,03/04/2015,a) Male,CIN,Wes Worker,01/02/2024,', 'ONE-2,CD,2016-05-06,F,CP,,01/03/2024,', 'ONE-3,GH,,,CIN,,,'].join('\n');
    expect((await post(second)).json()).toMatchObject({ status: 'succeeded', created: 1, updated: 1 });
    expect((await register()).map((row) => [row.external_id, row.initials, row.version])).toEqual([['ONE-1', 'AZ', 2], ['ONE-2', 'CD', 1], ['ONE-3', 'GH', 1]]);
    expect((await post(second)).json()).toMatchObject({ status: 'succeeded', created: 0, updated: 0 });
    expect((await register()).map((row) => row.version)).toEqual([2, 1, 1]);

    const admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
    const imports = async (caseId: string) => {
      const body = /<tbody[\s\S]*?<\/tbody>/.exec((await admin.get(`/activity?caseId=${caseId}`)).body)?.[0] ?? '';
      return pageText(body).match(/\d+ rows: \d+ created, \d+ updated, \d+ closed/g) ?? [];
    };
    expect(await imports('ONE-1')).toEqual(['3 rows: 1 created, 1 updated, 0 closed', '2 rows: 2 created, 0 updated, 0 closed']);
    expect(await imports('ONE-2')).toEqual(['2 rows: 2 created, 0 updated, 0 closed']);
  });

  it('reads a CSV alike however the database reads it: quoted commas and line breaks, spaces, a blank row, duplicates, a close before the open date', async () => {
    const header = "Child Unique ID,Initials,Date of birth,Gender,Child's Legal Status,Allocated Team,Case open date,Close date";
    const faulty = [
      header,
      'CSV-1, MN ,"01/02/2015",M,CIN,"North Unit 1",2024-01-10,',
      ',,,,,,,',
      'CSV-2,OP,2015-01-01,M,CIN,North Unit 1,2024-03-01,2024-02-01',
      'CSV-1,QR,2015-01-01,M,CIN,North Unit 1,2024-01-10,',
      '"CSV-3","S, T",2015-01-01,M,CIN,"North\nUnit 1",2024-01-10,',
    ].join('\r\n');
    const page = await upload('alike.csv', `\ufeff${faulty}\r\n`);
    expect(pageText(page.body)).toContain('3 problems found. Nothing was imported.');
    const importId = /\/children\/imports\/([0-9a-f-]{36})\/errors\.csv/.exec(page.body)![1];
    const report = await coordinator.get(`/children/imports/${importId}/errors.csv`);
    expect(report.body.replace(/^\ufeff/, '').split('\r\n')).toEqual([
      'Row,Column,Value,Reason',
      '4,Close date,2024-02-01,close date is before the open date (01/03/2024)',
      '5,Child Unique ID,CSV-1,duplicate of row 2',
      '6,Initials,"S, T","letters only, e.g. ""JS"""',
      '',
    ]);
    expect(await t.db.selectFrom('children').select('id').where('external_id', 'like', 'CSV-%').execute()).toEqual([]);

    const fixed = [header, 'CSV-1, MN ,"01/02/2015",M,CIN,"North Unit 1",2024-01-10,', ',,,,,,,', '"CSV-3","ST",2015-01-01,M,CIN,"North\nUnit 1",2024-01-10,'].join('\r\n');
    await confirm(await upload('alike.csv', `\ufeff${fixed}`));
    const rows = await t.db.selectFrom('children').select(['external_id', 'initials', 'date_of_birth', 'allocated_team_id']).where('external_id', 'like', 'CSV-%').orderBy('external_id').execute();
    expect(rows).toEqual([
      { external_id: 'CSV-1', initials: 'MN', date_of_birth: '2015-02-01', allocated_team_id: council.teams.unit1.id },
      { external_id: 'CSV-3', initials: 'ST', date_of_birth: '2015-01-01', allocated_team_id: council.teams.unit1.id },
    ]);

    // A quote inside an unquoted field: PostgreSQL would read it, the extract reader refuses it, so it is refused.
    const stray = await upload('stray.csv', [header, 'CSV-4,UV,2015-01-01,M,CIN,North "Unit" 1,2024-01-10,'].join('\n'));
    expect(pageText(stray.body)).toMatch(/could not be read as CSV/);
  });
});
