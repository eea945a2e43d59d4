import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AppDependencies } from '../../platform/http/types.ts';
import type { AuditStatus } from '../../db/types.ts';
import type { Db } from '../../db/index.ts';
import { can, type Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { formatDate, paginationLinks, queryString } from '../../platform/views.ts';
import { ACTION_STATUS_LABELS, ACTION_STATUS_TAG_CLASSES, listAuditActions } from '../actions/service.ts';
import { allocationRoutes } from './allocation-routes.ts';
import { auditLifecycle, findAudit, listMyAudits, type AuditRecord } from './audit.ts';
import { auditDocumentRoutes } from './document/routes.ts';
import { auditFormRoutes } from './form/form-routes.ts';
import { mayModerate } from './moderation/moderation.ts';
import { moderationRoutes } from './moderation/routes.ts';
import { distributionPanel } from './distribution/panel.ts';
import { distributionRoutes } from './distribution/routes.ts';
import { escalationPanel } from './escalation/panel.ts';
import { escalationRoutes } from './escalation/routes.ts';
import { EDITABLE_STATUSES } from './form/form.ts';
import { FEEDBACK_GIVEN_LABEL } from './lifecycle.ts';
import { trackerCsv, trackerXlsx } from './export.ts';
import type { TrackerOption } from './queries.ts';
import {
  AUDIT_STATUS_LABELS,
  AUDIT_STATUSES,
  countVisibleAudits,
  DEFAULT_FILTERS,
  describeFilters,
  GRADE_LABELS,
  GRADES,
  listTrackerAudits,
  listTrackerFilterOptions,
  parseTrackerFilters,
  REPORT_FILTER_KEYS,
  AUDIT_STATUS_TAG_CLASSES,
  STAGE_LABELS,
  topLevelErrors,
  TRACKER_PAGE_SIZE,
  trackerFilterSchema,
  trackerSearchParams,
  type SortKey,
  type TrackerFilters,
} from './tracker.ts';
import { ukDateAt } from '../../platform/clock.ts';
import { LEGAL_STATUS_LABELS } from '../children/extract.ts';
import { domainLabel } from '../tools/domains.ts';
import { isDomain } from './domain-judgements.ts';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';


/** The tracker's columns, most needed first; the rest of an audit is on its page and in the downloads. */
const COLUMNS: { key: SortKey; text: string; numeric?: boolean }[] = [
  { key: 'reference', text: 'Ref', numeric: true },
  { key: 'child', text: 'Child' },
  { key: 'status', text: 'Status' },
  { key: 'due', text: 'Due' },
  { key: 'auditor', text: 'Auditor' },
  { key: 'grade', text: 'Grade' },
  { key: 'tool', text: 'Audit tool' },
  { key: 'team', text: 'Team' },
  { key: 'allocated', text: 'Allocated' },
];

const AUDIT_ID = z.uuid();
const pageNumber = z.coerce.number().int().min(1).max(1_000_000).catch(1);

export async function auditRoutes(app: FastifyInstance, deps: AppDependencies) {
  const { db } = deps;
  await allocationRoutes(app, deps);
  await auditDocumentRoutes(app, deps);
  await auditFormRoutes(app, deps);
  await moderationRoutes(app, deps);
  await distributionRoutes(app, deps);
  await escalationRoutes(app, deps);

  app.get('/audits', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const query = request.query as Record<string, unknown>;
    const { filters, errors } = parseTrackerFilters(query);
    const page = pageNumber.parse(query.page);
    // The page of audits, the filters' choices and the names a filter shows, asked at once.
    const [{ rows, total }, options, staffNames] = await Promise.all([
      listTrackerAudits(db, principal, filters, { page, pageSize: TRACKER_PAGE_SIZE }, request.today),
      listTrackerFilterOptions(db, principal),
      staffNamesOf(db, principal.organisationId, [filters.auditor, filters.moderator]),
    ]);
    const pages = Math.max(1, Math.ceil(total / TRACKER_PAGE_SIZE));
    if (page > pages) return reply.redirect(hrefWith(filters, { page: pages }), 303);
    const visible = total > 0 || !hasFilters(filters) ? total : await countVisibleAudits(db, principal, request.today);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, {
      action: 'view',
      recordType: 'audit_tracker',
      summary: `page ${page}: ${rows.length} of ${total} audits; ${describeFilters(filters)}`,
    });
    return reply.code(errors.length ? 400 : 200).page('audits/views/tracker.njk', {
      canAllocate: can(principal, 'audits.allocate'),
      rows,
      total,
      anyAudits: visible > 0,
      firstShown: (page - 1) * TRACKER_PAGE_SIZE + 1,
      lastShown: (page - 1) * TRACKER_PAGE_SIZE + rows.length,
      filters,
      errors,
      values: rawValues(query),
      options,
      statusItems: AUDIT_STATUSES.map((status) => ({
        value: status,
        text: AUDIT_STATUS_LABELS[status],
        checked: filters.status.includes(status),
        ...(status === 'awaiting_feedback' ? { hint: { text: `Includes those marked ${FEEDBACK_GIVEN_LABEL}, waiting to be closed` } } : {}),
      })),
      gradeOptions: GRADES.map((grade) => ({ value: grade, text: GRADE_LABELS[grade] })),
      statusTagClasses: AUDIT_STATUS_TAG_CLASSES,
      stageLabels: STAGE_LABELS,
      gradeLabels: GRADE_LABELS,
      columns: sortColumns(filters),
      selectedFilters: selectedFilterCategories(filters, options, staffNames, filters.locality ? await localityNamesOf(db, principal.organisationId) : {}),
      reportFilterInputs: REPORT_FILTER_KEYS.filter((key) => filters[key]).map((key) => ({ name: key, value: filters[key] })),
      exportQuery: queryString(trackerSearchParams(filters)),
      pagination: paginationLinks('/audits', trackerSearchParams(filters), page, pages),
    });
  });

  app.get('/audits/export.csv', { config: { access: 'audits.view' } }, async (request, reply) => {
    const rows = await exportRows(request.principal!, request.ip, request.at, request.query, 'CSV');
    return download(reply, request.today, 'csv', 'text/csv; charset=utf-8').send(trackerCsv(rows));
  });

  app.get('/audits/export.xlsx', { config: { access: 'audits.view' } }, async (request, reply) => {
    const rows = await exportRows(request.principal!, request.ip, request.at, request.query, 'XLSX');
    return download(reply, request.today, 'xlsx', XLSX_TYPE).send(trackerXlsx(rows));
  });

  app.get('/my-audits', { config: { access: 'audits.view' } }, async (request, reply) => {
    const principal = request.principal!;
    const rows = await listMyAudits(db, principal, request.today);
    await logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'my_audits', summary: `${rows.length} audits as auditor` });
    return reply.page('audits/views/my-audits.njk', {
      hasStaffRecord: Boolean(principal.staffId),
      rows,
      overdueCount: rows.filter((row) => row.overdue).length,
      stageLabels: STAGE_LABELS,
      statusTagClasses: AUDIT_STATUS_TAG_CLASSES,
    });
  });

  app.get('/audits/:id', { config: { access: 'audits.view' } }, async (request, reply) => {
    const id = AUDIT_ID.safeParse((request.params as { id?: string }).id);
    const principal = request.principal!;
    const audit = id.success ? await findAudit(db, principal, id.data, request.today) : null;
    if (!audit) throw notFound('Audit');
    // Only the audit's own auditor completes it, while it is with them.
    const canComplete = Boolean(principal.staffId) && audit.auditor.id === principal.staffId && EDITABLE_STATUSES.includes(audit.status);
    const canModerate = audit.status === 'in_moderation' && mayModerate(principal, audit);
    const today = request.today;
    // The page's parts are independent questions: asked at once, each on its own connection,
    // with the view's activity-log entry written alongside.
    const [, lifecycle, distribution, escalation, actions] = await Promise.all([
      logActivity(db, { principal, ipAddress: request.ip, at: request.at }, { action: 'view', recordType: 'audit', recordId: audit.id, childId: audit.child.id }),
      auditLifecycle(db, principal, audit, today),
      distributionPanel(db, principal, audit),
      escalationPanel(db, principal, audit, today),
      listAuditActions(db, principal, audit.id, today),
    ]);
    return reply.page('audits/views/audit.njk', {
      audit,
      lifecycle,
      statusLabels: AUDIT_STATUS_LABELS,
      statusTagClasses: AUDIT_STATUS_TAG_CLASSES,
      stageLabels: STAGE_LABELS,
      gradeLabels: GRADE_LABELS,
      canViewChild: can(principal, 'children.view'),
      canComplete,
      canModerate,
      distributionPanel: distribution,
      escalationPanel: escalation,
      actions,
      actionStatusLabels: ACTION_STATUS_LABELS,
      actionStatusTagClasses: ACTION_STATUS_TAG_CLASSES,
      flash: doneMessage(request.query as Record<string, unknown>, audit),
    });
  });

  /** Exports read exactly what the page would, without paging, and each one is logged. */
  async function exportRows(principal: Principal, ipAddress: string, at: Date, query: unknown, format: string) {
    const parsed = trackerFilterSchema.safeParse(query);
    if (!parsed.success) {
      const problems = topLevelErrors(parsed.error);
      throw invalid(`Check the filters on the audit tracker and try again. ${problems.map((problem) => problem.message).join('. ')}.`, problems);
    }
    const { rows } = await listTrackerAudits(db, principal, parsed.data, null, ukDateAt(at));
    await logActivity(db, { principal, ipAddress, at }, { action: 'export', recordType: 'audit_tracker', summary: `${format}: ${rows.length} audits; ${describeFilters(parsed.data)}` });
    return rows;
  }
}

