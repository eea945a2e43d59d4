import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditStatus } from '../src/db/types.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { createUser, createStaff } from '../src/modules/org/service.ts';
import { runDailyReminders } from '../src/modules/reminders/service.ts';
import { fixedClock } from '../src/platform/clock.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { docxText } from './support/documents.ts';
import { pageText, TestClient } from './support/client.ts';

/**
 * The schedule of expectations, edited through its page, and compliance with it against a hand
 * count. Today is 15 July 2026; the report is for Q1 2026–27 (April to June), whose bimonthly
 * windows are April–May and June–July, so audits allocated 1 April to 31 July count.
 *
 * Area Social Work expects 1 case file audit per manager every 2 months; its managers are Tina
 * (North Unit 1) and Ola (North Unit 2). Through Care expects 1 per team each quarter.
 *
 *   a1 Tina, allocated 10 Apr, due 24 Apr, submitted 20 Apr: completed on time   (April–May)
 *   a2 Tina, allocated 5 Jun, due 19 Jun, still in progress: overdue          (June–July)
 *   a3 Ola,  allocated 1 Jul, due 29 Jul, in progress: not yet due            (June–July)
 *   a4 Tina, allocated 20 Mar: before the windows, not counted
 *   a5 Cara's team (Through Care), allocated 2 May, due 16 May, submitted 20 May: late
 *
 * By hand: Tina expected 2, allocated 2, on time 1, overdue 1 → red (overdue).
 *          Ola  expected 2, allocated 1, not yet allocated 1 (April–May ended with nothing) → red.
 *          Area Social Work expected 4, allocated 3, on time 1, overdue 1, not yet allocated 1 → red.
 *          Through Care Team expected 1 (one quarter window, April–June), allocated 1, late 1 → amber.
 */
const TODAY = new Date('2026-07-15T12:00:00Z');

type Planned = { key: string; auditor: 'tina' | 'ola' | 'cara'; allocatedOn: string; dueOn: string; status: AuditStatus; submittedAt?: string };
const PLAN: Planned[] = [
  { key: 'a1', auditor: 'tina', allocatedOn: '2026-04-10', dueOn: '2026-04-24', status: 'in_moderation', submittedAt: '2026-04-20T10:00:00Z' },
  { key: 'a2', auditor: 'tina', allocatedOn: '2026-06-05', dueOn: '2026-06-19', status: 'in_progress' },
  { key: 'a3', auditor: 'ola', allocatedOn: '2026-07-01', dueOn: '2026-07-29', status: 'in_progress' },
  { key: 'a4', auditor: 'tina', allocatedOn: '2026-03-20', dueOn: '2026-04-03', status: 'in_progress' },
  { key: 'a5', auditor: 'cara', allocatedOn: '2026-05-02', dueOn: '2026-05-16', status: 'in_moderation', submittedAt: '2026-05-20T10:00:00Z' },
];

