import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInToolFiles } from '../src/modules/tools/library.ts';
import { adminQuery } from './support/database.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'assure-cli-'));

/**
 * Where the commands keep their data. Each run starts Node and opens the database; PGlite's
 * start (compiling its WebAssembly) is most of a run's time, so with a PostgreSQL server to
 * hand the commands below run on a new, empty database of their own, and one test runs them on
 * the embedded database, as a council without a server would.
 */
const serverUrl = process.env.TEST_DATABASE_URL;
const databaseName = `assure_cli_${process.pid}_${Date.now()}`;
const databaseUrl = serverUrl ? Object.assign(new URL(serverUrl), { pathname: `/${databaseName}` }).toString() : undefined;

/** Runs `assure <args>` as a person at a terminal would. */
async function assure(...args: string[]) {
  return assureWith({}, ...args);
}

/** `env` adds to or replaces the commands' environment; a variable given as undefined is left unset. */
async function assureWith(env: Record<string, string | undefined>, ...args: string[]) {
  const merged = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, DATABASE_URL: databaseUrl, ...env };
  try {
    const result = await run(process.execPath, [path.join(root, 'src/cli.ts'), ...args], {
      env: Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)),
      timeout: 60_000,
    });
    return { code: 0, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function file(name: string, content: string) {
  const target = path.join(dataDir, name);
  fs.writeFileSync(target, content);
  return target;
}

describe('the assure command line', () => {
  beforeAll(async () => {
    if (serverUrl) await adminQuery(serverUrl, `create database ${databaseName}`);
  });
  afterAll(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (serverUrl) await adminQuery(serverUrl, `drop database if exists ${databaseName} with (force)`);
  });

  it('keeps its data in an embedded database in DATA_DIR when no DATABASE_URL is given', async () => {
    const embedded = { DATA_DIR: path.join(dataDir, 'embedded'), DATABASE_URL: undefined };
    expect((await assureWith(embedded, 'migrate')).code).toBe(0);
    const created = await assureWith(embedded, 'create-organisation', '--name', 'Embedshire Council', '--slug', 'embedshire');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(fs.readdirSync(embedded.DATA_DIR).length).toBeGreaterThan(0);
    expect((await assureWith(embedded, 'create-user', '--email', 'ada@embedshire.example', '--name', 'Ada', '--password', 'long enough password', '--role', 'administrator')).code).toBe(0);
    const again = await assureWith(embedded, 'create-organisation', '--name', 'Embedshire Council', '--slug', 'embedshire');
    expect(again.code).not.toBe(0);
    expect((await assureWith(embedded, 'seed-demo')).stderr).toContain('already holds an organisation');
  }, 90_000);

  it('lists its commands, and refuses an unknown one', async () => {
    const help = await assure('help');
    expect(help.stdout).toContain('import-children FILE');
    const unknown = await assure('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  // Each of these runs starts Node and the embedded database: slow on a busy machine.
  it('creates an organisation and an administrator, refusing bad input with a clear error', async () => {
    expect((await assure('migrate')).code).toBe(0);
    const noOrg = await assure('create-user', '--email', 'ada@council.example', '--name', 'Ada', '--password', 'long enough password', '--role', 'administrator');
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toContain('there is no organisation yet');
    const created = await assure('create-organisation', '--name', 'Testshire Council', '--slug', 'testshire');
    expect(created.stdout).toContain('Created organisation Testshire Council');
    expect(created.stdout).toContain(`with ${builtInToolFiles().length} built-in audit tool edition(s)`);
    const shortPassword = await assure('create-user', '--email', 'ada@council.example', '--name', 'Ada', '--password', 'short', '--role', 'administrator');
    expect(shortPassword.code).toBe(2);
    expect(shortPassword.stderr).toContain('--password must be at least 12 characters');
    const badRole = await assure('create-user', '--email', 'ada@council.example', '--name', 'Ada', '--password', 'long enough password', '--role', 'king');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of');
    const user = await assure('create-user', '--email', 'ada@council.example', '--name', 'Ada', '--password', 'long enough password', '--role', 'administrator');
    expect(user.code).toBe(0);
    const token = await assure('create-token', '--user', 'ada@council.example');
    expect(token.stdout.trim()).toMatch(/^assure_[\w-]{40,}$/);
    const nobody = await assure('create-token', '--user', 'nobody@council.example');
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('no user has the e-mail address nobody@council.example');
  }, 90_000);

  it('imports staff and then children, all rows or none', async () => {
    const staff = file('staff.csv', 'Staff number,Full name,Job title,Email,Team\nS1,Wes Worker,Social Worker,wes@council.example,\n');
    const staffResult = await assure('import-staff', staff);
    expect(staffResult.stderr).toBe('');
    expect(staffResult.stdout).toContain('1 created');
    const bad = file('bad.csv', 'Case ID,Initials,Legal status\nC-1,AB,CIN\nC-2,Jo Bloggs,CIN\n');
    const refused = await assure('import-children', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('row 3, Initials');
    expect(refused.stderr).toContain('nothing was imported');
    const good = file('good.csv', 'Case ID,Initials,Legal status,Allocated worker\nC-1,AB,CIN,S1\nC-2,JB,CP,Wes Worker\n');
    const imported = await assure('import-children', good);
    expect(imported.stdout).toContain('Imported children: 2 created, 0 updated, 0 closed');
    const again = await assure('import-children', good);
    expect(again.stdout).toContain('Imported children: 0 created, 0 updated, 0 closed');
    // Closing needs --close-missing; a dry run shows it and changes nothing; past a quarter, --close-many too.
    const part = file('part.csv', 'Case ID,Initials,Legal status\nC-1,AB,CIN\n');
    const updateOnly = await assure('import-children', part);
    expect(updateOnly.stdout).toContain('closes nobody: add --close-missing');
    expect(updateOnly.stdout).toContain('0 closed');
    const dryRun = await assure('import-children', part, '--close-missing', '--dry-run');
    expect(dryRun.stdout).toContain('Would import: adds 0, updates 0, closes 1 of 2 open children; 1 unchanged');
    expect(dryRun.stdout).toContain('It would close, first: C-2');
    expect(dryRun.stdout).toContain('Dry run: nothing was changed.');
    const refusedMany = await assure('import-children', part, '--close-missing');
    expect(refusedMany.code).toBe(1);
    expect(refusedMany.stderr).toContain('would close 1 of the 2 open children, more than a quarter. Nothing was imported');
    const closed = await assure('import-children', part, '--close-missing', '--close-many');
    expect(closed.stdout).toContain('Imported children: 0 created, 0 updated, 1 closed');
    const missing = await assure('import-children', path.join(dataDir, 'nope.csv'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  }, 240_000);

  it('checks a tool file without opening the database, and loads it with the same messages', async () => {
    const example = path.join(root, 'audit-tools/examples/minimal.yaml');
    const text = fs.readFileSync(example, 'utf8');
    // A data directory that cannot exist: any attempt to open the database would fail.
    const offline = { DATA_DIR: path.join(example, 'not-a-directory'), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
    const valid = await assureWith(offline, 'validate-tool', example);
    expect(valid).toMatchObject({ code: 0, stderr: '' });
    expect(valid.stdout.trim()).toBe(`${example}: valid — Example Child Case Audit edition 2026`);

    const broken = file('broken.yaml', text.replace('scale: ofsted\n        required: true\n        evidence', 'scale: ofstead\n        required: true\n        evidence'));
    const invalid = await assureWith(offline, 'validate-tool', broken);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: sections\\[0\\]\\.answers\\[0\\]\\.scale: unknown scale "ofstead"`, 'm'));
    expect(invalid.stderr).toContain(`assure: ${broken} is not a valid tool file`);
    const syntax = await assureWith(offline, 'validate-tool', file('syntax.yaml', 'key: [\n'));
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/syntax\.yaml:\d+: YAML syntax error/);
    expect((await assureWith(offline, 'validate-tool')).code).toBe(2);
    expect((await assureWith(offline, 'validate-tool', path.join(dataDir, 'nope.yaml'))).code).toBe(2);

    const refused = await assure('import-tool', broken);
    expect(refused.code).toBe(1);
    expect(refused.stderr.split('\n').filter((line) => line.startsWith(broken))).toEqual(invalid.stderr.split('\n').filter((line) => line.startsWith(broken)));
    expect(refused.stderr).toContain('nothing was loaded');

    const imported = await assure('import-tool', example, '--org', 'testshire');
    expect(imported).toMatchObject({ code: 0, stderr: '' });
    expect(imported.stdout).toContain('Example Child Case Audit edition 2026 has been added to the library');
    const again = await assure('import-tool', example);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing has changed');
    const changed = await assure('import-tool', file('minimal.yaml', text.replace('Management oversight', 'Management grip')));
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('is already published with different content. A published edition never changes');
  }, 90_000);

  it('loads the demo only into an empty database', async () => {
    const refused = await assure('seed-demo');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already holds an organisation');
  });
});