/**
 * The banner after a step of the audit's life, shown only while the audit is where that step
 * left it: a fixed list, so nothing from the address is echoed, and a reloaded page cannot
 * claim what a later step undid.
 */
const DONE_MESSAGES: { param: string; status: AuditStatus; text: string }[] = [
  { param: 'submitted', status: 'in_moderation', text: 'Audit submitted for moderation' },
  { param: 'moderated', status: 'moderated', text: 'Audit moderated' },
  { param: 'returned', status: 'returned', text: 'Audit returned to the auditor' },
  { param: 'distributed', status: 'awaiting_feedback', text: 'Audit sent: the case holder has been asked for their feedback' },
  { param: 'feedback', status: 'awaiting_feedback', text: 'Your feedback has been sent' },
  { param: 'closed', status: 'closed', text: 'Audit closed' },
];

function doneMessage(query: Record<string, unknown>, audit: AuditRecord): string | undefined {
  // Allocation lands here: the banner names the auditor and the due date, read back from the audit.
  if (query.allocated === '1' && audit.status === 'allocated' && audit.stageDueOn) return `Audit allocated to ${audit.auditor.name}, due ${formatDate(audit.stageDueOn)}`;
  return DONE_MESSAGES.find((done) => query[done.param] === '1' && done.status === audit.status)?.text;
}

