import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import type { AuditStatus, Grade, LegalStatus } from '../../db/types.ts';
import { holidayCalendarFor } from '../org/calendar.ts';
import { timescalesFor } from './transitions.ts';
import { dataScope, type Principal } from '../../platform/access.ts';
import type { FieldError } from '../../platform/errors.ts';
import { feedbackPlaces, feedbackRespondents, parseFeedbackFact, type FeedbackRespondent } from './feedback-answers.ts';
import { domainJudgementSets, gradedSections, isDomain, type DomainGrade, type GradedSection } from './domain-judgements.ts';
import {
  countTrackerAudits,
  selectEditionDefinitions,
  RE_AUDIT_OUTCOMES,
  selectTrackerAudits,
  SORT_KEYS,
  TIMED_STAGES,
  trackerFilterOptions,
  type AuditRow,
  type SortKey,
  type StageClock,
  type TrackerCriteria,
} from './queries.ts';
import { isoTimestamp } from '../../db/values.ts';
import { FEEDBACK_GIVEN_LABEL, STAGE_OF, type Stage } from './lifecycle.ts';
import { type IsoDate } from '../../platform/working-days.ts';

/**
 * The audit tracker: every audit a person may see, filtered and sorted. The page, its
 * exports and the API all parse the same query string with `trackerFilterSchema` and read
 * through `listTrackerAudits`, so they always agree on which audits a filter means.
 */

export const AUDIT_STATUSES: readonly AuditStatus[] = [
  'allocated',
  'in_progress',
  'returned',
  'in_moderation',
  'moderated',
  'distributed',
  'awaiting_feedback',
  'closed',
];

export const AUDIT_STATUS_LABELS: Record<AuditStatus, string> = {
  allocated: 'Allocated',
  in_progress: 'In progress',
  returned: 'Returned to auditor',
  in_moderation: 'In moderation',
  moderated: 'Moderated',
  distributed: 'Distributed',
  awaiting_feedback: 'Awaiting feedback',
  closed: 'Closed',
};

/**
 * An audit's status in words, as every page and export shows it: "Feedback given" once the
 * case holder's feedback is in while the audit still awaits closing (its status is unchanged:
 * only the QA coordinator's closing is left), otherwise the status's own label.
 */
export function auditStatusLabel(status: AuditStatus, feedbackGiven: boolean): string {
  return status === 'awaiting_feedback' && feedbackGiven ? FEEDBACK_GIVEN_LABEL : AUDIT_STATUS_LABELS[status];
}

/** A tag colour per status; the tag's text always says the status too. */
export const AUDIT_STATUS_TAG_CLASSES: Record<AuditStatus, string> = {
  allocated: 'govuk-tag--grey',
  in_progress: 'govuk-tag--blue',
  returned: 'govuk-tag--orange',
  in_moderation: 'govuk-tag--purple',
  moderated: 'govuk-tag--turquoise',
  distributed: 'govuk-tag--light-blue',
  awaiting_feedback: 'govuk-tag--yellow',
  closed: 'govuk-tag--green',
};

export const GRADES: readonly Grade[] = ['outstanding', 'good', 'requires_improvement', 'inadequate'];

export const GRADE_LABELS: Record<Grade, string> = {
  outstanding: 'Outstanding',
  good: 'Good',
  requires_improvement: 'Requires improvement',
  inadequate: 'Inadequate',
};

/** The stage whose deadline "due" is, as a person names it: "Due 4 December 2026 (moderation)". */
export const STAGE_LABELS: Record<Stage, string> = {
  auditor: 'Auditor',
  moderation: 'Moderation',
  distribution: 'Distribution',
  feedback: 'Practitioner feedback',
  closed: 'Closed',
};

export const TRACKER_PAGE_SIZE = 25;

/** What a page needs to show audits with audits/views/_audit-list.njk and _due.njk. */
export const AUDIT_LIST_LABELS = {
  statusTagClasses: AUDIT_STATUS_TAG_CLASSES,
  stageLabels: STAGE_LABELS,
  gradeLabels: GRADE_LABELS,
};

