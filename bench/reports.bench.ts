/**
 * Reports at scale: one organisation's quarterly report over a register of many councils'
 * audits, as DESIGN.md sets the target ("the quarterly report over 1,000,000 audits … returns
 * in about a second, and its time grows no faster than the rows it reads").
 *
 * The register: 150 organisations; the demo council (the reader's) has its real structure,
 * people and built-in tools, and 1/150 of the audits; the other 149 councils hold the rest, so
 * the tables are as large as the whole register while the report reads one council. Every audit
 * has a judgement row per graded answer of its tool (Bristol 2019: one per domain and the
 * overall), moderator rows where the moderator regraded, its lifecycle transitions and, once
 * moderated, two actions. Generated in the database, set-based, with a fixed seed.
 *
 * Measured in the same run, for each size:
 *   report page       GET /reports?period=… through the real app, signed in as the QA coordinator
 *   report (service)  buildReport(): every section's measures, as the page calls it
 *   first read        the same with nothing kept from the last call (charts drawn, list queries built: memo.ts)
 *   trend             the eight quarters' final-grade distributions (gradesOverPeriods)
 *   calibration       the auditor × final matrices by auditor and moderator (calibrationMeasure)
 *   BI feed           the judgements dataset of the financial year as CSV (feedCsv), read to the end
 *   bare SQL          each of the above as the fewest hand-written statements: the baseline
 * and the statements each one sends (and in how many waves: statements sent together count once).
 * With --pglite-audits, the same report on the embedded database over that many audits, with
 * its ratio to PostgreSQL at the same size when the run measured one.
 */
import path from 'node:path';
import { sql, type KyselyPlugin } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';
import { openPglite, postgresPoolOf, type Db } from '../src/db/index.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { DEMO_PASSWORD } from '../src/demo/data.ts';
import { dataScope, type Principal } from '../src/platform/access.ts';
import { findUserByEmail, loadPrincipal } from '../src/platform/auth/queries.ts';
import { ukDateAt } from '../src/platform/clock.ts';
import { feedbackRespondentsFor, stageClockFor } from '../src/modules/audits/tracker.ts';
import { judgementDomains } from '../src/modules/tools/domains.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { feedCsv } from '../src/modules/reports/feed.ts';
import { forgetMemoised } from '../src/modules/reports/memo.ts';
import { buildReport } from '../src/modules/reports/report.ts';
import { calibrationMeasure, gradesOverPeriods, type MeasureContext } from '../src/modules/reports/measures.ts';
import { addDays } from '../src/platform/working-days.ts';
import { financialQuarterOf, financialYear, parseReportPeriod, previousPeriod, quartersEnding, samePeriodLastYear, type ReportPeriod } from '../src/modules/reports/period.ts';
import { TestClient } from '../test/support/client.ts';
import { seedOrganisation, startBenchApps, type BenchContext } from './context.ts';
import { seedChildrenSql } from './generate.ts';
import { measure, median, ratio, round, summarise } from './measure.ts';

type Summary = ReturnType<typeof summarise>;

/** Statements sent, and waves: a statement sent while none of the others is in flight starts a wave. */
export type Statements = { statements: number; waves: number };

export type ReportsSizeResult = {
  audits: number;
  readerAudits: number;
  judgements: number;
  generatedSeconds: number;
  /** Audits the quarter's report counts (moderated in it) for the reader. */
  gradedInQuarter: number;
  /** Rows of the reader's judgements feed for the financial year. */
  feedRows: number;
  page: Summary;
  report: Summary;
  firstRead: Summary;
  trend: Summary;
  calibration: Summary;
  feed: Summary;
  /** Each measure's bare SQL as timed beside it. */
  bare: { report: Summary; firstRead: Summary; page: Summary; trend: Summary; calibration: Summary; feed: Summary };
  ratios: { pageToBare: number; reportToBare: number; firstReadToBare: number; trendToBare: number; calibrationToBare: number; feedToBare: number };
  statements: { report: Statements; trend: Statements; calibration: Statements; feed: Statements; bareReport: Statements };
  memory: { reportPeakRssIncreaseMb: number; feedPeakRssIncreaseMb: number; processMaxRssMb: number };
};

export type PgliteResult = {
  audits: number;
  readerAudits: number;
  generatedSeconds: number;
  report: Summary;
  bareReport: Summary;
  reportToBare: number;
  /** PGlite's report over PostgreSQL's at the same number of audits; null when this run did not measure PostgreSQL at that size. */
  toPostgres: number | null;
  statements: Statements;
  memory: { rssAfterGenerationMb: number; reportPeakRssIncreaseMb: number };
};

export type ReportsBenchResult = { sizes: ReportsSizeResult[]; pglite: PgliteResult | null; organisations: number; period: string; feedPeriod: string; note: string };

const ORGANISATIONS = 150;
// Organisation scope without the second factor QA leads need (the bench signs in with a password).
const SIGN_IN = 'qa.coordinator@avonford.example';
const BRISTOL_2019 = 'bristol-child-case-audit';

