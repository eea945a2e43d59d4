import { z } from 'zod';
import { inTransaction, type Db } from '../../db/index.ts';
import { can, dataScope, type Principal } from '../../platform/access.ts';
import { logActivity } from '../../platform/activity.ts';
import { ukDateAt } from '../../platform/clock.ts';
import { bundledHolidayCalendar } from '../../platform/bank-holidays/index.ts';
import { forbidden, type FieldError } from '../../platform/errors.ts';
import { appLink, enqueueEmail } from '../../platform/outbox.ts';
import { formatDate } from '../../platform/views.ts';
import { isIsoDate, workingDaysAfter, type HolidayCalendar } from '../../platform/working-days.ts';
import * as children from '../children/service.ts';
import { LEGAL_STATUS_LABELS } from '../children/annex-a.ts';
import { ageInYearsOn, appliesToWords, toolAppliesToChild } from '../tools/applies-to.ts';
import type { ChildFacts } from '../tools/expression.ts';
import { holidayCalendarFor } from '../org/calendar.ts';
import { DEFAULT_TIMESCALES } from './lifecycle.ts';
import * as queries from './queries.ts';
import { recordAllocation, timescalesFor } from './transitions.ts';
import { toTrackerAudit } from './tracker.ts';

/**
 * Allocation: a QA coordinator gives a child's case to an auditor to audit with a tool. The
 * case-holder, team and service come from the child register as it stands today, the audit
 * pins the newest published edition of the tool, and it is due the organisation's auditor
 * timescale later (10 working days unless it set another; its own bank holidays). The audit,
 * the first row of its timeline, the auditor's e-mail and the activity-log entry are written
 * in one transaction: all of them or none.
 */

/** The auditor's working days of a council that has not set its own (Bristol's). */
export const AUDIT_WORKING_DAYS = DEFAULT_TIMESCALES.auditorDays;

/** The fields of the allocation form and of POST /api/v1/audits, in the order errors are listed. */
export const ALLOCATION_FIELDS = ['childId', 'toolId', 'confirmNotForChild', 'auditorId'] as const;
type AllocationField = (typeof ALLOCATION_FIELDS)[number];

const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

export const allocationInputSchema = z.object({
  childId: z.preprocess(blankToUndefined, z.string({ error: 'Choose a child from the register' }).trim().uuid('Choose a child from the register')),
  toolId: z.preprocess(blankToUndefined, z.string({ error: 'Choose an audit tool from the list' }).trim().uuid('Choose an audit tool from the list').optional()),
  auditorId: z.preprocess(blankToUndefined, z.string({ error: 'Choose an auditor' }).trim().uuid('Choose an auditor from the list')),
  /**
   * The allocator's confirmation of a tool that is not for this child: the form sends the id of
   * the tool confirmed (so a confirmation never carries over to another tool), the API true.
   */
  confirmNotForChild: z.preprocess(blankToUndefined, z.union([z.literal(true), z.string().trim().uuid()], { error: 'Confirm with true, or leave confirmNotForChild out' }).optional()),
});

export type AllocationInput = z.input<typeof allocationInputSchema>;

export type AllocationActor = { principal: Principal; ipAddress: string | null; at: Date };

export type AllocatedAudit = {
  id: string;
  reference: number;
  childId: string;
  auditorId: string;
  auditorName: string;
  allocatedOn: string;
  dueOn: string;
};

export type AllocationOutcome = { ok: true; audit: AllocatedAudit } | { ok: false; errors: FieldError[] };

/** The due date of an audit allocated on `allocatedOn`, in the organisation's calendar (see org/calendar.ts) and timescale. */
export function auditDueOn(allocatedOn: string, calendar: HolidayCalendar = bundledHolidayCalendar('england-and-wales'), workingDays = AUDIT_WORKING_DAYS): string {
  return workingDaysAfter(allocatedOn, workingDays, calendar);
}

/** The due date of an audit allocated today by this organisation, and its auditor's working days. */
async function organisationDueOn(db: Db, organisationId: string, allocatedOn: string) {
  const { auditorDays } = await timescalesFor(db, organisationId);
  return { dueOn: auditDueOn(allocatedOn, await holidayCalendarFor(db, organisationId), auditorDays), workingDays: auditorDays };
}

function checkedToday(today: string): string {
  if (!isIsoDate(today)) throw new RangeError(`today must be a date in the form YYYY-MM-DD, not ${JSON.stringify(today)}`);
  return today;
}

type RegisterChild = NonNullable<Awaited<ReturnType<typeof children.findChildInScope>>>;

