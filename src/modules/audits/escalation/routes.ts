import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDependencies } from '../../../platform/http/types.ts';
import type { FieldError } from '../../../platform/errors.ts';
import { acknowledgeAlert } from './alerts.ts';
import { BLANK_ROWS, caseDirectionInput, caseDirectionRecorded, logCaseDirectionView, openCaseDirection, recordCaseDirection, type ActionRowInput, type CaseDirectionPage } from './case-direction.ts';
import { allocateReAudit, reAuditAllocationFor, type ReAuditAllocationForm } from './re-audit.ts';
import { ACTION_STATUS_LABELS } from '../../actions/service.ts';
import { recordCaseDirectionReview, REVIEW_NOTES_MAX, reviewNotesInput, type CaseDirectionReviewPage } from './review.ts';
import { auditIdParam } from '../http.ts';

/**
 * Inadequate escalation: acknowledging an alert, the service manager's case direction and its
 * review, and the QA coordinator's allocation of a re-audit the rule could not allocate. Who may do each is
 * checked by the service on every call (an existing permission opens the route).
 */

type Body = Record<string, unknown>;


const errorState = (errors: FieldError[]) => ({
  errorList: errors.map((error) => ({ text: error.message, href: `#${error.field}` })),
  errorOf: Object.fromEntries(errors.map((error) => [error.field, { text: error.message }])),
});

const emptyRow = (index: number): ActionRowInput => ({ index, text: '', owner: '', day: '', month: '', year: '' });

/** The rows as typed, and blank ones after them up to the form's minimum (always at least one spare). */
function formRows(typed: ActionRowInput[]): ActionRowInput[] {
  const rows = [...typed];
  let next = rows.length ? Math.max(...rows.map((row) => row.index)) + 1 : 0;
  const filled = rows.filter((row) => [row.text, row.owner, row.day, row.month, row.year].some((part) => part.trim() !== '')).length;
  while (rows.length < Math.max(BLANK_ROWS, filled + 1)) rows.push(emptyRow(next++));
  return rows;
}

export async function escalationRoutes(app: FastifyInstance, { db }: AppDependencies) {
  const actorOf = (request: FastifyRequest) => ({ principal: request.principal!, ipAddress: request.ip, at: request.at });

  app.post('/audits/:id/alerts/acknowledge', { config: { access: 'audits.view' } }, async (request, reply) => {
    const id = auditIdParam(request);
    await acknowledgeAlert(db, actorOf(request), id);
    return reply.redirect(`/audits/${id}#escalation`, 303);
  });

  app.get('/audits/:id/case-direction', { config: { access: 'audits.view' } }, async (request, reply) => {
    const id = auditIdParam(request);
    // Once recorded, the direction is on the audit page: the alert e-mail's link leads there.
    if (await caseDirectionRecorded(db, request.principal!, id)) return reply.redirect(`/audits/${id}#escalation`, 303);
    const page = await openCaseDirection(db, request.principal!, id, request.today);
    await logCaseDirectionView(db, actorOf(request), page);
    return renderCaseDirection(reply, page, {}, []);
  });

  app.post('/audits/:id/case-direction', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await recordCaseDirection(db, actorOf(request), id, body);
    if (outcome.ok) return reply.redirect(`/audits/${id}#escalation`, 303);
    return renderCaseDirection(reply.code(400), await openCaseDirection(db, request.principal!, id, request.today), body, outcome.errors);
  });

  // The review form is on the audit page; it comes back on a page of its own only to show what to put right.
  app.post('/audits/:id/case-direction/review', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await recordCaseDirectionReview(db, actorOf(request), id, body);
    if (outcome.ok) return reply.redirect(`/audits/${id}#escalation`, 303);
    return renderReview(reply.code(400), outcome.page, reviewNotesInput(body), outcome.errors);
  });

  app.get('/audits/:id/re-audit', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const id = auditIdParam(request);
    const form = await reAuditAllocationFor(db, request.principal!, id, request.today);
    if (!form) return reply.redirect(`/audits/${id}`, 303);
    return renderReAudit(reply, form, '', []);
  });

  app.post('/audits/:id/re-audit', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await allocateReAudit(db, actorOf(request), id, body);
    if (outcome.ok) return reply.redirect(`/audits/${outcome.reAuditId}`, 303);
    const form = outcome.reason === 'invalid' ? await reAuditAllocationFor(db, request.principal!, id, request.today) : null;
    if (!form || outcome.reason !== 'invalid') return reply.redirect(`/audits/${id}`, 303);
    return renderReAudit(reply.code(400), form, typeof body.auditorId === 'string' ? body.auditorId : '', outcome.errors);
  });

  function renderCaseDirection(reply: FastifyReply, page: CaseDirectionPage, body: Body, errors: FieldError[]) {
    const input = caseDirectionInput(body);
    return reply.page('audits/escalation/views/case-direction.njk', {
      audit: page.audit,
      reviewDueOn: page.reviewDueOn,
      staffOptions: page.staffOptions,
      direction: input.direction,
      rows: formRows(input.rows),
      ...errorState(errors),
    });
  }

  function renderReview(reply: FastifyReply, page: CaseDirectionReviewPage, notes: string, errors: FieldError[]) {
    return reply.page('audits/escalation/views/case-direction-review.njk', {
      audit: page.audit,
      direction: page.direction,
      reviewForm: { auditId: page.audit.id, actions: page.actions.map((action) => ({ ...action, statusLabel: ACTION_STATUS_LABELS[action.status] })), notes, maxLength: REVIEW_NOTES_MAX },
      errors,
    });
  }

  function renderReAudit(reply: FastifyReply, form: ReAuditAllocationForm, chosen: string, errors: FieldError[]) {
    return reply.page('audits/escalation/views/re-audit.njk', { audit: form.audit, auditors: form.auditors, dueOn: form.dueOn, auditorId: chosen, ...errorState(errors) });
  }
}
