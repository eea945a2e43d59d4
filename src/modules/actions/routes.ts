import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import type { Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { invalid, notFound, type FieldError } from '../../platform/errors.ts';
import { paginationLinks, queryString } from '../../platform/views.ts';
import { topLevelErrors } from '../audits/tracker.ts';
import { actionsCsv, actionsXlsx } from './export.ts';
import { ACTION_FILTER_STATUSES } from './queries.ts';
import {
  ACTION_STATUS_LABELS,
  ACTION_STATUS_TAG_CLASSES,
  ACTIONS_PAGE_SIZE,
  actionFilterSchema,
  REPORT_ACTION_FILTER_KEYS,
  actionSearchParams,
  describeActionFilters,
  FILTER_STATUS_LABELS,
  findAction,
  listActionFilterOptions,
  listActions,
  listMyActions,
  markActionDone,
  mayMarkDone,
  mayVerify,
  parseActionFilters,
  STALE_ACTION_MESSAGE,
  verifyAction,
  type ActionFilters,
  type ActionView,
} from './service.ts';
import { ukDateAt } from '../../platform/clock.ts';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';


const pageNumber = z.coerce.number().int().min(1).max(1_000_000).catch(1);

type DetailState = { status?: number; errors?: FieldError[]; values?: { evidence?: string; note?: string }; stale?: boolean; flash?: string };

export async function actionRoutes(app: FastifyInstance, deps: AppDependencies) {
  const { db } = deps;

  app.get('/my-actions', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const rows = await listMyActions(db, principal, request.today);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'my_actions', summary: `${rows.length} actions as owner` });
    return reply.page('actions/views/my-actions.njk', {
      hasStaffRecord: Boolean(principal.staffId),
      rows,
      openCount: rows.filter((row) => row.status === 'open').length,
      overdueCount: rows.filter((row) => row.overdue).length,
      statusLabels: ACTION_STATUS_LABELS,
      statusTagClasses: ACTION_STATUS_TAG_CLASSES,
    });
  });

  app.get('/actions', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const query = request.query as Record<string, unknown>;
    const { filters, errors } = parseActionFilters(query);
    const page = pageNumber.parse(query.page);
    const { rows, total } = await listActions(db, principal, filters, { page, pageSize: ACTIONS_PAGE_SIZE }, request.today);
    const pages = Math.max(1, Math.ceil(total / ACTIONS_PAGE_SIZE));
    if (page > pages) return reply.redirect(`/actions${queryString(withPage(actionSearchParams(filters), pages))}`, 303);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, {
      action: 'view',
      recordType: 'actions',
      summary: `page ${page}: ${rows.length} of ${total} actions; ${describeActionFilters(filters)}`,
    });
    const options = await listActionFilterOptions(db, principal);
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    return reply.code(errors.length ? 400 : 200).page('actions/views/actions.njk', {
      rows,
      total,
      firstShown: (page - 1) * ACTIONS_PAGE_SIZE + 1,
      lastShown: (page - 1) * ACTIONS_PAGE_SIZE + rows.length,
      filters,
      errors,
      values: { dueFrom: text(query.dueFrom), dueTo: text(query.dueTo) },
      options,
      statusOptions: ACTION_FILTER_STATUSES.map((status) => ({ value: status, text: FILTER_STATUS_LABELS[status] })),
      statusLabels: ACTION_STATUS_LABELS,
      statusTagClasses: ACTION_STATUS_TAG_CLASSES,
      exportQuery: queryString(actionSearchParams(filters)),
      clearHref: hasFilters(filters) ? '/actions' : undefined,
      reportFilterInputs: REPORT_ACTION_FILTER_KEYS.filter((key) => filters[key]).map((key) => ({ name: key, value: filters[key], label: key === 'service' || key === 'tool' || key === 'ownUnits' ? REPORT_ACTION_FILTER_LABELS[key] : `${REPORT_ACTION_FILTER_LABELS[key]} ${filters[key]}` })),
      pagination: paginationLinks('/actions', actionSearchParams(filters), page, pages),
    });
  });

  app.get('/actions/export.csv', { config: { access: 'audits.view' } }, async (request, reply) => {
    const rows = await exportRows(request.principal!, request.ip, request.at, request.query, 'CSV');
    return download(reply, request.today, 'csv', 'text/csv; charset=utf-8').send(actionsCsv(rows));
  });

  app.get('/actions/export.xlsx', { config: { access: 'audits.view' } }, async (request, reply) => {
    const rows = await exportRows(request.principal!, request.ip, request.at, request.query, 'XLSX');
    return download(reply, request.today, 'xlsx', XLSX_TYPE).send(actionsXlsx(rows));
  });

  app.get('/actions/:id', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const action = await findAction(db, principal, (request.params as { id: string }).id, request.today);
    if (!action) throw notFound('Action');
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'action', recordId: action.id, childId: action.childId });
    const changed = (request.query as { changed?: string }).changed;
    const flash = changed === 'done' ? 'Action marked as done' : changed === 'verified' ? 'Action verified' : undefined;
    return renderAction(reply, principal, action, { flash });
  });

  app.post('/actions/:id/done', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const outcome = await markActionDone(db, { principal, ipAddress: request.ip, at: request.at }, (request.params as { id: string }).id, body);
    if (outcome.ok) return reply.redirect(`/actions/${outcome.action.id}?changed=done`, 303);
    const values = { evidence: typeof body.evidence === 'string' ? body.evidence : undefined };
    if (outcome.reason === 'stale') return renderAction(reply, principal, outcome.action, { status: 409, stale: true, values });
    const action = (await findAction(db, principal, (request.params as { id: string }).id, request.today))!;
    return renderAction(reply, principal, action, { status: 400, errors: visible(outcome.errors, 'evidence'), values });
  });

  app.post('/actions/:id/verify', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const outcome = await verifyAction(db, { principal, ipAddress: request.ip, at: request.at }, (request.params as { id: string }).id, body);
    if (outcome.ok) return reply.redirect(`/actions/${outcome.action.id}?changed=verified`, 303);
    const values = { note: typeof body.note === 'string' ? body.note : undefined };
    if (outcome.reason === 'stale') return renderAction(reply, principal, outcome.action, { status: 409, stale: true, values });
    const action = (await findAction(db, principal, (request.params as { id: string }).id, request.today))!;
    return renderAction(reply, principal, action, { status: 400, errors: visible(outcome.errors, 'note'), values });
  });

  function renderAction(reply: FastifyReply, principal: Principal, action: ActionView, state: DetailState) {
    return reply.code(state.status ?? 200).page('actions/views/action.njk', {
      action,
      canMarkDone: mayMarkDone(principal, action),
      canVerify: mayVerify(principal, action),
      isOwner: Boolean(principal.staffId) && principal.staffId === action.ownerId,
      statusLabels: ACTION_STATUS_LABELS,
      statusTagClasses: ACTION_STATUS_TAG_CLASSES,
      errors: state.errors ?? [],
      values: state.values ?? {},
      staleMessage: state.stale ? STALE_ACTION_MESSAGE : undefined,
      flash: state.flash,
    });
  }

  /** Exports read exactly what the list would, without paging, and each one is logged. */
  async function exportRows(principal: Principal, ipAddress: string, at: Date, query: unknown, format: string) {
    const parsed = actionFilterSchema.safeParse(query);
    if (!parsed.success) {
      const problems = topLevelErrors(parsed.error);
      throw invalid(`Check the filters on the list of actions and try again. ${problems.map((problem) => problem.message).join('. ')}.`, problems);
    }
    const { rows } = await listActions(db, principal, parsed.data, null, ukDateAt(at));
    await logActivity(db, { principal, ipAddress, at }, { action: 'export', recordType: 'actions', summary: `${format}: ${rows.length} actions; ${describeActionFilters(parsed.data)}` });
    return rows;
  }
}

