import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import { dataScope } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import type { FieldError } from '../../platform/errors.ts';
import * as children from '../children/service.ts';
import { allocateAudit, allocationFormFor } from './allocation.ts';
import { AUDIT_LIST_LABELS } from './tracker.ts';
import { LEGAL_STATUS_LABELS } from '../children/extract.ts';

/** How many children a register search shows; a longer list asks for a narrower search. */
const SEARCH_LIMIT = 25;

type Choices = { childId?: string | undefined; toolId?: string | undefined; auditorId?: string | undefined; confirmNotForChild?: string | undefined };

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const searchField = z.string().trim().max(100, 'Search must be 100 characters or fewer');

/**
 * Allocation pages: search the child register and pick a child, then choose the tool and the
 * auditor. Works without JavaScript: the search is a GET form, the choice a link.
 */
export async function allocationRoutes(app: FastifyInstance, { db }: AppDependencies) {
  app.get('/audits/allocate', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const childId = text(query.childId);
    if (childId) return formPage(request, reply, { childId, toolId: text(query.toolId), auditorId: text(query.auditorId) }, []);
    return searchPage(request, reply, text(query.search) ?? '', []);
  });

  app.post('/audits/allocate', { config: { access: 'audits.allocate' } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const choices: Choices = { childId: text(body.childId), toolId: text(body.toolId), auditorId: text(body.auditorId), confirmNotForChild: text(body.confirmNotForChild) };
    const outcome = await allocateAudit(db, { principal: request.principal!, ipAddress: request.ip, at: request.at }, choices);
    // Land on the new audit, where its banner says what was done.
    if (outcome.ok) return reply.redirect(`/audits/${outcome.audit.id}?allocated=1`, 303);
    return formPage(request, reply, choices, outcome.errors, 400);
  });

  async function searchPage(request: FastifyRequest, reply: FastifyReply, search: string, errors: FieldError[], status = 200) {
    const principal = request.principal!;
    const parsed = searchField.safeParse(search);
    const allErrors = parsed.success ? errors : [...errors, { field: 'search', message: parsed.error.issues[0]!.message }];
    const term = parsed.success ? parsed.data : '';
    let results: { rows: Awaited<ReturnType<typeof children.listChildren>>['rows']; total: number } | null = null;
    if (term) {
      results = await children.listChildren(db, dataScope(principal, 'audits.allocate'), { search: term, status: 'open' }, { offset: 0, limit: SEARCH_LIMIT });
      await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'child_register', summary: `allocation search: ${results.rows.length} of ${results.total} open children` });
    }
    return reply.code(allErrors.length ? Math.max(status, 400) : status).page('audits/views/allocate-search.njk', {
      search,
      errors: allErrors,
      results,
      limit: SEARCH_LIMIT,
    });
  }

  /** The form for one child; a child who cannot be allocated sends the person back to the search, told why. */
  async function formPage(request: FastifyRequest, reply: FastifyReply, choices: Choices, errors: FieldError[], status = 200) {
    const principal = request.principal!;
    const form = choices.childId && z.uuid().safeParse(choices.childId).success ? await allocationFormFor(db, principal, choices.childId, { today: request.today }) : null;
    if (!form || !form.ok) {
      const childError = form?.errors[0] ?? errors.find((error) => error.field === 'childId') ?? { field: 'childId', message: 'Choose a child from the register' };
      return searchPage(request, reply, '', [{ field: 'search', message: childError.message }], 400);
    }
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'child', recordId: form.form.child.id, childId: form.form.child.id, summary: 'allocation form' });
    return reply.code(status).page('audits/views/allocate-form.njk', {
      form: form.form,
      values: { toolId: choices.toolId || form.form.defaultToolId || '', auditorId: choices.auditorId ?? '', confirmNotForChild: choices.confirmNotForChild ?? '' },
      errors,
      workingDays: form.form.workingDays,
      legalStatusLabels: LEGAL_STATUS_LABELS,
      ...AUDIT_LIST_LABELS,
    });
  }
}
