import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDependencies } from '../../../platform/http/types.ts';
import type { FieldError } from '../../../platform/errors.ts';
import { logModerationView, moderateAudit, moderationItems, openModeration, returnAudit, type Moderation } from './moderation.ts';
import { auditIdParam, postedVersion } from '../http.ts';

/**
 * The moderation page: the auditor's grades and evidence beside the moderator's own, a form to
 * moderate and one to return the audit. Only the audit's moderator (or a QA lead) while the
 * audit is in moderation; the service checks it on every call.
 */

type Body = Record<string, unknown>;


const STALE = 'Someone else has changed this audit since you opened it. Your text is kept below: check the audit as it is now, then send again';

type PageState = { values: Body; errors: FieldError[]; form?: 'moderate' | 'return'; status?: number };

export async function moderationRoutes(app: FastifyInstance, { db }: AppDependencies) {
  const actorOf = (request: FastifyRequest) => ({ principal: request.principal!, ipAddress: request.ip, at: request.at });

  app.get('/audits/:id/moderate', { config: { access: 'audits.view' } }, async (request, reply) => {
    const moderation = await openModeration(db, request.principal!, auditIdParam(request));
    if (moderation.audit.status !== 'in_moderation') return reply.redirect(`/audits/${moderation.audit.id}`, 303);
    await logModerationView(db, actorOf(request), moderation);
    return render(reply, moderation, { values: auditorGrades(moderation), errors: [] });
  });

  app.post('/audits/:id/moderate', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await moderateAudit(db, actorOf(request), id, body, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?moderated=1`, 303);
    const moderation = await openModeration(db, request.principal!, id);
    if (outcome.reason === 'stale') return render(reply, moderation, { values: body, errors: [{ field: 'moderate', message: STALE }], form: 'moderate', status: 409 });
    return render(reply, moderation, { values: body, errors: outcome.errors, form: 'moderate', status: 400 });
  });

  app.post('/audits/:id/moderate/return', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await returnAudit(db, actorOf(request), id, body, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?returned=1`, 303);
    const moderation = await openModeration(db, request.principal!, id);
    if (outcome.reason === 'stale') return render(reply, moderation, { values: body, errors: [{ field: 'return', message: STALE }], form: 'return', status: 409 });
    return render(reply, moderation, { values: body, errors: outcome.errors, form: 'return', status: 400 });
  });

  /** The form as it opens: every grade prefilled with the auditor's. */
  function auditorGrades(moderation: Moderation): Body {
    return Object.fromEntries(moderationItems(moderation).map((entry) => [`grade-${entry.key}`, entry.auditorGrade]));
  }

  function render(reply: FastifyReply, moderation: Moderation, state: PageState) {
    const errorOf = Object.fromEntries(state.errors.map((error) => [error.field, { text: error.message }]));
    // Moderating and returning are two forms on one page: each keeps only its own text.
    const values = state.form === 'return' ? auditorGrades(moderation) : state.values;
    const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : '');
    const items = moderationItems(moderation).map((entry) => ({
      ...entry,
      // The section's own judgement is the grade ruled on below, named once in its question;
      // any further judgement in the section keeps its grade beside its evidence.
      blocks: entry.blocks.map((block, index) => ({ ...block, ruledOn: block.type === 'judgement' && entry.blocks.findIndex((other) => other.type === 'judgement') === index })),
      radios: entry.options.map((option) => ({ value: option.value, text: option.label, checked: values[`grade-${entry.key}`] === option.value })),
      reason: text(`reason-${entry.key}`),
    }));
    return reply.code(state.status ?? 200).page('audits/moderation/views/moderate.njk', {
      audit: moderation.audit,
      managementOversight: moderation.managementOversight,
      otherSections: moderation.otherSections,
      items: moderation.overall ? items.slice(0, -1) : items,
      overall: moderation.overall ? items[items.length - 1] : null,
      version: moderation.version,
      errors: state.errors,
      errorOf,
      comments: text('comments'),
      changes: state.form === 'return' && typeof state.values.changes === 'string' ? state.values.changes : '',
    });
  }
}
