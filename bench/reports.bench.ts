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
 *   trend             the eight quarters' final-grade distributions (gradesOverPeriods)
 *   calibration       the auditor × final matrices by auditor and moderator (calibrationMeasure)
 *   bare SQL          each of the above as the fewest hand-written aggregate statements: the baseline
 */
import { sql } from 'kysely';
import type { Db } from '../src/db/index.ts';
import { DEMO_PASSWORD } from '../src/demo/data.ts';
import { dataScope, type Principal } from '../src/platform/access.ts';
import { findUserByEmail, loadPrincipal } from '../src/platform/auth/queries.ts';
import { ukDateAt } from '../src/platform/clock.ts';
import { stageClockFor } from '../src/modules/audits/tracker.ts';
import { judgementDomains } from '../src/modules/tools/domains.ts';
import type { AuditTool } from '../src/modules/tools/schema.ts';
import { buildReport } from '../src/modules/reports/report.ts';
import { calibrationMeasure, gradesOverPeriods, type MeasureContext } from '../src/modules/reports/measures.ts';
import { parseReportPeriod, quartersEnding, type ReportPeriod } from '../src/modules/reports/period.ts';
import { TestClient } from '../test/support/client.ts';
import { startBenchApps, type BenchContext } from './context.ts';
import { seedChildrenSql } from './generate.ts';
import { latencies, measure, ratio, round, summarise } from './measure.ts';

type Summary = ReturnType<typeof summarise>;

export type ReportsSizeResult = {
  audits: number;
  readerAudits: number;
  judgements: number;
  generatedSeconds: number;
  /** Audits the quarter's report counts (moderated in it) for the reader. */
  gradedInQuarter: number;
  page: Summary;
  report: Summary;
  trend: Summary;
  calibration: Summary;
  bare: { report: Summary; trend: Summary; calibration: Summary };
  ratios: { pageToBare: number; reportToBare: number; trendToBare: number; calibrationToBare: number };
  peakReportRssIncreaseMb: number;
};

export type ReportsBenchResult = { sizes: ReportsSizeResult[]; organisations: number; period: string; note: string };

const ORGANISATIONS = 150;
// Organisation scope without the second factor QA leads need (the bench signs in with a password).
const SIGN_IN = 'qa.coordinator@avonford.example';
const BRISTOL_2019 = 'bristol-child-case-audit';

export async function runReportsBench(ctx: BenchContext, options: { sizes?: number[] } = {}): Promise<ReportsBenchResult> {
  const sizes = options.sizes ?? (ctx.small ? [100_000] : [100_000, 1_000_000]);
  const today = ukDateAt(new Date());
  const { period } = parseReportPeriod({}, today);
  const results: ReportsSizeResult[] = [];
  const { organisations } = await addOrganisations(ctx.db, ctx.organisationId);
  let generated = 0;
  for (const size of sizes) {
    const started = performance.now();
    await generateAudits(ctx, organisations, size - generated, today, generated);
    generated = size;
    const generatedSeconds = round((performance.now() - started) / 1000, 1);
    ctx.log(`reports: ${size.toLocaleString('en-GB')} audits generated in ${generatedSeconds} s`);
    results.push(await measureSize(ctx, size, generatedSeconds, period, today));
  }
  return {
    sizes: results,
    organisations: ORGANISATIONS,
    period: period.label,
    note:
      'The report is the whole Reports page for the current quarter as the QA coordinator (organisation scope) reads it, no filters. Bare SQL: the same figures as few hand-written aggregate statements over the same tables (activity, grades by service and team, comparisons, trend, calibration, actions). ' +
      'Peak RSS increase: over the RSS after a full GC, sampled every 50 ms while buildReport runs once.',
  };
}

