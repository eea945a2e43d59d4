import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { createTestApp, type TestApp } from './support/app.ts';
import { createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

/** The rows of the activity table as text, one string per entry. */
function shownEntries(html: string): string[] {
  const body = /<tbody[\s\S]*?<\/tbody>/.exec(html)?.[0] ?? '';
  return body.split('</tr>').filter((row) => row.includes('<td')).map((row) => pageText(row));
}

describe.each(testDrivers())('activity log on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let admin: TestClient;
  let childId: string;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    const other = await createSmallCouncil(t.db, 'otherford');
    const child = await createChild(t.db, council.organisation.id, { externalId: 'ACT-1', initials: 'AB', teamId: council.teams.unit1.id });
    childId = child.id;
    await createChild(t.db, other.organisation.id, { externalId: 'OTHER-1', initials: 'ZZ', teamId: other.teams.unit1.id });

    // Two people read the child's record; someone in another council reads theirs.
    for (const email of [council.users.auditor.email, council.users.qa_coordinator.email]) {
      const client = new TestClient(t.app);
      await client.signIn(email, PASSWORD);
      expect((await client.get(`/children/${childId}`)).statusCode).toBe(200);
    }
    const outsider = new TestClient(t.app);
    await outsider.signIn(other.users.qa_coordinator.email, PASSWORD);
    await outsider.get('/children?status=all');

    admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
  }, 60_000);
  afterAll(async () => t?.close());

  it('shows an administrator who viewed which child, when and from where', async () => {
    const page = await admin.get(`/activity?recordId=${childId}`);
    expect(page.statusCode).toBe(200);
    const entries = shownEntries(page.body);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toContain(council.users.qa_coordinator.email);
    expect(entries[1]).toContain(council.users.auditor.email);
    for (const entry of entries) {
      expect(entry).toContain('view');
      expect(entry).toContain('127.0.0.1');
    }
  });

  it("answers \"who looked at this child?\" by case ID: that child's entries only, with people's names and links", async () => {
    // Another child, looked at by someone else: not part of the answer.
    const other = await createChild(t.db, council.organisation.id, { externalId: 'ACT-2', initials: 'CD', teamId: council.teams.unit1.id });
    const leader = new TestClient(t.app);
    await leader.signIn(council.users.senior_leader.email, PASSWORD);
    expect((await leader.get(`/children/${other.id}`)).statusCode).toBe(200);

    const page = await admin.get('/activity?caseId=ACT-1');
    expect(page.statusCode).toBe(200);
    const entries = shownEntries(page.body);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toContain('Quinn QA');
    expect(entries[0]).toContain(council.users.qa_coordinator.email);
    expect(entries[1]).toContain('Tina Manager');
    for (const entry of entries) {
      expect(entry).toContain('AB (ACT-1)');
      expect(entry).not.toContain('None');
      expect(entry).not.toContain(childId);
    }
    expect(pageText(page.body)).not.toContain('ACT-2');
    expect(pageText(page.body)).not.toContain('Hana Head');
    // The child and the record link to their pages, not to internal IDs in the text.
    expect(page.body).toContain(`href="/children/${childId}"`);
    // The filter says what it applied, and a case ID that is not on the register finds nothing.
    expect(pageText(page.body)).toMatch(/Selected filters .*Case ID .*ACT-1/);
    expect(shownEntries((await admin.get('/activity?caseId=NOPE-9')).body)).toEqual([]);
    // Entries that are about no child say so with a dash.
    const signIns = /<tbody[\s\S]*?<\/tbody>/.exec((await admin.get('/activity?action=sign-in')).body)![0];
    expect(pageText(signIns)).toContain('—');
    expect(pageText(signIns)).not.toContain('None');
  });

  it('filters by person and action, and never shows another council', async () => {
    const signIns = shownEntries((await admin.get(`/activity?email=${encodeURIComponent('auditor@testshire')}&action=sign-in`)).body);
    expect(signIns).toHaveLength(1);
    expect(signIns[0]).toContain(council.users.auditor.email);
    const everything = pageText((await admin.get('/activity')).body);
    expect(everything).not.toContain('otherford');
  });

  it('names the field of an impossible date and still shows the log', async () => {
    const page = await admin.get('/activity?from=31/02/2026');
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('href="#from"');
    expect(pageText(page.body)).toContain('From must be a real date');
    expect(shownEntries(page.body).length).toBeGreaterThan(0);
  });

  it('exports the filtered log as CSV and records the export', async () => {
    const response = await admin.get(`/activity/export.csv?recordId=${childId}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/csv');
    expect(response.headers['content-disposition']).toMatch(/attachment; filename="activity-log-.*\.csv"/);
    const rows = parseCsv(response.body.replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.Who)).toEqual([council.users.qa_coordinator.email, council.users.auditor.email]);
    const exported = await t.db.selectFrom('activity_log').selectAll().where('action', '=', 'export').where('record_type', '=', 'activity_log').execute();
    expect(exported).toHaveLength(1);
    expect(exported[0]!.summary).toContain('2 entries');
  });

  it('is read by administrators only, and offers no way to change an entry', async () => {
    const coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
    expect((await coordinator.get('/activity')).statusCode).toBe(403);
    expect((await coordinator.get('/activity/export.csv')).statusCode).toBe(403);
    const writes = t.app.routeAccessTable.filter((route) => route.url.startsWith('/activity') && route.method !== 'GET' && route.method !== 'HEAD');
    expect(writes).toEqual([]);
  });
});
