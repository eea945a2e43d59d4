import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import type { Db } from '../../db/index.ts';
import { logActivity } from '../../platform/activity.ts';
import { paginationLinks } from '../../platform/views.ts';
import { invalid } from '../../platform/errors.ts';
import { CSV_BOM, csvLine } from '../audits/export.ts';
import { optionalDateField, topLevelErrors } from '../audits/tracker.ts';
import { activityBatch, countActivity, latestActivityId, listActivity, type ActivityFilters } from './queries.ts';

const PAGE_SIZE = 50;
const EXPORT_BATCH = 2_000;

/** The actions Assure records; the filter also accepts any other well-formed action from a link. */
const KNOWN_ACTIONS = ['view', 'create', 'update', 'delete', 'export', 'import', 'sign-in', 'sign-out', 'sign-in-failed', 'lock'];

const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalText = (max: number, message: string) => z.preprocess(blankToUndefined, z.string({ error: message }).trim().max(max, message).optional());

const activityFilterSchema = z
  .object({
    email: optionalText(254, 'E-mail address must be 254 characters or fewer'),
    action: z.preprocess(blankToUndefined, z.string({ error: 'Choose an action from the list' }).regex(/^[a-z][a-z_-]{0,39}$/, 'Choose an action from the list').optional()),
    recordType: optionalText(60, 'Record type must be 60 characters or fewer'),
    recordId: optionalText(100, 'Record ID must be 100 characters or fewer'),
    caseId: optionalText(100, 'Case ID must be 100 characters or fewer'),
    from: optionalDateField('From'),
    to: optionalDateField('To'),
  })
  .superRefine((filters, context) => {
    if (filters.from && filters.to && filters.to < filters.from) {
      context.addIssue({ code: 'custom', path: ['to'], message: 'To must be the same as or after from' });
    }
  });

const pageNumber = z.coerce.number().int().min(1).max(1_000_000).catch(1);

function searchParams(filters: ActivityFilters): URLSearchParams {
  const entries = Object.entries(filters).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '');
  return new URLSearchParams(entries);
}

function describe(filters: ActivityFilters): string {
  const text = searchParams(filters).toString();
  return text ? `filters ${decodeURIComponent(text)}` : 'no filters';
}

/**
 * The activity log, for administrators: who did what to which record, and from where.
 * Read-only: there is no route that changes an entry, and the database refuses it anyway.
 */
