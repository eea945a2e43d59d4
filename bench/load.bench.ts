/**
 * Under load: the signed-in pages people use most, served by the real server (its own process,
 * NODE_ENV=production, templates cached) on the demo council, while a load generator
 * (autocannon, in this process) keeps 10 and then 50 connections busy on each for a while.
 *
 *   baseline     GET /session/keep-alive, signed in: the session check and principal, an empty
 *                answer. The page's own script calls it; every page pays at least this much.
 *   pages        My work, My audits, the tracker, an audit's page, a section of the audit form
 *                (as its auditor), the read view, and the API's list of audits (bearer token).
 *   /health      for reference: no session, no database.
 *
 * Each page is reported with its ratio to the baseline measured in the same run (median latency
 * and requests per second), so a shared or slow machine moves both alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import type { Db } from '../src/db/index.ts';
import { DEMO_PASSWORD } from '../src/demo/data.ts';
import { openScratchDatabase } from './context.ts';
import { median, ratio, round } from './measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const COORDINATOR = 'qa.coordinator@avonford.example';
const AUDITOR = 'auditor@avonford.example';

export type LoadOptions = {
  driver: 'postgres' | 'pglite';
  serverUrl: string;
  tmpDir: string;
  log: (line: string) => void;
  /** Seconds each target is loaded for, at each number of connections. */
  durationSeconds: number;
  /** Runs of the whole set; each target's figures are the medians over them. */
  rounds: number;
  connections: number[];
  /** Write a CPU profile of the server (.cpuprofile) into this folder. */
  profileDir?: string;
  /** Load only these pages (their keys), beside the baseline: for working on one page. */
  pages?: string[];
};

type Target = { key: string; what: string; url: string; headers: Record<string, string>; status: number };

export type LoadMeasurement = {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Answers other than the expected status, errors and timeouts: 0 in a valid run. */
  failures: number;
  /** Database transactions committed per request (each statement outside a transaction is one): PostgreSQL only. */
  transactionsPerRequest: number | null;
};

export type LoadRow = LoadMeasurement & { key: string; what: string; url: string; p50ToBaseline: number; baselineToRequests: number };

export type LoadBenchResult = {
  durationSeconds: number;
  rounds: number;
  audits: number;
  levels: { connections: number; rows: LoadRow[] }[];
  goals: { connections: number; maxP50Ratio: number; minRequestsPerSecond: number; met: boolean; misses: string[] };
  profile: string | null;
  /** With a profile: when each target was loaded (microseconds on the monotonic clock the profile uses), to read the profile page by page. */
  profileWindows?: ProfileWindow[];
  notes: string[];
};

export type ProfileWindow = { key: string; connections: number; startUs: number; endUs: number };

/** Microseconds on the monotonic clock, as V8 stamps a CPU profile's samples (the same clock in every process). */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

const BASELINE = 'baseline';
/** Measured for comparison, not pages the goals are about. */
const REFERENCES = ['layout', 'health'];
const GOAL_P50_RATIO = 3;
const GOAL_REQUESTS_PER_SECOND = 200;

export async function runLoadBench(options: LoadOptions): Promise<LoadBenchResult> {
  const { log } = options;
  const scratch = options.driver === 'postgres' ? await openScratchDatabase({ driver: 'postgres', serverUrl: options.serverUrl }) : null;
  let server: Server | undefined;
  try {
    server = await startServer(options, scratch?.databaseUrl ?? null);
    const transactions = scratch ? () => committedTransactions(scratch.db, scratch.name) : null;
    log(`load: server on ${server.origin} (${options.driver}, NODE_ENV=production, demo council)`);
    const prepared = await prepareTargets(server.origin);
    const targets = prepared.targets.filter((target) => !options.pages || target.key === BASELINE || options.pages.includes(target.key));
    const audits = prepared.audits;
    const warm = options.connections[0] ?? 10;
    for (const target of targets) await load(server.origin, target, { connections: warm, durationSeconds: 2 });

    const levels: LoadBenchResult['levels'] = [];
    const windows: ProfileWindow[] = [];
    for (const connections of options.connections) {
      const runs = new Map<string, LoadMeasurement[]>(targets.map((target) => [target.key, []]));
      for (let round = 0; round < options.rounds; round++) {
        for (const target of targets) {
          const startUs = monotonicUs();
          const measured = await load(server.origin, target, { connections, durationSeconds: options.durationSeconds }, transactions);
          windows.push({ key: target.key, connections, startUs, endUs: monotonicUs() });
          runs.get(target.key)!.push(measured);
          log(`  ${connections} connections, round ${round + 1}: ${target.what}: ${measured.requestsPerSecond} req/s, p50 ${measured.p50Ms} ms${measured.failures ? `, ${measured.failures} FAILED` : ''}`);
        }
      }
      const medians = new Map([...runs].map(([key, measured]) => [key, medianOf(measured)]));
      const baseline = medians.get(BASELINE)!;
      levels.push({
        connections,
        rows: targets.map((target) => {
          const measured = medians.get(target.key)!;
          return {
            key: target.key,
            what: target.what,
            url: target.url,
            ...measured,
            p50ToBaseline: round(ratio(measured.p50Ms, baseline.p50Ms), 1),
            baselineToRequests: round(ratio(baseline.requestsPerSecond, measured.requestsPerSecond), 1),
          };
        }),
      });
    }
    const profile = await server.stop();
    return {
      durationSeconds: options.durationSeconds,
      rounds: options.rounds,
      audits,
      levels,
      goals: goals(levels),
      profile,
      ...(profile ? { profileWindows: windows } : {}),
      notes: notes(options),
    };
  } finally {
    await server?.stop();
    await scratch?.close();
  }
}

