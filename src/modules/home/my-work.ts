import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Database } from '../../db/types.ts';
import type { Db } from '../../db/index.ts';
import type { AuditAlertKind, AuditStatus } from '../../db/types.ts';
import { dataScope, type DataScope, type Principal } from '../../platform/access.ts';
import { loadPrincipal } from '../../platform/auth/queries.ts';
import { workingDaysAfter, type HolidayCalendar, type IsoDate } from '../../platform/working-days.ts';
import { VERIFY_BY } from '../actions/queries.ts';
import { auditInScope, CURRENT_DUE } from '../audits/queries.ts';
import { LIFECYCLE_STATUSES } from '../audits/lifecycle.ts';
import { mayMoveByRole } from '../audits/distribution/record.ts';
import { isoDay } from '../../db/values.ts';

/**
 * What waits on each person: the alerts they must act on, the audits they carry out,
 * moderate or give feedback on, the case directions they review, the actions they own and the
 * done actions they check. The
 * same questions serve the home page (one person) and the daily reminder digest (everyone in
 * an organisation at once). Due and overdue are asked of the dates, never stored.
 */

/** Something is due soon when its deadline falls within this many working days of today. */
export const DUE_SOON_WORKING_DAYS = 2;

export const SECTION_KEYS = ['alerts', 'distribute', 'close', 'audits', 'moderation', 'feedback', 'case_directions', 'actions', 'verification'] as const;
export type SectionKey = (typeof SECTION_KEYS)[number];

export const SECTION_TITLES: Record<SectionKey, string> = {
  alerts: 'Alerts',
  distribute: 'Moderated audits to distribute',
  close: 'Feedback given, ready to close',
  audits: 'Audits to do',
  moderation: 'To moderate',
  feedback: 'Feedback to give',
  case_directions: 'Case directions to review',
  actions: 'My actions',
  verification: 'To verify',
};

export type Urgency = 'overdue' | 'due_soon' | 'on_time' | 'no_deadline';

export type WorkItem = {
  section: SectionKey;
  /** The staff member it waits on. */
  staffId: string;
  /** Where the person acts on it, a path in Assure. */
  href: string;
  /** e.g. "Audit 12: AB (C-1001), Bristol child case audit". */
  title: string;
  /** What the person does, e.g. the action's text. */
  detail: string | null;
  /** The deadline; for an alert the day it was raised, since it needs a same-day response. */
  dueOn: IsoDate | null;
  urgency: Urgency;
};

/** The dates that decide urgency: today, and the last day that is still "due soon". */
export type WorkDates = { today: IsoDate; dueSoonBy: IsoDate };

export function workDates(today: IsoDate, calendar: HolidayCalendar, dueSoonWorkingDays = DUE_SOON_WORKING_DAYS): WorkDates {
  return { today, dueSoonBy: workingDaysAfter(today, dueSoonWorkingDays, calendar) };
}

export function urgencyOf(dueOn: IsoDate | null, dates: WorkDates): Urgency {
  if (dueOn === null) return 'no_deadline';
  if (dueOn < dates.today) return 'overdue';
  if (dueOn <= dates.dueSoonBy) return 'due_soon';
  return 'on_time';
}

/**
 * Who to ask about: one person (the home page) or everyone (the digest). With `dueBy`, only
 * what is overdue or due by that date: what a reminder is about.
 */
export type WorkQuery = { organisationId: string; staffId?: string; dueBy?: IsoDate; coordinators?: Coordinator[] };

/**
 * Someone whose roles let them distribute and close audits (a QA coordinator or QA lead), with
 * the audits they reach: that work waits on the role, not on a part in the audit.
 */
export type Coordinator = { staffId: string; scope: DataScope };

type AuditSection = {
  section: SectionKey;
  party: 'auditor_id' | 'moderator_id' | 'case_holder_id';
  statuses: AuditStatus[];
  /** Where the person acts, after /audits/:id. */
  path: string;
  /** Only audits whose practitioner feedback is (not) yet given. */
  feedbackGiven?: boolean;
};