export async function runReportsBench(ctx: BenchContext, options: { sizes?: number[]; pgliteAudits?: number } = {}): Promise<ReportsBenchResult> {
  const sizes = options.sizes ?? (ctx.small ? [100_000] : [100_000, 1_000_000]);
  const today = ukDateAt(new Date());
  const { period } = parseReportPeriod({}, today);
  const feedPeriod = financialYear(financialQuarterOf(today).year);
  const results: ReportsSizeResult[] = [];
  const { organisations } = await addOrganisations(ctx.db, ctx.organisationId);
  let generated = 0;
  for (const size of sizes) {
    const started = performance.now();
    await generateAudits(ctx, organisations, size - generated, today, generated);
    generated = size;
    const generatedSeconds = round((performance.now() - started) / 1000, 1);
    ctx.log(`reports: ${size.toLocaleString('en-GB')} audits generated in ${generatedSeconds} s`);
    results.push(await measureSize(ctx, size, generatedSeconds, period, feedPeriod, today));
  }
  const pglite = options.pgliteAudits ? await measurePglite(ctx, options.pgliteAudits, period, today, results) : null;
  return {
    sizes: results,
    pglite,
    organisations: ORGANISATIONS,
    period: period.label,
    feedPeriod: feedPeriod.label,
    note:
      'Each measure and its bare SQL are timed in turn, run by run; a ratio is the median of the runs\u2019 own ratios, so load that comes and goes on a shared machine meets both. ' +
      'The report is the whole Reports page for the current quarter as the QA coordinator (organisation scope) reads it, no filters. Bare SQL: the same figures as few hand-written statements over the same tables, sent together — ' +
      'filter choices and names; activity; timeliness per stage (with the working days of each span); grades by service, team, legal status and tool; the comparisons and the trend; calibration; Inadequate, case directions and re-audits; judgements by domain; family feedback answers; the texts the themes read; actions. ' +
      'The bare SQL does not tokenise the texts or draw charts: the report does, on the server. BI feed: the judgements CSV of the financial year; its bare SQL is a COPY of the same rows (the domain of each judgement joined from the tool file). ' +
      'Statements: those the code sends through Kysely, in waves (statements in flight together count as one wave); a transaction\u2019s begin and commit are not among them (the report opens two, to run its timeliness and Inadequate statements without JIT). ' +
      'Peak RSS increase: over the RSS after a full GC, sampled every 50 ms while the work runs once.',
  };
}

async function measureSize(ctx: BenchContext, audits: number, generatedSeconds: number, period: ReportPeriod, feedPeriod: ReportPeriod, today: string): Promise<ReportsSizeResult> {
  const principal = await signInPrincipal(ctx.db);
  const context: MeasureContext = { db: ctx.db, scope: dataScope(principal, 'reports.view'), filters: {}, today, stageClock: await stageClockFor(ctx.db, principal.organisationId) };
  const quarters = quartersEnding(period.to, 8);
  const bare = await bareQueries(ctx.db, ctx.organisationId, period, today);
  const options = { warmups: 2, iterations: ctx.small ? 10 : 15 };
  const scope = dataScope(principal, 'audits.view');
  const feed = () => readFeed(ctx.db, scope, feedPeriod, today);

  // The answers must agree before their timings are compared.
  const built = await buildReport(ctx.db, principal, {}, today);
  const checks = await bare.check(ctx.db);
  agree('graded audits', built.grades.overall.total.n, checks.graded);
  agree('audits allocated', built.activity.totals.allocated!.n, checks.allocated);
  agree('audits overdue', built.activity.overdue.n, checks.overdue);
  agree('graded in the trend', built.trend.reduce((a, quarter) => a + quarter.total.n, 0), checks.trend);
  agree('actions agreed', built.actions.agreed.n, checks.agreed);
  const feedRows = await feed();
  const bareFeedRows = await bare.feed(ctx.db, feedPeriod);
  agree('feed rows', feedRows, bareFeedRows);

  const statements = {
    report: await countStatements(ctx.db, (db) => buildReport(db, principal, {}, today)),
    trend: await countStatements(ctx.db, (db) => gradesOverPeriods({ ...context, db }, quarters)),
    calibration: await countStatements(ctx.db, (db) => calibrationMeasure({ ...context, db }, period)),
    feed: await countStatements(ctx.db, (db) => readFeed(db, scope, feedPeriod, today)),
    bareReport: await countStatements(ctx.db, (db) => bare.report(db)),
  };
  ctx.log(`  statements: report ${statements.report.statements} in ${statements.report.waves} waves, bare ${statements.bareReport.statements} in ${statements.bareReport.waves}`);

  const { app, close } = await startBenchApps(ctx);
  try {
    const client = new TestClient(app);
    await client.signIn(SIGN_IN, DEMO_PASSWORD);
    const first = await client.get('/reports');
    if (first.statusCode !== 200) throw new Error(`GET /reports answered ${first.statusCode}`);
    const reportMemory = await measure(() => buildReport(ctx.db, principal, {}, today));
    const feedMemory = await measure(feed);
    // Each measure and its bare SQL are timed in turn, run by run, so both meet the same load.
    const [bareReport, report] = await paired(() => bare.report(ctx.db), () => buildReport(ctx.db, principal, {}, today), options);
    ctx.log(`  report (service): ${report.medianMs} ms (bare ${bareReport.medianMs} ms)`);
    const [bareFirstRead, firstRead] = await paired(
      () => bare.report(ctx.db),
      () => {
        forgetMemoised();
        return buildReport(ctx.db, principal, {}, today);
      },
      options,
    );
    ctx.log(`  report, first read: ${firstRead.medianMs} ms`);
    const [barePage, page] = await paired(
      () => bare.report(ctx.db),
      async () => {
        const response = await client.get('/reports');
        if (response.statusCode !== 200) throw new Error(`GET /reports answered ${response.statusCode}`);
      },
      options,
    );
    ctx.log(`  report page: ${page.medianMs} ms`);
    const [bareTrend, trend] = await paired(() => bare.trend(ctx.db), () => gradesOverPeriods(context, quarters), options);
    ctx.log(`  trend: ${trend.medianMs} ms (bare ${bareTrend.medianMs} ms)`);
    const [bareCalibration, calibration] = await paired(() => bare.calibration(ctx.db), () => calibrationMeasure(context, period), options);
    ctx.log(`  calibration: ${calibration.medianMs} ms (bare ${bareCalibration.medianMs} ms)`);
    const [bareFeed, feedTimes] = await paired(() => bare.feed(ctx.db, feedPeriod), feed, options);
    ctx.log(`  BI feed (${feedRows} rows): ${feedTimes.medianMs} ms (bare ${bareFeed.medianMs} ms)`);
    const counted = await sql<{ audits: number; judgements: number }>`
      select (select count(*)::int from audits where organisation_id = ${ctx.organisationId}) as audits,
             (select count(*)::int from audit_judgements) as judgements
    `.execute(ctx.db);
    return {
      audits,
      readerAudits: counted.rows[0]!.audits,
      judgements: counted.rows[0]!.judgements,
      generatedSeconds,
      gradedInQuarter: checks.graded,
      feedRows,
      page,
      report,
      firstRead,
      trend,
      calibration,
      feed: feedTimes,
      bare: { report: bareReport, firstRead: bareFirstRead, page: barePage, trend: bareTrend, calibration: bareCalibration, feed: bareFeed },
      ratios: {
        pageToBare: page.medianRatio,
        reportToBare: report.medianRatio,
        firstReadToBare: firstRead.medianRatio,
        trendToBare: trend.medianRatio,
        calibrationToBare: calibration.medianRatio,
        feedToBare: feedTimes.medianRatio,
      },
      statements,
      memory: {
        reportPeakRssIncreaseMb: reportMemory.memory.peakIncreaseMb,
        feedPeakRssIncreaseMb: feedMemory.memory.peakIncreaseMb,
        processMaxRssMb: feedMemory.memory.processMaxRssMb,
      },
    };
  } finally {
    await close();
  }
}

