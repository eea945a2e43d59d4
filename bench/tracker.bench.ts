/**
 * Audit tracker: the first filtered page over a large register of audits, as a QA coordinator
 * (organisation scope) asks for it. Four measurements in the same process:
 *
 *   HTTP page   GET /audits?… through the real app (app.inject, signed in): routing, session,
 *               filters, the tracker queries, the filter choices, the activity entry, the page.
 *   service     listTrackerAudits(): the page and its count, as the route calls them.
 *   bare SQL    the same page and count written by hand: the baseline.
 *   bare route  a Fastify route returning a tiny string: the floor of any request.
 */
import { sql } from 'kysely';
import type { Db } from '../src/db/index.ts';
import { listTrackerAudits, listTrackerFilterOptions, trackerFilterSchema, TRACKER_PAGE_SIZE, type TrackerFilters } from '../src/modules/audits/tracker.ts';
import { DEMO_PASSWORD } from '../src/demo/data.ts';
import { dataScope, type Principal } from '../src/platform/access.ts';
import { findUserByEmail, loadPrincipal } from '../src/platform/auth/queries.ts';
import { TestClient } from '../test/support/client.ts';
import { startBenchApps, type BenchContext } from './context.ts';
import { ensureRegister } from './generate.ts';
import { latencies, ratio, round, summarise } from './measure.ts';
import { ukDateAt } from '../src/platform/clock.ts';

type Summary = ReturnType<typeof summarise>;

export type TrackerBenchResult = {
  audits: number;
  children: number;
  /** The request measured (the filter ids are the scratch database's). */
  url: string;
  /** Audits matching the filter, and rows on the first page. */
  matching: number;
  pageRows: number;
  iterations: number;
  warmups: number;
  http: Summary;
  service: Summary;
  bareSql: Summary;
  bareRoute: Summary;
  ratios: { httpToBareSql: number; serviceToBareSql: number; httpToBareRoute: number };
  /** The other work the page does besides the tracker query, each measured on its own. */
  parts: Record<string, Summary>;
  /** EXPLAIN ANALYZE of the bare page and count queries. */
  plan: string[];
  notes: string[];
};

const SIGN_IN = 'qa.coordinator@avonford.example';
const SERVICE_NAME = 'Area Social Work North';
const FILTER_CHOICES = 'filter choices (listTrackerFilterOptions)';