/** Whose turn an audit is, by status: the auditor's, the moderator's, the case holder's. */
const AUDIT_SECTIONS: readonly AuditSection[] = [
  { section: 'audits', party: 'auditor_id', statuses: ['allocated', 'in_progress', 'returned'], path: '' },
  { section: 'moderation', party: 'moderator_id', statuses: ['in_moderation'], path: '/moderate' },
  // Feedback already given waits on the QA coordinator now, no longer on the case holder.
  { section: 'feedback', party: 'case_holder_id', statuses: ['awaiting_feedback'], path: '/feedback', feedbackGiven: false },
];

/** An audit's deadline is its current stage's: the tracker's own rule (audits/queries.ts). */
const AUDIT_DUE = CURRENT_DUE;

function auditItems(db: Db, query: WorkQuery, spec: AuditSection, dates: WorkDates): Section {
  const party = sql.ref(`audits.${spec.party}`);
  let select = db
    .selectFrom('audits')
    .innerJoin('children', 'children.id', 'audits.child_id')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .select([
      'audits.id',
      'audits.reference',
      'audits.status',
      'children.initials',
      'children.external_id',
      'tools.name as tool_name',
      sql<boolean>`audits.re_audit_of is not null`.as('is_re_audit'),
      sql<string>`${party}`.as('staff_id'),
      AUDIT_DUE.as('due_on'),
    ])
    .where('audits.organisation_id', '=', query.organisationId)
    .where('audits.status', 'in', spec.statuses)
    .where(sql<SqlBool>`${party} is not null`);
  if (spec.feedbackGiven !== undefined) select = select.where('audits.practitioner_feedback', spec.feedbackGiven ? 'is not' : 'is', null);
  if (query.staffId) select = select.where(sql<SqlBool>`${party} = ${query.staffId}`);
  if (query.dueBy) select = select.where(sql<SqlBool>`${AUDIT_DUE} <= ${query.dueBy}::date`);
  return section(select.orderBy(sql`${AUDIT_DUE} asc nulls last`).orderBy('audits.reference'), (row) =>
    auditWorkItem(row, { section: spec.section, staffId: row.staff_id, path: spec.path, detail: auditDetail(row) }, dates),
  );
}

type AuditItemRow = { id: string; reference: number; initials: string; external_id: string; tool_name: string; due_on: unknown };

/** One audit as a line of My work: what it is, where to act on it, and how soon. */
function auditWorkItem(row: AuditItemRow, item: { section: WorkItem['section']; staffId: string; path: string; detail: string | null }, dates: WorkDates): WorkItem {
  const dueOn = isoDay(row.due_on);
  return {
    section: item.section,
    staffId: item.staffId,
    href: `/audits/${row.id}${item.path}`,
    title: `Audit ${row.reference}: ${row.initials} (${row.external_id}), ${row.tool_name}`,
    detail: item.detail,
    dueOn,
    urgency: urgencyOf(dueOn, dates),
  };
}

/** What the person should know before opening it: returned to them, or a re-audit (desktop only). */
function auditDetail(row: { status: AuditStatus; is_re_audit: boolean }): string | null {
  if (row.status === 'returned') return 'Returned to you for changes';
  if (row.is_re_audit && row.status !== 'awaiting_feedback') return 'Re-audit after an Inadequate grade: a desktop review, not with the worker';
  return null;
}

type CoordinatorSection = { section: 'distribute' | 'close'; status: AuditStatus; feedbackGiven: boolean | null; path: string; detail: string };

/**
 * What waits on the QA coordinator: moderated audits to send out, and audits whose feedback is
 * in, to read and close. Each by the deadline of the stage it is in.
 */
const COORDINATOR_SECTIONS: readonly CoordinatorSection[] = [
  { section: 'distribute', status: 'moderated', feedbackGiven: null, path: '/distribute', detail: 'Moderated: send it to the team manager and the case holder' },
  { section: 'close', status: 'awaiting_feedback', feedbackGiven: true, path: '/close', detail: 'The case holder has given their feedback: read it and close the audit' },
];

