/**
 * Actions: every action agreed in an audit's action plan becomes a tracked item with an owner
 * and a due date. The owner marks it done with their evidence; the owner's line manager or
 * the QA team — never the owner, whoever marked it done, nor the audited practitioner —
 * verifies it. Overdue and "verification due" are asked of
 * the dates (queries.ts), never flags set by a timer. Each view and change is in the activity log.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { inTransaction, type Db, type Trx } from '../../db/index.ts';
import type { ActionSource, ActionStatus } from '../../db/types.ts';
import { dataScope, mayVerifyAction, type Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { forbidden, notFound, type FieldError } from '../../platform/errors.ts';
import { optionalDateField, topLevelErrors } from '../audits/tracker.ts';
import { defaultCompletedBy, type Answer, type AuditTool, type Section } from '../tools/schema.ts';
import { editionDefinition } from '../tools/editions.ts';
import {
  ACTION_FILTER_STATUSES,
  actionFilterOptions,
  countActions,
  selectActionInScope,
  selectActions,
  selectOwnedActions,
  selectPlanActionsOfAudit,
  type ActionCriteria,
  type ActionFilterStatus,
  type ActionRow,
} from './queries.ts';
import { isoDay, isoTimestamp, jsonValue } from '../../db/values.ts';
import { ukDateAt } from '../../platform/clock.ts';
import { type IsoDate } from '../../platform/working-days.ts';

export type ActionActor = { principal: Principal; ipAddress: string | null; at: Date };

export const ACTION_STATUS_LABELS: Record<ActionStatus, string> = { open: 'Open', done: 'Done, awaiting verification', verified: 'Verified' };

/** Who an action comes from, in words: the audit's action plan, the moderator, or the case direction. */
export const ACTION_SOURCE_LABELS: Record<ActionSource, string> = {
  action_plan: 'Agreed in the audit',
  moderation: 'Recommended by the moderator (second line)',
  case_direction: 'Case direction',
};

/** A tag colour per status; the tag's text always says the status too. */
export const ACTION_STATUS_TAG_CLASSES: Record<ActionStatus, string> = { open: 'govuk-tag--blue', done: 'govuk-tag--yellow', verified: 'govuk-tag--green' };

export const FILTER_STATUS_LABELS: Record<ActionFilterStatus, string> = {
  open: 'Open',
  overdue: 'Overdue',
  done: 'Done, awaiting verification',
  verification_due: 'Due for verification',
  verified: 'Verified',
};

export const ACTIONS_PAGE_SIZE = 25;

/* ——— Creating actions from a submitted audit ——— */

type Column = Extract<Answer, { kind: 'repeating' }>['columns'][number];
type ActionPlanAnswer = { key: string; text: Column; owner: Column | undefined; due: Column | undefined };

/**
 * The repeating answers that hold agreed actions: those of an action-plan section, and any
 * other whose columns name a staff member and a date. The action is the first text column,
 * its owner the first staff column, its due date the first date column.
 */