/**
 * The bare SQL and the measure, timed in turn (which goes first alternating), after warm-ups:
 * on a shared machine both meet the same load, so their ratio holds when the times do not.
 * The ratio's median is of the runs' own ratios.
 */
async function paired(bare: () => Promise<unknown>, work: () => Promise<unknown>, options: { warmups: number; iterations: number }): Promise<[Summary, Summary & { medianRatio: number }]> {
  for (let i = 0; i < options.warmups; i++) {
    await bare();
    await work();
  }
  const [bareTimes, workTimes] = [[] as number[], [] as number[]];
  const timed = async (run: () => Promise<unknown>, into: number[]) => {
    const started = performance.now();
    await run();
    into.push(performance.now() - started);
  };
  for (let i = 0; i < options.iterations; i++) {
    if (i % 2) {
      await timed(work, workTimes);
      await timed(bare, bareTimes);
    } else {
      await timed(bare, bareTimes);
      await timed(work, workTimes);
    }
  }
  return [summarise(bareTimes), { ...summarise(workTimes), medianRatio: round(median(workTimes.map((time, i) => time / bareTimes[i]!)), 1) }];
}

function agree(what: string, report: number, bare: number) {
  if (report !== bare) throw new Error(`the report and the bare SQL disagree on ${what}: ${report} vs ${bare}`);
}

/** The judgements feed of the period read to its end, as a BI tool would; its data rows. */
async function readFeed(db: Db, scope: ReturnType<typeof dataScope>, period: ReportPeriod, today: string): Promise<number> {
  let lines = 0;
  for await (const chunk of feedCsv(db, scope, 'judgements', period, today)) lines += (String(chunk).match(/\r\n/g) ?? []).length;
  return lines - 1;
}

/**
 * The statements `work` sends to the database, and in how many waves. A plugin sees a query
 * when it is compiled (a subquery's builder is seen too, though never sent) and its result when
 * it comes back: a statement is a query with a result, and its time on the wire runs from one
 * to the other; overlapping times make one wave.
 */
async function countStatements(db: Db, work: (db: Db) => Promise<unknown>): Promise<Statements> {
  const started = new Map<unknown, number>();
  const spans: [number, number][] = [];
  const counter: KyselyPlugin = {
    transformQuery(args) {
      started.set(args.queryId, performance.now());
      return args.node;
    },
    async transformResult(args) {
      spans.push([started.get(args.queryId) ?? performance.now(), performance.now()]);
      return args.result;
    },
  };
  await work(db.withPlugin(counter));
  spans.sort((a, b) => a[0] - b[0]);
  let [waves, end] = [0, -Infinity];
  for (const [from, to] of spans) {
    if (from > end) waves += 1;
    end = Math.max(end, to);
  }
  return { statements: spans.length, waves };
}

/**
 * The same report on the embedded database: a register of `audits` generated there, the report
 * and its bare SQL timed, and the report's time over PostgreSQL's at the same size.
 */
