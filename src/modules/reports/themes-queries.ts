import { sql } from 'kysely';
import type { Db } from '../../db/index.ts';
import { jsonValue } from '../../db/values.ts';

/** The organisation's themes, by name. */
export async function listThemes(db: Db, organisationId: string) {
  const rows = await db.selectFrom('themes').select(['id', 'name', 'phrases', 'version']).where('organisation_id', '=', organisationId).orderBy(sql`lower(name)`).execute();
  return rows.map(asTheme);
}

export async function findTheme(db: Db, organisationId: string, id: string) {
  const row = await db.selectFrom('themes').select(['id', 'name', 'phrases', 'version']).where('organisation_id', '=', organisationId).where('id', '=', id).executeTakeFirst();
  return row ? asTheme(row) : undefined;
}

export type Theme = { id: string; name: string; phrases: string[]; version: number };

function asTheme(row: { id: string; name: string; phrases: unknown; version: number }): Theme {
  const phrases = jsonValue<string[]>(row.phrases);
  return { id: row.id, name: row.name, phrases, version: row.version };
}

/** Another theme of the organisation with this name (names are compared without case). */
export async function findThemeNamed(db: Db, organisationId: string, name: string, exceptId: string | null) {
  let query = db.selectFrom('themes').select('id').where('organisation_id', '=', organisationId).where(sql`lower(name)`, '=', name.toLowerCase());
  if (exceptId) query = query.where('id', '<>', exceptId);
  return query.executeTakeFirst();
}

export async function insertTheme(db: Db, input: { organisationId: string; name: string; phrases: string[]; at: Date }) {
  return db
    .insertInto('themes')
    .values({ organisation_id: input.organisationId, name: input.name, phrases: JSON.stringify(input.phrases), created_at: input.at, updated_at: input.at })
    .returning('id')
    .executeTakeFirstOrThrow();
}

/** Saves the theme if nobody saved it since `version` was read; undefined otherwise. */
export async function updateTheme(db: Db, input: { organisationId: string; id: string; version: number; name: string; phrases: string[]; at: Date }) {
  return db
    .updateTable('themes')
    .set({ name: input.name, phrases: JSON.stringify(input.phrases), version: sql`version + 1`, updated_at: input.at })
    .where('organisation_id', '=', input.organisationId)
    .where('id', '=', input.id)
    .where('version', '=', input.version)
    .returning('id')
    .executeTakeFirst();
}

export async function deleteTheme(db: Db, input: { organisationId: string; id: string; version: number }) {
  return db.deleteFrom('themes').where('organisation_id', '=', input.organisationId).where('id', '=', input.id).where('version', '=', input.version).returning('id').executeTakeFirst();
}

/** The stored definitions of these tool editions, to find each one's strengths and areas boxes. */
export async function selectEditionDefinitions(db: Db, editionIds: readonly string[]) {
  if (!editionIds.length) return [];
  return db.selectFrom('audit_tool_editions').select(['id', 'definition']).where('id', 'in', editionIds).execute();
}
