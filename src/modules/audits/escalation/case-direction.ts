/**
 * The case direction (PROCESS.md §4.5), for a tool that sets one off (tools/escalation.ts;
 * Bristol's does): when an audit's final grade is Inadequate, the service manager directs what must happen on the case, as actions with an owner and a real due date,
 * and reviews them within a month (the council's timescale). The direction and its actions are
 * saved together or not at all; the actions are tracked with every other action (source
 * 'case_direction'), so they appear in "My actions" and the actions list. Written once.
 */
import { inTransaction, type Db } from '../../../db/index.ts';
import { roles, type Principal } from '../../../platform/access.ts';
import { logActivity } from '../../../platform/activity.ts';
import { AppError, forbidden, notFound, type FieldError } from '../../../platform/errors.ts';
import { ukDateAt } from '../../../platform/clock.ts';
import { findAudit, type AuditRecord } from '../audit.ts';
import { caseDirectionReviewDueOn } from '../lifecycle.ts';
import { candidates, chooseServiceManager, ruleFromSettings } from '../moderation/rule.ts';
import { timescalesFor } from '../transitions.ts';
import { toolEscalation } from '../../tools/escalation.ts';
import type { SimpleAnswer } from '../../tools/schema.ts';
import { fieldId, missingMessage, parseSimple, wrongMessage, type FieldContext, type RawFields } from '../form/answers.ts';
import type { EscalationActor } from './alerts.ts';
import {
  insertCaseDirection,
  insertCaseDirectionActions,
  selectCaseDirection,
  selectCurrentStaff,
  selectEscalationAudit,
  selectOrganisationSettings,
  selectStaffContacts,
  type EscalationAudit,
} from './queries.ts';

export const DIRECTION_MAX = 20_000;
export const ACTION_TEXT_MAX = 2_000;
/** Rows a direction may carry; more is a different kind of plan. */
export const MAX_ACTION_ROWS = 30;
/** Empty rows offered on the form, so a person without JavaScript can add actions. */
export const BLANK_ROWS = 3;

/** The service manager responsible for the audit's case, by the organisation's rule. */
export async function serviceManagerOf(db: Db, audit: EscalationAudit, today: string): Promise<{ id: string; name: string } | null> {
  const rule = ruleFromSettings(await selectOrganisationSettings(db, audit.organisationId));
  const staffId = chooseServiceManager(rule, audit.serviceId, audit.caseHolderId, await candidates(db, audit.organisationId, today));
  if (!staffId) return null;
  const [contact] = await selectStaffContacts(db, audit.organisationId, [staffId]);
  return contact ? { id: contact.id, name: contact.fullName } : null;
}

/** The service manager of the case, or a QA lead (who stands in when there is none). */
export function mayDirect(principal: Principal, serviceManagerId: string | null): boolean {
  return Boolean(principal.staffId && principal.staffId === serviceManagerId) || roles(principal).includes('qa_lead');
}

export type CaseDirectionPage = {
  audit: AuditRecord;
  serviceManager: { id: string; name: string } | null;
  staffOptions: { value: string; text: string }[];
  today: string;
  reviewDueOn: string;
};

/** Whether the audit's tool asks for a case direction and its final grade is Inadequate. */
export function needsCaseDirection(audit: Pick<EscalationAudit, 'finalGrade' | 'definition'>): boolean {
  return audit.finalGrade === 'inadequate' && toolEscalation(audit.definition).caseDirection;
}

/** Whether an audit the person can see already has its case direction. */
export async function caseDirectionRecorded(db: Db, principal: Principal, auditId: string): Promise<boolean> {
  const audit = await findAudit(db, principal, auditId);
  return audit !== null && (await selectCaseDirection(db, principal.organisationId, audit.id)) !== undefined;
}

/**
 * The case direction form for an audit moderated Inadequate. Not found for someone who cannot
 * see the audit; refused for anyone but its service manager or a QA lead; a conflict when the
 * audit needs none (not Inadequate) or already has one.
 */