function medianOf(runs: LoadMeasurement[]): LoadMeasurement {
  const of = (pick: (run: LoadMeasurement) => number) => round(median(runs.map(pick)), 1);
  return {
    requestsPerSecond: of((run) => run.requestsPerSecond),
    p50Ms: of((run) => run.p50Ms),
    p90Ms: of((run) => run.p90Ms),
    p99Ms: of((run) => run.p99Ms),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
    transactionsPerRequest: runs[0]!.transactionsPerRequest === null ? null : of((run) => run.transactionsPerRequest!),
  };
}

/** The goals at the smallest number of connections: each page's median within 3× the baseline's, and 200 requests/s or more. */
function goals(levels: LoadBenchResult['levels']): LoadBenchResult['goals'] {
  const level = levels[0]!;
  const misses = level.rows
    .filter((row) => row.key !== BASELINE && !REFERENCES.includes(row.key))
    .flatMap((row) => [
      ...(row.p50ToBaseline > GOAL_P50_RATIO ? [`${row.what}: median ${row.p50ToBaseline}× the baseline's`] : []),
      ...(row.requestsPerSecond < GOAL_REQUESTS_PER_SECOND ? [`${row.what}: ${row.requestsPerSecond} requests/s`] : []),
      ...(row.failures ? [`${row.what}: ${row.failures} failed requests`] : []),
    ]);
  return { connections: level.connections, maxP50Ratio: GOAL_P50_RATIO, minRequestsPerSecond: GOAL_REQUESTS_PER_SECOND, met: misses.length === 0, misses };
}

function notes(options: LoadOptions): string[] {
  return [
    `The server ran in its own process (\`node src/main.ts --demo\`, NODE_ENV=production), on ${options.driver === 'postgres' ? 'a scratch PostgreSQL database (its pool of 10 connections)' : 'the embedded database (one connection)'} loaded with the demo council; autocannon ran in the benchmark's process. Both share the machine with the database.`,
    `Each target was loaded for ${options.durationSeconds} s at each number of connections after a 2 s warm-up, ${options.rounds} round${options.rounds === 1 ? '' : 's'}; figures are medians over the rounds. Latencies are autocannon's percentiles over every request of a run.`,
    'Every page view writes its activity-log entry, as in use. The baseline is a real route: the session check and principal, then an empty 204.',
  ];
}

// ---------------------------------------------------------------------------------------------
// The server

type Server = { origin: string; stop: () => Promise<string | null> };

async function startServer(options: LoadOptions, databaseUrl: string | null): Promise<Server> {
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir, 'load-'));
  const nodeFlags = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    REMINDERS_ENABLED: 'false',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { ALLOW_EMBEDDED_DB: 'true' }),
  };
  const child = spawn(process.execPath, [...nodeFlags, 'src/main.ts', '--demo'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const origin = await listeningOrigin(child);
  let stopped: Promise<string | null> | undefined;
  const stop = () =>
    (stopped ??= new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(null);
      const before = new Set(options.profileDir ? fs.readdirSync(options.profileDir) : []);
      child.once('exit', () => {
        const written = options.profileDir ? fs.readdirSync(options.profileDir).find((name) => name.endsWith('.cpuprofile') && !before.has(name)) : undefined;
        resolve(written ? path.join(options.profileDir!, written) : null);
      });
      child.kill('SIGTERM');
    }));
  return { origin, stop };
}