/** A real calendar date, or null. */
function isoDate(year: number, month: number, day: number): string | null {
  if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1) return null;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** '2026-03-27' or the way people in the UK write it, '27/3/2026', as 'YYYY-MM-DD'; else null. */
export function parseDateText(text: string): string | null {
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
  if (iso) return isoDate(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const uk = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text);
  if (uk) return isoDate(Number(uk[3]), Number(uk[2]), Number(uk[1]));
  return null;
}

const LEGAL_STATUS_VALUES = ['early_help', 'cin', 'cp', 'plo', 'child_in_care', 'care_leaver'] as const satisfies readonly LegalStatus[];

/** A blank text field is no answer at all. */
export const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** An optional date field from a query string, as 'YYYY-MM-DD'. */
export function optionalDateField(label: string) {
  const message = `${label} must be a real date, like 27/3/2026 or 2026-03-27`;
  return z.preprocess(
    blankToUndefined,
    z
      .string({ error: message })
      .trim()
      .max(20, message)
      .transform((text, context) => {
        const date = parseDateText(text);
        if (!date) context.addIssue({ code: 'custom', message });
        return date ?? '';
      })
      .optional(),
  );
}

/** An optional id from a list (a team, a service…), refused with `message` when it is not one. */
export const optionalId = (message: string) => z.preprocess(blankToUndefined, z.string({ error: message }).trim().uuid(message).optional());

/** Checkboxes arrive as one value or many; the API may also send them comma-separated. */
const toList = (value: unknown) => {
  if (value === undefined || value === null) return [];
  const items = (Array.isArray(value) ? value : [value]).flatMap((item) => (typeof item === 'string' ? item.split(',') : [item]));
  return items.map((item) => (typeof item === 'string' ? item.trim() : item)).filter((item) => item !== '');
};

const yesNo = (value: unknown) => {
  if (value === undefined || value === '' || value === 'no' || value === 'false' || value === false) return false;
  if (value === 'yes' || value === 'true' || value === true) return true;
  return value;
};