async function measurePglite(ctx: BenchContext, audits: number, period: ReportPeriod, today: string, postgres: ReportsSizeResult[]): Promise<PgliteResult> {
  // On a data directory, as a council's trial runs it: the tables live in files, not in the WebAssembly heap.
  const scratch = await openPglite(path.join(ctx.tmpDir, 'reports-pglite'));
  try {
    await migrateToLatest(scratch.db);
    const organisationId = await seedOrganisation(scratch.db);
    const lite: BenchContext = { ...ctx, driver: 'pglite', db: scratch.db, databaseUrl: null, organisationId, small: true };
    const { organisations } = await addOrganisations(lite.db, organisationId);
    const started = performance.now();
    await generateAudits(lite, organisations, audits, today, 0);
    const generatedSeconds = round((performance.now() - started) / 1000, 1);
    ctx.log(`reports on PGlite: ${audits.toLocaleString('en-GB')} audits generated in ${generatedSeconds} s`);
    const principal = await signInPrincipal(lite.db);
    const bare = await bareQueries(lite.db, organisationId, period, today);
    const built = await buildReport(lite.db, principal, {}, today);
    agree('graded audits (PGlite)', built.grades.overall.total.n, (await bare.check(lite.db)).graded);
    const statements = await countStatements(lite.db, (db) => buildReport(db, principal, {}, today));
    const rssAfterGenerationMb = round(process.memoryUsage().rss / 1024 ** 2, 1);
    const memory = await measure(() => buildReport(lite.db, principal, {}, today));
    const [bareReport, report] = await paired(() => bare.report(lite.db), () => buildReport(lite.db, principal, {}, today), { warmups: 2, iterations: 10 });
    ctx.log(`  PGlite report: ${report.medianMs} ms (bare ${bareReport.medianMs} ms)`);
    const counted = await sql<{ audits: number }>`select count(*)::int as audits from audits where organisation_id = ${organisationId}`.execute(lite.db);
    const same = postgres.find((size) => size.audits === audits);
    return {
      audits,
      readerAudits: counted.rows[0]!.audits,
      generatedSeconds,
      report,
      bareReport,
      reportToBare: report.medianRatio,
      toPostgres: same ? round(ratio(report.medianMs, same.report.medianMs), 1) : null,
      statements,
      memory: { rssAfterGenerationMb, reportPeakRssIncreaseMb: memory.memory.peakIncreaseMb },
    };
  } finally {
    await scratch.close();
  }
}

async function signInPrincipal(db: Db): Promise<Principal> {
  const user = await findUserByEmail(db, SIGN_IN);
  const principal = user ? await loadPrincipal(db, user.id) : null;
  if (!principal) throw new Error(`no demo user ${SIGN_IN}`);
  return principal;
}

// ---------------------------------------------------------------------------------------------
// The register

/** The other 149 councils (names only: their audits borrow the reader's children and staff ids). */
async function addOrganisations(db: Db, readerId: string): Promise<{ organisations: string[] }> {
  await sql`
    insert into organisations (slug, name, settings)
    select 'bench-council-' || g, 'Bench council ' || g, '{}' from generate_series(2, ${ORGANISATIONS}) g
  `.execute(db);
  const rows = await sql<{ id: string }>`select id from organisations where slug like 'bench-council-%' order by slug`.execute(db);
  return { organisations: [readerId, ...rows.rows.map((row) => row.id)] };
}

/**
 * Adds `count` audits over the last three years, one in 150 to the reader, with their
 * judgements, transitions and actions. `offset` numbers them after those already made.
 */
async function generateAudits(ctx: BenchContext, organisations: string[], count: number, today: string, offset: number): Promise<void> {
  const reader = ctx.organisationId;
  const edition = await sql<{ id: string; definition: AuditTool }>`
    select e.id, e.definition from audit_tool_editions e join audit_tools t on t.id = e.tool_id
    where t.organisation_id = ${reader} and t.key = ${BRISTOL_2019} order by e.published_at desc limit 1
  `.execute(ctx.db);
  if (!edition.rows[0]) throw new Error(`the demo council has no ${BRISTOL_2019}`);
  const keys = judgementDomains(edition.rows[0].definition).map((entry) => entry.answerKey);
  if (offset === 0) {
    // Enough children that an audit rarely repeats a child within a council's share.
    await seedChildrenSql(ctx.db, reader, Math.max(2_000, Math.round(count / ORGANISATIONS)));
  }
  const batch = 100_000;
  for (let done = 0; done < count; done += batch) {
    const size = Math.min(batch, count - done);
    await ctx.db.transaction().execute(async (trx) => {
      await sql`select setseed(${((offset + done) % 9973) / 9973})`.execute(trx);
      // The generated rows are consistent by construction: skip the foreign-key and append-only
      // triggers while writing them (as a restore does), or generating a million audits takes an hour.
      await sql`set local session_replication_role = replica`.execute(trx);
      const step = async (what: string, work: () => Promise<void>) => {
        const at = performance.now();
        await work();
        if (process.env.BENCH_VERBOSE) ctx.log(`    ${what}: ${((performance.now() - at) / 1000).toFixed(1)} s`);
      };
      await step('audits', () => insertAudits(trx, reader, organisations, edition.rows[0]!.id, size, offset + done, today));
      await step('judgements', () => insertJudgements(trx, keys, offset + done));
      await step('transitions and actions', () => insertTransitionsAndActions(trx, offset + done));
    });
    ctx.log(`  ${(offset + done + size).toLocaleString('en-GB')} audits`);
  }
  await sql`vacuum analyze`.execute(ctx.db);
}

/** The grades from best to worst, for a moderator's regrade one step up or down. */
const GRADE_ORDER = ['outstanding', 'good', 'requires_improvement', 'inadequate'];

