import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/index.ts';
import { createSmallCouncil, PASSWORD } from './support/fixtures.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';

/**
 * Assure survives its database: the real server (src/main.ts, its own process) keeps running
 * while PostgreSQL drops its connections during traffic, answers 503 while the database cannot
 * be reached, and recovers by itself. The server reaches PostgreSQL through a TCP relay the
 * test can stop and start, as a database restart or a network cut would.
 */

const ROOT = path.resolve(import.meta.dirname, '..');

/** A TCP relay to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
async function startRelay(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const open = async () => {
    server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  };
  await open();
  return {
    port: () => port,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: open,
  };
}

type Server = { url: string; process: ChildProcess; output: () => string };

async function startServer(databaseUrl: string): Promise<Server> {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/main.ts')], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', REMINDERS_ENABLED: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${output}`)), 150_000);
    const look = () => {
      const port = /listening on http:\/\/(?:localhost|127\.0\.0\.1):(\d+)/.exec(output)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    };
    child.stdout!.on('data', look);
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${output}`)));
  });
  return { url, process: child, output: () => output };
}

/** Signs in over HTTP as a browser would, and gives back the cookies to send. */
async function signIn(url: string, email: string): Promise<string> {
  const page = await fetch(`${url}/sign-in`);
  const csrfCookie = page.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ');
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const response = await fetch(`${url}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    body: new URLSearchParams({ _csrf: token, email, password: PASSWORD }).toString(),
  });
  if (response.status !== 303) throw new Error(`sign-in failed with ${response.status}`);
  return [csrfCookie, ...response.headers.getSetCookie().map((cookie) => cookie.split(';')[0])].join('; ');
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}

const onPostgres = testDrivers().includes('postgres');
if (!onPostgres) console.log('Database drop tests skipped: set TEST_DATABASE_URL (they need a PostgreSQL server to drop connections)');

describe.skipIf(!onPostgres)('the server when PostgreSQL drops its connections', () => {
  let handle: DatabaseHandle;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let server: Server;
  let cookie: string;
  let databaseName: string;

  beforeAll(async () => {
    handle = await openTestDatabase('postgres');
    const council = await createSmallCouncil(handle.db);
    databaseName = (await sql<{ name: string }>`select current_database() as name`.execute(handle.db)).rows[0]!.name;
    const direct = new URL(process.env.TEST_DATABASE_URL!);
    relay = await startRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaRelay = new URL(direct);
    viaRelay.host = `127.0.0.1:${relay.port()}`;
    viaRelay.pathname = `/${databaseName}`;
    server = await startServer(viaRelay.toString());
    cookie = await signIn(server.url, council.users.qa_coordinator.email);
  }, 240_000);

  afterAll(async () => {
    server?.process.kill('SIGTERM');
    await relay?.cut().catch(() => {});
    await handle?.close();
  });

  const alive = () => server.process.exitCode === null && server.process.signalCode === null;
  const health = async () => (await fetch(`${server.url}/health`)).status;
  const page = async (pathname: string) => (await fetch(`${server.url}${pathname}`, { headers: { cookie }, redirect: 'manual' })).status;

  it('lives through backends terminated during traffic: only the requests caught fail, with 503, and it recovers', async () => {
    expect(await page('/audits')).toBe(200);
    const statuses: number[] = [];
    let traffic = true;
    const client = async () => {
      while (traffic) {
        for (const pathname of ['/audits', '/children', '/', '/organisation/staff']) {
          statuses.push(await page(pathname).catch(() => -1));
        }
        statuses.push(await health().catch(() => -1));
      }
    };
    const clients = Array.from({ length: 8 }, client);

    let terminated = 0;
    for (let round = 0; round < 5; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const { rows } = await sql<{ pid: number }>`
        select pg_terminate_backend(pid) as done, pid from pg_stat_activity
        where datname = ${databaseName} and pid <> pg_backend_pid()`.execute(handle.db);
      terminated += rows.length;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    traffic = false;
    await Promise.all(clients);

    expect(terminated).toBeGreaterThan(0);
    expect(alive(), server.output()).toBe(true);
    // Every request had an answer: the page, or "unavailable"; never a crash or an error 500.
    expect(new Set(statuses.filter((status) => status !== 200 && status !== 503))).toEqual(new Set());
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);

    await waitFor('the pages answer again', async () => (await page('/audits')) === 200 && (await health()) === 200);
    expect(alive()).toBe(true);
  }, 120_000);

  it('says 503 on /health and on pages while the database cannot be reached, and 200 again after, without a restart', async () => {
    await relay.cut();
    await waitFor('/health reports the database down', async () => (await health()) === 503);
    const unavailable = await fetch(`${server.url}/audits`, { headers: { cookie }, redirect: 'manual' });
    expect(unavailable.status).toBe(503);
    expect(await unavailable.text()).toContain('Sorry, the service is unavailable');
    expect(unavailable.headers.get('retry-after')).toBe('30');
    expect((await fetch(`${server.url}/health`)).headers.get('content-type')).toContain('application/json');
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'unavailable', database: 'down' });

    await relay.restore();
    await waitFor('/health reports the database up', async () => (await health()) === 200);
    expect(await page('/audits')).toBe(200);
    expect(alive(), server.output()).toBe(true);
  }, 120_000);
});
