import { createTestApp } from '../test/support/app.ts';
import { seedDemoCouncil } from '../src/demo/seed.ts';
import { ukDateAt } from '../src/platform/clock.ts';
import { buildReport } from '../src/modules/reports/report.ts';
import { loadPrincipal } from '../src/platform/auth/queries.ts';
import { themeTables } from '../src/modules/reports/themes.ts';
import { periodChoices } from '../src/modules/reports/period.ts';
const t = await createTestApp('pglite');
const today = ukDateAt(new Date());
await seedDemoCouncil(t.db, { now: new Date(), today });
const user = await t.db.selectFrom('users').select('id').where('email', '=', 'qa.lead@avonford.example').executeTakeFirstOrThrow();
const principal = (await loadPrincipal(t.db, user.id))!;
for (const period of periodChoices(today).quarters.slice(0, 3).map((q) => q.value)) {
  const start = performance.now();
  const report = await buildReport(t.db, principal, { period }, today);
  console.log(period, 'built in', Math.round(performance.now() - start), 'ms; graded', report.grades.overall.total.n, 'GoB', report.comparison[0].percent);
  for (const table of themeTables(report)) console.log(table.title, '\n', table.rows.map((row) => row.map((cell) => cell.text).join(' | ')).join('\n '));
}
console.log(JSON.stringify((await buildReport(t.db, principal, {}, today)).trend.map((q) => [q.period.label, q.total.n, q.percent])));
await t.close();