/** A file named with the UK date it was made on. */
function download(reply: FastifyReply, today: string, extension: string, contentType: string) {
  return reply
    .header('Content-Type', contentType)
    .header('Content-Disposition', `attachment; filename="audit-tracker-${today}.${extension}"`)
    .header('Cache-Control', 'no-store');
}

function hasFilters(filters: TrackerFilters): boolean {
  return trackerSearchParams(filters, { withSort: false }).size > 0;
}

/** What the person typed in the text fields, kept as typed so an error can be corrected. */
function rawValues(query: Record<string, unknown>) {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return { allocatedFrom: text(query.allocatedFrom), allocatedTo: text(query.allocatedTo) };
}


function hrefWith(filters: TrackerFilters, changes: { page?: number } = {}): string {
  const params = trackerSearchParams(filters);
  if (changes.page && changes.page > 1) params.set('page', String(changes.page));
  return `/audits${queryString(params)}`;
}

/** Header links: a column sorts ascending first, then toggles; the current one says so with aria-sort. */
function sortColumns(filters: TrackerFilters) {
  return COLUMNS.map((column) => {
    const current = filters.sort === column.key;
    const order = current && filters.order === 'asc' ? 'desc' : 'asc';
    return {
      ...column,
      href: hrefWith({ ...filters, sort: column.key, order }),
      ariaSort: current ? (filters.order === 'asc' ? 'ascending' : 'descending') : 'none',
    };
  });
}

