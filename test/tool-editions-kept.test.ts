import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/index.ts';
import { createOrganisation } from '../src/modules/org/service.ts';
import { editionDefinition } from '../src/modules/tools/editions.ts';
import { openTestDatabase, testDrivers } from './support/database.ts';

/**
 * A tool edition's definition is read once and kept in the process (tools/editions.ts). That
 * is safe because an edition never changes, which the database itself enforces; and it must
 * never let one council read another's edition, nor let a page change what the next one reads.
 */
describe.each(testDrivers())('tool editions kept once read (%s)', (driver) => {
  let handle: DatabaseHandle;
  let avonford: string;
  let brigstow: string;
  let editionId: string;

  beforeAll(async () => {
    handle = await openTestDatabase(driver);
    avonford = (await createOrganisation(handle.db, { name: 'Avonford Council', slug: 'avonford' })).id;
    brigstow = (await createOrganisation(handle.db, { name: 'Brigstow Council', slug: 'brigstow' })).id;
    const tool = await handle.db.insertInto('audit_tools').values({ organisation_id: avonford, key: 'case-file', name: 'Case file audit' }).returning('id').executeTakeFirstOrThrow();
    const edition = await handle.db
      .insertInto('audit_tool_editions')
      .values({ organisation_id: avonford, tool_id: tool.id, edition: '2026.1', definition: JSON.stringify({ sections: [{ key: 'voice', title: "The child's voice" }] }), source: 'test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    editionId = edition.id;
  });
  afterAll(async () => handle?.close());

  it('gives the edition to its own council, and the same definition every time', async () => {
    const first = await editionDefinition(handle.db, avonford, editionId);
    expect(first.sections[0]?.title).toBe("The child's voice");
    expect(await editionDefinition(handle.db, avonford, editionId)).toBe(first);
  });

  it("never gives one council another's edition, even once the owner's is kept", async () => {
    await editionDefinition(handle.db, avonford, editionId);
    await expect(editionDefinition(handle.db, brigstow, editionId)).rejects.toThrow(/no tool edition/);
  });

  it('cannot be changed by a page that reads it', async () => {
    const definition = await editionDefinition(handle.db, avonford, editionId);
    expect(() => {
      (definition.sections[0] as { title: string }).title = 'Changed';
    }).toThrow(TypeError);
    expect((await editionDefinition(handle.db, avonford, editionId)).sections[0]?.title).toBe("The child's voice");
  });

  it('rests on the database refusing any change to a published edition', async () => {
    await expect(sql`update audit_tool_editions set definition = '{"sections": []}' where id = ${editionId}`.execute(handle.db)).rejects.toThrow(/never changes/);
  });
});