/** The tracker's filters and sort order from a query-string object; unknown keys (page, pageSize) are ignored. */
export const trackerFilterSchema = z
  .object({
    status: z.preprocess(toList, z.array(z.enum(AUDIT_STATUSES as [AuditStatus, ...AuditStatus[]], { error: 'Choose statuses from the list' })).max(AUDIT_STATUSES.length)),
    team: optionalId('Choose a team from the list'),
    service: optionalId('Choose a service from the list'),
    tool: optionalId('Choose an audit tool from the list'),
    grade: z.preprocess(blankToUndefined, z.enum(GRADES as [Grade, ...Grade[]], { error: 'Choose a grade from the list' }).optional()),
    overdue: z.preprocess(yesNo, z.boolean({ error: 'Overdue must be yes or no' })),
    allocatedFrom: optionalDateField('Allocated from'),
    allocatedTo: optionalDateField('Allocated to'),
    finalGrade: z.preprocess(blankToUndefined, z.enum(GRADES as [Grade, ...Grade[]], { error: 'Choose a final grade from the list' }).optional()),
    auditorGrade: z.preprocess(blankToUndefined, z.enum(GRADES as [Grade, ...Grade[]], { error: "Choose an auditor's grade from the list" }).optional()),
    auditor: optionalId('Choose an auditor from the list'),
    moderator: optionalId('Choose a moderator from the list'),
    submittedFrom: optionalDateField('Submitted from'),
    submittedTo: optionalDateField('Submitted to'),
    moderatedFrom: optionalDateField('Moderated from'),
    moderatedTo: optionalDateField('Moderated to'),
    closedFrom: optionalDateField('Closed from'),
    closedTo: optionalDateField('Closed to'),
    locality: optionalId('Choose a locality from the list'),
    legalStatus: z.preprocess(blankToUndefined, z.enum(LEGAL_STATUS_VALUES, { error: 'Choose a legal status from the list' }).optional()),
    stage: z.preprocess(blankToUndefined, z.enum(TIMED_STAGES, { error: 'Choose a stage from the list' }).optional()),
    stageEndedFrom: optionalDateField('Stage ended from'),
    stageEndedTo: optionalDateField('Stage ended to'),
    stageOnTime: z.preprocess(blankToUndefined, z.enum(['yes', 'no'], { error: 'Within the timescale must be yes or no' }).optional()),
    reAudit: z.preprocess(blankToUndefined, z.enum(['yes'], { error: 'Re-audits must be yes' }).optional()),
    reAuditOutcome: z.preprocess(blankToUndefined, z.enum(RE_AUDIT_OUTCOMES, { error: 'Choose a re-audit outcome from the list' }).optional()),
    directedFrom: optionalDateField('Case direction from'),
    directedTo: optionalDateField('Case direction to'),
    directionReviewedFrom: optionalDateField('Case direction reviewed from'),
    directionReviewedTo: optionalDateField('Case direction reviewed to'),
    directionReviewOverdue: z.preprocess(blankToUndefined, z.enum(['yes'], { error: 'Case direction review overdue must be yes' }).optional()),
    domain: z.preprocess(blankToUndefined, z.string().trim().refine(isDomain, 'Choose a practice domain from the list').optional()),
    feedback: z.preprocess(blankToUndefined, z.string().trim().max(100).refine((text) => parseFeedbackFact(text) !== null, 'Choose family feedback from the list').optional()),
    domainGrade: z.preprocess(blankToUndefined, z.string().trim().max(100).regex(/^[a-z0-9_-]+(:[\w .-]+)?$/i, 'Choose a grade from the list').optional()),
    ownUnits: z.preprocess(blankToUndefined, z.enum(['yes'], { error: 'Your services and teams only must be yes' }).optional()),
    sort: z.preprocess(blankToUndefined, z.enum(SORT_KEYS, { error: 'Choose a column to sort by' }).default('allocated')),
    order: z.preprocess(blankToUndefined, z.enum(['asc', 'desc'], { error: 'Sort order must be asc or desc' }).default('desc')),
  })
  .superRefine((filters, context) => {
    if (filters.allocatedFrom && filters.allocatedTo && filters.allocatedTo < filters.allocatedFrom) {
      context.addIssue({ code: 'custom', path: ['allocatedTo'], message: 'Allocated to must be the same as or after allocated from' });
    }
    for (const event of ['submitted', 'moderated', 'closed'] as const) {
      const from = filters[`${event}From`];
      const to = filters[`${event}To`];
      if (from && to && to < from) context.addIssue({ code: 'custom', path: [`${event}To`], message: `${event[0]!.toUpperCase()}${event.slice(1)} to must be the same as or after ${event} from` });
    }
    // When a stage ended, and whether on time, mean nothing without the stage.
    for (const key of ['stageEndedFrom', 'stageEndedTo', 'stageOnTime'] as const) {
      if (filters[key] && !filters.stage) context.addIssue({ code: 'custom', path: ['stage'], message: 'Choose a stage from the list' });
    }
    if (filters.domainGrade && !filters.domain) context.addIssue({ code: 'custom', path: ['domain'], message: 'Choose a practice domain from the list' });
  });

export type TrackerFilters = z.infer<typeof trackerFilterSchema>;

/** Filters the tracker's own form does not offer: they arrive from a report's figure (a drill-down). */
export const REPORT_FILTER_KEYS = [
  'finalGrade',
  'auditorGrade',
  'auditor',
  'moderator',
  'submittedFrom',
  'submittedTo',
  'moderatedFrom',
  'moderatedTo',
  'closedFrom',
  'closedTo',
  'locality',
  'legalStatus',
  'stage',
  'stageEndedFrom',
  'stageEndedTo',
  'stageOnTime',
  'reAudit',
  'reAuditOutcome',
  'directedFrom',
  'directedTo',
  'directionReviewedFrom',
  'directionReviewedTo',
  'directionReviewOverdue',
  'domain',
  'domainGrade',
  'feedback',
  'ownUnits',
] as const;

// Compile-time check: what the schema gives is what the queries take.
const _criteria: (filters: TrackerFilters) => TrackerCriteria = (filters) => filters;

export const DEFAULT_FILTERS: TrackerFilters = trackerFilterSchema.parse({});

/**
 * Parses a page's query string without failing: each field in error is named (for the error
 * summary) and left out of the filter, so the rest of the page still works.
 */
