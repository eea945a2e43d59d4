import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { holidayCalendarFor } from '../src/modules/org/calendar.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/** A small file in the gov.uk format with the 2029 Easter bank holidays in every division. */
function file2029(overrides: (file: any) => void = () => {}) {
  const events = (withEasterMonday: boolean) => [
    { title: 'New Year’s Day', date: '2029-01-01', notes: '', bunting: true },
    { title: 'Good Friday', date: '2029-03-30', notes: '', bunting: false },
    ...(withEasterMonday ? [{ title: 'Easter Monday', date: '2029-04-02', notes: '', bunting: true }] : []),
  ];
  const file: any = {
    'england-and-wales': { division: 'england-and-wales', events: events(true) },
    scotland: { division: 'scotland', events: events(false) },
    'northern-ireland': { division: 'northern-ireland', events: events(true) },
  };
  overrides(file);
  return JSON.stringify(file, null, 2);
}

describe.each(testDrivers())('bank holidays of an organisation on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let org: string;
  let toolId: string;
  let coordinator: Principal;
  const admin = () => clients.admin;
  const clients: Record<'admin' | 'lead', TestClient> = {} as never;

  let children = 0;
  /** The due date of an audit allocated on `today`: each of a new child, as a child has one open audit with a tool at a time. */
  const dueOn = async (today: string) => {
    children += 1;
    const childId = (await createChild(t.db, org, { externalId: `BH-${children}`, initials: 'BH', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id })).id;
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId, toolId, auditorId: council.staff.manager1.id }, { today });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    return outcome.audit.dueOn;
  };
  const division = async () => (await t.db.selectFrom('organisations').select('bank_holiday_division').where('id', '=', org).executeTakeFirstOrThrow()).bank_holiday_division;
  const fileCount = async () => Number((await t.db.selectFrom('bank_holiday_files').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const logged = (recordType: string) => t.db.selectFrom('activity_log').select(['action', 'summary', 'user_id']).where('record_type', '=', recordType).execute();

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    org = council.organisation.id;
    toolId = (await createAuditTool(t.db, org, { key: 'case-file', name: 'Case file audit', edition: '1' })).toolId;
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    clients.admin = new TestClient(t.app);
    await clients.admin.signIn(council.users.administrator.email, PASSWORD);
    clients.lead = new TestClient(t.app);
    await clients.lead.signIn(council.users.qa_lead.email, PASSWORD);
  }, 120_000);
  afterAll(async () => t?.close());

  it('uses the bundled bank holidays of England and Wales until told otherwise', async () => {
    expect(await division()).toBe('england-and-wales');
    const overview = await admin().get('/organisation');
    expect(overview.body).toContain('href="/organisation/bank-holidays"');
    const page = await admin().get('/organisation/bank-holidays');
    expect(page.statusCode).toBe(200);
    const text = pageText(page.body);
    expect(text).toContain('Bank holidays of England and Wales');
    expect(text).toContain('Years covered 2018 to 2028');
    expect(text).toContain('The file bundled with Assure');
    expect(page.body).toMatch(/value="england-and-wales" checked/);
    // Wednesday 30 December 2026: New Year's Day on the Friday.
    expect(await dueOn('2026-12-30')).toBe('2027-01-14');
  });

  it('changes the division, and the due date of a new allocation follows it', async () => {
    await admin().get('/organisation/bank-holidays');
    const saved = await admin().post('/organisation/bank-holidays', { division: 'scotland', shown: 'england-and-wales' });
    expect(saved.statusCode).toBe(303);
    expect(saved.headers.location).toBe('/organisation/bank-holidays?done=division-saved');
    expect(await division()).toBe('scotland');
    const page = pageText((await admin().get('/organisation/bank-holidays?done=division-saved')).body);
    expect(page).toContain('Bank holidays changed');
    expect(page).toContain('Bank holidays of Scotland');
    // In Scotland 2 January 2027, a Saturday, moves to Monday 4 January: one more day.
    expect(await dueOn('2026-12-30')).toBe('2027-01-15');
    expect((await holidayCalendarFor(t.db, org)).has('2026-11-30')).toBe(true);
    expect(await logged('organisation')).toEqual([
      { action: 'update', summary: 'bank holidays of Scotland in use, instead of England and Wales', user_id: council.users.administrator.id },
    ]);

    // A form opened before that change is stale: nothing is saved and the current division is shown.
    const stale = await admin().post('/organisation/bank-holidays', { division: 'northern-ireland', shown: 'england-and-wales' });
    expect(stale.statusCode).toBe(409);
    expect(pageText(stale.body)).toContain('Someone else changed the bank holidays used since you opened this page');
    expect(stale.body).toMatch(/value="scotland" checked/);
    expect(await division()).toBe('scotland');

    const unknown = await admin().post('/organisation/bank-holidays', { division: 'wales', shown: 'scotland' });
    expect(unknown.statusCode).toBe(400);
    expect(pageText(unknown.body)).toContain('There is a problem Choose whose bank holidays are not working days');
    expect(await division()).toBe('scotland');

    await admin().get('/organisation/bank-holidays');
    expect((await admin().post('/organisation/bank-holidays', { division: 'northern-ireland', shown: 'scotland' })).statusCode).toBe(303);
    expect((await holidayCalendarFor(t.db, org)).has('2027-03-17')).toBe(true);
    expect((await admin().post('/organisation/bank-holidays', { division: 'england-and-wales', shown: 'northern-ireland' })).statusCode).toBe(303);
    expect(await dueOn('2026-12-30')).toBe('2027-01-14');
    expect(await logged('organisation')).toHaveLength(3);
  });

  it('refuses a file with problems, naming each by its path, and saves nothing', async () => {
    await admin().get('/organisation/bank-holidays');
    const bad = file2029((file) => {
      file['england-and-wales'].events[1].date = '2029-02-30';
      delete file.scotland;
      file['northern-ireland'].events = [];
    });
    const refused = await admin().upload('/organisation/bank-holidays/file', { field: 'file', filename: 'bank-holidays.json', content: bad, contentType: 'application/json' });
    expect(refused.statusCode).toBe(400);
    const text = pageText(refused.body);
    expect(text).toContain('There is a problem bank-holidays.json is not a gov.uk bank holidays file. Nothing was loaded');
    expect(text).toContain('england-and-wales.events[1].date: expected a real date written as YYYY-MM-DD, not "2029-02-30"');
    expect(text).toContain('scotland: missing: the file must have the bank holidays of Scotland');
    expect(text).toContain('northern-ireland.events: the list of events is empty');
    expect(refused.body).toContain('href="#file"');

    const notJson = await admin().upload('/organisation/bank-holidays/file', { field: 'file', filename: 'holidays.json', content: '{"england-and-wales": ' });
    expect(notJson.statusCode).toBe(400);
    expect(pageText(notJson.body)).toContain('the file: not JSON');

    const none = await admin().upload('/organisation/bank-holidays/file', { field: 'file', filename: '', content: '' });
    expect(none.statusCode).toBe(400);
    expect(pageText(none.body)).toContain('Select a bank-holidays.json file');

    expect(await fileCount()).toBe(0);
    expect(await logged('bank_holiday_file')).toEqual([]);
    expect(pageText((await admin().get('/organisation/bank-holidays')).body)).toContain('Years covered 2018 to 2028');
  });

  it('loads a newer file: allocation across its bank holidays skips them, and the bundled years still count', async () => {
    // Wednesday 28 March 2029: beyond the bundled file, Good Friday and Easter Monday are working days.
    expect(await dueOn('2029-03-28')).toBe('2029-04-11');
    await admin().get('/organisation/bank-holidays');
    const loaded = await admin().upload('/organisation/bank-holidays/file', { field: 'file', filename: 'bank-holidays.json', content: file2029(), contentType: 'application/json' });
    expect(loaded.statusCode).toBe(303);
    expect(loaded.headers.location).toBe('/organisation/bank-holidays?done=bank-holidays-loaded');
    expect(await dueOn('2029-03-28')).toBe('2029-04-13');
    // The file lists only 2029: Christmas 2026 and New Year 2027 still come from the bundled file.
    expect(await dueOn('2026-12-21')).toBe('2027-01-07');

    const text = pageText((await admin().get('/organisation/bank-holidays?done=bank-holidays-loaded')).body);
    expect(text).toContain('Bank holidays file loaded');
    expect(text).toContain('Years covered 2018 to 2029');
    expect(text).toContain('bank-holidays.json, loaded by Ada Admin on');
    expect(text).toContain('The file bundled with Assure for the years it does not list (2018 to 2028)');

    const row = await t.db.selectFrom('bank_holiday_files').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ organisation_id: org, loaded_by: council.users.administrator.id, file_name: 'bank-holidays.json', first_date: '2029-01-01', last_date: '2029-04-02' });
    expect((row.content as any).scotland.events).toHaveLength(2);
    expect(await logged('bank_holiday_file')).toEqual([
      { action: 'import', summary: 'bank holidays file bank-holidays.json loaded, 2029-01-01 to 2029-04-02', user_id: council.users.administrator.id },
    ]);

    // The newest file is the one used: a later file without Easter Monday 2029 replaces it.
    const later = file2029((file) => {
      file['england-and-wales'].events.pop();
    });
    expect((await admin().upload('/organisation/bank-holidays/file', { field: 'file', filename: 'newer.json', content: later })).statusCode).toBe(303);
    expect(await dueOn('2029-03-28')).toBe('2029-04-12');
    expect(pageText((await admin().get('/organisation/bank-holidays')).body)).toContain('newer.json, loaded by Ada Admin');
  });

  it('refuses anyone who may not manage the organisation', async () => {
    const page = await clients.lead.get('/organisation/bank-holidays');
    expect(page.statusCode).toBe(403);
    const before = await division();
    const post = await clients.lead.post('/organisation/bank-holidays', { division: 'scotland', shown: before });
    expect(post.statusCode).toBe(403);
    const upload = await clients.lead.upload('/organisation/bank-holidays/file', { field: 'file', filename: 'bank-holidays.json', content: file2029() });
    expect(upload.statusCode).toBe(403);
    expect(await division()).toBe(before);
    expect(await fileCount()).toBe(2);
    expect((await clients.lead.get('/organisation')).body).not.toContain('href="/organisation/bank-holidays"');
  });
});
