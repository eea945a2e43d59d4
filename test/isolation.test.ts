import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../src/db/index.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';

/**
 * Concurrent transactions are isolated on both drivers: a request never sees another's
 * uncommitted rows, and a rolled-back transaction leaves nothing behind. On PGlite the
 * dialect serialises transactions; on PostgreSQL the server isolates them.
 */
describe.each(testDrivers())('transaction isolation on %s', (driver) => {
  let handle: DatabaseHandle;

  beforeAll(async () => {
    handle = await openTestDatabase(driver);
  });
  afterAll(async () => handle?.close());

  const countOrganisations = async (slug: string) =>
    (await handle.db.selectFrom('organisations').select(sql<number>`count(*)::int`.as('n')).where('slug', '=', slug).executeTakeFirstOrThrow()).n;

  it('never shows another transaction its uncommitted rows, and a rollback leaves nothing', async () => {
    let inserted!: () => void;
    const insertedSignal = new Promise<void>((resolve) => (inserted = resolve));
    const writer = handle.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('organisations').values({ name: 'Uncommitted', slug: 'uncommitted' }).execute();
        inserted();
        await new Promise((resolve) => setTimeout(resolve, 200));
        throw new Error('roll back');
      })
      .catch((error: Error) => error.message);
    await insertedSignal;
    const seenWhileOpen = await countOrganisations('uncommitted');
    expect(await writer).toBe('roll back');
    expect(seenWhileOpen).toBe(0);
    expect(await countOrganisations('uncommitted')).toBe(0);
  });

  it('shows committed rows once the transaction commits', async () => {
    await handle.db.transaction().execute(async (trx) => {
      await trx.insertInto('organisations').values({ name: 'Committed', slug: 'committed' }).execute();
    });
    expect(await countOrganisations('committed')).toBe(1);
  });

  it('loses no update when many transactions change the same row at once', async () => {
    const organisation = await handle.db.insertInto('organisations').values({ name: 'Counter', slug: 'counter' }).returning('id').executeTakeFirstOrThrow();
    const locality = await handle.db
      .insertInto('localities')
      .values({ organisation_id: organisation.id, name: 'Counter' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        handle.db.transaction().execute(async (trx) => {
          await trx.updateTable('localities').set({ version: sql`version + 1` }).where('id', '=', locality.id).execute();
        }),
      ),
    );
    const row = await handle.db.selectFrom('localities').select('version').where('id', '=', locality.id).executeTakeFirstOrThrow();
    expect(row.version).toBe(21);
  });
});