export function parseTrackerFilters(query: Record<string, unknown>): { filters: TrackerFilters; errors: FieldError[] } {
  const parsed = trackerFilterSchema.safeParse(query);
  if (parsed.success) return { filters: parsed.data, errors: [] };
  const errors = topLevelErrors(parsed.error);
  const rest = Object.fromEntries(Object.entries(query).filter(([key]) => !errors.some((error) => error.field === key)));
  const retried = trackerFilterSchema.safeParse(rest);
  return { filters: retried.success ? retried.data : DEFAULT_FILTERS, errors };
}

/** Errors keyed by the query-string field (not 'status.1'), so the summary links to the field. */
export function topLevelErrors(error: z.ZodError): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? 'form');
    if (!errors.some((known) => known.field === field)) errors.push({ field, message: issue.message });
  }
  return errors;
}

/** The filters as a canonical query string: for links that keep them, and for the activity log. */
export function trackerSearchParams(filters: TrackerFilters, options: { withSort?: boolean } = {}): URLSearchParams {
  const params = new URLSearchParams();
  for (const status of filters.status) params.append('status', status);
  if (filters.team) params.set('team', filters.team);
  if (filters.service) params.set('service', filters.service);
  if (filters.tool) params.set('tool', filters.tool);
  if (filters.grade) params.set('grade', filters.grade);
  if (filters.overdue) params.set('overdue', 'yes');
  if (filters.allocatedFrom) params.set('allocatedFrom', filters.allocatedFrom);
  if (filters.allocatedTo) params.set('allocatedTo', filters.allocatedTo);
  for (const key of REPORT_FILTER_KEYS) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  if (options.withSort !== false && (filters.sort !== DEFAULT_FILTERS.sort || filters.order !== DEFAULT_FILTERS.order)) {
    params.set('sort', filters.sort);
    params.set('order', filters.order);
  }
  return params;
}

export function describeFilters(filters: TrackerFilters): string {
  const text = trackerSearchParams(filters, { withSort: false }).toString();
  return text ? `filters ${decodeURIComponent(text)}` : 'no filters';
}

/** A tracker row as plain JSON: ids, codes, 'YYYY-MM-DD' dates and ISO timestamps. */
export type TrackerAudit = {
  id: string;
  reference: number;
  childId: string;
  childInitials: string;
  childExternalId: string;
  toolId: string;
  toolName: string;
  toolEdition: string;
  auditorId: string;
  auditorName: string;
  caseHolderId: string | null;
  caseHolderName: string | null;
  teamId: string | null;
  teamName: string | null;
  serviceId: string | null;
  serviceName: string | null;
  status: AuditStatus;
  /** The status in words (auditStatusLabel): "Feedback given" once the feedback is in. */
  statusLabel: string;
  /** When the case holder's feedback was given; null before. */
  feedbackGivenAt: string | null;
  allocatedOn: string;
  /** The stage of the lifecycle the audit is in, whose deadline `dueOn` is. */
  stage: Stage;
  /** The deadline of the stage it is in (see CURRENT_DUE); null once closed. */
  dueOn: string | null;
  /** The deadline allocation gave the auditor: history once the audit has moved on. */
  auditorDueOn: string;
  submittedAt: string | null;
  moderatedAt: string | null;
  auditorGrade: Grade | null;
  finalGrade: Grade | null;
  overdue: boolean;
};


/** An audit row from the database as plain JSON. */
export function toTrackerAudit(row: AuditRow): TrackerAudit {
  return {
    id: row.id,
    reference: row.reference,
    childId: row.child_id,
    childInitials: row.child_initials,
    childExternalId: row.child_external_id,
    toolId: row.tool_id,
    toolName: row.tool_name,
    toolEdition: row.tool_edition,
    auditorId: row.auditor_id,
    auditorName: row.auditor_name,
    caseHolderId: row.case_holder_id,
    caseHolderName: row.case_holder_name,
    teamId: row.team_id,
    teamName: row.team_name,
    serviceId: row.service_id,
    serviceName: row.service_name,
    status: row.status,
    statusLabel: auditStatusLabel(row.status, row.feedback_at !== null),
    feedbackGivenAt: isoTimestamp(row.feedback_at),
    allocatedOn: row.allocated_on,
    stage: STAGE_OF[row.status],
    dueOn: row.current_due_on,
    auditorDueOn: row.due_on,
    submittedAt: isoTimestamp(row.submitted_at),
    moderatedAt: isoTimestamp(row.moderated_at),
    auditorGrade: row.auditor_grade,
    finalGrade: row.final_grade,
    overdue: Boolean(row.overdue),
  };
}