export function actionPlanAnswers(tool: AuditTool, by: 'auditor' | 'moderator' = 'auditor'): ActionPlanAnswer[] {
  const found: ActionPlanAnswer[] = [];
  // The moderator's rows are theirs, recorded at moderation; every other plan is the audit's own.
  const moderators = (section: Section, answer: Answer) => (answer.completedBy ?? section.completedBy ?? defaultCompletedBy(section.kind)) === 'moderator';
  for (const section of tool.sections) {
    for (const answer of section.answers) {
      if (answer.kind !== 'repeating' || moderators(section, answer) !== (by === 'moderator')) continue;
      const text = answer.columns.find((column) => column.kind === 'text');
      const owner = answer.columns.find((column) => column.kind === 'staff');
      const due = answer.columns.find((column) => column.kind === 'date');
      if (!text) continue;
      if (section.kind === 'actionPlan' || (owner && due)) found.push({ key: answer.key, text, owner, due });
    }
  }
  return found;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Turns the audit's action-plan rows into actions. Idempotent: a row already made an action
 * is never made again (a resubmitted audit updates the text, owner and due date of actions
 * still open). A row without an owner column (Telford's remedial actions) is the case
 * holder's. Call it inside the transaction that submits the audit; with `by: 'moderator'`, inside
 * the one that moderates it, for the rows the moderator recommended (source 'moderation').
 */
export async function createActionsFromAudit(trx: Trx, auditId: string, by: 'auditor' | 'moderator' = 'auditor'): Promise<number> {
  const audit = await trx
    .selectFrom('audits')
    .select(['audits.id', 'audits.organisation_id', 'audits.child_id', 'audits.case_holder_id', 'audits.answers', 'audits.tool_edition_id'])
    .where('audits.id', '=', auditId)
    .executeTakeFirstOrThrow();
  const tool = await editionDefinition(trx, audit.organisation_id, audit.tool_edition_id);
  const answers = jsonValue<Record<string, unknown>>(audit.answers);
  const rows: { answer_key: string; row_index: number; text: string; owner: string | null; due_on: string | null }[] = [];
  for (const plan of actionPlanAnswers(tool, by)) {
    const value = answers[plan.key];
    if (!Array.isArray(value)) continue;
    value.forEach((row: unknown, index) => {
      if (!row || typeof row !== 'object') return;
      const cells = row as Record<string, unknown>;
      const text = cells[plan.text.key];
      if (typeof text !== 'string' || !text.trim()) return;
      const owner = plan.owner ? cells[plan.owner.key] : undefined;
      const due = plan.due ? cells[plan.due.key] : undefined;
      rows.push({
        answer_key: plan.key,
        row_index: index,
        text: text.trim(),
        owner: typeof owner === 'string' && UUID.test(owner) ? owner : null,
        due_on: typeof due === 'string' && ISO_DATE.test(due) ? due : null,
      });
    });
  }
  if (!rows.length) return 0;
  // Only staff of this council may own an action; anyone else falls back to the case holder.
  const named = [...new Set(rows.flatMap((row) => (row.owner ? [row.owner] : [])))];
  const known = named.length
    ? new Set((await trx.selectFrom('staff').select('id').where('organisation_id', '=', audit.organisation_id).where('id', 'in', named).execute()).map((staff) => staff.id))
    : new Set<string>();
  const inserted = await trx
    .insertInto('actions')
    .values(
      rows.map((row) => ({
        organisation_id: audit.organisation_id,
        audit_id: audit.id,
        child_id: audit.child_id,
        source: by === 'moderator' ? ('moderation' as const) : ('action_plan' as const),
        answer_key: row.answer_key,
        row_index: row.row_index,
        text: row.text,
        owner_id: row.owner && known.has(row.owner) ? row.owner : audit.case_holder_id,
        due_on: row.due_on,
      })),
    )
    .onConflict((conflict) =>
      conflict
        .columns(['audit_id', 'source', 'answer_key', 'row_index'])
        .doUpdateSet((eb) => ({
          text: eb.ref('excluded.text'),
          owner_id: eb.ref('excluded.owner_id'),
          due_on: eb.ref('excluded.due_on'),
          version: sql<number>`actions.version + 1`,
        }))
        .where('actions.status', '=', 'open')
        .where(sql<boolean>`(actions.text, actions.owner_id, actions.due_on) is distinct from (excluded.text, excluded.owner_id, excluded.due_on)`),
    )
    .returning('id')
    .execute();
  return inserted.length;
}

/* ——— Reading ——— */

/** An action as plain JSON: ids, 'YYYY-MM-DD' dates and ISO timestamps. */
export type ActionView = {
  id: string;
  auditId: string;
  auditReference: number;
  childId: string;
  childInitials: string;
  childExternalId: string;
  toolName: string;
  teamId: string | null;
  teamName: string | null;
  text: string;
  ownerId: string | null;
  ownerName: string | null;
  /** The owner's line manager (staff), who may verify the action. */
  ownerLineManagerId: string | null;
  /** The practitioner whose case was audited, who may not. */
  caseHolderId: string | null;
  dueOn: string | null;
  status: ActionStatus;
  overdue: boolean;
  verifyBy: string | null;
  verificationDue: boolean;
  doneAt: string | null;
  doneById: string | null;
  doneByName: string | null;
  evidence: string | null;
  verifiedAt: string | null;
  verifiedById: string | null;
  verifiedByName: string | null;
  verificationNote: string | null;
  /** Where the action comes from (the audit's action plan, the moderator, a case direction). */
  source: ActionSource;
  sourceLabel: string;
  version: number;
};


export function toActionView(row: ActionRow): ActionView {
  return {
    id: row.id,
    auditId: row.audit_id,
    auditReference: row.audit_reference,
    childId: row.child_id,
    childInitials: row.child_initials,
    childExternalId: row.child_external_id,
    toolName: row.tool_name,
    teamId: row.team_id,
    teamName: row.team_name,
    text: row.text,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    ownerLineManagerId: row.owner_line_manager_id,
    caseHolderId: row.case_holder_id,
    dueOn: isoDay(row.due_on),
    status: row.status,
    overdue: Boolean(row.overdue),
    verifyBy: isoDay(row.verify_by),
    verificationDue: Boolean(row.verification_due),
    doneAt: isoTimestamp(row.done_at),
    doneById: row.done_by,
    doneByName: row.done_by_name,
    evidence: row.evidence,
    verifiedAt: isoTimestamp(row.verified_at),
    verifiedById: row.verified_by,
    verifiedByName: row.verified_by_name,
    verificationNote: row.verification_note,
    source: row.source,
    sourceLabel: ACTION_SOURCE_LABELS[row.source],
    version: row.version,
  };
}

const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalId = (message: string) => z.preprocess(blankToUndefined, z.string({ error: message }).trim().uuid(message).optional());

/** The list's filters from a query string; the page, its exports and its links all use it. */
export const actionFilterSchema = z
  .object({
    status: z.preprocess(blankToUndefined, z.enum(ACTION_FILTER_STATUSES, { error: 'Choose a status from the list' }).optional()),
    team: optionalId('Choose a team from the list'),
    owner: optionalId('Choose an owner from the list'),
    dueFrom: optionalDateField('Due from'),
    dueTo: optionalDateField('Due to'),
    service: optionalId('Choose a service from the list'),
    tool: optionalId('Choose an audit tool from the list'),
    createdFrom: optionalDateField('Agreed from'),
    createdTo: optionalDateField('Agreed to'),
    doneFrom: optionalDateField('Done from'),
    doneTo: optionalDateField('Done to'),
    verifiedFrom: optionalDateField('Verified from'),
    verifiedTo: optionalDateField('Verified to'),
    doneOnTime: z.preprocess(blankToUndefined, z.enum(['yes', 'no'], { error: 'Done on time must be yes or no' }).optional()),
    ownUnits: z.preprocess(blankToUndefined, z.enum(['yes'], { error: 'Your services and teams only must be yes' }).optional()),
  })
  .superRefine((filters, context) => {
    if (filters.dueFrom && filters.dueTo && filters.dueTo < filters.dueFrom) {
      context.addIssue({ code: 'custom', path: ['dueTo'], message: 'Due to must be the same as or after due from' });
    }
  });

export type ActionFilters = z.infer<typeof actionFilterSchema>;

// Compile-time check: what the schema gives is what the queries take.
const _criteria: (filters: ActionFilters) => ActionCriteria = (filters) => filters;

export const DEFAULT_ACTION_FILTERS: ActionFilters = actionFilterSchema.parse({});

/** Parses without failing: fields in error are named and left out, so the rest still filters. */
export function parseActionFilters(query: Record<string, unknown>): { filters: ActionFilters; errors: FieldError[] } {
  const parsed = actionFilterSchema.safeParse(query);
  if (parsed.success) return { filters: parsed.data, errors: [] };
  const errors = topLevelErrors(parsed.error);
  const rest = Object.fromEntries(Object.entries(query).filter(([key]) => !errors.some((error) => error.field === key)));
  const retried = actionFilterSchema.safeParse(rest);
  return { filters: retried.success ? retried.data : DEFAULT_ACTION_FILTERS, errors };
}

/** Every filter of the list of actions, in the order a link carries them. */
export const ACTION_FILTER_KEYS = ['status', 'team', 'owner', 'dueFrom', 'dueTo', 'service', 'tool', 'createdFrom', 'createdTo', 'doneFrom', 'doneTo', 'verifiedFrom', 'verifiedTo', 'doneOnTime', 'ownUnits'] as const;

/** Filters the list's own form does not offer: they arrive from a report's figure. */
export const REPORT_ACTION_FILTER_KEYS = ['service', 'tool', 'createdFrom', 'createdTo', 'doneFrom', 'doneTo', 'verifiedFrom', 'verifiedTo', 'doneOnTime', 'ownUnits'] as const;

export function actionSearchParams(filters: ActionFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ACTION_FILTER_KEYS) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  return params;
}

export function describeActionFilters(filters: ActionFilters): string {
  const text = actionSearchParams(filters).toString();
  return text ? `filters ${decodeURIComponent(text)}` : 'no filters';
}

/** The actions within the person's reach (the tracker's reach, plus their own) that match the filters. */
export async function listActions(
  db: Db,
  principal: Principal,
  filters: ActionFilters,
  paging: { page: number; pageSize: number } | null,
  today: IsoDate,
): Promise<{ rows: ActionView[]; total: number }> {
  const scope = dataScope(principal, 'audits.view');
  const page = paging ? { offset: (paging.page - 1) * paging.pageSize, limit: paging.pageSize } : null;
  const found = await selectActions(db, scope, filters, today, page);
  const total = page && (found.length === page.limit || page.offset > 0) ? await countActions(db, scope, filters, today) : found.length + (page?.offset ?? 0);
  return { rows: found.map(toActionView), total };
}

export async function listActionFilterOptions(db: Db, principal: Principal) {
  return actionFilterOptions(db, dataScope(principal, 'audits.view'));
}

export async function listMyActions(db: Db, principal: Principal, today: IsoDate): Promise<ActionView[]> {
  if (!principal.staffId) return [];
  return (await selectOwnedActions(db, principal.organisationId, principal.staffId, today)).map(toActionView);
}

/** The tracked actions of an audit's action plan, as the audit page lists them. */
export async function listAuditActions(db: Db, principal: Principal, auditId: string, today: IsoDate): Promise<ActionView[]> {
  return (await selectPlanActionsOfAudit(db, dataScope(principal, 'audits.view'), auditId, today)).map(toActionView);
}

export async function findAction(db: Db, principal: Principal, actionId: string, today: IsoDate): Promise<ActionView | null> {
  if (!UUID.test(actionId)) return null;
  const row = await selectActionInScope(db, dataScope(principal, 'audits.view'), actionId, today);
  return row ? toActionView(row) : null;
}

/* ——— Who may do what ——— */

export function mayMarkDone(principal: Principal, action: ActionView): boolean {
  return action.status === 'open' && Boolean(principal.staffId) && principal.staffId === action.ownerId;
}

/** Verification is by someone else: never the owner, never whoever marked it done. */
export function mayVerify(principal: Principal, action: ActionView): boolean {
  return action.status === 'done' && mayVerifyAction(principal, action);
}

/* ——— Changing ——— */

export type ChangeOutcome =
  | { ok: true; action: ActionView }
  | { ok: false; reason: 'invalid'; errors: FieldError[] }
  /** The action changed since the page was loaded: nothing saved; the current action to show. */
  | { ok: false; reason: 'stale'; action: ActionView };

export const STALE_ACTION_MESSAGE = 'Someone else changed this action since you opened it. Nothing has been saved: check the action as it is now, then try again.';

const version = z.coerce.number({ error: 'Reload the page and try again' }).int().min(1);

const doneSchema = z.object({
  _version: version,
  evidence: z
    .string({ error: 'Enter the evidence that the action is done' })
    .trim()
    .min(1, 'Enter the evidence that the action is done')
    .max(5000, 'Evidence must be 5,000 characters or fewer'),
});

const verifySchema = z.object({
  _version: version,
  note: z
    .string({ error: 'Enter a note about the verification' })
    .trim()
    .min(1, 'Enter a note about the verification')
    .max(5000, 'Verification note must be 5,000 characters or fewer'),
});

async function reload(db: Db, actor: ActionActor, actionId: string): Promise<ActionView> {
  const action = await findAction(db, actor.principal, actionId, ukDateAt(actor.at));
  if (!action) throw notFound('Action');
  return action;
}

/** The owner records that the action is done, with their evidence. */
export async function markActionDone(db: Db, actor: ActionActor, actionId: string, body: unknown): Promise<ChangeOutcome> {
  const action = await reload(db, actor, actionId);
  // Only the owner says their action is done.
  if (!actor.principal.staffId || actor.principal.staffId !== action.ownerId) throw forbidden();
  const parsed = doneSchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: 'invalid', errors: topLevelErrors(parsed.error) };
  if (action.status !== 'open' || action.version !== parsed.data._version) return { ok: false, reason: 'stale', action };
  const changed = await inTransaction(db, async (trx) => {
    const updated = await trx
      .updateTable('actions')
      .set({ status: 'done', evidence: parsed.data.evidence, done_at: actor.at, done_by: actor.principal.userId, version: sql<number>`version + 1` })
      .where('id', '=', action.id)
      .where('organisation_id', '=', actor.principal.organisationId)
      .where('version', '=', parsed.data._version)
      .where('status', '=', 'open')
      .where('owner_id', '=', actor.principal.staffId)
      .returning('id')
      .executeTakeFirst();
    if (!updated) return false;
    await logActivity(trx, actor, { action: 'update', recordType: 'action', recordId: action.id, childId: action.childId, summary: 'action marked done with evidence' });
    return true;
  });
  const current = await reload(db, actor, actionId);
  return changed ? { ok: true, action: current } : { ok: false, reason: 'stale', action: current };
}

