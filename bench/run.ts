/**
 * `npm run bench`: runs every benchmark against a scratch database, prints a summary and
 * writes bench/results/latest.json and latest.md.
 *
 *   BENCH_DATABASE_URL   PostgreSQL server to create the scratch database on
 *                        (default postgres://postgres@127.0.0.1:5432/test)
 *   --pglite             run on the embedded driver instead, with smaller sizes
 *   --only=import|tracker|mywork|form|load|sampling|reports  run one benchmark (results go to latest-only-<name>.*)
 *   --audits=100000,1000000  the register sizes of the reports benchmark (default: both on PostgreSQL, 100,000 on PGlite)
 *   --pglite-audits=100000   the reports benchmark also runs the report on the embedded database over this many audits
 *   --children=20000     the register size of the sampling benchmark (default 100,000; 10,000 on PGlite), for developing
 *
 * The load benchmark (load.bench.ts) runs the server in its own process on its own scratch
 * database with the demo council:
 *   --duration=10        seconds of load on each page, at each number of connections
 *   --rounds=1           runs of the whole set (figures are the medians over them)
 *   --connections=10,50  the numbers of connections
 *   --pages=mywork,tracker  load only these pages (and the baseline), for working on one
 *   --profile            write a CPU profile of the server to bench/results/ (open it in Chrome's DevTools)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { openScratchDatabase, seedOrganisation, type BenchContext } from './context.ts';
import type { FormBenchResult } from './audit-form.bench.ts';
import { runImportBench, type ImportBenchResult } from './import.bench.ts';
import type { LoadBenchResult, LoadOptions } from './load.bench.ts';
import { median, round } from './measure.ts';
import type { MyWorkBenchResult } from './my-work.bench.ts';
import type { ReportsBenchResult } from './reports.bench.ts';
import type { TrackerBenchResult } from './tracker.bench.ts';
import type { SamplingBenchResult } from './sampling.bench.ts';

const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

type Machine = { cpus: number; cpuModel: string; totalMemoryGb: number; node: string; database: string; platform: string };

type Results = {
  date: string;
  driver: 'postgres' | 'pglite';
  machine: Machine;
  durationSeconds: number;
  import?: ImportBenchResult;
  tracker?: TrackerBenchResult;
  mywork?: MyWorkBenchResult;
  form?: FormBenchResult;
  load?: LoadBenchResult;
  reports?: ReportsBenchResult;
  sampling?: SamplingBenchResult;
};

const BENCHMARKS = ['import', 'tracker', 'mywork', 'form', 'load', 'sampling', 'reports'];

async function main() {
  const args = process.argv.slice(2);
  const driver = args.includes('--pglite') ? 'pglite' : 'postgres';
  const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
  if (only && !BENCHMARKS.includes(only)) throw new Error(`unknown benchmark "${only}": use --only= one of ${BENCHMARKS.join(', ')}`);
  const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const started = performance.now();
  const log = (line: string) => process.stdout.write(`${line}\n`);

  const scratch = await openScratchDatabase({ driver, serverUrl });
  log(`scratch database: ${scratch.name}`);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-bench-'));
  const results: Results = { date: new Date().toISOString(), driver, machine: await machine(scratch.db), durationSeconds: 0 };
  try {
    // The load benchmark seeds its own database (the whole demo council) for its server.
    const organisationId = only === 'load' ? '' : await seedOrganisation(scratch.db);
    const ctx: BenchContext = { driver, db: scratch.db, databaseUrl: scratch.databaseUrl, organisationId, tmpDir, small: driver === 'pglite', log };
    if (!only || only === 'import') results.import = await runImportBench(ctx);
    if (!only || only === 'tracker') {
      // Loaded only when run, so the import benchmark works on its own.
      const { runTrackerBench } = await import('./tracker.bench.ts');
      results.tracker = await runTrackerBench(ctx);
    }
    if (!only || only === 'mywork') {
      // The same generated register as the tracker's: made here only when the tracker did not run.
      const { runMyWorkBench } = await import('./my-work.bench.ts');
      results.mywork = await runMyWorkBench(ctx);
    }
    if (!only || only === 'form') {
      const { runFormBench } = await import('./audit-form.bench.ts');
      results.form = await runFormBench(ctx);
    }
    if (!only || only === 'sampling') {
      const { runSamplingBench } = await import('./sampling.bench.ts');
      const children = option('children');
      results.sampling = await runSamplingBench(ctx, children ? { children: Number(children) } : {});
    }
    if (!only || only === 'load') {
      const { runLoadBench } = await import('./load.bench.ts');
      const options: LoadOptions = {
        driver,
        serverUrl,
        tmpDir,
        log,
        durationSeconds: Number(option('duration') ?? 10),
        rounds: Number(option('rounds') ?? 1),
        connections: (option('connections') ?? '10,50').split(',').map(Number),
        ...(args.includes('--profile') ? { profileDir: RESULTS_DIR } : {}),
        ...(option('pages') ? { pages: option('pages')!.split(',') } : {}),
      };
      results.load = await runLoadBench(options);
    }
    // Only when asked for: it generates a register of a million audits.
    if (only === 'reports') {
      const { runReportsBench } = await import('./reports.bench.ts');
      const sizes = option('audits')?.split(',').map(Number);
      const pgliteAudits = option('pglite-audits') ? Number(option('pglite-audits')) : undefined;
      results.reports = await runReportsBench(ctx, { ...(sizes ? { sizes } : {}), ...(pgliteAudits ? { pgliteAudits } : {}) });
    }
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    await scratch.close();
  }
  results.durationSeconds = round((performance.now() - started) / 1000, 1);

  const markdown = renderMarkdown(results);
  const name = ['latest', driver === 'pglite' ? 'pglite' : null, only ? `only-${only}` : null].filter(Boolean).join('-');
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, `${name}.md`), markdown);
  log('');
  log(markdown);
  log(`written: bench/results/${name}.json, bench/results/${name}.md`);
}

async function machine(db: BenchContext['db']): Promise<Machine> {
  const version = await sql<{ version: string }>`select version() as version`.execute(db);
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    database: version.rows[0]?.version.split(' on ')[0] ?? 'unknown',
    platform: `${os.platform()} ${os.release()}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Summary

function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ms = (value: number) => `${value.toFixed(2)} ms`;
const x = (value: number) => `${value}×`;
const n = (value: number) => value.toLocaleString('en-GB');

function renderMarkdown(results: Results): string {
  const m = results.machine;
  const parts = [
    `# Assure benchmarks (${results.driver})`,
    '',
    `${results.date.slice(0, 10)} · ${m.cpus} CPUs (${m.cpuModel}) · ${m.totalMemoryGb} GB memory · Node ${m.node} · ${m.database} · ${m.platform} · run took ${results.durationSeconds} s`,
    '',
    'Medians of the runs; ratios are against a baseline measured in the same run.',
  ];
  if (results.import) parts.push('', renderImport(results.import));
  if (results.tracker) parts.push('', renderTracker(results.tracker));
  if (results.mywork) parts.push('', renderMyWork(results.mywork));
  if (results.form) parts.push('', renderForm(results.form));
  if (results.sampling) parts.push('', renderSampling(results.sampling));
  if (results.load) parts.push('', renderLoad(results.load));
  if (results.reports) parts.push('', renderReports(results.reports));
  return `${parts.join('\n')}\n`;
}

function renderImport(result: ImportBenchResult): string {
  const rows = result.sizes.flatMap((size) => [
    [n(size.rows), 'first import (importChildrenNow)', s(size.firstImport.medianMs), n(size.firstImport.rowsPerSecond), `+${size.firstImport.medianPeakIncreaseMb} MB`, x(size.ratioFirstImportToCopy)],
    [n(size.rows), 're-import, nothing changed', s(size.reImport.medianMs), n(Math.round(size.rows / (size.reImport.medianMs / 1000))), `+${size.reImport.medianPeakIncreaseMb} MB`, x(size.ratioReImportToCopy)],
    ...(size.pageFlow
      ? [[n(size.rows), 'first import by the page: stage, then confirm', s(size.pageFlow.medianMs), n(Math.round(size.rows / (size.pageFlow.medianMs / 1000))), `+${median(size.pageFlow.runs.map((run) => run.memory.peakIncreaseMb))} MB`, x(size.pageFlow.ratioToCopy)]]
      : []),
    [n(size.rows), 'baseline: COPY of the same CSV', s(size.copy.medianMs), n(size.copy.rowsPerSecond), `+${size.copy.medianPeakIncreaseMb} MB`, '1×'],
    ...(size.registerShapedCopy
      ? [[n(size.rows), "reference: COPY of the same CSV into a table of the register's shape and indexes", s(size.registerShapedCopy.medianMs), n(Math.round(size.rows / (size.registerShapedCopy.medianMs / 1000))), '', x(size.registerShapedCopy.ratioToCopy)]]
      : []),
    ...(size.readOnly
      ? [[n(size.rows), 'the extract reader alone (no database)', s(size.readOnly.medianMs), n(Math.round(size.rows / (size.readOnly.medianMs / 1000))), '', x(size.readOnly.ratioToCopy)]]
      : []),
  ]);
  const floors = result.sizes
    .filter((size) => size.registerShapedCopy)
    .map((size) => `${n(size.rows)} rows: ${x(size.ratioFirstImportToRegisterShapedCopy)}`)
    .join(', ');
  const maxRss = result.sizes.map((size) => `${n(size.rows)} rows: ${Math.max(...size.firstImport.runs.map((run) => run.memory.processMaxRssMb))} MB`).join(', ');
  return [
    '## Child import',
    '',
    table(['rows', 'what', 'median time', 'rows/s', 'median peak RSS increase', 'ratio to COPY'], rows),
    '',
    `Peak RSS growth from the smaller to the larger file (first import): ${result.peakGrowthMb} MB. process maxRSS after the first imports: ${maxRss}.`,
    ...(floors
      ? [
          '',
          `The first import against the COPY into the register's shape (its generated key and defaults, the unique case ID per council, the team and worker indexes; no codes read, no matching, no history): ${floors}. That COPY is what writing the rows into a table of the register's shape costs by PostgreSQL's fastest path.`,
        ]
      : []),
    '',
    result.note,
  ].join('\n');
}

function renderTracker(result: TrackerBenchResult): string {
  const rows = [
    ['HTTP page (app.inject, signed in)', ms(result.http.medianMs), ms(result.http.p95Ms)],
    ['service call (listTrackerAudits)', ms(result.service.medianMs), ms(result.service.p95Ms)],
    ['baseline: bare SQL (page + count)', ms(result.bareSql.medianMs), ms(result.bareSql.p95Ms)],
    ['floor: bare Fastify route', ms(result.bareRoute.medianMs), ms(result.bareRoute.p95Ms)],
  ];
  const ratios = [
    ['HTTP page / bare SQL', x(result.ratios.httpToBareSql)],
    ['service / bare SQL', x(result.ratios.serviceToBareSql)],
    ['HTTP page / bare route', x(result.ratios.httpToBareRoute)],
  ];
  return [
    '## Audit tracker: first filtered page',
    '',
    `${n(result.audits)} audits, ${n(result.children)} children. Request: \`${result.url}\` (${result.matching} matching audits, ${result.pageRows} on the page). ${result.iterations} timed runs after ${result.warmups} warm-ups.`,
    '',
    table(['what', 'median', 'p95'], rows),
    '',
    table(['ratio', 'value'], ratios),
    '',
    'Plan of the bare query (EXPLAIN ANALYZE):',
    '',
    '```',
    ...result.plan,
    '```',
    ...(result.notes.length ? ['', ...result.notes.map((note) => `- ${note}`)] : []),
  ].join('\n');
}

function renderMyWork(result: MyWorkBenchResult): string {
  const rows = [
    ['HTTP page as the QA coordinator (GET /, signed in)', ms(result.http.medianMs), ms(result.http.p95Ms)],
    ['service call (selectPipeline)', ms(result.service.medianMs), ms(result.service.p95Ms)],
    ['baseline: bare SQL (one aggregate)', ms(result.bareSql.medianMs), ms(result.bareSql.p95Ms)],
    ['HTTP page as the auditor (GET /, no pipeline)', ms(result.auditorPage.medianMs), ms(result.auditorPage.p95Ms)],
    ['floor: bare Fastify route', ms(result.bareRoute.medianMs), ms(result.bareRoute.p95Ms)],
  ];
  const ratios = [
    ['HTTP page / bare SQL', x(result.ratios.httpToBareSql)],
    ['service / bare SQL', x(result.ratios.serviceToBareSql)],
    ['HTTP page / bare route', x(result.ratios.httpToBareRoute)],
    ['auditor page / bare route', x(result.ratios.auditorPageToBareRoute)],
  ];
  const pipeline = result.pipeline.map((row) => [row.status, n(row.red), n(row.amber), n(row.green), n(row.total)]);
  return [
    '## My work: the home page with the audit pipeline',
    '',
    `${n(result.audits)} audits (${n(result.open)} open), ${n(result.children)} children. Request: \`GET /\` as the QA coordinator (${n(result.items.coordinator)} items of their own and the pipeline) ` +
      `and as the auditor (${n(result.items.auditor)} items of their own). ${result.iterations} timed runs of each after ${result.warmups} warm-ups.`,
    '',
    table(['what', 'median', 'p95'], rows),
    '',
    table(['ratio', 'value'], ratios),
    '',
    'The pipeline counted (service and bare SQL agree):',
    '',
    table(['status', 'overdue (red)', 'due soon (amber)', 'on time (green)', 'total'], pipeline),
    '',
    'Plan of the bare aggregate (EXPLAIN ANALYZE):',
    '',
    '```',
    ...result.plan,
    '```',
    ...(result.notes.length ? ['', ...result.notes.map((note) => `- ${note}`)] : []),
  ].join('\n');
}

function renderForm(result: FormBenchResult): string {
  const rows = [
    ['section page (GET, signed in)', ms(result.page.medianMs), ms(result.page.p95Ms), x(result.ratios.pageToBareRoute)],
    ['save one answer (POST, Continue)', ms(result.save.medianMs), ms(result.save.p95Ms), x(result.ratios.saveToBareRoute)],
    ['save one answer (POST, autosave)', ms(result.autosave.medianMs), ms(result.autosave.p95Ms), x(result.ratios.autosaveToBareRoute)],
    ['floor: bare Fastify route', ms(result.bareRoute.medianMs), ms(result.bareRoute.p95Ms), '1×'],
  ];
  return [
    '## Audit form: a section page and a save',
    '',
    `${result.tool}, every one of its ${result.pages} pages filled in (${result.answers} answers). Page: \`${result.url}\`. ${result.iterations} timed runs of each after ${result.warmups} warm-ups; ` +
      `every save carried the audit's current version and was accepted (version ${result.versions.before} to ${result.versions.after}).`,
    '',
    table(['what', 'median', 'p95', 'ratio to bare route'], rows),
    '',
    ...result.notes.map((note) => `- ${note}`),
  ].join('\n');
}

function renderSampling(result: SamplingBenchResult): string {
  return [
    '## Sampling round: a proposal over a large register',
    '',
    `${n(result.children)} children (${n(result.poolRead)} in the pool read), ${n(result.audits)} audits, ${result.rows} schedule rows; ${n(result.proposed)} of ${n(result.expected)} expected audits proposed. ${result.iterations} timed runs after one warm-up.`,
    '',
    table(['what', 'median', 'p95', 'ratio to the bare query'], [
      ['propose (read the pool, draw, store the round)', ms(result.propose.medianMs), ms(result.propose.p95Ms), x(result.ratios.proposeToBareQuery)],
      ['read only (the pool query and the auditors, as the children the draw reads)', ms(result.readOnly.medianMs), ms(result.readOnly.p95Ms), x(result.ratios.readToBareQuery)],
      ['draw only (index the pool, the rules and the generator)', ms(result.drawOnly.medianMs), ms(result.drawOnly.p95Ms), x(result.ratios.drawToBareQuery)],
      ['baseline: the bare eligibility query', ms(result.bareQuery.medianMs), ms(result.bareQuery.p95Ms), '1×'],
    ]),
    '',
    `Goal (under 2 s on PostgreSQL at 100,000 children): ${result.goalMet === null ? 'not measured by this run (another driver or size)' : result.goalMet ? 'met' : '**not met**'}.`,
    '',
    ...result.notes.map((note) => `- ${note}`),
  ].join('\n');
}

function renderLoad(result: LoadBenchResult): string {
  const levels = result.levels.flatMap((level) => [
    `### ${level.connections} connections`,
    '',
    table(
      ['what', 'requests/s', 'p50', 'p90', 'p99', 'p50 / baseline p50', 'baseline requests/s ÷ these', 'database transactions per request'],
      level.rows.map((row) => [
        row.what,
        n(row.requestsPerSecond),
        `${row.p50Ms} ms`,
        `${row.p90Ms} ms`,
        `${row.p99Ms} ms`,
        x(row.p50ToBaseline),
        x(row.baselineToRequests),
        row.transactionsPerRequest === null ? '–' : String(row.transactionsPerRequest),
      ]),
    ),
    '',
  ]);
  const goals = result.goals;
  return [
    '## Under load: the signed-in pages against a signed-in bare route',
    '',
    `The demo council (${n(result.audits)} audits), served by the app in production mode in its own process; autocannon for ${result.durationSeconds} s on each page, ${result.rounds} round${result.rounds === 1 ? '' : 's'}.`,
    '',
    ...levels,
    `Goals at ${goals.connections} connections (every page's median within ${goals.maxP50Ratio}× the baseline's, and ${goals.minRequestsPerSecond} requests/s or more): ${goals.met ? 'met' : `**not met**: ${goals.misses.join('; ')}`}.`,
    ...(result.profile ? ['', `CPU profile of the server: ${path.basename(result.profile)}`] : []),
    '',
    ...result.notes.map((note) => `- ${note}`),
  ].join('\n');
}

await main();

function renderReports(result: ReportsBenchResult): string {
  const waves = (counted: { statements: number; waves: number }) => `${counted.statements} in ${counted.waves} wave${counted.waves === 1 ? '' : 's'}`;
  const rows = result.sizes.flatMap((size) => [
    [n(size.audits), 'report page (GET /reports, signed in)', ms(size.page.medianMs), ms(size.bare.page.medianMs), x(size.ratios.pageToBare), '', ''],
    [n(size.audits), 'report, all sections (buildReport)', ms(size.report.medianMs), ms(size.bare.report.medianMs), x(size.ratios.reportToBare), waves(size.statements.report), waves(size.statements.bareReport)],
    [n(size.audits), 'report, first read (charts drawn, queries built)', ms(size.firstRead.medianMs), ms(size.bare.firstRead.medianMs), x(size.ratios.firstReadToBare), '', ''],
    [n(size.audits), 'eight-quarter trend', ms(size.trend.medianMs), ms(size.bare.trend.medianMs), x(size.ratios.trendToBare), waves(size.statements.trend), '1'],
    [n(size.audits), 'calibration', ms(size.calibration.medianMs), ms(size.bare.calibration.medianMs), x(size.ratios.calibrationToBare), waves(size.statements.calibration), '1'],
    [n(size.audits), `BI feed: judgements of the year as CSV (${n(size.feedRows)} rows)`, ms(size.feed.medianMs), ms(size.bare.feed.medianMs), x(size.ratios.feedToBare), waves(size.statements.feed), '1 (COPY)'],
  ]);
  const sizes = result.sizes
    .map(
      (size) =>
        `${n(size.audits)} audits (${n(size.judgements)} judgement rows; the reader's council ${n(size.readerAudits)} audits, ${n(size.gradedInQuarter)} graded in the quarter; generated in ${size.generatedSeconds} s; ` +
        `peak RSS increase of one report +${size.memory.reportPeakRssIncreaseMb} MB, of one feed +${size.memory.feedPeakRssIncreaseMb} MB; process maxRSS ${size.memory.processMaxRssMb} MB)`,
    )
    .join('; ');
  const lite = result.pglite;
  const pglite = lite
    ? [
        '',
        `On PGlite (embedded, on a data directory): ${n(lite.audits)} audits (the reader's council ${n(lite.readerAudits)}), generated in ${lite.generatedSeconds} s; RSS after generating ${lite.memory.rssAfterGenerationMb} MB, peak RSS increase of one report +${lite.memory.reportPeakRssIncreaseMb} MB.`,
        '',
        table(
          ['audits', 'what', 'median', 'bare SQL median', 'ratio', 'ratio to PostgreSQL at the same size', 'statements'],
          [[n(lite.audits), 'report, all sections (buildReport)', ms(lite.report.medianMs), ms(lite.bareReport.medianMs), x(lite.reportToBare), lite.toPostgres === null ? 'not measured at this size' : x(lite.toPostgres), waves(lite.statements)]],
        ),
      ]
    : [];
  return [
    '## Reports at scale',
    '',
    `${result.organisations} organisations, ${result.period}; the feed for ${result.feedPeriod}. ${sizes}.`,
    '',
    table(['audits', 'what', 'median', 'bare SQL median', 'ratio', 'statements', 'bare statements'], rows),
    ...pglite,
    '',
    result.note,
  ].join('\n');
}