const REPORT_ACTION_FILTER_LABELS: Record<(typeof REPORT_ACTION_FILTER_KEYS)[number], string> = {
  service: 'the service chosen in the report',
  tool: 'the audit tool chosen in the report',
  createdFrom: 'agreed from',
  createdTo: 'agreed to',
  doneFrom: 'done from',
  doneTo: 'done to',
  verifiedFrom: 'verified from',
  verifiedTo: 'verified to',
  doneOnTime: 'done by its due date:',
  ownUnits: 'the audits of your services and teams',
};

/** The version field is hidden: its problem is told as a general one. */
/** A problem with the hidden version is shown on the form's one field, so its summary link leads somewhere. */
function visible(errors: FieldError[], field: 'evidence' | 'note'): FieldError[] {
  return errors.map((error) => (error.field === '_version' ? { field, message: error.message } : error));
}

function withPage(params: URLSearchParams, page: number): URLSearchParams {
  if (page > 1) params.set('page', String(page));
  return params;
}

function hasFilters(filters: ActionFilters): boolean {
  return actionSearchParams(filters).size > 0;
}

/** A file named with the UK date it was made on. */
function download(reply: FastifyReply, today: string, extension: string, contentType: string) {
  return reply
    .header('Content-Type', contentType)
    .header('Content-Disposition', `attachment; filename="actions-${today}.${extension}"`)
    .header('Cache-Control', 'no-store');
}
