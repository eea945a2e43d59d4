/**
 * Tool editions as the pages read them. A published edition never changes — the database
 * refuses any change to its definition (the trigger audit_tool_edition_fixed) and nothing
 * deletes one — so its definition, read once, is kept in this process, parsed and frozen,
 * instead of being sent by the database and parsed again for every page (an edition is 15–135
 * kB of JSON: on the read view, a third of the bytes the server received).
 *
 * Safe with any number of server processes: what is kept can never become stale, since the row
 * it came from cannot change. It is kept under the organisation and the edition together, and
 * read with the organisation in the question, so one council's request never finds another's
 * edition. Frozen, so no page can change what the next one reads. Bounded: the editions used
 * least recently are dropped first.
 */
import type { Db } from '../../db/index.ts';
import { jsonValue } from '../../db/values.ts';
import { LeastRecentlyUsed } from '../../platform/lru.ts';
import type { AuditTool } from './schema.ts';

const KEPT_MAX = 64;
const kept = new LeastRecentlyUsed<string, AuditTool>(KEPT_MAX);

/** The definition of one of the organisation's tool editions; throws when it has no such edition. */
export async function editionDefinition(db: Db, organisationId: string, editionId: string): Promise<AuditTool> {
  const key = `${organisationId} ${editionId}`;
  const found = kept.get(key);
  if (found) return found;
  const row = await db
    .selectFrom('audit_tool_editions')
    .select('definition')
    .where('id', '=', editionId)
    .where('organisation_id', '=', organisationId)
    .executeTakeFirst();
  if (!row) throw new Error(`no tool edition ${editionId} in organisation ${organisationId}`);
  const definition = deepFreeze(jsonValue<AuditTool>(row.definition));
  kept.set(key, definition);
  return definition;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