/** The owner's line manager or the QA team verifies the action (access.ts: mayVerifyAction). */
export async function verifyAction(db: Db, actor: ActionActor, actionId: string, body: unknown): Promise<ChangeOutcome> {
  const action = await reload(db, actor, actionId);
  if (!mayVerifyAction(actor.principal, action)) throw forbidden();
  const parsed = verifySchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: 'invalid', errors: topLevelErrors(parsed.error) };
  if (action.status !== 'done' || action.version !== parsed.data._version) return { ok: false, reason: 'stale', action };
  const changed = await inTransaction(db, async (trx) => {
    let query = trx
      .updateTable('actions')
      .set({ status: 'verified', verification_note: parsed.data.note, verified_at: actor.at, verified_by: actor.principal.userId, version: sql<number>`version + 1` })
      .where('id', '=', action.id)
      .where('organisation_id', '=', actor.principal.organisationId)
      .where('version', '=', parsed.data._version)
      .where('status', '=', 'done')
      .where('done_by', '<>', actor.principal.userId);
    if (actor.principal.staffId) query = query.where((eb) => eb.or([eb('owner_id', 'is', null), eb('owner_id', '<>', actor.principal.staffId)]));
    const updated = await query.returning('id').executeTakeFirst();
    if (!updated) return false;
    await logActivity(trx, actor, { action: 'update', recordType: 'action', recordId: action.id, childId: action.childId, summary: 'action verified' });
    return true;
  });
  const current = await reload(db, actor, actionId);
  return changed ? { ok: true, action: current } : { ok: false, reason: 'stale', action: current };
}