/** Names of the people a filter names, by staff id. */
async function staffNamesOf(db: Db, organisationId: string, ids: (string | undefined)[]): Promise<Record<string, string>> {
  const wanted = ids.filter((id): id is string => Boolean(id));
  if (!wanted.length) return {};
  const rows = await db.selectFrom('staff').select(['id', 'full_name']).where('organisation_id', '=', organisationId).where('id', 'in', wanted).execute();
  return Object.fromEntries(rows.map((row) => [row.id, row.full_name]));
}

async function localityNamesOf(db: Db, organisationId: string): Promise<Record<string, string>> {
  const rows = await db.selectFrom('localities').select(['id', 'name']).where('organisation_id', '=', organisationId).execute();
  return Object.fromEntries(rows.map((row) => [row.id, row.name]));
}

const TIMED_STAGE_LABELS = { auditor: 'Auditor’s stage', moderation: 'Moderation', distribution: 'Distribution', feedback: 'Practitioner feedback' } as const;
const RE_AUDIT_OUTCOME_LABELS = { improved: 'improved on the first grade', same: 'the same grade as the first', worse: 'worse than the first grade' } as const;

/** The MOJ filter's "selected filters": each tag links to the same list without it. */
function selectedFilterCategories(
  filters: TrackerFilters,
  options: { teams: TrackerOption[]; services: TrackerOption[]; tools: TrackerOption[] },
  staffNames: Record<string, string>,
  localityNames: Record<string, string> = {},
) {
  const nameOf = (list: TrackerOption[], id: string | undefined, fallback: string) => list.find((option) => option.value === id)?.text ?? fallback;
  const without = (changes: Partial<TrackerFilters>) => hrefWith({ ...filters, ...changes });
  const categories: { heading: { text: string }; items: { href: string; text: string }[] }[] = [];
  const add = (heading: string, items: { href: string; text: string }[]) => {
    if (items.length) categories.push({ heading: { text: heading }, items });
  };
  add(
    'Status',
    filters.status.map((status) => ({ text: AUDIT_STATUS_LABELS[status], href: without({ status: filters.status.filter((other) => other !== status) }) })),
  );
  if (filters.team) add('Team', [{ text: nameOf(options.teams, filters.team, 'Unknown team'), href: without({ team: undefined }) }]);
  if (filters.service) add('Service', [{ text: nameOf(options.services, filters.service, 'Unknown service'), href: without({ service: undefined }) }]);
  if (filters.tool) add('Audit tool', [{ text: nameOf(options.tools, filters.tool, 'Unknown tool'), href: without({ tool: undefined }) }]);
  if (filters.grade) add('Grade', [{ text: GRADE_LABELS[filters.grade], href: without({ grade: undefined }) }]);
  if (filters.overdue) add('Overdue', [{ text: 'Overdue only', href: without({ overdue: false }) }]);
  if (filters.allocatedFrom) add('Allocated from', [{ text: filters.allocatedFrom, href: without({ allocatedFrom: undefined }) }]);
  if (filters.allocatedTo) add('Allocated to', [{ text: filters.allocatedTo, href: without({ allocatedTo: undefined }) }]);
  // From a report's figure: the tags say what the figure counted, and each can be taken off.
  if (filters.finalGrade) add('Final grade', [{ text: GRADE_LABELS[filters.finalGrade], href: without({ finalGrade: undefined }) }]);
  if (filters.auditorGrade) add("Auditor's grade", [{ text: GRADE_LABELS[filters.auditorGrade], href: without({ auditorGrade: undefined }) }]);
  if (filters.auditor) add('Auditor', [{ text: staffNames[filters.auditor] ?? 'Unknown person', href: without({ auditor: undefined }) }]);
  if (filters.moderator) add('Moderator', [{ text: staffNames[filters.moderator] ?? 'Unknown person', href: without({ moderator: undefined }) }]);
  for (const event of ['submitted', 'moderated', 'closed'] as const) {
    const from = filters[`${event}From`];
    const to = filters[`${event}To`];
    if (from || to) add(`${event[0]!.toUpperCase()}${event.slice(1)}`, [{ text: from && to ? `${from} to ${to}` : from ? `from ${from}` : `to ${to}`, href: without({ [`${event}From`]: undefined, [`${event}To`]: undefined }) }]);
  }
  if (filters.ownUnits) add('Whose audits', [{ text: 'Your services and teams only', href: without({ ownUnits: undefined }) }]);
  if (filters.locality) add('Locality', [{ text: localityNames[filters.locality] ?? 'Unknown locality', href: without({ locality: undefined }) }]);
  if (filters.legalStatus) add('Legal status', [{ text: LEGAL_STATUS_LABELS[filters.legalStatus], href: without({ legalStatus: undefined }) }]);
  if (filters.stage) {
    const ended = filters.stageEndedFrom && filters.stageEndedTo ? `ended ${filters.stageEndedFrom} to ${filters.stageEndedTo}` : filters.stageEndedFrom ? `ended from ${filters.stageEndedFrom}` : filters.stageEndedTo ? `ended to ${filters.stageEndedTo}` : 'ended';
    const timing = filters.stageOnTime === 'yes' ? ', within its timescale' : filters.stageOnTime === 'no' ? ', late' : '';
    add('Stage', [{ text: `${TIMED_STAGE_LABELS[filters.stage]} ${ended}${timing}`, href: without({ stage: undefined, stageEndedFrom: undefined, stageEndedTo: undefined, stageOnTime: undefined }) }]);
  }
  if (filters.reAudit || filters.reAuditOutcome) {
    add('Re-audit', [{ text: filters.reAuditOutcome ? `Re-audits, ${RE_AUDIT_OUTCOME_LABELS[filters.reAuditOutcome]}` : 'Re-audits', href: without({ reAudit: undefined, reAuditOutcome: undefined }) }]);
  }
  if (filters.directedFrom || filters.directedTo) add('Case direction given', [{ text: `${filters.directedFrom ?? '…'} to ${filters.directedTo ?? '…'}`, href: without({ directedFrom: undefined, directedTo: undefined }) }]);
  if (filters.directionReviewedFrom || filters.directionReviewedTo) {
    add('Case direction reviewed', [{ text: `${filters.directionReviewedFrom ?? '…'} to ${filters.directionReviewedTo ?? '…'}`, href: without({ directionReviewedFrom: undefined, directionReviewedTo: undefined }) }]);
  }
  if (filters.directionReviewOverdue) add('Case direction', [{ text: 'Review overdue', href: without({ directionReviewOverdue: undefined }) }]);
  if (filters.domain) {
    const domain = isDomain(filters.domain) ? domainLabel(filters.domain) : filters.domain;
    const grade = filters.domainGrade ? `, ${GRADE_LABELS[filters.domainGrade as keyof typeof GRADE_LABELS] ?? filters.domainGrade.replace(':', ' ')}` : '';
    add('Practice domain', [{ text: `A final judgement in ${domain}${grade}`, href: without({ domain: undefined, domainGrade: undefined }) }]);
  }
  if (filters.feedback) add('Family feedback', [{ text: filters.feedback.replaceAll('_', ' ').replaceAll(':', ': '), href: without({ feedback: undefined }) }]);
  return categories.length
    ? { heading: { text: 'Selected filters' }, clearLink: { text: 'Clear filters', href: hrefWith({ ...DEFAULT_FILTERS, sort: filters.sort, order: filters.order }) }, categories }
    : undefined;
}

