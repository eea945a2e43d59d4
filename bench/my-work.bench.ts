/**
 * My work: the home page over a large register of audits, as the QA coordinator (organisation
 * scope) opens it with the audit pipeline, and as an auditor with their own work. Five
 * measurements in the same process:
 *
 *   HTTP page      GET / as the QA coordinator through the real app (app.inject, signed in):
 *                  routing, session, the holiday calendar, the work waiting on them, the
 *                  pipeline, the activity entry, the page.
 *   service        selectPipeline(): the open audits in reach per status, with how many are
 *                  overdue (red) and due soon (amber) by the deadline of the stage they are in.
 *   bare SQL       the same counts in one aggregate written by hand: the baseline.
 *   auditor page   GET / as the demo auditor: the work waiting on them, no pipeline.
 *   bare route     a Fastify route returning a tiny string: the floor of any request.
 */
import { sql } from 'kysely';
import type { Db } from '../src/db/index.ts';
import { ukDateAt } from '../src/platform/clock.ts';
import { selectPipeline, selectWork, workDates, type PipelineRow, type WorkDates } from '../src/modules/home/my-work.ts';
import { holidayCalendarFor } from '../src/modules/org/calendar.ts';
import { DEMO_PASSWORD } from '../src/demo/data.ts';
import { dataScope, type Principal } from '../src/platform/access.ts';
import { findUserByEmail, loadPrincipal } from '../src/platform/auth/queries.ts';
import { TestClient } from '../test/support/client.ts';
import { startBenchApps, type BenchContext } from './context.ts';
import { ensureRegister } from './generate.ts';
import { latencies, ratio, round, summarise } from './measure.ts';

type Summary = ReturnType<typeof summarise>;

export type MyWorkBenchResult = {
  audits: number;
  children: number;
  /** Open audits the pipeline counts, and its rows (status, total, red, amber, green). */
  open: number;
  pipeline: PipelineRow[];
  /** Items waiting on each person signed in (selectWork), all of which their page lists. */
  items: { coordinator: number; auditor: number };
  iterations: number;
  warmups: number;
  http: Summary;
  service: Summary;
  bareSql: Summary;
  auditorPage: Summary;
  bareRoute: Summary;
  ratios: { httpToBareSql: number; serviceToBareSql: number; httpToBareRoute: number; auditorPageToBareRoute: number };
  /** The other work the pages do besides the pipeline, each measured on its own. */
  parts: Record<string, Summary>;
  /** EXPLAIN ANALYZE of the bare aggregate. */
  plan: string[];
  notes: string[];
};

const COORDINATOR = 'qa.coordinator@avonford.example';
const AUDITOR = 'auditor@avonford.example';
const PAGE_URL = '/';
const CALENDAR = 'holiday calendar (holidayCalendarFor)';
const COORDINATOR_WORK = "the QA coordinator's own items (selectWork)";
const AUDITOR_WORK = "the auditor's own items (selectWork)";

