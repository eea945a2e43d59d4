/**
 * The date-sensitive tests once more, with the whole system's clock moved ahead: a suite that
 * passes today and fails next month is a defect. Debian's `faketime` moves the clock of the
 * test process and of everything it starts; PGlite runs inside that process, so its SQL clock
 * moves too (a PostgreSQL server would keep the real time, so these run on PGlite only). The
 * shift (800 days by default, `TEST_CLOCK_AHEAD_DAYS`) takes the suite past the last year of the
 * bank holidays shipped with Assure.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const FAKETIME = '/usr/bin/faketime';
const DAYS = Number(process.env.TEST_CLOCK_AHEAD_DAYS ?? 800);

/** Tests whose rules read the time: deadlines, overdue, reminders, e-mail retries, sessions, the demo's dates. */
const DATE_SENSITIVE = [
  'src/demo/data.test.ts',
  'test/working-days.test.ts',
  'test/bank-holidays.test.ts',
  'test/bank-holiday-coverage.test.ts',
  'test/bank-holiday-admin.test.ts',
  'test/timescales.test.ts',
  'test/lifecycle.test.ts',
  'test/lifecycle-flow.test.ts',
  'test/allocation.test.ts',
  'test/actions.test.ts',
  'test/escalation.test.ts',
  'test/distribution.test.ts',
  'test/my-work.test.ts',
  'test/reminders.test.ts',
  'test/audit-notifications.test.ts',
  'test/outbox.test.ts',
  'test/notify.test.ts',
  'test/tracker.test.ts',
  'test/demo.test.ts',
  'test/platform.test.ts',
  'test/bristol-path.test.ts',
  'test/tool-format-in-use.test.ts',
];

if (!fs.existsSync(FAKETIME)) {
  if (process.env.CI === 'true') {
    console.error('CI=true but faketime is not installed (apt-get install faketime): the tests with the clock moved ahead cannot be skipped on CI');
    process.exit(1);
  }
  console.log('Skipping the tests with the clock moved ahead: faketime is not installed (apt-get install faketime).');
  process.exit(0);
}

/**
 * The moment: 23:30 UTC on the first 30 June at least that many days ahead, a summer night.
 * Then a test that mixes UTC's date with the UK's fails, for the UK's date is a day ahead
 * (00:30 BST on 1 July); and so does one that counts days in steps of 24 hours, for a step back
 * past March's change of the clocks lands on another UK date. A run made at 23:05 once failed so,
 * and passed at other hours; the main run, on the real date, varies the day.
 */
const ahead = new Date(Date.now() + DAYS * 86_400_000);
const year = ahead.getUTCFullYear() + (ahead.toISOString().slice(5, 10) > '06-30' ? 1 : 0);

console.log(`The date-sensitive tests with the clock at 23:30 UTC on 30 June ${year}, at least ${DAYS} days ahead (PGlite):`);
const result = spawnSync(FAKETIME, ['-f', `@${year}-06-30 23:30:00`, process.execPath, 'node_modules/vitest/vitest.mjs', 'run', ...(process.argv.length > 2 ? process.argv.slice(2) : DATE_SENSITIVE)], {
  stdio: 'inherit',
  // Timers run on the real monotonic clock; only the wall clock moves. TZ: the moment is UTC's.
  env: { ...process.env, FAKETIME_DONT_FAKE_MONOTONIC: '1', TEST_DRIVERS: 'pglite', TZ: 'UTC' },
});
process.exit(result.status ?? 1);