/**
 * The audits a person may see that match the filters: one page, or all of them (`paging`
 * null, for exports). Access is decided by `dataScope(principal, 'audits.view')`.
 */
export async function listTrackerAudits(
  db: Db,
  principal: Principal,
  filters: TrackerFilters,
  paging: { page: number; pageSize: number } | null,
  today: IsoDate,
): Promise<{ rows: TrackerAudit[]; total: number }> {
  const scope = dataScope(principal, 'audits.view');
  const page = paging ? { offset: (paging.page - 1) * paging.pageSize, limit: paging.pageSize } : null;
  const criteria: TrackerCriteria = {
    ...filters,
    ...(filters.stageOnTime ? { stageClock: await stageClockFor(db, principal.organisationId) } : {}),
    ...(filters.domain ? { domainJudgements: await domainJudgementsFor(db, principal.organisationId, filters.domain, filters.domainGrade) } : {}),
    ...(filters.feedback ? await feedbackCriteriaFor(db, principal.organisationId, filters.feedback) : {}),
  };
  const found = await selectTrackerAudits(db, scope, criteria, page, today);
  // Each row carries the count of every match; only a page past the end (no rows) asks again.
  const total = found.length ? Number(found[0]!.matching) : page && page.offset > 0 ? await countTrackerAudits(db, scope, criteria, today) : 0;
  return { rows: found.map(toTrackerAudit), total };
}

/** The organisation's timescales and bank holidays, by which a stage ended on time or late. */
export async function stageClockFor(db: Db, organisationId: string): Promise<StageClock> {
  const timescales = await timescalesFor(db, organisationId);
  const calendar = await holidayCalendarFor(db, organisationId);
  return {
    days: { moderation: timescales.moderationDays, distribution: timescales.distributionDays, feedback: timescales.feedbackDays },
    holidays: [...calendar].sort(),
  };
}

/** Every graded section of the organisation's tool editions, with its practice domain and scale. */
export async function gradedSectionsFor(db: Db, organisationId: string): Promise<GradedSection[]> {
  return (await selectEditionDefinitions(db, organisationId)).flatMap((edition) => gradedSections(edition.id, edition.definition));
}

/** The judgement rows a domain (and grade) filter means, across the organisation's tool editions. */
async function domainJudgementsFor(db: Db, organisationId: string, domain: string, grade: string | undefined) {
  return isDomain(domain) ? domainJudgementSets(await gradedSectionsFor(db, organisationId), domain, grade as DomainGrade | undefined) : [];
}

/** Every family respondent of the organisation's tool editions, with the feedback section it is in. */
export async function feedbackRespondentsFor(db: Db, organisationId: string): Promise<FeedbackRespondent[]> {
  return (await selectEditionDefinitions(db, organisationId)).flatMap((edition) => feedbackRespondents(edition.id, edition.definition));
}

async function feedbackCriteriaFor(db: Db, organisationId: string, text: string) {
  const fact = parseFeedbackFact(text);
  return fact ? { feedbackFact: fact, feedbackPlaces: feedbackPlaces(await feedbackRespondentsFor(db, organisationId), fact) } : {};
}

/** How many audits the person can see at all: tells "none yet" from "none match". */
export async function countVisibleAudits(db: Db, principal: Principal, today: IsoDate): Promise<number> {
  return countTrackerAudits(db, dataScope(principal, 'audits.view'), DEFAULT_FILTERS, today);
}

export async function listTrackerFilterOptions(db: Db, principal: Principal) {
  return trackerFilterOptions(db, dataScope(principal, 'audits.view'));
}

export type { SortKey };
