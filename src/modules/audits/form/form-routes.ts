import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../../platform/http/types.ts';
import { notFound, type FieldError } from '../../../platform/errors.ts';
import { sectionApplies } from '../../tools/judgements.ts';
import { DETAILS_PAGE, findSection, pageFields, parsePage, type RawFields } from './answers.ts';
import {
  feedbackToFollowUp,
  findDraft,
  keepDraft,
  formPages,
  isEditable,
  limitsOnPage,
  liveQuestionsOnPage,
  questionsAsked,
  logFormView,
  missingOnPage,
  openForm,
  pageProblems,
  pageStarted,
  submissionProblems,
  prefilledAnswers,
  saveSection,
  submitAudit,
  type AuditForm,
  type FormProblem,
} from './form.ts';
import { pageModel, pageSummary } from './view.ts';
import { reAuditContext } from '../escalation/panel.ts';
import { auditIdParam, postedVersion } from '../http.ts';
import { isOverdue } from '../lifecycle.ts';
import { latestReturn, type ReturnRequest } from '../transitions.ts';

/**
 * The audit form, page by page: a task list, one page for the audit's details and one per
 * section, check your answers, then submit. Works fully without JavaScript; with it, a page is
 * also saved while typing pauses (the same POST, answered in JSON). Completing is decided by
 * being the audit's auditor, which the service checks on every call.
 */


export function pageHref(id: string, page: string): string {
  return page === DETAILS_PAGE ? `/audits/${id}/form/details` : `/audits/${id}/form/sections/${page}`;
}

/** How many blank rows to add to a table (`?add=`), made once. */
const ADD_ROWS = z.coerce.number().int().min(0).max(20).catch(0);

type PageState = {
  values: Record<string, unknown>;
  errors: FieldError[];
  status?: number;
  stale?: Record<string, unknown>;
  version?: number;
  addRows?: number;
  /** The stage's deadline and a returned audit's request (stageContext), shown above the page. */
  stage?: { deadline: { dueOn: string; overdue: boolean; returned: boolean }; returnRequest: ReturnRequest | null };
};

