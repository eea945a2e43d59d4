import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { parse as parseCsv } from 'csv-parse/sync';
import type { AuditStatus, Grade } from '../src/db/types.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { systemClock, ukToday } from '../src/platform/clock.ts';
import { addDays } from '../src/platform/working-days.ts';
import { formatDate } from '../src/platform/views.ts';
import { SORT_KEYS } from '../src/modules/audits/queries.ts';

const STATUSES: AuditStatus[] = ['allocated', 'in_progress', 'returned', 'in_moderation', 'moderated', 'distributed', 'awaiting_feedback', 'closed'];
const GRADES: Grade[] = ['outstanding', 'good', 'requires_improvement', 'inadequate'];
const WITH_AUDITOR: AuditStatus[] = ['allocated', 'in_progress', 'returned'];
const FORMULA_ID = '=1+2';

type TeamKey = 'unit1' | 'unit2' | 'careTeam';
type StaffKey = keyof SmallCouncil['staff'];
type Planned = {
  externalId: string;
  team: TeamKey;
  caseHolder: StaffKey;
  auditor: StaffKey;
  status: AuditStatus;
  allocatedOn: string;
  /** Days from today to the deadline of the stage the audit is in: its "due". */
  dueOffset: number;
  auditorGrade: Grade | null;
  finalGrade: Grade | null;
};

/**
 * Thirty audits: twelve in North Unit 1 (ten of them Wes Worker's cases, audited by Tina
 * Manager), ten in North Unit 2 and eight in the Through Care Team (audited by Quinn QA),
 * across every status, with past and future due dates. The last child's ID looks like a formula.
 */
function plan(): Planned[] {
  return Array.from({ length: 30 }, (_, i) => {
    const team: TeamKey = i < 12 ? 'unit1' : i < 22 ? 'unit2' : 'careTeam';
    const status = STATUSES[i % 8]!;
    const stage = STATUSES.indexOf(status);
    return {
      externalId: i === 29 ? FORMULA_ID : `TRK-${String(i + 1).padStart(2, '0')}`,
      team,
      caseHolder: team === 'unit1' ? (i % 6 === 5 ? 'serviceManager' : 'worker1') : team === 'unit2' ? 'worker2' : 'careWorker',
      auditor: team === 'unit1' ? 'manager1' : 'qaOfficer',
      status,
      allocatedOn: new Date(Date.UTC(2025, 0, 1 + 3 * i)).toISOString().slice(0, 10),
      dueOffset: i % 3 === 0 ? -(i + 1) : i + 5,
      auditorGrade: stage >= 3 ? GRADES[i % 4]! : null,
      finalGrade: stage >= 4 ? GRADES[(i + 1) % 4]! : null,
    };
  });
}

const PLAN = plan();
const ids = (rows: Planned[]) => rows.map((row) => row.externalId).sort();
const isOverdue = (row: Planned) => row.dueOffset < 0 && row.status !== 'closed';
/** The auditor's first deadline of an audit that has moved on: long past, and no longer "due". */
const AUDITOR_DUE_LONG_AGO = -100;

/** The child IDs in the tracker table, in the order shown: the "(ID)" after the initials. */
function shownIds(html: string): string[] {
  const body = /<tbody[\s\S]*?<\/tbody>/.exec(html)?.[0] ?? '';
  return [...body.matchAll(/<th scope="row"[^>]*>([\s\S]*?)<\/th>/g)].map((match) => /\((.*)\)$/.exec(pageText(match[1]!))?.[1] ?? '?');
}