export async function openCaseDirection(db: Db, principal: Principal, auditId: string, today: string): Promise<CaseDirectionPage> {
  const audit = await findAudit(db, principal, auditId);
  if (!audit) throw notFound('Audit');
  const facts = (await selectEscalationAudit(db, principal.organisationId, audit.id))!;
  const serviceManager = await serviceManagerOf(db, facts, today);
  if (!mayDirect(principal, serviceManager?.id ?? null)) throw forbidden();
  if (facts.finalGrade !== 'inadequate') throw new AppError('CONFLICT', 'This audit was not moderated Inadequate: it needs no case direction');
  if (!needsCaseDirection(facts)) throw new AppError('CONFLICT', `The audit tool ${facts.toolName} does not ask for a case direction`);
  if (await selectCaseDirection(db, principal.organisationId, audit.id)) throw new AppError('CONFLICT', 'A case direction has already been recorded for this audit');
  const staff = await selectCurrentStaff(db, principal.organisationId, today);
  return {
    audit,
    serviceManager,
    staffOptions: staff.map((member) => ({ value: member.id, text: `${member.full_name}, ${member.job_title}` })),
    today,
    reviewDueOn: caseDirectionReviewDueOn(today, await timescalesFor(db, principal.organisationId)),
  };
}

/** Logs the service manager opening the case direction form (child-related). */
export async function logCaseDirectionView(db: Db, actor: EscalationActor, page: CaseDirectionPage): Promise<void> {
  await logActivity(db, actor, { action: 'view', recordType: 'case_direction', recordId: page.audit.id, childId: page.audit.child.id, summary: 'case direction form' });
}

/* ——— Reading the form ——— */

export type ActionRowInput = { index: number; text: string; owner: string; day: string; month: string; year: string };
export type CaseDirectionInput = { direction: string; rows: ActionRowInput[] };
export type ParsedAction = { text: string; ownerId: string; dueOn: string };

const text = (fields: Record<string, unknown>, name: string) => {
  const value = fields[name];
  return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : '';
};

/** The form's fields as typed: the direction and each posted action row (`action-N-text`, `-owner`, `-due-day|month|year`). */
export function caseDirectionInput(fields: Record<string, unknown>): CaseDirectionInput {
  const indexes = new Set<number>();
  for (const name of Object.keys(fields)) {
    const match = /^action-(\d{1,2})-/.exec(name);
    if (match && Number(match[1]) < MAX_ACTION_ROWS) indexes.add(Number(match[1]));
  }
  const rows = [...indexes]
    .sort((a, b) => a - b)
    .map((index) => {
      const field = (part: string) => text(fields, `action-${index}-${part}`);
      return { index, text: field('text'), owner: field('owner'), day: field('due-day'), month: field('due-month'), year: field('due-year') };
    });
  return { direction: text(fields, 'direction'), rows };
}

const blank = (row: ActionRowInput) => [row.text, row.owner, row.day, row.month, row.year].every((part) => part.trim() === '');

/**
 * An action row's three questions, as the audit form's action plan asks its own (Bristol's
 * "Action Required / To be completed by / By when"): so a problem with a row is said in the
 * same words ("Enter what must be done for action 2", "By when for action 2 must be a real
 * date"), by the same checks.
 */
const ACTION_COLUMNS = {
  text: { kind: 'text', key: 'text', label: 'What must be done', required: true, maxLength: ACTION_TEXT_MAX },
  owner: { kind: 'staff', key: 'owner', label: 'Who will do it', required: true },
  due: { kind: 'date', key: 'due', label: 'By when', required: true, allow: 'future' },
} as const satisfies Record<string, SimpleAnswer>;

/** The row's fields under the names the form's field checks read: `action-N-text`, `-owner`, `-due-day|month|year`. */
function rowFields(row: ActionRowInput): RawFields {
  const prefix = `action-${row.index}`;
  return { [`${prefix}-text`]: row.text, [`${prefix}-owner`]: row.owner.trim(), [`${prefix}-due-day`]: row.day, [`${prefix}-due-month`]: row.month, [`${prefix}-due-year`]: row.year };
}