function coordinatorItems(db: Db, query: WorkQuery, coordinator: Coordinator, spec: CoordinatorSection, dates: WorkDates): Section {
  let select = db
    .selectFrom('audits')
    .innerJoin('children', 'children.id', 'audits.child_id')
    .innerJoin('audit_tool_editions as editions', 'editions.id', 'audits.tool_edition_id')
    .innerJoin('audit_tools as tools', 'tools.id', 'editions.tool_id')
    .select(['audits.id', 'audits.reference', 'children.initials', 'children.external_id', 'tools.name as tool_name', AUDIT_DUE.as('due_on')])
    .where('audits.organisation_id', '=', query.organisationId)
    .where(auditInScope(coordinator.scope))
    .where('audits.status', '=', spec.status);
  if (spec.feedbackGiven !== null) select = select.where('audits.practitioner_feedback', spec.feedbackGiven ? 'is not' : 'is', null);
  if (query.dueBy) select = select.where(sql<SqlBool>`${AUDIT_DUE} <= ${query.dueBy}::date`);
  return section(select.orderBy(sql`${AUDIT_DUE} asc nulls last`).orderBy('audits.reference'), (row) =>
    auditWorkItem(row, { section: spec.section, staffId: coordinator.staffId, path: spec.path, detail: spec.detail }, dates),
  );
}

/**
 * The organisation's QA coordinators and QA leads with a staff record, each with their reach:
 * for the digest, which asks about everyone at once.
 */
export async function coordinatorsOf(db: Db, organisationId: string): Promise<Coordinator[]> {
  const rows = await db
    .selectFrom('users')
    .select(['users.id'])
    .where('users.organisation_id', '=', organisationId)
    .where('users.disabled_at', 'is', null)
    .where('users.staff_id', 'is not', null)
    .where((eb) => eb.exists(eb.selectFrom('role_grants').select('role_grants.user_id').whereRef('role_grants.user_id', '=', 'users.id').where('role_grants.role', 'in', COORDINATOR_ROLES)))
    .orderBy('users.created_at')
    .execute();
  const coordinators: Coordinator[] = [];
  for (const row of rows) {
    const principal = await loadPrincipal(db, row.id);
    if (principal?.staffId && coordinates(principal)) coordinators.push({ staffId: principal.staffId, scope: dataScope(principal, 'audits.view') });
  }
  return coordinators;
}

const COORDINATOR_ROLES = ['qa_coordinator', 'qa_lead'] as const;

/** Whether the person distributes and closes audits: the lifecycle's table says who. */
export function coordinates(principal: Principal): boolean {
  return mayMoveByRole(principal, 'moderated', 'distributed') && mayMoveByRole(principal, 'awaiting_feedback', 'closed');
}

/** The UK day an alert was raised: it asks for a response that day. */
const ALERT_DAY = sql<string>`(audit_alerts.created_at at time zone 'Europe/London')::date`;

const ALERT_DETAILS: Record<AuditAlertKind, string> = {
  inadequate_submitted: 'Submitted with an Inadequate grade: act on it the same day',
  inadequate_moderated: 'Moderated Inadequate: see the audit for what follows',
  requires_improvement_submitted: 'Submitted with a Requires improvement grade: the tool asks for an urgent review',
  requires_improvement_moderated: 'Moderated Requires improvement: the tool asks for an urgent review',
};

/** Audits graded Inadequate (on submission or by moderation) that the person has not yet acknowledged. */
function alertItems(db: Db, query: WorkQuery, dates: WorkDates): Section {
  let select = db
    .selectFrom('audit_alerts')
    .innerJoin('audits', 'audits.id', 'audit_alerts.audit_id')
    .innerJoin('children', 'children.id', 'audits.child_id')
    .select(['audits.id as audit_id', 'audits.reference', 'children.initials', 'children.external_id', 'audit_alerts.staff_id', 'audit_alerts.kind', ALERT_DAY.as('raised_on')])
    .where('audit_alerts.organisation_id', '=', query.organisationId)
    .where('audit_alerts.acknowledged_at', 'is', null);
  if (query.staffId) select = select.where('audit_alerts.staff_id', '=', query.staffId);
  if (query.dueBy) select = select.where(sql<SqlBool>`${ALERT_DAY} <= ${query.dueBy}::date`);
  return section(select.orderBy('audit_alerts.created_at').orderBy('audits.reference'), (row) => {
    const raisedOn = isoDay(row.raised_on);
    return {
      section: 'alerts',
      staffId: row.staff_id,
      href: `/audits/${row.audit_id}`,
      title: `Audit ${row.reference}: ${row.initials} (${row.external_id})`,
      detail: ALERT_DETAILS[row.kind],
      dueOn: raisedOn,
      urgency: urgencyOf(raisedOn, dates),
    };
  });
}