export async function auditFormRoutes(app: FastifyInstance, { db }: AppDependencies) {
  const actorOf = (request: FastifyRequest) => ({ principal: request.principal!, ipAddress: request.ip, at: request.at });

  /** The form for its auditor; once submitted it is read on the audit's own page. */
  async function editableForm(request: FastifyRequest, reply: FastifyReply): Promise<AuditForm | null> {
    const form = await openForm(db, request.principal!, auditIdParam(request), request.today);
    if (isEditable(form)) return form;
    await reply.redirect(`/audits/${form.audit.id}`, 303);
    return null;
  }

  /** Saved answers, with the header filled in from the register until the audit is started. */
  async function shownAnswers(form: AuditForm) {
    return form.audit.status === 'allocated' ? { ...(await prefilledAnswers(db, form)), ...form.audit.answers } : form.audit.answers;
  }

  /**
   * Where the auditor stands, on the task list and every page it names: the deadline of the
   * stage the audit is in (a returned audit's new one, not the first due date), and for a
   * returned audit what the moderator asked to change.
   */
  async function stageContext(form: AuditForm, request: FastifyRequest) {
    const today = request.today;
    const dueOn = form.audit.stageDueOn ?? form.audit.dueOn;
    return {
      deadline: { dueOn, overdue: isOverdue(dueOn, today), returned: form.audit.status === 'returned' },
      returnRequest: form.audit.status === 'returned' ? await latestReturn(db, request.principal!.organisationId, form.audit.id) : null,
    };
  }

  app.get('/audits/:id/form', { config: { access: 'audits.view' } }, async (request, reply) => {
    const form = await editableForm(request, reply);
    if (!form) return reply;
    await logFormView(db, actorOf(request), form, 'task list');
    const answers = await shownAnswers(form);
    const tasks = formPages(form.tool).map((page) => {
      const section = findSection(form.tool, page);
      const applies = !section || sectionApplies(form.tool, page, answers, form.child);
      const started = pageStarted(form, page, form.audit.answers);
      const done = started && missingOnPage(form, page, answers).length === 0;
      const status = !applies ? 'Does not apply' : done ? 'Completed' : started ? 'In progress' : 'Not yet started';
      return { page, title: section ? section.title : 'Audit details', href: applies ? pageHref(form.audit.id, page) : undefined, status, done: done || !applies };
    });
    return reply.page('audits/form/views/task-list.njk', {
      form,
      tasks,
      completed: tasks.filter((task) => task.done).length,
      checkHref: `/audits/${form.audit.id}/form/check`,
      reAuditContext: await reAuditContext(db, request.principal!, form.audit.id),
      ...(await stageContext(form, request)),
    });
  });

  const pageRoutes = [
    { url: '/audits/:id/form/details', pageOf: () => DETAILS_PAGE },
    { url: '/audits/:id/form/sections/:section', pageOf: (request: FastifyRequest) => String((request.params as { section?: string }).section ?? '') },
  ];
  for (const { url, pageOf } of pageRoutes) {
    app.get(url, { config: { access: 'audits.view' } }, async (request, reply) => {
      const form = await editableForm(request, reply);
      if (!form) return reply;
      const page = knownPage(form, pageOf(request));
      const query = request.query as { add?: string; check?: string };
      const add = ADD_ROWS.parse(query.add);
      // The view logged, and what the page shows, asked at once.
      const [, answers, stage, draft] = await Promise.all([
        logFormView(db, actorOf(request), form, page),
        shownAnswers(form),
        stageContext(form, request),
        // What was typed here and could not be saved comes back as typed, with its problems.
        findDraft(db, form, page),
      ]);
      if (draft) return renderPage(reply, form, page, { values: draft, errors: parsePage(form.tool, page, draft, form.context).errors, addRows: add, stage });
      // Opened from a refused submission's list: what stops it is shown beside each field.
      const errors = query.check === '1' ? pageProblems(form, page, answers).map(({ field, message }) => ({ field, message })) : [];
      return renderPage(reply, form, page, { values: pageFields(form.tool, page, answers), errors, addRows: add, stage });
    });

    app.post(url, { config: { access: 'audits.view' } }, async (request, reply) => {
      const body = (request.body ?? {}) as RawFields;
      const id = auditIdParam(request);
      const page = pageOf(request);
      const autosave = body._autosave === '1';
      const outcome = await saveSection(db, actorOf(request), id, page, body, postedVersion(body));
      if (autosave) {
        if (outcome.ok) {
          // The limits the saved answers put on this page's grades, and which of its questions they
          // ask, shown as the auditor answers.
          const { form, answers } = outcome;
          return reply
            .header('Cache-Control', 'no-store')
            .send({ status: 'saved', version: outcome.version, limits: limitsOnPage(form, page, answers), asked: liveQuestionsOnPage(form, page, answers) });
        }
        if (outcome.reason === 'stale') return reply.code(409).send({ status: 'stale', version: outcome.version });
        return reply.code(422).send({ status: 'invalid', errors: outcome.errors });
      }
      const form = await openForm(db, request.principal!, id, request.today);
      if (!outcome.ok && outcome.reason === 'invalid') {
        await keepDraft(db, actorOf(request), form, page, body);
        return renderPage(reply, form, page, { values: body, errors: outcome.errors, status: 400, stage: await stageContext(form, request) });
      }
      if (!outcome.ok) {
        // Nothing is overwritten: the person's own text stays in the fields, the newer version beside it.
        return renderPage(reply, form, page, { values: body, errors: [], status: 409, stale: outcome.answers, version: outcome.version, stage: await stageContext(form, request) });
      }
      if (body._action === 'add-row') return reply.redirect(`${pageHref(id, page)}?add=1#rows`, 303);
      if (body._action === 'later') return reply.redirect(`/audits/${id}/form`, 303);
      const followUp = feedbackToFollowUp(outcome.form, page, outcome.form.audit.answers, outcome.answers);
      if (followUp.length) return reply.redirect(`${pageHref(id, page)}#respondent-${followUp[0]}`, 303);
      return reply.redirect(nextPage(form, page), 303);
    });
  }

  app.get('/audits/:id/form/check', { config: { access: 'audits.view' } }, async (request, reply) => {
    const form = await editableForm(request, reply);
    if (!form) return reply;
    await logFormView(db, actorOf(request), form, 'check your answers');
    // A refused submission comes back here by a redirect (so a reload never submits again),
    // and its list of what is missing is worked out afresh from what is saved.
    const query = request.query as { refused?: string };
    const stage = await stageContext(form, request);
    if (query.refused === 'stale') return renderCheck(reply, form, [{ page: '', field: 'submit', message: 'This audit has been changed since you opened this page: check the answers below, then submit again' }], stage);
    return renderCheck(reply, form, query.refused === '1' ? submissionProblems(form, form.audit.answers) : [], stage);
  });

  app.post('/audits/:id/form/submit', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as RawFields;
    const id = auditIdParam(request);
    const outcome = await submitAudit(db, actorOf(request), id, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?submitted=1`, 303);
    return reply.redirect(`/audits/${id}/form/check?refused=${outcome.reason === 'stale' ? 'stale' : '1'}`, 303);
  });

  function knownPage(form: AuditForm, page: string): string {
    if (page !== DETAILS_PAGE && !findSection(form.tool, page)) throw notFound('Section');
    return page;
  }

  /** The next page that applies after this one, or check your answers after the last. */
  function nextPage(form: AuditForm, page: string): string {
    const pages = formPages(form.tool);
    const next = pages.slice(pages.indexOf(page) + 1).find((candidate) => candidate === DETAILS_PAGE || sectionApplies(form.tool, candidate, form.audit.answers, form.child));
    return next ? pageHref(form.audit.id, next) : `/audits/${form.audit.id}/form/check`;
  }

  async function renderPage(reply: FastifyReply, form: AuditForm, page: string, state: PageState) {
    knownPage(form, page);
    const saved = await shownAnswers(form);
    const model = pageModel(form, page, state.values, state.errors, { saved, limits: limitsOnPage(form, page, saved), asked: questionsAsked(form, page, saved), addRows: state.addRows ?? 0 });
    return reply.code(state.status ?? 200).page('audits/form/views/page.njk', {
      form,
      page: model,
      action: pageHref(form.audit.id, page),
      version: state.version ?? form.version,
      errors: state.errors,
      stale: state.stale ? pageSummary(form, page, state.stale) : undefined,
      taskListHref: `/audits/${form.audit.id}/form`,
      ...(state.stage ?? {}),
    });
  }

  async function renderCheck(reply: FastifyReply, form: AuditForm, problems: FormProblem[], stage: PageState['stage']) {
    const answers = form.audit.answers;
    const pages = formPages(form.tool)
      .filter((page) => page === DETAILS_PAGE || sectionApplies(form.tool, page, answers, form.child))
      .map((page) => ({ title: findSection(form.tool, page)?.title ?? 'Audit details', href: pageHref(form.audit.id, page), rows: pageSummary(form, page, answers) }));
    const errorList = problems.map((problem) => ({ text: problem.message, href: problem.page ? `${pageHref(form.audit.id, problem.page)}?check=1#${problem.field}` : '#submit' }));
    return reply.page('audits/form/views/check.njk', { form, pages, errorList, version: form.version, submitAction: `/audits/${form.audit.id}/form/submit`, ...(stage ?? {}) });
  }
}
