import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openPglite } from '../src/db/index.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { listenAddress, loadConfig } from '../src/config.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

async function start(env: Record<string, string>, args: string[] = []) {
  try {
    const result = await run(process.execPath, [path.join(root, 'src/main.ts'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, stderr: result.stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('starting Assure', () => {
  it('refuses, in one line, when the database cannot be reached', async () => {
    const result = await start({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^Assure cannot start: cannot reach PostgreSQL/);
  });

  it('refuses a database whose schema is newer than the code', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-start-'));
    const handle = await openPglite(path.join(dataDir, 'pglite'));
    await migrateToLatest(handle.db);
    await sql`insert into kysely_migration (name, timestamp) values ('2099-01-01T0000_from_the_future', '2099-01-01')`.execute(handle.db);
    await handle.close();
    const result = await start({ DATA_DIR: dataDir, PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'Assure cannot start: the database schema is newer than this version of Assure (unknown migration 2099-01-01T0000_from_the_future); upgrade Assure',
    );
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses the embedded database in production unless allowed', async () => {
    const result = await start({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), PORT: '0', DATA_DIR: os.tmpdir() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refusing to run on the embedded database with NODE_ENV=production');
  });

  it('keeps the demo to this machine unless HOST is set, and says so', async () => {
    expect(listenAddress(loadConfig({}), { demo: true }).host).toBe('127.0.0.1');
    expect(listenAddress(loadConfig({ HOST: '0.0.0.0' }), { demo: true }).host).toBe('0.0.0.0');
    expect(listenAddress(loadConfig({}), { demo: false }).host).toBe('0.0.0.0');

    // A demo database already loaded (so nothing is seeded), started as `npm run demo` starts it.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-demo-host-'));
    const handle = await openPglite(path.join(dataDir, 'pglite'));
    await migrateToLatest(handle.db);
    await sql`insert into organisations (name, slug) values ('Demo', 'demo')`.execute(handle.db);
    await handle.close();
    const child = spawn(process.execPath, [path.join(root, 'src/main.ts'), '--demo'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', REMINDERS_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no start line: ${out}`)), 90_000);
        child.stdout.on('data', (chunk) => {
          out += String(chunk);
          const found = /Assure is listening on .*/.exec(out)?.[0];
          if (found) {
            clearTimeout(timer);
            resolve(found);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      expect(line).toMatch(/^Assure is listening on http:\/\/127\.0\.0\.1:\d+ .*only this machine can reach it/);
      const port = /127\.0\.0\.1:(\d+)/.exec(line)![1];
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