/** The child if it is in the allocator's reach and its case is open; else the error for the field. */
async function allocatableChild(db: Db, principal: Principal, childId: string, closedSince?: string): Promise<{ child: RegisterChild } | { error: FieldError }> {
  const child = await children.findChildInScope(db, dataScope(principal, 'audits.allocate'), childId);
  if (!child) return { error: { field: 'childId', message: 'Choose a child from the register' } };
  if (child.close_date && !(closedSince && String(child.close_date).slice(0, 10) >= closedSince)) return { error: { field: 'childId', message: `The case of ${child.initials} (${child.external_id}) is closed: choose a child whose case is open` } };
  return { child };
}

type AllocatableTool = Awaited<ReturnType<typeof queries.selectAllocatableTools>>[number];

/** What a tool's appliesTo is tested on: the child's legal status and age today, as in the register. */
function childFactsOf(child: RegisterChild, today: string): ChildFacts {
  const dateOfBirth = child.date_of_birth ? String(child.date_of_birth).slice(0, 10) : null;
  return { legalStatus: child.legal_status, ageInYears: dateOfBirth ? ageInYearsOn(dateOfBirth, today) : null };
}

/**
 * The tool preselected for the child: the service's default tool if it is for this child, else
 * the first tool written for children like this one (its appliesTo holds), else the service's
 * default all the same (the allocator is then asked to confirm it).
 */
async function defaultToolFor(db: Db, organisationId: string, child: RegisterChild, tools: AllocatableTool[], facts: ChildFacts): Promise<DefaultTool | null> {
  const toolId = child.service_id ? await queries.selectServiceDefaultTool(db, organisationId, child.service_id) : null;
  const serviceDefault = tools.find((tool) => tool.tool_id === toolId);
  if (serviceDefault && toolAppliesToChild(serviceDefault.applies_to, facts)) return { tool: serviceDefault, chosenAs: 'service' };
  const forChild = tools.find((tool) => tool.applies_to && toolAppliesToChild(tool.applies_to, facts));
  if (forChild) return { tool: forChild, chosenAs: 'child' };
  return serviceDefault ? { tool: serviceDefault, chosenAs: 'service' } : null;
}

type DefaultTool = { tool: AllocatableTool; chosenAs: 'service' | 'child' };

/** Why the preselected tool is chosen, for the hint under the list of tools. */
function defaultToolNote(chosen: DefaultTool | null, serviceName: string | null | undefined): string | null {
  if (!chosen) return null;
  if (chosen.chosenAs === 'child') return `${chosen.tool.tool_name} is chosen: it is for ${appliesToWords(chosen.tool.applies_to)}.`;
  return `The default tool for ${serviceName ?? 'the service'} is chosen.`;
}

/** The child in the words a warning uses: "CD is Child in Need, aged 9". */
function childInWords(child: RegisterChild, facts: ChildFacts): string {
  const status = LEGAL_STATUS_LABELS[child.legal_status as keyof typeof LEGAL_STATUS_LABELS] ?? child.legal_status;
  return `${child.initials} (${child.external_id}) is ${status}${typeof facts.ageInYears === 'number' ? `, aged ${facts.ageInYears}` : ''}`;
}

/** Why the tool is not for the child, in words for the allocator; null when it is. */
function notForChild(tool: AllocatableTool, child: RegisterChild, facts: ChildFacts): string | null {
  if (toolAppliesToChild(tool.applies_to, facts)) return null;
  return `${tool.tool_name} is for ${appliesToWords(tool.applies_to)}, and ${childInWords(child, facts)}`;
}