export async function runMyWorkBench(ctx: BenchContext): Promise<MyWorkBenchResult> {
  const warmups = 5;
  const iterations = ctx.small ? 30 : 50;

  const { audits, children } = await ensureRegister(ctx);
  const coordinator = await principalOf(ctx.db, COORDINATOR);
  const auditor = await principalOf(ctx.db, AUDITOR);
  const scope = dataScope(coordinator, 'audits.view');
  if (scope.kind !== 'organisation') throw new Error(`${COORDINATOR} should see the whole organisation's audits`);
  // As the route asks them: today in the UK and the organisation's working days.
  const dates = workDates(ukDateAt(new Date()), await holidayCalendarFor(ctx.db, ctx.organisationId));
  const bare = bareAggregate(ctx.organisationId, dates);

  // The answers must agree before their timings are compared.
  const pipeline = await selectPipeline(ctx.db, scope, dates);
  const viaSql = new Map((await bare.run(ctx.db)).rows.map((row) => [row.status, row]));
  for (const row of pipeline) {
    const other = viaSql.get(row.status) ?? { total: 0, red: 0, amber: 0 };
    if (row.total !== other.total || row.red !== other.red || row.amber !== other.amber) {
      throw new Error(`the service and the bare SQL disagree on ${row.status}: ${row.total}/${row.red}/${row.amber} vs ${other.total}/${other.red}/${other.amber} (total/red/amber)`);
    }
  }
  if (viaSql.size !== pipeline.filter((row) => row.total > 0).length) throw new Error('the bare SQL counts statuses the pipeline does not show');
  const empty = pipeline.filter((row) => row.total === 0).map((row) => row.status);
  if (empty.length) throw new Error(`no open audits generated in ${empty.join(', ')}`);
  if (!pipeline.some((row) => row.status !== 'allocated' && row.status !== 'in_progress' && row.status !== 'returned' && row.red > 0 && row.green > 0)) {
    throw new Error('the audits past the auditor have no stage deadlines to be red or green by');
  }
  const open = pipeline.reduce((sum, row) => sum + row.total, 0);

  const coordinatorWork = () => selectWork(ctx.db, { organisationId: ctx.organisationId, staffId: coordinator.staffId }, dates);
  const auditorWork = () => selectWork(ctx.db, { organisationId: ctx.organisationId, staffId: auditor.staffId }, dates);
  const auditorItems = await auditorWork();
  const items = { coordinator: (await coordinatorWork()).length, auditor: auditorItems.length };
  const auditorAudits = auditorItems.filter((item) => item.section === 'audits').length;
  if (auditorAudits === 0) throw new Error(`${AUDITOR} has no audits to do in the generated register`);

  const { app, floor, close } = await startBenchApps(ctx);
  try {
    const asCoordinator = new TestClient(app);
    await asCoordinator.signIn(COORDINATOR, DEMO_PASSWORD);
    const page = await asCoordinator.get(PAGE_URL);
    if (page.statusCode !== 200) throw new Error(`GET ${PAGE_URL} as ${COORDINATOR} answered ${page.statusCode}`);
    for (const row of pipeline) {
      const shown = new RegExp(`data-status="${row.status}">([\\s\\S]*?)</tr>`).exec(page.body)?.[1];
      if (!shown?.trimEnd().endsWith(`>${row.total.toLocaleString('en-GB')}</td>`)) throw new Error(`GET ${PAGE_URL} as ${COORDINATOR}: the pipeline does not show ${row.total} ${row.status}`);
    }
    const asAuditor = new TestClient(app);
    await asAuditor.signIn(AUDITOR, DEMO_PASSWORD);
    const auditorFirst = await asAuditor.get(PAGE_URL);
    const listed = `Audits to do (${auditorAudits.toLocaleString('en-GB')})`;
    if (auditorFirst.statusCode !== 200 || !auditorFirst.body.includes(listed) || auditorFirst.body.includes('data-pipeline')) {
      throw new Error(`GET ${PAGE_URL} as ${AUDITOR} answered ${auditorFirst.statusCode} without "${listed}", or with the pipeline`);
    }

    const options = { warmups, iterations };
    ctx.log(`my work: ${audits.toLocaleString('en-GB')} audits, ${open.toLocaleString('en-GB')} open; ${items.coordinator} items for the QA coordinator, ${items.auditor} for the auditor; ${iterations} runs of each`);
    // Interleaving would be fairer to drift, but each in a block keeps its caches warm as in use.
    const bareSql = summarise(await latencies(() => bare.run(ctx.db), options));
    ctx.log(`  bare SQL: ${bareSql.medianMs} ms`);
    const service = summarise(await latencies(() => selectPipeline(ctx.db, scope, dates), options));
    ctx.log(`  service: ${service.medianMs} ms`);
    const http = summarise(await latencies(() => get(asCoordinator, COORDINATOR), options));
    ctx.log(`  HTTP page (QA coordinator): ${http.medianMs} ms`);
    const auditorPage = summarise(await latencies(() => get(asAuditor, AUDITOR), options));
    ctx.log(`  HTTP page (auditor): ${auditorPage.medianMs} ms`);
    const bareRoute = summarise(await latencies(() => floor.inject({ method: 'GET', url: '/ping' }), { warmups: 50, iterations: 500 }));
    ctx.log(`  bare route: ${bareRoute.medianMs} ms`);

    const parts = {
      [CALENDAR]: summarise(await latencies(() => holidayCalendarFor(ctx.db, ctx.organisationId), options)),
      [COORDINATOR_WORK]: summarise(await latencies(coordinatorWork, options)),
      [AUDITOR_WORK]: summarise(await latencies(auditorWork, options)),
    };
    for (const [what, summary] of Object.entries(parts)) ctx.log(`  ${what}: ${summary.medianMs} ms`);

    return {
      audits,
      children,
      open,
      pipeline,
      items,
      iterations,
      warmups,
      http,
      service,
      bareSql,
      auditorPage,
      bareRoute,
      ratios: {
        httpToBareSql: round(ratio(http.medianMs, bareSql.medianMs), 1),
        serviceToBareSql: round(ratio(service.medianMs, bareSql.medianMs), 1),
        httpToBareRoute: round(ratio(http.medianMs, bareRoute.medianMs), 1),
        auditorPageToBareRoute: round(ratio(auditorPage.medianMs, bareRoute.medianMs), 1),
      },
      parts,
      plan: await bare.explain(ctx.db),
      notes: notes(parts, { http, service, auditorPage }, items),
    };
  } finally {
    await close();
  }
}

