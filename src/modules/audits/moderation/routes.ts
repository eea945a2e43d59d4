import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../../platform/http/types.ts';
import type { FieldError } from '../../../platform/errors.ts';
import { fieldModel, repeatingModel } from '../form/view.ts';
import { parseSection } from '../form/answers.ts';
import {
  findModerationDraft,
  keepModerationDraft,
  logModerationView,
  moderateAudit,
  moderationItems,
  askedWhenInWords,
  liveModeratorQuestions,
  moderatorAnswersAsTyped,
  moderatorFields,
  moderatorQuestionsAsked,
  openModeration,
  returnAudit,
  type Moderation,
} from './moderation.ts';
import { auditIdParam, postedVersion } from '../http.ts';

/**
 * The moderation page: the auditor's grades and evidence beside the moderator's own, a form to
 * moderate and one to return the audit. Only the audit's moderator (or a QA lead) while the
 * audit is in moderation; the service checks it on every call.
 */

type Body = Record<string, unknown>;


const STALE = 'Someone else has changed this audit since you opened it. Your text is kept below: check the audit as it is now, then send again';

type PageState = { values: Body; errors: FieldError[]; form?: 'moderate' | 'return'; status?: number; addRows?: number; kept?: boolean };

export async function moderationRoutes(app: FastifyInstance, { db }: AppDependencies) {
  const actorOf = (request: FastifyRequest) => ({ principal: request.principal!, ipAddress: request.ip, at: request.at });

  app.get('/audits/:id/moderate', { config: { access: 'audits.view' } }, async (request, reply) => {
    const moderation = await openModeration(db, request.principal!, auditIdParam(request), request.today);
    if (moderation.audit.status !== 'in_moderation') return reply.redirect(`/audits/${moderation.audit.id}`, 303);
    await logModerationView(db, actorOf(request), moderation);
    const query = request.query as { add?: string; kept?: string };
    const addRows = z.coerce.number().int().min(0).max(20).catch(0).parse(query.add);
    // What the moderator typed and has not yet sent comes back as typed, with any problem in its form.
    const draft = await findModerationDraft(db, moderation);
    if (draft) return render(reply, moderation, { values: draft, errors: draftProblems(moderation, draft), addRows, kept: query.kept === '1' });
    return render(reply, moderation, { values: { ...auditorGrades(moderation), ...moderatorFields(moderation.moderatorsPart) }, errors: [], addRows });
  });

  app.post('/audits/:id/moderate', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    // Autosave (the audit form's script, as the moderator answers): what was typed is kept, and
    // the page is told which of the tool's questions those answers ask.
    if (body._autosave === '1') {
      const moderation = await openModeration(db, request.principal!, id, request.today);
      if (moderation.audit.status !== 'in_moderation' || postedVersion(body) !== moderation.version) {
        return reply.code(409).header('Cache-Control', 'no-store').send({ status: 'stale', version: moderation.version });
      }
      await keepModerationDraft(db, actorOf(request), moderation, body, 'moderation kept as typed, not yet sent');
      const asked = liveModeratorQuestions(moderation.moderatorsPart, moderatorAnswersAsTyped(moderation.moderatorsPart, body));
      return reply.header('Cache-Control', 'no-store').send({ status: 'saved', version: moderation.version, asked });
    }
    // Adding a row, or leaving to finish later, keeps what was typed without sending it.
    if (body._action === 'add-row' || body._action === 'later') {
      const moderation = await openModeration(db, request.principal!, id, request.today);
      if (moderation.audit.status !== 'in_moderation') return reply.redirect(`/audits/${id}`, 303);
      await keepModerationDraft(db, actorOf(request), moderation, body);
      return reply.redirect(body._action === 'add-row' ? `/audits/${id}/moderate?add=1#rows` : `/audits/${id}/moderate?kept=1`, 303);
    }
    const outcome = await moderateAudit(db, actorOf(request), id, body, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?moderated=1`, 303);
    const moderation = await openModeration(db, request.principal!, id, request.today);
    if (outcome.reason === 'stale') return render(reply, moderation, { values: body, errors: [{ field: 'moderate', message: STALE }], form: 'moderate', status: 409 });
    // Refused: what was typed is kept, as the audit form keeps a page it could not save.
    await keepModerationDraft(db, actorOf(request), moderation, body);
    return render(reply, moderation, { values: body, errors: outcome.errors, form: 'moderate', status: 400 });
  });

  app.post('/audits/:id/moderate/return', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await returnAudit(db, actorOf(request), id, body, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?returned=1`, 303);
    const moderation = await openModeration(db, request.principal!, id, request.today);
    if (outcome.reason === 'stale') return render(reply, moderation, { values: body, errors: [{ field: 'return', message: STALE }], form: 'return', status: 409 });
    return render(reply, moderation, { values: body, errors: outcome.errors, form: 'return', status: 400 });
  });

  /** The form as it opens: every grade prefilled with the auditor's. */
  function auditorGrades(moderation: Moderation): Body {
    return Object.fromEntries(moderationItems(moderation).map((entry) => [`grade-${entry.key}`, entry.auditorGrade]));
  }

  /** A draft's answers that are not in a form the tool takes ("ASAP" for a date), shown beside their fields when it opens again. */
  function draftProblems(moderation: Moderation, draft: Body): FieldError[] {
    const part = moderation.moderatorsPart;
    return part.sections.flatMap(({ section }) => parseSection(part.tool, section, 'moderator', draft, part.context).errors);
  }

  /**
   * The tool's questions for the moderator, section by section, as the audit form draws them:
   * those the answers on the page ask, and those another of the moderator's answers decides
   * (live), with their condition in words for the page without JavaScript.
   */
  function moderatorSectionModels(moderation: Moderation, values: Body, errors: FieldError[], addRows: number) {
    const part = moderation.moderatorsPart;
    const form = { tool: part.tool, staffOptions: part.staffOptions, child: part.child };
    const asked = moderatorQuestionsAsked(part, moderatorAnswersAsTyped(part, values));
    return part.sections.map(({ section, questions }) => ({
      key: section.key,
      title: section.title,
      guidance: section.guidance,
      prompts: section.prompts ?? [],
      fields: questions
        .filter(({ spec }) => asked.get(spec.key)?.asked || asked.get(spec.key)?.live)
        .map((question) => {
          const { spec } = question;
          const model = spec.kind === 'repeating' ? repeatingModel(form, spec, values, errors, addRows, 'moderator') : fieldModel(form, spec, spec.key, values, errors, { section });
          const state = asked.get(spec.key)!;
          if (state.live) {
            // A question with a problem to put right stays in view.
            model.live = { asked: state.asked || model.error !== undefined };
            model.hint = [askedWhenInWords(part, question), model.hint].filter(Boolean).join(' ');
          }
          return model;
        }),
    }));
  }

  function render(reply: FastifyReply, moderation: Moderation, state: PageState) {
    const errorOf = Object.fromEntries(state.errors.map((error) => [error.field, { text: error.message }]));
    // Moderating and returning are two forms on one page: each keeps only its own text.
    const values = state.form === 'return' ? { ...auditorGrades(moderation), ...moderatorFields(moderation.moderatorsPart) } : state.values;
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
      moderatorSections: moderatorSectionModels(moderation, values, state.form === 'return' ? [] : state.errors, state.addRows ?? 0),
      kept: state.kept ?? false,
      changes: state.form === 'return' && typeof state.values.changes === 'string' ? state.values.changes : '',
    });
  }
}
