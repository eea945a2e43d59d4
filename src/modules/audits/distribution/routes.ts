import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDependencies } from '../../../platform/http/types.ts';
import { z } from 'zod';
import { conflict, forbidden, notFound, type FieldError } from '../../../platform/errors.ts';
import { fieldModel } from '../form/view.ts';
import { GRADE_LABELS } from '../tracker.ts';
import { closeAudit, logClosingView, openClosing, type Closing } from './closing.ts';
import { distributeAudit, logDistributionView, openDistribution, type Distribution } from './distribution.ts';
import { feedbackFields, giveFeedback, logFeedbackView, openFeedback, type FeedbackForm } from './feedback.ts';
import { MAX_ROWS, postedRowCount, postedRows, postedSend, PROFESSIONAL_ROLES, rowField } from './recipients.ts';
import { auditFor, mayMoveByRole, RECIPIENT_ROLE_LABELS, recordSecureCopy } from './record.ts';
import { auditIdParam, postedVersion } from '../http.ts';

/**
 * Distribution, practitioner feedback and closing: three pages, each a form that works without
 * JavaScript. Who may use each (a QA role, the case holder) and in which status is checked by
 * the service on every call; someone who cannot see the audit gets "not found".
 */

type Body = Record<string, unknown>;

const text = (body: Body, name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');

const STALE = 'Someone else has changed this audit since you opened it. Your answers are kept below: check the audit as it is now, then send again';

type PageState = { values: Body; errors: FieldError[]; status?: number; rows?: number };

export async function distributionRoutes(app: FastifyInstance, { db }: AppDependencies) {
  const actorOf = (request: FastifyRequest) => ({ principal: request.principal!, ipAddress: request.ip, at: request.at });

  // ---- distribute ------------------------------------------------------------------------

  // A recipient without an Assure account gets no link: the QA coordinator sends them a copy
  // securely, outside Assure, and records here that it was sent.
  app.post('/audits/:id/recipients/:recipientId/secure-copy', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const { audit } = await auditFor(db, principal, auditIdParam(request));
    if (!mayMoveByRole(principal, 'moderated', 'distributed')) throw forbidden();
    const recipientId = z.uuid().safeParse((request.params as { recipientId?: string }).recipientId);
    if (!recipientId.success) throw notFound('Recipient');
    const recorded = await recordSecureCopy(db, actorOf(request), { auditId: audit.id, childId: audit.child.id, recipientId: recipientId.data });
    if (!recorded) throw conflict('This recipient is not waiting for a secure copy: it may already be recorded');
    return reply.redirect(`/audits/${audit.id}?secureCopy=1#distribution`, 303);
  });

  app.get('/audits/:id/distribute', { config: { access: 'audits.view' } }, async (request, reply) => {
    const distribution = await openDistribution(db, request.principal!, auditIdParam(request), request.today);
    if (distribution.audit.status !== 'moderated') return reply.redirect(`/audits/${distribution.audit.id}`, 303);
    await logDistributionView(db, actorOf(request), distribution.audit);
    return renderDistribution(reply, distribution, { values: { send: ['team_manager', 'case_holder'] }, errors: [] });
  });

  app.post('/audits/:id/distribute', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    if (body._action === 'add-row') {
      // Another row for another professional: nothing is sent or saved yet.
      const distribution = await openDistribution(db, request.principal!, id, request.today);
      if (distribution.audit.status !== 'moderated') return reply.redirect(`/audits/${id}`, 303);
      return renderDistribution(reply, distribution, { values: body, errors: [], rows: postedRowCount(body) + 1 });
    }
    const outcome = await distributeAudit(db, actorOf(request), id, body, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?distributed=1#distribution`, 303);
    const distribution = await openDistribution(db, request.principal!, id, request.today);
    if (outcome.reason === 'stale') return renderDistribution(reply, distribution, { values: body, errors: [{ field: 'send-audit', message: STALE }], status: 409 });
    return renderDistribution(reply, distribution, { values: body, errors: outcome.errors, status: 400 });
  });

  function renderDistribution(reply: FastifyReply, distribution: Distribution, state: PageState) {
    const { audit, choices } = distribution;
    const send = postedSend(state.values);
    const errorOf = (field: string) => {
      const found = state.errors.find((error) => error.field === field);
      return found ? { text: found.message } : undefined;
    };
    const own = [
      choices.teamManager && { value: 'team_manager', person: choices.teamManager, role: RECIPIENT_ROLE_LABELS.team_manager },
      choices.caseHolder && { value: 'case_holder', person: choices.caseHolder, role: RECIPIENT_ROLE_LABELS.case_holder },
    ].flatMap((entry) => (entry ? [entry] : []));
    const count = Math.min(MAX_ROWS, Math.max(state.rows ?? 0, postedRowCount(state.values)));
    const rows = postedRows(state.values, count).map((row, index) => ({
      number: index + 1,
      role: {
        id: rowField(index, 'role'),
        items: [{ value: '', text: 'Choose their role' }, ...PROFESSIONAL_ROLES.map((role) => ({ value: role, text: RECIPIENT_ROLE_LABELS[role] }))].map((item) => ({ ...item, selected: item.value === row.role })),
        error: errorOf(rowField(index, 'role')),
      },
      staff: {
        id: rowField(index, 'staff'),
        items: [{ value: '', text: 'Not a member of staff' }, ...distribution.staffList.map((member) => ({ value: member.id, text: `${member.name}, ${member.jobTitle}` }))].map((item) => ({ ...item, selected: item.value === row.staff })),
        error: errorOf(rowField(index, 'staff')),
      },
      name: { id: rowField(index, 'name'), value: row.name, error: errorOf(rowField(index, 'name')) },
      email: { id: rowField(index, 'email'), value: row.email, error: errorOf(rowField(index, 'email')) },
    }));
    return reply.code(state.status ?? 200).page('audits/distribution/views/distribute.njk', {
      audit,
      version: distribution.state.version,
      finalGrade: distribution.state.finalGrade ? GRADE_LABELS[distribution.state.finalGrade] : 'Not graded',
      sendItems: own.map((entry) => ({
        value: entry.value,
        text: `${entry.person.name}, ${entry.role.toLowerCase()}`,
        hint: { text: entry.person.email ? `E-mail: ${entry.person.email}` : 'No e-mail address on record: they can read the audit in Assure but will not be e-mailed' },
        checked: send.includes(entry.value),
      })),
      hasCaseHolder: choices.caseHolder !== null,
      hasTeamManager: choices.teamManager !== null,
      sendError: errorOf('send'),
      rows,
      canAddRow: count < MAX_ROWS,
      errors: state.errors,
    });
  }

  // ---- practitioner feedback -----------------------------------------------------------------

  app.get('/audits/:id/feedback', { config: { access: 'audits.view' } }, async (request, reply) => {
    const form = await openFeedback(db, request.principal!, auditIdParam(request), request.today);
    if (form.audit.status !== 'awaiting_feedback') return reply.redirect(`/audits/${form.audit.id}`, 303);
    await logFeedbackView(db, actorOf(request), form.audit);
    return renderFeedback(reply, form, { values: feedbackFields(form), errors: [] });
  });

  app.post('/audits/:id/feedback', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await giveFeedback(db, actorOf(request), id, body, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?feedback=1#distribution`, 303);
    const form = await openFeedback(db, request.principal!, id, request.today);
    if (outcome.reason === 'stale') return renderFeedback(reply, form, { values: body, errors: [{ field: 'send-feedback', message: STALE }], status: 409 });
    return renderFeedback(reply, form, { values: body, errors: outcome.errors, status: 400 });
  });

  function renderFeedback(reply: FastifyReply, form: FeedbackForm, state: PageState) {
    const fieldForm = { tool: form.tool, staffOptions: form.staffOptions };
    return reply.code(state.status ?? 200).page('audits/distribution/views/feedback.njk', {
      audit: form.audit,
      version: form.state.version,
      title: form.asked.title.replace(/^\d+\.\s*/, ''),
      guidance: form.asked.guidance,
      finalGrade: form.state.finalGrade ? GRADE_LABELS[form.state.finalGrade] : null,
      needsPlan: form.asked.planKey !== null,
      dueOn: form.state.stageDueOn,
      sentBefore: form.state.feedbackAt,
      fields: form.asked.questions.map((question) => fieldModel(fieldForm, question, question.key, state.values, state.errors)),
      errors: state.errors,
    });
  }

  // ---- closing -----------------------------------------------------------------------------

  app.get('/audits/:id/close', { config: { access: 'audits.view' } }, async (request, reply) => {
    const closing = await openClosing(db, request.principal!, auditIdParam(request));
    if (closing.audit.status !== 'awaiting_feedback') return reply.redirect(`/audits/${closing.audit.id}`, 303);
    await logClosingView(db, actorOf(request), closing.audit);
    return renderClosing(reply, closing, { values: {}, errors: [] });
  });

  app.post('/audits/:id/close', { config: { access: 'audits.view' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Body;
    const id = auditIdParam(request);
    const outcome = await closeAudit(db, actorOf(request), id, body, postedVersion(body));
    if (outcome.ok) return reply.redirect(`/audits/${id}?closed=1#distribution`, 303);
    const closing = await openClosing(db, request.principal!, id);
    if (outcome.reason === 'stale') return renderClosing(reply, closing, { values: body, errors: [{ field: 'close-audit', message: STALE }], status: 409 });
    return renderClosing(reply, closing, { values: body, errors: outcome.errors, status: 400 });
  });

  function renderClosing(reply: FastifyReply, closing: Closing, state: PageState) {
    return reply.code(state.status ?? 200).page('audits/distribution/views/close.njk', {
      audit: closing.audit,
      version: closing.state.version,
      finalGrade: closing.state.finalGrade ? GRADE_LABELS[closing.state.finalGrade] : 'Not graded',
      feedback: closing.feedback,
      feedbackBy: closing.state.feedbackBy,
      feedbackAt: closing.state.feedbackAt,
      comments: text(state.values, 'comments'),
      commentsError: state.errors.find((error) => error.field === 'comments'),
      errors: state.errors,
    });
  }
}