/** Waits for the server's "listening on" line (it seeds the demo council first: minutes on a busy machine). */
function listeningOrigin(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the server did not start within 600 s:\n${output}`));
    }, 600_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/[^\s:]+:\d+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!.replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server stopped (exit ${code}) before listening:\n${output}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Signing in and finding the pages, as a browser would

class Browser {
  readonly cookies = new Map<string, string>();
  readonly origin: string;
  constructor(origin: string) {
    this.origin = origin;
  }

  async get(url: string, headers: Record<string, string> = {}) {
    return this.#record(await fetch(`${this.origin}${url}`, { headers: { ...headers, cookie: this.cookieHeader() }, redirect: 'manual' }));
  }

  async post(url: string, form: Record<string, string>, csrfToken: string) {
    const body = new URLSearchParams({ _csrf: csrfToken, ...form }).toString();
    return this.#record(
      await fetch(`${this.origin}${url}`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookieHeader() }, redirect: 'manual' }),
    );
  }

  async signIn(email: string) {
    const form = await this.get('/sign-in');
    const answer = await this.post('/sign-in', { email, password: DEMO_PASSWORD }, csrfTokenOf(await form.text()));
    if (answer.status !== 303) throw new Error(`sign-in as ${email} answered ${answer.status}`);
  }

  cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #record(response: Response) {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return response;
  }
}

function csrfTokenOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token on the page');
  return token;
}

type ApiAudit = { id: string; status: string; auditorName: string };

async function prepareTargets(origin: string): Promise<{ targets: Target[]; audits: number }> {
  const coordinator = new Browser(origin);
  await coordinator.signIn(COORDINATOR);
  const account = await coordinator.get('/account');
  const created = await coordinator.post('/account/tokens', { name: 'load benchmark', lifetimeDays: '30' }, csrfTokenOf(await account.text()));
  const token = /data-testid="api-token">([^<]+)</.exec(await created.text())?.[1];
  if (!token) throw new Error(`no API token made (${created.status})`);
  const bearer = { authorization: `Bearer ${token}` };

  const list = (await (await fetch(`${origin}/api/v1/audits?pageSize=500`, { headers: bearer })).json()) as { total: number; audits: ApiAudit[] };
  // The richest audit for its page and read view: moderated, with feedback and actions.
  const finished = list.audits.find((audit) => audit.status === 'closed') ?? list.audits.find((audit) => audit.status === 'feedback_given');
  if (!finished) throw new Error('the demo council has no closed audit');

  const auditor = new Browser(origin);
  await auditor.signIn(AUDITOR);
  let section: string | undefined;
  for (const audit of list.audits.filter((candidate) => candidate.status === 'in_progress')) {
    const taskList = await auditor.get(`/audits/${audit.id}/form`);
    if (taskList.status !== 200) continue;
    section = /href="(\/audits\/[^"]+\/form\/sections\/[^"#?]+)"/.exec(await taskList.text())?.[1];
    if (section) break;
  }
  if (!section) throw new Error("the demo auditor has no audit in progress with a section page");

  const signedIn = { cookie: coordinator.cookieHeader() };
  const targets: Target[] = [
    { key: BASELINE, what: 'baseline: signed-in keep-alive (session and principal only)', url: '/session/keep-alive', headers: signedIn, status: 204 },
    { key: 'mywork', what: 'My work (home)', url: '/', headers: signedIn, status: 200 },
    { key: 'myaudits', what: 'My audits', url: '/my-audits', headers: signedIn, status: 200 },
    { key: 'tracker', what: 'Audit tracker', url: '/audits', headers: signedIn, status: 200 },
    { key: 'audit', what: "An audit's page (closed audit)", url: `/audits/${finished.id}`, headers: signedIn, status: 200 },
    { key: 'form', what: 'Audit form: a section page (its auditor)', url: section, headers: { cookie: auditor.cookieHeader() }, status: 200 },
    { key: 'read', what: 'Read view (closed audit)', url: `/audits/${finished.id}/read`, headers: signedIn, status: 200 },
    { key: 'api', what: 'API: list of audits (bearer token)', url: '/api/v1/audits', headers: bearer, status: 200 },
    { key: 'layout', what: 'reference: change your password (the session, the page layout and a small form; no question of its own)', url: '/account/password', headers: signedIn, status: 200 },
    { key: 'health', what: 'reference: /health (no session)', url: '/health', headers: {}, status: 200 },
  ];
  for (const target of targets) {
    const response = await fetch(`${origin}${target.url}`, { headers: target.headers, redirect: 'manual' });
    if (response.status !== target.status) throw new Error(`GET ${target.url} answered ${response.status}, not ${target.status}`);
  }
  return { targets, audits: list.total };
}

// ---------------------------------------------------------------------------------------------
// The load

/**
 * Transactions committed in the scratch database so far, by PostgreSQL's statistics. They are
 * flushed about once a second, so the count is asked for after a pause and read afresh.
 */
async function committedTransactions(db: Db, name: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await sql`select pg_stat_clear_snapshot()`.execute(db);
  const row = await sql<{ n: number }>`select (xact_commit + xact_rollback)::int8 as n from pg_stat_database where datname = ${name}`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}

async function load(origin: string, target: Target, options: { connections: number; durationSeconds: number }, transactions: (() => Promise<number>) | null = null): Promise<LoadMeasurement> {
  let unexpected = 0;
  const before = transactions ? await transactions() : 0;
  const result = await autocannon({
    url: `${origin}${target.url}`,
    headers: target.headers,
    connections: options.connections,
    duration: options.durationSeconds,
    // Every answer is checked, not just counted: a redirect to sign-in would look fast.
    setupClient: (client) => {
      client.on('response', (statusCode: number) => {
        if (statusCode !== target.status) unexpected += 1;
      });
    },
  });
  const after = transactions ? await transactions() : 0;
  return {
    transactionsPerRequest: transactions ? round((after - before) / Math.max(1, result.requests.total), 1) : null,
    requestsPerSecond: round(result.requests.average, 1),
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    failures: unexpected + result.errors + result.timeouts,
  };
}
