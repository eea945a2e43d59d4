import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import { notFound, type FieldError } from '../../platform/errors.ts';
import { fieldErrorsFrom } from '../../platform/views.ts';
import { isUniqueViolation, STALE_MESSAGE, type Outcome } from '../org/service.ts';
import { phraseProblems } from './themes-text.ts';
import * as queries from './themes-queries.ts';

/**
 * Keeping the themes list: add, change (refused if someone saved the theme since it was
 * opened, the user's text kept) and remove. A theme's phrases are checked before anything is
 * written: none, or one that would mark nothing or everything, is refused beside the field.
 */

export const MAX_PHRASES = 30;

const themeForm = z.object({
  name: z.string({ error: 'Enter the name of the theme' }).trim().min(1, 'Enter the name of the theme').max(100, 'The name of the theme must be 100 characters or fewer'),
  phrases: z.string({ error: 'Enter the words and phrases that mark the theme' }).max(5000, 'The words and phrases must be 5,000 characters or fewer'),
  version: z.coerce.number().int().min(0).optional(),
});

/** The phrases as typed, one a line: blank lines dropped, repeats kept once. */
export function phraseLines(text: string): string[] {
  return [...new Set(text.split(/\r?\n/).map((line) => line.trim().replace(/\s+/g, ' ')).filter(Boolean))];
}

export type ThemeInput = { name: string; phrases: string[]; version?: number | undefined };

/** The form's fields checked: the name, and each phrase (its problems named by line). */
export function checkThemeForm(body: Record<string, unknown>): { ok: true; value: ThemeInput } | { ok: false; errors: FieldError[] } {
  const parsed = themeForm.safeParse(body);
  if (!parsed.success) return { ok: false, errors: fieldErrorsFrom(parsed.error) };
  const phrases = phraseLines(parsed.data.phrases);
  if (phrases.length > MAX_PHRASES) return { ok: false, errors: [{ field: 'phrases', message: `Enter ${MAX_PHRASES} words and phrases or fewer` }] };
  const problems = phraseProblems(phrases);
  if (problems.length) return { ok: false, errors: [{ field: 'phrases', message: problems.join('. ') }] };
  return { ok: true, value: { name: parsed.data.name, phrases, version: parsed.data.version } };
}

const TAKEN: FieldError[] = [{ field: 'name', message: 'A theme with this name already exists' }];
const STALE: FieldError[] = [{ field: 'current-record', message: STALE_MESSAGE }];

export async function saveTheme(db: Db, actor: Actor, id: string | undefined, body: Record<string, unknown>): Promise<Outcome<{ id: string }>> {
  const organisationId = actor.principal!.organisationId;
  const checked = checkThemeForm(body);
  if (!checked.ok) return { ok: false, status: 400, errors: checked.errors };
  const { name, phrases, version } = checked.value;
  try {
    return await db.transaction().execute(async (trx) => {
      if (await queries.findThemeNamed(trx, organisationId, name, id ?? null)) return { ok: false as const, status: 400 as const, errors: TAKEN };
      if (!id) {
        const row = await queries.insertTheme(trx, { organisationId, name, phrases, at: actor.at });
        await logActivity(trx, actor, { action: 'create', recordType: 'theme', recordId: row.id, summary: `Theme added: ${name}` });
        return { ok: true as const, value: { id: row.id } };
      }
      const row = await queries.updateTheme(trx, { organisationId, id, version: version ?? 0, name, phrases, at: actor.at });
      if (!row) return staleOrMissing(trx, organisationId, id);
      await logActivity(trx, actor, { action: 'update', recordType: 'theme', recordId: id, summary: `Theme changed: ${name}` });
      return { ok: true as const, value: { id } };
    });
  } catch (error) {
    // Someone added the same name between the check and the write.
    if (isUniqueViolation(error)) return { ok: false, status: 400, errors: TAKEN };
    throw error;
  }
}

export async function removeTheme(db: Db, actor: Actor, id: string, version: number): Promise<Outcome<{ name: string }>> {
  const organisationId = actor.principal!.organisationId;
  return db.transaction().execute(async (trx) => {
    const theme = await queries.findTheme(trx, organisationId, id);
    if (!theme) throw notFound('Theme');
    if (!(await queries.deleteTheme(trx, { organisationId, id, version }))) return { ok: false as const, status: 409 as const, errors: STALE };
    await logActivity(trx, actor, { action: 'delete', recordType: 'theme', recordId: id, summary: `Theme removed: ${theme.name}` });
    return { ok: true as const, value: { name: theme.name } };
  });
}

async function staleOrMissing(db: Db, organisationId: string, id: string): Promise<Outcome<never>> {
  if (!(await queries.findTheme(db, organisationId, id))) throw notFound('Theme');
  return { ok: false, status: 409, errors: STALE };
}