/** Everything the allocation form shows for one child: where the case sits, the choices, the due date. */
export async function allocationFormFor(db: Db, principal: Principal, childId: string, options: { today: string }) {
  const today = checkedToday(options.today);
  const found = await allocatableChild(db, principal, childId);
  if ('error' in found) return { ok: false as const, errors: [found.error] };
  const { child } = found;
  const organisationId = principal.organisationId;
  const tools = await queries.selectAllocatableTools(db, organisationId);
  const facts = childFactsOf(child, today);
  const defaultTool = await defaultToolFor(db, organisationId, child, tools, facts);
  const serviceName = child.service_id ? await queries.selectServiceName(db, organisationId, child.service_id) : null;
  const auditors = await queries.selectAuditorCandidates(db, organisationId, today);
  const inHand = await queries.selectAuditsInHand(
    db,
    organisationId,
    auditors.map((auditor) => auditor.id),
  );
  const { dueOn, workingDays } = await organisationDueOn(db, organisationId, today);
  // The child's audits so far, so the coordinator sees what was found before and what is open now.
  const audits = (await queries.selectChildAudits(db, dataScope(principal, 'audits.view'), child.id, today)).map(toTrackerAudit);
  return {
    ok: true as const,
    form: {
      child: {
        id: child.id,
        externalId: child.external_id,
        initials: child.initials,
        legalStatus: child.legal_status,
        dateOfBirth: child.date_of_birth,
        age: child.date_of_birth ? ageOn(child.date_of_birth, today) : null,
      },
      openAudits: audits.filter((audit) => audit.status !== 'closed'),
      pastAudits: audits.filter((audit) => audit.status === 'closed'),
      caseHolder: child.allocated_worker_id ? { id: child.allocated_worker_id, name: child.worker_name } : null,
      team: child.allocated_team_id ? { id: child.allocated_team_id, name: child.team_name } : null,
      service: child.service_id ? { id: child.service_id, name: serviceName } : null,
      // Where a tool says which children it applies to, the warning for a mismatch belongs with this choice.
      tools: tools.map((tool) => ({ value: tool.tool_id, text: `${tool.tool_name} (edition ${tool.edition})` })),
      defaultToolId: defaultTool?.tool.tool_id ?? null,
      /** Why each tool that is not for this child is not (the warning shown when it is chosen), by tool id. */
      notForChild: Object.fromEntries(tools.flatMap((tool) => {
        const reason = notForChild(tool, child, facts);
        return reason ? [[tool.tool_id, reason]] : [];
      })) as Record<string, string>,
      defaultToolNote: defaultToolNote(defaultTool, serviceName),
      // The case-holder cannot audit their own case, so they are not offered.
      auditors: auditors
        .filter((auditor) => auditor.id !== child.allocated_worker_id)
        .map((auditor) => ({ value: auditor.id, text: `${auditor.full_name}, ${auditor.job_title}${auditor.team_name ? ` (${auditor.team_name})` : ''}: ${inHandText(inHand.get(auditor.id) ?? 0)}` })),
      allocatedOn: today,
      dueOn,
      workingDays,
    },
  };
}

/** "3 audits in hand": audits allocated to them and not yet moderated, so work can be shared fairly. */
function inHandText(count: number): string {
  return `${count} ${count === 1 ? 'audit' : 'audits'} in hand`;
}

/** A child's age in whole years on a day (both 'YYYY-MM-DD'). */
export function ageOn(dateOfBirth: string, today: string): number {
  const [birthYear, birthMonth, birthDay] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const [year, month, day] = today.split('-').map(Number) as [number, number, number];
  const hadBirthday = month > birthMonth || (month === birthMonth && day >= birthDay);
  return year - birthYear - (hadBirthday ? 0 : 1);
}

/** Each field checked on its own, so one wrong field does not hide the others' errors. */
function parseFields(input: unknown) {
  const raw = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const errors: FieldError[] = [];
  const field = <K extends AllocationField>(name: K) => {
    const parsed = allocationInputSchema.shape[name].safeParse(raw[name]);
    if (parsed.success) return parsed.data as z.output<typeof allocationInputSchema>[K];
    errors.push({ field: name, message: parsed.error.issues[0]?.message ?? 'Check this answer' });
    return undefined;
  };
  return { childId: field('childId'), toolId: field('toolId'), auditorId: field('auditorId'), confirmNotForChild: field('confirmNotForChild'), errors };
}

/**
 * Allocates an audit. Input: `{ childId, toolId?, auditorId }` (toolId defaults to the
 * service's default tool). Invalid input is refused with every problem named by field and
 * nothing written. The audit is allocated on the actor's UK today, or on `today` (the demo's past).
 * `closedSince`: a child whose case closed on or after that day may still be audited (a
 * sampling round's "open to the team in the last N weeks").
 */