describe.each(testDrivers())('audit tracker on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const clients: Record<'coordinator' | 'auditor' | 'practitioner' | 'moderator', TestClient> = {} as never;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const tool = await createAuditTool(t.db, org);
    for (const [i, row] of PLAN.entries()) {
      const team = council.teams[row.team];
      const child = await createChild(t.db, org, { externalId: row.externalId, initials: `C${String.fromCharCode(65 + (i % 26))}`, teamId: team.id });
      const stage = STATUSES.indexOf(row.status);
      await createAudit(t.db, {
        organisationId: org,
        childId: child.id,
        toolEditionId: tool.editionId,
        auditorId: council.staff[row.auditor].id,
        caseHolderId: council.staff[row.caseHolder].id,
        teamId: team.id,
        serviceId: team.service_id,
        status: row.status,
        allocatedOn: row.allocatedOn,
        // With the auditor, their deadline is the stage's; after, each stage has its own, and a closed audit none.
        due: WITH_AUDITOR.includes(row.status) ? row.dueOffset : AUDITOR_DUE_LONG_AGO,
        stageDue: row.status === 'closed' ? null : row.dueOffset,
        submittedAt: stage >= 3 ? `${row.allocatedOn}T10:00:00Z` : null,
        moderatedAt: stage >= 4 ? `${row.allocatedOn}T15:00:00Z` : null,
        auditorGrade: row.auditorGrade,
        finalGrade: row.finalGrade,
      });
    }
    const signedIn = async (email: string) => {
      const client = new TestClient(t.app);
      await client.signIn(email, PASSWORD);
      return client;
    };
    clients.coordinator = await signedIn(council.users.qa_coordinator.email);
    clients.auditor = await signedIn(council.users.auditor.email);
    clients.practitioner = await signedIn(council.users.practitioner.email);
    clients.moderator = await signedIn(council.users.moderator.email);
  }, 120_000);
  afterAll(async () => t?.close());

  it('shows a QA coordinator every audit of the organisation, 25 to a page', async () => {
    const first = await clients.coordinator.get('/audits');
    expect(first.statusCode).toBe(200);
    expect(pageText(first.body)).toContain('Showing 1 to 25 of 30 audits');
    const second = await clients.coordinator.get('/audits?page=2');
    expect(pageText(second.body)).toContain('Showing 26 to 30 of 30 audits');
    expect([...shownIds(first.body), ...shownIds(second.body)].sort()).toEqual(ids(PLAN));
    expect(first.body).toContain('href="/audits?page=2"');
  });

  it('shows each audit with its labels, dates and grades', async () => {
    // TRK-04: in moderation, allocated and submitted 10 January 2025, graded Inadequate by the auditor.
    const page = await clients.coordinator.get('/audits?status=in_moderation');
    const text = pageText(page.body);
    // The columns that matter first: reference, child, status, due (with its stage), auditor, grade.
    expect(text).toMatch(/\d+ CD \(TRK-04\) In moderation \d+ \w+ \d{4} \(moderation\) Overdue Tina Manager Inadequate \(auditor's, not moderated\) Case file audit \(edition 2026\.1\) North Unit 1 10 January 2025/);
  });

  it('shows as due the deadline of the stage each audit is in, naming the stage, on the page, in the exports and the API', async () => {
    // TRK-12 is in moderation: its moderation is due in 16 days; the auditor's deadline passed long ago and is not "due".
    const trk12 = PLAN.find((row) => row.externalId === 'TRK-12')!;
    expect(trk12).toMatchObject({ status: 'in_moderation', dueOffset: 16 });
    // Calendar days from today's UK date: not 24-hour steps, which cross a change of the clocks.
    const stageDue = addDays(ukToday(systemClock), trk12.dueOffset);
    const auditorDue = addDays(ukToday(systemClock), AUDITOR_DUE_LONG_AGO);
    // A QA lead, so the coordinator's own log of exports stays as the export test expects.
    const lead = new TestClient(t.app);
    await lead.signIn(council.users.qa_lead.email, PASSWORD);
    const page = await lead.get('/audits?status=in_moderation');
    const row = /<tbody[\s\S]*?<\/tbody>/.exec(page.body)![0].split('</tr>').find((html) => html.includes('TRK-12'))!;
    const due = pageText(/data-column="due">([\s\S]*?)<\/td>/.exec(row)![1]!);
    expect(due).toBe(`${formatDate(stageDue)} (moderation)`);
    expect(pageText(row)).not.toContain(formatDate(auditorDue));
    expect(pageText(row)).not.toContain('Overdue');

    const [header, ...rows] = parseCsv((await lead.get('/audits/export.csv?status=in_moderation')).body, { bom: true }) as string[][];
    const csvRow = rows.find((cells) => cells[1] === 'TRK-12')!;
    expect(csvRow[header!.indexOf('Stage')]).toBe('Moderation');
    expect(csvRow[header!.indexOf('Due')]).toBe(stageDue);
    expect(csvRow[header!.indexOf('Overdue')]).toBe('No');

    const token = await createApiToken(t.db, { userId: council.users.qa_lead.id, organisationId: council.organisation.id, name: 'due test' });
    const api = await t.app.inject({ url: '/api/v1/audits?status=in_moderation', headers: { authorization: `Bearer ${token}` } });
    const listed = (api.json() as { audits: { childExternalId: string; id: string; stage: string; dueOn: string; auditorDueOn: string; overdue: boolean }[] }).audits.find((audit) => audit.childExternalId === 'TRK-12')!;
    expect(listed).toMatchObject({ stage: 'moderation', dueOn: stageDue, auditorDueOn: auditorDue, overdue: false });
    const one = await t.app.inject({ url: `/api/v1/audits/${listed.id}`, headers: { authorization: `Bearer ${token}` } });
    expect(one.json()).toMatchObject({ stage: 'moderation', dueOn: stageDue, auditorDueOn: auditorDue, overdue: false });

    // The audit's own page: one "Due", the stage named, no second "current stage" date.
    const auditPage = pageText((await lead.get(`/audits/${listed.id}`)).body);
    expect(auditPage).toContain(`Due ${formatDate(stageDue)} (moderation)`);
    expect(auditPage).not.toContain('Current stage due');

    // A closed audit has nothing due.
    const closed = await lead.get('/audits?status=closed');
    for (const html of /<tbody[\s\S]*?<\/tbody>/.exec(closed.body)![0].split('</tr>').filter((cells) => cells.includes('<th'))) {
      expect(pageText(/data-column="due">([\s\S]*?)<\/td>/.exec(html)![1]!)).toBe('Nothing due (closed)');
    }
  });

  it('limits an auditor to their own team, a practitioner to their own cases, a moderator to their service', async () => {
    const auditor = await clients.auditor.get('/audits');
    expect(shownIds(auditor.body).sort()).toEqual(ids(PLAN.filter((row) => row.team === 'unit1')));
    const practitioner = await clients.practitioner.get('/audits');
    expect(shownIds(practitioner.body).sort()).toEqual(ids(PLAN.filter((row) => row.caseHolder === 'worker1')));
    expect(pageText(practitioner.body)).toContain('of 10 audits');
    const moderator = await clients.moderator.get('/audits');
    expect(pageText(moderator.body)).toContain('of 22 audits');
  });

  it('narrows the list by status, team, overdue, grade and allocated date', async () => {
    const get = async (query: string) => shownIds((await clients.coordinator.get(`/audits?${query}`)).body).sort();
    expect(await get('status=returned&status=closed')).toEqual(ids(PLAN.filter((row) => ['returned', 'closed'].includes(row.status))));
    expect(await get(`team=${council.teams.unit2.id}`)).toEqual(ids(PLAN.filter((row) => row.team === 'unit2')));
    const overdue = PLAN.filter(isOverdue);
    expect(overdue.length).toBeGreaterThan(2);
    expect(await get('overdue=yes')).toEqual(ids(overdue));
    expect(await get('grade=good')).toEqual(ids(PLAN.filter((row) => (row.finalGrade ?? row.auditorGrade) === 'good')));
    expect(await get('allocatedFrom=10/1/2025&allocatedTo=2025-01-31')).toEqual(ids(PLAN.filter((row) => row.allocatedOn >= '2025-01-10' && row.allocatedOn <= '2025-01-31')));
    expect(await get(`overdue=yes&team=${council.teams.unit1.id}`)).toEqual(ids(overdue.filter((row) => row.team === 'unit1')));
  });

  it('says "Overdue" in words on the overdue audits only', async () => {
    const page = await clients.coordinator.get('/audits?overdue=yes');
    const rows = /<tbody[\s\S]*?<\/tbody>/.exec(page.body)![0].split('</tr>').filter((row) => row.includes('<th'));
    expect(rows.length).toBe(PLAN.filter(isOverdue).length);
    for (const row of rows) expect(pageText(row)).toContain('Overdue');
    const notOverdue = await clients.coordinator.get('/audits?status=closed');
    expect(pageText(/<tbody[\s\S]*?<\/tbody>/.exec(notOverdue.body)![0])).not.toContain('Overdue');
  });

  it('sorts by due date either way, and marks the sorted column', async () => {
    // Closed audits have nothing due: last either way.
    const open = PLAN.filter((row) => row.status !== 'closed');
    const byDue = [...open].sort((a, b) => a.dueOffset - b.dueOffset).map((row) => row.externalId);
    const ascending = await clients.coordinator.get('/audits?sort=due&order=asc');
    expect(shownIds(ascending.body)).toEqual(byDue.slice(0, 25));
    expect(ascending.body).toMatch(/aria-sort="ascending">\s*<a class="govuk-link" href="\/audits\?sort=due&amp;order=desc">Due/);
    const descending = await clients.coordinator.get('/audits?sort=due&order=desc');
    expect(shownIds(descending.body)).toEqual([...byDue].reverse().slice(0, 25));
    // Paging keeps the sort order.
    expect(ascending.body).toContain('href="/audits?sort=due&amp;order=asc&amp;page=2"');
  });

  it('pages through the audits in every order exactly as the whole list runs (the export), and counts them all', async () => {
    const exported = (csv: string) => (parseCsv(csv, { bom: true }) as string[][]).slice(1).map((row) => (row[1] === `'${FORMULA_ID}` ? FORMULA_ID : row[1]));
    // Every order for the whole organisation; a few for a narrower reach and a filter.
    for (const [client, query, total, sorts] of [
      [clients.coordinator, '', 30, SORT_KEYS],
      [clients.moderator, '', null, ['child', 'due', 'grade']],
      [clients.coordinator, `status=closed&status=in_progress&status=moderated&team=${council.teams.unit2.id}`, null, ['reference', 'tool', 'moderated']],
    ] as const) {
      for (const sort of sorts) {
        for (const order of ['asc', 'desc']) {
          const criteria = `${query}&sort=${sort}&order=${order}`;
          const whole = exported((await client.get(`/audits/export.csv?${criteria}`)).body);
          const first = await client.get(`/audits?${criteria}`);
          const second = await client.get(`/audits?${criteria}&page=2`);
          const paged = [...shownIds(first.body), ...(whole.length > 25 ? shownIds(second.body) : [])];
          expect(paged, `${criteria}`).toEqual(whole);
          expect(pageText(first.body)).toContain(`${whole.length} audit`);
          if (total) expect(whole).toHaveLength(total);
        }
      }
    }
  });

  it('shows an error by the field for an impossible date, and still lists audits', async () => {
    const page = await clients.coordinator.get('/audits?allocatedFrom=31/02/2025&status=allocated');
    expect(page.statusCode).toBe(400);
    const text = pageText(page.body);
    expect(text).toContain('There is a problem');
    expect(text).toContain('Allocated from must be a real date');
    expect(page.body).toContain('href="#allocatedFrom"');
    expect(page.body).toContain('value="31/02/2025"');
    expect(shownIds(page.body).sort()).toEqual(ids(PLAN.filter((row) => row.status === 'allocated')));
    const backwards = await clients.coordinator.get('/audits?allocatedFrom=2025-02-01&allocatedTo=2025-01-01');
    expect(pageText(backwards.body)).toContain('Allocated to must be the same as or after allocated from');
    const nonsense = await clients.coordinator.get('/audits?status=bogus&team=42&sort=nowhere');
    expect(nonsense.statusCode).toBe(400);
    expect(pageText(nonsense.body)).toContain('Choose statuses from the list');
    expect(pageText(nonsense.body)).toContain('Choose a team from the list');
  });

  it('logs each view of the tracker', async () => {
    const client = new TestClient(t.app);
    await client.signIn(council.users.senior_leader.email, PASSWORD);
    await client.get('/audits?overdue=yes');
    const log = await t.db.selectFrom('activity_log').selectAll().where('user_id', '=', council.users.senior_leader.id).where('record_type', '=', 'audit_tracker').execute();
    expect(log.map((entry) => entry.action)).toEqual(['view']);
    expect(log[0]!.summary).toContain('overdue=yes');
  });

  it('exports the filtered rows as CSV, neutralising formula-like values, and logs the export', async () => {
    const query = `team=${council.teams.careTeam.id}`;
    const page = await clients.coordinator.get(`/audits?${query}`);
    const exportsLogged = () =>
      t.db
        .selectFrom('activity_log')
        .selectAll()
        .where('user_id', '=', council.users.qa_coordinator.id)
        .where('action', '=', 'export')
        .where('record_type', '=', 'audit_tracker')
        .orderBy('at')
        .execute();
    const before = (await exportsLogged()).length;
    const response = await clients.coordinator.get(`/audits/export.csv?${query}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/csv');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="audit-tracker-\d{4}-\d{2}-\d{2}\.csv"$/);
    const [header, ...rows] = parseCsv(response.body, { bom: true }) as string[][];
    expect(header!.slice(0, 3)).toEqual(['Audit reference', 'Child ID', 'Child initials']);
    expect(rows.map((row) => row[1]).sort()).toEqual(shownIds(page.body).map((id) => (id === FORMULA_ID ? `'${FORMULA_ID}` : id)).sort());
    expect(rows.map((row) => row[1])).toContain(`'${FORMULA_ID}`);
    expect(response.body).not.toMatch(/(^|,)=1\+2/m);
    const logged = (await exportsLogged()).slice(before);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.summary).toContain('CSV: 8 audits');
    expect(logged[0]!.summary).toContain(council.teams.careTeam.id);
  });

  it('exports an XLSX workbook that opens, with a frozen header and real dates', async () => {
    const response = await clients.coordinator.get('/audits/export.xlsx?status=moderated&status=closed');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-disposition']).toMatch(/filename="audit-tracker-\d{4}-\d{2}-\d{2}\.xlsx"/);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0]!;
    const expected = PLAN.filter((row) => ['moderated', 'closed'].includes(row.status));
    expect(sheet.rowCount).toBe(expected.length + 1);
    expect(sheet.getRow(1).getCell(2).value).toBe('Child ID');
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    const allocated = sheet.getRow(2).getCell(11).value;
    expect(allocated).toBeInstanceOf(Date);
    const childIds = Array.from({ length: expected.length }, (_, i) => String(sheet.getRow(i + 2).getCell(2).value)).sort();
    expect(childIds).toEqual(ids(expected).map((id) => (id === FORMULA_ID ? `'${FORMULA_ID}` : id)).sort());
  });

  it("exports only a practitioner's own cases", async () => {
    const response = await clients.practitioner.get('/audits/export.csv');
    const [header, ...rows] = parseCsv(response.body, { bom: true }) as string[][];
    const caseHolder = header!.indexOf('Case holder');
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((row) => row[caseHolder]))).toEqual(new Set(['Wes Worker']));
    const xlsx = await clients.practitioner.get('/audits/export.xlsx');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    expect(workbook.worksheets[0]!.rowCount).toBe(11);
  });

  it('refuses an export with an invalid filter, saying why', async () => {
    const response = await clients.coordinator.get('/audits/export.csv?allocatedTo=yesterday');
    expect(response.statusCode).toBe(422);
    expect(pageText(response.body)).toContain('Allocated to must be a real date');
  });

  it('explains an empty tracker to an organisation with no audits yet', async () => {
    const other = await createSmallCouncil(t.db, 'emptyshire');
    const client = new TestClient(t.app);
    await client.signIn(other.users.qa_coordinator.email, PASSWORD);
    const page = await client.get('/audits');
    expect(page.statusCode).toBe(200);
    expect(pageText(page.body)).toContain('There are no audits yet. Audits appear here when a QA coordinator allocates them.');
    expect(shownIds(page.body)).toEqual([]);
    const csv = await client.get('/audits/export.csv');
    expect(parseCsv(csv.body, { bom: true })).toHaveLength(1);
  });
});