/** The audits of one batch, numbered after `first`; `updated_at` carries the number (see batchMarker). */
async function insertAudits(trx: Db, reader: string, organisations: string[], editionId: string, count: number, first: number, today: string) {
  await sql`
    with kids as (
      select row_number() over (order by c.external_id) as n, c.id, c.allocated_worker_id, c.allocated_team_id, t.service_id
      from children c left join teams t on t.id = c.allocated_team_id
      where c.organisation_id = ${reader}
    ), kid_count as (select count(*) as total from kids),
    auditors as (
      select row_number() over (order by s.staff_number) as n, s.id,
        coalesce(lead(s.id) over (order by s.staff_number), first_value(s.id) over (order by s.staff_number)) as next_id
      from staff s
      where s.organisation_id = ${reader} and s.leaving_date is null
        and (s.job_title like 'Team Manager%' or s.job_title like 'QA%' or s.job_title like 'Service Manager%')
    ), auditor_count as (select count(*) as total from auditors),
    draws as (
      select g, random() as r_kid, random() as r_auditor, random() as r_status, random() as r_grade, random() as r_final,
        ${today}::date - (random() * 3 * 365)::int as allocated_on
      from generate_series(${first + 1}::int, ${first + count}::int) g
    ), shaped as (
      select d.*,
        case
          when ${today}::date - d.allocated_on <= 45 then
            case when d.r_status < 0.3 then 'in_progress' when d.r_status < 0.5 then 'in_moderation' when d.r_status < 0.7 then 'moderated' else 'awaiting_feedback' end
          else case when d.r_status < 0.95 then 'closed' else 'awaiting_feedback' end
        end as status,
        case when d.r_grade < 0.08 then 'outstanding' when d.r_grade < 0.53 then 'good'
             when d.r_grade < 0.88 then 'requires_improvement' else 'inadequate' end as grade,
        case when d.r_final < 0.8 then null when d.r_final < 0.9 then 'up' else 'down' end as change
      from draws d
    )
    insert into audits (organisation_id, child_id, tool_edition_id, auditor_id, case_holder_id, moderator_id, team_id, service_id,
      status, allocated_on, due_on, submitted_at, moderated_at, closed_at, auditor_grade, final_grade, stage_started_on, stage_due_on, updated_at)
    select (${organisations}::uuid[])[1 + s.g % ${organisations.length}], k.id, ${editionId}, a.id, k.allocated_worker_id,
      case when s.status = 'in_progress' then null else a.next_id end,
      k.allocated_team_id, k.service_id,
      s.status, s.allocated_on, s.allocated_on + 14,
      case when s.status = 'in_progress' then null else least(s.allocated_on + 12, ${today}::date)::timestamptz end,
      case when s.status in ('in_progress', 'in_moderation') then null else least(s.allocated_on + 24, ${today}::date)::timestamptz end,
      case when s.status = 'closed' then (s.allocated_on + 45)::timestamptz end,
      case when s.status = 'in_progress' then null else s.grade end,
      case when s.status in ('in_progress', 'in_moderation') then null
           when s.change = 'up' and s.grade <> 'outstanding' then (${GRADE_ORDER}::text[])[array_position(${GRADE_ORDER}::text[], s.grade) - 1]
           when s.change = 'down' and s.grade <> 'inadequate' then (${GRADE_ORDER}::text[])[array_position(${GRADE_ORDER}::text[], s.grade) + 1]
           else s.grade end,
      case when s.status = 'closed' then null else s.allocated_on end,
      case when s.status = 'closed' then null else s.allocated_on + 14 end,
      -- A marker of the batch row: judgements, transitions and actions find their audits by it.
      timestamptz '2000-01-01' + s.g * interval '1 second'
    from shaped s
    cross join kid_count kc
    cross join auditor_count ac
    join kids k on k.n = 1 + floor(s.r_kid * kc.total)::bigint
    join auditors a on a.n = 1 + floor(s.r_auditor * ac.total)::bigint
  `.execute(trx);
}

/** One judgement row per graded answer for each submitted audit of the batch; a moderator's row where the overall was regraded. */
async function insertJudgements(trx: Db, keys: string[], first: number) {
  await sql`
    insert into audit_judgements (audit_id, organisation_id, section_key, stage, grade)
    select a.id, a.organisation_id, k.key, 'auditor',
      case when k.ord = 1 then a.auditor_grade
           else (array['outstanding', 'good', 'good', 'requires_improvement', 'requires_improvement', 'inadequate'])[1 + floor(random() * 6)::int] end
    from audits a cross join unnest(${keys}::text[]) with ordinality as k(key, ord)
    where a.updated_at > ${batchMarker(first)} and a.auditor_grade is not null
    -- In key order: the primary key's index then fills page by page rather than at random.
    order by a.id, k.key
  `.execute(trx);
  await sql`
    insert into audit_judgements (audit_id, organisation_id, section_key, stage, grade, reason)
    select a.id, a.organisation_id, ${keys[0]!}, 'moderator', a.final_grade, 'The evidence supports a different grade.'
    from audits a where a.updated_at > ${batchMarker(first)} and a.final_grade is not null and a.final_grade <> a.auditor_grade
  `.execute(trx);
}