/**
 * Case directions not yet reviewed, for the staff member whose account recorded them: they
 * review the actions within a month (PROCESS.md §4.5).
 */
function caseDirectionItems(db: Db, query: WorkQuery, dates: WorkDates): Section {
  let select = db
    .selectFrom('case_directions')
    .innerJoin('users', 'users.id', 'case_directions.directed_by')
    .innerJoin('audits', 'audits.id', 'case_directions.audit_id')
    .innerJoin('children', 'children.id', 'case_directions.child_id')
    .select(['audits.id as audit_id', 'audits.reference', 'children.initials', 'children.external_id', 'users.staff_id', 'case_directions.review_due_on'])
    .where('case_directions.organisation_id', '=', query.organisationId)
    .where('case_directions.reviewed_at', 'is', null)
    .where('users.staff_id', 'is not', null);
  if (query.staffId) select = select.where('users.staff_id', '=', query.staffId);
  if (query.dueBy) select = select.where('case_directions.review_due_on', '<=', query.dueBy);
  return section(select.orderBy('case_directions.review_due_on').orderBy('audits.reference'), (row) => {
    const dueOn = isoDay(row.review_due_on);
    return {
      section: 'case_directions',
      staffId: row.staff_id!,
      href: `/audits/${row.audit_id}#escalation`,
      title: `Audit ${row.reference}: ${row.initials} (${row.external_id})`,
      detail: 'Review the actions of your case direction',
      dueOn,
      urgency: urgencyOf(dueOn, dates),
    };
  });
}

function actionsBase(db: Db, organisationId: string) {
  return db
    .selectFrom('actions')
    .innerJoin('audits', 'audits.id', 'actions.audit_id')
    .innerJoin('children', 'children.id', 'actions.child_id')
    .leftJoin('organisation_timescales as timescales', 'timescales.organisation_id', 'actions.organisation_id')
    .select(['actions.id', 'actions.text', 'audits.reference', 'children.initials', 'children.external_id'])
    .where('actions.organisation_id', '=', organisationId);
}

/** Open actions, by their owner and due date. */
function ownedActionItems(db: Db, query: WorkQuery, dates: WorkDates): Section {
  let select = actionsBase(db, query.organisationId)
    .select(['actions.owner_id as staff_id', 'actions.due_on'])
    .where('actions.status', '=', 'open')
    .where('actions.owner_id', 'is not', null);
  if (query.staffId) select = select.where('actions.owner_id', '=', query.staffId);
  if (query.dueBy) select = select.where('actions.due_on', '<=', query.dueBy);
  return section(select.orderBy(sql`actions.due_on asc nulls last`).orderBy('audits.reference').orderBy('actions.row_index'), (row) =>
    actionItem('actions', row.staff_id!, row, isoDay(row.due_on), dates),
  );
}

/**
 * Done actions awaiting verification, for the auditor of their audit (Telford: the auditor
 * checks completion months after the due date) — unless the auditor owns the action or
 * marked it done: nobody verifies their own action (see actions/service.ts mayVerify).
 */
function verificationItems(db: Db, query: WorkQuery, dates: WorkDates): Section {
  let select = actionsBase(db, query.organisationId)
    .select(['audits.auditor_id as staff_id', VERIFY_BY.as('verify_by')])
    .where('actions.status', '=', 'done')
    .where(sql<SqlBool>`actions.owner_id is distinct from audits.auditor_id`)
    .where(sql<SqlBool>`not exists (select 1 from users where users.id = actions.done_by and users.staff_id = audits.auditor_id)`);
  if (query.staffId) select = select.where('audits.auditor_id', '=', query.staffId);
  if (query.dueBy) select = select.where(sql<SqlBool>`${VERIFY_BY} <= ${query.dueBy}::date`);
  return section(select.orderBy(sql`${VERIFY_BY} asc nulls last`).orderBy('audits.reference').orderBy('actions.row_index'), (row) =>
    actionItem('verification', row.staff_id, row, isoDay(row.verify_by), dates),
  );
}

