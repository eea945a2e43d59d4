import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { inTransaction, type Db } from '../../db/index.ts';
import { logActivity, type Actor } from '../../platform/activity.ts';
import type { FieldError } from '../../platform/errors.ts';
import { fieldErrorsFrom } from '../../platform/views.ts';
import { DEFAULT_TIMESCALES, type Timescales } from '../audits/lifecycle.ts';
import { STALE_MESSAGE, type Outcome } from './service.ts';

/**
 * A council's timescales: how long each stage of an audit's life may take. Bristol's process
 * map is the default until the council saves its own. A change applies to stages that start
 * from then on; a deadline already worked out stays as it is.
 */

type Unit = 'working days' | 'weeks' | 'months';

/** Each timescale: its form field, column, what it times, its unit and the range the database allows. */
export const TIMESCALE_FIELDS: readonly { key: keyof Timescales; column: string; label: string; hint: string; unit: Unit; max: number }[] = [
  { key: 'auditorDays', column: 'auditor_days', label: 'Auditor', hint: 'From allocation (or return) to submission for moderation.', unit: 'working days', max: 250 },
  { key: 'moderationDays', column: 'moderation_days', label: 'Moderation', hint: 'From submission to moderation.', unit: 'working days', max: 250 },
  { key: 'distributionDays', column: 'distribution_days', label: 'Distribution', hint: 'From moderation to sending the audit to the team manager and case holder.', unit: 'working days', max: 250 },
  { key: 'feedbackDays', column: 'feedback_days', label: 'Practitioner feedback', hint: 'From distribution to the case holder’s feedback.', unit: 'working days', max: 250 },
  { key: 'reAuditWeeks', column: 're_audit_weeks', label: 'Re-audit', hint: 'After an audit is moderated Inadequate.', unit: 'weeks', max: 104 },
  { key: 'caseDirectionReviewMonths', column: 'case_direction_review_months', label: 'Case direction review', hint: 'From the service manager’s case direction to the review of its actions.', unit: 'months', max: 24 },
  { key: 'actionVerificationMonths', column: 'action_verification_months', label: 'Action verification', hint: 'After an action’s due date, to check it was done.', unit: 'months', max: 24 },
];

export type TimescaleSettings = { timescales: Timescales; version: number; isDefault: boolean };

export async function timescaleSettings(db: Db, organisationId: string): Promise<TimescaleSettings> {
  const row = await db.selectFrom('organisation_timescales').selectAll().where('organisation_id', '=', organisationId).executeTakeFirst();
  if (!row) return { timescales: DEFAULT_TIMESCALES, version: 0, isDefault: true };
  const timescales = Object.fromEntries(TIMESCALE_FIELDS.map((field) => [field.key, (row as unknown as Record<string, number>)[field.column]])) as Timescales;
  return { timescales, version: row.version, isDefault: false };
}

const wholeNumber = (label: string, unit: Unit, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.trim() : value),
    z
      .string({ error: `Enter the ${label.toLowerCase()} timescale in ${unit}` })
      .min(1, `Enter the ${label.toLowerCase()} timescale in ${unit}`)
      .regex(/^\d+$/, `The ${label.toLowerCase()} timescale must be a whole number of ${unit}, like 10`)
      .transform(Number)
      .pipe(z.number().min(1, `The ${label.toLowerCase()} timescale must be at least 1`).max(max, `The ${label.toLowerCase()} timescale must be ${max} ${unit} or fewer`)),
  );

const timescalesForm = z.object({
  ...Object.fromEntries(TIMESCALE_FIELDS.map((field) => [field.key, wholeNumber(field.label, field.unit, field.max)])),
  version: z.coerce.number().int().min(0),
});

/** Saves the council's timescales, refusing a form opened before someone else's change. */
export async function saveTimescales(db: Db, actor: Actor, body: unknown): Promise<Outcome<Timescales>> {
  const parsed = timescalesForm.safeParse(body);
  if (!parsed.success) return { ok: false, status: 400, errors: fieldErrorsFrom(parsed.error) };
  const { version, ...values } = parsed.data as Timescales & { version: number };
  const organisationId = actor.principal!.organisationId;
  const columns = Object.fromEntries(TIMESCALE_FIELDS.map((field) => [field.column, values[field.key]]));
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('organisation_timescales').select('version').where('organisation_id', '=', organisationId).forUpdate().executeTakeFirst();
    if ((current?.version ?? 0) !== version) return { ok: false, status: 409, errors: [{ field: 'timescales', message: STALE_MESSAGE }] };
    if (current) {
      await trx
        .updateTable('organisation_timescales')
        .set({ ...columns, version: sql<number>`version + 1`, updated_at: sql<string>`now()` })
        .where('organisation_id', '=', organisationId)
        .execute();
    } else {
      await trx.insertInto('organisation_timescales').values({ organisation_id: organisationId, ...columns }).execute();
    }
    await logActivity(trx, actor, {
      action: 'update',
      recordType: 'organisation',
      recordId: organisationId,
      summary: `timescales: ${TIMESCALE_FIELDS.map((field) => `${field.label.toLowerCase()} ${values[field.key]} ${field.unit}`).join(', ')}`,
    });
    return { ok: true, value: values };
  });
}

type Body = Record<string, unknown>;

export function timescaleRoutes(app: FastifyInstance, db: Db) {
  const page = async (request: FastifyRequest, reply: FastifyReply, state: { values?: Body; errors?: FieldError[]; status?: number } = {}) => {
    const settings = await timescaleSettings(db, request.principal!.organisationId);
    const values = state.values ?? { ...settings.timescales, version: settings.version };
    const errors = state.errors ?? [];
    return reply.code(state.status ?? 200).page('org/views/timescales.njk', {
      fields: TIMESCALE_FIELDS.map((field) => ({ ...field, value: values[field.key], default: DEFAULT_TIMESCALES[field.key] })),
      // A stale form shows the council's timescales as they are now beside the user's own.
      current: state.status === 409 ? settings.timescales : null,
      isDefault: settings.isDefault,
      version: state.status === 409 ? settings.version : values.version,
      errors,
      flash: (request.query as { done?: string }).done === 'saved' ? 'Timescales saved: stages that start from now on follow them' : undefined,
    });
  };

  app.get('/organisation/timescales', { config: { access: 'org.manage' } }, async (request, reply) => page(request, reply));

  app.post('/organisation/timescales', { config: { access: 'org.manage' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const outcome = await saveTimescales(db, { principal: request.principal, ipAddress: request.ip, at: request.at }, body);
    if (!outcome.ok) return page(request, reply, { values: body, errors: outcome.errors, status: outcome.status });
    return reply.redirect('/organisation/timescales?done=saved', 303);
  });
}
