import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { seedDemoCouncil } from '../src/modules/org/demo.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { pageText, TestClient } from './support/client.ts';

const DEMO_PASSWORD = 'Assure-demo-2026!';

describe.each(testDrivers())('demo council on %s', (driver) => {
  let t: TestApp;
  let loaded: Awaited<ReturnType<typeof seedDemoCouncil>>;

  beforeAll(async () => {
    t = await createTestApp(driver);
    loaded = await seedDemoCouncil(t.db, { today: '2026-11-24' });
  }, 180_000);
  afterAll(async () => t?.close());

  it('gives every service a default audit tool', async () => {
    const defaults = await t.db
      .selectFrom('services')
      .leftJoin('service_default_tools as d', 'd.service_id', 'services.id')
      .leftJoin('audit_tools as tools', 'tools.id', 'd.tool_id')
      .select(['services.name', 'tools.key'])
      .where('services.organisation_id', '=', loaded.organisation.id)
      .execute();
    expect(defaults.filter((row) => !row.key)).toEqual([]);
    expect(defaults.find((row) => row.name === 'Families in Focus')?.key).toBe('bristol-families-in-focus-child-case-audit');
  });

  it('allocates audits through the allocation rules: due in 10 working days, one e-mail each, some overdue', async () => {
    expect(loaded.audits).toBeGreaterThanOrEqual(20);
    const audits = await t.db.selectFrom('audits').select(['allocated_on', 'due_on', 'status']).where('organisation_id', '=', loaded.organisation.id).execute();
    expect(audits).toHaveLength(loaded.audits);
    expect(new Set(audits.map((audit) => audit.status))).toEqual(new Set(['allocated']));
    // Allocated on the day itself: 10 working days later, two weeks on (no bank holiday in between).
    expect(audits.filter((audit) => audit.allocated_on === '2026-11-24').map((audit) => audit.due_on)).toContain('2026-12-08');
    expect(audits.some((audit) => audit.due_on < '2026-11-24')).toBe(true);
    const emails = await t.db.selectFrom('email_outbox').select(sql<number>`count(*)::int`.as('n')).where('dedupe_key', 'like', 'audit-allocated:%').executeTakeFirstOrThrow();
    expect(emails.n).toBe(loaded.audits);
  });

  it("shows the demo auditor their audits under My audits", async () => {
    const auditor = new TestClient(t.app);
    await auditor.signIn('auditor@avonford.example', DEMO_PASSWORD);
    const page = pageText((await auditor.get('/my-audits')).body);
    const mine = await t.db
      .selectFrom('audits')
      .innerJoin('users', 'users.staff_id', 'audits.auditor_id')
      .innerJoin('children', 'children.id', 'audits.child_id')
      .select('children.external_id')
      .where('users.email', '=', 'auditor@avonford.example')
      .execute();
    expect(mine.length).toBeGreaterThan(0);
    for (const audit of mine) expect(page).toContain(audit.external_id);
  });
});
