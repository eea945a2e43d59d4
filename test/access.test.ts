import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../src/db/types.ts';
import { createApiToken } from '../src/modules/account/service.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { TestClient } from './support/client.ts';

/**
 * Walks every route as every role and as a signed-out visitor, and asserts who is let in.
 * The expectations are written out here by hand, apart from platform/access.ts, so that a
 * change to the access rules has to be made twice, on purpose.
 */
const WHO_MAY: Record<string, readonly Role[] | 'anyone' | 'signed-in'> = {
  public: 'anyone',
  account: 'signed-in',
  'audits.view': 'signed-in',
  'audits.allocate': ['qa_coordinator', 'qa_lead'],
  'org.view': ['administrator', 'qa_lead', 'qa_coordinator', 'senior_leader'],
  'org.manage': ['administrator'],
  'children.view': ['auditor', 'moderator', 'qa_coordinator', 'qa_lead', 'senior_leader', 'administrator'],
  'children.import': ['qa_coordinator', 'qa_lead', 'administrator'],
  'activity.view': ['administrator'],
  'reports.view': ['auditor', 'moderator', 'qa_coordinator', 'qa_lead', 'senior_leader'],
  'reports.issue': ['qa_lead'],
  'themes.manage': ['qa_lead'],
  'tools.view': ['auditor', 'moderator', 'qa_coordinator', 'qa_lead', 'senior_leader', 'administrator'],
  'tools.manage': ['qa_lead', 'administrator'],
  'programme.view': ['moderator', 'qa_coordinator', 'qa_lead', 'senior_leader'],
  'programme.manage': ['qa_lead'],
};

const ROLES: Role[] = ['practitioner', 'auditor', 'moderator', 'qa_coordinator', 'qa_lead', 'senior_leader', 'administrator'];
const ANY_ID = '00000000-0000-4000-8000-000000000000';

function concrete(url: string) {
  return url.replace(/:[A-Za-z]+/g, ANY_ID);
}

function mayEnter(access: string, role: Role | null): boolean {
  const who = WHO_MAY[access];
  if (who === undefined) throw new Error(`the access test does not know permission "${access}": add it to WHO_MAY`);
  if (who === 'anyone') return true;
  if (role === null) return false;
  return who === 'signed-in' || who.includes(role);
}

describe.each(testDrivers())('every route as every role on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  const clients = new Map<Role, TestClient>();
  const tokens = new Map<Role, string>();

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    for (const role of ROLES) {
      const client = new TestClient(t.app);
      await client.signIn(council.users[role].email, PASSWORD);
      clients.set(role, client);
      tokens.set(role, await createApiToken(t.db, { userId: council.users[role].id, organisationId: council.organisation.id, name: 'access test' }));
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it('declares access on every route', () => {
    expect(t.app.routeAccessTable.length).toBeGreaterThan(10);
    for (const route of t.app.routeAccessTable) expect(Object.keys(WHO_MAY)).toContain(route.access);
  });

  it('lets in exactly who may enter, page by page and API call by API call', async () => {
    // Signing out (here or everywhere) would end the walk's own sessions; the MFA step of a sign-in
    // answers only the browser that gave a password a moment ago (test/mfa.test.ts).
    const steps = ['/sign-out', '/sign-in', '/account/sessions/end-all', '/sign-in/mfa', '/sign-in/mfa/set-up'];
    const routes = t.app.routeAccessTable.filter((route) => route.method !== 'HEAD' && !steps.includes(route.url));
    const failures: string[] = [];
    for (const route of routes) {
      const url = concrete(route.url);
      const isApi = url.startsWith('/api/');
      for (const role of [null, ...ROLES] as (Role | null)[]) {
        const response = await request(route.method, url, role, isApi);
        const deniedAsSignedOut = isApi ? response.statusCode === 401 : response.statusCode === 303 && String(response.headers.location).startsWith('/sign-in');
        const denied = response.statusCode === 403 || deniedAsSignedOut;
        const allowed = mayEnter(route.access, role);
        if (allowed === denied) failures.push(`${route.method} ${route.url} as ${role ?? 'signed-out visitor'}: got ${response.statusCode}, expected ${allowed ? 'entry' : 'refusal'}`);
        if (!allowed && role === null && !deniedAsSignedOut) failures.push(`${route.method} ${route.url} signed out: expected a sign-in, got ${response.statusCode}`);
        if (response.statusCode >= 500) failures.push(`${route.method} ${route.url} as ${role}: server error`);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);

  async function request(method: string, url: string, role: Role | null, isApi: boolean) {
    if (isApi) {
      const headers: Record<string, string> = role ? { authorization: `Bearer ${tokens.get(role)}` } : {};
      return t.app.inject({ method: method as 'GET', url, headers, ...(method === 'POST' ? { payload: {} } : {}) });
    }
    const client = role ? clients.get(role)! : new TestClient(t.app);
    return method === 'GET' ? client.get(url) : client.post(url, {});
  }
});