/** The cells of the row whose header starts with `name` in the table with that caption, as text. */
function rowCells(html: string, caption: string, name: string): string[] {
  const table = new RegExp(`<caption[^>]*>\\s*${caption}\\s*</caption>[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  const row = [...table.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((match) => match[1]!).find((body) => pageText(/<th[^>]*>([\s\S]*?)<\/th>/.exec(body)?.[1] ?? '').startsWith(name));
  return [...(row ?? '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((match) => pageText(match[1]!));
}
/** Status, expected, allocated, on time, late, overdue, not yet allocated — the numbers without their hidden words. */
function figures(html: string, caption: string, name: string) {
  const cells = rowCells(html, caption, name);
  return { status: (cells[0] ?? 'missing').replace(/ (Behind|At risk|On track|Nothing expected).*$/, ' $1'), numbers: cells.slice(1).map((cell) => cell.replace(/ .*$/, '')) };
}

function rowForm(index: number, row: Record<string, string | string[]>): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [`rows[${index}][${key}]`, value]));
}
const SAMPLING = { openWithinWeeks: '4', excludeAuditedWithinMonths: '12', excludeOpenAudit: 'yes', varyCaseHolders: 'yes', stratifyLegalStatus: 'yes', auditorFrom: 'own_team' };

describe.each(testDrivers())('the schedule of expectations and compliance on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let lead: TestClient;
  let moderator: TestClient;
  let olaId: string;
  const audits = new Map<string, { id: string; reference: number; externalId: string }>();

  const areaRow = () => ({ service: council.services.area.id, activity: 'case_audit', activityLabel: 'Case file', tool: '', formLabel: 'Case file audit', quantity: '1', per: 'auditor', periodMonths: '2', auditorRoles: ['auditor'], auditorLabel: 'Manager', moderatorRole: 'moderator', moderationLabel: 'Service Manager', selectedBy: 'random', selectionLabel: 'QA SW', ...SAMPLING });
  const careRow = () => ({ ...areaRow(), service: council.services.care.id, per: 'team', periodMonths: '3', selectedBy: 'auditor', selectionLabel: 'Manager' });
  const observationRow = () => ({ ...areaRow(), activity: 'observation', activityLabel: 'Observation', moderatorRole: '', selectedBy: 'other', selectionLabel: 'Worker/ Manager' });

  beforeAll(async () => {
    t = await createTestApp(driver, {}, fixedClock(TODAY));
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const ola = await createStaff(t.db, { organisationId: org, fullName: 'Ola Manager', jobTitle: 'Team Manager', teamId: council.teams.unit2.id, staffNumber: 'S010', email: 'ola@testshire.example' });
    olaId = ola.id;
    await createUser(t.db, { organisationId: org, email: 'ola@testshire.example', displayName: 'Ola Manager', password: PASSWORD, staffId: ola.id, grants: [{ role: 'auditor', scope: 'team' }] });
    const tool = await createAuditTool(t.db, org);
    const who = { tina: council.staff.manager1.id, ola: ola.id, cara: council.staff.careWorker.id };
    const teamOf = { tina: council.teams.unit1, ola: council.teams.unit2, cara: council.teams.careTeam };
    for (const row of PLAN) {
      const team = teamOf[row.auditor];
      const child = await createChild(t.db, org, { externalId: `PRG-${row.key}`, initials: 'AB', teamId: team.id });
      const created = await createAudit(t.db, {
        organisationId: org,
        childId: child.id,
        toolEditionId: tool.editionId,
        auditorId: who[row.auditor],
        teamId: team.id,
        serviceId: team.service_id,
        status: row.status,
        allocatedOn: row.allocatedOn,
        due: row.dueOn,
        submittedAt: row.submittedAt ?? null,
      });
      audits.set(row.key, { ...created, externalId: `PRG-${row.key}` });
    }
    lead = new TestClient(t.app);
    await lead.signIn(council.users.qa_lead.email, PASSWORD);
    moderator = new TestClient(t.app);
    await moderator.signIn(council.users.moderator.email, PASSWORD);
    // Eight argon2 password hashes and two sign-ins: slow on a loaded machine.
  }, 240_000);
  afterAll(async () => t?.close());

  it('refuses a schedule with a wrong row, naming the field and the row, and saves nothing', async () => {
    await lead.get('/programme/schedule/edit');
    const response = await lead.post('/programme/schedule/edit', {
      basedOn: '',
      appliesFrom: '1/4/2026',
      note: 'Kept after the error',
      ...rowForm(0, areaRow()),
      ...rowForm(1, { ...careRow(), quantity: 'lots' }),
      action: 'save',
    });
    expect(response.statusCode).toBe(400);
    const text = pageText(response.body);
    expect(text).toContain('Row 2: How many must be a whole number, like 1');
    expect(response.body).toContain('href="#rows.1.quantity"');
    expect(response.body).toContain('Kept after the error');
    const versions = await t.db.selectFrom('programme_schedule_versions').select('id').execute();
    expect(versions).toHaveLength(0);
  });

  it('adds a row without saving, then saves the table as a version; an observation row says "not yet in Assure"', async () => {
    await lead.get('/programme/schedule/edit');
    const added = await lead.post('/programme/schedule/edit', { basedOn: '', appliesFrom: '1/4/2026', ...rowForm(0, areaRow()), ...rowForm(1, careRow()), action: 'add-row' });
    expect(added.statusCode).toBe(200);
    expect(pageText(added.body)).toContain('Row 3');
    expect(await t.db.selectFrom('programme_schedule_versions').select('id').execute()).toHaveLength(0);

    const saved = await lead.post('/programme/schedule/edit', { basedOn: '', appliesFrom: '1/4/2026', note: 'Bristol Appendix 1', ...rowForm(0, areaRow()), ...rowForm(1, careRow()), ...rowForm(2, observationRow()), action: 'save' });
    expect(saved.statusCode).toBe(303);
    const page = await lead.get(String(saved.headers.location));
    const text = pageText(page.body);
    expect(text).toContain('In force: version applying from 1 April 2026');
    expect(text).toContain('1 per auditor every 2 months');
    expect(text).toContain('Not yet in Assure');
    const logged = await t.db.selectFrom('activity_log').select('summary').where('record_type', '=', 'programme_schedule').execute();
    expect(logged.map((row) => row.summary)).toEqual(['schedule of expectations: a new version of 3 rows applying from 2026-04-01']);
  });

  it('refuses a save from a page opened before another version was saved, keeping the text', async () => {
    await lead.get('/programme/schedule/edit');
    const stale = await lead.post('/programme/schedule/edit', { basedOn: '', appliesFrom: '1/5/2026', note: 'My stale change', ...rowForm(0, areaRow()), action: 'save' });
    expect(stale.statusCode).toBe(409);
    expect(pageText(stale.body)).toContain('Someone saved a new version of the schedule after you opened this page');
    expect(stale.body).toContain('My stale change');
    expect(await t.db.selectFrom('programme_schedule_versions').select('id').execute()).toHaveLength(1);
  });

  it('counts compliance for the quarter by hand: per service, team and auditor, with red, amber and the words', async () => {
    const response = await lead.get('/programme/compliance?period=q:2026-1');
    expect(response.statusCode).toBe(200);
    const html = response.body;
    // status, expected, allocated, on time, late, overdue, not yet allocated
    expect(figures(html, 'By auditor', 'Tina Manager')).toEqual({ status: 'Red: Behind', numbers: ['2', '2', '1', '0', '1', '0'] });
    expect(figures(html, 'By auditor', 'Ola Manager')).toEqual({ status: 'Red: Behind', numbers: ['2', '1', '0', '0', '0', '1'] });
    expect(rowCells(html, 'By auditor', 'Ola Manager')[0]).toContain('1 period ended with fewer audits completed than expected');
    expect(figures(html, 'By service', 'Area Social Work')).toEqual({ status: 'Red: Behind', numbers: ['4', '3', '1', '0', '1', '1'] });
    expect(figures(html, 'By team', 'North Unit 1')).toEqual({ status: 'Red: Behind', numbers: ['2', '2', '1', '0', '1', '0'] });
    expect(figures(html, 'By team', 'Through Care Team')).toEqual({ status: 'Amber: At risk', numbers: ['1', '1', '0', '1', '0', '0'] });
    expect(pageText(html)).toContain('Counted 1 April 2026 to 31 July 2026');
  });

  it("links Tina's allocated and overdue figures to exactly those audits in the tracker", async () => {
    const html = (await lead.get('/programme/compliance?period=q:2026-1')).body;
    const row = new RegExp(`<caption[^>]*>\\s*By auditor\\s*</caption>[\\s\\S]*?</table>`).exec(html)![0];
    const tinaRow = [...row.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((m) => m[1]!).find((body) => body.includes('Tina Manager'))!;
    const links = [...tinaRow.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
    expect(links).toHaveLength(2);
    const [allocated, overdue] = await Promise.all(links.map((href) => lead.get(href)));
    const listed = (body: string) => ['a1', 'a2', 'a3', 'a4', 'a5'].filter((key) => pageText(body).includes(`PRG-${key}`));
    expect(listed(allocated!.body)).toEqual(['a1', 'a2']);
    expect(listed(overdue!.body)).toEqual(['a2']);
  });

  it("shows a service manager their own service only, and the QA lead every service", async () => {
    const mine = (await moderator.get('/programme/compliance?period=q:2026-1')).body;
    expect(rowCells(mine, 'By service', 'Area Social Work').length).toBeGreaterThan(0);
    expect(rowCells(mine, 'By service', 'Through Care')).toEqual([]);
    expect(rowCells(mine, 'By team', 'Through Care Team')).toEqual([]);
    const all = (await lead.get('/programme/compliance?period=q:2026-1')).body;
    expect(rowCells(all, 'By service', 'Through Care').length).toBeGreaterThan(0);
  });

  it('puts the same compliance in the reports, for the same period and reader: tables, summary, links, downloads and the issued report', async () => {
    /** Every row of a table's body as the eye reads it (name, status and figures), by its caption. */
    const rowsOf = (html: string, caption: string) => {
      const table = new RegExp(`<caption[^>]*>\\s*${caption}\\s*</caption>[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
      const body = /<tbody[\s\S]*?<\/tbody>/.exec(table)?.[0] ?? '';
      return [...body.matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)].map((match) => pageText(match[1]!));
    };
    for (const reader of [lead, moderator]) {
      const page = (await reader.get('/programme/compliance?period=q:2026-1')).body;
      const report = (await reader.get('/reports?period=q:2026-1')).body;
      for (const level of ['service', 'team', 'auditor']) {
        const onPage = rowsOf(page, `By ${level}`);
        expect(onPage.length).toBeGreaterThan(0);
        expect(rowsOf(report, `Compliance by ${level}`)).toEqual(onPage);
      }
    }
    const report = (await lead.get('/reports?period=q:2026-1')).body;
    expect(figures(report, 'Compliance by auditor', 'Ola Manager')).toEqual({ status: 'Red: Behind', numbers: ['2', '1', '0', '0', '0', '1'] });
    // The text summary: Area Social Work (red) and Through Care (amber), added up.
    expect(pageText(report)).toContain('Across the 2 services the schedule expects case file audits of, 5 audits were expected; 4 were allocated, 1 completed on time and 1 late, 1 are overdue and 1 not yet allocated.');
    expect(pageText(report)).toContain('Services: 1 red (behind), 1 amber (at risk) and 0 green (on track)');
    // The service manager's report: Area Social Work's lines alone.
    expect(rowsOf((await moderator.get('/reports?period=q:2026-1')).body, 'Compliance by team').map((text) => text.split(' Counted')[0])).toEqual(['North Unit 1 Area Social Work', 'North Unit 2 Area Social Work']);
    // Narrowed to a team: its line and its auditors'.
    const team = (await lead.get(`/reports?period=q:2026-1&team=${council.teams.careTeam.id}`)).body;
    expect(rowsOf(team, 'Compliance by service')).toEqual([expect.stringContaining('The schedule expects nothing here')]);
    expect(rowsOf(team, 'Compliance by team').map((text) => text.split(' ')[0])).toEqual(['Through']);
    // Each linked figure opens the tracker on that many audits.
    const section = /id="compliance"[\s\S]*?id="inadequate"/.exec(report)![0];
    const links = [...section.matchAll(/<a class="govuk-link" href="(\/audits\?[^"]+)">(\d+)</g)].map((match) => ({ href: match[1]!.replaceAll('&amp;', '&'), n: Number(match[2]) }));
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) {
      const shown = /Showing [\d,]+ to [\d,]+ of ([\d,]+)/.exec(pageText((await lead.get(link.href)).body))?.[1];
      expect({ href: link.href, n: Number(shown) }).toEqual(link);
    }
    // The table as CSV, with the status in words.
    const csv = await lead.get('/reports/export.csv?period=q:2026-1&table=compliance-by-auditor');
    expect(csv.statusCode).toBe(200);
    expect(csv.body.split('\r\n')).toContain('Ola Manager,North Unit 2,Area Social Work,Red: Behind,2,1,0,0,0,1,2026-04-01,2026-07-31,Behind: 1 period ended with fewer audits completed than expected');
    expect((await lead.get('/reports/export.xlsx?period=q:2026-1&table=compliance-summary')).statusCode).toBe(200);
    // The quarterly report has the section, with its commentary, in its DOCX.
    await lead.get('/reports/quarterly?period=q:2026-1');
    const issued = await lead.post('/reports/quarterly', { period: 'q:2026-1', _version: '0', action: 'issue', 'commentary-compliance-with-the-schedule': 'Ola has not audited since March.' });
    expect(issued.statusCode).toBe(303);
    const id = /issued=([0-9a-f-]{36})/.exec(String(issued.headers.location))![1]!;
    const docx = await docxText((await lead.get(`/reports/issued/${id}/report.docx`)).rawPayload);
    expect(docx).toMatch(/Compliance with the schedule[\s\S]*Ola has not audited since March\.[\s\S]*Compliance by auditor[\s\S]*Ola Manager[\s\S]*Red: Behind/);
  }, 120_000);

  it('downloads the same figures as CSV and XLSX', async () => {
    const csv = await lead.get('/programme/compliance.csv?period=q:2026-1');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const line = csv.body.split('\r\n').find((text) => text.startsWith('Auditor,Ola Manager'));
    expect(line).toBe('Auditor,Ola Manager,North Unit 2,Area Social Work,2026-04-01,2026-07-31,2,1,0,0,0,1,Red: Behind,Behind: 1 period ended with fewer audits completed than expected');
    const xlsx = await lead.get('/programme/compliance.xlsx?period=q:2026-1');
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe('PK');
  });

  it('reads compliance and the schedule over the API with a token', async () => {
    const token = await createApiToken(t.db, { userId: council.users.qa_coordinator.id, organisationId: council.organisation.id, name: 'programme' });
    const response = await t.app.inject({ url: '/api/v1/programme/compliance?period=q:2026-1', headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { lines: { level: string; id: string; expected: number; allocated: number; overdue: number; rag: string }[] };
    expect(body.lines.find((line) => line.level === 'auditor' && line.id === olaId)).toMatchObject({ expected: 2, allocated: 1, overdue: 0, rag: 'red' });
    const schedule = await t.app.inject({ url: '/api/v1/programme/schedule', headers: { authorization: `Bearer ${token}` } });
    expect((schedule.json() as { versions: { rows: unknown[] }[] }).versions[0]!.rows).toHaveLength(3);
    const practitioner = await createApiToken(t.db, { userId: council.users.practitioner.id, organisationId: council.organisation.id, name: 'no' });
    expect((await t.app.inject({ url: '/api/v1/programme/compliance', headers: { authorization: `Bearer ${practitioner}` } })).statusCode).toBe(403);
  });

  it('shows the quarter on My work for the QA lead and for the service manager, not for a practitioner', async () => {
    expect(pageText((await lead.get('/')).body)).toMatch(/Compliance with the schedule, Q2 2026–27[^]*Red: Behind Area Social Work/);
    const home = pageText((await moderator.get('/')).body);
    expect(home).toContain('Compliance with the schedule');
    expect(home).not.toContain('Through Care:');
    const practitioner = new TestClient(t.app);
    await practitioner.signIn(council.users.practitioner.email, PASSWORD);
    expect(pageText((await practitioner.get('/')).body)).not.toContain('Compliance with the schedule');
  });

  it('shows the QA coordinator on My work the sampling rounds due and those started and not confirmed, with the rounds page', async () => {
    const proposer = await t.db.selectFrom('users').select('id').where('id', '=', council.users.qa_coordinator.id).executeTakeFirstOrThrow();
    const started = await t.db
      .insertInto('programme_rounds')
      .values({ organisation_id: council.organisation.id, period_from: '2026-06-01', period_to: '2026-07-31', status: 'proposed', as_of: '2026-07-10', seed: 7, draw_rows: '[]', snapshot: '{}', proposal: '{}', proposed_by: proposer.id, proposed_at: '2026-07-10T09:00:00Z' })
      .returning('id')
      .executeTakeFirstOrThrow();
    try {
      const coordinator = new TestClient(t.app);
      await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
      const html = (await coordinator.get('/')).body;
      const text = pageText(html).replace(/ ,/g, ',');
      // Today is 15 July: the Area row's June–July round was due on 1 June, its period still runs, and no confirmed round covers it.
      expect(text).toContain('Due and not yet confirmed (1)');
      expect(text).toContain('Overdue Area Social Work: Case file, 1 per auditor every 2 months, for 1 June 2026 to 31 July 2026 — was due 1 June 2026');
      expect(text).toContain('Started and not yet confirmed (1)');
      expect(html).toContain(`href="/programme/rounds/${started.id}"`);
      expect(html).toContain('href="/programme/rounds"');
      expect(text).toContain('Round for 1 June 2026 to 31 July 2026, proposed 10 July 2026');
      // Once confirmed, the round covers the June–July window: nothing is due or waiting any more.
      await t.db.updateTable('programme_rounds').set({ status: 'confirmed', confirmed_at: '2026-07-11T09:00:00Z', confirmed_by: proposer.id }).where('id', '=', started.id).execute();
      const confirmed = pageText((await coordinator.get('/')).body);
      expect(confirmed).not.toContain('Due and not yet confirmed');
      expect(confirmed).not.toContain('Started and not yet confirmed');
      // The service manager does not run rounds.
      expect(pageText((await moderator.get('/')).body)).not.toContain('Sampling rounds');
    } finally {
      await t.db.deleteFrom('programme_rounds').where('id', '=', started.id).execute();
    }
  });

  it('puts the rounds due and the moderation panel on the calendar', async () => {
    const page = await lead.get('/programme/calendar?year=2026');
    await lead.post('/programme/calendar/entries', { kind: 'moderation_panel', title: 'Moderation panel', startsOn: '14/10/2026', endsOn: '', note: '' });
    const wrong = await lead.post('/programme/calendar/entries', { kind: 'practice_week', title: 'Practice week', startsOn: '30/2/2026', endsOn: '' });
    expect(wrong.statusCode).toBe(400);
    expect(pageText(wrong.body)).toContain('First day must be a real date');
    const text = pageText((await lead.get('/programme/calendar?year=2026')).body);
    expect(page.statusCode).toBe(200);
    // The Area row is chosen at random, bimonthly: rounds due 1 April, 1 June, 1 August…; Through Care's manager chooses, so no round.
    expect(text).toMatch(/June 2026 Sampling rounds due Due 1 June 2026 Area Social Work: Case file, 1 per auditor every 2 months/);
    expect(text).not.toMatch(/Through Care: Case file/);
    expect(text).toMatch(/October 2026[^]*Moderation panel ?: Moderation panel, 14 October 2026/);
  });

  it('applies a new version from the window that ends after it: 1 in April–May, then 2 from June', async () => {
    await lead.get('/programme/schedule/edit');
    const basedOn = /name="basedOn" value="([^"]+)"/.exec(lead.lastResponse!.body)![1]!;
    const early = await lead.post('/programme/schedule/edit', { basedOn, appliesFrom: '1/3/2026', ...rowForm(0, areaRow()), action: 'save' });
    expect(early.statusCode).toBe(400);
    expect(pageText(early.body)).toContain('Applies from must be after 1 April 2026');
    const saved = await lead.post('/programme/schedule/edit', { basedOn, appliesFrom: '1/6/2026', ...rowForm(0, { ...areaRow(), quantity: '2' }), ...rowForm(1, careRow()), action: 'save' });
    expect(saved.statusCode).toBe(303);
    const html = (await lead.get('/programme/compliance?period=q:2026-1')).body;
    expect(figures(html, 'By auditor', 'Tina Manager').numbers[0]).toBe('3');
    // Earlier periods keep the version then in force: February–March 2026 had none.
    const before = pageText((await lead.get('/programme/compliance?period=m:2026-03')).body);
    expect(before).toContain('The schedule expects nothing here in this period');
  });

  it('tells the QA coordinator in the daily digest when a sampling round is due, and nobody else', async () => {
    // On Wednesday 29 July the reminder window (two working days) ends on Friday 31 July: the Area
    // row's next round, due Saturday 1 August, is not in it. On Thursday 30 July it is (to Monday 3 August).
    const run = async (day: string) => {
      await runDailyReminders(t.db, { today: day as never, now: new Date(`${day}T08:00:00Z`) });
      const sent = await t.db.selectFrom('email_outbox').select(['to_address', 'subject', 'text_body']).where('dedupe_key', 'like', `digest:%:${day}`).execute();
      return sent.filter((email) => email.text_body.includes('Sampling rounds due'));
    };
    // The June–July round was confirmed (a window started and not done would be named too).
    const proposer = await t.db.selectFrom('users').select('id').where('organisation_id', '=', council.organisation.id).executeTakeFirstOrThrow();
    await t.db
      .insertInto('programme_rounds')
      .values({
        organisation_id: council.organisation.id,
        period_from: '2026-06-01',
        period_to: '2026-07-31',
        status: 'confirmed',
        as_of: '2026-06-01',
        seed: 1,
        draw_rows: '[]',
        snapshot: '{}',
        proposal: '{}',
        proposed_by: proposer.id,
        proposed_at: '2026-06-01T09:00:00Z',
        confirmed_at: '2026-06-01T09:30:00Z',
        confirmed_by: proposer.id,
      })
      .execute();
    expect(await run('2026-07-29')).toEqual([]);
    const sent = await run('2026-07-30');
    expect(sent.map((email) => email.to_address)).toEqual([council.staff.qaOfficer.email]);
    expect(sent[0]!.subject).toContain('1 sampling round due');
    expect(sent[0]!.text_body).toContain('Area Social Work: Case file, 2 per auditor every 2 months, for 1 August 2026 to 30 September 2026');
    expect(sent[0]!.text_body).toContain('Due 1 August 2026');
    // The link opens the rounds page, where the round is started.
    expect(sent[0]!.text_body).toMatch(/Due 1 August 2026\s+\S+\/programme\/rounds\n/);
  });
});