async function insertTransitionsAndActions(trx: Db, first: number) {
  await sql`
    insert into audit_transitions (organisation_id, audit_id, from_status, to_status, transition, actor_label, at)
    select a.organisation_id, a.id, t.from_status, t.to_status, t.transition, 'bench', t.at
    from audits a cross join lateral (values
      (null, 'allocated', 'allocate', a.allocated_on::timestamptz),
      ('allocated', 'in_progress', 'start', a.allocated_on::timestamptz + interval '1 day'),
      ('in_progress', 'in_moderation', 'submit', a.submitted_at),
      ('in_moderation', 'moderated', 'moderate', a.moderated_at),
      ('awaiting_feedback', 'closed', 'close', a.closed_at)
    ) as t(from_status, to_status, transition, at)
    where a.updated_at > ${batchMarker(first)} and t.at is not null
  `.execute(trx);
  await sql`
    insert into actions (organisation_id, audit_id, child_id, answer_key, row_index, text, owner_id, due_on, status, done_at, evidence)
    select a.organisation_id, a.id, a.child_id, 'actions', r.i, 'Update the chronology and share it with the family', a.case_holder_id,
      a.moderated_at::date + 42,
      case when a.status = 'closed' and r.i = 0 then 'done' else 'open' end,
      case when a.status = 'closed' and r.i = 0 then a.closed_at end,
      case when a.status = 'closed' and r.i = 0 then 'Chronology updated.' end
    from audits a cross join generate_series(0, 1) r(i)
    where a.updated_at > ${batchMarker(first)} and a.moderated_at is not null
  `.execute(trx);
}

/** Audits of the batch starting after `first` have updated_at past this marker. */
function batchMarker(first: number): string {
  return new Date(Date.UTC(2000, 0, 1) + first * 1000).toISOString();
}

// ---------------------------------------------------------------------------------------------
// The baseline: the report's figures written by hand

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The report's figures as few hand-written statements, sent together: what the report would
 * cost if it were written as one page of SQL. Reads the organisation's timescales, bank holidays
 * and tool files once, beforehand (the report reads them on every call).
 */
