import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importStaff } from '../src/modules/org/staff-import.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { TestClient, pageText } from './support/client.ts';
import { createSmallCouncil, PASSWORD, type SmallCouncil } from './support/fixtures.ts';
import { testDrivers } from './support/database.ts';

/** The staff import answers every upload, whole, cut short or oversized, and holds no huge cell in memory. */

const HEADER = 'Staff number,Full name,Job title\r\n';

describe.each(testDrivers())('staff import limits on %s', (driver) => {
  let t: TestApp;
  let council: SmallCouncil;
  let admin: TestClient;

  beforeAll(async () => {
    t = await createTestApp(driver);
    council = await createSmallCouncil(t.db);
    admin = new TestClient(t.app);
    await admin.signIn(council.users.administrator.email, PASSWORD);
  });
  afterAll(async () => t?.close());

  const staffNamed = (name: string) => t.db.selectFrom('staff').select('id').where('full_name', '=', name).execute();

  it('answers an upload cut off before its end with a 400 that says so, and imports nothing', async () => {
    await admin.get('/organisation/staff/import');
    const boundary = 'assure-truncated';
    // The closing boundary never comes: the browser or the network gave up part-way.
    const payload = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="staff.csv"\r\nContent-Type: text/csv\r\n\r\n${HEADER}S900,Cut Short,Social Worker\r\nS901,Cut Sh`;
    const response = await t.app.inject({
      method: 'POST',
      url: '/organisation/staff/import',
      payload,
      headers: { 'x-csrf-token': admin.csrfToken, 'content-type': `multipart/form-data; boundary=${boundary}`, cookie: [...admin.cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    expect(response.statusCode).toBe(400);
    expect(pageText(response.body)).toContain('The upload was cut off before the end of the file');
    expect(await staffNamed('Cut Short')).toEqual([]);
  });

  it('refuses a cell too large to be a staff record, naming its row, on the page', async () => {
    await admin.get('/organisation/staff/import');
    const content = `${HEADER}S910,Big Cell,${'x'.repeat(1_100_000)}\r\n`;
    const response = await admin.upload('/organisation/staff/import', { field: 'file', filename: 'staff.csv', content, contentType: 'text/csv' });
    expect(response.statusCode).toBe(400);
    expect(pageText(response.body)).toMatch(/Row 2 is longer than 1,000,000 characters/);
    expect(await staffNamed('Big Cell')).toEqual([]);
  });

  it('refuses a 150 MB cell as soon as it passes the limit, without reading on or holding it', async () => {
    const chunk = 'y'.repeat(1024 * 1024);
    let sent = 0;
    const input = Readable.from(
      (function* () {
        yield `${HEADER}S920,Huge Cell,"`;
        for (; sent < 150; sent += 1) yield chunk;
        yield '"\r\n';
      })(),
    );
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const result = await importStaff(t.db, { organisationId: council.organisation.id, actor: { principal: null, ipAddress: null, at: new Date() } as never, input });
    clearInterval(sampler);
    expect(result).toMatchObject({ ok: false, errors: [{ row: 2, reason: expect.stringMatching(/longer than 1,000,000 characters/) }] });
    // Reading stopped at the limit: the rest of the file was never asked for.
    expect(sent).toBeLessThan(5);
    expect((peak - before) / 1024 / 1024).toBeLessThan(100);
  });
});
