import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateAudit } from '../src/modules/audits/allocation.ts';
import { DEFAULT_TIMESCALES } from '../src/modules/audits/lifecycle.ts';
import { timescalesFor } from '../src/modules/audits/transitions.ts';
import type { Principal } from '../src/platform/access.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

const BRISTOL = {
  auditorDays: '10',
  moderationDays: '10',
  distributionDays: '5',
  feedbackDays: '10',
  reAuditWeeks: '8',
  caseDirectionReviewMonths: '1',
  actionVerificationMonths: '3',
};

describe.each(testDrivers())("a council's timescales on %s", (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let admin: TestClient;
  let coordinator: Principal;
  let toolId: string;
  const org = () => council.organisation.id;

  let children = 0;
  /** The due date of an audit allocated on `today`: each of a new child, as a child has one open audit with a tool at a time. */
  const dueOn = async (today: string) => {
    children += 1;
    const childId = (await createChild(t.db, org(), { externalId: `TS-${children}`, initials: 'TS', teamId: council.teams.unit1.id, workerId: council.staff.worker1.id })).id;
    const outcome = await allocateAudit(t.db, { principal: coordinator, ipAddress: null, at: new Date() }, { childId, toolId, auditorId: council.staff.manager1.id }, { today });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    return outcome.audit.dueOn;
  };

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    toolId = (await createAuditTool(t.db, org(), { key: 'case-file', name: 'Case file audit', edition: '1' })).toolId;
    coordinator = (await loadPrincipal(t.db, council.users.qa_coordinator.id))!;
    admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
  }, 120_000);
  afterAll(async () => t?.close());

  it("shows Bristol's timescales until the council saves its own", async () => {
    expect((await admin.get('/organisation')).body).toContain('href="/organisation/timescales"');
    const page = await admin.get('/organisation/timescales');
    expect(page.statusCode).toBe(200);
    expect(pageText(page.body)).toContain('These are Bristol’s timescales');
    expect(pageText(page.body)).toContain('Default 10 working days.');
    expect(pageText(page.body)).toContain('Default 1 month.');
    expect(page.body).toMatch(/id="auditorDays" name="auditorDays" type="text" spellcheck="false" value="10"/);
    expect(page.body).toMatch(/id="distributionDays" name="distributionDays" type="text" spellcheck="false" value="5"/);
    expect(await timescalesFor(t.db, org())).toEqual(DEFAULT_TIMESCALES);
    // Monday 7 December 2026 + 10 working days; + 15 passes Christmas and the substitute Boxing Day.
    expect(await dueOn('2026-12-07')).toBe('2026-12-21');
  });

  it('refuses numbers that are not whole, in range or given, naming each field, and saves nothing', async () => {
    await admin.get('/organisation/timescales');
    const refused = await admin.post('/organisation/timescales', { ...BRISTOL, auditorDays: 'ten', moderationDays: '0', feedbackDays: '', reAuditWeeks: '105', version: '0' });
    expect(refused.statusCode).toBe(400);
    const text = pageText(refused.body);
    expect(text).toContain('The auditor timescale must be a whole number of working days, like 10');
    expect(text).toContain('The moderation timescale must be at least 1');
    expect(text).toContain('Enter the practitioner feedback timescale in working days');
    expect(text).toContain('The re-audit timescale must be 104 weeks or fewer');
    expect(refused.body).toContain('href="#auditorDays"');
    // What was typed stays in the form.
    expect(refused.body).toMatch(/name="auditorDays" type="text" spellcheck="false" value="ten"/);
    expect(await t.db.selectFrom('organisation_timescales').selectAll().execute()).toEqual([]);
  });

  it('saves the timescales, logs who changed them, and new allocations follow them', async () => {
    await admin.get('/organisation/timescales');
    const saved = await admin.post('/organisation/timescales', { ...BRISTOL, auditorDays: '15', reAuditWeeks: '6', version: '0' });
    expect(saved.statusCode).toBe(303);
    expect(pageText((await admin.get(saved.headers.location as string)).body)).toContain('Timescales saved');
    expect(await timescalesFor(t.db, org())).toEqual({ ...DEFAULT_TIMESCALES, auditorDays: 15, reAuditWeeks: 6 });
    expect(await dueOn('2026-12-07')).toBe('2026-12-30');
    const logged = await t.db.selectFrom('activity_log').select(['summary', 'user_id']).where('record_type', '=', 'organisation').execute();
    expect(logged).toHaveLength(1);
    expect(logged[0]!.summary).toContain('auditor 15 working days');
    expect(logged[0]!.user_id).toBe(council.users.administrator.id);
  });

  it('refuses a form opened before someone else saved, keeping what was typed beside the current timescales', async () => {
    const stale = await admin.post('/organisation/timescales', { ...BRISTOL, auditorDays: '12', version: '0' });
    expect(stale.statusCode).toBe(409);
    expect(pageText(stale.body)).toContain('Someone else changed this record since you opened it');
    expect(stale.body).toMatch(/name="auditorDays" type="text" spellcheck="false" value="12"/);
    expect(pageText(stale.body)).toContain('Auditor: 15 working days');
    expect((await timescalesFor(t.db, org())).auditorDays).toBe(15);
  });

  it('is for administrators only', async () => {
    const lead = new TestClient(t.app);
    await lead.signIn(council.users.qa_lead.email, PASSWORD);
    expect((await lead.get('/organisation/timescales')).statusCode).toBe(403);
  });
});