async function bareQueries(db: Db, organisationId: string, period: ReportPeriod, today: string) {
  const ukDay = (column: string) => sql.raw(`(${column} at time zone 'Europe/London')::date`);
  const inPeriod = (column: string, within: ReportPeriod = period) => sql`${ukDay(column)} between ${within.from}::date and ${within.to}::date`;
  const clock = await stageClockFor(db, organisationId);
  const holidays = `{${clock.holidays.join(',')}}`;
  const sectionKeys = [...new Set((await feedbackRespondentsFor(db, organisationId)).map((respondent) => respondent.sectionKey))];
  const editions = await sql<{ id: string; definition: AuditTool | string }>`select id, definition from audit_tool_editions where organisation_id = ${organisationId}`.execute(db);
  const domains = editions.rows.flatMap((edition) => {
    try {
      const definition = (typeof edition.definition === 'string' ? JSON.parse(edition.definition) : edition.definition) as AuditTool;
      return judgementDomains(definition).map((entry) => ({ edition: edition.id, key: entry.answerKey, domain: entry.domain, label: entry.domainLabel }));
    } catch {
      return [];
    }
  });
  const compared = [previousPeriod(period), samePeriodLastYear(period), ...quartersEnding(period.to, 8)];
  const quarters = quartersEnding(period.to, 8);
  const earlier = quartersEnding(addDays(period.from, -1), 4);
  const overdue = sql`coalesce((case when status in ('allocated', 'in_progress', 'returned') then coalesce(stage_due_on, due_on) when status = 'closed' then null else stage_due_on end) < ${today}::date, false)`;

  const trendOver = (periods: ReportPeriod[]) => (target: Db) =>
    sql<{ n: number; final_grade: string | null; count: number }>`
      select q.n, a.final_grade, count(a.id)::int as count
      from unnest(${periods.map((quarter) => quarter.from)}::date[], ${periods.map((quarter) => quarter.to)}::date[]) with ordinality as q(from_on, to_on, n)
      join audits a on a.organisation_id = ${organisationId} and ${ukDay('a.moderated_at')} between q.from_on and q.to_on
      group by q.n, a.final_grade
    `.execute(target);
  const trend = trendOver(quarters);
  const calibration = (target: Db) =>
    sql`
      select grouping(auditor_id, moderator_id) as level, auditor_id, moderator_id, auditor_grade, final_grade, count(*)::int
      from audits
      where organisation_id = ${organisationId} and ${inPeriod('moderated_at')}
      group by grouping sets ((auditor_id, auditor_grade, final_grade), (moderator_id, auditor_grade, final_grade), (auditor_grade, final_grade))
    `.execute(target);
  const activity = (target: Db) =>
    sql<{ level: number; allocated: number; overdue: number }>`
      select grouping(service_id, team_id) as level, service_id, team_id,
        count(*) filter (where allocated_on between ${period.from} and ${period.to})::int as allocated,
        count(*) filter (where ${inPeriod('submitted_at')})::int as submitted,
        count(*) filter (where ${inPeriod('moderated_at')})::int as moderated,
        count(*) filter (where ${inPeriod('closed_at')})::int as closed,
        count(*) filter (where ${overdue})::int as overdue
      from audits where organisation_id = ${organisationId}
      group by grouping sets ((service_id), (team_id), ())
    `.execute(target);
  const actions = (target: Db) =>
    sql<{ agreed: number }>`
      select count(*) filter (where ${inPeriod('created_at')})::int as agreed,
        count(*) filter (where ${inPeriod('done_at')})::int as done,
        count(*) filter (where ${inPeriod('verified_at')})::int as verified,
        count(*) filter (where status = 'open')::int as open,
        count(*) filter (where status = 'open' and due_on < ${today})::int as overdue,
        count(*) filter (where due_on between ${period.from} and ${period.to})::int as due,
        count(*) filter (where due_on between ${period.from} and ${period.to} and ${ukDay('done_at')} <= due_on)::int as done_on_time,
        (select o.id from actions o where o.organisation_id = ${organisationId} and o.status = 'open' and o.due_on < ${today} order by o.due_on limit 1) as oldest_overdue
      from actions where organisation_id = ${organisationId}
    `.execute(target);

  const report = (target: Db) =>
    Promise.all([
      // The filter choices, the names and the themes.
      sql`
        select
          (select json_agg(json_build_object('id', s.id, 'name', s.name)) from services s where s.organisation_id = ${organisationId}) as services,
          (select json_agg(json_build_object('id', t.id, 'name', t.name)) from teams t where t.organisation_id = ${organisationId}) as teams,
          (select json_agg(json_build_object('id', s.id, 'name', s.full_name)) from staff s where s.organisation_id = ${organisationId}) as staff,
          (select json_agg(json_build_object('id', t.id, 'name', t.name)) from audit_tools t where t.organisation_id = ${organisationId}) as tools,
          (select json_agg(t.id) from teams t where t.organisation_id = ${organisationId} and exists (select 1 from audits a where a.team_id = t.id and a.organisation_id = ${organisationId})) as audited_teams,
          (select json_agg(s.id) from services s where s.organisation_id = ${organisationId} and exists (select 1 from audits a where a.service_id = s.id and a.organisation_id = ${organisationId})) as audited_services,
          (select json_agg(e.tool_id) from audit_tool_editions e where e.organisation_id = ${organisationId} and exists (select 1 from audits a where a.tool_edition_id = e.id and a.organisation_id = ${organisationId})) as audited_tools,
          (select json_agg(l.id) from localities l where l.organisation_id = ${organisationId} and exists (
            select 1 from audits a left join teams t on t.id = a.team_id left join services s on s.id = a.service_id
            where coalesce(t.locality_id, s.locality_id) = l.id and a.organisation_id = ${organisationId})) as localities,
          (select json_agg(s.id) from staff s where s.organisation_id = ${organisationId} and exists (select 1 from audits a where a.auditor_id = s.id and a.organisation_id = ${organisationId})) as auditors,
          (select json_agg(json_build_object('name', t.name, 'phrases', t.phrases)) from themes t where t.organisation_id = ${organisationId}) as themes
      `.execute(target),
      sql`select id, definition from audit_tool_editions where organisation_id = ${organisationId}`.execute(target),
      activity(target),
      // Timeliness: each stage that ended in the period, on time or not, and the working days it took.
      sql`
        with spans as (
          select a.due_on, s.stage, s.started_on, s.ended_on, s.days
          from audits a
          cross join lateral (
            select min(t.at) filter (where t.transition = 'submit') as first_submit, min(t.at) filter (where t.transition = 'requestFeedback') as requested
            from audit_transitions t where t.audit_id = a.id
          ) t
          cross join lateral (values
            ('auditor', a.allocated_on, (coalesce(t.first_submit, a.submitted_at) at time zone 'Europe/London')::date, null::int),
            ('moderation', ${ukDay('a.submitted_at')}, ${ukDay('a.moderated_at')}, ${clock.days.moderation}::int),
            ('distribution', ${ukDay('a.moderated_at')}, (t.requested at time zone 'Europe/London')::date, ${clock.days.distribution}::int),
            ('feedback', (t.requested at time zone 'Europe/London')::date, ${ukDay('a.closed_at')}, ${clock.days.feedback}::int)
          ) as s(stage, started_on, ended_on, days)
          where a.organisation_id = ${organisationId} and s.ended_on between ${period.from}::date and ${period.to}::date
        ), counted as (
          select stage, ended_on, due_on, days,
            (select count(*) from generate_series(started_on + 1, ended_on, interval '1 day') d(day)
              where extract(isodow from d.day) < 6 and not (d.day::date = any(${holidays}::date[])))::int as working_days
          from spans
        )
        select stage, count(*)::int as ended,
          count(*) filter (where case when stage = 'auditor' then ended_on <= due_on
            else working_days - (case when extract(isodow from ended_on) < 6 and not (ended_on = any(${holidays}::date[])) then 1 else 0 end) < days end)::int as on_time,
          percentile_cont(0.5) within group (order by working_days) as median_working_days
        from counted group by stage
      `.execute(target),
      sql`
        select grouping(a.service_id, a.team_id, c.legal_status, e.tool_id) as level, a.service_id, a.team_id, c.legal_status, e.tool_id, a.final_grade, count(*)::int
        from audits a join children c on c.id = a.child_id join audit_tool_editions e on e.id = a.tool_edition_id
        where a.organisation_id = ${organisationId} and ${inPeriod('a.moderated_at')}
        group by grouping sets ((a.service_id, a.final_grade), (a.team_id, a.final_grade), (c.legal_status, a.final_grade), (e.tool_id, a.final_grade), (a.final_grade))
      `.execute(target),
      trendOver(compared)(target),
      calibration(target),
      // Inadequate audits, case directions and re-audits.
      sql`
        select count(*) filter (where a.auditor_grade = 'inadequate' and ${inPeriod('a.submitted_at')})::int as auditor_inadequate,
          count(*) filter (where a.final_grade = 'inadequate' and ${inPeriod('a.moderated_at')})::int as final_inadequate,
          count(*) filter (where d.directed_on between ${period.from} and ${period.to})::int as directed,
          count(*) filter (where ${inPeriod('d.reviewed_at')})::int as reviewed,
          count(*) filter (where d.reviewed_at is null and d.review_due_on < ${today})::int as review_overdue,
          count(*) filter (where a.re_audit_of is not null and ${inPeriod('a.moderated_at')})::int as re_audits,
          count(*) filter (where a.re_audit_of is not null and ${inPeriod('a.moderated_at')} and array_position(${GRADE_ORDER}::text[], a.final_grade) < array_position(${GRADE_ORDER}::text[], f.final_grade))::int as improved,
          count(*) filter (where a.re_audit_of is not null and ${inPeriod('a.moderated_at')} and a.final_grade = f.final_grade)::int as same,
          count(*) filter (where a.re_audit_of is not null and ${inPeriod('a.moderated_at')} and array_position(${GRADE_ORDER}::text[], a.final_grade) > array_position(${GRADE_ORDER}::text[], f.final_grade))::int as worse
        from audits a left join case_directions d on d.audit_id = a.id left join audits f on f.id = a.re_audit_of
        where a.organisation_id = ${organisationId}
      `.execute(target),
      // Section judgements by edition and section, auditor's × final: the domains read from the tool files.
      sql`
        select a.tool_edition_id, fin.section_key, fir.grade as auditor_grade, fin.grade as final_grade, count(*)::int as judgements, count(distinct a.id)::int as audits
        from audits a
        join audit_judgements fin on fin.audit_id = a.id and fin.stage = 'moderator' and fin.section_key <> 'overall'
        left join audit_judgements fir on fir.audit_id = a.id and fir.stage = 'auditor' and fir.section_key = fin.section_key
        where a.organisation_id = ${organisationId} and ${inPeriod('a.moderated_at')}
        group by 1, 2, 3, 4
      `.execute(target),
      sectionKeys.length
        ? sql`
            select a.id, a.tool_edition_id, (select jsonb_object_agg(e.key, e.value) from jsonb_each(a.answers) e(key, value) where e.key = any(${sectionKeys}::text[])) as sections
            from audits a where a.organisation_id = ${organisationId} and ${inPeriod('a.submitted_at')}
          `.execute(target)
        : Promise.resolve(),
      // The texts the themes read: this period, the previous one and the four quarters before.
      sql`
        select a.id, a.reference, a.answers, a.tool_edition_id, c.external_id
        from audits a join children c on c.id = a.child_id
        where a.organisation_id = ${organisationId} and ${ukDay('a.moderated_at')} between ${earlier[0]!.from}::date and ${period.to}::date
      `.execute(target),
      actions(target),
    ]);

  /** Figures the report must agree with before the timings are compared. */
  const check = async (target: Db) => {
    const graded = await sql<{ n: number }>`select count(*)::int as n from audits where organisation_id = ${organisationId} and ${inPeriod('moderated_at')}`.execute(target);
    const totals = (await activity(target)).rows.find((row) => row.level === 3)!;
    const trendRows = (await trend(target)).rows;
    return { graded: graded.rows[0]!.n, allocated: totals.allocated, overdue: totals.overdue, trend: trendRows.reduce((a, row) => a + row.count, 0), agreed: (await actions(target)).rows[0]!.agreed };
  };

  /** The judgements feed's rows as COPY writes them (PostgreSQL only); the number of rows. */
  const feed = async (target: Db, within: ReportPeriod): Promise<number> => {
    const pool = postgresPoolOf(target);
    if (!pool) throw new Error('the bare feed needs PostgreSQL');
    const values = domains.length ? domains.map((entry) => `(${literal(entry.edition)}::uuid, ${literal(entry.key)}, ${literal(entry.domain)}, ${literal(entry.label)})`).join(', ') : `(null::uuid, '', '', '')`;
    const text = `copy (
      select a.id, a.reference, t.key, e.edition, j.section_key,
        coalesce(d.domain, 'not_mapped') as domain, coalesce(d.label, 'Not mapped') as domain_label,
        max(j.grade) filter (where j.stage = 'auditor') as auditor_grade,
        max(j.grade) filter (where j.stage = 'moderator') as moderator_grade,
        coalesce(max(j.grade) filter (where j.stage = 'moderator'), max(j.grade) filter (where j.stage = 'auditor')) as final_grade,
        case when max(j.grade) filter (where j.stage = 'moderator') <> max(j.grade) filter (where j.stage = 'auditor') then 'yes' else 'no' end as changed_by_moderation,
        max(j.grade) filter (where j.stage = 're_audit') as re_audit_grade
      from audits a
      join audit_tool_editions e on e.id = a.tool_edition_id join audit_tools t on t.id = e.tool_id
      join audit_judgements j on j.audit_id = a.id
      left join (values ${values}) as d(edition_id, key, domain, label) on d.edition_id = a.tool_edition_id and d.key = j.section_key
      where a.organisation_id = ${literal(organisationId)} and a.allocated_on between ${literal(within.from)} and ${literal(within.to)}
      group by a.id, a.reference, t.key, e.edition, j.section_key, d.domain, d.label
      order by a.id, j.section_key
    ) to stdout with (format csv, header)`;
    const client = await pool.connect();
    try {
      let lines = 0;
      for await (const chunk of client.query(copyTo(text))) lines += (String(chunk).match(/\n/g) ?? []).length;
      return lines - 1;
    } finally {
      client.release();
    }
  };

  return { report, trend, calibration, check, feed };
}
