import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../src/modules/account/service.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createAudit, createAuditTool, createChild } from './support/audits.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, type SmallCouncil } from './support/fixtures.ts';

type OpenApi = { paths: Record<string, Record<string, { parameters?: { name: string }[] }>> };

/** '/audits/:id' as OpenAPI writes it: '/audits/{id}'. */
const openApiPath = (url: string) => url.replace(/^\/api\/v1/, '').replace(/:([A-Za-z]+)/g, '{$1}');

describe.each(testDrivers())('API on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let coordinator: Record<string, string>;
  let auditor: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    const org = council.organisation.id;
    const tool = await createAuditTool(t.db, org);
    const audits = [
      { externalId: 'API-A1', team: council.teams.unit1, auditor: council.staff.manager1, status: 'allocated', due: -3 },
      { externalId: 'API-A2', team: council.teams.unit1, auditor: council.staff.manager1, status: 'in_moderation', due: 5 },
      { externalId: 'API-A3', team: council.teams.careTeam, auditor: council.staff.qaOfficer, status: 'allocated', due: 10 },
    ] as const;
    for (const audit of audits) {
      const child = await createChild(t.db, org, { externalId: audit.externalId, initials: 'AB', teamId: audit.team.id });
      await createAudit(t.db, {
        organisationId: org,
        childId: child.id,
        toolEditionId: tool.editionId,
        auditorId: audit.auditor.id,
        teamId: audit.team.id,
        serviceId: audit.team.service_id,
        status: audit.status,
        due: audit.due,
      });
    }
    const token = async (userId: string) => ({
      authorization: `Bearer ${await createApiToken(t.db, { userId, organisationId: org, name: 'api test' })}`,
    });
    coordinator = await token(council.users.qa_coordinator.id);
    auditor = await token(council.users.auditor.id);
  }, 60_000);
  afterAll(async () => t?.close());

  it('describes every /api/v1 route in the OpenAPI document, and nothing that does not exist', async () => {
    const response = await t.app.inject({ url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json() as OpenApi;
    const routes = t.app.routeAccessTable
      .filter((route) => route.url.startsWith('/api/v1/') && route.url !== '/api/v1/openapi.json' && route.method !== 'HEAD')
      .map((route) => `${route.method.toLowerCase()} ${openApiPath(route.url)}`)
      .sort();
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual(routes);
  });

  it("documents the tracker's filters as the parameters of GET /audits", async () => {
    const document = (await t.app.inject({ url: '/api/v1/openapi.json' })).json() as OpenApi;
    const names = document.paths['/audits']!.get!.parameters!.map((parameter) => parameter.name);
    expect(names).toEqual(['status', 'team', 'service', 'tool', 'grade', 'overdue', 'allocatedFrom', 'allocatedTo', 'sort', 'order', 'page', 'pageSize']);
  });

  it('lists audits with the same filters and the same reach as the tracker', async () => {
    const all = (await t.app.inject({ url: '/api/v1/audits', headers: coordinator })).json();
    expect(all.total).toBe(3);
    const overdue = (await t.app.inject({ url: '/api/v1/audits?overdue=yes', headers: coordinator })).json();
    expect(overdue.audits.map((audit: { childExternalId: string }) => audit.childExternalId)).toEqual(['API-A1']);
    expect(overdue.audits[0]).toMatchObject({ overdue: true, status: 'allocated', teamName: 'North Unit 1', toolName: 'Case file audit' });
    const statuses = (await t.app.inject({ url: '/api/v1/audits?status=allocated,in_moderation&team=' + council.teams.unit1.id, headers: coordinator })).json();
    expect(statuses.total).toBe(2);
    // An auditor scoped to North Unit 1 never sees the Through Care audit, whatever the filter.
    const mine = (await t.app.inject({ url: '/api/v1/audits?team=' + council.teams.careTeam.id, headers: auditor })).json();
    expect(mine.total).toBe(0);
  });

  it('refuses an invalid filter with a precise JSON error and logs the reads it answers', async () => {
    const bad = await t.app.inject({ url: '/api/v1/audits?allocatedFrom=31/02/2026&status=lost', headers: coordinator });
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toContain('application/json');
    const body = bad.json();
    expect(body.errors.map((error: { field: string }) => error.field).sort()).toEqual(['allocatedFrom', 'status.0']);
    const before = await t.db.selectFrom('activity_log').select('id').where('record_type', '=', 'audit_tracker').execute();
    await t.app.inject({ url: '/api/v1/audits', headers: coordinator });
    const after = await t.db.selectFrom('activity_log').selectAll().where('record_type', '=', 'audit_tracker').orderBy('id', 'desc').execute();
    expect(after.length).toBe(before.length + 1);
    expect(after[0]).toMatchObject({ action: 'view', user_id: council.users.qa_coordinator.id, summary: 'API: 3 of 3 audits' });
  });

  it('answers 401 without a token or with an unknown one, and 403 to a role without the right', async () => {
    expect((await t.app.inject({ url: '/api/v1/audits' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/api/v1/audits', headers: { authorization: 'Bearer assure_not-a-token' } })).statusCode).toBe(401);
    const practitioner = { authorization: `Bearer ${await createApiToken(t.db, { userId: council.users.practitioner.id, organisationId: council.organisation.id, name: 'x' })}` };
    const refused = await t.app.inject({ method: 'POST', url: '/api/v1/children/imports', headers: { ...practitioner, 'content-type': 'text/csv' }, payload: 'Case ID\n' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: 'FORBIDDEN' });
    // A practitioner may list audits, but sees only those of the cases they hold: none here.
    expect((await t.app.inject({ url: '/api/v1/audits', headers: practitioner })).json()).toMatchObject({ total: 0, audits: [] });
  });
});
