import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/index.ts';
import { PREPARED_PER_CONNECTION } from '../src/db/prepared-statements.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';

/**
 * On PostgreSQL, statements with parameters are prepared on each connection (planned once, not
 * at every request). Answers are never kept: each execution reads the data as it is now. These
 * tests show the cases where a prepared statement could go wrong: a table changed by another
 * server's migration under it, inside and outside a transaction, and a connection asked
 * hundreds of different statements.
 */
describe.skipIf(!testDrivers().includes('postgres'))('prepared statements (postgres)', () => {
  let handle: DatabaseHandle | undefined;
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
  });

  const backend = async (db: DatabaseHandle['db']) => (await sql<{ pid: number }>`select pg_backend_pid() as pid where ${1} = 1`.execute(db)).rows[0]!.pid;
  const prepared = async (db: DatabaseHandle['db']) =>
    (await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements where ${1} = 1`.execute(db)).rows[0]!.n;

  it('reads rows written after it was prepared, and sees a column added by another server', async () => {
    handle = await openTestDatabase('postgres', { connections: 1 });
    const { db } = handle;
    await sql`create table notes (id int primary key, body text)`.execute(db);
    await sql`insert into notes values (1, 'first')`.execute(db);
    const notes = () => sql<Record<string, unknown>>`select * from notes where id >= ${0} order by id`.execute(db).then((result) => result.rows);

    // Enough runs for PostgreSQL to keep a generic plan.
    for (let run = 0; run < 7; run++) expect(await notes()).toEqual([{ id: 1, body: 'first' }]);
    expect(await prepared(db)).toBeGreaterThan(0);
    await sql`insert into notes values (2, 'second')`.execute(db);
    expect((await notes()).map((note) => note.body)).toEqual(['first', 'second']);

    // Another server migrates: `select *` now returns a column the prepared statement did not.
    const before = await backend(db);
    await sql`alter table notes add column author text default 'A. Auditor'`.execute(db);
    expect(await notes()).toEqual([
      { id: 1, body: 'first', author: 'A. Auditor' },
      { id: 2, body: 'second', author: 'A. Auditor' },
    ]);
    // The connection that held the stale statement was closed, and its successor works.
    expect(await backend(db)).not.toBe(before);
    expect(await notes()).toHaveLength(2);
  });

  it('fails a transaction that meets a stale statement once, and the next one succeeds', async () => {
    handle = await openTestDatabase('postgres', { connections: 1 });
    const { db } = handle;
    await sql`create table notes (id int primary key, body text)`.execute(db);
    await sql`insert into notes values (1, 'first')`.execute(db);
    const inTransaction = () =>
      db.transaction().execute(async (trx) => {
        await sql`insert into notes values (${Date.now() % 1_000_000 + 10}, 'kept')`.execute(trx);
        return (await sql<Record<string, unknown>>`select * from notes where id = ${1}`.execute(trx)).rows;
      });
    expect(await inTransaction()).toEqual([{ id: 1, body: 'first' }]);
    await sql`alter table notes add column author text`.execute(db);

    const count = async () => (await sql<{ n: number }>`select count(*)::int as n from notes where ${1} = 1`.execute(db)).rows[0]!.n;
    const rowsBefore = await count();
    await expect(inTransaction()).rejects.toThrow(/cached plan must not change result type/);
    // Nothing of the failed transaction was kept.
    expect(await count()).toBe(rowsBefore);
    expect(await inTransaction()).toEqual([{ id: 1, body: 'first', author: null }]);
  });

  it('prepares at most a bounded number of statements on a connection', async () => {
    handle = await openTestDatabase('postgres', { connections: 1 });
    const { db } = handle;
    for (let n = 0; n < PREPARED_PER_CONNECTION + 50; n++) {
      const row = (await sql<{ n: number }>`select ${sql.lit(n)}::int + ${0}::int as n`.execute(db)).rows[0]!;
      expect(row.n).toBe(n);
    }
    // The statement that counts is one more: within the bound either way.
    expect(await prepared(db)).toBeLessThanOrEqual(PREPARED_PER_CONNECTION);
    expect(await prepared(db)).toBeGreaterThan(PREPARED_PER_CONNECTION - 10);
  });
});