async function get(client: TestClient, who: string): Promise<void> {
  const response = await client.get(PAGE_URL);
  if (response.statusCode !== 200) throw new Error(`GET ${PAGE_URL} as ${who} answered ${response.statusCode}`);
}

async function principalOf(db: Db, email: string): Promise<Principal & { staffId: string }> {
  const user = await findUserByEmail(db, email);
  const principal = user ? await loadPrincipal(db, user.id) : null;
  if (!principal) throw new Error(`no demo user ${email}`);
  if (!principal.staffId) throw new Error(`${email} has no staff record, so no work of their own`);
  return { ...principal, staffId: principal.staffId };
}

/**
 * The pipeline's counts written by hand for organisation scope: the open audits per status,
 * red when the deadline of the stage they are in has passed, amber when it falls between
 * today and the last day that is still due soon. With the auditor (allocated, in progress,
 * returned) that deadline falls back to the audit's due date, as the service's.
 */
function bareAggregate(organisationId: string, dates: WorkDates) {
  const query = sql<{ status: string; total: number; red: number; amber: number }>`
    select status,
      count(*)::int as total,
      (count(*) filter (where due < ${dates.today}::date))::int as red,
      (count(*) filter (where due >= ${dates.today}::date and due <= ${dates.dueSoonBy}::date))::int as amber
    from (
      select a.status,
        case when a.status in ('allocated', 'in_progress', 'returned') then coalesce(a.stage_due_on, a.due_on) else a.stage_due_on end as due
      from audits a
      where a.organisation_id = ${organisationId} and a.status <> 'closed'
    ) open_audits
    group by status`;
  return {
    run: (db: Db) => query.execute(db),
    explain: async (db: Db) => {
      const explained = await sql<{ 'QUERY PLAN': string }>`explain (analyze, costs off, timing on, summary on) ${query}`.execute(db);
      return explained.rows.map((row) => row['QUERY PLAN']);
    },
  };
}

function notes(parts: Record<string, Summary>, timed: { http: Summary; service: Summary; auditorPage: Summary }, items: MyWorkBenchResult['items']): string[] {
  const calendar = parts[CALENDAR]!;
  const coordinatorWork = parts[COORDINATOR_WORK]!;
  const auditorWork = parts[AUDITOR_WORK]!;
  return [
    'Signed in as the demo QA coordinator (organisation scope) and the demo auditor. The session, CSRF and security headers run on every HTTP request; app built with NODE_ENV=production.',
    `Besides the pipeline (service median ${timed.service.medianMs} ms), the QA coordinator's page reads the holiday calendar (median ${calendar.medianMs} ms) and the work waiting on them ` +
      `(selectWork, ${items.coordinator} items: median ${coordinatorWork.medianMs} ms), against ${timed.http.medianMs} ms for the whole page. Each page also writes one activity-log entry and renders every item it lists.`,
    `The auditor's page has no pipeline: the holiday calendar and the work waiting on them (selectWork, ${items.auditor} items: median ${auditorWork.medianMs} ms), against ${timed.auditorPage.medianMs} ms for the whole page.`,
    'The generated register spreads a few staff over many audits each, so each person has far more waiting than in a council; stage deadlines count working days as calendar days (10 as 14, 5 as 7).',
  ];
}
