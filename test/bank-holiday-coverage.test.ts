import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankHolidayCoverage } from '../src/modules/org/calendar.ts';
import { bundledBankHolidays, bundledHolidayCalendar } from '../src/platform/bank-holidays/index.ts';
import { yearsListed } from '../src/platform/bank-holidays/schema.ts';
import { fixedClock } from '../src/platform/clock.ts';
import { workingDaysAfter } from '../src/platform/working-days.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { pageText, TestClient } from './support/client.ts';
import { testDrivers } from './support/database.ts';
import { createSmallCouncil, PASSWORD } from './support/fixtures.ts';

/** The last year the shipped bank holidays list: the tests follow the file, not a year written here. */
const lastShippedYear = Math.max(...yearsListed(bundledBankHolidays(), 'england-and-wales'));

describe('after the last year of the bank holidays', () => {
  it('counts weekends only: a bank holiday there is a working day', () => {
    const newYear = `${lastShippedYear + 1}-01-01`;
    const calendar = bundledHolidayCalendar('england-and-wales');
    expect(calendar.has(`${lastShippedYear}-01-01`) || calendar.has(`${lastShippedYear}-01-02`) || calendar.has(`${lastShippedYear}-01-03`)).toBe(true);
    expect(calendar.has(newYear)).toBe(false);
    // The working day after 31 December of the last year is the next weekday, holiday or not.
    const next = workingDaysAfter(`${lastShippedYear}-12-31`, 1, calendar);
    expect(next.slice(0, 4)).toBe(String(lastShippedYear + 1));
    expect(new Date(`${next}T00:00:00Z`).getUTCDay()).not.toBe(0);
    expect(new Date(`${next}T00:00:00Z`).getUTCDay()).not.toBe(6);
  });

  it('warns six months ahead and after the end, never before', () => {
    expect(bankHolidayCoverage(2028, '2028-06-30').state).toBe('covered');
    expect(bankHolidayCoverage(2028, '2028-07-01').state).toBe('ending');
    expect(bankHolidayCoverage(2028, '2028-12-31').state).toBe('ending');
    expect(bankHolidayCoverage(2028, '2029-01-01').state).toBe('ended');
    expect(bankHolidayCoverage(null, '2026-01-01').state).toBe('ended');
  });
});

describe.each(testDrivers())('the administrator is told when the bank holidays run out, on %s', (driver) => {
  let t: TestApp;
  const clock = fixedClock(`${lastShippedYear + 1}-03-01T10:00:00Z`);
  const admin = () => clients.admin!;
  const clients: { admin?: TestClient; lead?: TestClient } = {};

  beforeAll(async () => {
    t = await createTestApp(driver, {}, clock);
    const council = await createSmallCouncil(t.db);
    clients.admin = new TestClient(t.app);
    await clients.admin.signIn(council.users.administrator.email, PASSWORD);
    clients.lead = new TestClient(t.app);
    await clients.lead.signIn(council.users.qa_lead.email, PASSWORD);
  }, 120_000);
  afterAll(async () => t?.close());

  it('after the last year: on My work and on the bank holidays page, for administrators only', async () => {
    clock.set(`${lastShippedYear + 1}-03-01T10:00:00Z`);
    const home = pageText((await admin().get('/')).body);
    expect(home).toContain(`The bank holidays end in ${lastShippedYear}: due dates after that count weekends only`);
    expect(pageText((await admin().get('/organisation/bank-holidays')).body)).toContain(`The bank holidays end in ${lastShippedYear}`);
    expect(pageText((await clients.lead!.get('/')).body)).not.toContain('The bank holidays end');
  });

  it('in the last half-year: a warning to load the newer file before then', async () => {
    clock.set(`${lastShippedYear}-09-01T10:00:00Z`);
    expect(pageText((await admin().get('/')).body)).toContain(`from ${lastShippedYear + 1} due dates will count weekends only`);
  });

  it('while covered: nothing', async () => {
    clock.set(`${lastShippedYear}-02-01T10:00:00Z`);
    expect(pageText((await admin().get('/')).body)).not.toContain('The bank holidays end');
  });
});