function actionItem(
  section: SectionKey,
  staffId: string,
  row: { id: string; text: string; reference: number; initials: string; external_id: string },
  dueOn: IsoDate | null,
  dates: WorkDates,
): WorkItem {
  return {
    section,
    staffId,
    href: `/actions/${row.id}`,
    title: `Action from audit ${row.reference}: ${row.initials} (${row.external_id})`,
    detail: row.text,
    dueOn,
    urgency: urgencyOf(dueOn, dates),
  };
}

/**
 * One section's question and how its rows become items. The sections are asked together in one
 * statement (see selectWork), each as a JSON array in its own order.
 */
type Section = { query: SelectQueryBuilder<Database, keyof Database, object>; toItem: (row: never) => WorkItem };

function section<Row>(query: SelectQueryBuilder<Database, never, Row>, toItem: (row: Row) => WorkItem): Section {
  return { query: query as unknown as Section['query'], toItem: toItem as Section['toItem'] };
}

/**
 * Every item waiting on the people asked about, in section order, earliest deadline first.
 * Every section is a sub-select of one statement (one round trip, not one per section); each
 * keeps its own order inside its JSON array, and its rows are read as they were on their own
 * (dates come back as 'YYYY-MM-DD' text either way).
 */
export async function selectWork(db: Db, query: WorkQuery, dates: WorkDates): Promise<WorkItem[]> {
  const sections: Section[] = [alertItems(db, query, dates)];
  for (const coordinator of query.coordinators ?? []) {
    if (query.staffId && coordinator.staffId !== query.staffId) continue;
    for (const spec of COORDINATOR_SECTIONS) sections.push(coordinatorItems(db, query, coordinator, spec, dates));
  }
  for (const spec of AUDIT_SECTIONS) sections.push(auditItems(db, query, spec, dates));
  sections.push(caseDirectionItems(db, query, dates), ownedActionItems(db, query, dates), verificationItems(db, query, dates));
  const row = await db
    .selectNoFrom(sections.map((each, index) => jsonArrayFrom(each.query).as(`s${index}`)))
    .executeTakeFirstOrThrow();
  const found = row as unknown as Record<string, unknown[]>;
  return sections.flatMap((each, index) => (found[`s${index}`] ?? []).map((item) => each.toItem(item as never)));
}

export type WorkSection = { key: SectionKey; title: string; items: WorkItem[] };

export function groupBySection(items: WorkItem[]): WorkSection[] {
  return SECTION_KEYS.map((key) => ({ key, title: SECTION_TITLES[key], items: items.filter((item) => item.section === key) }));
}

/* The QA coordinator's view of the whole pipeline. */

export type PipelineRow = { status: AuditStatus; total: number; red: number; amber: number; green: number };

/**
 * Open audits in reach per status, by the deadline of the stage they are in: red overdue,
 * amber due soon, green on time (or without a deadline).
 */
export async function selectPipeline(db: Db, scope: DataScope, dates: WorkDates): Promise<PipelineRow[]> {
  const rows = await db
    .selectFrom('audits')
    .select([
      'audits.status',
      sql<number>`count(*)::int`.as('total'),
      sql<number>`(count(*) filter (where ${AUDIT_DUE} < ${dates.today}::date))::int`.as('red'),
      sql<number>`(count(*) filter (where ${AUDIT_DUE} >= ${dates.today}::date and ${AUDIT_DUE} <= ${dates.dueSoonBy}::date))::int`.as('amber'),
    ])
    .where(auditInScope(scope))
    .where('audits.status', '<>', 'closed')
    .groupBy('audits.status')
    .execute();
  return LIFECYCLE_STATUSES.filter((status) => status !== 'closed').map((status) => {
    const row = rows.find((candidate) => candidate.status === status);
    const total = Number(row?.total ?? 0);
    const red = Number(row?.red ?? 0);
    const amber = Number(row?.amber ?? 0);
    return { status, total, red, amber, green: total - red - amber };
  });
}
