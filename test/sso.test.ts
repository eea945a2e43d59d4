import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { parseGroupRoles } from '../src/platform/auth/oidc-config.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD } from './support/fixtures.ts';
import { pageText, TestClient } from './support/client.ts';

const SSO = {
  OIDC_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
  OIDC_CLIENT_ID: 'assure',
  OIDC_CLIENT_SECRET: 'secret',
  OIDC_ORGANISATION: 'testshire',
  OIDC_LABEL: 'Microsoft',
};

describe('single sign-on settings', () => {
  it('reads the group mapping, with organisation, service and team scopes', () => {
    expect(parseGroupRoles('g1=qa_lead; g2=auditor:team:North Unit 1;g3=moderator:service:Area Social Work')).toEqual([
      { group: 'g1', role: 'qa_lead', scope: 'organisation', unitName: null },
      { group: 'g2', role: 'auditor', scope: 'team', unitName: 'North Unit 1' },
      { group: 'g3', role: 'moderator', scope: 'service', unitName: 'Area Social Work' },
    ]);
  });

  it('names the setting that is wrong', () => {
    expect(() => loadConfig({ ...SSO, OIDC_GROUP_ROLES: 'g1=boss' })).toThrow(/OIDC_GROUP_ROLES: "boss" is not a role/);
    expect(() => loadConfig({ ...SSO, OIDC_GROUP_ROLES: 'just-a-group' })).toThrow(/OIDC_GROUP_ROLES: "just-a-group" is not group=role/);
    expect(() => loadConfig({ OIDC_ISSUER: SSO.OIDC_ISSUER })).toThrow('OIDC_ISSUER is set, so OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ORGANISATION must be set too');
    expect(() => loadConfig({ LOCAL_SIGN_IN: 'false' })).toThrow(ConfigError);
    expect(() => loadConfig({ MFA_REQUIRED_ROLES: 'administrator,chief' })).toThrow(/MFA_REQUIRED_ROLES/);
    const config = loadConfig({ ...SSO, PUBLIC_URL: 'https://assure.testshire.gov.uk' });
    expect(config.oidc?.redirectUrl).toBe('https://assure.testshire.gov.uk/sign-in/sso/callback');
    expect(config.oidc?.scopes).toBe('openid email profile');
    expect(config.mfaRequiredRoles).toEqual(['administrator', 'qa_lead']);
  });
});

describe.each(testDrivers())('local accounts turned off on %s', (driver) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(driver, { ...SSO, LOCAL_SIGN_IN: 'false' });
    await createSmallCouncil(t.db);
  });
  afterAll(async () => t?.close());

  it('offers only the identity provider and refuses a password', async () => {
    const client = new TestClient(t.app);
    const page = await client.get('/sign-in?next=/audits');
    expect(pageText(page.body)).toContain('Sign in with Microsoft');
    expect(page.body).toContain('href="/sign-in/sso?next=%2Faudits"');
    expect(page.body).not.toContain('name="password"');
    const refused = await client.post('/sign-in', { email: 'admin@testshire.example', password: PASSWORD });
    expect(refused.statusCode).toBe(403);
    expect((await client.get('/')).statusCode).toBe(303);
  });
});