export async function runTrackerBench(ctx: BenchContext): Promise<TrackerBenchResult> {
  const warmups = 5;
  const iterations = ctx.small ? 30 : 50;

  const { audits, children } = await ensureRegister(ctx);

  const principal = await signInPrincipal(ctx.db);
  const service = await sql<{ id: string }>`select id from services where organisation_id = ${ctx.organisationId} and name = ${SERVICE_NAME}`.execute(ctx.db);
  // "Which audits in my service are overdue?": still with the auditor, past their due date.
  const query = new URLSearchParams([
    ['status', 'allocated'],
    ['status', 'in_progress'],
    ['status', 'returned'],
    ['service', service.rows[0]!.id],
    ['overdue', 'yes'],
  ]);
  const url = `/audits?${query.toString()}`;
  const filters = trackerFilterSchema.parse(Object.fromEntries(groupParams(query)));
  const bare = bareQueries(ctx.organisationId, filters);

  // The answers must agree before their timings are compared.
  const viaService = await listTrackerAudits(ctx.db, principal, filters, { page: 1, pageSize: TRACKER_PAGE_SIZE }, ukDateAt(new Date()));
  const viaSql = await bare.run(ctx.db);
  if (viaService.total !== viaSql.total || viaService.rows.map((row) => row.id).join() !== viaSql.ids.join()) {
    throw new Error(`the service and the bare SQL disagree: ${viaService.total} vs ${viaSql.total} audits`);
  }
  if (viaService.rows.length !== TRACKER_PAGE_SIZE) throw new Error(`the filter matches too few audits (${viaService.total}) for a full first page`);

  const { app, floor, close } = await startBenchApps(ctx);
  try {
    const client = new TestClient(app);
    await client.signIn(SIGN_IN, DEMO_PASSWORD);
    const page = await client.get(url);
    const shown = `of ${viaService.total.toLocaleString('en-GB')} audits`;
    if (page.statusCode !== 200 || !page.body.includes(shown)) throw new Error(`GET ${url} answered ${page.statusCode} without "${shown}"`);

    const options = { warmups, iterations };
    ctx.log(`tracker: ${audits.toLocaleString('en-GB')} audits, ${viaService.total} matching; ${iterations} runs of each`);
    // Interleaving would be fairer to drift, but each in a block keeps its caches warm as in use.
    const bareSql = summarise(await latencies(() => bare.run(ctx.db), options));
    ctx.log(`  bare SQL: ${bareSql.medianMs} ms`);
    const serviceCall = summarise(await latencies(() => listTrackerAudits(ctx.db, principal, filters, { page: 1, pageSize: TRACKER_PAGE_SIZE }, ukDateAt(new Date())), options));
    ctx.log(`  service: ${serviceCall.medianMs} ms`);
    const http = summarise(
      await latencies(async () => {
        const response = await client.get(url);
        if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}`);
      }, options),
    );
    ctx.log(`  HTTP page: ${http.medianMs} ms`);
    const bareRoute = summarise(await latencies(() => floor.inject({ method: 'GET', url: '/ping' }), { warmups: 50, iterations: 500 }));
    ctx.log(`  bare route: ${bareRoute.medianMs} ms`);

    const parts = {
      [FILTER_CHOICES]: summarise(await latencies(() => listTrackerFilterOptions(ctx.db, principal), { warmups: 2, iterations: 20 })),
      'bare page query alone': summarise(await latencies(() => bare.page(ctx.db), options)),
      'bare count query alone': summarise(await latencies(() => bare.count(ctx.db), options)),
    };
    for (const [what, summary] of Object.entries(parts)) ctx.log(`  ${what}: ${summary.medianMs} ms`);

    return {
      audits,
      children,
      url: `/audits?${decodeURIComponent(query.toString()).replace(service.rows[0]!.id, '<Area Social Work North>')}`,
      matching: viaService.total,
      pageRows: viaService.rows.length,
      iterations,
      warmups,
      http,
      service: serviceCall,
      bareSql,
      bareRoute,
      ratios: {
        httpToBareSql: round(ratio(http.medianMs, bareSql.medianMs), 1),
        serviceToBareSql: round(ratio(serviceCall.medianMs, bareSql.medianMs), 1),
        httpToBareRoute: round(ratio(http.medianMs, bareRoute.medianMs), 1),
      },
      parts,
      plan: await bare.explain(ctx.db),
      notes: notes(parts, http),
    };
  } finally {
    await close();
  }
}

async function signInPrincipal(db: Db): Promise<Principal> {
  const user = await findUserByEmail(db, SIGN_IN);
  const principal = user ? await loadPrincipal(db, user.id) : null;
  if (!principal) throw new Error(`no demo user ${SIGN_IN}`);
  if (dataScope(principal, 'audits.view').kind !== 'organisation') throw new Error(`${SIGN_IN} should see the whole organisation's audits`);
  return principal;
}

/** Query-string pairs as the app's parser gives them: repeated keys become arrays. */
function groupParams(params: URLSearchParams): Map<string, string | string[]> {
  const grouped = new Map<string, string | string[]>();
  for (const [key, value] of params) {
    const known = grouped.get(key);
    grouped.set(key, known === undefined ? value : [...(Array.isArray(known) ? known : [known]), value]);
  }
  return grouped;
}

/**
 * The tracker's page and count written by hand, with the same joins, filter and order as the
 * service (sorted by allocation date, newest first, ties by reference), for organisation scope.
 */
function bareQueries(organisationId: string, filters: TrackerFilters) {
  if (filters.sort !== 'allocated' || filters.order !== 'desc' || filters.team || filters.tool || filters.grade || filters.allocatedFrom || filters.allocatedTo) {
    throw new Error('the bare SQL is written for status, service and overdue filters in the default order');
  }
  const statuses = sql.join(filters.status.map((status) => sql`${status}`));
  const where = sql`
    where a.organisation_id = ${organisationId}
      and a.status in (${statuses})
      and a.service_id = ${filters.service!}
      ${filters.overdue ? sql`and a.due_on < current_date and a.status in ('allocated', 'in_progress', 'returned')` : sql``}`;
  const from = sql`
    from audits a
    join children c on c.id = a.child_id
    join audit_tool_editions e on e.id = a.tool_edition_id
    join audit_tools t on t.id = e.tool_id
    join staff au on au.id = a.auditor_id
    left join staff ch on ch.id = a.case_holder_id
    left join teams tm on tm.id = a.team_id
    left join services sv on sv.id = a.service_id`;
  const pageSql = sql<{ id: string }>`
    select a.id, a.reference, a.status, a.allocated_on, a.due_on, a.submitted_at, a.moderated_at, a.auditor_grade, a.final_grade,
      a.team_id, a.service_id, a.auditor_id, a.case_holder_id, c.id as child_id, c.initials as child_initials,
      c.external_id as child_external_id, t.id as tool_id, t.name as tool_name, e.edition as tool_edition,
      au.full_name as auditor_name, ch.full_name as case_holder_name, tm.name as team_name, sv.name as service_name,
      (a.due_on < current_date and a.status in ('allocated', 'in_progress', 'returned')) as overdue
    ${from}
    ${where}
    order by a.allocated_on desc nulls last, a.reference desc
    limit ${TRACKER_PAGE_SIZE}`;
  const countSql = sql<{ n: number }>`select count(*)::int as n ${from} ${where}`;
  const page = (db: Db) => pageSql.execute(db);
  const count = (db: Db) => countSql.execute(db);
  return {
    page,
    count,
    run: async (db: Db) => {
      const rows = (await page(db)).rows;
      const total = (await count(db)).rows[0]!.n;
      return { ids: rows.map((row) => row.id), total };
    },
    explain: async (db: Db) => {
      const lines: string[] = [];
      for (const [label, query] of [['page', pageSql], ['count', countSql]] as const) {
        const explained = await sql<{ 'QUERY PLAN': string }>`explain (analyze, costs off, timing on, summary on) ${query}`.execute(db);
        lines.push(`-- ${label} query`, ...explained.rows.map((row) => row['QUERY PLAN']));
      }
      return lines;
    },
  };
}

function notes(parts: Record<string, Summary>, http: Summary): string[] {
  const options = parts[FILTER_CHOICES]!;
  return [
    'Signed in as the demo QA coordinator (organisation scope). The session, CSRF and security headers run on every HTTP request; app built with NODE_ENV=production.',
    `Besides the tracker query, the page builds its filter choices (listTrackerFilterOptions: the teams, services and tools with an audit in scope, asked with EXISTS): median ${options.medianMs} ms on its own, ` +
      `against ${http.medianMs} ms for the whole page. It also writes one activity-log entry and renders the template.`,
    `Bare page query alone: median ${parts['bare page query alone']!.medianMs} ms; bare count alone: median ${parts['bare count query alone']!.medianMs} ms (the service counts only when the first page is full).`,
  ];
}