export async function allocateAudit(db: Db, actor: AllocationActor, input: unknown, options: { today?: string; closedSince?: string } = {}): Promise<AllocationOutcome> {
  const { principal } = actor;
  if (!can(principal, 'audits.allocate')) throw forbidden();
  const today = checkedToday(options.today ?? ukDateAt(actor.at));
  const organisationId = principal.organisationId;
  const fields = parseFields(input);
  const errors = [...fields.errors];

  const found = fields.childId ? await allocatableChild(db, principal, fields.childId, options.closedSince) : null;
  if (found && 'error' in found) errors.push(found.error);
  const child = found && 'child' in found ? found.child : null;

  const tools = await queries.selectAllocatableTools(db, organisationId);
  let tool = fields.toolId ? tools.find((candidate) => candidate.tool_id === fields.toolId) : undefined;
  if (fields.toolId && !tool) errors.push({ field: 'toolId', message: 'Choose an audit tool from the list' });
  const facts = child ? childFactsOf(child, today) : null;
  if (!fields.toolId && !fields.errors.some((error) => error.field === 'toolId') && child && facts) {
    tool = (await defaultToolFor(db, organisationId, child, tools, facts))?.tool;
    if (!tool) errors.push({ field: 'toolId', message: 'Choose an audit tool: the child\'s service has no default tool' });
  }
  // A tool not written for this child may still be right (a council's judgement), but only when the allocator says so.
  const reason = tool && child && facts ? notForChild(tool, child, facts) : null;
  if (tool && reason && fields.confirmNotForChild !== true && fields.confirmNotForChild !== tool.tool_id) {
    errors.push({ field: 'confirmNotForChild', message: `${reason}: confirm that you want to use ${tool.tool_name}, or choose another tool` });
  }

  const auditor = fields.auditorId ? (await queries.selectAuditorCandidates(db, organisationId, today, fields.auditorId))[0] : undefined;
  if (fields.auditorId && !auditor) errors.push({ field: 'auditorId', message: 'Choose an auditor from the list: they need an auditing role in Assure' });
  if (auditor && child && auditor.id === child.allocated_worker_id) {
    errors.push({ field: 'auditorId', message: `${auditor.full_name} holds this case and cannot audit it: choose another auditor` });
  }

  if (errors.length || !child || !tool || !auditor) return { ok: false, errors: inFieldOrder(errors) };
  const { dueOn, workingDays } = await organisationDueOn(db, organisationId, today);
  const values = {
    organisationId,
    childId: child.id,
    toolEditionId: tool.edition_id,
    auditorId: auditor.id,
    caseHolderId: child.allocated_worker_id,
    teamId: child.allocated_team_id,
    serviceId: child.service_id,
    allocatedOn: today,
    dueOn,
    allocatedBy: principal.userId,
  };
  const audit = await inTransaction(db, async (trx) => {
    const open = await queries.lockChildAndFindOpenAudit(trx, { organisationId, childId: child.id, toolId: tool.tool_id });
    if (open) return { duplicateOf: open.reference };
    const inserted = await queries.insertAllocatedAudit(trx, values);
    await enqueueEmail(trx, {
      organisationId,
      to: auditor.email,
      subject: `Case file audit allocated: ${child.initials} (${child.external_id}), due ${formatDate(dueOn)}`,
      text: allocationEmailText({ auditId: inserted.id, auditorName: auditor.full_name, allocatorName: principal.displayName, child, tool, dueOn, workingDays }),
      dedupeKey: `audit-allocated:${inserted.id}`,
      now: actor.at,
    });
    await recordAllocation(trx, actor, { id: inserted.id, organisationId });
    await logActivity(trx, actor, {
      action: 'create',
      recordType: 'audit',
      recordId: inserted.id,
      childId: child.id,
      summary: `allocated audit ${inserted.reference} to staff ${auditor.id} with ${tool.tool_name} edition ${tool.edition}${reason ? ' (confirmed: the tool is not for this child)' : ''}, due ${dueOn}`,
    });
    return inserted;
  });
  if ('duplicateOf' in audit) {
    const message = `${child.initials} (${child.external_id}) already has an open audit with ${tool.tool_name} (reference ${audit.duplicateOf}): choose another tool, or finish that audit first`;
    return { ok: false, errors: [{ field: 'toolId', message }] };
  }
  return {
    ok: true,
    audit: { id: audit.id, reference: audit.reference, childId: child.id, auditorId: auditor.id, auditorName: auditor.full_name, allocatedOn: today, dueOn },
  };
}

function inFieldOrder(errors: FieldError[]): FieldError[] {
  const rank = (field: string) => {
    const index = (ALLOCATION_FIELDS as readonly string[]).indexOf(field);
    return index === -1 ? ALLOCATION_FIELDS.length : index;
  };
  // One message per field: the first problem found is the one to fix.
  const seen = new Set<string>();
  return [...errors].sort((a, b) => rank(a.field) - rank(b.field)).filter((error) => !seen.has(error.field) && Boolean(seen.add(error.field)));
}

function allocationEmailText(input: {
  auditId: string;
  auditorName: string;
  allocatorName: string;
  child: RegisterChild;
  tool: { tool_name: string; edition: string };
  dueOn: string;
  workingDays: number;
}): string {
  const { child } = input;
  return [
    `${input.auditorName},`,
    '',
    `${input.allocatorName} has allocated you a case file audit.`,
    '',
    `Child: ${child.initials} (${child.external_id})`,
    `Audit tool: ${input.tool.tool_name} (edition ${input.tool.edition})`,
    `Case holder: ${child.worker_name ?? 'none recorded'}`,
    `Team: ${child.team_name ?? 'none recorded'}`,
    `Due: ${formatDate(input.dueOn)} (${input.workingDays} working days)`,
    '',
    `Open the audit in Assure: ${appLink(`/audits/${input.auditId}`)}`,
    'It is also listed under "My audits".',
  ].join('\n');
}