export async function activityRoutes(app: FastifyInstance, { db }: AppDependencies) {
  app.get('/activity', { config: { access: 'activity.view' } }, async (request, reply) => {
    const organisationId = request.principal!.organisationId;
    const query = request.query as Record<string, unknown>;
    const { filters, errors } = parseLenient(query);
    const page = pageNumber.parse(query.page);
    const total = await countActivity(db, organisationId, filters);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const entries = await listActivity(db, organisationId, filters, { offset: (Math.min(page, pages) - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    const shownPage = Math.min(page, pages);
    const exportQuery = searchParams(filters).toString();
    return reply.code(errors.length ? 400 : 200).page('activity/views/activity.njk', {
      entries: entries.map((entry) => ({ ...entry, recordHref: recordHref(entry.record_type, entry.record_id) })),
      total,
      firstShown: (shownPage - 1) * PAGE_SIZE + 1,
      lastShown: (shownPage - 1) * PAGE_SIZE + entries.length,
      filters,
      errors,
      values: rawValues(query),
      actionOptions: actionOptions(filters.action),
      exportQuery: exportQuery ? `?${exportQuery}` : '',
      selectedFilters: selectedFilterCategories(filters),
      pagination: paginationLinks('/activity', searchParams(filters), shownPage, pages),
    });
  });

  app.get('/activity/export.csv', { config: { access: 'activity.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const parsed = activityFilterSchema.safeParse(request.query);
    if (!parsed.success) {
      const problems = topLevelErrors(parsed.error);
      throw invalid(`Check the filters on the activity log and try again. ${problems.map((problem) => problem.message).join('. ')}.`, problems);
    }
    const filters = parsed.data;
    const upToId = await latestActivityId(db, principal.organisationId);
    const total = await countActivity(db, principal.organisationId, filters, upToId);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'export', recordType: 'activity_log', summary: `CSV: ${total} entries; ${describe(filters)}` });
    return reply
      .header('Content-Type', 'text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="activity-log-${request.today}.csv"`)
      .header('Cache-Control', 'no-store')
      .send(Readable.from(exportLines(db, principal.organisationId, filters, upToId)));
  });
}

/** The log as CSV lines, read in batches so a long log is never held in memory at once. */
async function* exportLines(db: Db, organisationId: string, filters: ActivityFilters, upToId: number) {
  yield CSV_BOM + csvLine(['When', 'Who', 'Name', 'Action', 'Case ID', 'Record type', 'Record ID', 'Summary', 'From address']);
  let beforeId: number | null = null;
  for (;;) {
    const batch = await activityBatch(db, organisationId, filters, { upToId, beforeId, limit: EXPORT_BATCH });
    if (batch.length === 0) return;
    yield batch.map((entry) => csvLine([new Date(entry.at).toISOString(), entry.actor, entry.actor_name, entry.action, entry.child_external_id, entry.record_type, entry.record_id, entry.summary, entry.ip_address])).join('');
    beforeId = Number(batch.at(-1)!.id);
  }
}

/** Where a record of the log is shown, for the records that have a page; null for the rest. */
const RECORD_PAGES: Record<string, string> = { child: '/children/', audit: '/audits/', action: '/actions/' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function recordHref(recordType: string, recordId: string | null): string | null {
  const page = RECORD_PAGES[recordType];
  return page && recordId && UUID.test(recordId) ? `${page}${recordId}` : null;
}

/** Fields in error are named and left out, so the rest of the filter still applies. */
function parseLenient(query: Record<string, unknown>) {
  const parsed = activityFilterSchema.safeParse(query);
  if (parsed.success) return { filters: parsed.data as ActivityFilters, errors: [] };
  const errors = topLevelErrors(parsed.error);
  const rest = Object.fromEntries(Object.entries(query).filter(([key]) => !errors.some((error) => error.field === key)));
  const retried = activityFilterSchema.safeParse(rest);
  return { filters: (retried.success ? retried.data : {}) as ActivityFilters, errors };
}

const FILTER_HEADINGS: Record<keyof ActivityFilters, string> = {
  email: 'User e-mail address',
  action: 'Action',
  recordType: 'Record type',
  recordId: 'Record ID',
  caseId: 'Case ID',
  from: 'From',
  to: 'To',
};

/** The MOJ filter's "selected filters": each tag links to the same log without it. */
function selectedFilterCategories(filters: ActivityFilters) {
  const keys = (Object.keys(FILTER_HEADINGS) as (keyof ActivityFilters)[]).filter((key) => filters[key]);
  if (!keys.length) return undefined;
  const categories = keys.map((key) => {
    const rest = searchParams({ ...filters, [key]: undefined }).toString();
    return { heading: { text: FILTER_HEADINGS[key] }, items: [{ text: filters[key]!, href: `/activity${rest ? `?${rest}` : ''}` }] };
  });
  return { heading: { text: 'Selected filters' }, clearLink: { text: 'Clear filters', href: '/activity' }, categories };
}

function rawValues(query: Record<string, unknown>) {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return { email: text(query.email), caseId: text(query.caseId), recordType: text(query.recordType), recordId: text(query.recordId), from: text(query.from), to: text(query.to) };
}

function actionOptions(current: string | undefined) {
  const actions = current && !KNOWN_ACTIONS.includes(current) ? [...KNOWN_ACTIONS, current] : KNOWN_ACTIONS;
  return actions.map((action) => ({ value: action, text: action }));
}