async function measureSize(ctx: BenchContext, audits: number, generatedSeconds: number, period: ReportPeriod, today: string): Promise<ReportsSizeResult> {
  const principal = await signInPrincipal(ctx.db);
  const context: MeasureContext = { db: ctx.db, scope: dataScope(principal, 'reports.view'), filters: {}, today, stageClock: await stageClockFor(ctx.db, principal.organisationId) };
  const quarters = quartersEnding(period.to, 8);
  const bare = bareQueries(ctx.organisationId, period, quarters, today);
  const options = { warmups: 2, iterations: ctx.small ? 10 : 15 };

  // The answers must agree before their timings are compared.
  const built = await buildReport(ctx.db, principal, {}, today);
  const bareGrades = await bare.grades(ctx.db);
  if (built.grades.overall.total.n !== bareGrades) throw new Error(`the report and the bare SQL disagree: ${built.grades.overall.total.n} vs ${bareGrades} graded audits`);

  const { app, close } = await startBenchApps(ctx);
  try {
    const client = new TestClient(app);
    await client.signIn(SIGN_IN, DEMO_PASSWORD);
    const first = await client.get('/reports');
    if (first.statusCode !== 200) throw new Error(`GET /reports answered ${first.statusCode}`);
    const memory = await measure(() => buildReport(ctx.db, principal, {}, today));
    const bareReport = summarise(await latencies(() => bare.report(ctx.db), options));
    ctx.log(`  bare SQL (report): ${bareReport.medianMs} ms`);
    const report = summarise(await latencies(() => buildReport(ctx.db, principal, {}, today), options));
    ctx.log(`  report (service): ${report.medianMs} ms`);
    const page = summarise(
      await latencies(async () => {
        const response = await client.get('/reports');
        if (response.statusCode !== 200) throw new Error(`GET /reports answered ${response.statusCode}`);
      }, options),
    );
    ctx.log(`  report page: ${page.medianMs} ms`);
    const bareTrend = summarise(await latencies(() => bare.trend(ctx.db), options));
    const trend = summarise(await latencies(() => gradesOverPeriods(context, quarters), options));
    ctx.log(`  trend: ${trend.medianMs} ms (bare ${bareTrend.medianMs} ms)`);
    const bareCalibration = summarise(await latencies(() => bare.calibration(ctx.db), options));
    const calibration = summarise(await latencies(() => calibrationMeasure(context, period), options));
    ctx.log(`  calibration: ${calibration.medianMs} ms (bare ${bareCalibration.medianMs} ms)`);
    const counted = await sql<{ audits: number; judgements: number }>`
      select (select count(*)::int from audits where organisation_id = ${ctx.organisationId}) as audits,
             (select count(*)::int from audit_judgements) as judgements
    `.execute(ctx.db);
    return {
      audits,
      readerAudits: counted.rows[0]!.audits,
      judgements: counted.rows[0]!.judgements,
      generatedSeconds,
      gradedInQuarter: bareGrades,
      page,
      report,
      trend,
      calibration,
      bare: { report: bareReport, trend: bareTrend, calibration: bareCalibration },
      ratios: {
        pageToBare: round(ratio(page.medianMs, bareReport.medianMs), 1),
        reportToBare: round(ratio(report.medianMs, bareReport.medianMs), 1),
        trendToBare: round(ratio(trend.medianMs, bareTrend.medianMs), 1),
        calibrationToBare: round(ratio(calibration.medianMs, bareCalibration.medianMs), 1),
      },
      peakReportRssIncreaseMb: memory.memory.peakIncreaseMb,
    };
  } finally {
    await close();
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

function bareQueries(organisationId: string, period: ReportPeriod, quarters: ReportPeriod[], today: string) {
  const ukDay = (column: string) => sql.raw(`(${column} at time zone 'Europe/London')::date`);
  const grades = async (db: Db) => {
    const result = await sql<{ n: number }>`
      select count(*)::int as n from audits
      where organisation_id = ${organisationId} and ${ukDay('moderated_at')} between ${period.from} and ${period.to}
    `.execute(db);
    return result.rows[0]!.n;
  };
  const trend = (db: Db) =>
    sql`
      select q.n, a.final_grade, count(a.id)::int
      from unnest(${quarters.map((quarter) => quarter.from)}::date[], ${quarters.map((quarter) => quarter.to)}::date[]) with ordinality as q(from_on, to_on, n)
      join audits a on a.organisation_id = ${organisationId} and ${ukDay('a.moderated_at')} between q.from_on and q.to_on
      group by q.n, a.final_grade
    `.execute(db);
  const calibration = (db: Db) =>
    sql`
      select grouping(auditor_id, moderator_id) as level, auditor_id, moderator_id, auditor_grade, final_grade, count(*)::int
      from audits
      where organisation_id = ${organisationId} and ${ukDay('moderated_at')} between ${period.from} and ${period.to}
      group by grouping sets ((auditor_id, auditor_grade, final_grade), (moderator_id, auditor_grade, final_grade), (auditor_grade, final_grade))
    `.execute(db);
  const report = async (db: Db) => {
    await Promise.all([
      sql`
        select service_id, team_id,
          count(*) filter (where allocated_on between ${period.from} and ${period.to})::int as allocated,
          count(*) filter (where ${ukDay('submitted_at')} between ${period.from} and ${period.to})::int as submitted,
          count(*) filter (where ${ukDay('moderated_at')} between ${period.from} and ${period.to})::int as moderated,
          count(*) filter (where ${ukDay('closed_at')} between ${period.from} and ${period.to})::int as closed,
          count(*) filter (where status <> 'closed' and stage_due_on < ${today})::int as overdue
        from audits where organisation_id = ${organisationId}
        group by grouping sets ((service_id), (team_id), ())
      `.execute(db),
      sql`
        select service_id, team_id, final_grade, count(*)::int
        from audits
        where organisation_id = ${organisationId} and ${ukDay('moderated_at')} between ${period.from} and ${period.to}
        group by grouping sets ((service_id, final_grade), (team_id, final_grade), (final_grade))
      `.execute(db),
      trend(db),
      calibration(db),
      sql`
        select count(*) filter (where ${ukDay('created_at')} between ${period.from} and ${period.to})::int as agreed,
          count(*) filter (where ${ukDay('done_at')} between ${period.from} and ${period.to})::int as done,
          count(*) filter (where status = 'open')::int as open,
          count(*) filter (where status = 'open' and due_on < ${today})::int as overdue,
          count(*) filter (where due_on between ${period.from} and ${period.to})::int as due,
          count(*) filter (where due_on between ${period.from} and ${period.to} and ${ukDay('done_at')} <= due_on)::int as done_on_time
        from actions where organisation_id = ${organisationId}
      `.execute(db),
    ]);
  };
  return { grades, trend, calibration, report };
}