/**
 * Checks the form: a direction, and at least one action, each with what, who (a member of
 * staff) and by when (a real date, today or later: never "ASAP" or "ongoing"). Blank rows are
 * no rows. Every problem is named by its field and row, numbered as the person sees the rows,
 * in the audit form's words.
 */
export function parseCaseDirection(input: CaseDirectionInput, staffIds: ReadonlySet<string>, today: string): { ok: true; direction: string; actions: ParsedAction[] } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const direction = input.direction.trim();
  if (!direction) errors.push({ field: 'direction', message: 'Enter the case direction' });
  else if (direction.length > DIRECTION_MAX) errors.push({ field: 'direction', message: `The case direction must be ${DIRECTION_MAX.toLocaleString('en-GB')} characters or fewer` });
  const actions: ParsedAction[] = [];
  // Only the staff offered may be chosen; the tool the checks need is none (no scales are read).
  const context: FieldContext = { tool: { scales: [] } as unknown as FieldContext['tool'], staff: new Map([...staffIds].map((id) => [id, id])), today };
  input.rows.forEach((row, position) => {
    if (blank(row)) return;
    const number = position + 1;
    const fields = rowFields(row);
    const values: Partial<Record<keyof typeof ACTION_COLUMNS, string>> = {};
    for (const [part, spec] of Object.entries(ACTION_COLUMNS) as [keyof typeof ACTION_COLUMNS, SimpleAnswer][]) {
      const name = `action-${row.index}-${part}`;
      const parsed = parseSimple(spec, fields, name, context);
      const forWhat = `action ${number}`;
      if (!parsed.ok) errors.push({ field: fieldId(spec, name), message: wrongMessage(spec, spec.label, parsed.problem, forWhat), row: number });
      else if (parsed.value === undefined) errors.push({ field: fieldId(spec, name), message: missingMessage(spec, spec.label, forWhat), row: number });
      else values[part] = String(parsed.value).trim();
    }
    if (values.text && values.owner && values.due) actions.push({ text: values.text, ownerId: values.owner, dueOn: values.due });
  });
  if (!actions.length && !errors.some((error) => error.field.startsWith('action-'))) {
    errors.push({ field: `action-${input.rows[0]?.index ?? 0}-text`, message: 'Enter at least one action: what must be done, who will do it and by when' });
  }
  return errors.length ? { ok: false, errors } : { ok: true, direction, actions };
}

export type CaseDirectionOutcome = { ok: true } | { ok: false; errors: FieldError[] };

/** Records the case direction and its actions in one transaction, or nothing with every problem named. */
export async function recordCaseDirection(db: Db, actor: EscalationActor, auditId: string, fields: Record<string, unknown>, options: { today?: string } = {}): Promise<CaseDirectionOutcome> {
  const { principal } = actor;
  const page = await openCaseDirection(db, principal, auditId, options.today ?? ukDateAt(actor.at));
  const parsed = parseCaseDirection(caseDirectionInput(fields), new Set(page.staffOptions.map((option) => option.value)), page.today);
  if (!parsed.ok) return parsed;
  const { audit } = page;
  await inTransaction(db, async (trx) => {
    const id = await insertCaseDirection(trx, {
      organisationId: principal.organisationId,
      auditId: audit.id,
      childId: audit.child.id,
      direction: parsed.direction,
      directedBy: principal.userId,
      directedByLabel: principal.displayName,
      directedOn: page.today,
      reviewDueOn: page.reviewDueOn,
    });
    // Someone else recorded one since the form was checked: theirs stands, nothing of this is saved.
    if (!id) throw new AppError('CONFLICT', 'A case direction has already been recorded for this audit');
    const count = await insertCaseDirectionActions(trx, { organisationId: principal.organisationId, auditId: audit.id, childId: audit.child.id }, parsed.actions);
    await logActivity(trx, actor, {
      action: 'create',
      recordType: 'case_direction',
      recordId: audit.id,
      childId: audit.child.id,
      summary: `case direction with ${count} action(s), review due ${page.reviewDueOn}`,
    });
  });
  return { ok: true };
}
