import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAssets } from '../src/platform/assets.ts';
import { guidanceHtml } from '../src/platform/views.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { pageText, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';

const CHILDREN_CSV = 'Child ID,Initials,Date of birth,Legal status\r\nUP-1,AB,2015-03-01,CIN\r\n';

describe.each(testDrivers())('upload forms, assets and wording on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let admin: TestClient;
  let coordinator: TestClient;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
    coordinator = new TestClient(t.app);
    await coordinator.signIn(council.users.qa_coordinator.email, PASSWORD);
  }, 120_000);
  afterAll(async () => t?.close());

  it.each([
    ['children import', '/children/imports/new', 'coordinator'],
    ['staff import', '/organisation/staff/import', 'admin'],
    ['tool upload', '/tools/upload', 'admin'],
    ['bank holidays file', '/organisation/bank-holidays', 'admin'],
  ] as const)('the %s form sends its CSRF token in a hidden field before the file, never in its address', async (_name, url, who) => {
    const page = await (who === 'admin' ? admin : coordinator).get(url);
    expect(page.statusCode).toBe(200);
    const form = /<form[^>]*enctype="multipart\/form-data"[^>]*>[\s\S]*?<\/form>/.exec(page.body)?.[0] ?? '';
    expect(form).not.toContain('_csrf=');
    expect(form.indexOf('name="_csrf"')).toBeGreaterThan(-1);
    expect(form.indexOf('name="_csrf"')).toBeLessThan(form.indexOf('type="file"'));
  });

  it('refuses an upload whose token is only in the query string, and takes one sent as the form sends it', async () => {
    await coordinator.get('/children/imports/new');
    const boundary = '----assure-query';
    const payload = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="children.csv"\r\nContent-Type: text/csv\r\n\r\n${CHILDREN_CSV}\r\n--${boundary}--\r\n`;
    const cookie = [...coordinator.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const inAddress = await t.app.inject({
      method: 'POST',
      url: `/children/imports?_csrf=${encodeURIComponent(coordinator.csrfToken)}`,
      payload,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, cookie },
    });
    expect(inAddress.statusCode).toBe(403);
    expect(await t.db.selectFrom('child_imports').select('id').execute()).toEqual([]);
    const inForm = await coordinator.upload('/children/imports', { field: 'file', filename: 'children.csv', content: CHILDREN_CSV, contentType: 'text/csv' }, { closeMissing: 'no' });
    expect(inForm.statusCode, pageText(inForm.body).slice(0, 300)).toBe(303);
  });

  it('serves every image the stylesheet asks for, the filter tags\' remove cross among them', async () => {
    const css = fs.readFileSync(await buildAssets({ force: true }), 'utf8');
    const urls = [...new Set([...css.matchAll(/url\(["']?(\/assets\/[^)"']+\.(?:svg|png))["']?\)/g)].map((match) => match[1]!))];
    expect(urls).toContain('/assets/moj/images/icon-tag-remove-cross.svg');
    for (const url of urls) expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
  });

  it('tells an administrator without a staff record where to link it, rather than to ask an administrator', async () => {
    const home = pageText((await admin.get('/')).body);
    expect(home).toContain('Link your account to your staff record');
    expect(home).not.toContain('Ask an administrator');
    expect((await admin.get('/')).body).toContain(`href="/organisation/users/${council.users.administrator.id}"`);
  });

  it('says "1 problem" and "2 problems", never "problem(s)"', async () => {
    await coordinator.get('/children/imports/new');
    const bad = 'Child ID,Initials,Date of birth,Legal status\r\nUP-2,AB,not a date,CIN\r\nUP-3,AB,also not,CIN\r\n';
    const response = await coordinator.upload('/children/imports', { field: 'file', filename: 'children.csv', content: bad, contentType: 'text/csv' }, { closeMissing: 'no' });
    const followed = response.statusCode === 303 ? await coordinator.get(String(response.headers.location)) : response;
    const text = pageText(followed.body);
    expect(text).not.toContain('problem(s)');
    expect(text).toMatch(/2 problems found/);
  });
});

describe('tool guidance', () => {
  it('shows "- " lines as a list, and anything that looks like markup as text', () => {
    const html = guidanceHtml('Before you start:\n- read the case file\n- <b>speak</b> to the worker');
    expect(html).toContain('<ul class="govuk-list govuk-list--bullet">');
    expect(html).toContain('<li>read the case file</li>');
    expect(html).toContain('&lt;b&gt;speak&lt;/b&gt;');
    expect(html).not.toContain('- read');
  });
});
